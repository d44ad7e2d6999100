"""The ready-made encoder on disk (bot/understand/encoder_cache.py) is the encoder itself.

Read back, it has exactly the arrays, scalars and tokenizer tables of an encoder built from
the package, so every vector is bit-identical; its hash is the pin; a damaged, truncated or
foreign file is ignored (and written again); a folder that cannot be written costs nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.understand import encoder_cache
from bot.understand.encoder import PINNED_SHA256, SentenceEncoder

TEXTS = ["my friend is not breathing", "мой друг не дышит", "¿cuánto dura la abstinencia?",
         "h e l p", "", "a" * 3000, "🙂 ok"]


@pytest.fixture(scope="module")
def built() -> SentenceEncoder:
    return SentenceEncoder(cache_dir=None)


def _same_encoder(a: SentenceEncoder, b: SentenceEncoder) -> None:
    ta, tb = a._use._sp, b._use._sp
    assert vars(ta).keys() == vars(tb).keys()
    for name, value in vars(tb).items():
        if name == "_normalizer":
            assert vars(ta._normalizer) == vars(value)
        else:
            assert getattr(ta, name) == value, name
    ba, bb = a._use._backend, b._use._backend
    assert sorted(vars(ba)) == sorted(vars(bb))
    for name, value in vars(bb).items():
        other = getattr(ba, name)
        if isinstance(value, np.ndarray):
            assert other.dtype == value.dtype and np.array_equal(other, value), name
        elif isinstance(value, list):
            assert len(other) == len(value), name
            for x, y in zip(other, value, strict=True):
                assert x.dtype == y.dtype and np.array_equal(x, y), name
        elif name not in ("sp", "_threadpool"):
            assert type(other) is type(value) and other == value, name
    assert ba.sp is ta and (ba._threadpool is None) == (bb._threadpool is None)
    for text in TEXTS:
        assert np.array_equal(a.encode(text), b.encode(text)), text
    assert np.array_equal(a.encode_many(TEXTS), b.encode_many(TEXTS))


def test_the_cache_file_hash_is_the_pin(built: SentenceEncoder) -> None:
    digest = encoder_cache.file_digest(built._use._backend, built._use._sp, PINNED_SHA256)
    assert digest == encoder_cache.PINNED_SHA256


def test_read_back_it_is_the_same_encoder(tmp_path: Path, built: SentenceEncoder) -> None:
    first = SentenceEncoder(cache_dir=tmp_path)  # builds, then writes
    path = encoder_cache.cache_path(tmp_path, PINNED_SHA256)
    assert path.is_file()
    assert encoder_cache.read(tmp_path, PINNED_SHA256) is not None
    again = SentenceEncoder(cache_dir=tmp_path)  # reads
    _same_encoder(first, built)
    _same_encoder(again, built)


@pytest.mark.parametrize("damage", ["flip", "truncate", "extend", "empty", "header"])
def test_a_damaged_file_is_ignored_and_written_again(tmp_path: Path, built: SentenceEncoder,
                                                     damage: str) -> None:
    assert encoder_cache.write(tmp_path, built._use._backend, built._use._sp,
                               PINNED_SHA256) is not None
    path = encoder_cache.cache_path(tmp_path, PINNED_SHA256)
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
    elif damage == "truncate":
        del data[-1000:]
    elif damage == "extend":
        data += b"\0"
    elif damage == "empty":
        data = bytearray()
    else:
        data[len(encoder_cache.MAGIC) + 20] ^= 0x01
    path.write_bytes(bytes(data))
    assert encoder_cache.read(tmp_path, PINNED_SHA256) is None
    encoder = SentenceEncoder(cache_dir=tmp_path)
    _same_encoder(encoder, built)
    assert encoder_cache.read(tmp_path, PINNED_SHA256) is not None  # written again


def test_a_file_for_other_resources_is_not_used(tmp_path: Path, built: SentenceEncoder) -> None:
    encoder_cache.write(tmp_path, built._use._backend, built._use._sp, PINNED_SHA256)
    other = {**PINNED_SHA256, "sp.model": "0" * 64}
    assert encoder_cache.read(tmp_path, other) is None
    # written under another key, the file does not match its sources (nor the pin)
    src = encoder_cache.cache_path(tmp_path, PINNED_SHA256)
    src.rename(encoder_cache.cache_path(tmp_path, other))
    assert encoder_cache.read(tmp_path, other) is None


def test_no_folder_or_an_unwritable_one_costs_nothing(tmp_path: Path,
                                                       built: SentenceEncoder) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert encoder_cache.write(blocker, built._use._backend, built._use._sp,
                               PINNED_SHA256) is None
    _same_encoder(SentenceEncoder(cache_dir=blocker / "sub"), built)
    assert not list(tmp_path.glob("**/encoder-*"))


def test_a_stale_pin_writes_nothing(tmp_path: Path, built: SentenceEncoder) -> None:
    assert encoder_cache.write(tmp_path, built._use._backend, built._use._sp, PINNED_SHA256,
                               pinned="0" * 64) is None
    assert not list(tmp_path.iterdir())  # not even the temporary file


def test_the_folder_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setenv("RECOVERY_BOT_CACHE_DIR", str(tmp_path))
    assert encoder_cache.default_dir() == tmp_path
    monkeypatch.setenv("RECOVERY_BOT_CACHE_DIR", "")
    assert encoder_cache.default_dir() is None
    monkeypatch.delenv("RECOVERY_BOT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert encoder_cache.default_dir() == tmp_path / "recovery-bot"


def test_a_header_claiming_huge_arrays_allocates_nothing(tmp_path: Path) -> None:
    import json

    header = json.dumps({"format": encoder_cache.FORMAT, "sources": dict(sorted(
        PINNED_SHA256.items())), "arrays": [["table", None, "|u1", [10**12, 512]]],
        "scalars": {}, "blobs": [], "tokenizer": {}}).encode()
    path = encoder_cache.cache_path(tmp_path, PINNED_SHA256)
    path.write_bytes(encoder_cache.MAGIC + len(header).to_bytes(8, "little") + header)
    assert encoder_cache.read(tmp_path, PINNED_SHA256) is None
