"""The 35 countries of the reference, and recognising any ISO country however it is typed.

Expected numbers are written here by hand from shared/reference/crisis_lines.md, never read
from crisis_lines.yaml, so a wrong number there fails. The resolver tests use
``CountryResolver`` directly (it does not need the core).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import time
from pathlib import Path

import pytest

from bot.content.html_format import html_to_text
from bot.content.load import _check_crisis_lines
from bot.content.models import CrisisLinesFile
from bot.content.yaml_source import load_yaml
from bot.core import Core
from bot.understand.countries import CountryResolver, country_name

PROJECT = Path(__file__).resolve().parents[1]

# The number the overdose reply must lead with (any of a country's emergency numbers).
EMERGENCY = {
    "US": {"911"}, "CA": {"911"}, "GB": {"999"}, "IE": {"112", "999"}, "AU": {"000"},
    "NZ": {"111"}, "IN": {"112"}, "DE": {"112"}, "FR": {"15", "112"}, "ES": {"112"},
    "ZA": {"10177", "112"},
    "MX": {"911"}, "BR": {"192"}, "PT": {"112"}, "IT": {"112", "118"}, "NL": {"112"},
    "BE": {"112"}, "AT": {"144", "112"}, "CH": {"144", "112"}, "PL": {"112", "999"},
    "UA": {"103", "112"}, "AR": {"911", "107"}, "CO": {"123"}, "CL": {"131"}, "PH": {"911"},
    "NG": {"112"}, "KE": {"999", "112"}, "SG": {"995"}, "MY": {"999"}, "JP": {"119"},
    "KR": {"119"}, "SE": {"112"}, "NO": {"113"}, "DK": {"112"}, "FI": {"112"},
}  # fmt: skip

# The crisis line the suicide reply must show (the 24 countries added in the second pass;
# Nigeria has no confirmed crisis line, so it gets the international directory).
CRISIS_LINE = {
    "MX": "800 911 2000", "BR": "188", "PT": "1411", "IT": "02 2327 2327", "NL": "113",
    "BE": "1813", "AT": "142", "CH": "143", "PL": "800 70 2222", "UA": "7333",
    "AR": "0800 345 1435", "CO": "106", "CL": "*4141", "PH": "1553", "NG": "findahelpline.com",
    "KE": "+254 722 178 177", "SG": "1767", "MY": "15555", "JP": "0120-061-338", "KR": "109",
    "SE": "90101", "NO": "116 123", "DK": "70 201 201", "FI": "09 2525 0111",
}  # fmt: skip

# Numbers the reference marks UNVERIFIED (or superseded, or run by the police and left out):
# none may appear anywhere in crisis_lines.yaml.
NEVER = [
    "900 16 15 15", "85258", "877-696-1996", "0800 77 66 00", "1800-11-0031", "1-800-273-8255",
    "1933", "55 5259 8121", "800 199 990", "801 199 990", "0900-1995", "0800 800 2000",
    "0909 991 6463", "1199", "1190", "0570-064-556", "0570-046-556", "03-7627 2929",
    "915 08588", "08588", "0800 333 0160", "0800 078 7746", "0120-279-338",
]  # fmt: skip
PHONE_LIKE = re.compile(r"[+*]?\d[\d ()-]*\d")

NUMBER = re.compile(r"(?<![\w/*+])\d(?:[\d ]*\d)?(?![\w/])")


@pytest.fixture(scope="module")
def resolver(core: Core) -> CountryResolver:
    return CountryResolver.from_crisis_lines(core.content.crisis_lines)


# --- the 35 countries -------------------------------------------------------------------------


def test_every_country_of_the_reference_has_an_entry(core: Core) -> None:
    assert set(core.countries) == set(EMERGENCY)
    assert len(EMERGENCY) == 35


@pytest.mark.parametrize("country", sorted(EMERGENCY))
def test_the_overdose_reply_leads_with_the_emergency_number(core: Core, country: str) -> None:
    first = core.topic("overdose", country).messages[0]
    text = html_to_text(first)
    numbers = NUMBER.findall(text)
    assert numbers, text
    assert numbers[0] in EMERGENCY[country], (country, numbers[:3], text[:120])
    assert text.index(numbers[0]) < 40, "the number must be on the first line"
    assert f"<b>Call {numbers[0]} now.</b>" in first


@pytest.mark.parametrize("country", sorted(CRISIS_LINE))
def test_the_crisis_reply_shows_the_national_crisis_line(core: Core, country: str) -> None:
    text = html_to_text(core.topic("suicide", country).messages[0])
    assert CRISIS_LINE[country] in text, (country, text[:300])


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_no_unverified_or_superseded_number_is_published(core: Core) -> None:
    never = {digits(n) for n in NEVER}
    shown = []
    for code, country in core.content.crisis_lines.countries.items():
        for line in country.lines:
            shown += [(code, v) for v in (line.number, line.sms) if v]
            for text in (line.note, line.operator_note, line.name):
                shown += [(code, m) for m in PHONE_LIKE.findall(text or "")]
    found = [(code, value) for code, value in shown if digits(value) in never]
    assert not found, found
    assert len(shown) > 150


def test_a_line_run_by_law_enforcement_says_so_where_it_is_shown(core: Core) -> None:
    flagged = [(code, line) for code, country in core.content.crisis_lines.countries.items()
               for line in country.lines if line.law_enforcement]
    assert {code for code, _ in flagged} >= {"NG", "MY"}
    for code, line in flagged:
        assert line.operator_note
        shown = html_to_text(core.message("fallback", code).messages[0])
        assert line.number in shown and line.operator_note in shown, (code, shown)
        rendered = core.renderer.line(line)
        assert rendered.index(line.operator_note) > rendered.index(line.number or line.name)


def test_naloxone_notes_are_given_only_where_the_reference_says_something(core: Core) -> None:
    countries = core.content.crisis_lines.countries
    with_note = {code for code, c in countries.items() if c.naloxone_note}
    # second pass: the reference says nothing (or its sources disagree) for these
    silent = {"PT", "CH", "AR", "CL", "PH", "NG", "KE", "SG", "MY", "JP", "KR"}
    assert not with_note & silent
    assert with_note >= {"MX", "BR", "IT", "NL", "BE", "AT", "PL", "UA", "CO", "SE", "NO",
                         "DK", "FI"}
    for code in with_note:
        assert countries[code].naloxone_source, code
    values = core.renderer.values
    assert values["JP"]["naloxone_note"] == "" and values[None]["naloxone_note"] == ""
    assert "without a prescription" in values["IT"]["naloxone_note"]


def test_no_new_country_claims_a_good_samaritan_law(core: Core) -> None:
    countries = core.content.crisis_lines.countries
    intl = core.renderer.values[None]["good_samaritan"]
    for code in set(EMERGENCY) - {"US", "CA"}:
        assert not countries[code].good_samaritan, code
        assert core.renderer.values[code]["good_samaritan"] == intl


def test_countries_with_only_an_emergency_number_get_it(core: Core) -> None:
    crisis = core.content.crisis_lines
    only = crisis.emergency_only_codes()
    assert {"GR", "CZ", "RO"} <= set(only)
    assert not set(only) & set(crisis.countries)
    values = core.renderer.values
    assert values["GR"]["emergency"] == "112"
    assert values["GR"]["country_name"] == "Greece"
    assert values["GR"]["crisis_line"] == values[None]["crisis_line"]


# --- lint refuses what the crisis-lines rules forbid ------------------------------------------


@pytest.fixture
def crisis_copy(tmp_path: Path) -> Path:
    """A private copy of crisis_lines.yaml (checked on its own: the other content files do
    not matter to these checks)."""
    path = tmp_path / "crisis_lines.yaml"
    shutil.copy(PROJECT / "crisis_lines.yaml", path)
    return path


def lint_problems(path: Path) -> list[str]:
    source = load_yaml(path)
    problems: list[str] = []
    _check_crisis_lines(CrisisLinesFile.model_validate(source.data), source, problems,
                        dt.date.today())
    assert problems
    return problems


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_the_real_file_passes_the_crisis_lines_checks() -> None:
    source = load_yaml(PROJECT / "crisis_lines.yaml")
    problems: list[str] = []
    _check_crisis_lines(CrisisLinesFile.model_validate(source.data), source, problems,
                        dt.date.today())
    assert not problems, problems


def test_lint_wants_an_operator_note_on_a_law_enforcement_line(crisis_copy: Path) -> None:
    path = crisis_copy
    edit(path, "        operator_note: run by the National Drug Law Enforcement Agency (NDLEA), "
               "a law-enforcement agency\n", "")
    assert any("law enforcement needs an operator_note" in p for p in lint_problems(path))


def test_lint_refuses_an_emergency_only_code_that_is_not_an_emergency_number(
    crisis_copy: Path,
) -> None:
    path = crisis_copy
    edit(path, "      BG: Bulgaria\n", "      BG: Bulgaria\n      XK: Kosovo\n      FR: France\n"
                                        "      CN: China\n")
    problems = lint_problems(path)
    assert any("'XK' is not an ISO 3166" in p for p in problems), problems
    assert any("FR has its own entry" in p for p in problems), problems
    assert any("'112' is not an emergency number in CN" in p for p in problems), problems


def test_lint_wants_a_source_for_a_naloxone_note(crisis_copy: Path) -> None:
    path = crisis_copy
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"\n    naloxone_source: https://www\.mdhg\.nl/[^\n]*", "", text),
                    encoding="utf-8")
    assert any("naloxone_note needs naloxone_source" in p for p in lint_problems(path))


# --- recognising any country --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        # the 35, in English and in their own languages
        ("Mexico", "MX"), ("México", "MX"), ("Brasil", "BR"), ("Deutschland", "DE"),
        ("Polska", "PL"), ("Україна", "UA"), ("Украина", "UA"), ("日本", "JP"), ("한국", "KR"),
        ("대한민국", "KR"), ("Sverige", "SE"), ("Suomi", "FI"), ("Norge", "NO"),
        ("Danmark", "DK"), ("Nederland", "NL"), ("Holland", "NL"), ("België", "BE"),
        ("Belgique", "BE"), ("Österreich", "AT"), ("Schweiz", "CH"), ("Suisse", "CH"),
        ("Italia", "IT"), ("Pilipinas", "PH"), ("Naija", "NG"), ("Singapura", "SG"),
        ("South Korea", "KR"), ("korea", "KR"), ("the Philippines", "PH"),
        # any ISO country, by English, official, common or own-language name
        ("Greece", "GR"), ("Ελλάδα", "GR"), ("Russia", "RU"), ("Россия", "RU"),
        ("Russian Federation", "RU"), ("Türkiye", "TR"), ("turkey", "TR"), ("Iran", "IR"),
        ("Viet Nam", "VN"), ("vietnam", "VN"), ("Czech Republic", "CZ"), ("Czechia", "CZ"),
        ("Côte d'Ivoire", "CI"), ("ivory coast", "CI"), ("north korea", "KP"),
        ("St Lucia", "LC"), ("Bolivia", "BO"), ("Tanzania", "TZ"), ("Беларусь", "BY"),
        ("中国", "CN"), ("भारत", "IN"), ("Ísland", "IS"), ("Vereinigtes Königreich", "GB"),
        ("Reino Unido", "GB"), ("Estados Unidos", "US"), ("États-Unis", "US"),
        ("Stany Zjednoczone", "US"), ("Allemagne", "DE"), ("Alemania", "DE"),
        # flags, codes
        ("🇳🇬", "NG"), ("🇷🇺", "RU"), ("🇬🇷", "GR"), ("NG", "NG"), ("ke", "KE"), ("PHL", "PH"),
        ("deu", "DE"), ("mx", "MX"), ("usa", "US"), ("DRC", "CD"),
    ],
)
def test_any_country_is_recognised_by_name(resolver: CountryResolver, typed: str,
                                           code: str) -> None:
    assert resolver.resolve(typed) == code
    assert resolver.resolve(typed, exact=True) == code


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("I'm in Mexico", "MX"), ("i live in the netherlands", "NL"), ("im from nigeria", "NG"),
        ("i am in NG", "NG"), ("from the us", "US"), ("estoy en México", "MX"),
        ("vivo en Colombia", "CO"), ("moro no Brasil", "BR"), ("ich bin in Deutschland", "DE"),
        ("ich bin in der Schweiz", "CH"), ("ich wohne in den Niederlanden", "NL"),
        ("in den USA", "US"), ("im Vereinigten Königreich", "GB"),
        ("je suis en France", "FR"), ("je suis au Canada", "CA"),
        ("je suis aux États-Unis", "US"), ("sono in Italia", "IT"),
        ("jestem w Polsce", "PL"), ("jestem w Niemczech", "DE"), ("jestem z Ukrainy", "UA"),
        ("mieszkam we Włoszech", "IT"), ("w Wielkiej Brytanii", "GB"), ("na Ukrainie", "UA"),
        ("я в России", "RU"), ("я из России", "RU"), ("я в Украине", "UA"),
        ("я живу в Германии", "DE"), ("я в США", "US"), ("я з України", "UA"),
        ("日本に住んでいます", "JP"), ("한국에 살아요", "KR"), ("🇰🇪 here", "KE"),
        ("i live in new mexico", "US"), ("in new south wales", "AU"), ("i'm in oz", "AU"),
    ],
)
def test_a_country_named_in_a_sentence(resolver: CountryResolver, typed: str,
                                       code: str) -> None:
    assert resolver.resolve(typed) == code
    assert resolver.resolve(typed, exact=True) is None, "exact: only a bare country name"


@pytest.mark.parametrize(
    "typed",
    [
        # codes that are words, alone or in a sentence
        "in", "no", "it", "me", "is", "be", "my", "am", "can", "im", "so", "mg", "ug",
        "help us", "i'm in a bad way", "is it safe", "no way", "me too", "can you help me",
        "he took 10mg", "i overdosed on christmas chocolate", "mi hijo usa heroína",
        "is there a clinic in my city", "im about to go use", "where to go for treatment",
        # drug slang that contains a country's name
        "is cold turkey safe", "going cold turkey", "china white",
        # not countries, or ambiguous
        "narnia", "other", "", "   ", "congo", "i live in indiana", "not sure",
    ],
)
def test_words_that_are_not_a_country(resolver: CountryResolver, typed: str) -> None:
    assert resolver.resolve(typed) is None
    assert resolver.resolve(typed, exact=True) is None


def test_codes_that_are_words_count_only_in_capitals_and_never_in_exact_mode(
    resolver: CountryResolver,
) -> None:
    for code in ("NO", "IT", "IN", "IE", "ES", "MY", "AT", "BE", "CO", "SE"):
        assert resolver.resolve(code) == code, code  # `recovery-bot chat --country NO`
        assert resolver.resolve(code, exact=True) is None
        assert resolver.resolve(code.lower()) is None
    assert resolver.resolve("ME") is None  # a word, and Montenegro has no numbers here


def test_every_iso_country_is_recognised_by_its_english_name_and_its_flag(
    resolver: CountryResolver,
) -> None:
    import pycountry

    missed = []
    for country in pycountry.countries:
        code = country.alpha_2
        name = getattr(country, "common_name", None) or country.name
        if resolver.resolve(name) != code and code not in ("CD", "CG"):  # "Congo": both
            missed.append((code, name))
        flag = "".join(chr(0x1F1E6 + ord(ch) - ord("A")) for ch in code)
        if resolver.resolve(flag, exact=True) != code:
            missed.append((code, flag))
    assert not missed, missed


def test_own_language_names_for_the_languages_asked_for(resolver: CountryResolver) -> None:
    for lang in ("es", "pt", "fr", "de", "it", "pl", "ru", "uk"):
        for code in ("DE", "FR", "ES", "IT", "PL", "UA", "GB", "JP", "BR", "SE"):
            name = country_name(code, lang)
            assert name and resolver.resolve(name, exact=True) == code, (lang, code, name)


def test_entries_and_countries_without_one(resolver: CountryResolver) -> None:
    assert resolver.has_entry("NG") and resolver.has_entry("GB")
    assert not resolver.has_entry("RU") and not resolver.has_entry("GR")
    assert not resolver.has_entry("international") and not resolver.has_entry(None)
    assert resolver.has_emergency_number("GR") and not resolver.has_emergency_number("RU")
    assert resolver.resolve("Greece") == "GR" and resolver.resolve("Russia") == "RU"


def test_localised_names() -> None:
    assert country_name("DE") == "Germany"
    assert country_name("KR") == "South Korea"
    assert country_name("DE", "de") == "Deutschland"
    assert country_name("GB", "fr") == "Royaume-Uni"
    assert country_name("JP", "ja") == "日本"
    assert country_name("US", "xx") == "United States"  # no such locale: English
    assert country_name("XX") is None
    assert CountryResolver.name("PL", "pl") == "Polska"


def test_the_resolver_is_quick(core: Core) -> None:
    countries = core.content.crisis_lines.countries
    CountryResolver(countries)  # pycountry tables: once per process
    start = time.perf_counter()
    resolver = CountryResolver(countries)
    build = time.perf_counter() - start
    texts = ["uk", "i'm in the netherlands", "jestem w Polsce", "日本に住んでいます",
             "how long does withdrawal last", "is cold turkey safe"] * 50
    start = time.perf_counter()
    for text in texts:
        resolver.resolve(text)
    per_call = (time.perf_counter() - start) / len(texts)
    assert build < 1.0 and per_call < 0.005, (build, per_call)


@pytest.mark.parametrize("country", sorted(EMERGENCY))
def test_every_country_code_works_for_chat_country(core: Core, country: str) -> None:
    # `recovery-bot chat --country CC` resolves CC with Core.resolve_country
    assert core.resolve_country(country) == country
    assert core.resolver.resolve(country) == country


@pytest.mark.parametrize(("country", "number"),
                         [("KR", "119"), ("MX", "911"), ("SG", "995"), ("NG", "112")])
def test_without_a_poison_line_poisoning_goes_to_the_local_emergency_number(
    core: Core, country: str, number: str
) -> None:
    # never the international "112": in South Korea 112 is the police
    poison = html_to_text(core.renderer.values[country]["poison"])
    assert NUMBER.findall(poison) == [number], poison
