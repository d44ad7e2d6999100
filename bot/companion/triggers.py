"""Messages that ask for a companion feature ("remind me to take my suboxone", "how many days
clean am i", "can you check on me tomorrow", "find an NA meeting near me"), in the bot's
languages. Read only after the safety check: an emergency never reaches here.
"""

from __future__ import annotations

import re
from typing import Literal

Feature = Literal["cleandate", "reminder", "checkin", "meetings"]

_PATTERNS: tuple[tuple[Feature, re.Pattern[str]], ...] = (
    ("meetings", re.compile(
        r"\bmeetings?\b|\breuni[oó]n|\breuni[aã]o|\bréunion|\breunion|\bselbsthilfegruppe|"
        r"\briunion[ei]|\bmityng|\bspotkani|\bсобрани|\bзбор(и|ів)\b|\bmeeting finder")),
    ("reminder", re.compile(
        r"\bremind(er)?\b|\bremind me\b|\brecu[eé]rd(a|ame)|\brecordatorio|\blembr(e|ete|ar)|"
        r"\brappel|\berinner|\bricord(a|ami)|\bpromemoria|\bprzypomn|\bнапомин|\bнапомни|"
        r"\bнагада")),
    ("checkin", re.compile(
        r"\bcheck(\s|-)?(on|in on) me\b|\bcheck(\s|-)?ins?\b|\bdaily check|"
        r"\bpregunta(me)?\s+c[oó]mo\s+estoy|\bcomo estou|\bprends? de mes nouvelles|"
        r"\bfrag mich|\bchiedimi come sto|\bpytaj mnie|\bспрашивай|\bпитай мене")),
    ("cleandate", re.compile(
        r"\b(days?|weeks?|months?)\s+(clean|sober)\b|\b(clean|sober)\s+(since|for|date|time)\b|"
        r"\bhow long (have i been|am i|i've been|ive been)\s+(clean|sober)|\bday \d+\b.*\bclean|"
        r"\bclean date\b|^\s*day \d+( today)?\s*$|\btoday is day \d+|"
        r"\blimpi[oa]s? desde|\bd[ií]as limpi|\blimp[oa] desde|\bdias limp|"
        r"\bclean depuis|\babstinente? depuis|\bclean seit|\bwie lange bin ich clean|"
        r"\bpulit[oa] da|\bgiorni puli|\bczyst[ya] od|\bdni czyst|\bчист(ый|ая)? с\b|"
        r"\bдней чист|\bчист(ий|а)? з\b|\bднів чист")),
)


def feature_asked(text: str) -> Feature | None:
    t = text.casefold()
    for feature, pattern in _PATTERNS:
        if pattern.search(t):
            return feature
    return None
