"""Turn what people type into a canonical form the safety check and matcher can read.

Unicode folded (``bot.text.unicode_fold``: NFKC, casefold, invisible characters, look-alike
letters, accents), leetspeak undone, repeated and spaced-out letters
squeezed, typos corrected against the content's vocabulary, and slang expanded with
the replacements in ``synonyms.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.text.unicode_fold import MAX_CHARS, clean_unicode
from bot.text.wordlist import WordSet

__all__ = [
    "MAX_CHARS",
    "Normalised",
    "Normaliser",
    "build_cache",
    "clean_unicode",
    "squeeze",
    "to_tokens",
]

MAX_CORRECTIONS = 1_000  # tokens corrected per message (a 4,096-character message has fewer)
MAX_STRETCHED_RUNS = 6  # doubled letters tried both ways in one word (2**6 spellings)
MIN_GLUED = 8  # an unknown word this long may be words typed without spaces
MAX_REPAIR_PIECES = 8  # pieces joined back when looking for a misspelt word in a split
MAX_SEGMENTED = 300  # longest run of spaced-out letters split back into words

_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "l",
    }
)
_APOSTROPHES = re.compile(r"[’‘`´ʼʹ′]")
_ELISION = re.compile(r"(?<![a-z])(qu|[cdjlmnst])'(?=[aeiouyh])")
_OD_FORMS = re.compile(r"\bo\.?d\.?'?(d|ed|ing|in|s|es)?(?![a-z])")
_OD_SUFFIX = {
    None: "od",
    "": "od",
    "d": "odd_",
    "ed": "odd_",
    "ing": "oding",
    "in": "oding",
    "s": "ods",
    "es": "ods",
}
# A run of letters, digits and leet symbols. (One flat class: nested stars over a
# 4,000-letter word took minutes to backtrack.)
_WORDISH = re.compile(r"[a-z0-9@$!|]+")
_LEET_CHARS = frozenset("013457@$!|")
_LEET_OR_DIGIT = re.compile(r"[0-9@$!|]")  # a _WORDISH match without one is all letters
_EDGE_PUNCTUATION = re.compile(r"^[!|]+|[!|]+$")  # "help!!", "|quote|": punctuation
_NUMBER_WORD = re.compile(
    r"^\d+(st|nd|rd|th|am|pm|h|hr|hrs|mg|mcg|ml|x|k|s|yo|yrs|mins?)$"
    r"|^[a-z]\d{2,}s?$"
)  # "10mg", "2nd", pill imprints like "m30"
_LONE_LEET = re.compile(r"(?<![a-z0-9])([1@])(?![a-z0-9])")  # "1 w@nt", "f1nd @ pulse"
_NON_WORD = re.compile(r"[^a-z0-9/_\x00\u0430-\u045f\u0491]+")  # Latin, digits, Cyrillic
_GAP = re.compile(r"[ \t]*\n\s*|[ \t]{2,}")  # wide gaps between spaced-out words
_SPACED = re.compile(r"(?<![a-z0-9_/])[a-z0-9](?: [a-z0-9](?![a-z0-9_/])){2,}")
_SPACED_PAIR = re.compile(r"(?:(?<=\x00 )|^)([a-z]) ([a-z])(?= \x00|$)")  # "i s" between gaps
_REPEATS = re.compile(r"([a-z])\1{2,}")
_INNER_APOSTROPHE = re.compile(r"(?<=[a-z])'(?=[a-z])")
_INNER_DOT = re.compile(r"(?<=[a-z])\.(?=[a-z]\b)")
_LONE_SLASH = re.compile(r"(?<![a-z])/|/(?![a-z])")
_DOUBLES = re.compile(r"([a-z])\1+")
# One- and two-letter words a spaced-out or glued run may be split into.
_SHORT_WORDS = frozenset({
    "a", "i", "am", "an", "as", "at", "be", "by", "do", "go", "he", "hi", "if", "in", "is",
    "it", "me", "my", "no", "of", "oh", "ok", "on", "or", "so", "to", "up", "us", "we",
    # Spanish, French, German and Portuguese
    "al", "da", "de", "du", "el", "em", "en", "er", "es", "et", "eu", "il", "je", "la", "le",
    "lo", "mi", "ne", "os", "se", "si", "su", "te", "tu", "un", "ya", "yo",
})  # fmt: skip
JOINED = "\x01"  # marks a token made of spaced-out letters (it may hold several words)


@dataclass(frozen=True, slots=True)
class _Tokens:
    plain: list[str]  # letter runs of three or more squeezed to one ("heeelp" -> "help")
    held: list[str]  # ... squeezed to two instead ("fellll" -> "fell", "tooo" -> "too")
    joined: frozenset[int]  # positions of tokens made of spaced-out letters
    leet: bool  # the message is written in leetspeak ("t00k", "w@nt")


def _tokenize(text: str) -> _Tokens:
    text = _APOSTROPHES.sub("'", clean_unicode(text))
    leet = False

    def unleet(match: re.Match[str]) -> str:
        nonlocal leet
        word = _EDGE_PUNCTUATION.sub(" ", match.group(0))
        core = word.strip()
        if not core or core.isalpha() or core.isdigit() or _NUMBER_WORD.match(core):
            return word
        if not any(c.isalpha() for c in core) or not any(c in _LEET_CHARS for c in core):
            return word
        leet = True
        return word.replace(core, core.translate(_LEET))

    # Each step below is skipped when the text lacks what its pattern needs (it would
    # change nothing): words of letters only are never leetspeak.
    if _LEET_OR_DIGIT.search(text):
        text = _WORDISH.sub(unleet, text)
    if leet:
        text = _LONE_LEET.sub(lambda m: m.group(1).translate(_LEET), text)
    if "od" in text or "o.d" in text:
        text = _OD_FORMS.sub(lambda m: " " + _OD_SUFFIX[m.group(1)] + " ", text)
    if "'" in text:
        text = _ELISION.sub(r"\1 ", text)  # French "d'en finir", "l'heroine": two words
        text = _INNER_APOSTROPHE.sub("", text)  # "can't" -> "cant"
    if "." in text:
        text = _INNER_DOT.sub("", text)  # "o.d" -> "od", "w.d" -> "wd"
    if "\n" in text or "\t" in text or "  " in text:
        text = _GAP.sub(" \x00 ", text)
    text = _NON_WORD.sub(" ", text)
    if "/" in text:
        text = _LONE_SLASH.sub(" ", text)
    text = text.strip()
    text = _SPACED.sub(lambda m: JOINED + m.group(0).replace(" ", ""), text)
    text = _SPACED_PAIR.sub(lambda m: JOINED + m.group(1) + m.group(2), text)
    held, plain, joined = [], [], set()
    for raw in text.split():
        if raw == "\x00":
            continue
        if JOINED in raw:
            joined.add(len(held))
            raw = raw.replace(JOINED, "")
        if _REPEATS.search(raw) is None:  # most words: both subs would return ``raw``
            held.append(raw)
            plain.append(raw)
            continue
        held.append(_REPEATS.sub(r"\1\1", raw))
        plain.append(_REPEATS.sub(r"\1", raw))
    return _Tokens(plain, held, frozenset(joined), leet)


_build_cache: dict[object, Any] | None = None


@contextmanager
def build_cache() -> Iterator[None]:
    """While content is loaded, the same phrases are tokenised several times: remember them.
    Only used at start-up; messages are never cached (no user text is kept in memory)."""
    global _build_cache
    outer, _build_cache = _build_cache, {} if _build_cache is None else _build_cache
    try:
        yield
    finally:
        _build_cache = outer


def _tokens(text: str) -> _Tokens:
    """``_tokenize(text)``, remembered while content loads (a phrase is read by the
    vocabulary, the safety rules and the matcher alike). Callers never change it."""
    if _build_cache is None:
        return _tokenize(text)
    key = "t:" + text
    found = _build_cache.get(key)
    if found is None:
        found = _build_cache[key] = _tokenize(text)
    return found  # type: ignore[no-any-return]


def to_tokens(text: str) -> list[str]:
    """Clean text and split it into word tokens (before vocabulary work)."""
    return list(_tokens(text).plain)


def squeeze(word: str) -> str:
    """Collapse every doubled letter: a key that survives "ooverdoseee" and "neeedle"."""
    return _DOUBLES.sub(r"\1", word)


@dataclass(frozen=True, slots=True)
class Normalised:
    text: str
    tokens: tuple[str, ...]  # corrected and expanded: what safety and matching read
    words: tuple[str, ...] = ()  # corrected, before slang expansion ("subs" stays "subs")


class Normaliser:
    """Built once from content: the replacement table and the known vocabulary.

    ``priority`` words (safety phrases, keywords, synonyms) are what typos are
    corrected towards first. ``examples`` words are known too, except near-misses of
    a priority word (example phrases contain deliberate typos such as "sucidal").
    ``english`` words are never corrected.
    """

    def __init__(
        self,
        replacements: Mapping[str, str],
        priority: Iterable[str],
        examples: Iterable[str] = (),
        english: Iterable[str] | WordSet = (),
    ):
        self._phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
        for variant, canonical in replacements.items():
            key = tuple(to_tokens(variant))
            if key:
                self._phrases[key] = tuple(to_tokens(canonical))
        self._longest = max((len(k) for k in self._phrases), default=1)
        self._starts = frozenset(k[0] for k in self._phrases)  # words a phrase begins with
        top = set(priority)
        for key, value in self._phrases.items():
            top.update(key)
            top.update(value)
        top_long = sorted(w for w in top if len(w) >= 5 and w.isalpha())
        self._english = english if isinstance(english, WordSet) else WordSet(english)
        examples = set(examples)
        others = {w for w in examples - top if w not in self._english}
        near_misses = {
            w
            for w in others
            if len(w) >= 5
            and w.isalpha()
            and (
                process.extractOne(w, top_long, scorer=OSA.distance, score_cutoff=1) is not None
                # "ovrrddose" squeezes to "ovrdose", one edit from "overdose"
                or process.extractOne(squeeze(w), top_long, scorer=OSA.distance, score_cutoff=1)
                is not None
            )
        }
        self.vocabulary = frozenset(
            top | {w for w in examples if w in self._english} | (others - near_misses)
        )
        self._squeezed: dict[str, str] = {}
        for word in sorted(self.vocabulary):
            self._squeezed.setdefault(squeeze(word), word)
        self._candidates = sorted(w for w in self.vocabulary if len(w) >= 5 and w.isalpha())
        self._longest_word = min(24, max((len(w) for w in self.vocabulary), default=1))
        self.correct = lru_cache(maxsize=65536)(self._correct)
        self._stretched = lru_cache(maxsize=4096)(self._unstretch)
        self._unglued = lru_cache(maxsize=4096)(self._unglue)

    def _known(self, word: str) -> bool:
        return word in self.vocabulary or word in self._english

    def _word_piece(self, piece: str) -> bool:
        """A piece a run of letters may be split into: a known word, "a", "i", a number."""
        if len(piece) == 1:
            return piece in ("a", "i")
        return piece.isdigit() or self._known(piece)

    def _explained(self, piece: str) -> bool:
        """A piece that surely is a word: known and three letters or more, or a common
        short word. Slang such as "od" or "h" found inside a run of letters ("p o d s",
        "u g h") does not count: it would raise alarms that nobody typed."""
        if len(piece) <= 2:
            return piece in _SHORT_WORDS
        return piece.isdigit() or self._known(piece)

    def _correct(self, token: str) -> str:
        if token in self.vocabulary or token in self._english or not token.isalpha():
            return token
        held = self._unstretch(token, token)
        if held is not None:
            return held
        same = self._squeezed.get(squeeze(token))
        if same is not None:
            return same
        if len(token) < 5:
            return token
        best = self._nearest(token)
        short = squeeze(token)
        if best is None and short != token and len(short) >= 6:
            # "oovrdose": stretched and misspelt. Long words only: two changes to a short
            # word reach slang such as "oding" from anything ("tddding").
            best = short if self._known(short) else self._nearest(short)
            if best is not None and len(best) < 7:
                best = None
        return best if best is not None else token

    def _nearest(self, token: str) -> str | None:
        if len(token) < 5:
            return None
        limit = 1 if len(token) < 9 else 2
        best = process.extractOne(token, self._candidates, scorer=OSA.distance, score_cutoff=limit)
        return best[0] if best is not None else None

    def _unstretch(self, held: str, plain: str) -> str | None:
        """The known word behind doubled letters. ``held`` has runs of three or more
        letters cut to two, ``plain`` cut to one: a run that is double in both was typed
        double ("fell"), one that is double only in ``held`` was a key held down. Held
        runs may stand for one letter or two; typed doubles stay double if they can.
        Content words beat other English: "feeeeell" is "fell", "ffell" is "fell"."""
        runs = [(m.start(), m.end()) for m in _DOUBLES.finditer(held)]
        if not runs or len(runs) > MAX_STRETCHED_RUNS or not held.isalpha():
            return None
        typed = {m.group(0) for m in _DOUBLES.finditer(plain)}
        letters = squeeze(held)
        if squeeze(plain) != letters:
            return None
        found: list[tuple[int, int, int, str]] = []
        for mask in range(1 << len(runs)):
            parts, last, dropped = [], 0, 0
            for bit, (start, end) in enumerate(runs):
                single = bool(mask >> bit & 1)
                parts.append(held[last : start + (1 if single else 2)])
                last = end
                dropped += single and held[start:end] in typed and held[start] in plain
            parts.append(held[last:])
            word = "".join(parts)
            if word in self.vocabulary:
                found.append((0, dropped, -len(word), word))
            elif word in self._english:
                found.append((1, dropped, -len(word), word))
        return min(found)[3] if found else None

    def _segment(self, token: str) -> list[str] | None:
        """Words in a run of spaced-out letters ("friendoverdosed" -> friend overdosed):
        the fewest known words, letters no word explains costing the most."""
        n = len(token)
        if n > MAX_SEGMENTED or n < 5:
            return None
        inf = float("inf")
        cost = [0.0] + [inf] * n
        back = [0] * (n + 1)
        for end in range(1, n + 1):
            for start in range(max(0, end - self._longest_word), end):
                if cost[start] == inf:
                    continue
                piece = token[start:end]
                if self._word_piece(piece):
                    step = 1.0
                elif len(piece) == 1:
                    step = 3.0
                else:
                    continue
                if cost[start] + step < cost[end]:
                    cost[end] = cost[start] + step
                    back[end] = start
        pieces: list[str] = []
        end = n
        while end > 0:
            pieces.append(token[back[end] : end])
            end = back[end]
        pieces.reverse()
        words: list[str] = []
        for piece in pieces:  # letters no word explained stay together: "sypmtoms"
            if words and not self._word_piece(piece) and not self._word_piece(words[-1]):
                words[-1] += piece
            else:
                words.append(piece)
        return words if len(words) > 1 else None

    def _joined(self, token: str) -> list[str]:
        """A token of spaced-out letters: one word if it is one, else the words in it."""
        if self._known(token):
            return [token]
        words = self._segment(token)
        if words is not None and all(self._explained(w) for w in words):
            return words
        fixed = self.correct(token)
        if self._known(fixed) or words is None:
            return [fixed]
        out = [self.correct(w) for w in words]
        # Letters no word explained may be a misspelt word that the split cut up or
        # that lent its first letter to the word before: "overdoses" "ypm" "to" "ms".
        i = 0
        while i < len(out):
            if self._explained(out[i]):
                i += 1
                continue
            for k in range(min(len(out), i + MAX_REPAIR_PIECES), i, -1):
                tail = "".join(out[i:k])
                prev = out[i - 1] if i else ""
                tries = [(i, tail)]
                if len(prev) > 2 and self._known(prev[:-1]):
                    tries.insert(0, (i - 1, prev[-1] + tail))
                hit = next(
                    ((j, self.correct(t)) for j, t in tries if self._known(self.correct(t))), None
                )
                if hit is not None:
                    j, word = hit
                    out[j:k] = ([prev[:-1]] if j < i else []) + [word]
                    break
            i += 1
        unexplained = sum(len(w) for w in out if not self._explained(w))
        if unexplained * 3 > len(token):
            return [fixed]  # mostly letters no word explains: leave them alone
        return out

    def _words(self, text: str) -> list[str]:
        parts = _tokens(text)
        fixed: list[str] = []
        for n, (plain, held) in enumerate(zip(parts.plain, parts.held, strict=True)):
            if n >= MAX_CORRECTIONS:
                fixed.append(plain)
                continue
            if parts.leet and not held.isalpha() and not held.isdigit():
                undone = held.translate(_LEET)  # "d13", "1s": ambiguous until it is a word
                if undone.isalpha() and self._known(undone):
                    held = plain = undone
            if n in parts.joined:
                fixed.extend(self._joined(held))
                continue
            if held != plain:  # "tooo" -> "too", "feeeeell" -> "fell"
                word = self._stretched(held, plain)
                if word is not None:
                    fixed.append(word)
                    continue
            word = self.correct(plain)
            if len(word) >= MIN_GLUED and not self._known(word):
                fixed.extend(self._unglued(word))  # "hesnotbreathing", "#iwanttodie"
            else:
                fixed.append(word)
        return fixed

    def _unglue(self, token: str) -> tuple[str, ...]:
        """An unknown word that is several known words typed without spaces."""
        words = self._segment(token)
        if words is None or not all(self._explained(w) for w in words):
            return (token,)
        return tuple(words)

    def expand(self, tokens: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(tokens):
            if tokens[i] not in self._starts:  # no phrase starts here
                out.append(tokens[i])
                i += 1
                continue
            for size in range(min(self._longest, len(tokens) - i), 0, -1):
                canonical = self._phrases.get(tuple(tokens[i : i + size]))
                if canonical is not None:
                    out.extend(canonical)
                    i += size
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out

    def __call__(self, text: str) -> Normalised:
        cache = _build_cache
        if cache is not None and ("n", id(self), text) in cache:
            return cache[("n", id(self), text)]  # type: ignore[no-any-return]
        fixed = self._words(text)
        expanded = tuple(self.expand(fixed))
        result = Normalised(text=" ".join(expanded), tokens=expanded, words=tuple(fixed))
        if cache is not None:
            cache[("n", id(self), text)] = result
        return result
