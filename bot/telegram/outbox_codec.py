"""What a message *is*, as a short reference, and back: the outbox stores these, never text.

Every text the bot sends is built from the vetted content at start-up (bot/reply/catalogue.py),
so each message can be named by where it comes from::

    t/<topic id>/<country or ->/<language>/<step>     a topic's reply, its step-th message
    m/<message key>/<country or ->/<language>/<step>  a message (country_set, ask_country, ...)
    h/-/<country or ->/<language>/0                   the /help reply (its command list added)

and each button by its label's origin and its action (``T/<lang>/<topic>``,
``L/<lang>/<label key>``, ``C/<country>``, ``N/<language>``, then ``=<action>``; buttons
joined with ``;``). :meth:`ReplyCodec.encode` returns None for a reply it cannot name
exactly (a text built some other way): such a reply is sent directly, without the outbox, so
nothing that is not vetted content ever reaches the store. Decoding uses the content of the
process that sends: after an upgrade a queued message goes out in its current vetted wording.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.reply.model import Button, Reply

if TYPE_CHECKING:
    from bot.conversation import Conversation

NO_COUNTRY = "-"
_ACTION = re.compile(r"[A-Za-z0-9_.:+\-/]{1,64}")


class UnknownReference(LookupError):
    """A stored reference the current content does not have (it was removed)."""


class ReplyCodec:
    """Built once per process from the conversation's core (a few dictionary lookups each)."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        core = conversation.core
        self.core = core
        self._texts: dict[str, str] = {}
        for (rid, cc, lang), reply in core.catalogue.topics.items():
            for step, text in enumerate(reply.messages):
                self._texts.setdefault(text, f"t/{rid}/{cc or NO_COUNTRY}/{lang}/{step}")
        for (key, cc, lang), reply in core.catalogue.messages.items():
            for step, text in enumerate(reply.messages):
                self._texts.setdefault(text, f"m/{key}/{cc or NO_COUNTRY}/{lang}/{step}")
        self._labels: dict[str, str] = {}
        for lang, titles in core.catalogue.all_titles.items():
            for rid, title in titles.items():
                self._labels.setdefault(title, f"T/{lang}/{rid}")
        for lang, labels in core.catalogue.labels.items():
            for key, label in labels.items():
                self._labels.setdefault(label, f"L/{lang}/{key}")
        for code in core.countries:
            self._labels.setdefault(core._short_name(code), f"C/{code}")
        for lang in core.catalogue.languages:
            self._labels.setdefault(core.language_name(lang), f"N/{lang}")
        self._help: dict[str, str] = {}

    # -- encoding ----------------------------------------------------------------------------

    def encode(self, reply: Reply) -> tuple[tuple[str, ...], str] | None:
        """(one reference per message, the buttons' references), or None if not nameable."""
        refs = []
        for text in reply.messages:
            ref = self._texts.get(text) or self._help_ref(text)
            if ref is None:
                return None
            refs.append(ref)
        buttons = []
        for button in reply.buttons:
            label = self._labels.get(button.label)
            if label is None or not _ACTION.fullmatch(button.action):
                return None
            buttons.append(f"{label}={button.action}")
        return tuple(refs), ";".join(buttons)

    def _help_ref(self, text: str) -> str | None:
        if not self._help:
            keys = [None, *self.core.countries]
            for lang in self.core.catalogue.languages:
                for cc in keys:
                    reply = self.conversation.help_reply(cc, lang)
                    self._help.setdefault(reply.messages[0], f"h/-/{cc or NO_COUNTRY}/{lang}/0")
        return self._help.get(text)

    # -- decoding ----------------------------------------------------------------------------

    def text(self, ref: str) -> str:
        try:
            kind, key, cc, lang, step = ref.split("/")
            country = None if cc == NO_COUNTRY else cc
            if kind == "t":
                reply = self.core.catalogue.topics[(key, country, lang)]
            elif kind == "m":
                reply = self.core.catalogue.messages[(key, country, lang)]
            elif kind == "h":
                reply = self.conversation.help_reply(country, lang)
            else:
                raise KeyError(kind)
            return reply.messages[int(step)]
        except (KeyError, ValueError, IndexError):
            raise UnknownReference(ref) from None

    def buttons(self, refs: str) -> tuple[Button, ...]:
        if not refs:
            return ()
        out = []
        for item in refs.split(";"):
            label_ref, _, action = item.partition("=")
            out.append(Button(self._label(label_ref), action))
        return tuple(out)

    def _label(self, ref: str) -> str:
        core = self.core
        try:
            kind, *rest = ref.split("/")
            if kind == "T":
                return core.catalogue.all_titles[rest[0]][rest[1]]
            if kind == "L":
                return core.catalogue.labels[rest[0]][rest[1]]
            if kind == "C":
                return core._short_name(rest[0])
            if kind == "N":
                return core.language_name(rest[0])
        except (KeyError, IndexError):
            pass
        raise UnknownReference(ref)
