"""Inline keyboards from the core's buttons (``callback_data`` is the button's action)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.reply.model import Button

MAX_CALLBACK_DATA_BYTES = 64
# Two buttons share a row when both labels are at most this long (fits a phone screen).
PAIR_LABEL_CHARS = 16

_log = logging.getLogger(__name__)


def button_rows(buttons: Sequence[Button]) -> list[list[Button]]:
    """Lay buttons out in order: short labels two to a row, long ones alone."""
    rows: list[list[Button]] = []
    for button in buttons:
        last = rows[-1] if rows else None
        if last is not None and len(last) == 1 and _short(last[0]) and _short(button):
            last.append(button)
        else:
            rows.append([button])
    return rows


def inline_keyboard(buttons: Iterable[Button]) -> InlineKeyboardMarkup | None:
    """The keyboard for ``buttons``, or None when there are none.

    A button whose action would not fit Telegram's 64-byte callback_data is left out (and
    logged) rather than letting Telegram refuse the whole message.
    """
    usable = [b for b in buttons if _fits(b)]
    if not usable:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.label, url=b.url) if b.url
             else InlineKeyboardButton(b.label, callback_data=b.action) for b in row]
            for row in button_rows(usable)
        ]
    )


def _short(button: Button) -> bool:
    return len(button.label) <= PAIR_LABEL_CHARS


def _fits(button: Button) -> bool:
    if button.url:
        return button.url.startswith(("https://", "http://")) and bool(button.label.strip())
    size = len(button.action.encode("utf-8"))
    if 1 <= size <= MAX_CALLBACK_DATA_BYTES and button.label.strip():
        return True
    _log.warning("Button left out: action of %d bytes or empty label", size)
    return False
