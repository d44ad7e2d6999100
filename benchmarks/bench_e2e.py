"""End to end: the real application against the fake Bot API, next to a minimal PTB echo bot.

This process runs the fake Bot API server of the tests (``tests/support/fake_bot_api.py``,
imported, on 127.0.0.1) with a subclass that timestamps every update when it is queued for
``getUpdates``; the fake already timestamps every request it receives (``ApiCall.at``, the same
``time.monotonic`` clock). The bot under test runs in its own process (``e2e_bot.py``), so the
fake server's work (HTML checks of every message) never runs on the bot's event loop; the
machine's two cores hold one process each.

Load: 64 private chats each send one message at the same instant (one burst, all queued in the
same event-loop tick); the next burst starts 1 s after the previous one was fully handled
(every update's handlers finished), so each burst meets an idle bot. One unmeasured warm-up
burst, then 5 measured bursts: 320 updates, the 302 dev-set messages in a fixed shuffled
order (the first 18 again at the end); ~20% are overdose messages. Every chat is new (no
country set), as for a first-time user.

Per update: *first reply* = the first ``sendMessage`` request to that chat after the update
was queued, minus the time it was queued. *Updates/s* = updates / the summed burst durations
(queued -> last update of the burst handled). *Bot CPU ms per update* = the bot process's user
+ system CPU time over the measured bursts / updates (what the operator pays for; unaffected by
other processes on the machine). For every overdose message the first request the bot makes
for that chat must be the ``sendMessage`` of the overdose reply's first message. The bot
process also counts the ``import sniffio`` that reach the import system (see e2e_bot.py):
~0 per update now that sniffio is a dependency, ~10 failed imports per update without it.

Floors: ``echo`` (the plain PTB echo bot: the targets are set against it) and ``echo_limited``
(the same echo bot with our rate limiter, i.e. Telegram's 30 messages/s broadcast limit, a
like-for-like floor). ``recovery+no_overall_limit`` (experiments.py) is our bot without the
shared bucket. Runs alternate (echo, recovery, echo_limited, echo, ...) so that drifting
background load hits all alike; figures of one kind are pooled over its runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sys
import tempfile
import time
import timeit
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchlib import (
    BENCH,
    REPO,
    cli,
    load_dev,
    loadavg,
    proc_cpu_seconds,
    proc_rss_kb,
    summary,
    write_result,
)

from bot.core import Core
from tests.support.fake_bot_api import FakeBotApi

TOKEN = "123456789:AAHbenchTOKENbenchTOKENbenchTOKEN12"  # same as e2e_bot.TOKEN
CHATS = 64
ROUNDS = 5
PAUSE_S = 1.0
START_TIMEOUT_S = 60.0
ROUND_TIMEOUT_S = 60.0
FIRST_CHAT = 7_000_000
SEC_TO_MS = 1e3

# (kind, experiments): the plan of one full run, in order.
PLAN: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("echo", ()),
    ("recovery", ()),
    ("echo_limited", ()),
    ("echo", ()),
    ("recovery", ()),
    ("echo_limited", ()),
    ("recovery", ("no_overall_limit",)),
)
QUICK_PLAN: tuple[tuple[str, tuple[str, ...]], ...] = (("echo", ()), ("recovery", ()))


class TimedFakeBotApi(FakeBotApi):
    """The tests' fake Bot API, remembering when each update was queued and for which chat."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.offered: dict[int, tuple[float, int]] = {}

    def push(self, kind: str, payload: dict[str, Any]) -> int:
        at = time.monotonic()
        update_id = super().push(kind, payload)
        self.offered[update_id] = (at, payload["chat"]["id"])
        return update_id


class BotProcess:
    """``e2e_bot.py`` as a child process; reads its ``ready`` / ``done <id>`` lines."""

    def __init__(
        self, kind: str, experiments: tuple[str, ...], base_url: str, state: Path, log: Path
    ) -> None:
        self.args = [
            sys.executable,
            str(BENCH / "e2e_bot.py"),
            kind,
            "--base-url",
            base_url,
            "--state-dir",
            str(state),
        ]
        for name in experiments:
            self.args += ["--experiment", name]
        self.log = log
        self.done_at: dict[int, float] = {}
        self.sniffio_lookups = 0
        self.ready = asyncio.Event()
        self._changed = asyncio.Event()
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self) -> None:
        with self.log.open("wb") as err:
            self.proc = await asyncio.create_subprocess_exec(
                *self.args, stdout=asyncio.subprocess.PIPE, stderr=err, cwd=REPO
            )
        self._reader = asyncio.create_task(self._read())
        try:
            await asyncio.wait_for(self.ready.wait(), START_TIMEOUT_S)
        except TimeoutError:
            await self.stop()
            raise RuntimeError(f"bot did not start: {self.log.read_text()[-2000:]}") from None

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for line in self.proc.stdout:
            parts = line.split()
            if parts[:1] == [b"done"]:
                self.done_at[int(parts[1])] = time.monotonic()
            elif parts[:1] == [b"ready"]:
                self.ready.set()
            elif parts[:1] == [b"sniffio_lookups"]:
                self.sniffio_lookups = int(parts[1])
            self._changed.set()

    async def wait_done(self, update_ids: list[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not all(u in self.done_at for u in update_ids):
            self._changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc is None or self.proc.returncode is not None:
                missing = sum(u not in self.done_at for u in update_ids)
                raise RuntimeError(
                    f"{missing} updates not handled in {timeout} s: {self.log.read_text()[-2000:]}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        try:
            await asyncio.wait_for(self._reader, 5)  # the last lines (sniffio_lookups)
        except TimeoutError:
            self._reader.cancel()


def workload(texts: list[str]) -> tuple[list[str], list[list[str]]]:
    order = list(range(len(texts)))
    random.Random(20261125).shuffle(order)
    shuffled = [texts[i] for i in order]
    warmup = shuffled[-CHATS:]
    stream = (shuffled * (CHATS * ROUNDS // len(shuffled) + 1))[: CHATS * ROUNDS]
    return warmup, [stream[r * CHATS : (r + 1) * CHATS] for r in range(ROUNDS)]


async def run_once(
    kind: str,
    experiments: tuple[str, ...],
    warmup: list[str],
    rounds: list[list[str]],
    expected: dict[str, Any],
    tmp: Path,
) -> dict[str, Any]:
    chats = [FIRST_CHAT + c for c in range(CHATS)]
    async with TimedFakeBotApi(TOKEN) as api:
        state = Path(tempfile.mkdtemp(dir=tmp))
        bot = BotProcess(kind, experiments, api.base_url, state, state / "stderr.log")
        t_spawn = time.monotonic()
        await bot.start()
        start_s = time.monotonic() - t_spawn
        try:
            ids = [api.text(chat, text) for chat, text in zip(chats, warmup, strict=True)]
            await bot.wait_done(ids, ROUND_TIMEOUT_S)
            await asyncio.sleep(PAUSE_S)
            calls_before = len(api.calls)
            cpu0, own0 = proc_cpu_seconds(bot.pid), time.process_time()
            bursts = []
            for texts in rounds:
                t0 = time.monotonic()
                ids = [api.text(chat, text) for chat, text in zip(chats, texts, strict=True)]
                await bot.wait_done(ids, ROUND_TIMEOUT_S)
                bursts.append((ids, texts, t0, max(bot.done_at[u] for u in ids)))
                await asyncio.sleep(PAUSE_S)
            cpu1, own1 = proc_cpu_seconds(bot.pid), time.process_time()
            _, peak_kb = proc_rss_kb(bot.pid)
        finally:
            await bot.stop()
        calls = api.calls[calls_before:]
        offered = dict(api.offered)

    by_chat: dict[int, list[Any]] = defaultdict(list)
    for call in calls:
        chat = call.params.get("chat_id")
        if isinstance(chat, int):
            by_chat[chat].append(call)
    first_reply, od_first_reply, od_checks, busy = [], [], [], 0.0
    for ids, texts, t0, t1 in bursts:
        busy += t1 - t0
        for update_id, text in zip(ids, texts, strict=True):
            at, chat = offered[update_id]
            after = [c for c in by_chat[chat] if c.at >= at]
            sends = [c for c in after if c.method == "sendMessage"]
            latency = (sends[0].at - at) if sends else float("nan")
            first_reply.append(latency)
            if expected["route"][text] == "overdose":
                od_first_reply.append(latency)
                if kind == "recovery":
                    first = after[0] if after else None
                    od_checks.append(
                        first is not None
                        and first.method == "sendMessage"
                        and first.text == expected["first_message"][text]
                    )
    updates = CHATS * len(bursts)
    sends = [c for c in calls if c.method == "sendMessage"]
    return {
        "kind": kind,
        "experiments": list(experiments),
        "start_s": round(start_s, 3),
        "updates": updates,
        "messages_sent": len(sends),
        "failed_requests": sum(not c.ok for c in calls if c.method != "getUpdates"),
        "busy_s": round(busy, 3),
        "updates_per_s": round(updates / busy, 1),
        "burst_s": [round(t1 - t0, 3) for _, _, t0, t1 in bursts],
        "bot_cpu_ms_per_update": round((cpu1 - cpu0) / updates * SEC_TO_MS, 3),
        "fake_server_cpu_ms_per_update": round((own1 - own0) / updates * SEC_TO_MS, 3),
        "bot_peak_rss_mb": round(peak_kb / 1024, 1),
        "first_reply_s": first_reply,
        "overdose_first_reply_s": od_first_reply,
        "overdose_first_request_ok": [sum(od_checks), len(od_checks)] if od_checks else None,
        "sniffio_lookups_per_update": round(bot.sniffio_lookups / (updates + CHATS), 1),
    }


def pooled(runs: list[dict[str, Any]]) -> dict[str, Any]:
    updates = sum(r["updates"] for r in runs)
    busy = sum(r["busy_s"] for r in runs)
    od_ok = [r["overdose_first_request_ok"] for r in runs if r["overdose_first_request_ok"]]
    return {
        "runs": len(runs),
        "updates": updates,
        "updates_per_s": round(updates / busy, 1),
        "updates_per_s_by_run": [r["updates_per_s"] for r in runs],
        "first_reply_ms": summary([x for r in runs for x in r["first_reply_s"]], SEC_TO_MS),
        "first_reply_p99_ms_by_run": [summary(r["first_reply_s"], SEC_TO_MS)["p99"] for r in runs],
        "overdose_first_reply_ms": summary(
            [x for r in runs for x in r["overdose_first_reply_s"]], SEC_TO_MS
        ),
        "bot_cpu_ms_per_update": round(
            sum(r["bot_cpu_ms_per_update"] * r["updates"] for r in runs) / updates, 3
        ),
        "fake_server_cpu_ms_per_update": round(
            sum(r["fake_server_cpu_ms_per_update"] * r["updates"] for r in runs) / updates, 3
        ),
        "messages_sent": sum(r["messages_sent"] for r in runs),
        "failed_requests": sum(r["failed_requests"] for r in runs),
        "bot_peak_rss_mb": max(r["bot_peak_rss_mb"] for r in runs),
        "start_s_by_run": [r["start_s"] for r in runs],
        "overdose_first_request_ok": (
            [sum(x[0] for x in od_ok), sum(x[1] for x in od_ok)] if od_ok else None
        ),
        "sniffio_lookups_per_update": runs[0]["sniffio_lookups_per_update"],
    }


def ratios(ours: dict[str, Any], floor: dict[str, Any]) -> dict[str, float]:
    def r(a: float, b: float) -> float:
        return round(a / b, 2) if b else float("nan")

    return {
        "first_reply_p50": r(ours["first_reply_ms"]["p50"], floor["first_reply_ms"]["p50"]),
        "first_reply_p99": r(ours["first_reply_ms"]["p99"], floor["first_reply_ms"]["p99"]),
        "overdose_first_reply_p99": r(
            ours["overdose_first_reply_ms"]["p99"], floor["overdose_first_reply_ms"]["p99"]
        ),
        "updates_per_s": r(floor["updates_per_s"], ours["updates_per_s"]),  # >1: we are slower
        "bot_cpu_per_update": r(ours["bot_cpu_ms_per_update"], floor["bot_cpu_ms_per_update"]),
    }


def failed_import_us() -> float | None:
    """What one failed ``import sniffio`` costs in this interpreter (None if it is installed)."""
    try:
        import sniffio  # noqa: F401
    except ImportError:
        pass
    else:
        return None

    def attempt() -> None:
        try:  # noqa: SIM105 - the plain statement is what httpcore runs
            import sniffio  # noqa: F401
        except ImportError:
            pass

    runs = 2000
    return round(min(timeit.repeat(attempt, number=runs, repeat=3)) / runs * 1e6, 1)


async def amain(
    quick: bool, plan: tuple[tuple[str, tuple[str, ...]], ...] | None = None
) -> dict[str, Any]:
    rows = load_dev()
    texts = [row["text"] for row in rows]
    core = Core.load()
    expected = {"route": {}, "first_message": {}}
    for text in texts:
        reply = core.handle(text, None)
        expected["route"][text] = reply.route
        expected["first_message"][text] = reply.messages[0]
    warmup, rounds = workload(texts)
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="recovery-bench-e2e-") as tmp:
        for kind, experiments in plan or (QUICK_PLAN if quick else PLAN):
            name = "+".join((kind, *experiments))
            result = await run_once(kind, experiments, warmup, rounds, expected, Path(tmp))
            runs[name].append(result)
            s = summary(result["first_reply_s"], SEC_TO_MS)
            print(
                f"{name}: {result['updates_per_s']} updates/s, first reply p50 {s['p50']} "
                f"p99 {s['p99']} ms, bot CPU {result['bot_cpu_ms_per_update']} ms/update, "
                f"overdose first-request check {result['overdose_first_request_ok']}",
                flush=True,
            )
    variants = {name: pooled(rs) for name, rs in runs.items()}
    for floor_name in ("echo", "echo_limited"):
        floor = variants.get(floor_name)
        for name, v in variants.items():
            if floor is not None and name != floor_name and not name.startswith("echo"):
                v[f"vs_{floor_name}"] = ratios(v, floor)
    if "echo" in variants and "echo_limited" in variants:
        variants["echo_limited"]["vs_echo"] = ratios(variants["echo_limited"], variants["echo"])
    return {
        "failed_import_sniffio_us": failed_import_us(),
        "load": {
            "chats": CHATS,
            "bursts": ROUNDS,
            "pause_s": PAUSE_S,
            "updates_per_run": CHATS * ROUNDS,
            "overdose_updates_per_run": sum(
                expected["route"][t] == "overdose" for r in rounds for t in r
            ),
        },
        "variants": variants,
        "loadavg_end": loadavg(),
    }


def main() -> None:
    parser = cli(__doc__.splitlines()[0])
    parser.add_argument(
        "--plan",
        help="comma-separated runs instead of the default plan, "
        "e.g. 'recovery,echo' or 'recovery+no_overall_limit' (profiling: set "
        "BENCH_PROFILE=/path/file.prof to cProfile the bot process)",
    )
    args = parser.parse_args()
    plan = None
    if args.plan:
        plan = tuple(
            (item.split("+")[0], tuple(item.split("+")[1:])) for item in args.plan.split(",")
        )
    write_result(asyncio.run(amain(args.quick, plan)), args.out)


if __name__ == "__main__":
    main()
