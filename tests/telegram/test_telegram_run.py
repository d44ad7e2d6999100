"""``recovery-bot run`` as a real process: starts from the environment, stops cleanly on signals."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from conftest import TOKEN

ROOT = Path(__file__).resolve().parents[2]


async def start_bot_process(api, state_dir: Path) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": api.base_url,
        "RECOVERY_BOT_STATE_DIR": str(state_dir),
    }
    env.pop("TELEGRAM_WEBHOOK_SECRET", None)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_run_polls_registers_commands_and_stops_on_signal(api, core, tmp_path, signum):
    process = await start_bot_process(api, tmp_path / "state")
    try:
        await api.wait_for_calls("setMyCommands", timeout=30)
        await api.wait_for_calls("getUpdates", timeout=30)
        answer = core.handle("how long does withdrawal last", None)
        api.text(7, "how long does withdrawal last")
        await api.wait_for_sent(7, len(answer.messages), timeout=30)
        process.send_signal(signum)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    output = (stdout + stderr).decode()
    assert TOKEN.split(":")[1] not in output
    assert "how long does withdrawal last" not in output
    assert (tmp_path / "state").is_dir()
