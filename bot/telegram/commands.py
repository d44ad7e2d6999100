"""The command menu registered with ``set_my_commands`` on start, read from the one command
table (``bot.commands``). Descriptions come from content: ``labels: command_<name>`` in
responses.yaml (lint requires one for every command)."""

from __future__ import annotations

from telegram import BotCommand

from bot.commands import COMMAND_TABLE
from bot.core import Core

MAX_DESCRIPTION = 256


def command_menu(core: Core, lang: str = "en") -> list[BotCommand]:
    return [BotCommand(c.name, core.label(c.label_key, lang).strip()[:MAX_DESCRIPTION])
            for c in COMMAND_TABLE if c.in_menu]
