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

from telegram.ext import AIORateLimiter

URGENT_SEND: ContextVar[bool] = ContextVar("urgent_send", default=False)


class UrgentFirstRateLimiter(AIORateLimiter):  # type: ignore[misc]
    async def _run_request(self, chat: bool, *args: Any, **kwargs: Any) -> Any:
        # ``chat`` asks for the shared bucket; an urgent send does without it.
        return await super()._run_request(chat and not URGENT_SEND.get(), *args, **kwargs)
