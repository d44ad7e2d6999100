"""The command menu registered with ``set_my_commands`` on start.

Every description comes from content, in this order:

1. ``core.label("command_<name>")`` when content has such a label;
2. the command's line in the ``help`` message (``/sos – overdose: what to do now``);
3. for /sos, /emergency and /crisis, their topic's menu title.

A command with none of these is left out of the menu (it still works when typed).
"""

from __future__ import annotations

import html
import re

from telegram import BotCommand

from bot.core import Core
from bot.telegram.shell import URGENT_COMMANDS

MENU = ("sos", "crisis", "start", "country", "topics", "help", "privacy", "forget", "emergency")
MAX_DESCRIPTION = 256

_HELP_LINE = re.compile(r"^\s*/(\w+)\s+[–—:-]\s+(.+?)\s*$", re.MULTILINE)


def command_menu(core: Core) -> list[BotCommand]:
    from_help = help_descriptions(core)
    titles = {button.action.partition(":")[2]: button.label for button in core.topic_buttons()}
    commands: list[BotCommand] = []
    for name in MENU:
        try:
            description = core.label(f"command_{name}")
        except KeyError:
            description = from_help.get(name) or titles.get(URGENT_COMMANDS.get(name, ""), "")
        description = description.strip()[:MAX_DESCRIPTION]
        if description:
            commands.append(BotCommand(name, description))
    return commands


def help_descriptions(core: Core) -> dict[str, str]:
    """``{command: description}`` from the lines of the help message."""
    text = html.unescape(re.sub(r"<[^>]+>", "", "\n".join(core.message("help", None).messages)))
    return {match[1].lower(): match[2] for match in _HELP_LINE.finditer(text)}
