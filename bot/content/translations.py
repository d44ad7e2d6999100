"""Translations of the English content: ``translations/<lang>.yaml``, checked against English.

English (responses.yaml) is the source. Each translated entry names the English it was drafted
from (``from``: :func:`english_hash` of the English entry) and its review status, so lint can
say when a translation is missing, stale (the English changed since) or has lost a placeholder
or a phone number. What a language has not translated falls back to English with a note.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from bot.content.models import IntentId, MessageDef, NonEmpty, ResponseDef, ResponsesFile, Strict
from bot.content.placeholders import PLACEHOLDER

LANGUAGES = ("en", "es", "pt", "fr", "de", "it", "pl", "ru", "uk")
Review = Literal["machine-drafted", "reviewed"]
# What every language must translate (Spanish translates everything).
REQUIRED_RESPONSES = ("overdose", "overdose_self", "overdose_still", "overdose_no_naloxone",
                      "overdose_aftercare", "overdose_ambulance_here", "suicide")
COMPANION_MESSAGES = (
    "cleandate_ask", "cleandate_type", "cleandate_bad", "cleandate_set", "cleandate_count",
    "cleandate_check", "cleandate_reset", "milestone_ask", "zone_ask", "zone_set", "zone_bad",
    "time_bad", "time_set", "companion_off", "milestone_early", "milestone_months",
    "milestone_years", "checkin_ask_time", "checkin_question", "checkin_craving", "checkin_low",
    "checkin_strong_craving", "checkin_thanks", "checkin_skipped", "progress", "progress_none",
    "reminder_ask_name", "reminder_ask_time", "reminder_named", "reminder_due",
    "reminder_taken", "reminder_snoozed", "reminder_missed", "meetings_ask", "meetings",
    "mydata")
REQUIRED_MESSAGES = ("welcome", "help", "privacy", "forget_confirm", "forget_done",
                     "forget_cancelled", "ask_country", "country_set", "country_other",
                     "country_not_understood", "topics", "fallback", "clarify", "check", "empty",
                     "crisis_after_overdose", "crisis_listen_1", "crisis_listen_2",
                     "crisis_listen_3", "crisis_person",
                     # the opt-in companion (bot/companion): every language speaks it
                     *COMPANION_MESSAGES)
FULL_LANGUAGES = ("es",)
SLOT = re.compile(r"\[([a-z_]+)\]")  # values filled when sent ("[days]": bot/companion/flow.py)
_PHONE = re.compile(r"(?<![\w/])\+?\d[\d \-]{1,14}\d(?![\w/])|(?<![\w/])\d{3,}(?![\w/])")


class TranslatedResponse(Strict):
    from_: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{12}$")] = Field(alias="from")
    review: Review
    title: Annotated[str, StringConstraints(min_length=1, max_length=30)]
    text: NonEmpty | None = None  # None: only the title is translated (menus, buttons)
    no_country_text: NonEmpty | None = None
    more: list[NonEmpty] = Field(default_factory=list)


class TranslatedMessage(Strict):
    from_: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{12}$")] = Field(alias="from")
    review: Review
    text: NonEmpty
    no_country_text: NonEmpty | None = None


class TranslationFile(Strict):
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
    name: NonEmpty  # the language's own name: "Español"
    english_only: NonEmpty  # "This part is only in English for now." (in this language)
    # telegram.yaml's profile texts in this language (Telegram's limits: 512 and 120)
    description: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None
    short_description: Annotated[str, StringConstraints(min_length=1, max_length=120)] | None = None
    responses: dict[IntentId, TranslatedResponse] = Field(default_factory=dict)
    messages: dict[IntentId, TranslatedMessage] = Field(default_factory=dict)
    labels: dict[IntentId, NonEmpty] = Field(default_factory=dict)
    # emergency follow-up phrases, like responses.yaml, in this language
    followups: dict[IntentId, list[NonEmpty]] = Field(default_factory=dict)
    first_person: list[NonEmpty] = Field(default_factory=list)
    other_person: list[NonEmpty] = Field(default_factory=list)


def english_hash(entry: ResponseDef | MessageDef) -> str:
    """A short fingerprint of an English entry's words (title, texts)."""
    parts = [getattr(entry, "title", ""), entry.text, entry.no_country_text or ""]
    parts += list(getattr(entry, "more", []))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:12]


def _tokens(text: str) -> tuple[set[str], set[str]]:
    """The placeholders and phone numbers a text carries."""
    marks = set(PLACEHOLDER.findall(text)) | {f"[{s}]" for s in SLOT.findall(text)}
    return marks, {re.sub(r"\D", "", m) for m in _PHONE.findall(text)}


def _same_marks(english: str, translated: str) -> list[str]:
    want_p, want_n = _tokens(english)
    got_p, got_n = _tokens(translated)
    problems = [f"placeholder {{{p}}} of the English is missing" for p in sorted(want_p - got_p)]
    problems += [f"placeholder {{{p}}} is not in the English" for p in sorted(got_p - want_p)]
    problems += [f"number {n} of the English is missing" for n in sorted(want_n - got_n)]
    return problems


def check_translation(tr: TranslationFile, english: ResponsesFile,
                      where: Callable[[tuple[object, ...]], str]) -> list[str]:
    """Every problem of one translation file, as ``file:line: message``."""
    problems: list[str] = []
    lang = tr.language
    full = lang in FULL_LANGUAGES
    need_r = set(english.responses) if full else set(REQUIRED_RESPONSES)
    need_m = set(english.messages) if full else set(REQUIRED_MESSAGES)
    for rid in sorted(need_r - {r for r, t in tr.responses.items() if t.text}):
        problems.append(f"{where(('responses',))}: {lang}: response {rid!r} is not translated")
    for key in sorted(need_m - set(tr.messages)):
        problems.append(f"{where(('messages',))}: {lang}: message {key!r} is not translated")
    for rid in sorted(set(english.responses) - set(tr.responses)):
        problems.append(f"{where(('responses',))}: {lang}: the title of {rid!r} is not "
                        f"translated")
    for key in sorted(set(english.labels) - set(tr.labels)):
        problems.append(f"{where(('labels',))}: {lang}: label {key!r} is not translated")
    pairs: list[tuple[tuple[object, ...], str, ResponseDef | MessageDef, object]] = []
    pairs += [(("responses", rid), rid, english.responses.get(rid), t)  # type: ignore[misc]
              for rid, t in tr.responses.items()]
    pairs += [(("messages", key), key, english.messages.get(key), t)  # type: ignore[misc]
              for key, t in tr.messages.items()]
    for loc, name, source, t in pairs:
        if source is None:
            problems.append(f"{where(loc)}: {lang}: {name!r} is not in the English content")
            continue
        if t.from_ != english_hash(source):  # type: ignore[attr-defined]
            problems.append(f"{where((*loc, 'from'))}: {lang}: {name!r} is stale: the English "
                            f"changed since it was translated (now {english_hash(source)})")
        texts = [("text", source.text, t.text),  # type: ignore[attr-defined]
                 ("no_country_text", source.no_country_text,
                  t.no_country_text)]  # type: ignore[attr-defined]
        more = getattr(t, "more", [])
        texts += [(f"more.{k}", e, m) for k, (e, m) in
                  enumerate(zip(getattr(source, "more", []), more, strict=False))]
        for field, en_text, tr_text in texts:
            if en_text and tr_text:
                for problem in _same_marks(en_text, tr_text):
                    problems.append(f"{where((*loc, field))}: {lang}: {name}: {problem}")
            elif en_text and not tr_text and field == "no_country_text" and t.text:  # type: ignore[attr-defined]
                problems.append(f"{where((*loc, field))}: {lang}: {name}: no_country_text "
                                f"is not translated")
    for step in tr.followups:
        if step not in english.followups:
            problems.append(f"{where(('followups', step))}: {lang}: follow-up step {step!r} "
                            f"is not in responses.yaml")
    return problems


class MeaningFile(Strict):
    """``intents/meaning/<lang>.yaml``: questions in another language, per intent, written
    (not translated line by line) for meaning-based matching only; the word matcher never
    reads them. Machine-drafted until a native speaker has reviewed them."""

    language: NonEmpty
    review: Review
    examples: dict[IntentId, list[NonEmpty]] = Field(min_length=1)
