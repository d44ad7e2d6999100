"""The safety check: overdose and suicide detection on the whole message, always first.

Rules come from the ``safety/`` content folder (``rules.yaml`` names word sets whose
members, per language, are in ``lang/*.yaml``; ``bot.content.load`` merges them). Phrases
are normalised with the same Normaliser as messages, then matched as token sequences, so
typos, spacing, look-alike letters and slang are handled once, in ``normalize``.

A matched phrase that is negated ("i am not suicidal") or in the past ("he overdosed in
2019") does not count, unless the message also shows danger now (``_Context``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.content.models import SafetyFile, SafetyRule
from bot.text.normalize import Normalised

Phrase = tuple[str, ...]
Span = tuple[int, int]
MANY = "#many"  # a number of 5 or more: "took 30 tablets"
NUMBER = "#number"  # any number: "2 years ago"
YEAR = "#year"  # a year before this one: "in 2019"
MANY_MIN = 5
FIRST_YEAR = 1900
UNLESS_WINDOW = 6  # an `unless` phrase cancels a match this many words away or nearer
DANGER_WINDOW = 20  # words around a lowered match where danger now keeps it
TENSE_WINDOW = 8  # ... and where the present tense does ("life is not worth living, last year")
PAST_REACH = 6  # a past time this many words before a match dates it ("two years ago my ...")
# ... and a past time starting at most this many words after it ("a suicide attempt years
# ago"); short, as a message's tokens keep no sentence ends ("... turned her phone off. she
# has used for two years")
PAST_AFTER = 2
TENSE_BEFORE = 2  # the present tense this close before a past match is the match's own
GAP_MAX = 3  # context_gap words allowed between a phrase and what negates or dates it
_PLACEHOLDER = re.compile(r"(?<!\S)(#many|#number|#year)(?!\S)")


Danger = Literal["strong", "weak"] | None


@dataclass(frozen=True, slots=True)
class SafetyResult:
    route: Literal["overdose", "crisis"] | None
    rules: tuple[str, ...] = ()
    also_crisis: bool = False
    exempt_intent: str | None = None  # a question about this intent, not an emergency
    lowered: tuple[str, ...] = ()  # rules whose matches were all negated or in the past
    # rules whose matches were all in the past, kept only because the message is in the
    # present tense: the learned layer may lower them (bot/understand/classify.py)
    weak: tuple[str, ...] = ()


class _Index:
    """Positions of every token of one message, for fast phrase look-ups. A placeholder
    (``#many``, ``#number``, ``#year``) is indexed at every token it stands for."""

    def __init__(self, tokens: Sequence[str], classes: dict[str, Callable[[str], bool]],
                 number_like: frozenset[str]):
        self.tokens = tokens
        self.classes = classes
        self.positions: dict[str, list[int]] = defaultdict(list)
        self.kinds: list[tuple[str, ...]] = []  # per token: the placeholders it matches
        for i, tok in enumerate(tokens):
            self.positions[tok].append(i)
            kinds: tuple[str, ...] = ()
            if tok.isdigit() or tok in number_like:
                kinds = tuple(name for name, test in classes.items() if test(tok))
                for name in kinds:
                    self.positions[name].append(i)
            self.kinds.append(kinds)

    def _token_matches(self, i: int, want: str) -> bool:
        if i < 0 or i >= len(self.tokens):
            return False
        tok = self.tokens[i]
        if tok == want:
            return True
        test = self.classes.get(want) if want[:1] == "#" else None
        return test is not None and test(tok)

    def find(self, phrase: Phrase) -> list[Span]:
        """Every (start, end) where ``phrase`` occurs."""
        # a word (or placeholder) no token matches: nowhere (``positions`` lists every
        # token a word or placeholder matches); most phrases of a rule end here
        if len(phrase) > 1 and phrase[1] not in self.positions:
            return []
        spans = []
        for start in self.positions.get(phrase[0], ()):
            if all(self._token_matches(start + k, w) for k, w in enumerate(phrase[1:], 1)):
                spans.append((start, start + len(phrase)))
        return spans

    def starts_with(self, pos: int, phrase: Phrase) -> bool:
        return all(self._token_matches(pos + k, w) for k, w in enumerate(phrase))

    def ends_with(self, end: int, phrase: Phrase) -> bool:
        start = end - len(phrase)
        return start >= 0 and self.starts_with(start, phrase)


@dataclass(frozen=True)
class _Rule:
    id: str
    groups: tuple[tuple[Phrase, ...], ...]
    unless: tuple[Phrase, ...]
    unless_next: tuple[Phrase, ...]
    unless_prev: tuple[Phrase, ...]
    mention: bool
    weak: bool  # outranked by a crisis match (level: weak)
    with_crisis: bool  # counts only beside a crisis match (level: with_crisis)
    by_first: tuple[dict[str, tuple[Phrase, ...]], ...]  # per group: phrases by first word
    whole: frozenset[Phrase] = frozenset()  # whole-message rules: the messages that fire
    within: int = 0  # groups' phrases this close together (0: anywhere in the message)
    next_index: _Phrases | None = None  # unless_next / unless_prev by first / last word
    prev_index: _Phrases | None = None

    def may_fire(self, present: set[str]) -> bool:
        """Cheap test: every group has a phrase whose first word is in the message."""
        return all(not first.keys().isdisjoint(present) for first in self.by_first)


def _by_first_word(phrases: tuple[Phrase, ...]) -> dict[str, tuple[Phrase, ...]]:
    index: dict[str, list[Phrase]] = defaultdict(list)
    for phrase in phrases:
        index[phrase[0]].append(phrase)
    return {word: tuple(group) for word, group in index.items()}


class _Phrases:
    """Phrases indexed by their first and last word, to find those at a position fast."""

    def __init__(self, phrases: tuple[Phrase, ...]):
        self.all = phrases
        self._first: dict[str, list[Phrase]] = defaultdict(list)
        self._last: dict[str, list[Phrase]] = defaultdict(list)
        for phrase in phrases:
            self._first[phrase[0]].append(phrase)
            self._last[phrase[-1]].append(phrase)

    def starting(self, idx: _Index, pos: int) -> Iterator[Phrase]:
        """The phrases that occur at ``pos``."""
        if 0 <= pos < len(idx.tokens):
            for key in (idx.tokens[pos], *idx.kinds[pos]):
                for phrase in self._first.get(key, ()):
                    if idx.starts_with(pos, phrase):
                        yield phrase

    def at(self, idx: _Index, pos: int) -> bool:
        """Whether one of the phrases occurs at ``pos`` (``idx.starts_with`` for any): a
        phrase can only if its first word is the token there or a placeholder it matches."""
        return next(self.starting(idx, pos), None) is not None

    def before(self, idx: _Index, end: int) -> bool:
        """Whether one of the phrases occurs right before ``end`` (``idx.ends_with``)."""
        return next(self.ending(idx, end), None) is not None

    def ending(self, idx: _Index, end: int) -> Iterator[Phrase]:
        """The phrases that occur right before ``end``."""
        if 0 < end <= len(idx.tokens):
            for key in (idx.tokens[end - 1], *idx.kinds[end - 1]):
                for phrase in self._last.get(key, ()):
                    if idx.ends_with(end, phrase):
                        yield phrase


def _begins_with(phrase: Phrase, heads: Iterable[Phrase]) -> bool:
    return any(phrase[: len(head)] == head for head in heads)


@dataclass(frozen=True)
class _Context:
    """Negation and the past: the context sets of safety/sets.yaml, as phrases."""

    negators: _Phrases
    not_negating: _Phrases
    gap: _Phrases
    signs_of_life: tuple[Phrase, ...]
    markers: _Phrases  # past markers and bereavement words
    danger_now: tuple[Phrase, ...]
    present_tense: tuple[Phrase, ...]
    triggers: frozenset[str]  # first words of negators and markers
    safe_now: tuple[Phrase, ...]  # "i am not in danger": no danger now to keep a match
    times: _Phrases  # the past markers alone ("two years ago", "in 2019")
    clause_breaks: frozenset[str]  # words that start another clause ("and", "now", "pero")

    def _reach(self, idx: _Index, pos: int, step: int) -> Iterator[int]:
        """Positions reached from ``pos`` over at most GAP_MAX context_gap words, going
        back (``step`` -1) or forward (+1). ``pos`` itself first."""
        seen, frontier = {pos}, [pos]
        yield pos
        while frontier:
            nxt = []
            for p in frontier:
                for g in (self.gap.ending(idx, p) if step < 0 else self.gap.starting(idx, p)):
                    q = p - len(g) if step < 0 else p + len(g)
                    if abs(q - pos) <= GAP_MAX and q not in seen:
                        seen.add(q)
                        nxt.append(q)
                        yield q
            frontier = nxt

    def negated(self, idx: _Index, span: Span, phrase: Phrase) -> Span | None:
        """"not suicidal", "never ... kill myself": the negator up to the phrase's end."""
        if _begins_with(phrase, self.negators.all) or _begins_with(phrase, self.signs_of_life):
            return None  # "not breathing", "no respira": the negation is the danger
        start, end = span
        for pos in self._reach(idx, start, -1):
            for neg in self.negators.ending(idx, pos):
                head = pos - len(neg)
                if next(self.not_negating.ending(idx, head), None) is None:
                    return head, end
        return None

    def dating(self, idx: _Index, span: Span, overdose: bool = False) -> Span | None:
        """"overdosed in 2019", "died of an overdose": the marker and the words between;
        for an overdose rule also a time a few words before."""
        start, end = span
        for pos in self._reach(idx, end, +1):
            for marker in self.markers.starting(idx, pos):
                return end, pos + len(marker)
        for pos in self._reach(idx, start, -1):
            for marker in self.markers.ending(idx, pos):
                return pos - len(marker), start
        # "a suicide attempt years ago", "an overdose scare two years ago": a time a few words
        # after, in the same clause ("... and now" stops it); the marker alone is covered
        for pos in range(end, min(end + PAST_AFTER + 1, len(idx.tokens))):
            if idx.tokens[pos] in self.clause_breaks:
                break
            for marker in self.times.starting(idx, pos):
                return pos, pos + len(marker)
        # "two years ago my best friend died of an overdose": a time a few words before (not
        # a bereavement: "since my son died i think about joining him" is grief and danger;
        # nor a death wish: "he died last year and i want to die" is now)
        if not overdose:
            return None
        for pos in range(start - 1, max(start - PAST_REACH, 0) - 1, -1):
            if idx.tokens[pos] in self.clause_breaks:
                return None  # "two years ago he got clean and now he overdosed"
            for marker in self.times.ending(idx, pos):
                # the marker alone: the words between may still say danger now ("he
                # overdosed last year and now she is not breathing")
                return pos - len(marker), pos
        return None

    def danger(self, idx: _Index, present: set[str], covered: list[Span],
               past: bool, matched: Sequence[Span] = ()) -> Danger:
        """Danger now outside the words that lowered the matches: a danger_now phrase, or,
        when a match was lowered as past, the present tense in the matched words or just
        before them ("life is not worth living, last year ..."): "strong". The present tense
        elsewhere only is "weak" ("he overdosed two years ago and is stable now" is in the
        present tense too), and the learned layer settles it. None when there is none."""
        if any(idx.find(p) for p in self.safe_now if p[0] in present):
            return None  # "i'm okay, i'm not in any danger": the writer says there is none
        found: Danger = None
        sets = ((self.danger_now, DANGER_WINDOW, "strong"),
                (self.present_tense, TENSE_WINDOW, "weak")) if past \
            else ((self.danger_now, DANGER_WINDOW, "strong"),)
        for phrases, window, level in sets:
            for phrase in phrases:
                if phrase[0] not in present:
                    continue
                for s, e in idx.find(phrase):
                    if any(s < c_end and e > c_start for c_start, c_end in covered):
                        continue  # one of the words that lowered the match
                    # near the lowered words: in a long post, "i think" or "today" three
                    # sentences later says nothing about the overdose of four years ago
                    if not covered or any(s < c_end + window and e > c_start - window
                                          for c_start, c_end in covered):
                        if level == "strong" or any(m_start - TENSE_BEFORE <= s < m_end
                                                    for m_start, m_end in matched):
                            return "strong"  # danger now, or the matched words' own tense
                        found = "weak"
        return found


class _Calm:
    """Per message: which matched spans are negated or in the past (lazily, memoised)."""

    def __init__(self, context: _Context, idx: _Index):
        self.context = context
        self.idx = idx
        self.covered: list[Span] = []  # the words that lowered a match
        self.matched: list[Span] = []  # the matches lowered
        self.past = False
        self._seen: dict[tuple[Span, Phrase, bool], bool] = {}

    def __call__(self, span: Span, phrase: Phrase, overdose: bool = False) -> bool:
        key = (span, phrase, overdose)
        if key not in self._seen:
            negated = self.context.negated(self.idx, span, phrase)
            dated = None if negated else self.context.dating(self.idx, span, overdose)
            if negated:
                self.covered.append(negated)
            elif dated:
                self.covered.append(dated)
                self.matched.append(span)
                self.past = True
            self._seen[key] = bool(negated or dated)
        return self._seen[key]


class SafetyCheck:
    """Built once from the merged safety rules; ``check`` is pure and allocation-light."""

    def __init__(self, spec: SafetyFile, tokenize: Callable[[str], Sequence[str]],
                 today: dt.date | None = None):
        def phrase(text: str) -> Phrase:
            """Normalised tokens; placeholders kept as they are."""
            out: list[str] = []
            for piece in _PLACEHOLDER.split(text):
                if piece in (MANY, NUMBER, YEAR):
                    out.append(piece)
                elif piece.strip():
                    out.extend(tokenize(piece))
            return tuple(out)

        def phrases(items: list[str]) -> tuple[Phrase, ...]:
            out = (phrase(p) for p in items)
            return tuple(dict.fromkeys(p for p in out if p))

        def words(items: list[str]) -> frozenset[str]:
            return frozenset(p[0] for p in phrases(items) if len(p) == 1)

        def rule(r: SafetyRule) -> _Rule:
            groups = tuple(phrases(g) for g in r.all)
            return _Rule(r.id, groups, phrases(r.unless), phrases(r.unless_next),
                         phrases(r.unless_prev), r.level == "mention", r.level == "weak",
                         r.level == "with_crisis", tuple(_by_first_word(g) for g in groups),
                         frozenset(p for g in groups for p in g) if r.whole_message
                         else frozenset(), r.within or 0,
                         _Phrases(phrases(r.unless_next)), _Phrases(phrases(r.unless_prev)))

        ctx = spec.context
        many = words(ctx.many_words)
        numbers = many | words(ctx.number_words)
        this_year = (today or dt.date.today()).year
        self.classes: dict[str, Callable[[str], bool]] = {
            MANY: lambda t: (t.isdigit() and (len(t) > 3 or int(t) >= MANY_MIN)) or t in many,
            NUMBER: lambda t: t.isdigit() or t in numbers,
            YEAR: lambda t: len(t) == 4 and t.isdigit() and FIRST_YEAR <= int(t) < this_year,
        }
        self.overdose = tuple(rule(r) for r in spec.overdose)
        self.crisis = tuple(rule(r) for r in spec.crisis)
        self.not_drugs = phrases(spec.not_drugs)
        self._not_drugs = _Phrases(self.not_drugs)
        self.exemptions = tuple((e.intent, phrases(e.when_any), phrases(e.with_any),
                                 phrases(e.unless_any)) for e in spec.exemptions)
        negators = phrases(ctx.negators)
        dated = phrases(ctx.past_markers) + phrases(ctx.bereavement_words)
        self.number_like = numbers
        self.context = _Context(
            _Phrases(negators), _Phrases(phrases(ctx.not_negating)),
            _Phrases(phrases(ctx.context_gap)), phrases(ctx.signs_of_life), _Phrases(dated),
            phrases(ctx.danger_now), phrases(ctx.present_tense),
            frozenset(p[0] for p in negators + dated), phrases(ctx.safe_now),
            _Phrases(phrases(ctx.past_markers)), words(ctx.clause_breaks))
        self.hyperbole = phrases(ctx.hyperbole)

    def _joke_object_follows(self, idx: _Index, end: int) -> bool:
        """``overdosed on netflix``, ``an overdose of cuteness``: "on"/"of" then a non-drug
        within three words."""
        if end >= len(idx.tokens) or idx.tokens[end] not in ("on", "off", "of"):
            return False
        return any(self._not_drugs.at(idx, pos)
                   for pos in range(end + 1, min(end + 4, len(idx.tokens))))

    def _fires(self, rule: _Rule, idx: _Index, overdose: bool, present: set[str],
               calm: _Calm | None = None, *, relaxed: bool = False) -> bool:
        """Every group has a phrase that counts (with ``calm``: that is neither negated
        nor in the past)."""
        if rule.whole:
            return tuple(idx.tokens) in rule.whole
        unless = ([] if relaxed else
                  [span for p in rule.unless if p[0] in present for span in idx.find(p)])
        if rule.within:
            return self._fires_near(rule, idx, overdose, present, unless, calm, relaxed)
        for by_first in rule.by_first:
            phrases = (p for word in present & by_first.keys() for p in by_first[word])
            if not any(calm is None or not calm(span, phrase, overdose)
                       for phrase in phrases
                       for span in self._spans(rule, idx, phrase, overdose, unless, relaxed)):
                return False
        return True

    def _fires_near(self, rule: _Rule, idx: _Index, overdose: bool, present: set[str],
                    unless: list[Span], calm: _Calm | None, relaxed: bool) -> bool:
        """``within: N``: a match of the first group with a match of every other group at
        most N words away ("i hope i never wake up", not "i hope he is ok ... he will not
        wake up")."""
        groups: list[list[Span]] = []
        for by_first in rule.by_first:
            phrases = (p for word in present & by_first.keys() for p in by_first[word])
            spans = [span for phrase in phrases
                     for span in self._spans(rule, idx, phrase, overdose, unless, relaxed)
                     if calm is None or not calm(span, phrase, overdose)]
            if not spans:
                return False
            groups.append(spans)
        near = rule.within
        return any(all(any(s < end + near and e > start - near for s, e in other)
                       for other in groups[1:])
                   for start, end in groups[0])

    def _spans(self, rule: _Rule, idx: _Index, phrase: Phrase, overdose: bool,
               unless: list[Span], relaxed: bool = False) -> Iterator[Span]:
        """The places ``phrase`` counts as a match of ``rule`` (``relaxed``: every place,
        with no `unless` phrase cancelling any)."""
        for start, end in idx.find(phrase):
            if relaxed:
                yield start, end
                continue
            # "lips blue from the slushie": an `unless` phrase near the match cancels it;
            # one far away in a long message ("... my puppy ...") does not.
            if any(u_start < end + UNLESS_WINDOW and u_end > start - UNLESS_WINDOW
                   for u_start, u_end in unless):
                continue
            assert rule.next_index is not None and rule.prev_index is not None
            if rule.next_index.at(idx, end) or rule.next_index.at(idx, end + 1):
                continue
            if rule.prev_index.before(idx, start):
                continue
            if overdose and self._joke_object_follows(idx, end):
                continue
            yield start, end

    def check(self, message: Normalised) -> SafetyResult:
        idx = _Index(message.tokens, self.classes, self.number_like)
        present = set(idx.positions)
        od = [r for r in self.overdose
              if r.may_fire(present) and self._fires(r, idx, True, present)]
        crisis_rules = [r for r in self.crisis
                        if r.may_fire(present) and self._fires(r, idx, False, present)]
        lowered: tuple[str, ...] = ()
        weak: tuple[str, ...] = ()
        # Negated and past matches do not count. When nothing else is left, danger now in
        # the rest of the message ("... and now i want to join him") keeps them.
        # Only a message with a negator or a past marker can lower a match.
        if (od or crisis_rules) and not self.context.triggers.isdisjoint(present):
            calm = _Calm(self.context, idx)
            od_live = [r for r in od if self._fires(r, idx, True, present, calm)]
            crisis_live = [r for r in crisis_rules if self._fires(r, idx, False, present, calm)]
            if (len(od_live), len(crisis_live)) != (len(od), len(crisis_rules)):
                danger = None if (od_live or crisis_live) else \
                    self.context.danger(idx, present, calm.covered, calm.past, calm.matched)
                if danger != "strong":
                    lowered = tuple(r.id for r in (*od, *crisis_rules)
                                    if r not in od_live and r not in crisis_live)
                if danger is None:
                    od, crisis_rules = od_live, crisis_live
                elif danger == "weak":
                    weak = lowered  # kept by the present tense alone
                    lowered = ()
        crisis = tuple(r.id for r in crisis_rules)
        # the drugs at hand count only beside a death wish; with one they make it a plan
        # to overdose (the steps first, the crisis line added)
        od = [r for r in od if not r.with_crisis] if not crisis else od
        if od and all(r.mention for r in od) and not crisis:
            for intent, when_any, with_any, unless_any in self.exemptions:
                if any(idx.find(p) for p in when_any) and (
                    not with_any or any(idx.find(p) for p in with_any)
                ) and not any(idx.find(p) for p in unless_any):
                    return SafetyResult(None, tuple(r.id for r in od), exempt_intent=intent,
                                        lowered=lowered)
        if od and crisis and all(r.mention or r.weak for r in od):
            # the word "overdose" or a weak sign beside a death wish, a goodbye or self-harm:
            # the crisis reply (which leads with the emergency number too)
            return SafetyResult("crisis", crisis + tuple(r.id for r in od), lowered=lowered,
                                weak=weak)
        if od:
            return SafetyResult("overdose", tuple(r.id for r in od) + crisis,
                                also_crisis=bool(crisis), lowered=lowered, weak=weak)
        if crisis:
            return SafetyResult("crisis", crisis, lowered=lowered, weak=weak)
        return SafetyResult(None, lowered=lowered)

    def cancelled(self, message: Normalised) -> tuple[str, ...]:
        """Rules whose words are in a calm message but an `unless` phrase cancelled every
        match ("this queue will kill me", "lips blue from the slushie"), or ``hyperbole``
        ("my dad will kill me if i fail"): the rules judged it calm. Asked only when the
        learned model disagrees, so calm messages do not pay for a second pass."""
        idx = _Index(message.tokens, self.classes, self.number_like)
        present = set(idx.positions)
        if any(p[0] in present and idx.find(p) for p in self.hyperbole):
            return ("hyperbole",)  # "my dad will kill me if i fail"
        return tuple(r.id for r in (*self.overdose, *self.crisis)
                     if not r.with_crisis and r.may_fire(present)
                     and self._fires(r, idx, r in self.overdose, present, relaxed=True))
