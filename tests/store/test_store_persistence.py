"""StorePersistence, PTB's persistence over the store, on both backends."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.store import StoreError, UserState
from bot.telegram import persistence as persistence_module
from bot.telegram.persistence import (
    STORED_KEYS,
    StorePersistence,
    build_persistence,
    get_country,
    get_language,
    set_country,
    set_language,
)


def persistence_on(backend) -> StorePersistence:
    return StorePersistence(backend.open)


async def test_only_the_stored_keys_of_users_with_something_to_keep(backend):
    persistence = persistence_on(backend)
    assert await persistence.get_user_data() == {}
    await persistence.update_user_data(1, {"country": "GB", "awaiting": True, "text": "hi there"})
    await persistence.update_user_data(2, {"awaiting": True})
    await persistence.update_user_data(3, {})
    await persistence.update_user_data(4, {"language": "es"})
    assert backend.sql("SELECT user_id, country, language FROM users ORDER BY user_id") == [
        (1, "GB", None),
        (4, None, "es"),
    ]
    await persistence.update_user_data(1, {"awaiting": True})  # country cleared: row goes
    assert backend.sql("SELECT user_id FROM users ORDER BY user_id") == [(4,)]
    await persistence.drop_user_data(4)
    assert backend.sql("SELECT COUNT(*) FROM users") == [(0,)]
    await persistence.flush()


async def test_what_was_saved_is_loaded_by_the_next_run(backend):
    first = persistence_on(backend)
    await first.get_user_data()
    await first.update_user_data(1, {"country": "GB", "language": "en"})
    await first.flush()
    second = persistence_on(backend)
    assert await second.get_user_data() == {1: {"country": "GB", "language": "en"}}
    assert await second.get_chat_data() == {}
    assert await second.get_bot_data() == {}
    assert await second.get_callback_data() is None
    assert await second.get_conversations("any") == {}
    await second.flush()


async def test_unchanged_data_is_not_written_again(backend, monkeypatch):
    persistence = persistence_on(backend)
    await persistence.get_user_data()
    await persistence.update_user_data(1, {"country": "GB"})
    writes = []
    store = persistence.store
    original = store.put

    async def counting_put(user_id, state):
        writes.append(user_id)
        await original(user_id, state)

    monkeypatch.setattr(store, "put", counting_put)
    for _ in range(5):  # PTB calls this for every user after every update
        await persistence.update_user_data(1, {"country": "GB", "other": 1})
    assert writes == []
    await persistence.update_user_data(1, {"country": "US"})
    assert writes == [1]
    await persistence.flush()


async def test_a_failed_save_raises_and_is_retried_at_shutdown(backend, monkeypatch, caplog):
    persistence = persistence_on(backend)
    await persistence.get_user_data()
    store = persistence.store
    original = store.put

    async def failing_put(user_id, state):
        raise StoreError("cannot save a user's state to the test store: the disk is full")

    monkeypatch.setattr(store, "put", failing_put)
    with pytest.raises(StoreError, match="the disk is full"):
        await persistence.update_user_data(1, {"country": "GB"})
    assert "Could not save a user's choices" in caplog.text
    monkeypatch.setattr(store, "put", original)
    await persistence.flush()  # the disk has room again: the failed save is retried
    reopened = persistence_on(backend)
    assert await reopened.get_user_data() == {1: {"country": "GB"}}
    await reopened.flush()


async def test_refresh_reads_the_row_only_for_a_shared_store(backend):
    writer, reader = persistence_on(backend), persistence_on(backend)
    await writer.get_user_data()
    await reader.get_user_data()
    await writer.update_user_data(1, {"country": "GB"})
    data: dict = {"awaiting": True}
    await reader.refresh_user_data(1, data)
    if backend.kind == "postgresql":
        assert data == {"awaiting": True, "country": "GB"}
        await writer.drop_user_data(1)
        await reader.refresh_user_data(1, data)
        assert data == {"awaiting": True}
    else:  # one process owns an SQLite file: no read per update
        assert data == {"awaiting": True}
    await writer.flush()
    await reader.flush()


async def test_refresh_never_raises_and_never_waits_long(backend, monkeypatch, caplog):
    persistence = persistence_on(backend)
    await persistence.get_user_data()
    store = persistence.store
    monkeypatch.setattr(store, "shared", True)
    monkeypatch.setattr(persistence_module, "REFRESH_TIMEOUT", 0.2)

    async def broken_get(user_id):
        raise StoreError("cannot read a user's state from the test store: connection lost")

    async def hanging_get(user_id):
        await asyncio.sleep(30)

    for get in (broken_get, hanging_get):
        monkeypatch.setattr(store, "get", get)
        persistence._refresh_paused_until = 0.0
        data = {"country": "GB"}
        started = time.monotonic()
        await persistence.refresh_user_data(1, data)  # an emergency must still be answered
        assert time.monotonic() - started < 2
        assert data == {"country": "GB"}  # the copy in memory is used
    assert "Could not refresh a user's choices" in caplog.text

    # after a failure, the next updates do not wait for the store at all
    calls = []

    async def counted_get(user_id):
        calls.append(user_id)

    monkeypatch.setattr(store, "get", counted_get)
    await persistence.refresh_user_data(1, {})
    assert calls == []
    await persistence.flush()


def test_build_persistence_opens_the_store_at_once(tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    state_dir.chmod(0o777)
    with pytest.raises(StoreError, match="writable by other users"):
        build_persistence(state_dir)


async def test_build_persistence_with_a_database_url(tmp_path, pg_url):
    persistence = build_persistence(tmp_path / "state", pg_url)
    assert persistence.store.kind == "postgresql"
    await persistence.flush()


def test_the_helpers():
    from bot.companion.settings import STORED_FIELDS

    data: dict = {}
    assert get_country(data) is None and get_language(None) is None
    set_country(data, "GB")
    set_language(data, "es")
    assert data == {"country": "GB", "language": "es"}
    assert (get_country(data), get_language(data)) == ("GB", "es")
    set_country(data, None)
    set_language(data, None)
    assert data == {}
    assert {"country": 5}.get("country") == 5 and get_country({"country": 5}) is None
    assert frozenset({"country", "language", *STORED_FIELDS}) == STORED_KEYS
    assert UserState.from_mapping({"country": "GB", "x": 1}) == UserState(country="GB")


def test_the_database_url_setting():
    from bot.telegram.config import ConfigError, load_settings

    base = {"TELEGRAM_BOT_TOKEN": "123456789:AAHfakeTOKENfakeTOKENfakeTOKENfake12"}
    assert load_settings(base).database_url is None
    url = "postgresql://bot:s3cret-pass@db.example:5432/recovery"
    settings = load_settings({**base, "RECOVERY_BOT_DATABASE_URL": url})
    assert settings.database_url == url
    assert "s3cret-pass" not in repr(settings)
    for wrong in ("mysql://bot:s3cret-pass@db/x", "s3cret-pass", "http://[s3cret-pass"):
        with pytest.raises(ConfigError) as caught:
            load_settings({**base, "RECOVERY_BOT_DATABASE_URL": wrong})
        assert "RECOVERY_BOT_DATABASE_URL" in str(caught.value)
        assert "s3cret-pass" not in str(caught.value)


def test_store_messages_never_show_the_database_password(tmp_path):
    url = "postgresql://bot:s3cret-pass@127.0.0.1:1/recovery?connect_timeout=2"
    with pytest.raises(StoreError) as caught:
        build_persistence(tmp_path / "state", url)
    message = str(caught.value)
    assert "s3cret-pass" not in message
    assert "cannot connect to the PostgreSQL database 'recovery' on 127.0.0.1:1" in message
