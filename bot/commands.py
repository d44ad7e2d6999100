"""The one command table: what each /command does, whether it is urgent, and its menu label.

Read by the conversation (what to do), Telegram (handlers and ``set_my_commands``), the console
and ``/help`` (the list of commands), so a command exists in one row or not at all. Labels live
in content (``labels: command_<name>`` in responses.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["start", "sos", "crisis", "country", "language", "topics", "help", "privacy",
                 "forget", "cleandate", "checkin", "progress", "reminder", "meetings",
                 "mydata", "timezone"]
# the opt-in companion's commands (bot/companion)
COMPANION_ACTIONS = frozenset({"cleandate", "checkin", "progress", "reminder", "meetings",
                               "mydata", "timezone"})


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    action: Action
    urgent: bool = False  # handled before anything else, skipping the chat's queue
    in_menu: bool = True  # listed in Telegram's command menu and in /help

    @property
    def label_key(self) -> str:
        return f"command_{self.name}"


COMMAND_TABLE: tuple[Command, ...] = (
    Command("sos", "sos", urgent=True),
    Command("emergency", "sos", urgent=True, in_menu=False),
    Command("crisis", "crisis", urgent=True),
    Command("start", "start"),
    Command("country", "country"),
    Command("language", "language"),
    Command("topics", "topics"),
    Command("help", "help"),
    Command("cleandate", "cleandate"),
    Command("checkin", "checkin"),
    Command("progress", "progress"),
    Command("reminder", "reminder"),
    Command("meetings", "meetings"),
    Command("timezone", "timezone"),
    Command("mydata", "mydata"),
    Command("privacy", "privacy"),
    Command("forget", "forget"),
)
COMMANDS_BY_NAME = {c.name: c for c in COMMAND_TABLE}
COMMAND_NAMES = tuple(c.name for c in COMMAND_TABLE)
