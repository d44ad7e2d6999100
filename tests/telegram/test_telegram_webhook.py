"""Webhook mode: the bot's webhook server, refusing requests without the right secret header."""

from __future__ import annotations

import json
import socket

import httpx
import pytest
from conftest import texts

from bot.telegram.config import WebhookSettings

SECRET = "webhook-secret-for-tests-0123456789"
CHAT = 3001
QUESTION = "how long does withdrawal last"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def webhook() -> WebhookSettings:
    port = free_port()
    return WebhookSettings(
        url=f"http://127.0.0.1:{port}/telegram-hook",
        listen="127.0.0.1",
        port=port,
        secret_token=SECRET,
    )


async def test_webhook_refuses_forged_requests_and_serves_real_ones(api, core, runner, webhook):
    async with runner.running(webhook=webhook), httpx.AsyncClient() as client:
        [registration] = api.calls_of("setWebhook")
        assert registration.params["url"] == webhook.url
        assert registration.params["secret_token"] == SECRET
        assert not api.calls_of("getUpdates")

        body = json.dumps(api.take_update(api.text(CHAT, QUESTION)))
        headers = {"Content-Type": "application/json"}
        for extra in ({}, {"X-Telegram-Bot-Api-Secret-Token": "forged-secret-0123456789"}):
            response = await client.post(webhook.url, content=body, headers={**headers, **extra})
            assert response.status_code == 403
        response = await client.post(
            webhook.url.replace("telegram-hook", "other"),
            content=body,
            headers={**headers, "X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert response.status_code == 404
        assert not api.calls_of("sendMessage")

        response = await client.post(
            webhook.url,
            content=body,
            headers={**headers, "X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert response.status_code == 200
        answer = core.handle(QUESTION, None)
        sent = await api.wait_for_sent(CHAT, len(answer.messages))
        assert texts(sent) == list(answer.messages)
