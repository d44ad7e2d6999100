"""The outbox rows: messages waiting for Telegram, kept in the state store.

One :class:`OutboxRow` per message of a reply. A row says *what* the message is, never its
text: ``message`` and ``buttons`` are references into the vetted content (see
``bot/telegram/outbox_codec.py``: kind, topic or message id, country, language, step) made of
the same short-code characters as every stored value, so a user's words can never be stored
here (:func:`check_reference` refuses anything else).

Rows of a chat are sent urgent first, then in insertion order (``id``). ``outbox_leases``
says which process sends a chat's rows: a lease is claimed, renewed while sending and expires
on its own, so the rows of a replica that was killed are taken over by another one.

The SQL lives in :class:`OutboxSQL`, mixed into both backends (bot/store/base.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MAX_REFERENCE_LENGTH = 2000
_REFERENCE = re.compile(r"[A-Za-z0-9_.:+\-/=;~]*")
_COLUMNS = (
    "chat_id", "urgent", "route", "reply_key", "part", "parts", "message", "buttons",
    "created_at", "not_before", "attempts", "doubtful",
)


def check_reference(name: str, value: str) -> str:
    """``value`` if it is a reference (codes and separators only), else ValueError."""
    if (not isinstance(value, str) or len(value) > MAX_REFERENCE_LENGTH
            or not _REFERENCE.fullmatch(value)):
        raise ValueError(f"outbox {name} must be a content reference, never free text")
    return value


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One message waiting to be sent. Times are microseconds since the epoch."""

    chat_id: int
    urgent: bool
    route: str  # the reply's route ("overdose", "answer", ...)
    reply_key: str  # the same for every message of one reply
    part: int  # 0-based step within the reply
    parts: int  # how many messages the reply has
    message: str  # a content reference (never text)
    buttons: str  # the keyboard under this message, as references ("" for none)
    created_at: int
    not_before: int  # do not try before this time
    attempts: int = 0
    doubtful: bool = False  # an attempt of this reply may have arrived (timed out reading)
    id: int = 0  # assigned by the store

    def __post_init__(self) -> None:
        for name in ("route", "reply_key", "message", "buttons"):
            check_reference(name, getattr(self, name))

    def values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _COLUMNS)


def _row(values: Sequence[Any]) -> OutboxRow:
    (rid, chat_id, urgent, route, reply_key, part, parts, message, buttons, created_at,
     not_before, attempts, doubtful) = values
    return OutboxRow(int(chat_id), bool(urgent), route, reply_key, int(part), int(parts),
                     message, buttons, int(created_at), int(not_before), int(attempts),
                     bool(doubtful), int(rid))


_SELECT = f"SELECT id, {', '.join(_COLUMNS)} FROM outbox"
_ORDER = " ORDER BY urgent DESC, id ASC"


class OutboxSQL:
    """The outbox operations, shared by the SQLite and PostgreSQL backends."""

    def _sql(self, text: str) -> str:  # provided by Backend
        raise NotImplementedError

    def _read(self, action: str, fn: Any) -> Any:  # provided by Backend
        raise NotImplementedError

    def _write(self, action: str, fn: Any) -> Any:  # provided by Backend
        raise NotImplementedError

    def outbox_add(self, rows: Sequence[OutboxRow]) -> list[int]:
        marks = ", ".join("?" for _ in _COLUMNS)
        sql = self._sql(
            f"INSERT INTO outbox ({', '.join(_COLUMNS)}) VALUES ({marks}) RETURNING id"
        )

        def insert(cursor: Any) -> list[int]:
            ids = []
            for row in rows:
                cursor.execute(sql, row.values())
                ids.append(int(cursor.fetchone()[0]))
            return ids

        return self._write("queue a reply in", insert) if rows else []

    def outbox_rows(self, chat_id: int) -> list[OutboxRow]:
        sql = self._sql(f"{_SELECT} WHERE chat_id = ?{_ORDER}")

        def read(cursor: Any) -> list[Any]:
            cursor.execute(sql, (chat_id,))
            return cursor.fetchall()

        return [_row(r) for r in self._read("read the outbox of", read)]

    def outbox_chats(self, owner: str, now: int) -> list[tuple[int, bool]]:
        """Chats with rows whose lease is free, expired or ``owner``'s (urgent ones first)."""
        sql = self._sql(
            "SELECT o.chat_id, MAX(CASE WHEN o.urgent THEN 1 ELSE 0 END) FROM outbox o "
            "LEFT JOIN outbox_leases l ON l.chat_id = o.chat_id "
            "WHERE l.chat_id IS NULL OR l.owner = ? OR l.expires_at < ? "
            "GROUP BY o.chat_id ORDER BY 2 DESC, MIN(o.id)"
        )

        def read(cursor: Any) -> list[Any]:
            cursor.execute(sql, (owner, now))
            return cursor.fetchall()

        return [(int(c), bool(u)) for c, u in self._read("read the outbox of", read)]

    def outbox_lease(self, chat_id: int, owner: str, now: int, until: int) -> bool:
        """Claim or renew the lease on a chat's rows; False if another live owner holds it."""
        sql = self._sql(
            "INSERT INTO outbox_leases (chat_id, owner, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (chat_id) DO UPDATE SET owner = excluded.owner, "
            "expires_at = excluded.expires_at "
            "WHERE outbox_leases.owner = excluded.owner OR outbox_leases.expires_at < ?"
        )

        def claim(cursor: Any) -> bool:
            cursor.execute(sql, (chat_id, owner, until, now))
            return bool(cursor.rowcount == 1)

        return bool(self._write("lease a chat's outbox in", claim))

    def outbox_release(self, owner: str, chat_id: int | None = None) -> None:
        sql = "DELETE FROM outbox_leases WHERE owner = ?"
        args: tuple[Any, ...] = (owner,)
        if chat_id is not None:
            sql, args = sql + " AND chat_id = ?", (owner, chat_id)
        sql = self._sql(sql)
        self._write("release a chat's outbox in", lambda cursor: cursor.execute(sql, args))

    def outbox_clear_leases(self) -> None:
        """Forget every lease (SQLite at start-up: only this process uses the file)."""
        self._write("clear the outbox leases of",
                    lambda cursor: cursor.execute("DELETE FROM outbox_leases"))

    def outbox_done(self, ids: Sequence[int]) -> None:
        sql = self._sql("DELETE FROM outbox WHERE id = ?")

        def delete(cursor: Any) -> None:
            for rid in ids:
                cursor.execute(sql, (rid,))

        if ids:
            self._write("remove a sent message from", delete)

    def outbox_retry(self, rid: int, attempts: int, not_before: int) -> None:
        sql = self._sql("UPDATE outbox SET attempts = ?, not_before = ? WHERE id = ?")
        self._write("reschedule a message in",
                    lambda cursor: cursor.execute(sql, (attempts, not_before, rid)))

    def outbox_doubt(self, reply_key: str) -> None:
        """Mark every message left of a reply: one of its attempts may have arrived."""
        sql = self._sql(
            f"UPDATE outbox SET doubtful = {self._true()} WHERE reply_key = ?")
        self._write("mark a reply in", lambda cursor: cursor.execute(sql, (reply_key,)))

    def outbox_drop_chat(self, chat_id: int) -> int:
        sql = self._sql("DELETE FROM outbox WHERE chat_id = ?")

        def delete(cursor: Any) -> int:
            cursor.execute(sql, (chat_id,))
            return max(int(cursor.rowcount), 0)

        return int(self._write("drop a chat's messages from", delete))

    def outbox_size(self) -> int:
        def read(cursor: Any) -> int:
            cursor.execute("SELECT COUNT(*) FROM outbox")
            return int(cursor.fetchone()[0])

        return int(self._read("count the outbox of", read))

    def _true(self) -> str:
        return "TRUE"
