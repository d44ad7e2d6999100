"""Choosing each head's ``high`` and ``low`` thresholds, and the metrics reported for them.

Both limits are on the route a calm line would get from the model alone, over both heads at
once: a calm line is a false alarm when either head is at or above its ``high``, and a check
when neither is and either is at or above its ``low``. Each limit must hold on every scored
set given (the cross-validated scores and, when there, the dev set); within them the sum of
the two heads' recalls on the first set is made as large as it can be.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

HEADS = ("overdose", "crisis")


@dataclass(frozen=True)
class Scored:
    """Scores of one set: per head the scores and the positives, and which lines are calm."""

    scores: dict[str, np.ndarray]
    positive: dict[str, np.ndarray]
    calm: np.ndarray


def _min_threshold(values: np.ndarray, allowed: int) -> float:
    """The smallest t with at most ``allowed`` of ``values`` >= t."""
    if allowed < 0:
        return math.inf
    if allowed >= len(values):
        return 0.0
    desc = np.sort(values)[::-1]
    return float(np.nextafter(desc[allowed], np.inf))


def _budget(n: int, rate: float) -> int:
    return math.floor(rate * n + 1e-9)


def _candidates(sets: Sequence[Scored], head: str, mask_of: list[np.ndarray],
                budgets: list[int], ceiling: float) -> list[float]:
    out = {ceiling} if math.isfinite(ceiling) else set()
    for s, mask, k in zip(sets, mask_of, budgets, strict=True):
        vals = np.sort(s.scores[head][mask])[::-1][:k + 1]
        out.update(float(np.nextafter(v, np.inf)) for v in vals if v < ceiling)
    return sorted(out)


def _recall(s: Scored, head: str, t: float) -> float:
    pos = s.positive[head]
    return float((s.scores[head][pos] >= t).mean()) if pos.any() else 0.0


def choose_high(sets: Sequence[Scored], max_rate: float) -> dict[str, float]:
    """Per head ``high`` so that calm lines at or above either are <= max_rate on each set."""
    budgets = [_budget(int(s.calm.sum()), max_rate) for s in sets]
    best: tuple[float, float, dict[str, float]] | None = None
    calm = [s.calm for s in sets]
    for t_od in _candidates(sets, "overdose", calm, budgets, math.inf):
        t_cr = 0.0
        for s, k in zip(sets, budgets, strict=True):
            flagged = s.calm & (s.scores["overdose"] >= t_od)
            rest = s.calm & ~flagged
            t_cr = max(t_cr, _min_threshold(s.scores["crisis"][rest], k - int(flagged.sum())))
        if not math.isfinite(t_cr):
            continue
        gain = _recall(sets[0], "overdose", t_od) + _recall(sets[0], "crisis", t_cr)
        tie = sum(_recall(s, h, t) for s in sets[1:] for h, t in
                  (("overdose", t_od), ("crisis", t_cr)))
        if best is None or (gain, tie) > (best[0], best[1]):
            best = (gain, tie, {"overdose": t_od, "crisis": t_cr})
    if best is None:
        raise ValueError("no thresholds meet the false-alarm limit")
    return best[2]


def choose_low(sets: Sequence[Scored], high: dict[str, float],
               max_rate: float) -> dict[str, float]:
    """Per head ``low`` (<= high) so that calm checks are <= max_rate on each set."""
    budgets = [_budget(int(s.calm.sum()), max_rate) for s in sets]
    quiet = [s.calm & (s.scores["overdose"] < high["overdose"])
             & (s.scores["crisis"] < high["crisis"]) for s in sets]
    best: tuple[float, float, dict[str, float]] | None = None
    for l_od in _candidates(sets, "overdose", quiet, budgets, high["overdose"]):
        l_cr = 0.0
        for s, q, k in zip(sets, quiet, budgets, strict=True):
            banded = q & (s.scores["overdose"] >= l_od)
            rest = q & ~banded
            l_cr = max(l_cr, _min_threshold(s.scores["crisis"][rest], k - int(banded.sum())))
        if not math.isfinite(l_cr):
            continue
        l_cr = min(l_cr, high["crisis"])
        gain = _recall(sets[0], "overdose", l_od) + _recall(sets[0], "crisis", l_cr)
        tie = sum(_recall(s, h, t) for s in sets[1:] for h, t in
                  (("overdose", l_od), ("crisis", l_cr)))
        if best is None or (gain, tie) > (best[0], best[1]):
            best = (gain, tie, {"overdose": l_od, "crisis": l_cr})
    if best is None:
        raise ValueError("no thresholds meet the check-rate limit")
    return best[2]


def auc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """Area under the ROC curve (ties count half); None without both classes."""
    pos, neg = scores[positive], scores[~positive]
    if not len(pos) or not len(neg):
        return None
    allv = np.concatenate([pos, neg])
    order = np.argsort(allv, kind="mergesort")
    ranks = np.empty(len(allv), dtype=np.float64)
    sorted_v = allv[order]
    i = 0
    while i < len(sorted_v):  # average ranks over ties
        j = i
        while j + 1 < len(sorted_v) and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    r_pos = ranks[:len(pos)].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def metrics(s: Scored, high: dict[str, float], low: dict[str, float]) -> dict[str, object]:
    """Per head and for the route (both heads): the numbers ``record.json`` reports."""
    out: dict[str, object] = {"lines": len(s.calm), "calm_lines": int(s.calm.sum())}
    n_calm = max(int(s.calm.sum()), 1)
    any_high = np.zeros(len(s.calm), dtype=bool)
    any_low = np.zeros(len(s.calm), dtype=bool)
    for h in HEADS:
        sc, pos = s.scores[h], s.positive[h]
        is_high, is_low = sc >= high[h], sc >= low[h]
        any_high |= is_high
        any_low |= is_low
        a = auc(sc, pos)
        out[h] = {
            "positives": int(pos.sum()),
            "auc": None if a is None else round(a, 4),
            "recall_at_high": round(float(is_high[pos].mean()), 4) if pos.any() else None,
            "recall_at_low": round(float(is_low[pos].mean()), 4) if pos.any() else None,
            "false_alarm_rate": round(float((is_high & s.calm).sum()) / n_calm, 4),
            "check_rate": round(float((is_low & ~is_high & s.calm).sum()) / n_calm, 4),
        }
    out["route"] = {
        "false_alarm_rate": round(float((any_high & s.calm).sum()) / n_calm, 4),
        "check_rate": round(float((any_low & ~any_high & s.calm).sum()) / n_calm, 4),
        "false_alarms": int((any_high & s.calm).sum()),
        "checks": int((any_low & ~any_high & s.calm).sum()),
    }
    return out
