"""``/healthz``, ``/readyz`` and ``/metrics`` over HTTP.

- ``GET /healthz``: 200 ``ok`` while the process runs (liveness).
- ``GET /readyz``: 200 ``ready`` when the content is loaded, updates are being fetched, the
  state store answers (the persistence's ``ready()`` if it has one) and a Bot API call
  succeeded in the last :data:`TELEGRAM_WINDOW` seconds (if none did, ``getMe`` is tried, at
  most once per :data:`PROBE_INTERVAL`); else 503 with one short line per reason.
- ``GET /metrics``: Prometheus' text format (:mod:`bot.metrics`).

**Webhook mode**: the routes are served by the bot's own webhook server
(:mod:`bot.telegram.webhook`), so one port serves Telegram and the probes; "fetching updates"
is that server listening.

**Polling mode** (or in addition, with ``--metrics-port`` in webhook mode): a small tornado
server of its own (:class:`HealthServer`); tornado is installed by PTB's ``webhooks`` extra.

No request is logged, and no response says anything about a user.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot import metrics

__all__ = [
    "PATHS",
    "Health",
    "HealthServer",
    "HealthServerError",
    "check_metrics_port",
    "health_of",
    "health_routes",
    "serving_health",
]

HEALTH_KEY = "recovery_bot_health"
TELEGRAM_WINDOW = 300.0  # seconds: a Bot API success older than this makes /readyz probe
PROBE_INTERVAL = 15.0  # seconds between two getMe probes at most
PROBE_TIMEOUT = 5.0
STORE_TIMEOUT = 2.0
PATHS = ("/healthz", "/readyz", "/metrics")
DEFAULT_METRICS_HOST = "127.0.0.1"

_log = logging.getLogger(__name__)

Application = Any  # telegram.ext.Application (kept loose: this module needs no PTB import)


class HealthServerError(OSError):
    """The health/metrics listener could not start (the message says where and why)."""


class Health:
    """What ``/readyz`` checks, for one Application."""

    def __init__(
        self,
        application: Application,
        *,
        telegram_window: float = TELEGRAM_WINDOW,
        probe_interval: float = PROBE_INTERVAL,
        store_ready: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.application = application
        self.telegram_window = telegram_window
        self.probe_interval = probe_interval
        self.store_ready = store_ready  # default: the persistence's ready(), if it has one
        self.clock = clock  # must be time.monotonic's clock (bot.metrics records with it)
        # webhook mode: whether the webhook server listens (else the Updater's running flag)
        self.serving: Callable[[], bool] | None = None
        self._last_probe: float | None = None
        self._probe_lock: asyncio.Lock | None = None

    async def readiness(self) -> tuple[bool, list[str]]:
        """(ready, reasons it is not)."""
        serving = self._serving()
        problems = [
            self._content_problem(),
            None if serving else "not fetching updates",
            await self._store_problem(),
            await self._telegram_problem(probe=serving),
        ]
        reasons = [p for p in problems if p]
        return not reasons, reasons

    def _content_problem(self) -> str | None:
        from bot.telegram.shell import SHELL_KEY

        shell = self.application.bot_data.get(SHELL_KEY)
        if shell is None or getattr(shell, "core", None) is None:
            return "content not loaded"
        return None

    def _serving(self) -> bool:
        if not self.application.running:
            return False
        if self.serving is not None:
            return bool(self.serving())
        updater = self.application.updater
        return bool(updater is not None and updater.running)

    async def _store_problem(self) -> str | None:
        ready = self.store_ready or getattr(self.application.persistence, "ready", None)
        if not callable(ready):
            return None
        try:
            result = ready()
            if inspect.isawaitable(result):
                result = await asyncio.wait_for(result, STORE_TIMEOUT)
        except Exception as exc:  # a store that fails its check is not ready, whatever it raised
            return f"state store not reachable ({type(exc).__name__})"
        return None if result is None or result else "state store not reachable"

    def _telegram_fresh(self) -> bool:
        last = metrics.last_telegram_success()
        return last is not None and self.clock() - last <= self.telegram_window

    async def _telegram_problem(self, *, probe: bool) -> str | None:
        if self._telegram_fresh():
            return None
        if probe:
            await self._probe()
            if self._telegram_fresh():
                return None
        last = metrics.last_telegram_success()
        if last is None:
            return "Telegram not reached yet"
        return f"Telegram not reached for {int(self.clock() - last)} s"

    async def _probe(self) -> None:
        """One getMe (bounded in time, at most once per probe_interval); a success is
        recorded by the rate limiter like every Bot API call."""
        if self._probe_lock is None:
            self._probe_lock = asyncio.Lock()
        async with self._probe_lock:
            now = self.clock()
            if self._last_probe is not None and now - self._last_probe < self.probe_interval:
                return
            self._last_probe = now
            try:
                await asyncio.wait_for(self.application.bot.get_me(), PROBE_TIMEOUT)
            except Exception as exc:
                _log.info("Readiness probe: Telegram not reachable (%s)", type(exc).__name__)


def health_of(application: Application) -> Health:
    """The Application's Health (created on first use, kept in bot_data, never persisted)."""
    health = application.bot_data.get(HEALTH_KEY)
    if health is None:
        health = application.bot_data[HEALTH_KEY] = Health(application)
    return health


# -- HTTP --------------------------------------------------------------------------------------


class _Handler(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("GET", "HEAD")  # type: ignore[assignment]

    def initialize(self, health: Health) -> None:
        self.health = health

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("Cache-Control", "no-store")

    async def head(self) -> None:
        await self.get()

    async def get(self) -> None:
        raise NotImplementedError


class HealthzHandler(_Handler):
    async def get(self) -> None:
        self.finish("ok\n")


class ReadyzHandler(_Handler):
    async def get(self) -> None:
        ready, reasons = await self.health.readiness()
        if ready:
            self.finish("ready\n")
        else:
            self.set_status(503)
            self.finish("not ready: " + "; ".join(reasons) + "\n")


class MetricsHandler(_Handler):
    async def get(self) -> None:
        body, content_type = metrics.exposition()
        self.set_header("Content-Type", content_type)
        self.finish(body)


def health_routes(health: Health) -> list[tuple[str, type[tornado.web.RequestHandler], dict]]:
    handlers = (HealthzHandler, ReadyzHandler, MetricsHandler)
    return [(path, handler, {"health": health}) for path, handler in zip(PATHS, handlers,
                                                                          strict=True)]


class _QuietApplication(tornado.web.Application):
    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        """No access log (the webhook server has none either)."""


class HealthServer:
    """The routes on a listener of their own (``--metrics-port``)."""

    def __init__(self, health: Health, host: str, port: int) -> None:
        self.health, self.host, self.port = health, host, port
        self._server: HTTPServer | None = None

    def start(self) -> None:
        try:
            sockets = bind_sockets(self.port, address=self.host)
        except OSError as exc:
            raise HealthServerError(
                f"cannot listen for /healthz and /metrics on {self.host}:{self.port} "
                f"({exc.strerror or type(exc).__name__})"
            ) from None
        self.port = sockets[0].getsockname()[1]  # the real port when 0 was asked for
        self._server = HTTPServer(_QuietApplication(health_routes(self.health)))
        self._server.add_sockets(sockets)
        _log.info("Health and metrics on http://%s:%d/", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None


@contextlib.asynccontextmanager
async def serving_health(
    application: Application, address: tuple[str, int] | None
) -> AsyncIterator[HealthServer | None]:
    """Run a :class:`HealthServer` on ``address`` (host, port) for the duration; nothing if
    ``address`` is None."""
    if address is None:
        yield None
        return
    server = HealthServer(health_of(application), *address)
    server.start()
    try:
        yield server
    finally:
        await server.stop()


def check_metrics_port(port: int) -> int:
    from bot.telegram.config import ConfigError

    if not 1 <= int(port) <= 65535:
        raise ConfigError("--metrics-port must be between 1 and 65535")
    return int(port)
