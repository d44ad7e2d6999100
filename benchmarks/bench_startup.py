"""Start-up: process spawn -> content loaded, validated and indexed; and its peak RSS.

Each run spawns a fresh interpreter (``sys.executable``, the venv's python) with

    from bot.core import Core; core = Core.load(); print("ready ...")

and measures, from outside, the wall time from just before the spawn until the ``ready``
line arrives on the pipe. The child also reports its own import and load times. After the
child exits, ``os.wait4`` gives its peak RSS (``ru_maxrss``) and CPU time. A second variant
does what ``recovery-bot run`` does before it first contacts Telegram: import the Telegram
shell too and ``build_application``. One unmeasured run first (writes .pyc files).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from benchlib import REPO, cli, loadavg, summary, write_result

RUNS = 7
QUICK_RUNS = 2

CORE_ONLY = """
import time
t0 = time.perf_counter()
from bot.core import Core
t1 = time.perf_counter()
core = Core.load()
t2 = time.perf_counter()
print(f"ready {t1 - t0:.4f} {t2 - t1:.4f}", flush=True)
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
print(f"ready {t1 - t0:.4f} {t2 - t1:.4f}", flush=True)
"""


def one_run(code: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("RECOVERY_BOT_CONTENT", None)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPO, env=env, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    ready_s = time.perf_counter() - t0
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if not line.startswith("ready"):
        raise RuntimeError(f"child failed: {proc.stderr.read() if proc.stderr else ''}")
    _, import_s, load_s = line.split()
    return {"ready_s": ready_s, "import_s": float(import_s), "load_s": float(load_s),
            "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024}


def measure(code: str, runs: int) -> dict[str, Any]:
    one_run(code)  # warm the .pyc cache and the page cache
    results = [one_run(code) for _ in range(runs)]
    out: dict[str, Any] = {"runs": runs}
    for key in ("ready_s", "import_s", "load_s", "cpu_s", "peak_rss_mb"):
        values = [r[key] for r in results]
        out[key] = {"all": [round(v, 3) for v in values],
                    **{k: v for k, v in summary(values).items() if k in ("mean", "p50", "max")},
                    "min": round(min(values), 3)}
    return out


def main() -> None:
    args = cli(__doc__.splitlines()[0]).parse_args()
    runs = QUICK_RUNS if args.quick else RUNS
    result = {"core": measure(CORE_ONLY, runs), "application": measure(APPLICATION, runs),
              "loadavg_end": loadavg()}
    for name in ("core", "application"):
        r = result[name]
        print(f"{name}: ready p50 {r['ready_s']['p50']} s max {r['ready_s']['max']} s, "
              f"peak RSS max {r['peak_rss_mb']['max']} MB", flush=True)
    write_result(result, args.out)


if __name__ == "__main__":
    main()
