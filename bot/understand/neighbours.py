"""The safety bank's nearest lines: how much closer a message is to the bank's overdose (or
crisis) lines than to its other lines.

A linear head weighs features one by one; a veiled line ("wrote letters for my kids, just in
case") is often nearer, as a whole, to a few bank lines of its kind than any single feature
shows. For each head the margin is the mean cosine similarity of the ``k`` nearest positive
bank lines minus that of the ``k`` nearest other lines, in a reduced embedding space (the
bank's top principal axes; rows L2-normalised). The head adds ``w * margin`` to its linear
logit (``safety_model.py``); ``train-safety`` fits ``w``.

Arrays, in ``weights.npz``: ``nb_projection`` (512 x D, float32), ``nb_rows`` (N x D, int8)
with ``nb_scale`` (N, float32: a row is ``nb_rows[i] * nb_scale[i]``), ``nb_overdose`` and
``nb_crisis`` (N, bool: which rows are positives of each head) and ``nb_k``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bot.understand.encoder import EMBEDDING_DIM

HEADS = ("overdose", "crisis")


class NeighboursError(ValueError):
    """The arrays do not fit together."""


def normalise_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def unit_rows(q_rows: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The int8 rows back as float32 unit rows: how both the bot and cross-validation in
    ``train-safety`` read them, so the margins training sees are the shipped ones."""
    return normalise_rows(np.asarray(q_rows).astype(np.float32) * scale[:, None])


def quantise(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int8 rows, float32 per-row scale): each row's largest magnitude becomes 127."""
    peak = np.abs(rows).max(axis=1)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    return np.rint(rows / scale[:, None]).astype(np.int8), scale


# the rows' four groups, by (overdose, crisis) label: each head's positives and others are
# two of them (overdose: only-overdose + both against the rest)
_GROUPS = ((True, False), (True, True), (False, True), (False, False))
_OF = {"overdose": ((0, 1), (2, 3)), "crisis": ((1, 2), (0, 3))}


@dataclass
class Neighbours:
    projection: np.ndarray  # float32 (512, D)
    rows: np.ndarray        # float32 (N, D), unit rows, ordered by group
    bounds: tuple[int, ...]  # the groups' row ranges: rows[bounds[g]:bounds[g + 1]]
    k: int

    @classmethod
    def from_arrays(cls, z: Mapping[str, np.ndarray]) -> Neighbours:
        projection = np.asarray(z["nb_projection"], dtype=np.float32)
        rows = np.asarray(z["nb_rows"])
        scale = np.asarray(z["nb_scale"], dtype=np.float32)
        k = int(np.asarray(z["nb_k"]).reshape(()))
        if projection.ndim != 2 or projection.shape[0] != EMBEDDING_DIM:
            raise NeighboursError(f"nb_projection has shape {projection.shape}")
        if rows.ndim != 2 or rows.shape[1] != projection.shape[1]:
            raise NeighboursError(f"nb_rows has shape {rows.shape}, the projection "
                                  f"{projection.shape}")
        if scale.shape != (len(rows),) or k < 1:
            raise NeighboursError(f"nb_scale has shape {scale.shape}, nb_k is {k}")
        masks = {}
        for h in HEADS:
            masks[h] = np.asarray(z[f"nb_{h}"], dtype=bool)
            if masks[h].shape != (len(rows),):
                raise NeighboursError(f"nb_{h} has shape {masks[h].shape}, "
                                      f"for {len(rows)} rows")
        groups = [np.flatnonzero((masks["overdose"] == od) & (masks["crisis"] == cr))
                  for od, cr in _GROUPS]
        order = np.concatenate(groups)
        rows = unit_rows(rows[order], scale[order])
        bounds = tuple(int(b) for b in np.cumsum([0, *(len(g) for g in groups)]))
        return cls(projection=projection, rows=rows, bounds=bounds, k=k)

    def margins(self, embedding: np.ndarray) -> dict[str, float]:
        """Per head: mean similarity of the k nearest positives minus of the k nearest
        others (between -2 and 2; about 0 where the message is as near to both)."""
        query = normalise_rows(np.asarray(embedding, dtype=np.float32) @ self.projection)
        sims = self.rows @ query
        k, b = self.k, self.bounds
        # each group's k best; a head's side is the k best of its two groups' bests
        best = [_top(sims[b[g]:b[g + 1]], k) for g in range(len(_GROUPS))]
        return {h: _mean_top(best, pos, k) - _mean_top(best, neg, k)
                for h, (pos, neg) in _OF.items()}


def _top(values: np.ndarray, k: int) -> np.ndarray:
    return values if len(values) <= k else np.partition(values, len(values) - k)[-k:]


def _mean_top(best: list[np.ndarray], groups: tuple[int, int], k: int) -> float:
    both = np.concatenate([best[g] for g in groups])
    return float(_top(both, k).mean()) if len(both) else 0.0


def _top_means(sims: np.ndarray, k: int) -> np.ndarray:
    if sims.shape[1] <= k:
        return sims.mean(axis=1) if sims.shape[1] else np.zeros(len(sims))
    return np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:].mean(axis=1)


def margins_many(queries: np.ndarray, rows: np.ndarray, positive: np.ndarray,
                 k: int, chunk: int = 512) -> np.ndarray:
    """``Neighbours.margins`` for many (already projected, unit) queries against unit ``rows``
    with one head's ``positive`` mask: used in training, where the rows change by fold."""
    pos, neg = rows[positive], rows[~positive]
    out = np.empty(len(queries))
    for start in range(0, len(queries), chunk):
        q = queries[start:start + chunk]
        out[start:start + chunk] = _top_means(q @ pos.T, k) - _top_means(q @ neg.T, k)
    return out
