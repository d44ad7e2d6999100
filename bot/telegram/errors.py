"""The application's error handler: log what went wrong, never what the user wrote.

It logs the exception type, the update id and the code location (traceback frames without the
exception's message, which could quote user input), then tells the user something went wrong
(core message ``error``) when that is still possible. The bot keeps serving.
"""

from __future__ import annotations

import logging
import traceback

from telegram import Update
from telegram.error import Forbidden, NetworkError, TelegramError
from telegram.ext import ContextTypes

from bot import metrics
from bot.telegram.persistence import StoreError
from bot.telegram.shell import shell_of

_log = logging.getLogger(__name__)


async def handle_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    kind = type(error).__name__
    if isinstance(error, StoreError):  # PTB's background saves (update None) are writes
        metrics.store_error("write" if update is None else "other")
    if isinstance(error, Forbidden):
        _log.info("Chat unreachable while handling update %s (%s); dropped", update_id, kind)
        return
    if isinstance(error, NetworkError) or (isinstance(error, TelegramError) and update is None):
        _log.warning("%s while handling update %s", kind, update_id)
        return
    frames = "".join(traceback.format_tb(error.__traceback__)) if error else ""
    _log.error("%s while handling update %s\n%s", kind, update_id, frames.rstrip())
    if isinstance(update, Update) and update.effective_chat is not None:
        shell = shell_of(context)
        try:
            reply = shell.core.message("error", shell.country(context))
            await shell.delivery.send_reply(context.bot, update.effective_chat.id, reply)
        except Exception as exc:
            _log.warning("Could not send the error message (%s)", type(exc).__name__)
