"""The webhook server refuses early: the secret is checked from the headers alone, before any
of the body is read; bodies over 1 MB are refused; no secret (or a prefix of it) reaches the
DEBUG logs; 90 MB unauthenticated posts leave the bot's memory where it was."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket

import httpx
import pytest
from conftest import TOKEN, texts

from bot import metrics
from bot.telegram.config import WebhookSettings
from bot.telegram.health import HealthServerError
from bot.telegram.webhook import MAX_BODY_BYTES, SECRET_HEADER
from tests.support.bot_process import (
    free_port,
    log_of,
    rss_mib,
    start_webhook_bot,
    stop,
    wait_healthy,
)

SECRET = "Zq7Kx2Vn9Lp4Tw8Rb3Hs6Jd1Fg5Mc0Yu"
QUESTION = "how long does withdrawal last"
HUGE = 90 * 1024 * 1024
MIN_PREFIX = 4  # shorter prefixes may occur in logs by coincidence


@pytest.fixture
def webhook() -> WebhookSettings:
    port = free_port()
    return WebhookSettings(url=f"http://127.0.0.1:{port}/hook", listen="127.0.0.1", port=port,
                           secret_token=SECRET)


def refused(reason: str) -> float:
    return metrics.WEBHOOK_REFUSED.labels(reason)._value.get()


async def headers_only(port: int, headers: dict[str, str], length: int = HUGE) -> bytes:
    """Send a POST's headers announcing ``length`` bytes, and none of the body; the answer's
    status line (the server must answer without waiting for the body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        lines = ["POST /hook HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}",
                 *(f"{name}: {value}" for name, value in headers.items())]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 10)
        # ... and the connection is closed: nobody reads the 90 MB
        await asyncio.wait_for(reader.read(), 10)
        return status.strip()
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def post_huge(port: int, headers: dict[str, str], size: int = HUGE) -> int:
    """POST ``size`` bytes (streamed in 1 MB chunks) until the server cuts us off; bytes sent."""
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    chunk = b"x" * (1024 * 1024)
    sent = 0
    try:
        lines = ["POST /hook HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {size}",
                 *(f"{name}: {value}" for name, value in headers.items())]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        while sent < size:
            writer.write(chunk)
            await asyncio.wait_for(writer.drain(), 10)
            sent += len(chunk)
    except (ConnectionError, TimeoutError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    return sent


async def test_the_secret_and_the_size_are_checked_before_the_body(api, core, runner, webhook):
    json_type = {"Content-Type": "application/json"}
    before = {reason: refused(reason) for reason in metrics.WEBHOOK_REFUSALS}
    async with runner.running(webhook=webhook), httpx.AsyncClient() as client:
        port = webhook.port
        # no secret, a wrong one: 403 from the headers alone, though 90 MB are announced
        assert await headers_only(port, json_type) == b"HTTP/1.1 403 Forbidden"
        for forged in (SECRET[:-1], SECRET + "x", "x" * len(SECRET)):
            status = await headers_only(port, {**json_type, SECRET_HEADER: forged})
            assert status == b"HTTP/1.1 403 Forbidden"
        # the right secret: 413 for an announced body over the limit, still without reading it
        status = await headers_only(port, {**json_type, SECRET_HEADER: SECRET})
        assert status == b"HTTP/1.1 413 Request Entity Too Large"
        # ... and for a chunked body that grows past it
        authentic = {**json_type, SECRET_HEADER: SECRET}

        async def chunks():
            for _ in range(3):
                yield b" " * (MAX_BODY_BYTES // 2 + 1)

        with contextlib.suppress(httpx.HTTPError):  # the server may close before reading all
            response = await client.post(webhook.url, content=chunks(), headers=authentic)
            assert response.status_code in (400, 413)
        # not JSON: refused without reading the body
        status = await headers_only(port, {"Content-Type": "text/plain", SECRET_HEADER: SECRET})
        assert status == b"HTTP/1.1 415 Unsupported Media Type"
        # the server still serves Telegram
        answer = core.handle(QUESTION, None)
        body = json.dumps(api.take_update(api.text(51, QUESTION)))
        response = await client.post(webhook.url, content=body, headers=authentic)
        assert response.status_code == 200
        assert texts(api.sent_to(51)) == list(answer.messages)
    assert refused("secret") - before["secret"] == 4
    assert refused("too_large") - before["too_large"] >= 1
    assert refused("content_type") - before["content_type"] == 1


async def test_no_secret_or_prefix_of_it_reaches_the_debug_logs(api, runner, webhook, caplog):
    caplog.set_level(logging.DEBUG)
    async with runner.running(webhook=webhook), httpx.AsyncClient() as client:
        body = json.dumps(api.take_update(api.text(52, QUESTION)))
        for forged in (SECRET[:-1], SECRET[: len(SECRET) // 2], SECRET + "0", ""):
            response = await client.post(
                webhook.url, content=body,
                headers={"Content-Type": "application/json", SECRET_HEADER: forged},
            )  # fmt: skip
            assert response.status_code == 403
        await api.wait_for_calls("setWebhook")
    records = [*caplog.get_records("setup"), *caplog.get_records("call")]
    assert any(r.levelno == logging.DEBUG and r.name.startswith("telegram") for r in records)
    logged = "\n".join(logging.Formatter("%(name)s %(message)s").format(r) for r in records)
    for end in range(MIN_PREFIX, len(SECRET) + 1):
        assert SECRET[:end] not in logged, f"a {end}-character prefix of the secret was logged"


async def test_huge_unauthenticated_posts_leave_the_memory_of_the_bot_process_alone(api, tmp_path):
    port = free_port()
    process = await start_webhook_bot(token=TOKEN, base_url=api.base_url, secret=SECRET,
                                      state_dir=tmp_path / "state", port=port)
    try:
        await wait_healthy(process, port)
        await api.wait_for_calls("setWebhook", timeout=30)
        idle = rss_mib(process.pid)
        highest, sent = idle, []
        for index in range(5):
            headers = {"Content-Type": "application/json"}
            if index % 2:
                headers[SECRET_HEADER] = "forged-secret-0123456789"
            sent.append(await post_huge(port, headers))
            highest = max(highest, rss_mib(process.pid))
        # an authenticated one over the limit too
        sent.append(await post_huge(port, {"Content-Type": "application/json",
                                           SECRET_HEADER: SECRET}))
        highest = max(highest, rss_mib(process.pid))
        async with httpx.AsyncClient() as client:  # still alive and serving
            assert (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    finally:
        code = await stop(process)
    print(f"webhook RSS: idle {idle:.1f} MiB, highest {highest:.1f} MiB; "
          f"bytes sent before the cut-off: {sent}")
    assert code == 0, log_of(process)
    assert highest - idle <= 20, (idle, highest)
    assert all(count < HUGE for count in sent)  # every post was cut off early
    assert SECRET not in log_of(process)


async def test_a_webhook_port_in_use_is_one_clear_error(runner, webhook):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", webhook.port))
        taken.listen()
        where = f"cannot listen for the webhook on 127.0.0.1:{webhook.port}"
        with pytest.raises(HealthServerError, match=where):
            async with runner.running(webhook=webhook):
                pass
