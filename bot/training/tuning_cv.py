"""``recovery-bot tune-cv``: the matcher's thresholds measured by cross-validation.

The thresholds in ``tuning.yaml`` (answer_min, answer_margin, known_min, clarify_min) were
chosen by looking at the dev set, so the dev set's own score flatters them. This command
measures what choosing them costs: the set is split into folds (seeded); for each fold the
grid point with the best score on the *other* folds is chosen (ties go to the shipped
values, then to the grid's order) and scored on the held-out fold. The held-out figures are
the honest ones; the in-sample figure with the shipped values is printed beside them.

Scored with ``bot/evaluate.py``'s rules: intent accuracy on answer-intent lines (routed
``answer`` with the labelled intent or its parent) and out of scope handled on ``["none"]``
lines (``clarify`` or ``fallback``). Safety routes do not depend on these thresholds.

The sentence encoder runs once per line (memoised), so a grid of 135 points over the dev
set takes about two minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.evaluate import NON_ANSWER, answered_right, out_of_scope_handled

GRID: dict[str, tuple[float, ...]] = {
    "answer_min": (36.0, 39.0, 42.0, 45.0, 48.0),
    "answer_margin": (0.0, 2.0, 4.0),
    "known_min": (0.2, 0.3, 0.4),
    "clarify_min": (25.0, 30.0, 35.0),
}
FOLDS = 5
SEED = 20261202


@dataclass(frozen=True)
class Line:
    text: str
    labels: tuple[str, ...]

    @property
    def kind(self) -> str:
        if self.labels == ("none",):
            return "none"
        return "answer" if not NON_ANSWER & set(self.labels) else "other"


@dataclass
class FoldResult:
    fold: int
    chosen: dict[str, float]
    intent: tuple[int, int]  # correct, total on the held-out fold
    out_of_scope: tuple[int, int]


@dataclass
class CvReport:
    lines: int
    in_sample_intent: tuple[int, int]
    in_sample_oos: tuple[int, int]
    folds: list[FoldResult]

    def held_out(self, name: str) -> tuple[int, int]:
        pairs = [getattr(f, name) for f in self.folds]
        return sum(c for c, _ in pairs), sum(t for _, t in pairs)


def read_lines(path: Path) -> list[Line]:
    out = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
            out.append(Line(str(item["text"]), tuple(str(x) for x in item["labels"])))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n}: not a {{text, labels}} JSON object ({exc})") from exc
    return out


def grid_points(grid: dict[str, tuple[float, ...]] = GRID) -> list[dict[str, float]]:
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def outcomes(classify: Callable[[str], tuple[str, str | None]], parent: Callable[[str], str],
             lines: Sequence[Line]) -> np.ndarray:
    """Per line: 1 correct, 0 wrong, -1 not counted (a safety line)."""
    out = np.full(len(lines), -1, dtype=np.int8)
    for i, line in enumerate(lines):
        if line.kind == "other":
            continue
        route, intent = classify(line.text)
        if line.kind == "none":
            out[i] = out_of_scope_handled(route)
        else:
            out[i] = answered_right(route, intent, parent(intent) if intent else None,
                                    line.labels)
    return out


def _count(row: np.ndarray, mask: np.ndarray) -> tuple[int, int]:
    counted = mask & (row >= 0)
    return int(row[counted].sum()), int(counted.sum())


def cross_validate(table: np.ndarray, kinds: np.ndarray, shipped: int,
                   points: Sequence[dict[str, float]], folds: int = FOLDS,
                   seed: int = SEED) -> list[FoldResult]:
    """``table[p, i]``: outcome of line i at grid point p. Per fold, the point with the most
    correct answer-intent and none lines on the other folds; scored on the fold."""
    n = table.shape[1]
    order = np.random.default_rng(seed).permutation(n)
    fold_of = np.empty(n, dtype=np.int64)
    fold_of[order] = np.arange(n) % folds
    results = []
    for k in range(folds):
        train = fold_of != k
        counted = (table >= 0) & train
        score = np.where(counted, table, 0).sum(axis=1)
        best = int(score.max())
        candidates = [p for p in range(len(points)) if score[p] == best]
        pick = shipped if shipped in candidates else candidates[0]
        test = ~train
        results.append(FoldResult(
            fold=k, chosen=dict(points[pick]),
            intent=_count(table[pick], test & (kinds == "answer")),
            out_of_scope=_count(table[pick], test & (kinds == "none"))))
    return results


def run(core: Any, lines: Sequence[Line], grid: dict[str, tuple[float, ...]] = GRID,
        folds: int = FOLDS, log: Callable[[str], None] = print) -> CvReport:
    """Classify every line at every grid point (thresholds swapped on the live classifier,
    then restored), then cross-validate the choice."""
    classifier = core.classifier
    shipped_tuning = classifier.tuning
    shipped_values = {k: float(getattr(shipped_tuning, k)) for k in grid}
    points = grid_points(grid)
    if shipped_values not in points:
        points.append(shipped_values)
    shipped = points.index(shipped_values)
    model = getattr(classifier, "model", None)
    encoder = getattr(model, "encoder", None) if model is not None else None
    original_encode = encoder.encode if encoder is not None else None
    memo: dict[str, Any] = {}
    if encoder is not None and original_encode is not None:
        def encode(text: str) -> Any:
            if text not in memo:
                memo[text] = original_encode(text)
            return memo[text]
        encoder.encode = encode  # instance attribute: this process only, restored below
    rows = []
    try:
        for n, values in enumerate(points):
            classifier.tuning = shipped_tuning.model_copy(update=values)

            def classify(text: str) -> tuple[str, str | None]:
                c = classifier.classify(text)
                return c.route, c.intent

            rows.append(outcomes(classify, classifier.parent, lines))
            if n % 20 == 0:
                log(f"grid point {n + 1}/{len(points)}")
    finally:
        classifier.tuning = shipped_tuning
        if encoder is not None and original_encode is not None:
            del encoder.encode
    table = np.vstack(rows)
    kinds = np.array([line.kind for line in lines])
    return CvReport(
        lines=len(lines),
        in_sample_intent=_count(table[shipped], kinds == "answer"),
        in_sample_oos=_count(table[shipped], kinds == "none"),
        folds=cross_validate(table, kinds, shipped, points, folds))


def format_report(report: CvReport, name: str) -> str:
    from bot.evaluate import wilson

    def cell(pair: tuple[int, int]) -> str:
        c, t = pair
        lo, hi = wilson(c, t)
        return f"{c / t if t else 1.0:6.1%}  ({c}/{t})  95% CI {lo:.1%}-{hi:.1%}"

    out = [f"{name}: {report.lines} lines, {len(report.folds)}-fold cross-validation of "
           "the matcher's thresholds",
           f"intent accuracy, held out      {cell(report.held_out('intent'))}",
           f"intent accuracy, shipped, same {cell(report.in_sample_intent)}",
           f"out of scope, held out         {cell(report.held_out('out_of_scope'))}",
           f"out of scope, shipped, same    {cell(report.in_sample_oos)}",
           "chosen per fold:"]
    for f in report.folds:
        out.append(f"  fold {f.fold + 1}: " + ", ".join(f"{k} {v:g}" for k, v in f.chosen.items()))
    return "\n".join(out)


def cmd_tune_cv(args: argparse.Namespace) -> int:
    from bot.core import Core

    path: Path = args.file
    try:
        lines = read_lines(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        print(f"recovery-bot tune-cv: {exc}", file=sys.stderr)
        return 2
    core = Core.load(args.content)
    report = run(core, lines, folds=args.folds,
                 log=lambda m: print(m, file=sys.stderr))
    print(format_report(report, path.name))
    return 0
