"""Turn what people type into a canonical form the safety check and matcher can read.

Unicode NFKC, casefold, invisible and control characters removed, look-alike letters
folded to Latin, accents dropped, leetspeak undone, repeated and spaced-out letters
squeezed, typos corrected against the content's vocabulary, and slang expanded with
the replacements in ``synonyms.yaml``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

MAX_CHARS = 12_000  # Telegram caps messages at 4,096; anything longer is cut, not rejected
MAX_CORRECTIONS = 400

# Cyrillic and Greek letters that look like Latin ones (lower case: casefold runs first).
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d",
    "ɡ": "g", "һ": "h", "ӏ": "l", "ո": "n", "ս": "u", "ԛ": "q", "ԝ": "w", "ь": "b",
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "μ": "u", "ν": "v",
    "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ς": "s", "σ": "o", "ϲ": "c",
    "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe",
})
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s", "!": "i", "|": "l"})
_ASCII_CONTROLS = {c: " " for c in (*range(32), 127)}
_APOSTROPHES = re.compile(r"[’‘`´ʼʹ′]")
_OD_FORMS = re.compile(r"\bo\.?d\.?'?(d|ed|ing|in|s|es)?(?![a-z])")
_OD_SUFFIX = {None: "od", "": "od", "d": "odd_", "ed": "odd_", "ing": "oding", "in": "oding",
              "s": "ods", "es": "ods"}
_WORDISH = re.compile(r"[a-z0-9@$!|]*[a-z][a-z0-9@$!|]*[0-9@$!|][a-z0-9@$!|]*"
                      r"|[a-z0-9@$!|]*[0-9@$!|][a-z0-9@$!|]*[a-z][a-z0-9@$!|]*")
_NUMBER_WORD = re.compile(r"^\d+(st|nd|rd|th|am|pm|h|hr|hrs|mg|mcg|ml|x|k|s|yo|yrs|mins?)$"
                          r"|^[a-z]\d{2,}s?$")  # "10mg", "2nd", pill imprints like "m30"
_NON_WORD = re.compile(r"[^a-z0-9/_]+")
_SPACED = re.compile(r"(?<![a-z0-9])[a-z](?:\s+[a-z](?![a-z0-9])){2,}")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_DOUBLES = re.compile(r"([a-z])\1+")


def clean_unicode(text: str) -> str:
    """NFKC, casefold, drop invisible/control characters, fold look-alikes and accents."""
    text = text[:MAX_CHARS]
    if text.isascii():  # the common case: no Unicode work needed
        return text.translate(_ASCII_CONTROLS).casefold()
    text = unicodedata.normalize("NFKC", text)
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in ("Cf", "Cs", "Co", "Cn"):
            continue  # zero-width, bidi marks, surrogates, private use, unassigned
        if cat in ("Cc", "Zl", "Zp", "Zs"):
            out.append(" ")
        else:
            out.append(ch)
    text = "".join(out).casefold().translate(_CONFUSABLES)
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _unleet(match: re.Match[str]) -> str:
    word = match.group(0)
    if _NUMBER_WORD.match(word):
        return word
    return word.translate(_LEET)


def to_tokens(text: str) -> list[str]:
    """Clean text and split it into word tokens (before vocabulary work)."""
    text = _APOSTROPHES.sub("'", clean_unicode(text))
    text = _OD_FORMS.sub(lambda m: " " + _OD_SUFFIX[m.group(1)] + " ", text)
    text = re.sub(r"(?<=[a-z])'(?=[a-z])", "", text)
    text = _WORDISH.sub(_unleet, text)
    text = re.sub(r"(?<=[a-z])\.(?=[a-z]\b)", "", text)  # "o.d" -> "od", "w.d" -> "wd"
    text = _NON_WORD.sub(" ", text)
    text = re.sub(r"(?<![a-z])/|/(?![a-z])", " ", text)
    text = _SPACED.sub(lambda m: m.group(0).replace(" ", ""), text)
    text = _REPEATS.sub(r"\1", text)
    return text.split()


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

    def __init__(self, replacements: Mapping[str, str], priority: Iterable[str],
                 examples: Iterable[str] = (), english: Iterable[str] = ()):
        self._phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
        for variant, canonical in replacements.items():
            key = tuple(to_tokens(variant))
            if key:
                self._phrases[key] = tuple(to_tokens(canonical))
        self._longest = max((len(k) for k in self._phrases), default=1)
        top = set(priority)
        for key, value in self._phrases.items():
            top.update(key)
            top.update(value)
        top_long = sorted(w for w in top if len(w) >= 5 and w.isalpha())
        self._english = frozenset(english)
        others = set(examples) - top - self._english
        near_misses = {w for w in others if len(w) >= 5 and w.isalpha() and process.extractOne(
            w, top_long, scorer=OSA.distance, score_cutoff=1) is not None}
        self.vocabulary = frozenset(top | self._english.intersection(examples)
                                    | (others - near_misses))
        self._squeezed: dict[str, str] = {}
        for word in sorted(self.vocabulary):
            self._squeezed.setdefault(squeeze(word), word)
        self._candidates = sorted(w for w in self.vocabulary if len(w) >= 5 and w.isalpha())
        self.correct = lru_cache(maxsize=65536)(self._correct)

    def _correct(self, token: str) -> str:
        if token in self.vocabulary or token in self._english or not token.isalpha():
            return token
        same = self._squeezed.get(squeeze(token))
        if same is not None:
            return same
        if len(token) < 5:
            return token
        limit = 1 if len(token) < 9 else 2
        best = process.extractOne(token, self._candidates, scorer=OSA.distance,
                                  score_cutoff=limit)
        return best[0] if best is not None else token

    def expand(self, tokens: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(tokens):
            for size in range(min(self._longest, len(tokens) - i), 0, -1):
                canonical = self._phrases.get(tuple(tokens[i:i + size]))
                if canonical is not None:
                    out.extend(canonical)
                    i += size
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out

    def __call__(self, text: str) -> Normalised:
        tokens = to_tokens(text)
        fixed = [self.correct(t) if n < MAX_CORRECTIONS else t for n, t in enumerate(tokens)]
        expanded = tuple(self.expand(fixed))
        return Normalised(text=" ".join(expanded), tokens=expanded, words=tuple(fixed))
