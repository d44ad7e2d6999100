"""Conversation scenarios (tests/scenarios/*.yaml) played through BOTH shells.

Each scenario runs in the console chat and in the real Telegram application against the fake
Bot API, step by step. Every step checks what the scenario expects (route, intent, phrases,
buttons) and that Telegram sent exactly the console's words and buttons, so the two shells
cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.console import ConsoleChat
from bot.content.html_format import html_to_text
from bot.conversation import Event
from bot.reply.model import Reply
from bot.telegram.companion_jobs import jobs_of
from bot.telegram.shell import shell_of

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
CHAT = 7001


def load_scenarios() -> list[dict[str, Any]]:
    found = []
    for path in sorted(SCENARIOS.glob("*.yaml")):
        for scenario in yaml.safe_load(path.read_text(encoding="utf-8")):
            scenario["file"] = path.name
            found.append(scenario)
    return found


ALL = load_scenarios()


def test_there_are_enough_scenarios_and_names_are_unique():
    names = [s["name"] for s in ALL]
    assert len(names) >= 40
    assert len(set(names)) == len(names)


class Clock:
    """The conversation's clock (seconds) and the wall clock (dates, times of day), both
    controlled by the scenario: ``at: "2026-03-04 09:00"`` (UTC) moves the wall clock."""

    def __init__(self, wall: str = "2026-03-03 12:00") -> None:
        self.now = 1_000.0
        self.wall_time = _moment(wall)

    def __call__(self) -> float:
        return self.now

    def wall(self) -> dt.datetime:
        return self.wall_time


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(str(text)).replace(tzinfo=dt.UTC)


def check_reply(reply: Reply, want: dict[str, Any], where: str, core=None,
                country: str | None = None) -> None:
    text = "\n".join(html_to_text(m) for m in reply.messages)
    labels = [b.label for b in reply.buttons]
    actions = [b.action for b in reply.buttons]
    if "route" in want:
        assert reply.route == want["route"], f"{where}: route {reply.route}"
    if "intent" in want:
        assert reply.intent == want["intent"], f"{where}: intent {reply.intent}"
    for phrase in want.get("contains", []):
        assert phrase.casefold() in text.casefold(), f"{where}: {phrase!r} not in {text!r}"
    for phrase in want.get("not_contains", []):
        assert phrase.casefold() not in text.casefold(), f"{where}: {phrase!r} in reply"
    for button in want.get("buttons_include", []):
        assert button in labels or button in actions, f"{where}: no button {button!r}: {labels}"
    if "buttons" in want:
        assert actions == want["buttons"] or labels == want["buttons"], f"{where}: {actions}"
    if "same_as" in want:  # the vetted text in that language: {topic|message: id, lang: xx}
        same = want["same_as"]
        lang = same.get("lang", "en")
        base = (core.topic(same["topic"], country, lang) if "topic" in same
                else core.message(same["message"], country, lang))
        assert reply.messages[0].startswith(base.messages[0].rstrip("\n")[:200]), (
            f"{where}: not the {lang} text of {same}: {reply.messages[0][:120]!r}")
    for url in want.get("urls_include", []):
        assert url in [b.url for b in reply.buttons], f"{where}: no link {url}"
    if "buttons_first" in want:
        assert labels and labels[0] == want["buttons_first"], f"{where}: {labels[:3]}"


def press_action(chat: ConsoleChat, target: str) -> str:
    for button in chat.buttons:
        if target in (button.label, button.action):
            return button.action
    if ":" in target:
        return target
    raise AssertionError(f"no button {target!r} to press: {[b.label for b in chat.buttons]}")


def console_step(chat: ConsoleChat, step: dict[str, Any]) -> list[Reply]:
    before = len(chat.replies)
    if "press" in step:
        chat.press(press_action(chat, step["press"]))
    elif step.get("sticker"):
        chat.handle(Event("media"))
    elif step.get("tick"):
        chat.tick()
    else:
        chat.say(step["send"])
    return chat.replies[before:]


async def telegram_step(api, chat_id: int, step: dict[str, Any], action: str | None,
                        expected: list[Reply], application=None) -> list:
    before = len(api.sent_to(chat_id))
    if action is not None:
        api.press(chat_id, action)
    elif step.get("sticker"):
        api.sticker(chat_id)
    elif step.get("tick"):
        await jobs_of(application).tick()
    else:
        api.text(chat_id, step["send"])
    count = sum(len(r.messages) for r in expected)
    sent = await api.wait_for_sent(chat_id, before + count)
    return sent[before:]


@pytest.mark.parametrize("scenario", ALL, ids=[s["name"] for s in ALL])
async def test_scenario_in_both_shells(scenario, api, core, runner):
    clock = Clock(scenario.get("at", "2026-03-03 12:00"))
    chat = ConsoleChat(core, None, io.StringIO(), language=scenario.get("language"),
                       clock=clock, wall=clock.wall)
    chat_id = CHAT
    if scenario.get("language"):
        api.language_codes[chat_id] = scenario["language"]
    async with runner.running() as application:
        shell_of(application).clock = clock
        shell_of(application).wall = clock.wall
        setup = []
        if scenario.get("country"):
            setup.append({"send": f"/country {scenario['country']}"})
        for step in setup:
            replies = console_step(chat, step)
            await telegram_step(api, chat_id, step, None, replies)
        for n, step in enumerate(scenario["steps"], 1):
            clock.now += 60 * step.get("wait_minutes", 0) + 1
            if "at" in step:
                clock.wall_time = _moment(step["at"])
            where = f"{scenario['file']}: {scenario['name']}: step {n}"
            action = press_action(chat, step["press"]) if "press" in step else None
            replies = console_step(chat, step)
            wants = step.get("expect", [])
            assert len(replies) == len(wants), (
                f"{where}: {len(replies)} replies: {[r.intent for r in replies]}")
            for reply, want in zip(replies, wants, strict=True):
                check_reply(reply, want, where, core, chat.state.country)
            sent = await telegram_step(api, chat_id, step, action, replies, application)
            # identical words and buttons on Telegram
            assert [m.text for m in sent] == [m for r in replies for m in r.messages], where
            index = -1
            for reply in replies:
                index += len(reply.messages)
                assert sent[index].callback_data() == [
                    b.action for b in reply.buttons if not b.url], where
                assert sent[index].urls() == [b.url for b in reply.buttons if b.url], where
