"""The language a message is written in, among the languages the bot speaks.

lingua's detector, restricted to those languages (low-accuracy mode: its small models load in
well under a second). A guess counts only when it is sure: Latin-script text needs a high
confidence and two or more words, so "ok", "heroin" or "narcan" never switch the language;
Cyrillic text is Russian or Ukrainian by the best guess, since no other language here uses it.
"""

from __future__ import annotations

import re

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

MIN_CONFIDENCE = 0.7
MIN_WORDS = 2
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_UKRAINIAN_ONLY = frozenset("іїєґ")
_RUSSIAN_ONLY = frozenset("ыэъё")
# Common words only one of the two languages uses (when neither has its own letters).
_RUSSIAN_WORDS = frozenset({
    "что", "это", "как", "мне", "меня", "он", "она", "они", "могу", "больше", "сейчас",
    "умереть", "хочется", "нет", "его", "её", "друг", "помогите", "пожалуйста", "ничего",
    "всё", "себя",
})
_UKRAINIAN_WORDS = frozenset({
    "що", "це", "як", "мені", "мене", "він", "вона", "вони", "можу", "більше", "зараз",
    "померти", "хочеться", "немає", "його", "її", "друже", "допоможіть", "будь", "ласка",
    "нічого", "все", "себе",
})
_WORD = re.compile(r"[^\W\d_]{2,}")


class LanguageGuesser:
    def __init__(self, languages: tuple[str, ...]) -> None:
        wanted = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
                  for code in languages]
        self.languages = languages
        self._detector = (LanguageDetectorBuilder.from_languages(*wanted)
                          .with_low_accuracy_mode().build()) if len(wanted) > 1 else None

    def guess(self, text: str) -> str | None:
        """The message's language code, or None when the text does not say clearly."""
        if self._detector is None:
            return None
        words = _WORD.findall(text[:2000])
        if not words:
            return None
        sample = " ".join(words[:60])
        values = self._detector.compute_language_confidence_values(sample)
        if not values:
            return None
        best = values[0]
        code = best.language.iso_code_639_1.name.lower()
        if _CYRILLIC.search(sample):
            letters = set(sample.casefold())
            if letters & _UKRAINIAN_ONLY and not letters & _RUSSIAN_ONLY:
                return "uk"
            if letters & _RUSSIAN_ONLY and not letters & _UKRAINIAN_ONLY:
                return "ru"
            said = {w.casefold() for w in words}
            ru, uk = len(said & _RUSSIAN_WORDS), len(said & _UKRAINIAN_WORDS)
            if ru != uk:
                return "ru" if ru > uk else "uk"
            cyrillic = [v for v in values if v.language.iso_code_639_1.name.lower()
                        in ("ru", "uk")]
            return cyrillic[0].language.iso_code_639_1.name.lower() if cyrillic else None
        if len(words) < MIN_WORDS or best.value < MIN_CONFIDENCE:
            return None
        return code
