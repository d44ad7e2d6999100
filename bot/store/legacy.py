"""Importing the old state file, ``telegram-users.pickle`` (PTB's PicklePersistence), once.

The file is read only if it is a regular file (not a symlink) owned by the bot's user and not
writable by group or others; otherwise the bot refuses to start and says why. It is loaded
with :class:`RestrictedUnpickler`, which can build nothing but dicts, strings and integers
(and the other plain values pickle writes without naming a class): a crafted pickle that
names any callable, ``os.system`` included, is refused before it runs. Only the ``country``
string of each user in ``user_data`` is taken. After the users are stored, the file is
renamed ``telegram-users.pickle.imported``.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.store.base import StoreError
from bot.store.files import check_own_file, fsync_dir, open_nofollow, reason
from bot.store.state import UserState

_log = logging.getLogger(__name__)

LEGACY_FILE = "telegram-users.pickle"
IMPORTED_SUFFIX = ".imported"
MAX_LEGACY_BYTES = 64 * 1024 * 1024
_ALLOWED = frozenset({("builtins", "dict"), ("builtins", "str"), ("builtins", "int")})


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can only name ``builtins.dict``, ``builtins.str`` and ``builtins.int``
    and has no persistent ids: nothing it loads can run code."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it names {module}.{name}, which a state file never holds")

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("it refers to objects outside the file")


def restricted_loads(data: bytes) -> Any:
    return RestrictedUnpickler(io.BytesIO(data)).load()


def legacy_path(state_dir: Path) -> Path:
    return state_dir / LEGACY_FILE


def read_legacy(state_dir: Path) -> dict[int, UserState] | None:
    """The users' countries from the old file, or None if there is none. StoreError (refuse
    to start) if the file is unsafe to read or is not a state file the bot wrote."""
    path = legacy_path(state_dir)
    st = check_own_file(path, "old state file")
    if st is None:
        return None
    where = f"the old state file {path}"
    if st.st_size > MAX_LEGACY_BYTES:
        raise StoreError(f"{where} is larger than any state file the bot wrote; move it away")
    fd = open_nofollow(path, os.O_RDONLY, "old state file", st)
    try:
        with os.fdopen(fd, "rb") as file:
            data = file.read(MAX_LEGACY_BYTES + 1)
    except OSError as exc:
        raise StoreError(f"cannot read {where} ({reason(exc)})") from None
    try:
        loaded = restricted_loads(data)
    except pickle.UnpicklingError as exc:
        raise StoreError(
            f"refused to import {where}: {exc}; it was not written by the bot: move it away"
        ) from None
    except Exception as exc:  # truncated or junk: EOFError, ValueError, ...
        raise StoreError(
            f"cannot import {where}: it is damaged or not a state file the bot wrote "
            f"({type(exc).__name__}); move it away to start without the old choices"
        ) from None
    return _countries(loaded, where)


def _countries(loaded: Any, where: str) -> dict[int, UserState]:
    if not isinstance(loaded, Mapping) or not isinstance(loaded.get("user_data"), Mapping):
        raise StoreError(f"cannot import {where}: it has no user_data; move it away")
    users: dict[int, UserState] = {}
    skipped = 0
    for user_id, data in loaded["user_data"].items():
        country = data.get("country") if isinstance(data, Mapping) else None
        if not isinstance(user_id, int) or country is None:
            continue
        try:
            users[user_id] = UserState(country=country)
        except (TypeError, ValueError):
            skipped += 1
    if skipped:
        _log.warning(
            "Old state file: %d entries without a valid country code were skipped", skipped
        )
    return users


def mark_imported(state_dir: Path) -> Path:
    """Rename the old file so it is never imported again."""
    path = legacy_path(state_dir)
    done = path.with_name(path.name + IMPORTED_SUFFIX)
    try:
        os.replace(path, done)
    except OSError as exc:
        raise StoreError(
            f"imported the old state file {path} but cannot rename it to {done.name} "
            f"({reason(exc)}); rename it yourself"
        ) from None
    fsync_dir(state_dir)
    return done
