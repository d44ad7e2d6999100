"""Known false-alarm traps stay calm: no overdose or crisis reply for ordinary messages.

A false alarm is the second-worst bug this project can have: a bot that answers "my
battery is dying" with ambulance instructions teaches people to skip the reply that one
day matters. ``tests/data/false_alarm_phrases.txt`` is the regression file: add every false
alarm found in the wild there (one per line, ``#`` for comments).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_evasion import apply

from bot.core import Core

PHRASES = Path(__file__).parent / "data" / "false_alarm_phrases.txt"
URGENT = ("overdose", "crisis")
# Disguises that keep the words readable: the message still means the same thing.
SAME_MEANING = ("all_caps", "zero_width", "look_alikes", "emoji", "line_breaks", "stretched_vowels")


def read_phrases() -> list[str]:
    lines = PHRASES.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _id(n: int, text: str) -> str:
    return f"{n:03d}-" + "_".join(
        "".join(c for c in w if c.isalnum()) for w in text.lower().split()[:6]
    )


CASES = [pytest.param(text, id=_id(n, text)) for n, text in enumerate(read_phrases(), 1)]


def test_the_regression_file_covers_the_known_traps():
    phrases = set(read_phrases())
    for trap in (
        "bank withdrawal",
        "my battery is dying",
        "I overslept",
        "I overdid it at the gym",
        "this traffic is killing me",
        "I'm dead 😂",
        "that song is fire",
        "that song is dope",
        "overdosed on netflix",
        "my plant is dying",
        "blue jeans",
        "kids lips blue from slushie",
    ):
        assert trap in phrases, trap
    assert len(phrases) >= 100


@pytest.mark.parametrize("text", CASES)
def test_an_ordinary_message_gets_no_emergency_reply(core: Core, text: str) -> None:
    reply = core.handle(text, "GB")
    assert reply.route not in URGENT, (text, core.normalise(text).text)
    assert reply.intent not in ("overdose", "suicide")


@pytest.mark.parametrize("transform", SAME_MEANING)
def test_disguising_an_ordinary_message_does_not_make_it_alarming(
    core: Core, transform: str
) -> None:
    alarms = []
    for text in read_phrases():
        disguised = apply(transform, text)
        route = core.classify(disguised).route
        if route in URGENT:
            alarms.append((text, disguised, route))
    assert not alarms
