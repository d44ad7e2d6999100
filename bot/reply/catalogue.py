"""Every reply text built once at start-up: each topic and message for each country and
language.

Handling a message then only picks a pre-built :class:`Reply`; nothing is rendered per message.
A text a language has not translated is the English one, under that language's one-line note
that this part is only in English for now.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.content import SAFETY_INTENTS, Content
from bot.content.html_format import html_problems
from bot.content.placeholders import PLACEHOLDERS
from bot.reply.model import Button, Reply, Route
from bot.reply.render import Renderer
from bot.understand.matcher import parent_of

ROUTE_OF_SAFETY = {"overdose": "overdose", "suicide": "crisis"}


class Catalogue:
    def __init__(self, content: Content, renderer: Renderer, countries: list[str]) -> None:
        self.content = content
        self.renderer = renderer
        resp = content.responses
        self.languages = ("en", *sorted(content.translations))
        en_titles = {rid: r.title for rid, r in resp.responses.items()}
        self.all_titles = {"en": en_titles}
        self.labels = {"en": dict(resp.labels)}
        for lang, tr in content.translations.items():
            self.all_titles[lang] = {**en_titles, **{rid: t.title
                                                      for rid, t in tr.responses.items()}}
            self.labels[lang] = {**resp.labels, **tr.labels}
        self.titles = en_titles
        keys: list[str | None] = [None, *countries]
        # Each (reply, language) is prepared once: its templates, buttons and route; then
        # each country only fills the templates (a text is made once per distinct set of
        # values) and shares one Reply with every country that gets the same texts.
        topic = {(rid, lang): _Builder(self._topic_parts(rid, lang))
                 for rid in resp.responses for lang in self.languages}
        self.topics = {(rid, cc, lang): topic[rid, lang].reply(cc)
                       for rid in resp.responses for cc in keys for lang in self.languages}
        message = {(key, lang): _Builder(self._message_parts(key, lang))
                   for key in resp.messages for lang in self.languages}
        self.messages = {(key, cc, lang): message[key, lang].reply(cc)
                         for key in resp.messages for cc in keys for lang in self.languages}

    def buttons(self, ids: list[str] | tuple[str, ...], lang: str = "en") -> tuple[Button, ...]:
        titles = self.all_titles.get(lang, self.titles)
        return tuple(Button(titles[i], f"intent:{i}") for i in ids)

    def _note(self, lang: str) -> str:
        return f"<i>{self.content.translations[lang].english_only}</i>\n\n"

    def _topic_parts(self, rid: str, lang: str) -> _Parts:
        r = self.content.responses.responses[rid]
        tr = self.content.translations[lang].responses.get(rid) if lang != "en" else None
        note = ""
        if tr is not None and tr.text:
            text, no_country, more = tr.text, tr.no_country_text, tr.more or r.more
        else:
            text, no_country, more = r.text, r.no_country_text, r.more
            note = self._note(lang) if lang != "en" else ""
        route: Route = ROUTE_OF_SAFETY.get(parent_of(rid, SAFETY_INTENTS), "answer")  # type: ignore[assignment]
        return _Parts(self.renderer, route, rid, note + (no_country or text), note + text,
                      tuple(more), self.buttons(r.buttons, lang), 100.0)

    def _message_parts(self, key: str, lang: str) -> _Parts:
        m = self.content.responses.messages[key]
        tr = self.content.translations[lang].messages.get(key) if lang != "en" else None
        source = tr if tr is not None else m
        note = self._note(lang) if (lang != "en" and tr is None) else ""
        return _Parts(self.renderer, "fallback", None,
                      note + (source.no_country_text or source.text), note + source.text, (),
                      self.buttons(m.buttons, lang), 0.0)

    def problems(self) -> list[str]:
        """HTML and placeholder problems of the filled texts, as ``file:line: message``."""
        src = self.content.sources["responses"]
        problems: list[str] = []
        seen: set[tuple[str, str]] = set()
        checked: set[str] = set()  # each distinct text once (many countries share a text)
        replies: set[int] = set()  # a Reply shared by many countries: its texts are checked
        for kind, catalogue in (("responses", self.topics), ("messages", self.messages)):
            for (key, _, _), reply in catalogue.items():
                if id(reply) in replies:
                    continue
                replies.add(id(reply))
                loc = (kind, key)
                for text in reply.messages:
                    if text in checked:
                        continue
                    checked.add(text)
                    for issue in html_problems(text):
                        if (key, issue) not in seen:
                            seen.add((key, issue))
                            problems.append(f"{src.where(loc)}: {key}: {issue}")
                    for name in self.renderer.unfilled(text):
                        if (key, name) not in seen:
                            seen.add((key, name))
                            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
                            problems.append(f"{src.where(loc)}: {key}: unknown placeholder "
                                            f"{{{name}}} (known: {known})")
        return problems


@dataclass(frozen=True)
class _Parts:
    """What one reply in one language is made of, before a country fills it."""

    renderer: Renderer
    route: Route
    intent: str | None
    no_country_text: str  # the first message for no known country
    text: str  # ... for a country
    more: tuple[str, ...]
    buttons: tuple[Button, ...]
    score: float


class _Builder:
    """One reply in one language for every country: ``Reply(route, intent, messages,
    buttons, score)`` with the messages filled for that country. Countries that give the
    templates the same values share one Reply (most replies use no placeholder at all)."""

    def __init__(self, parts: _Parts) -> None:
        self.parts = parts
        fill = parts.renderer.filler
        self._first = fill(parts.text)
        self._first_none = (self._first if parts.no_country_text == parts.text
                            else fill(parts.no_country_text))
        self._more = tuple(fill(t) for t in parts.more)
        fillers = (self._first, self._first_none, *self._more)
        self._names = tuple(dict.fromkeys(n for f in fillers for n in f.names))
        self._values = parts.renderer.values
        self._by_values: dict[tuple[bool, tuple[str | None, ...]], Reply] = {}
        self._replies: dict[tuple[str, ...], Reply] = {}
        # no placeholder: one Reply for every country (the texts do not depend on which: "*"
        # stands for any), one for no country
        self._fixed = None if self._names else (self._reply("*"), self._reply(None))

    def reply(self, country: str | None) -> Reply:
        if self._fixed is not None:
            return self._fixed[country is None]
        return self._reply(country)

    def _reply(self, country: str | None) -> Reply:
        # everything the messages depend on: which first template, and the values it fills
        if self._names:
            values = self._values.get(country) or self._values[None]
            key = (country is None, tuple(map(values.get, self._names)))
        else:
            key = (country is None, ())
        reply = self._by_values.get(key)
        if reply is None:
            first = self._first_none if country is None else self._first
            messages = (first(country), *(more(country) for more in self._more))
            reply = self._replies.get(messages)
            if reply is None:
                p = self.parts
                reply = self._replies[messages] = Reply(p.route, p.intent, messages,
                                                        p.buttons, p.score)
            self._by_values[key] = reply
        return reply
