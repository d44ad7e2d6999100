"""The console chat: exactly the replies Telegram would send, as plain text.

A thin shell over :class:`bot.conversation.Conversation`: a line in, the Outcome's replies out.
Typing a number presses that button. State lives in memory only; nothing is written to disk.

The companion's scheduled messages (milestones, check-ins, reminders) are delivered by
:meth:`ConsoleChat.tick`, on a wall clock the caller controls (tests) or the real one (the
interactive chat ticks before each line, and ``/tick`` does it by hand): the schedule module
decides what is due, the conversation what it says, the console only shows it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import sys
import time
from collections.abc import Callable
from typing import TextIO

from bot.companion import schedule
from bot.content.html_format import html_to_text
from bot.conversation import Conversation, Event, Outcome, UserState
from bot.core import Core
from bot.reply.model import Button, Reply


def render_reply(reply: Reply) -> str:
    """A reply as a person reads it in a terminal: text, then numbered choices."""
    parts = [html_to_text(m) for m in reply.messages]
    if reply.buttons:
        parts.append("\n".join(f"  [{n}] {b.label}" + (f": {b.url}" if b.url else "")
                               for n, b in enumerate(reply.buttons, 1)))
    return "\n\n".join(parts)


class ConsoleChat:
    """One conversation. Typing a number picks that button; /commands work as on Telegram."""

    def __init__(self, core: Core, country: str | None, out: TextIO, *,
                 language: str | None = None, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)):
        self.core = core
        self.conversation = Conversation(core)
        self.state = UserState(country=country, client_language=language)
        self.out = out
        self.clock = clock
        self.wall = wall
        self.last_tick = wall()  # the companion's runs due after this are still to send
        self.buttons: tuple[Button, ...] = ()
        self.replies: list[Reply] = []  # everything shown, in order (for tests)

    @property
    def country(self) -> str | None:
        return self.state.country

    def show(self, reply: Reply) -> None:
        self.replies.append(reply)
        self.buttons = reply.buttons
        print(render_reply(reply), file=self.out)
        print(file=self.out)

    def handle(self, event: Event) -> None:
        if event.kind == "command" and event.command == "tick":
            self.tick()
            return
        outcome = self.conversation.handle(event, self.state, self.clock(), self.wall())
        self._apply(outcome)
        for reply in outcome.replies:
            self.show(reply)

    def _apply(self, outcome: Outcome) -> None:
        state = outcome.state
        if "companion" in outcome.effects or "forget" in outcome.effects:
            self.last_tick = self.wall()  # rescheduled from now on, as Telegram does
        scores = self.state.scores if "forget" not in outcome.effects else ()
        if outcome.score is not None:
            day = outcome.score[0]
            scores = (*(s for s in scores if s[0] != day), outcome.score)
        cutoff = self.wall().date().toordinal() - schedule.SCORE_DAYS
        self.state = dataclasses.replace(
            state, scores=tuple(sorted(s for s in scores if s[0] >= cutoff)))

    def tick(self) -> None:
        """Send what the companion has due since the last tick (at most 2 hours late)."""
        now = self.wall()
        since, self.last_tick = self.last_tick, now
        for run in schedule.to_send(self.state.companion, since, now):
            for reply in self.conversation.due(run, self.state).replies:
                self.show(reply)

    def press(self, action: str) -> None:
        self.handle(Event("button", action))

    def say(self, line: str) -> None:
        text = line.rstrip("\r\n")
        stripped = text.strip()
        if stripped.isdigit() and self.buttons and 1 <= int(stripped) <= len(self.buttons):
            button = self.buttons[int(stripped) - 1]
            if button.url:  # a link: the console can only show where it goes
                print(button.url, file=self.out)
                print(file=self.out)
                return
            self.press(button.action)
            return
        self.handle(self.conversation.text_event(text))


def run_chat(core: Core, country: str | None, stdin: TextIO = sys.stdin,
             stdout: TextIO = sys.stdout) -> int:
    chat = ConsoleChat(core, country, stdout)
    interactive = stdin.isatty()
    if interactive:
        _enable_line_editing()
    chat.say("/start")
    while True:
        chat.tick()
        if interactive:
            try:
                line = input("> ") + "\n"
            except EOFError:
                return 0
        else:
            line = stdin.readline()
            if not line:
                return 0
        if interactive or line.strip():
            if not interactive:
                print(f"> {line.rstrip()}", file=stdout)
            chat.say(line)


def _enable_line_editing() -> None:
    """Arrow keys and history at the prompt (readline, where the platform has it)."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (importing it is what enables editing for input())
