"""Prometheus metrics: counts and timings, never who or what.

Every label value comes from a fixed set written here (routes, languages the bot speaks,
failure kinds); anything else becomes ``other``. No metric carries a user id, a chat id, a
country or any text. The hooks are plain function calls, cheap enough for every message:

- :func:`update_received` / :func:`update_classified`: the update processor saw an update and
  classified it (wired by :func:`timing_arrivals` around ``Shell.is_urgent``);
- :func:`message_handled`: the conversation answered (route of the first reply, its language,
  core seconds);
- :func:`reply_finished`: the last message of the reply to an update was confirmed by Telegram
  (end-to-end latency);
- :func:`message_sent`, :func:`reply_sent`, :func:`send_failure`, :func:`emergency_answered`:
  from the delivery;
- :func:`rate_limit_wait`, :func:`telegram_reached`: from the rate limiter (every Bot API call
  passes through it);
- :func:`store_error`: a state store read or write failed;
- :func:`update_skipped`: an update PTB could not read was confirmed and skipped (polling or
  webhook); :func:`webhook_refused`: a webhook request was refused before its body was read.

The metrics live in :data:`REGISTRY` (this process's own registry, with the standard process,
platform and garbage-collector collectors); :func:`exposition` renders it for ``/metrics``.
"""

from __future__ import annotations

import importlib.metadata
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

__all__ = [
    "LANGUAGES",
    "REGISTRY",
    "ROUTES",
    "SEND_FAILURE_KINDS",
    "STORE_OPERATIONS",
    "emergency_answered",
    "exposition",
    "last_telegram_success",
    "message_handled",
    "message_sent",
    "outbox_assumed_delivered",
    "outbox_direct",
    "outbox_dropped",
    "rate_limit_wait",
    "reply_finished",
    "reply_sent",
    "send_failure",
    "store_error",
    "telegram_reached",
    "timing_arrivals",
    "update_classified",
    "update_received",
    "update_skipped",
    "webhook_refused",
]

PREFIX = "recovery_bot"
OTHER = "other"
ROUTES = ("overdose", "crisis", "check", "answer", "clarify", "fallback", "none")
URGENT_ROUTES = frozenset({"overdose", "crisis"})
# The languages the bot has (or is getting) content in; a code outside this set is "other".
LANGUAGES = ("en", "es", "pt", "fr", "de", "it", "pl", "ru", "uk")
SEND_FAILURE_KINDS = (
    "network",  # one attempt failed (timeout, 5xx, dropped connection); it is retried
    "gave_up",  # every attempt failed: the message was not sent
    "forbidden",  # the chat blocked the bot or is gone
    "bad_request",  # Telegram refused the message
    "html_refused",  # Telegram could not parse its HTML; it was re-sent as plain text
)
STORE_OPERATIONS = ("read", "write", "delete", "refresh", OTHER)
# Telegram's update kinds a skipped update may be counted under; "none": the body had no kind
# at all (not an object, no content key).
UPDATE_KINDS = ("message", "edited_message", "callback_query", "poll", "poll_answer",
                "my_chat_member", "channel_post", "none")
TRANSPORTS = ("polling", "webhook")
WEBHOOK_REFUSALS = (
    "secret",  # no or wrong X-Telegram-Bot-Api-Secret-Token header
    "content_type",  # not application/json
    "too_large",  # a body over the limit (announced or streamed)
)
MAX_TRACKED_UPDATES = 10_000  # updates between arrival and reply whose times are kept

CORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
REPLY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)

REGISTRY = CollectorRegistry(auto_describe=True)
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    # the same standard collectors the default registry has, in this registry too
    REGISTRY.register(_collector)

MESSAGES = Counter(
    f"{PREFIX}_messages",
    "Updates the conversation answered, by the route of the first reply and its language.",
    ("route", "language"),
    registry=REGISTRY,
)
CORE_SECONDS = Histogram(
    f"{PREFIX}_core_seconds",
    "Seconds the core spent on one update (classification and conversation).",
    buckets=CORE_BUCKETS,
    registry=REGISTRY,
)
REPLY_SECONDS = Histogram(
    f"{PREFIX}_reply_seconds",
    "Seconds from an update's arrival to Telegram confirming the last message of its reply.",
    ("urgent",),
    buckets=REPLY_BUCKETS,
    registry=REGISTRY,
)
REPLIES_SENT = Counter(
    f"{PREFIX}_replies_sent",
    "Replies whose every message Telegram accepted, by route.",
    ("route",),
    registry=REGISTRY,
)
TELEGRAM_MESSAGES_SENT = Counter(
    f"{PREFIX}_telegram_messages_sent",
    "Messages Telegram accepted (a reply may be several messages).",
    ("urgent",),
    registry=REGISTRY,
)
SEND_FAILURES = Counter(
    f"{PREFIX}_send_failures",
    "Failed sends, by kind (see SEND_FAILURE_KINDS in bot/metrics.py).",
    ("kind", "urgent"),
    registry=REGISTRY,
)
RATE_LIMIT_WAITS = Counter(
    f"{PREFIX}_rate_limit_waits",
    "Times Telegram answered 429 Too Many Requests and the bot waited.",
    registry=REGISTRY,
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    f"{PREFIX}_rate_limit_wait_seconds",
    "Seconds spent waiting out 429 Too Many Requests answers.",
    registry=REGISTRY,
)
EMERGENCIES_ANSWERED = Counter(
    f"{PREFIX}_emergencies_answered",
    "Overdose and crisis replies whose first message (the emergency number) was delivered.",
    ("route",),
    registry=REGISTRY,
)
STORE_ERRORS = Counter(
    f"{PREFIX}_store_errors",
    "State store operations that failed, by operation.",
    ("operation",),
    registry=REGISTRY,
)
UPDATES_SKIPPED = Counter(
    f"{PREFIX}_updates_skipped",
    "Updates that could not be read, confirmed to Telegram and skipped, by kind and transport.",
    ("update_kind", "transport"),
    registry=REGISTRY,
)
WEBHOOK_REFUSED = Counter(
    f"{PREFIX}_webhook_refused",
    "Webhook requests refused before their body was read, by reason.",
    ("reason",),
    registry=REGISTRY,
)
OUTBOX_DROPPED = Counter(
    f"{PREFIX}_outbox_dropped",
    "Queued messages dropped after their retry window (10 min ordinary, 30 min urgent), by route.",
    ("route",),
    registry=REGISTRY,
)
OUTBOX_DIRECT = Counter(
    f"{PREFIX}_outbox_direct",
    "Replies sent directly, without the outbox, by reason (store_error, store_slow, unstorable).",
    ("reason",),
    registry=REGISTRY,
)
OUTBOX_ASSUMED_DELIVERED = Counter(
    f"{PREFIX}_outbox_assumed_delivered",
    "Messages whose answer timed out after their reply's one resend, counted as delivered.",
    registry=REGISTRY,
)
TELEGRAM_LAST_SUCCESS = Gauge(
    f"{PREFIX}_telegram_last_success_timestamp_seconds",
    "Unix time of the last Bot API call that succeeded.",
    registry=REGISTRY,
)
BUILD_INFO = Gauge(
    f"{PREFIX}_build_info",
    "Always 1; the version label is the installed recovery-bot version.",
    ("version",),
    registry=REGISTRY,
)

_ROUTES = frozenset(ROUTES)
_LANGUAGES = frozenset(LANGUAGES)
_FAILURE_KINDS = frozenset(SEND_FAILURE_KINDS)
_STORE_OPERATIONS = frozenset(STORE_OPERATIONS)
_URGENT = {True: "true", False: "false"}
_UPDATE_KINDS = frozenset(UPDATE_KINDS)

# update id -> [arrival time, seconds spent classifying] (perf_counter); bounded, oldest dropped
_updates: OrderedDict[int, list[float]] = OrderedDict()
_last_telegram_success: float | None = None  # time.monotonic()


def _version() -> str:
    try:
        return importlib.metadata.version("recovery-bot")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


BUILD_INFO.labels(_version()).set(1)
# Pre-create the series a dashboard expects, so they read 0 instead of being absent.
for _route in ROUTES:
    REPLIES_SENT.labels(_route)
for _route in URGENT_ROUTES:
    EMERGENCIES_ANSWERED.labels(_route)
for _operation in STORE_OPERATIONS:
    STORE_ERRORS.labels(_operation)
for _transport in TRANSPORTS:
    UPDATES_SKIPPED.labels("message", _transport)
for _reason in WEBHOOK_REFUSALS:
    WEBHOOK_REFUSED.labels(_reason)


def route_label(route: str | None) -> str:
    if route is None:
        return "none"
    return route if route in _ROUTES else OTHER


def language_label(language: str | None) -> str:
    if not language:
        return "en"
    code = language.replace("_", "-").partition("-")[0].casefold()
    return code if code in _LANGUAGES else OTHER


# -- updates -----------------------------------------------------------------------------------


def update_received(update_id: int) -> None:
    """The update reached this process (the update processor saw it)."""
    _updates.pop(update_id, None)
    _updates[update_id] = [time.perf_counter(), 0.0]
    while len(_updates) > MAX_TRACKED_UPDATES:
        _updates.popitem(last=False)


def update_classified(update_id: int, seconds: float) -> None:
    """Seconds spent classifying the update before its handler ran (added to core time)."""
    times = _updates.get(update_id)
    if times is not None:
        times[1] += seconds


def timing_arrivals(is_urgent: Callable[[object], bool]) -> Callable[[object], bool]:
    """Wrap the update processor's ``is_urgent`` (called once per update, the moment it
    arrives, and the place where it is classified) to record arrival and classification time."""

    def timed(update: object) -> bool:
        update_id = getattr(update, "update_id", None)
        if not isinstance(update_id, int):
            return is_urgent(update)
        update_received(update_id)
        started = time.perf_counter()
        try:
            return is_urgent(update)
        finally:
            update_classified(update_id, time.perf_counter() - started)

    return timed


def message_handled(
    route: str | None, language: str | None, seconds: float, update_id: int | None = None
) -> None:
    """One update answered: ``route`` of the first reply (None: no reply), the reply's
    language, and the core's seconds for it (plus its earlier classification, if recorded)."""
    if update_id is not None and (times := _updates.get(update_id)) is not None:
        seconds += times[1]
    MESSAGES.labels(route_label(route), language_label(language)).inc()
    CORE_SECONDS.observe(seconds)


def reply_finished(update_id: int, urgent: bool, started: float | None = None) -> None:
    """Telegram confirmed the last message of the reply to ``update_id``. ``started``
    (perf_counter) is used when the arrival was not recorded."""
    times = _updates.pop(update_id, None)
    arrived = times[0] if times is not None else started
    if arrived is not None:
        REPLY_SECONDS.labels(_URGENT[bool(urgent)]).observe(time.perf_counter() - arrived)


def update_dropped(update_id: int) -> None:
    """The update needs no reply: forget its times."""
    _updates.pop(update_id, None)


def update_skipped(kind: str, transport: str) -> None:
    """An update that could not be read was confirmed to Telegram and skipped."""
    kind = kind if kind in _UPDATE_KINDS else OTHER
    UPDATES_SKIPPED.labels(kind, transport if transport in TRANSPORTS else OTHER).inc()


def webhook_refused(reason: str) -> None:
    WEBHOOK_REFUSED.labels(reason if reason in WEBHOOK_REFUSALS else OTHER).inc()


# -- delivery ----------------------------------------------------------------------------------


def message_sent(urgent: bool) -> None:
    TELEGRAM_MESSAGES_SENT.labels(_URGENT[bool(urgent)]).inc()


def reply_sent(route: str | None) -> None:
    REPLIES_SENT.labels(route_label(route)).inc()


def send_failure(kind: str, urgent: bool = False) -> None:
    SEND_FAILURES.labels(kind if kind in _FAILURE_KINDS else OTHER, _URGENT[bool(urgent)]).inc()


def emergency_answered(route: str) -> None:
    if route in URGENT_ROUTES:
        EMERGENCIES_ANSWERED.labels(route).inc()


def outbox_dropped(route: str | None) -> None:
    OUTBOX_DROPPED.labels(route_label(route)).inc()


def outbox_direct(reason: str) -> None:
    known = ("store_error", "store_slow", "unstorable")
    OUTBOX_DIRECT.labels(reason if reason in known else OTHER).inc()


def outbox_assumed_delivered() -> None:
    OUTBOX_ASSUMED_DELIVERED.inc()


def rate_limit_wait(seconds: float) -> None:
    RATE_LIMIT_WAITS.inc()
    RATE_LIMIT_WAIT_SECONDS.inc(max(0.0, seconds))


def telegram_reached() -> None:
    """A Bot API call succeeded."""
    global _last_telegram_success
    _last_telegram_success = time.monotonic()
    TELEGRAM_LAST_SUCCESS.set(time.time())


def last_telegram_success() -> float | None:
    """``time.monotonic()`` of the last Bot API call that succeeded (None: none yet)."""
    return _last_telegram_success


# -- state -------------------------------------------------------------------------------------


def store_error(operation: str = OTHER) -> None:
    STORE_ERRORS.labels(operation if operation in _STORE_OPERATIONS else OTHER).inc()


# -- exposition --------------------------------------------------------------------------------


def exposition(registry: Any = REGISTRY) -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST
