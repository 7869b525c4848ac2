"""Reader for IDX files (the MNIST / Fashion-MNIST format), gzipped or not, checking every byte count."""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

import numpy as np

from vicinal.data.dataset import ArrayHeader, file_error
from vicinal.data.memory import memory_limit, over_limit

Parsed = TypeVar("Parsed")

# IDX type codes (third byte of the magic number) and the big-endian dtype each stands for.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 22


def _read_exactly(stream: BinaryIO, size: int, path: Path, what: str) -> np.ndarray:
    """`size` bytes as a uint8 array, refusing a short read. The array's pages are only touched as the
    data arrives, so a header that promises more than the stream holds costs no memory."""
    data = np.empty(size, np.uint8)
    view = memoryview(data)
    done = 0
    while done < size:
        count = stream.readinto(view[done:done + min(_CHUNK, size - done)])
        if not count:
            raise file_error(path, f"truncated: {what} needs {size} bytes, the file has {done}")
        done += count
    return data


def _open(path: Path, parse: Callable[[BinaryIO, int | None], Parsed]) -> Parsed:
    """Run `parse(stream, plain_size)` on the file, gunzipped when its first bytes say gzip (plain_size:
    the file's size, None for gzip), turning read and gzip failures into ValueError naming the file."""
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            stream: BinaryIO = gzip.GzipFile(fileobj=raw) if gzipped else raw
            return parse(stream, None if gzipped else os.fstat(raw.fileno()).st_size)
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise file_error(path, f"corrupt or truncated gzip stream ({err})") from err
    except OSError as err:
        raise file_error(path, f"cannot be read ({err.strerror or err})") from err


def _header(stream: BinaryIO, path: Path, ndim: int | None) -> ArrayHeader:
    header = bytes(_read_exactly(stream, 4, path, "the magic number"))
    if header[0] != 0 or header[1] != 0 or header[2] not in IDX_DTYPES:
        raise file_error(path, f"not an IDX file: bad magic number 0x{header.hex()}")
    rank = header[3]
    if ndim is not None and rank != ndim:
        raise file_error(path, f"expected an IDX file of {ndim} dimensions, the header says {rank}")
    dims = tuple(int(d) for d in np.frombuffer(_read_exactly(stream, 4 * rank, path, "the dimensions"), ">u4"))
    head = ArrayHeader(dims, np.dtype(IDX_DTYPES[header[2]]))
    if ArrayHeader(tuple(d for d in dims if d), head.dtype).nbytes > np.iinfo(np.intp).max:
        raise file_error(path, f"its header declares dims {dims}, too large for any array")  # even with a 0 among them
    return head


def idx_header(path: str | os.PathLike, *, ndim: int | None = None) -> ArrayHeader:
    """The dimensions and dtype an IDX file's header declares, read without its data."""
    path = Path(path)
    return _open(path, lambda stream, _: _header(stream, path, ndim))


def read_idx(path: str | os.PathLike, *, ndim: int | None = None, max_bytes: int | None = None) -> np.ndarray:
    """Read one IDX file (gzip detected from its first bytes) into a native-endian numpy array.

    Checks the magic number (two zero bytes, a known type code, the number of dimensions), that the
    data its dimensions declare fits in `memory_limit(max_bytes)` (before any of it is read: a gzip
    bomb stops there), that the data is exactly that long (no truncation, no trailing bytes: no more
    is ever decompressed), and for gzip the integrity of the whole stream. `ndim`, if given, is the
    number of dimensions expected. Any fault raises `ValueError` naming the file and the fault.
    """
    path = Path(path)
    limit = memory_limit(max_bytes)

    def parse(stream: BinaryIO, plain_size: int | None) -> np.ndarray:
        head = _header(stream, path, ndim)
        size = head.nbytes
        fault = over_limit(size, limit)
        if fault:
            raise file_error(path, f"its header declares data of dims {head.shape} ({head.dtype}), which {fault}")
        header_size = 4 + 4 * len(head.shape)
        if plain_size is not None and plain_size < header_size + size:
            raise file_error(
                path, f"truncated: dims {head.shape} need {header_size + size} bytes, the file has {plain_size}"
            )
        data = _read_exactly(stream, size, path, f"data of dims {head.shape}")
        extra = stream.read(1)  # for gzip this also reaches the end of the stream and checks its CRC
        if extra:
            raise file_error(path, f"has bytes after the {size} bytes of data its dims {head.shape} declare")
        return data.view(head.dtype).astype(head.dtype.newbyteorder("="), copy=False).reshape(head.shape)

    return _open(path, parse)


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
