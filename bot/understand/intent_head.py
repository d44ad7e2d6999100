"""The learned intent head: one softmax layer over the shared sentence embedding.

Nearest-example matching (``semantic.py``) asks "which single example is closest"; the head
weighs every example of every topic at once, and it has an ``out_of_scope`` class learned from
off-topic messages (``intents/out_of_scope.jsonl``), so weather and homework are not pulled
towards the nearest topic. It reads the embedding the safety model already computed (the
encoder runs once per message); its cost is one 512 x ~46 product.

Files, in ``intents/head/`` (``recovery-bot train-intents``, ``bot/training/train_intents.py``):

- ``weights.npz``: ``classes`` (intent ids and ``out_of_scope``), ``weights`` (classes x 512)
  and ``bias``.
- ``record.json``: the weights' sha256, the sha256 of the examples they were trained on
  (``examples_sha256``: every intent example in every language and every off-topic line), the
  settings and the cross-validated accuracy. A head whose examples changed since is *stale*:
  ``recovery-bot lint`` says so and a test fails until it is retrained.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.understand.encoder import EMBEDDING_DIM, ModelIntegrityError, file_sha256

OUT_OF_SCOPE = "out_of_scope"
HEAD_DIR = "head"
WEIGHTS_FILE = "weights.npz"
RECORD_FILE = "record.json"
OUT_OF_SCOPE_FILE = "out_of_scope.jsonl"


class IntentHeadError(ModelIntegrityError):
    """The intent head's files are missing, damaged or do not fit this code."""


def examples_sha256(pairs: Iterable[tuple[str, str]]) -> str:
    """One fingerprint of the (label, text) training pairs, in any order."""
    digest = hashlib.sha256()
    for label, text in sorted(set(pairs)):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()


def read_out_of_scope(path: Path) -> list[str]:
    """The off-topic training lines (``{"text": ...}`` per line); a bad line says where."""
    texts: list[str] = []
    if not path.is_file():
        return texts
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            text = json.loads(line)["text"]
        except (ValueError, KeyError, TypeError) as exc:
            raise IntentHeadError(f"{path}:{n}: not a JSON object with a text ({exc})") from None
        if not isinstance(text, str) or not text.strip():
            raise IntentHeadError(f"{path}:{n}: empty text")
        texts.append(text)
    return texts


def training_pairs(examples: Mapping[str, Iterable[str]],
                   out_of_scope: Iterable[str]) -> list[tuple[str, str]]:
    """(label, text) for every intent example and off-topic line, deduplicated, sorted."""
    pairs = {(intent, text) for intent, texts in examples.items() for text in texts}
    pairs |= {(OUT_OF_SCOPE, text) for text in out_of_scope}
    return sorted(pairs)


@dataclass(frozen=True)
class HeadGuess:
    """The head's reading of one message: the best topic (a required parent) and its
    probability summed over the parent's finer intents, the finer intent to answer with,
    and the lead over the next parent."""

    parent: str
    intent: str
    probability: float
    lead: float


class IntentHead:
    def __init__(self, classes: list[str], weights: np.ndarray, bias: np.ndarray,
                 record: Mapping[str, Any]) -> None:
        self.classes = classes
        self.weights = weights
        self.bias = bias
        self.record = record

    @classmethod
    def load(cls, intents_dir: Path) -> IntentHead:
        folder = intents_dir / HEAD_DIR
        record_path, weights_path = folder / RECORD_FILE, folder / WEIGHTS_FILE
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
            want = str(record["weights"]["sha256"])
        except FileNotFoundError:
            raise IntentHeadError(f"intent head file {record_path} is missing; "
                                  "run `recovery-bot train-intents` or restore it") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise IntentHeadError(f"intent head file {record_path} is damaged ({exc!r})") from None
        if not weights_path.is_file():
            raise IntentHeadError(f"intent head file {weights_path} is missing; "
                                  "run `recovery-bot train-intents` or restore it")
        got = file_sha256(weights_path)
        if got != want:
            raise IntentHeadError(f"intent head file {weights_path} has sha256 {got}, expected "
                                  f"{want} (from {record_path}); restore it or retrain")
        try:
            with np.load(weights_path, allow_pickle=False) as z:
                classes = [str(c) for c in z["classes"]]
                weights = z["weights"].astype(np.float32)
                bias = z["bias"].astype(np.float32)
        except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise IntentHeadError(f"intent head file {weights_path} is damaged ({exc})") from None
        if weights.shape != (len(classes), EMBEDDING_DIM) or bias.shape != (len(classes),):
            raise IntentHeadError(f"intent head file {weights_path} has shapes "
                                  f"{weights.shape}/{bias.shape} for {len(classes)} classes")
        return cls(classes, weights, bias, record)

    def is_stale(self, pairs: Iterable[tuple[str, str]]) -> bool:
        """Whether the examples changed since the head was trained on them."""
        return self.record.get("examples_sha256") != examples_sha256(pairs)

    def probabilities(self, embedding: np.ndarray) -> np.ndarray:
        z = self.weights @ embedding.astype(np.float32) + self.bias
        z = np.exp(z - z.max())
        return z / z.sum()

    def guess(self, embedding: np.ndarray, parent_of: Mapping[str, str]) -> HeadGuess:
        """The best parent topic (``out_of_scope`` is its own), by summed probability."""
        p = self.probabilities(embedding)
        by_parent: dict[str, float] = {}
        best_child: dict[str, tuple[float, str]] = {}
        for cls, prob in zip(self.classes, p.tolist(), strict=True):
            parent = parent_of.get(cls, cls)
            by_parent[parent] = by_parent.get(parent, 0.0) + prob
            if prob > best_child.get(parent, (-1.0, ""))[0]:
                best_child[parent] = (prob, cls)
        ranked = sorted(by_parent.items(), key=lambda kv: -kv[1])
        top, prob = ranked[0]
        lead = prob - (ranked[1][1] if len(ranked) > 1 else 0.0)
        return HeadGuess(top, best_child[top][1], prob, lead)
