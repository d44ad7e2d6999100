"""Fixtures for the state store tests; see tests/store/store_support.py."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store.store_support import IS_ROOT, NOBODY, Backend, pg_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    state_dir = tmp_path / "state"
    if request.param == "sqlite":
        chosen = Backend("sqlite", state_dir)
        try:
            yield chosen
        finally:
            chosen.close_all()
        return
    with pg_schema() as url:
        chosen = Backend("postgresql", state_dir, url)
        try:
            yield chosen
        finally:
            chosen.close_all()


@pytest.fixture
def sqlite_backend(tmp_path: Path) -> Iterator[Backend]:
    chosen = Backend("sqlite", tmp_path / "state")
    try:
        yield chosen
    finally:
        chosen.close_all()


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema() as url:
        yield url


@pytest.fixture
def own_tmp() -> Iterator[Path]:
    """A private temporary folder that :func:`unprivileged` code can use (owned by nobody
    when the tests run as root)."""
    path = Path(tempfile.mkdtemp(prefix="store-test-"))
    if IS_ROOT:
        os.chown(path, NOBODY, NOBODY)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
