"""Two replicas on one PostgreSQL database: a chat's outbox is sent by one at a time, and the
rows of a replica that died are taken over by another once its lease expires.

Real PostgreSQL (tests/support/postgres.sh), a real PTB Bot against the fake Bot API, the
real Outbox; the dead replica is a store that leased the chat and then stopped renewing.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from telegram import Bot

from bot.conversation import Conversation
from bot.core import Core
from bot.store import open_store
from bot.telegram.delivery import Delivery
from bot.telegram.outbox import MICRO, Outbox, OutboxPolicy
from bot.telegram.outbox_codec import ReplyCodec
from tests.support.fake_bot_api import FakeBotApi

TOKEN = "123456789:AAHreplicaTOKENreplicaTOKENreplica12"
CHAT = 7001
OVERDOSE_TEXT = "my friend took heroin and won't wake up"
LEASE = 1.0
POLICY = OutboxPolicy(first_delay=0.01, max_delay=0.05, urgent_max_delay=0.05, lease=LEASE,
                      scan=0.1, drain=0.5, send_wait=0.2)


@pytest.fixture(scope="module")
def core() -> Core:
    return Core.load()


async def test_a_dead_replicas_chat_is_taken_over_after_its_lease_and_sent_once(
    pg_url, tmp_path, core
):
    dead, alive = open_store(tmp_path / "a", pg_url), open_store(tmp_path / "b", pg_url)
    reply = core.handle(OVERDOSE_TEXT, None)
    codec = ReplyCodec(Conversation(core))
    async with FakeBotApi(TOKEN) as api:
        api.text(CHAT, "hello")  # the fake knows the chat once a user wrote in it
        bot = Bot(TOKEN, base_url=api.base_url)
        async with bot:
            # the first replica queues the reply and leases the chat, then dies (no renewal)
            queuing = Outbox(codec, Delivery(), POLICY)
            queuing.attach(dead, bot)  # not started: only its rows and its lease remain
            rows = queuing._rows(CHAT, [reply])
            assert rows is not None
            await dead.outbox_add(rows)
            now = time.time()
            assert await dead.outbox_lease(CHAT, int(now * MICRO), int((now + LEASE) * MICRO))
            expires = time.monotonic() + LEASE - (time.time() - now)

            outbox = Outbox(codec, Delivery(), POLICY)
            outbox.attach(alive, bot)
            await outbox.start()
            try:
                await api.wait_for_sent(CHAT, len(reply.messages))

                async def drained() -> None:
                    while await alive.outbox_size():
                        await asyncio.sleep(0.02)

                await asyncio.wait_for(drained(), 10)
            finally:
                await outbox.stop()
    sent = api.sent_to(CHAT)
    assert [c.text for c in sent] == list(reply.messages)  # once each, in order
    assert sent[0].at >= expires  # not before the dead replica's lease ran out
    dead.close_sync()
    alive.close_sync()


async def test_a_live_replicas_lease_keeps_the_other_from_sending(pg_url, tmp_path, core):
    holder, other = open_store(tmp_path / "a", pg_url), open_store(tmp_path / "b", pg_url)
    reply = core.handle(OVERDOSE_TEXT, None)
    codec = ReplyCodec(Conversation(core))
    async with FakeBotApi(TOKEN) as api:
        api.text(CHAT, "hello")
        bot = Bot(TOKEN, base_url=api.base_url)
        async with bot:
            queuing = Outbox(codec, Delivery(), POLICY)
            rows = queuing._rows(CHAT, [reply])
            assert rows is not None
            await holder.outbox_add(rows)
            outbox = Outbox(codec, Delivery(), POLICY)
            outbox.attach(other, bot)
            await outbox.start()
            try:
                for _ in range(int(3 * LEASE / 0.2)):  # the holder keeps renewing for 3 leases
                    now = time.time()
                    assert await holder.outbox_lease(CHAT, int(now * MICRO),
                                                     int((now + LEASE) * MICRO))
                    await asyncio.sleep(0.2)
                assert api.sent_to(CHAT) == []
                assert await other.outbox_size() == len(reply.messages)
            finally:
                await outbox.stop()
    holder.close_sync()
    other.close_sync()
