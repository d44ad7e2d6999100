"""Local experiments for fixes proposed outside benchmarks/ (applied in a benchmark process only).

Nothing here edits bot/ or the venv: each experiment patches one object in the process that
runs it (``e2e_bot.py --experiment NAME``), so ``bench_e2e.py`` shows before/after figures on
the same load in the same run. README.md ("Bottlenecks and proposed fixes") describes the real
change each one stands for.

- ``no_overall_limit``: ``AIORateLimiter(overall_max_rate=0)``: no 30 messages/s bucket
  (Telegram's 429 answers are still waited out; the per-group limit stays). An upper bound of
  what the limiter costs, not a proposal: it ignores Telegram's broadcast limit.
- ``urgent_first``: the proposal. Overdose and crisis replies skip the overall 30/s bucket (they
  still wait out a 429 ``retry_after`` like every request); every other reply is limited as
  before. Delivery marks its urgent sends in a ContextVar; a subclass of AIORateLimiter reads it.
- ``urgent_yield``: the second half of the proposal. In ``PerChatUpdateProcessor.process_update``
  a non-urgent update yields to the event loop once (``await asyncio.sleep(0)``) before it is
  handled, so that when one getUpdates batch brings many updates, every overdose/crisis update
  of the batch is handled (and its reply sent) before the others start their work.
- ``urgent_gate``: like ``urgent_yield``, and non-urgent updates also wait (at most
  ``GATE_MAX_WAIT`` seconds) while any urgent update is being handled, so the overdose replies
  of a burst are sent before any other reply's work resumes.
- ``bounded_matcher(core)`` (core benchmark, not e2e): the matcher's per-message work no longer
  grows with the number of examples. Candidates = the examples listed in *capped* postings: per
  word at most ``POSTINGS_CAP`` examples, taken round robin over the intents that use the word,
  each intent's fewest-word examples (distinct word sets) first; the Dice overlap is then
  computed exactly for the candidates, and the character-level top 40 is taken among the
  candidates instead of over every example. Scores are otherwise those of
  ``bot.matcher.Matcher.match`` (as of commit 28074c2): a copy of it with the candidate step
  changed.
- ``near_miss_guard(core)`` (core benchmark): the Normaliser also keeps out of its vocabulary
  an example word whose *squeezed* form (doubled letters collapsed) is one edit from a
  priority (safety) word, as it already does for the word itself. Without it, a typo'd example
  such as "ovrrddose" becomes vocabulary and a user's "ovrdose" is squeezed onto it instead of
  being corrected to "overdose". Applied to a loaded Core (vocabulary and lookup tables
  rebuilt, caches cleared); the matcher keeps its tables, so only routing/normalising change.
- ``sniffio``: makes ``import sniffio`` succeed (a stub answering "asyncio"). httpcore 1.0 runs
  ``import sniffio`` every time it creates a lock or event (several per request); sniffio is not
  installed in this venv (httpx 0.28 no longer depends on it), so every request pays failed
  imports that walk sys.path. Proposal: add ``sniffio`` to the dependencies.
"""

from __future__ import annotations

import contextvars
import sys
import types
from typing import Any

URGENT = contextvars.ContextVar("recovery_bench_urgent", default=False)


def no_overall_limit() -> None:
    import bot.telegram.app as app_module

    real = app_module.AIORateLimiter

    def limiter(**kwargs: Any) -> Any:
        return real(overall_max_rate=0, **kwargs)

    app_module.AIORateLimiter = limiter  # type: ignore[assignment,misc]


def urgent_first() -> None:
    from telegram.ext import AIORateLimiter

    import bot.telegram.app as app_module
    from bot.telegram.delivery import Delivery

    class UrgentFirstRateLimiter(AIORateLimiter):  # type: ignore[misc]
        async def _run_request(self, chat: bool, *args: Any, **kwargs: Any) -> Any:
            # chat=False: PTB applies no overall bucket (only retry_after and group limits)
            return await super()._run_request(chat and not URGENT.get(), *args, **kwargs)

    send_text = Delivery.send_text

    async def marked_send_text(self: Delivery, *args: Any, urgent: bool = False,
                               **kwargs: Any) -> Any:
        token = URGENT.set(urgent)
        try:
            return await send_text(self, *args, urgent=urgent, **kwargs)
        finally:
            URGENT.reset(token)

    Delivery.send_text = marked_send_text  # type: ignore[method-assign]
    app_module.AIORateLimiter = UrgentFirstRateLimiter  # type: ignore[misc]


def urgent_yield() -> None:
    import asyncio

    from telegram.ext import BaseUpdateProcessor

    from bot.telegram import concurrency

    async def process_update(self: Any, update: object, coroutine: Any) -> None:
        # bot/telegram/concurrency.py's PerChatUpdateProcessor.process_update plus one line
        chat_id = concurrency._chat_id(update)
        if chat_id is None or self._urgent(update):
            await BaseUpdateProcessor.process_update(self, update, coroutine)
            return
        await asyncio.sleep(0)  # the added line: urgent updates of this batch go first
        queue = self._queues.setdefault(chat_id, concurrency._ChatQueue())
        queue.users += 1
        try:
            async with queue.lock:
                await BaseUpdateProcessor.process_update(self, update, coroutine)
        finally:
            queue.users -= 1
            if queue.users == 0:
                del self._queues[chat_id]

    concurrency.PerChatUpdateProcessor.process_update = process_update  # type: ignore[method-assign]


GATE_MAX_WAIT = 1.0


def urgent_gate() -> None:
    import asyncio
    import contextlib

    from telegram.ext import BaseUpdateProcessor

    from bot.telegram import concurrency

    async def process_update(self: Any, update: object, coroutine: Any) -> None:
        if not hasattr(self, "_calm"):
            self._calm, self._urgent_running = asyncio.Event(), 0
            self._calm.set()
        chat_id = concurrency._chat_id(update)
        if chat_id is None or self._urgent(update):
            self._urgent_running += 1
            self._calm.clear()
            try:
                await BaseUpdateProcessor.process_update(self, update, coroutine)
            finally:
                self._urgent_running -= 1
                if not self._urgent_running:
                    self._calm.set()
            return
        await asyncio.sleep(0)  # let the urgent updates of this batch register first
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._calm.wait(), GATE_MAX_WAIT)
        queue = self._queues.setdefault(chat_id, concurrency._ChatQueue())
        queue.users += 1
        try:
            async with queue.lock:
                await BaseUpdateProcessor.process_update(self, update, coroutine)
        finally:
            queue.users -= 1
            if queue.users == 0:
                del self._queues[chat_id]

    concurrency.PerChatUpdateProcessor.process_update = process_update  # type: ignore[method-assign]


def sniffio() -> None:
    stub = types.ModuleType("sniffio")
    stub.current_async_library = lambda: "asyncio"  # type: ignore[attr-defined]
    sys.modules.setdefault("sniffio", stub)


POSTINGS_CAP = 64


def bounded_matcher(core: Any) -> None:
    import itertools
    from collections import defaultdict

    from rapidfuzz import fuzz, process

    from bot import matcher as m

    built = core.matcher

    class BoundedMatcher(type(built)):  # type: ignore[misc]
        def __init__(self) -> None:  # adopt the built tables, add capped postings
            self.__dict__.update(built.__dict__)
            self._token_sets = [frozenset(t.split()) for t in self._texts]
            capped: dict[str, list[int]] = {}
            for token, postings in self._postings.items():
                groups: dict[int, list[int]] = defaultdict(list)
                for i in postings:
                    groups[self._owners[i]].append(i)
                ranked: list[list[int]] = []
                for members in groups.values():
                    seen: set[frozenset[str]] = set()
                    distinct, repeats = [], []
                    for i in sorted(members, key=lambda i: (self._weights[i], i)):
                        (repeats if self._token_sets[i] in seen else distinct).append(i)
                        seen.add(self._token_sets[i])
                    ranked.append(distinct + repeats)
                # round robin over the intents: each gets its fewest-word examples first
                kept = [i for row in itertools.zip_longest(*ranked) for i in row
                        if i is not None][:POSTINGS_CAP]
                capped[token] = kept
            self._capped = capped

        def match(self, message: Any, limit: int = 5) -> Any:
            tokens = self._content(message.tokens)[:m.MAX_QUERY_TOKENS]
            if not tokens:
                return m.Match((), in_scope=False)
            n = len(self.intents)
            unique = list(dict.fromkeys(tokens))
            weights = {t: self._idf.get(t, self._unknown_idf) for t in unique}
            query_weight = sum(weights.values())
            candidates = list(dict.fromkeys(i for t in unique for i in self._capped.get(t, ())))
            dice = {}
            for i in candidates:
                ts = self._token_sets[i]
                w = sum(weights[t] for t in unique if t in ts)
                dice[i] = 200.0 * w / (query_weight + self._weights[i])
            sorted_query = " ".join(sorted(tokens))
            texts = [self._texts[i] for i in candidates]
            char_level = {candidates[j]: score for _, score, j in process.extract(
                sorted_query, texts, scorer=fuzz.ratio, limit=m.CHAR_CANDIDATES,
                score_cutoff=m.SORT_CUTOFF)}
            best_shared = sorted(dice, key=dice.__getitem__, reverse=True)[:m.SHARED_CANDIDATES]
            example = [0.0] * n
            for i in char_level.keys() | set(best_shared):
                char = char_level.get(i)
                if char is None:
                    char = fuzz.ratio(sorted_query, self._texts[i])
                score = (dice.get(i, 0.0) + char) / 2.0
                owner = self._owners[i]
                if score > example[owner]:
                    example[owner] = score
            overlap = [0.0] * n
            for t, w in weights.items():
                for i in self._intents_with.get(t, ()):
                    overlap[i] += 100.0 * w / query_weight
            keyword = [0.0] * n
            present = set(message.tokens)
            for first in present:
                for kw, owner, weight in self._keywords.get(first, ()):
                    if weight > keyword[owner] and m._contains(message.tokens, kw):
                        keyword[owner] = weight
            total = [m.W_EXAMPLE * e + m.W_OVERLAP * o + m.W_KEYWORD * k
                     for e, o, k in zip(example, overlap, keyword, strict=True)]
            order = sorted(range(n), key=lambda i: -total[i])[:limit]
            scores = tuple((self.intents[i], round(total[i], 1)) for i in order)
            other_subject = any(p[0] in present and m._contains(message.tokens, p)
                                for p in self.out_of_scope)
            in_scope = not other_subject or bool(set(message.words) & self.domain)
            return m.Match(scores, in_scope=in_scope)

    core.matcher = BoundedMatcher()


def near_miss_guard(core: Any) -> int:
    """Apply the guard to ``core.normalise``; return how many words left the vocabulary."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    from bot.normalize import squeeze, to_tokens

    content, n = core.content, core.normalise
    top: set[str] = set()  # the priority words, as Core.__init__ collects them
    for rules in (content.safety.overdose, content.safety.crisis):
        for rule in rules:
            for group in rule.all:
                for phrase in group:
                    top.update(to_tokens(phrase))
    top.update(t for w in content.synonyms.domain for t in to_tokens(w))
    for key, value in n._phrases.items():
        top.update(key)
        top.update(value)
    top_long = sorted(w for w in top if len(w) >= 5 and w.isalpha())
    extra = {w for w in n.vocabulary - top - n._english
             if len(w) >= 5 and w.isalpha() and squeeze(w) != w
             and process.extractOne(squeeze(w), top_long, scorer=OSA.distance,
                                    score_cutoff=1) is not None}
    n.vocabulary = n.vocabulary - extra
    n._squeezed = {}
    for word in sorted(n.vocabulary):
        n._squeezed.setdefault(squeeze(word), word)
    n._candidates = sorted(w for w in n.vocabulary if len(w) >= 5 and w.isalpha())
    for cache in ("correct", "_stretched", "_unglued"):
        if hasattr(getattr(n, cache, None), "cache_clear"):
            getattr(n, cache).cache_clear()
    return len(extra)


EXPERIMENTS = {"no_overall_limit": no_overall_limit, "urgent_first": urgent_first,
               "urgent_yield": urgent_yield, "urgent_gate": urgent_gate, "sniffio": sniffio}
