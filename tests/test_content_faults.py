"""Broken content files are named with file and line, with exit code 2, never a traceback:
an impossible date, a folder in a file's place, a file that cannot be read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.content.yaml_source import ContentError, load_yaml


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "--content", str(root), "lint"],
                          capture_output=True, text=True, timeout=300)


def test_an_impossible_reviewed_date_is_named_at_its_line(content: Path):
    responses = content / "responses.yaml"
    text = responses.read_text(encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "reviewed: 2026-" in row)
    lines = text.splitlines(keepends=True)
    lines[line - 1] = "    reviewed: 2026-02-31\n"
    responses.write_text("".join(lines), encoding="utf-8")
    result = lint(content)
    assert result.returncode == 2
    assert f"{responses}:{line}: " in result.stderr and "2026-02-31" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_folder_in_place_of_a_content_file_is_named(content: Path):
    (content / "synonyms.yaml").unlink()
    (content / "synonyms.yaml").mkdir()
    result = lint(content)
    assert result.returncode == 2
    assert f"{content / 'synonyms.yaml'}:1: is a folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreadable_content_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "tuning.yaml"
    path.write_text("answer_min: 1\n", encoding="utf-8")

    def refuse(self: Path, *args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", refuse)
    with pytest.raises(ContentError) as err:
        load_yaml(path)
    assert err.value.problems == [f"{path}:1: cannot read file (Permission denied)"]
