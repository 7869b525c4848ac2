"""Files written atomically (temporary file, fsync, rename): the one way vicinal writes a file, for every layer; a
write that fails (disk full, quota, file-size limit) is one WriteError naming the file."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

# The temporary files atomic_write makes: ".<name>.<8 random characters>.tmp" (mkstemp's names, too).
TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


class WriteError(OSError):
    """A file could not be written (disk full, quota, file-size limit, read-only or failing disk); the file at that
    name keeps the content it had. ``.filename`` is the file, ``.errno`` the system's reason."""

    def __str__(self) -> str:
        return self.strerror  # the message names the file already


def _os_error(error: BaseException) -> OSError | None:
    """The OSError behind ``error`` (itself, or what it was raised from or during: torch.save reports a failed write
    as a RuntimeError raised while handling the OSError), None when there is none."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OSError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """Raise a failed write inside the block as one WriteError naming ``path``."""
    try:
        yield
    except WriteError:
        raise
    except Exception as e:
        cause = _os_error(e)
        if cause is None:
            raise
        kept = "keeps its earlier content" if path.exists() else "was not written"
        raise WriteError(cause.errno, f"could not write {str(path)!r}: {cause.strerror or cause}; {path.name} {kept}",
                         str(path)) from None


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders; the rename is still atomic there
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temporary_name(path: Path) -> Path:
    """A name beside ``path`` matching TEMPORARY."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


def _temporary(path: Path) -> tuple[int, Path]:
    """A new temporary file beside ``path``, open for writing, with the mode ``path`` has (the umask's for a new
    file)."""
    while True:
        tmp = temporary_name(path)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
    except FileNotFoundError:
        pass
    return fd, tmp


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None], *, binary: bool = True) -> Path:
    """Write a file through ``write(file)`` so that ``path`` holds either the old or the new content, never part.

    The content goes to a temporary file in the same folder, which is flushed, fsynced and renamed over
    ``path`` (os.replace is atomic on POSIX); the folder is then fsynced so the rename itself is durable.
    The file keeps the mode of the one it replaces (a new file gets the umask's). A write that fails (disk full,
    ...) raises WriteError naming ``path`` and leaves no temporary file. A temporary file left by a killed process
    matches TEMPORARY; the run folder removes those when it is next claimed.
    """
    path = Path(path)
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _temporary(path)
        try:
            with os.fdopen(fd, "wb" if binary else "w") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)
    return path


def remove_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files atomic_write left in ``folder`` when its process was killed mid-write (call it
    only while no process writes there: under the folder's lock)."""
    stale = [p for p in folder.iterdir() if TEMPORARY.fullmatch(p.name) and p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Atomically write ``obj`` as indented JSON."""
    return atomic_write(path, lambda f: json.dump(obj, f, indent=2, default=str), binary=False)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomically write ``text``."""
    return atomic_write(path, lambda f: f.write(text), binary=False)


