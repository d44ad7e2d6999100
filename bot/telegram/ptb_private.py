"""Every use of python-telegram-bot's private members, in one place (PTB pinned < 23).

PTB has no public API for these two needs. ``tests/telegram/test_ptb_private.py`` fails
loudly when an upgrade renames or changes any of them, so they are never silently lost:

- ``AIORateLimiter._run_request(chat, ...)``: the one method every Bot API call passes
  through; ``UrgentFirstRateLimiter`` overrides it to let emergency sends skip the shared
  30-messages-a-second bucket (bot/telegram/rate_limit.py).
- ``RetryAfter._retry_after``: the wait as a ``timedelta`` (the public ``retry_after`` is
  changing type under a deprecation).

The webhook server is the bot's own (bot/telegram/webhook.py), so nothing reaches into PTB's
(``Updater._httpd``) any more.

The pickle writer override (``PicklePersistence._dump_singlefile``) is gone with the pickle
file: state lives in the state store (bot/store/).
"""

from __future__ import annotations

from telegram.error import RetryAfter

RATE_LIMITER_HOOK = "_run_request"


def retry_after_seconds(exc: RetryAfter) -> float:
    """How long Telegram asked us to wait, in seconds."""
    value = getattr(exc, "_retry_after", None)
    return value.total_seconds() if value is not None else float(exc.retry_after)
