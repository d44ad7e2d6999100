"""Build and run the Telegram Application (python-telegram-bot 22).

Entry point for ``recovery-bot run``::

    run(args: argparse.Namespace | None = None, /, *, core: Core | None = None,
        environ: Mapping[str, str] | None = None, **options) -> int

``args`` (the CLI namespace) and ``options`` may carry:

- ``content``: content folder for ``Core.load`` (ignored when ``core`` is given);
- ``webhook_url``: serve the webhook server (bot.telegram.webhook) instead of polling (needs
  ``TELEGRAM_WEBHOOK_SECRET``), with ``listen`` (default 127.0.0.1) and ``port`` (default 8443);
  the server answers on the path of ``webhook_url``.

Polling reads each update on its own (bot.telegram.updates): one PTB cannot parse is skipped.

Settings come from ``environ`` (default ``os.environ``): see :mod:`bot.telegram.config`.
Returns 0 after a clean stop on SIGINT/SIGTERM, 2 for a configuration problem or a token
Telegram refuses (one line on stderr, never the token), 1 if Telegram cannot be reached at
start. ``ContentError`` from ``Core.load`` propagates (the CLI prints it).

Tests drive :func:`build_application` and :func:`serve` directly: the same code path as ``run``
minus signal handling.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot.core import Core
from bot.metrics import timing_arrivals
from bot.telegram.commands import command_menu
from bot.telegram.companion_jobs import install_jobs, start_jobs
from bot.telegram.concurrency import PerChatUpdateProcessor
from bot.telegram.config import ConfigError, WebhookSettings, load_settings, read_state_dir
from bot.telegram.confirm import HandledOffsets
from bot.telegram.delivery import Delivery, DeliveryPolicy
from bot.telegram.errors import handle_error
from bot.telegram.handlers import register_handlers
from bot.telegram.health import (
    DEFAULT_METRICS_HOST,
    HealthServerError,
    check_metrics_port,
    serving_health,
)
from bot.telegram.logging_setup import configure_logging, install_log_protection, register_secret
from bot.telegram.outbox import Outbox, OutboxPolicy
from bot.telegram.outbox_codec import ReplyCodec
from bot.telegram.persistence import StoreError, StorePersistence, build_persistence
from bot.telegram.profile import install_profile, load_profile, publish_profile
from bot.telegram.rate_limit import UrgentFirstRateLimiter
from bot.telegram.shell import Shell, install_shell, shell_of
from bot.telegram.updates import TolerantUpdatesRequest
from bot.telegram.webhook import WebhookServer

__all__ = ["ALLOWED_UPDATES", "build_application", "run", "serve"]

ALLOWED_UPDATES = (Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY)
RATE_LIMIT_RETRIES = 5  # AIORateLimiter: how often one request waits out a 429 RetryAfter
POLL_TIMEOUT = 30  # seconds a getUpdates long poll may wait
READ_TIMEOUT = 15.0  # seconds to wait for Telegram's answer to a request
BOOTSTRAP_RETRIES = 3

_log = logging.getLogger(__name__)


def build_application(
    core: Core,
    token: str,
    base_url: str | None = None,
    state_dir: Path | None = None,
    *,
    delivery_policy: DeliveryPolicy | None = None,
    database_url: str | None = None,
    outbox_policy: OutboxPolicy | None = None,
    outbox_clock: Callable[[], float] | None = None,
    read_timeout: float = READ_TIMEOUT,
) -> Application:  # type: ignore[type-arg]
    """The fully wired Application: handlers, error handler, persistence, rate limiter,
    per-chat concurrency and the outbox (started by :func:`serve`). Nothing is contacted until
    it is initialized. ``outbox_clock`` (wall-clock seconds) and ``read_timeout`` are for
    tests."""
    install_log_protection()
    register_secret(token)
    if state_dir is None:
        state_dir = read_state_dir(os.environ)
    shell = Shell(core, Delivery(delivery_policy))
    shell.outbox = Outbox(ReplyCodec(shell.conversation), shell.delivery, outbox_policy,
                          outbox_clock or time.time)
    offsets = HandledOffsets()  # polling confirms an update once handled (confirm.py)
    builder = (
        ApplicationBuilder()
        .token(token)
        .persistence(build_persistence(state_dir, database_url))
        .rate_limiter(UrgentFirstRateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .concurrent_updates(PerChatUpdateProcessor(timing_arrivals(shell.is_urgent),
                                                   on_done=offsets.handled))
        .connect_timeout(10)
        .read_timeout(read_timeout)
        .write_timeout(read_timeout)
        .get_updates_request(
            TolerantUpdatesRequest(connection_pool_size=1, read_timeout=POLL_TIMEOUT + 10,
                                   offsets=offsets)
        )
    )
    if base_url:
        builder = builder.base_url(base_url)
    application = builder.build()
    install_shell(application, shell)
    install_jobs(application, lambda: shell.wall())  # the shell's clock, as tests set it
    install_profile(application, load_profile(core.content.root))  # telegram.yaml, if any
    register_handlers(application)
    application.add_error_handler(handle_error)
    return application


async def register_commands(application: Application) -> None:  # type: ignore[type-arg]
    """Publish the command menu, once for every language the bot speaks (English is also the
    default for every other client language); a failure is logged, not fatal."""
    core = shell_of(application).core
    for lang in core.catalogue.languages:
        try:
            await application.bot.set_my_commands(
                command_menu(core, lang), language_code=None if lang == "en" else lang)
        except TelegramError as exc:
            _log.warning("Could not register the %s command menu (%s)", lang,
                         type(exc).__name__)


async def serve(
    application: Application,  # type: ignore[type-arg]
    stop: asyncio.Event,
    *,
    webhook: WebhookSettings | None = None,
    poll_timeout: float = POLL_TIMEOUT,
    ready: Callable[[], None] | None = None,
    metrics_address: tuple[str, int] | None = None,
) -> None:
    """Initialize, register commands, fetch updates (polling or webhook) until ``stop`` is set,
    then stop fetching, finish running handlers, save persistence and shut down.

    ``/healthz``, ``/readyz`` and ``/metrics`` (bot.telegram.health) are served on the webhook
    server, and on ``metrics_address`` (host, port) when given."""
    server = WebhookServer(application, webhook) if webhook is not None else None
    async with serving_health(application, metrics_address), application:
        await register_commands(application)
        await publish_profile(application)  # description and short description
        await application.start()
        outbox = shell_of(application).outbox
        if outbox is not None:
            persistence = application.persistence
            outbox.attach(persistence.store if isinstance(persistence, StorePersistence)
                          else None, application.bot)
            await outbox.start()  # resumes what an earlier run left queued
        await start_jobs(application)  # the companion's jobs, rebuilt from the store
        try:
            if webhook is None:
                await application.updater.start_polling(
                    timeout=poll_timeout,
                    allowed_updates=ALLOWED_UPDATES,
                    drop_pending_updates=False,
                    bootstrap_retries=BOOTSTRAP_RETRIES,
                )
            elif server is not None:
                await server.start(ALLOWED_UPDATES, BOOTSTRAP_RETRIES)
            _log.info("Serving updates by %s", "webhook" if webhook else "polling")
            if ready is not None:
                ready()
            await stop.wait()
            _log.info("Stopping")
        finally:
            if server is not None:
                await server.stop()  # in-flight updates finish first
            if application.updater.running:
                await application.updater.stop()
            await application.stop()  # running handlers finish (each waits a moment at most)
            if outbox is not None:
                await outbox.stop()  # a few seconds to drain; the rest waits in the store


def run(
    args: argparse.Namespace | None = None,
    /,
    *,
    core: Core | None = None,
    environ: Mapping[str, str] | None = None,
    **options: Any,
) -> int:
    """``recovery-bot run``: see the module docstring."""
    opts = {**(vars(args) if args is not None else {}), **options}
    environ = os.environ if environ is None else environ
    configure_logging()
    try:
        settings = load_settings(
            environ,
            webhook_url=opts.get("webhook_url"),
            listen=opts.get("listen"),
            port=opts.get("port"),
        )
        metrics_address = None
        if opts.get("metrics_port") is not None:
            metrics_address = (opts.get("metrics_host") or DEFAULT_METRICS_HOST,
                               check_metrics_port(opts["metrics_port"]))
    except ConfigError as exc:
        print(f"recovery-bot: {exc}", file=sys.stderr)
        return 2
    register_secret(settings.token)
    if settings.webhook is not None:
        register_secret(settings.webhook.secret_token)
    if core is None:
        core = Core.load(opts.get("content"))
    try:
        application = build_application(
            core,
            settings.token,
            settings.base_url,
            settings.state_dir,
            database_url=settings.database_url,
        )
    except StoreError as exc:
        print(f"recovery-bot: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"recovery-bot: cannot use the state folder {settings.state_dir} "
            f"({exc.strerror}); set RECOVERY_BOT_STATE_DIR",
            file=sys.stderr,
        )
        return 2
    return asyncio.run(_serve_until_signal(application, settings.webhook, metrics_address))


async def _serve_until_signal(
    application: Application,  # type: ignore[type-arg]
    webhook: WebhookSettings | None,
    metrics_address: tuple[str, int] | None = None,
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await serve(application, stop, webhook=webhook, metrics_address=metrics_address)
    except HealthServerError as exc:
        print(f"recovery-bot: {exc}", file=sys.stderr)
        return 2
    except InvalidToken:
        print(
            "recovery-bot: Telegram refused TELEGRAM_BOT_TOKEN (revoked or wrong?)", file=sys.stderr
        )
        return 2
    except NetworkError as exc:
        print(f"recovery-bot: cannot reach Telegram ({type(exc).__name__})", file=sys.stderr)
        return 1
    except StoreError as exc:
        print(f"recovery-bot: {exc}", file=sys.stderr)
        return 2
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    return 0
