"""Fill a response's placeholders with the user's country's numbers."""

from __future__ import annotations

import html
from collections.abc import Mapping

from bot.content.models import CountryDef, CrisisLinesFile, LineDef, ResponsesFile
from bot.content.placeholders import PLACEHOLDER

INTERNATIONAL = "international"


def _fill(template: str, values: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


class Renderer:
    """Pre-computes every placeholder value for every country at start-up."""

    def __init__(self, responses: ResponsesFile, crisis: CrisisLinesFile):
        self.formats = dict(responses.formats)
        self.countries = crisis.countries
        intl = crisis.countries[INTERNATIONAL]
        intl_values = self._values(intl, None, international=True)
        self.values: dict[str | None, dict[str, str]] = {None: intl_values}
        for code, country in crisis.countries.items():
            if code != INTERNATIONAL:
                self.values[code] = self._values(country, intl_values, international=False)
        # Countries with only an emergency number (emergency_only:): that number, their
        # name, and the international entry for everything else.
        for code, (name, group) in crisis.emergency_only_codes().items():
            number = html.escape(group.number, quote=False)
            self.values[code] = {**intl_values, "emergency": number, "emergency_all": number,
                                 "country_name": html.escape(name, quote=False)}

    def _format(self, key: str, **fields: str) -> str:
        return _fill(self.formats.get(key, "{" + key + "}"), fields)

    def line(self, line: LineDef) -> str:
        fields = {
            "name": html.escape(line.name, quote=False),
            "number": html.escape(line.number or "", quote=False),
            "sms": html.escape(line.sms or "", quote=False),
            "web": html.escape(line.web or "", quote=False),
            "hours": self._format("hours", hours=html.escape(line.hours, quote=False))
            if line.hours else "",
            "note": self._format("note", note=html.escape(line.note, quote=False))
            if line.note else "",
            # who runs the line (e.g. a drug-law-enforcement agency), said plainly
            "operator": _fill(self.formats.get("operator", " ({operator})"),
                              {"operator": html.escape(line.operator_note, quote=False)})
            if line.operator_note else "",
        }
        if line.number and line.sms:
            key = "line_sms"
        elif line.number:
            key = "line"
        elif line.sms:
            key = "line_sms_only"
        else:
            key = "line_web"
        template = self.formats.get(key, "{name}: {number}{sms}{web}")
        if "{operator}" not in template:  # never dropped by a template that forgets it
            template += "{operator}"
        return _fill(template, fields)

    def _values(self, country: CountryDef, fallback: Mapping[str, str] | None,
                *, international: bool) -> dict[str, str]:
        by_cat: dict[str, list[LineDef]] = {}
        for line in country.lines:
            by_cat.setdefault(line.category, []).append(line)
        join = self.formats.get("join", ", ")
        values: dict[str, str] = {"country_name": html.escape(country.name, quote=False)}
        emergency = by_cat.get("emergency", [])
        if international:
            numbers = join.join(f"{html.escape(e.number or '', quote=False)} "
                                f"({html.escape(e.name, quote=False)})" for e in emergency)
            values["emergency"] = self._format("emergency_unknown", numbers=numbers)
            values["emergency_all"] = values["emergency"]
        elif emergency:
            values["emergency"] = html.escape(emergency[0].number or "", quote=False)
            values["emergency_all"] = self.formats.get("join_or", join).join(
                html.escape(e.number or "", quote=False) for e in emergency)

        def first_and_all(cat: str, one: str, many: str) -> None:
            lines = by_cat.get(cat)
            if lines:
                values[one] = self.line(lines[0])
                values[many] = "\n".join(self.line(x) for x in lines)

        first_and_all("crisis", "crisis_line", "crisis_lines")
        first_and_all("helpline", "helpline", "helplines")
        first_and_all("poison", "poison", "_poisons")
        first_and_all("overdose_line", "overdose_line", "_overdose_lines")
        first_and_all("family", "family_line", "_family_lines")
        # No poison line: the country's own emergency number, never the international 112
        # (in South Korea 112 is the police).
        if not international and "poison" not in values and emergency:
            values["poison"] = values["_poisons"] = self.line(emergency[0])
        if country.good_samaritan:
            values["good_samaritan"] = country.good_samaritan.strip()
        # Naloxone access is never guessed: empty, not the international text, where the
        # reference says nothing for the country.
        values["naloxone_note"] = (country.naloxone_note or "").strip()
        # {family_line} falls back to the country's own helpline first (FRANK, SAMHSA...),
        # and only then to the international entry (docs/CONTENT_FORMAT.md).
        if "family_line" not in values and "helpline" in values:
            values["family_line"] = values["helpline"]
        if fallback is not None:
            for key, value in fallback.items():
                values.setdefault(key, value)
        values.setdefault("overdose_line", self.formats.get("no_overdose_line", ""))
        values.setdefault("family_line", values.get("helpline", ""))
        return values

    def fill(self, template: str, country: str | None) -> str:
        values = self.values.get(country) or self.values[None]
        return _fill(template, values).strip()

    def filler(self, template: str) -> TemplateFill:
        """``template`` filled for many countries, each distinct text once."""
        return TemplateFill(template, self)

    def unfilled(self, text: str) -> list[str]:
        return PLACEHOLDER.findall(text)


class TemplateFill:
    """One template for every country: ``fill(template, country)``, but a text is made only
    once per distinct set of the values the template uses (most countries share a text) and
    the same string object is returned for each."""

    def __init__(self, template: str, renderer: Renderer) -> None:
        self.template = template
        self.renderer = renderer
        self.names = tuple(dict.fromkeys(PLACEHOLDER.findall(template)))
        self._texts: dict[tuple[str | None, ...], str] = {}

    def __call__(self, country: str | None) -> str:
        values = self.renderer.values.get(country) or self.renderer.values[None]
        key = tuple(values.get(name) for name in self.names)  # all _fill reads of values
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = _fill(self.template, values).strip()
        return text
