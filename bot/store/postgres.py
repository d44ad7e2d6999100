"""The shared backend: PostgreSQL through psycopg 3, for several replicas of the bot.

``RECOVERY_BOT_DATABASE_URL=postgresql://user:password@host:5432/dbname`` selects it (any
libpq URL or conninfo string works; ``?options=-csearch_path=NAME`` puts the tables in a
schema of their own). Same tables and migrations as SQLite (``bot/store/migrations.py``),
applied under a transaction-scoped advisory lock so replicas starting together migrate
once. One connection per store, in autocommit mode with explicit transactions; a broken
connection is reopened once per call. Messages name the host, port and database, never the
user's password.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from bot.store import migrations
from bot.store.base import Backend, StoreError, now_us
from bot.store.sqlite import expected_columns

_log = logging.getLogger(__name__)
T = TypeVar("T")

CONNECT_TIMEOUT = 10  # seconds
STATEMENT_TIMEOUT_MS = 30_000
# pg_advisory_xact_lock key held while migrating ("recovery" in ASCII).
MIGRATION_LOCK = 0x7265636F76657279


def describe(url: str) -> str:
    """'PostgreSQL database NAME on HOST:PORT' for messages (no user, no password)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except Exception:
        raise StoreError(
            "RECOVERY_BOT_DATABASE_URL is not a valid PostgreSQL URL such as "
            "postgresql://user:password@host:5432/dbname (the value is not shown here)"
        ) from None
    host = str(params.get("host") or params.get("hostaddr") or "the local socket")
    port = str(params.get("port") or 5432)
    dbname = str(params.get("dbname") or params.get("user") or "(default)")
    return f"PostgreSQL database {dbname!r} on {host}:{port}"


class PostgresBackend(Backend):
    kind = "postgresql"
    shared = True
    placeholder = "%s"

    def __init__(self, url: str, target_version: int = migrations.LATEST) -> None:
        import psycopg  # only when PostgreSQL is used: start-up stays fast without it

        self._psycopg = psycopg
        self._url = url
        self.location = describe(url)
        self._password = str(psycopg.conninfo.conninfo_to_dict(url).get("password") or "")
        self._conn: Any = None
        self._connection()
        try:
            self.schema_version = self._write("open", lambda c: self._migrate(c, target_version))
        except BaseException:
            self.close()
            raise

    # -- connection -------------------------------------------------------------------------

    def _connection(self) -> Any:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        self._drop()
        psycopg = self._psycopg
        try:
            conn = psycopg.connect(
                self._url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT,
                application_name="recovery-bot",
            )
            conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
            conn.execute(f"SET idle_in_transaction_session_timeout = {2 * STATEMENT_TIMEOUT_MS}")
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to the {self.location}: {self._text(exc)}") from None
        self._conn = conn
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception as exc:  # a broken connection may fail to close
                _log.debug("Closing a PostgreSQL connection: %s", type(exc).__name__)

    def close(self) -> None:
        self._drop()

    # -- running ----------------------------------------------------------------------------

    def _run(self, action: str, fn: Callable[[Any], T], *, write: bool) -> T:
        psycopg = self._psycopg
        for attempt in (1, 2):
            conn = self._connection()
            try:
                if write:
                    with conn.transaction(), conn.cursor() as cursor:
                        return fn(cursor)
                with conn.cursor() as cursor:
                    return fn(cursor)
            except psycopg.OperationalError as exc:
                if attempt == 1 and (conn.broken or conn.closed):
                    _log.warning("The connection to the %s broke; reconnecting", self.location)
                    self._drop()
                    continue
                raise self._error(exc, action) from None
            except psycopg.Error as exc:
                raise self._error(exc, action) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _read(self, action: str, fn: Callable[[Any], T]) -> T:
        return self._run(action, fn, write=False)

    def _write(self, action: str, fn: Callable[[Any], T]) -> T:
        return self._run(action, fn, write=True)

    # -- schema -----------------------------------------------------------------------------

    def _migrate(self, cursor: Any, target: int) -> int:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        cursor.execute(migrations.BOOTSTRAP)
        cursor.execute("SELECT MAX(version) FROM schema_version")
        current = cursor.fetchone()[0] or 0
        if current > migrations.LATEST:
            raise StoreError(
                f"the {self.location} was written by a newer recovery-bot (schema version "
                f"{current}; this one knows up to {migrations.LATEST}); upgrade recovery-bot"
            )
        self._check_tables(cursor, current)
        todo = migrations.pending(current, target)
        for migration in todo:
            for statement in migration.for_dialect("postgresql"):
                cursor.execute(statement)
            cursor.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (%s, %s)",
                (migration.version, now_us()),
            )
        if todo:
            _log.info("Migrated the %s from schema %s to %s", self.location, current, target)
        return max(current, target)

    def _check_tables(self, cursor: Any, version: int) -> None:
        expected = expected_columns(version)
        known = expected_columns(migrations.LATEST)
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ANY(%s) "
            "ORDER BY table_name, ordinal_position",
            (list(known),),
        )
        actual: dict[str, list[str]] = {}
        for table, column in cursor.fetchall():
            actual.setdefault(table, []).append(column)
        for table in known:
            if table not in expected and table in actual:
                raise StoreError(
                    f"the {self.location} already has a table {table!r} that recovery-bot "
                    f"schema version {version} does not have; give the bot a database (or a "
                    "schema, with ?options=-csearch_path=NAME) of its own"
                )
            wrong = actual.get(table, []) != list(expected.get(table, ()))
            if table in expected and table != "schema_version" and wrong:
                raise StoreError(
                    f"the {self.location}: table {table!r} does not have the columns of "
                    f"recovery-bot schema version {version}; it was changed by something else"
                )

    # -- errors -----------------------------------------------------------------------------

    def _text(self, exc: BaseException) -> str:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        text = lines[0] if lines else type(exc).__name__
        if self._password:
            text = text.replace(self._password, "***")
        return text

    def _error(self, exc: BaseException, action: str) -> StoreError:
        return StoreError(f"cannot {action} the {self.location}: {self._text(exc)}")
