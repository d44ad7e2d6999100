"""The bot's description and short description: telegram.yaml, checked, set at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import send_and_wait

from bot.content.yaml_source import ContentError
from bot.telegram.profile import (
    MAX_DESCRIPTION,
    MAX_SHORT_DESCRIPTION,
    PROFILE_FILE,
    BotProfile,
    load_profile,
    profile_of,
    set_profile,
)

ROOT = Path(__file__).resolve().parents[2]
EMERGENCY_LINE = "In an emergency call your local emergency number."


def write(folder: Path, text: str) -> Path:
    path = folder / PROFILE_FILE
    path.write_text(text, encoding="utf-8")
    return path


def problems(folder: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_profile(folder)
    return caught.value.problems


def test_the_project_profile_fits_telegram_and_carries_the_emergency_line():
    profile = load_profile(ROOT)
    assert profile is not None
    assert 0 < len(profile.description) <= MAX_DESCRIPTION
    assert 0 < len(profile.short_description) <= MAX_SHORT_DESCRIPTION
    for text in (profile.description, profile.short_description):
        assert "emergency" in text
        assert "<" not in text and "{" not in text  # plain text: Telegram shows it as is
    assert EMERGENCY_LINE in profile.description


async def test_start_up_sets_description_and_short_description(api, bot):
    profile = load_profile(ROOT)
    assert profile_of(bot) == profile
    assert api.descriptions[""] == profile.description
    assert api.short_descriptions[""] == profile.short_description
    await api.wait_for_calls("getUpdates")
    methods = [call.method for call in api.calls]
    # set before updates are fetched
    assert methods.index("setMyDescription") < methods.index("getUpdates")
    assert methods.index("setMyShortDescription") < methods.index("getUpdates")


async def test_a_refused_description_is_not_fatal(api, runner, core):
    api.fail_next("setMyDescription", 500)
    api.fail_next("setMyShortDescription", 400)
    async with runner.running():
        answer = core.handle("how long does withdrawal last", None)
        await send_and_wait(api, 51, lambda: api.text(51, "how long does withdrawal last"),
                            len(answer.messages))
    # the default texts were refused (the other languages' ones went through)
    assert "" not in api.descriptions and "" not in api.short_descriptions


async def test_a_profile_can_be_set_per_language(api, bot):
    spanish = BotProfile("Respuestas verificadas. En una emergencia llama al número local.",
                         "En una emergencia llama a tu número de emergencias.")
    assert await set_profile(bot.bot, spanish, language_code="es")
    assert api.descriptions["es"] == spanish.description
    assert api.short_descriptions["es"] == spanish.short_description
    assert api.descriptions[""] == load_profile(ROOT).description  # the default is untouched
    assert not await set_profile(bot.bot, spanish, language_code="español")  # refused: logged


def test_no_file_means_no_profile(tmp_path):
    assert load_profile(tmp_path) is None


def test_too_long_texts_are_named_with_file_and_line(tmp_path):
    path = write(tmp_path, f"description: {'x' * 513}\nshort_description: {'y' * 121}\n")
    assert problems(tmp_path) == [
        f"{path}:1: description is 513 characters; Telegram allows at most 512",
        f"{path}:2: short_description is 121 characters; Telegram allows at most 120",
    ]


def test_emoji_count_as_telegram_counts_them(tmp_path):
    write(tmp_path, f"description: ok\nshort_description: {'🆘' * 61}\n")  # 122 UTF-16 units
    assert "short_description is 122 characters" in problems(tmp_path)[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("description: fine\n", ":1: short_description is missing"),
        ("description: fine\nshort_description: ''\n",
         ":2: short_description must be non-empty text"),
        ("description: [a, b]\nshort_description: fine\n",
         ":1: description must be non-empty text"),
        ("description: a\nshort_description: b\nabout: c\n", ":3: unknown key 'about'"),
        ("- just\n- a list\n", ":1: expected the keys description and short_description"),
        ("description: a\ndescription: b\n", ":2: YAML error: duplicate key 'description'"),
        ("description: 'unclosed\n", "YAML error"),
    ],
)
def test_broken_profiles_are_clear(tmp_path, text, expected):
    path = write(tmp_path, text)
    found = problems(tmp_path)
    assert found[0].startswith(str(path))
    assert expected in found[0]


def test_a_folder_in_place_of_the_file_is_clear(tmp_path):
    (tmp_path / PROFILE_FILE).mkdir()
    assert problems(tmp_path) == [f"{tmp_path / PROFILE_FILE}:1: is a folder, not a YAML file"]


async def test_the_profile_and_the_command_menu_are_set_in_every_language(api, bot, core):
    """A Spanish or Ukrainian client sees the description (with the emergency line) and the
    command menu in its own language."""
    await api.wait_for_calls("getUpdates")
    for lang, tr in core.content.translations.items():
        assert api.descriptions[lang] == tr.description
        assert api.short_descriptions[lang] == tr.short_description
        menu = {c["command"]: c["description"] for c in api.commands_by_language[lang]}
        assert menu["sos"] == core.label("command_sos", lang)
    assert set(api.descriptions) == {"", *core.content.translations}
    assert api.descriptions["es"] != api.descriptions[""]
