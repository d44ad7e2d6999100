"""What survives a restart: each user's country, and nothing else.

PTB's PicklePersistence keeps ``user_data`` only (chat_data, bot_data and callback_data are
off). :class:`CountryOnlyPersistence` stores just the :data:`COUNTRY` key and drops users with
nothing to keep, so the file never lists everyone who ever wrote to the bot.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from telegram.ext import PersistenceInput, PicklePersistence

COUNTRY = "country"
STORED_KEYS = frozenset({COUNTRY})
STATE_FILE = "telegram-users.pickle"
# Seconds between PTB's background saves; country changes are also saved at once.
UPDATE_INTERVAL = 30


class CountryOnlyPersistence(PicklePersistence):
    """PicklePersistence of user_data limited to :data:`STORED_KEYS`; empty users are dropped."""

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        kept = {key: value for key, value in data.items() if key in STORED_KEYS}
        if kept:
            await super().update_user_data(user_id, kept)
        elif self.user_data is not None and user_id in self.user_data:
            await self.drop_user_data(user_id)

    def _dump_singlefile(self) -> None:
        """Write atomically (temporary file, fsync, rename), readable by this user only, so a
        crash mid-write can never leave a file that stops the bot from starting.

        Overrides PTB's private writer (PTB pinned < 23); if PTB stops calling it, PTB's own
        plain write is used instead. Only strings are stored, so plain pickle suffices."""
        data = {
            "conversations": self.conversations,
            "user_data": self.user_data,
            "chat_data": self.chat_data,
            "bot_data": self.bot_data,
            "callback_data": self.callback_data,
        }
        temporary = self.filepath.with_name(self.filepath.name + ".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            pickle.dump(data, file, protocol=pickle.HIGHEST_PROTOCOL)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.filepath)


def build_persistence(state_dir: Path) -> CountryOnlyPersistence:
    """The persistence file under ``state_dir`` (created private to this user)."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return CountryOnlyPersistence(
        filepath=state_dir / STATE_FILE,
        store_data=PersistenceInput(
            bot_data=False, chat_data=False, user_data=True, callback_data=False
        ),
        update_interval=UPDATE_INTERVAL,
    )


def get_country(user_data: MutableMapping[Any, Any] | None) -> str | None:
    if not user_data:
        return None
    country = user_data.get(COUNTRY)
    return country if isinstance(country, str) else None


def set_country(user_data: MutableMapping[Any, Any], country: str | None) -> None:
    if country is None:
        user_data.pop(COUNTRY, None)
    else:
        user_data[COUNTRY] = country
