"""The safety check sees through the ways people (and keyboards) disguise words.

Every overdose and suicide line of the dev set is rewritten with each transform below
(zero-width characters, look-alike letters, leetspeak, stretched, spaced and dotted
letters, capitals, emoji, line breaks, a long message around it) and must still be routed
the way the original is: a disguised emergency is still an emergency.

Transforms are deterministic: each one is seeded with its name and the message.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.core import Core

DEV = Path(__file__).parent / "data" / "dev.jsonl"  # a copy of shared/eval/dev.jsonl

Transform = Callable[[str, random.Random], str]

ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e"]
# Latin letter -> look-alikes from other scripts (Cyrillic, Greek, Armenian, IPA).
LOOK_ALIKES = {
    "a": "аɑα",
    "b": "ьЬ",
    "c": "сϲ",
    "d": "ԁ",
    "e": "еҽ",
    "g": "ɡց",
    "h": "һ",
    "i": "іιɩ",
    "j": "јϳ",
    "k": "кκ",
    "l": "ӏ",
    "m": "м",
    "n": "ոп",
    "o": "оοօσ",
    "p": "рρ",
    "q": "ԛ",
    "r": "г",
    "s": "ѕ",
    "t": "тτ",
    "u": "υս",
    "v": "νѵ",
    "w": "ԝω",
    "x": "хχ",
    "y": "уγ",
}
# Capital look-alikes (they must be folded before lower-casing: Greek "Η" is an H,
# while its lower case "η" looks like an n).
CAPITAL_LOOK_ALIKES = {
    "A": "АΑ",
    "B": "ВΒ",
    "C": "СϹ",
    "E": "ЕΕ",
    "H": "НΗҺ",
    "I": "ІΙӀ",
    "J": "Ј",
    "K": "КΚ",
    "M": "МΜ",
    "N": "Ν",
    "O": "ОΟ",
    "P": "РΡ",
    "S": "Ѕ",
    "T": "ТΤ",
    "X": "ХΧ",
    "Y": "ҮΥ",
    "Z": "Ζ",
}
LEET = {"o": "0", "e": "3", "i": "1", "a": "@"}
EMOJI = ["😭", "🙏", "😱", "🆘", "‼️", "💔", "😰", "🥺", "❤️‍🩹", "🤦🏽‍♀️", "👨‍👩‍👦", "🚑"]
LINE_BREAKS = ["\n", "\n\n", "\r\n", "\u2028", "\u0085"]
NEUTRAL = [
    "I went to the shop this afternoon and bought bread, milk and some apples.",
    "The bus was a few minutes late again, which is normal on a Tuesday.",
    "My sister says hello and hopes you had a nice weekend.",
    "We are thinking about painting the kitchen at some point next spring.",
    "The neighbours have a new puppy and it barks at the postman every day.",
    "I started reading a novel about a family who moves to the coast.",
    "There is a market on Saturday where they sell cheese and vegetables.",
    "The library opens at nine and closes at five during the holidays.",
    "I need to remember to return the parcel before the end of the month.",
    "My cousin is learning to play the guitar and practises in the evenings.",
    "We had soup for lunch, the kind with lentils and carrots.",
    "The park near the station has benches by the pond where ducks gather.",
    "Someone left a bicycle outside the building and nobody knows whose it is.",
    "I tidied the cupboard and found a stack of old postcards from relatives.",
    "The football match on the radio went into extra minutes at the end.",
    "Grandma's recipe for apple pie uses cinnamon and a little lemon.",
]


def _words(text: str) -> list[str]:
    return re.split(r"(\s+)", text)


def zero_width(text: str, rng: random.Random) -> str:
    out = []
    for ch in text:
        out.append(ch)
        if rng.random() < 0.7:
            out.append(rng.choice(ZERO_WIDTH))
    return "".join(out)


def look_alikes(text: str, rng: random.Random) -> str:
    return "".join(
        rng.choice(LOOK_ALIKES[c]) if c in LOOK_ALIKES and rng.random() < 0.8 else c
        for c in text.lower()
    )


def capital_look_alikes(text: str, rng: random.Random) -> str:
    return "".join(
        rng.choice(CAPITAL_LOOK_ALIKES[c]) if c in CAPITAL_LOOK_ALIKES and rng.random() < 0.8 else c
        for c in text.upper()
    )


def fancy_letters(text: str, rng: random.Random) -> str:
    """What "fancy text" keyboards produce: bold, script, full-width, small capitals."""
    small_caps = dict(zip("abcdefghijklmnopqrstuvwxyz", "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡxʏᴢ", strict=True))
    styles = [
        lambda c: chr(0x1D41A + ord(c) - 97),  # mathematical bold
        lambda c: chr(0x1D4EA + ord(c) - 97),  # bold script
        lambda c: chr(0xFF41 + ord(c) - 97),  # full-width
        lambda c: small_caps[c],
    ]
    style = rng.choice(styles)
    return "".join(style(c) if "a" <= c <= "z" else c for c in text.lower())


def leetspeak(text: str, rng: random.Random) -> str:
    return "".join(LEET.get(c, c) for c in text.lower())


def stretched(text: str, rng: random.Random) -> str:
    """ "ooverdoseee": words of 4+ letters get a doubled first and a tripled last letter."""
    out = []
    for word in _words(text):
        if len(word) >= 4 and word.isalpha():
            word = word[0] + word + word[-1] * 2
        out.append(word)
    return "".join(out)


def stretched_vowels(text: str, rng: random.Random) -> str:
    """ "pleeease heeelp hes nooot breeeathing": one vowel of a word is held down."""
    out = []
    for word in _words(text):
        vowels = [i for i, c in enumerate(word) if c in "aeiou"]
        if len(word) >= 3 and vowels:
            i = rng.choice(vowels)
            word = word[:i] + word[i] * rng.randint(3, 6) + word[i + 1 :]
        out.append(word)
    return "".join(out)


def _letters_joined(word: str, sep: str) -> str:
    return sep.join(word)


def spaced_long_words(text: str, rng: random.Random) -> str:
    """ "o v e r d o s e": every word of 5+ letters is spaced out."""
    return "".join(
        _letters_joined(w, " ") if len(w) >= 5 and w.isalpha() else w for w in _words(text)
    )


def spaced_message(text: str, rng: random.Random) -> str:
    """Every letter spaced out; words apart by three spaces."""
    return "   ".join(" ".join(w) for w in text.split())


def spaced_flat(text: str, rng: random.Random) -> str:
    """Every letter spaced out and nothing else marks where words end."""
    return " ".join(c for c in text if not c.isspace())


def dotted_long_words(text: str, rng: random.Random) -> str:
    """ "o.v.e.r.d.o.s.e": every word of 5+ letters is dotted."""
    return "".join(
        _letters_joined(w, ".") if len(w) >= 5 and w.isalpha() else w for w in _words(text)
    )


def dotted_message(text: str, rng: random.Random) -> str:
    return " ".join(".".join(w) + "." for w in text.split())


_OD_WORDS = re.compile(r"\b(overdos|od)(e|ed|ing|'d|'ing|d)?\b", re.IGNORECASE)


def od_abbreviation(text: str, rng: random.Random) -> str:
    """ "overdosed" -> "O.D.'d", "overdosing" -> "o.d.ing", "od" -> "o.d."."""
    ends = {"ed": ".'d", "'d": ".'d", "d": ".'d", "ing": ".ing", "'ing": ".'ing"}

    def repl(m: re.Match[str]) -> str:
        base = rng.choice(["o.d", "O.D"])
        return base + ends.get((m.group(2) or "").lower(), ".")

    return _OD_WORDS.sub(repl, text)


def all_caps(text: str, rng: random.Random) -> str:
    return text.upper()


def emoji_between_words(text: str, rng: random.Random) -> str:
    words = text.split()
    out = [words[0]] if words else []
    for word in words[1:]:
        sep = rng.choice([" ", ""]) + rng.choice(EMOJI) + rng.choice([" ", ""])
        out.append(sep + word)
    return rng.choice(EMOJI) + "".join(out) + rng.choice(EMOJI) * 3


def line_breaks(text: str, rng: random.Random) -> str:
    return re.sub(r" +", lambda m: rng.choice(LINE_BREAKS), text)


def neutral_text(rng: random.Random, size: int) -> str:
    out: list[str] = []
    while sum(len(s) + 1 for s in out) < size:
        out.append(rng.choice(NEUTRAL))
    return " ".join(out)


def buried(text: str, rng: random.Random) -> str:
    """The message inside 3,000 characters of everyday chatter."""
    before = rng.randint(0, 3000)
    return f"{neutral_text(rng, before)} {text} {neutral_text(rng, 3000 - before)}"


def kitchen_sink(text: str, rng: random.Random) -> str:
    """Several at once: look-alikes, invisible characters, emoji and line breaks."""
    for step in (look_alikes, emoji_between_words, zero_width, line_breaks):
        text = step(text, rng)
    return text


TRANSFORMS: dict[str, Transform] = {
    "zero_width": zero_width,
    "look_alikes": look_alikes,
    "capital_look_alikes": capital_look_alikes,
    "fancy_letters": fancy_letters,
    "leetspeak": leetspeak,
    "stretched": stretched,
    "stretched_vowels": stretched_vowels,
    "spaced_long_words": spaced_long_words,
    "spaced_message": spaced_message,
    "spaced_flat": spaced_flat,
    "dotted_long_words": dotted_long_words,
    "dotted_message": dotted_message,
    "od_abbreviation": od_abbreviation,
    "all_caps": all_caps,
    "emoji": emoji_between_words,
    "line_breaks": line_breaks,
    "buried": buried,
    "kitchen_sink": kitchen_sink,
}


def apply(name: str, text: str) -> str:
    return TRANSFORMS[name](text, random.Random(f"{name}|{text}"))


def expected_route(labels: list[str]) -> str:
    return "overdose" if "overdose" in labels else "crisis"


def _slug(text: str) -> str:
    return "_".join(re.findall(r"[a-z0-9]+", text.lower())[:6]) or "x"


def _dev_cases() -> list:
    if not DEV.is_file():
        return [pytest.param("", "", [], marks=pytest.mark.skip(reason=f"no {DEV}"))]
    cases = []
    for n, line in enumerate(DEV.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        item = json.loads(line)
        labels = list(item["labels"])
        if not {"overdose", "suicide"} & set(labels):
            continue
        for name in TRANSFORMS:
            if apply(name, item["text"]) == item["text"]:
                continue  # nothing to disguise (e.g. no "overdose" word to abbreviate)
            cases.append(
                pytest.param(
                    name, item["text"], labels, id=f"{name}-L{n:03d}-{_slug(item['text'])}"
                )
            )
    return cases


@pytest.fixture(scope="module")
def core() -> Core:
    return Core.load()


@pytest.mark.parametrize(("transform", "text", "labels"), _dev_cases())
def test_disguised_emergency_routes_like_the_original(core, transform, text, labels):
    disguised = apply(transform, text)
    assert disguised != text
    route = core.classify(disguised).route
    assert route == expected_route(labels), f"{text!r} as {disguised!r} -> {route}"


# --- new phrasings: tests/data/overdose_phrases.txt and crisis_phrases.txt ---------------

DATA = Path(__file__).parent / "data"


def read_phrases(name: str) -> list[str]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _phrase_cases(name: str) -> list:
    return [
        pytest.param(text, id=f"{n:02d}-{_slug(text)}")
        for n, text in enumerate(read_phrases(name), 1)
    ]


def test_phrase_files_are_big_enough_to_mean_something():
    assert len(read_phrases("overdose_phrases.txt")) >= 40
    assert len(read_phrases("crisis_phrases.txt")) >= 40


def test_phrase_files_are_not_copies_of_the_dev_set():
    if not DEV.is_file():
        pytest.skip(f"no {DEV}")
    dev = {
        json.loads(line)["text"].strip().lower()
        for line in DEV.read_text(encoding="utf-8").splitlines()
        if line.strip()
    }
    phrases = read_phrases("overdose_phrases.txt") + read_phrases("crisis_phrases.txt")
    copied = [p for p in phrases if p.removeprefix("[overdose] ").lower() in dev]
    assert not copied


@pytest.mark.parametrize("text", _phrase_cases("overdose_phrases.txt"))
def test_new_overdose_phrasings_get_the_overdose_reply(core, text):
    reply = core.handle(text, "US")
    assert reply.route == "overdose", (text, core.normalise(text).text)
    assert "911" in reply.messages[0]


@pytest.mark.parametrize("text", _phrase_cases("crisis_phrases.txt"))
def test_new_suicidal_phrasings_get_the_crisis_reply(core, text):
    want = "crisis"
    if text.startswith("[overdose] "):
        text, want = text.removeprefix("[overdose] "), "overdose"
    reply = core.handle(text, "US")
    assert reply.route == want, (text, core.normalise(text).text)
    if want == "overdose":  # the emergency first, then the crisis line
        assert "911" in reply.messages[0]
        assert any("988" in m for m in reply.messages[1:])
    else:
        assert "988" in reply.messages[0]


# --- other languages: the reply may be English, the number must be local ----------------

EMERGENCY = {"ES": ("112",), "FR": ("15", "112"), "DE": ("112",), None: ("112",)}
OTHER_LANGUAGES = [
    # (language, country, text, route)
    ("es", "ES", "sobredosis", "overdose"),
    ("es", "ES", "creo que mi hermano tiene una sobredosis", "overdose"),
    ("es", "ES", "no respira", "overdose"),
    ("es", "ES", "mi novia no respira y no despierta", "overdose"),
    ("es", "ES", "tiene los labios azules", "overdose"),
    ("es", "ES", "está inconsciente", "overdose"),
    ("es", "ES", "quiero morir", "crisis"),
    ("es", "ES", "me quiero matar", "crisis"),
    ("es", "ES", "voy a suicidarme", "crisis"),
    ("es", "ES", "no quiero vivir más", "crisis"),
    ("fr", "FR", "surdose", "overdose"),
    ("fr", "FR", "mon copain fait une overdose", "overdose"),
    ("fr", "FR", "il ne respire plus", "overdose"),
    ("fr", "FR", "elle est inconsciente et ne réagit pas", "overdose"),
    ("fr", "FR", "ses lèvres sont bleues", "overdose"),
    ("fr", "FR", "je veux mourir", "crisis"),
    ("fr", "FR", "je vais me suicider", "crisis"),
    ("fr", "FR", "il veut se suicider", "crisis"),
    ("fr", "FR", "j'ai envie d'en finir avec la vie", "crisis"),
    ("de", "DE", "Überdosis", "overdose"),
    ("de", "DE", "mein Freund hat eine Überdosis genommen", "overdose"),
    ("de", "DE", "er atmet nicht", "overdose"),
    ("de", "DE", "sie ist bewusstlos", "overdose"),
    ("de", "DE", "seine Lippen sind blau", "overdose"),
    ("de", "DE", "ich will sterben", "crisis"),
    ("de", "DE", "ich bringe mich um", "crisis"),
    ("de", "DE", "ich will nicht mehr leben", "crisis"),
    ("pt", None, "overdose", "overdose"),
    ("pt", None, "meu irmão teve uma overdose", "overdose"),
    ("pt", None, "ele não respira", "overdose"),
    ("pt", None, "ela não acorda", "overdose"),
    ("pt", None, "está com os lábios roxos", "overdose"),
    ("pt", None, "quero morrer", "crisis"),
    ("pt", None, "vou me matar", "crisis"),
    ("pt", None, "não quero mais viver", "crisis"),
]


def _number_in(number: str, html: str) -> bool:
    return re.search(rf"(?<!\d){number}(?!\d)", html) is not None


@pytest.mark.parametrize(
    ("country", "text", "route"),
    [pytest.param(c, t, r, id=f"{lang}-{r}-{_slug(t)}") for lang, c, t, r in OTHER_LANGUAGES],
)
def test_other_languages_route_and_show_the_local_emergency_number(core, country, text, route):
    reply = core.handle(text, country)
    assert reply.route == route, (text, core.normalise(text).text)
    first = reply.messages[0]
    assert any(_number_in(n, first) for n in EMERGENCY[country]), first[:300]


@pytest.mark.parametrize(
    "text",
    [
        "esto va a matarme de risa",
        "essa fila vai me matar",
        "ça va me tuer ce boulot",
        "je veux en finir avec l'héroïne",
        "quiero dejar la heroína",
        "ich bin todmüde",
    ],
)
def test_idioms_in_other_languages_stay_calm(core, text):
    assert core.classify(text).route not in ("overdose", "crisis")


# --- long messages ------------------------------------------------------------------------


def test_the_neutral_filler_is_calm_on_its_own(core):
    rng = random.Random("filler")
    for _ in range(5):
        filler = neutral_text(rng, 3000)
        assert core.classify(filler).route in ("answer", "clarify", "fallback")


@pytest.mark.parametrize(
    ("filler", "text"),
    [
        ("We got a new puppy and the dog sleeps all day.", "my roommate is blue"),
        ("I spent too much time at work and the car broke down.", "i took too much"),
        ("The sky was grey all week and my laptop is not responding.", "she's not breathing"),
        ("We watched a movie about breathing exercises and yoga.", "his breathing is so slow"),
    ],
)
def test_words_that_excuse_a_phrase_only_count_near_it(core, filler, text):
    """ "my laptop is not responding" is calm, but the word "laptop" three sentences
    earlier does not make "she's not breathing" calm."""
    message = " ".join([filler] * 6 + [NEUTRAL[0], text, "please help"])
    assert core.classify(message).route == "overdose"


def test_transforms_are_deterministic():
    for name in TRANSFORMS:
        assert apply(name, "my friend is not breathing") == apply(
            name, "my friend is not breathing"
        )
