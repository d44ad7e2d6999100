"""Emergency follow-ups: which next step a message asks for ("still not breathing",
"we don't have narcan", "the ambulance is here"), from ``followups:`` in responses.yaml.

Phrases are normalised like messages and match as token runs with small gaps, so "he is
still not breathing" finds "still not breathing" and "we dont have any narcan" finds
"dont have naloxone". Steps are tried in file order; the first that matches wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.text.normalize import Normaliser

MAX_GAP = 2  # words allowed between two words of a phrase


class FollowupSteps:
    def __init__(self, normalise: Normaliser, steps: Mapping[str, Sequence[str]]) -> None:
        self._steps: list[tuple[str, list[tuple[str, ...]]]] = []
        for step, phrases in steps.items():
            runs = [tuple(normalise(p).tokens) for p in phrases]
            self._steps.append((step, [r for r in runs if r]))

    def step(self, tokens: Sequence[str]) -> str | None:
        if not tokens:
            return None
        for step, phrases in self._steps:
            if any(_occurs(phrase, tokens) for phrase in phrases):
                return step
        return None


def _occurs(phrase: tuple[str, ...], tokens: Sequence[str]) -> bool:
    for start, tok in enumerate(tokens):
        if tok != phrase[0]:
            continue
        pos, ok = start, True
        for want in phrase[1:]:
            window = tokens[pos + 1: pos + 2 + MAX_GAP]
            if want not in window:
                ok = False
                break
            pos = pos + 1 + list(window).index(want)
        if ok:
            return True
    return False
