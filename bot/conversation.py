"""The one conversation both shells drive: an event plus the user's state in, replies out.

An :class:`Event` is what the user did (text, a /command with its argument, a button, a photo);
:class:`UserState` is what the bot knows about them (country, language, what it last asked,
the emergency it is helping with). :meth:`Conversation.handle` returns an :class:`Outcome`:
the replies in order, the new state, and the effects the shell must carry out (save the
country, forget the user). The console and Telegram only translate: a line or an Update in,
an Outcome out, so identical input gives identical words on both.

Safety comes first: a text is classified (normalise, safety, matcher) exactly once, before any
country or conversation logic, and an overdose or crisis reply is never replaced by a question.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from bot.commands import COMMAND_TABLE, COMMANDS_BY_NAME, COMPANION_ACTIONS, Command
from bot.companion import parse, schedule
from bot.companion.flow import AWAITING, CompanionFlow, Step
from bot.companion.settings import Companion
from bot.companion.triggers import feature_asked
from bot.content.html_format import MAX_MESSAGE_CHARS
from bot.core import Core, with_buttons
from bot.reply.model import Button, Reply
from bot.understand.classify import Classification
from bot.understand.followups import FollowupSteps

EventKind = Literal["text", "command", "button", "voice", "media", "location", "edited"]
EmergencyKind = Literal["overdose", "crisis"]
COUNTRY_STATEMENT_WORDS = 6  # "i live in the uk now": short enough to be only about the country
CRISIS_VARIANTS = ("crisis_listen_1", "crisis_listen_2", "crisis_listen_3", "crisis_person")
# A Telegram client language (without a region) and the country it most likely means.
LANGUAGE_COUNTRY = {
    "de": "DE",
    "fr": "FR",
    "es": "ES",
    "it": "IT",
    "pl": "PL",
    "uk": "UA",
    "pt": "BR",
    "nl": "NL",
    "sv": "SE",
    "nb": "NO",
    "no": "NO",
    "da": "DK",
    "fi": "FI",
    "ja": "JP",
    "ko": "KR",
    "ga": "IE",
}


@dataclass(frozen=True, slots=True)
class Emergency:
    """The emergency the bot is helping with: its kind, when it started, replies so far."""

    kind: EmergencyKind
    since: float  # seconds (the shell's clock)
    count: int = 1


@dataclass(frozen=True, slots=True)
class UserState:
    country: str | None = None  # stored
    language: str | None = None  # chosen with /language; stored
    client_language: str | None = None  # Telegram's language_code: a hint, never stored
    seen_language: str | None = None  # the language of the user's last clear message
    # what the bot last asked: "country", or a companion answer ("clean_date", "zone",
    # "milestone_time", "checkin_time", "reminder_time:<name>")
    awaiting: str | None = None
    emergency: Emergency | None = None
    reply_language: str = "en"  # decided for each event (see Conversation.language_for)
    companion: Companion = field(default_factory=Companion)  # stored (opt-in features)
    # the user's check-in scores (day ordinal, mood, craving): given by the shell when an
    # event needs them (/progress, /mydata; see Conversation.needs_scores), else empty
    scores: tuple[tuple[int, int, int | None], ...] = ()
    wall: dt.datetime | None = None  # the shell's wall clock for this event (aware)


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    text: str = ""  # the message, the command's argument, or the button's action
    command: str = ""  # for kind "command": its name, lowercase, without the bot's @name
    private: bool = True  # a one-to-one chat (groups never read a bare word as a country)
    classification: Classification | None = None  # made once per message (see classify)

    @property
    def urgent(self) -> bool:
        """An emergency: handled first, before other updates of the same chat."""
        if self.kind == "command":
            cmd = COMMANDS_BY_NAME.get(self.command)
            return cmd is not None and (
                cmd.urgent
                or (cmd.action == "start" and self.text.startswith(("overdose", "suicide")))
            )
        if self.kind == "button":
            return self.text.startswith(("intent:overdose", "intent:suicide"))
        return self.classification is not None and self.classification.urgent


# save: the country and language; forget: erase the user and cancel their jobs;
# companion: save the companion settings and reschedule the user's jobs
Effect = Literal["save", "forget", "companion"]


@dataclass(frozen=True, slots=True)
class Outcome:
    replies: tuple[Reply, ...]
    state: UserState
    effects: frozenset[Effect] = field(default_factory=frozenset)
    score: tuple[int, int, int | None] | None = None  # a check-in to keep (day, mood, craving)


class Conversation:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.window = core.tuning.emergency_window_minutes * 60
        self.followups = {lang: FollowupSteps(core.normalise, steps)
                          for lang, steps in core.followup_phrases(core.content).items()}
        self.companion = CompanionFlow(core)
        self._commands: dict[str, Callable[[str, UserState, float], Outcome]] = {
            "start": self._start,
            "sos": self._sos,
            "crisis": self._crisis,
            "country": self._country,
            "language": self._language,
            "topics": self._topics,
            "help": self._help,
            "privacy": self._privacy,
            "forget": self._forget,
        }

    # --- events in -------------------------------------------------------------------------

    def text_event(self, text: str, *, private: bool = True) -> Event:
        """A typed message, classified once. A ``/command`` becomes a command event."""
        stripped = text.strip()
        head = stripped.split(maxsplit=1)[0] if stripped else ""
        if head.startswith("/") and len(head) > 1:
            name = head[1:].split("@", 1)[0].casefold()
            return Event("command", stripped[len(head) :].strip(), name, private)
        return Event("text", text, private=private, classification=self.core.classify(text))

    def language_for(self, event: Event, state: UserState) -> tuple[str, str | None]:
        """The reply language and the language seen: the message's own language when it is
        clear, else the /language choice, else the last clear message's, else the Telegram
        client's, else English."""
        said = event.classification.language if event.classification is not None else None
        seen = said or state.seen_language
        client = (state.client_language or "").replace("_", "-").partition("-")[0].casefold()
        for lang in (said, state.language, seen, client):
            if lang and self.core.known_language(lang) == lang:
                return lang, seen
        return "en", seen

    @staticmethod
    def needs_scores(event: Event) -> bool:
        """Whether the event shows stored check-in scores (the shell then loads them)."""
        if event.kind == "command":
            cmd = COMMANDS_BY_NAME.get(event.command)
            return cmd is not None and cmd.action in ("progress", "mydata")
        return event.kind == "button" and event.text in ("progress", "ci:now")

    def handle(self, event: Event, state: UserState, now: float,
               at: dt.datetime | None = None) -> Outcome:
        """``now``: the shell's clock in seconds (emergency windows); ``at``: the wall clock
        (dates, times of day; default: the real time)."""
        lang, seen = self.language_for(event, state)
        state = dataclasses.replace(
            self._expire(state, now), reply_language=lang, seen_language=seen,
            wall=at or dt.datetime.now(dt.UTC),
        )
        if event.kind == "command":
            return self._command(event, state, now)
        if event.kind == "button":
            return self._button(event.text, state, now)
        if event.kind == "text":
            return self._text(event, state, now)
        # voice, media, location, edited: the caption or edit is checked for an emergency first
        if event.classification is not None and event.classification.urgent:
            return self._emergency(event.classification, state, now)
        return self._say(state, self.core.message(event.kind, state.country, state.reply_language))

    # --- commands --------------------------------------------------------------------------

    def commands(self) -> tuple[Command, ...]:
        return COMMAND_TABLE

    def _command(self, event: Event, state: UserState, now: float) -> Outcome:
        cmd = COMMANDS_BY_NAME.get(event.command)
        if cmd is None:
            return self._help("", state, now)
        if cmd.action in COMPANION_ACTIONS:
            state = dataclasses.replace(state, awaiting=None)
            if cmd.action == "mydata":
                step = self.companion.mydata(state.companion, state.country,
                                             state.reply_language, state.scores, state.language)
            else:
                step = self.companion.command(cmd.action, event.text, state.companion,
                                              state.country, state.reply_language,
                                              self._wall(state), state.scores)
            return self._from_step(step, state)
        return self._commands[cmd.action](event.text, state, now)

    # --- the companion -----------------------------------------------------------------------

    @staticmethod
    def _wall(state: UserState) -> dt.datetime:
        return state.wall or dt.datetime.now(dt.UTC)

    @staticmethod
    def _from_step(step: Step, state: UserState) -> Outcome:
        new = dataclasses.replace(state, companion=step.companion, awaiting=step.awaiting)
        effects: set[Effect] = {"companion"} if step.changed else set()
        if step.changed and new.language is None and new.reply_language != "en":
            # scheduled messages come without a message to read the language from: keep
            # the language the user turned the feature on in (shown by /mydata)
            new = dataclasses.replace(new, language=new.reply_language)
            effects.add("save")
        return Outcome(step.replies, new, frozenset(effects), step.score)

    def due(self, run: schedule.Run, state: UserState) -> Outcome:
        """What to send for a due run (no replies: the feature was turned off meanwhile)."""
        lang = self.core.known_language(state.language or state.client_language)
        reply = self.companion.due(run, state.companion, state.country, lang)
        return Outcome((reply,) if reply is not None else (), state)

    def _start(self, arg: str, state: UserState, now: float) -> Outcome:
        cc = state.country
        if arg and self.core.has_topic(arg):
            out = self._topic(arg, state, now)
            if cc is None:
                return self._then_ask_country(out)
            return out
        welcome = self.core.message("welcome", cc, state.reply_language)
        if cc is None:
            return self._then_ask_country(Outcome((welcome,), state))
        return Outcome(
            (welcome, self.topics_reply(cc, state.reply_language)),
            dataclasses.replace(state, awaiting=None),
        )

    def _sos(self, arg: str, state: UserState, now: float) -> Outcome:
        return self._emergency_reply(
            self.core.topic("overdose", state.country, state.reply_language), "overdose", state, now
        )

    def _crisis(self, arg: str, state: UserState, now: float) -> Outcome:
        return self._crisis_reply(state, now, fresh=True)

    def _country(self, arg: str, state: UserState, now: float) -> Outcome:
        if arg:
            return self._answer_country(arg, state, now, asked=True)
        return self._ask_country(state)

    def _language(self, arg: str, state: UserState, now: float) -> Outcome:
        """The languages the bot speaks, as buttons (``/language es`` chooses at once)."""
        code = arg.strip().casefold()[:2]
        if code and code in self.core.catalogue.languages:
            return self._set_language(code, state)
        buttons = tuple(
            Button(self.core.language_name(lang), f"language:{lang}")
            for lang in self.core.catalogue.languages
        )
        return self._say(
            state,
            with_buttons(self.core.message("topics", state.country, state.reply_language), buttons),
        )

    def _set_language(self, lang: str, state: UserState) -> Outcome:
        new = dataclasses.replace(state, language=lang, reply_language=lang)
        return Outcome((self.topics_reply(new.country, lang),), new, frozenset({"save"}))

    def _topics(self, arg: str, state: UserState, now: float) -> Outcome:
        return self._say(state, self.topics_reply(state.country, state.reply_language))

    def _help(self, arg: str, state: UserState, now: float) -> Outcome:
        return self._say(state, self.help_reply(state.country, state.reply_language))

    def _privacy(self, arg: str, state: UserState, now: float) -> Outcome:
        return self._say(state, self.core.message("privacy", state.country, state.reply_language))

    def _forget(self, arg: str, state: UserState, now: float) -> Outcome:
        base = self.core.message("forget_confirm", state.country, state.reply_language)
        buttons = (
            Button(self.core.label("forget_yes", state.reply_language), "forget:yes"),
            Button(self.core.label("forget_no", state.reply_language), "forget:no"),
        )
        return self._say(state, with_buttons(base, buttons))

    # --- buttons ---------------------------------------------------------------------------

    def _button(self, action: str, state: UserState, now: float) -> Outcome:
        kind, _, value = action.partition(":")
        if action == "forget:ask":
            return self._forget("", state, now)
        step = self.companion.button(action, state.companion, state.country,
                                     state.reply_language, self._wall(state), state.scores)
        if step is not None:
            return self._from_step(step, dataclasses.replace(state, awaiting=None))
        if kind == "intent" and self.core.has_topic(value):
            return self._topic(value, state, now)
        if kind == "country":
            if value == "other":
                return self._set_country(None, state, now)
            if value in self.core.countries:
                return self._set_country(value, state, now)
            return self._ask_country(state)  # a country no longer offered
        if kind == "language" and value in self.core.catalogue.languages:
            return self._set_language(value, state)
        if action == "topics":
            return self._say(state, self.topics_reply(state.country, state.reply_language))
        if action == "forget:yes":
            return Outcome(
                (self.core.message("forget_done", None, state.reply_language),),
                UserState(client_language=state.client_language),
                frozenset({"forget"}),
            )
        if action == "forget:no":
            return self._say(
                state, self.core.message("forget_cancelled", state.country, state.reply_language)
            )
        return self._say(
            state, self.topics_reply(state.country, state.reply_language)
        )  # an old or unknown button

    def _topic(self, rid: str, state: UserState, now: float) -> Outcome:
        reply = self.core.topic(rid, state.country, state.reply_language)
        if reply.route == "overdose":
            return self._emergency_reply(reply, "overdose", state, now)
        if reply.route == "crisis":
            return self._crisis_reply(state, now, fresh=True)
        return self._say(state, reply)

    # --- free text -------------------------------------------------------------------------

    def _text(self, event: Event, state: UserState, now: float) -> Outcome:
        text = event.text
        if not text.strip():
            return self._say(state, self.core.message("empty", state.country, state.reply_language))
        c = event.classification or self.core.classify(text)
        if c.urgent:  # safety first: never read as the answer to "which country?"
            return self._emergency(c, dataclasses.replace(state, awaiting=None), now)
        ctx = state.emergency
        if ctx is not None and ctx.kind == "overdose":
            step = self._step(c, state)
            if step is not None:
                return self._emergency_reply(
                    self.core.topic(step, state.country, state.reply_language),
                    "overdose",
                    state,
                    now,
                )
        awaited = (state.awaiting or "").split(":", 1)[0]
        # the answer to a companion question; a possible emergency ("check") or a real
        # question is never read as one
        if awaited in AWAITING and c.route != "check" and (
                c.route != "answer" or self._looks_like_answer(text, awaited)):
            step = self.companion.typed(state.awaiting or "", text, state.companion,
                                        state.country, state.reply_language, self._wall(state))
            return self._from_step(step, state)
        code = self.core.resolve_country(text, exact=True) if event.private else None
        if code is not None:  # "uk", "🇩🇪": a country, whatever was asked
            return self._set_country(code, state, now)
        if not c.tokens and c.route == "fallback":  # only emoji, symbols, invisible characters
            return self._say(state, self.core.message("empty", state.country, state.reply_language))
        if state.awaiting == "country":
            return self._answer_country(text, state, now, asked=True, classification=c)
        companion = self._companion_text(text, c, state)
        if companion is not None:
            return companion
        if c.route != "answer" and event.private and len(c.tokens) <= COUNTRY_STATEMENT_WORDS:
            code = self.core.resolve_country(text, exact=False)  # "im in germany"
            if code is not None:
                return self._set_country(code, state, now)
        if ctx is not None and ctx.kind == "crisis" and c.route in ("fallback", "clarify"):
            return self._crisis_reply(state, now, fresh=False)  # keep listening
        reply = self.core.reply_for(
            c, state.country, long=len(text) > MAX_MESSAGE_CHARS, lang=state.reply_language
        )
        return self._say(state, reply)

    def _step(self, c: Classification, state: UserState) -> str | None:
        """The emergency follow-up step a message asks for: in its own language, the
        conversation's, or any other (a short panicked line often has no clear language)."""
        order = dict.fromkeys([c.language or "en", state.reply_language, *self.followups])
        for lang in order:
            steps = self.followups.get(lang)
            step = steps.step(c.tokens) if steps is not None else None
            if step is not None:
                return step
        return None

    # --- emergencies -----------------------------------------------------------------------

    def _emergency(self, c: Classification, state: UserState, now: float) -> Outcome:
        if c.route == "crisis":
            return self._crisis_reply(state, now, fresh=False)
        ctx = state.emergency
        if ctx is not None and ctx.kind == "overdose" and c.person != "self" and not c.also_crisis:
            step = self._step(c, state) or "overdose_still"
            return self._emergency_reply(
                self.core.topic(step, state.country, state.reply_language), "overdose", state, now
            )
        return self._emergency_reply(
            self.core.reply_for(c, state.country, lang=state.reply_language), "overdose", state, now
        )

    def _emergency_reply(
        self, reply: Reply, kind: EmergencyKind, state: UserState, now: float
    ) -> Outcome:
        ctx = state.emergency
        count = ctx.count + 1 if ctx is not None and ctx.kind == kind else 1
        since = ctx.since if ctx is not None and ctx.kind == kind else now
        new = dataclasses.replace(state, awaiting=None, emergency=Emergency(kind, since, count))
        return Outcome((reply,), new)

    def _crisis_reply(self, state: UserState, now: float, *, fresh: bool) -> Outcome:
        """The crisis reply; repeated distress gets varied, listening replies (then the offer
        of a person), never the same text word for word. With no country: country buttons."""
        ctx = state.emergency
        count = ctx.count if ctx is not None and ctx.kind == "crisis" else 0
        cc = state.country
        if count == 0 or fresh:
            reply = self.core.topic("suicide", cc, state.reply_language)
        else:
            key = CRISIS_VARIANTS[(count - 1) % len(CRISIS_VARIANTS)]
            reply = self.core.message(key, cc, state.reply_language)
            reply = Reply("crisis", "suicide", reply.messages, reply.buttons, 100.0)
        if cc is None:
            reply = with_buttons(
                reply, self.core.country_buttons(self.country_hint(state), state.reply_language)
            )
        return self._emergency_reply(reply, "crisis", state, now)

    def _expire(self, state: UserState, now: float) -> UserState:
        ctx = state.emergency
        if ctx is not None and now - ctx.since > self.window:
            return dataclasses.replace(state, emergency=None)
        return state

    # --- the country -----------------------------------------------------------------------

    def country_hint(self, state: UserState) -> str | None:
        """The country a Telegram client's language suggests ("de" -> DE, "pt-BR" -> BR)."""
        code = (state.client_language or "").replace("_", "-")
        lang, _, region = code.partition("-")
        guess = region.upper() if region else LANGUAGE_COUNTRY.get(lang.casefold())
        return guess if guess in self.core.countries else None

    def _ask_country(self, state: UserState) -> Outcome:
        reply = with_buttons(
            self.core.message("ask_country", state.country, state.reply_language),
            self.core.country_buttons(self.country_hint(state), state.reply_language),
        )
        return Outcome((reply,), dataclasses.replace(state, awaiting="country"))

    def _then_ask_country(self, out: Outcome) -> Outcome:
        asked = self._ask_country(out.state)
        return Outcome(out.replies + asked.replies, asked.state, out.effects)

    def _answer_country(
        self,
        text: str,
        state: UserState,
        now: float,
        *,
        asked: bool,
        classification: Classification | None = None,
    ) -> Outcome:
        code = self.core.resolve_country(text)
        if code is not None:
            return self._set_country(code, state, now)
        if text.strip().casefold() in (
            "other",
            self.core.label("country_other", state.reply_language).casefold(),
        ):
            return self._set_country(None, state, now)
        state = dataclasses.replace(state, awaiting=None)
        if classification is not None and classification.route in ("answer", "clarify"):
            # not a country but a question: answer it rather than lose it
            reply = self.core.reply_for(classification, state.country, lang=state.reply_language)
            return self._say(state, reply)
        not_understood = with_buttons(
            self.core.message("country_not_understood", state.country, state.reply_language),
            self.core.country_buttons(self.country_hint(state), state.reply_language),
        )
        return self._say(state, not_understood)

    def _set_country(self, code: str | None, state: UserState, now: float) -> Outcome:
        new = dataclasses.replace(state, country=code, awaiting=None)
        # a country with no numbers of its own is still stored: a later content update
        # applies at once; until then the general numbers, said honestly
        known = self.core.known_country(code) is not None
        confirm = self.core.message(
            "country_set" if known else "country_other", code, new.reply_language
        )
        ctx = new.emergency
        if ctx is not None and ctx.kind == "crisis":  # the local crisis line, at once
            follow = self.core.topic("suicide", code, new.reply_language)
        elif ctx is not None and ctx.kind == "overdose":
            follow = self.core.topic("overdose", code, new.reply_language)
        else:
            follow = self.topics_reply(code, new.reply_language)
        return Outcome((confirm, follow), new, frozenset({"save"}))

    # --- replies built from the core --------------------------------------------------------

    def topics_reply(self, country: str | None, lang: str = "en") -> Reply:
        return with_buttons(
            self.core.message("topics", country, lang), self.core.topic_buttons(lang)
        )

    def help_reply(self, country: str | None, lang: str = "en") -> Reply:
        base = self.core.message("help", country, lang)
        lines = "\n".join(
            f"/{c.name} – {self.core.label(c.label_key, lang)}" for c in COMMAND_TABLE if c.in_menu
        )
        return dataclasses.replace(base, messages=(base.messages[0].rstrip("\n") + "\n" + lines,))

    def _companion_text(self, text: str, c: Classification, state: UserState) -> Outcome | None:
        """A message that asks for a companion feature ("remind me to take my suboxone")."""
        feature = feature_asked(text)
        if feature is None:
            return None
        step = self.companion.feature(feature, text, state.companion, state.country,
                                      state.reply_language, self._wall(state),
                                      family=c.person not in (None, "self"))
        return self._from_step(step, dataclasses.replace(state, awaiting=None))

    @staticmethod
    def _looks_like_answer(text: str, awaited: str) -> bool:
        """A typed answer ("9pm", "3 march", "+2", "paris") even if it also matches a topic."""
        if awaited == "zone":
            return parse.parse_zone(text) is not None
        if awaited == "clean_date":
            return parse.parse_date(text, dt.date.today()) is not None
        return parse.parse_time(text) is not None and len(text.split()) <= 4

    @staticmethod
    def _say(state: UserState, reply: Reply) -> Outcome:
        return Outcome((reply,), state)
