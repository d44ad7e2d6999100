"""Log protection: the token is redacted and user content withheld, whatever the level."""

from __future__ import annotations

import logging

from telegram import Update

from bot.telegram.logging_setup import (
    REDACTED,
    RedactingFilter,
    install_log_protection,
    redact,
    register_secret,
    withhold_content,
)

TOKEN = "987654321:AAGsomethingSECRETsomethingSECRET12345"


def test_registered_and_token_shaped_secrets_are_redacted():
    register_secret(TOKEN)
    assert redact(f"POST https://api.telegram.org/bot{TOKEN}/getMe") == (
        f"POST https://api.telegram.org/bot{REDACTED}/getMe"
    )
    assert TOKEN.split(":")[1] not in redact("tail " + TOKEN.split(":")[1])
    assert redact("bot111111:" + "x" * 35 + "/x") == f"bot{REDACTED}/x"
    assert redact("call 999 or 112") == "call 999 or 112"


def test_httpx_stays_at_warning():
    logging.getLogger("httpx").setLevel(logging.DEBUG)
    install_log_protection()
    assert logging.getLogger("httpx").level == logging.WARNING
    assert logging.getLogger("httpcore").level == logging.WARNING


def test_telegram_records_withhold_updates_and_payloads(caplog):
    install_log_protection()
    caplog.set_level(logging.DEBUG, logger="telegram")
    update = Update.de_json(
        {
            "update_id": 7,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 1, "type": "private"},
                "text": "my secret question",
            },
        },
        None,
    )
    logging.getLogger("telegram.ext.Application").debug("Processing update %s", update)
    logging.getLogger("telegram.Bot").debug(
        "Calling Bot API endpoint `%s` with parameters `%s`",
        "sendMessage",
        {"text": "my secret question"},
    )
    logging.getLogger("telegram.ext._utils.webhookhandler").debug(
        "Webhook received data: %s", '{"message":{"text":"my_secret_question"}}'
    )
    assert "secret" not in caplog.text
    assert "<withheld Update 7>" in caplog.text
    assert "`sendMessage`" in caplog.text


def test_exceptions_are_redacted_in_tracebacks(caplog):
    install_log_protection()
    register_secret(TOKEN)
    try:
        raise RuntimeError(f"failed calling /bot{TOKEN}/sendMessage")
    except RuntimeError:
        logging.getLogger("anything").exception("boom")
    assert TOKEN not in caplog.text
    assert REDACTED in caplog.text


def test_the_filter_scrubs_records_made_elsewhere():
    register_secret(TOKEN)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token %s", (TOKEN,), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == f"token {REDACTED}"


def test_withheld_values():
    assert withhold_content(42) == 42
    assert withhold_content("getUpdates") == "getUpdates"
    assert withhold_content("two words").startswith("<withheld str")
    assert withhold_content([1, 2]) == "<withheld list of 2>"
