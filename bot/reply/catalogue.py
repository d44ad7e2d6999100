"""Every reply text built once at start-up: each topic and message for each country.

Handling a message then only picks a pre-built :class:`Reply`; nothing is rendered per message.
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
        self.titles = {rid: r.title for rid, r in resp.responses.items()}
        keys: list[str | None] = [None, *countries]
        self.topics = {(rid, cc): self._build_topic(rid, cc)
                       for rid in resp.responses for cc in keys}
        self.messages = {(key, cc): self._build_message(key, cc)
                         for key in resp.messages for cc in keys}

    def buttons(self, ids: list[str] | tuple[str, ...]) -> tuple[Button, ...]:
        return tuple(Button(self.titles[i], f"intent:{i}") for i in ids)

    def _build_topic(self, rid: str, country: str | None) -> Reply:
        r = self.content.responses.responses[rid]
        text = r.no_country_text if (country is None and r.no_country_text) else r.text
        messages = tuple(self.renderer.fill(t, country) for t in (text, *r.more))
        route: Route = ROUTE_OF_SAFETY.get(parent_of(rid, SAFETY_INTENTS), "answer")  # type: ignore[assignment]
        return Reply(route, rid, messages, self.buttons(r.buttons), score=100.0)

    def _build_message(self, key: str, country: str | None) -> Reply:
        m = self.content.responses.messages[key]
        text = m.no_country_text if (country is None and m.no_country_text) else m.text
        return Reply("fallback", None, (self.renderer.fill(text, country),),
                     self.buttons(m.buttons))

    def problems(self) -> list[str]:
        """HTML and placeholder problems of the filled texts, as ``file:line: message``."""
        src = self.content.sources["responses"]
        problems: list[str] = []
        seen: set[tuple[str, str]] = set()
        items = [(("responses", rid), reply) for (rid, _), reply in self.topics.items()]
        items += [(("messages", key), reply) for (key, _), reply in self.messages.items()]
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
