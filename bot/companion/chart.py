"""The /progress chart: the last 14 days as text sparklines (one character a day)."""

from __future__ import annotations

import datetime as dt

BARS = "▁▂▃▄▅▆▇█"
MISSING = "·"


def sparkline(values: list[int | None], low: int, high: int) -> str:
    out = []
    for v in values:
        if v is None:
            out.append(MISSING)
        else:
            step = (v - low) / (high - low) if high > low else 0
            out.append(BARS[round(step * (len(BARS) - 1))])
    return "".join(out)


def series(scores: list[tuple[int, int, int | None]], today: dt.date, days: int
           ) -> tuple[list[int | None], list[int | None]]:
    """Mood and craving for each of the last ``days`` days (oldest first; None: no answer)."""
    by_day = {d: (m, c) for d, m, c in scores}
    first = today.toordinal() - days + 1
    moods = [by_day.get(first + i, (None, None))[0] for i in range(days)]
    cravings = [by_day.get(first + i, (None, None))[1] for i in range(days)]
    return moods, cravings
