"""What every handler shares: the core, the delivery, and the replies built from the core.

One :class:`Shell` per Application, kept in ``application.bot_data`` (bot_data is never
persisted). No user-facing words here: every text and label comes from the core.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackContext

from bot.core import Core
from bot.reply.model import Button, Reply
from bot.telegram.delivery import URGENT_ROUTES, Delivery
from bot.telegram.persistence import get_country

SHELL_KEY = "recovery_bot_shell"
URGENT_COMMANDS = {"sos": "overdose", "emergency": "overdose", "crisis": "suicide"}


@dataclass
class Shell:
    core: Core
    delivery: Delivery = field(default_factory=Delivery)
    # Users who sent /country and whose next text is read as a country. Memory only.
    awaiting_country: set[int] = field(default_factory=set)

    # -- state -----------------------------------------------------------------------------

    def country(self, context: CallbackContext[Any, Any, Any, Any]) -> str | None:
        country = get_country(context.user_data)
        return country if country in self.core.countries else None

    # -- replies built from the core --------------------------------------------------------

    def ask_country(self, country: str | None) -> Reply:
        return self.with_country_buttons(self.core.message("ask_country", country))

    def with_country_buttons(self, reply: Reply) -> Reply:
        return with_buttons(reply, self.core.country_buttons())

    def topics(self, country: str | None) -> Reply:
        return with_buttons(self.core.message("topics", country), self.core.topic_buttons())

    def forget_confirm(self, country: str | None) -> Reply:
        reply = self.core.message("forget_confirm", country)
        if reply.buttons:
            return reply
        return with_buttons(
            reply,
            (
                Button(self.core.label("forget_yes"), "forget:yes"),
                Button(self.core.label("forget_no"), "forget:no"),
            ),
        )

    def maybe_topic(self, intent_id: str, country: str | None) -> Reply | None:
        """The topic reply, or None for an id the core does not know (old button, bad link)."""
        try:
            return self.core.topic(intent_id, country)
        except KeyError:
            return None

    # -- sending ------------------------------------------------------------------------------

    async def send(
        self, context: CallbackContext[Any, Any, Any, Any], chat_id: int, *replies: Reply
    ) -> bool:
        """Send replies in order; stop (False) if the chat turned out to be unreachable."""
        for reply in replies:
            if not await self.delivery.send_reply(context.bot, chat_id, reply):
                return False
        return True

    # -- urgency (used to let emergencies skip their chat's queue) ---------------------------

    def is_urgent(self, update: object) -> bool:
        if not isinstance(update, Update):
            return False
        if update.callback_query is not None:
            action, _, arg = (update.callback_query.data or "").partition(":")
            reply = self.maybe_topic(arg, None) if action == "intent" else None
            return reply is not None and reply.route in URGENT_ROUTES
        message = update.effective_message
        text = (message.text or message.caption or "") if message is not None else ""
        if text.startswith("/"):
            words = text[1:].split()
            command = words[0].split("@", 1)[0].lower() if words else ""
            if command == "start" and len(words) > 1:  # deep link to a topic
                reply = self.maybe_topic(words[1], None)
                return reply is not None and reply.route in URGENT_ROUTES
            return command in URGENT_COMMANDS
        return bool(text.strip()) and self.core.is_urgent(text)


def with_buttons(reply: Reply, buttons: tuple[Button, ...]) -> Reply:
    return dataclasses.replace(reply, buttons=buttons)


def install_shell(application: Application[Any, Any, Any, Any, Any, Any], shell: Shell) -> None:
    application.bot_data[SHELL_KEY] = shell


def shell_of(
    holder: CallbackContext[Any, Any, Any, Any] | Application[Any, Any, Any, Any, Any, Any],
) -> Shell:
    """The Shell of a handler's context or of the Application itself."""
    return holder.bot_data[SHELL_KEY]
