"""The placeholders a reply text may use ({emergency}, {crisis_line}...): the contract between
content (which lint checks) and the renderer (which fills them)."""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
PLACEHOLDERS = (
    "country_name", "emergency", "emergency_all", "crisis_line", "crisis_lines", "helpline",
    "helplines", "poison", "overdose_line", "family_line", "good_samaritan",
)
