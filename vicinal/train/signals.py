"""How a run stops early: SIGTERM / SIGINT set a flag the trainer checks after each step (exit 143 / 130);
too many non-finite losses raise NonFiniteLossError."""

from __future__ import annotations

import signal
import threading
from types import FrameType


class TrainingInterrupted(Exception):
    """Raised by the trainer after it saved a checkpoint because a stop signal arrived."""

    def __init__(self, signum: int, run_dir: str, *, saved: str | None = None) -> None:
        self.signum = signum
        self.exit_code = 128 + signum  # the shell's convention: 143 for SIGTERM, 130 for SIGINT
        self.run_dir = run_dir
        saved = saved or f"checkpoint saved in {run_dir} (continue with --resume {run_dir})"
        super().__init__(f"stopped by {signal.Signals(signum).name}; {saved}")


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite more often than ``max_nonfinite_skips`` allows."""


class StopSignals:
    """Context manager: while active, SIGTERM/SIGINT only record themselves in ``.received``.

    A second SIGINT while stopping restores Python's default (KeyboardInterrupt). Outside the main
    thread signals cannot be caught, so it does nothing there.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def signum(self) -> int:
        """The signal received (SIGTERM when a stop was agreed on because another process received one)."""
        return self.received if self.received is not None else int(signal.SIGTERM)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None and signum == signal.SIGINT:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        self.received = signum

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for s in self.SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()
