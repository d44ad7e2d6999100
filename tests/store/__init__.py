"""State store tests (a package, so its conftest does not shadow tests/telegram/conftest.py)."""
