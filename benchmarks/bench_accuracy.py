"""Accuracy against peers on the dev set, and the cost per message of each.

Three classifiers, each turned into a ``Classification`` (route + top intent) and scored by
``bot.evaluate.evaluate``, i.e. exactly the definitions of ../shared/eval/README.md
(overdose recall, crisis recall, false-alarm rate, intent accuracy, out-of-scope handling):

- ``ours``: ``Core.classify`` (normalise, safety check, matcher).
- ``keywords``: plain keyword matching with the ``keywords`` lists of ``intents/*.yaml``: the
  message lowercased; a keyword counts when it occurs as a whole word or phrase (a bare
  substring would find "od" in "good"); any ``overdose`` keyword -> route ``overdose``, else any
  ``suicide`` keyword -> ``crisis``, else the first intent (content order) with a keyword ->
  ``answer``, else ``fallback``.
- ``rapidfuzz``: ``rapidfuzz.process.extractOne(message, all example phrases)`` with default
  settings (scorer ``WRatio``, no processor, so no lowercasing, no score cutoff): the owner of
  the best example is the answer; an example of ``overdose`` / ``suicide`` routes ``overdose``
  / ``crisis``. Without a cutoff it always answers, so it never routes ``fallback``.

Cost: every message timed (wall ``perf_counter_ns`` and thread CPU ``thread_time_ns``) over
several passes after one warm-up pass.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from benchlib import DEV_SET, cli, load_dev, loadavg, summary, write_result
from rapidfuzz import process

from bot.content import SAFETY_INTENTS
from bot.core import Classification, Core
from bot.evaluate import evaluate, report_json
from bot.understand.matcher import parent_of

PASSES = 5
QUICK_PASSES = 1
NS_TO_MS = 1e-6


class KeywordClassifier:
    def __init__(self, core: Core):
        self.content = core.content  # evaluate() reads the known intent ids from it

        def pattern(keywords: list[str]) -> re.Pattern[str] | None:
            words = [re.escape(k.lower()) for k in keywords if k.strip()]
            return re.compile(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)") if words else None

        self.safety: list[tuple[str, re.Pattern[str]]] = []
        self.intents: list[tuple[str, re.Pattern[str]]] = []
        for iid, intent in core.content.intents.items():
            compiled = pattern(intent.keywords)
            if compiled is None:
                continue
            parent = parent_of(iid, SAFETY_INTENTS)
            if parent in SAFETY_INTENTS:
                self.safety.append((parent, compiled))
            else:
                self.intents.append((iid, compiled))
        self.safety.sort(key=lambda item: SAFETY_INTENTS.index(item[0]))  # overdose first

    def classify(self, text: str) -> Classification:
        lowered = text.lower()
        for parent, compiled in self.safety:
            if compiled.search(lowered):
                route = "overdose" if parent == "overdose" else "crisis"
                return Classification(route, parent, 100.0, ())
        for iid, compiled in self.intents:
            if compiled.search(lowered):
                return Classification("answer", iid, 100.0, ())
        return Classification("fallback", None, 0.0, ())


class RapidfuzzClassifier:
    def __init__(self, core: Core):
        self.content = core.content
        self.choices: list[str] = []
        self.owners: list[str] = []
        for iid, intent in core.content.intents.items():
            for example in intent.examples:
                self.choices.append(example)
                self.owners.append(iid)

    def classify(self, text: str) -> Classification:
        best = process.extractOne(text, self.choices)
        if best is None:
            return Classification("fallback", None, 0.0, ())
        _, score, index = best
        iid = self.owners[index]
        parent = parent_of(iid, SAFETY_INTENTS)
        route = {"overdose": "overdose", "suicide": "crisis"}.get(parent, "answer")
        return Classification(route, parent if route != "answer" else iid, float(score), ())


def cost(classify: Callable[[str], Any], texts: list[str], passes: int) -> dict[str, Any]:
    for text in texts:
        classify(text)
    wall, cpu = [], []
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for _ in range(passes):
        for text in texts:
            w0, c0 = clock(), cpu_clock()
            classify(text)
            c1, w1 = cpu_clock(), clock()
            wall.append(w1 - w0)
            cpu.append(c1 - c0)
    return {"wall_ms": summary(wall, NS_TO_MS), "cpu_ms": summary(cpu, NS_TO_MS)}


def scores(classifier: Any) -> dict[str, Any]:
    report = report_json(evaluate(classifier, DEV_SET))
    keep = ("overdose_recall", "crisis_recall", "false_alarms", "intent_accuracy", "out_of_scope")
    out: dict[str, Any] = {}
    for key in keep:
        metric = report[key]
        out[key] = {
            "rate": round(metric["rate"], 4),
            "correct": metric["correct"],
            "total": metric["total"],
        }
        if key in ("overdose_recall", "crisis_recall"):
            out[key]["misses"] = metric["misses"]
    alarms = out["false_alarms"]
    out["false_alarm_rate"] = {
        "rate": round(1 - alarms["rate"], 4),
        "errors": alarms["total"] - alarms["correct"],
        "total": alarms["total"],
    }
    out["answered"], out["clarified"] = report["answered"], report["clarified"]
    return out


def main() -> None:
    args = cli(__doc__.splitlines()[0]).parse_args()
    passes = QUICK_PASSES if args.quick else PASSES
    texts = [row["text"] for row in load_dev()]
    core = Core.load()
    classifiers = {
        "ours": core,
        "keywords": KeywordClassifier(core),
        "rapidfuzz": RapidfuzzClassifier(core),
    }
    result: dict[str, Any] = {"messages": len(texts), "passes": passes, "classifiers": {}}
    for name, classifier in classifiers.items():
        entry = {**scores(classifier), **cost(classifier.classify, texts, passes)}
        result["classifiers"][name] = entry
        print(
            f"{name}: overdose recall {entry['overdose_recall']['rate']:.1%}, crisis recall "
            f"{entry['crisis_recall']['rate']:.1%}, false alarms "
            f"{entry['false_alarm_rate']['rate']:.1%}, intent accuracy "
            f"{entry['intent_accuracy']['rate']:.1%}, out of scope "
            f"{entry['out_of_scope']['rate']:.1%}; cpu p50 {entry['cpu_ms']['p50']} p99 "
            f"{entry['cpu_ms']['p99']} ms",
            flush=True,
        )
    result["loadavg_end"] = loadavg()
    write_result(result, args.out)


if __name__ == "__main__":
    main()
