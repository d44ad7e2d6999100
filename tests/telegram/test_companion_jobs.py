"""The companion's jobs in the real Application (PTB JobQueue) against the fake Bot API, on a
wall clock the test controls: rebuilt from the same SQLite state after a restart, never sent
twice, dropped for a user who blocked the bot, cancelled by /forget."""

from __future__ import annotations

import datetime as dt
import sqlite3

from conftest import send_and_wait

from bot.telegram.companion_jobs import job_name, jobs_of
from bot.telegram.persistence import STATE_FILE
from bot.telegram.shell import shell_of

CHAT = 4242
START = dt.datetime(2026, 3, 3, 6, 0, tzinfo=dt.UTC)
DUE = dt.datetime(2026, 3, 3, 8, 15, tzinfo=dt.UTC)


class Wall:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def use(application, wall: Wall) -> None:
    shell_of(application).wall = wall


async def set_reminder(api, application, wall: Wall) -> None:
    use(application, wall)
    await send_and_wait(api, CHAT, lambda: api.command(CHAT, "/country GB"), 2)
    await send_and_wait(api, CHAT, lambda: api.command(CHAT, "/reminder"), 1)
    await send_and_wait(api, CHAT, lambda: api.press(CHAT, "rm:name:my"), 1)
    await send_and_wait(api, CHAT, lambda: api.text(CHAT, "8:15"), 2)
    await send_and_wait(api, CHAT, lambda: api.press(CHAT, "tz:Europe/London"), 1)


def job_times(application) -> list[str]:
    return [j.name for j in application.job_queue.jobs()]


async def test_a_restart_rebuilds_the_jobs_and_never_sends_a_run_twice(api, runner, core):
    wall = Wall(START)
    async with runner.running() as application:
        await set_reminder(api, application, wall)
        assert job_name(CHAT) in job_times(application)  # a real JobQueue job
        assert jobs_of(application).due[CHAT] == DUE
        wall.now = DUE
        before = len(api.sent_to(CHAT))
        await jobs_of(application).tick()
        reminder = (await api.wait_for_sent(CHAT, before + 1))[-1]
        assert "Time for My medication" in reminder.text
        assert reminder.callback_data() == ["rm:taken", "rm:snooze", "rm:missed", "rm:stop"]
    rows = sqlite3.connect(runner.state_dir / STATE_FILE).execute(
        "SELECT reminder_at, time_zone, reminder_name FROM users").fetchall()
    assert rows == [(495, "Europe/London", None)]

    # a new Application on the same state, started 10 minutes after the reminder was sent
    wall.now = DUE + dt.timedelta(minutes=10)
    async with runner.running() as again:
        use(again, wall)
        jobs = jobs_of(again)
        # start-up ran before the test could set the clock: rebuild on this clock, as it would
        await jobs.rebuild()
        assert job_name(CHAT) in job_times(again)
        before = len(api.sent_to(CHAT))
        await jobs.fire(CHAT)  # looks back 2 hours: the 08:15 run was claimed already
        assert len(api.sent_to(CHAT)) == before
        assert jobs.due[CHAT] == DUE + dt.timedelta(days=1)
        wall.now = DUE + dt.timedelta(days=1)
        await jobs.tick()
        sent = await api.wait_for_sent(CHAT, before + 1)
        assert "Time for My medication" in sent[-1].text


async def test_a_user_who_blocked_the_bot_loses_jobs_and_data(api, runner):
    wall = Wall(START)
    async with runner.running() as application:
        await set_reminder(api, application, wall)
        wall.now = DUE
        api.fail_next("sendMessage", "403")
        await jobs_of(application).tick()
        assert CHAT not in jobs_of(application).due
        assert job_name(CHAT) not in job_times(application)
    rows = sqlite3.connect(runner.state_dir / STATE_FILE).execute(
        "SELECT COUNT(*) FROM users").fetchall()
    assert rows == [(0,)]


async def test_forget_cancels_every_job_and_erases_the_scores(api, runner):
    wall = Wall(START)
    async with runner.running() as application:
        await set_reminder(api, application, wall)
        await send_and_wait(api, CHAT, lambda: api.press(CHAT, "ci:m:2"), 1)
        await send_and_wait(api, CHAT, lambda: api.press(CHAT, "ci:c:2:1"), 1)
        await send_and_wait(api, CHAT, lambda: api.command(CHAT, "/forget"), 1)
        await send_and_wait(api, CHAT, lambda: api.press(CHAT, "forget:yes"), 1)
        assert job_name(CHAT) not in job_times(application)
        wall.now = DUE
        before = len(api.sent_to(CHAT))
        await jobs_of(application).tick()
        for job in application.job_queue.jobs():
            assert job.name != job_name(CHAT)
        assert len(api.sent_to(CHAT)) == before
    db = sqlite3.connect(runner.state_dir / STATE_FILE)
    assert db.execute("SELECT COUNT(*) FROM users").fetchall() == [(0,)]
    assert db.execute("SELECT COUNT(*) FROM checkins").fetchall() == [(0,)]
