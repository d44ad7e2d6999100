"""The learned layer's thresholds, chosen for the pipeline it sits in
(bot/training/thresholds.py)."""

from __future__ import annotations

import numpy as np

from bot.training.thresholds import Scored, choose_high, choose_low, metrics


def _set(od: list[float], cr: list[float], pos_od: list[bool], pos_cr: list[bool],
         calm: list[bool], *, open_: list[bool] | None = None,
         checkable: list[bool] | None = None, fa: float | None = 0.0,
         check: float | None = 0.0) -> Scored:
    opened = {} if open_ is None else {h: np.array(open_) for h in ("overdose", "crisis")}
    return Scored({"overdose": np.array(od), "crisis": np.array(cr)},
                  {"overdose": np.array(pos_od), "crisis": np.array(pos_cr)},
                  np.array(calm), opened,
                  None if checkable is None else np.array(checkable), fa, check)


# four crisis lines (0.9, 0.8, 0.7, 0.6) and two calm lines scored 0.95 and 0.85
CR = [0.9, 0.8, 0.7, 0.6, 0.95, 0.85]
POS = [True, True, True, True, False, False]
CALM = [False, False, False, False, True, True]
ZERO = [0.0] * 6
NONE = [False] * 6


def test_model_alone_no_false_alarm_puts_crisis_above_every_calm_line() -> None:
    high = choose_high([_set(ZERO, CR, NONE, POS, CALM)])
    assert high["crisis"] > 0.95  # no crisis line caught: the calm lines score higher


def test_calm_lines_the_rules_decide_do_not_count_against_the_model() -> None:
    # the rules already decide both calm lines (a rule fired, or a match was lowered)
    s = _set(ZERO, CR, NONE, POS, CALM, open_=[True] * 4 + [False, False])
    high = choose_high([s])
    assert high["crisis"] <= 0.6  # every crisis line the rules left to the model is caught
    m = metrics(s, high, {"overdose": high["overdose"], "crisis": high["crisis"]})
    assert m["pipeline"]["false_alarms"] == 0  # type: ignore[index]
    assert m["route"]["false_alarms"] == 2  # the model alone would have raised two  # type: ignore[index]


def test_each_set_keeps_its_own_limit() -> None:
    strict = _set(ZERO, CR, NONE, POS, CALM, fa=0.0)
    loose = _set(ZERO, CR, NONE, POS, CALM, fa=0.5)  # one of two calm lines may alarm
    assert choose_high([loose])["crisis"] <= 0.851
    assert choose_high([loose, strict])["crisis"] > 0.95  # the strict set still holds
    # a set with no limit only scores
    scoring_only = _set(ZERO, CR, NONE, POS, CALM, fa=None, check=None)
    assert choose_high([scoring_only, loose])["crisis"] <= 0.851


def test_the_check_band_stays_within_its_limit_and_skips_exempt_lines() -> None:
    s = _set(ZERO, [0.99, 0.5, 0.4, 0.3, 0.45, 0.35], NONE, POS, CALM, fa=0.0, check=0.0,
             checkable=[True] * 4 + [False, True])
    high = choose_high([s])
    low = choose_low([s], high)
    assert low["crisis"] > 0.35  # the checkable calm line (0.35) is not checked
    assert low["crisis"] <= 0.4  # the exempt one (0.45) does not hold the band up
    m = metrics(s, high, low)
    assert m["pipeline"]["checks"] == 0  # type: ignore[index]
