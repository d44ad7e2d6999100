"""Fixtures for the Telegram shell: the fake Bot API, the real core, the real Application.

Every test here runs with all loggers at DEBUG (httpx and python-telegram-bot included) and
afterwards checks that neither the bot token nor anything a user wrote reached the logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.core import Core
from bot.telegram.app import build_application, serve
from bot.telegram.delivery import DeliveryPolicy, RetryPolicy
from bot.telegram.outbox import OutboxPolicy
from tests.support.fake_bot_api import FakeBotApi

TOKEN = "123456789:AAHfakeTOKENfakeTOKENfakeTOKENfake12"
TOKEN_SECRET_PART = TOKEN.split(":", 1)[1]
# Quick retries so failure tests stay fast; same code path as production.
FAST_RETRIES = DeliveryPolicy(
    normal=RetryPolicy(attempts=4, first_delay=0.01, max_delay=0.05),
    urgent=RetryPolicy(attempts=10, first_delay=0.01, max_delay=0.05),
)
FAST_OUTBOX = OutboxPolicy(first_delay=0.01, max_delay=0.05, urgent_max_delay=0.05, scan=0.2,
                           drain=1.0)
CHATTY_LOGGERS = ("telegram", "httpx", "httpcore", "tornado", "bot", "asyncio")
MIN_CHECKED_TEXT = 8  # shorter user texts ("uk") may occur in logs by coincidence


@pytest.fixture(scope="session")
def core() -> Core:
    return Core.load()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as server:
        yield server


@pytest.fixture(autouse=True)
def clean_logs(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture):
    """All loggers at DEBUG during the test; afterwards no token and no user text in logs."""
    caplog.set_level(logging.DEBUG)
    for name in CHATTY_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    yield
    api = request.node.funcargs.get("api")
    user_texts = [t for t in getattr(api, "user_texts", []) if len(t) >= MIN_CHECKED_TEXT]
    # caplog.text/records only hold the current phase: look at every phase's records.
    records = [*caplog.get_records("setup"), *caplog.get_records("call"), *caplog.records]
    if api is not None:
        assert records, "nothing was captured: the log check would be vacuous"
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in records:
        logged = formatter.format(record)
        assert TOKEN_SECRET_PART not in logged, "the bot token reached the logs"
        for user_text in user_texts:
            if not user_text.startswith("/"):
                assert user_text not in logged, "a user's message reached the logs"


class BotRunner:
    """Starts the real Application (build_application + serve) against the fake API."""

    def __init__(self, api: FakeBotApi, core: Core, state_dir: Path) -> None:
        self.api, self.core, self.state_dir = api, core, state_dir

    @contextlib.asynccontextmanager
    async def running(
        self, state_dir: Path | None = None, build: dict | None = None, **serve_options: object
    ) -> AsyncIterator[object]:
        """``build``: more keyword arguments of build_application (outbox_policy, ...)."""
        options: dict = {"delivery_policy": FAST_RETRIES, "outbox_policy": FAST_OUTBOX,
                         **(build or {})}
        application = build_application(
            self.core,
            TOKEN,
            self.api.base_url,
            state_dir or self.state_dir,
            **options,
        )
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(
            serve(application, stop, poll_timeout=5, ready=ready.set, **serve_options)  # type: ignore[arg-type]
        )
        started = asyncio.create_task(ready.wait())
        await asyncio.wait({task, started}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
        if not ready.is_set():
            started.cancel()
            await task  # raises what went wrong
            raise AssertionError("the bot did not start")
        try:
            yield application
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)


@pytest.fixture
def runner(api: FakeBotApi, core: Core, tmp_path: Path) -> BotRunner:
    return BotRunner(api, core, tmp_path / "state")


@pytest.fixture
async def bot(runner: BotRunner) -> AsyncIterator[object]:
    async with runner.running() as application:
        yield application


def texts(calls: list) -> list[str]:
    return [call.text for call in calls]


async def send_and_wait(
    api: FakeBotApi, chat_id: int, push: Callable[[], int], expected: int
) -> list:
    """Push an update and wait for ``expected`` new messages to ``chat_id``; return them."""
    before = len(api.sent_to(chat_id))
    push()
    sent = await api.wait_for_sent(chat_id, before + expected)
    return sent[before:]
