"""Merge the per-benchmark JSON files into results/latest.json and write the README tables.

    python benchmarks/report.py RESULTS_DIR [--print-only]

reads ``core.json``, ``startup.json``, ``e2e.json``, ``accuracy.json`` and ``machine.json`` from
RESULTS_DIR, writes ``benchmarks/results/latest.json``, replaces the part of
``benchmarks/README.md`` between the ``results:start`` / ``results:end`` markers with the tables,
and prints the same markdown.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
LATEST = BENCH / "results" / "latest.json"
README = BENCH / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"

ACCURACY_KEYS = (
    "overdose_recall",
    "crisis_recall",
    "false_alarms",
    "intent_accuracy",
    "out_of_scope",
)
TARGETS = {
    "core_p99_x1_ms": 1.0,
    "core_p99_x100_ms": 5.0,
    "startup_s": 1.5,
    "rss_mb": 100.0,
    "e2e_ratio": 1.25,
}


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def pct(metric: dict[str, Any]) -> str:
    if "errors" in metric:
        return f"{metric['rate']:.1%} ({metric['errors']}/{metric['total']})"
    return f"{metric['rate']:.1%} ({metric['correct']}/{metric['total']})"


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def core_section(core: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    lines = ["### Core cost per message (`Core.handle`, ms)", ""]
    rows = []
    for s in core["scales"]:
        for label, wall, cpu in (
            ("warm", s["warm"], s["warm_cpu"]),
            ("cold", s["cold"], s["cold_cpu"]),
        ):
            rows.append(
                [
                    f"x{s['factor']}",
                    s["examples"],
                    label,
                    wall["n"],
                    wall["p50"],
                    wall["p99"],
                    wall["max"],
                    cpu["p50"],
                    cpu["p99"],
                    cpu["max"],
                ]
            )
    lines += table(
        [
            "content",
            "examples",
            "pass",
            "n",
            "wall p50",
            "wall p99",
            "wall max",
            "CPU p50",
            "CPU p99",
            "CPU max",
        ],
        rows,
    )
    lines += [
        "",
        "Where the time goes (warm, CPU ms per message; mean / p99), load cost, and "
        "dev-set accuracy with that content (overdose recall · crisis recall · false "
        "alarms · intent · out of scope):",
        "",
    ]
    rows = []
    for s in core["scales"]:
        st = s["stages"]
        rows.append(
            [
                f"x{s['factor']}",
                f"{st['normalise']['mean']} / {st['normalise']['p99']}",
                f"{st['safety']['mean']} / {st['safety']['p99']}",
                f"{st['match']['mean']} / {st['match']['p99']}",
                f"{s['overdose_warm_cpu']['p50']} / {s['overdose_warm_cpu']['p99']}",
                s["load_s"],
                s["rss_mb_after"],
                " · ".join(s["accuracy"][k] for k in ACCURACY_KEYS),
            ]
        )
    lines += table(
        [
            "content",
            "normalise",
            "safety check",
            "matcher",
            "overdose msgs (p50/p99)",
            "Core.load s",
            "RSS after load MB",
            "dev-set accuracy",
        ],
        rows,
    )
    by = {s["factor"]: s for s in core["scales"]}
    checks = {}
    if 1 in by:
        checks["core_x1"] = (by[1]["warm_cpu"]["p99"], by[1]["warm"]["p99"])
    if 100 in by:
        checks["core_x100"] = (by[100]["warm_cpu"]["p99"], by[100]["warm"]["p99"])
    return lines, checks


def startup_section(st: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    lines = ["### Start-up (spawn -> ready) and peak RSS", ""]
    rows = []
    for name, label in (
        ("core", "`Core.load()`"),
        ("application", "`Core.load()` + `build_application`"),
        ("experiment_faster_load", "experiment: `Core.load()`, faster load"),
    ):
        r = st.get(name)
        if r is None:
            continue
        rows.append(
            [
                label,
                r["runs"],
                r["ready_s"]["p50"],
                r["ready_s"]["min"],
                r["ready_s"]["max"],
                " ".join(f"{v:.2f}" for v in r["ready_s"]["all"]),
                r["cpu_to_ready_s"]["p50"],
                r["import_s"]["p50"],
                r["load_s"]["p50"],
                r["peak_rss_mb"]["max"],
            ]
        )
    lines += table(
        [
            "process",
            "runs",
            "wall to ready p50 s",
            "min",
            "max",
            "all runs s",
            "CPU to ready p50 s",
            "imports s",
            "load s",
            "peak RSS MB",
        ],
        rows,
    )
    return lines, {
        "startup": (st["core"]["cpu_to_ready_s"]["p50"], st["core"]["ready_s"]["p50"]),
        "startup_app": (
            st["application"]["cpu_to_ready_s"]["p50"],
            st["application"]["ready_s"]["p50"],
        ),
        "rss": max(st["core"]["peak_rss_mb"]["max"], st["application"]["peak_rss_mb"]["max"]),
    }


def e2e_section(e2e: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    load = e2e["load"]
    lines = [
        "### End to end (fake Bot API, polling, "
        f"{load['chats']} chats x {load['bursts']} bursts = {load['updates_per_run']} "
        f"updates per run, {load['overdose_updates_per_run']} overdose)",
        "",
    ]
    rows = []

    def vs(v: dict[str, Any], floor: str) -> str:
        ratio = v.get(f"vs_{floor}")
        return f"{ratio['first_reply_p99']} / {ratio['updates_per_s']}" if ratio else "-"

    for name, v in e2e["variants"].items():
        fr, od = v["first_reply_ms"], v["overdose_first_reply_ms"]
        check = v["overdose_first_request_ok"]
        rows.append(
            [
                f"`{name}`",
                v["runs"],
                v["updates_per_s"],
                fr["p50"],
                fr["p99"],
                od["p50"],
                od["p99"],
                v["bot_cpu_ms_per_update"],
                v["bot_peak_rss_mb"],
                vs(v, "echo"),
                vs(v, "echo_limited"),
                f"{check[0]}/{check[1]}" if check else "-",
                v["failed_requests"],
            ]
        )
    lines += table(
        [
            "bot",
            "runs",
            "updates/s",
            "first reply p50 ms",
            "p99 ms",
            "overdose p50 ms",
            "overdose p99 ms",
            "bot CPU ms/update",
            "peak RSS MB",
            "vs echo: p99 / updates/s",
            "vs echo_limited: p99 / updates/s",
            "overdose sent first",
            "failed requests",
        ],
        rows,
    )
    lines += [
        "",
        "Per run (updates/s; first-reply p99 ms): "
        + "; ".join(
            f"`{n}` {v['updates_per_s_by_run']} {v['first_reply_p99_ms_by_run']}"
            for n, v in e2e["variants"].items()
        ),
    ]
    lines += [
        "",
        "`import sniffio` reaching the import system per update (httpcore imports it "
        "per lock; ~10 failed imports per update when sniffio was not installed): "
        + "; ".join(f"`{n}` {v['sniffio_lookups_per_update']}" for n, v in e2e["variants"].items()),
    ]
    us = e2e.get("failed_import_sniffio_us")
    if us:
        lines += ["", f"sniffio is not installed here: each failed import costs {us} µs."]
    rec = e2e["variants"].get("recovery", {})
    return lines, {
        "e2e": rec.get("vs_echo"),
        "e2e_limited": rec.get("vs_echo_limited"),
        "e2e_rss": rec.get("bot_peak_rss_mb"),
        "overdose_first": rec.get("overdose_first_request_ok"),
    }


def accuracy_section(acc: dict[str, Any]) -> list[str]:
    lines = [f"### Accuracy on the dev set ({acc['messages']} messages) and cost", ""]
    rows = []
    for name, c in acc["classifiers"].items():
        rows.append(
            [
                name,
                pct(c["overdose_recall"]),
                pct(c["crisis_recall"]),
                pct(c["false_alarm_rate"]),
                pct(c["intent_accuracy"]),
                pct(c["out_of_scope"]),
                f"{c['cpu_ms']['p50']} / {c['cpu_ms']['p99']}",
                f"{c['wall_ms']['p50']} / {c['wall_ms']['p99']}",
            ]
        )
    lines += table(
        [
            "classifier",
            "overdose recall",
            "crisis recall",
            "false-alarm rate",
            "intent accuracy",
            "out of scope",
            "CPU ms p50 / p99",
            "wall ms p50 / p99",
        ],
        rows,
    )
    return lines


def targets_section(checks: dict[str, Any]) -> list[str]:
    rows = []
    if "core_x1" in checks:
        cpu, wall = checks["core_x1"]
        rows.append(
            [
                "core p99, shipped content",
                "< 1 ms",
                f"{cpu} ms CPU ({wall} ms wall)",
                verdict(cpu < TARGETS["core_p99_x1_ms"]),
            ]
        )
    if "core_x100" in checks:
        cpu, wall = checks["core_x100"]
        rows.append(
            [
                "core p99, examples x100",
                "< 5 ms",
                f"{cpu} ms CPU ({wall} ms wall)",
                verdict(cpu < TARGETS["core_p99_x100_ms"]),
            ]
        )
    if "startup" in checks:
        (cpu, wall), (app_cpu, app_wall) = checks["startup"], checks["startup_app"]
        rows.append(
            [
                "start-up to ready (median)",
                "< 1.5 s",
                f"{cpu} s CPU ({wall} s wall); with the Telegram app {app_cpu} s CPU "
                f"({app_wall} s wall)",
                verdict(cpu < TARGETS["startup_s"]),
            ]
        )
        rss = max(checks["rss"], checks.get("e2e_rss") or 0)
        rows.append(
            [
                "peak RSS (start-up; bot under load)",
                "< 100 MB",
                f"{checks['rss']} MB; {checks.get('e2e_rss')} MB",
                verdict(rss < TARGETS["rss_mb"]),
            ]
        )
    ratio, same = checks.get("e2e"), checks.get("e2e_limited") or {}

    def like_for_like(key: str) -> str:
        return f" (vs the echo bot with our limiter: {same[key]}x)" if key in same else ""

    if ratio:
        rows.append(
            [
                "e2e first reply p99 vs echo bot",
                "<= 1.25x",
                f"{ratio['first_reply_p99']}x{like_for_like('first_reply_p99')}",
                verdict(ratio["first_reply_p99"] <= TARGETS["e2e_ratio"]),
            ]
        )
        rows.append(
            [
                "e2e updates/s vs echo bot (echo/ours)",
                "<= 1.25x",
                f"{ratio['updates_per_s']}x{like_for_like('updates_per_s')}",
                verdict(ratio["updates_per_s"] <= TARGETS["e2e_ratio"]),
            ]
        )
    od = checks.get("overdose_first")
    if od:
        rows.append(
            [
                "overdose reply is the first request for that message",
                "all",
                f"{od[0]}/{od[1]}",
                verdict(od[0] == od[1]),
            ]
        )
    return ["### Targets", "", *table(["target", "goal", "measured", "verdict"], rows)]


def render(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"Run {m['date']} on {m['nproc']} cores ({m['cpu']}), {m['memory_gb']} GB, "
        f"Python {m['python']}, python-telegram-bot {m['python_telegram_bot']}, rapidfuzz "
        f"{m['rapidfuzz']}; git {results.get('git', '?')}. Load average (1/5/15 min) at "
        f"start {m['loadavg_start']}, at end {results.get('loadavg_end')}. Command: "
        f"`{results.get('command', 'benchmarks/run.sh')}` "
        f"({results.get('elapsed_s', '?')} s).",
        "",
    ]
    checks: dict[str, Any] = {}
    sections = []
    if "core" in results:
        part, c = core_section(results["core"])
        sections.append(part)
        checks.update(c)
    if "startup" in results:
        part, c = startup_section(results["startup"])
        sections.append(part)
        checks.update(c)
    if "e2e" in results:
        part, c = e2e_section(results["e2e"])
        sections.append(part)
        checks.update(c)
    if "accuracy" in results:
        sections.append(accuracy_section(results["accuracy"]))
    lines += targets_section(checks)
    for part in sections:
        lines += ["", *part]
    return "\n".join(lines) + "\n"


def main() -> None:
    folder = Path(sys.argv[1])
    print_only = "--print-only" in sys.argv[2:]
    results: dict[str, Any] = {}
    for name in ("machine", "core", "startup", "e2e", "accuracy", "run"):
        path = folder / f"{name}.json"
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            if name == "run":
                results.update(data)
            else:
                results[name] = data
    markdown = render(results)
    if print_only:
        print(markdown)
        return
    LATEST.parent.mkdir(parents=True, exist_ok=True)
    LATEST.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if README.exists():
        text = README.read_text(encoding="utf-8")
        if START in text and END in text:
            head, rest = text.split(START, 1)
            _, tail = rest.split(END, 1)
            README.write_text(f"{head}{START}\n{markdown}{END}{tail}", encoding="utf-8")
    print(markdown)


if __name__ == "__main__":
    main()
