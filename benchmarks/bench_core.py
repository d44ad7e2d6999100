"""Core cost per message: ``Core.handle(text, None)`` over the dev set, in milliseconds.

For each content size (shipped, and the example phrases multiplied x10 and x100 by
``synth_content.py``):

- ``load_s``: ``Core.load(folder)`` wall time (parse, validate, index);
- ``cold``: the first pass over the dev set on a freshly loaded Core, plus passes after
  ``core.normalise.correct.cache_clear()`` (the only lru cache on the message path);
- ``warm``: further passes with the caches filled;
- ``stages``: warm cost of normalise / safety check / matcher separately (the matcher only
  for messages the safety check lets through, as in ``Core.classify``);
- ``overdose``: warm cost of the messages ``Core.handle`` routes ``overdose``;
- ``accuracy``: the dev-set metrics (``bot.evaluate``) with this content (safety recall must
  not drop as typo'd examples are added: the normaliser's near-miss guard).

Every message is timed individually with two clocks, and the passes are pooled:
``time.perf_counter_ns`` (wall: what a user waits, inflated when other processes share the
cores) and ``time.thread_time_ns`` (CPU time of this thread: the work itself, what a dedicated
core would show). The garbage collector stays on, as in production.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import DEV_SET, REPO, cli, load_dev, loadavg, proc_rss_kb, summary, write_result
from synth_content import build

from bot.core import Core
from bot.evaluate import evaluate

NS_TO_MS = 1e-6
# (factor, cold passes, warm passes)
PLAN = ((1, 3, 10), (10, 2, 4), (100, 1, 1))
QUICK_PLAN = ((1, 1, 2), (10, 1, 1))


def one_pass(core: Core, texts: list[str], wall: list[int], cpu: list[int]) -> list[str]:
    """Time every message with the wall clock and with this thread's CPU clock; return the
    routes."""
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    handle = core.handle
    routes = []
    for text in texts:
        w0, c0 = clock(), cpu_clock()
        reply = handle(text, None)
        c1, w1 = cpu_clock(), clock()
        wall.append(w1 - w0)
        cpu.append(c1 - c0)
        routes.append(reply.route)
    return routes


def stages(core: Core, texts: list[str]) -> dict[str, Any]:
    clock = time.thread_time_ns  # CPU time: the split is about work, not scheduling
    norm, safety, match = [], [], []
    for text in texts:
        t0 = clock()
        message = core.normalise(text)
        t1 = clock()
        norm.append(t1 - t0)
        if not message.tokens:
            continue
        result = core.safety.check(message)
        t2 = clock()
        safety.append(t2 - t1)
        if result.route is None:
            core.matcher.match(message)
            match.append(clock() - t2)
    return {
        "normalise": summary(norm, NS_TO_MS),
        "safety": summary(safety, NS_TO_MS),
        "match": summary(match, NS_TO_MS),
    }


def accuracy(core: Core) -> dict[str, str]:
    """The dev-set metrics (bot.evaluate) as "correct/total" strings."""
    r = evaluate(core, DEV_SET)
    alarms = r.false_alarm.total - r.false_alarm.correct
    return {
        "overdose_recall": f"{r.overdose.correct}/{r.overdose.total}",
        "crisis_recall": f"{r.crisis.correct}/{r.crisis.total}",
        "false_alarms": f"{alarms}/{r.false_alarm.total}",
        "intent_accuracy": f"{r.intent.correct}/{r.intent.total}",
        "out_of_scope": f"{r.out_of_scope.correct}/{r.out_of_scope.total}",
    }


def measure(
    folder: Path, factor: int, cold_passes: int, warm_passes: int, texts: list[str]
) -> dict[str, Any]:
    t0 = time.perf_counter()
    core = Core.load(folder)
    load_s = time.perf_counter() - t0
    examples = sum(len(i.examples) for i in core.content.intents.values())
    cold: list[int] = []
    cold_cpu: list[int] = []
    for n in range(cold_passes):
        if n:
            core.normalise.correct.cache_clear()
        one_pass(core, texts, cold, cold_cpu)
    warm: list[int] = []
    warm_cpu: list[int] = []
    for _ in range(warm_passes):
        routes = one_pass(core, texts, warm, warm_cpu)
    overdose_idx = [i for i, route in enumerate(routes) if route == "overdose"]
    od = [warm[p * len(texts) + i] for p in range(warm_passes) for i in overdose_idx]
    od_cpu = [warm_cpu[p * len(texts) + i] for p in range(warm_passes) for i in overdose_idx]
    rss, _ = proc_rss_kb(os.getpid())
    result = {
        "factor": factor,
        "examples": examples,
        "matcher_examples": len(getattr(core.matcher, "_texts", ())),
        "load_s": round(load_s, 3),
        "rss_mb_after": round(rss / 1024, 1),
        "passes": {"cold": cold_passes, "warm": warm_passes},
        "cold": summary(cold, NS_TO_MS),
        "warm": summary(warm, NS_TO_MS),
        "cold_cpu": summary(cold_cpu, NS_TO_MS),
        "warm_cpu": summary(warm_cpu, NS_TO_MS),
        "overdose_warm": summary(od, NS_TO_MS),
        "overdose_warm_cpu": summary(od_cpu, NS_TO_MS),
        "stages": stages(core, texts),
        "accuracy": accuracy(core),
    }
    del core
    return result


def main() -> None:
    args = cli(__doc__.splitlines()[0]).parse_args()
    texts = [row["text"] for row in load_dev()]
    results = []
    for factor, cold, warm in QUICK_PLAN if args.quick else PLAN:
        if factor == 1:
            results.append(measure(REPO, factor, cold, warm, texts))
        else:
            with tempfile.TemporaryDirectory(prefix=f"recovery-bench-x{factor}-") as tmp:
                build(factor, Path(tmp))
                results.append(measure(Path(tmp), factor, cold, warm, texts))
        r = results[-1]
        print(
            f"x{factor}: {r['examples']} examples, load {r['load_s']} s, "
            f"warm wall p50 {r['warm']['p50']} p99 {r['warm']['p99']} max {r['warm']['max']}"
            f" ms, warm cpu p99 {r['warm_cpu']['p99']} ms, cold p99 {r['cold']['p99']} ms",
            flush=True,
        )
    write_result({"messages": len(texts), "scales": results, "loadavg_end": loadavg()}, args.out)


if __name__ == "__main__":
    main()
