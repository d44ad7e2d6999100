"""Whatever arrives, the core answers: a valid reply, never a crash, never unbounded work.

Property-based (hypothesis) over arbitrary Unicode, control characters, lone surrogates,
empty and 100,000-character messages. Every reply must be something Telegram accepts:
valid Telegram HTML, each message under 4,096 characters, one of the five routes. Work is
bounded by counting (the normaliser corrects at most MAX_CORRECTIONS words and reads at
most MAX_CHARS characters), never by timing.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.content.html_format import MAX_MESSAGE_CHARS, html_problems, html_to_text
from bot.core import Core
from bot.reply.model import ROUTES, Reply
from bot.text.normalize import MAX_CHARS, MAX_CORRECTIONS

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COUNTRIES = st.sampled_from([None, "US", "GB", "DE", "FR", "ES", "AU", "XX", ""])
DANGER = ["he is not breathing", "i want to die", "she overdosed", "lips are blue", "od"]
# Unicode categories people and machines send: letters of every script, marks, symbols
# (emoji), digits, punctuation, separators, controls, format characters (zero-width,
# bidi), private use, unassigned, and lone surrogates ("Cs").
ANY_CHAR = st.characters(codec=None, categories=None)
HOSTILE_CHAR = st.characters(categories=["Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Mn", "Me"])
TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=200),
    st.text(HOSTILE_CHAR, max_size=50),
    st.lists(st.one_of(st.sampled_from(DANGER), st.text(HOSTILE_CHAR, max_size=3)), max_size=8).map(
        "".join
    ),
)


def assert_valid(reply: Reply) -> None:
    assert isinstance(reply, Reply)
    assert reply.route in ROUTES
    assert reply.messages, "a reply with nothing to send"
    for message in reply.messages:
        assert html_problems(message) == [], (message[:200], html_problems(message))
        assert len(html_to_text(message)) < MAX_MESSAGE_CHARS
        assert len(message) < MAX_MESSAGE_CHARS
    for button in reply.buttons:
        assert button.label.strip()
        assert len(button.action.encode("utf-8")) <= 64


@SETTINGS
@given(text=TEXT, country=COUNTRIES)
def test_any_text_gets_a_valid_reply(core: Core, text: str, country: str | None) -> None:
    assert_valid(core.handle(text, country))


@SETTINGS
@given(
    text=st.text(st.characters(categories=["Cs"]), min_size=1, max_size=20),
    danger=st.sampled_from(DANGER),
)
def test_lone_surrogates_do_not_hide_an_emergency(core: Core, text: str, danger: str) -> None:
    # A half emoji from a broken client ("\ud83d") must not stop the safety check.
    reply = core.handle(f"{text}{danger}{text}", None)
    assert_valid(reply)
    assert reply.route in ("overdose", "crisis")


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n\t\r ",
        "\u200b\u200c\u200d\ufeff",
        "\x00\x01\x02\x1b[31m",
        "\ud800",
        "\udfff\ud800",
        "\U0010ffff",
        "\u202eesrevodrev\u202c",
        "<b>not breathing</b>",
        "</b><i>& &amp; &lt; <a href='x'>",
        "\u0000" * 5000,
    ],
)
def test_odd_messages_get_a_valid_reply(core: Core, text: str) -> None:
    for country in (None, "GB"):
        assert_valid(core.handle(text, country))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunk=st.text(ANY_CHAR, min_size=1, max_size=40))
def test_a_100000_character_message_gets_a_valid_reply(core: Core, chunk: str) -> None:
    text = (chunk * (100_000 // len(chunk) + 1))[:100_000]
    assert_valid(core.handle(text, "US"))


def test_empty_and_blank_messages_get_the_empty_message(core: Core) -> None:
    for text in ("", "   ", "\n\n"):
        reply = core.handle(text, None)
        assert reply.messages == core.message("empty", None).messages


def test_a_huge_message_gets_the_too_long_reply_and_stays_valid(core: Core) -> None:
    reply = core.handle("lorem ipsum dolor sit amet " * 1000, None)
    assert_valid(reply)
    assert reply.messages == core.message("too_long", None).messages


@pytest.mark.parametrize(
    "danger", ["he is not breathing", "i want to kill myself", "she overdosed"]
)
def test_an_emergency_at_the_start_of_a_huge_message_is_still_seen(core: Core, danger: str):
    text = danger + " " + "blah " * 20_000
    assert core.handle(text, None).route in ("overdose", "crisis")


# --- bounded work, counted not timed ----------------------------------------------------


def _words(n: int) -> str:
    """``n`` different made-up words: none is known, so each one costs a correction."""
    letters = "bcdfghjklmnpqrstvwxz"
    out = []
    for i in range(n):
        word, k = "", i + 10_000
        while k:
            k, r = divmod(k, len(letters))
            word += letters[r]
        out.append("q" + word + "u")
    return " ".join(out)


ADVERSARIAL = {
    "different-unknown-words": _words(20_000),
    "one-100000-letter-word": "ab" * 50_000,
    "spaced-letters": " ".join("qwertzuiopasdfghjkl" * 3000),
    "spaced-words": "   ".join(" ".join(w) for w in _words(8000).split()),
    "glued-words": "notbreathing" * 9000,
    "stretched": " ".join("ooooverrrdoooseeee" for _ in range(7000)),
    "leetspeak": " ".join(f"h3lp{i}m3" for i in range(15_000)),
}


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_normalising_does_bounded_work(core: Core, name: str, monkeypatch) -> None:
    normaliser = core.normalise
    calls: Counter[str] = Counter()
    correct, nearest = normaliser.correct, normaliser._nearest

    def counting_correct(token: str) -> str:
        calls["correct"] += 1
        return correct(token)

    def counting_nearest(token: str) -> str | None:
        calls["nearest"] += 1  # the expensive step: a fuzzy search of the vocabulary
        return nearest(token)

    monkeypatch.setattr(normaliser, "correct", counting_correct)
    monkeypatch.setattr(normaliser, "_nearest", counting_nearest)
    text = ADVERSARIAL[name]
    assert len(text) > MAX_CHARS
    result = normaliser(text)
    # Only the first MAX_CHARS characters are read ...
    assert result.tokens == normaliser(text[:MAX_CHARS]).tokens
    # ... and a fixed number of words is corrected, however the message is built.
    assert calls["correct"] <= 4 * MAX_CORRECTIONS, calls
    assert calls["nearest"] <= 2 * calls["correct"], calls
    assert_valid(core.handle(text, None))


def test_the_counting_is_not_vacuous(core: Core, monkeypatch) -> None:
    """The counters above see corrections: a few unknown words are a few calls."""
    calls: Counter[str] = Counter()
    correct = core.normalise.correct
    monkeypatch.setattr(
        core.normalise, "correct", lambda t: calls.update(["correct"]) or correct(t)
    )
    core.normalise(_words(50))
    assert calls["correct"] == 50
