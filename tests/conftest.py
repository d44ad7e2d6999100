"""Shared fixtures for the core tests. tests/telegram/conftest.py has its own (same-named,
same-meaning) ``core`` fixture for the Telegram shell."""

from __future__ import annotations

import pytest

from bot.core import Core


@pytest.fixture(scope="session")
def core() -> Core:
    """The real project content, loaded and validated once."""
    return Core.load()
