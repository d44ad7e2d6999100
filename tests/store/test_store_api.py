"""The store interface, the same suite on SQLite and on PostgreSQL (``backend`` fixture)."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from datetime import UTC, datetime, timedelta

import pytest

from bot.store import SCHEMA_VERSION, StoreError, UserState
from bot.store.migrations import LATEST, MIGRATIONS
from bot.store.sqlite import expected_columns
from bot.store.state import columns
from tests.store.store_support import one_line

BIG_ID = 7_999_999_999_999  # Telegram ids no longer fit in 32 bits
DUE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def test_put_get_delete(backend):
    store = backend.open()
    assert store.kind == backend.kind
    assert await store.get(1) is None
    await store.put(1, UserState(country="GB"))
    await store.put(BIG_ID, UserState(country="US", language="es"))
    assert await store.get(1) == UserState(country="GB")
    assert await store.get(BIG_ID) == UserState(country="US", language="es")
    await store.put(1, UserState(country="AU", language="en"))
    assert await store.get(1) == UserState(country="AU", language="en")
    assert await store.all_users() == {
        1: UserState(country="AU", language="en"),
        BIG_ID: UserState(country="US", language="es"),
    }
    await store.delete(1)
    await store.delete(1)  # deleting a missing user is not an error
    assert await store.get(1) is None
    assert set(await store.all_users()) == {BIG_ID}


async def test_an_empty_state_is_never_stored(backend):
    store = backend.open()
    await store.put(5, UserState(country="GB"))
    await store.put(5, UserState())
    await store.put(6, UserState())
    assert await store.all_users() == {}
    assert backend.sql("SELECT COUNT(*) FROM users") == [(0,)]


async def test_state_survives_closing_and_reopening(backend):
    store = backend.open()
    await store.put(1, UserState(country="GB"))
    await store.close()
    await store.close()  # twice is fine
    with pytest.raises(StoreError, match="closed"):
        await store.get(1)
    again = backend.open()
    assert await again.get(1) == UserState(country="GB")
    assert again.schema_version == SCHEMA_VERSION == LATEST


async def test_two_store_instances_see_each_others_writes(backend):
    first, second = backend.open(), backend.open()
    await first.put(1, UserState(country="GB"))
    assert await second.get(1) == UserState(country="GB")
    await second.delete(1)
    assert await first.get(1) is None
    assert first.shared is (backend.kind == "postgresql")


async def test_run_once_fires_exactly_once_across_two_instances(backend):
    first, second = backend.open(), backend.open()
    claims = await asyncio.gather(
        *(store.run_once("daily-digest", DUE) for _ in range(10) for store in (first, second))
    )
    assert claims.count(True) == 1
    # a later call, from either instance, never claims it again
    assert not await first.run_once("daily-digest", DUE)
    assert not await second.run_once("daily-digest", DUE)
    # another due time, or another job, is another run
    assert await second.run_once("daily-digest", DUE + timedelta(days=1))
    assert await first.run_once("weekly", DUE)
    # the same instant in another time zone is the same run
    other_zone = DUE.astimezone(datetime.now().astimezone().tzinfo)
    assert not await first.run_once("weekly", other_zone)


def test_run_once_exactly_once_from_threads_with_their_own_event_loops(backend):
    """Two stores, each driven from its own thread and event loop, racing for 20 runs."""
    stores = [backend.open(), backend.open()]
    results: list[list[bool]] = [[], []]
    start = threading.Barrier(2)

    def race(index: int) -> None:
        async def claims() -> list[bool]:
            start.wait()
            return [
                await stores[index].run_once("hourly", DUE + timedelta(hours=h)) for h in range(20)
            ]

        results[index] = asyncio.run(claims())

    threads = [threading.Thread(target=race, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    won = [a + b for a, b in zip(results[0], results[1], strict=True)]
    assert won == [1] * 20


async def test_run_once_checks_its_arguments(backend):
    store = backend.open()
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.run_once("job", datetime(2026, 12, 1, 9, 0))
    with pytest.raises(ValueError, match="job_key"):
        await store.run_once("", DUE)


async def test_migrates_an_older_schema_and_keeps_the_data(backend):
    old = backend.open(schema_version=1)
    assert old.schema_version == 1
    await old.close()
    # written as version 1 wrote it (its columns only)
    backend.sql("INSERT INTO users (user_id, country, language) VALUES (?, ?, ?)", (1, "GB", None))
    assert backend.sql("SELECT version FROM schema_version ORDER BY version") == [(1,)]

    store = backend.open()
    assert store.schema_version == LATEST
    assert await store.get(1) == UserState(country="GB")
    assert await store.run_once("job", DUE)
    versions = backend.sql("SELECT version FROM schema_version ORDER BY version")
    assert versions == [(m.version,) for m in MIGRATIONS]


async def test_refuses_a_schema_newer_than_the_code(backend):
    store = backend.open()
    await store.put(1, UserState(country="GB"))
    await store.close()
    backend.sql("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (LATEST + 1, 0))
    with pytest.raises(StoreError) as caught:
        backend.open()
    message = one_line(str(caught.value))
    assert f"schema version {LATEST + 1}" in message
    assert "newer recovery-bot" in message
    assert backend.sql("SELECT country FROM users") == [("GB",)]  # nothing was changed


def test_stores_opening_together_migrate_once(backend):
    """Replicas starting at the same moment on a fresh state: all open, one set of tables."""
    opened, errors = [], []
    start = threading.Barrier(4)

    def open_one() -> None:
        start.wait()
        try:
            opened.append(backend.open())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(opened) == 4
    versions = backend.sql("SELECT version FROM schema_version ORDER BY version")
    assert versions == [(m.version,) for m in MIGRATIONS]


async def test_values_are_short_codes_never_text(backend):
    store = backend.open()
    with pytest.raises(ValueError, match="never free text"):
        UserState(country="my boyfriend is turning blue")
    with pytest.raises(TypeError):
        UserState(country=44)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await store.put(1, {"country": "GB"})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await store.get("1")  # type: ignore[arg-type]


async def test_a_value_the_bot_never_writes_is_reported_not_used(backend):
    store = backend.open()
    backend.sql("INSERT INTO users (user_id, country) VALUES (?, ?)", (1, "not a code!"))
    with pytest.raises(StoreError) as caught:
        await store.all_users()
    assert "never writes" in one_line(str(caught.value))


def test_the_users_table_has_a_column_for_each_user_state_field():
    assert expected_columns(LATEST)["users"] == ("user_id", *columns())
    assert columns() == tuple(f.name for f in dataclasses.fields(UserState))


def test_migrations_are_numbered_one_by_one():
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert MIGRATIONS[-1].version == LATEST


async def test_the_schema_is_the_same_on_every_backend(backend):
    backend.open()
    rows = backend.sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        if backend.kind == "sqlite"
        else "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = current_schema() ORDER BY table_name"
    )
    assert [name for (name,) in rows] == sorted(expected_columns(LATEST))
