"""The companion's stored data on SQLite and PostgreSQL: typed columns, check-in scores
(numbers only), erasing a user erases their scores, the 90-day deletion."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.companion.settings import Companion
from bot.store import UserState

DAY = dt.date(2026, 3, 3).toordinal()


async def test_companion_settings_round_trip(backend):
    store = backend.open()
    companion = Companion(dt.date(2026, 3, 1), 540, "America/Argentina/Buenos_Aires", 1260,
                          480, "methadone", 1_780_000_000)
    state = UserState(country="AR", **companion.to_fields())
    await store.put(7, state)
    await store.close()
    again = backend.open()
    stored = await again.get(7)
    assert stored == state
    assert Companion.from_fields(stored) == companion
    assert (await again.all_users())[7] == state


async def test_free_text_is_refused_in_every_column():
    with pytest.raises(ValueError, match="never free text"):
        UserState(reminder_name="take my suboxone at 9")


async def test_checkins_are_kept_read_and_erased_with_the_user(backend):
    store = backend.open()
    await store.put(1, UserState(checkin_at=1260))
    await store.put_checkin(1, DAY, 3, None)
    await store.put_checkin(1, DAY, 4, 1)  # the same day again: the newer answer
    await store.put_checkin(1, DAY + 1, 1, 4)
    await store.put_checkin(2, DAY, 5, 0)
    assert await store.checkins(1) == [(DAY, 4, 1), (DAY + 1, 1, 4)]
    assert await store.checkins(1, since_day=DAY + 1) == [(DAY + 1, 1, 4)]
    with pytest.raises(ValueError):
        await store.put_checkin(1, DAY, 6, 0)
    await store.delete(1)  # /forget: the row and every score
    assert await store.checkins(1) == []
    assert await store.checkins(2) == [(DAY, 5, 0)]
    assert backend.sql("SELECT COUNT(*) FROM checkins WHERE user_id = 1") == [(0,)]


async def test_scores_older_than_90_days_are_deleted(backend):
    store = backend.open()
    for back in (0, 89, 90, 91, 400):
        await store.put_checkin(3, DAY - back, 3, 2)
    removed = await store.delete_checkins_before(DAY - 90)
    assert removed == 2
    assert [d for d, _, _ in await store.checkins(3)] == [DAY - 90, DAY - 89, DAY]
