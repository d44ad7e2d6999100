"""Sending a core Reply to a chat directly: in order, as Telegram HTML, retried in memory.

Replies normally go through the durable outbox (bot/telegram/outbox.py); this direct path is
for a reply the outbox cannot take (the store is down or slow, or a text it cannot name).

- ``reply.messages`` go out one by one; the buttons go under the last one.
- Rate limits (429 RetryAfter) are waited out by PTB's AIORateLimiter; if it gives up, the
  send is retried here too. Urgent sends skip the limiter's shared queue (rate_limit.py).
- Network errors (5xx, dropped connections, timeouts) are retried with exponential backoff.
  The urgent policy (overdose and crisis replies) tries longer: one transient failure must never
  lose an emergency number. A retried send may rarely arrive twice; for an emergency that is
  the right trade.
- A chat that blocked the bot (403 Forbidden) is dropped quietly: the rest is not sent.
- If Telegram cannot parse a message's HTML, it is re-sent once as plain text, so a content
  mistake can never swallow a message.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from bot import metrics
from bot.content.html_format import html_to_text
from bot.reply.model import Reply
from bot.telegram.keyboards import inline_keyboard
from bot.telegram.ptb_private import retry_after_seconds
from bot.telegram.rate_limit import URGENT_SEND

_log = logging.getLogger(__name__)

URGENT_ROUTES = frozenset({"overdose", "crisis"})
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


@dataclass(frozen=True)
class RetryPolicy:
    """How often to try one send, and how long to wait between tries."""

    attempts: int
    first_delay: float
    max_delay: float

    def delay(self, failed_attempts: int) -> float:
        return min(self.max_delay, self.first_delay * 2 ** (failed_attempts - 1))


@dataclass(frozen=True)
class DeliveryPolicy:
    normal: RetryPolicy = RetryPolicy(attempts=4, first_delay=0.5, max_delay=5.0)
    urgent: RetryPolicy = RetryPolicy(attempts=10, first_delay=0.5, max_delay=8.0)


class ChatUnreachable(Exception):
    """The chat blocked the bot or is gone; stop sending to it."""


class Delivery:
    """Sends replies with retries. One instance per application."""

    def __init__(self, policy: DeliveryPolicy | None = None) -> None:
        self.policy = policy or DeliveryPolicy()

    async def send_reply(
        self,
        bot: Bot,
        chat_id: int,
        reply: Reply,
        *,
        reply_markup: InlineKeyboardMarkup | None = None,
    ) -> bool:
        """Send every message of ``reply`` in order; return False if the chat is unreachable.

        The keyboard is built from ``reply.buttons`` only after the first message is out
        (``reply_markup`` overrides it).
        """
        urgent = reply.route in URGENT_ROUTES
        last = len(reply.messages) - 1
        delivered = True
        try:
            for index, text in enumerate(reply.messages):
                markup = None
                if index == last:
                    markup = reply_markup or inline_keyboard(reply.buttons)
                sent = await self.send_text(bot, chat_id, text, markup=markup, urgent=urgent)
                delivered = delivered and sent is not None
                if urgent and index == 0 and sent is not None:
                    metrics.emergency_answered(reply.route)
        except ChatUnreachable:
            return False
        if delivered:
            metrics.reply_sent(reply.route)
        return True

    async def send_text(
        self,
        bot: Bot,
        chat_id: int,
        text: str,
        *,
        markup: InlineKeyboardMarkup | None = None,
        urgent: bool = False,
    ) -> Message | None:
        """Send one HTML message, retrying as the policy says. None if it could not be sent."""
        token = URGENT_SEND.set(urgent)  # the rate limiter lets emergencies go first
        try:
            return await self._send_text(bot, chat_id, text, markup=markup, urgent=urgent)
        finally:
            URGENT_SEND.reset(token)

    async def send_once(
        self,
        bot: Bot,
        chat_id: int,
        text: str,
        *,
        markup: InlineKeyboardMarkup | None = None,
        urgent: bool = False,
    ) -> Message | None:
        """One try at one message (the outbox's fast path when the store is slow)."""
        token = URGENT_SEND.set(urgent)
        try:
            return await self._send_text(bot, chat_id, text, markup=markup, urgent=urgent,
                                         policy=RetryPolicy(1, 0.0, 0.0))
        finally:
            URGENT_SEND.reset(token)

    async def _send_text(
        self,
        bot: Bot,
        chat_id: int,
        text: str,
        *,
        markup: InlineKeyboardMarkup | None,
        urgent: bool,
        policy: RetryPolicy | None = None,
    ) -> Message | None:
        if policy is None:
            policy = self.policy.urgent if urgent else self.policy.normal
        parse_mode: str | None = ParseMode.HTML
        for attempt in range(1, policy.attempts + 1):
            try:
                message = await bot.send_message(
                    chat_id,
                    text,
                    parse_mode=parse_mode,
                    reply_markup=markup,
                    link_preview_options=NO_PREVIEW,
                )
                metrics.message_sent(urgent)
                return message
            except Forbidden as exc:
                metrics.send_failure("forbidden", urgent)
                _log.info("Chat unreachable (%s); reply dropped", type(exc).__name__)
                raise ChatUnreachable from exc
            except ChatMigrated as exc:
                chat_id = exc.new_chat_id
                continue
            except BadRequest as exc:
                if parse_mode is not None and "parse entities" in exc.message.lower():
                    metrics.send_failure("html_refused", urgent)
                    _log.error("Telegram refused the HTML of a message; sending it as plain text")
                    parse_mode, text = None, html_to_text(text)
                    continue
                metrics.send_failure("bad_request", urgent)
                _log.error("Telegram refused a message: %s", exc.message)
                return None
            except RetryAfter as exc:
                wait = _retry_after_seconds(exc)
                _log.warning("Still rate limited; waiting %.1f s (attempt %d)", wait, attempt)
                await asyncio.sleep(wait)
            except NetworkError as exc:  # includes TimedOut, 5xx, dropped connections
                metrics.send_failure("network", urgent)
                if attempt == policy.attempts:
                    break
                delay = policy.delay(attempt)
                _log.warning(
                    "Send failed (%s); retry %d of %d in %.1f s",
                    type(exc).__name__,
                    attempt,
                    policy.attempts - 1,
                    delay,
                )
                await asyncio.sleep(delay)
        metrics.send_failure("gave_up", urgent)
        _log.error(
            "Gave up sending %s message after %d attempts",
            "an urgent" if urgent else "a",
            policy.attempts,
        )
        return None


def _retry_after_seconds(exc: RetryAfter) -> float:
    return retry_after_seconds(exc) + 0.1
