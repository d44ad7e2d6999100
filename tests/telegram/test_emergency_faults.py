"""Emergencies never depend on anything that can fail (issue 14, item 3).

Each fault is injected into the real Application running against the fake Bot API: a damaged
stored row, a store that is down or slow, state that cannot be read, a country or language
lookup that raises. The overdose (or crisis) message must still get its full reply: the
no-country one, in the message's language.
"""

from __future__ import annotations

import asyncio
import sqlite3

from conftest import send_and_wait, texts

from bot import metrics
from bot.store import StoreError, open_store
from bot.telegram.shell import shell_of

CHAT = 4001
OVERDOSE_TEXT = "my friend took heroin and won't wake up"
SPANISH_OVERDOSE = "mi novio no respira y tiene los labios azules"
CRISIS_TEXT = "i want to kill myself tonight"


def no_country_reply(core, text: str):
    c = core.classify(text)
    return core.reply_for(c, None, lang=c.language or "en")


async def test_a_damaged_state_row_still_gets_the_full_overdose_reply(api, core, runner):
    state_dir = runner.state_dir
    open_store(state_dir).close_sync()  # a state file made by the bot...
    with sqlite3.connect(state_dir / "state.sqlite3") as conn:  # ...then damaged by hand
        conn.execute("INSERT INTO users (user_id, country, language) VALUES (?, ?, ?)",
                     (CHAT, "my boyfriend is turning blue", 7))
    expected = core.handle(OVERDOSE_TEXT, None)
    async with runner.running():
        sent = await send_and_wait(api, CHAT, lambda: api.text(CHAT, OVERDOSE_TEXT),
                                   len(expected.messages))
    assert texts(sent) == list(expected.messages)


async def test_the_overdose_reply_is_sent_when_the_store_is_down(api, core, bot, monkeypatch):
    store = shell_of(bot).outbox.store

    async def down(*args, **kwargs):
        raise StoreError("cannot write to the state file /x: a disk read or write failed")

    for name in ("outbox_add", "put", "get", "delete"):
        monkeypatch.setattr(store, name, down)
    direct = metrics.OUTBOX_DIRECT.labels("store_error")
    before = direct._value.get()
    expected = core.handle(OVERDOSE_TEXT, None)
    sent = await send_and_wait(api, CHAT, lambda: api.text(CHAT, OVERDOSE_TEXT),
                               len(expected.messages))
    assert texts(sent) == list(expected.messages)
    assert direct._value.get() > before  # sent directly, and counted


async def test_a_slow_store_does_not_hold_the_emergency_back_nor_duplicate_it(
    api, core, bot, monkeypatch
):
    store = shell_of(bot).outbox.store
    real_add = store.outbox_add
    written = asyncio.Event()

    async def slow(rows):
        await asyncio.sleep(2.0)  # longer than the emergency waits for the write (1 s)
        ids = await real_add(rows)
        written.set()
        return ids

    monkeypatch.setattr(store, "outbox_add", slow)
    expected = core.handle(OVERDOSE_TEXT, None)
    sent = await send_and_wait(api, CHAT, lambda: api.text(CHAT, OVERDOSE_TEXT),
                               len(expected.messages))
    assert texts(sent[: len(expected.messages)]) == list(expected.messages)
    await asyncio.wait_for(written.wait(), 10)  # the late rows are in the store now...

    async def drained() -> None:
        while await store.outbox_size():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(drained(), 10)
    assert texts(api.sent_to(CHAT)) == list(expected.messages)  # ...and were not sent again


async def test_state_that_cannot_be_read_still_gets_the_overdose_reply(
    api, core, bot, monkeypatch
):
    shell = shell_of(bot)

    def broken(context, update):
        raise ValueError("the user's state is malformed")

    monkeypatch.setattr(shell, "state", broken)
    expected = core.handle(OVERDOSE_TEXT, None)
    sent = await send_and_wait(api, CHAT, lambda: api.text(CHAT, OVERDOSE_TEXT),
                               len(expected.messages))
    assert texts(sent) == list(expected.messages)


class CountryLookupFails:
    """The real core, except that every lookup with a country raises."""

    def __init__(self, core) -> None:
        self._core = core

    def topic(self, intent_id, country, lang="en"):
        if country is not None:
            raise KeyError("country lookup failed")
        return self._core.topic(intent_id, country, lang)

    def message(self, key, country, lang="en"):
        if country is not None:
            raise KeyError("country lookup failed")
        return self._core.message(key, country, lang)

    def reply_for(self, c, country, **kwargs):
        if country is not None:
            raise KeyError("country lookup failed")
        return self._core.reply_for(c, country, **kwargs)

    def __getattr__(self, name):
        return getattr(self._core, name)


class LanguageLookupFails(CountryLookupFails):
    """Also the user's language lookup raises."""

    def known_language(self, lang):
        if lang != "en" and lang != "es":
            raise LookupError("language lookup failed")
        return self._core.known_language(lang)


def swap_core(application, core) -> None:
    shell = shell_of(application)
    shell.core = shell.conversation.core = core


async def test_a_failing_country_lookup_falls_back_to_the_no_country_reply_in_the_language(
    api, core, bot
):
    # the confirmation and the topics menu
    await send_and_wait(api, CHAT, lambda: api.text(CHAT, "/country uk"), 2)
    swap_core(bot, CountryLookupFails(core))
    for text in (OVERDOSE_TEXT, SPANISH_OVERDOSE, CRISIS_TEXT):
        expected = no_country_reply(core, text)
        assert expected.route in ("overdose", "crisis")
        sent = await send_and_wait(api, CHAT, lambda t=text: api.text(CHAT, t),
                                   len(expected.messages))
        assert texts(sent) == list(expected.messages)
    assert no_country_reply(core, SPANISH_OVERDOSE).messages != core.handle(
        OVERDOSE_TEXT, None).messages  # the Spanish reply, not the English one


async def test_a_failing_language_lookup_still_gets_an_overdose_reply(api, core, bot):
    api.language_codes[CHAT] = "de"  # the client language is looked up: it raises
    swap_core(bot, LanguageLookupFails(core))
    expected = no_country_reply(core, SPANISH_OVERDOSE)
    sent = await send_and_wait(api, CHAT, lambda: api.text(CHAT, SPANISH_OVERDOSE),
                               len(expected.messages))
    assert sent[0].text == expected.messages[0]


async def test_a_slow_store_during_an_outage_loses_nothing_of_the_emergency(
    api, core, bot, monkeypatch
):
    store = shell_of(bot).outbox.store
    real_add = store.outbox_add
    written = asyncio.Event()

    async def slow(rows):
        await asyncio.sleep(1.5)
        ids = await real_add(rows)
        written.set()
        return ids

    monkeypatch.setattr(store, "outbox_add", slow)
    await api.start_outage("5xx", methods=("sendMessage",))
    expected = core.handle(OVERDOSE_TEXT, None)
    api.text(CHAT, OVERDOSE_TEXT)
    await asyncio.wait_for(written.wait(), 10)  # the direct try failed; the rows are stored
    await api.wait_for(lambda a: any(c.outcome == "outage" for c in a.calls_of("sendMessage")))
    await api.end_outage()
    await api.wait_for_sent(CHAT, len(expected.messages))

    async def drained() -> None:
        while await store.outbox_size():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(drained(), 10)
    assert texts(api.sent_to(CHAT)) == list(expected.messages)
