"""A restricted unpickler for data files: dicts, lists, bytes, str, numbers and plain numpy arrays, nothing else."""

from __future__ import annotations

import functools
import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from vicinal.data.dataset import file_error

# numpy dtypes a data file may hold (no object or structured arrays: they could smuggle in objects)
_PLAIN_DTYPES = frozenset("b1 u1 u2 u4 u8 i1 i2 i4 i8 f2 f4 f8".split())


class _Dtype:
    """Stand-in for `numpy.dtype(spec)` while unpickling; its state must be a plain dtype's own."""

    def __init__(self, spec: Any, align: Any = False, copy: Any = True) -> None:
        if not isinstance(spec, str) or spec.lstrip("<>|=") not in _PLAIN_DTYPES:
            raise pickle.UnpicklingError(f"refused dtype {spec!r}: only plain numeric dtypes are allowed")
        self.dtype = np.dtype(spec)

    def __setstate__(self, state: Any) -> None:
        order = state[1] if isinstance(state, tuple) and len(state) > 1 else None
        if order not in ("<", ">", "|", "="):
            raise pickle.UnpicklingError(f"refused dtype state {state!r}")
        dtype = self.dtype.newbyteorder(order) if order in "<>" else self.dtype
        if state != dtype.__reduce__()[2]:
            raise pickle.UnpicklingError(f"refused dtype state {state!r}")
        self.dtype = dtype


def _plain_dtype(dtype: Any) -> np.dtype:
    if not isinstance(dtype, _Dtype):
        raise pickle.UnpicklingError(f"refused array dtype {dtype!r}")
    return dtype.dtype


class _Array:
    """Stand-in for numpy's array reconstruction (`_reconstruct` then `__setstate__`)."""

    def __init__(self, unpickler: RestrictedUnpickler, subtype: Any, shape: Any, typecode: Any) -> None:
        if subtype is not _ndarray_marker or shape != (0,):
            raise pickle.UnpicklingError("refused array reconstruction: only a plain numpy.ndarray is allowed")
        self.unpickler = unpickler
        self.array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if not (isinstance(state, tuple) and len(state) == 5 and isinstance(state[4], bytes)):
            raise pickle.UnpicklingError("refused array state: expected (version, shape, dtype, fortran, bytes)")
        _, shape, dtype, fortran, data = state
        self.array = _array_from_bytes(self.unpickler, data, _plain_dtype(dtype), shape, "F" if fortran else "C")


def _array_from_bytes(unpickler: RestrictedUnpickler, data: Any, dtype: np.dtype, shape: Any, order: str) -> np.ndarray:
    if not (isinstance(shape, tuple) and all(isinstance(d, int) and d >= 0 for d in shape)):
        raise pickle.UnpicklingError(f"refused array shape {shape!r}")
    unpickler.charge(len(data))
    return np.frombuffer(bytes(data), dtype=dtype).reshape(shape, order=order).copy()


def _frombuffer(unpickler: RestrictedUnpickler, data: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """numpy's array reconstructor for pickle protocol 5."""
    if order not in ("C", "F") or not isinstance(data, (bytes, bytearray)):
        raise pickle.UnpicklingError("refused array: expected bytes and order 'C' or 'F'")
    return _array_from_bytes(unpickler, data, _plain_dtype(dtype), shape, order)


def _encode(text: Any, encoding: Any = "latin1") -> bytes:
    """`_codecs.encode`, which Python 3 pickles of bytes use at protocols below 3."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("refused _codecs.encode call other than str -> latin1 bytes")
    return text.encode("latin1")


class _NdarrayMarker:
    """What `numpy.ndarray` resolves to: only usable as `_reconstruct`'s first argument."""


_ndarray_marker = _NdarrayMarker()

_ALLOWED = {
    ("numpy", "ndarray"): _ndarray_marker,
    ("numpy", "dtype"): _Dtype,
    ("numpy.core.multiarray", "_reconstruct"): _Array,
    ("numpy._core.multiarray", "_reconstruct"): _Array,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("_codecs", "encode"): _encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the globals a numpy data pickle needs; anything else (os.system, ...) is refused.

    The arrays it builds may hold `max_bytes` in all: a data file holds the bytes of each of its arrays,
    so a file whose arrays add up to more than its own size re-uses one buffer again and again (a
    memory bomb) and is refused.
    """

    def __init__(self, file: io.BytesIO, *, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self.left = max_bytes

    def charge(self, nbytes: int) -> None:
        """Count `nbytes` of array data against `max_bytes`."""
        if nbytes > self.left:
            raise pickle.UnpicklingError("refused: its arrays hold more bytes than the file (one buffer used again "
                                         "and again)")
        self.left -= nbytes

    def find_class(self, module: str, name: str) -> Any:
        try:
            found = _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused global {module}.{name}: not allowed in a data file") from None
        return functools.partial(found, self) if found in (_Array, _frombuffer) else found


def _finish(obj: Any) -> Any:
    """Replace the stand-ins by the arrays they built; refuse any other object."""
    if isinstance(obj, _Array):
        if obj.array is None:
            raise pickle.UnpicklingError("refused array without data")
        return obj.array
    if isinstance(obj, dict):
        return {_finish(k): _finish(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finish(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_finish(v) for v in obj)
    if obj is None or isinstance(obj, (bool, int, float, str, bytes, bytearray, np.ndarray)):
        return obj
    raise pickle.UnpicklingError(f"refused object of type {type(obj).__name__}")


def load_pickle(path: str | os.PathLike) -> Any:
    """Unpickle a data file with `RestrictedUnpickler` (bytes kept as bytes, so Python 2 pickles read), its
    arrays holding at most as many bytes as the file.

    Any failure, including a refused global, raises `ValueError` naming the file.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise file_error(path, f"cannot be read ({err.strerror or err})") from err
    try:
        return _finish(RestrictedUnpickler(io.BytesIO(data), max_bytes=len(data), encoding="bytes").load())
    except pickle.UnpicklingError as err:
        raise file_error(path, f"refused or corrupt pickle ({err})") from err
    except Exception as err:  # a corrupt pickle can fail in many ways inside the pickle machinery
        raise file_error(path, f"corrupt pickle ({type(err).__name__}: {err})") from err
