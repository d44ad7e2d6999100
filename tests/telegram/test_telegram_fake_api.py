"""The fake Bot API server answers like Telegram (checked through PTB's own Bot client)."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter

from tests.support.fake_bot_api import EntityParseError, FakeBotApi, parse_telegram_html

TOKEN = "123456789:AAtestTOKENxxxxxxxxxxxxxxxxxxxxxxxxx"


@pytest.fixture
async def api():
    async with FakeBotApi(TOKEN) as server:
        yield server


@pytest.fixture
async def bot(api):
    async with Bot(TOKEN, base_url=api.base_url) as client:
        yield client


@pytest.mark.parametrize(
    ("html", "plain"),
    [
        ("<b>Call 999</b> now", "Call 999 now"),
        ('<a href="https://x.org">x</a> &amp; &lt;y&gt; &#128512;', "x & <y> 😀"),
        ('<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>', "st"),
        ('<pre><code class="language-python">x</code></pre>', "x"),
        ("<blockquote expandable>q</blockquote> a & b", "q a & b"),
    ],
)
def test_html_that_telegram_accepts(html, plain):
    assert parse_telegram_html(html) == plain


@pytest.mark.parametrize(
    "html",
    [
        "<p>x</p>",
        "<b>x",
        "<b><i>x</b></i>",
        "x</b>",
        "a < b",
        "<a>x</a>",
        "<br/>",
        '<span class="x">y</span>',
    ],
)
def test_html_that_telegram_refuses(html):
    with pytest.raises(EntityParseError):
        parse_telegram_html(html)


async def test_get_me_and_send_message(api, bot):
    api.chat(10)
    assert bot.username == "recovery_test_bot"
    message = await bot.send_message(10, "<b>hello</b>", parse_mode="HTML")
    assert message.text == "hello"
    [call] = api.calls_of("sendMessage")
    assert call.params == {"chat_id": 10, "text": "<b>hello</b>", "parse_mode": "HTML"}


async def test_telegram_checks(api, bot):
    api.chat(10)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(10, "<p>x</p>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.send_message(10, "x" * 4097)
    await bot.send_message(10, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)empty"):
        await bot.send_message(10, "<b> </b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="y" * 65)]])
        await bot.send_message(10, "x", reply_markup=markup)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(99, "x")


async def test_injected_failures(api, bot):
    api.chat(10)
    api.fail_next("sendMessage", 429, retry_after=3)
    with pytest.raises(RetryAfter) as retry:
        await bot.send_message(10, "x")
    assert "3 seconds" in str(retry.value)
    api.fail_next("sendMessage", 403)
    with pytest.raises(Forbidden):
        await bot.send_message(10, "x")
    api.fail_next("sendMessage", 500)
    with pytest.raises(NetworkError):
        await bot.send_message(10, "x")
    api.fail_next("sendMessage", "drop")
    with pytest.raises(NetworkError):
        await bot.send_message(10, "x")
    await bot.send_message(10, "x")
    assert [c.outcome for c in api.calls_of("sendMessage")] == ["429", "403", "500", "drop", "ok"]


async def test_wrong_token_is_refused(api):
    with pytest.raises(InvalidToken):
        async with Bot("1:wrong", base_url=api.base_url):
            pass


async def test_long_polling_returns_when_an_update_arrives(api, bot):
    polling = asyncio.create_task(bot.get_updates(timeout=20))
    await api.wait_for_calls("getUpdates")
    update_id = api.text(10, "hello")
    [update] = await asyncio.wait_for(polling, 10)
    assert update.update_id == update_id
    assert update.message.text == "hello"
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()


async def test_commands_callbacks_and_edits(api, bot):
    await bot.set_my_commands([BotCommand("sos", "Overdose help")])
    assert api.commands == [{"command": "sos", "description": "Overdose help"}]
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])
    api.chat(10)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="intent:a")]])
    sent = await bot.send_message(10, "pick", reply_markup=markup)
    update_id = api.press(10, "intent:a")
    [update] = await bot.get_updates(offset=update_id, timeout=0)
    assert update.callback_query.data == "intent:a"
    assert update.callback_query.message.message_id == sent.message_id
    assert await update.callback_query.answer()
    await bot.edit_message_reply_markup(10, sent.message_id, reply_markup=None)
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text("pick", 10, sent.message_id)
    await bot.edit_message_text("picked", 10, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)not found"):
        await bot.edit_message_text("x", 10, 999)
