"""What every handler shares: the conversation, the delivery, and each user's state.

One :class:`Shell` per Application, kept in ``application.bot_data`` (bot_data is never
persisted). No user-facing words here: every text and label comes from the conversation.

An Update becomes one :class:`~bot.conversation.Event`, classified once: the update processor
asks :meth:`Shell.is_urgent` (to put emergencies first) and the handler then takes the same
event, so no message is normalised or safety-checked twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot, Update
from telegram.constants import ChatType
from telegram.ext import Application, CallbackContext

from bot.companion.settings import Companion
from bot.conversation import Conversation, Event, EventKind, Outcome, UserState
from bot.core import Core
from bot.reply.model import Reply
from bot.telegram.delivery import Delivery
from bot.telegram.filters import without_bot_mention
from bot.telegram.outbox import Outbox
from bot.telegram.persistence import get_country, get_language

SHELL_KEY = "recovery_bot_shell"
MAX_PENDING_EVENTS = 10_000  # events classified by the processor, waiting for their handler
MAX_SESSIONS = 100_000  # users whose conversation context (not stored) is kept in memory

_log = logging.getLogger(__name__)


@dataclass
class Shell:
    core: Core
    delivery: Delivery = field(default_factory=Delivery)
    conversation: Conversation = field(init=False)
    # What the bot last asked and the emergency it is helping with, per user. Memory only.
    sessions: OrderedDict[int, UserState] = field(default_factory=OrderedDict)
    _events: OrderedDict[int, Event] = field(default_factory=OrderedDict)
    clock: Callable[[], float] = time.monotonic  # the conversation's clock (tests set it)
    outbox: Outbox | None = None  # the durable outbox (bot/telegram/outbox.py), once built
    # the wall clock: dates and times of day for the companion (tests set it)
    wall: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))

    def __post_init__(self) -> None:
        self.conversation = Conversation(self.core)

    # -- events -------------------------------------------------------------------------------

    def event_of(self, update: Update, bot_username: str | None) -> Event | None:
        """The update as a conversation event (classified once), or None if it is not one."""
        cached = self._events.pop(update.update_id, None)
        if cached is not None:
            return cached
        return self._build_event(update, bot_username)

    def is_urgent(self, update: object) -> bool:
        """For the update processor: classify now, keep the event for the handler."""
        if not isinstance(update, Update):
            return False
        event = self._build_event(update, update.get_bot().username)
        if event is None:
            return False
        self._events[update.update_id] = event
        while len(self._events) > MAX_PENDING_EVENTS:
            self._events.popitem(last=False)
        return event.urgent

    def _build_event(self, update: Update, bot_username: str | None) -> Event | None:
        chat = update.effective_chat
        private = chat is not None and chat.type == ChatType.PRIVATE
        if update.callback_query is not None:
            return Event("button", update.callback_query.data or "", private=private)
        message = update.effective_message
        if message is None:
            return None
        if update.edited_message is not None:
            return self._with_text("edited", message.text or message.caption, private,
                                   bot_username)
        if message.text is not None:
            text = without_bot_mention(message.text, bot_username)
            return self.conversation.text_event(text, private=private)
        kind: EventKind = ("voice" if (message.voice or message.audio or message.video_note)
                           else "location" if (message.location or message.venue) else "media")
        return self._with_text(kind, message.caption, private, bot_username)

    def _with_text(self, kind: EventKind, text: str | None, private: bool,
                   bot_username: str | None) -> Event:
        if not text:
            return Event(kind, private=private)
        text = without_bot_mention(text, bot_username)
        return Event(kind, text, private=private, classification=self.core.classify(text))

    # -- state --------------------------------------------------------------------------------

    def country(self, context: CallbackContext[Any, Any, Any, Any]) -> str | None:
        """The stored country: any ISO code (one without numbers shows the general ones)."""
        code = get_country(context.user_data)
        return code if code and len(code) == 2 and code.isalpha() and code.isupper() else None

    def state(self, context: CallbackContext[Any, Any, Any, Any], update: Update) -> UserState:
        """The stored country plus this process's conversation context for the user. A stored
        value that cannot be read counts as no country: an emergency is still answered."""
        user = update.effective_user
        try:
            country = self.country(context)
            chosen = get_language(context.user_data)
            companion = Companion.from_fields(dict(context.user_data or {}))
        except Exception as exc:
            _log.warning("Could not read a user's stored state (%s)", type(exc).__name__)
            country, chosen, companion = None, None, Companion()
        session = self.sessions.get(user.id) if user is not None else None
        client = user.language_code if user is not None else None
        base = session or UserState()
        return dataclasses.replace(base, country=country, language=chosen,
                                   client_language=client, companion=companion)

    def emergency_outcome(self, event: Event) -> Outcome:
        """The reply to an urgent event with nothing known about the user: the no-country
        reply in the message's language, else the English one. Never raises for a message
        the safety check marked urgent."""
        try:
            return self.conversation.handle(event, UserState(), self.now())
        except Exception as exc:
            _log.error("The no-country emergency reply failed too (%s); sending the English "
                       "one", type(exc).__name__)
        c = event.classification
        crisis = (c is not None and c.route == "crisis") or event.text.startswith(
            ("intent:suicide", "suicide")) or event.command == "crisis"
        lang = c.language if c is not None and c.language else "en"
        topic = "suicide" if crisis else "overdose"
        for language in (lang, "en"):
            try:
                return Outcome((self.core.topic(topic, None, language),), UserState())
            except Exception:  # the English one is next
                continue
        return Outcome((self.core.catalogue.topics[(topic, None, "en")],), UserState())

    def remember(self, update: Update, state: UserState) -> None:
        user = update.effective_user
        if user is None:
            return
        if state.awaiting is None and state.emergency is None and state.seen_language is None:
            self.sessions.pop(user.id, None)
            return
        self.sessions[user.id] = dataclasses.replace(state, country=None, language=None,
                                                     client_language=None,
                                                     companion=Companion(), scores=(),
                                                     wall=None)
        self.sessions.move_to_end(user.id)
        while len(self.sessions) > MAX_SESSIONS:
            self.sessions.popitem(last=False)

    def forget(self, update: Update) -> None:
        if update.effective_user is not None:
            self.sessions.pop(update.effective_user.id, None)

    def now(self) -> float:
        return self.clock()

    # -- sending ------------------------------------------------------------------------------

    async def send(
        self, context: CallbackContext[Any, Any, Any, Any], chat_id: int, *replies: Reply
    ) -> bool:
        """Send replies in order; False if the chat turned out to be unreachable."""
        return await self.send_to(context.bot, chat_id, *replies)

    async def send_to(self, bot: Bot, chat_id: int, *replies: Reply) -> bool:
        """:meth:`send` without a handler's context (scheduled messages too).

        With the outbox running the replies are stored first and this waits a few seconds at
        most (``OutboxPolicy.send_wait``): True means delivered or still queued."""
        if self.outbox is not None:
            return await self.outbox.send(bot, chat_id, replies)
        for reply in replies:
            if not await self.delivery.send_reply(bot, chat_id, reply):
                return False
        return True


def install_shell(application: Application[Any, Any, Any, Any, Any, Any], shell: Shell) -> None:
    application.bot_data[SHELL_KEY] = shell


def shell_of(
    holder: CallbackContext[Any, Any, Any, Any] | Application[Any, Any, Any, Any, Any, Any],
) -> Shell:
    """The Shell of a handler's context or of the Application itself."""
    return holder.bot_data[SHELL_KEY]
