"""What a user sees, through the real Application and a fake Bot API (polling)."""

from __future__ import annotations

import sqlite3

import pytest
from conftest import send_and_wait, texts

from bot.commands import COMMAND_TABLE
from bot.conversation import Conversation
from bot.telegram.persistence import STATE_FILE

MENU = [c.name for c in COMMAND_TABLE if c.in_menu]

CHAT = 1001
OVERDOSE_TEXT = "my boyfriend is turning blue"


def topic_actions(core) -> list[str]:
    return [b.action for b in core.topic_buttons()]


async def choose_country(api, code: str, chat_id: int = CHAT) -> None:
    """/country, then press the country's button."""
    await send_and_wait(api, chat_id, lambda: api.command(chat_id, "/country"), 1)
    await send_and_wait(api, chat_id, lambda: api.press(chat_id, f"country:{code}"), 2)


async def test_start_asks_country_then_shows_topics(api, core, bot):
    welcome, ask = await send_and_wait(api, CHAT, lambda: api.command(CHAT, "/start"), 2)
    assert welcome.text == core.message("welcome", None).messages[0]
    assert ask.text == core.message("ask_country", None).messages[0]
    assert ask.callback_data() == [b.action for b in core.country_buttons()]
    assert "country:other" in ask.callback_data()

    ask_id = max(mid for (cid, mid) in api.messages if cid == CHAT)
    update_id = api.press(CHAT, "country:GB")
    confirm, topics = (await api.wait_for_sent(CHAT, 4))[2:]
    assert confirm.text == core.message("country_set", "GB").messages[0]
    assert "999" in confirm.text
    assert topics.text == core.message("topics", "GB").messages[0]
    assert topics.callback_data() == topic_actions(core)
    [answer] = api.calls_of("answerCallbackQuery")
    assert answer.ok
    # the country buttons were taken off the question
    [edit] = api.calls_of("editMessageReplyMarkup")
    assert edit.params["message_id"] == ask_id
    assert api.messages[(CHAT, ask_id)]["reply_markup"] is None
    await api.wait_until_fetched(update_id)


async def test_every_send_is_html_and_the_menu_is_registered(api, core, bot):
    await send_and_wait(api, CHAT, lambda: api.command(CHAT, "/help"), 1)
    assert all(c.params.get("parse_mode") == "HTML" for c in api.calls_of("sendMessage"))
    commands = {c["command"]: c["description"] for c in api.commands}
    assert set(commands) == set(MENU)
    assert all(commands.values())
    assert api.calls_of("setMyCommands")[0].seq < api.calls_of("getUpdates")[0].seq


@pytest.mark.parametrize(("code", "number"), [("GB", "999"), ("US", "911"), ("AU", "000")])
async def test_overdose_message_sends_the_emergency_number_first(api, core, bot, code, number):
    await choose_country(api, code)
    expected = core.handle(OVERDOSE_TEXT, code)
    assert expected.route == "overdose"
    mark = len(api.calls)
    sent = await send_and_wait(
        api, CHAT, lambda: api.text(CHAT, OVERDOSE_TEXT), len(expected.messages)
    )
    assert texts(sent) == list(expected.messages)
    assert number in sent[0].text
    work = [c for c in api.calls[mark:] if c.method != "getUpdates"]
    assert work[0].method == "sendMessage" and work[0].text == expected.messages[0]
    assert not api.calls_of("sendChatAction")
    assert sent[-1].callback_data() == [b.action for b in expected.buttons]


async def test_overdose_without_a_country_still_leads_with_emergency_numbers(api, core, bot):
    expected = core.handle(OVERDOSE_TEXT, None)
    sent = await send_and_wait(
        api, CHAT, lambda: api.text(CHAT, OVERDOSE_TEXT), len(expected.messages)
    )
    assert sent[0].text == expected.messages[0]


@pytest.mark.parametrize(
    ("command", "intent"),
    [("/sos", "overdose"), ("/emergency", "overdose"), ("/crisis", "suicide")],
)
async def test_emergency_commands(api, core, bot, command, intent):
    await choose_country(api, "US")
    expected = core.topic(intent, "US")
    sent = await send_and_wait(
        api, CHAT, lambda: api.command(CHAT, command), len(expected.messages)
    )
    assert texts(sent) == list(expected.messages)


async def test_deep_link_opens_the_topic_then_asks_the_country(api, core, bot):
    expected = core.topic("naloxone", None)
    sent = await send_and_wait(
        api, CHAT, lambda: api.command(CHAT, "/start naloxone"), len(expected.messages) + 1
    )
    assert texts(sent[:-1]) == list(expected.messages)
    assert sent[-1].text == core.message("ask_country", None).messages[0]


async def test_unknown_deep_link_is_an_ordinary_start(api, core, bot):
    sent = await send_and_wait(api, CHAT, lambda: api.command(CHAT, "/start nonsense_id"), 2)
    assert sent[0].text == core.message("welcome", None).messages[0]


async def test_topic_button_opens_the_topic_and_is_answered(api, core, bot):
    await choose_country(api, "IE")
    expected = core.topic("withdrawal_symptoms", "IE")
    sent = await send_and_wait(
        api, CHAT, lambda: api.press(CHAT, "intent:withdrawal_symptoms"), len(expected.messages)
    )
    assert texts(sent) == list(expected.messages)
    await api.wait_for(lambda a: len(a.calls_of("answerCallbackQuery")) == 2)


async def test_an_old_or_unknown_button_is_answered_with_the_topics(api, core, bot):
    """A button from an old message (a topic since removed): the press is answered and the
    user gets the topic menu, never an error."""
    menu = core.message("topics", None)
    sent = await send_and_wait(api, CHAT, lambda: api.press(CHAT, "intent:no_such_topic"),
                               len(menu.messages))
    await api.wait_for_calls("answerCallbackQuery")
    assert texts(sent) == list(menu.messages)


CLARIFY_CANDIDATES = (
    "medication",
    "treatment",
    "help me",
    "meds for opioids",
    "methadone or buprenorphine",
    "pills",
    "withdrawal",
    "naloxone",
    "quit",
    "support",
)


async def test_clarify_offers_buttons_that_open_topics(api, core, bot):
    phrase = next((p for p in CLARIFY_CANDIDATES if core.handle(p, None).route == "clarify"), None)
    assert phrase is not None, "no candidate phrase gets a clarify reply any more"
    expected = core.handle(phrase, None)
    [clarify] = await send_and_wait(api, CHAT, lambda: api.text(CHAT, phrase), 1)
    assert clarify.text == expected.messages[0]
    assert clarify.callback_data() == [b.action for b in expected.buttons]
    first = expected.buttons[0].action
    topic = core.topic(first.split(":", 1)[1], None)
    sent = await send_and_wait(api, CHAT, lambda: api.press(CHAT, first), len(topic.messages))
    assert texts(sent) == list(topic.messages)


async def test_free_text_answer_has_buttons_under_the_last_message(api, core, bot):
    await choose_country(api, "GB")
    question = "how long does withdrawal last"
    expected = core.handle(question, "GB")
    sent = await send_and_wait(api, CHAT, lambda: api.text(CHAT, question), len(expected.messages))
    assert texts(sent) == list(expected.messages)
    assert all(not c.callback_data() for c in sent[:-1])
    assert sent[-1].callback_data() == [b.action for b in expected.buttons]


async def test_typed_country_after_country_command(api, core, bot):
    await send_and_wait(api, CHAT, lambda: api.command(CHAT, "/country"), 1)
    confirm, _topics = await send_and_wait(api, CHAT, lambda: api.text(CHAT, "uk"), 2)
    assert confirm.text == core.message("country_set", "GB").messages[0]

    await send_and_wait(api, CHAT, lambda: api.command(CHAT, "/country"), 1)
    [sorry] = await send_and_wait(api, CHAT, lambda: api.text(CHAT, "Narnia"), 1)
    assert sorry.text == core.message("country_not_understood", "GB").messages[0]
    assert "country:GB" in sorry.callback_data()


async def test_country_name_is_taken_as_the_answer_while_none_is_set(api, core, bot):
    confirm, topics = await send_and_wait(api, CHAT, lambda: api.text(CHAT, "ireland"), 2)
    assert confirm.text == core.message("country_set", "IE").messages[0]
    assert topics.callback_data() == topic_actions(core)


async def test_emergency_wins_over_a_pending_country_question(api, core, bot):
    await send_and_wait(api, CHAT, lambda: api.command(CHAT, "/country"), 1)
    expected = core.handle(OVERDOSE_TEXT, None)
    sent = await send_and_wait(
        api, CHAT, lambda: api.text(CHAT, OVERDOSE_TEXT), len(expected.messages)
    )
    assert sent[0].text == expected.messages[0]


async def test_other_country(api, core, bot):
    await send_and_wait(api, CHAT, lambda: api.command(CHAT, "/country"), 1)
    confirm, _ = await send_and_wait(api, CHAT, lambda: api.press(CHAT, "country:other"), 2)
    assert confirm.text == core.message("country_other", None).messages[0]


async def test_country_survives_a_restart(api, core, runner):
    async with runner.running():
        await choose_country(api, "GB")
    async with runner.running():
        expected = core.handle(OVERDOSE_TEXT, "GB")
        sent = await send_and_wait(
            api, CHAT, lambda: api.text(CHAT, OVERDOSE_TEXT), len(expected.messages)
        )
        assert "999" in sent[0].text


def stored_users(state_dir) -> dict:
    """What the state file holds: {user_id: {field: value}}, unset fields left out."""
    conn = sqlite3.connect(state_dir / STATE_FILE)
    try:
        rows = conn.execute("SELECT user_id, country, language FROM users").fetchall()
    finally:
        conn.close()
    return {
        user_id: {k: v for k, v in (("country", country), ("language", language)) if v}
        for user_id, country, language in rows
    }


async def test_only_the_country_is_stored(api, core, runner):
    async with runner.running():
        await choose_country(api, "GB")
        await send_and_wait(
            api, CHAT + 1, lambda: api.text(CHAT + 1, "how long does withdrawal last"), 1
        )
        assert stored_users(runner.state_dir) == {CHAT: {"country": "GB"}}
    assert stored_users(runner.state_dir) == {CHAT: {"country": "GB"}}
    assert (runner.state_dir / STATE_FILE).stat().st_mode & 0o777 == 0o600
    assert [p.name for p in runner.state_dir.iterdir()] == [STATE_FILE]


async def test_forget_erases_the_user_after_confirmation(api, core, runner):
    async with runner.running():
        await choose_country(api, "GB")
        assert CHAT in stored_users(runner.state_dir)

        [confirm] = await send_and_wait(api, CHAT, lambda: api.command(CHAT, "/forget"), 1)
        assert confirm.text == core.message("forget_confirm", "GB").messages[0]
        assert confirm.callback_data() == ["forget:yes", "forget:no"]
        [kept] = await send_and_wait(api, CHAT, lambda: api.press(CHAT, "forget:no"), 1)
        assert kept.text == core.message("forget_cancelled", "GB").messages[0]
        assert CHAT in stored_users(runner.state_dir)

        await send_and_wait(api, CHAT, lambda: api.command(CHAT, "/forget"), 1)
        [done] = await send_and_wait(api, CHAT, lambda: api.press(CHAT, "forget:yes"), 1)
        assert done.text == core.message("forget_done", None).messages[0]
        assert CHAT not in stored_users(runner.state_dir)

        expected = core.handle(OVERDOSE_TEXT, None)
        sent = await send_and_wait(
            api, CHAT, lambda: api.text(CHAT, OVERDOSE_TEXT), len(expected.messages)
        )
        assert sent[0].text == expected.messages[0]
    assert CHAT not in stored_users(runner.state_dir)


@pytest.mark.parametrize(
    ("push", "key"),
    [
        (lambda api: api.sticker(CHAT), "media"),
        (lambda api: api.photo(CHAT), "media"),
        (lambda api: api.voice(CHAT), "voice"),
        (lambda api: api.location(CHAT), "location"),
        (lambda api: api.edit(CHAT, "what is methadone"), "edited"),
    ],
)
async def test_non_text_messages_get_a_short_reply(api, core, bot, push, key):
    [reply] = await send_and_wait(api, CHAT, lambda: push(api), 1)
    assert reply.text == core.message(key, None).messages[0]


@pytest.mark.parametrize(
    "push",
    [
        lambda api: api.photo(CHAT, caption="he is not breathing and his lips are blue"),
        lambda api: api.edit(CHAT, "he is not breathing and his lips are blue"),
    ],
)
async def test_an_emergency_in_a_caption_or_edit_is_answered_as_one(api, core, bot, push):
    expected = core.handle("he is not breathing and his lips are blue", None)
    assert expected.route == "overdose"
    sent = await send_and_wait(api, CHAT, lambda: push(api), len(expected.messages))
    assert sent[0].text == expected.messages[0]


GROUP = -100777


async def test_groups_only_get_answers_when_addressed(api, core, bot):
    question = "what is methadone"
    ignored = api.text(GROUP, question, user_id=5, chat_type="supergroup")
    await api.wait_until_fetched(ignored)
    sticker = api.push(
        "message",
        api._message(
            GROUP,
            5,
            "supergroup",
            sticker={
                "file_id": "s",
                "file_unique_id": "s",
                "type": "regular",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
            },
        ),
    )
    await api.wait_until_fetched(sticker)
    assert not api.sent_to(GROUP)

    expected = core.handle(question, None)
    sent = await send_and_wait(
        api,
        GROUP,
        lambda: api.text(
            GROUP, f"@recovery_test_bot {question}", user_id=5, chat_type="supergroup"
        ),
        len(expected.messages),
    )
    assert texts(sent) == list(expected.messages)
    sent = await send_and_wait(
        api,
        GROUP,
        lambda: api.text(GROUP, question, user_id=5, chat_type="supergroup", reply_to_bot=True),
        len(expected.messages),
    )
    assert texts(sent) == list(expected.messages)
    [help_] = await send_and_wait(
        api,
        GROUP,
        lambda: api.command(GROUP, "/help@recovery_test_bot", user_id=5, chat_type="supergroup"),
        1,
    )
    assert help_.text == Conversation(core).help_reply(None).messages[0]


async def test_unknown_command_in_private_gets_help(api, core, bot):
    [reply] = await send_and_wait(api, CHAT, lambda: api.command(CHAT, "/whatever"), 1)
    assert reply.text == Conversation(core).help_reply(None).messages[0]


async def test_overdose_button_sends_the_emergency_before_answering_the_press(api, core, bot):
    await choose_country(api, "GB")
    expected = core.topic("overdose", "GB")
    mark = len(api.calls)
    sent = await send_and_wait(
        api, CHAT, lambda: api.press(CHAT, "intent:overdose"), len(expected.messages)
    )
    assert texts(sent) == list(expected.messages)
    work = [c for c in api.calls[mark:] if c.method != "getUpdates"]
    assert work[0].method == "sendMessage" and "999" in work[0].text
    await api.wait_for(lambda a: len(a.calls_of("answerCallbackQuery")) == 2)
