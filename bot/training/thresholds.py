"""Choosing each head's ``high`` and ``low`` thresholds, and the metrics reported for them.

The thresholds are chosen for the pipeline the model sits in, not for the model alone. The
rules read every message first: where they already raise the alarm, or lowered a match (a
death wish denied, an overdose last year, "this queue will kill me"), the model's score does
not decide the route (``bot/understand/classify.py``). So, per scored line, ``open`` says
where a head's alarm would stand (the rules silent and nothing lowered) and ``checkable``
where the "possible emergency" band applies (the rules silent, no exemption such as a Good
Samaritan question).

- A calm line is the model's false alarm when a head is at or above its ``high`` where its
  alarm is open; a check when it is not a false alarm, it is checkable and a head is at or
  above its ``low``.
- Each scored set carries its own limits (``max_false_alarm``, ``max_check``) as rates of all
  its calm lines, and every limit must hold on its set.
- Within them, the two heads' recalls on the lines the rules leave to the model (open
  positives) of the first set are made as large as they can be: the weaker head's first, then
  their sum; the other sets break ties.

A set without masks is the model alone: every line open and checkable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

HEADS = ("overdose", "crisis")


@dataclass(frozen=True)
class Scored:
    """Scores of one set: per head the scores and the positives, which lines are calm, where
    each head's alarm would stand (``open``) and where the check band applies, and the limits
    that hold on this set (``None``: the set only scores, it sets no limit)."""

    scores: dict[str, np.ndarray]
    positive: dict[str, np.ndarray]
    calm: np.ndarray
    open: dict[str, np.ndarray] = field(default_factory=dict)
    checkable: np.ndarray | None = None
    max_false_alarm: float | None = 0.01
    max_check: float | None = 0.03

    def opened(self, head: str) -> np.ndarray:
        return self.open.get(head, np.ones(len(self.calm), dtype=bool))

    def can_check(self) -> np.ndarray:
        return np.ones(len(self.calm), dtype=bool) if self.checkable is None else self.checkable

    def subset(self, mask: np.ndarray, max_false_alarm: float | None,
               max_check: float | None) -> Scored:
        """The lines under ``mask``, with limits of their own."""
        return Scored({h: v[mask] for h, v in self.scores.items()},
                      {h: v[mask] for h, v in self.positive.items()}, self.calm[mask],
                      {h: v[mask] for h, v in self.open.items()},
                      None if self.checkable is None else self.checkable[mask],
                      max_false_alarm, max_check)

    def model_only(self) -> Scored:
        """The same scores with every line open: the model judged alone."""
        return Scored(self.scores, self.positive, self.calm, {}, None,
                      self.max_false_alarm, self.max_check)

    def alarms(self, high: dict[str, float]) -> np.ndarray:
        """Lines the model raises the alarm on."""
        out = np.zeros(len(self.calm), dtype=bool)
        for h in HEADS:
            out |= self.opened(h) & (self.scores[h] >= high[h])
        return out

    def checks(self, high: dict[str, float], low: dict[str, float]) -> np.ndarray:
        """Lines the model sends to the check band."""
        banded = np.zeros(len(self.calm), dtype=bool)
        for h in HEADS:
            banded |= self.scores[h] >= low[h]
        return banded & self.can_check() & ~self.alarms(high)


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
        if len(vals) <= k:  # the limit allows every line this set leaves to the model
            out.add(0.0)
    return sorted(out)


def _recall(s: Scored, head: str, t: float) -> float:
    """Recall of one head on the positives the rules leave to the model."""
    pos = s.positive[head] & s.opened(head)
    return float((s.scores[head][pos] >= t).mean()) if pos.any() else 0.0


def _gain(s: Scored, t_od: float, t_cr: float) -> tuple[float, float]:
    """What a pair of thresholds is worth: the two recalls' sum, then the weaker one."""
    od, cr = _recall(s, "overdose", t_od), _recall(s, "crisis", t_cr)
    return (od + cr, min(od, cr))


def choose_high(sets: Sequence[Scored], head_share: float = 1.0) -> dict[str, float]:
    """Per head ``high`` so that the model's false alarms stay within each set's limit, the
    overdose head taking at most ``head_share`` of it (the crisis head the rest)."""
    limited = [s for s in sets if s.max_false_alarm is not None]
    budgets = [_budget(int(s.calm.sum()), s.max_false_alarm or 0.0) for s in limited]
    best: tuple[tuple[float, float], float, dict[str, float]] | None = None
    od_open = [s.calm & s.opened("overdose") for s in limited]
    od_budgets = [math.floor(k * head_share + 1e-9) for k in budgets]
    for t_od in _candidates(limited, "overdose", od_open, od_budgets, math.inf):
        t_cr = 0.0
        for s, mask, k in zip(limited, od_open, budgets, strict=True):
            flagged = mask & (s.scores["overdose"] >= t_od)
            rest = s.calm & s.opened("crisis") & ~flagged
            t_cr = max(t_cr, _min_threshold(s.scores["crisis"][rest], k - int(flagged.sum())))
        if not math.isfinite(t_cr):
            continue
        gain = _gain(sets[0], t_od, t_cr)
        tie = sum(_recall(s, h, t) for s in sets[1:] for h, t in
                  (("overdose", t_od), ("crisis", t_cr)))
        if best is None or (gain, tie) > (best[0], best[1]):
            best = (gain, tie, {"overdose": t_od, "crisis": t_cr})
    if best is None:
        raise ValueError("no thresholds meet the false-alarm limit")
    return best[2]


def choose_low(sets: Sequence[Scored], high: dict[str, float]) -> dict[str, float]:
    """Per head ``low`` (<= high) so that the model's checks stay within each set's limit."""
    limited = [s for s in sets if s.max_check is not None]
    budgets = [_budget(int(s.calm.sum()), s.max_check or 0.0) for s in limited]
    quiet = [s.calm & s.can_check() & ~s.alarms(high) for s in limited]
    best: tuple[tuple[float, float], float, dict[str, float]] | None = None
    for l_od in _candidates(limited, "overdose", quiet, budgets, high["overdose"]):
        l_cr = 0.0
        for s, q, k in zip(limited, quiet, budgets, strict=True):
            banded = q & (s.scores["overdose"] >= l_od)
            rest = q & ~banded
            l_cr = max(l_cr, _min_threshold(s.scores["crisis"][rest], k - int(banded.sum())))
        if not math.isfinite(l_cr):
            continue
        l_cr = min(l_cr, high["crisis"])
        gain = _gain(sets[0], l_od, l_cr)
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
    """The numbers ``record.json`` reports: per head and for the route, the model alone
    (every line open), and ``pipeline``: what the model adds where the rules leave it the
    decision (``open``/``checkable``), with the limits this set was held to."""
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
    if s.open or s.checkable is not None:
        alarms, checks = s.alarms(high), s.checks(high, low)
        left: dict[str, object] = {}
        for h in HEADS:
            pos = s.positive[h] & s.opened(h)
            left[h] = {"positives_left_to_model": int(pos.sum()),
                       "recall_at_high": round(_recall(s, h, high[h]), 4) if pos.any() else None}
        out["pipeline"] = {
            **left,
            "false_alarm_rate": round(float((alarms & s.calm).sum()) / n_calm, 4),
            "check_rate": round(float((checks & s.calm).sum()) / n_calm, 4),
            "false_alarms": int((alarms & s.calm).sum()),
            "checks": int((checks & s.calm).sum()),
            "limits": {"false_alarm_max": s.max_false_alarm, "check_max": s.max_check},
        }
    return out
