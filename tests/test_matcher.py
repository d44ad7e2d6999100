"""Matching: a clear question answers, an unclear one asks "did you mean", nonsense gets
the topic menu. Everything goes through ``core.handle`` / ``core.classify`` as the shells do.

A finer intent counts as its parent (``naloxone_where_to_get`` answers ``naloxone``).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.content import REQUIRED_INTENTS, SAFETY_INTENTS
from bot.content.html_format import html_to_text
from bot.content.load import load_content
from bot.core import Core
from bot.reply.model import ROUTES
from bot.understand.matcher import parent_of

_TUNING = load_content().tuning
assert _TUNING is not None
ANSWER_MIN, CLARIFY_MIN = _TUNING.answer_min, _TUNING.clarify_min


def answers(core: Core, text: str, country: str | None = None) -> str | None:
    """The required intent the bot answers confidently, or None if it does not. A "possible
    emergency" check counts when its "No, just asking" button opens that answer (one tap)."""
    reply = core.handle(text, country)
    if reply.route == "check" and reply.buttons[-1].action.startswith("intent:"):
        return parent_of(reply.buttons[-1].action.removeprefix("intent:"), REQUIRED_INTENTS)
    if reply.route != "answer" or reply.intent is None:
        return None
    return parent_of(reply.intent, REQUIRED_INTENTS)


# --- clear questions answer the right topic -----------------------------------------------

CLEAR = [
    ("how long does withdrawl last", "withdrawal_timeline"),
    ("when does withdrawal peak", "withdrawal_timeline"),
    ("what does withdrawal feel like", "withdrawal_symptoms"),
    ("is withdrawal dangerous", "withdrawal_help"),
    ("how do i get through withdrawal at home", "withdrawal_help"),
    ("where can i get narcan", "naloxone"),
    ("how do i use narcan", "naloxone"),
    ("what is suboxone", "buprenorphine"),
    ("how long do i wait before taking my first sub", "buprenorphine"),
    ("can i get methadone take homes", "methadone"),
    ("what is vivitrol", "naltrexone"),
    ("where can i find a methadone clinic near me", "find_treatment"),
    ("where can i get clean needles", "harm_reduction"),
    ("never use alone", "harm_reduction"),
    ("where can i get fentanyl test strips", "fentanyl"),
    ("is there fentanyl in heroin", "fentanyl"),
    ("how do i deal with cravings", "cravings"),
    ("what are my triggers", "cravings"),
    ("i relapsed last night", "relapse"),
    ("my son is using heroin what do i do", "helping_someone"),
    ("my dad is on heroin how do i talk to him", "helping_someone"),
    ("how do i get my family to trust me again", "helping_someone"),
    ("i just want to talk to someone", "talk_to_someone"),
    ("are there support groups near me", "talk_to_someone"),
    ("what does heroin do to your brain", "heroin_effects"),
    ("why do i need more to get high", "heroin_effects"),
    ("i'm pregnant and using", "pregnancy"),
    ("is it safe to take methadone while pregnant", "pregnancy"),
    ("i want to stop using", "want_to_quit"),
    ("is recovery even possible", "want_to_quit"),
    ("what treatment options are there", "treatment_options"),
    ("what is cbt", "treatment_options"),
    ("will i get in trouble if i call an ambulance", "good_samaritan"),
    ("what happens if i call 999 will the police come", "good_samaritan"),
    ("how long does methadone withdrawl last", "withdrawal_timeline"),
    ("who are you", "about_bot"),
    ("is this a bot", "about_bot"),
    ("do you store my messages", "about_bot"),
    ("hello", "greeting"),
    ("thanks so much", "thanks"),
    # Spanish
    ("quiero dejar la heroina", "want_to_quit"),
    ("como uso la naloxona", "naloxone"),
    ("mi hijo usa heroina", "helping_someone"),
]


@pytest.mark.parametrize(("text", "intent"), CLEAR)
def test_a_clear_question_gets_the_right_answer(core: Core, text: str, intent: str) -> None:
    assert answers(core, text) == intent, core.classify(text)


ONE_WORD = [
    ("methadone", "methadone"),
    ("methadon", "methadone"),
    ("the done", "methadone"),
    ("narcan", "naloxone"),
    ("naloxone", "naloxone"),
    ("subs", "buprenorphine"),
    ("bupe", "buprenorphine"),
    ("suboxone", "buprenorphine"),
    ("vivitrol", "naltrexone"),
    ("naltrexone", "naltrexone"),
    ("fent", "fentanyl"),
    ("fetty", "fentanyl"),
    ("dopesick", "withdrawal_symptoms"),
    ("detox", "withdrawal_help"),
    ("relapse", "relapse"),
    ("cravings", "cravings"),
    ("pregnant", "pregnancy"),
    ("helpline", "talk_to_someone"),
    ("hi", "greeting"),
    ("hello", "greeting"),
    ("thanks", "thanks"),
    ("cheers", "thanks"),
]


@pytest.mark.parametrize(("text", "intent"), ONE_WORD)
def test_one_word_messages_answer_their_topic(core: Core, text: str, intent: str) -> None:
    assert answers(core, text) == intent, core.classify(text)


def test_an_answer_is_exactly_the_topic_reply(core: Core) -> None:
    # Typing the question and pressing the topic button show the same text and buttons.
    reply = core.handle("how long does withdrawl last", "GB")
    topic = core.topic(reply.intent or "", "GB")
    assert reply.messages == topic.messages
    assert reply.buttons == topic.buttons
    assert reply.score >= ANSWER_MIN


def test_the_country_changes_the_numbers_not_the_topic(core: Core) -> None:
    gb = core.handle("where can i get narcan", "GB")
    us = core.handle("where can i get narcan", "US")
    assert gb.intent == us.intent
    assert gb.route == us.route == "answer"


def test_a_parent_asking_for_help_gets_the_family_topic(core: Core) -> None:
    # reported: it used to get "getting through withdrawal"; the intent head reads it
    assert answers(core, "i need help with my son") == "helping_someone"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("am i talking to a real person", "about_bot"),
    ],
)
@pytest.mark.xfail(strict=True, reason="matcher: wrong topic or no answer (reported)")
def test_known_intent_misses(core: Core, text: str, intent: str) -> None:
    assert answers(core, text) == intent, core.classify(text)


# --- ambiguous: "did you mean" with 2-3 topics ------------------------------------------------

AMBIGUOUS = [
    ("treatment", {"find_treatment", "treatment_options"}),
    ("is it safe", set()),
    ("how do i find a doctor for suboxone", {"find_treatment", "buprenorphine"}),
]


@pytest.mark.parametrize(("text", "expected"), AMBIGUOUS)
def test_an_ambiguous_message_asks_did_you_mean(core: Core, text: str, expected: set[str]) -> None:
    reply = core.handle(text, None)
    assert reply.route == "clarify", core.classify(text)
    assert reply.messages == core.message("clarify", None).messages
    actions = [b.action for b in reply.buttons]
    assert 2 <= len(actions) <= 3
    assert len(set(actions)) == len(actions), "the same topic offered twice"
    assert len({b.label for b in reply.buttons}) == len(actions), "two buttons look the same"
    ids = [a.removeprefix("intent:") for a in actions]
    assert all(a.startswith("intent:") for a in actions)
    assert all(core.has_topic(i) for i in ids)
    assert not set(ids) & set(SAFETY_INTENTS)
    assert expected <= {parent_of(i, REQUIRED_INTENTS) for i in ids}
    assert reply.score >= CLARIFY_MIN


def test_each_did_you_mean_button_opens_its_topic(core: Core) -> None:
    reply = core.handle("treatment", "IE")
    for button in reply.buttons:
        topic = core.topic(button.action.removeprefix("intent:"), "IE")
        assert topic.route == "answer"
        assert button.label == core.content.responses.responses[topic.intent or ""].title


# --- nonsense: the topic menu and a helpline ---------------------------------------------------

GIBBERISH = ["asdfghjkl", "qwerty zxcv", "blorp", "xyzzy plugh", "?????", "123456", "🙂🙂🙂"]


@pytest.mark.parametrize("text", GIBBERISH)
def test_gibberish_falls_back_to_the_topic_menu(core: Core, text: str) -> None:
    reply = core.handle(text, "NZ")
    assert reply.route == "fallback"
    assert reply.intent is None
    assert reply.buttons == core.topic_buttons()
    assert reply.messages == core.message("fallback", "NZ").messages
    text_shown = html_to_text(reply.messages[0])
    assert "0800 787 797" in text_shown  # NZ Alcohol Drug Helpline
    assert "111" in text_shown  # NZ emergency number


def test_the_topic_menu_starts_with_overdose_and_offers_the_crisis_line(core: Core) -> None:
    actions = [b.action for b in core.topic_buttons()]
    assert actions[0] == "intent:overdose"
    assert "intent:suicide" in actions
    assert len(actions) == len(set(actions))


@pytest.mark.parametrize("text", ["", " ", "\n", "\t \n"])
def test_an_empty_message_asks_for_words(core: Core, text: str) -> None:
    reply = core.handle(text, None)
    assert reply.messages == core.message("empty", None).messages


def test_a_very_long_unmatched_message_asks_for_a_shorter_one(core: Core) -> None:
    text = "blah " * 1000
    reply = core.handle(text, "GB")
    assert reply.route == "fallback"
    assert reply.messages == core.message("too_long", "GB").messages
    assert "999" in html_to_text(reply.messages[0])


# --- out of scope: never a confident wrong answer ------------------------------------------------

OUT_OF_SCOPE = [
    "how do i make a withdrawal from my bank account",
    "i want to quit smoking",
    "i want to quit vaping",
    "nicotine withdrawal",
    "caffeine withdrawal headache",
    "overdid it at the gym",
    "my phone battery is dying",
    "this song is dope",
    "whats the weather tomorrow",
    "can you help with my maths homework",
    "recommend a good movie",
    "how do i quit my job",
    "who won the football",
    "tell me a joke",
    "what's the capital of france",
    "lorem ipsum dolor sit amet",
    "time to kill before my appointment",
    "we fell out over money",
    "i fell out of bed lol",
]

OUT_OF_SCOPE_ANSWERED = [
    "forgot my password how do i reset it",
    "best kebab near me",
    "i'm addicted to this show lol",
]


@pytest.mark.parametrize("text", OUT_OF_SCOPE)
def test_out_of_scope_messages_are_never_answered_confidently(core: Core, text: str) -> None:
    # "check" (the possible-emergency question with the numbers) is not an answer either
    assert core.handle(text, None).route in ("clarify", "fallback", "check"), core.classify(text)


@pytest.mark.xfail(strict=True, reason="matcher: confident wrong answer to an off-topic message")
@pytest.mark.parametrize("text", OUT_OF_SCOPE_ANSWERED)
def test_known_confident_answers_to_off_topic_messages(core: Core, text: str) -> None:
    assert core.handle(text, None).route in ("clarify", "fallback"), core.classify(text)


VAGUE = ["what now", "info", "tell me more", "how much", "where", "can i", "question"]


@pytest.mark.parametrize("text", VAGUE)
def test_a_vague_message_without_a_topic_word_is_not_answered(core: Core, text: str) -> None:
    # "info" answered with methadone, "what now" with pregnancy: both would confuse.
    assert core.handle(text, None).route in ("clarify", "fallback"), core.classify(text)


# --- thresholds hold for any text ------------------------------------------------------------

WORDS = st.sampled_from(
    [
        "how",
        "long",
        "does",
        "withdrawal",
        "last",
        "my",
        "son",
        "heroin",
        "is",
        "it",
        "safe",
        "where",
        "get",
        "narcan",
        "subs",
        "methadone",
        "pregnant",
        "help",
        "quit",
        "clinic",
        "pills",
        "the",
        "a",
        "to",
        "i",
        "what",
        "bank",
        "weather",
        "song",
        "gym",
        "asdf",
        "zzz",
        "qq",
        "naloxone",
        "fentanyl",
        "strips",
        "relapse",
        "craving",
        "family",
        "police",
        "doctor",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.lists(WORDS, min_size=1, max_size=8).map(" ".join), st.text(max_size=80)))
def test_routes_follow_the_score_thresholds(core: Core, text: str) -> None:
    c = core.classify(text)
    reply = core.handle(text, None)
    assert reply.route in ROUTES
    assert [s for _, s in c.candidates] == sorted((s for _, s in c.candidates), reverse=True)
    if c.route == "answer":
        assert c.intent is not None and core.has_topic(c.intent)
        assert c.intent not in SAFETY_INTENTS, "the matcher must never pick overdose/suicide"
        assert c.score >= ANSWER_MIN or c.score == 100.0
        assert reply.messages == core.topic(c.intent, None).messages
    elif c.route == "clarify":
        assert c.score >= CLARIFY_MIN
        assert 2 <= len(reply.buttons) <= 3
        assert len({b.action for b in reply.buttons}) == len(reply.buttons)
    elif c.route == "fallback":
        assert c.intent is None
        assert c.score < CLARIFY_MIN
        if text.strip():
            assert reply.buttons == core.topic_buttons()
    elif c.route == "check":  # a possible emergency: the question, and the calm answer behind it
        assert reply.route == "check" and len(reply.buttons) == 3
        assert reply.buttons[0].action == "intent:overdose"
        assert reply.buttons[1].action == "intent:suicide"
    else:
        assert c.intent in SAFETY_INTENTS
