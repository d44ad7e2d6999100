"""The companion's pure parts with a fake clock: reading dates, times and zones in the bot's
languages, milestones, what is due when in the user's time zone, the lateness rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.companion import chart, meetings, parse, schedule
from bot.companion.settings import Companion
from bot.companion.triggers import feature_asked

TODAY = dt.date(2026, 12, 1)
UTC = dt.UTC


@pytest.mark.parametrize(("text", "country", "want"), [
    ("2026-03-03", None, dt.date(2026, 3, 3)),
    ("3/3", None, dt.date(2026, 3, 3)),
    ("4/3", "US", dt.date(2026, 4, 3)),
    ("4/3", "GB", dt.date(2026, 3, 4)),
    ("25/10", "US", dt.date(2026, 10, 25)),
    ("3.3.2025", "DE", dt.date(2025, 3, 3)),
    ("clean since March 3", None, dt.date(2026, 3, 3)),
    ("how many days clean am i if i stopped on march 3", None, dt.date(2026, 3, 3)),
    ("3rd of March 2024", None, dt.date(2024, 3, 3)),
    ("day 12 today", None, dt.date(2026, 11, 19)),
    ("12 days", None, dt.date(2026, 11, 19)),
    ("today", None, TODAY),
    ("yesterday", None, dt.date(2026, 11, 30)),
    ("3 de marzo", "ES", dt.date(2026, 3, 3)),        # es
    ("3 de março", "BR", dt.date(2026, 3, 3)),        # pt
    ("3 mars", "FR", dt.date(2026, 3, 3)),            # fr
    ("3. März", "DE", dt.date(2026, 3, 3)),           # de
    ("3 marzo", "IT", dt.date(2026, 3, 3)),           # it
    ("3 marca", "PL", dt.date(2026, 3, 3)),           # pl
    ("3 марта", None, dt.date(2026, 3, 3)),           # ru
    ("12 мая", None, dt.date(2026, 5, 12)),           # ru, May (not March)
    ("3 березня", "UA", dt.date(2026, 3, 3)),         # uk
    ("dzień 5", "PL", dt.date(2026, 11, 26)),
    ("24 december", None, dt.date(2025, 12, 24)),     # no year: the last one, not next
    ("31 february", None, None),
    ("hello", None, None),
    ("", None, None),
])
def test_dates_people_type(text, country, want):
    assert parse.parse_date(text, TODAY, country) == want


@pytest.mark.parametrize(("text", "want"), [
    ("9", 540), ("9:30", 570), ("21.00", 1260), ("9pm", 1260), ("9 a.m.", 540), ("21h", 1260),
    ("12am", 0), ("12pm", 720), ("25:00", None), ("13pm", None), ("soon", None),
])
def test_times_people_type(text, want):
    assert parse.parse_time(text) == want


@pytest.mark.parametrize(("text", "want"), [
    ("+2", "Etc/GMT-2"), ("UTC-5", "Etc/GMT+5"), ("gmt+5:30", "Asia/Kolkata"), ("utc", "Etc/UTC"),
    ("paris", "Europe/Paris"), ("New York", "America/New_York"), ("Europe/Berlin", "Europe/Berlin"),
    ("+15", None), ("atlantis", None),
])
def test_time_zones_people_type(text, want):
    assert parse.parse_zone(text) == want


def test_milestones_then_every_year():
    clean = dt.date(2024, 2, 29)
    found = schedule.milestone_dates(clean, clean, limit=12)
    assert [n for _, n in found][:9] == list(schedule.MILESTONE_DAYS)
    assert found[9][0] == dt.date(2026, 3, 1)  # no 29 February: the day after
    assert found[10][0] == dt.date(2027, 3, 1)


def test_a_milestone_is_due_at_the_chosen_time_in_the_users_zone_across_dst():
    # clean 2026-03-01; day 7 is 2026-03-08, the day US clocks change (New York: UTC-4 after)
    c = Companion(dt.date(2026, 3, 1), 9 * 60, "America/New_York")
    start = dt.datetime(2026, 3, 5, 0, 0, tzinfo=UTC)
    due = schedule.next_due(c, start)
    assert due == dt.datetime(2026, 3, 8, 13, 0, tzinfo=UTC)  # 09:00 EDT
    runs = schedule.runs_between(c, start, due)
    assert [(r.kind, r.days) for r in runs] == [("milestone", 7)]
    assert schedule.runs_between(c, start, due - dt.timedelta(seconds=1)) == []


def test_daily_runs_and_the_two_hour_rule():
    c = Companion(checkin_at=21 * 60, reminder_at=8 * 60, time_zone="Europe/London")
    since = dt.datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    at_eight = dt.datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    assert [r.kind for r in schedule.to_send(c, since, at_eight)] == ["reminder"]
    # looked at 2 hours late: still sent; 2 hours and 1 second: dropped, never sent
    assert schedule.to_send(c, since, at_eight + schedule.LATE_LIMIT)
    assert schedule.to_send(c, since, at_eight + schedule.LATE_LIMIT
                            + dt.timedelta(seconds=1)) == []
    # two days missed: only the latest of each kind, if not too late
    later = dt.datetime(2026, 3, 5, 21, 30, tzinfo=UTC)
    assert [(r.kind, r.due_at.day) for r in schedule.to_send(c, since, later)] == [
        ("checkin", 5)]


def test_a_snooze_is_due_thirty_minutes_later_and_nothing_when_all_is_off():
    now = dt.datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    c = Companion(reminder_at=8 * 60, snooze_until=int((now + schedule.SNOOZE).timestamp()))
    assert schedule.next_due(c, now) == now + schedule.SNOOZE
    assert schedule.next_due(Companion(), now) is None
    assert schedule.next_due(Companion(clean_date=dt.date(2026, 3, 1)), now) is None


def test_run_keys_are_per_user_and_kind():
    run = schedule.Run("reminder", dt.datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    assert run.key(5) == "companion:reminder:5" != run.key(6)


def test_sparkline_and_series():
    today = dt.date(2026, 3, 14)
    scores = [(today.toordinal(), 5, 0), (today.toordinal() - 2, 1, 4)]
    moods, cravings = chart.series(scores, today, 4)
    assert moods == [None, 1, None, 5] and cravings == [None, 4, None, 0]
    assert chart.sparkline(moods, 1, 5) == "·▁·█"


@pytest.mark.parametrize(("text", "feature"), [
    ("how many days clean am i if i stopped on march 3", "cleandate"),
    ("remind me to take my suboxone", "reminder"),
    ("can you check on me tomorrow", "checkin"),
    ("find an NA meeting near me", "meetings"),
    ("¿dónde hay una reunión de NA?", "meetings"),
    ("recuérdame tomar la metadona", "reminder"),
    ("wie lange bin ich clean", "cleandate"),
    ("what is methadone", None),
    ("my friend overdosed", None),
])
def test_messages_that_ask_for_a_feature(text, feature):
    assert feature_asked(text) == feature


def test_meeting_finders_come_only_from_the_reference():
    facts = Path("../shared/reference/clinical_facts.md")
    reference = facts.read_text(encoding="utf-8") if facts.exists() else None
    countries = ["US", "CA", "GB", "IE", "AU", "NZ", "IN", "DE", "AT", "CH", "FR", "ES", None]
    for cc in countries:
        for family in (False, True):
            links = meetings.finders(cc, family=family)
            keys = [k for k, _ in links]
            first = keys[0]
            assert first == "meet_nar_anon" if family else first in ("meet_na_local", "meet_na")
            for _, url in links:
                assert url.startswith(("https://", "http://"))
                if reference is not None:
                    host = url.split("//", 1)[1].split("/", 1)[0].removeprefix("www.")
                    assert host in reference, url
