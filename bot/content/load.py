"""Load every content file once, validate it, and report problems as file:line."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.commands import COMMAND_NAMES
from bot.content.html_format import html_problems
from bot.content.models import (
    CrisisLinesFile,
    IntentDef,
    IntentFile,
    ResponsesFile,
    SafetyFile,
    SynonymsFile,
    TuningFile,
)
from bot.content.phones import phone_problem
from bot.content.placeholders import PLACEHOLDER, PLACEHOLDERS
from bot.content.yaml_source import ContentError, SourceFile, load_yaml
from bot.text.normalize import Normaliser, to_tokens

REQUIRED_INTENTS = (
    "overdose", "suicide", "naloxone", "good_samaritan", "withdrawal_symptoms",
    "withdrawal_timeline", "withdrawal_help", "want_to_quit", "treatment_options", "methadone",
    "buprenorphine", "naltrexone", "find_treatment", "harm_reduction", "fentanyl", "cravings",
    "relapse", "helping_someone", "talk_to_someone", "heroin_effects", "pregnancy", "greeting",
    "thanks", "about_bot",
)
SAFETY_INTENTS = ("overdose", "suicide")
REQUIRED_MESSAGES = (
    "welcome", "ask_country", "country_set", "country_other", "country_not_understood", "topics",
    "help", "privacy", "forget_confirm", "forget_done", "forget_cancelled", "voice", "media",
    "location", "edited", "empty", "too_long", "clarify", "fallback", "error",
)
COMMANDS = COMMAND_NAMES  # every command needs its menu label
REQUIRED_LABELS = ("forget_yes", "forget_no", "country_other",
                   *(f"command_{name}" for name in COMMANDS))
MAX_AGE = dt.timedelta(days=365)
FUTURE_SLACK = dt.timedelta(days=1)  # time zones: "today" in the editor's zone may be tomorrow
ENV_CONTENT = "RECOVERY_BOT_CONTENT"

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Content:
    """Everything a content editor controls, validated."""

    root: Path
    intents: dict[str, IntentDef]
    intent_files: dict[str, SourceFile]
    responses: ResponsesFile
    crisis_lines: CrisisLinesFile
    safety: SafetyFile
    synonyms: SynonymsFile
    sources: dict[str, SourceFile]
    tuning: TuningFile | None = None  # always set by load_content


def default_content_dir() -> Path:
    """``RECOVERY_BOT_CONTENT``, else the project folder this package was installed from."""
    env = os.environ.get(ENV_CONTENT)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent


def _validate(source: SourceFile, model: type[M], problems: list[str]) -> M | None:
    try:
        return model.model_validate(source.data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = ".".join(str(p) for p in loc) or "file"
            problems.append(f"{source.where(loc)}: {where}: {err['msg']}")
        return None


def _load(path: Path, model: type[M], problems: list[str]) -> tuple[SourceFile | None, M | None]:
    try:
        source = load_yaml(path)
    except ContentError as exc:
        problems.extend(exc.problems)
        return None, None
    return source, _validate(source, model, problems)


def load_content(root: Path | None = None, *, today: dt.date | None = None) -> Content:
    """Load and check the content under ``root``; raise ContentError listing every problem."""
    root = Path(root) if root is not None else default_content_dir()
    today = today or dt.date.today()
    problems: list[str] = []
    if not (root / "intents").is_dir():
        raise ContentError([f"{root / 'intents'}:1: content folder has no intents/ directory"])

    intents: dict[str, IntentDef] = {}
    intent_files: dict[str, SourceFile] = {}
    intent_locs: dict[str, tuple[SourceFile, tuple[Any, ...]]] = {}
    files = sorted((root / "intents").glob("*.yaml")) + sorted((root / "intents").glob("*.yml"))
    broken: set[str] = set()  # ids in intents files that failed: no follow-on complaints
    for path in files:
        source, parsed = _load(path, IntentFile, problems)
        if source is None or parsed is None:
            broken.update(_ids_named_in(path))
            continue
        for i, intent in enumerate(parsed.intents):
            loc = ("intents", i, "id")
            if intent.id in intents:
                first = intent_locs[intent.id]
                problems.append(f"{source.where(loc)}: intent {intent.id!r} is defined twice "
                                f"(first at {first[0].where(first[1])})")
                continue
            intents[intent.id] = intent
            intent_files[intent.id] = source
            intent_locs[intent.id] = (source, ("intents", i))

    r_src, responses = _load(root / "responses.yaml", ResponsesFile, problems)
    c_src, crisis = _load(root / "crisis_lines.yaml", CrisisLinesFile, problems)
    s_src, safety = _load(root / "safety.yaml", SafetyFile, problems)
    y_src, synonyms = _load(root / "synonyms.yaml", SynonymsFile, problems)
    _, tuning = _load(root / "tuning.yaml", TuningFile, problems)

    if responses is not None and r_src is not None:
        _check_responses(responses, r_src, intents, intent_locs, problems, today, broken)
        _check_texts(responses, r_src, problems)
    if crisis is not None and c_src is not None:
        _check_crisis_lines(crisis, c_src, problems, today)
    if synonyms is not None:
        _check_examples(intents, intent_locs, synonyms, problems)
    for rid in REQUIRED_INTENTS:
        if rid not in intents and rid not in broken:
            problems.append(f"{root / 'intents'}:1: required intent {rid!r} has no intents file")

    if problems:
        raise ContentError(problems)
    assert responses and crisis and safety and synonyms and r_src and c_src and s_src and y_src
    sources = {"responses": r_src, "crisis_lines": c_src, "safety": s_src, "synonyms": y_src}
    return Content(root, intents, intent_files, responses, crisis, safety, synonyms, sources,
                   tuning=tuning)


_ID_LINE = re.compile(r"^[ \t-]*id:[ \t]*['\"]?([a-z][a-z0-9_]*)", re.M)


def _ids_named_in(path: Path) -> set[str]:
    """Best effort: the intent ids an intents file that failed to load meant to define."""
    try:
        return set(_ID_LINE.findall(path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return set()


def _date_problem(src: SourceFile, loc: tuple[Any, ...], field: str, value: dt.date,
                  today: dt.date, again: str) -> str | None:
    if today - value > MAX_AGE:
        return f"{src.where(loc)}: {field} {value} is over 12 months old: {again}"
    if value - today > FUTURE_SLACK:
        return f"{src.where(loc)}: {field} {value} is in the future: write the date it was done"
    return None


def _check_examples(intents: dict[str, IntentDef],
                    intent_locs: dict[str, tuple[SourceFile, tuple[Any, ...]]],
                    synonyms: SynonymsFile, problems: list[str]) -> None:
    """The same example phrase (after normalisation) must not appear under two intents.

    Normalisation here is deterministic (case, accents, punctuation, spacing and the slang
    of synonyms.yaml), without typo correction, so the result never depends on the vocabulary.
    """
    expand = Normaliser(synonyms.replace, ()).expand
    seen: dict[str, tuple[str, str]] = {}
    for iid, intent in intents.items():
        source, iloc = intent_locs[iid]
        for j, example in enumerate(intent.examples):
            key = " ".join(expand(to_tokens(example)))
            where = source.where((*iloc, "examples", j))
            first = seen.get(key)
            if first is None:
                seen[key] = (iid, where)
            elif first[0] != iid:
                problems.append(f"{where}: example {example!r} of {iid!r} is also an example of "
                                f"{first[0]!r} (at {first[1]}): keep it under one intent")


def _check_texts(responses: ResponsesFile, src: SourceFile, problems: list[str]) -> None:
    """HTML, length and placeholders of every text field, reported at the field's own line.
    (Core checks the texts again once the placeholders are filled for every country.)"""
    known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    fields: list[tuple[tuple[Any, ...], str, str]] = []
    for rid, resp in responses.responses.items():
        fields.append((("responses", rid, "text"), rid, resp.text))
        if resp.no_country_text:
            fields.append((("responses", rid, "no_country_text"), rid, resp.no_country_text))
        fields += [(("responses", rid, "more", k), rid, t) for k, t in enumerate(resp.more)]
    for key, msg in responses.messages.items():
        fields.append((("messages", key, "text"), key, msg.text))
        if msg.no_country_text:
            fields.append((("messages", key, "no_country_text"), key, msg.no_country_text))
    for loc, name, text in fields:
        where = src.where(loc)
        for issue in html_problems(text):
            problems.append(f"{where}: {name}: {issue}")
        for placeholder in dict.fromkeys(PLACEHOLDER.findall(text)):
            if placeholder not in PLACEHOLDERS:
                problems.append(f"{where}: {name}: unknown placeholder {{{placeholder}}} "
                                f"(known: {known})")


def _check_responses(responses: ResponsesFile, src: SourceFile, intents: dict[str, IntentDef],
                     intent_locs: dict[str, tuple[SourceFile, tuple[Any, ...]]],
                     problems: list[str], today: dt.date, broken: set[str]) -> None:
    known = set(responses.responses)
    for iid, (isrc, iloc) in intent_locs.items():
        if iid not in known:
            problems.append(f"{isrc.where((*iloc, 'id'))}: intent {iid!r} has no response in "
                            f"responses.yaml: add one under `responses:`")
    for rid, resp in responses.responses.items():
        for j, button in enumerate(resp.buttons):
            if button not in known:
                problems.append(f"{src.where(('responses', rid, 'buttons', j))}: button "
                                f"{button!r} is not a response id")
        problem = _date_problem(src, ("responses", rid, "reviewed"), "reviewed",
                                resp.reviewed, today, "review it again")
        if problem:
            problems.append(problem)
    for key, msg in responses.messages.items():
        for j, button in enumerate(msg.buttons):
            if button not in known:
                problems.append(f"{src.where(('messages', key, 'buttons', j))}: button "
                                f"{button!r} is not a response id")
        problem = _date_problem(src, ("messages", key, "reviewed"), "reviewed", msg.reviewed,
                                today, "review it again")
        if problem:
            problems.append(problem)
    for step, phrases in responses.followups.items():
        if step not in known:
            problems.append(f"{src.where(('followups', step))}: follow-up step {step!r} is not "
                            f"a response id")
        if not phrases:
            problems.append(f"{src.where(('followups', step))}: follow-up step {step!r} has no "
                            f"phrases")
    for j, mid in enumerate(responses.menu):
        if mid not in known:
            problems.append(f"{src.where(('menu', j))}: menu item {mid!r} is not a response id")
    for key in REQUIRED_MESSAGES:
        if key not in responses.messages:
            problems.append(f"{src.where(('messages',))}: message {key!r} is missing")
    for key in REQUIRED_LABELS:
        if key not in responses.labels:
            problems.append(f"{src.where(('labels',))}: label {key!r} is missing")
    reachable = set(intents) | set(responses.menu) | broken
    for resp in responses.responses.values():
        reachable.update(resp.buttons)
    for msg in responses.messages.values():
        reachable.update(msg.buttons)
    for rid in known - reachable:
        problems.append(f"{src.where(('responses', rid))}: response {rid!r} has no intent and "
                        f"no button or menu entry leads to it")


def _check_crisis_lines(crisis: CrisisLinesFile, src: SourceFile, problems: list[str],
                        today: dt.date) -> None:
    if "international" not in crisis.countries:
        problems.append(f"{src.where(('countries',))}: an `international` entry is required")
    seen_alias: dict[str, str] = {}
    for code, country in crisis.countries.items():
        for field, source in (("good_samaritan", "good_samaritan_source"),
                              ("naloxone_note", "naloxone_source")):
            text = getattr(country, field)
            if not text:
                continue
            for issue in html_problems(text):
                problems.append(f"{src.where(('countries', code, field))}: {field}: {issue}")
            if field == "naloxone_note" and not getattr(country, source):
                problems.append(f"{src.where(('countries', code, field))}: {field} needs "
                                f"{source}")
        if code != "international" and not _iso_country(code):
            problems.append(f"{src.where(('countries', code))}: {code!r} is not an ISO 3166 "
                            f"two-letter code")
        if not any(line.category == "emergency" for line in country.lines):
            problems.append(f"{src.where(('countries', code, 'lines'))}: {code} has no "
                            f"emergency line")
        for alias in country.aliases:
            key = alias.casefold()
            if key in seen_alias and seen_alias[key] != code:
                problems.append(f"{src.where(('countries', code, 'aliases'))}: alias {alias!r} "
                                f"also names {seen_alias[key]}")
            seen_alias[key] = code
        for j, line in enumerate(country.lines):
            loc = ("countries", code, "lines", j)
            if not (line.number or line.sms or line.web):
                problems.append(f"{src.where(loc)}: a line needs a number, sms or web")
            if line.law_enforcement and not line.operator_note:
                problems.append(f"{src.where(loc)}: a line run by law enforcement needs an "
                                f"operator_note saying so")
            for field in ("number", "sms"):
                value = getattr(line, field)
                if value is None:
                    continue
                problem = phone_problem(value, code, country.short_codes)
                if problem:
                    problems.append(f"{src.where((*loc, field))}: {problem}")
            problem = _date_problem(src, (*loc, "checked"), "checked", line.checked, today,
                                    "check the number again")
            if problem:
                problems.append(problem)
    _check_emergency_only(crisis, src, problems, today)


def _iso_country(code: str) -> bool:
    import pycountry

    return len(code) == 2 and code.isupper() and pycountry.countries.get(alpha_2=code) is not None


def _check_emergency_only(crisis: CrisisLinesFile, src: SourceFile, problems: list[str],
                          today: dt.date) -> None:
    """``emergency_only:`` groups: real ISO codes without an entry of their own, each listed
    once, and a number phonenumbers knows as an emergency number in every one of them."""
    from phonenumbers import shortnumberinfo

    seen: dict[str, int] = {}
    for g, group in enumerate(crisis.emergency_only):
        loc = ("emergency_only", g)
        digits = "".join(ch for ch in group.number if ch.isdigit())
        for code in group.countries:
            where = src.where((*loc, "countries", code))
            if not _iso_country(code):
                problems.append(f"{where}: {code!r} is not an ISO 3166 two-letter code")
                continue
            if code in crisis.countries:
                problems.append(f"{where}: {code} has its own entry under countries:")
            if code in seen:
                problems.append(f"{where}: {code} is also in emergency_only group {seen[code]}")
            seen[code] = g
            if not digits or not shortnumberinfo.is_emergency_number(digits, code):
                problems.append(f"{where}: {group.number!r} is not an emergency number in {code}")
        problem = _date_problem(src, (*loc, "checked"), "checked", group.checked, today,
                                "check the number again")
        if problem:
            problems.append(problem)
