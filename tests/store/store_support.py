"""Helpers for the state store tests (imported by tests/store/conftest.py and the tests).

``backend`` runs a test once on SQLite and once on PostgreSQL. The PostgreSQL run needs a
server: ``RECOVERY_BOT_TEST_DATABASE_URL`` (``.ci/run`` starts one with
``tests/support/postgres.sh``; so can you: ``tests/support/postgres.sh run .venv/bin/python
-m pytest tests/store``). Without that variable, and only then, the PostgreSQL runs are
skipped. Each PostgreSQL test gets a schema of its own, dropped afterwards.

``unprivileged`` makes permission faults real when the tests run as root (as CI does): root
ignores file modes, so the test switches its effective uid/gid to nobody for the block and
works in a folder nobody owns.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.store import open_store
from bot.store.base import ThreadedStore
from bot.store.migrations import LATEST

PG_URL_ENV = "RECOVERY_BOT_TEST_DATABASE_URL"
NOBODY = 65534
IS_ROOT = os.geteuid() == 0


def pg_base_url() -> str:
    url = os.environ.get(PG_URL_ENV, "").strip()
    if not url:
        pytest.skip(f"{PG_URL_ENV} is not set (tests/support/postgres.sh starts a server)")
    return url


@contextlib.contextmanager
def pg_schema() -> Iterator[str]:
    """A connection string whose tables live in a new, empty schema (dropped afterwards)."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    url = pg_base_url()
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield make_conninfo(url, options=f"-csearch_path={schema}")
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@dataclass
class Backend:
    """Opens stores of one kind on one state (a state folder, or a PostgreSQL schema)."""

    kind: str
    state_dir: Path
    url: str | None = None
    opened: list[ThreadedStore] = field(default_factory=list)

    def open(self, schema_version: int = LATEST) -> ThreadedStore:
        store = open_store(self.state_dir, self.url, schema_version=schema_version)
        self.opened.append(store)
        return store

    def sql(self, statement: str, params: tuple = ()) -> list[tuple]:
        """Run SQL directly on the state (as an operator or an attacker could)."""
        if self.url is None:
            import sqlite3

            conn = sqlite3.connect(self.state_dir / "state.sqlite3", isolation_level=None)
            try:
                return conn.execute(statement, params).fetchall()
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            cursor = conn.execute(statement.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []

    def close_all(self) -> None:
        for store in self.opened:
            store.close_sync()


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """As root: effective uid/gid nobody for the block (file modes apply again). Otherwise
    nothing changes."""
    if not IS_ROOT:
        yield
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def one_line(message: str) -> str:
    assert "\n" not in message, message
    assert "Traceback" not in message
    return message
