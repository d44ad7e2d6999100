"""Labelled lines for the safety heads: the project's bank, the shared corpus, the dev set."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

SAFETY_VALUES = ("overdose", "crisis", "both", "calm")
# eval README: calm lines are those labelled with none of these
NOT_CALM = frozenset({"overdose", "suicide", "naloxone", "good_samaritan"})


class TrainingDataError(ValueError):
    """A training or evaluation file is missing or has a bad line."""


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    overdose: bool
    crisis: bool
    calm: bool
    origin: str  # the file it came from (repo path for the bank, name for shared/train)


def from_safety(text: str, safety: str, origin: str) -> Example:
    return Example(text=text, overdose=safety in ("overdose", "both"),
                   crisis=safety in ("crisis", "both"), calm=safety == "calm", origin=origin)


def from_labels(text: str, labels: Sequence[str], origin: str) -> Example:
    got = set(labels)
    return Example(text=text, overdose="overdose" in got, crisis="suicide" in got,
                   calm=not got & NOT_CALM, origin=origin)


def read_jsonl(path: Path, origin: str) -> list[Example]:
    """One file: lines with ``safety`` (bank) or ``labels`` (shared corpus, dev)."""
    out: list[Example] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainingDataError(f"{path}: cannot read: {exc}") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TrainingDataError(f"{path}:{n}: not JSON: {exc}") from exc
        text = row.get("text") if isinstance(row, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise TrainingDataError(f"{path}:{n}: no text")
        if "safety" in row:
            if row["safety"] not in SAFETY_VALUES:
                raise TrainingDataError(
                    f"{path}:{n}: safety {row['safety']!r} is not one of {SAFETY_VALUES}")
            out.append(from_safety(text, row["safety"], origin))
        elif isinstance(row.get("labels"), list) and row["labels"]:
            out.append(from_labels(text, [str(x) for x in row["labels"]], origin))
        else:
            raise TrainingDataError(f"{path}:{n}: neither a safety field nor labels")
    return out


def bank_files(content_dir: Path) -> list[Path]:
    return sorted((content_dir / "safety" / "bank").glob("*.jsonl"))


def shared_files(train_dir: Path) -> list[Path]:
    return sorted(train_dir.glob("*.jsonl"))


def bank_origin(path: Path, content_dir: Path) -> str:
    return path.resolve().relative_to(content_dir.resolve()).as_posix()


def key(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold()).strip()


def dedupe(examples: Iterable[Example]) -> tuple[list[Example], int]:
    """Exact duplicates (case and spacing aside) dropped; the first one is kept."""
    seen: set[str] = set()
    out: list[Example] = []
    dropped = 0
    for ex in examples:
        k = key(ex.text)
        if k in seen:
            dropped += 1
            continue
        seen.add(k)
        out.append(ex)
    return out, dropped


def drop_near(examples: list[Example], others: Sequence[str],
              min_ratio: float = 90.0) -> tuple[list[Example], list[Example]]:
    """(kept, dropped): lines too like one of ``others`` (rapidfuzz ratio) are dropped."""
    if not others or not examples:
        return list(examples), []
    from rapidfuzz import fuzz, process

    ours = [key(e.text) for e in examples]
    theirs = [key(t) for t in others]
    best = process.cdist(ours, theirs, scorer=fuzz.ratio, score_cutoff=min_ratio,
                         workers=1).max(axis=1)
    kept = [e for e, b in zip(examples, best, strict=True) if b < min_ratio]
    dropped = [e for e, b in zip(examples, best, strict=True) if b >= min_ratio]
    return kept, dropped
