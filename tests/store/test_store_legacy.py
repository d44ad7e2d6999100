"""The old ``telegram-users.pickle``: imported once (countries only), then renamed; refused if
it is unsafe; a crafted pickle is refused, never run."""

from __future__ import annotations

import os
import pickle
import uuid
from collections import OrderedDict
from datetime import date
from pathlib import Path

import pytest
from telegram import Bot
from telegram.ext import PersistenceInput, PicklePersistence

from bot.store import LEGACY_FILE, STATE_FILE, StoreError, UserState, open_store
from bot.store.files import ensure_private_dir
from bot.store.legacy import restricted_loads
from tests.store.store_support import IS_ROOT, NOBODY, one_line


async def write_old_state(state_dir: Path, users: dict[int, dict]) -> Path:
    """The file exactly as the old bot wrote it: PTB's PicklePersistence of user_data."""
    ensure_private_dir(state_dir)
    path = state_dir / LEGACY_FILE
    old = PicklePersistence(
        filepath=path,
        store_data=PersistenceInput(
            bot_data=False, chat_data=False, user_data=True, callback_data=False
        ),
    )
    old.set_bot(Bot("123456789:AAHfakeTOKENfakeTOKENfakeTOKENfake12"))
    await old.get_user_data()
    for user_id, data in users.items():
        await old.update_user_data(user_id, data)
    await old.flush()
    path.chmod(0o600)
    return path


def write_pickle(state_dir: Path, payload: bytes) -> Path:
    ensure_private_dir(state_dir)
    path = state_dir / LEGACY_FILE
    path.write_bytes(payload)
    path.chmod(0o600)
    return path


def refused(state_dir: Path, *needles: str, database_url: str | None = None) -> str:
    with pytest.raises(StoreError) as caught:
        open_store(state_dir, database_url).close_sync()
    message = one_line(str(caught.value))
    assert str(state_dir / LEGACY_FILE) in message
    for needle in needles:
        assert needle in message, message
    return message


async def test_the_old_file_is_imported_once_then_renamed(backend):
    path = await write_old_state(
        backend.state_dir,
        {
            5: {"country": "GB", "anything": "else"},
            6: {"country": "US"},
            7: {"no_country": True},
            8: {"country": "not a country code"},  # never a valid choice: skipped
        },
    )
    store = backend.open()
    assert await store.all_users() == {5: UserState(country="GB"), 6: UserState(country="US")}
    assert not path.exists()
    assert (backend.state_dir / (LEGACY_FILE + ".imported")).is_file()
    await store.put(5, UserState(country="AU"))
    await store.close()
    again = backend.open()  # nothing imported again
    assert await again.get(5) == UserState(country="AU")


async def test_a_newer_choice_in_the_store_wins_over_the_old_file(backend):
    store = backend.open()
    await store.put(5, UserState(country="AU", language="en"))
    await store.close()
    await write_old_state(backend.state_dir, {5: {"country": "GB"}, 6: {"country": "US"}})
    store = backend.open()
    assert await store.all_users() == {
        5: UserState(country="AU", language="en"),
        6: UserState(country="US"),
    }


class RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class CallsEval:
    def __reduce__(self):
        return (eval, ("__import__('os').getpid()",))


@pytest.mark.parametrize(
    ("make", "needle"), [("system", "posix.system"), ("eval", "builtins.eval")]
)
def test_a_crafted_pickle_is_refused_not_run(tmp_path, make, needle):
    state_dir = tmp_path / "state"
    marker = tmp_path / f"ran-{uuid.uuid4().hex}"
    evil = RunsCode(marker) if make == "system" else CallsEval()
    payload = pickle.dumps({"user_data": {1: {"country": evil}}})
    path = write_pickle(state_dir, payload)
    message = refused(state_dir, "refused to import", needle, "not written by the bot")
    assert not marker.exists(), "the crafted pickle ran code"
    assert path.read_bytes() == payload  # kept, not renamed
    assert not (state_dir / STATE_FILE).exists(), message


def test_the_restricted_unpickler_allows_plain_values_only():
    plain = {"user_data": {1: {"country": "GB", "n": 2, "ok": True, "l": [1, (2, 3)]}}}
    assert restricted_loads(pickle.dumps(plain)) == plain
    assert restricted_loads(pickle.dumps(str)) is str
    for refused_value in (Path("/"), OrderedDict(), date(2026, 1, 1), set):
        with pytest.raises(pickle.UnpicklingError, match="never holds"):
            restricted_loads(pickle.dumps(refused_value))


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        (b"", "damaged"),
        (b"\x80\x04\x95", "damaged"),
        (pickle.dumps({"user_data": {1: {"country": "GB"}}})[:-5], "damaged"),
        (b"junk that is not a pickle", "damaged"),
        (pickle.dumps(["not", "a", "dict"]), "no user_data"),
    ],
)
def test_a_damaged_old_file_is_refused(tmp_path, payload, needle):
    state_dir = tmp_path / "state"
    path = write_pickle(state_dir, payload)
    refused(state_dir, needle)
    assert path.read_bytes() == payload


async def test_an_old_file_others_can_write_is_refused(tmp_path):
    state_dir = tmp_path / "state"
    path = await write_old_state(state_dir, {5: {"country": "GB"}})
    path.chmod(0o666)
    refused(state_dir, "writable by other users")
    assert path.exists()


@pytest.mark.skipif(not IS_ROOT, reason="giving a file to another user needs root")
async def test_an_old_file_of_another_user_is_refused(tmp_path):
    """Another local user's planted file used to run as the bot; now it is not even read."""
    state_dir = tmp_path / "state"
    path = await write_old_state(state_dir, {5: {"country": "GB"}})
    os.chown(path, NOBODY, NOBODY)
    refused(state_dir, f"belongs to uid {NOBODY}")
    assert path.exists()


async def test_a_symlinked_old_file_is_refused(tmp_path):
    state_dir = tmp_path / "state"
    real = await write_old_state(tmp_path / "elsewhere", {5: {"country": "GB"}})
    ensure_private_dir(state_dir)
    (state_dir / LEGACY_FILE).symlink_to(real)
    refused(state_dir, "is a symlink")
    assert real.exists()


async def test_the_old_file_is_imported_into_postgresql(tmp_path, pg_url):
    state_dir = tmp_path / "state"
    await write_old_state(state_dir, {5: {"country": "GB"}})
    store = open_store(state_dir, pg_url)
    try:
        assert await store.all_users() == {5: UserState(country="GB")}
    finally:
        await store.close()
    assert not (state_dir / LEGACY_FILE).exists()
    assert not (state_dir / STATE_FILE).exists()  # PostgreSQL: no SQLite file is made


def test_postgresql_without_a_state_folder_creates_none(tmp_path, pg_url):
    state_dir = tmp_path / "never-made"
    open_store(state_dir, pg_url).close_sync()
    assert not state_dir.exists()
