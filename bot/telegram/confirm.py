"""Polling confirms an update to Telegram only once it has been handled.

PTB's Updater confirms a batch (asks ``getUpdates`` with an offset past it) as soon as it has
put the batch in its queue. A process killed outright (SIGKILL, a crash, the machine) then
loses every update it had fetched but not yet answered: Telegram will not send them again.
Here the ``getUpdates`` client (:class:`bot.telegram.updates.TolerantUpdatesRequest`) asks
with the offset of the oldest update still being handled instead, so Telegram keeps the
unanswered ones; updates it sends again while they are still being handled are not passed to
PTB twice. An update counts as handled once its reply is stored in the outbox (the outbox
then delivers it, across restarts), or when its handler has finished. After a kill, the next
start gets every update whose reply was not yet stored again.

The trade-off: while an update is being handled, the poll returns at once with it, so the
client waits :data:`HELD_PAUSE` between such polls instead of long-polling; and an update
handled in the last moment before a kill, not yet confirmed, is answered again after the
restart (a duplicate, never a loss). A reply sent in two parts (the emergency message first,
then the rest) counts as stored with its first part; a kill in the milliseconds between the two
stores would lose the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

# Set while an update is handled: call it once the update's reply is durable (stored in the
# outbox), so the update is confirmed then rather than when the reply has reached Telegram.
REPLY_STORED: ContextVar[Callable[[], None] | None] = ContextVar("reply_stored", default=None)

HELD_PAUSE = 0.25  # seconds between polls while only updates being handled come back


class HandledOffsets:
    """The update ids passed to PTB and not yet handled (one process, one event loop)."""

    def __init__(self) -> None:
        self._pending: set[int] = set()
        self._highest = -1  # the highest update id passed to PTB by this process

    @property
    def pending(self) -> int:
        return len(self._pending)

    def offset(self, requested: Any) -> Any:
        """The offset to ask with: the oldest update still being handled, else PTB's own."""
        return min(self._pending) if self._pending else requested

    def seen(self, update_id: int) -> bool:
        """Passed to PTB before (being handled, or handled and not yet confirmed)."""
        return update_id in self._pending or update_id <= self._highest

    def fresh(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The updates of ``batch`` not passed to PTB before (each update has an id)."""
        out = [data for data in batch if not self.seen(data["update_id"])]
        for data in out:
            self._pending.add(data["update_id"])
            self._highest = max(self._highest, data["update_id"])
        return out

    def handled(self, update: object) -> None:
        update_id = getattr(update, "update_id", None)
        if isinstance(update_id, int):
            self._pending.discard(update_id)
