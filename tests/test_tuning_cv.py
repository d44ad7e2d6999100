"""``recovery-bot tune-cv``: thresholds chosen on the other folds, scored on the held-out one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bot.cli import main
from bot.training.tuning_cv import Line, cross_validate, grid_points, outcomes


def test_the_choice_is_made_on_the_other_folds_only():
    # point 0 is right on every line; point 1 (shipped) wrong on every line but line 0.
    # Whatever fold holds line 0, the other folds prefer point 0.
    points = [{"answer_min": 40.0}, {"answer_min": 42.0}]
    table = np.array([[1] * 10, [1] + [0] * 9], dtype=np.int8)
    kinds = np.array(["answer"] * 10)
    folds = cross_validate(table, kinds, shipped=1, points=points, folds=5)
    assert all(f.chosen == {"answer_min": 40.0} for f in folds)
    assert sum(f.intent[0] for f in folds) == 10
    assert sum(f.intent[1] for f in folds) == 10


def test_a_tie_goes_to_the_shipped_values():
    points = [{"answer_min": 40.0}, {"answer_min": 42.0}]
    table = np.array([[1, 0, 1, 0], [1, 0, 1, 0]], dtype=np.int8)
    folds = cross_validate(table, np.array(["answer"] * 4), shipped=1, points=points, folds=2)
    assert all(f.chosen == {"answer_min": 42.0} for f in folds)


def test_safety_lines_are_not_counted_and_none_lines_want_no_answer():
    lines = [Line("a", ("overdose",)), Line("b", ("none",)), Line("c", ("methadone",)),
             Line("d", ("methadone",))]
    answers = {"a": ("overdose", "overdose"), "b": ("answer", "fentanyl"),
               "c": ("answer", "methadone_dose"), "d": ("clarify", "methadone")}
    row = outcomes(lambda t: answers[t], lambda i: i.split("_")[0], lines)
    assert row.tolist() == [-1, 0, 1, 0]


def test_grid_points_cover_every_combination():
    points = grid_points({"a": (1.0, 2.0), "b": (3.0, 4.0, 5.0)})
    assert len(points) == 6 and {"a": 2.0, "b": 5.0} in points


def test_the_command_prints_held_out_and_shipped_scores(tmp_path: Path, capsys):
    data = tmp_path / "small.jsonl"
    rows = [("how long does withdrawal last", ["withdrawal_timeline"]),
            ("what is methadone", ["methadone"]),
            ("where can i get narcan", ["naloxone"]),
            ("what's the weather like tomorrow", ["none"]),
            ("he is not breathing", ["overdose"]),
            ("is suboxone the same as buprenorphine", ["buprenorphine"])]
    data.write_text("".join(json.dumps({"text": t, "labels": lab}) + "\n" for t, lab in rows))
    assert main(["tune-cv", str(data), "--folds", "2"]) == 0
    out = capsys.readouterr().out
    assert "intent accuracy, held out" in out and "(4/4)" in out
    assert "out of scope, held out" in out and "2-fold" in out


def test_a_broken_line_is_named_with_file_and_line(tmp_path: Path, capsys):
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "hi", "labels": ["greeting"]}\nnot json\n')
    assert main(["tune-cv", str(data)]) == 2
    assert f"{data}:2:" in capsys.readouterr().err
