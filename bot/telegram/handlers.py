"""The handlers: commands, free text, button presses and everything that is not text.

Each handler reads the user's country (memory, no I/O), asks the core for a Reply and sends it.
The emergency message of an overdose reply is always the first request sent for that update:
nothing (typing indicator, callback answer, keyboard edit, storage) comes before it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import CallbackQuery, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.reply.model import Reply
from bot.telegram.delivery import URGENT_ROUTES
from bot.telegram.filters import ADDRESSED_TO_BOT, without_bot_mention
from bot.telegram.persistence import set_country
from bot.telegram.shell import Shell, shell_of

_log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE
HandlerCallback = Callable[[Update, Context], Awaitable[None]]

NEW_MESSAGE = filters.UpdateType.MESSAGE
VOICE = filters.VOICE | filters.AUDIO | filters.VIDEO_NOTE
PLACE = filters.LOCATION | filters.VENUE
MEDIA = (
    filters.Sticker.ALL
    | filters.PHOTO
    | filters.VIDEO
    | filters.ANIMATION
    | filters.Document.ALL
    | filters.CONTACT
    | filters.POLL
    | filters.Dice.ALL
)


# -- commands ---------------------------------------------------------------------------------


async def start(update: Update, context: Context) -> None:
    """Welcome, then ask the country (or show topics if known). ``/start <intent>`` deep links."""
    shell, chat_id = shell_of(context), update.effective_chat.id
    country = shell.country(context)
    payload = context.args[0] if context.args else ""
    topic = shell.maybe_topic(payload, country) if payload else None
    if topic is not None:
        replies = [topic] + ([shell.ask_country(None)] if country is None else [])
        await shell.send(context, chat_id, *replies)
        return
    follow_up = shell.ask_country(None) if country is None else shell.topics(country)
    await shell.send(context, chat_id, shell.core.message("welcome", country), follow_up)


def replying_with(build: Callable[[Shell, str | None], Reply]) -> HandlerCallback:
    """A command handler that sends ``build(shell, country)`` at once, nothing else."""

    async def reply_command(update: Update, context: Context) -> None:
        shell = shell_of(context)
        await shell.send(context, update.effective_chat.id, build(shell, shell.country(context)))

    return reply_command


sos = replying_with(lambda shell, country: shell.core.topic("overdose", country))
crisis = replying_with(lambda shell, country: shell.core.topic("suicide", country))
topics_command = replying_with(Shell.topics)
help_command = replying_with(lambda shell, country: shell.core.message("help", country))
privacy_command = replying_with(lambda shell, country: shell.core.message("privacy", country))
forget_command = replying_with(Shell.forget_confirm)


async def country_command(update: Update, context: Context) -> None:
    """Show the country buttons; the user's next text message is read as a country too."""
    shell = shell_of(context)
    if update.effective_user is not None:
        shell.awaiting_country.add(update.effective_user.id)
    await shell.send(context, update.effective_chat.id, shell.ask_country(shell.country(context)))


# -- free text --------------------------------------------------------------------------------


async def on_text(update: Update, context: Context) -> None:
    """Safety first: the core's reply is computed before anything else, and an overdose or
    crisis reply goes out at once. Otherwise the text may be the answer to "which country?"."""
    shell, message = shell_of(context), update.effective_message
    chat_id, user = update.effective_chat.id, update.effective_user
    text = without_bot_mention(message.text or "", context.bot.username)
    country = shell.country(context)
    reply = shell.core.handle(text, country)
    awaiting = user is not None and user.id in shell.awaiting_country
    if reply.route in URGENT_ROUTES:
        if user is not None:
            shell.awaiting_country.discard(user.id)
        await shell.send(context, chat_id, reply)
        return
    private = update.effective_chat.type == ChatType.PRIVATE
    if awaiting or (private and country is None):
        code = shell.core.resolve_country(text, exact=not awaiting)
        if code is not None:
            await choose_country(update, context, code)
            return
        if awaiting:
            shell.awaiting_country.discard(user.id)
            not_understood = shell.core.message("country_not_understood", country)
            await shell.send(context, chat_id, shell.with_country_buttons(not_understood))
            return
    await shell.send(context, chat_id, reply)


async def choose_country(update: Update, context: Context, code: str | None) -> None:
    """Store the country (None: "other") and save it, then confirm and show the topics."""
    shell, chat_id, user = shell_of(context), update.effective_chat.id, update.effective_user
    if user is not None:
        shell.awaiting_country.discard(user.id)
    if user is not None and context.user_data is not None:  # saved before it is confirmed
        set_country(context.user_data, code)
        context.application.mark_data_for_update_persistence(user_ids=user.id)
        await context.application.update_persistence()
    confirm = shell.core.message("country_set" if code else "country_other", code)
    await shell.send(context, chat_id, confirm, shell.topics(code))


# -- button presses ---------------------------------------------------------------------------


async def on_button(update: Update, context: Context) -> None:
    """``intent:<id>``, ``country:<CC|other>``, ``forget:yes|no``. Every query is answered
    (best effort, never raises); an urgent topic is sent before the answer."""
    shell, query, chat = shell_of(context), update.callback_query, update.effective_chat
    action, _, arg = (query.data or "").partition(":")
    reply = shell.maybe_topic(arg, shell.country(context)) if action == "intent" else None
    if chat is not None and reply is not None and reply.route in URGENT_ROUTES:
        try:
            await shell.send(context, chat.id, reply)
        finally:
            await _answer(query)
        return
    await _answer(query)
    if chat is None:  # not a press on one of our chat messages
        return
    if reply is not None:
        await shell.send(context, chat.id, reply)
    elif action == "country":
        await _remove_keyboard(query)
        if arg == "other" or arg in shell.core.countries:
            await choose_country(update, context, None if arg == "other" else arg)
        else:  # a country no longer offered
            await shell.send(context, chat.id, shell.ask_country(None))
    elif action == "forget":
        await _remove_keyboard(query)
        await forget(update, context, erase=arg == "yes")


async def forget(update: Update, context: Context, *, erase: bool) -> None:
    shell, chat_id, user = shell_of(context), update.effective_chat.id, update.effective_user
    if not erase:
        await shell.send(
            context, chat_id, shell.core.message("forget_cancelled", shell.country(context))
        )
        return
    if user is not None:
        shell.awaiting_country.discard(user.id)
        context.application.drop_user_data(user.id)
        await context.application.update_persistence()
    await shell.send(context, chat_id, shell.core.message("forget_done", None))


async def _answer(query: CallbackQuery) -> None:
    """Answer a callback query (best effort: a query too old to answer is not an error)."""
    try:
        await query.answer()
    except TelegramError as exc:
        _log.debug("Could not answer a button press (%s)", type(exc).__name__)


async def _remove_keyboard(query: CallbackQuery) -> None:
    """Take the buttons off the message that was answered (best effort)."""
    if query.message is None or not getattr(query.message, "reply_markup", None):
        return
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except TelegramError as exc:
        _log.debug("Could not remove a keyboard (%s)", type(exc).__name__)


# -- everything that is not plain text --------------------------------------------------------


async def _safety_first(update: Update, context: Context, text: str | None) -> bool:
    """If ``text`` (a caption or an edit) is an emergency, send that reply; True if sent."""
    if not text:
        return False
    shell = shell_of(context)
    reply = shell.core.handle(
        without_bot_mention(text, context.bot.username), shell.country(context)
    )
    if reply.route not in URGENT_ROUTES:
        return False
    await shell.send(context, update.effective_chat.id, reply)
    return True


async def _short_reply(update: Update, context: Context, key: str) -> None:
    message = update.effective_message
    if await _safety_first(update, context, message.caption or message.text):
        return
    shell = shell_of(context)
    await shell.send(
        context, update.effective_chat.id, shell.core.message(key, shell.country(context))
    )


async def on_voice(update: Update, context: Context) -> None:
    await _short_reply(update, context, "voice")


async def on_media(update: Update, context: Context) -> None:
    await _short_reply(update, context, "media")


async def on_location(update: Update, context: Context) -> None:
    await _short_reply(update, context, "location")


async def on_edited(update: Update, context: Context) -> None:
    await _short_reply(update, context, "edited")


# -- wiring -----------------------------------------------------------------------------------

COMMANDS = {
    "start": start,
    "sos": sos,
    "emergency": sos,
    "crisis": crisis,
    "country": country_command,
    "topics": topics_command,
    "help": help_command,
    "privacy": privacy_command,
    "forget": forget_command,
}


def register_handlers(application: Application) -> None:  # type: ignore[type-arg]
    for name, callback in COMMANDS.items():
        application.add_handler(CommandHandler(name, callback, filters=NEW_MESSAGE))
    application.add_handler(CallbackQueryHandler(on_button))
    addressed = NEW_MESSAGE & ADDRESSED_TO_BOT
    application.add_handler(MessageHandler(addressed & filters.TEXT & ~filters.COMMAND, on_text))
    application.add_handler(MessageHandler(addressed & VOICE, on_voice))
    application.add_handler(MessageHandler(addressed & PLACE, on_location))
    application.add_handler(MessageHandler(addressed & MEDIA, on_media))
    application.add_handler(
        MessageHandler(filters.UpdateType.EDITED_MESSAGE & ADDRESSED_TO_BOT, on_edited)
    )
    application.add_handler(
        MessageHandler(NEW_MESSAGE & filters.ChatType.PRIVATE & filters.COMMAND, help_command)
    )
