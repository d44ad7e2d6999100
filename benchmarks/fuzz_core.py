"""Fuzz Core.handle: random and mutated messages must always get a valid reply.

    .venv/bin/python benchmarks/fuzz_core.py                 # 120,000 messages, all cores
    .venv/bin/python benchmarks/fuzz_core.py -n 5000 --seed 7 --jobs 1

Messages are mutations of the dev-set lines (../shared/eval/dev.jsonl): characters
inserted, deleted, swapped or replaced, look-alike letters, zero-width and control
characters, emoji, line breaks, case changes, huge repeats, lone surrogates, plus purely
random Unicode. Every reply must be a Reply with a route among the five, at least one
message, every message valid Telegram HTML (``html_problems`` is empty) and under 4,096
characters, button actions within 64 bytes. An exception is a failure.

Safety drift is checked too: a dev-set overdose or suicide line disguised only in ways
that keep every word readable (look-alikes, zero-width characters, case, emoji, line
breaks) must keep its route; a changed route is a failure.

Prints ``ran N, failed M`` and exits 1 if M > 0. Deterministic for a given --seed and -n.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.content.html_format import MAX_MESSAGE_CHARS, html_problems, html_to_text  # noqa: E402
from bot.core import Core  # noqa: E402
from bot.reply.model import ROUTES, Reply  # noqa: E402

DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
FALLBACK_LINES = ["he is not breathing", "i want to die", "where can i get methadone", "hi"]

ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e", "\u202e"]
CONTROLS = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\r", "\t", "\x0b", "\x0c"]
EMOJI = ["😭", "🙏", "💀", "🆘", "‼️", "❤️‍🩹", "🤦🏽‍♀️", "👨‍👩‍👦", "🇬🇧", "🔥", "😂"]
KEYCAPS = ["1️⃣", "5️⃣", "#️⃣", "🔟"]  # digits in a box: they add a number, so not "readable"
LINE_BREAKS = ["\n", "\r\n", "\u2028", "\u2029", "\u0085", "\n\n\n"]
LOOK_ALIKES = {
    "a": "аɑα",
    "b": "ьЬ",
    "c": "сϲ",
    "d": "ԁ",
    "e": "еҽε",
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
CAPITAL_LOOK_ALIKES = {
    "A": "АΑ", "B": "ВΒ", "C": "СϹ", "E": "ЕΕ", "H": "НΗҺ", "I": "ІΙ", "J": "Ј", "K": "КΚ",
    "M": "МΜ", "N": "Ν", "O": "ОΟ", "P": "РΡ", "S": "Ѕ", "T": "ТΤ", "X": "ХΧ", "Y": "ҮΥ",
}  # fmt: skip
HTML_BITS = ["<b>", "</b>", "<a href='x'>", "&", "&amp;", "<", ">", "<!--", "<script>"]


def random_char(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.5:
        return chr(rng.randint(0x20, 0x7E))
    if roll < 0.8:
        return chr(rng.randint(0xA0, 0x2FFF))
    if roll < 0.9:
        return chr(rng.randint(0xD800, 0xDFFF))  # a lone surrogate
    return chr(rng.randint(0x10000, 0x10FFFF))


def random_unicode(rng: random.Random) -> str:
    return "".join(random_char(rng) for _ in range(rng.choice([0, 1, 5, 40, 300, 3000])))


def look_alike(ch: str, rng: random.Random) -> str:
    if ch in LOOK_ALIKES:
        return rng.choice(LOOK_ALIKES[ch])
    if ch in CAPITAL_LOOK_ALIKES:
        return rng.choice(CAPITAL_LOOK_ALIKES[ch])
    return ch


# --- mutations that may destroy the meaning -----------------------------------------------


def insert_chars(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 6)):
        chars.insert(rng.randint(0, len(chars)), random_char(rng))
    return "".join(chars)


def delete_chars(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(min(len(chars), rng.randint(1, 4))):
        del chars[rng.randrange(len(chars))]
    return "".join(chars)


def swap_chars(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        if len(chars) > 1:
            i = rng.randrange(len(chars) - 1)
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def replace_chars(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(min(len(chars), rng.randint(1, 4))):
        chars[rng.randrange(len(chars))] = random_char(rng)
    return "".join(chars)


def huge_repeat(text: str, rng: random.Random) -> str:
    target = rng.choice([5_000, 13_000, 40_000])
    unit = text + rng.choice([" ", "", "\n", "!!! "])
    return (unit * (target // max(1, len(unit)) + 1))[:target]


def one_huge_word(text: str, rng: random.Random) -> str:
    return text + " " + rng.choice("abcdefghijklmnopqrstuvwxyz013@!") * rng.randint(500, 8000)


def spaced(text: str, rng: random.Random) -> str:
    return rng.choice([" ", ".", "  ", "-"]).join(text)


def stretched(text: str, rng: random.Random) -> str:
    return "".join(ch * rng.choice([1, 1, 1, 2, 5]) for ch in text)


def leet(text: str, rng: random.Random) -> str:
    table = {"o": "0", "e": "3", "i": "1", "a": "@", "s": "$", "t": "7", "l": "|"}
    return "".join(table.get(c, c) if rng.random() < 0.6 else c for c in text)


def html_soup(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    for _ in range(rng.randint(1, 4)):
        words.insert(rng.randint(0, len(words)), rng.choice(HTML_BITS))
    return " ".join(words)


def surrogates(text: str, rng: random.Random) -> str:
    return "".join(
        c + (chr(rng.randint(0xD800, 0xDFFF)) if rng.random() < 0.2 else "") for c in text
    )


# --- mutations that keep every word readable (used for the safety drift check) --------


def zero_width(text: str, rng: random.Random) -> str:
    return "".join(c + (rng.choice(ZERO_WIDTH[:-1]) if rng.random() < 0.5 else "") for c in text)


def homoglyphs(text: str, rng: random.Random) -> str:
    return "".join(look_alike(c, rng) if rng.random() < 0.7 else c for c in text)


def case_change(text: str, rng: random.Random) -> str:
    return rng.choice(
        [
            text.upper(),
            text.title(),
            text.swapcase(),
            "".join(c.upper() if rng.random() < 0.5 else c for c in text),
        ]
    )


def emoji_between(text: str, rng: random.Random) -> str:
    return rng.choice(EMOJI).join(text.split(" ")) + rng.choice(EMOJI) * rng.randint(0, 3)


def line_breaks(text: str, rng: random.Random) -> str:
    return "".join(rng.choice(LINE_BREAKS) if c == " " else c for c in text)


def keycaps(text: str, rng: random.Random) -> str:
    return rng.choice(KEYCAPS).join(text.split(" "))


def controls(text: str, rng: random.Random) -> str:
    return "".join(rng.choice(CONTROLS) if c == " " and rng.random() < 0.3 else c for c in text)


SAME_WORDS = [zero_width, homoglyphs, case_change, emoji_between, line_breaks]
ANY = [
    insert_chars,
    delete_chars,
    swap_chars,
    replace_chars,
    huge_repeat,
    one_huge_word,
    spaced,
    stretched,
    leet,
    html_soup,
    surrogates,
    controls,
    keycaps,
    *SAME_WORDS,
]


def load_lines() -> list[tuple[str, list[str]]]:
    if not DEV.is_file():
        return [(t, ["none"]) for t in FALLBACK_LINES]
    return [
        (item["text"], list(item["labels"]))
        for item in map(json.loads, DEV.read_text(encoding="utf-8").splitlines())
    ]


def expected_route(labels: list[str]) -> str | None:
    if "overdose" in labels:
        return "overdose"
    if "suicide" in labels:
        return "crisis"
    return None


def make_message(rng: random.Random, lines: list[tuple[str, list[str]]]):
    """(text, route it must keep or None, description)."""
    roll = rng.random()
    if roll < 0.08:
        return random_unicode(rng), None, "random unicode"
    text, labels = rng.choice(lines)
    if roll < 0.35:  # meaning kept: one to three readable disguises
        steps = rng.sample(SAME_WORDS, rng.randint(1, 3))
        # Case first: upper-casing a look-alike changes how it looks (Greek "ν" is a v,
        # its capital "Ν" an N), so look-alikes then case would not be the same words.
        steps.sort(key=lambda step: step is not case_change)
        for step in steps:
            text = step(text, rng)
        return text, expected_route(labels), "+".join(s.__name__ for s in steps)
    steps = [rng.choice(ANY) for _ in range(rng.randint(1, 3))]
    for step in steps:
        text = step(text, rng)
    return text, None, "+".join(s.__name__ for s in steps)


def check(reply: object) -> str | None:
    if not isinstance(reply, Reply):
        return f"not a Reply: {type(reply).__name__}"
    if reply.route not in ROUTES:
        return f"route {reply.route!r}"
    if not reply.messages:
        return "no messages"
    for message in reply.messages:
        problems = html_problems(message)
        if problems:
            return f"HTML: {problems}"
        if len(message) >= MAX_MESSAGE_CHARS or len(html_to_text(message)) >= MAX_MESSAGE_CHARS:
            return f"message of {len(message)} characters"
    for button in reply.buttons:
        if len(button.action.encode("utf-8")) > 64:
            return f"button action of {len(button.action.encode())} bytes"
    return None


def run_chunk(args: tuple[int, int, int]) -> dict[str, object]:
    seed, start, count = args
    core = Core.load()
    lines = load_lines()
    countries = [None, *core.countries, "XX"]
    failures: list[str] = []
    slowest = (0.0, "")
    routes: dict[str, int] = {}
    for i in range(start, start + count):
        rng = random.Random(f"{seed}:{i}")
        text, must, how = make_message(rng, lines)
        country = rng.choice(countries)
        began = time.perf_counter()
        try:
            reply = core.handle(text, country)
            problem = check(reply)
            if problem is None and must is not None and reply.route != must:
                problem = f"safety drift: {must} became {reply.route}"
        except Exception as exc:  # a crash is exactly what this looks for
            problem, reply = f"{type(exc).__name__}: {exc}", None
        spent = time.perf_counter() - began
        if spent > slowest[0]:
            slowest = (spent, f"#{i} {how}, {len(text)} chars")
        if reply is not None:
            routes[reply.route] = routes.get(reply.route, 0) + 1
        if problem is not None:
            failures.append(f"#{i} [{how}] country={country} {problem}: {text[:300]!r}")
    return {"ran": count, "failures": failures, "slowest": slowest, "routes": routes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=120_000, help="messages to try")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)

    jobs = max(1, args.jobs)
    chunk = 2_000
    tasks = [(args.seed, s, min(chunk, args.n - s)) for s in range(0, args.n, chunk)]
    began = time.perf_counter()
    if jobs == 1:
        results = [run_chunk(t) for t in tasks]
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(run_chunk, tasks))
    took = time.perf_counter() - began

    ran = sum(int(r["ran"]) for r in results)
    failures = [f for r in results for f in r["failures"]]
    slowest = max((r["slowest"] for r in results), key=lambda s: s[0])
    routes: dict[str, int] = {}
    for r in results:
        for route, n in r["routes"].items():
            routes[route] = routes.get(route, 0) + n
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, {jobs} jobs, "
        f"seed {args.seed}, dev set {'found' if DEV.is_file() else 'missing'}"
    )
    print(f"routes: {dict(sorted(routes.items()))}")
    print(f"slowest message: {slowest[0] * 1000:.0f} ms ({slowest[1]})")
    print(f"took {took:.0f} s")
    for failure in failures[:30]:
        print("FAIL", failure)
    print(f"ran {ran}, failed {len(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
