"""The companion in the console, in every language the bot speaks and with every country's
meeting finders the reference lists (clock controlled, no sleeping)."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from bot.companion import meetings
from bot.companion.flow import fill
from bot.companion.settings import hhmm
from bot.console import ConsoleChat
from bot.content.translations import COMPANION_MESSAGES, LANGUAGES
from bot.core import Core


@pytest.fixture(scope="module")
def core() -> Core:
    return Core.load()


class Wall:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 3, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_companion_speaks_every_language(core, lang):
    wall = Wall()
    chat = ConsoleChat(core, "GB", io.StringIO(), wall=wall)
    chat.say(f"/language {lang}")
    chat.say("/cleandate")
    assert chat.replies[-1].messages == core.message("cleandate_ask", "GB", lang).messages
    chat.press("cd:yesterday")
    said, ask = chat.replies[-2:]
    assert ask.buttons[-1].action == "ms:off"
    assert "2026-03-02" in said.text and "<b>1</b>" in said.text
    assert "[" not in said.text  # every slot filled
    chat.press("ms:540")
    chat.press("tz:Europe/London")
    wall.now = dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.UTC)  # day 2: no milestone
    before = len(chat.replies)
    chat.tick()
    assert len(chat.replies) == before
    wall.now = dt.datetime(2026, 3, 5, 9, 0, tzinfo=dt.UTC)  # day 3
    chat.tick()
    milestone = chat.replies[-1]
    want = fill(core.message("milestone_early", "GB", lang), days=3, weeks=0, months=0,
                years=0)
    assert milestone.messages == want.messages and "[" not in milestone.text
    chat.say("/mydata")
    mine = chat.replies[-1].text
    assert "2026-03-02" in mine and hhmm(540) in mine and "Europe/London" in mine
    assert core.message("mydata", "GB", lang).messages[0].split("\n")[0] in mine


@pytest.mark.parametrize("lang", [la for la in LANGUAGES if la != "en"])
def test_every_companion_message_is_translated(core, lang):
    note = core.content.translations[lang].english_only
    for key in COMPANION_MESSAGES:
        assert note not in core.message(key, "GB", lang).text, (lang, key)
        assert core.message(key, "GB", lang).text != core.message(key, "GB", "en").text


@pytest.mark.parametrize("country", sorted({*meetings.NA_LOCAL, *meetings.SMART_LOCAL, "US"}))
def test_every_countrys_meeting_finders(core, country):
    chat = ConsoleChat(core, country, io.StringIO())
    chat.say("/meetings")
    chat.press("mt:me")
    urls = [b.url for b in chat.replies[-1].buttons]
    assert meetings.NA_WORLD[1] in urls and meetings.NA_ONLINE[1] in urls
    if country in meetings.NA_LOCAL:
        assert urls[0] == meetings.NA_LOCAL[country]
    if country in meetings.SMART_LOCAL:
        assert meetings.SMART_LOCAL[country][0] in urls
    chat.press("mt:family")
    family = [b.url for b in chat.replies[-1].buttons]
    assert family[0] == (meetings.NAR_ANON_US if country == "US" else meetings.NAR_ANON)[1]
    assert meetings.FAMILIES_ANONYMOUS[1] in family[:3] and meetings.AL_ANON[1] in family[:3]
    out = io.StringIO()
    shown = ConsoleChat(core, country, out)
    shown.say("/meetings")
    shown.press("mt:me")
    shown.say("1")  # a link button: the console prints where it goes
    assert urls[0] in out.getvalue().splitlines()
