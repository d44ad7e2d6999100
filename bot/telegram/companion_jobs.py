"""The companion's scheduled messages on Telegram: PTB's JobQueue, one job per user.

What is due and when is decided by :mod:`bot.companion.schedule` (pure); what it says by the
conversation (:meth:`Conversation.due`). This module only keeps one JobQueue job per user at
the next due time, and when it fires:

- every run is claimed with ``store.run_once(job_key, due_at)`` first, so replicas sharing
  PostgreSQL send it once, and a restart never sends a run already sent (the claim is in the
  store);
- a run more than 2 hours late is dropped (``schedule.to_send``);
- a user who blocked the bot (403) has their jobs and stored data removed.

At start-up :func:`rebuild` schedules every stored user again, looking back 2 hours for runs
missed while the bot was down. A daily job deletes check-in scores older than 90 days.

With replicas (PostgreSQL) every replica keeps jobs for the users it has loaded; before a run
the user's row is re-read, and the run's claim makes exactly one replica send it. A user who
turns a feature on through one replica is scheduled on the others at their next restart (or
when this one next handles an update from that user: :meth:`CompanionJobs.ensure`).
Tests drive :meth:`CompanionJobs.tick` with a controlled wall clock (the same code the job
callbacks run).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from telegram.ext import Application, CallbackContext

from bot.companion import schedule
from bot.companion.settings import Companion
from bot.conversation import UserState
from bot.store import StoreError, UserStore
from bot.telegram.persistence import StorePersistence, forget_user, get_country, get_language

_log = logging.getLogger(__name__)
JOBS_KEY = "recovery_bot_companion_jobs"
RETENTION_JOB = "companion:retention"

App = Application[Any, Any, Any, Any, Any, Any]


def job_name(user_id: int) -> str:
    return f"companion:{user_id}"


class CompanionJobs:
    def __init__(self, application: App, wall: Callable[[], dt.datetime]) -> None:
        self.application = application
        self.wall = wall
        self.looked: dict[int, dt.datetime] = {}  # per user: runs due up to here are handled
        self.due: dict[int, dt.datetime] = {}  # per user: the next run's due time

    @property
    def store(self) -> UserStore | None:
        persistence = self.application.persistence
        return persistence.store if isinstance(persistence, StorePersistence) else None

    def companion_of(self, user_id: int) -> Companion:
        return Companion.from_fields(dict(self.application.user_data.get(user_id) or {}))

    def state_of(self, user_id: int) -> UserState:
        data = self.application.user_data.get(user_id) or {}
        return UserState(country=get_country(data), language=get_language(data),
                         companion=Companion.from_fields(dict(data)))

    # -- scheduling --------------------------------------------------------------------------

    def schedule(self, user_id: int, since: dt.datetime | None = None) -> None:
        """(Re)schedule the user's one job at their next due run (none: nothing is on)."""
        self.cancel(user_id)
        now = self.wall()
        self.looked[user_id] = since or now
        companion = self.companion_of(user_id)
        due = schedule.next_due(companion, self.looked[user_id])
        if due is None:
            self.looked.pop(user_id, None)
            return
        self.due[user_id] = due
        queue = self.application.job_queue
        if queue is not None:
            delay = max(0.0, (due - now).total_seconds())
            queue.run_once(self._job, delay, data=user_id, name=job_name(user_id),
                           chat_id=user_id, user_id=user_id)

    def ensure(self, user_id: int) -> None:
        """Schedule a user who has settings but no job here (set through another replica)."""
        if user_id not in self.due and self.companion_of(user_id).active:
            self.schedule(user_id)

    def cancel(self, user_id: int) -> None:
        self.due.pop(user_id, None)
        queue = self.application.job_queue
        if queue is not None:
            for job in queue.get_jobs_by_name(job_name(user_id)):
                job.schedule_removal()

    def forget(self, user_id: int) -> None:
        self.cancel(user_id)
        self.looked.pop(user_id, None)

    async def rebuild(self) -> int:
        """Schedule every stored user's jobs (at start-up); how many users have one."""
        store = self.store
        if store is None:
            return 0
        try:
            users = await store.all_users()
        except StoreError as exc:
            _log.error("Could not rebuild the companion's jobs: %s", exc)
            return 0
        since = self.wall() - schedule.LATE_LIMIT  # runs missed while down, if not too late
        for user_id in users:
            self.schedule(user_id, since)
        return len(self.due)

    # -- firing ------------------------------------------------------------------------------

    async def _job(self, context: CallbackContext[Any, Any, Any, Any]) -> None:
        job = context.job
        if job is not None and isinstance(job.data, int):
            await self.fire(job.data)

    async def tick(self) -> None:
        """Fire every user whose next run is due by the wall clock (what the jobs do)."""
        now = self.wall()
        for user_id in [u for u, due in self.due.items() if due <= now]:
            await self.fire(user_id)

    async def fire(self, user_id: int) -> None:
        from bot.telegram.shell import shell_of  # the shell imports this module

        shell = shell_of(self.application)
        persistence = self.application.persistence
        if isinstance(persistence, StorePersistence) and user_id in self.application.user_data:
            # replicas: another one may have changed this user's settings since
            await persistence.refresh_user_data(user_id, self.application.user_data[user_id])
        now = self.wall()
        since = self.looked.get(user_id, now - schedule.LATE_LIMIT)
        self.looked[user_id] = now
        state = self.state_of(user_id)
        store = self.store
        reachable = True
        for run in schedule.to_send(state.companion, since, now):
            try:
                if store is not None and not await store.run_once(run.key(user_id), run.due_at):
                    continue  # another replica (or this one before a restart) sent it
            except StoreError as exc:
                _log.warning("Could not claim a companion run (%s); not sent", exc)
                continue
            outcome = shell.conversation.due(run, state)
            if outcome.replies and not await shell.send_to(self.application.bot, user_id,
                                                           *outcome.replies):
                reachable = False
                break
        if not reachable:  # blocked the bot: stop everything and erase what we kept
            _log.info("A user blocked the bot; their companion jobs and data are removed")
            self.forget(user_id)
            with contextlib.suppress(StoreError):  # logged by the persistence
                await forget_user(self.application, user_id)
            return
        self.schedule(user_id, now)

    async def delete_old_scores(self, _context: object = None) -> None:
        store = self.store
        if store is None:
            return
        cutoff = self.wall().date().toordinal() - schedule.SCORE_DAYS
        try:
            removed = await store.delete_checkins_before(cutoff)
        except StoreError as exc:
            _log.warning("Could not delete old check-in scores: %s", exc)
            return
        if removed:
            _log.info("Deleted %d check-in scores older than %d days", removed,
                      schedule.SCORE_DAYS)


def install_jobs(application: App, wall: Callable[[], dt.datetime]) -> CompanionJobs:
    jobs = CompanionJobs(application, wall)
    application.bot_data[JOBS_KEY] = jobs
    return jobs


def jobs_of(application: App) -> CompanionJobs:
    return application.bot_data[JOBS_KEY]


async def start_jobs(application: App) -> None:
    """At start-up: rebuild every user's jobs, delete old scores, and do that daily."""
    jobs = jobs_of(application)
    await jobs.delete_old_scores()
    count = await jobs.rebuild()
    _log.info("Companion: %d users with scheduled messages", count)
    if application.job_queue is not None:
        application.job_queue.run_repeating(jobs.delete_old_scores, interval=24 * 3600,
                                            first=24 * 3600, name=RETENTION_JOB)
