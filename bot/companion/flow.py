"""The companion's side of the conversation: commands, buttons, typed answers, due runs.

:class:`CompanionFlow` returns a :class:`Step` (replies, the new settings, what the bot waits
for, a check-in score to keep); :class:`bot.conversation.Conversation` turns it into an
Outcome with the ``companion`` effect, so the shells save the settings and reschedule the
user's jobs. Every word comes from content (``Core.message`` / ``Core.label``); values that
change (a day count, a time) fill ``[slots]`` and are HTML-escaped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from dataclasses import dataclass

from bot.companion import chart, meetings, parse, schedule
from bot.companion.settings import REMINDER_NAMES, Companion, hhmm
from bot.companion.triggers import Feature
from bot.core import Core
from bot.reply.model import Button, Reply

TIME_CHOICES = (8 * 60, 9 * 60, 12 * 60, 18 * 60, 21 * 60)
MOOD_FACES = ("😞", "🙁", "😐", "🙂", "😊")
STRONG_CRAVING = 3  # 3 or 4 on the 0-4 scale
LOWEST_MOOD = 1
# Time-zone buttons offered per country (the first is the most used); others can be typed.
ZONES = {
    "US": ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
           "America/Anchorage", "Pacific/Honolulu"),
    "CA": ("America/Toronto", "America/Winnipeg", "America/Edmonton", "America/Vancouver",
           "America/Halifax", "America/St_Johns"),
    "AU": ("Australia/Sydney", "Australia/Brisbane", "Australia/Adelaide", "Australia/Darwin",
           "Australia/Perth"),
    "BR": ("America/Sao_Paulo", "America/Manaus"),
    "MX": ("America/Mexico_City", "America/Tijuana", "America/Cancun"),
    "GB": ("Europe/London",), "IE": ("Europe/Dublin",), "NZ": ("Pacific/Auckland",),
    "IN": ("Asia/Kolkata",), "DE": ("Europe/Berlin",), "FR": ("Europe/Paris",),
    "ES": ("Europe/Madrid", "Atlantic/Canary"), "ZA": ("Africa/Johannesburg",),
    "PT": ("Europe/Lisbon",), "IT": ("Europe/Rome",), "NL": ("Europe/Amsterdam",),
    "BE": ("Europe/Brussels",), "AT": ("Europe/Vienna",), "CH": ("Europe/Zurich",),
    "PL": ("Europe/Warsaw",), "UA": ("Europe/Kyiv",), "AR": ("America/Argentina/Buenos_Aires",),
    "CO": ("America/Bogota",), "CL": ("America/Santiago",), "PH": ("Asia/Manila",),
    "NG": ("Africa/Lagos",), "KE": ("Africa/Nairobi",), "SG": ("Asia/Singapore",),
    "MY": ("Asia/Kuala_Lumpur",), "JP": ("Asia/Tokyo",), "KR": ("Asia/Seoul",),
    "SE": ("Europe/Stockholm",), "DK": ("Europe/Copenhagen",), "FI": ("Europe/Helsinki",),
}
GENERAL_ZONES = ("Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles",
                 "Asia/Kolkata", "Australia/Sydney")
AWAITING = frozenset({"clean_date", "zone", "milestone_time", "checkin_time", "reminder_time"})


@dataclass(frozen=True, slots=True)
class Step:
    replies: tuple[Reply, ...]
    companion: Companion
    awaiting: str | None = None
    changed: bool = False  # settings to save (and jobs to reschedule)
    score: tuple[int, int, int | None] | None = None  # (day ordinal, mood, craving) to keep


def fill(reply: Reply, **values: object) -> Reply:
    """``[name]`` slots filled with escaped values."""
    messages = []
    for text in reply.messages:
        for key, value in values.items():
            text = text.replace(f"[{key}]", html.escape(str(value), quote=False))
        messages.append(text)
    return dataclasses.replace(reply, messages=tuple(messages))


class CompanionFlow:
    def __init__(self, core: Core) -> None:
        self.core = core

    # -- helpers ---------------------------------------------------------------------------

    def _msg(self, key: str, cc_: str | None, lang: str, buttons: tuple[Button, ...] = (),
             **values: object) -> Reply:
        base = self.core.message(key, cc_, lang)
        reply = fill(base, **values) if values else base
        return dataclasses.replace(reply, buttons=buttons or reply.buttons)

    def _label(self, key: str, lang: str) -> str:
        return self.core.label(key, lang)

    def _time_buttons(self, prefix: str, lang: str) -> tuple[Button, ...]:
        return (*(Button(hhmm(m), f"{prefix}:{m}") for m in TIME_CHOICES),
                Button(self._label("companion_no_thanks", lang), f"{prefix}:off"))

    @staticmethod
    def today(c: Companion, at: dt.datetime) -> dt.date:
        return schedule.local_today(c, at)

    def _count(self, c: Companion, clean: dt.date, at: dt.datetime, key: str, cc: str | None,
               lang: str, buttons: tuple[Button, ...] = ()) -> Reply:
        days = max(0, schedule.clean_days(clean, self.today(c, at)))
        weeks, months = schedule.split_days(days)
        return self._msg(key, cc, lang, buttons, date=clean.isoformat(), days=days,
                         weeks=weeks, months=months)

    def _count_buttons(self, lang: str) -> tuple[Button, ...]:
        return (Button(self._label("cd_reset", lang), "cd:reset"),
                Button(self._label("cd_change", lang), "cd:pick"),
                Button(self._label("cd_milestones", lang), "ms:ask"),
                Button(self._label("companion_off", lang), "cd:off"))

    # -- commands --------------------------------------------------------------------------

    def command(self, name: str, arg: str, c: Companion, cc: str | None, lang: str,
                at: dt.datetime, scores: tuple[tuple[int, int, int | None], ...]) -> Step:
        if name == "cleandate":
            if arg:
                return self.typed("clean_date", arg, c, cc, lang, at)
            if c.clean_date is not None:
                return Step((self._count(c, c.clean_date, at, "cleandate_count", cc, lang,
                                         self._count_buttons(lang)),), c)
            return self._ask_date(c, cc, lang)
        if name == "checkin":
            if arg:
                return self.typed("checkin_time", arg, c, cc, lang, at)
            return self._ask_checkin(c, cc, lang)
        if name == "reminder":
            return self._ask_reminder(c, cc, lang)
        if name == "progress":
            return Step((self.progress(c, cc, lang, at, scores),), c)
        if name == "meetings":
            return self._ask_meetings(c, cc, lang)
        if name == "timezone":
            if arg:
                return self.typed("zone", arg, c, cc, lang, at)
            return self._ask_zone(c, cc, lang)
        return self.mydata(c, cc, lang, scores)

    def feature(self, feature: Feature, text: str, c: Companion, cc: str | None, lang: str,
                at: dt.datetime, family: bool) -> Step:
        """A typed message that asks for a feature (see triggers)."""
        if feature == "meetings":
            return Step((self.meetings(cc, lang, family=family),), c)
        if feature == "reminder":
            return self._ask_reminder(c, cc, lang)
        if feature == "checkin":
            return self._ask_checkin(c, cc, lang)
        day = parse.parse_date(text, self.today(c, at), cc)
        if day is not None and day <= self.today(c, at):
            save = (Button(self._label("cd_save", lang), f"cd:set:{day.isoformat()}"),)
            return Step((self._count(c, day, at, "cleandate_check", cc, lang, save),), c)
        if c.clean_date is not None:
            return Step((self._count(c, c.clean_date, at, "cleandate_count", cc, lang,
                                     self._count_buttons(lang)),), c)
        return self._ask_date(c, cc, lang)

    def _ask_date(self, c: Companion, cc: str | None, lang: str) -> Step:
        buttons = (Button(self._label("cd_today", lang), "cd:today"),
                   Button(self._label("cd_yesterday", lang), "cd:yesterday"),
                   Button(self._label("cd_other_day", lang), "cd:pick"))
        return Step((self._msg("cleandate_ask", cc, lang, buttons),), c, "clean_date")

    def _ask_zone(self, c: Companion, cc: str | None, lang: str) -> Step:
        zones = ZONES.get(cc or "", GENERAL_ZONES)
        buttons = tuple(Button(z.rsplit("/", 1)[-1].replace("_", " "), f"tz:{z}") for z in zones)
        return Step((self._msg("zone_ask", cc, lang, buttons,
                               zone=c.time_zone or "UTC"),), c, "zone")

    def _ask_checkin(self, c: Companion, cc: str | None, lang: str) -> Step:
        buttons = (Button(self._label("ci_now", lang), "ci:now"),
                   *self._time_buttons("ci:time", lang))
        if c.checkin_at is not None:
            buttons += (Button(self._label("ci_stop", lang), "ci:stop"),)
        return Step((self._msg("checkin_ask_time", cc, lang, buttons,
                               time=hhmm(c.checkin_at) if c.checkin_at is not None else "–"),),
                    c, "checkin_time")

    def _ask_reminder(self, c: Companion, cc: str | None, lang: str) -> Step:
        buttons = (*(Button(self._label(f"rm_{n}", lang), f"rm:name:{n}") for n in REMINDER_NAMES),
                   Button(self._label("rm_my", lang), "rm:name:my"))
        if c.reminder_at is not None:
            buttons += (Button(self._label("rm_stop", lang), "rm:stop"),)
        return Step((self._msg("reminder_ask_name", cc, lang, buttons),), c)

    def _ask_meetings(self, c: Companion, cc: str | None, lang: str) -> Step:
        buttons = (Button(self._label("mt_me", lang), "mt:me"),
                   Button(self._label("mt_family", lang), "mt:family"))
        return Step((self._msg("meetings_ask", cc, lang, buttons),), c)

    def meetings(self, cc: str | None, lang: str, *, family: bool) -> Reply:
        links = tuple(Button.link(self._label(key, lang), url)
                      for key, url in meetings.finders(cc, family=family))
        return self._msg("meetings", cc, lang, links)

    def progress(self, c: Companion, cc: str | None, lang: str, at: dt.datetime,
                 scores: tuple[tuple[int, int, int | None], ...]) -> Reply:
        today = self.today(c, at)
        recent = [s for s in scores if s[0] > today.toordinal() - schedule.PROGRESS_DAYS]
        if not recent:
            return self._msg("progress_none", cc, lang,
                             (Button(self._label("ci_now", lang), "ci:now"),))
        moods, cravings = chart.series(recent, today, schedule.PROGRESS_DAYS)
        return self._msg("progress", cc, lang, (), mood=chart.sparkline(moods, 1, 5),
                         craving=chart.sparkline(cravings, 0, 4), answered=len(recent),
                         days=schedule.PROGRESS_DAYS)

    def mydata(self, c: Companion, cc: str | None, lang: str,
               scores: tuple[tuple[int, int, int | None], ...], language: str | None = None
               ) -> Step:
        not_set = self._label("data_not_set", lang)
        zone = c.time_zone or not_set

        def at(minutes: int | None) -> str:
            return hhmm(minutes) if minutes is not None else not_set

        reminder = at(c.reminder_at)
        if c.reminder_at is not None and c.reminder_name:
            reminder += f" ({self._label('rm_' + c.reminder_name, lang)})"
        lines = "\n".join(
            f"{dt.date.fromordinal(d).isoformat()}: {m}/5"
            + (f", {k}/4" if k is not None else "") for d, m, k in scores) or not_set
        reply = self._msg("mydata", cc, lang,
                          (Button(self._label("forget_all", lang), "forget:ask"),),
                          country=cc or not_set, language=language or not_set,
                          date=c.clean_date.isoformat() if c.clean_date else not_set,
                          milestone=at(c.milestone_at), zone=zone, checkin=at(c.checkin_at),
                          reminder=reminder, scores=lines)
        return Step((reply,), c)

    # -- typed answers ---------------------------------------------------------------------

    def typed(self, awaiting: str, text: str, c: Companion, cc: str | None, lang: str,
              at: dt.datetime) -> Step:
        today = self.today(c, at)
        if awaiting == "clean_date":
            day = parse.parse_date(text, today, cc)
            if day is None or day > today:
                return Step((self._msg("cleandate_bad", cc, lang),), c, "clean_date")
            return self._set_date(day, c, cc, lang, at)
        if awaiting == "zone":
            zone = parse.parse_zone(text)
            if zone is None:
                return Step((self._msg("zone_bad", cc, lang),), c, "zone")
            return self._set_zone(zone, c, cc, lang)
        minutes = parse.parse_time(text)
        kind = awaiting.split(":", 1)
        if minutes is None:
            return Step((self._msg("time_bad", cc, lang),), c, awaiting)
        if kind[0] == "milestone_time":
            return self._set_time("milestone", minutes, c, cc, lang)
        if kind[0] == "checkin_time":
            return self._set_time("checkin", minutes, c, cc, lang)
        name = kind[1] if len(kind) > 1 and kind[1] in REMINDER_NAMES else None
        return self._set_time("reminder", minutes, dataclasses.replace(c, reminder_name=name),
                              cc, lang)

    def _set_date(self, day: dt.date, c: Companion, cc: str | None, lang: str,
                  at: dt.datetime) -> Step:
        c = dataclasses.replace(c, clean_date=day)
        said = self._count(c, day, at, "cleandate_set", cc, lang)
        if c.milestone_at is None:
            ask = self._msg("milestone_ask", cc, lang, self._time_buttons("ms", lang))
            return Step((said, ask), c, "milestone_time", changed=True)
        return Step((said,), c, changed=True)

    def _set_zone(self, zone: str, c: Companion, cc: str | None, lang: str) -> Step:
        c = dataclasses.replace(c, time_zone=zone)
        return Step((self._msg("zone_set", cc, lang, (), zone=zone),), c, changed=True)

    def _set_time(self, what: str, minutes: int, c: Companion, cc: str | None, lang: str
                  ) -> Step:
        c = dataclasses.replace(c, **{f"{what}_at": minutes})
        if what == "reminder":
            c = dataclasses.replace(c, snooze_until=None)
        replies = [self._msg("time_set", cc, lang, (), what=self._label(f"what_{what}", lang),
                             time=hhmm(minutes), zone=c.time_zone or "UTC")]
        if what == "reminder" and c.reminder_name:
            replies.append(self._msg("reminder_named", cc, lang, (),
                                     name=self._label(f"rm_{c.reminder_name}", lang)))
        if c.time_zone is None:
            ask = self._ask_zone(c, cc, lang)
            return Step((*replies, *ask.replies), c, "zone", changed=True)
        return Step(tuple(replies), c, changed=True)

    # -- buttons ---------------------------------------------------------------------------

    def button(self, action: str, c: Companion, cc: str | None, lang: str, at: dt.datetime,
               scores: tuple[tuple[int, int, int | None], ...]) -> Step | None:
        """The step for a companion button, or None if the action is not one of ours."""
        kind, _, value = action.partition(":")
        today = self.today(c, at)
        off = (self._msg("companion_off", cc, lang),)
        if kind == "cd":
            if value == "today":
                return self._set_date(today, c, cc, lang, at)
            if value == "yesterday":
                return self._set_date(today - dt.timedelta(days=1), c, cc, lang, at)
            if value == "pick":
                return Step((self._msg("cleandate_type", cc, lang),), c, "clean_date")
            if value.startswith("set:"):
                try:
                    day = dt.date.fromisoformat(value[4:])
                except ValueError:
                    return self._ask_date(c, cc, lang)
                return self._set_date(min(day, today), c, cc, lang, at)
            if value == "reset":  # one tap, no judgement, then the relapse topic
                c = dataclasses.replace(c, clean_date=today)
                buttons = self.core.catalogue.buttons(["relapse", "talk_to_someone"], lang)
                return Step((self._msg("cleandate_reset", cc, lang, buttons),), c, changed=True)
            if value == "off":
                return Step(off, dataclasses.replace(c, clean_date=None, milestone_at=None),
                            changed=True)
            return self._ask_date(c, cc, lang)
        if kind == "ms":
            if value == "ask":
                ask = self._msg("milestone_ask", cc, lang, self._time_buttons("ms", lang))
                return Step((ask,), c, "milestone_time")
            if value == "off":
                return Step(off, dataclasses.replace(c, milestone_at=None), changed=True)
            if value.isdigit() and int(value) < 1440:
                return self._set_time("milestone", int(value), c, cc, lang)
            return None
        if kind == "tz":
            zone = parse.parse_zone(value)
            return self._set_zone(zone, c, cc, lang) if zone else self._ask_zone(c, cc, lang)
        if kind == "ci":
            return self._checkin_button(value, c, cc, lang, today, off)
        if kind == "rm":
            return self._reminder_button(value, c, cc, lang, at, off)
        if kind == "mt":
            return Step((self.meetings(cc, lang, family=value == "family"),), c)
        if action == "progress":
            return Step((self.progress(c, cc, lang, at, scores),), c)
        return None

    def _checkin_button(self, value: str, c: Companion, cc: str | None, lang: str,
                        today: dt.date, off: tuple[Reply, ...]) -> Step | None:
        head, _, rest = value.partition(":")
        if value == "now":
            return Step((self.checkin_question(cc, lang),), c)
        if value == "stop":
            return Step(off, dataclasses.replace(c, checkin_at=None), changed=True)
        if value == "skip":
            return Step((self._msg("checkin_skipped", cc, lang),), c)
        if head == "time":
            if rest == "off":
                return Step(off, dataclasses.replace(c, checkin_at=None), changed=True)
            if rest.isdigit() and int(rest) < 1440:
                return self._set_time("checkin", int(rest), c, cc, lang)
            return None
        if head == "m" and rest.isdigit() and 1 <= int(rest) <= 5:
            mood = int(rest)
            buttons = (*(Button(str(n), f"ci:c:{mood}:{n}") for n in range(5)),
                       Button(self._label("ci_skip", lang), "ci:skip"))
            return Step((self._msg("checkin_craving", cc, lang, buttons),), c,
                        score=(today.toordinal(), mood, None))
        if head == "c":
            mood_s, _, craving_s = rest.partition(":")
            if not (mood_s.isdigit() and craving_s.isdigit()):
                return None
            mood, craving = int(mood_s), int(craving_s)
            if not (1 <= mood <= 5 and 0 <= craving <= 4):
                return None
            replies: list[Reply] = []
            if mood == LOWEST_MOOD:  # the crisis line and a person, never a lecture
                replies.append(self._msg("checkin_low", cc, lang, self.core.catalogue.buttons(
                    ["talk_to_someone", "suicide"], lang)))
            if craving >= STRONG_CRAVING:
                replies.append(self._msg("checkin_strong_craving", cc, lang,
                                         self.core.catalogue.buttons(["cravings"], lang)))
            if not replies:
                replies.append(self._msg("checkin_thanks", cc, lang,
                                         (Button(self._label("ci_progress", lang), "progress"),)))
            return Step(tuple(replies), c, score=(today.toordinal(), mood, craving))
        return None

    def _reminder_button(self, value: str, c: Companion, cc: str | None, lang: str,
                         at: dt.datetime, off: tuple[Reply, ...]) -> Step | None:
        head, _, rest = value.partition(":")
        if head == "name":
            name = rest if rest in REMINDER_NAMES else "my"
            buttons = self._time_buttons(f"rm:time:{name}", lang)
            return Step((self._msg("reminder_ask_time", cc, lang, buttons),), c,
                        f"reminder_time:{name}")
        if head == "time":
            name, _, minutes = rest.partition(":")
            if minutes == "off":
                return Step(off, dataclasses.replace(c, reminder_at=None, reminder_name=None,
                                                     snooze_until=None), changed=True)
            if not minutes.isdigit() or int(minutes) >= 1440:
                return None
            c = dataclasses.replace(c, reminder_name=name if name in REMINDER_NAMES else None)
            return self._set_time("reminder", int(minutes), c, cc, lang)
        if value == "stop":
            return Step(off, dataclasses.replace(c, reminder_at=None, reminder_name=None,
                                                 snooze_until=None), changed=True)
        if value == "taken":
            return Step((self._msg("reminder_taken", cc, lang),),
                        dataclasses.replace(c, snooze_until=None), changed=True)
        if value == "snooze":
            until = int((at + schedule.SNOOZE).timestamp())
            return Step((self._msg("reminder_snoozed", cc, lang, (), time=hhmm(
                self._minutes(at + schedule.SNOOZE, c))),),
                dataclasses.replace(c, snooze_until=until), changed=True)
        if value == "missed":  # the clinic or prescriber, never dosing advice
            topic = c.reminder_name or "treatment_options"
            return Step((self._msg("reminder_missed", cc, lang,
                                   self.core.catalogue.buttons([topic, "find_treatment"], lang)),),
                        dataclasses.replace(c, snooze_until=None), changed=True)
        return None

    @staticmethod
    def _minutes(moment: dt.datetime, c: Companion) -> int:
        local = moment.astimezone(c.zone)
        return local.hour * 60 + local.minute

    # -- due runs --------------------------------------------------------------------------

    def checkin_question(self, cc: str | None, lang: str) -> Reply:
        buttons = (*(Button(f"{n} {MOOD_FACES[n - 1]}", f"ci:m:{n}") for n in range(1, 6)),
                   Button(self._label("ci_skip", lang), "ci:skip"),
                   Button(self._label("ci_stop", lang), "ci:stop"))
        return self._msg("checkin_question", cc, lang, buttons)

    def due(self, run: schedule.Run, c: Companion, cc: str | None, lang: str) -> Reply | None:
        """What to send for a due run (None: the feature was turned off meanwhile)."""
        if run.kind == "checkin":
            return self.checkin_question(cc, lang) if c.checkin_at is not None else None
        if run.kind == "reminder":
            if c.reminder_at is None:
                return None
            name = self._label(f"rm_{c.reminder_name or 'my'}", lang)
            buttons = (Button(self._label("rm_taken", lang), "rm:taken"),
                       Button(self._label("rm_snooze", lang), "rm:snooze"),
                       Button(self._label("rm_missed", lang), "rm:missed"),
                       Button(self._label("rm_stop", lang), "rm:stop"))
            return self._msg("reminder_due", cc, lang, buttons, name=name)
        if c.clean_date is None or c.milestone_at is None:
            return None
        days = run.days
        key = ("milestone_early" if days <= 14 else "milestone_months" if days < 365
               else "milestone_years")
        weeks, months = schedule.split_days(days)
        buttons = self.core.catalogue.buttons(["relapse_early_recovery", "naloxone"], lang) \
            if days <= 14 else ()
        return self._msg(key, cc, lang, buttons, days=days, weeks=weeks, months=months,
                         years=days // 365)
