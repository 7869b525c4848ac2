"""Reader for IDX files (the MNIST / Fashion-MNIST format), gzipped or not, checking every byte count."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from vicinal.data.dataset import file_error

# IDX type codes (third byte of the magic number) and the big-endian dtype each stands for.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"
MAX_IDX_BYTES = 1 << 36  # 64 GiB: a header declaring more is treated as corrupt
_CHUNK = 1 << 22


def _read_exactly(stream: BinaryIO, size: int, path: Path, what: str) -> bytearray:
    """Read `size` bytes (growing the buffer only as data arrives), refusing a short read."""
    data = bytearray()
    while len(data) < size:
        chunk = stream.read(min(_CHUNK, size - len(data)))
        if not chunk:
            raise file_error(path, f"truncated: {what} needs {size} bytes, the file has {len(data)}")
        data += chunk
    return data


def read_idx(path: str | os.PathLike, *, ndim: int | None = None) -> np.ndarray:
    """Read one IDX file (gzip detected from its first bytes) into a native-endian numpy array.

    Checks the magic number (two zero bytes, a known type code, the number of dimensions), that the
    data is exactly as long as the dimensions say (no truncation, no trailing bytes), and for gzip
    the integrity of the whole stream. `ndim`, if given, is the number of dimensions expected.
    Any fault raises `ValueError` naming the file and the fault.
    """
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            stream: BinaryIO = gzip.GzipFile(fileobj=raw) if gzipped else raw
            return _parse(stream, path, ndim=ndim, plain_size=None if gzipped else os.fstat(raw.fileno()).st_size)
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise file_error(path, f"corrupt or truncated gzip stream ({err})") from err
    except OSError as err:
        raise file_error(path, f"cannot be read ({err.strerror or err})") from err


def _parse(stream: BinaryIO, path: Path, *, ndim: int | None, plain_size: int | None) -> np.ndarray:
    header = _read_exactly(stream, 4, path, "the magic number")
    if header[0] != 0 or header[1] != 0 or header[2] not in IDX_DTYPES:
        raise file_error(path, f"not an IDX file: bad magic number 0x{bytes(header).hex()}")
    rank = header[3]
    if ndim is not None and rank != ndim:
        raise file_error(path, f"expected an IDX file of {ndim} dimensions, the header says {rank}")
    dims = tuple(int(d) for d in np.frombuffer(_read_exactly(stream, 4 * rank, path, "the dimensions"), ">u4"))
    dtype = np.dtype(IDX_DTYPES[header[2]])
    size = int(np.prod(dims, dtype=object)) * dtype.itemsize
    if size > MAX_IDX_BYTES:
        raise file_error(path, f"header declares {size} bytes of data (dims {dims}): implausible, file corrupt")
    header_size = 4 + 4 * rank
    if plain_size is not None and plain_size < header_size + size:
        raise file_error(
            path, f"truncated: dims {dims} need {header_size + size} bytes, the file has {plain_size}"
        )
    data = _read_exactly(stream, size, path, f"data of dims {dims}")
    extra = stream.read(1)  # for gzip this also reaches the end of the stream and checks its CRC
    if extra:
        raise file_error(path, f"has bytes after the {size} bytes of data its dims {dims} declare")
    return np.frombuffer(data, dtype).astype(dtype.newbyteorder("="), copy=False).reshape(dims)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write `array` as an IDX file, gzipped when the name ends in .gz (the inverse of `read_idx`)."""
    path = Path(path)
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes or not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX holds 1-255 dims of {sorted(str(d) for d in codes)}, got {array.dtype} {array.shape}")
    code = codes[native]
    payload = (bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
               + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes())
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as handle:
        handle.write(payload)
    return path
