"""What survives a restart: each user's country and language, and nothing else.

:class:`StorePersistence` is PTB's persistence on top of :mod:`bot.store` (SQLite in the
state folder, or PostgreSQL with ``RECOVERY_BOT_DATABASE_URL``). Only ``user_data`` is kept
(chat_data, bot_data, callback_data and conversations are off), and of it only the keys that
are :class:`~bot.store.UserState` fields (:data:`STORED_KEYS`); a user with nothing to keep
has no row, so the store never lists everyone who ever wrote to the bot.

A failed save is never silent. :func:`save_user` (use it right after changing a stored key)
raises :class:`~bot.store.StoreError`; the choice stays in memory for this run and is saved
again on the user's next update and at shutdown. PTB's own background saves go through
``update_user_data``, which raises the same error into the application's error handler.

With PostgreSQL (``store.shared``) each update first re-reads its user's row
(:meth:`StorePersistence.refresh_user_data`, bounded by :data:`REFRESH_TIMEOUT`; a store
that does not answer is logged, the copies in memory are used and refreshes pause for
:data:`REFRESH_PAUSE`), so replicas see each other's changes. A refresh never raises: an
emergency is answered whatever the store does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

from telegram.ext import Application, BasePersistence, PersistenceInput

from bot.store import LEGACY_FILE, STATE_FILE, StoreError, UserState, UserStore, open_store
from bot.store.state import columns

__all__ = [
    "COUNTRY",
    "LANGUAGE",
    "LEGACY_FILE",
    "STATE_FILE",
    "STORED_KEYS",
    "StoreError",
    "StorePersistence",
    "build_persistence",
    "forget_user",
    "get_country",
    "get_language",
    "save_user",
    "set_country",
    "set_language",
]

COUNTRY = "country"
LANGUAGE = "language"
STORED_KEYS = frozenset(columns())
# Seconds between PTB's background saves; choices are also saved at once (save_user).
UPDATE_INTERVAL = 30
REFRESH_TIMEOUT = 1.0  # seconds an update waits for its user's row from a shared store
REFRESH_PAUSE = 10.0  # after a failed refresh, seconds without refreshes (memory is used)

_log = logging.getLogger(__name__)

UserData = dict[Any, Any]


class StorePersistence(BasePersistence[UserData, UserData, UserData]):
    """PTB persistence of user_data limited to :data:`STORED_KEYS`, kept in a UserStore."""

    def __init__(
        self,
        opener: Callable[[], UserStore],
        update_interval: float = UPDATE_INTERVAL,
    ) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self._opener = opener
        self._store: UserStore | None = opener()  # open now: problems show before start-up
        self._stored: dict[int, UserState] = {}  # what the store holds, as far as we know
        self._unsaved: dict[int, UserState] = {}  # choices a save failed for
        self._refresh_paused_until = 0.0

    @property
    def store(self) -> UserStore:
        if self._store is None:
            self._store = self._opener()
        return self._store

    # -- user_data ----------------------------------------------------------------------------

    async def get_user_data(self) -> dict[int, UserData]:
        # a damaged row costs that user their stored choices, never the bot's start
        users = await self.store.all_users(skip_damaged=True)
        self._stored = dict(users)
        return {user_id: state.as_dict() for user_id, state in users.items()}

    async def update_user_data(self, user_id: int, data: UserData) -> None:
        await self.save(user_id, UserState.from_mapping(data))

    async def save(self, user_id: int, state: UserState) -> None:
        """Write ``state`` unless the store already has it; StoreError (logged) on failure."""
        known = self._stored.get(user_id)
        if state == known and user_id not in self._unsaved:
            return
        if state.empty and known is None and user_id not in self._unsaved:
            return  # nothing stored, nothing to keep: never write a row for it
        try:
            if state.empty:
                await self.store.delete(user_id)
            else:
                await self.store.put(user_id, state)
        except StoreError as exc:
            self._unsaved[user_id] = state
            _log.warning("Could not save a user's choices: %s", exc)
            raise
        self._unsaved.pop(user_id, None)
        if state.empty:
            self._stored.pop(user_id, None)
        else:
            self._stored[user_id] = state

    async def drop_user_data(self, user_id: int) -> None:
        self._unsaved.pop(user_id, None)
        try:
            await self.store.delete(user_id)
        except StoreError as exc:
            _log.warning("Could not delete a user's choices: %s", exc)
            raise
        self._stored.pop(user_id, None)

    async def refresh_user_data(self, user_id: int, user_data: UserData) -> None:
        if self._store is None or not self._store.shared or user_id in self._unsaved:
            return
        if time.monotonic() < self._refresh_paused_until:
            return  # the store failed a moment ago: do not make every update wait for it
        try:
            state = await asyncio.wait_for(self._store.get(user_id), REFRESH_TIMEOUT)
        except (StoreError, TimeoutError) as exc:
            self._refresh_paused_until = time.monotonic() + REFRESH_PAUSE
            _log.warning(
                "Could not refresh a user's choices (%s); using the copies in memory for %g s",
                type(exc).__name__,
                REFRESH_PAUSE,
            )
            return
        if state is None:
            self._stored.pop(user_id, None)
            for key in STORED_KEYS:
                user_data.pop(key, None)
            return
        self._stored[user_id] = state
        for key in STORED_KEYS:
            value = getattr(state, key)
            if value is None:
                user_data.pop(key, None)
            else:
                user_data[key] = value

    async def flush(self) -> None:
        """At shutdown: retry the saves that failed, then close the store."""
        if self._store is None:
            return
        for user_id, state in list(self._unsaved.items()):
            with contextlib.suppress(StoreError):  # logged by save
                await self.save(user_id, state)
        if self._unsaved:
            _log.error("%d users' choices could not be saved before shutdown", len(self._unsaved))
        store, self._store = self._store, None
        await store.close()

    # -- everything else is not persisted -------------------------------------------------------

    async def get_chat_data(self) -> dict[int, UserData]:
        return {}

    async def get_bot_data(self) -> UserData:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def get_conversations(self, name: str) -> dict[Any, Any]:
        return {}

    async def update_conversation(self, name: str, key: Any, new_state: object | None) -> None:
        return None

    async def update_chat_data(self, chat_id: int, data: UserData) -> None:
        return None

    async def update_bot_data(self, data: UserData) -> None:
        return None

    async def update_callback_data(self, data: Any) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: UserData) -> None:
        return None

    async def refresh_bot_data(self, bot_data: UserData) -> None:
        return None


def build_persistence(state_dir: Path, database_url: str | None = None) -> StorePersistence:
    """The store under ``state_dir`` (SQLite), or in PostgreSQL with ``database_url``.
    Opens it now: an unsafe or broken state raises :class:`StoreError` (one line)."""
    return StorePersistence(lambda: open_store(state_dir, database_url))


# -- for handlers -------------------------------------------------------------------------------


async def save_user(application: Application, user_id: int) -> None:  # type: ignore[type-arg]
    """Save this user's stored keys now. Raises :class:`StoreError` if they could not be saved
    (the choice stays in ``user_data`` for this run and is retried later)."""
    persistence = application.persistence
    if not isinstance(persistence, StorePersistence):
        application.mark_data_for_update_persistence(user_ids=user_id)
        await application.update_persistence()
        return
    data = application.user_data.get(user_id) or {}
    await persistence.save(user_id, UserState.from_mapping(data))


async def forget_user(application: Application, user_id: int) -> None:  # type: ignore[type-arg]
    """Erase this user from memory and from the store now. Raises :class:`StoreError` if the
    store could not delete them (they are gone from memory either way)."""
    application.drop_user_data(user_id)
    persistence = application.persistence
    if isinstance(persistence, StorePersistence):
        await persistence.drop_user_data(user_id)
    else:
        await application.update_persistence()


def get_country(user_data: MutableMapping[Any, Any] | None) -> str | None:
    return _get(user_data, COUNTRY)


def set_country(user_data: MutableMapping[Any, Any], country: str | None) -> None:
    _set(user_data, COUNTRY, country)


def get_language(user_data: MutableMapping[Any, Any] | None) -> str | None:
    return _get(user_data, LANGUAGE)


def set_language(user_data: MutableMapping[Any, Any], language: str | None) -> None:
    _set(user_data, LANGUAGE, language)


def _get(user_data: MutableMapping[Any, Any] | None, key: str) -> str | None:
    if not user_data:
        return None
    value = user_data.get(key)
    return value if isinstance(value, str) else None


def _set(user_data: MutableMapping[Any, Any], key: str, value: str | None) -> None:
    if value is None:
        user_data.pop(key, None)
    else:
        user_data[key] = value
