"""PTB's private members the bot relies on (bot/telegram/ptb_private.py) still exist and
still work as assumed. If this fails after a PTB upgrade, fix ptb_private.py first."""

from __future__ import annotations

import datetime as dt
import inspect

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

from bot.telegram.ptb_private import RATE_LIMITER_HOOK, retry_after_seconds
from bot.telegram.rate_limit import UrgentFirstRateLimiter


def test_the_rate_limiter_hook_exists_with_the_signature_we_override():
    hook = getattr(AIORateLimiter, RATE_LIMITER_HOOK, None)
    assert hook is not None, "AIORateLimiter._run_request is gone: emergencies would queue"
    params = list(inspect.signature(hook).parameters)
    assert params[:2] == ["self", "chat"], params
    assert RATE_LIMITER_HOOK in UrgentFirstRateLimiter.__dict__


def test_retry_after_keeps_its_private_timedelta():
    exc = RetryAfter(dt.timedelta(seconds=7))
    assert isinstance(getattr(exc, "_retry_after", None), dt.timedelta)
    assert retry_after_seconds(exc) == 7.0
