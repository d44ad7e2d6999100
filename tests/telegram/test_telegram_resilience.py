"""Telegram misbehaving (429, 403, 5xx, dropped connections), handlers failing, chats at once.

The bot must keep serving, and an emergency reply must never be lost to one transient failure.
All of it with every logger at DEBUG (see conftest: no token, no user text in the logs).
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from conftest import send_and_wait, texts

from bot.reply.model import Reply
from bot.telegram.shell import shell_of

CHAT, OTHER = 2001, 2002
OVERDOSE_TEXT = "my friend took heroin and won't wake up"
QUESTION = "how long does withdrawal last"


def attempts(api, text: str) -> list[str]:
    return [c.outcome for c in api.calls_of("sendMessage") if c.text == text]


@pytest.mark.parametrize(
    ("kind", "times"), [(429, 1), (500, 2), (502, 3), ("drop", 2), ("drop", 1)]
)
async def test_the_emergency_reply_survives_transient_failures(api, core, bot, kind, times):
    expected = core.handle(OVERDOSE_TEXT, None)
    assert expected.route == "overdose"
    api.fail_next("sendMessage", kind, times=times, retry_after=1)
    sent = await send_and_wait(
        api, CHAT, lambda: api.text(CHAT, OVERDOSE_TEXT), len(expected.messages)
    )
    assert texts(sent) == list(expected.messages)
    assert attempts(api, expected.messages[0]) == [str(kind)] * times + ["ok"]
    # and the bot still serves
    answer = core.handle(QUESTION, None)
    sent = await send_and_wait(api, OTHER, lambda: api.text(OTHER, QUESTION), len(answer.messages))
    assert texts(sent) == list(answer.messages)


async def test_rate_limit_on_a_later_message_keeps_the_order(api, core, bot):
    expected = core.handle(OVERDOSE_TEXT, None)
    assert len(expected.messages) >= 2
    release = api.hold_next("sendMessage")
    api.text(CHAT, OVERDOSE_TEXT)
    await api.wait_for_calls("sendMessage", 1)
    api.fail_next("sendMessage", 429, retry_after=1)
    release.set()
    sent = await api.wait_for_sent(CHAT, len(expected.messages))
    assert texts(sent) == list(expected.messages)


async def test_a_user_who_blocked_the_bot_is_dropped_quietly(api, core, bot, caplog):
    api.fail_next("sendMessage", 403)
    update_id = api.text(CHAT, QUESTION)
    await api.wait_for_calls("sendMessage", 1)
    await api.wait_until_fetched(update_id)
    answer = core.handle(QUESTION, None)
    sent = await send_and_wait(api, OTHER, lambda: api.text(OTHER, QUESTION), len(answer.messages))
    assert texts(sent) == list(answer.messages)
    # nothing more went to the blocked chat, and nothing was logged as an error
    assert [c.outcome for c in api.calls_of("sendMessage") if c.params["chat_id"] == CHAT] == [
        "403"
    ]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_normal_reply_gives_up_after_its_retries_and_the_bot_goes_on(api, core, bot):
    answer = core.handle(QUESTION, None)
    api.fail_next("sendMessage", 500, times=4)
    update_id = api.text(CHAT, QUESTION)
    await api.wait_for(lambda a: a.pending_failures("sendMessage") == 0)
    await api.wait_until_fetched(update_id)
    sent = await send_and_wait(api, OTHER, lambda: api.text(OTHER, QUESTION), len(answer.messages))
    assert texts(sent) == list(answer.messages)


@pytest.mark.parametrize("kind", [500, "drop"])
async def test_polling_survives_get_updates_failures(api, core, bot, kind):
    await api.wait_for_calls("getUpdates", 1)
    api.fail_next("getUpdates", kind)
    answer = core.handle(QUESTION, None)
    sent = await send_and_wait(api, CHAT, lambda: api.text(CHAT, QUESTION), len(answer.messages))
    assert texts(sent) == list(answer.messages)
    assert any(c.outcome == str(kind) for c in api.calls_of("getUpdates"))


class BrokenCore:
    """The real core, except that handling one message raises (quoting the message)."""

    def __init__(self, core, broken_text: str) -> None:
        self._core, self._broken = core, broken_text

    def classify(self, text):
        if text == self._broken:
            raise RuntimeError(f"cannot handle {text!r}")
        return self._core.classify(text)

    def __getattr__(self, name):
        return getattr(self._core, name)


def swap_core(application, core) -> None:
    """Make the running application's conversation use ``core``."""
    shell = shell_of(application)
    shell.core = shell.conversation.core = core


async def test_a_failing_handler_is_logged_without_the_text_and_the_bot_goes_on(
    api, core, bot, caplog
):
    broken = "this particular question breaks the core"
    swap_core(bot, BrokenCore(core, broken))
    update_id = api.text(CHAT, broken)
    [sorry] = await api.wait_for_sent(CHAT, 1)
    assert sorry.text == core.message("error", None).messages[0]
    [record] = [r for r in caplog.records if r.name == "bot.telegram.errors"]
    assert "RuntimeError" in record.getMessage()
    assert str(update_id) in record.getMessage()
    answer = core.handle(QUESTION, None)
    sent = await send_and_wait(api, CHAT, lambda: api.text(CHAT, QUESTION), len(answer.messages))
    assert texts(sent) == list(answer.messages)


class BadHtmlCore(BrokenCore):
    def reply_for(self, c, country, **kwargs):
        reply = self._core.reply_for(c, country, **kwargs)
        return Reply(
            reply.route,
            reply.intent,
            ("<p>Call <b>999</b></p>", *reply.messages[1:]),
            reply.buttons,
        )


async def test_html_telegram_refuses_is_resent_as_plain_text(api, core, bot):
    swap_core(bot, BadHtmlCore(core, ""))
    expected = core.handle(OVERDOSE_TEXT, None)
    sent = await send_and_wait(
        api, CHAT, lambda: api.text(CHAT, OVERDOSE_TEXT), len(expected.messages)
    )
    assert sent[0].text == "Call 999" and "parse_mode" not in sent[0].params
    assert texts(sent[1:]) == list(expected.messages[1:])


async def test_chats_are_served_concurrently_and_emergencies_skip_the_queue(api, core, bot):
    answer = core.handle(QUESTION, None)
    release = api.hold_next("sendMessage", lambda params: params["chat_id"] == CHAT)
    api.text(CHAT, QUESTION)
    await api.wait_for_calls("sendMessage", 1)  # CHAT's first reply is stuck at "Telegram"

    sent = await send_and_wait(api, OTHER, lambda: api.text(OTHER, QUESTION), len(answer.messages))
    assert texts(sent) == list(answer.messages)

    emergency = core.handle(OVERDOSE_TEXT, None)
    api.text(CHAT, OVERDOSE_TEXT)
    [first] = await api.wait_for_sent(CHAT, 1)
    assert first.text == emergency.messages[0]

    release.set()
    sent = await api.wait_for_sent(CHAT, len(answer.messages) + len(emergency.messages))
    assert set(texts(sent)) == set(answer.messages) | set(emergency.messages)


async def test_updates_of_one_chat_are_handled_in_order(api, core, bot):
    await send_and_wait(api, CHAT, lambda: api.text(CHAT, "usa"), 2)
    api.command(CHAT, "/country")
    api.text(CHAT, "uk")
    sent = await api.wait_for_sent(CHAT, 5)
    assert sent[2].text == core.message("ask_country", "US").messages[0]
    assert sent[3].text == core.message("country_set", "GB").messages[0]


async def test_stopping_waits_for_running_handlers(api, core, runner):
    expected = core.handle(OVERDOSE_TEXT, None)
    async with runner.running():
        release = api.hold_next("sendMessage")
        api.text(CHAT, OVERDOSE_TEXT)
        await api.wait_for_calls("sendMessage", 1)
        asyncio.get_running_loop().call_later(0.2, release.set)
    # the runner has stopped: the reply that was in flight was completed first
    assert texts(api.sent_to(CHAT)) == list(expected.messages)


async def test_even_with_httpx_forced_to_debug_the_token_never_reaches_the_logs(
    api, core, bot, caplog
):
    for name in ("httpx", "httpcore"):  # the app set them to WARNING; force them open again
        caplog.set_level(logging.DEBUG, logger=name)
    api.fail_next("sendMessage", 500)
    api.fail_next("sendMessage", "drop")
    expected = core.handle(OVERDOSE_TEXT, None)
    await send_and_wait(api, CHAT, lambda: api.text(CHAT, OVERDOSE_TEXT), len(expected.messages))
    url_records = [r for r in caplog.records if r.name.startswith("httpx")]
    assert url_records and all("/bot[REDACTED]/" in r.getMessage() for r in url_records)
