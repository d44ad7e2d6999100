"""What is due when, in the user's time zone: milestones, check-ins, reminders, lateness.

Pure functions of a :class:`~bot.companion.settings.Companion` and timezone-aware datetimes
(tests pass any clock). A *run* is one due message: its kind, its due time and, for a
milestone, the day count. A run more than :data:`LATE_LIMIT` late is dropped, never sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from bot.companion.settings import Companion

Kind = Literal["milestone", "checkin", "reminder"]
KINDS: tuple[Kind, ...] = ("milestone", "checkin", "reminder")
MILESTONE_DAYS = (1, 3, 7, 14, 30, 60, 90, 180, 365)
LATE_LIMIT = dt.timedelta(hours=2)
SNOOZE = dt.timedelta(minutes=30)
SCORE_DAYS = 90  # check-in scores older than this are deleted
PROGRESS_DAYS = 14


@dataclass(frozen=True, slots=True)
class Run:
    kind: Kind
    due_at: dt.datetime  # aware, UTC
    days: int = 0  # for a milestone: the day count it celebrates

    def key(self, user_id: int) -> str:
        """The job key for ``store.run_once(key, due_at)``: one claim per user, kind, time."""
        return f"companion:{self.kind}:{user_id}"


def clean_days(clean_date: dt.date, today: dt.date) -> int:
    return (today - clean_date).days


def local_today(c: Companion, now: dt.datetime) -> dt.date:
    return now.astimezone(c.zone).date()


def split_days(days: int) -> tuple[int, int]:
    """Whole weeks and whole (30.44-day) months in ``days``."""
    return days // 7, int(days / 30.436875)


def milestone_dates(clean: dt.date, after: dt.date, limit: int = 3) -> list[tuple[dt.date, int]]:
    """The next ``limit`` milestone days on or after ``after``: (date, day count). Day
    milestones, then every anniversary (the day count of that date)."""
    found: list[tuple[dt.date, int]] = []
    for n in MILESTONE_DAYS:
        day = clean + dt.timedelta(days=n)
        if day >= after:
            found.append((day, n))
    year = max(2, after.year - clean.year)
    while len(found) < limit:
        try:
            day = clean.replace(year=clean.year + year)
        except ValueError:  # 29 February
            day = dt.date(clean.year + year, 3, 1)
        if day >= after:
            found.append((day, (day - clean).days))
        year += 1
    return sorted(found)[:limit]


def _at(day: dt.date, minutes: int, zone: dt.tzinfo) -> dt.datetime:
    local = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), zone)
    return local.astimezone(dt.UTC)


def _daily(minutes: int, zone: dt.tzinfo, since: dt.datetime, until: dt.datetime
           ) -> list[dt.datetime]:
    start = since.astimezone(zone).date() - dt.timedelta(days=1)
    out = []
    day = start
    while True:
        at = _at(day, minutes, zone)
        if at > until:
            return out
        if at > since:
            out.append(at)
        day += dt.timedelta(days=1)


def runs_between(c: Companion, since: dt.datetime, until: dt.datetime) -> list[Run]:
    """Every run due in (since, until], oldest first."""
    zone = c.zone
    runs: list[Run] = []
    if c.clean_date is not None and c.milestone_at is not None:
        first = since.astimezone(zone).date() - dt.timedelta(days=1)
        for day, n in milestone_dates(c.clean_date, first, limit=5):
            at = _at(day, c.milestone_at, zone)
            if since < at <= until:
                runs.append(Run("milestone", at, n))
    if c.checkin_at is not None:
        runs += [Run("checkin", at) for at in _daily(c.checkin_at, zone, since, until)]
    if c.reminder_at is not None:
        runs += [Run("reminder", at) for at in _daily(c.reminder_at, zone, since, until)]
        if c.snooze_until is not None:
            snoozed = dt.datetime.fromtimestamp(c.snooze_until, dt.UTC)
            if since < snoozed <= until:
                runs.append(Run("reminder", snoozed))
    return sorted(runs, key=lambda r: r.due_at)


def to_send(c: Companion, since: dt.datetime, now: dt.datetime) -> list[Run]:
    """The runs to send at ``now``: of the runs due since the last look, the latest of each
    kind that is at most :data:`LATE_LIMIT` late (an older one is dropped, never sent)."""
    latest: dict[Kind, Run] = {}
    for run in runs_between(c, since, now):
        if now - run.due_at <= LATE_LIMIT:
            latest[run.kind] = run
    return sorted(latest.values(), key=lambda r: r.due_at)


def next_due(c: Companion, after: dt.datetime) -> dt.datetime | None:
    """When the next run of any kind is due after ``after`` (None: nothing is on)."""
    horizon = after + dt.timedelta(days=800)
    candidates: list[dt.datetime] = []
    zone = c.zone
    if c.clean_date is not None and c.milestone_at is not None:
        first = after.astimezone(zone).date() - dt.timedelta(days=1)
        for day, _ in milestone_dates(c.clean_date, first, limit=5):
            at = _at(day, c.milestone_at, zone)
            if at > after:
                candidates.append(at)
                break
    for minutes in (c.checkin_at, c.reminder_at):
        if minutes is not None:
            days = _daily(minutes, zone, after, after + dt.timedelta(days=2))
            candidates += days[:1]
    if c.snooze_until is not None:
        snoozed = dt.datetime.fromtimestamp(c.snooze_until, dt.UTC)
        if snoozed > after:
            candidates.append(snoozed)
    due = min(candidates, default=None)
    return due if due is None or due <= horizon else None
