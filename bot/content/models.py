"""Schemas of the content files (pydantic). Cross-file checks live in content.py."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

IntentId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _https(url: str) -> str:
    if not url.startswith("https://") or len(url) < 12 or any(c.isspace() for c in url):
        raise ValueError(f"source must be an https:// URL, got {url!r}")
    return url


HttpsUrl = Annotated[str, AfterValidator(_https)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


# --- intents/*.yaml -------------------------------------------------------


class IntentDef(Strict):
    id: IntentId
    parent: IntentId | None = None  # the required intent a finer one counts as (TAXONOMY.md)
    keywords: list[NonEmpty] = []
    examples: list[NonEmpty] = Field(min_length=20)


class IntentFile(Strict):
    intents: list[IntentDef] = Field(min_length=1)


# --- responses.yaml -------------------------------------------------------


class ResponseDef(Strict):
    title: Annotated[str, StringConstraints(min_length=1, max_length=30)]
    text: NonEmpty
    no_country_text: NonEmpty | None = None
    more: list[NonEmpty] = []
    buttons: list[IntentId] = []
    sources: list[HttpsUrl] = Field(min_length=1)
    reviewed: dt.date


class MessageDef(Strict):
    text: NonEmpty
    no_country_text: NonEmpty | None = None
    buttons: list[IntentId] = []
    sources: list[HttpsUrl] = []
    reviewed: dt.date


class ResponsesFile(Strict):
    menu: list[IntentId] = Field(min_length=1)
    responses: dict[IntentId, ResponseDef]
    messages: dict[IntentId, MessageDef]
    labels: dict[IntentId, NonEmpty] = {}
    formats: dict[IntentId, Annotated[str, StringConstraints(min_length=1)]] = {}
    # emergency follow-up step (a response id) -> phrases that choose it (see followups:)
    followups: dict[IntentId, list[NonEmpty]] = {}


# --- crisis_lines.yaml ----------------------------------------------------

Category = Literal["emergency", "crisis", "helpline", "poison", "overdose_line", "family"]
Confidence = Literal["CONFIRMED-OFFICIAL", "CONFIRMED-SECONDARY"]


class LineDef(Strict):
    category: Category
    name: NonEmpty
    number: NonEmpty | None = None
    sms: NonEmpty | None = None
    web: NonEmpty | None = None
    hours: NonEmpty | None = None
    note: NonEmpty | None = None
    # Who runs the line, said plainly in the rendered line (formats.operator). Required
    # when ``law_enforcement`` is true (a police, drug-enforcement or interior agency).
    operator_note: NonEmpty | None = None
    law_enforcement: bool = False
    source: HttpsUrl
    confidence: Confidence
    checked: dt.date


class CountryDef(Strict):
    name: NonEmpty
    aliases: list[NonEmpty] = []
    short_codes: list[NonEmpty] = []
    good_samaritan: NonEmpty | None = None
    good_samaritan_source: HttpsUrl | None = None
    # Take-home naloxone access, only where the reference says something (Telegram HTML).
    naloxone_note: NonEmpty | None = None
    naloxone_source: HttpsUrl | None = None
    lines: list[LineDef] = Field(min_length=1)


class EmergencyOnlyDef(Strict):
    """One emergency number shared by countries that have no entry of their own
    (e.g. 112 in the EU). Everything else for them comes from ``international``."""

    name: NonEmpty
    number: NonEmpty
    countries: dict[str, NonEmpty] = Field(min_length=1)  # ISO code -> name in a sentence
    source: HttpsUrl
    confidence: Confidence
    checked: dt.date


class CrisisLinesFile(Strict):
    countries: dict[str, CountryDef]
    emergency_only: list[EmergencyOnlyDef] = []

    def emergency_only_codes(self) -> dict[str, tuple[str, EmergencyOnlyDef]]:
        """ISO code -> (name, group) for every country that has only an emergency number."""
        return {code: (name, group) for group in self.emergency_only
                for code, name in group.countries.items()}


# --- safety/ (sets.yaml, rules.yaml, lang/*.yaml) ---------------------------
#
# As written: rules name word sets (``$use_words``); the language files list each set's
# members. ``bot.content.load`` merges them into the ``SafetyFile`` the check reads.

SetName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]


def _one_or_list(value: object) -> object:
    """``unless: $set`` is short for ``unless: [$set]``."""
    return [value] if isinstance(value, str) else value


Items = Annotated[list[NonEmpty], BeforeValidator(_one_or_list)]  # `$set`s and phrases


class SafetyRuleDef(Strict):
    """One rule in rules.yaml: each group of ``all`` is a ``$set``, a phrase, or a list of
    them. Fields as in ``SafetyRule``."""

    id: IntentId
    all: list[Items] = Field(min_length=1)
    unless: Items = []
    unless_next: Items = []
    unless_prev: Items = []
    level: Literal["strong", "mention", "weak", "with_crisis"] = "strong"
    whole_message: bool = False
    within: int | None = Field(default=None, ge=1, le=30)


class ExemptionDef(Strict):
    intent: IntentId
    when_any: Items = Field(min_length=1)
    with_any: Items = []
    unless_any: Items = []


class SafetyRulesFile(Strict):
    overdose: list[SafetyRuleDef] = Field(min_length=1)
    crisis: list[SafetyRuleDef] = Field(min_length=1)
    exemptions: list[ExemptionDef] = []
    not_drugs: Items = []


class SafetySetsFile(Strict):
    """sets.yaml: every set, once, with what it holds (its members are in lang/*.yaml)."""

    sets: dict[SetName, NonEmpty] = Field(min_length=1)


class SafetyLanguageFile(Strict):
    """lang/<code>.yaml: this language's members of sets named in sets.yaml."""

    language: NonEmpty
    sets: dict[SetName, list[NonEmpty]] = Field(min_length=1)


# --- the merged rules, as the safety check reads them ----------------------


class SafetyRule(Strict):
    """All groups must match somewhere in the message (a group matches when any of its
    phrases does; ``#many`` stands for a number of 5 or more, ``#number`` for any number,
    ``#year`` for a year before this one). ``unless`` phrases within a few words of a
    matched phrase cancel that match; ``unless_next`` / ``unless_prev`` phrases right after /
    before a matched phrase cancel that match.
    ``level: mention`` marks a bare topic word that context may turn into a question;
    ``level: weak`` an overdose sign that a crisis match in the same message outranks ("she
    wishes she would not wake up" is a death wish, not a sleeper who will not wake);
    ``level: with_crisis`` an overdose sign that counts only beside a crisis match (a death
    wish with the drugs at hand, "i have the whole stash. goodbye", is a plan to overdose)."""

    id: IntentId
    all: list[list[NonEmpty]] = Field(min_length=1)
    unless: list[NonEmpty] = []
    unless_next: list[NonEmpty] = []
    unless_prev: list[NonEmpty] = []
    level: Literal["strong", "mention", "weak", "with_crisis"] = "strong"
    whole_message: bool = False  # the phrase must be the entire message ("help him")
    within: int | None = None  # every group's phrase within this many words of the first's


class Exemption(Strict):
    """A message whose only overdose matches are ``mention``s and which contains one of
    ``when_any`` (and, if given, one of ``with_any``; and none of ``unless_any``) is a
    question about ``intent``, not an emergency."""

    intent: IntentId
    when_any: list[NonEmpty] = Field(min_length=1)
    with_any: list[NonEmpty] = []
    unless_any: list[NonEmpty] = []


class SafetyContext(Strict):
    """The sets the check itself uses (see safety/sets.yaml): a match that is negated
    ("i am not suicidal") or dated in the past ("he overdosed in 2019") does not count,
    unless the message shows danger now."""

    negators: list[NonEmpty] = []
    not_negating: list[NonEmpty] = []
    context_gap: list[NonEmpty] = []
    signs_of_life: list[NonEmpty] = []
    past_markers: list[NonEmpty] = []
    bereavement_words: list[NonEmpty] = []
    danger_now: list[NonEmpty] = []
    present_tense: list[NonEmpty] = []
    safe_now: list[NonEmpty] = []
    clause_breaks: list[NonEmpty] = []
    hyperbole: list[NonEmpty] = []  # "my mum is going to kill me": the model only asks
    many_words: list[NonEmpty] = []  # number words of 5 or more (#many)
    number_words: list[NonEmpty] = []  # number words under 5 (#number, with many_words)


class SafetyFile(Strict):
    overdose: list[SafetyRule] = Field(min_length=1)
    crisis: list[SafetyRule] = Field(min_length=1)
    exemptions: list[Exemption] = []
    not_drugs: list[NonEmpty] = []
    context: SafetyContext = SafetyContext()


# --- synonyms.yaml --------------------------------------------------------


class SynonymsFile(Strict):
    replace: dict[NonEmpty, NonEmpty]
    stopwords: list[NonEmpty] = []
    out_of_scope: list[NonEmpty] = []
    domain: list[NonEmpty] = []
    vague: list[NonEmpty] = []
    # who an emergency is about: "i took too much" (self) vs "he took too much" (other)
    first_person: list[NonEmpty] = []
    other_person: list[NonEmpty] = []
    # alcohol with no drug named: a model-only overdose alarm becomes the "is someone in
    # danger?" question (the bot is about opioids; the question still shows the numbers)
    alcohol_only: list[NonEmpty] = []
    # drugs and medicines that, named beside drinking, make it more than drinking
    substances: list[NonEmpty] = []


# --- tuning.yaml ------------------------------------------------------------


class TuningFile(Strict):
    answer_min: float = Field(ge=0, le=100)
    answer_margin: float = Field(ge=0, le=100)
    clarify_min: float = Field(ge=0, le=100)
    known_min: float = Field(ge=0, le=1)
    clarify_options: int = Field(ge=1, le=5)
    emergency_window_minutes: float = Field(gt=0, le=24 * 60)
    # meaning (sentence embeddings, cosine 0-1) when the words did not answer
    semantic_answer_min: float = Field(ge=0, le=1)  # another language: answer by meaning
    semantic_margin: float = Field(ge=0, le=1)  # ... with this lead over another topic
    semantic_clarify_min: float = Field(ge=0, le=1)  # otherwise: "did you mean" by meaning
    # a long post (several sentences): the whole post's meaning answers when this close
    semantic_long_min: float = Field(default=1.0, ge=0, le=1)
    # the intent head (a softmax over the embedding, with an off-topic class), probability 0-1
    head_answer_min: float = Field(default=1.0, ge=0, le=1)  # answers what the words did not
    head_margin: float = Field(default=0.0, ge=0, le=1)  # ... with this lead over the next topic
    head_overrule_min: float = Field(default=1.0, ge=0, le=1)  # replaces the words' topic
    head_min_words: int = Field(default=3, ge=1, le=50)  # shorter messages are the words'
