"""Faults in the state folder and the SQLite file: each one a clear line, none silent, none
unsafe. Permission faults run as nobody when the tests run as root (``unprivileged``)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest

from bot.store import STATE_FILE, StoreError, UserState, open_store
from bot.store.files import ensure_private_dir
from tests.store.store_support import IS_ROOT, NOBODY, one_line, unprivileged


def refused(state_dir: Path, *needles: str) -> str:
    """open_store must raise StoreError, in one line, naming the path and each needle."""
    with pytest.raises(StoreError) as caught:
        open_store(state_dir).close_sync()
    message = one_line(str(caught.value))
    assert str(state_dir) in message
    for needle in needles:
        assert needle in message, message
    return message


async def make_state(state_dir: Path, users: dict[int, str]) -> Path:
    store = open_store(state_dir)
    if len(users) == 1:
        [(user_id, country)] = users.items()
        await store.put(user_id, UserState(country=country))
    else:  # one transaction
        await store.insert_missing({uid: UserState(country=c) for uid, c in users.items()})
    await store.close()
    return state_dir / STATE_FILE


def users_in(state_dir: Path) -> dict[int, str | None]:
    conn = sqlite3.connect(f"file:{state_dir / STATE_FILE}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT user_id, country FROM users"))
    finally:
        conn.close()


# -- the state folder ----------------------------------------------------------------------


def test_a_new_state_folder_and_file_are_private(tmp_path):
    state_dir = tmp_path / "deep" / "state"
    open_store(state_dir).close_sync()
    assert state_dir.stat().st_mode & 0o777 == 0o700
    assert (state_dir / STATE_FILE).stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in state_dir.iterdir()) == [STATE_FILE]


@pytest.mark.parametrize("mode", [0o1777, 0o777, 0o770, 0o720, 0o702])
def test_a_folder_others_can_write_is_refused(tmp_path, mode):
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    state_dir.chmod(mode)
    message = refused(state_dir, "writable by other users", f"mode {mode:04o}", "chmod 700")
    assert not (state_dir / STATE_FILE).exists(), message


def test_a_folder_others_can_read_but_not_write_is_accepted(tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o755)
    state_dir.chmod(0o755)
    open_store(state_dir).close_sync()
    assert (state_dir / STATE_FILE).stat().st_mode & 0o777 == 0o600


@pytest.mark.skipif(not IS_ROOT, reason="giving a folder to another user needs root")
def test_a_folder_of_another_user_is_refused(tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o700)
    os.chown(state_dir, NOBODY, NOBODY)
    refused(state_dir, f"belongs to uid {NOBODY}", "not to the bot's user")


def test_a_symlinked_folder_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "state"
    link.symlink_to(real)
    refused(link, "is a symlink")
    assert list(real.iterdir()) == []


def test_a_file_in_place_of_the_folder_is_refused(tmp_path):
    state_dir = tmp_path / "state"
    state_dir.write_text("x")
    refused(state_dir, "is not a folder")


def test_a_folder_that_cannot_be_created_is_refused(own_tmp):
    with unprivileged():
        parent = own_tmp / "locked"
        parent.mkdir(mode=0o500)
        refused(parent / "state", "cannot create the state folder", "Permission denied")


def test_a_read_only_folder_is_refused(own_tmp):
    with unprivileged():
        state_dir = own_tmp / "state"
        open_store(state_dir).close_sync()
        state_dir.chmod(0o500)
        try:
            refused(state_dir, "is not writable", "Permission denied")
        finally:
            state_dir.chmod(0o700)


# -- the state file ------------------------------------------------------------------------


def test_a_symlinked_state_file_is_refused_and_its_target_untouched(tmp_path):
    state_dir = tmp_path / "state"
    ensure_private_dir(state_dir)
    target = tmp_path / "elsewhere.txt"
    target.write_text("precious")
    (state_dir / STATE_FILE).symlink_to(target)
    refused(state_dir, "is a symlink")
    assert target.read_text() == "precious"


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
async def test_a_symlinked_side_file_is_refused(tmp_path, suffix):
    state_dir = tmp_path / "state"
    await make_state(state_dir, {1: "GB"})
    target = tmp_path / "elsewhere"
    target.write_bytes(b"")
    (state_dir / (STATE_FILE + suffix)).symlink_to(target)
    refused(state_dir, "is a symlink")
    assert target.read_bytes() == b""


def test_a_folder_in_place_of_the_file_is_refused(tmp_path):
    state_dir = tmp_path / "state"
    ensure_private_dir(state_dir)
    (state_dir / STATE_FILE).mkdir()
    refused(state_dir, "is a folder, not a file")


async def test_a_state_file_others_can_write_is_refused(tmp_path):
    state_dir = tmp_path / "state"
    path = await make_state(state_dir, {1: "GB"})
    path.chmod(0o666)
    refused(state_dir, "writable by other users", "chmod 600")


async def test_a_state_file_others_can_read_is_made_private(tmp_path):
    state_dir = tmp_path / "state"
    path = await make_state(state_dir, {1: "GB"})
    path.chmod(0o644)
    open_store(state_dir).close_sync()
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.skipif(not IS_ROOT, reason="giving a file to another user needs root")
async def test_a_state_file_of_another_user_is_refused(tmp_path):
    state_dir = tmp_path / "state"
    path = await make_state(state_dir, {1: "GB"})
    os.chown(path, NOBODY, NOBODY)
    refused(state_dir, f"belongs to uid {NOBODY}")


def test_an_empty_file_is_refused_not_used_as_a_new_database(tmp_path):
    state_dir = tmp_path / "state"
    ensure_private_dir(state_dir)
    path = state_dir / STATE_FILE
    path.touch(mode=0o600)
    refused(state_dir, "is empty (0 bytes)", "move it away")
    assert path.read_bytes() == b""


def test_a_file_that_is_not_sqlite_is_refused(tmp_path):
    state_dir = tmp_path / "state"
    ensure_private_dir(state_dir)
    path = state_dir / STATE_FILE
    path.write_bytes(b"user 1 country GB\n" * 100)
    path.chmod(0o600)
    refused(state_dir, "is not an SQLite database")
    assert path.read_bytes() == b"user 1 country GB\n" * 100


async def test_a_truncated_file_is_refused_and_kept(tmp_path):
    state_dir = tmp_path / "state"
    path = await make_state(state_dir, {i: "GB" for i in range(1, 2000)})
    data = path.read_bytes()
    assert len(data) > 8192
    path.write_bytes(data[: len(data) // 2 + 100])
    refused(state_dir, "is truncated")
    assert path.read_bytes() == data[: len(data) // 2 + 100]  # not overwritten


async def test_a_truncated_file_cut_on_a_page_boundary_is_refused(tmp_path):
    state_dir = tmp_path / "state"
    path = await make_state(state_dir, {i: "GB" for i in range(1, 2000)})
    data = path.read_bytes()
    page = int.from_bytes(data[16:18], "big")
    path.write_bytes(data[: page * 2])
    refused(state_dir, "is truncated")


async def test_damaged_pages_are_refused(tmp_path):
    state_dir = tmp_path / "state"
    path = await make_state(state_dir, {i: "GB" for i in range(1, 2000)})
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page * 2 : page * 3] = b"\xa5" * page  # junk over a whole page
    path.write_bytes(bytes(data))
    message = refused(state_dir, "damaged")
    assert "backup" in message
    assert path.read_bytes() == bytes(data)


def test_a_sqlite_file_that_is_not_a_state_file_is_refused(tmp_path):
    state_dir = tmp_path / "state"
    ensure_private_dir(state_dir)
    path = state_dir / STATE_FILE
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.execute("INSERT INTO notes VALUES ('someone else''s data')")
    conn.commit()
    conn.close()
    path.chmod(0o600)
    refused(state_dir, "not a recovery-bot state file")
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT text FROM notes").fetchall() == [("someone else's data",)]
    conn.close()


async def test_a_damaged_schema_version_is_refused(tmp_path):
    state_dir = tmp_path / "state"
    path = await make_state(state_dir, {1: "GB"})
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = -1 WHERE version = 1")
    conn.commit()
    conn.close()
    refused(state_dir, "damaged schema_version")


# -- unreadable and read-only files: never treated as empty, never overwritten ---------------


async def test_an_unreadable_file_is_refused_and_not_overwritten(own_tmp):
    """The old pickle store treated an unreadable file as empty, then saved over it
    (2 stored users became 1). Now: refused, and the two users are still there."""
    with unprivileged():
        state_dir = own_tmp / "state"
        path = await make_state(state_dir, {1: "GB", 2: "US"})
        before = path.read_bytes()
        path.chmod(0o000)
        try:
            refused(state_dir, "cannot be read", "Permission denied")
        finally:
            path.chmod(0o600)
        assert path.read_bytes() == before
        assert users_in(state_dir) == {1: "GB", 2: "US"}


async def test_a_read_only_file_is_refused(own_tmp):
    with unprivileged():
        state_dir = own_tmp / "state"
        path = await make_state(state_dir, {1: "GB"})
        path.chmod(0o400)
        try:
            refused(state_dir, "read-only")
        finally:
            path.chmod(0o600)


# -- a full disk -----------------------------------------------------------------------------


@contextlib.contextmanager
def tiny_tmpfs(where: Path, size_kib: int):
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0700", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root); the page-limit test covers it")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Fill the file system with one file; return it."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as file, contextlib.suppress(OSError):
        while True:
            file.write(b"\0" * 4096)
    return filler


@pytest.mark.skipif(not IS_ROOT, reason="mounting a small file system needs root")
async def test_a_full_disk_is_a_clear_error_and_loses_nothing(tmp_path):
    with tiny_tmpfs(tmp_path / "disk", 512) as disk:
        state_dir = disk / "state"
        store = open_store(state_dir)
        try:
            await store.put(1, UserState(country="GB"))
            filler = fill(disk)
            with pytest.raises(StoreError) as caught:
                for user_id in range(2, 20000):
                    await store.put(user_id, UserState(country="US", language=f"x{user_id}"))
            message = one_line(str(caught.value))
            assert "the disk is full" in message
            assert str(state_dir / STATE_FILE) in message
            assert await store.get(1) == UserState(country="GB")
            filler.unlink()
            await store.put(99999, UserState(country="AU"))  # space again: saves work again
            assert await store.get(99999) == UserState(country="AU")
        finally:
            await store.close()


async def test_a_database_that_cannot_grow_is_a_clear_error(tmp_path):
    """The same failure without root: SQLite's page limit gives the same SQLITE_FULL."""
    state_dir = tmp_path / "state"
    store = open_store(state_dir)
    try:
        await store.put(1, UserState(country="GB"))
        pages = store.run_sync(lambda b: b._live().execute("PRAGMA page_count").fetchone()[0])
        store.run_sync(lambda b: b._live().execute(f"PRAGMA max_page_count = {pages}"))
        with pytest.raises(StoreError) as caught:
            for user_id in range(2, 5000):
                await store.put(user_id, UserState(country="US", language="x" * 35))
        assert "the disk is full" in one_line(str(caught.value))
        assert await store.get(1) == UserState(country="GB")
    finally:
        await store.close()


def test_a_full_disk_when_creating_the_state_is_a_clear_error(tmp_path):
    if not IS_ROOT:
        pytest.skip("mounting a small file system needs root")
    with tiny_tmpfs(tmp_path / "disk", 64) as disk:
        fill(disk)
        state_dir = disk / "state"
        with pytest.raises(StoreError) as caught:
            open_store(state_dir).close_sync()
        message = one_line(str(caught.value))
        assert str(state_dir) in message
        assert "disk is full" in message or "No space left" in message
        assert not (state_dir / STATE_FILE).exists()


# -- a crafted file cannot run code ------------------------------------------------------------


def craft(state_dir: Path, *statements: str) -> None:
    conn = sqlite3.connect(state_dir / STATE_FILE)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("statement", "needle"),
    [
        (
            "CREATE TRIGGER evil AFTER INSERT ON users "
            "BEGIN SELECT load_extension('/tmp/evil.so'); END",
            "unexpected trigger 'evil'",
        ),
        (
            "CREATE VIEW everyone AS SELECT load_extension('/tmp/evil.so') AS x",
            "unexpected view 'everyone'",
        ),
        ("CREATE TABLE extra (x TEXT)", "unexpected table 'extra'"),
        ("CREATE INDEX by_country ON users (country)", "unexpected index 'by_country'"),
    ],
)
async def test_a_crafted_schema_is_refused_before_it_is_used(tmp_path, statement, needle):
    state_dir = tmp_path / "state"
    await make_state(state_dir, {1: "GB"})
    craft(state_dir, statement)
    refused(state_dir, needle, "changed by something else")


async def test_a_changed_table_is_refused(tmp_path):
    state_dir = tmp_path / "state"
    await make_state(state_dir, {1: "GB"})
    marker = tmp_path / f"ran-{uuid.uuid4().hex}"
    craft(
        state_dir,
        "ALTER TABLE users RENAME TO old_users",
        "CREATE TABLE users (user_id BIGINT PRIMARY KEY, country TEXT "
        f"CHECK (load_extension('{marker}') IS NULL), language TEXT)",
        "DROP TABLE old_users",
    )
    refused(state_dir, "table 'users' was changed")
    assert not marker.exists()


async def test_extensions_and_other_databases_are_refused_on_the_bots_connection(tmp_path):
    state_dir = tmp_path / "state"
    await make_state(state_dir, {1: "GB"})
    store = open_store(state_dir)
    try:
        for sql in (
            "SELECT load_extension('/tmp/evil.so')",
            f"ATTACH DATABASE '{tmp_path / 'other.db'}' AS other",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
                store.run_sync(lambda b, sql=sql: b._live().execute(sql).fetchall())
        assert not (tmp_path / "other.db").exists()
    finally:
        store.close_sync()


# -- what recovery-bot run prints --------------------------------------------------------------


def test_run_refuses_to_start_with_one_line(tmp_path, core, capsys):
    from bot.telegram.app import run

    state_dir = tmp_path / "state"
    state_dir.mkdir()
    state_dir.chmod(0o1777)
    environ = {
        "TELEGRAM_BOT_TOKEN": "123456789:AAHfakeTOKENfakeTOKENfakeTOKENfake12",
        "TELEGRAM_BASE_URL": "http://127.0.0.1:9/bot",  # never reached
        "RECOVERY_BOT_STATE_DIR": str(state_dir),
    }
    assert run(core=core, environ=environ) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("recovery-bot: the state folder ")
    assert "writable by other users (mode 1777)" in err
