"""Training side of ``bot/understand/neighbours.py``: the bank's reduced embeddings, their
out-of-fold margins, and the weight each head gives the margin.

- Rows: every bank line (``safety/bank``; the shared corpus' text is not shipped in any
  form), projected on the top ``DIM`` principal axes of the bank's embeddings, L2-normalised,
  stored as int8 with a per-row scale (and read back the same way here, so the scores
  cross-validation sees are the shipped ones).
- Out-of-fold margins: a line's margin uses only the bank lines outside its fold (the folds
  the linear heads are cross-validated on).
- The weight ``w`` of each head's margin (``{head}_nb_w``) is chosen in ``train_safety.py``
  on these out-of-fold values, with the thresholds, for the pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.understand.neighbours import HEADS, margins_many, normalise_rows, quantise, unit_rows

DIM = 256
K = 3


@dataclass
class BankRows:
    projection: np.ndarray  # float32 (512, DIM)
    q_rows: np.ndarray      # int8 (N, DIM)
    scale: np.ndarray       # float32 (N,)
    positive: dict[str, np.ndarray]  # head -> bool (N,)

    def unit_rows(self) -> np.ndarray:
        return unit_rows(self.q_rows, self.scale)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"nb_projection": self.projection, "nb_rows": self.q_rows,
               "nb_scale": self.scale, "nb_k": np.array(K, dtype=np.int32)}
        out.update({f"nb_{h}": self.positive[h] for h in HEADS})
        return out


def fit_projection(bank_embeddings: np.ndarray, dim: int = DIM) -> np.ndarray:
    """The top ``dim`` principal axes of the bank's embeddings (512 x dim, float32); each
    axis' sign fixed (largest component positive) so the bytes do not depend on the SVD."""
    x = np.asarray(bank_embeddings, dtype=np.float64)
    _, _, vt = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    axes = vt[:dim]
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    return (axes * signs[:, None]).T.astype(np.float32)


def project(embeddings: np.ndarray, projection: np.ndarray) -> np.ndarray:
    return normalise_rows(np.asarray(embeddings, dtype=np.float32) @ projection)


def bank_rows(embeddings: np.ndarray, bank: np.ndarray,
              labels: dict[str, np.ndarray]) -> BankRows:
    projection = fit_projection(embeddings[bank])
    q_rows, scale = quantise(project(embeddings[bank], projection))
    return BankRows(projection=projection, q_rows=q_rows, scale=scale,
                    positive={h: labels[h][bank].copy() for h in HEADS})


def out_of_fold_margins(embeddings: np.ndarray, bank: np.ndarray,
                        labels: dict[str, np.ndarray], rows: BankRows,
                        splits: Sequence[tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per head, every line's margin against the bank lines outside its fold."""
    queries = project(embeddings, rows.projection)
    unit = rows.unit_rows()
    bank_pos = np.full(len(bank), -1)
    bank_pos[bank] = np.arange(int(bank.sum()))
    out = {h: np.zeros(len(embeddings)) for h in HEADS}
    for train_idx, test_idx in splits:
        in_train = train_idx[bank[train_idx]]
        fold_rows = unit[bank_pos[in_train]]
        for h in HEADS:
            out[h][test_idx] = margins_many(queries[test_idx], fold_rows,
                                            labels[h][in_train], K)
    return out
