"""The ``train-safety`` subcommand's arguments; the training itself is imported on use."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def _run(args: argparse.Namespace) -> int:
    from bot.training.train_safety import cmd_train_safety

    return cmd_train_safety(args)


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
