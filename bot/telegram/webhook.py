"""The webhook server: refuses early, acknowledges an update only once it has been handled.

PTB's own webhook server (``Updater.start_webhook``) buffers a body of up to 100 MB before it
looks at the secret header, logs a wrong secret at DEBUG, answers 400 for an update it cannot
parse (so Telegram resends it forever) and answers 200 as soon as the update is *queued*, so a
replica killed a moment later loses it. This server (tornado, as PTB's) instead:

1. **Checks the secret before the body is read.** The handler streams its body
   (``@stream_request_body``); ``prepare()`` runs once the headers are in and refuses a missing
   or wrong ``X-Telegram-Bot-Api-Secret-Token`` (compared in constant time, never logged) with
   403, a body that is not ``application/json`` with 415 and an announced body over
   :data:`MAX_BODY_BYTES` with 413; tornado then closes the connection without reading the body.
   A streamed body that grows past the limit is refused the same way. The HTTP server itself
   also refuses bodies over the limit (``max_body_size``) on every path.
2. **Skips what cannot be read.** An authenticated body that is not an update PTB can parse is
   logged by id and kind, counted and answered 200 (:mod:`bot.telegram.updates`).
3. **Answers only once the update is handled.** The update goes through the Application's
   update processor (per-chat order, emergencies first) inside the request, and the 200 is
   sent when its handler has finished, i.e. its reply was sent. If the replica dies before, the
   request fails and Telegram (or the load balancer) delivers the update again, to another
   replica. A handler that raises is reported to the error handler and still answered 200 (its
   own failure answer was sent); only an unexpected failure of the processing itself answers
   500, so Telegram retries.
4. Serves ``/healthz``, ``/readyz`` and ``/metrics`` on the same port (:mod:`bot.telegram.health`).

The server registers itself with Telegram (``setWebhook``, with the secret and the allowed
updates) like PTB's bootstrap, retrying network failures a few times.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import tornado.web
from telegram.error import NetworkError
from telegram.ext import Application, ExtBot
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot import metrics
from bot.telegram.config import WebhookSettings
from bot.telegram.health import HealthServerError, health_of, health_routes
from bot.telegram.logging_setup import register_secret
from bot.telegram.updates import parse_body, read_update

__all__ = ["MAX_BODY_BYTES", "SECRET_HEADER", "WebhookServer"]

MAX_BODY_BYTES = 1024 * 1024  # Telegram's updates are a few KB; 1 MB is generous
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
STREAM_CHUNK = 64 * 1024  # tornado's read chunk for streamed bodies
STOP_GRACE = 10.0  # seconds in-flight updates may take to finish when the server stops
BOOTSTRAP_DELAY = 1.0

_log = logging.getLogger(__name__)


class _Refused(Exception):
    pass


@tornado.web.stream_request_body
class UpdateHandler(tornado.web.RequestHandler):
    """POST <webhook path>: one update from Telegram."""

    SUPPORTED_METHODS = ("POST",)  # type: ignore[assignment]

    def initialize(self, server: WebhookServer) -> None:
        self.server = server
        self._chunks: list[bytes] = []
        self._size = 0
        self._refused = False

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")

    def prepare(self) -> None:
        """Headers only: the secret, the content type and the announced size."""
        headers = self.request.headers
        given = headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self.server.secret):
            self._refuse(HTTPStatus.FORBIDDEN, "secret")
            return
        content_type = headers.get("Content-Type", "").partition(";")[0].strip().lower()
        if content_type != "application/json":
            self._refuse(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "content_type")
            return
        announced = headers.get("Content-Length")
        if announced is not None and (not announced.isdigit() or int(announced) > MAX_BODY_BYTES):
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too_large")
            return
        if self.request.connection is not None:
            with contextlib.suppress(Exception):  # only an HTTP/1 connection has it
                self.request.connection.set_max_body_size(MAX_BODY_BYTES)  # type: ignore[attr-defined]

    def _refuse(self, status: HTTPStatus, reason: str) -> None:
        metrics.webhook_refused(reason)
        self._refused = True
        self._chunks = []
        self.set_status(status)
        self.finish()  # tornado closes the connection: the body is never read

    def data_received(self, chunk: bytes) -> None:
        if self._refused:
            return
        self._size += len(chunk)
        if self._size > MAX_BODY_BYTES:
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too_large")
            return
        self._chunks.append(chunk)

    async def post(self) -> None:
        if self._refused:
            return
        body, self._chunks = b"".join(self._chunks), []
        update = read_update(parse_body(body), self.server.application.bot, "webhook")
        if update is None:
            self.finish()  # skipped and counted: 200, so Telegram does not resend it
            return
        try:
            await self.server.handle(update)
        except Exception as exc:
            _log.error("Webhook update %s was not handled (%s); asking Telegram to resend",
                       update.update_id, type(exc).__name__)
            self.set_status(HTTPStatus.INTERNAL_SERVER_ERROR)
        self.finish()

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """One line, never the request (it may carry the secret header)."""
        if isinstance(value, tornado.web.HTTPError):
            return
        _log.error("Webhook request failed (%s)", getattr(typ, "__name__", typ))


class _QuietApplication(tornado.web.Application):
    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        """No access log."""


class WebhookServer:
    """The webhook listener of one Application (see the module docstring)."""

    def __init__(self, application: Application, settings: WebhookSettings) -> None:  # type: ignore[type-arg]
        self.application = application
        self.settings = settings
        self.secret = settings.secret_token.encode("utf-8")
        register_secret(settings.secret_token)  # redacted if anything ever logs it
        self.port = settings.port
        self._server: HTTPServer | None = None
        self._in_flight: set[asyncio.Future[Any]] = set()
        self.running = False

    @property
    def path(self) -> str:
        return "/" + self.settings.url_path.strip("/")

    def _routes(self) -> list[Any]:
        hook = self.path
        health = [r for r in health_routes(health_of(self.application)) if r[0] != hook]
        return [(rf"{hook.rstrip('/')}/?", UpdateHandler, {"server": self}), *health]

    async def start(self, allowed_updates: Sequence[str], bootstrap_retries: int = 3) -> None:
        """Listen, then tell Telegram where to send updates."""
        try:
            sockets = bind_sockets(self.port, address=self.settings.listen)
        except OSError as exc:  # one line from `recovery-bot run`, like --metrics-port
            raise HealthServerError(
                f"cannot listen for the webhook on {self.settings.listen}:{self.port} "
                f"({exc.strerror or type(exc).__name__})"
            ) from None
        self.port = sockets[0].getsockname()[1]
        self._server = HTTPServer(
            _QuietApplication(self._routes()),
            max_body_size=MAX_BODY_BYTES,
            max_buffer_size=MAX_BODY_BYTES + STREAM_CHUNK,
            idle_connection_timeout=120,
            body_timeout=30,
        )
        self._server.add_sockets(sockets)
        self.running = True
        health_of(self.application).serving = lambda: self.running
        try:
            await self._register(allowed_updates, bootstrap_retries)
        except BaseException:
            await self.stop()
            raise

    async def _register(self, allowed_updates: Sequence[str], retries: int) -> None:
        for attempt in range(retries + 1):
            try:
                await self.application.bot.set_webhook(
                    url=self.settings.url,
                    allowed_updates=list(allowed_updates),
                    drop_pending_updates=False,
                    secret_token=self.settings.secret_token,
                )
                return
            except NetworkError:
                if attempt == retries:
                    raise
                _log.warning("setWebhook failed; trying again (%d of %d)", attempt + 1, retries)
                await asyncio.sleep(BOOTSTRAP_DELAY)

    async def handle(self, update: Any) -> None:
        """Process ``update`` the way PTB's update fetcher does (the update processor around
        ``Application.process_update``) and wait until it is done."""
        application = self.application
        bot = application.bot
        if isinstance(bot, ExtBot):
            bot.insert_callback_data(update)
        task = application.create_task(
            application.update_processor.process_update(update, application.process_update(update)),
            update=update,
        )
        self._in_flight.add(task)
        try:
            await task
        finally:
            self._in_flight.discard(task)

    async def stop(self) -> None:
        """Stop accepting, let in-flight updates finish (bounded), then close connections."""
        self.running = False
        if self._server is None:
            return
        self._server.stop()
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=STOP_GRACE)
        await self._server.close_all_connections()
        self._server = None
