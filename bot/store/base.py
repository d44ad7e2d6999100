"""The store interface (:class:`UserStore`), its error (:class:`StoreError`) and what the
SQLite and PostgreSQL backends share.

Both backends are plain DB-API code run on one worker thread per store, so the event loop
never waits on a file or a socket, and calls on one store run one at a time, in order.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from typing import Any, TypeVar

from bot.store.outbox import OutboxRow, OutboxSQL
from bot.store.state import UserState, columns, from_row

_log = logging.getLogger(__name__)
T = TypeVar("T")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHECKINS_VERSION = 3  # the migration that made the checkins table
MAX_JOB_KEY_LENGTH = 200


class StoreError(Exception):
    """The state store cannot do what was asked. The message is one line saying what is wrong
    and where (a file path, or a database without its password); never a user's text."""


class UserStore(abc.ABC):
    """Per-user state, keyed by Telegram user id. All methods raise :class:`StoreError`."""

    kind: str  # "sqlite" or "postgresql"
    location: str  # for messages: a path, or host/port/database (never a password)
    shared: bool  # other processes may write the same state (PostgreSQL replicas)

    @property
    @abc.abstractmethod
    def schema_version(self) -> int:
        """The schema version the store is at (always :data:`migrations.LATEST` once open,
        unless opened at an older version for a test)."""

    @abc.abstractmethod
    async def get(self, user_id: int) -> UserState | None: ...

    @abc.abstractmethod
    async def put(self, user_id: int, state: UserState) -> None:
        """Store ``state``; an :attr:`~UserState.empty` state deletes the user instead."""

    @abc.abstractmethod
    async def delete(self, user_id: int) -> None: ...

    @abc.abstractmethod
    async def all_users(self, skip_damaged: bool = False) -> dict[int, UserState]: ...

    @abc.abstractmethod
    async def run_once(self, job_key: str, due_at: datetime) -> bool:
        """Claim the run of job ``job_key`` due at ``due_at`` (timezone-aware). True for
        exactly one caller across every process sharing the store; False for the others and
        for any later call. A claim is never released: a replica that dies after claiming
        does not hand the run over (at most once, never twice)."""

    @abc.abstractmethod
    async def close(self) -> None: ...


class Backend(OutboxSQL, abc.ABC):
    """Synchronous SQL shared by both backends; always called on the store's worker thread."""

    kind: str
    location: str
    shared: bool
    placeholder = "?"
    schema_version: int = 0

    # -- what a backend provides ------------------------------------------------------------

    @abc.abstractmethod
    def _read(self, action: str, fn: Callable[[Any], T]) -> T:
        """``fn(cursor)`` outside a write transaction; driver errors become StoreError."""

    @abc.abstractmethod
    def _write(self, action: str, fn: Callable[[Any], T]) -> T:
        """``fn(cursor)`` in one write transaction; driver errors become StoreError."""

    @abc.abstractmethod
    def close(self) -> None: ...

    # -- the operations ---------------------------------------------------------------------

    def _sql(self, text: str) -> str:
        return text.replace("?", self.placeholder)

    def get(self, user_id: int) -> UserState | None:
        sql = self._sql(f"SELECT {_column_list()} FROM users WHERE user_id = ?")

        def read(cursor: Any) -> tuple[Any, ...] | None:
            cursor.execute(sql, (user_id,))
            return cursor.fetchone()

        row = self._read("read a user's state from", read)
        return None if row is None else self._state(row)

    def put(self, user_id: int, state: UserState) -> None:
        if state.empty:
            self.delete(user_id)
            return
        sql = self._sql(_upsert_sql())
        self._write(
            "save a user's state to", lambda cursor: cursor.execute(sql, (user_id, *state.values()))
        )

    def delete(self, user_id: int) -> None:
        """The user's row and every check-in score of theirs, in one transaction."""
        sql = self._sql("DELETE FROM users WHERE user_id = ?")
        scores = self._sql("DELETE FROM checkins WHERE user_id = ?")

        def erase(cursor: Any) -> None:
            cursor.execute(sql, (user_id,))
            if self.schema_version >= CHECKINS_VERSION:
                cursor.execute(scores, (user_id,))

        self._write("delete a user's state from", erase)

    # -- check-in scores (numbers only) -----------------------------------------------------

    def put_checkin(self, user_id: int, day: int, mood: int, craving: int | None) -> None:
        sql = self._sql(
            "INSERT INTO checkins (user_id, day, mood, craving) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_id, day) DO UPDATE SET mood = excluded.mood, "
            "craving = excluded.craving"
        )
        self._write("save a check-in to",
                    lambda cursor: cursor.execute(sql, (user_id, day, mood, craving)))

    def checkins(self, user_id: int, since_day: int) -> list[tuple[int, int, int | None]]:
        sql = self._sql(
            "SELECT day, mood, craving FROM checkins WHERE user_id = ? AND day >= ? ORDER BY day"
        )

        def read(cursor: Any) -> list[tuple[int, int, int | None]]:
            cursor.execute(sql, (user_id, since_day))
            return [(int(d), int(m), None if c is None else int(c)) for d, m, c in
                    cursor.fetchall()]

        return self._read("read check-ins from", read)

    def delete_checkins_before(self, day: int) -> int:
        sql = self._sql("DELETE FROM checkins WHERE day < ?")

        def erase(cursor: Any) -> int:
            cursor.execute(sql, (day,))
            return max(cursor.rowcount, 0)

        return self._write("delete old check-ins from", erase)

    def all_users(self, skip_damaged: bool = False) -> dict[int, UserState]:
        """Every stored user. A row holding a value the bot never writes raises StoreError,
        or with ``skip_damaged`` is left out (and logged, counted, never shown)."""
        sql = f"SELECT user_id, {_column_list()} FROM users"

        def read(cursor: Any) -> list[tuple[Any, ...]]:
            cursor.execute(sql)
            return cursor.fetchall()

        rows = self._read("read the users' state from", read)
        if not skip_damaged:
            return {self._user_id(row[0]): self._state(row[1:]) for row in rows}
        users, damaged = {}, 0
        for row in rows:
            try:
                users[self._user_id(row[0])] = self._state(row[1:])
            except StoreError:
                damaged += 1
        if damaged:
            _log.error("%s holds %d users' rows with values the bot never writes (changed by "
                       "something else or damaged); those users start with no stored choices",
                       self.location, damaged)
        return users

    def insert_missing(self, users: Mapping[int, UserState]) -> int:
        """Store each user not stored yet (newer choices are kept); return how many were."""
        sql = self._sql(_insert_missing_sql())
        rows = [(uid, *state.values()) for uid, state in users.items() if not state.empty]

        def insert(cursor: Any) -> int:
            added = 0
            for row in rows:
                cursor.execute(sql, row)
                added += max(cursor.rowcount, 0)
            return added

        return self._write("import users into", insert) if rows else 0

    def run_once(self, job_key: str, due_at_us: int, claimant: str) -> bool:
        claim = self._sql(
            "INSERT INTO job_runs (job_key, due_at, claimed_at, claimed_by) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (job_key, due_at) DO NOTHING"
        )
        owner = self._sql("SELECT claimed_by FROM job_runs WHERE job_key = ? AND due_at = ?")

        def attempt(cursor: Any) -> bool:
            cursor.execute(claim, (job_key, due_at_us, now_us(), claimant))
            if cursor.rowcount == 1:
                return True
            # Lost the race, or won it on a connection that broke before the answer came
            # back (the call is then retried): the claim token tells which.
            cursor.execute(owner, (job_key, due_at_us))
            row = cursor.fetchone()
            return row is not None and row[0] == claimant

        return self._write("claim a job run in", attempt)

    # -- helpers ------------------------------------------------------------------------------

    def _state(self, values: tuple[Any, ...]) -> UserState:
        try:
            return from_row(tuple(values))
        except (TypeError, ValueError) as exc:
            raise StoreError(
                f"{self.location} holds a value the bot never writes ({exc}): the data was "
                "changed by something else or is damaged"
            ) from None

    def _user_id(self, value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise StoreError(
            f"{self.location} holds a user id that is not a number: the data was changed by "
            "something else or is damaged"
        )


@cache
def _column_list() -> str:
    return ", ".join(columns())


@cache
def _upsert_sql() -> str:
    names = columns()
    marks = ", ".join("?" for _ in range(len(names) + 1))
    updates = ", ".join(f"{name} = excluded.{name}" for name in names)
    return (
        f"INSERT INTO users (user_id, {', '.join(names)}) VALUES ({marks}) "
        f"ON CONFLICT (user_id) DO UPDATE SET {updates}"
    )


@cache
def _insert_missing_sql() -> str:
    names = columns()
    marks = ", ".join("?" for _ in range(len(names) + 1))
    return (
        f"INSERT INTO users (user_id, {', '.join(names)}) VALUES ({marks}) "
        "ON CONFLICT (user_id) DO NOTHING"
    )


def now_us() -> int:
    return time.time_ns() // 1000


def to_microseconds(moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("due_at must be timezone-aware (e.g. datetime.now(UTC))")
    return (moment - EPOCH) // timedelta(microseconds=1)


class ThreadedStore(UserStore):
    """A :class:`UserStore` running a :class:`Backend` on its own worker thread."""

    def __init__(self, executor: ThreadPoolExecutor, backend: Backend) -> None:
        self._executor = executor
        self._backend: Backend | None = backend
        self.kind, self.location, self.shared = backend.kind, backend.location, backend.shared
        self._claimant = uuid.uuid4().hex

    @classmethod
    def open(cls, factory: Callable[[], Backend], name: str) -> ThreadedStore:
        """Build the backend on a new worker thread (blocking until it is open)."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        try:
            backend = executor.submit(factory).result()
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(executor, backend)

    @property
    def schema_version(self) -> int:
        return self._live().schema_version

    def _live(self) -> Backend:
        if self._backend is None:
            raise StoreError(f"the state store {self.location} is closed")
        return self._backend

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        self._live()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args))

    async def get(self, user_id: int) -> UserState | None:
        return await self._call(self._live().get, _check_user_id(user_id))

    async def put(self, user_id: int, state: UserState) -> None:
        if not isinstance(state, UserState):
            raise TypeError("put() takes a UserState")
        await self._call(self._live().put, _check_user_id(user_id), state)

    async def delete(self, user_id: int) -> None:
        await self._call(self._live().delete, _check_user_id(user_id))

    async def all_users(self, skip_damaged: bool = False) -> dict[int, UserState]:
        return await self._call(self._live().all_users, skip_damaged)

    async def run_once(self, job_key: str, due_at: datetime) -> bool:
        if not isinstance(job_key, str) or not 0 < len(job_key) <= MAX_JOB_KEY_LENGTH:
            raise ValueError(f"job_key must be 1-{MAX_JOB_KEY_LENGTH} characters")
        micros = to_microseconds(due_at)
        # One token per call: a retry of this call after a broken connection recognises its
        # own claim; any other call, even from this store, does not.
        claim = f"{self._claimant}:{uuid.uuid4().hex}"
        return await self._call(self._live().run_once, job_key, micros, claim)

    async def put_checkin(self, user_id: int, day: int, mood: int, craving: int | None) -> None:
        """Keep one day's check-in (``day``: a date's ordinal; scores as numbers only)."""
        if not (1 <= mood <= 5 and (craving is None or 0 <= craving <= 4)):
            raise ValueError("mood is 1-5 and craving 0-4")
        await self._call(self._live().put_checkin, _check_user_id(user_id), int(day), mood,
                         craving)

    async def checkins(self, user_id: int, since_day: int = 0) -> list[tuple[int, int, int | None]]:
        """The user's check-ins from ``since_day`` on: (day ordinal, mood, craving), by day."""
        return await self._call(self._live().checkins, _check_user_id(user_id), int(since_day))

    async def delete_checkins_before(self, day: int) -> int:
        """Delete every check-in older than ``day`` (the 90-day rule); how many were."""
        return await self._call(self._live().delete_checkins_before, int(day))

    async def insert_missing(self, users: Mapping[int, UserState]) -> int:
        return await self._call(self._live().insert_missing, dict(users))

    # -- the outbox (bot/store/outbox.py) ------------------------------------------------------

    @property
    def owner(self) -> str:
        """This store's lease owner name (one per process and store)."""
        return self._claimant

    async def outbox_add(self, rows: list[OutboxRow]) -> list[int]:
        return await self._call(self._live().outbox_add, list(rows))

    async def outbox_rows(self, chat_id: int) -> list[OutboxRow]:
        return await self._call(self._live().outbox_rows, _check_user_id(chat_id))

    async def outbox_chats(self, now: int) -> list[tuple[int, bool]]:
        return await self._call(self._live().outbox_chats, self._claimant, now)

    async def outbox_lease(self, chat_id: int, now: int, until: int) -> bool:
        return await self._call(self._live().outbox_lease, chat_id, self._claimant, now, until)

    async def outbox_release(self, chat_id: int | None = None) -> None:
        await self._call(self._live().outbox_release, self._claimant, chat_id)

    async def outbox_clear_leases(self) -> None:
        await self._call(self._live().outbox_clear_leases)

    async def outbox_done(self, ids: list[int]) -> None:
        await self._call(self._live().outbox_done, list(ids))

    async def outbox_retry(self, rid: int, attempts: int, not_before: int) -> None:
        await self._call(self._live().outbox_retry, rid, attempts, not_before)

    async def outbox_doubt(self, reply_key: str) -> None:
        await self._call(self._live().outbox_doubt, reply_key)

    async def outbox_drop_chat(self, chat_id: int) -> int:
        return await self._call(self._live().outbox_drop_chat, chat_id)

    async def outbox_size(self) -> int:
        return await self._call(self._live().outbox_size)

    def run_sync(self, fn: Callable[[Backend], T]) -> T:
        """Run ``fn(backend)`` on the worker thread and wait (start-up only, no event loop)."""
        backend = self._live()
        return self._executor.submit(fn, backend).result()

    async def close(self) -> None:
        backend, self._backend = self._backend, None
        if backend is None:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, backend.close)
        finally:
            self._executor.shutdown(wait=False)

    def close_sync(self) -> None:
        """:meth:`close` for code without an event loop (start-up failures, scripts)."""
        backend, self._backend = self._backend, None
        if backend is None:
            return
        try:
            self._executor.submit(backend.close).result()
        finally:
            self._executor.shutdown(wait=False)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind} {self.location}>"


def _check_user_id(user_id: int) -> int:
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        raise TypeError("user_id must be an int")
    return user_id


__all__ = [
    "Backend",
    "StoreError",
    "ThreadedStore",
    "UserState",
    "UserStore",
    "to_microseconds",
]
