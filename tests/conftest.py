"""Shared fixtures for the core tests. tests/telegram/conftest.py has its own (same-named,
same-meaning) ``core`` fixture for the Telegram shell."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.core import Core


@pytest.fixture(scope="session")
def core() -> Core:
    """The real project content, loaded and validated once."""
    return Core.load()


PROJECT = Path(__file__).resolve().parents[1]
CONTENT_FOLDERS = ("intents", "safety", "translations")
CONTENT_FILES = ("responses.yaml", "crisis_lines.yaml", "synonyms.yaml", "tuning.yaml",
                 "telegram.yaml")


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A private copy of the project's content folder, for tests that break a file."""
    root = tmp_path / "content"
    root.mkdir()
    for folder in CONTENT_FOLDERS:
        shutil.copytree(PROJECT / folder, root / folder)
    for name in CONTENT_FILES:
        shutil.copy(PROJECT / name, root / name)
    return root
