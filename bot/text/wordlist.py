"""Ordinary English words, so that typo correction never "fixes" a real word.

"lying" must not become "dying", nor "putting" become "cutting". The word
frequencies come from pyspellchecker's English dictionary (a maintained package);
only common, long-enough words are kept: short words are never corrected anyway.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from importlib import resources

MIN_FREQUENCY = 50
MIN_LENGTH = 5


def _counts() -> dict[str, int]:
    """The package's English frequency table. Reading its data file directly is three
    times faster than building a SpellChecker; the public API is the fallback."""
    try:
        data = resources.files("spellchecker").joinpath("resources/en.json.gz").read_bytes()
        counts = json.loads(gzip.decompress(data))
        if isinstance(counts, dict) and counts:
            return counts
    except (OSError, ValueError, ModuleNotFoundError):
        pass
    from spellchecker import SpellChecker

    return dict(SpellChecker(language="en", distance=1).word_frequency.dictionary)


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    return frozenset(w for w, c in _counts().items()
                     if c >= MIN_FREQUENCY and len(w) >= MIN_LENGTH and w.isalpha())
