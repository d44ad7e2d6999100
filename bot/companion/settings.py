"""What a user turned on, as the conversation sees it (stored as plain columns of ``users``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

REMINDER_NAMES = ("methadone", "buprenorphine", "naltrexone")  # else "my medication"
STORED_FIELDS = ("clean_date", "milestone_at", "time_zone", "checkin_at", "reminder_at",
                 "reminder_name", "snooze_until")


@dataclass(frozen=True, slots=True)
class Companion:
    clean_date: dt.date | None = None
    milestone_at: int | None = None  # minutes after local midnight; None: no milestone messages
    time_zone: str | None = None  # IANA name; None: UTC until the user chooses
    checkin_at: int | None = None
    reminder_at: int | None = None
    reminder_name: str | None = None  # only if the user chose to name it
    snooze_until: int | None = None  # seconds since the epoch

    @property
    def active(self) -> bool:
        return any(v is not None for v in dataclasses.astuple(self))

    @property
    def zone(self) -> dt.tzinfo:
        return zone_of(self.time_zone)

    def to_fields(self) -> dict[str, Any]:
        """The store's columns (``bot.store.UserState`` fields of the same names)."""
        return {
            "clean_date": self.clean_date.isoformat() if self.clean_date else None,
            "milestone_at": self.milestone_at,
            "time_zone": self.time_zone,
            "checkin_at": self.checkin_at,
            "reminder_at": self.reminder_at,
            "reminder_name": self.reminder_name,
            "snooze_until": self.snooze_until,
        }

    @classmethod
    def from_fields(cls, data: Any) -> Companion:
        """From a mapping or an object with the store's fields; unreadable values are dropped
        (a damaged value never stops an emergency reply)."""
        get = data.get if isinstance(data, dict) else (lambda k: getattr(data, k, None))
        clean = get("clean_date")
        try:
            clean_date = dt.date.fromisoformat(clean) if isinstance(clean, str) else None
        except ValueError:
            clean_date = None
        tz = get("time_zone")
        tz = tz if isinstance(tz, str) and valid_zone(tz) else None
        name = get("reminder_name")

        def minutes(key: str) -> int | None:
            v = get(key)
            return v if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1440 else None

        snooze = get("snooze_until")
        return cls(clean_date, minutes("milestone_at"), tz, minutes("checkin_at"),
                   minutes("reminder_at"), name if name in REMINDER_NAMES else None,
                   snooze if isinstance(snooze, int) and not isinstance(snooze, bool) else None)


def valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_of(name: str | None) -> dt.tzinfo:
    if name and valid_zone(name):
        return ZoneInfo(name)
    return dt.UTC


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
