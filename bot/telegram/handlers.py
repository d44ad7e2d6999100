"""The handlers: every update becomes one conversation event; the Outcome is sent.

The emergency message of an overdose or crisis reply is always the first request sent for that
update: nothing (callback answer, keyboard edit, storage) comes before it. If reading the user's
state or building their reply raises, an emergency still gets the no-country reply in the
message's language (:meth:`Shell.emergency_outcome`). Other replies are
sent after their effects (a chosen country is saved before it is confirmed).
"""

from __future__ import annotations

import dataclasses
import logging
import time

from telegram import CallbackQuery, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import metrics
from bot.commands import COMMAND_TABLE
from bot.conversation import Outcome
from bot.reply.model import Reply
from bot.telegram.companion_jobs import jobs_of
from bot.telegram.filters import ADDRESSED_TO_BOT
from bot.telegram.persistence import (
    StoreError,
    StorePersistence,
    forget_user,
    save_user,
    set_country,
    set_language,
)
from bot.telegram.shell import shell_of

_log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE

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
URGENT_ROUTES = frozenset({"overdose", "crisis"})


async def on_update(update: Update, context: Context) -> None:
    """Commands, text, button presses, media: one path through the conversation."""
    shell = shell_of(context)
    event = shell.event_of(update, context.bot.username)
    chat = update.effective_chat
    query = update.callback_query
    if event is None or chat is None:
        metrics.update_dropped(update.update_id)
        if query is not None:
            await _answer(query)
        return
    started = time.perf_counter()
    try:
        state = shell.state(context, update)
        if shell.conversation.needs_scores(event) and update.effective_user is not None:
            state = dataclasses.replace(
                state, scores=await _scores(context.application, update.effective_user.id))
        outcome = shell.conversation.handle(event, state, shell.now(), shell.wall())
    except Exception as exc:
        if not event.urgent:
            raise  # the error handler says sorry
        # an emergency never depends on the stored state or the country lookup
        _log.error("Answering an emergency without the user's stored state (%s)",
                   type(exc).__name__)
        outcome = shell.emergency_outcome(event)
    metrics.message_handled(outcome.replies[0].route if outcome.replies else None,
                            outcome.state.reply_language, time.perf_counter() - started,
                            update.update_id)
    shell.remember(update, outcome.state)
    urgent = bool(outcome.replies) and outcome.replies[0].route in URGENT_ROUTES
    if urgent:  # the emergency first, then everything else
        try:
            await shell.send(context, chat.id, outcome.replies[0])
        finally:
            if query is not None:
                await _answer(query)
        _ensure_jobs(context, update, outcome)
        await _apply(update, context, outcome)
        await shell.send(context, chat.id, *outcome.replies[1:])
        metrics.reply_finished(update.update_id, urgent, started)
        return
    _ensure_jobs(context, update, outcome)
    if query is not None:
        await _answer(query)
        if event.text.startswith(("country:", "forget:", "ci:", "rm:")):
            await _remove_keyboard(query)
    failed = await _apply(update, context, outcome)
    await shell.send(context, chat.id, *([failed] if failed else []), *outcome.replies)
    metrics.reply_finished(update.update_id, urgent, started)


def _ensure_jobs(context: Context, update: Update, outcome: Outcome) -> None:
    """Schedule the user's companion jobs if this replica has not yet (best effort: never in
    the way of a reply)."""
    if update.effective_user is None or "forget" in outcome.effects:
        return
    try:
        jobs_of(context.application).ensure(update.effective_user.id)
    except Exception as exc:
        _log.error("Could not schedule a user's companion jobs (%s)", type(exc).__name__)


async def _apply(update: Update, context: Context, outcome: Outcome) -> Reply | None:
    """Carry out the outcome's effects: save the country and language, or forget the user.
    A save or erase the store refused is told to the user honestly (the reply returned)."""
    user = update.effective_user
    if user is None or not (outcome.effects or outcome.score):
        return None
    shell = shell_of(context)
    try:
        if "forget" in outcome.effects:
            shell.forget(update)
            jobs_of(context.application).forget(user.id)
            await forget_user(context.application, user.id)
            return None
        if outcome.score is not None:
            store = _store(context.application)
            if store is not None:
                await store.put_checkin(user.id, *outcome.score)
        if "companion" in outcome.effects and context.user_data is not None:
            for key, value in outcome.state.companion.to_fields().items():
                if value is None:
                    context.user_data.pop(key, None)
                else:
                    context.user_data[key] = value
            await save_user(context.application, user.id)
            jobs_of(context.application).schedule(user.id)
        if "save" in outcome.effects and context.user_data is not None:
            set_country(context.user_data, outcome.state.country)
            set_language(context.user_data, outcome.state.language)
            # PTB's own flush first (it also retries an earlier erase that failed), then the
            # direct save, which raises if the store refused
            context.application.mark_data_for_update_persistence(user_ids=user.id)
            await context.application.update_persistence()
            await save_user(context.application, user.id)
    except StoreError:  # already logged, in one line, without the user
        return shell.core.message("save_failed", outcome.state.country,
                                  outcome.state.reply_language)
    return None


def _store(application: Application):  # type: ignore[no-untyped-def,type-arg]
    persistence = application.persistence
    return persistence.store if isinstance(persistence, StorePersistence) else None


async def _scores(application: Application, user_id: int  # type: ignore[type-arg]
                  ) -> tuple[tuple[int, int, int | None], ...]:
    """The user's stored check-in scores (none if the store cannot be read: logged)."""
    store = _store(application)
    if store is None:
        return ()
    try:
        return tuple(await store.checkins(user_id))
    except StoreError as exc:
        _log.warning("Could not read check-in scores: %s", exc)
        return ()


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


def register_handlers(application: Application) -> None:  # type: ignore[type-arg]
    names = [c.name for c in COMMAND_TABLE]
    application.add_handler(CommandHandler(names, on_update, filters=NEW_MESSAGE))
    application.add_handler(CallbackQueryHandler(on_update))
    addressed = NEW_MESSAGE & ADDRESSED_TO_BOT
    application.add_handler(MessageHandler(addressed & filters.TEXT & ~filters.COMMAND, on_update))
    application.add_handler(MessageHandler(addressed & (VOICE | PLACE | MEDIA), on_update))
    application.add_handler(
        MessageHandler(filters.UpdateType.EDITED_MESSAGE & ADDRESSED_TO_BOT, on_update)
    )
    # an unknown /command in a private chat: the conversation answers with /help
    application.add_handler(
        MessageHandler(NEW_MESSAGE & filters.ChatType.PRIVATE & filters.COMMAND, on_update)
    )
