"""Two webhook replicas sharing PostgreSQL, one killed (SIGKILL) mid-burst: the test plays
Telegram, re-delivering every update whose POST failed or was not answered 2xx to the other
replica; every update gets its full reply. A job slot claimed by both replicas runs once."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.telegram.app import build_application, serve
from bot.telegram.jobs import run_once_across_replicas
from tests.store.store_support import pg_base_url
from tests.support.bot_process import free_port, log_of, start_webhook_bot, stop, wait_healthy
from tests.support.fake_bot_api import FakeBotApi

TOKEN = "123456789:AAHfakeTOKENfakeTOKENfakeTOKENfake12"
SECRET = "Qm4Rt8Wx2Kp6Zn0Lb5Vc9Hj3Ds7Fy1Ga"
HEADERS = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
OVERDOSE = "my boyfriend is turning blue and wont wake up"
# Messages whose replies do not depend on what came before (no follow-ups), so the expected
# words are known whichever replica answers.
FIRST, SECOND, THIRD = ("how long does withdrawal last", "can i mix xanax and heroin",
                        "how do i help my son who uses")
CHATS = range(6001, 6021)  # 20 chats, 3 messages each: 60 updates
KILL_AFTER = 20  # acknowledged updates before replica A is killed
OUTBOX_TAKEOVER_WAIT = 90.0  # seconds: lease expiry (30 s) plus the scan, with room
MAX_ATTEMPTS = 20


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as server:
        yield server


async def until(predicate: Any, timeout: float = 60) -> None:
    async def wait() -> None:
        while not predicate():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(wait(), timeout)


def messages_of(chat: int) -> list[str]:
    return [FIRST, SECOND, OVERDOSE if chat % 2 == 0 else THIRD]


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A postgresql:// URL (what RECOVERY_BOT_DATABASE_URL takes) on a schema of its own."""
    import psycopg

    base = pg_base_url()
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@dataclass
class Telegram:
    """Delivers updates to the replicas round-robin, like Telegram behind a load balancer:
    an update whose POST fails or is not answered 2xx goes to the other replica."""

    urls: list[str]
    client: httpx.AsyncClient
    acknowledged: int = 0
    redelivered: list[int] = field(default_factory=list)  # update ids sent more than once
    failures: dict[str, int] = field(default_factory=dict)  # why a POST failed
    _turn: Iterator[int] = field(default_factory=lambda: itertools.cycle((0, 1)))
    acked: asyncio.Event = field(default_factory=asyncio.Event)

    async def deliver(self, update: dict[str, Any]) -> None:
        index = next(self._turn)
        for attempt in range(MAX_ATTEMPTS):
            url = self.urls[(index + attempt) % len(self.urls)]
            try:
                response = await self.client.post(url, json=update, headers=HEADERS)
                if response.status_code == 200:
                    self.acknowledged += 1
                    self.acked.set()
                    return
                reason = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            self.failures[reason] = self.failures.get(reason, 0) + 1
            if update["update_id"] not in self.redelivered:
                self.redelivered.append(update["update_id"])
            await asyncio.sleep(0.05 * attempt)
        raise AssertionError(f"update {update['update_id']} was never acknowledged")


def contains_in_order(sent: list[str], expected: list[str]) -> bool:
    remaining = iter(sent)
    return all(any(text == want for text in remaining) for want in expected)


async def test_a_replica_killed_mid_burst_loses_no_reply(api, core, tmp_path, pg_schema_url):
    ports = [free_port(), free_port()]
    replicas = [
        await start_webhook_bot(token=TOKEN, base_url=api.base_url, secret=SECRET,
                                state_dir=tmp_path / f"state-{name}", port=port,
                                database_url=pg_schema_url)
        for name, port in zip("ab", ports, strict=True)
    ]
    try:
        for process, port in zip(replicas, ports, strict=True):
            await wait_healthy(process, port)
        urls = [f"http://127.0.0.1:{port}/hook" for port in ports]
        async with httpx.AsyncClient(timeout=httpx.Timeout(60, connect=5)) as client:
            telegram = Telegram(urls, client)
            sent_ids: dict[int, list[int]] = {}

            async def chat_session(chat: int) -> None:
                # Telegram sends a chat's updates one after another
                for text in messages_of(chat):
                    update = api.take_update(api.text(chat, text))
                    sent_ids.setdefault(chat, []).append(update["update_id"])
                    await telegram.deliver(update)

            async def killer() -> None:
                while telegram.acknowledged < KILL_AFTER:
                    telegram.acked.clear()
                    await telegram.acked.wait()
                replicas[0].kill()  # SIGKILL: no goodbye, in-flight requests just break

            kill = asyncio.create_task(killer())
            await asyncio.wait_for(asyncio.gather(*(chat_session(c) for c in CHATS)), 300)
            await kill
        await replicas[0].wait()
        assert replicas[0].returncode == -9
        expected_of = {chat: [m for text in messages_of(chat)
                              for m in core.handle(text, None).messages] for chat in CHATS}

        def all_arrived(fake: object) -> bool:
            return all(contains_in_order([c.text for c in api.sent_to(chat)], want)
                       for chat, want in expected_of.items())

        # an acknowledged update's reply is in the outbox; the killed replica's queued
        # messages are taken over by the other once its lease (30 s) has expired
        with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
            await api.wait_for(all_arrived, timeout=OUTBOX_TAKEOVER_WAIT)
        # every update got its full reply in its chat. Order is not guaranteed across a
        # kill: the dead replica's queued messages wait for its lease (30 s) to expire, while
        # the other replica may already answer that chat's next update directly
        lost, out_of_order, duplicates, duplicated_chats = [], [], 0, []
        for chat in CHATS:
            expected = expected_of[chat]
            sent = [call.text for call in api.sent_to(chat)]
            if Counter(expected) - Counter(sent):
                lost.append(chat)
            elif not contains_in_order(sent, expected):
                out_of_order.append(chat)
            if len(sent) > len(expected):
                duplicates += len(sent) - len(expected)
                duplicated_chats.append(chat)
        redelivered_chats = {chat for chat, ids in sent_ids.items()
                             if set(ids) & set(telegram.redelivered)}
        print(f"replicas: {len(CHATS) * 3} updates, acknowledged {telegram.acknowledged}, "
              f"redelivered {len(telegram.redelivered)} ({telegram.failures}), "
              f"duplicate messages {duplicates} in {len(duplicated_chats)} chats, "
              f"out of order in {len(out_of_order)} chats, lost {len(lost)}")
        assert set(out_of_order) <= redelivered_chats, "only a chat touched by the kill"
        assert not lost, f"chats without their full replies: {lost}"
        assert telegram.acknowledged == len(CHATS) * 3
        assert telegram.redelivered, "the kill broke no request: it was not mid-burst"
        # duplicates only where an update had to be delivered again
        assert set(duplicated_chats) <= redelivered_chats
        assert duplicates <= 3 * len(telegram.redelivered)
        assert (await stop(replicas[1])) == 0, log_of(replicas[1])
    finally:
        for process in replicas:
            await stop(process, kill=True)


@contextlib.asynccontextmanager
async def replica(api: FakeBotApi, core, state_dir: Path, url: str) -> AsyncIterator[Any]:
    application = build_application(core, TOKEN, api.base_url, state_dir, database_url=url)
    fired = application.bot_data.setdefault("fired", [])

    async def job(context: Any, slot: datetime) -> None:
        fired.append(slot)

    run_once_across_replicas(application, "test-heartbeat", job, interval=0.2)
    stop_event, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(application, stop_event, poll_timeout=1, ready=ready.set))
    await asyncio.wait_for(ready.wait(), 30)
    try:
        yield application
    finally:
        stop_event.set()
        await asyncio.wait_for(task, 30)


async def test_a_job_slot_claimed_by_both_replicas_runs_once(core, tmp_path, pg_url, caplog):
    caplog.set_level(logging.DEBUG, logger="bot.telegram.jobs")
    async with (
        FakeBotApi(TOKEN) as api_a,
        FakeBotApi(TOKEN) as api_b,
        replica(api_b, core, tmp_path / "b", pg_url) as replica_b,
    ):
        fired_b = replica_b.bot_data["fired"]
        async with replica(api_a, core, tmp_path / "a", pg_url) as replica_a:
            fired_a = replica_a.bot_data["fired"]
            start = len(fired_b)
            await until(lambda: len(fired_a) + len(fired_b) - start >= 10)
        both = len(fired_a) + len(fired_b) - start
        # replica A stopped: B goes on with every slot
        runs_with_a = len(fired_b)
        await until(lambda: len(fired_b) >= runs_with_a + 5)
    lost_claims = [r for r in caplog.records if "claimed by another replica" in r.getMessage()]
    slots = [*fired_a, *fired_b]
    print(f"job slots: {len(fired_a)} run by A, {len(fired_b)} by B, {len(lost_claims)} "
          f"claims lost to the other replica, none run twice")
    assert len(slots) == len(set(slots)), "a slot ran twice"
    assert lost_claims, "the replicas never contended for a slot"
    assert both >= 10
