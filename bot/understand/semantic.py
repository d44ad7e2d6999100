"""Meaning-aware matching: the message's sentence embedding against every intent example's.

The multilingual encoder (the one the safety model uses, run once per message) puts "¿cuánto
dura la abstinencia?" near "how long does withdrawal last". Example embeddings are computed
ahead of time into ``intents/embeddings.npz`` (``recovery-bot embed-intents``), keyed by a hash
of each example, so start-up reads a file instead of encoding 1,700 sentences; an example
without a stored embedding (content edited since) is encoded at start-up and lint says the
file is stale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from bot.understand.encoder import SentenceEncoder

CACHE_FILE = "embeddings.npz"


def example_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class SemanticIndex:
    def __init__(self, encoder: SentenceEncoder, examples: Mapping[str, Sequence[str]],
                 cache: Path | None = None) -> None:
        self.intents = sorted(examples)
        pairs = [(i, text) for i in self.intents for text in examples[i]]
        stored = read_cache(cache) if cache is not None else {}
        missing = [text for _, text in pairs if example_key(text) not in stored]
        if missing:
            fresh = encoder.encode_many(missing)
            stored.update({example_key(t): v for t, v in zip(missing, fresh, strict=True)})
        self.stale = len(missing)  # examples the cache file lacked
        self.matrix = np.stack([stored[example_key(t)] for _, t in pairs]).astype(np.float32)
        # pairs are grouped by intent (sorted): each intent's rows start at _starts[k]
        counts = [len(examples[i]) for i in self.intents]
        self._starts = np.cumsum([0, *counts[:-1]]).astype(np.int64)
        self._pairs = pairs
        self._blas_limit = encoder.blas_limit

    def scores(self, embedding: np.ndarray) -> list[tuple[str, float]]:
        """Each intent's closest example (cosine), best first."""
        with self._blas_limit():  # one BLAS thread, as the encoder
            cosine = self.matrix @ embedding.astype(np.float32)
        best = np.maximum.reduceat(cosine, self._starts)
        order = np.argsort(-best)
        return [(self.intents[k], float(best[k])) for k in order]

    def save(self, path: Path) -> None:
        keys = np.array([example_key(t) for _, t in self._pairs])
        np.savez_compressed(path, keys=keys, vectors=self.matrix.astype(np.float16))


def read_cache(path: Path) -> dict[str, np.ndarray]:
    """Stored example embeddings by key; a missing or unreadable file is an empty cache."""
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as z:
            keys, vectors = z["keys"], z["vectors"].astype(np.float32)
    except Exception:
        return {}
    if len(keys) != len(vectors) or vectors.ndim != 2:
        return {}
    return {str(k): v for k, v in zip(keys, vectors, strict=True)}
