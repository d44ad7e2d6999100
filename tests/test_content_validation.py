"""Broken content is refused with ``file:line: message`` pointing at the mistake.

Each test copies the real content into ``tmp_path``, breaks exactly one thing the way an
editor could, and checks that loading (what ``recovery-bot lint`` and start-up do) fails
with a problem that names the right file and the right line. The expected line is found
by searching the edited text, never from the loader's own line table.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

from bot.core import ContentError, Core

PROJECT = Path(__file__).resolve().parents[1]
CONTENT_FILES = ("responses.yaml", "crisis_lines.yaml", "synonyms.yaml", "tuning.yaml")
TODAY = dt.date.today()


# --- helpers -----------------------------------------------------------------------------


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A private copy of the project's content."""
    root = tmp_path / "content"
    root.mkdir()
    shutil.copytree(PROJECT / "intents", root / "intents")
    shutil.copytree(PROJECT / "safety", root / "safety")
    for name in CONTENT_FILES:
        shutil.copy(PROJECT / name, root / name)
    return root


def problems_of(root: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        Core.load(root)
    assert caught.value.problems, "ContentError without problems"
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def assert_reported(problems: list[str], path: Path, line: int, *words: str) -> str:
    """One problem starts with ``path:line:`` and mentions every word (case-insensitive)."""
    prefix = f"{path}:{line}: "
    for problem in problems:
        if problem.startswith(prefix) and all(w.casefold() in problem.casefold() for w in words):
            return problem
    listing = "\n".join(problems)
    raise AssertionError(f"no problem at {prefix} mentioning {words}; got:\n{listing}")


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines), encoding="utf-8")


def find(lines: list[str], pattern: str, start: int = 0, end: int | None = None) -> int:
    """Index of the first line matching ``pattern`` in lines[start:end]."""
    end = len(lines) if end is None else end
    for i in range(start, end):
        if re.search(pattern, lines[i]):
            return i
    raise AssertionError(f"no line matches {pattern!r} in lines {start + 1}-{end}")


def block(lines: list[str], header: str, start: int = 0) -> tuple[int, int]:
    """(first, end) line indexes of the mapping entry whose line matches ``header``."""
    first = find(lines, header, start)
    indent = len(lines[first]) - len(lines[first].lstrip())
    end = first + 1
    while end < len(lines):
        line = lines[end]
        significant = line.strip() and not line.lstrip().startswith("#")
        if significant and len(line) - len(line.lstrip()) <= indent:
            break
        end += 1
    return first, end


def response_block(lines: list[str], rid: str) -> tuple[int, int]:
    return block(lines, rf"^  {rid}:\s*$", find(lines, r"^responses:"))


def country_block(lines: list[str], code: str) -> tuple[int, int]:
    return block(lines, rf"^  {code}:\s*$", find(lines, r"^countries:"))


def line_no(index: int) -> int:
    return index + 1


# --- the copy itself is fine -----------------------------------------------------------------


def test_an_unbroken_copy_loads(content: Path) -> None:
    core = Core.load(content)
    assert core.content.root == content
    assert core.handle("he's not breathing", "GB").route == "overdose"


# --- responses.yaml ----------------------------------------------------------------------------


def test_unknown_intent_id_in_buttons(content: Path) -> None:
    path = content / "responses.yaml"
    lines = read_lines(path)
    first, end = response_block(lines, "thanks")
    i = find(lines, r"^    buttons: \[", first, end)
    lines[i] = lines[i].replace("[", "[no_such_topic, ", 1)
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "no_such_topic", "not a response id")


def test_unknown_intent_id_in_the_menu(content: Path) -> None:
    path = content / "responses.yaml"
    lines = read_lines(path)
    i = find(lines, r"^  - naloxone\s*$", find(lines, r"^menu:"))
    lines[i] = "  - naloxone_typo"
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "naloxone_typo", "menu")


def test_an_intent_with_no_response(content: Path) -> None:
    path = content / "intents" / "zz_extra.yaml"
    examples = "".join(f"      - zorblax quandle example number {n}\n" for n in range(20))
    path.write_text(f"intents:\n  - id: zorblax_topic\n    examples:\n{examples}", "utf-8")
    assert_reported(problems_of(content), path, 2, "zorblax_topic", "no response")


def test_a_response_with_an_empty_source_list(content: Path) -> None:
    path = content / "responses.yaml"
    lines = read_lines(path)
    first, end = response_block(lines, "thanks")
    i = find(lines, r"^    sources:", first, end)
    j = i + 1
    while lines[j].startswith("      - "):
        j += 1
    lines[i:j] = ["    sources: []"]
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "sources")


def test_a_response_without_sources(content: Path) -> None:
    path = content / "responses.yaml"
    lines = read_lines(path)
    first, end = response_block(lines, "thanks")
    i = find(lines, r"^    sources:", first, end)
    j = i + 1
    while lines[j].startswith("      - "):
        j += 1
    del lines[i:j]
    write_lines(path, lines)
    problems = problems_of(content)
    # The field is missing, so the problem points at the response it belongs to.
    hits = [
        p for p in problems if "sources" in p and re.match(rf"{re.escape(str(path))}:(\d+): ", p)
    ]
    assert hits, problems
    line = int(re.match(rf"{re.escape(str(path))}:(\d+): ", hits[0]).group(1))  # type: ignore[union-attr]
    assert line_no(first) <= line <= line_no(first) + 1, hits[0]
    assert "thanks" in hits[0]


def test_a_source_that_is_not_https(content: Path) -> None:
    path = content / "responses.yaml"
    lines = read_lines(path)
    first, end = response_block(lines, "thanks")
    i = find(lines, r"^      - https://", first, end)
    lines[i] = lines[i].replace("https://", "http://", 1)
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "https")


def insert_into_text(content: Path, rid: str, new_line: str) -> tuple[Path, int]:
    """Add ``new_line`` as the first line of response ``rid``'s text; return the text line."""
    path = content / "responses.yaml"
    lines = read_lines(path)
    first, end = response_block(lines, rid)
    i = find(lines, r"^    text: \|", first, end)
    lines.insert(i + 1, "      " + new_line)
    write_lines(path, lines)
    return path, line_no(i)


def test_text_over_telegram_length(content: Path) -> None:
    path, line = insert_into_text(content, "thanks", "word " * 900)
    assert_reported(problems_of(content), path, line, "thanks", "4096")


@pytest.mark.parametrize(
    ("html", "complaint"),
    [
        ("<p>Take care.</p>", "<p>"),
        ("<b>Take care.", "never closed"),
        ("salt & pepper", "&amp;"),
        ("<div>x</div>", "<div>"),
        ("Take care.<br/>", "self-closing"),
        ("<b>bold <i>both</b></i>", "does not close"),
        ('<a href="">link</a>', "href"),
        ("1 < 2", "&lt;"),
        ("&nbsp;", "&nbsp;"),
    ],
)
def test_html_telegram_would_reject(content: Path, html: str, complaint: str) -> None:
    path, line = insert_into_text(content, "thanks", html)
    assert_reported(problems_of(content), path, line, "thanks", complaint)


def test_html_in_a_follow_up_message(content: Path) -> None:
    path = content / "responses.yaml"
    lines = read_lines(path)
    first, end = response_block(lines, "overdose")
    i = find(lines, r"^      - \|", first, end)
    lines.insert(i + 1, "        <p>step</p>")
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "overdose", "<p>")


def test_html_in_an_interface_message(content: Path) -> None:
    path = content / "responses.yaml"
    lines = read_lines(path)
    first, end = block(lines, r"^  fallback:\s*$", find(lines, r"^messages:"))
    i = find(lines, r"^    text: \|", first, end)
    lines.insert(i + 1, "      <b>unclosed")
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "fallback", "never closed")


def test_an_unknown_placeholder(content: Path) -> None:
    path, line = insert_into_text(content, "thanks", "Call {emergncy} now.")
    problem = assert_reported(problems_of(content), path, line, "{emergncy}")
    assert "{emergency}" in problem  # the message lists the known ones


def test_a_reviewed_date_older_than_12_months(content: Path) -> None:
    path = content / "responses.yaml"
    lines = read_lines(path)
    first, end = response_block(lines, "thanks")
    i = find(lines, r"^    reviewed:", first, end)
    old = TODAY - dt.timedelta(days=400)
    lines[i] = f"    reviewed: {old.isoformat()}"
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), old.isoformat(), "12 months")


def test_a_reviewed_date_just_under_12_months_is_fine(content: Path) -> None:
    path = content / "responses.yaml"
    lines = read_lines(path)
    first, end = response_block(lines, "thanks")
    i = find(lines, r"^    reviewed:", first, end)
    lines[i] = f"    reviewed: {(TODAY - dt.timedelta(days=360)).isoformat()}"
    write_lines(path, lines)
    Core.load(content)


def test_a_reviewed_date_in_the_future(content: Path) -> None:
    path = content / "responses.yaml"
    lines = read_lines(path)
    first, end = response_block(lines, "thanks")
    i = find(lines, r"^    reviewed:", first, end)
    typo = TODAY.replace(year=TODAY.year + 36)  # 2026 typed as 2062
    lines[i] = f"    reviewed: {typo.isoformat()}"
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "future")


# --- intents/ --------------------------------------------------------------------------------


@pytest.mark.parametrize("empty", ['""', "''", '"   "', ""])
def test_an_empty_example(content: Path, empty: str) -> None:
    path = content / "intents" / "thanks.yaml"
    lines = read_lines(path)
    i = find(lines, r"^      - ", find(lines, r"^    examples:"))
    lines[i] = f"      - {empty}".rstrip()
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "examples")


def test_the_same_example_under_two_intents(content: Path) -> None:
    thanks = content / "intents" / "thanks.yaml"
    t_lines = read_lines(thanks)
    t_index = find(t_lines, r"^      - ", find(t_lines, r"^    examples:"))
    example = t_lines[t_index].removeprefix("      - ").strip()
    greeting = content / "intents" / "greeting.yaml"
    g_lines = read_lines(greeting)
    g_index = find(g_lines, r"^    examples:") + 1
    # the same phrase as a person would type it differently: capitals and punctuation
    g_lines.insert(g_index, f"      - {example.upper()}!!")
    write_lines(greeting, g_lines)
    problems = problems_of(content)
    at_greeting = f"{greeting}:{line_no(g_index)}"
    at_thanks = f"{thanks}:{line_no(t_index)}"
    hits = [p for p in problems if at_greeting in p and at_thanks in p]
    assert hits, problems
    assert "greeting" in hits[0] and "thanks" in hits[0]


def test_fewer_than_20_examples(content: Path) -> None:
    path = content / "intents" / "thanks.yaml"
    lines = read_lines(path)
    start = find(lines, r"^    examples:")
    kept = [ln for ln in lines[start + 1 :] if ln.startswith("      - ")][:5]
    lines[start + 1 :] = kept
    write_lines(path, lines)
    problems = problems_of(content)
    # pydantic reports the list; its node starts at the first item
    assert_reported(problems, path, line_no(start + 1), "at least 20")
    # the file exists: no misleading "has no intents file" / "nothing leads to it" on top
    assert len(problems) == 1, problems


def test_a_broken_intents_file_does_not_also_report_its_intent_missing(content: Path) -> None:
    path = content / "intents" / "thanks.yaml"
    lines = read_lines(path)
    i = find(lines, r"^    examples:")
    lines[i] = "    examples: : :"
    write_lines(path, lines)
    problems = problems_of(content)
    assert_reported(problems, path, line_no(i), "YAML error")
    assert len(problems) == 1, problems


def test_a_missing_required_intent(content: Path) -> None:
    (content / "intents" / "thanks.yaml").unlink()
    problems = problems_of(content)
    assert any(
        p.startswith(f"{content / 'intents'}:") and "'thanks'" in p and "required" in p
        for p in problems
    ), problems


def test_an_intent_defined_twice(content: Path) -> None:
    path = content / "intents" / "zz_copy.yaml"
    shutil.copy(content / "intents" / "thanks.yaml", path)
    lines = read_lines(path)
    i = find(lines, r"^  - id: thanks")
    assert_reported(problems_of(content), path, line_no(i), "'thanks'", "twice")


# --- crisis_lines.yaml ----------------------------------------------------------------------


def gb_number_line(lines: list[str]) -> int:
    """A GB line with a full national number (not a short code)."""
    first, end = country_block(lines, "GB")
    return find(lines, r"^        number: \"?0\d", first, end)


def test_an_unparseable_phone_number(content: Path) -> None:
    path = content / "crisis_lines.yaml"
    lines = read_lines(path)
    i = gb_number_line(lines)
    lines[i] = '        number: "call me maybe"'
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "call me maybe", "does not parse")


def test_a_number_not_valid_for_its_country(content: Path) -> None:
    path = content / "crisis_lines.yaml"
    lines = read_lines(path)
    i = gb_number_line(lines)
    lines[i] = '        number: "0300 123 66"'  # two digits short
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "0300 123 66", "not a valid GB")


def test_a_short_code_not_listed_for_its_country(content: Path) -> None:
    path = content / "crisis_lines.yaml"
    lines = read_lines(path)
    first, end = country_block(lines, "GB")
    i = find(lines, r'^        number: "999"', first, end)
    lines[i] = '        number: "998"'
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "998")


def test_an_unverified_number(content: Path) -> None:
    path = content / "crisis_lines.yaml"
    lines = read_lines(path)
    first, end = country_block(lines, "GB")
    i = find(lines, r"^        confidence: CONFIRMED", first, end)
    lines[i] = "        confidence: UNVERIFIED"
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "confidence", "CONFIRMED-OFFICIAL")


def test_a_checked_date_older_than_12_months(content: Path) -> None:
    path = content / "crisis_lines.yaml"
    lines = read_lines(path)
    first, end = country_block(lines, "AU")
    i = find(lines, r"^        checked:", first, end)
    old = TODAY - dt.timedelta(days=366)
    lines[i] = f"        checked: {old.isoformat()}"
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "checked", "12 months")


def test_a_line_source_that_is_not_https(content: Path) -> None:
    path = content / "crisis_lines.yaml"
    lines = read_lines(path)
    first, end = country_block(lines, "NZ")
    i = find(lines, r"^        source: https://", first, end)
    lines[i] = lines[i].replace("https://", "http://", 1)
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "https")


def test_a_country_without_an_emergency_line(content: Path) -> None:
    path = content / "crisis_lines.yaml"
    lines = read_lines(path)
    first, end = country_block(lines, "NZ")
    for i in range(first, end):
        lines[i] = lines[i].replace("category: emergency", "category: helpline")
    write_lines(path, lines)
    problems = problems_of(content)
    assert any(p.startswith(f"{path}:") and "NZ has no emergency line" in p for p in problems)


def test_broken_html_in_a_good_samaritan_text(content: Path) -> None:
    path = content / "crisis_lines.yaml"
    lines = read_lines(path)
    first, end = country_block(lines, "US")
    i = find(lines, r"^    good_samaritan:", first, end)
    lines.insert(i + 1, "      <p>no guarantee</p>")
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "<p>")


# --- safety/: sets.yaml, rules.yaml, lang/*.yaml -------------------------------------------


def safety(content: Path, name: str) -> tuple[Path, list[str]]:
    path = content / "safety" / name
    return path, read_lines(path)


def test_a_rule_naming_an_unknown_set(content: Path) -> None:
    path, lines = safety(content, "rules.yaml")
    i = find(lines, r"^    all: \[\$not_breathing\]$")
    lines[i] = "    all: [$not_breathin]"
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "$not_breathin", "unknown set")


def test_an_unknown_set_inside_a_phrase(content: Path) -> None:
    path, lines = safety(content, "lang/en.yaml")
    i = find(lines, r'"#many \$counted_pills"')
    lines[i] = lines[i].replace('"#many $counted_pills"', '"#many $countd_pills"', 1)
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "$countd_pills", "unknown set")


def test_an_unknown_placeholder_in_a_safety_phrase(content: Path) -> None:
    path, lines = safety(content, "lang/en.yaml")
    i = find(lines, r'"#many \$counted_pills"')
    lines[i] = lines[i].replace('"#many $counted_pills"', '"#lots $counted_pills"', 1)
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "#lots", "placeholder")


def test_a_set_defined_twice(content: Path) -> None:
    path, lines = safety(content, "sets.yaml")
    i = find(lines, r"^  use_words: ")
    lines.insert(i + 1, "  use_words: defined again")
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i + 1), "duplicate key", "use_words")


def test_a_set_listed_twice_in_a_language_file(content: Path) -> None:
    path, lines = safety(content, "lang/en.yaml")
    i = find(lines, r"^  use_words: \[")
    lines.insert(i + 1, "  use_words: [shot up]")
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i + 1), "duplicate key", "use_words")


def test_a_set_with_no_members(content: Path) -> None:
    en, en_lines = safety(content, "lang/en.yaml")
    del en_lines[slice(*block(en_lines, r"^  sleep_apnea: \["))]  # its only language
    write_lines(en, en_lines)
    path, lines = safety(content, "sets.yaml")
    i = find(lines, r"^  sleep_apnea: ")
    assert_reported(problems_of(content), path, line_no(i), "sleep_apnea", "no members")


def test_a_set_not_defined_in_sets_yaml(content: Path) -> None:
    path, lines = safety(content, "lang/es.yaml")
    i = find(lines, r"^sets:")
    lines.insert(i + 1, "  zorblax_words: [zorb]")
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i + 1), "zorblax_words",
                    "not defined")


def test_a_set_no_rule_uses(content: Path) -> None:
    path, lines = safety(content, "sets.yaml")
    i = find(lines, r"^sets:")
    lines.insert(i + 1, "  zorblax_words: words nobody uses")
    write_lines(path, lines)
    en, en_lines = safety(content, "lang/en.yaml")
    en_lines.insert(find(en_lines, r"^sets:") + 1, "  zorblax_words: [zorb]")
    write_lines(en, en_lines)
    assert_reported(problems_of(content), path, line_no(i + 1), "zorblax_words", "not used")


def test_a_set_the_check_needs_is_missing(content: Path) -> None:
    path, lines = safety(content, "sets.yaml")
    del lines[find(lines, r"^  negators: ")]
    write_lines(path, lines)
    for lang in sorted((content / "safety" / "lang").glob("*.yaml")):
        lang_lines = read_lines(lang)
        del lang_lines[slice(*block(lang_lines, r"^  negators: \["))]
        write_lines(lang, lang_lines)
    first_set = find(lines, r"^  [a-z_]+: ")  # where the `sets:` mapping starts
    assert_reported(problems_of(content), path, line_no(first_set), "negators", "missing")


def test_a_language_set_with_no_members_in_that_language(content: Path) -> None:
    """Inside lang/fr.yaml, $relatives is French relatives only."""
    path, lines = safety(content, "lang/fr.yaml")
    del lines[slice(*block(lines, r"^  relatives: \["))]
    write_lines(path, lines)
    i = find(lines, r"j ai perdu mon \$relatives")
    assert_reported(problems_of(content), path, line_no(i), "$relatives", "no members")


def test_a_rule_defined_twice(content: Path) -> None:
    path, lines = safety(content, "rules.yaml")
    first = find(lines, r"^  - id: self_harm$")
    lines.insert(first, "  - id: not_wake_up\n    all: [$not_wake_up]")
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(first), "not_wake_up", "twice")


def test_a_language_file_not_named_by_its_code(content: Path) -> None:
    lang = content / "safety" / "lang"
    (lang / "en.yaml").rename(lang / "english.yaml")
    assert_reported(problems_of(content), lang / "english.yaml", 1, "two-letter code")


# --- malformed YAML ---------------------------------------------------------------------------


def test_a_colon_inside_an_unquoted_title(content: Path) -> None:
    path = content / "responses.yaml"
    lines = read_lines(path)
    first, end = response_block(lines, "thanks")
    i = find(lines, r"^    title:", first, end)
    lines[i] = "    title: Thanks: you're welcome"
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "YAML error")


def test_a_tab_used_for_indentation(content: Path) -> None:
    path = content / "intents" / "thanks.yaml"
    lines = read_lines(path)
    i = find(lines, r"^      - ", find(lines, r"^    examples:"))
    lines[i] = "\t- " + lines[i].strip().removeprefix("- ")
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i), "YAML error")


def test_a_duplicate_key(content: Path) -> None:
    path = content / "responses.yaml"
    lines = read_lines(path)
    first, end = response_block(lines, "thanks")
    i = find(lines, r"^    title:", first, end)
    lines.insert(i + 1, "    title: Thanks again")
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(i + 1), "duplicate key")


def test_a_yaml_alias_is_refused(content: Path) -> None:
    path = content / "responses.yaml"
    lines = read_lines(path)
    first, end = response_block(lines, "thanks")
    i = find(lines, r"^    reviewed:", first, end)
    lines[i] = "    reviewed: &when " + lines[i].split(":", 1)[1].strip()
    j = find(lines, r"^    reviewed:", end)
    lines[j] = "    reviewed: *when"
    write_lines(path, lines)
    assert_reported(problems_of(content), path, line_no(j), "alias")


def test_a_file_that_is_not_utf8(content: Path) -> None:
    path = content / "intents" / "thanks.yaml"
    path.write_bytes(path.read_bytes() + "      - gr\u00e2ce\n".encode("latin-1"))
    assert_reported(problems_of(content), path, 1, "UTF-8")


def test_several_problems_are_all_reported_at_once(content: Path) -> None:
    path = content / "responses.yaml"
    lines = read_lines(path)
    first, end = response_block(lines, "thanks")
    b = find(lines, r"^    buttons: \[", first, end)
    lines[b] = lines[b].replace("[", "[no_such_topic, ", 1)
    r = find(lines, r"^    reviewed:", first, end)
    lines[r] = f"    reviewed: {(TODAY - dt.timedelta(days=500)).isoformat()}"
    write_lines(path, lines)
    problems = problems_of(content)
    assert_reported(problems, path, line_no(b), "no_such_topic")
    assert_reported(problems, path, line_no(r), "12 months")
