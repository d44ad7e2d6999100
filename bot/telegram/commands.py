"""The command menu registered with ``set_my_commands`` on start.

Descriptions come from the core: ``core.label("command_<name>")``. Until content has such a
label, /sos, /emergency and /crisis use their topic's menu title and other commands are left
out of the menu (they still work when typed), with a warning naming the missing labels.
"""

from __future__ import annotations

import logging

from telegram import BotCommand

from bot.core import Core
from bot.telegram.shell import URGENT_COMMANDS

MENU = ("sos", "crisis", "start", "country", "topics", "help", "privacy", "forget", "emergency")
MAX_DESCRIPTION = 256

_log = logging.getLogger(__name__)


def command_menu(core: Core) -> list[BotCommand]:
    titles = {button.action.partition(":")[2]: button.label for button in core.topic_buttons()}
    commands: list[BotCommand] = []
    missing: list[str] = []
    for name in MENU:
        try:
            description = core.label(f"command_{name}")
        except KeyError:
            description = titles.get(URGENT_COMMANDS.get(name, ""), "")
            missing.append(f"command_{name}")
        description = description.strip()[:MAX_DESCRIPTION]
        if description:
            commands.append(BotCommand(name, description))
    if missing:
        _log.warning("Content has no labels %s; those commands use fallbacks", ", ".join(missing))
    return commands
