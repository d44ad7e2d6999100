"""Start-up: process spawn -> content loaded, validated and indexed; and its peak RSS.

Each run spawns a fresh interpreter (``sys.executable``, the venv's python) with

    from bot.core import Core; core = Core.load(); print("ready ...")

and measures, from outside, the wall time from just before the spawn until the ``ready`` line
arrives on the pipe. The child also reports its own import and load times and the CPU time it
used until ready (``time.process_time()``: interpreter start included; unlike the wall time it
does not grow when other processes compete for the cores). After the child exits, ``os.wait4``
gives its peak RSS (``ru_maxrss``) and total CPU time (teardown included). A second variant does
what ``recovery-bot run`` does before it first contacts Telegram: import the Telegram shell too
and ``build_application``. A third, ``experiment_faster_load``, is the proposed start-up fix
(see FASTER_LOAD). One unmeasured run of each first (writes .pyc files).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import REPO, cli, loadavg, summary, write_result

from bot.text.wordlist import english_words

RUNS = 3
QUICK_RUNS = 2

CORE_ONLY = """
import time
t0 = time.perf_counter()
from bot.core import Core
t1 = time.perf_counter()
core = Core.load()
t2 = time.perf_counter()
print(f"ready {t1 - t0:.4f} {t2 - t1:.4f} {time.process_time():.4f}", flush=True)
"""

APPLICATION = """
import pathlib, tempfile, time
t0 = time.perf_counter()
from bot.core import Core
from bot.telegram.app import build_application
t1 = time.perf_counter()
core = Core.load()
application = build_application(core, "123456789:AAHbenchTOKENbenchTOKENbenchTOKEN12",
                                "http://127.0.0.1:9/bot", pathlib.Path(tempfile.mkdtemp()))
t2 = time.perf_counter()
print(f"ready {t1 - t0:.4f} {t2 - t1:.4f} {time.process_time():.4f}", flush=True)
"""


# Experiment (proposed start-up fix, see README): the English word list read from a plain
# file written once (instead of decompressing and filtering pyspellchecker's 120k-word JSON
# at every start), and each example phrase tokenised once during load instead of three
# times (content check, Core vocabulary, matcher).
FASTER_LOAD = """
import functools, sys, time
t0 = time.perf_counter()
import bot.text.normalize as nm, bot.text.wordlist as wl, bot.content as content, bot.core as bc
words = frozenset(open(sys.argv[1], encoding="utf-8").read().split())
wl.english_words = bc.english_words = lambda: words
_tokens = functools.lru_cache(maxsize=None)(lambda text: tuple(nm.to_tokens(text)))
cached = lambda text: list(_tokens(text))
for module in (bc, content):
    if hasattr(module, "to_tokens"):
        module.to_tokens = cached
from bot.core import Core
t1 = time.perf_counter()
core = Core.load()
t2 = time.perf_counter()
print(f"ready {t1 - t0:.4f} {t2 - t1:.4f} {time.process_time():.4f}", flush=True)
"""


def one_run(code: str, *args: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("RECOVERY_BOT_CONTENT", None)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=env,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    ready_s = time.perf_counter() - t0
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if not line.startswith("ready"):
        raise RuntimeError(f"child failed: {proc.stderr.read() if proc.stderr else ''}")
    _, import_s, load_s, cpu_ready_s = line.split()
    return {
        "ready_s": ready_s,
        "import_s": float(import_s),
        "load_s": float(load_s),
        "cpu_to_ready_s": float(cpu_ready_s),
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


def measure(code: str, runs: int, *args: str) -> dict[str, Any]:
    one_run(code, *args)  # warm the .pyc cache and the page cache
    results = [one_run(code, *args) for _ in range(runs)]
    out: dict[str, Any] = {"runs": runs}
    for key in ("ready_s", "import_s", "load_s", "cpu_to_ready_s", "cpu_s", "peak_rss_mb"):
        values = [r[key] for r in results]
        out[key] = {
            "all": [round(v, 3) for v in values],
            **{k: v for k, v in summary(values).items() if k in ("mean", "p50", "max")},
            "min": round(min(values), 3),
        }
    return out


def main() -> None:
    args = cli(__doc__.splitlines()[0]).parse_args()
    runs = QUICK_RUNS if args.quick else RUNS
    with tempfile.TemporaryDirectory(prefix="recovery-bench-words-") as tmp:
        words = Path(tmp) / "english_words.txt"
        words.write_text("\n".join(sorted(english_words())), encoding="utf-8")
        result = {
            "core": measure(CORE_ONLY, runs),
            "application": measure(APPLICATION, runs),
            "experiment_faster_load": measure(FASTER_LOAD, runs, str(words)),
            "loadavg_end": loadavg(),
        }
    for name in ("core", "application", "experiment_faster_load"):
        r = result[name]
        print(
            f"{name}: ready p50 {r['ready_s']['p50']} s max {r['ready_s']['max']} s, "
            f"peak RSS max {r['peak_rss_mb']['max']} MB",
            flush=True,
        )
    write_result(result, args.out)


if __name__ == "__main__":
    main()
