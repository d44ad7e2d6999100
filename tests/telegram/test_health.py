"""/healthz, /readyz and /metrics: on the webhook server, on the --metrics-port listener in
polling mode, and what the metrics may never contain (user ids, chat ids, text)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

import httpx
import pytest
from conftest import TOKEN, send_and_wait
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.telegram.config import ConfigError, WebhookSettings
from bot.telegram.health import (
    PATHS,
    Health,
    HealthServer,
    HealthServerError,
    check_metrics_port,
    health_of,
)

ROOT = Path(__file__).resolve().parents[2]
SECRET = "webhook-secret-for-health-0123456789"
OVERDOSE = "my boyfriend is turning blue and wont wake up"
QUESTION = "how long does withdrawal last"
PRIVATE_CHAT = 918273645  # distinctive ids: grepped for in /metrics


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


def samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics body: (name, sorted labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(body: str, name: str, **labels: str) -> float:
    return samples(body).get((name, tuple(sorted(labels.items()))), 0.0)


async def check_all_three(client: httpx.AsyncClient, base: str) -> str:
    """/healthz and /readyz answer 200; /metrics answers in Prometheus' format; its body."""
    response = await client.get(f"{base}/healthz")
    assert (response.status_code, response.text) == (200, "ok\n")
    response = await client.get(f"{base}/readyz")
    assert (response.status_code, response.text) == (200, "ready\n")
    response = await client.get(f"{base}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert "recovery_bot_messages_total" in response.text
    assert "recovery_bot_build_info{" in response.text
    return response.text


async def webhook_post(client: httpx.AsyncClient, webhook: WebhookSettings, update: dict) -> None:
    response = await client.post(
        webhook.url,
        content=json.dumps(update),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    assert response.status_code == 200


async def test_polling_mode_serves_the_three_routes_on_the_metrics_port(api, core, runner):
    port = free_port()
    async with runner.running(metrics_address=("127.0.0.1", port)), httpx.AsyncClient() as client:
        base = f"http://127.0.0.1:{port}"
        before = await check_all_three(client, base)
        answer = core.handle(QUESTION, None)
        await send_and_wait(api, 41, lambda: api.text(41, QUESTION), len(answer.messages))
        after = (await client.get(f"{base}/metrics")).text
        assert (await client.head(f"{base}/healthz")).status_code == 200
        assert (await client.get(f"{base}/nothing-here")).status_code == 404
    labels = {"route": "answer", "language": "en"}
    assert value(after, "recovery_bot_messages_total", **labels) == (
        value(before, "recovery_bot_messages_total", **labels) + 1
    )
    for name in ("recovery_bot_core_seconds_count", "recovery_bot_replies_sent_total"):
        extra = {"route": "answer"} if name == "recovery_bot_replies_sent_total" else {}
        assert value(after, name, **extra) > value(before, name, **extra)
    sent = "recovery_bot_telegram_messages_sent_total"
    assert value(after, sent, urgent="false") - value(before, sent, urgent="false") == len(
        answer.messages
    )
    # the listener is gone once the bot stopped
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{port}/healthz")


async def test_webhook_mode_serves_the_three_routes_on_the_webhook_server(
    api, core, runner, webhook
):
    async with runner.running(webhook=webhook), httpx.AsyncClient() as client:
        base = f"http://127.0.0.1:{webhook.port}"
        await check_all_three(client, base)
        # the webhook itself still works, and still refuses a forged request
        update = api.take_update(api.text(42, QUESTION))
        forged = await client.post(
            webhook.url,
            content=json.dumps(update),
            headers={"Content-Type": "application/json"},
        )
        assert forged.status_code == 403
        await webhook_post(client, webhook, update)
        answer = core.handle(QUESTION, None)
        await api.wait_for_sent(42, len(answer.messages))
        # the probes do not answer other methods
        assert (await client.post(f"{base}/healthz", content=b"")).status_code == 405


async def test_readyz_is_503_while_telegram_cannot_be_reached(api, runner, webhook):
    async with runner.running(webhook=webhook) as application, httpx.AsyncClient() as client:
        readyz = f"http://127.0.0.1:{webhook.port}/readyz"
        assert (await client.get(readyz)).status_code == 200
        health = health_of(application)
        health.telegram_window, health.probe_interval = 0.05, 0.0
        await asyncio.sleep(0.1)  # webhook mode, no traffic: the last Bot API call is stale
        api.fail_next("getMe", 502)
        response = await client.get(readyz)
        assert response.status_code == 503
        assert response.text.startswith("not ready: Telegram not reached for ")
        assert api.calls_of("getMe")[-1].outcome == "502"  # it did try
        api.calls.clear()
        response = await client.get(readyz)  # the next probe succeeds: ready again
        assert (response.status_code, response.text) == (200, "ready\n")
        assert [call.method for call in api.calls] == ["getMe"]


@pytest.mark.parametrize(
    ("ready", "reason"),
    [
        (lambda: False, "state store not reachable"),
        (lambda: 1 / 0, "state store not reachable (ZeroDivisionError)"),
    ],
)
async def test_readyz_is_503_when_the_store_is_not_ready(runner, webhook, ready, reason):
    async with runner.running(webhook=webhook) as application, httpx.AsyncClient() as client:
        readyz = f"http://127.0.0.1:{webhook.port}/readyz"
        health = health_of(application)
        health.store_ready = ready
        response = await client.get(readyz)
        assert (response.status_code, response.text) == (503, f"not ready: {reason}\n")
        assert (await client.get(f"http://127.0.0.1:{webhook.port}/healthz")).status_code == 200

        async def store_answers() -> bool:
            return True

        health.store_ready = store_answers  # async ready() works too
        assert (await client.get(readyz)).status_code == 200


async def test_a_persistence_ready_method_is_used(runner, webhook, monkeypatch):
    async with runner.running(webhook=webhook) as application, httpx.AsyncClient() as client:
        monkeypatch.setattr(type(application.persistence), "ready", lambda self: False,
                            raising=False)
        response = await client.get(f"http://127.0.0.1:{webhook.port}/readyz")
        assert response.status_code == 503
        assert "state store" in response.text


async def test_not_ready_before_updates_are_fetched(runner, core):
    from bot.telegram.app import build_application

    application = build_application(core, TOKEN, "http://127.0.0.1:9/bot", runner.state_dir)
    ready, reasons = await Health(application).readiness()
    assert not ready
    assert "not fetching updates" in reasons


async def test_metrics_never_contain_ids_or_text(api, core, runner):
    port = free_port()
    async with runner.running(metrics_address=("127.0.0.1", port)), httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{port}/metrics"
        before = (await client.get(url)).text
        overdose = core.handle(OVERDOSE, None)
        await send_and_wait(api, PRIVATE_CHAT, lambda: api.text(PRIVATE_CHAT, OVERDOSE),
                            len(overdose.messages))
        question = core.handle(QUESTION, None)
        await send_and_wait(api, PRIVATE_CHAT, lambda: api.text(PRIVATE_CHAT, QUESTION),
                            len(question.messages))
        body = (await client.get(url)).text
    # the route counters moved
    labels = {"route": "overdose", "language": "en"}
    assert value(body, "recovery_bot_messages_total", **labels) > value(
        before, "recovery_bot_messages_total", **labels
    )
    assert value(body, "recovery_bot_emergencies_answered_total", route="overdose") > value(
        before, "recovery_bot_emergencies_answered_total", route="overdose"
    )
    assert value(body, "recovery_bot_reply_seconds_count", urgent="true") > value(
        before, "recovery_bot_reply_seconds_count", urgent="true"
    )
    # ... and nothing about who or what
    forbidden = [str(PRIVATE_CHAT), f"User{PRIVATE_CHAT}", "Tester", *api.user_texts]
    forbidden += [word for text in api.user_texts for word in text.split() if len(word) >= 5]
    lowered = body.casefold()
    for needle in forbidden:
        assert needle.casefold() not in lowered, f"{needle!r} is in /metrics"
    # every label value is from the fixed sets
    allowed = {
        "route": {*metrics.ROUTES, metrics.OTHER},
        "language": {*metrics.LANGUAGES, metrics.OTHER},
        "kind": {*metrics.SEND_FAILURE_KINDS, metrics.OTHER},
        "operation": set(metrics.STORE_OPERATIONS),
        "urgent": {"true", "false"},
    }
    for (name, labels_), _ in samples(body).items():
        for label, label_value in labels_:
            if name.startswith("recovery_bot_") and label in allowed:
                assert label_value in allowed[label], (name, label, label_value)


async def test_send_failures_and_429_waits_are_counted(api, core, runner):
    port = free_port()
    async with runner.running(metrics_address=("127.0.0.1", port)), httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{port}/metrics"
        before = (await client.get(url)).text
        api.fail_next("sendMessage", 500)
        api.fail_next("sendMessage", 429, retry_after=1)
        answer = core.handle(QUESTION, None)
        await send_and_wait(api, 43, lambda: api.text(43, QUESTION), len(answer.messages))
        after = (await client.get(url)).text
    failures = "recovery_bot_send_failures_total"
    assert value(after, failures, kind="network", urgent="false") == (
        value(before, failures, kind="network", urgent="false") + 1
    )
    assert value(after, "recovery_bot_rate_limit_waits_total") == (
        value(before, "recovery_bot_rate_limit_waits_total") + 1
    )
    assert value(after, "recovery_bot_rate_limit_wait_seconds_total") >= (
        value(before, "recovery_bot_rate_limit_wait_seconds_total") + 1
    )


async def test_metrics_port_in_use_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = HealthServer(Health(object()), "127.0.0.1", port)
        with pytest.raises(HealthServerError, match=f"cannot listen .* on 127.0.0.1:{port}"):
            server.start()


def test_metrics_port_is_checked():
    assert check_metrics_port(9090) == 9090
    for bad in (0, 70000):
        with pytest.raises(ConfigError, match="--metrics-port"):
            check_metrics_port(bad)
    assert PATHS == ("/healthz", "/readyz", "/metrics")


async def test_run_with_metrics_port_serves_health_in_polling_mode(api, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": api.base_url,
        "RECOVERY_BOT_STATE_DIR": str(tmp_path / "state"),
    }
    env.pop("TELEGRAM_WEBHOOK_SECRET", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--metrics-port", str(port),
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        await api.wait_for_calls("getUpdates", timeout=60)
        async with httpx.AsyncClient() as client:
            base = f"http://127.0.0.1:{port}"
            await check_all_three(client, base)
        process.terminate()
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()


async def test_store_errors_reaching_the_error_handler_are_counted():
    from types import SimpleNamespace

    from bot.telegram.errors import handle_error
    from bot.telegram.persistence import StoreError

    def count() -> float:
        found = metrics.REGISTRY.get_sample_value(
            "recovery_bot_store_errors_total", {"operation": "write"}
        )
        return found or 0.0

    before = count()
    await handle_error(None, SimpleNamespace(error=StoreError("the disk is full")))
    assert count() == before + 1
