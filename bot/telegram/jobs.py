"""Periodic jobs that run once across every replica sharing the state store.

Each replica's PTB ``JobQueue`` ticks the job every ``interval`` seconds. A tick belongs to a
*slot* (the UTC time rounded down to a multiple of the interval); before running, the replica
claims ``(key, slot)`` through :meth:`bot.store.UserStore.run_once`, which is true for exactly
one caller across all processes (a row with a unique key in SQLite or PostgreSQL). So however
many replicas tick, a slot runs once; if the replica that claimed it dies before finishing,
that slot is not run again (at most once, never twice), and the next slot is claimed by
whichever replica is still alive.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from telegram.ext import Application, CallbackContext, Job

__all__ = ["run_once_across_replicas", "slot_of"]

_log = logging.getLogger(__name__)

JobCallback = Callable[[CallbackContext[Any, Any, Any, Any], datetime], Awaitable[None]]


def slot_of(now: datetime, interval: float) -> datetime:
    """``now`` rounded down to a multiple of ``interval`` seconds since the epoch (UTC)."""
    micros = int(interval * 1_000_000)
    stamp = int(now.timestamp() * 1_000_000)
    return datetime.fromtimestamp((stamp - stamp % micros) / 1_000_000, UTC)


def run_once_across_replicas(
    application: Application,  # type: ignore[type-arg]
    key: str,
    callback: JobCallback,
    *,
    interval: float,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Job[Any]:
    """Schedule ``callback(context, slot)`` every ``interval`` seconds on this replica; each
    slot is claimed through the store first, so one replica runs it."""
    if application.job_queue is None:
        raise RuntimeError("the Application has no JobQueue (PTB's job-queue extra)")

    async def tick(context: CallbackContext[Any, Any, Any, Any]) -> None:
        slot = slot_of(clock(), interval)
        store = getattr(context.application.persistence, "store", None)
        if store is None:
            raise RuntimeError("run_once_across_replicas needs the state store's persistence")
        if await store.run_once(key, slot):
            await callback(context, slot)
        else:
            _log.debug("Job %s: the slot at %s was claimed by another replica", key,
                       slot.isoformat())

    return application.job_queue.run_repeating(tick, interval=interval, first=interval,
                                               name=f"once:{key}")
