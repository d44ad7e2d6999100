"""The state schema, as numbered migrations shared by the SQLite and PostgreSQL backends.

The ``schema_version`` table lists every migration applied (``version``, ``applied_at`` in
microseconds since the epoch); a store's version is the highest one. On open, a store
applies the missing migrations in order, in one transaction (under an advisory lock on
PostgreSQL, so replicas starting together migrate once), and refuses a version newer than
:data:`LATEST`.

To change the schema, append a :class:`Migration` with the next number; never edit one that
has shipped. Plain typed columns only (no JSON, no blobs, never message text, never pickle).
A new column of ``users`` needs the field of the same name in
:class:`bot.store.state.UserState`; ``tests/store`` checks the two agree. Example::

    Migration(3, "quiet hours", ("ALTER TABLE users ADD COLUMN quiet_from TEXT",)),

Statements must run on both SQLite and PostgreSQL (``BIGINT``, ``TEXT``, ``INTEGER``,
``BOOLEAN``; ``ON CONFLICT``); give ``sqlite`` / ``postgresql`` variants where they differ.
"""

from __future__ import annotations

from dataclasses import dataclass

BOOTSTRAP = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "version INTEGER PRIMARY KEY, "
    "applied_at BIGINT NOT NULL)"
)


@dataclass(frozen=True)
class Migration:
    version: int
    summary: str
    statements: tuple[str, ...]
    sqlite: tuple[str, ...] | None = None
    postgresql: tuple[str, ...] | None = None

    def for_dialect(self, dialect: str) -> tuple[str, ...]:
        specific = self.sqlite if dialect == "sqlite" else self.postgresql
        return self.statements if specific is None else specific


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "users: one row per user with something to keep",
        ("CREATE TABLE users (user_id BIGINT PRIMARY KEY, country TEXT, language TEXT)",),
    ),
    Migration(
        2,
        "job_runs: one row per claimed run of a scheduled job (run_once)",
        (
            "CREATE TABLE job_runs ("
            "job_key TEXT NOT NULL, "
            "due_at BIGINT NOT NULL, "
            "claimed_at BIGINT NOT NULL, "
            "claimed_by TEXT NOT NULL, "
            "PRIMARY KEY (job_key, due_at))",
        ),
    ),
    Migration(
        3,
        "the opt-in companion: clean date, times, time zone, reminder; check-in scores",
        (
            "ALTER TABLE users ADD COLUMN clean_date TEXT",
            "ALTER TABLE users ADD COLUMN milestone_at INTEGER",
            "ALTER TABLE users ADD COLUMN time_zone TEXT",
            "ALTER TABLE users ADD COLUMN checkin_at INTEGER",
            "ALTER TABLE users ADD COLUMN reminder_at INTEGER",
            "ALTER TABLE users ADD COLUMN reminder_name TEXT",
            "ALTER TABLE users ADD COLUMN snooze_until BIGINT",
            "CREATE TABLE checkins ("
            "user_id BIGINT NOT NULL, "
            "day INTEGER NOT NULL, "
            "mood INTEGER NOT NULL, "
            "craving INTEGER, "
            "PRIMARY KEY (user_id, day))",
        ),
    ),
)

LATEST = MIGRATIONS[-1].version


def pending(current: int, target: int) -> tuple[Migration, ...]:
    return tuple(m for m in MIGRATIONS if current < m.version <= target)
