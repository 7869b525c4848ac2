"""SHA-256 digests of nested values and tensors: the checksum of a checkpoint's contents and the fingerprint of a
run's data."""

from __future__ import annotations

import hashlib
from typing import Any

import torch


def _feed(h: "hashlib._Hash", value: Any) -> None:
    """Add ``value`` to ``h`` with its type and structure, so that different values give different bytes."""
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        h.update(f"tensor {t.dtype} {tuple(t.shape)}:".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy())
    elif isinstance(value, dict):
        h.update(f"dict {len(value)}:".encode())
        for key, item in value.items():
            _feed(h, key)
            _feed(h, item)
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__} {len(value)}:".encode())
        for item in value:
            _feed(h, item)
    else:  # numbers, strings, None, bools: repr is exact (floats round-trip)
        h.update(f"{type(value).__name__} {value!r};".encode())


def content_digest(value: Any) -> str:
    """The SHA-256 (hex) of ``value``: nested dicts (in their order), lists, tuples, tensors (dtype, shape and
    bytes) and plain values. Equal contents give equal digests in any process and on any device."""
    h = hashlib.sha256()
    _feed(h, value)
    return h.hexdigest()
