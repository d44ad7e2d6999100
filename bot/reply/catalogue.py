"""Every reply text built once at start-up: each topic and message for each country and
language.

Handling a message then only picks a pre-built :class:`Reply`; nothing is rendered per message.
A text a language has not translated is the English one, under that language's one-line note
that this part is only in English for now.
"""

from __future__ import annotations

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
        self.topics = {(rid, cc, lang): self._build_topic(rid, cc, lang)
                       for rid in resp.responses for cc in keys for lang in self.languages}
        self.messages = {(key, cc, lang): self._build_message(key, cc, lang)
                         for key in resp.messages for cc in keys for lang in self.languages}

    def buttons(self, ids: list[str] | tuple[str, ...], lang: str = "en") -> tuple[Button, ...]:
        titles = self.all_titles.get(lang, self.titles)
        return tuple(Button(titles[i], f"intent:{i}") for i in ids)

    def _note(self, lang: str) -> str:
        return f"<i>{self.content.translations[lang].english_only}</i>\n\n"

    def _build_topic(self, rid: str, country: str | None, lang: str) -> Reply:
        r = self.content.responses.responses[rid]
        tr = self.content.translations[lang].responses.get(rid) if lang != "en" else None
        note = ""
        if tr is not None and tr.text:
            text = tr.no_country_text if (country is None and tr.no_country_text) else tr.text
            more = tr.more or r.more
        else:
            text = r.no_country_text if (country is None and r.no_country_text) else r.text
            more, note = r.more, (self._note(lang) if lang != "en" else "")
        messages = tuple(self.renderer.fill(t, country) for t in (note + text, *more))
        route: Route = ROUTE_OF_SAFETY.get(parent_of(rid, SAFETY_INTENTS), "answer")  # type: ignore[assignment]
        return Reply(route, rid, messages, self.buttons(r.buttons, lang), score=100.0)

    def _build_message(self, key: str, country: str | None, lang: str) -> Reply:
        m = self.content.responses.messages[key]
        tr = self.content.translations[lang].messages.get(key) if lang != "en" else None
        source = tr if tr is not None else m
        note = self._note(lang) if (lang != "en" and tr is None) else ""
        text = (source.no_country_text if (country is None and source.no_country_text)
                else source.text)
        return Reply("fallback", None, (self.renderer.fill(note + text, country),),
                     self.buttons(m.buttons, lang))

    def problems(self) -> list[str]:
        """HTML and placeholder problems of the filled texts, as ``file:line: message``."""
        src = self.content.sources["responses"]
        problems: list[str] = []
        seen: set[tuple[str, str]] = set()
        checked: set[str] = set()  # each distinct text once (many countries share a text)
        items = [(("responses", rid), reply) for (rid, _, _), reply in self.topics.items()]
        items += [(("messages", key), reply) for (key, _, _), reply in self.messages.items()]
        for loc, reply in items:
            for text in reply.messages:
                if text in checked:
                    continue
                checked.add(text)
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
