"""Content: the YAML a non-programmer edits, loaded and validated once.

- ``load.py``: read every file, validate it (pydantic schemas in ``models.py``), cross-check it,
  and report every problem as ``file:line: message`` (``yaml_source.py`` keeps the lines).
- ``html_format.py``: the reply-format contract (Telegram's HTML subset, the length limit).
- ``placeholders.py``: the ``{placeholders}`` a reply may use.
- ``phones.py``: every phone number checked against its country.

Content imports only ``bot.text`` (for the vocabulary checks), never the core.
"""

from bot.content.load import (
    COMMANDS,
    ENV_CONTENT,
    REQUIRED_INTENTS,
    REQUIRED_LABELS,
    REQUIRED_MESSAGES,
    SAFETY_INTENTS,
    Content,
    default_content_dir,
    load_content,
)

__all__ = [
    "COMMANDS",
    "ENV_CONTENT",
    "REQUIRED_INTENTS",
    "REQUIRED_LABELS",
    "REQUIRED_MESSAGES",
    "SAFETY_INTENTS",
    "Content",
    "default_content_dir",
    "load_content",
]
