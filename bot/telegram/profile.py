"""The bot's description and short description, from ``telegram.yaml`` in the content folder.

Telegram shows the description in an empty chat, before the user presses Start, and the short
description on the bot's profile and in shared links. ``telegram.yaml``::

    description: >-        # at most 512 characters, plain text
      ...
    short_description: ... # at most 120 characters, plain text

Both must be there and non-empty; a problem is a :class:`ContentError` with ``file:line``
(``recovery-bot lint`` checks the file too). A content folder without ``telegram.yaml`` is
allowed: nothing is set, and the description already on Telegram stays.

:func:`publish_profile` sets both at start-up (``setMyDescription``,
``setMyShortDescription``); a failure is logged, never fatal. It takes a ``language_code``
so a translated profile can be set for each language ("" or None: the default for all).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.content.yaml_source import ContentError, SourceFile, load_yaml

__all__ = [
    "MAX_DESCRIPTION",
    "MAX_SHORT_DESCRIPTION",
    "PROFILE_FILE",
    "BotProfile",
    "install_profile",
    "load_profile",
    "profile_of",
    "publish_profile",
    "set_profile",
]

PROFILE_FILE = "telegram.yaml"
MAX_DESCRIPTION = 512  # Telegram's limits (characters)
MAX_SHORT_DESCRIPTION = 120
PROFILE_KEY = "recovery_bot_profile"
_LIMITS = {"description": MAX_DESCRIPTION, "short_description": MAX_SHORT_DESCRIPTION}

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BotProfile:
    description: str
    short_description: str


def _length(text: str) -> int:
    """Telegram counts UTF-16 code units (an emoji may count two)."""
    return len(text.encode("utf-16-le")) // 2


def load_profile(root: Path) -> BotProfile | None:
    """``root/telegram.yaml`` checked; None if the folder has no such file."""
    path = Path(root) / PROFILE_FILE
    try:
        if not path.exists() and not path.is_symlink():
            return None
        if path.is_dir():
            raise ContentError([f"{path}:1: is a folder, not a YAML file"])
    except OSError as exc:
        raise ContentError([f"{path}:1: cannot read file ({exc.strerror})"]) from None
    try:
        source = load_yaml(path)
    except OSError as exc:  # unreadable: load_yaml may let it through
        raise ContentError([f"{path}:1: cannot read file ({exc.strerror})"]) from None
    return parse_profile(source)


def parse_profile(source: SourceFile) -> BotProfile:
    data, problems = source.data, []
    if not isinstance(data, dict):
        raise ContentError([f"{source.where(())}: expected the keys "
                            "description and short_description"])
    for key in data:
        if key not in _LIMITS:
            problems.append(f"{source.where((key,))}: unknown key {key!r} (expected "
                            "description and short_description)")
    texts: dict[str, str] = {}
    for key, limit in _LIMITS.items():
        value = data.get(key)
        if value is None:
            problems.append(f"{source.where(())}: {key} is missing")
            continue
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{source.where((key,))}: {key} must be non-empty text")
            continue
        text = value.strip()
        if _length(text) > limit:
            problems.append(f"{source.where((key,))}: {key} is {_length(text)} characters; "
                            f"Telegram allows at most {limit}")
        texts[key] = text
    if problems:
        raise ContentError(problems)
    return BotProfile(texts["description"], texts["short_description"])


def install_profile(application: Any, profile: BotProfile | None) -> None:
    application.bot_data[PROFILE_KEY] = profile


def profile_of(application: Any) -> BotProfile | None:
    return application.bot_data.get(PROFILE_KEY)


async def set_profile(bot: Any, profile: BotProfile, language_code: str | None = None) -> bool:
    """Set both texts for ``language_code`` (None: the default); False if Telegram refused
    or could not be reached (logged, with the error type only)."""
    from telegram.error import TelegramError

    ok = True
    for method, text in (
        (bot.set_my_description, {"description": profile.description}),
        (bot.set_my_short_description, {"short_description": profile.short_description}),
    ):
        try:
            await method(**text, language_code=language_code or None)
        except TelegramError as exc:
            ok = False
            _log.warning("Could not set the bot's %s (%s)", next(iter(text)).replace("_", " "),
                         type(exc).__name__)
    return ok


async def publish_profile(application: Any) -> bool:
    """At start-up: set the profile installed by ``build_application`` (if any)."""
    profile = profile_of(application)
    if profile is None:
        _log.info("No %s in the content folder: the bot's description is left as it is",
                  PROFILE_FILE)
        return False
    ok = await set_profile(application.bot, profile)
    core = application.bot_data["recovery_bot_shell"].core
    for lang, tr in sorted(core.content.translations.items()):
        if tr.description and tr.short_description:  # the profile in the user's language
            translated = BotProfile(tr.description, tr.short_description)
            ok = await set_profile(application.bot, translated, language_code=lang) and ok
    return ok
