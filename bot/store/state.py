"""What is kept per user: :class:`UserState`, plain typed fields, never free text.

Check-in scores (numbers only) are rows of their own table, ``checkins`` (see base.py).

Every field is one column of the ``users`` table (same name). To keep something new, add a
field here and a numbered migration adding its column (``bot/store/migrations.py``); the
SQL of both backends and the PTB persistence follow the fields, nothing else changes.

Text fields hold short codes only (an ISO country code such as ``GB``, a language tag such
as ``pt-BR``): a value with a space or longer than :data:`MAX_CODE_LENGTH` is refused, so a
message a user wrote can never end up in the state store by mistake.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

MAX_CODE_LENGTH = 35  # the longest BCP 47 language tag in common use fits
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:+/-]*")  # "/": time zones ("Europe/Paris")


@dataclass(frozen=True, slots=True)
class UserState:
    """One user's kept choices. ``None`` means "not chosen"; a state with every field
    ``None`` is :attr:`empty` and is never stored (the user's row is deleted instead)."""

    country: str | None = None
    language: str | None = None
    # the opt-in companion (bot/companion): an ISO date, minutes after local midnight, an IANA
    # time zone, the reminder's name only if the user chose one, a snoozed reminder's due time
    clean_date: str | None = None
    milestone_at: int | None = None
    time_zone: str | None = None
    checkin_at: int | None = None
    reminder_at: int | None = None
    reminder_name: str | None = None
    snooze_until: int | None = None  # seconds since the epoch

    def __post_init__(self) -> None:
        for name, kind in field_types().items():
            check_value(name, kind, getattr(self, name))

    @property
    def empty(self) -> bool:
        return all(getattr(self, name) is None for name in field_types())

    def as_dict(self) -> dict[str, Any]:
        """The chosen fields only (``None`` left out): the user's PTB ``user_data``."""
        return {
            name: getattr(self, name) for name in field_types() if getattr(self, name) is not None
        }

    @classmethod
    def from_mapping(cls, data: Mapping[Any, Any]) -> UserState:
        """The fields found in ``data`` (a user's ``user_data``); other keys are ignored."""
        return cls(**{name: data.get(name) for name in field_types()})

    def values(self) -> tuple[Any, ...]:
        """The field values in column order (:func:`columns`)."""
        return tuple(getattr(self, name) for name in field_types())


@cache
def field_types() -> dict[str, type]:
    """Field name -> its Python type (``str``, ``int`` or ``bool``; every field is optional)."""
    hints = typing.get_type_hints(UserState)
    kinds: dict[str, type] = {}
    for item in dataclasses.fields(UserState):
        hint = hints[item.name]
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if (
            not isinstance(hint, types.UnionType)
            or len(args) != 1
            or args[0]
            not in (
                str,
                int,
                bool,
            )
        ):
            raise TypeError(
                f"UserState.{item.name} must be 'str | None', 'int | None' or 'bool | None'"
            )
        kinds[item.name] = args[0]
    return kinds


def columns() -> tuple[str, ...]:
    """The ``users`` columns besides ``user_id``: the field names, in order."""
    return tuple(field_types())


def check_value(name: str, kind: type, value: Any) -> None:
    if value is None:
        return
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise TypeError(f"{name} must be {kind.__name__} or None, not {type(value).__name__}")
    if kind is str and (len(value) > MAX_CODE_LENGTH or not _CODE.fullmatch(value)):
        raise ValueError(
            f"{name} must be a short code (letters, digits, '_.:+/-', at most "
            f"{MAX_CODE_LENGTH} characters), never free text"
        )


def from_row(values: tuple[Any, ...]) -> UserState:
    """A UserState from stored column values (booleans come back from SQLite as 0/1)."""
    kwargs: dict[str, Any] = {}
    for (name, kind), value in zip(field_types().items(), values, strict=True):
        if kind is bool and isinstance(value, int) and not isinstance(value, bool):
            value = bool(value) if value in (0, 1) else value
        kwargs[name] = value
    return UserState(**kwargs)
