"""The core: content, understanding and the reply catalogue, built once.

message -> text.normalise -> understand (safety, then matcher) -> reply. The core knows nothing
about Telegram or the console, nor about the conversation around a message
(``bot.conversation`` adds that); both shells render the same Reply.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bot.content import REQUIRED_INTENTS, SAFETY_INTENTS, Content, load_content
from bot.content.html_format import MAX_MESSAGE_CHARS
from bot.content.load import meaning_examples, parents_of
from bot.content.models import TuningFile
from bot.content.translations import LANGUAGES
from bot.content.yaml_source import ContentError
from bot.reply.catalogue import Catalogue
from bot.reply.model import Button, Reply
from bot.reply.render import Renderer
from bot.text.normalize import Normaliser, build_cache, to_tokens
from bot.text.wordlist import english_word_set
from bot.understand.classify import Classification, Classifier
from bot.understand.countries import CountryResolver
from bot.understand.encoder import ModelIntegrityError
from bot.understand.intent_head import HEAD_DIR, IntentHead
from bot.understand.language import LanguageGuesser
from bot.understand.matcher import Matcher
from bot.understand.safety import SafetyCheck
from bot.understand.safety_model import SafetyModel, default_model_dir
from bot.understand.semantic import CACHE_FILE, SemanticIndex

__all__ = ["Classification", "ContentError", "Core"]


class Core:
    def __init__(self, content: Content, model: SafetyModel | None = None):
        """``model``: the learned safety layer to use instead of the shipped one (training
        reads the rules with a model that never alarms)."""
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
        # English follow-up words are vocabulary (never "corrected"); other languages' words
        # are not added: short ones ("su", "da") would split spaced-out English letters
        examples.update(t for ps in resp.followups.values() for p in ps for t in to_tokens(p))
        self.normalise = Normaliser(content.synonyms.replace, priority, examples,
                                    english_word_set())
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
        assert content.tuning is not None
        self.tuning: TuningFile = content.tuning
        self.classifier = Classifier(
            self.normalise, self.safety, self.matcher, self.tuning, REQUIRED_INTENTS,
            persons={"en": (content.synonyms.first_person, content.synonyms.other_person),
                     **{lang: (t.first_person, t.other_person)
                        for lang, t in content.translations.items()}},
            guesser=LanguageGuesser(LANGUAGES),
            model=(model := model or self._load_model(content.root)),
            alcohol=content.synonyms.alcohol_only,
            drug_words=[*content.synonyms.domain, *content.synonyms.substances],
            semantic=SemanticIndex(model.encoder, meaning_examples(content),
                                   content.root / "intents" / CACHE_FILE),
            head=self._load_head(content.root),
        )
        self.classifier.parents = parents_of(content.intents)
        self.renderer = Renderer(resp, content.crisis_lines)
        self.resolver = CountryResolver.from_crisis_lines(content.crisis_lines)
        self.countries = {code: c.name for code, c in content.crisis_lines.countries.items()
                          if code != "international"}
        # countries with only a confirmed emergency number (e.g. 112 in the EU): their own
        # number, the international crisis lines; no button of their own
        self.emergency_only = list(content.crisis_lines.emergency_only_codes())
        self.catalogue = Catalogue(content, self.renderer,
                                   [*self.countries, *self.emergency_only])
        problems = self.catalogue.problems()
        if problems:
            raise ContentError(problems)

    @staticmethod
    def _load_model(root: Path) -> SafetyModel:
        """The learned safety layer; the bot does not start without it (or with a damaged or
        tampered copy), and says which file is wrong."""
        try:
            return SafetyModel.load(default_model_dir(root))
        except ModelIntegrityError as exc:
            raise ContentError([f"{default_model_dir(root)}:1: {exc}"]) from None

    @staticmethod
    def _load_head(root: Path) -> IntentHead:
        """The intent head; a missing or damaged one stops the start, naming the file."""
        try:
            return IntentHead.load(root / "intents")
        except ModelIntegrityError as exc:
            raise ContentError([f"{root / 'intents' / HEAD_DIR}:1: {exc}"]) from None

    @staticmethod
    def followup_phrases(content: Content) -> dict[str, dict[str, list[str]]]:
        """language -> each emergency follow-up step's phrases (English ones in every
        language, as people mix them), in responses.yaml's step order."""
        english = {step: list(p) for step, p in content.responses.followups.items()}
        steps = {"en": english}
        for lang, tr in content.translations.items():
            steps[lang] = {step: [*tr.followups.get(step, []), *phrases]
                           for step, phrases in english.items()}
        return steps

    @classmethod
    def load(cls, content_dir: Path | None = None, model: SafetyModel | None = None) -> Core:
        with build_cache():
            return cls(load_content(content_dir), model)

    # --- the path of a message ----------------------------------------------

    def classify(self, text: str) -> Classification:
        return self.classifier.classify(text)

    def handle(self, text: str, country: str | None) -> Reply:
        """The reply to a free-text message with no conversation around it (a first message)."""
        if not text or not text.strip():
            return self.message("empty", country)
        return self.reply_for(self.classify(text), country, long=len(text) > MAX_MESSAGE_CHARS)

    def reply_for(self, c: Classification, country: str | None, *, long: bool = False,
                  lang: str = "en") -> Reply:
        """The reply a classification gets on its own (no follow-up context), in ``lang``."""
        if c.route == "overdose":
            first_person = c.person == "self"
            reply = self.topic("overdose_self" if first_person else "overdose", country, lang)
            if c.also_crisis:
                extra = self.message("crisis_after_overdose", country, lang).messages
                buttons = (self.catalogue.buttons(["suicide", "talk_to_someone", "overdose"], lang)
                           if first_person else reply.buttons)
                reply = Reply("overdose", reply.intent, reply.messages[:1] + extra
                              + reply.messages[1:], buttons, 100.0)
            return reply
        if c.route == "crisis":
            return self.topic("suicide", country, lang)
        if c.route == "check":  # a possible emergency: the numbers, then one question
            base = self.message("check", country, lang)
            normal = f"intent:{c.intent}" if c.intent and self.has_topic(c.intent) else "topics"
            buttons = (Button(self.label("check_danger", lang), "intent:overdose"),
                       Button(self.label("check_crisis", lang), "intent:suicide"),
                       Button(self.label("check_no", lang), normal))
            return Reply("check", c.intent, base.messages, buttons, c.score, c.candidates)
        if c.route == "answer" and c.intent:
            base = self.topic(c.intent, country, lang)
            buttons = base.buttons
            if c.second and self.has_topic(c.second):  # a long post's other need
                extra = self.catalogue.buttons([c.second], lang)
                buttons = extra + tuple(b for b in buttons if b.action != extra[0].action)
            return Reply("answer", c.intent, base.messages, buttons, c.score, c.candidates)
        if c.route == "clarify":
            options: list[str] = []
            for intent, _ in c.candidates:
                if len(options) == self.tuning.clarify_options:
                    break
                if intent in self.catalogue.titles and intent not in options:
                    options.append(intent)
            base = self.message("clarify", country, lang)
            return Reply("clarify", c.intent, base.messages, self.catalogue.buttons(options, lang),
                         c.score, c.candidates)
        base = self.message("too_long" if long else "fallback", country, lang)
        return Reply("fallback", None, base.messages, self.topic_buttons(lang), c.score,
                     c.candidates)

    # --- what the shells ask for ---------------------------------------------

    def known_country(self, country: str | None) -> str | None:
        """The country whose numbers are shown: one with an entry or an emergency number."""
        return country if country in self.countries or country in self.emergency_only else None

    def country_name(self, code: str, lang: str = "en") -> str:
        return self.resolver.name(code, lang) or code

    def known_language(self, lang: str | None) -> str:
        return lang if lang in self.catalogue.languages else "en"

    def language_name(self, lang: str) -> str:
        """A language's own name ("Español"); English is "English"."""
        tr = self.content.translations.get(lang)
        return tr.name if tr is not None else "English"

    def topic(self, intent_id: str, country: str | None, lang: str = "en") -> Reply:
        """The vetted reply for one topic (button press, deep link, /sos)."""
        return self.catalogue.topics[(intent_id, self.known_country(country),
                                      self.known_language(lang))]

    def has_topic(self, intent_id: str) -> bool:
        return intent_id in self.catalogue.titles

    def message(self, key: str, country: str | None, lang: str = "en") -> Reply:
        return self.catalogue.messages[(key, self.known_country(country),
                                        self.known_language(lang))]

    def label(self, key: str, lang: str = "en") -> str:
        return self.catalogue.labels[self.known_language(lang)][key]

    def resolve_country(self, text: str, *, exact: bool = False) -> str | None:
        """"uk", "britain", "🇬🇧", "i'm in the uk" -> "GB". With ``exact`` the whole text
        must be a country name (used when the user was not asked for one)."""
        return self.resolver.resolve(text, exact=exact)

    def country_buttons(self, first: str | None = None, lang: str = "en") -> tuple[Button, ...]:
        """One button per country with an entry (``first``, e.g. a hint, at the top), then
        "other"."""
        codes = sorted(self.countries, key=lambda code: code != first)
        buttons = [Button(self._short_name(code), f"country:{code}") for code in codes]
        return (*buttons, Button(self.label("country_other", lang), "country:other"))

    def _short_name(self, code: str) -> str:
        name = self.countries[code]
        return name[4:] if name.startswith("the ") else name

    def topic_buttons(self, lang: str = "en") -> tuple[Button, ...]:
        return self.catalogue.buttons(self.content.responses.menu, lang)


def with_buttons(reply: Reply, buttons: tuple[Button, ...]) -> Reply:
    return dataclasses.replace(reply, buttons=buttons)
