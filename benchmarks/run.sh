#!/usr/bin/env bash
# Reproduce every figure in benchmarks/README.md: core cost per message (shipped content, x10,
# x100), start-up and RSS, end to end against a minimal PTB echo bot, accuracy against peers.
# Writes benchmarks/results/latest.json and the tables in benchmarks/README.md (between the
# results markers), and prints the same markdown. ~5 minutes on 2 cores.
#
#   benchmarks/run.sh           # full run
#   benchmarks/run.sh --quick   # smoke test: fewer passes/runs, prints only (README untouched)
#
# Python: $PYTHON if set, else the repo's .venv, else `python`. Network: 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${PYTHON:-}" ]; then
    PY="$PYTHON"
elif [ -x .venv/bin/python ]; then
    PY=.venv/bin/python
else
    PY=python
fi
QUICK=()
if [ "${1:-}" = "--quick" ]; then
    QUICK=(--quick)
fi
OUT="$(mktemp -d "${TMPDIR:-/tmp}/recovery-bench.XXXXXX")"
trap 'rm -rf "$OUT"' EXIT
START=$(date +%s)

"$PY" -c 'import json, sys; sys.path.insert(0, "benchmarks"); import benchlib
print(json.dumps(benchlib.machine()))' > "$OUT/machine.json"
echo "== start-up" >&2
"$PY" benchmarks/bench_startup.py "${QUICK[@]}" --out "$OUT/startup.json"
echo "== accuracy against peers" >&2
"$PY" benchmarks/bench_accuracy.py "${QUICK[@]}" --out "$OUT/accuracy.json"
echo "== core cost per message" >&2
"$PY" benchmarks/bench_core.py "${QUICK[@]}" --out "$OUT/core.json"
echo "== end to end" >&2
"$PY" benchmarks/bench_e2e.py "${QUICK[@]}" --out "$OUT/e2e.json"

ELAPSED=$(( $(date +%s) - START ))
GIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain -- bot intents '*.yaml' 2>/dev/null)" ]; then
    GIT="$GIT + uncommitted changes in bot/ or content"
fi
"$PY" -c 'import json, os, sys
print(json.dumps({"git": sys.argv[1], "elapsed_s": int(sys.argv[2]), "command": sys.argv[3],
                  "loadavg_end": [round(x, 2) for x in os.getloadavg()]}))' \
    "$GIT" "$ELAPSED" "benchmarks/run.sh${QUICK:+ ${QUICK[*]}}" > "$OUT/run.json"
if [ ${#QUICK[@]} -gt 0 ]; then
    "$PY" benchmarks/report.py "$OUT" --print-only
else
    "$PY" benchmarks/report.py "$OUT"
fi
