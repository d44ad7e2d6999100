"""Keyboards from the core's buttons."""

from __future__ import annotations

from bot.reply.model import Button
from bot.telegram.keyboards import button_rows, inline_keyboard


def test_short_labels_pair_up_and_long_ones_stand_alone():
    buttons = [
        Button("Ireland", "country:IE"),
        Button("Spain", "country:ES"),
        Button("A rather long topic title", "intent:x"),
        Button("India", "country:IN"),
    ]
    assert [[b.label for b in row] for row in button_rows(buttons)] == [
        ["Ireland", "Spain"],
        ["A rather long topic title"],
        ["India"],
    ]


def test_callback_data_is_the_action():
    markup = inline_keyboard([Button("Naloxone", "intent:naloxone")])
    [[button]] = markup.inline_keyboard
    assert (button.text, button.callback_data) == ("Naloxone", "intent:naloxone")


def test_no_buttons_no_keyboard():
    assert inline_keyboard([]) is None


def test_a_button_telegram_would_refuse_is_left_out():
    markup = inline_keyboard(
        [
            Button("ok", "intent:ok"),
            Button("too long", "intent:" + "x" * 60),
            Button(" ", "intent:blank"),
        ]
    )
    assert [b.callback_data for row in markup.inline_keyboard for b in row] == ["intent:ok"]


def test_the_core_buttons_all_fit(core):
    buttons = [*core.country_buttons(), *core.topic_buttons()]
    markup = inline_keyboard(buttons)
    assert len([b for row in markup.inline_keyboard for b in row]) == len(buttons)
