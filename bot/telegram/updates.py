"""Updates PTB cannot read are skipped, never fatal.

PTB 22 parses a whole ``getUpdates`` batch at once (``Update.de_list``); one update it cannot
parse (a poll from a Bot API server older than 9.6, whose options lack ``persistent_id``, or
plain junk) makes the batch raise, the offset never moves, and the Updater fetches the same
batch again and again: the bot stops answering everyone. Webhook mode answers 400, so Telegram
resends the same update.

Here each update is parsed on its own (:func:`read_update`). One that cannot be read is logged
by its update id and kind only (never its content), counted
(``recovery_bot_updates_skipped_total``) and confirmed:

- **polling**: :class:`TolerantUpdatesRequest` is the HTTP client of ``getUpdates`` (PTB's
  public ``get_updates_request`` extension point). It replaces an unreadable update in the
  batch by a bare ``{"update_id": N}`` (an empty Update, which no handler matches), so the
  Updater moves the offset past it and the good updates of the same batch are handled.
  Something without a usable update id is dropped; a batch with nothing usable pauses the
  poll for :data:`EMPTY_BATCH_PAUSE` seconds, so a broken server cannot make it spin.
- **webhook**: :mod:`bot.telegram.webhook` answers 200 for it (Telegram would resend it forever
  after a non-2xx answer).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from telegram import Bot, Update
from telegram.request import HTTPXRequest, RequestData

from bot import metrics
from bot.telegram.confirm import HELD_PAUSE, HandledOffsets

__all__ = ["EMPTY_BATCH_PAUSE", "TolerantUpdatesRequest", "read_update", "sanitize_batch"]

EMPTY_BATCH_PAUSE = 1.0  # seconds: a non-empty batch of which nothing could be used
_KNOWN_KINDS = frozenset(str(kind) for kind in Update.ALL_TYPES)

_log = logging.getLogger(__name__)


def update_kind(data: Any) -> str:
    """The update's kind (its content key) if it is one Telegram defines, else ``none``."""
    if isinstance(data, dict):
        for key in data:
            if key != "update_id" and key in _KNOWN_KINDS:
                return key
    return "none"


def _update_id(data: Any) -> int | None:
    value = data.get("update_id") if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _skip(data: Any, transport: str, exc: BaseException | None) -> None:
    kind = update_kind(data)
    _log.warning(
        "Skipped an update that could not be read: id %s, kind %s (%s)",
        _update_id(data), kind, type(exc).__name__ if exc is not None else "no update id",
    )
    metrics.update_skipped(kind, transport)


def read_update(data: Any, bot: Bot | None, transport: str) -> Update | None:
    """``data`` as an Update, or None (logged and counted) if PTB cannot read it."""
    if _update_id(data) is None:
        _skip(data, transport, None)
        return None
    try:
        update = Update.de_json(data, bot)
    except Exception as exc:  # whatever PTB raises on a malformed update, it is one update
        _skip(data, transport, exc)
        return None
    return update


def sanitize_batch(batch: list[Any]) -> list[dict[str, Any]]:
    """A getUpdates result in which every unreadable update is a bare ``{"update_id": N}``
    (so the offset moves past it) and anything without an update id is gone."""
    out: list[dict[str, Any]] = []
    for data in batch:
        update_id = _update_id(data)
        if read_update(data, None, "polling") is not None:
            out.append(data)
        elif update_id is not None:
            out.append({"update_id": update_id})
    return out


class _WithOffset(RequestData):
    """A getUpdates request with another offset (public RequestData API only)."""

    __slots__ = ("_base", "_offset")

    def __init__(self, base: RequestData, offset: int) -> None:
        super().__init__()
        self._base = base
        self._offset = offset

    @property
    def parameters(self) -> dict[str, Any]:
        return {**self._base.parameters, "offset": self._offset}

    @property
    def json_parameters(self) -> dict[str, str]:
        return {**self._base.json_parameters, "offset": str(self._offset)}


class TolerantUpdatesRequest(HTTPXRequest):
    """PTB's HTTPX client for ``getUpdates``, whose answers are sanitized (see the module
    docstring). Use it only as the ``get_updates_request``. With ``offsets``, an update is
    confirmed to Telegram only once handled (:mod:`bot.telegram.confirm`)."""

    def __init__(self, *args: Any, offsets: HandledOffsets | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offsets = offsets

    async def post(self, url: str, request_data: Any = None, *args: Any, **kwargs: Any) -> Any:
        held = self.offsets is not None and url.endswith("/getUpdates")
        if held and isinstance(request_data, RequestData):
            asked = request_data.parameters.get("offset")
            offset = self.offsets.offset(asked)  # type: ignore[union-attr]
            if isinstance(offset, int) and offset != asked:
                request_data = _WithOffset(request_data, offset)
        result = await super().post(url, request_data, *args, **kwargs)
        if not url.endswith("/getUpdates"):
            return result
        if not isinstance(result, list):
            _log.warning("getUpdates answered something other than a list; ignored")
            await asyncio.sleep(EMPTY_BATCH_PAUSE)
            return []
        if held:  # what comes back again was read (and any poison counted) the first time
            offsets = self.offsets
            assert offsets is not None
            again = [d for d in result if (i := _update_id(d)) is not None and offsets.seen(i)]
            if again and len(again) == len(result):  # only updates still being handled
                await asyncio.sleep(HELD_PAUSE)
                return []
            result = [d for d in result if not any(d is seen for seen in again)]
        clean = sanitize_batch(result)
        if result and not clean:
            await asyncio.sleep(EMPTY_BATCH_PAUSE)
        return self.offsets.fresh(clean) if held else clean  # type: ignore[union-attr]


def parse_body(body: bytes) -> Any:
    """A webhook body as JSON, or None if it is not JSON (an unreadable update)."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
