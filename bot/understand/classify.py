"""One decision per message: normalise once, safety first, then the matcher.

The :class:`Classification` made here is the only one a message gets: Telegram's update
processor uses it to put emergencies first, and the conversation uses the same object to reply.
Thresholds come from ``tuning.yaml``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bot.content.models import TuningFile
from bot.text.normalize import Normalised, Normaliser
from bot.understand.intent_head import OUT_OF_SCOPE, IntentHead
from bot.understand.language import LanguageGuesser
from bot.understand.matcher import Matcher, contains_phrase, parent_of
from bot.understand.safety import SafetyCheck, SafetyResult
from bot.understand.safety_model import SafetyModel
from bot.understand.semantic import SemanticIndex

MAX_EMBEDDED_CHARS = 2_000  # the encoder reads this much of a message at most
LONG_MESSAGE_CHARS = 160  # a message this long may be a post of several sentences
MAX_SENTENCES = 12
OD_IS_A_WORD = frozenset({"pl", "cs", "sk", "sl", "hr", "sr", "bs"})  # "od" = "from"
_OD = re.compile(r"(?i)\bod\b")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+|(?<=[.!?])(?=[A-Z])")
_QUESTION_START = re.compile(
    r"^(how|what|when|where|why|who|which|can|could|should|would|is|are|do|does|did|will|"
    r"any|anyone)\b", re.IGNORECASE)

Route = Literal["overdose", "crisis", "check", "answer", "clarify", "fallback"]
Person = Literal["self", "other"] | None


@dataclass(frozen=True, slots=True)
class Classification:
    route: Route
    intent: str | None
    score: float
    candidates: tuple[tuple[str, float], ...]
    also_crisis: bool = False
    tokens: tuple[str, ...] = ()  # the normalised message (never stored)
    person: Person = None  # who an emergency is about, when the words say so
    rules: tuple[str, ...] = ()  # safety rules that fired
    model: tuple[float, float] | None = None  # the learned layer's (overdose, crisis) scores
    band: str = "calm"  # the safety decision: "rules", "model", "check" or "calm"
    language: str | None = None  # the language the message is clearly written in
    second: str | None = None  # a long message's other need (offered as a button)

    @property
    def urgent(self) -> bool:
        return self.route in ("overdose", "crisis")

    def safety_report(self) -> dict[str, object]:
        """Which rules fired, the model's two scores and the band (for ``classify``)."""
        scores = None if self.model is None else {
            "overdose": round(self.model[0], 4), "crisis": round(self.model[1], 4)}
        return {"rules": list(self.rules), "model": scores, "band": self.band}


@dataclass(frozen=True, slots=True)
class RuleView:
    """The rules' part of one decision: whether they decided the route themselves, and
    whether they leave the learned model's alarm standing (see ``_classify``: an exempt
    question, a lowered or cancelled match, or alcohol alone limit the model to asking)."""

    fired: bool
    exempt: bool
    lowered: bool  # a match negated, in the past, or cancelled by an `unless` phrase
    only_drinking: bool

    def alarm_stands(self, head: str) -> bool:
        """A confident ``head`` ("overdose" or "crisis") would set the route."""
        if self.fired or self.exempt or self.lowered:
            return False
        return head != "overdose" or not self.only_drinking

    @property
    def checkable(self) -> bool:
        """The "possible emergency" band applies."""
        return not self.fired and not self.exempt


class Classifier:
    def __init__(self, normalise: Normaliser, safety: SafetyCheck, matcher: Matcher,
                 tuning: TuningFile, required: Iterable[str], *,
                 persons: Mapping[str, tuple[Iterable[str], Iterable[str]]] | None = None,
                 guesser: LanguageGuesser | None = None,
                 model: SafetyModel | None = None,
                 semantic: SemanticIndex | None = None,
                 head: IntentHead | None = None,
                 alcohol: Iterable[str] = (), drug_words: Iterable[str] = ()) -> None:
        self.normalise = normalise
        self.safety = safety
        self.matcher = matcher
        self.tuning = tuning
        self.required = tuple(required)
        self.guesser = guesser
        self.parents: Mapping[str, str] = {}  # intent -> its required parent (intents/*.yaml)
        self.model = model
        self.semantic = semantic
        self.head = head
        # phrases, not their words: "shots of tequila" must not make every "of" a drink
        self.alcohol = _phrases(normalise, alcohol)
        self.drug_words = _phrases(normalise, drug_words)
        # language -> (first-person words, other-person words), normalised like messages
        self._persons = {lang: (self._words(first), self._words(other))
                         for lang, (first, other) in (persons or {}).items()}

    def _main_need(self, sentences: list[str]) -> Classification | None:
        """A long post's main need: a question beats a story, a later sentence breaks ties;
        another need with a different topic becomes ``second``."""
        found: list[tuple[bool, int, Classification]] = []
        for n, sentence in enumerate(sentences):
            part = self.normalise(sentence)
            c = self._match(part, tuple(part.tokens))
            if c.route == "answer" and c.intent:
                found.append((is_question(sentence), n, c))
        if not found:
            return None
        found.sort(key=lambda f: (f[0], f[1]))
        main = found[-1][2]
        parent = self.parent(main.intent or "")
        second = next((c.intent for _, _, c in reversed(found[:-1])
                       if self.parent(c.intent or "") != parent), None)
        return dataclasses.replace(main, second=second)

    def parent(self, intent: str) -> str:
        """The required intent ``intent`` counts as: named in intents/*.yaml (a reply with no
        intent of its own, such as ``overdose_still``, counts as the id it extends)."""
        return self.parents.get(intent) or parent_of(intent, self.required)

    def _only_drinking(self, tokens: tuple[str, ...]) -> bool:
        """Alcohol named and no drug: the bot's overdose steps are about opioids."""
        words = set(tokens)
        return _named(words, tokens, self.alcohol) and not _named(words, tokens, self.drug_words)

    def _words(self, words: Iterable[str]) -> frozenset[str]:
        return frozenset(t for w in words for t in self.normalise(w).tokens)

    def person_of(self, tokens: Iterable[str], lang: str | None = None) -> Person:
        """Who an emergency is about, from English words and the message language's words."""
        words = set(tokens)
        empty: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
        en_first, en_other = self._persons.get("en", empty)
        first, other = self._persons.get(lang or "en", empty)
        if words & (en_other | other):
            return "other"
        if words & (en_first | first):
            return "self"
        return None

    def classify(self, text: str) -> Classification:
        text = text.encode("utf-8", "ignore").decode("utf-8")  # no lone surrogates
        lang = self.guesser.guess(text) if self.guesser is not None else None
        c = self._classify(text, lang)
        return dataclasses.replace(c, language=lang) if lang else c

    def _classify(self, text: str, lang: str | None = None) -> Classification:
        stripped = text.strip()
        command = stripped.split(maxsplit=1)[0].split("@")[0].casefold() if stripped else ""
        if command == "/start":  # the start command typed as text is a greeting
            return Classification("answer", "greeting", 100.0, ())
        message, sentences = self._read(text, lang)
        tokens = tuple(message.tokens)
        if not tokens and not any(ch.isalpha() for ch in text):
            return Classification("fallback", None, 0.0, ())  # emoji, symbols, nothing
        safety = self._rules(message, sentences)
        embedding = self.model.encoder.encode(text[:MAX_EMBEDDED_CHARS]) if self.model else None
        model = self.model.scores(text, embedding) if self.model is not None else None
        levels = self.model.levels(model) if (self.model and model) else {}
        pair = (model.overdose, model.crisis) if model is not None else None
        od_model, crisis_model = levels.get("overdose"), levels.get("crisis")
        if safety.weak and levels and "high" not in levels.values():
            # a past match kept only by the present tense ("he overdosed two years ago and
            # is stable now"), and the learned layer is not sure of danger: lowered, so the
            # model may still ask (its check band) but not raise the alarm
            safety = SafetyResult(None, lowered=safety.weak)
        person = self.person_of(tokens, lang)
        # One decision from all layers: they add up, none overrules another.
        # The rules say overdose: the steps, with the crisis line too when either layer sees a
        # crisis. The rules say crisis: the crisis reply, which also leads with the emergency
        # number ("if you've taken something or you're in danger, call ..."), so a model that
        # also sees an overdose is covered without bystander steps for a person in despair.
        if safety.route == "overdose":
            # the crisis line is added when the crisis head is even unsure ("you've always
            # been the best sister" and then no answer): a line more, never a missed crisis
            also = safety.also_crisis or crisis_model in ("high", "check")
            return Classification("overdose", "overdose", 100.0, (), also, tokens, person,
                                  safety.rules, pair, "rules")
        if safety.route == "crisis":
            return Classification("crisis", "suicide", 100.0, (), False, tokens, person,
                                  safety.rules, pair, "rules")
        # The rules found emergency words but only negated, in the past, or cancelled ("i'm
        # not suicidal", "he overdosed in 2019", "this queue will kill me"): the model alone
        # may then only ask, not raise the alarm.
        model_high = "high" in (od_model, crisis_model)
        cancelled = bool(model_high and not safety.lowered and self.safety.cancelled(message))
        sure = not safety.exempt_intent and not safety.lowered and not cancelled
        drinking = self._only_drinking(tokens)
        if sure and od_model == "high" and not drinking:
            return Classification("overdose", "overdose", 100.0, (), crisis_model == "high",
                                  tokens, person, safety.rules, pair, "model")
        if sure and crisis_model == "high":
            return Classification("crisis", "suicide", 100.0, (), False, tokens, person,
                                  safety.rules, pair, "model")
        calm = self._answer(message, tokens, sentences, safety, embedding, lang)
        if not safety.exempt_intent:
            calm = self._by_head(calm, embedding, message)
        calm = dataclasses.replace(calm, model=pair, rules=safety.rules)
        doubt = safety.lowered or cancelled or drinking
        if not safety.exempt_intent and ("check" in (od_model, crisis_model) or (
                doubt and "high" in (od_model, crisis_model))):
            return dataclasses.replace(calm, route="check", band="check")
        return calm

    def _read(self, text: str, lang: str | None) -> tuple[Normalised, list[str]]:
        """The normalised message and, for a long one, its sentences."""
        # Polish "od" is "from", not the slang for overdose
        words = _OD.sub("z", text) if lang in OD_IS_A_WORD else text
        sentences = split_sentences(words) if len(text) >= LONG_MESSAGE_CHARS else []
        return self.normalise(words), sentences

    def rule_view(self, text: str) -> RuleView:
        """What the rules alone make of a message, as :meth:`classify` reads it: used to
        choose the model's thresholds for the pipeline it sits in (``train-safety``)."""
        text = text.encode("utf-8", "ignore").decode("utf-8")
        lang = self.guesser.guess(text) if self.guesser is not None else None
        message, sentences = self._read(text, lang)
        safety = self._rules(message, sentences)
        lowered = bool(safety.lowered) or bool(
            safety.route is None and self.safety.cancelled(message))
        return RuleView(fired=safety.route is not None, exempt=bool(safety.exempt_intent),
                        lowered=lowered, only_drinking=self._only_drinking(tuple(message.tokens)))

    def _rules(self, message: Normalised, sentences: list[str]) -> SafetyResult:
        """The rules on the whole message, then on each sentence of a long post (an
        emergency diluted in a story still counts)."""
        safety = self.safety.check(message)
        if safety.route is None and len(sentences) > 1:
            for sentence in sentences[:MAX_SENTENCES]:
                part = self.safety.check(self.normalise(sentence))
                # a rule the whole message lowered (negated, in the past, "i'm not in
                # danger") stays lowered: one sentence alone lost that context
                if part.route is not None and not set(part.rules) <= set(safety.lowered):
                    return part
        return safety

    def _answer(self, message: Normalised, tokens: tuple[str, ...], sentences: list[str],
                safety: SafetyResult, embedding: np.ndarray | None = None,
                lang: str | None = None) -> Classification:
        """What a calm message asks: a topic, "did you mean", or nothing."""
        if safety.exempt_intent:
            match = self.matcher.match(message)
            family = [c for c in match.scores
                      if self.parent(c[0]) == safety.exempt_intent]
            intent = family[0][0] if family else safety.exempt_intent
            return Classification("answer", intent, 100.0, match.scores, tokens=tokens)
        if len(sentences) > 1:
            main = self._main_need(sentences[:MAX_SENTENCES])
            if main is not None:
                return dataclasses.replace(main, tokens=tokens)
        lexical = self._match(message, tokens)
        if embedding is None or self.semantic is None or lexical.route == "answer":
            return lexical
        return self._by_meaning(lexical, embedding, lang, long=bool(sentences))

    def _by_meaning(self, lexical: Classification, embedding: np.ndarray,
                    lang: str | None, long: bool = False) -> Classification:
        """When the words did not answer: the closest meaning. Another language may be
        answered by meaning alone (its words are not in the examples), and so may a long
        post (``semantic_long_min``: its whole meaning names the topic better than any one
        sentence's words); in English a short message's close meaning only offers "did you
        mean", since meaning alone mistakes off-topic messages for topics too often. Text in
        no clear language (gibberish) is left to the words.

        Meaning never overrules words that answered: for long posts that scored higher on
        the tuning sets (73 -> 81 of 122) but picked the wrong topic for two of three fresh
        posts (a backstory of use outweighs the question)."""
        assert self.semantic is not None
        t = self.tuning
        ranked = self.semantic.scores(embedding)
        top, best = ranked[0]
        parent = self.parent(top)
        rival = next((s for i, s in ranked[1:] if self.parent(i) != parent), 0.0)
        candidates = tuple((i, round(100 * s, 1)) for i, s in ranked[:5])
        foreign = lang not in (None, "en") and best >= t.semantic_answer_min
        if (foreign or (long and best >= t.semantic_long_min)) \
                and best - rival >= t.semantic_margin:
            return Classification("answer", top, round(100 * best, 1), candidates,
                                  tokens=lexical.tokens)
        # the words of another language only confuse the English word matcher: its "did you
        # mean" gives way to the meaning's
        foreign_guess = lexical.route == "clarify" and lang not in (None, "en")
        if ((lexical.route == "fallback" and lang is not None) or foreign_guess) \
                and best >= t.semantic_clarify_min:
            return Classification("clarify", top, round(100 * best, 1), candidates,
                                  tokens=lexical.tokens)
        return lexical

    def _by_head(self, calm: Classification, embedding: np.ndarray | None,
                 message: Normalised) -> Classification:
        """The intent head's say: it answers a message the words and the nearest examples
        left unanswered when it is sure of one topic (``head_answer_min``, ``head_margin``),
        and it replaces the words' topic when it is surer still of another
        (``head_overrule_min``; the words' pick becomes the second button). Off-topic, by
        the head's own class, leaves the message as it was."""
        if self.head is None or embedding is None or calm.route not in (
                "answer", "clarify", "fallback") or len(calm.tokens) < self.tuning.head_min_words:
            return calm  # "treatment" alone is still "did you mean": one word names no need
        if not self.matcher.in_scope(message):
            return calm  # "i want to quit smoking": another subject, whatever its shape
        guess = self.head.guess(embedding, self.parents)
        if guess.parent == OUT_OF_SCOPE:
            return calm
        t = self.tuning
        if calm.route == "answer":
            if (self.parent(calm.intent or "") != guess.parent
                    and guess.probability >= t.head_overrule_min):
                return dataclasses.replace(calm, intent=guess.intent, second=calm.intent,
                                           score=round(100 * guess.probability, 1))
            return calm
        if guess.probability >= t.head_answer_min and guess.lead >= t.head_margin:
            return dataclasses.replace(calm, route="answer", intent=guess.intent,
                                       score=round(100 * guess.probability, 1))
        return calm

    def _match(self, message: Normalised, tokens: tuple[str, ...]) -> Classification:
        match = self.matcher.match(message)
        t = self.tuning
        if not match.scores or match.vague:
            return Classification("fallback", None, 0.0, match.scores, tokens=tokens)
        top, score = match.scores[0]
        top_parent = self.parent(top)
        rival = next((s for i, s in match.scores[1:]
                      if self.parent(i) != top_parent), 0.0)
        if (match.in_scope and score >= t.answer_min and score - rival >= t.answer_margin
                and match.known >= t.known_min):
            return Classification("answer", top, score, match.scores, tokens=tokens)
        if score >= t.clarify_min:
            return Classification("clarify", top, score, match.scores, tokens=tokens)
        return Classification("fallback", None, score, match.scores, tokens=tokens)


def _phrases(normalise: Normaliser, phrases: Iterable[str]) -> tuple[tuple[str, ...], ...]:
    return tuple(dict.fromkeys(t for w in phrases if (t := tuple(normalise(w).tokens))))


def _named(words: set[str], tokens: tuple[str, ...],
           phrases: tuple[tuple[str, ...], ...]) -> bool:
    """One of ``phrases`` is in the message (its first word first, from the set)."""
    return any(p[0] in words and (len(p) == 1 or contains_phrase(tokens, p)) for p in phrases)


def split_sentences(text: str) -> list[str]:
    """A post's sentences (and lines), without the empty ones."""
    return [part.strip() for part in _SENTENCE_END.split(text) if len(part.strip()) > 2]


def is_question(sentence: str) -> bool:
    s = sentence.strip()
    return s.endswith("?") or bool(_QUESTION_START.match(s))
