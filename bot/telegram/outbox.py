"""The durable outbox: every reply is written to the state store before it is sent, and each
message is removed when Telegram confirms it. Nothing is lost to an outage or a restart.

How a reply travels::

    Shell.send -> Outbox.send: encode (bot/telegram/outbox_codec.py: what each message is,
    never its text) -> store.outbox_add (one transaction) -> the chat's sender -> Telegram
    -> store.outbox_done

- **Order.** One sender per chat sends its rows one at a time: the rows of a send with an
  emergency reply (overdose, crisis) in it first, then the rest in the order they were queued,
  so message 1 always arrives before 2 and 3. Chats are independent of each other.
- **Retries.** A send that fails (5xx, refused connection, timeout) is retried with
  exponential backoff (:class:`OutboxPolicy`), through outages of any length and restarts
  (the rows are in the store; the next start resumes them). An emergency message is retried
  with no limit on attempts for :attr:`OutboxPolicy.urgent_window` (30 minutes: after that it
  is no longer useful); an ordinary one for :attr:`OutboxPolicy.normal_window` (10 minutes),
  then dropped and counted (``recovery_bot_outbox_dropped``). A 429 waits its ``retry_after``
  (the rate limiter also pauses the chat, bot/telegram/rate_limit.py).
- **Duplicates.** Telegram has no idempotency key. A refused connection or a 5xx answer
  means the message did not arrive: it is resent. A *read* timeout means it may have arrived.
  The rule chosen: a message whose attempt may have arrived is resent only if the chat has had
  no message from the bot since (always true here: a chat's messages go one at a time, in
  order) and only once per reply: after one such blind resend, a later read timeout of the
  same reply counts as delivered. So a reply is duplicated at most once (one message twice),
  and the price is that if Telegram really lost a request after a second read timeout, that
  message of the reply is lost; an emergency reply has already had its one resend by then. A
  process killed while a request is in flight resends that message after the restart (the row
  is still there): one possible duplicate per kill.
- **Replicas.** With PostgreSQL a chat's rows are sent by one process at a time: the sender
  holds a lease on the chat (``outbox_leases``, :attr:`OutboxPolicy.lease` seconds, renewed
  before every send). A replica that is killed stops renewing; when its lease expires another
  replica's scan (every :attr:`OutboxPolicy.scan` seconds) takes the chat over.
- **Shutdown.** :meth:`Outbox.stop` waits up to :attr:`OutboxPolicy.drain` seconds for the
  senders to finish, then leaves the rest in the store (and gives up its leases at once) for
  the next start or another replica.
- **The store failing never silences a reply** (bot/telegram/delivery.py does the direct
  send): a reply that cannot be written (store down, or an emergency whose write takes longer
  than :attr:`OutboxPolicy.urgent_write_timeout`) or cannot be named by reference is sent
  directly, in memory, with the old retry loop, and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot import metrics
from bot.content.html_format import html_to_text
from bot.reply.model import Reply
from bot.store.base import StoreError, ThreadedStore
from bot.store.outbox import OutboxRow
from bot.telegram.confirm import REPLY_STORED
from bot.telegram.delivery import NO_PREVIEW, URGENT_ROUTES, ChatUnreachable, Delivery
from bot.telegram.keyboards import inline_keyboard
from bot.telegram.outbox_codec import ReplyCodec, UnknownReference
from bot.telegram.ptb_private import retry_after_seconds
from bot.telegram.rate_limit import URGENT_SEND

_log = logging.getLogger(__name__)
MICRO = 1_000_000


@dataclass(frozen=True)
class OutboxPolicy:
    first_delay: float = 0.5  # seconds before the first retry; doubled each time
    max_delay: float = 30.0  # at most this between two tries of an ordinary message
    urgent_max_delay: float = 4.0  # at most this between two tries of an emergency message
    urgent_window: float = 30 * 60  # an emergency message is tried this long, then dropped
    normal_window: float = 10 * 60  # an ordinary message is tried this long, then dropped
    lease: float = 30.0  # seconds a chat's lease lasts unless renewed
    scan: float = 2.0  # seconds between looks for rows without a live sender
    drain: float = 4.0  # at shutdown, seconds to wait for the outbox to empty
    send_wait: float = 3.0  # Shell.send waits at most this long for its messages
    urgent_write_timeout: float = 1.0  # an emergency waits this long for the store write

    def delay(self, attempts: int, urgent: bool) -> float:
        cap = self.urgent_max_delay if urgent else self.max_delay
        return min(cap, self.first_delay * 2 ** max(0, attempts - 1))


@dataclass
class _Sender:
    task: asyncio.Task[None]
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class Outbox:
    """One per application. :meth:`start` after the application is initialized (the store is
    open); :meth:`stop` before it shuts down."""

    def __init__(
        self,
        codec: ReplyCodec,
        delivery: Delivery,
        policy: OutboxPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.codec = codec
        self.delivery = delivery
        self.policy = policy or OutboxPolicy()
        self.clock = clock  # wall-clock seconds: rows carry times across restarts
        self.store: ThreadedStore | None = None
        self.bot: Bot | None = None
        self._senders: dict[int, _Sender] = {}
        self._waiters: dict[int, asyncio.Future[bool]] = {}
        self._skip: set[int] = set()  # rows already sent directly (their write was late)
        self._held: set[str] = set()  # replies whose first message may be going directly
        self._scanner: asyncio.Task[None] | None = None
        self._wake_scan = asyncio.Event()
        self._running = False

    # -- lifecycle ---------------------------------------------------------------------------

    def attach(self, store: ThreadedStore | None, bot: Bot) -> None:
        self.store, self.bot = store, bot

    async def start(self) -> None:
        if self.store is None or self._running:
            return
        if not self.store.shared:  # SQLite: a lease left by a killed run is this bot's own
            try:
                await self.store.outbox_clear_leases()
            except StoreError as exc:
                _log.warning("Could not clear the outbox leases: %s", exc)
        self._running = True
        self._scanner = asyncio.create_task(self._scan_forever(), name="outbox-scan")

    @property
    def running(self) -> bool:
        return self._running

    async def stop(self, drain: float | None = None) -> int:
        """Wait up to ``drain`` seconds for the senders, stop them; return rows left."""
        if not self._running:
            return 0
        wait = self.policy.drain if drain is None else drain
        deadline = time.monotonic() + wait
        while self._senders and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        self._running = False
        tasks = [s.task for s in self._senders.values()]
        if self._scanner is not None:
            tasks.append(self._scanner)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._senders.clear()
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_result(True)  # still queued: the next start sends it
        self._waiters.clear()
        left = 0
        if self.store is not None:
            try:
                left = await self.store.outbox_size()
                await self.store.outbox_release()
            except StoreError as exc:
                _log.warning("Could not hand the outbox over at shutdown: %s", exc)
        if left:
            _log.warning("%d queued messages left in the outbox for the next start", left)
        return left

    # -- sending -----------------------------------------------------------------------------

    async def send(self, bot: Bot, chat_id: int, replies: Sequence[Reply]) -> bool:
        """Queue ``replies`` for ``chat_id`` and wait (at most ``send_wait``) for them. False if
        the chat turned out to be unreachable; True if delivered or still queued."""
        replies = [r for r in replies if r.messages]
        if not replies:
            return True
        if self.store is None or not self._running:
            return await self._send_directly(bot, chat_id, replies, "the outbox is not running")
        rows = self._rows(chat_id, replies)
        if rows is None:
            metrics.outbox_direct("unstorable")
            return await self._send_directly(bot, chat_id, replies, None)
        urgent = any(r.urgent for r in rows)
        key = rows[0].reply_key
        if urgent:
            self._held.add(key)  # not sent by the outbox until we know what went directly
        write = asyncio.ensure_future(self.store.outbox_add(rows))
        try:
            timeout = self.policy.urgent_write_timeout if urgent else None
            ids = await asyncio.wait_for(asyncio.shield(write), timeout)
        except StoreError as exc:
            self._held.discard(key)
            metrics.outbox_direct("store_error")
            return await self._send_directly(bot, chat_id, replies, str(exc))
        except TimeoutError:
            # The store is slow: the emergency number goes out now (one try), the rest once
            # the rows are written, through the outbox (so an outage cannot lose them).
            metrics.outbox_direct("store_slow")
            _log.warning("The outbox write is slow; sending the emergency message directly")
            sent = await self._send_first_directly(bot, chat_id, replies[0])
            try:
                ids = await write
            except StoreError as exc:
                self._held.discard(key)
                first = replies[0]
                rest = [dataclasses.replace(first, messages=first.messages[1:])] if sent \
                    else [first]
                return await self._send_directly(bot, chat_id, [*rest, *replies[1:]], str(exc))
            if sent:
                self._skip.add(ids[0])
        finally:
            if not write.done():
                write.cancel()
        self._held.discard(key)
        stored = REPLY_STORED.get()
        if stored is not None:
            stored()  # durable now: the update may be confirmed to Telegram
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in ids]
        self._waiters.update(zip(ids, futures, strict=True))
        self._wake(chat_id)
        done, _ = await asyncio.wait(futures, timeout=self.policy.send_wait)
        return all(f.result() for f in done)

    async def _send_first_directly(self, bot: Bot, chat_id: int, reply: Reply) -> bool:
        """One try at the first message of ``reply``; True if Telegram confirmed it."""
        markup = inline_keyboard(reply.buttons) if len(reply.messages) == 1 else None
        try:
            message = await self.delivery.send_once(bot, chat_id, reply.messages[0],
                                                    markup=markup, urgent=True)
        except ChatUnreachable:
            return False
        if message is not None:
            metrics.emergency_answered(reply.route)
        return message is not None

    def _rows(self, chat_id: int, replies: Sequence[Reply]) -> list[OutboxRow] | None:
        now = self._now_us()
        rows = []
        # A call with an emergency in it goes first as a whole, in its own order (a country
        # confirmation before the crisis reply it updates).
        urgent = any(reply.route in URGENT_ROUTES for reply in replies)
        for reply in replies:
            encoded = self.codec.encode(reply)
            if encoded is None:
                return None
            refs, buttons = encoded
            key = uuid.uuid4().hex
            last = len(refs) - 1
            for part, ref in enumerate(refs):
                rows.append(OutboxRow(chat_id, urgent, reply.route, key, part, len(refs), ref,
                                      buttons if part == last else "", now, now))
        return rows

    async def _send_directly(self, bot: Bot, chat_id: int, replies: Sequence[Reply],
                             why: str | None) -> bool:
        if why is not None:
            _log.warning("Sending a reply directly, without the outbox: %s", why)
        for reply in replies:
            if not await self.delivery.send_reply(bot, chat_id, reply):
                return False
        return True

    def _wake(self, chat_id: int) -> None:
        sender = self._senders.get(chat_id)
        if sender is not None and not sender.task.done():
            sender.wake.set()
            return
        if self._running:
            self._start_sender(chat_id)

    def _start_sender(self, chat_id: int) -> None:
        task = asyncio.create_task(self._send_chat(chat_id), name=f"outbox-{chat_id}")
        self._senders[chat_id] = _Sender(task)

    # -- the scanner: rows nobody is sending (a restart, a dead replica, a retry due) ----------

    async def _scan_forever(self) -> None:
        assert self.store is not None
        while self._running:
            try:
                chats = await self.store.outbox_chats(self._now_us())
            except StoreError as exc:
                _log.warning("Could not look at the outbox: %s", exc)
                chats = []
            for chat_id, _urgent in chats:  # urgent chats first
                if chat_id not in self._senders:
                    self._start_sender(chat_id)
            self._wake_scan.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_scan.wait(), self.policy.scan)

    # -- one chat's sender -------------------------------------------------------------------

    async def _send_chat(self, chat_id: int) -> None:
        store = self.store
        assert store is not None
        me = self._senders.get(chat_id)
        try:
            while self._running:
                if me is not None:
                    me.wake.clear()
                now = self._now_us()
                try:
                    if not await store.outbox_lease(chat_id, now,
                                                    now + int(self.policy.lease * MICRO)):
                        return  # another replica sends this chat
                    rows = await store.outbox_rows(chat_id)
                except StoreError as exc:
                    _log.warning("Could not read the outbox: %s", exc)
                    await self._pause(me, self.policy.first_delay)
                    continue
                if not rows:
                    with contextlib.suppress(StoreError):
                        await store.outbox_release(chat_id)
                    return
                row = rows[0]
                if row.reply_key in self._held:  # its first message may be going directly
                    await self._pause(me, 0.05)
                    continue
                wait = (row.not_before - now) / MICRO
                if wait > 0:
                    await self._pause(me, min(wait, self.policy.lease / 3))
                    continue
                try:
                    await self._attempt(store, row, rows)
                except StoreError as exc:
                    _log.warning("The outbox could not record a send: %s", exc)
                    await self._pause(me, self.policy.first_delay)
        finally:
            if self._senders.get(chat_id) is me:
                self._senders.pop(chat_id, None)

    async def _pause(self, sender: _Sender | None, seconds: float) -> None:
        if sender is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sender.wake.wait(), seconds)

    async def _attempt(self, store: ThreadedStore, row: OutboxRow,
                       rows: list[OutboxRow]) -> None:
        now = self.clock()
        age = now - row.created_at / MICRO
        window = self.policy.urgent_window if row.urgent else self.policy.normal_window
        if row.id in self._skip:  # sent directly while its write was slow
            self._skip.discard(row.id)
            await store.outbox_done([row.id])
            self._settle([row.id], True)
            return
        if age > window:
            metrics.outbox_dropped(row.route)
            _log.error("Dropped %s message after %.0f s of failed sends",
                       "an urgent" if row.urgent else "a", age)
            await store.outbox_done([row.id])
            self._settle([row.id], True)
            return
        try:
            text = self.codec.text(row.message)
            buttons = self.codec.buttons(row.buttons)
        except UnknownReference:
            _log.error("A queued message is no longer in the content; dropped")
            await store.outbox_done([row.id])
            self._settle([row.id], True)
            return
        outcome = await self._send_one(row, text, inline_keyboard(buttons))
        if outcome == "sent" or outcome == "refused":
            if outcome == "sent":
                if row.route in URGENT_ROUTES and row.part == 0:
                    metrics.emergency_answered(row.route)
                if row.part == row.parts - 1:
                    metrics.reply_sent(row.route)
            await store.outbox_done([row.id])
            self._settle([row.id], True)
        elif outcome == "unreachable":
            ids = [r.id for r in rows]
            await store.outbox_drop_chat(row.chat_id)
            self._settle(ids, False)
        elif outcome == "doubt":
            if row.doubtful:  # this reply already had its one blind resend
                metrics.outbox_assumed_delivered()
                await store.outbox_done([row.id])
                self._settle([row.id], True)
            else:
                await store.outbox_doubt(row.reply_key)
                await store.outbox_retry(row.id, row.attempts + 1, self._now_us())
        elif isinstance(outcome, float):  # rate limited: wait as told
            await store.outbox_retry(row.id, row.attempts, self._now_us(outcome))
        else:  # "failed": back off
            attempts = row.attempts + 1
            delay = self.policy.delay(attempts, row.urgent)
            _log.warning("Send failed; retry %d in %.1f s", attempts, delay)
            await store.outbox_retry(row.id, attempts, self._now_us(delay))

    async def _send_one(self, row: OutboxRow, text: str, markup: Any) -> str | float:
        """One try: "sent", "refused" (400: never retried), "unreachable" (403), "doubt" (it
        may have arrived), "failed", or seconds to wait (429)."""
        bot = self.bot
        assert bot is not None
        token = URGENT_SEND.set(row.urgent)
        chat_id = row.chat_id
        parse_mode: str | None = ParseMode.HTML
        try:
            for _ in range(3):  # the chat moved, or the HTML was refused: try again at once
                try:
                    message: Message = await bot.send_message(
                        chat_id, text, parse_mode=parse_mode, reply_markup=markup,
                        link_preview_options=NO_PREVIEW)
                    metrics.message_sent(row.urgent)
                    del message
                    return "sent"
                except Forbidden as exc:
                    metrics.send_failure("forbidden", row.urgent)
                    _log.info("Chat unreachable (%s); its queued messages dropped",
                              type(exc).__name__)
                    return "unreachable"
                except ChatMigrated as exc:
                    chat_id = exc.new_chat_id
                except BadRequest as exc:
                    if parse_mode is not None and "parse entities" in exc.message.lower():
                        metrics.send_failure("html_refused", row.urgent)
                        _log.error("Telegram refused the HTML of a message; sending it as "
                                   "plain text")
                        parse_mode, text = None, html_to_text(text)
                        continue
                    metrics.send_failure("bad_request", row.urgent)
                    _log.error("Telegram refused a message: %s", exc.message)
                    return "refused"
                except RetryAfter as exc:
                    return retry_after_seconds(exc) + 0.1
                except TimedOut as exc:
                    metrics.send_failure("network", row.urgent)
                    if _may_have_arrived(exc):
                        _log.warning("A send timed out waiting for Telegram's answer")
                        return "doubt"
                    return "failed"
                except NetworkError:  # 5xx, refused or dropped connections
                    metrics.send_failure("network", row.urgent)
                    return "failed"
            return "refused"
        finally:
            URGENT_SEND.reset(token)

    def _settle(self, ids: Sequence[int], ok: bool) -> None:
        for rid in ids:
            waiter = self._waiters.pop(rid, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(ok)

    def _now_us(self, later: float = 0.0) -> int:
        return int((self.clock() + later) * MICRO)


def _may_have_arrived(exc: TimedOut) -> bool:
    """A read (answer) timeout: the request was sent and may have been carried out. A connect
    or pool timeout means it never left."""
    return type(exc.__cause__).__name__ == "ReadTimeout"
