"""The command menu registered with ``set_my_commands`` on start.

Descriptions come from content: ``labels: command_<name>`` in responses.yaml (lint requires
one for every command).
"""

from __future__ import annotations

from telegram import BotCommand

from bot.content import COMMANDS
from bot.core import Core

MAX_DESCRIPTION = 256


def command_menu(core: Core) -> list[BotCommand]:
    return [BotCommand(name, core.label(f"command_{name}").strip()[:MAX_DESCRIPTION])
            for name in COMMANDS]
