"""How much memory a data file (or a model) may take: a share of what this process can still get.

A file is refused before its arrays are allocated when their decoded size is over the limit, so a
small compressed file cannot take all the machine's memory.
"""

from __future__ import annotations

import os

try:
    import resource
except ImportError:  # not on Windows: no RLIMIT_AS there
    resource = None

MEMORY_ENV = "VICINAL_MEMORY_LIMIT"  # environment variable: the limit in bytes, overriding the default
MEMORY_SHARE = 0.5  # default limit: this share of the memory the process can still get


def _meminfo_bytes(key: str, path: str = "/proc/meminfo") -> int | None:
    """A `key: N kB` line of a /proc file in bytes, or None when the file or the line is missing."""
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(f"{key}:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def available_memory() -> int | None:
    """Bytes this process can still allocate, or None when the system does not say.

    The smaller of the machine's available memory (MemAvailable in /proc/meminfo, else the free
    physical pages) and the address space left under RLIMIT_AS (`ulimit -v`) when it is set.
    """
    free = _meminfo_bytes("MemAvailable")
    if free is None:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            free = None
    soft = resource.getrlimit(resource.RLIMIT_AS)[0] if resource is not None else -1
    if soft >= 0 and soft != resource.RLIM_INFINITY:
        left = max(soft - (_meminfo_bytes("VmSize", "/proc/self/status") or 0), 0)
        free = left if free is None else min(free, left)
    return free


def memory_limit(max_bytes: int | None = None) -> int:
    """The most bytes a data set may take once decoded (and a model's training state).

    `max_bytes` when given; else $VICINAL_MEMORY_LIMIT when set; else `MEMORY_SHARE` of
    `available_memory()` (no limit when the system does not say how much memory there is).
    """
    source = "max_bytes"
    if max_bytes is None and os.environ.get(MEMORY_ENV):
        source, max_bytes = MEMORY_ENV, os.environ[MEMORY_ENV]
        try:
            max_bytes = int(max_bytes)
        except ValueError:
            raise ValueError(f"{MEMORY_ENV}={max_bytes!r} is invalid: expected a number of bytes >= 1") from None
    if max_bytes is None:
        free = available_memory()
        return int(MEMORY_SHARE * free) if free is not None else 1 << 62
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise ValueError(f"{source}={max_bytes!r} is invalid: expected a number of bytes >= 1")
    return max_bytes


def format_bytes(size: int) -> str:
    """`size` in bytes, or in the largest binary unit that keeps it >= 1 (e.g. '1.5 GiB')."""
    if size < 1024:
        return f"{size} B"
    value, units = float(size) / 1024, ["KiB", "MiB", "GiB", "TiB", "PiB"]
    while value >= 1024 and len(units) > 1:
        value, units = value / 1024, units[1:]
    return f"{value:.1f} {units[0]}"


def over_limit(needed: int, limit: int) -> str | None:
    """None when `needed` bytes fit in `limit`, else the sentence saying they do not (for an error)."""
    if needed <= limit:
        return None
    return (f"needs {format_bytes(needed)} of memory, more than the limit of {format_bytes(limit)} "
            f"(max_bytes= or ${MEMORY_ENV} when given, else half the memory this process can still get)")
