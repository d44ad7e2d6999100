"""Settings: clear errors that never print the token or the webhook secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.telegram.app import run
from bot.telegram.config import ConfigError, load_settings

TOKEN = "123456789:AAHfakeTOKENfakeTOKENfakeTOKENfake12"
SECRET = "a-good-webhook-secret-0123456789"


def test_polling_settings():
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": f" {TOKEN}\n",
            "TELEGRAM_BASE_URL": "http://127.0.0.1:8081/bot/",
            "RECOVERY_BOT_STATE_DIR": "/srv/state",
        },
        listen="0.0.0.0",
        port=9000,  # ignored without a webhook URL (the CLI always passes them)
    )
    assert settings.token == TOKEN
    assert settings.base_url == "http://127.0.0.1:8081/bot"
    assert settings.state_dir == Path("/srv/state")
    assert settings.webhook is None
    assert TOKEN not in repr(settings)


def test_default_state_dir(monkeypatch):
    monkeypatch.setenv("HOME", "/home/someone")
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert settings.state_dir == Path("/home/someone/.local/state/recovery-bot")


def test_webhook_settings():
    settings = load_settings(
        {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET},
        webhook_url="https://bot.example.org/tg/hook",
        listen="0.0.0.0",
        port=8443,
    )
    assert settings.webhook is not None
    assert settings.webhook.url_path == "tg/hook"
    assert (settings.webhook.listen, settings.webhook.port) == ("0.0.0.0", 8443)
    assert SECRET not in repr(settings)


@pytest.mark.parametrize(
    ("environ", "options", "complaint"),
    [
        ({}, {}, "TELEGRAM_BOT_TOKEN is not set"),
        ({"TELEGRAM_BOT_TOKEN": "  "}, {}, "TELEGRAM_BOT_TOKEN is not set"),
        ({"TELEGRAM_BOT_TOKEN": "bot" + TOKEN}, {}, "TELEGRAM_BOT_TOKEN is malformed"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN + " extra"}, {}, "TELEGRAM_BOT_TOKEN is malformed"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN[:-12]}, {}, "TELEGRAM_BOT_TOKEN is malformed"),
        (
            {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": "127.0.0.1:8081"},
            {},
            "TELEGRAM_BASE_URL",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": TOKEN},
            {"webhook_url": "https://x.org/h"},
            "TELEGRAM_WEBHOOK_SECRET is required",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": "short"},
            {"webhook_url": "https://x.org/h"},
            "TELEGRAM_WEBHOOK_SECRET must be",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET + "!"},
            {"webhook_url": "https://x.org/h"},
            "TELEGRAM_WEBHOOK_SECRET must be",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET},
            {"webhook_url": "http://x.org/h"},
            "must use https",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET},
            {"webhook_url": "https://x.org/h", "port": 70000},
            "--port",
        ),
    ],
)
def test_bad_settings_are_named_without_their_value(environ, options, complaint):
    with pytest.raises(ConfigError) as error:
        load_settings(environ, **options)
    assert complaint in str(error.value)
    for key in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET"):
        value = environ.get(key, "").strip()
        if value:
            assert value not in str(error.value)
    assert TOKEN.split(":")[1][:10] not in str(error.value)


def test_plain_http_webhook_is_allowed_with_a_local_bot_api_server():
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_BASE_URL": "http://127.0.0.1:8081/bot",
        },
        webhook_url="http://127.0.0.1:8444/hook",
    )
    assert settings.webhook is not None


@pytest.mark.parametrize("token", ["", "bot" + TOKEN])
def test_run_refuses_to_start_with_a_clear_message(token, capsys, core):
    code = run(core=core, environ={"TELEGRAM_BOT_TOKEN": token})
    assert code == 2
    err = capsys.readouterr().err
    assert "TELEGRAM_BOT_TOKEN" in err
    assert "fakeTOKEN" not in err
