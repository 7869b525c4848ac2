"""The run folder: claimed and locked while a process writes it, its name, the resolved config with provenance, the
metrics log, the results and final weights."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import torch
from torch import nn

import vicinal
from vicinal._io import remove_temporaries, write_json, write_text
from vicinal.train import distributed as dist_
from vicinal.train.checkpoint import CHECKPOINT_NAME, checkpoint_to_resume, export_safetensors
from vicinal.train.config import TrainConfig

try:
    import fcntl
except ImportError:  # Windows: no flock; folders are not locked there
    fcntl = None

CONFIG_NAME, METRICS_NAME, RESULTS_NAME = "config.json", "metrics.jsonl", "results.json"
WEIGHTS_NAME, REPORT_NAME = "model.safetensors", "report.md"


FolderKind = Literal["run", "compare"]


def lock_name(kind: FolderKind) -> str:
    """The lock file of a folder of ``kind``: it marks the folder as vicinal's and is locked while a process writes
    there."""
    return f".vicinal-{kind}.lock"


def _foreign_files(folder: Path, kind: FolderKind) -> list[str]:
    """The entries of an existing ``folder`` that show it is not a vicinal ``kind`` folder (none when it is empty,
    holds the lock file of ``kind``, or a run's checkpoint)."""
    names = sorted(p.name for p in folder.iterdir())
    if not names or lock_name(kind) in names or (kind == "run" and CHECKPOINT_NAME in names):
        return []
    return names


def _other_kind(names: list[str], kind: FolderKind) -> FolderKind | None:
    """The other kind of vicinal folder whose mark is among ``names`` (a run's lock file or checkpoint, a
    comparison's lock file), None when there is none."""
    other: FolderKind = "compare" if kind == "run" else "run"
    marks = {lock_name(other)} | ({CHECKPOINT_NAME} if other == "run" else set())
    return other if marks & set(names) else None


def _lock(folder: Path, kind: FolderKind, *, resume: bool) -> tuple[int, bool]:
    """Check ``folder`` is free for a ``kind`` (made here unless ``resume``), lock it and remove the temporary files
    a killed process left; (the lock file's descriptor, whether the folder was made here). ValueError when the
    folder is not usable or another process holds it."""
    name = "resume" if resume else "out"
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{name}={str(folder)!r} is invalid: expected a folder, found a file")
    if resume:
        checkpoint_to_resume(folder)  # nothing is written into a folder that holds no run
    created = not folder.exists()
    foreign = [] if created or resume else _foreign_files(folder, kind)
    other = _other_kind(foreign, kind)
    if other:
        raise ValueError(f"out={str(folder)!r} is invalid: it is a {other} folder written by vicinal; expected a "
                         f"new or empty folder, or a vicinal {kind} folder")
    if foreign:
        raise ValueError(f"out={str(folder)!r} is invalid: it holds files vicinal did not write "
                         f"({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''}); expected a new or empty "
                         f"folder, or a vicinal {kind} folder")
    path = folder / lock_name(kind)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        raise ValueError(f"{name}={str(folder)!r} is invalid: expected a folder vicinal can write ({e.strerror})") \
            from None
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise ValueError(f"{name}={str(folder)!r} is in use by another vicinal process (pid {holder}): expected "
                             f"a {kind} folder no other process holds") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    remove_temporaries(folder)
    return fd, created


@contextlib.contextmanager
def claimed(folder: str | os.PathLike, *, kind: FolderKind = "run", resume: bool = False,
            ctx: dist_.DistContext = dist_.DistContext()) -> Iterator[Path]:
    """Hold ``folder`` for this process while the block runs: a run (or a comparison) writes only there.

    A new run (``resume=False``) takes a folder that does not exist (made here, with its parents), is empty, or
    already is a vicinal ``kind`` folder; a folder holding files vicinal did not write is refused, so a user's
    files are never replaced. ``resume`` needs the folder to exist. The folder is then locked with ``flock`` on
    its lock file (``lock_name(kind)``, which stays as the mark of a vicinal folder): a second process claiming it
    gets ValueError until the first ends, and the lock goes with its process, so a killed run can be resumed.
    Temporary files a killed process left mid-write are removed. Under torchrun rank 0 holds the lock and every
    rank raises alike. A new folder left holding only the lock file (the block failed before writing) is removed.
    """
    folder = Path(folder)
    fd, created, error = None, False, None
    if ctx.is_main:
        try:
            fd, created = _lock(folder, kind, resume=resume)
        except ValueError as e:
            error = str(e)
    error = dist_.broadcast_object(error, ctx)
    if error is not None:
        raise ValueError(error)
    try:
        yield folder
    except BaseException:
        if created and [p.name for p in folder.iterdir()] == [lock_name(kind)]:
            (folder / lock_name(kind)).unlink()
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", text).strip("_")[:40] or "run"


def default_run_dir(config: TrainConfig, *, prefix: str = "") -> Path:
    """runs/<prefix><dataset>-<model>-a<alpha>-s<seed>-<UTC time>, with -2, -3, ... if that folder exists."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    base = Path("runs") / f"{prefix}{_slug(config.dataset)}-{config.model}-a{config.alpha:g}-s{config.seed}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def git_revision() -> str | None:
    """The commit of the vicinal source tree (with "+dirty" for uncommitted changes), None outside git."""
    root = Path(vicinal.__file__).resolve().parent.parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def write_config(run_dir: Path, config: TrainConfig, **facts) -> Path:
    """config.json: the resolved config plus provenance (git revision, versions, device, precision, ...)."""
    provenance = dict(git_revision=git_revision(), vicinal_version=vicinal.__version__,
                      torch_version=torch.__version__, **facts)
    return write_json(run_dir / CONFIG_NAME, {"config": config.to_dict(), "provenance": provenance})


def read_config(run_dir: Path) -> dict:
    """The ``config`` mapping stored in a run folder's config.json (ValueError if there is none)."""
    path = Path(run_dir) / CONFIG_NAME
    try:
        return json.loads(path.read_text())["config"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{str(path)!r} is not a vicinal run config: {e}") from None


def read_provenance(run_dir: Path) -> dict:
    """The ``provenance`` mapping of a run folder's config.json ({} when there is none to read)."""
    try:
        return dict(json.loads((Path(run_dir) / CONFIG_NAME).read_text())["provenance"])
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def rewrite_metrics(run_dir: Path, history: list[dict]) -> None:
    """metrics.jsonl: one JSON object per finished epoch (rewritten whole, atomically, so resume never duplicates)."""
    text = "".join(json.dumps(row) + "\n" for row in history)
    write_text(run_dir / METRICS_NAME, text)


def write_results(run_dir: Path, final: dict, model: nn.Module) -> None:
    """results.json (the final numbers) and model.safetensors (the final weights)."""
    write_json(run_dir / RESULTS_NAME, final)
    export_safetensors(model, run_dir / WEIGHTS_NAME)


def read_metrics(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / METRICS_NAME
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
