"""The autocast context of a precision, the one home for every layer that runs a model (evaluation, training)."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import torch


def autocast_context(device: torch.device | str, dtype: torch.dtype | None) -> Any:
    """``torch.autocast`` on the device's type with ``dtype``, or a no-op context when ``dtype`` is None."""
    if dtype is None:
        return nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)
