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


# The outbox (bot/store/outbox.py): one row per message to send. ``message`` and ``buttons``
# are references into the vetted content (a topic id, country, language and step), never text.
OUTBOX_COLUMNS = (
    "chat_id BIGINT NOT NULL, "
    "urgent BOOLEAN NOT NULL, "
    "route TEXT NOT NULL, "
    "reply_key TEXT NOT NULL, "
    "part INTEGER NOT NULL, "
    "parts INTEGER NOT NULL, "
    "message TEXT NOT NULL, "
    "buttons TEXT NOT NULL, "
    "created_at BIGINT NOT NULL, "
    "not_before BIGINT NOT NULL, "
    "attempts INTEGER NOT NULL, "
    "doubtful BOOLEAN NOT NULL"
)
OUTBOX_INDEX = "CREATE INDEX outbox_by_chat ON outbox (chat_id, id)"
OUTBOX_LEASES = (
    "CREATE TABLE outbox_leases ("
    "chat_id BIGINT PRIMARY KEY, "
    "owner TEXT NOT NULL, "
    "expires_at BIGINT NOT NULL)"
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
        "outbox: replies waiting for Telegram (what each message is, never its text); "
        "outbox_leases: which process sends a chat's outbox",
        (),
        sqlite=(
            "CREATE TABLE outbox ("
            "id INTEGER PRIMARY KEY, " + OUTBOX_COLUMNS + ")",
            OUTBOX_INDEX,
            OUTBOX_LEASES,
        ),
        postgresql=(
            "CREATE TABLE outbox ("
            "id BIGSERIAL PRIMARY KEY, " + OUTBOX_COLUMNS + ")",
            OUTBOX_INDEX,
            OUTBOX_LEASES,
        ),
    ),
    Migration(
        4,
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
