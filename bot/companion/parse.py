"""Dates, times of day and time zones as people type them, in the bot's nine languages.

Every function returns None for what it cannot read (the conversation then asks again with an
example); none of them raises on any input. Nothing here is stored: only the parsed value is.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import cache
from zoneinfo import available_timezones

from bot.companion.settings import valid_zone

# Month name stems (casefolded, accents kept), January first, per language.
MONTHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "en": (("jan",), ("feb",), ("mar",), ("apr",), ("may",), ("jun",), ("jul",), ("aug",),
           ("sep",), ("oct",), ("nov",), ("dec",)),
    "es": (("ene",), ("feb",), ("mar",), ("abr",), ("may",), ("jun",), ("jul",), ("ago",),
           ("sep", "set"), ("oct",), ("nov",), ("dic",)),
    "pt": (("jan",), ("fev",), ("mar",), ("abr",), ("mai",), ("jun",), ("jul",), ("ago",),
           ("set",), ("out",), ("nov",), ("dez",)),
    "fr": (("janv",), ("févr", "fevr"), ("mars",), ("avr",), ("mai",), ("juin",),
           ("juil",), ("août", "aout"), ("sept",), ("oct",), ("nov",), ("déc", "dec")),
    "de": (("jan",), ("feb",), ("märz", "marz", "mär"), ("apr",), ("mai",), ("jun",),
           ("jul",), ("aug",), ("sep",), ("okt",), ("nov",), ("dez",)),
    "it": (("genn",), ("febb",), ("marz",), ("apr",), ("magg",), ("giu",), ("lug",),
           ("ago",), ("sett",), ("ott",), ("nov",), ("dic",)),
    "pl": (("stycz", "styc"), ("lut",), ("marz", "marc"), ("kwie", "kwiet"), ("maj",),
           ("czerw",), ("lip",), ("sierp",), ("wrze",), ("paźdz", "pazdz", "paź"),
           ("listop", "list"), ("grud",)),
    "ru": (("янв",), ("фев",), ("мар",), ("апр",), ("ма",), ("июн",), ("июл",), ("авг",),
           ("сен",), ("окт",), ("ноя",), ("дек",)),
    "uk": (("січ",), ("лют",), ("берез",), ("квіт",), ("трав",), ("черв",), ("лип",),
           ("серп",), ("верес",), ("жовт",), ("листоп",), ("груд",)),
}
TODAY_WORDS = ("today", "hoy", "hoje", "aujourd", "heute", "oggi", "dzisiaj", "dziś", "dzis",
               "сегодня", "сьогодні")
YESTERDAY_WORDS = ("yesterday", "ayer", "ontem", "hier", "gestern", "ieri", "wczoraj",
                   "вчера", "вчора")
DAY_WORDS = ("day", "days", "día", "dia", "días", "dias", "jour", "jours", "tag", "tage",
             "tagen", "giorno", "giorni", "dzień", "dzien", "dni", "день", "дня", "дней",
             "днів", "дні", "доба")
MONTH_FIRST_COUNTRIES = frozenset({"US", "PH"})  # "3/4" is March 4 there
_WORD = re.compile(r"[^\W\d_]+|\d+")
_TIME = re.compile(r"(?<!\d)(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.|h)?(?!\d)")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _month_of(word: str) -> int | None:
    if len(word) < 3 and word != "ма":
        return None
    for stems in MONTHS.values():
        for number, options in enumerate(stems, 1):
            if any(word.startswith(stem) for stem in options):
                if options == ("ма",) and not word.startswith(("мая", "май", "маю")):
                    continue  # Russian May only ("март" is March)
                return number
    return None


def _year(value: int, today: dt.date) -> int:
    return value + 2000 if value < 100 else value


def _date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _past(day: dt.date | None, today: dt.date, year_given: bool) -> dt.date | None:
    """A date without a year is the last one that is not in the future."""
    if day is None:
        return None
    if not year_given and day > today:
        day = _date(day.year - 1, day.month, day.day)
    return day


def parse_date(text: str, today: dt.date, country: str | None = None) -> dt.date | None:
    """"2026-03-03", "3/3", "3.3.2026", "March 3", "3 de marzo", "day 12", "12 days",
    "yesterday" -> the date (possibly in the future: the caller refuses it)."""
    t = _fold(text)
    words = _WORD.findall(t)
    if m := re.search(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)", t):
        return _date(int(m[1]), int(m[2]), int(m[3]))
    if m := re.search(r"(?<!\d)(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2,4}))?(?!\d)", t):
        a, b = int(m[1]), int(m[2])
        month_first = (country or "").upper() in MONTH_FIRST_COUNTRIES
        if month_first and a <= 12:
            mo, d = a, b
        elif a > 12 >= b:
            mo, d = b, a
        elif b > 12 >= a:
            mo, d = a, b
        else:
            mo, d = (a, b) if month_first else (b, a)
        year = _year(int(m[3]), today) if m[3] else today.year
        return _past(_date(year, mo, d), today, bool(m[3]))
    numbers = [int(w) for w in words if w.isdigit()]
    month = next((n for w in words if not w.isdigit() and (n := _month_of(w))), None)
    if month is not None:
        days = [n for n in numbers if 1 <= n <= 31]
        years = [n for n in numbers if n >= 1900]
        if days:
            year = years[0] if years else today.year
            return _past(_date(year, month, days[0]), today, bool(years))
        return None
    if len(numbers) == 1 and any(w in DAY_WORDS for w in words) and numbers[0] <= 36_500:
        return today - dt.timedelta(days=numbers[0])
    if any(w.startswith(TODAY_WORDS) for w in words):
        return today
    if any(w.startswith(YESTERDAY_WORDS) for w in words):
        return today - dt.timedelta(days=1)
    return None


def parse_time(text: str) -> int | None:
    """"9", "9:30", "21.00", "9pm", "9 a.m.", "21h" -> minutes after midnight."""
    m = _TIME.search(_fold(text))
    if m is None:
        return None
    hour, minute = int(m[1]), int(m[2] or 0)
    suffix = (m[3] or "").replace(".", "")
    if suffix in ("am", "pm"):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return hour * 60 + minute


# Offsets that are not whole hours, as a zone that has them all year.
_HALF_HOURS = {(5, 30): "Asia/Kolkata", (9, 30): "Australia/Darwin", (5, 45): "Asia/Kathmandu",
               (-3, 30): "America/St_Johns", (3, 30): "Asia/Tehran", (6, 30): "Asia/Yangon"}


@cache
def _cities() -> dict[str, str]:
    found: dict[str, str] = {}
    for name in sorted(available_timezones()):
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/")):
            found.setdefault(name.rsplit("/", 1)[1].replace("_", " ").casefold(), name)
    return found


def parse_zone(text: str) -> str | None:
    """"+2", "UTC-5", "GMT+5:30", "Europe/Paris", "paris", "new york" -> an IANA zone name."""
    t = _fold(text).strip()
    m = re.fullmatch(r"(?:utc|gmt)?\s*([+\-−])\s*(\d{1,2})(?:[:.]?(\d{2}))?", t)
    if m:
        sign = -1 if m[1] in "-−" else 1
        hours, minutes = int(m[2]), int(m[3] or 0)
        if minutes:
            return _HALF_HOURS.get((sign * hours, minutes))
        if hours > 14:
            return None
        if hours == 0:
            return "Etc/UTC"
        return f"Etc/GMT{'-' if sign > 0 else '+'}{hours}"  # POSIX signs are reversed
    if t in ("utc", "gmt"):
        return "Etc/UTC"
    if "/" in text.strip() and valid_zone(text.strip()):
        return text.strip()
    return _cities().get(t.replace("_", " "))
