"""Telegram's rate limits, with emergencies first.

PTB's ``AIORateLimiter`` keeps one first-in-first-out bucket of 30 messages a second for the
whole bot. Under load an overdose reply would wait behind every other chat's messages in that
bucket. :class:`UrgentFirstRateLimiter` lets a message sent while :data:`URGENT_SEND` is set
skip the shared bucket; it still obeys Telegram's per-group limit and any RetryAfter answer
(the limiter pauses every request, urgent ones too, until the wait is over).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

from bot import metrics
from bot.telegram.ptb_private import retry_after_seconds

URGENT_SEND: ContextVar[bool] = ContextVar("urgent_send", default=False)


class UrgentFirstRateLimiter(AIORateLimiter):  # type: ignore[misc]
    async def _run_request(self, chat: bool, *args: Any, **kwargs: Any) -> Any:
        # PTB's private hook (bot/telegram/ptb_private.py, RATE_LIMITER_HOOK)
        # ``chat`` asks for the shared bucket; an urgent send does without it.
        try:
            result = await super()._run_request(chat and not URGENT_SEND.get(), *args, **kwargs)
        except RetryAfter as exc:  # AIORateLimiter waits it out (or gives up): count the wait
            metrics.rate_limit_wait(_seconds(exc))
            raise
        metrics.telegram_reached()  # every Bot API call passes here: /readyz uses it
        return result


def _seconds(exc: RetryAfter) -> float:
    return retry_after_seconds(exc)
