"""Turn what a user types ("uk", "Britain", "🇦🇺", "i'm in oz", "estoy en México",
"jestem w Polsce", "я из России", "日本") into an ISO 3166 alpha-2 country code.

Every ISO country is recognised, not only those with an entry in crisis_lines.yaml
(:meth:`CountryResolver.has_entry` tells them apart). The names come from, in order of
precedence (a name that two countries share at the same level is dropped as ambiguous):

1. crisis_lines.yaml: each entry's ``name`` and ``aliases`` (curated);
2. ``_EXTRA_NAMES`` below: common names that pycountry lacks ("russia", "north korea");
3. pycountry's English names (name, official and common name, "Korea, Republic of" also as
   "Republic of Korea", parentheses dropped, "saint" also as "st");
4. pycountry's gettext translations in ``LANGUAGES``, the same way (official names in the
   first eight only);
5. ISO alpha-3 and alpha-2 codes, except those that are words ("in", "no", "it", "can").

Codes and names of one to three letters inside a sentence count only after a preposition
("i'm in NG", "from the us"); whole-message answers ("NG") always count. Codes that are words
("in", "no", "it") count only typed in capitals as the whole text, outside ``exact`` mode,
and only for countries with their own numbers ("NO" for Norway, as in ``chat --country NO``).
Declined forms ("w Polsce", "в России", "aus den Niederlanden") are matched by stem after a
Slavic or German preposition. Names in scripts written without spaces (Japanese, Chinese,
Korean with its particles) are found anywhere in the text, as are flag emoji. Phrases such
as "cold turkey" never name a country.

All tables are built once (the pycountry part once per process); a lookup is a few
dictionary probes.
"""

from __future__ import annotations

import gettext
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache

import pycountry

from bot.content.models import CountryDef, CrisisLinesFile

__all__ = ["INTERNATIONAL", "LANGUAGES", "CountryResolver", "country_name"]

INTERNATIONAL = "international"
MAX_TOKENS_FOR_SEARCH = 8
MAX_CHARS = 200  # a country answer is short: longer text is cut before looking
# pycountry locales whose country names are recognised (its gettext domain "iso3166-1").
# The eight the bot was asked for, the languages of the countries with an entry, and a few
# widely spoken ones (each catalogue costs a few milliseconds at start-up).
LANGUAGES = (
    "es", "pt", "fr", "de", "it", "pl", "ru", "uk",
    "nl", "sv", "nb_NO", "da", "fi", "ja", "ko", "zh_CN", "ms", "tl",
    "zh_TW", "tr", "el", "ar", "hi", "id", "vi", "cs", "ro", "hu",
)  # fmt: skip

# Official names ("Bundesrepublik Deutschland") are read in the first eight languages only.
_OFFICIAL_LANGUAGES = 8
# Languages whose names change after a preposition ("w Polsce"): their names get stems.
_DECLINING = frozenset(("pl", "ru", "uk", "cs", "de"))

# Levels of precedence (lower wins); _BLOCK marks _NOT_A_COUNTRY phrases.
_BLOCK, _YAML, _EXTRA, _ENGLISH, _TRANSLATED, _CODE = range(-1, 5)

# Common names pycountry lacks or spells differently (any language). Subnational names that
# contain a country name ("new mexico", "new south wales") point at their own country so the
# longer phrase wins.
_EXTRA_NAMES: dict[str, tuple[str, ...]] = {
    "RU": ("russia", "rusia", "rússia", "russie", "russland", "rosja", "russia", "россия",
           "росія", "рф", "rossiya"),
    "KP": ("north korea", "dprk", "corea del norte", "coreia do norte", "corée du nord",
           "nordkorea", "korea północna", "северная корея", "північна корея"),
    "KR": ("corea del sur", "coreia do sul", "corée du sud", "südkorea", "korea południowa",
           "южная корея"),
    "CD": ("dr congo", "drc", "democratic republic of congo", "congo-kinshasa", "rdc",
           "rd congo"),
    "CG": ("congo-brazzaville", "republic of congo"),
    "TR": ("turkey", "turkei", "türkei", "turquie", "turquía", "turchia", "turcja",
           "турция"),
    "CI": ("ivory coast",),
    "CV": ("cape verde",),
    "TL": ("east timor",),
    "MM": ("burma",),
    "SZ": ("swaziland",),
    "MK": ("macedonia",),
    "VA": ("vatican", "vatican city"),
    "AE": ("uae", "emirates", "the emirates"),
    "BA": ("bosnia",),
    "CZ": ("czech republic", "czechy", "tschechien", "république tchèque"),
    "GB": ("inglaterra", "angleterre", "inghilterra", "anglia", "англия", "англія",
           "великобритания", "британия", "reino unido"),
    "US": ("estados unidos", "eeuu", "ee uu", "états-unis", "etats unis", "сша", "америка",
           "stany zjednoczone", "vereinigte staaten"),
    "IR": ("persia",),
    "NL": ("holanda", "olanda"),
    # Polish locatives that no stem rule reaches ("w Polsce", "we Włoszech")
    "PL": ("polsce",),
    "IT": ("włoszech",),
    "FK": ("falklands", "falkland islands", "malvinas"),
    # subnational names that contain a country's name
    "_US": ("new mexico", "new jersey", "new england"),
    "_AU": ("new south wales",),
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Phrases that contain a country's name but are not about a country (drug slang above all):
# a country name inside one of them is ignored.
_NOT_A_COUNTRY = ("cold turkey", "china white", "china girl")
# Country names that are also common English words: inside a sentence they count only after
# a preposition ("i'm in turkey", not "turkey sandwich").
_COMMON_WORD_NAMES = _words(
    "turkey chad jordan china guinea jersey georgia chile chili niger cook man panama "
    "christmas jamaica israel того")  # Russian "того" (Togo) is also "of that"


# ISO codes that are words or chat abbreviations (English and the languages above): never
# read as a code. Curated aliases in crisis_lines.yaml ("us", "de") are not affected.
_WORD_CODES = _words("""
ad ai al am an as at aw ba bb be bf bi bj bm bo bs bt by cc cd cf ci cm co cu cv dj dm do eg
eh er es et fm ga gd gf gg gl gm gn gp gr gt ha hm hr ht id ie il im in io iq is it je jo kg
km la lb li ls lt lu ly ma mc md me mf mg mk ml mm mo mp mr ms mt mu mv my na ne ni no np nu
om pa pe pg pm pr ps pw qa re sa sc sd se sh si sl sm so sr ss st tc td th tl tm to tt tv ug
um va vc ve vi vu ws ye yt dk
and arm are ago aus bel ben can che cod cog col com cub dom est esp fin fra gab gin gum guy
hun irl jam ken lie lux mac mar mmr mus nam nor pan per png sau sen som sur ton uga vat ven
""")

# Words after which a code or a one- or two-letter name counts inside a sentence.
_PREPOSITIONS = _words("""
in from the to at en au aux de del du des da do dos das em na no nos a al aus im nach nel
nella dal dalla w we z ze v ve в во из у з із зі с на der den dem die la le les el los las il lo
""")
# ... and after which a declined name is matched by its stem ("w Polsce", "в России",
# "aus den Niederlanden").
_STEM_PREPOSITIONS = _words("w we z ze na v ve в во из у з із зі с на der den dem im aus")
_STEM_MIN = 4  # shortest stem matched by prefix
_STEM_SLACK = 4  # most letters a declined form may add to the stem
_STEM_ENDINGS = "aeiouyjаеёиоуыэюяіїєьъй"  # vowels, and the j of Polish -ej / -ii

# Apostrophes, and dots inside words ("u.k." -> "uk."), are removed.
_STRIP = re.compile(r"['’‘`´ʼ]|(?<=\w)\.(?=\w)")
_MARKS = re.compile("[\u0300-\u036f\u00ad\u200b-\u200c\u200e\u200f\u2060-\u2064\ufe0e\ufe0f"
                    "\ufeff]")  # accents and invisible characters (tag characters are kept)
_SPECIAL = re.compile("[łøđıßæœþð]")
_LETTERS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ı": "i", "ß": "ss", "æ": "ae",
                          "œ": "oe", "þ": "th", "ð": "d"})
# Letters and digits, with the vowel signs of Indic and Thai scripts and Arabic harakat.
_WORD = re.compile(r"(?:[^\W_]|[\u064b-\u065f\u0900-\u0dff\u0e00-\u0e7f])+")
_NO_SPACES = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\u0e00-\u0e7f]")
_FLAG = re.compile("[\U0001f1e6-\U0001f1ff]{2}")
_PAREN = re.compile(r"\s*\(([^)]*)\)")


def _norm(text: str) -> str:
    """The resolver's canonical text: case folded, compatibility forms and accents removed
    ("É" -> "e", "й" -> "и"), Hangul recomposed, no apostrophes or dots inside words.
    (Not bot.text's clean_unicode: its look-alike folding turns Cyrillic into Latin.)"""
    text = text[:MAX_CHARS].casefold()
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        if _SPECIAL.search(text):
            text = text.translate(_LETTERS)
        text = unicodedata.normalize("NFC", _MARKS.sub("", text))
    return _STRIP.sub("", text) if ("'" in text or "." in text or not text.isascii()) else text


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(_norm(text)))


def _phrase(text: str) -> tuple[str, ...]:
    tokens = _tokens(text)
    return tokens[1:] if tokens[:1] == ("the",) and len(tokens) > 1 else tokens


def _stem(token: str) -> str:
    """The word without its ending: final vowels (and Polish j), and the German adjective
    endings -en/-es/-er/-em ("vereinigten", "vereinigtes" -> "vereinigt")."""
    stem = token.rstrip(_STEM_ENDINGS)
    if len(stem) > 5 and stem[-2:] in ("en", "es", "er", "em"):
        stem = stem[:-2]
    return stem or token


def _flag(code: str) -> str:
    return "".join(chr(0x1F1E6 + ord(ch) - ord("A")) for ch in code)


_SAINT = re.compile(r"(?i)saint\b")
_PART = re.compile(r"part|parte|partie|teil")


def _variants(name: str, *, inner: bool = True) -> Iterator[str]:
    """"Korea, Republic of" -> itself, "Korea", "Republic of Korea"; "Holy See (Vatican City
    State)" -> "Holy See", "Vatican City State" (the part in brackets only with ``inner``:
    in translations it often names another country, "San Martín (Francia)"); "Saint Lucia"
    -> also "St Lucia"."""
    forms = [name]
    if "(" in name:
        brackets = [m.strip() for m in _PAREN.findall(name)] if inner else []
        name = _PAREN.sub("", name).strip()
        forms.append(name)
        forms += [b for b in brackets if len(b) > 3 and not _PART.search(b)]
    if ", " in name:
        head, tail = name.split(", ", 1)
        forms += [head, f"{tail} {head}"]
    for form in forms:
        yield form
        if _SAINT.match(form):
            yield "st " + form[6:]


def _translations(lang: str) -> gettext.NullTranslations | None:
    try:
        return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
    except OSError:
        return None


def _english_names(country: object) -> list[str]:
    return [n for n in (getattr(country, f, None)
                        for f in ("name", "official_name", "common_name")) if n]


# A lookup table: key -> (level, code, or None when two countries share the key at that level).
_Table = dict[object, tuple[int, str | None]]


def _offer(table: _Table, key: object, level: int, code: str) -> None:
    old = table.get(key)
    if old is None or level < old[0]:
        table[key] = (level, code)
    elif level == old[0] and old[1] != code and old[1] is not None:
        table[key] = (level, None)


class _Tables:
    """Phrases, stems and unspaced names (see the module docstring), merged by level."""

    def __init__(self) -> None:
        self.phrases: _Table = {}
        self.stems: _Table = {}
        self.unspaced: _Table = {}
        self.symbols: dict[str, str] = {}

    def copy(self) -> _Tables:
        other = _Tables()
        other.phrases, other.stems = dict(self.phrases), dict(self.stems)
        other.unspaced, other.symbols = dict(self.unspaced), dict(self.symbols)
        return other

    def add(self, alias: str, code: str, level: int, *, stems: bool = True) -> None:
        phrase = _phrase(alias)
        if not phrase:
            symbol = _norm(alias).strip()
            if symbol:
                self.symbols.setdefault(symbol, code)
            return
        if level == _CODE:
            if phrase[0] not in _WORD_CODES:
                _offer(self.phrases, phrase, level, code)
            return
        if level in (_ENGLISH, _TRANSLATED) and phrase[0].isascii() and all(
                len(t) < 4 for t in phrase):
            return  # "Mỹ", "Ý", "Tô-gô" (Vietnamese) would be "my", "y", "to go"
        _offer(self.phrases, phrase, level, code)
        if not phrase[0].isascii():
            joined = "".join(phrase)
            if len(joined) >= 2 and _NO_SPACES.search(joined):
                _offer(self.unspaced, joined, level, code)
        if stems:
            stem = tuple([_stem(t) for t in phrase])
            if any(len(t) >= _STEM_MIN for t in stem):
                _offer(self.stems, stem, level, code)


@lru_cache(maxsize=1)
def _generated() -> _Tables:
    """The tables from pycountry and ``_EXTRA_NAMES``, which do not depend on the content:
    built once per process."""
    tables = _Tables()
    for phrase in _NOT_A_COUNTRY:
        tables.phrases[_phrase(phrase)] = (_BLOCK, "")
    names: list[tuple[str, str, int, bool]] = []  # (alias, code, level, stems), in order
    for code, extra in _EXTRA_NAMES.items():
        names += [(name, code.lstrip("_"), _EXTRA, True) for name in extra]
    catalogues = [_translations(lang) or gettext.NullTranslations() for lang in LANGUAGES]
    for country in pycountry.countries:
        code = country.alpha_2
        english = _english_names(country)
        short = [n for n in english if n != getattr(country, "official_name", None)]
        seen: set[str] = set()
        for name in english:
            for form in _variants(name):
                if form not in seen:
                    seen.add(form)
                    names.append((form, code, _ENGLISH, False))
        for i, t in enumerate(catalogues):
            declines = LANGUAGES[i] in _DECLINING
            for name in english if i < _OFFICIAL_LANGUAGES else short:
                local = t.gettext(name)
                if local != name and local not in seen:
                    seen.add(local)
                    names += [(form, code, _TRANSLATED, declines)
                              for form in _variants(local, inner=False)]
        names += [(country.alpha_3, code, _CODE, False), (code, code, _CODE, False)]
        tables.symbols.setdefault(_flag(code), code)
    for alias, code, level, stems in names:
        tables.add(alias, code, level, stems=stems)
    return tables


@lru_cache(maxsize=64)
def _catalogue(lang: str) -> gettext.NullTranslations | None:
    return _translations(lang)


def country_name(code: str, lang: str = "en") -> str | None:
    """The country's name in ``lang`` (a pycountry locale such as "de" or "pt_BR"), from
    pycountry's gettext catalogues; English when there is no translation; None for a code
    that is not an ISO 3166 country."""
    country = pycountry.countries.get(alpha_2=code.upper()) if len(code) == 2 else None
    if country is None:
        return None
    common = getattr(country, "common_name", None) or country.name
    if lang.split("_")[0] == "en":
        return common
    t = _catalogue(lang)
    if t is None:
        return common
    for msgid in (common, country.name):
        local = t.gettext(msgid)
        if local != msgid:
            return local
    return common


class CountryResolver:
    """Built once from the crisis-lines entries; :meth:`resolve` is cheap."""

    def __init__(self, countries: Mapping[str, CountryDef], *,
                 emergency_only: Iterable[str] = ()):
        self._entries = frozenset(c for c in countries if c != INTERNATIONAL)
        self._emergency_only = frozenset(emergency_only) - self._entries
        tables = _generated().copy()
        for code, country in countries.items():
            if code != INTERNATIONAL:
                for alias in (*country.aliases, country.name):
                    tables.add(alias, code, _YAML)
        # phrase (tokens) -> (code, needs a preposition before it inside a sentence)
        # phrase (tokens) -> (code, "" for a _NOT_A_COUNTRY phrase; whether inside a sentence
        # it needs a preposition before it: codes, words of one to three letters, and names
        # that are common words)
        self.phrases = {k: (c, level == _CODE or (len(k) == 1 and (
                            len(k[0]) <= 3 or k[0] in _COMMON_WORD_NAMES)))
                        for k, (level, c) in tables.phrases.items() if c is not None}
        self._stems = {k: c for k, (_, c) in tables.stems.items() if c is not None}
        self._unspaced = sorted(((k, c) for k, (_, c) in tables.unspaced.items()
                                 if c is not None), key=lambda item: -len(item[0]))
        self._symbols = tables.symbols
        self._symbol_aliases = [(a, c) for a, c in tables.symbols.items()
                                if not _FLAG.fullmatch(a)]
        self.max_phrase = max((len(p) for p in self.phrases), default=1)

    @classmethod
    def from_crisis_lines(cls, crisis: CrisisLinesFile) -> CountryResolver:
        return cls(crisis.countries, emergency_only=crisis.emergency_only_codes())

    # --- what callers ask -------------------------------------------------------

    def has_entry(self, code: str | None) -> bool:
        """Whether ``code`` has its own entry in crisis_lines.yaml."""
        return code in self._entries

    def has_emergency_number(self, code: str | None) -> bool:
        """Whether ``code`` has an emergency number of its own (an entry or emergency_only)."""
        return code in self._entries or code in self._emergency_only

    @staticmethod
    def name(code: str, lang: str = "en") -> str | None:
        """The country's name in ``lang`` (pycountry gettext); see :func:`country_name`."""
        return country_name(code, lang)

    def resolve(self, text: str, *, exact: bool = False) -> str | None:
        """The ISO alpha-2 code of the country ``text`` names (any ISO country), or None.
        With ``exact``, only when the whole text is a country name ("uk", "the UK", "🇬🇧",
        "Deutschland"), never a sentence that mentions one."""
        raw = _norm(text).strip()
        if not raw:
            return None
        if raw in self._symbols:
            return self._symbols[raw]
        tokens = tuple(_WORD.findall(raw))
        whole = tokens[1:] if tokens[:1] == ("the",) and len(tokens) > 1 else tokens
        found = self.phrases.get(whole)
        if found:
            return found[0] or None
        if exact or len(tokens) > MAX_TOKENS_FOR_SEARCH:
            return None
        code = text.strip()
        if len(code) == 2 and code.isupper() and self.has_emergency_number(code):
            return code  # "NO", "IT", "IN" typed as a code (`chat --country NO`), never exact
        return (self._in_sentence(tokens) or self._declined(tokens)
                or self._unspaced_in(raw) or self._symbol_in(raw))

    def _in_sentence(self, tokens: tuple[str, ...]) -> str | None:
        """The longest country name in the sentence (the first, if two are as long)."""
        blocked: set[int] = set()  # words inside a _NOT_A_COUNTRY phrase
        for size in range(min(self.max_phrase, len(tokens)), 0, -1):
            for i in range(len(tokens) - size + 1):
                found = self.phrases.get(tokens[i:i + size])
                if not found or blocked.intersection(range(i, i + size)):
                    continue
                code, gated = found
                if not code:
                    blocked.update(range(i, i + size))
                elif not gated or (i > 0 and tokens[i - 1] in _PREPOSITIONS):
                    return code
        return None

    def _declined(self, tokens: tuple[str, ...]) -> str | None:
        """A declined name right after a Slavic or German preposition, by stem: the stem of
        each typed word starts with the stem of the name's word ("niemc" in "niemczech")
        and adds at most a few letters."""
        for i, word in enumerate(tokens[:-1]):
            if word not in _STEM_PREPOSITIONS:
                continue
            for size in range(min(3, len(tokens) - i - 1), 0, -1):
                found = self._stem_match(tokens[i + 1:i + 1 + size])
                if found:
                    return found
        return None

    def _stem_match(self, words: tuple[str, ...]) -> str | None:
        options: list[list[str]] = []
        for word in words:
            stem = _stem(word)
            low = max(min(len(stem), _STEM_MIN), len(stem) - _STEM_SLACK)
            options.append([stem[:n] for n in range(len(stem), low - 1, -1)])
        for combo in itertools.product(*options):
            code = self._stems.get(combo)
            if code:
                return code
        return None

    def _unspaced_in(self, raw: str) -> str | None:
        if not _NO_SPACES.search(raw):
            return None
        for alias, code in self._unspaced:
            if alias in raw:
                return code
        return None

    def _symbol_in(self, raw: str) -> str | None:
        for alias, code in self._symbol_aliases:  # subdivision flags (England...) first
            if alias in raw:
                return code
        for flag in _FLAG.findall(raw):
            if flag in self._symbols:
                return self._symbols[flag]
        return None
