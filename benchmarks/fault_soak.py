"""Fault soak: the real ``python -m bot run`` against the fake Bot API, through outages, 429s,
slow answers, ``kill -9`` and restarts. Counts, per scenario, the messages the bot should send
and how many were delivered, duplicated or lost.

    python benchmarks/fault_soak.py [--out FILE] [--quick] [--only NAME ...]

Each scenario starts a fresh state folder and a fresh fake Bot API (tests/support/fake_bot_api.py)
in this process, and runs the bot as a subprocess with the production settings (no test
shortcuts: 15 s read timeout, the default outbox policy). Every update comes from its own chat,
so what each chat should receive is known exactly: the reply the conversation gives a new user
(``Conversation.handle`` with a fresh state, computed in this process from the same content).

- *sent*: messages the bot should have sent (the expected replies' messages);
- *delivered*: expected messages that reached their chat at least once;
- *duplicated*: extra copies that reached a chat;
- *lost*: expected messages that never arrived (after the scenario's settle time);
- *emergency first message*: seconds from the end of the fault to the last overdose chat
  having its first message (the emergency number), when the scenario has a fault.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib import REPO, machine, write_result

from bot.conversation import Conversation, UserState
from bot.core import Core
from tests.support.fake_bot_api import FakeBotApi

TOKEN = "123456789:AAHsoakTOKENsoakTOKENsoakTOKENsoak12"
OVERDOSE = "my friend took heroin and won't wake up"
QUESTIONS = ("how long does withdrawal last", "what is naloxone", "can I mix alcohol and xanax")
START_TIMEOUT = 60.0
SETTLE_TIMEOUT = 60.0  # after the last fault, how long to wait for every message


@dataclass
class Soak:
    api: FakeBotApi
    state: Path
    log: Path
    expected: dict[int, list[str]] = field(default_factory=dict)
    urgent_chats: set[int] = field(default_factory=set)
    proc: asyncio.subprocess.Process | None = None
    next_chat: int = 10_000
    fault_ended: float | None = None
    restarts: int = 0

    async def start_bot(self) -> None:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": self.api.base_url,
            "RECOVERY_BOT_STATE_DIR": str(self.state),
            "PYTHONPATH": str(REPO),
        }
        env.pop("RECOVERY_BOT_DATABASE_URL", None)
        before = len(self.api.calls_of("getUpdates"))
        with self.log.open("ab") as err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=REPO, env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=err)
        await self.api.wait_for(lambda a: len(a.calls_of("getUpdates")) > before, START_TIMEOUT)

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 60)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()

    async def restart(self, how: str) -> None:
        await (self.kill() if how == "kill" else self.stop())
        self.restarts += 1
        await self.start_bot()

    def push(self, conversation: Conversation, count: int, overdose_every: int = 4) -> int:
        last = 0
        for n in range(count):
            chat = self.next_chat
            self.next_chat += 1
            text = OVERDOSE if n % overdose_every == 0 else QUESTIONS[n % len(QUESTIONS)]
            outcome = conversation.handle(conversation.text_event(text),
                                          UserState(client_language="en"), 0.0)
            self.expected[chat] = [m for reply in outcome.replies for m in reply.messages]
            if outcome.replies and outcome.replies[0].route in ("overdose", "crisis"):
                self.urgent_chats.add(chat)
            last = self.api.text(chat, text)
        return last

    def all_delivered(self, api: FakeBotApi) -> bool:
        for chat, want in self.expected.items():
            got = Counter(c.text for c in api.sent_to(chat))
            if any(got[m] < n for m, n in Counter(want).items()):
                return False
        return True

    def emergencies_answered(self, api: FakeBotApi) -> bool:
        return all(
            any(c.text == self.expected[chat][0] for c in api.sent_to(chat))
            for chat in self.urgent_chats
        )

    def count(self) -> dict[str, Any]:
        sent = delivered = duplicated = lost = 0
        for chat, want in self.expected.items():
            got = Counter(c.text for c in self.api.sent_to(chat))
            for message, n in Counter(want).items():
                sent += n
                delivered += min(n, got[message])
                lost += max(0, n - got[message])
                duplicated += max(0, got[message] - n)
            duplicated += sum(n for m, n in got.items() if m not in want)
        return {"updates": len(self.expected), "sent": sent, "delivered": delivered,
                "duplicated": duplicated, "lost": lost}


async def settle(soak: Soak, timeout: float = SETTLE_TIMEOUT) -> dict[str, Any]:
    started = time.monotonic()
    emergency_at = None
    deadline = started + timeout
    while time.monotonic() < deadline:
        if emergency_at is None and soak.emergencies_answered(soak.api):
            emergency_at = time.monotonic()
        if soak.all_delivered(soak.api):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(3.0)  # late duplicates show up here
    if emergency_at is None and soak.emergencies_answered(soak.api):
        emergency_at = time.monotonic()
    result = soak.count()
    if soak.fault_ended is not None and emergency_at is not None:
        result["emergency_first_s"] = round(max(0.0, emergency_at - soak.fault_ended), 2)
    result["restarts"] = soak.restarts
    return result


# -- scenarios ------------------------------------------------------------------------------


async def no_faults(soak: Soak, conv: Conversation, n: int) -> None:
    soak.push(conv, n)


async def outage_5xx(soak: Soak, conv: Conversation, n: int, seconds: float = 60.0) -> None:
    await soak.api.start_outage("5xx", methods=("sendMessage",))
    last = soak.push(conv, n)
    await soak.api.wait_until_fetched(last, 30)
    await soak.api.start_outage("5xx")  # now every method
    await asyncio.sleep(seconds)
    await soak.api.end_outage()
    soak.fault_ended = time.monotonic()


async def outage_refused(soak: Soak, conv: Conversation, n: int, seconds: float = 5.0) -> None:
    await soak.api.start_outage("5xx", methods=("sendMessage",))
    last = soak.push(conv, n)
    await soak.api.wait_until_fetched(last, 30)
    await soak.api.start_outage("refuse")
    await asyncio.sleep(seconds)
    await soak.api.end_outage()
    soak.fault_ended = time.monotonic()


async def storm_429(soak: Soak, conv: Conversation, n: int) -> None:
    soak.api.fail_next("sendMessage", 429, times=n, retry_after=2)
    soak.push(conv, n)
    await soak.api.wait_for(lambda a: a.pending_failures("sendMessage") == 0, 120)
    soak.fault_ended = time.monotonic()


async def held_answers(soak: Soak, conv: Conversation, n: int) -> None:
    soak.api.answer_late(17.0)  # past the 15 s read timeout
    soak.push(conv, n)
    await asyncio.sleep(40.0)
    soak.api.answer_late(0)
    soak.fault_ended = time.monotonic()


async def kill_mid_stream(soak: Soak, conv: Conversation, n: int) -> None:
    soak.push(conv, n)
    await soak.api.wait_for(lambda a: len(a.calls_of("sendMessage", ok_only=True)) >= n // 4, 60)
    await soak.restart("kill")
    soak.fault_ended = time.monotonic()


async def kill_in_outage(soak: Soak, conv: Conversation, n: int) -> None:
    await soak.api.start_outage("5xx", methods=("sendMessage",))
    last = soak.push(conv, n)
    await soak.api.wait_until_fetched(last, 30)
    await asyncio.sleep(2.0)
    await soak.kill()
    await soak.api.end_outage()
    soak.restarts += 1
    await soak.start_bot()
    soak.fault_ended = time.monotonic()


async def sigterm_in_outage(soak: Soak, conv: Conversation, n: int) -> None:
    await soak.api.start_outage("5xx", methods=("sendMessage",))
    last = soak.push(conv, n)
    await soak.api.wait_until_fetched(last, 30)
    await asyncio.sleep(2.0)
    await soak.api.start_outage("5xx")  # Telegram entirely down while the bot stops
    await soak.stop()
    await soak.api.end_outage()
    soak.restarts += 1
    await soak.start_bot()
    soak.fault_ended = time.monotonic()


Scenario = Callable[[Soak, Conversation, int], Awaitable[None]]
SCENARIOS: dict[str, tuple[str, Scenario, int]] = {
    "no_faults": ("no faults", no_faults, 40),
    "5xx_60s": ("60 s of 502 from every method", outage_5xx, 40),
    "refused_5s": ("5 s of refused connections", outage_refused, 40),
    "429_storm": ("one 429 (retry after 2 s) per update", storm_429, 40),
    "held_answers": ("answers 17 s late (read timeout 15 s) for 40 s", held_answers, 12),
    "kill9_mid_stream": ("kill -9 with a quarter delivered, restart", kill_mid_stream, 40),
    "kill9_in_outage": ("sends failing, kill -9, restart once they work", kill_in_outage, 40),
    "sigterm_in_outage": ("Telegram down, SIGTERM, restart once it is back",
                          sigterm_in_outage, 200),
}


async def run_scenario(name: str, core: Core, quick: bool) -> dict[str, Any]:
    title, scenario, n = SCENARIOS[name]
    if quick:
        n = max(4, n // 4)
    conv = Conversation(core)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        async with FakeBotApi(TOKEN) as api:
            soak = Soak(api, Path(tmp) / "state", Path(tmp) / "bot.log")
            await soak.start_bot()
            started = time.monotonic()
            try:
                await scenario(soak, conv, n)
                result = await settle(soak)
            finally:
                await soak.stop()
            result["seconds"] = round(time.monotonic() - started, 1)
            if result["lost"] or result["duplicated"]:
                tail = soak.log.read_text(errors="replace").splitlines()[-5:]
                result["log_tail"] = tail
    return {"scenario": name, "what": title, **result}


async def amain(names: list[str], quick: bool) -> dict[str, Any]:
    core = Core.load()
    rows = []
    for name in names:
        print(f"fault soak: {name} ...", file=sys.stderr, flush=True)
        row = await run_scenario(name, core, quick)
        print(f"  {json.dumps({k: v for k, v in row.items() if k != 'log_tail'})}",
              file=sys.stderr, flush=True)
        rows.append(row)
    return {"benchmark": "fault_soak", "machine": machine(), "scenarios": rows}


def table(result: dict[str, Any]) -> str:
    lines = ["| scenario | updates | sent | delivered | duplicated | lost | emergency no. after "
             "the fault (s) | run (s) |", "|---|---|---|---|---|---|---|---|"]
    for row in result["scenarios"]:
        lines.append(
            f"| {row['what']} | {row['updates']} | {row['sent']} | {row['delivered']} | "
            f"{row['duplicated']} | {row['lost']} | {row.get('emergency_first_s', '-')} | "
            f"{row['seconds']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS))
    args = parser.parse_args()
    result = asyncio.run(amain(args.only or list(SCENARIOS), args.quick))
    write_result(result, args.out)
    print(table(result))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
