"""Translations (translations/<lang>.yaml) are checked against the English they came from:
lint names the file and line of a missing, stale or number-dropping translation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.content import load_content
from bot.content.translations import FULL_LANGUAGES, REQUIRED_MESSAGES, REQUIRED_RESPONSES
from bot.content.yaml_source import ContentError

PROJECT = Path(__file__).resolve().parents[1]



def problems(root: Path) -> list[str]:
    with pytest.raises(ContentError) as err:
        load_content(root)
    return err.value.problems


def line_of(path: Path, needle: str) -> int:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(f"{needle!r} not in {path}")


def test_the_shipped_translations_are_complete_and_current():
    content = load_content(PROJECT)
    assert set(content.translations) == {"es", "pt", "fr", "de", "it", "pl", "ru", "uk"}
    for lang, tr in content.translations.items():
        full = lang in FULL_LANGUAGES
        need = set(content.responses.responses) if full else set(REQUIRED_RESPONSES)
        assert need <= {rid for rid, t in tr.responses.items() if t.text}, lang
        need = set(content.responses.messages) if full else set(REQUIRED_MESSAGES)
        assert need <= set(tr.messages), lang
        assert all(t.review in ("machine-drafted", "reviewed") for t in tr.responses.values())


def test_a_changed_english_text_makes_its_translations_stale(content: Path):
    responses = content / "responses.yaml"
    text = responses.read_text(encoding="utf-8")
    responses.write_text(text.replace("Say \"not breathing\" or \"won't wake up\"",
                                      "Say \"not breathing\"", 1), encoding="utf-8")
    found = [p for p in problems(content) if "stale" in p and "'overdose'" in p]
    assert len(found) == 8  # every language translates the overdose reply
    es = content / "translations" / "es.yaml"
    assert any(p.startswith(f"{es}:") for p in found)
    assert all(re.search(r"\.yaml:\d+: ", p) for p in found)


def test_a_translation_that_drops_a_placeholder_is_named_at_its_line(content: Path):
    de = content / "translations" / "de.yaml"
    text = de.read_text(encoding="utf-8")
    start = text.index("\n  overdose:\n")
    end = text.index("{emergency}", start)
    de.write_text(text[:end] + "112" + text[end + len("{emergency}"):], encoding="utf-8")
    found = [p for p in problems(content) if "placeholder {emergency}" in p]
    assert found and found[0].startswith(f"{de}:")


def test_a_missing_translation_is_reported(content: Path):
    fr = content / "translations" / "fr.yaml"
    text = fr.read_text(encoding="utf-8")
    line = line_of(fr, "  crisis_listen_2:")
    lines = text.splitlines(keepends=True)
    # drop the entry (its key and indented body)
    end = line
    while end < len(lines) and lines[end].startswith("    "):
        end += 1
    fr.write_text("".join(lines[: line - 1] + lines[end:]), encoding="utf-8")
    found = problems(content)
    assert any(p.startswith(f"{fr}:") and "'crisis_listen_2' is not translated" in p
               for p in found), found


def test_a_translation_that_drops_a_phone_number_is_reported(content: Path):
    responses = content / "responses.yaml"
    text = responses.read_text(encoding="utf-8")
    marker = "      Hi, I'm <b>recovery-bot</b>. 👋\n"
    assert marker in text
    responses.write_text(text.replace(marker, marker.rstrip("\n") + " Text 741741.\n", 1),
                         encoding="utf-8")
    found = problems(content)
    assert any("number 741741 of the English is missing" in p for p in found)
