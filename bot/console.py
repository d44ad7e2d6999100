"""The console chat: exactly the replies Telegram would send, as plain text."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.content.html_format import html_to_text
from bot.core import Core
from bot.reply.model import Button, Reply

URGENT_ROUTES = ("overdose", "crisis")


def render_reply(reply: Reply) -> str:
    """A reply as a person reads it in a terminal: text, then numbered choices."""
    parts = [html_to_text(m) for m in reply.messages]
    if reply.buttons:
        parts.append("\n".join(f"  [{n}] {b.label}" for n, b in enumerate(reply.buttons, 1)))
    return "\n\n".join(parts)


class ConsoleChat:
    """One conversation. Typing a number picks that button; /commands work as on Telegram."""

    def __init__(self, core: Core, country: str | None, out: TextIO):
        self.core = core
        self.country = country
        self.out = out
        self.buttons: tuple[Button, ...] = ()
        self.awaiting_country = False

    def show(self, reply: Reply) -> None:
        self.buttons = reply.buttons
        print(render_reply(reply), file=self.out)
        print(file=self.out)

    def press(self, action: str) -> None:
        kind, _, value = action.partition(":")
        if kind == "intent" and self.core.has_topic(value):
            self.show(self.core.topic(value, self.country))
        elif kind == "country":
            self.set_country(None if value == "other" else value)
        elif action == "forget:yes":
            self.country = None
            self.show(self.core.message("forget_done", None))
        elif action == "forget:no":
            self.show(self.core.message("forget_cancelled", self.country))

    def set_country(self, code: str | None) -> None:
        self.awaiting_country = False
        self.country = code
        if code is None:
            self.show(self.core.message("country_other", None))
        else:
            self.show(self.core.message("country_set", code))
        self.set_topics()

    def command(self, name: str, arg: str) -> None:
        core, cc = self.core, self.country
        if name == "start":
            if arg and core.has_topic(arg):
                self.show(core.topic(arg, cc))
                return
            self.show(core.message("welcome", cc))
            self.ask_country()
        elif name in ("sos", "emergency"):
            self.show(core.topic("overdose", cc))
        elif name == "crisis":
            self.show(core.topic("suicide", cc))
        elif name == "country":
            if arg:
                self.answer_country(arg)
            else:
                self.ask_country()
        elif name == "topics":
            self.set_topics()
        elif name in ("help", "privacy"):
            self.show(core.message(name, cc))
        elif name == "forget":
            base = core.message("forget_confirm", cc)
            self.show(Reply("fallback", None, base.messages, (
                Button(core.label("forget_yes"), "forget:yes"),
                Button(core.label("forget_no"), "forget:no"))))
        else:
            self.show(core.message("help", cc))

    def set_topics(self) -> None:
        base = self.core.message("topics", self.country)
        self.show(Reply("fallback", None, base.messages, self.core.topic_buttons()))

    def ask_country(self) -> None:
        self.awaiting_country = True
        base = self.core.message("ask_country", self.country)
        self.show(Reply("fallback", None, base.messages, self.core.country_buttons()))

    def answer_country(self, text: str) -> None:
        code = self.core.resolve_country(text)
        if code is not None:
            self.set_country(code)
        elif text.strip().casefold() in ("other", self.core.label("country_other").casefold()):
            self.set_country(None)
        else:
            self.show(self.core.message("country_not_understood", self.country))

    def say(self, line: str) -> None:
        text = line.rstrip("\r\n")
        stripped = text.strip()
        if stripped.isdigit() and self.buttons and 1 <= int(stripped) <= len(self.buttons):
            self.press(self.buttons[int(stripped) - 1].action)
            return
        if stripped.startswith("/") and len(stripped) > 1 and " " not in stripped.split()[0][1:]:
            name, _, arg = stripped[1:].partition(" ")
            self.command(name.split("@")[0].casefold(), arg.strip())
            return
        # Safety first, as on Telegram: "my mate overdosed in england" is an emergency,
        # not the answer to "which country?".
        reply = self.core.handle(text, self.country)
        if self.awaiting_country:
            self.awaiting_country = False
            if reply.route not in URGENT_ROUTES:
                code = self.core.resolve_country(text)
                if code is not None or stripped.casefold() == "other":
                    self.set_country(code)
                    return
        self.show(reply)


def run_chat(core: Core, country: str | None, stdin: TextIO = sys.stdin,
             stdout: TextIO = sys.stdout) -> int:
    chat = ConsoleChat(core, country, stdout)
    interactive = stdin.isatty()
    if country is None:
        chat.command("start", "")
    else:
        chat.show(core.message("welcome", country))
        chat.set_topics()
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            return 0
        if interactive or line.strip():
            if not interactive:
                print(f"> {line.rstrip()}", file=stdout)
            chat.say(line)
