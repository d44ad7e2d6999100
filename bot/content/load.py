"""Load every content file once, validate it, and report problems as file:line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.commands import COMMAND_NAMES
from bot.content.html_format import html_problems
from bot.content.models import (
    CrisisLinesFile,
    Exemption,
    IntentDef,
    IntentFile,
    ResponsesFile,
    SafetyContext,
    SafetyFile,
    SafetyLanguageFile,
    SafetyRule,
    SafetyRuleDef,
    SafetyRulesFile,
    SafetySetsFile,
    SynonymsFile,
    TuningFile,
)
from bot.content.phones import phone_problem
from bot.content.placeholders import PLACEHOLDER, PLACEHOLDERS
from bot.content.translations import (
    LANGUAGES,
    MeaningFile,
    TranslationFile,
    check_translation,
)
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
    "location", "edited", "empty", "too_long", "clarify", "fallback", "error", "check",
    "crisis_after_overdose", "crisis_listen_1", "crisis_listen_2", "crisis_listen_3",
    "crisis_person",
)
# replies the conversation sends by name (emergency steps, first-person overdose)
REQUIRED_RESPONSES = ("overdose", "overdose_self", "overdose_still", "suicide")
COMMANDS = COMMAND_NAMES  # every command needs its menu label
REQUIRED_LABELS = ("forget_yes", "forget_no", "country_other", "check_danger", "check_crisis",
                   "check_no",
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
    # language -> its translation of responses.yaml (translations/<lang>.yaml); English is source
    translations: dict[str, TranslationFile] = dataclasses.field(default_factory=dict)
    # intent -> examples in other languages (intents/meaning/<lang>.yaml), for meaning only
    meaning: dict[str, list[str]] = dataclasses.field(default_factory=dict)


def _load_meaning(root: Path, intents: dict[str, IntentDef], broken: set[str],
                  problems: list[str]) -> dict[str, list[str]]:
    """Every ``intents/meaning/<lang>.yaml``: other-language examples by intent."""
    found: dict[str, list[str]] = {}
    folder = root / "intents" / "meaning"
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.yaml")):
        source, parsed = _load(path, MeaningFile, problems)
        if source is None or parsed is None:
            continue
        if parsed.language != path.stem or parsed.language not in LANGUAGES[1:]:
            problems.append(f"{source.where(('language',))}: language {parsed.language!r} must "
                            f"be the file's name and one of {', '.join(LANGUAGES[1:])}")
            continue
        for iid, examples in parsed.examples.items():
            if iid not in intents:
                if iid not in broken:
                    problems.append(f"{source.where(('examples', iid))}: unknown intent {iid!r}")
                continue
            known = found.setdefault(iid, [])
            known.extend(e for e in examples if e not in known)
    return found


def _load_translations(root: Path, english: ResponsesFile | None,
                       problems: list[str]) -> dict[str, TranslationFile]:
    """Every ``translations/<lang>.yaml``, checked against the English it was drafted from."""
    found: dict[str, TranslationFile] = {}
    folder = root / "translations"
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.yaml")):
        source, parsed = _load(path, TranslationFile, problems)
        if source is None or parsed is None:
            continue
        if parsed.language != path.stem or parsed.language not in LANGUAGES:
            problems.append(f"{source.where(('language',))}: language {parsed.language!r} must "
                            f"be the file's name and one of {', '.join(LANGUAGES[1:])}")
            continue
        if english is not None:
            problems.extend(check_translation(parsed, english, source.where))
        found[parsed.language] = parsed
    return found


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
    s_src, safety = _load_safety(root / SAFETY_DIR, problems)
    y_src, synonyms = _load(root / "synonyms.yaml", SynonymsFile, problems)
    _, tuning = _load(root / "tuning.yaml", TuningFile, problems)
    translations = _load_translations(root, responses, problems)
    meaning = _load_meaning(root, intents, broken, problems)

    if responses is not None and r_src is not None:
        _check_responses(responses, r_src, intents, intent_locs, problems, today, broken)
        _check_texts(responses, r_src, problems)
    if crisis is not None and c_src is not None:
        _check_crisis_lines(crisis, c_src, problems, today)
    if synonyms is not None:
        _check_examples(intents, intent_locs, synonyms, problems)
    _check_parents(intents, intent_locs, problems)
    for rid in REQUIRED_INTENTS:
        if rid not in intents and rid not in broken:
            problems.append(f"{root / 'intents'}:1: required intent {rid!r} has no intents file")

    if problems:
        raise ContentError(problems)
    assert responses and crisis and safety and synonyms and r_src and c_src and s_src and y_src
    sources = {"responses": r_src, "crisis_lines": c_src, "safety": s_src, "synonyms": y_src}
    return Content(root, intents, intent_files, responses, crisis, safety, synonyms, sources,
                   tuning=tuning, translations=translations, meaning=meaning)


_ID_LINE = re.compile(r"^[ \t-]*id:[ \t]*['\"]?([a-z][a-z0-9_]*)", re.M)


def _ids_named_in(path: Path) -> set[str]:
    """Best effort: the intent ids an intents file that failed to load meant to define."""
    try:
        return set(_ID_LINE.findall(path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return set()


# --- safety/: sets.yaml, rules.yaml, lang/*.yaml ------------------------------------------

SAFETY_DIR = "safety"
SAFETY_PLACEHOLDERS = ("#many", "#number", "#year")  # read by bot/understand/safety.py
CONTEXT_SETS = tuple(SafetyContext.model_fields)  # sets the check itself uses, by name
ONE_WORD_SETS = ("many_words", "number_words")  # stand for one number word each
MAX_EXPANSION = 20_000  # phrases one `$set` pattern may expand to ("#many $a $b" multiplies)
_SET_REF = re.compile(r"^\$([a-z][a-z0-9_]*)$")
_LANG_FILE = re.compile(r"^[a-z]{2}$")

Where = tuple[SourceFile, tuple[Any, ...]]


def _load_safety(folder: Path, problems: list[str]) -> tuple[SourceFile | None,
                                                             SafetyFile | None]:
    """Merge the language files into the sets and the sets into the rules.

    Returns rules.yaml's source (for line numbers) and the merged rules. Every problem is
    reported at its own file and line: a rule naming an unknown set, a set listed in a
    language file but not defined in sets.yaml, a set defined twice (a duplicate key), a set
    with no members in any language, a set no rule uses."""
    if not folder.is_dir():
        problems.append(f"{folder}:1: the safety rules folder is missing: it holds sets.yaml, "
                        f"rules.yaml and lang/<language>.yaml")
        return None, None
    before = len(problems)
    s_src, sets = _load(folder / "sets.yaml", SafetySetsFile, problems)
    r_src, rules = _load(folder / "rules.yaml", SafetyRulesFile, problems)
    langs: list[tuple[SourceFile, SafetyLanguageFile]] = []
    paths = sorted((folder / "lang").glob("*.yaml")) if (folder / "lang").is_dir() else []
    if not paths:
        problems.append(f"{folder / 'lang'}:1: no language files: add lang/en.yaml")
    for path in paths:
        if not _LANG_FILE.match(path.stem):
            problems.append(f"{path}:1: a language file is named by its two-letter code "
                            f"(en.yaml, es.yaml)")
            continue
        src, parsed = _load(path, SafetyLanguageFile, problems)
        if src is not None and parsed is not None:
            langs.append((src, parsed))
    if s_src is None or sets is None or r_src is None or rules is None or len(problems) > before:
        return r_src, None

    defined = sets.sets
    for name in CONTEXT_SETS:
        if name not in defined:
            problems.append(f"{s_src.where(('sets',))}: set {name!r} is missing: the safety "
                            f"check uses it (see the comments at the top of sets.yaml)")
    # this language's raw members of each set, with where they are written
    raw: dict[str, dict[str, list[tuple[str, Where]]]] = {}
    for src, lang in langs:
        code = src.path.stem
        for name, phrases in lang.sets.items():
            if name not in defined:
                problems.append(f"{src.where(('sets', name))}: set {name!r} is not defined in "
                                f"{s_src.path}: add it there with a line saying what it holds")
                continue
            raw.setdefault(name, {})[code] = [(p, (src, ("sets", name, k)))
                                              for k, p in enumerate(phrases)]
    used: set[str] = set(CONTEXT_SETS)
    members = _members(raw, defined, used, problems)
    for name in defined:
        if name not in raw:
            problems.append(f"{s_src.where(('sets', name))}: set {name!r} has no members: "
                            f"list them under `sets:` in lang/<language>.yaml")
    for name in ONE_WORD_SETS:
        for phrase in members.get(name, ()):
            if len(phrase.split()) != 1:
                problems.append(f"{s_src.where(('sets', name))}: {name}: {phrase!r} is not "
                                f"one word")

    def resolve(items: list[str], loc: tuple[Any, ...]) -> list[str]:
        out: list[str] = []
        node = _node(r_src.data, loc)
        for k, item in enumerate(items):
            where = (r_src, loc if isinstance(node, str) else (*loc, k))
            out.extend(_expand(item, lambda n: members.get(n), where, defined, used,
                               problems))
        return list(dict.fromkeys(out))

    def rule(r: SafetyRuleDef, loc: tuple[Any, ...]) -> SafetyRule:
        return SafetyRule(
            id=r.id, level=r.level, whole_message=r.whole_message, within=r.within,
            all=[resolve(g, (*loc, "all", j)) for j, g in enumerate(r.all)],
            unless=resolve(r.unless, (*loc, "unless")),
            unless_next=resolve(r.unless_next, (*loc, "unless_next")),
            unless_prev=resolve(r.unless_prev, (*loc, "unless_prev")))

    overdose = [rule(r, ("overdose", i)) for i, r in enumerate(rules.overdose)]
    crisis = [rule(r, ("crisis", i)) for i, r in enumerate(rules.crisis)]
    ids: dict[str, tuple[Any, ...]] = {}
    for section, group in (("overdose", rules.overdose), ("crisis", rules.crisis)):
        for i, r in enumerate(group):
            if r.id in ids:
                problems.append(f"{r_src.where((section, i, 'id'))}: rule {r.id!r} is defined "
                                f"twice (first at {r_src.where(ids[r.id])})")
            ids.setdefault(r.id, (section, i, "id"))
    exemptions = [Exemption(intent=e.intent,
                            when_any=resolve(e.when_any, ("exemptions", i, "when_any")),
                            with_any=resolve(e.with_any, ("exemptions", i, "with_any")),
                            unless_any=resolve(e.unless_any, ("exemptions", i, "unless_any")))
                  for i, e in enumerate(rules.exemptions)]
    not_drugs = resolve(rules.not_drugs, ("not_drugs",))
    for name in defined:
        if name not in used:
            problems.append(f"{s_src.where(('sets', name))}: set {name!r} is not used by any "
                            f"rule: use it in {r_src.path.name} or remove it")
    if len(problems) > before:
        return r_src, None
    context = SafetyContext(**{name: members.get(name, []) for name in CONTEXT_SETS})
    return r_src, SafetyFile(overdose=overdose, crisis=crisis, exemptions=exemptions,
                             not_drugs=not_drugs, context=context)


def _node(data: Any, loc: tuple[Any, ...]) -> Any:
    """The value at ``loc`` as written (None for an optional field left out)."""
    for key in loc:
        if not isinstance(data, (dict, list)) or (isinstance(data, dict) and key not in data):
            return None
        data = data[key]
    return data


def _members(raw: dict[str, dict[str, list[tuple[str, Where]]]], defined: dict[str, str],
             used: set[str], problems: list[str]) -> dict[str, list[str]]:
    """Each set's members in all languages. Inside lang/xx.yaml, ``$name`` in a member
    stands for that file's own members of ``name`` ("lost my $relatives")."""
    done: dict[tuple[str, str], list[str]] = {}
    active: set[tuple[str, str]] = set()

    def of(name: str, code: str) -> list[str] | None:
        key = (name, code)
        if key in done:
            return done[key]
        if key in active:
            return None  # a cycle; reported where it is written
        active.add(key)
        out: list[str] = []
        for phrase, where in raw.get(name, {}).get(code, []):
            out.extend(_expand(phrase, lambda n: of(n, code), where, defined, used, problems,
                               language=code))
        active.discard(key)
        done[key] = list(dict.fromkeys(out))
        return done[key]

    merged: dict[str, list[str]] = {}
    for name, by_code in raw.items():
        merged[name] = list(dict.fromkeys(p for code in sorted(by_code)
                                          for p in of(name, code) or []))
    return merged


def _expand(phrase: str, lookup: Callable[[str], list[str] | None], where: Where,
            defined: dict[str, str], used: set[str],
            problems: list[str], language: str | None = None) -> list[str]:
    """``$name`` words in ``phrase`` replaced by every member of ``name``: "#many $pills"
    is "#many pills", "#many tablets", ..."""
    src, loc = where
    options: list[list[str]] = []
    for word in phrase.split():
        ref = _SET_REF.match(word)
        if word.startswith("#") and word not in SAFETY_PLACEHOLDERS:
            problems.append(f"{src.where(loc)}: unknown placeholder {word!r} (known: "
                            f"{', '.join(SAFETY_PLACEHOLDERS)})")
            return []
        if ref is None:
            if word.startswith("$"):
                problems.append(f"{src.where(loc)}: {word!r} is not a set name ($ then "
                                f"[a-z0-9_])")
                return []
            options.append([word])
            continue
        name = ref.group(1)
        if name not in defined:
            problems.append(f"{src.where(loc)}: unknown set {word!r}: define it in "
                            f"sets.yaml")
            return []
        used.add(name)
        found = lookup(name)
        if found is None:
            problems.append(f"{src.where(loc)}: {word!r} refers back to itself")
            return []
        if not found:
            if language is not None:
                problems.append(f"{src.where(loc)}: {word!r} has no members in "
                                f"{src.path.name}: inside a language file it stands for "
                                f"that language's members")
            return []  # a set with no members at all is reported once, in sets.yaml
        options.append(found)
    size = 1
    for choice in options:
        size *= len(choice)
    if size > MAX_EXPANSION:
        problems.append(f"{src.where(loc)}: {phrase!r} expands to {size} phrases (over "
                        f"{MAX_EXPANSION}): use fewer or smaller sets")
        return []
    out = [""]
    for choice in options:
        out = [f"{head} {tail}".strip() for head in out for tail in choice]
    return out



def _date_problem(src: SourceFile, loc: tuple[Any, ...], field: str, value: dt.date,
                  today: dt.date, again: str) -> str | None:
    if today - value > MAX_AGE:
        return f"{src.where(loc)}: {field} {value} is over 12 months old: {again}"
    if value - today > FUTURE_SLACK:
        return f"{src.where(loc)}: {field} {value} is in the future: write the date it was done"
    return None


def _check_parents(intents: dict[str, IntentDef],
                   intent_locs: dict[str, tuple[SourceFile, tuple[Any, ...]]],
                   problems: list[str]) -> None:
    """A finer intent names its required parent (TAXONOMY.md); a required one names none."""
    for iid, intent in intents.items():
        src, loc = intent_locs[iid]
        if iid in REQUIRED_INTENTS:
            if intent.parent is not None:
                problems.append(f"{src.where((*loc, 'parent'))}: {iid!r} is a required intent "
                                f"and has no parent")
        elif intent.parent not in REQUIRED_INTENTS:
            problems.append(f"{src.where((*loc, 'id'))}: intent {iid!r} needs `parent:` naming "
                            f"the required intent it counts as (one of TAXONOMY.md's ids)")


def parents_of(intents: dict[str, IntentDef]) -> dict[str, str]:
    """Every intent's required parent (itself for a required one)."""
    return {iid: intent.parent or iid for iid, intent in intents.items()}


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
    for key in REQUIRED_RESPONSES:
        if key not in responses.responses:
            problems.append(f"{src.where(('responses',))}: response {key!r} is missing")
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


def meaning_examples(content: Content) -> dict[str, list[str]]:
    """Every calm intent's examples in every language (English ones first): what the
    meaning matcher and the intent head read. Overdose and suicide are the rules' and the
    safety model's, never matched."""
    return {iid: [*intent.examples, *content.meaning.get(iid, ())]
            for iid, intent in content.intents.items() if iid not in SAFETY_INTENTS}
