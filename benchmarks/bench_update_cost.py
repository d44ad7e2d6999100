"""Per-update core cost, one classification per update, and what each layer costs.

Before the conversation issue, a text update was normalised and safety-checked twice: once by
the update processor (to put emergencies first) and once more by the handler. Now the processor
classifies the update once and the handler reuses that classification. This script measures,
over the dev set (CPU time of this thread, so other load on the machine matters less):

- ``one_pass``: ``Conversation.text_event`` + ``Conversation.handle`` (what an update costs now);
- ``two_pass``: the same plus the second normalise + rules pass the handler used to make;
- ``stages``: normalise, rules, sentence encoder, safety heads, lexical matcher, semantic index;
- start-up (``Core.load``) wall and CPU time, and this process's peak RSS after it.

    .venv/bin/python benchmarks/bench_update_cost.py [--out results/update_cost.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

from benchlib import DEV_SET, load_dev

from bot.conversation import Conversation, UserState
from bot.core import Core

PASSES = 5


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(ns: list[int]) -> dict[str, float]:
    ms = [v / 1e6 for v in ns]
    return {"p50_ms": round(statistics.median(ms), 3), "p90_ms": round(pct(ms, 0.9), 3),
            "p99_ms": round(pct(ms, 0.99), 3), "mean_ms": round(statistics.fmean(ms), 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    w0, c0 = time.perf_counter(), time.process_time()
    core = Core.load()
    load = {"wall_s": round(time.perf_counter() - w0, 2),
            "cpu_s": round(time.process_time() - c0, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    conversation = Conversation(core)
    texts = [row["text"] for row in load_dev(DEV_SET)]
    clock = time.thread_time_ns
    one, two = [], []
    stages: dict[str, list[int]] = {k: [] for k in
                                    ("normalise", "rules", "encoder", "heads", "matcher",
                                     "semantic")}
    model, semantic = core.classifier.model, core.classifier.semantic
    assert model is not None and semantic is not None
    for _ in range(PASSES):
        for text in texts:
            t0 = clock()
            event = conversation.text_event(text)
            conversation.handle(event, UserState(), 0.0)
            t1 = clock()
            core.safety.check(core.normalise(text))  # the second pass the handler used to make
            t2 = clock()
            one.append(t1 - t0)
            two.append(t2 - t0)
            a = clock()
            message = core.normalise(text)
            b = clock()
            core.safety.check(message)
            c = clock()
            embedding = model.encoder.encode(text)
            d = clock()
            model.scores(text, embedding)
            e = clock()
            core.matcher.match(message)
            f = clock()
            semantic.scores(embedding)
            g = clock()
            for key, value in zip(stages, (b - a, c - b, d - c, e - d, f - e, g - f),
                                  strict=True):
                stages[key].append(value)
    result = {
        "messages": len(texts), "passes": PASSES, "start_up": load,
        "one_pass": summary(one), "two_pass": summary(two),
        "saved_mean_pct": round(100 * (1 - statistics.fmean(one) / statistics.fmean(two)), 1),
        "stages": {k: summary(v) for k, v in stages.items()},
        "peak_rss_mb_after": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
