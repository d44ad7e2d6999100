"""Local experiments for fixes proposed in bot/ (applied in the benchmark process only).

Nothing here edits bot/: each experiment swaps one object of an already built Core or
Application, so the benchmarks can show before/after numbers on the same content, in the same
process. README.md ("Bottlenecks and proposed fixes") describes the change each one stands for.

- ``safety_only_urgency(application)``: ``Shell.is_urgent`` decides with normalise + safety check
  (what decides the overdose/crisis route) instead of a full ``Core.handle`` that ``on_text``
  then repeats.
"""

from __future__ import annotations

from typing import Any


def safety_only_urgency(application: Any) -> None:
    """Replace the Shell's urgency test (held by the PerChatUpdateProcessor) for free text:
    normalise + safety check only."""
    from bot.telegram.shell import shell_of

    shell = shell_of(application)
    original = shell.is_urgent
    core = shell.core

    def is_urgent(update: object) -> bool:
        message = getattr(update, "effective_message", None)
        text = (message.text or message.caption or "") if message is not None else ""
        if getattr(update, "callback_query", None) is not None or text.startswith("/"):
            return original(update)
        if not text.strip():
            return False
        normalised = core.normalise(text)
        return bool(normalised.tokens) and core.safety.check(normalised).route is not None

    application.update_processor._is_urgent = is_urgent
