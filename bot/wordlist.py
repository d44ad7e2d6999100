"""Ordinary English words, so that typo correction never "fixes" a real word.

"lying" must not become "dying", nor "putting" become "cutting". The word
frequencies come from pyspellchecker's English dictionary (a maintained package);
only common, long-enough words are kept: short words are never corrected anyway.
"""

from __future__ import annotations

from functools import lru_cache

MIN_FREQUENCY = 50
MIN_LENGTH = 5


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    from spellchecker import SpellChecker

    counts = SpellChecker(language="en", distance=1).word_frequency.dictionary
    return frozenset(w for w, c in counts.items()
                     if c >= MIN_FREQUENCY and len(w) >= MIN_LENGTH and w.isalpha())
