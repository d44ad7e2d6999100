"""The embedded backend: one SQLite file, ``state.sqlite3``, in the state folder (WAL mode).

Before SQLite sees the file, it is checked like every state file (``bot/store/files.py``:
ours, not a symlink, not writable by others), opened with ``O_NOFOLLOW`` and its header read:
an empty file, a file that is not SQLite, or one shorter than its pages is refused with one
line saying so. Then the schema must be exactly the one the bot's own migrations make at the
file's version (no extra table, trigger or view, nothing changed), ``PRAGMA integrity_check``
must pass and the version must not be newer than this code. Extensions are never enabled,
``trusted_schema`` is off and an authorizer refuses extension-loading functions, so a crafted
file cannot run code. A new file is built under a temporary name (mode 0600) and linked into
place only once complete, so a crash never leaves a half-made state file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import sqlite3
import urllib.parse
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from bot.store import migrations
from bot.store.base import Backend, StoreError, now_us
from bot.store.files import check_own_file, fsync_dir, open_nofollow, probe_writable, reason

_log = logging.getLogger(__name__)
T = TypeVar("T")

STATE_FILE = "state.sqlite3"
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT = 5.0  # seconds another connection may hold the write lock
# Functions a crafted schema could use to reach outside the database.
_REFUSED_FUNCTIONS = frozenset(
    {"load_extension", "fts3_tokenizer", "readfile", "writefile", "edit"}
)
_START_AFRESH = "restore it from a backup, or move it away to start with no stored choices"


def _uri(path: Path) -> str:
    return "file:" + urllib.parse.quote(str(path)) + "?mode=rw"


def _authorize(action: int, arg1: str | None, arg2: str | None, *_: object) -> int:
    if action == sqlite3.SQLITE_FUNCTION and arg2 and arg2.lower() in _REFUSED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _harden(conn: sqlite3.Connection) -> None:
    if hasattr(conn, "enable_load_extension"):
        conn.enable_load_extension(False)
    conn.set_authorizer(_authorize)
    conn.execute("PRAGMA trusted_schema = OFF")
    conn.execute("PRAGMA cell_size_check = ON")


@cache
def expected_schema(version: int) -> frozenset[tuple[Any, ...]]:
    """``sqlite_master`` of a file at ``version``: the migrations replayed in memory."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.execute(migrations.BOOTSTRAP)
        for migration in migrations.pending(0, version):
            for statement in migration.for_dialect("sqlite"):
                conn.execute(statement)
        return frozenset(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
    finally:
        conn.close()


@cache
def expected_columns(version: int) -> dict[str, tuple[str, ...]]:
    """Table -> column names, in order, at ``version`` (the migrations replayed in memory)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.execute(migrations.BOOTSTRAP)
        for migration in migrations.pending(0, version):
            for statement in migration.for_dialect("sqlite"):
                conn.execute(statement)
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {
            table: tuple(row[1] for row in conn.execute(f"PRAGMA table_info({table})"))
            for table in tables
        }
    finally:
        conn.close()


class SQLiteBackend(Backend):
    kind = "sqlite"
    shared = False
    placeholder = "?"

    def __init__(self, path: Path, target_version: int = migrations.LATEST) -> None:
        self.path = path
        self.location = f"state file {path}"
        self._conn: sqlite3.Connection | None = None
        self._open(target_version)

    # -- opening ----------------------------------------------------------------------------

    def _open(self, target: int) -> None:
        probe_writable(self.path.parent)
        st = self._check_files()
        if st is None:
            self._create(target)
            st = self._check_files()
            if st is None:  # pragma: no cover - removed between create and check
                raise StoreError(f"the state file {self.path} vanished while it was created")
        self._check_header(st)
        try:
            self._conn = sqlite3.connect(
                _uri(self.path), uri=True, isolation_level=None, timeout=BUSY_TIMEOUT
            )
            _harden(self._conn)
            version = self._verify()
            self._migrate(version, target)
        except sqlite3.Error as exc:
            self.close()
            raise self._error(exc, "open", hint=True) from None
        except BaseException:
            self.close()
            raise

    def _check_files(self) -> os.stat_result | None:
        st = check_own_file(self.path, "state file")
        for suffix in SIDE_SUFFIXES:
            check_own_file(self.path.with_name(self.path.name + suffix), "state file")
        return st

    def _check_header(self, st: os.stat_result) -> None:
        where = f"the state file {self.path}"
        fd = open_nofollow(self.path, os.O_RDWR, "state file", st)
        try:
            if st.st_mode & 0o077:  # readable by others: tighten, it is ours
                os.fchmod(fd, 0o600)
            header = os.pread(fd, 100, 0)
        except OSError as exc:
            raise StoreError(f"cannot read {where} ({reason(exc)})") from None
        finally:
            os.close(fd)
        size = st.st_size
        if size == 0:
            raise StoreError(
                f"{where} is empty (0 bytes), so it is not a state file the bot wrote; "
                f"{_START_AFRESH}"
            )
        if len(header) < 100 or not header.startswith(MAGIC):
            raise StoreError(
                f"{where} is not an SQLite database (damaged or another kind of "
                f"file); {_START_AFRESH}"
            )
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        if not 512 <= page_size <= 65536 or page_size & (page_size - 1):
            raise StoreError(
                f"{where} has a damaged header (page size {page_size}); {_START_AFRESH}"
            )
        wal = self.path.with_name(self.path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            return  # pages may still be in the write-ahead log: SQLite's checks decide
        pages = int.from_bytes(header[28:32], "big")
        header_valid = header[24:28] == header[92:96] and pages > 0
        if size % page_size or (header_valid and pages * page_size > size):
            expected = f"{pages * page_size} bytes" if header_valid else "whole pages"
            raise StoreError(
                f"{where} is truncated ({size} bytes; its header says {expected}); {_START_AFRESH}"
            )

    def _create(self, target: int) -> None:
        """Build a new state file under a temporary name, then link it into place."""
        temp = self.path.with_name(f"{self.path.name}.new-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            os.close(fd)
        except OSError as exc:
            raise StoreError(f"cannot create the state file {self.path} ({reason(exc)})") from None
        try:
            conn = sqlite3.connect(_uri(temp), uri=True, isolation_level=None)
            try:
                _harden(conn)
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(migrations.BOOTSTRAP)
                self._apply(conn, migrations.pending(0, target))
                conn.execute("COMMIT")
            finally:
                conn.close()
            try:
                os.link(temp, self.path)
            except FileExistsError:
                pass  # another process made it first: use theirs
            except OSError:  # no hard links on this file system
                if not os.path.lexists(self.path):
                    os.rename(temp, self.path)
            fsync_dir(self.path.parent)
        except sqlite3.Error as exc:
            raise self._error(exc, "create") from None
        except OSError as exc:
            raise StoreError(f"cannot create the state file {self.path} ({reason(exc)})") from None
        finally:
            for leftover in (temp, temp.with_name(temp.name + "-journal")):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(leftover)
        _log.info("Created the state file %s (schema %s)", self.path, target)

    def _verify(self) -> int:
        """The file's schema version, after checking its schema and integrity."""
        conn = self._live()
        where = f"the state file {self.path}"
        objects = frozenset(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
        if not any(kind == "table" and name == "schema_version" for kind, name, *_ in objects):
            raise StoreError(
                f"{where} is an SQLite database but not a recovery-bot state file (it has no "
                f"schema_version table); {_START_AFRESH}"
            )
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_version")]
        if not all(isinstance(v, int) and v > 0 for v in versions):
            raise StoreError(f"{where} has a damaged schema_version table; {_START_AFRESH}")
        version = max(versions, default=0)
        if version > migrations.LATEST:
            raise StoreError(
                f"{where} was written by a newer recovery-bot (schema version {version}; this "
                f"one knows up to {migrations.LATEST}); upgrade recovery-bot, or restore a "
                "backup made before the upgrade"
            )
        expected = expected_schema(version)
        if objects != expected:
            raise StoreError(
                f"{where} does not have the tables of recovery-bot schema version {version} "
                f"({_differences(objects, expected)}): it was changed by something else; "
                f"{_START_AFRESH}"
            )
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise StoreError(
                f"{where} is damaged (integrity check: {problems[0]}); {_START_AFRESH}"
            )
        return version

    def _migrate(self, current: int, target: int) -> None:
        conn = self._live()
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            _log.warning("The state file %s cannot use WAL mode here (%s)", self.path, mode)
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        if migrations.pending(current, target):
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have migrated since the check: read it again, locked.
                now = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
                self._apply(conn, migrations.pending(now, target))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            _log.info("Migrated the state file %s from schema %s to %s", self.path, now, target)
        self.schema_version = max(current, target)

    @staticmethod
    def _apply(conn: sqlite3.Connection, todo: tuple[migrations.Migration, ...]) -> None:
        for migration in todo:
            for statement in migration.for_dialect("sqlite"):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                (migration.version, now_us()),
            )

    # -- running ----------------------------------------------------------------------------

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the state file {self.path} is closed")
        return self._conn

    def _read(self, action: str, fn: Callable[[Any], T]) -> T:
        cursor = self._live().cursor()
        try:
            return fn(cursor)
        except sqlite3.Error as exc:
            raise self._error(exc, action) from None
        finally:
            cursor.close()

    def _write(self, action: str, fn: Callable[[Any], T]) -> T:
        conn = self._live()
        cursor = conn.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            result = fn(cursor)
            cursor.execute("COMMIT")
            return result
        except sqlite3.Error as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise self._error(exc, action) from None
        finally:
            cursor.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error as exc:
                _log.warning("Closing the state file %s: %s", self.path, self._what(exc))

    # -- errors -----------------------------------------------------------------------------

    def _what(self, exc: sqlite3.Error) -> str:
        name = getattr(exc, "sqlite_errorname", "") or ""
        text = str(exc)
        if name.startswith("SQLITE_FULL") or "disk is full" in text:
            return "the disk is full"
        if name.startswith("SQLITE_READONLY") or "readonly" in text:
            return "the file or its folder is read-only"
        if name.startswith("SQLITE_NOTADB") or "not a database" in text:
            return "it is not an SQLite database"
        if name.startswith("SQLITE_CORRUPT") or "malformed" in text:
            return f"it is damaged ({text})"
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
            return f"another process holds its lock (waited {BUSY_TIMEOUT:g} s)"
        if name.startswith("SQLITE_CANTOPEN"):
            return "it cannot be opened"
        if name.startswith("SQLITE_IOERR"):
            return f"a disk read or write failed ({text})"
        if name.startswith("SQLITE_AUTH"):
            return "it asks for something the bot refuses (an extension or another database)"
        return text

    def _error(self, exc: sqlite3.Error, action: str, *, hint: bool = False) -> StoreError:
        what = self._what(exc)
        tail = ""
        if hint and what.startswith(("it is damaged", "it is not an SQLite")):
            tail = f"; {_START_AFRESH}"
        return StoreError(f"cannot {action} the state file {self.path}: {what}{tail}")


def _differences(actual: frozenset[tuple[Any, ...]], expected: frozenset[tuple[Any, ...]]) -> str:
    by_name = {(kind, name): sql for kind, name, _, sql in expected}
    notes = []
    for kind, name, *_ in sorted(actual - expected, key=lambda o: (o[0], o[1])):
        if (kind, name) in by_name:
            notes.append(f"{kind} {name!r} was changed")
        else:
            notes.append(f"unexpected {kind} {name!r}")
    present = {(kind, name) for kind, name, *_ in actual}
    for kind, name in sorted(by_name):
        if (kind, name) not in present:
            notes.append(f"missing {kind} {name!r}")
    return ", ".join(notes[:3]) + (", ..." if len(notes) > 3 else "")
