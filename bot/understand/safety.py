"""The safety check: overdose and suicide detection on the whole message, always first.

Rules come from ``safety.yaml`` (a reviewer can read them there). Phrases are
normalised with the same Normaliser as messages, then matched as token sequences,
so typos, spacing, look-alike letters and slang are handled once, in ``normalize``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.content.models import SafetyFile, SafetyRule
from bot.text.normalize import Normalised

Phrase = tuple[str, ...]
MANY = "#many"
MANY_MIN = 5
UNLESS_WINDOW = 6  # an `unless` phrase cancels a match this many words away or nearer
_NUMBER_WORDS = {"five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "fifteen",
                 "twenty", "thirty", "forty", "fifty", "hundred", "dozen", "several"}


@dataclass(frozen=True, slots=True)
class SafetyResult:
    route: Literal["overdose", "crisis"] | None
    rules: tuple[str, ...] = ()
    also_crisis: bool = False
    exempt_intent: str | None = None  # a question about this intent, not an emergency


class _Index:
    """Positions of every token of one message, for fast phrase look-ups."""

    def __init__(self, tokens: Sequence[str]):
        self.tokens = tokens
        self.positions: dict[str, list[int]] = defaultdict(list)
        for i, tok in enumerate(tokens):
            self.positions[tok].append(i)
            if _is_many(tok):
                self.positions[MANY].append(i)

    def _token_matches(self, i: int, want: str) -> bool:
        if i >= len(self.tokens):
            return False
        tok = self.tokens[i]
        return tok == want or (want == MANY and _is_many(tok))

    def find(self, phrase: Phrase) -> list[tuple[int, int]]:
        """Every (start, end) where ``phrase`` occurs."""
        spans = []
        for start in self.positions.get(phrase[0], ()):
            if all(self._token_matches(start + k, w) for k, w in enumerate(phrase[1:], 1)):
                spans.append((start, start + len(phrase)))
        return spans

    def starts_with(self, pos: int, phrase: Phrase) -> bool:
        return all(self._token_matches(pos + k, w) for k, w in enumerate(phrase))

    def ends_with(self, end: int, phrase: Phrase) -> bool:
        start = end - len(phrase)
        return start >= 0 and self.starts_with(start, phrase)


def _is_many(tok: str) -> bool:
    if tok.isdigit():
        return len(tok) > 3 or int(tok) >= MANY_MIN
    return tok in _NUMBER_WORDS


@dataclass(frozen=True)
class _Rule:
    id: str
    groups: tuple[tuple[Phrase, ...], ...]
    unless: tuple[Phrase, ...]
    unless_next: tuple[Phrase, ...]
    unless_prev: tuple[Phrase, ...]
    mention: bool
    by_first: tuple[dict[str, tuple[Phrase, ...]], ...]  # per group: phrases by first word
    whole: frozenset[Phrase] = frozenset()  # whole-message rules: the messages that fire

    def may_fire(self, present: set[str]) -> bool:
        """Cheap test: every group has a phrase whose first word is in the message."""
        return all(not first.keys().isdisjoint(present) for first in self.by_first)


def _by_first_word(phrases: tuple[Phrase, ...]) -> dict[str, tuple[Phrase, ...]]:
    index: dict[str, list[Phrase]] = defaultdict(list)
    for phrase in phrases:
        index[phrase[0]].append(phrase)
    return {word: tuple(group) for word, group in index.items()}


class SafetyCheck:
    """Built once from ``safety.yaml``; ``check`` is pure and allocation-light."""

    def __init__(self, spec: SafetyFile, tokenize: Callable[[str], Sequence[str]]):
        def phrases(items: list[str]) -> tuple[Phrase, ...]:
            out = tuple(tuple(tokenize(p)) for p in items)
            return tuple(p for p in out if p)

        def rule(r: SafetyRule) -> _Rule:
            groups = tuple(phrases(g) for g in r.all)
            return _Rule(r.id, groups, phrases(r.unless), phrases(r.unless_next),
                         phrases(r.unless_prev), r.level == "mention",
                         tuple(_by_first_word(g) for g in groups),
                         frozenset(p for g in groups for p in g) if r.whole_message
                         else frozenset())

        self.overdose = tuple(rule(r) for r in spec.overdose)
        self.crisis = tuple(rule(r) for r in spec.crisis)
        self.not_drugs = phrases(spec.not_drugs)
        self.exemptions = tuple((e.intent, phrases(e.when_any), phrases(e.with_any))
                                for e in spec.exemptions)

    def _joke_object_follows(self, idx: _Index, end: int) -> bool:
        """``overdosed on netflix``, ``an overdose of cuteness``: "on"/"of" then a non-drug
        within three words."""
        if end >= len(idx.tokens) or idx.tokens[end] not in ("on", "off", "of"):
            return False
        return any(idx.starts_with(pos, p) for pos in range(end + 1, min(end + 4, len(idx.tokens)))
                   for p in self.not_drugs)

    def _fires(self, rule: _Rule, idx: _Index, overdose: bool, present: set[str]) -> bool:
        if rule.whole:
            return tuple(idx.tokens) in rule.whole
        unless = [span for p in rule.unless if p[0] in present for span in idx.find(p)]
        for by_first in rule.by_first:
            phrases = (p for word in present & by_first.keys() for p in by_first[word])
            if not any(self._phrase_counts(rule, idx, phrase, overdose, unless)
                       for phrase in phrases):
                return False
        return True

    def _phrase_counts(self, rule: _Rule, idx: _Index, phrase: Phrase, overdose: bool,
                       unless: list[tuple[int, int]]) -> bool:
        for start, end in idx.find(phrase):
            # "lips blue from the slushie": an `unless` phrase near the match cancels it;
            # one far away in a long message ("... my puppy ...") does not.
            if any(u_start < end + UNLESS_WINDOW and u_end > start - UNLESS_WINDOW
                   for u_start, u_end in unless):
                continue
            if any(idx.starts_with(end, p) or idx.starts_with(end + 1, p)
                   for p in rule.unless_next):
                continue
            if any(idx.ends_with(start, p) for p in rule.unless_prev):
                continue
            if overdose and self._joke_object_follows(idx, end):
                continue
            return True
        return False

    def check(self, message: Normalised) -> SafetyResult:
        idx = _Index(message.tokens)
        present = set(idx.positions)
        od = [r for r in self.overdose
              if r.may_fire(present) and self._fires(r, idx, True, present)]
        crisis = [r.id for r in self.crisis
                  if r.may_fire(present) and self._fires(r, idx, False, present)]
        if od and all(r.mention for r in od) and not crisis:
            for intent, when_any, with_any in self.exemptions:
                if any(idx.find(p) for p in when_any) and (
                    not with_any or any(idx.find(p) for p in with_any)
                ):
                    return SafetyResult(None, tuple(r.id for r in od), exempt_intent=intent)
        if od:
            return SafetyResult("overdose", tuple(r.id for r in od) + tuple(crisis),
                                also_crisis=bool(crisis))
        if crisis:
            return SafetyResult("crisis", tuple(crisis))
        return SafetyResult(None)
