"""The idx format of MNIST and Fashion-MNIST (LeCun's and Zalando's files, gzip-compressed or raw).

Two zero bytes, a type code (0x08 unsigned byte, ...), the number of dimensions, each dimension as a big-endian
uint32, then the values in C order. numpy reads it: a format this small is not worth a dependency.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from nasgen.errors import CorruptArtifactError

IDX_TYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an idx file; a malformed or truncated file is a ``CorruptArtifactError`` naming it."""
    path = Path(path)
    try:
        with _open(path) as f:
            raw = f.read()
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
        raise CorruptArtifactError(f"{path}: not a readable idx file ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise CorruptArtifactError(f"{path}: not an idx file (magic {raw[:4].hex() or 'empty'})")
    ndim = raw[3]
    head = 4 + 4 * ndim
    if ndim == 0 or len(raw) < head:
        raise CorruptArtifactError(f"{path}: idx header of {ndim} dimensions is cut short")
    shape = struct.unpack(f">{ndim}I", raw[4:head])
    dtype = np.dtype(IDX_TYPES[raw[2]])
    want = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - head != want:
        raise CorruptArtifactError(f"{path}: {len(raw) - head} bytes of values, the header {shape} needs {want}")
    return np.frombuffer(raw, dtype=dtype, offset=head).reshape(shape)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """``array`` as an idx file (gzip-compressed when ``path`` ends in .gz): test data in the real files' format."""
    codes = {np.dtype(v).newbyteorder(">"): k for k, v in IDX_TYPES.items()}
    dtype = array.dtype.newbyteorder(">")  # a no-op for bytes
    if dtype not in codes:
        raise ValueError(f"idx has no type code for {array.dtype}")
    blob = bytes([0, 0, codes[dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    blob += np.ascontiguousarray(array, dtype=dtype).tobytes()
    path = Path(path)
    with gzip.open(path, "wb") if path.suffix == ".gz" else open(path, "wb") as f:
        f.write(blob)
