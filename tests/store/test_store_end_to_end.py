"""The store under the real Telegram application and the fake Bot API: a country chosen
before a restart is used after it; a failed save is reported, never silent; replicas
sharing PostgreSQL see each other's choices."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import STATE_FILE, StoreError, UserState, open_store
from bot.telegram.app import build_application, serve
from bot.telegram.persistence import StorePersistence, forget_user, save_user
from tests.support.fake_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456789:AAHfakeTOKENfakeTOKENfakeTOKENfake12"
CHAT = 2001
OVERDOSE_TEXT = "my boyfriend is turning blue"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as server:
        yield server


@contextlib.asynccontextmanager
async def running(
    api: FakeBotApi, core, state_dir: Path, database_url: str | None = None
) -> AsyncIterator[object]:
    """build_application + serve, as ``recovery-bot run`` does, until the block ends."""
    application = build_application(core, TOKEN, api.base_url, state_dir, database_url=database_url)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(application, stop, poll_timeout=5, ready=ready.set))
    started = asyncio.create_task(ready.wait())
    await asyncio.wait({task, started}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
    if not ready.is_set():
        started.cancel()
        await task
        raise AssertionError("the bot did not start")
    try:
        yield application
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


async def stored(state_dir: Path, database_url: str | None = None) -> dict[int, UserState]:
    store = open_store(state_dir, database_url)
    try:
        return await store.all_users()
    finally:
        await store.close()


async def wait_stored(state_dir: Path, user_id: int, country: str, url: str | None = None):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        state = (await stored(state_dir, url)).get(user_id)
        if state is not None and state.country == country:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{country} was never stored for the user")


async def choose(api: FakeBotApi, code: str, chat_id: int = CHAT) -> None:
    """/country, then press the country's button; wait for the confirmation."""
    before = len(api.sent_to(chat_id))
    api.command(chat_id, "/country")
    await api.wait_for_sent(chat_id, before + 1)
    await settle(api, chat_id)
    before = len(api.sent_to(chat_id))
    api.press(chat_id, f"country:{code}")
    await api.wait_for_sent(chat_id, before + 1)
    await settle(api, chat_id)


async def settle(api: FakeBotApi, chat_id: int, quiet: float = 0.3) -> None:
    """Wait until nothing more was sent to the chat for ``quiet`` seconds."""
    count = -1
    while count != len(api.sent_to(chat_id)):
        count = len(api.sent_to(chat_id))
        await asyncio.sleep(quiet)


async def emergency_reply(api: FakeBotApi, chat_id: int = CHAT) -> str:
    before = len(api.sent_to(chat_id))
    api.text(chat_id, OVERDOSE_TEXT)
    first = (await api.wait_for_sent(chat_id, before + 1))[before].text
    await settle(api, chat_id)
    return first


async def poke(api: FakeBotApi, chat_id: int = CHAT) -> None:
    """Any update from the user (here /help), so the replica re-reads their row."""
    before = len(api.sent_to(chat_id))
    api.command(chat_id, "/help")
    await api.wait_for_sent(chat_id, before + 1)
    await settle(api, chat_id)


def emergency_for(core, country: str | None) -> str:
    """The first message the bot sends about an overdose for a user of ``country``."""
    first = core.handle(OVERDOSE_TEXT, country).messages[0]
    if country is not None:
        assert first != core.handle(OVERDOSE_TEXT, None).messages[0]
    return first


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_the_country_is_kept_across_a_restart(api, core, tmp_path, kind, request):
    url = request.getfixturevalue("pg_url") if kind == "postgresql" else None
    state_dir = tmp_path / "state"
    async with running(api, core, state_dir, url):
        await choose(api, "GB")
        await wait_stored(state_dir, CHAT, "GB", url)
    assert await stored(state_dir, url) == {CHAT: UserState(country="GB")}
    if url is None:
        assert sorted(p.name for p in state_dir.iterdir()) == [STATE_FILE]
    async with running(api, core, state_dir, url):
        assert await emergency_reply(api) == emergency_for(core, "GB")


async def test_recovery_bot_run_keeps_the_country_across_a_restart(api, core, tmp_path):
    """The real command, twice, on one SQLite state folder."""
    state_dir = tmp_path / "state"
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": api.base_url,
        "RECOVERY_BOT_STATE_DIR": str(state_dir),
    }
    for name in ("TELEGRAM_WEBHOOK_SECRET", "RECOVERY_BOT_DATABASE_URL"):
        env.pop(name, None)

    async def bot_process() -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        calls = len(api.calls_of("getUpdates"))
        await api.wait_for_calls("getUpdates", calls + 1, timeout=30)
        return process

    async def stop(process: asyncio.subprocess.Process) -> str:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, stderr.decode()
        return (stdout + stderr).decode()

    process = await bot_process()
    try:
        await choose(api, "GB")
        await wait_stored(state_dir, CHAT, "GB")
        output = await stop(process)
        process = await bot_process()
        assert await emergency_reply(api) == emergency_for(core, "GB")
        output += await stop(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert OVERDOSE_TEXT not in output
    assert TOKEN.split(":")[1] not in output
    assert (await stored(state_dir)) == {CHAT: UserState(country="GB")}


class FailingWrites:
    """Wraps a store so that every write fails as a full disk would."""

    def __init__(self, store) -> None:
        self.store = store
        self.shared = store.shared

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    async def put(self, user_id: int, state: UserState) -> None:
        raise StoreError(f"cannot save a user's state to the {self.store.location}: disk full")

    async def delete(self, user_id: int) -> None:
        raise StoreError(f"cannot delete a user's state from {self.store.location}: disk full")


async def test_a_failed_save_is_reported_and_the_choice_used_for_this_run(
    api, core, tmp_path, caplog
):
    state_dir = tmp_path / "state"
    async with running(api, core, state_dir) as application:
        persistence = application.persistence
        assert isinstance(persistence, StorePersistence)
        persistence._store = FailingWrites(persistence._store)
        before = len(api.sent_to(CHAT))
        await choose(api, "GB")
        await settle(api, CHAT)
        # the handler's save failed: logged in one line, nothing stored, and the user is told
        # honestly before the confirmation
        assert any("Could not save a user's choices" in r.getMessage() for r in caplog.records)
        told = [m.text for m in api.sent_to(CHAT)[before:]]
        assert any(t == core.message("save_failed", "GB").messages[0] for t in told), told
        # ... and save_user, the call a handler makes, raises it
        with pytest.raises(StoreError, match="disk full"):
            await save_user(application, CHAT)
        # the choice is still used in this run, emergencies are still answered
        assert application.user_data[CHAT]["country"] == "GB"
        assert await emergency_reply(api) == emergency_for(core, "GB")
        with pytest.raises(StoreError, match="disk full"):
            await forget_user(application, CHAT)
        assert CHAT not in application.user_data
        persistence._store = persistence._store.store  # the disk has space again
        await choose(api, "AU")
        await save_user(application, CHAT)
    assert await stored(state_dir) == {CHAT: UserState(country="AU")}


async def test_replicas_sharing_postgresql_see_each_others_choices(core, tmp_path, pg_url):
    """Two replicas, each fed by its own fake Bot API: a country chosen through one is used
    by the other on the user's next message; a /forget through one is seen by the other."""
    async with (
        FakeBotApi(TOKEN) as api_a,
        FakeBotApi(TOKEN) as api_b,
        running(api_a, core, tmp_path / "a", pg_url) as replica_a,
        running(api_b, core, tmp_path / "b", pg_url) as replica_b,
    ):
        await poke(api_b)
        assert "country" not in replica_b.user_data.get(CHAT, {})  # no country yet
        await choose(api_a, "GB")
        await wait_stored(tmp_path / "a", CHAT, "GB", pg_url)
        assert await emergency_reply(api_b) == emergency_for(core, "GB")
        await choose(api_a, "AU")
        await wait_stored(tmp_path / "a", CHAT, "AU", pg_url)
        await poke(api_b)
        assert replica_b.user_data[CHAT]["country"] == "AU"
        await forget_user(replica_a, CHAT)
        await poke(api_b)
        assert "country" not in replica_b.user_data.get(CHAT, {})
