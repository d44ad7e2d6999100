"""Checks over the REAL content, rendered the way users get it.

Every reply is rendered for every supported country and for "country unknown", then read
the way Telegram and a person would: valid HTML, short enough, no ``{placeholder}`` left,
the right numbers first, respectful words. Expected numbers are written here by hand from
the public reference, not read from crisis_lines.yaml, so a wrong number there fails.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from urllib.parse import urlparse

import phonenumbers
import pytest

from bot.content import REQUIRED_INTENTS
from bot.content.html_format import MAX_MESSAGE_CHARS, html_problems, html_to_text
from bot.core import Core
from bot.reply.model import Reply
from tests.test_countries import CRISIS_LINE as NEW_CRISIS_LINE
from tests.test_countries import EMERGENCY as ALL_EMERGENCY

PROJECT = Path(__file__).resolve().parents[1]
TAXONOMY = PROJECT / "tests" / "data" / "TAXONOMY.md"  # a copy of shared/eval/TAXONOMY.md
TODAY = dt.date.today()
MAX_AGE = dt.timedelta(days=365)

# Emergency numbers a person should be told to call first (any of them may lead).
EMERGENCY = ALL_EMERGENCY  # the 35 countries' numbers, kept once in tests/test_countries.py
NO_COUNTRY_EMERGENCY = {"911", "999", "112", "000", "111"}

# The national suicide / crisis line each country's crisis reply must show.
CRISIS_LINE = {
    "US": "988",
    "CA": "988",
    "GB": "116 123",
    "IE": "116 123",
    "AU": "13 11 14",
    "NZ": "1737",
    "IN": "14416",
    "DE": "0800 111 0 111",
    "FR": "3114",
    "ES": "024",
    "ZA": "0800 567 567",
    None: "findahelpline.com",
    **NEW_CRISIS_LINE,  # the 24 countries added later (tests/test_countries.py)
}

# The national drug helpline shown in the fallback reply (and, where no family line exists,
# to family members: docs/CONTENT_FORMAT.md says {family_line} falls back to {helpline}).
HELPLINE = {
    "US": "1-800-662-4357",
    "CA": "1-866-531-2600",
    "GB": "0300 123 6600",
    "IE": "1800 459 459",
    "AU": "1800 250 015",
    "NZ": "0800 787 797",
    "IN": "14446",
    "DE": "01806 313031",
    "FR": "0 800 23 13 13",
    "ES": "findahelpline.com",
    "ZA": "0800 12 13 14",
    None: "findahelpline.com",
}
FAMILY_LINE = {**HELPLINE, "AU": "1300 368 186"}  # Family Drug Support

# Replies allowed over ~900 visible characters per message, with the reason. None today.
VISIBLE_LIMIT = 900
DOCUMENTED_LONG: dict[tuple[str, int], str] = {}

STIGMA = re.compile(
    r"\b(addicts?|junkies|junkie|abusers?|druggies|druggie|crackheads?|dope ?fiends?|"
    r"(?:is|are|am|you're|i'm|he's|she's|they're|stay|staying|stayed|get|got|getting|"
    r"be|being) clean|dirty (?:urine|test|screen)s?)\b",
    re.IGNORECASE,
)
NUMBER = re.compile(r"(?<![\w/])\d(?:[\d ]*\d)?(?![\w/])")


def all_replies(core: Core) -> list[tuple[str, str | None, Reply]]:
    """(name, country, reply) for every topic and interface message, every country."""
    countries: list[str | None] = [None, *core.countries]
    out = []
    for rid in core.content.responses.responses:
        out += [(rid, cc, core.topic(rid, cc)) for cc in countries]
    for key in core.content.responses.messages:
        out += [(f"messages.{key}", cc, core.message(key, cc)) for cc in countries]
    return out


def numbers_in(text: str) -> list[str]:
    return [n.strip() for n in NUMBER.findall(text)]


# --- every reply, every country ----------------------------------------------------------


def test_every_rendered_reply_is_valid_telegram_html(core: Core) -> None:
    bad = []
    for name, cc, reply in all_replies(core):
        assert reply.messages, (name, cc)
        for n, message in enumerate(reply.messages):
            for problem in html_problems(message):
                bad.append(f"{name} [{cc}] message {n + 1}: {problem}")
    assert not bad, "\n".join(bad)


def test_every_rendered_reply_fits_in_a_telegram_message(core: Core) -> None:
    for name, cc, reply in all_replies(core):
        for message in reply.messages:
            assert len(message) <= MAX_MESSAGE_CHARS, (name, cc, len(message))


def test_no_placeholder_is_left_unfilled(core: Core) -> None:
    for name, cc, reply in all_replies(core):
        for message in reply.messages:
            left = re.findall(r"\{[a-z_]*\}", message)
            assert not left, (name, cc, left)


def test_replies_fit_on_a_phone_screen(core: Core) -> None:
    too_long = []
    for name, cc, reply in all_replies(core):
        for n, message in enumerate(reply.messages):
            size = len(html_to_text(message))
            if size > VISIBLE_LIMIT and (name, n) not in DOCUMENTED_LONG:
                too_long.append(f"{name} [{cc}] message {n + 1}: {size} characters")
    assert not too_long, "\n".join(too_long)


def test_no_reply_uses_stigmatising_words(core: Core) -> None:
    found = set()
    for name, _cc, reply in all_replies(core):
        for message in reply.messages:
            for match in STIGMA.finditer(html_to_text(message)):
                found.add(f"{name}: {match.group(0)!r}")
    for rid, response in core.content.responses.responses.items():
        match = STIGMA.search(response.title)
        if match:
            found.add(f"{rid} title: {match.group(0)!r}")
    assert not found, "\n".join(sorted(found))


def test_the_stigma_check_catches_the_words_it_is_for() -> None:
    for text in ["Addicts can", "a junkie", "drug abusers", "once you're clean", "stay clean"]:
        assert STIGMA.search(text), text
    for text in ["clean needles", "clean equipment", "addiction services", "Substance Abuse"]:
        assert not STIGMA.search(text), text


def test_every_button_action_fits_telegram_callback_data(core: Core) -> None:
    buttons = [*core.topic_buttons(), *core.country_buttons()]
    for _name, _cc, reply in all_replies(core):
        buttons += reply.buttons
    for button in buttons:
        assert 1 <= len(button.action.encode()) <= 64, button
        assert button.label.strip(), button


# --- overdose and crisis replies lead with the right numbers --------------------------------


def test_every_supported_country_has_expected_numbers_here(core: Core) -> None:
    # A new country needs its emergency and crisis numbers written into this file too.
    assert set(core.countries) == set(EMERGENCY)
    assert set(core.countries) | {None} == set(CRISIS_LINE)


@pytest.mark.parametrize("country", sorted(EMERGENCY))
def test_the_overdose_reply_leads_with_the_emergency_number(core: Core, country: str) -> None:
    first = html_to_text(core.topic("overdose", country).messages[0])
    numbers = numbers_in(first)
    assert numbers, first
    assert numbers[0] in EMERGENCY[country], (country, numbers[:3], first[:120])
    assert first.index(numbers[0]) < 40, "the number must be on the first line"


def test_the_overdose_reply_without_a_country_lists_the_main_emergency_numbers(
    core: Core,
) -> None:
    first = html_to_text(core.topic("overdose", None).messages[0])
    leading = numbers_in(first)[: len(NO_COUNTRY_EMERGENCY)]
    assert set(leading) == NO_COUNTRY_EMERGENCY, (leading, first[:200])
    assert first.index("911") < 120


@pytest.mark.parametrize("country", sorted(EMERGENCY))
def test_sos_with_a_country_is_the_same_overdose_reply(core: Core, country: str) -> None:
    sent = core.handle("he's not breathing", country)
    assert sent.messages == core.topic("overdose", country).messages


@pytest.mark.parametrize("country", [None, *sorted(EMERGENCY)])
def test_the_crisis_reply_shows_the_crisis_line_and_the_emergency_number(
    core: Core, country: str | None
) -> None:
    first = html_to_text(core.topic("suicide", country).messages[0])
    assert CRISIS_LINE[country] in first, (country, first[:200])
    emergency = EMERGENCY.get(country or "", NO_COUNTRY_EMERGENCY)
    assert set(numbers_in(first)) & emergency, (country, first[:200])


@pytest.mark.parametrize("country", sorted(EMERGENCY))
def test_every_topic_that_names_an_emergency_number_names_the_local_one(
    core: Core, country: str
) -> None:
    # A reply for an Australian must never tell them to dial 911.
    foreign = NO_COUNTRY_EMERGENCY - EMERGENCY[country] - {"112"}
    own = {line.number for line in core.content.crisis_lines.countries[country].lines}
    for rid in core.content.responses.responses:
        for message in core.topic(rid, country).messages:
            text = html_to_text(message)
            wrong = [n for n in numbers_in(text) if n in foreign and n not in own]
            assert not wrong, (rid, country, wrong)


@pytest.mark.parametrize("country", sorted(HELPLINE, key=str))
def test_the_fallback_reply_offers_the_national_drug_helpline(
    core: Core, country: str | None
) -> None:
    text = html_to_text(core.message("fallback", country).messages[0])
    assert HELPLINE[country] in text, (country, text)


@pytest.mark.parametrize("country", sorted(FAMILY_LINE, key=str))
def test_family_members_get_a_line_in_their_own_country(core: Core, country: str | None) -> None:
    text = core.handle("my son is using heroin what do i do", country).text
    assert FAMILY_LINE[country] in html_to_text(text), country


# --- phone numbers, sources and dates ----------------------------------------------------------


def test_every_phone_number_is_valid_for_its_country_or_a_listed_short_code(core: Core) -> None:
    def digits(value: str) -> str:
        return "".join(ch for ch in value if ch.isdigit())

    bad = []
    for code, country in core.content.crisis_lines.countries.items():
        short = {digits(s) for s in country.short_codes}
        for line in country.lines:
            for value in (line.number, line.sms):
                if value is None or digits(value) in short:
                    continue
                if code == "international":
                    bad.append(f"international: {value} is not a short code")
                    continue
                parsed = phonenumbers.parse(value, code)
                if not phonenumbers.is_valid_number(parsed):
                    bad.append(f"{code} {line.name}: {value}")
    assert not bad, "\n".join(bad)


def test_every_short_code_is_a_real_short_number(core: Core) -> None:
    for code, country in core.content.crisis_lines.countries.items():
        for short in country.short_codes:
            digits = "".join(ch for ch in short if ch.isdigit())
            assert 2 <= len(digits) <= 6, (code, short)


def https(url: str | None) -> bool:
    if url is None:
        return False
    parsed = urlparse(url)
    return parsed.scheme == "https" and "." in parsed.netloc and " " not in url


def test_every_source_is_an_https_url(core: Core) -> None:
    responses = core.content.responses
    for rid, response in responses.responses.items():
        assert response.sources, rid
        for url in response.sources:
            assert https(url), (rid, url)
    for key, message in responses.messages.items():
        for url in message.sources:
            assert https(url), (key, url)
    for code, country in core.content.crisis_lines.countries.items():
        for line in country.lines:
            assert https(line.source), (code, line.name, line.source)
        if country.good_samaritan and code != "international":
            assert https(country.good_samaritan_source), (code, "good_samaritan_source")


def test_every_reviewed_and_checked_date_is_within_12_months(core: Core) -> None:
    stale = []
    responses = core.content.responses
    dated = [(f"responses.{rid}", r.reviewed) for rid, r in responses.responses.items()]
    dated += [(f"messages.{key}", m.reviewed) for key, m in responses.messages.items()]
    for code, country in core.content.crisis_lines.countries.items():
        dated += [(f"{code} {line.name}", line.checked) for line in country.lines]
    for name, when in dated:
        if not TODAY - MAX_AGE <= when <= TODAY + dt.timedelta(days=1):
            stale.append(f"{name}: {when}")
    assert not stale, "\n".join(stale)


# --- ids -----------------------------------------------------------------------------------------


def test_every_button_and_menu_id_exists(core: Core) -> None:
    responses = core.content.responses
    known = set(responses.responses)
    for rid, response in responses.responses.items():
        assert set(response.buttons) <= known, (rid, set(response.buttons) - known)
        assert rid not in response.buttons, f"{rid} has a button to itself"
    for key, message in responses.messages.items():
        assert set(message.buttons) <= known, (key, set(message.buttons) - known)
    assert set(responses.menu) <= known
    for button in core.topic_buttons():
        assert core.has_topic(button.action.removeprefix("intent:"))


def taxonomy_text() -> str:
    if not TAXONOMY.is_file():
        pytest.skip(f"{TAXONOMY} not present")
    return TAXONOMY.read_text(encoding="utf-8")


def test_every_required_intent_in_the_taxonomy_exists(core: Core) -> None:
    text = taxonomy_text()
    section = text.split("Required intent ids", 1)[1].split("## ", 1)[0]
    required = re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE)
    assert len(required) >= 20, "could not read the taxonomy table"
    assert set(required) == set(REQUIRED_INTENTS)
    missing_intents = [i for i in required if i not in core.content.intents]
    missing_replies = [i for i in required if not core.has_topic(i)]
    assert not missing_intents and not missing_replies, (missing_intents, missing_replies)


def test_every_finer_topic_the_taxonomy_asks_for_exists(core: Core) -> None:
    prefixes = re.findall(r"\(`([a-z_]+)_\*`\)", taxonomy_text())
    assert prefixes
    for prefix in prefixes:
        assert any(i.startswith(prefix + "_") for i in core.content.intents), prefix


# --- countries -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("uk", "GB"),
        ("UK", "GB"),
        ("u.k.", "GB"),
        ("britain", "GB"),
        ("Great Britain", "GB"),
        ("england", "GB"),
        ("England!", "GB"),
        ("scotland", "GB"),
        ("\U0001f1ec\U0001f1e7", "GB"),
        ("usa", "US"),
        ("america", "US"),
        ("the states", "US"),
        ("oz", "AU"),
        ("i'm in oz", "AU"),
        ("straya", "AU"),
        ("australia", "AU"),
        ("nz", "NZ"),
        ("aotearoa", "NZ"),
        ("ireland", "IE"),
        ("\u00e9ire", "IE"),
        ("canada", "CA"),
        ("india", "IN"),
        ("south africa", "ZA"),
        ("españa", "ES"),
        ("deutschland", "DE"),
        ("france", "FR"),
    ],
)
def test_country_names_people_type_resolve(core: Core, typed: str, code: str) -> None:
    assert core.resolve_country(typed) == code


@pytest.mark.parametrize("typed", ["narnia", "other", "", "   ", "help us", "middle earth"])
def test_unknown_countries_resolve_to_none(core: Core, typed: str) -> None:
    assert core.resolve_country(typed) is None


def test_the_country_menu_offers_every_country_and_other(core: Core) -> None:
    actions = [b.action for b in core.country_buttons()]
    assert actions[-1] == "country:other"
    assert {a.removeprefix("country:") for a in actions[:-1]} == set(core.countries)
    labels = [b.label for b in core.country_buttons()]
    assert not any(label.startswith("the ") for label in labels), labels


@pytest.mark.parametrize("country", sorted(EMERGENCY))
def test_choosing_a_country_confirms_its_emergency_number(core: Core, country: str) -> None:
    text = html_to_text(core.message("country_set", country).messages[0])
    assert set(numbers_in(text)) & EMERGENCY[country], text
