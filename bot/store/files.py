"""Checks on the state folder and the files in it, before anything reads them.

The folder must be a real folder (not a symlink), owned by the bot's user and not writable by
group or others; a new one is created with mode 0700. Each file in it must be a regular file
(not a symlink, not a folder) owned by the bot's user and not writable by group or others.
Files are opened with ``O_NOFOLLOW``. Every refusal is a :class:`StoreError` of one line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

from bot.store.base import StoreError

STATE_DIR_ENV = "RECOVERY_BOT_STATE_DIR"
_EFFECTIVE = os.access in os.supports_effective_ids


def reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    return exc.strerror or type(exc).__name__


def _mode(st: os.stat_result) -> str:
    return f"{stat.S_IMODE(st.st_mode):04o}"


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (mode 0700) or check an existing one; raise StoreError if unsafe."""
    where = f"state folder {path}"
    try:
        path.mkdir(parents=True, mode=0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreError(
            f"cannot create the {where} ({reason(exc)}); set {STATE_DIR_ENV} to a folder "
            "the bot can write"
        ) from None
    check_private_dir(path)


def check_private_dir(path: Path) -> None:
    where = f"state folder {path}"
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise StoreError(f"cannot inspect the {where} ({reason(exc)})") from None
    if stat.S_ISLNK(st.st_mode):
        raise StoreError(
            f"the {where} is a symlink; set {STATE_DIR_ENV} to the real folder it points to"
        )
    if not stat.S_ISDIR(st.st_mode):
        raise StoreError(f"the {where} is not a folder; set {STATE_DIR_ENV} to a folder")
    if st.st_uid != os.geteuid():
        raise StoreError(
            f"the {where} belongs to uid {st.st_uid}, not to the bot's user (uid "
            f"{os.geteuid()}); chown it or set {STATE_DIR_ENV} to a folder of the bot's own"
        )
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise StoreError(
            f"the {where} is writable by other users (mode {_mode(st)}), so they could plant "
            f"files the bot reads; run: chmod 700 {path}"
        )


def check_own_file(path: Path, what: str) -> os.stat_result | None:
    """lstat ``path``: None if absent; StoreError unless a regular file of ours, not writable
    by group or others."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"cannot inspect the {what} {path} ({reason(exc)})") from None
    if stat.S_ISLNK(st.st_mode):
        raise StoreError(
            f"the {what} {path} is a symlink; the bot does not follow symlinks in its state "
            "folder: replace it with the real file"
        )
    if stat.S_ISDIR(st.st_mode):
        raise StoreError(
            f"the {what} {path} is a folder, not a file; move it away (the bot creates the file)"
        )
    if not stat.S_ISREG(st.st_mode):
        raise StoreError(f"the {what} {path} is not a regular file; move it away")
    if st.st_uid != os.geteuid():
        raise StoreError(
            f"the {what} {path} belongs to uid {st.st_uid}, not to the bot's user (uid "
            f"{os.geteuid()}); the bot only reads its own files"
        )
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise StoreError(
            f"the {what} {path} is writable by other users (mode {_mode(st)}); the bot only "
            f"reads files no one else can change: run chmod 600 {path}"
        )
    return st


def open_nofollow(path: Path, flags: int, what: str, st: os.stat_result | None = None) -> int:
    """os.open with O_NOFOLLOW; if ``st`` (from check_own_file) is given, check it is still the
    same file. Errors are StoreError naming the file and why."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StoreError(
                f"the {what} {path} is a symlink; the bot does not follow symlinks"
            ) from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            readable = os.access(path, os.R_OK, effective_ids=_EFFECTIVE)
            if flags & (os.O_WRONLY | os.O_RDWR) and readable:
                raise StoreError(
                    f"the {what} {path} is read-only for the bot ({reason(exc)}); give the "
                    "bot's user write permission (chmod 600)"
                ) from None
            raise StoreError(
                f"the {what} {path} cannot be read ({reason(exc)}); the bot will not start "
                "without it: give the bot's user read and write permission (chmod 600)"
            ) from None
        raise StoreError(f"cannot open the {what} {path} ({reason(exc)})") from None
    if st is not None:
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            os.close(fd)
            raise StoreError(f"the {what} {path} changed while it was being opened; try again")
    return fd


def probe_writable(path: Path) -> None:
    """Create and remove a file in the folder: a read-only folder or file system is refused
    now, before any user is told their choice was saved."""
    probe = path / f".write-test-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise StoreError(
            f"the state folder {path} is not writable ({reason(exc)}); the bot could not save "
            f"anyone's choices: make it writable by the bot's user or set {STATE_DIR_ENV}"
        ) from None
    os.close(fd)
    os.unlink(probe)


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
