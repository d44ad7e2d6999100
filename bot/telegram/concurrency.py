"""Updates from different chats run concurrently; within one chat they run in order.

Order matters inside a chat (``/country`` then "uk"; choosing a country then asking a
question), so each chat has a FIFO lock. The lock is taken *before* PTB's concurrency slot, so a
chat with a backlog never holds slots that other chats need. Urgent updates (an overdose or
crisis message, ``/sos``) skip their chat's queue: an emergency never waits behind a slow reply,
and while one is being handled other updates wait (at most ``URGENT_HEAD_START`` seconds), so
under load the emergency's messages reach Telegram first.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.telegram.confirm import REPLY_STORED

DEFAULT_MAX_CONCURRENT = 256
URGENT_HEAD_START = 1.0  # seconds other updates wait at most while an emergency is handled


@dataclass
class _ChatQueue:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class PerChatUpdateProcessor(BaseUpdateProcessor):
    def __init__(
        self,
        is_urgent: Callable[[object], bool] = lambda update: False,
        max_concurrent_updates: int = DEFAULT_MAX_CONCURRENT,
        on_done: Callable[[object], None] | None = None,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self._is_urgent = is_urgent
        self._on_done = on_done  # told when an update's handlers have finished
        self._queues: dict[int, _ChatQueue] = {}
        self._urgent_running = 0
        self._calm = asyncio.Event()
        self._calm.set()

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        token = REPLY_STORED.set(lambda: self._done(update))
        try:
            await self._process(update, coroutine)
        except asyncio.CancelledError:
            raise  # not handled: kept unconfirmed, so Telegram sends it again after a restart
        except BaseException:
            self._done(update)  # handled, badly (the error handler answered): not again
            raise
        finally:
            REPLY_STORED.reset(token)
        self._done(update)

    def _done(self, update: object) -> None:
        if self._on_done is not None:
            self._on_done(update)

    async def _process(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat_id = _chat_id(update)
        if chat_id is None or self._urgent(update):
            self._urgent_running += 1
            self._calm.clear()
            try:
                await super().process_update(update, coroutine)
            finally:
                self._urgent_running -= 1
                if not self._urgent_running:
                    self._calm.set()
            return
        # Let the urgent updates of the same batch start first, then give them a moment.
        await asyncio.sleep(0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._calm.wait(), URGENT_HEAD_START)
        queue = self._queues.setdefault(chat_id, _ChatQueue())
        queue.users += 1
        try:
            async with queue.lock:
                await super().process_update(update, coroutine)
        finally:
            queue.users -= 1
            if queue.users == 0:
                del self._queues[chat_id]

    def _urgent(self, update: object) -> bool:
        try:
            return self._is_urgent(update)
        except Exception:  # the handler meets the same problem and reports it
            return False

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _chat_id(update: object) -> int | None:
    if isinstance(update, Update) and update.effective_chat is not None:
        return update.effective_chat.id
    return None
