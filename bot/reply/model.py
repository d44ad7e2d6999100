"""The plain reply object the core returns and both shells render."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Route = Literal["overdose", "crisis", "check", "answer", "clarify", "fallback"]
ROUTES: tuple[Route, ...] = ("overdose", "crisis", "check", "answer", "clarify", "fallback")


@dataclass(frozen=True, slots=True)
class Button:
    """A choice shown under a message.

    ``action`` is what pressing it does: ``"intent:<id>"`` opens a topic,
    ``"country:<CC>"`` sets the country, other actions are shell commands
    (``"forget:yes"``, ``"forget:no"``, ``"country:other"``).

    A button with a ``url`` opens that address instead (Telegram: a URL button; the console
    prints the address); its ``action`` is ``""`` and it never comes back as an event.
    """

    label: str
    action: str
    url: str | None = None

    @classmethod
    def link(cls, label: str, url: str) -> Button:
        return cls(label, "", url)


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot says back.

    ``messages`` are sent in order (Telegram HTML). ``messages[0]`` is the most
    urgent one: for the overdose route it carries the emergency number. Buttons go
    under the last message.
    """

    route: Route
    intent: str | None
    messages: tuple[str, ...]
    buttons: tuple[Button, ...] = ()
    score: float = 0.0
    candidates: tuple[tuple[str, float], ...] = field(default=())

    @property
    def text(self) -> str:
        return "\n\n".join(self.messages)
