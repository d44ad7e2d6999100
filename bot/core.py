"""The core: one object, built once, that turns a message into a Reply.

message -> normalise -> safety check -> match -> reply. The core knows nothing about
Telegram or the console; both shells render the same Reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.content import REQUIRED_INTENTS, SAFETY_INTENTS, Content, load_content
from bot.content.html_format import MAX_MESSAGE_CHARS, html_problems
from bot.content.placeholders import PLACEHOLDERS
from bot.content.yaml_source import ContentError
from bot.reply.model import Button, Reply, Route
from bot.reply.render import Renderer
from bot.text.normalize import Normaliser, build_cache, to_tokens
from bot.text.wordlist import english_words
from bot.understand.countries import CountryResolver
from bot.understand.matcher import Matcher, parent_of
from bot.understand.safety import SafetyCheck

__all__ = ["Classification", "ContentError", "Core"]

# Tuned on ../shared/eval/dev.jsonl (see README, "Matching"): scores are 0-100.
ANSWER_MIN = 42.0  # top score needed for a confident answer
ANSWER_MARGIN = 2.0  # ... and its lead over the best intent with another parent
CLARIFY_MIN = 30.0  # below this: fallback
KNOWN_MIN = 0.3  # an answer needs a fair share of the message's meaningful words to be topic words
CLARIFY_OPTIONS = 3


@dataclass(frozen=True, slots=True)
class Classification:
    route: Route
    intent: str | None
    score: float
    candidates: tuple[tuple[str, float], ...]
    also_crisis: bool = False


class Core:
    def __init__(self, content: Content):
        self.content = content
        resp = content.responses
        priority: set[str] = set()
        examples: set[str] = set()
        for intent in content.intents.values():
            for phrase in (*intent.examples, *intent.keywords):
                examples.update(to_tokens(phrase))
        for rules in (content.safety.overdose, content.safety.crisis):
            for rule in rules:
                for group in rule.all:
                    for phrase in group:
                        priority.update(to_tokens(phrase))
                for phrase in (*rule.unless, *rule.unless_next, *rule.unless_prev):
                    examples.update(to_tokens(phrase))  # known: "nooooon" is "noon"
        priority.update(t for w in content.synonyms.domain for t in to_tokens(w))
        self.normalise = Normaliser(content.synonyms.replace, priority, examples,
                                    english_words())
        self.safety = SafetyCheck(content.safety, lambda p: self.normalise(p).tokens)
        matchable = {i: d for i, d in content.intents.items() if i not in SAFETY_INTENTS}
        self.matcher = Matcher(
            self.normalise,
            {i: d.examples for i, d in matchable.items()},
            {i: d.keywords for i, d in matchable.items()},
            content.synonyms.stopwords,
            content.synonyms.out_of_scope,
            content.synonyms.domain,
            content.synonyms.vague,
        )
        self.renderer = Renderer(resp, content.crisis_lines)
        self.resolver = CountryResolver(content.crisis_lines.countries)
        self.countries = {code: c.name for code, c in content.crisis_lines.countries.items()
                          if code != "international"}
        self._titles = {rid: r.title for rid, r in resp.responses.items()}
        country_keys: list[str | None] = [None, *self.countries]
        self._topics = {(rid, cc): self._build_topic(rid, cc)
                        for rid in resp.responses for cc in country_keys}
        self._messages = {(key, cc): self._build_message(key, cc)
                          for key in resp.messages for cc in country_keys}
        problems = self._check_rendering()
        if problems:
            raise ContentError(problems)

    @classmethod
    def load(cls, content_dir: Path | None = None) -> Core:
        with build_cache():
            return cls(load_content(content_dir))

    # --- building replies ---------------------------------------------------

    def _buttons(self, ids: list[str]) -> tuple[Button, ...]:
        return tuple(Button(self._titles[i], f"intent:{i}") for i in ids)

    def _build_topic(self, rid: str, country: str | None) -> Reply:
        r = self.content.responses.responses[rid]
        text = r.no_country_text if (country is None and r.no_country_text) else r.text
        messages = tuple(self.renderer.fill(t, country) for t in (text, *r.more))
        route: Route = {"overdose": "overdose", "suicide": "crisis"}.get(
            parent_of(rid, SAFETY_INTENTS), "answer")
        return Reply(route, rid, messages, self._buttons(r.buttons), score=100.0)

    def _build_message(self, key: str, country: str | None) -> Reply:
        m = self.content.responses.messages[key]
        text = m.no_country_text if (country is None and m.no_country_text) else m.text
        return Reply("fallback", None, (self.renderer.fill(text, country),),
                     self._buttons(m.buttons))

    def _check_rendering(self) -> list[str]:
        src = self.content.sources["responses"]
        problems: list[str] = []
        seen: set[tuple[str, str]] = set()
        items = [(("responses", rid), reply) for (rid, _), reply in self._topics.items()]
        items += [(("messages", key), reply) for (key, _), reply in self._messages.items()]
        for loc, reply in items:
            for text in reply.messages:
                for issue in html_problems(text):
                    if (loc[1], issue) not in seen:
                        seen.add((loc[1], issue))
                        problems.append(f"{src.where(loc)}: {loc[1]}: {issue}")
                for name in self.renderer.unfilled(text):
                    if (loc[1], name) not in seen:
                        seen.add((loc[1], name))
                        known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
                        problems.append(f"{src.where(loc)}: {loc[1]}: unknown placeholder "
                                        f"{{{name}}} (known: {known})")
        return problems

    # --- the path of a message ----------------------------------------------

    def classify(self, text: str) -> Classification:
        command = text.strip().split(maxsplit=1)[0].split("@")[0].casefold() if text.strip() else ""
        if command == "/start":  # the start command typed as text is a greeting
            return Classification("answer", "greeting", 100.0, ())
        message = self.normalise(text)
        if not message.tokens:
            return Classification("fallback", None, 0.0, ())
        safety = self.safety.check(message)
        if safety.route == "overdose":
            return Classification("overdose", "overdose", 100.0, (), safety.also_crisis)
        if safety.route == "crisis":
            return Classification("crisis", "suicide", 100.0, ())
        match = self.matcher.match(message)
        if safety.exempt_intent:
            family = [c for c in match.scores
                      if parent_of(c[0], REQUIRED_INTENTS) == safety.exempt_intent]
            intent = family[0][0] if family else safety.exempt_intent
            return Classification("answer", intent, 100.0, match.scores)
        if not match.scores or match.vague:
            return Classification("fallback", None, 0.0, match.scores)
        top, score = match.scores[0]
        top_parent = parent_of(top, REQUIRED_INTENTS)
        rival = next((s for i, s in match.scores[1:]
                      if parent_of(i, REQUIRED_INTENTS) != top_parent), 0.0)
        if (match.in_scope and score >= ANSWER_MIN and score - rival >= ANSWER_MARGIN
                and match.known >= KNOWN_MIN):
            return Classification("answer", top, score, match.scores)
        if score >= CLARIFY_MIN:
            return Classification("clarify", top, score, match.scores)
        return Classification("fallback", None, score, match.scores)

    def is_urgent(self, text: str) -> bool:
        """Whether ``text`` is an overdose or a crisis: normalise and safety check only,
        the cheap first half of :meth:`handle`."""
        return self.safety.check(self.normalise(text)).route is not None

    def handle(self, text: str, country: str | None) -> Reply:
        """The reply to a free-text message from a user in ``country`` (None: unknown)."""
        country = country if country in self.countries else None
        if not text or not text.strip():
            return self.message("empty", country)
        c = self.classify(text)
        if c.route in ("overdose", "crisis"):
            reply = self.topic(c.intent or "overdose", country)
            if c.also_crisis:
                crisis = self.topic("suicide", country)
                reply = Reply(reply.route, reply.intent, reply.messages + crisis.messages[:1],
                              reply.buttons)
            return reply
        if c.route == "answer" and c.intent:
            base = self.topic(c.intent, country)
            return Reply("answer", c.intent, base.messages, base.buttons, c.score, c.candidates)
        if c.route == "clarify":
            options: list[str] = []
            for intent, _ in c.candidates:
                if len(options) == CLARIFY_OPTIONS:
                    break
                if intent in self._titles and intent not in options:
                    options.append(intent)
            base = self.message("clarify", country)
            return Reply("clarify", c.intent, base.messages, self._buttons(options), c.score,
                         c.candidates)
        key = "too_long" if len(text) > MAX_MESSAGE_CHARS else "fallback"
        base = self.message(key, country)
        return Reply("fallback", None, base.messages, self.topic_buttons(), c.score,
                     c.candidates)

    # --- what the shells ask for ---------------------------------------------

    def topic(self, intent_id: str, country: str | None) -> Reply:
        """The vetted reply for one topic (button press, deep link, /sos)."""
        country = country if country in self.countries else None
        return self._topics[(intent_id, country)]

    def has_topic(self, intent_id: str) -> bool:
        return intent_id in self._titles

    def message(self, key: str, country: str | None) -> Reply:
        country = country if country in self.countries else None
        return self._messages[(key, country)]

    def label(self, key: str) -> str:
        return self.content.responses.labels[key]

    def resolve_country(self, text: str, *, exact: bool = False) -> str | None:
        """"uk", "britain", "🇬🇧", "i'm in the uk" -> "GB". With ``exact`` the whole text
        must be a country name (used when the user was not asked for one)."""
        return self.resolver.resolve(text, exact=exact)

    def country_buttons(self) -> tuple[Button, ...]:
        buttons = [Button(name[4:] if name.startswith("the ") else name, f"country:{code}")
                   for code, name in self.countries.items()]
        return (*buttons, Button(self.label("country_other"), "country:other"))

    def topic_buttons(self) -> tuple[Button, ...]:
        return self._buttons(self.content.responses.menu)
