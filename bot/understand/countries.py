"""Turn what a user types ("uk", "Britain", "🇦🇺", "i'm in oz") into a country code."""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.content.models import CountryDef
from bot.text.normalize import clean_unicode, to_tokens

INTERNATIONAL = "international"
MAX_TOKENS_FOR_SEARCH = 8
# Sentence punctuation; removed before tokenising so "England!" is not read as leetspeak.
_PUNCTUATION = re.compile(r"[!?¡¿,;:()\[\]\"]+")


class CountryResolver:
    def __init__(self, countries: Mapping[str, CountryDef]):
        self.raw: dict[str, str] = {}
        self.phrases: dict[tuple[str, ...], str] = {}
        for code, country in countries.items():
            if code == INTERNATIONAL:
                continue
            for alias in (code, *country.aliases, country.name):
                self.raw[clean_unicode(alias).strip()] = code
                tokens = tuple(to_tokens(alias))
                if tokens and tokens[0] == "the":
                    tokens = tokens[1:]
                if tokens:
                    self.phrases[tokens] = code
        self._by_length = sorted(self.phrases, key=len, reverse=True)

    def resolve(self, text: str, *, exact: bool = False) -> str | None:
        """The country ``text`` names. With ``exact``, only when the whole text is a
        country name ("uk", "the UK", "🇬🇧"), never a question that mentions one."""
        raw = clean_unicode(text).strip()
        if raw in self.raw:
            return self.raw[raw]
        tokens = tuple(to_tokens(_PUNCTUATION.sub(" ", text)))
        if tokens and tokens[0] == "the":
            tokens = tokens[1:]
        if tokens in self.phrases:
            return self.phrases[tokens]
        if exact or not tokens or len(tokens) > MAX_TOKENS_FOR_SEARCH:
            return None
        for phrase in self._by_length:
            size = len(phrase)
            # "us", "in", "oz" inside a sentence are ordinary words unless "in"/"from" precede
            short = size == 1 and len(phrase[0]) <= 2
            for i in range(len(tokens) - size + 1):
                if tokens[i:i + size] == phrase and (
                    not short or (i > 0 and tokens[i - 1] in ("in", "from", "the"))
                ):
                    return self.phrases[phrase]
        for alias, code in self.raw.items():  # a flag emoji anywhere
            if not alias.isascii() and not alias.isalpha() and alias in raw:
                return code
        return None
