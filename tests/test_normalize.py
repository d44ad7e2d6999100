"""Normalisation: what people type at 3 a.m. becomes words the safety check can read.

Every test here is about a message a person could send: capitals, phone autocorrect
apostrophes, look-alike letters pasted from elsewhere, typos, slang. The normaliser is
built from the real content (``core.normalise``), exactly as the bot uses it.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core import Core
from bot.text.normalize import MAX_CHARS, clean_unicode, squeeze, to_tokens


def tokens(core: Core, text: str) -> tuple[str, ...]:
    return core.normalise(text).tokens


# --- the same word, however it is typed ------------------------------------------------

OVERDOSE_SPELLINGS = [
    "overdose",
    "OVERDOSE",
    "Overdose",
    "ooooverdoseeee",
    "o v e r d o s e",
    "0verd0se",
    "ov3rd0se",
    "over\u200bdose",  # zero-width space pasted from another app
    "over\u00addose",  # soft hyphen
    "\uff4f\uff56\uff45\uff52\uff44\uff4f\uff53\uff45",  # full-width letters
    "\u043everdose",  # Cyrillic o
    "overd\u03bfse",  # Greek omicron
    "\u00f6verd\u00f3se",  # accents
    "over dose",
    "overdoes",
    "od",
    "OD",
    "o.d.",
    "sobredosis",
]


@pytest.mark.parametrize("typed", OVERDOSE_SPELLINGS)
def test_every_spelling_of_overdose_reads_as_overdose(core: Core, typed: str) -> None:
    assert tokens(core, typed) == ("overdose",)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("he od'd", ("he", "overdosed")),
        ("he OD\u2019d", ("he", "overdosed")),  # phone keyboards type a curly apostrophe
        ("she's oding", ("she", "is", "overdosing")),
        ("shes ODing", ("she", "is", "overdosing")),
        ("he overdosed", ("he", "overdosed")),
    ],
)
def test_od_forms_keep_their_tense(core: Core, typed: str, expected: tuple[str, ...]) -> None:
    # The safety check tells "overdosed" (it happened) from "overdose" (the topic).
    assert tokens(core, typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("can't wake him", ("can", "not", "wake", "him")),
        ("cant wake him", ("can", "not", "wake", "him")),
        ("can\u2019t wake him", ("can", "not", "wake", "him")),
        ("he won't wake up", ("he", "will", "not", "wake", "up")),
        ("hes not breathing", ("he", "is", "not", "breathing")),
        ("im scared", ("i", "am", "scared")),
    ],
)
def test_contractions_with_and_without_apostrophes(
    core: Core, typed: str, expected: tuple[str, ...]
) -> None:
    assert tokens(core, typed) == expected


# --- slang and brand names -------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "word"),
    [
        ("subs", "buprenorphine"),
        ("bupe", "buprenorphine"),
        ("suboxone", "buprenorphine"),
        ("subutex", "buprenorphine"),
        ("sublocade", "buprenorphine"),
        ("the done", "methadone"),
        ("metadona", "methadone"),
        ("narcan", "naloxone"),
        ("nyxoid", "naloxone"),
        ("naloxona", "naloxone"),
        ("vivitrol", "naltrexone"),
        ("vivatrol", "naltrexone"),
        ("fent", "fentanyl"),
        ("fetty", "fentanyl"),
        ("smack", "heroin"),
        ("heroina", "heroin"),
        ("dopesick", "withdrawal"),
        ("dope sick", "withdrawal"),
        ("withdrawl", "withdrawal"),
        ("withdrawel", "withdrawal"),
        ("wd", "withdrawal"),
        ("w/d", "withdrawal"),
        ("kms", "kill"),
    ],
)
def test_slang_and_misspellings_expand_to_the_word_content_uses(
    core: Core, typed: str, word: str
) -> None:
    assert word in tokens(core, typed)


def test_words_keep_what_the_user_wrote_before_slang_expansion(core: Core) -> None:
    message = core.normalise("where do i get subs")
    assert "subs" in message.words
    assert "buprenorphine" in message.tokens
    assert "subs" not in message.tokens


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("sucidal", "suicidal"),
        ("suicidle", "suicide"),
        ("unresponsiv", "unresponsive"),
        ("unconcious", "unconscious"),
        ("breathng", "breathing"),
        ("overdosin", "overdosing"),
        ("naloxene", "naloxone"),
    ],
)
def test_typos_of_safety_words_are_corrected(core: Core, typed: str, expected: str) -> None:
    assert tokens(core, typed) == (expected,)


# --- real words are never "corrected" into alarming ones ------------------------------


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("he keeps lying to me about using", "lying"),
        ("she is lying on the sofa watching tv", "lying"),
        ("i'm putting the kettle on", "putting"),
        ("my hair is dying", "hair"),
        ("i was crying all night", "crying"),
        ("i was crying all night", "night"),
        ("i'm trying my best", "trying"),
    ],
)
def test_real_english_words_are_not_corrected(core: Core, text: str, kept: str) -> None:
    assert kept in tokens(core, text)


def test_lying_is_never_read_as_dying(core: Core) -> None:
    # "lying" is one letter from "dying"; correcting it would send a family member
    # worried about lies straight to the overdose steps.
    assert "dying" not in tokens(core, "my son keeps lying to me about heroin")
    assert core.classify("my son keeps lying to me about heroin").route != "overdose"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("took 20mg", ("took", "20mg")),
        ("on 80ml of the done", ("on", "80ml", "of", "the", "done")),
        ("did 3 bags", ("did", "3", "bags")),
        ("2 m30s", ("2", "m30s")),
        ("since 10am", ("since", "10am")),
    ],
)
def test_numbers_and_doses_are_not_read_as_leetspeak(
    core: Core, text: str, words: tuple[str, ...]
) -> None:
    # "20mg" must not become "zomg", nor "m30s" become "meos".
    assert core.normalise(text).words == words


# --- punctuation people type in a panic ----------------------------------------------

PANIC_PUNCTUATION = [
    ("she's turning blue!", "blue"),
    ("lips are blue!!", "blue"),
    ("i want to die!", "die"),
    ("help!!!", "help"),
    ("he's gone grey!!", "grey"),
    ("he won't wake up!", "up"),
]


@pytest.mark.parametrize(("text", "word"), PANIC_PUNCTUATION)
def test_exclamation_marks_do_not_change_the_word(core: Core, text: str, word: str) -> None:
    assert word in tokens(core, text)


# --- the message as a whole ----------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["", "   ", "\n\n", "\u200b\u200b", "?!.,", "\U0001f62d\U0001f62d"]
)
def test_messages_without_words_give_no_tokens(core: Core, text: str) -> None:
    assert tokens(core, text) == ()


def test_line_breaks_and_tabs_separate_words(core: Core) -> None:
    assert tokens(core, "not\nbreathing") == tokens(core, "not breathing")
    assert tokens(core, "not\tbreathing") == tokens(core, "not breathing")
    assert tokens(core, "not\r\nbreathing") == tokens(core, "not breathing")


def test_control_characters_do_not_glue_words_together(core: Core) -> None:
    assert tokens(core, "not\x00breathing") == ("not", "breathing")
    assert tokens(core, "not\x07\x1bbreathing") == ("not", "breathing")


def test_a_huge_message_is_cut_not_rejected(core: Core) -> None:
    text = "help " * 10_000  # far past Telegram's 4,096 characters
    result = core.normalise(text)
    assert 0 < len(result.tokens) <= MAX_CHARS // 2
    assert set(result.tokens) == {"help"}


def test_clean_unicode_folds_case_accents_and_look_alikes() -> None:
    assert clean_unicode("N\u00c1LOX\u041eNE") == "naloxone"
    assert clean_unicode("he\u200d\u2060llo") == "hello"
    assert clean_unicode("ÉIRE") == "eire"


def test_words_written_in_cyrillic_stay_cyrillic_and_mixed_disguises_fold() -> None:
    assert to_tokens("Я хочу ПОМЕРТИ") == ["я", "хочу", "померти"]
    assert to_tokens("мой друг не дышит") == ["мои", "друг", "не", "дышит"]
    assert to_tokens("оvеrdоsе") == ["overdose"]  # Cyrillic о and е among Latin letters


def test_to_tokens_squeezes_stretched_words() -> None:
    assert to_tokens("heeelllppp") == ["help"]
    assert to_tokens("pleeeease") == ["please"]
    assert squeeze("needle") == "nedle"


# --- properties over any text --------------------------------------------------------

TOKEN = re.compile(r"[a-z0-9_/\u0430-\u045f\u0491]+")  # lower-case Latin, digits, Cyrillic


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_any_text_normalises_to_plain_lowercase_tokens(core: Core, text: str) -> None:
    result = core.normalise(text)
    assert all(TOKEN.fullmatch(t) for t in result.tokens), result.tokens
    assert result.text == " ".join(result.tokens)


INVISIBLE = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"])
PHRASES = st.sampled_from(
    [
        "he is not breathing",
        "she took too much",
        "my friend overdosed",
        "his lips are blue",
        "i want to kill myself",
        "where can i get naloxone",
    ]
)


@settings(max_examples=200, deadline=None)
@given(PHRASES, st.data())
def test_case_and_invisible_characters_never_change_the_words(
    core: Core, phrase: str, data: st.DataObject
) -> None:
    chars = []
    for ch in phrase:
        upper = data.draw(st.booleans())
        chars.append(ch.upper() if upper else ch)
        if ch.isalpha() and data.draw(st.integers(0, 4)) == 0:
            chars.append(data.draw(INVISIBLE))
    disguised = "".join(chars)
    assert tokens(core, disguised) == tokens(core, phrase), disguised
