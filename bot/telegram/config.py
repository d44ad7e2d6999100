"""Settings for the Telegram shell, read from the environment and the ``run`` options.

Environment:

- ``TELEGRAM_BOT_TOKEN`` (required): the token from @BotFather.
- ``TELEGRAM_BASE_URL`` (optional): Bot API server URL, passed to PTB's ``base_url``
  (e.g. ``http://127.0.0.1:8081/bot`` for a local Bot API server; PTB appends the token).
- ``TELEGRAM_WEBHOOK_SECRET`` (required in webhook mode): sent by Telegram in the
  ``X-Telegram-Bot-Api-Secret-Token`` header; requests without it are refused.
- ``RECOVERY_BOT_STATE_DIR`` (optional): where the users' choices are kept, in
  ``state.sqlite3`` (default ``~/.local/state/recovery-bot``).
- ``RECOVERY_BOT_DATABASE_URL`` (optional): ``postgresql://user:password@host:5432/dbname``
  keeps them in PostgreSQL instead, shared by every replica.

Error messages name the variable and what is wrong with it; they never contain its value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_STATE_DIR = Path("~/.local/state/recovery-bot")
DEFAULT_LISTEN = "127.0.0.1"
DEFAULT_PORT = 8443
MIN_SECRET_LENGTH = 16

TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
BASE_URL_ENV = "TELEGRAM_BASE_URL"
SECRET_ENV = "TELEGRAM_WEBHOOK_SECRET"
STATE_DIR_ENV = "RECOVERY_BOT_STATE_DIR"
DATABASE_URL_ENV = "RECOVERY_BOT_DATABASE_URL"

# A bot token is the bot's numeric id, a colon and a 35-character secret (letters, digits, _ -).
_TOKEN_SHAPE = re.compile(r"[0-9]{5,20}:[A-Za-z0-9_-]{30,100}")
# Telegram allows 1-256 characters A-Z a-z 0-9 _ - in a webhook secret token.
_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")


class ConfigError(ValueError):
    """A setting is missing or malformed. The message never contains a secret."""


@dataclass(frozen=True)
class WebhookSettings:
    """Where the webhook server listens and what URL Telegram is told to call."""

    url: str
    listen: str
    port: int
    secret_token: str = field(repr=False)

    @property
    def url_path(self) -> str:
        """The path the local server answers on: the path of the public URL."""
        return urlsplit(self.url).path.strip("/")


@dataclass(frozen=True)
class TelegramSettings:
    token: str = field(repr=False)
    state_dir: Path
    base_url: str | None = None
    webhook: WebhookSettings | None = None
    database_url: str | None = field(default=None, repr=False)


def load_settings(
    environ: Mapping[str, str],
    *,
    webhook_url: str | None = None,
    listen: str | None = None,
    port: int | None = None,
) -> TelegramSettings:
    """Read and check every setting; raise ConfigError naming the first problem found.

    ``listen`` and ``port`` only matter with ``webhook_url`` (polling ignores them).
    """
    token = read_token(environ)
    base_url = read_base_url(environ)
    webhook = None
    if webhook_url:
        webhook = WebhookSettings(
            url=check_webhook_url(webhook_url, custom_server=base_url is not None),
            listen=listen or DEFAULT_LISTEN,
            port=check_port(DEFAULT_PORT if port is None else port),
            secret_token=read_webhook_secret(environ),
        )
    return TelegramSettings(
        token=token,
        state_dir=read_state_dir(environ),
        base_url=base_url,
        webhook=webhook,
        database_url=read_database_url(environ),
    )


def read_token(environ: Mapping[str, str]) -> str:
    token = environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ConfigError(f"{TOKEN_ENV} is not set: export the bot token you got from @BotFather")
    if not _TOKEN_SHAPE.fullmatch(token):
        raise ConfigError(
            f"{TOKEN_ENV} is malformed: a bot token is digits, a colon, then about 35 letters, "
            "digits, '_' or '-' (the value is not shown here)"
        )
    return token


def read_base_url(environ: Mapping[str, str]) -> str | None:
    base_url = environ.get(BASE_URL_ENV, "").strip()
    if not base_url:
        return None
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{BASE_URL_ENV} must be an http(s) URL such as http://127.0.0.1:8081/bot"
        )
    return base_url.rstrip("/")


def read_webhook_secret(environ: Mapping[str, str]) -> str:
    secret = environ.get(SECRET_ENV, "").strip()
    if not secret:
        raise ConfigError(
            f"{SECRET_ENV} is required with --webhook-url, so forged updates are refused "
            "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    if not _SECRET_SHAPE.fullmatch(secret) or len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"{SECRET_ENV} must be {MIN_SECRET_LENGTH}-256 characters of A-Z, a-z, 0-9, "
            "'_' and '-' (the value is not shown here)"
        )
    return secret


def read_state_dir(environ: Mapping[str, str]) -> Path:
    raw = environ.get(STATE_DIR_ENV, "").strip()
    return Path(raw).expanduser() if raw else DEFAULT_STATE_DIR.expanduser()


def read_database_url(environ: Mapping[str, str]) -> str | None:
    url = environ.get(DATABASE_URL_ENV, "").strip()
    if not url:
        return None
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        scheme = ""
    if scheme not in ("postgresql", "postgres"):
        raise ConfigError(
            f"{DATABASE_URL_ENV} must be a URL such as postgresql://user:password@host:5432/dbname "
            "(the value is not shown here)"
        )
    return url


def check_webhook_url(url: str, *, custom_server: bool) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("--webhook-url must be a full URL such as https://bot.example.org/tg")
    if parts.scheme != "https" and not custom_server:
        raise ConfigError("--webhook-url must use https (Telegram only calls https webhooks)")
    return url


def check_port(port: int) -> int:
    if not 1 <= int(port) <= 65535:
        raise ConfigError("--port must be between 1 and 65535")
    return int(port)
