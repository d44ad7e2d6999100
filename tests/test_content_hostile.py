"""Broken or hostile content files give a clear ``file:line:`` error, never a hang or a crash.

Each test copies the project's real content into a temporary folder, breaks one file the
way a careless edit or a hostile pull request could, and checks both ways in: ``Core.load``
raises ContentError naming the file and line, and ``recovery-bot --content DIR lint`` exits
non-zero with ``file:line:`` on stderr and no traceback.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bot.content.yaml_source import MAX_FILE_BYTES
from bot.core import ContentError, Core

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ("intents", "responses.yaml", "crisis_lines.yaml", "safety", "synonyms.yaml",
           "tuning.yaml")
LINT_TIMEOUT = 120  # generous: only there so a hang fails instead of blocking the suite


def copy_content(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in CONTENT:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        else:
            shutil.copy2(src, dest / name)
    return dest


def billion_laughs(path: Path) -> int:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, 10):
        prev, cur = chr(ord("a") + n - 1), chr(ord("a") + n)
        lines.append(f"{cur}: &{cur} [{', '.join([f'*{prev}'] * 9)}]")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 1  # the error points at the anchor ("&a") whose value would be repeated


def alias_in_real_file(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    text = text.replace("replace:\n", "replace: &everything\n", 1)
    text += "\nmore: *everything\n"
    path.write_text(text, encoding="utf-8")
    return text.count("\n")


def huge_file(path: Path) -> int:
    filler = "# padding\n" * (MAX_FILE_BYTES // 10 + 1000)
    path.write_text(path.read_text(encoding="utf-8") + filler, encoding="utf-8")
    return 1


def _line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip() == text)


def list_instead_of_mapping(path: Path) -> int:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["replace"] = ["od", "overdose", "narcan", "naloxone"]  # a list of words, no pairs
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=1000), encoding="utf-8")
    return _line_of(path, "- od")  # the value that should have been a mapping


def number_instead_of_text(path: Path) -> int:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["intents"][0]["examples"][3] = 42
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=1000), encoding="utf-8")
    return _line_of(path, "- 42")


def not_utf8(path: Path) -> int:
    path.write_bytes(path.read_bytes() + b"\n  - caf\xe9 \xff\xfe broken\n")
    return 1


def malformed_yaml(path: Path) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    n = next(i for i, line in enumerate(lines) if line.startswith("  - id: "))
    lines.insert(n + 1, "    keywords: [unclosed, bracket")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return n + 3  # the parser notices on the line after the unclosed bracket


def deeply_nested(path: Path) -> int:
    path.write_text("replace: " + "[" * 500 + "]" * 500 + "\n", encoding="utf-8")
    return 1


def python_tag(path: Path) -> int:
    path.write_text(
        path.read_text(encoding="utf-8")
        + "\nevil: !!python/object/apply:os.system ['echo pwned']\n",
        encoding="utf-8",
    )
    return path.read_text(encoding="utf-8").count("\n")


def empty_file(path: Path) -> int:
    path.write_text("", encoding="utf-8")
    return 1


def yes_is_not_text(path: Path) -> int:
    """YAML reads a bare ``on`` as true: a safety phrase must be text."""
    lines = path.read_text(encoding="utf-8").splitlines()
    n = next(i for i, line in enumerate(lines) if line.startswith("  joke_objects: ["))
    lines[n] = lines[n].replace("joke_objects: [", "joke_objects: [on, ", 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return n + 1


Breaker = Callable[[Path], int]  # breaks the file; returns the line the error should name

CASES: list[tuple[str, str, Breaker, str]] = [
    # (id, file, breaker, words the message must contain)
    ("billion-laughs", "synonyms.yaml", billion_laughs, "alias"),
    ("alias-in-real-file", "synonyms.yaml", alias_in_real_file, "alias"),
    ("over-2MB", "responses.yaml", huge_file, "byte"),
    ("list-where-mapping", "synonyms.yaml", list_instead_of_mapping, "dictionary"),
    ("number-where-text", "intents/greeting.yaml", number_instead_of_text, "string"),
    ("bare-on-is-a-boolean", "safety/lang/en.yaml", yes_is_not_text, "string"),
    ("not-utf8", "intents/greeting.yaml", not_utf8, "UTF-8"),
    ("malformed-yaml", "intents/overdose.yaml", malformed_yaml, "YAML"),
    ("nested-500-deep", "synonyms.yaml", deeply_nested, "nested"),
    ("python-tag", "crisis_lines.yaml", python_tag, "YAML"),
    ("empty-file", "crisis_lines.yaml", empty_file, "crisis_lines.yaml:1:"),
]


@pytest.fixture
def broken(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, Path, int, str]:
    _name, file, breaker, words = request.param
    root = copy_content(tmp_path / "content")
    line = breaker(root / file)
    return root, root / file, line, words


def _where(path: Path, line: int) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(str(path))}:{line}: ", re.M)


@pytest.mark.parametrize("broken", CASES, ids=[c[0] for c in CASES], indirect=True)
def test_core_load_names_the_file_and_line(broken: tuple[Path, Path, int, str]) -> None:
    root, path, line, words = broken
    with pytest.raises(ContentError) as info:
        Core.load(root)
    message = str(info.value)
    assert _where(path, line).search(message), message[:500]
    assert words.lower() in message.lower(), message[:500]


@pytest.mark.parametrize("broken", CASES, ids=[c[0] for c in CASES], indirect=True)
def test_lint_fails_with_file_and_line_and_no_traceback(
    broken: tuple[Path, Path, int, str],
) -> None:
    root, path, line, _ = broken
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--content", str(root), "lint"],
        capture_output=True,
        text=True,
        timeout=LINT_TIMEOUT,
        cwd=root,
    )
    assert result.returncode != 0
    assert _where(path, line).search(result.stderr), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "content OK" not in result.stdout


def test_the_untouched_copy_lints_clean(tmp_path: Path) -> None:
    """The control: the copying itself breaks nothing, so the failures above are the edits."""
    root = copy_content(tmp_path / "content")
    assert Core.load(root).countries
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--content", str(root), "lint"],
        capture_output=True,
        text=True,
        timeout=LINT_TIMEOUT,
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    assert "content OK" in result.stdout


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    root = copy_content(tmp_path / "content")
    (root / "safety" / "rules.yaml").unlink()
    with pytest.raises(ContentError) as info:
        Core.load(root)
    assert _where(root / "safety" / "rules.yaml", 1).search(str(info.value))


def test_a_missing_safety_folder_is_named(tmp_path: Path) -> None:
    root = copy_content(tmp_path / "content")
    shutil.rmtree(root / "safety")
    with pytest.raises(ContentError) as info:
        Core.load(root)
    assert _where(root / "safety", 1).search(str(info.value))
