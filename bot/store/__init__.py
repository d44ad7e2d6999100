"""The state store: what the bot keeps per user (a country, a language), and the outbox of
replies waiting for Telegram (references to vetted content, never text); nothing else.

::

    store = open_store(state_dir)                      # SQLite: state_dir/state.sqlite3
    store = open_store(state_dir, "postgresql://...")  # PostgreSQL, shared by replicas
    await store.get(user_id) -> UserState | None
    await store.put(user_id, UserState(country="GB"))  # an empty UserState deletes
    await store.delete(user_id)
    await store.all_users() -> dict[int, UserState]  # skip_damaged=True: leave bad rows out
    await store.run_once("daily-digest", due_at) -> bool  # True for exactly one caller
    await store.outbox_add(rows) -> ids   # and outbox_rows, outbox_lease, ...: bot/store/outbox.py
    store.schema_version; await store.close()

Every failure is a :class:`StoreError` whose message is one line saying what is wrong and
where. ``open_store`` blocks (call it at start-up, before the event loop or in a thread):
it checks the state folder and files, applies migrations and imports an old
``telegram-users.pickle`` once (see :mod:`bot.store.legacy`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bot.store import migrations
from bot.store.base import StoreError, ThreadedStore, UserStore
from bot.store.files import check_private_dir, ensure_private_dir
from bot.store.legacy import LEGACY_FILE, mark_imported, read_legacy
from bot.store.sqlite import STATE_FILE, SQLiteBackend
from bot.store.state import UserState

__all__ = [
    "LEGACY_FILE",
    "SCHEMA_VERSION",
    "STATE_FILE",
    "StoreError",
    "UserState",
    "UserStore",
    "open_store",
]

SCHEMA_VERSION = migrations.LATEST
_log = logging.getLogger(__name__)


def open_store(
    state_dir: Path,
    database_url: str | None = None,
    *,
    schema_version: int = migrations.LATEST,
) -> ThreadedStore:
    """Open (creating or migrating) the store. With ``database_url`` the state is in
    PostgreSQL and ``state_dir`` is only looked at for an old pickle file to import (it is not
    created). ``schema_version`` stops migrating at an older version (tests only)."""
    if not 0 <= schema_version <= migrations.LATEST:
        raise ValueError(f"schema_version must be 0..{migrations.LATEST}")
    state_dir = Path(state_dir).absolute()  # messages name the full path (no symlink followed)
    if database_url:
        from bot.store.postgres import PostgresBackend

        has_dir = os.path.lexists(state_dir)
        if has_dir:
            check_private_dir(state_dir)
        legacy = read_legacy(state_dir) if has_dir else None
        store = ThreadedStore.open(
            lambda: PostgresBackend(database_url, schema_version), "recovery-bot-store"
        )
    else:
        ensure_private_dir(state_dir)
        legacy = read_legacy(state_dir)
        path = state_dir / STATE_FILE
        store = ThreadedStore.open(
            lambda: SQLiteBackend(path, schema_version), "recovery-bot-store"
        )
    _log.info("State store: %s (schema %s)", store.location, store.schema_version)
    if legacy is not None:
        try:
            _import(store, state_dir, legacy)
        except BaseException:
            store.close_sync()
            raise
    return store


def _import(store: ThreadedStore, state_dir: Path, users: dict[int, UserState]) -> None:
    added = store.run_sync(lambda backend: backend.insert_missing(users))
    done = mark_imported(state_dir)
    _log.info(
        "Imported %d of %d users' countries from the old state file; it is now %s",
        added,
        len(users),
        done,
    )
