"""Where data sets are looked for (--data-dir, $VICINAL_DATA, ~/.cache/vicinal, system folders) and fetched."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from vicinal.data.download import DataNotFoundError

Found = TypeVar("Found")

DATA_ENV = "VICINAL_DATA"  # environment variable naming a folder of data sets


def cache_dir() -> Path:
    """`~/.cache/vicinal`, where downloads go."""
    return Path.home() / ".cache" / "vicinal"


def search_dirs(
    name: str, *, data_dir: str | os.PathLike | None = None, system_dirs: Sequence[str | os.PathLike] = ()
) -> list[Path]:
    """The folders searched for data set `name`, in order.

    For each root (the `data_dir` argument, $VICINAL_DATA, ~/.cache/vicinal) the folder `root/name`
    and then `root` itself; then `system_dirs` (e.g. a Debian package's folder).
    """
    roots = [Path(data_dir)] if data_dir is not None else []
    if os.environ.get(DATA_ENV):
        roots.append(Path(os.environ[DATA_ENV]))
    roots.append(cache_dir())
    dirs = [d for root in roots for d in (root / name, root)] + [Path(d) for d in system_dirs]
    return list(dict.fromkeys(dirs))


def obtain(
    name: str,
    probe: Callable[[Path], Found | None],
    *,
    data_dir: str | os.PathLike | None,
    download: bool,
    fetch: Callable[[Path], None],
    hint: str,
    system_dirs: Sequence[str | os.PathLike] = (),
) -> tuple[Path, Found]:
    """Find data set `name` with `probe` (returns what it found in a folder, or None), or fetch it.

    If no searched folder has it and `download` is true, `fetch(cache_dir() / name)` downloads it
    there and the folder is probed again. Otherwise `DataNotFoundError` lists the folders searched,
    why the download failed, and `hint` on how to get the data.
    """
    searched = search_dirs(name, data_dir=data_dir, system_dirs=system_dirs)
    for folder in searched:
        if folder.is_dir() and (found := probe(folder)) is not None:
            return folder, found
    looked = ", ".join(str(d) for d in searched)
    if not download:
        raise DataNotFoundError(f"{name} not found (looked in: {looked}; download disabled). {hint}")
    target = cache_dir() / name
    try:
        fetch(target)
    except DataNotFoundError as err:
        raise DataNotFoundError(f"{name} not found (looked in: {looked}) and the download failed ({err}). "
                                f"{hint}") from err
    found = probe(target)
    if found is None:
        raise DataNotFoundError(f"{name}: downloaded into {target} but the expected files are not there. {hint}")
    return target, found
