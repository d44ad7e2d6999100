"""Logging that never carries the bot token or what users wrote.

Two protections, applied to every log record when it is created (a record factory, so they work
whatever handlers are attached later, pytest's caplog included):

1. **Secrets are redacted.** The bot token (and webhook secret) registered with
   :func:`register_secret`, and anything shaped like a bot token, become ``[REDACTED]`` in the
   message, the formatted traceback and the stack info. ``httpx``/``httpcore`` log request URLs,
   which contain the token, so they are also kept at WARNING.
2. **User content is withheld.** python-telegram-bot logs whole updates and API payloads at
   DEBUG ("Processing update %s", "Calling Bot API endpoint ... with parameters %s", "Webhook
   received data: %s"). For records from the ``telegram`` loggers, arguments that can carry
   message text (Telegram objects, dicts, lists, free text) are replaced by a short
   ``<withheld ...>`` marker; ids, numbers and single words stay.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from telegram import TelegramObject

REDACTED = "[REDACTED]"
NOISY_LOGGERS = ("httpx", "httpcore")
CONTENT_LOGGERS = ("telegram",)

_TOKEN_SHAPE = re.compile(r"(?<![0-9])[0-9]{5,20}:[A-Za-z0-9_-]{30,100}")
_SAFE_WORD = re.compile(r"[\w.:/@-]{0,120}")
_SCRUBBED = "_recovery_bot_scrubbed"

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def register_secret(secret: str | None) -> None:
    """Redact ``secret`` (and, for a token, its part after the colon) from all log records."""
    if not secret:
        return
    with _lock:
        forms = {secret, quote(secret, safe="")}
        _, colon, tail = secret.partition(":")
        if colon and len(tail) >= 16:
            forms.add(tail)
        _secrets.update(forms)


def redact(text: str) -> str:
    """``text`` with every registered secret and token-shaped string replaced."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _TOKEN_SHAPE.sub(REDACTED, text)


def withhold_content(value: Any) -> Any:
    """Keep numbers, ids and single words; replace anything that could hold message text."""
    if value is None or isinstance(value, bool | int | float | type):
        return value
    if isinstance(value, str) and _SAFE_WORD.fullmatch(value):
        return value
    if isinstance(value, TelegramObject):
        update_id = getattr(value, "update_id", None)
        suffix = f" {update_id}" if isinstance(update_id, int) else ""
        return f"<withheld {type(value).__name__}{suffix}>"
    if isinstance(value, list | tuple | set | frozenset | dict):
        return f"<withheld {type(value).__name__} of {len(value)}>"
    if isinstance(value, str | bytes | bytearray):
        return f"<withheld {type(value).__name__} of {len(value)}>"
    return f"<withheld {type(value).__name__}>"


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """Withhold user content and redact secrets in ``record`` (idempotent)."""
    if getattr(record, _SCRUBBED, False):
        return record
    setattr(record, _SCRUBBED, True)
    if record.args and record.name.split(".", 1)[0] in CONTENT_LOGGERS:
        if isinstance(record.args, dict):
            record.args = {key: withhold_content(val) for key, val in record.args.items()}
        else:
            record.args = tuple(withhold_content(arg) for arg in record.args)
    try:
        message = record.getMessage()
    except Exception:  # a malformed format string: keep the template only
        message = str(record.msg)
    record.msg = redact(message)
    record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
        # Formatters print exc_text; nobody may re-format the raw exception with its secrets.
        record.exc_info = None
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """The same scrubbing as a filter, for handlers created outside this process's factory."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True


def install_log_protection() -> None:
    """Scrub every record at creation and keep the URL-logging libraries at WARNING."""
    global _installed
    with _lock:
        if not _installed:
            previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

            def scrubbing_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                return scrub_record(previous(*args, **kwargs))

            logging.setLogRecordFactory(scrubbing_factory)
            _installed = True
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: int = logging.INFO) -> None:
    """Logging for ``recovery-bot run``: protections on, and a stderr handler unless the
    process already configured one (``logging.basicConfig`` semantics)."""
    install_log_protection()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
