"""``recovery-bot run --webhook-url ...`` as a real process, for tests that need a real kill or
the process's own memory (RSS from /proc)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def start_webhook_bot(
    *,
    token: str,
    base_url: str,
    secret: str,
    state_dir: Path,
    port: int,
    database_url: str | None = None,
    path: str = "hook",
) -> asyncio.subprocess.Process:
    """The bot in webhook mode on 127.0.0.1:``port``; its stderr (the log) goes to
    ``state_dir``/../bot-<port>.log (see :func:`log_of`)."""
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_BASE_URL": base_url,
        "TELEGRAM_WEBHOOK_SECRET": secret,
        "RECOVERY_BOT_STATE_DIR": str(state_dir),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("RECOVERY_BOT_DATABASE_URL", None)
    if database_url is not None:
        env["RECOVERY_BOT_DATABASE_URL"] = database_url
    log = log_path(state_dir, port)
    with log.open("ab") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run",
            "--webhook-url", f"http://127.0.0.1:{port}/{path}", "--port", str(port),
            cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    process.log = log  # type: ignore[attr-defined]
    return process


def log_path(state_dir: Path, port: int) -> Path:
    return state_dir.parent / f"bot-{port}.log"


def log_of(process: asyncio.subprocess.Process) -> str:
    return process.log.read_text(errors="replace")  # type: ignore[attr-defined]


async def wait_healthy(process: asyncio.subprocess.Process, port: int, timeout: float = 90) -> None:
    """Wait until the process answers /healthz on ``port``."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise AssertionError(f"the bot exited ({process.returncode}): {log_of(process)}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise AssertionError("the bot did not start")


def rss_mib(pid: int) -> float:
    """The process's resident set size in MiB (VmRSS from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc")


async def stop(process: asyncio.subprocess.Process, *, kill: bool = False) -> int:
    """Stop the process (SIGTERM, or SIGKILL with ``kill``); its exit code."""
    if process.returncode is None:
        if kill:
            process.kill()
        else:
            process.terminate()
    try:
        return await asyncio.wait_for(process.wait(), 30)
    except TimeoutError:
        process.kill()
        return await process.wait()
