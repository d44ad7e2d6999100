"""The ``train-safety``, ``train-intents`` and ``tune-cv`` subcommands (the work is imported
on use)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def _run(args: argparse.Namespace) -> int:
    from bot.training.train_safety import cmd_train_safety

    return cmd_train_safety(args)


def _run_tune_cv(args: argparse.Namespace) -> int:
    from bot.training.tuning_cv import cmd_tune_cv

    return cmd_tune_cv(args)


def _run_train_intents(args: argparse.Namespace) -> int:
    from bot.training.train_intents import cmd_train_intents

    return cmd_train_intents(args)


def add_train_intents(sub: Any) -> None:
    """Add ``recovery-bot train-intents``: the intent head over the sentence embedding."""
    p = sub.add_parser("train-intents", help="train the intent head on the intent examples "
                                             "and intents/out_of_scope.jsonl (needs [train])")
    p.set_defaults(func=_run_train_intents)


def add_tune_cv(sub: Any) -> None:
    """Add ``recovery-bot tune-cv``: the matcher's thresholds by cross-validation."""
    p = sub.add_parser("tune-cv", help="cross-validate the matcher's thresholds on a "
                                       "labelled set (held-out intent accuracy)")
    p.add_argument("file", type=Path, help="a JSON Lines set, e.g. tests/data/dev.jsonl")
    p.add_argument("--folds", type=int, default=5)
    p.set_defaults(func=_run_tune_cv)


def add_train_safety(sub: Any) -> None:
    """Add ``recovery-bot train-safety`` to the CLI's subparsers."""
    p = sub.add_parser("train-safety", help="train the learned safety layer (needs [train])")
    p.add_argument("--train-dir", type=Path, default=None,
                   help="shared training corpus (default: ../shared/train beside the content)")
    p.add_argument("--out", type=Path, default=None,
                   help="where to write the model (default: <content>/safety/model)")
    p.add_argument("--dev", type=Path, default=None,
                   help="dev set for the threshold check (default: ../shared/eval/dev.jsonl)")
    p.set_defaults(func=_run)
