"""Telegram's rate limits, with emergencies first, and 429 pauses that hold.

PTB's ``AIORateLimiter`` keeps one first-in-first-out bucket of 30 messages a second for the
whole bot. Under load an overdose reply would wait behind every other chat's messages in that
bucket. :class:`UrgentFirstRateLimiter` lets a message sent while :data:`URGENT_SEND` is set
skip the shared bucket; it still obeys Telegram's per-group limit and every 429 pause.

429 RetryAfter pauses are deadlines, never an event some request sets again: PTB's own pause
is released early by any request that was already in flight when the 429 came (PTB issue
#5338). Here:

- a 429 pauses every request to *that chat* until ``retry_after`` (+0.1 s) has passed,
  including requests that were already in flight (when they come back, or are retried, they
  wait for the same deadline: pauses only ever grow, nothing releases one early);
- a *global flood wait* pauses every request: a 429 for a request without a chat, or 429s
  for two different chats while the first pause still runs (Telegram does not say which kind
  a 429 is; two chats limited at once is how a bot-wide limit shows);
- when a pause ends, emergency sends go first: other requests wait (at most
  :data:`URGENT_HEAD_START` seconds) until the urgent ones that waited have been answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

from bot import metrics
from bot.telegram.ptb_private import retry_after_seconds

URGENT_SEND: ContextVar[bool] = ContextVar("urgent_send", default=False)
URGENT_HEAD_START = 1.0  # seconds others wait after a pause while urgent sends go first
PAUSE_MARGIN = 0.1  # seconds added to Telegram's retry_after

_log = logging.getLogger(__name__)
Callback = Callable[..., Coroutine[Any, Any, Any]]


class UrgentFirstRateLimiter(AIORateLimiter):  # type: ignore[misc]
    def __init__(self, *args: Any, clock: Callable[[], float] = time.monotonic,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock
        self._global_until = 0.0
        self._chat_until: dict[int | str, float] = {}
        self._urgent_after_pause = 0  # urgent requests that waited out a pause, not done yet
        self._urgent_done = asyncio.Event()
        self._urgent_done.set()

    # -- pauses ------------------------------------------------------------------------------

    def paused_for(self, chat_id: int | str | None) -> float:
        """Seconds until a request to ``chat_id`` (None: one without a chat) may go."""
        until = self._global_until
        if chat_id is not None:
            until = max(until, self._chat_until.get(chat_id, 0.0))
        return max(0.0, until - self._clock())

    def _pause(self, chat_id: int | str | None, seconds: float) -> None:
        now = self._clock()
        until = now + seconds + PAUSE_MARGIN
        others = [c for c, t in self._chat_until.items() if t > now and c != chat_id]
        if chat_id is None or others:
            if until > self._global_until:
                _log.warning("Telegram flood wait: every send paused for %.1f s", seconds)
            self._global_until = max(self._global_until, until)
        if chat_id is not None:
            self._chat_until[chat_id] = max(self._chat_until.get(chat_id, 0.0), until)
        for chat, t in list(self._chat_until.items()):  # forget pauses long over
            if t < now - 60:
                del self._chat_until[chat]

    async def _wait_for_pauses(self, chat_id: int | str | None, urgent: bool) -> bool:
        """Wait until no pause applies. An urgent request that has to wait is counted from
        the start (True is returned: the caller uncounts it once answered), so that every
        other request waits for it when the pause ends."""
        counted = False
        while (wait := self.paused_for(chat_id)) > 0:
            if urgent and not counted:
                counted = True
                self._urgent_after_pause += 1
                self._urgent_done.clear()
            await asyncio.sleep(wait)
        if not urgent and not self._urgent_done.is_set():
            with contextlib.suppress(TimeoutError):  # the emergencies that waited go first
                await asyncio.wait_for(self._urgent_done.wait(), URGENT_HEAD_START)
        return counted

    # -- PTB's hooks -------------------------------------------------------------------------

    async def process_request(
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        """Like AIORateLimiter.process_request, with the pauses above."""
        max_retries = rate_limit_args or self._max_retries
        chat_id: Any = data.get("chat_id")
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)
        group: int | str | bool = False
        if (isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str):
            group = chat_id
        urgent = URGENT_SEND.get()
        for attempt in range(max_retries + 1):
            counted = await self._wait_for_pauses(chat_id, urgent)
            try:
                return await self._run_request(
                    chat=chat_id is not None,
                    group=group,
                    allow_paid_broadcast=data.get("allow_paid_broadcast", False),
                    callback=callback,
                    args=args,
                    kwargs=kwargs,
                )
            except RetryAfter as exc:
                seconds = retry_after_seconds(exc)
                self._pause(chat_id, seconds)
                if attempt == max_retries:
                    _log.warning("Still rate limited after %d retries", max_retries)
                    raise
                _log.info("Rate limited: retrying in %.1f s", seconds + PAUSE_MARGIN)
            finally:
                if counted:
                    self._urgent_after_pause -= 1
                    if not self._urgent_after_pause:
                        self._urgent_done.set()
        raise AssertionError("unreachable")  # pragma: no cover

    async def _run_request(self, chat: bool, *args: Any, **kwargs: Any) -> Any:
        # PTB's private hook (bot/telegram/ptb_private.py, RATE_LIMITER_HOOK)
        # ``chat`` asks for the shared bucket; an urgent send does without it.
        try:
            result = await super()._run_request(chat and not URGENT_SEND.get(), *args, **kwargs)
        except RetryAfter as exc:  # the pause is set by process_request: count the wait
            metrics.rate_limit_wait(_seconds(exc))
            raise
        metrics.telegram_reached()  # every Bot API call passes here: /readyz uses it
        return result


def _seconds(exc: RetryAfter) -> float:
    return retry_after_seconds(exc)
