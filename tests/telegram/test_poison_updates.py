"""An update PTB cannot read (a poll from a Bot API server older than 9.6, junk) is skipped:
logged by id and kind, counted, confirmed; the rest of its batch and every later update are
answered. Polling and webhook."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time

import httpx
import pytest
from conftest import TOKEN, texts
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Update
from telegram.ext import ApplicationBuilder, MessageHandler, filters
from telegram.request import HTTPXRequest

from bot import metrics
from bot.telegram.config import WebhookSettings
from bot.telegram.logging_setup import install_log_protection
from bot.telegram.updates import EMPTY_BATCH_PAUSE, TolerantUpdatesRequest, sanitize_batch

OVERDOSE = "my boyfriend is turning blue and wont wake up"
QUESTION = "how long does withdrawal last"
SECRET = "webhook-secret-for-poison-0123456789"
# Junk a broken or hostile Bot API server could send, each with a valid update id.
JUNK = [
    {"message": "not an object"},
    {"message": {"message_id": 1}},  # no chat, no date
    {"message": {"message_id": 1, "date": "yesterday", "chat": {"id": 5, "type": "private"}}},
    {"callback_query": [1, 2, 3]},
    {"edited_message": {"chat": None}},
    {"message": {"message_id": 2, "date": 1, "chat": {"id": "x"}, "from": 7}},
]
DEADLINE = 2.0  # seconds: the overdose reply's first message after a poison batch


def skipped(transport: str) -> float:
    return sum(
        sample.value
        for family in metrics.REGISTRY.collect()
        if family.name == "recovery_bot_updates_skipped"
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels.get("transport") == transport
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_every_unreadable_update_becomes_a_bare_id_and_idless_junk_is_dropped():
    good = {"update_id": 3, "message": {"message_id": 1, "date": 1,
                                        "chat": {"id": 5, "type": "private"}, "text": "hi"}}
    batch = [good, {"update_id": 4, "message": "junk"}, "junk", {"update_id": "5"}, None,
             {"update_id": 6, "callback_query": []}, {"update_id": True}]
    assert sanitize_batch(batch) == [good, {"update_id": 4}, {"update_id": 6}]
    assert Update.de_json({"update_id": 4}, None).effective_message is None  # no handler runs


async def test_a_poison_batch_is_skipped_and_the_next_overdose_answered(api, core, runner, caplog):
    question, overdose = core.handle(QUESTION, None), core.handle(OVERDOSE, None)
    before = skipped("polling")
    # one batch: a good message, the old poll, junk, a good message
    api.text(11, QUESTION)
    poison = [api.old_poll(12), *(api.raw(junk) for junk in JUNK)]
    api.text(13, QUESTION)
    async with runner.running():
        for chat in (11, 13):  # the good updates of the same batch are answered
            assert texts(await api.wait_for_sent(chat, len(question.messages))) == list(
                question.messages)
        await api.wait_until_fetched(max(poison))
        started = time.monotonic()
        api.text(14, OVERDOSE)
        first = await api.wait_for_sent(14, 1, timeout=DEADLINE)
        answered_in = time.monotonic() - started
        assert first[0].text == overdose.messages[0]
        sent = await api.wait_for_sent(14, len(overdose.messages))
        assert texts(sent) == list(overdose.messages)
        polls = len(api.calls_of("getUpdates"))
    assert answered_in < DEADLINE
    # no hot loop: a handful of long polls, not hundreds of re-fetches
    assert polls <= 8, polls
    assert skipped("polling") - before == len(poison)
    assert not api.sent_to(12)  # nothing is said about an update that could not be read
    warnings = [r.getMessage() for r in caplog.records if "could not be read" in r.getMessage()]
    assert len(warnings) == len(poison)
    assert f"id {poison[0]}, kind message (TypeError)" in warnings[0]
    assert not [r for r in caplog.records if r.levelno >= logging.CRITICAL]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for word in ("Monday evening", "yesterday", "not an object"):
        assert word not in logged


async def test_without_the_tolerant_client_ptb_refetches_the_same_batch(api, caplog):
    """Why bot.telegram.updates exists: plain PTB 22 polling never gets past the old poll (if
    this fails, PTB reads such updates now and the tolerant client may be unnecessary)."""
    install_log_protection()  # PTB logs the whole batch at CRITICAL
    poison = api.old_poll(21)
    api.text(22, QUESTION)
    application = ApplicationBuilder().token(TOKEN).base_url(api.base_url).build()
    handled: list[int] = []

    async def record(update: Update, context: object) -> None:
        handled.append(update.update_id)

    application.add_handler(MessageHandler(filters.ALL, record))
    async with application:
        await application.start()
        await application.updater.start_polling(timeout=5, poll_interval=0)
        try:
            await api.wait_for(lambda api: len(api.calls_of("getUpdates")) >= 30, timeout=20)
        finally:
            # PTB's last "confirm" call parses the same batch again and raises
            with contextlib.suppress(TypeError):
                await application.updater.stop()
            await application.stop()
    offsets = {int(c.params.get("offset") or 0) for c in api.calls_of("getUpdates")}
    assert max(offsets) <= poison  # the offset never moved past the poll
    assert not handled  # ... and the good message behind it was never handled


@pytest.fixture
def webhook() -> WebhookSettings:
    port = free_port()
    return WebhookSettings(url=f"http://127.0.0.1:{port}/hook", listen="127.0.0.1", port=port,
                           secret_token=SECRET)


async def test_webhook_answers_200_for_a_poison_update_and_serves_the_next(
    api, core, runner, webhook
):
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    before = skipped("webhook")
    bodies = [json.dumps(api.take_update(api.old_poll(31)))]
    bodies += [json.dumps(api.take_update(api.raw(junk))) for junk in JUNK]
    bodies += ["this is not json", "[1, 2]", '{"update_id": "7"}', "\xff\xfe".encode("latin-1")]
    async with runner.running(webhook=webhook), httpx.AsyncClient() as client:
        for body in bodies:
            response = await client.post(webhook.url, content=body, headers=headers)
            assert response.status_code == 200  # skipped: Telegram must not resend it
        overdose = core.handle(OVERDOSE, None)
        good = json.dumps(api.take_update(api.text(32, OVERDOSE)))
        response = await client.post(webhook.url, content=good, headers=headers)
        assert response.status_code == 200
        # answered only once handled: the reply is already delivered
        assert texts(api.sent_to(32)) == list(overdose.messages)
    assert skipped("webhook") - before == len(bodies)
    assert not api.sent_to(31)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["update_id", "message", "chat", "id", "date", "text",
                                       "callback_query", "from", "poll", "message_id"]),
                      children, max_size=5),
    max_leaves=20,
)
updates = st.one_of(
    json_values,
    st.fixed_dictionaries({"update_id": st.integers(1, 10**9)},
                          optional={"message": json_values, "callback_query": json_values,
                                    "edited_message": json_values}),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(updates, max_size=8))
def test_any_batch_sanitizes_to_updates_ptb_reads_with_every_id_confirmed(batch):
    clean = sanitize_batch(batch)
    for data in clean:
        Update.de_json(data, None)  # never raises
    ids = [d["update_id"] for d in batch
           if isinstance(d, dict) and type(d.get("update_id")) is int]
    assert [d["update_id"] for d in clean] == ids  # every usable id kept, in order


async def test_a_batch_with_nothing_usable_pauses_the_poll(monkeypatch):
    """No hot loop even if a broken server keeps answering junk without update ids."""
    pauses: list[float] = []

    async def answer(self, url, *args, **kwargs):
        return [{"no": "update id"}, "junk"] if url.endswith("/getUpdates") else True

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr(HTTPXRequest, "post", answer)
    monkeypatch.setattr("bot.telegram.updates.asyncio.sleep", pause)
    request = TolerantUpdatesRequest(connection_pool_size=1)
    assert await request.post("http://x/botT/getUpdates") == []
    assert pauses == [EMPTY_BATCH_PAUSE]
    assert await request.post("http://x/botT/sendMessage") is True
    assert pauses == [EMPTY_BATCH_PAUSE]
