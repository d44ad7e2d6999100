"""Local experiments that are *not* in the shipped code (applied in a benchmark process only).

Nothing here edits bot/ or the venv: an experiment patches one object in the process that
runs it (``e2e_bot.py --experiment NAME``), so ``bench_e2e.py`` shows its figures next to the
shipped bot on the same load in the same run. The fixes measured here in earlier runs
(emergencies first in the rate limiter and the update processor, the bounded matcher, the
near-miss guard, sniffio) are now in bot/ and pyproject.toml, so the benchmarks measure them as
shipped; README.md ("Before and after") has the earlier figures.

- ``no_overall_limit``: the application's rate limiter built with ``overall_max_rate=0``: no
  shared 30 messages/s bucket for any reply (Telegram's 429 answers are still waited out; the
  per-group limit stays). Not a proposal (it ignores Telegram's broadcast limit): it shows how
  much of the remaining gap to the plain echo bot is the bucket itself.

The start-up experiment (word list read from a plain file, each example tokenised once) runs in
a child interpreter and lives in ``bench_startup.py`` (``FASTER_LOAD``).
"""

from __future__ import annotations

from typing import Any


def no_overall_limit() -> None:
    import bot.telegram.app as app_module

    real = app_module.UrgentFirstRateLimiter

    def limiter(**kwargs: Any) -> Any:
        return real(overall_max_rate=0, **kwargs)

    app_module.UrgentFirstRateLimiter = limiter  # type: ignore[assignment,misc]


EXPERIMENTS = {"no_overall_limit": no_overall_limit}
