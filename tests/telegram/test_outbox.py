"""The durable outbox (issue 14): outages, restarts and slow answers lose no reply, and an
emergency reply always arrives complete and in order.

The real Application runs against the fake Bot API. Time that matters to the outbox (how long
a message has been waiting) comes from a controllable wall clock, so "60 s of 5xx" or "11
minutes of outage" take a second or two of real time; the backoff is short (FAST_OUTBOX).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time

from conftest import texts

from bot import metrics
from bot.store.outbox import MAX_REFERENCE_LENGTH
from bot.telegram.outbox import OutboxPolicy
from bot.telegram.shell import shell_of

CHAT, OTHER = 3001, 3002
OVERDOSE_TEXT = "my friend took heroin and won't wake up"
QUESTION = "how long does withdrawal last"
REFERENCE = re.compile(r"[A-Za-z0-9_.:+\-/=;~]*")


class Clock:
    """Wall-clock seconds that a test can move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def store_of(application):
    return shell_of(application).outbox.store


async def until(predicate, timeout: float = 20.0) -> None:
    """Wait for a condition the bot reaches on its own (polled; no timing is asserted)."""
    async def loop() -> None:
        while not await predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(loop(), timeout)


async def outbox_empty(application) -> None:
    store = store_of(application)

    async def empty() -> bool:
        return await store.outbox_size() == 0

    await until(empty)


async def _true_after(counter, value: float) -> bool:
    """True once ``counter`` passed ``value`` (the old loop gave an ordinary message 4 tries)."""
    return counter._value.get() > value


def failed_sends(api, chat_id: int) -> int:
    return sum(1 for c in api.calls_of("sendMessage")
               if c.params.get("chat_id") == chat_id and not c.ok)


async def test_60_s_of_5xx_then_the_overdose_reply_arrives_complete_and_in_order(
    api, core, runner
):
    expected = core.handle(OVERDOSE_TEXT, None)
    assert len(expected.messages) >= 2
    clock = Clock()
    async with runner.running(build={"outbox_clock": clock}) as application:
        release = api.hold_next("sendMessage")
        api.text(CHAT, OVERDOSE_TEXT)
        await api.wait_for_calls("sendMessage", 1)
        await api.start_outage("5xx")  # every method answers 502 from now on
        release.set()
        for _ in range(12):  # 60 s of outage on the outbox's clock
            clock.advance(5)
            before = failed_sends(api, CHAT)
            await api.wait_for(lambda a, n=before: failed_sends(a, CHAT) > n)
        # the old retry loop gave up after 10 attempts (about 48 s); this one did not
        assert failed_sends(api, CHAT) > 10
        assert api.sent_to(CHAT) == []
        await api.end_outage()
        await api.wait_for_sent(CHAT, len(expected.messages))
        await outbox_empty(application)
    assert texts(api.sent_to(CHAT)) == list(expected.messages)  # complete, in order, once


async def test_a_5_s_outage_loses_no_ordinary_reply(api, core, runner):
    answer = core.handle(QUESTION, None)
    chats = [CHAT + n for n in range(5)]
    clock = Clock()
    dropped_before = metrics.OUTBOX_DROPPED.labels("answer")._value.get()
    failures = metrics.SEND_FAILURES.labels("network", "false")
    async with runner.running(build={"outbox_clock": clock}) as application:
        await api.start_outage("5xx", methods=("sendMessage",))
        last = [api.text(chat, QUESTION) for chat in chats][-1]
        await api.wait_until_fetched(last)  # every update confirmed: Telegram will not resend
        await api.wait_for(lambda a: all(failed_sends(a, chat) for chat in chats))
        failed_before = failures._value.get()
        await api.start_outage("refuse")  # now nothing answers at all
        clock.advance(5)
        await until(lambda: _true_after(failures, failed_before + 5 * 5))
        await api.end_outage()
        for chat in chats:
            await api.wait_for_sent(chat, len(answer.messages))
        await outbox_empty(application)
    for chat in chats:
        assert texts(api.sent_to(chat)) == list(answer.messages)
    assert metrics.OUTBOX_DROPPED.labels("answer")._value.get() == dropped_before


async def test_after_10_minutes_an_ordinary_reply_is_dropped_and_counted_an_emergency_is_not(
    api, core, runner
):
    expected = core.handle(OVERDOSE_TEXT, None)
    clock = Clock()
    dropped_before = metrics.OUTBOX_DROPPED.labels("answer")._value.get()
    async with runner.running(build={"outbox_clock": clock}) as application:
        await api.start_outage("5xx", methods=("sendMessage",))
        api.text(OTHER, QUESTION)
        last = api.text(CHAT, OVERDOSE_TEXT)
        await api.wait_until_fetched(last)
        await api.wait_for(lambda a: failed_sends(a, OTHER) and failed_sends(a, CHAT))
        clock.advance(11 * 60)
        await api.wait_for(lambda a: metrics.OUTBOX_DROPPED.labels("answer")._value.get()
                           > dropped_before)
        await api.end_outage()
        await api.wait_for_sent(CHAT, len(expected.messages))
        await outbox_empty(application)
    assert texts(api.sent_to(CHAT)) == list(expected.messages)
    assert api.sent_to(OTHER) == []


async def test_stopping_with_telegram_down_and_200_replies_queued_then_a_restart_delivers_all(
    api, core, runner
):
    answer = core.handle(QUESTION, None)
    chats = [5000 + n for n in range(100)]
    quick_stop = OutboxPolicy(first_delay=0.01, max_delay=0.05, urgent_max_delay=0.05,
                              scan=0.2, drain=0.5, send_wait=0.2)
    async with runner.running(build={"outbox_policy": quick_stop}) as application:
        await api.start_outage("5xx", methods=("sendMessage",))
        last = 0
        for chat in chats:  # 200 replies: two questions in each of 100 chats
            api.text(chat, QUESTION)
            last = api.text(chat, QUESTION)
        await api.wait_until_fetched(last)
        queued = 200 * len(answer.messages)
        store = store_of(application)

        async def all_queued() -> bool:
            return await store.outbox_size() == queued

        await until(all_queued)
        await api.start_outage("5xx")  # Telegram entirely down while the bot stops
    assert all(api.sent_to(chat) == [] for chat in chats)
    await api.end_outage()
    async with runner.running() as application:  # the same state folder
        for chat in chats:
            await api.wait_for_sent(chat, 2 * len(answer.messages))
        await outbox_empty(application)
    for chat in chats:
        assert texts(api.sent_to(chat)) == list(answer.messages) * 2


async def test_answers_held_past_the_read_timeout_duplicate_at_most_one_message_per_reply(
    api, core, runner
):
    emergency = core.handle(OVERDOSE_TEXT, None)
    answer = core.handle(QUESTION, None)
    async with runner.running(build={"read_timeout": 0.5}) as application:
        await api.wait_for_calls("getUpdates", 1)
        api.answer_late(1.5)  # every message arrives, its answer comes after the timeout
        api.text(CHAT, OVERDOSE_TEXT)
        api.text(OTHER, QUESTION)
        await api.wait_for(lambda a: len(a.sent_to(CHAT)) >= len(emergency.messages)
                           and len(a.sent_to(OTHER)) >= len(answer.messages))
        await outbox_empty(application)
        api.answer_late(0)
    for chat, reply in ((CHAT, emergency), (OTHER, answer)):
        got = texts(api.sent_to(chat))
        assert len(got) - len(reply.messages) <= 1  # at most one duplicate for the reply
        assert list(dict.fromkeys(got)) == list(reply.messages)  # all of it, in order


async def test_a_users_words_never_reach_the_outbox_table(api, core, runner, tmp_path):
    words = "my friend took heroin and won't wake up, he is in the kitchen"
    async with runner.running() as application:
        await api.start_outage("5xx", methods=("sendMessage",))
        api.text(CHAT, words)
        api.text(OTHER, "how long does withdrawal last after the weekend in Leeds")
        store = store_of(application)

        async def queued() -> bool:
            return await store.outbox_size() >= 2

        await until(queued)
        path = runner.state_dir / "state.sqlite3"
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            rows = conn.execute("SELECT route, reply_key, message, buttons FROM outbox").fetchall()
        await api.end_outage()
        await outbox_empty(application)
    assert rows
    stored = " ".join(value for row in rows for value in row).lower()
    for text in api.user_texts:
        assert text.lower() not in stored
    for word in ("kitchen", "weekend", "leeds", "won't"):  # no topic id or code has these
        assert word not in stored
    for row in rows:
        for value in row:
            assert REFERENCE.fullmatch(value) and len(value) <= MAX_REFERENCE_LENGTH
