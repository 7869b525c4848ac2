"""Checkpoints: atomic writes (temp file, fsync, rename), weights-only loading verified by a SHA-256 of the contents,
the previous checkpoint kept beside the latest, a run's snapshot and its checked restore, the checkpoint a run starts
from (fresh or resumed, on the same data), and safetensors export."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import re
import secrets
import shutil
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Protocol

import torch
from torch import nn

from vicinal.core import Mixup
from vicinal.train import distributed as dist_
from vicinal.train.config import TrainConfig, check_resumable, config_from_dict
from vicinal.train.data import RunData
from vicinal.train.digest import digest
from vicinal.train.progress import Progress
from vicinal.train.schedules import RunLength
from vicinal.train.statecheck import generator_fault, state_fault

CHECKPOINT_NAME = "checkpoint.pt"
FORMAT = "vicinal-checkpoint-2"  # stored under "format": a checkpoint from anything else is refused
CHECKSUM_KEY = "sha256"  # the SHA-256 (vicinal.train.digest) of everything else in the checkpoint
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
def _writing(path: Path) -> Iterator[None]:
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


def _temporary_name(path: Path) -> Path:
    """A name beside ``path`` matching TEMPORARY."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


def _temporary(path: Path) -> tuple[int, Path]:
    """A new temporary file beside ``path``, open for writing, with the mode ``path`` has (the umask's for a new
    file)."""
    while True:
        tmp = _temporary_name(path)
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
    with _writing(path):
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


def previous_path(path: str | os.PathLike) -> Path:
    """Where save_checkpoint keeps the checkpoint it replaced: checkpoint.pt → checkpoint.prev.pt."""
    path = Path(path)
    return path.with_name(f"{path.stem}.prev{path.suffix}")


def _keep_previous(path: Path) -> None:
    """Make previous_path(path) the file now at ``path`` (a hard link; a copy where links are not supported).

    When both names already are one file (a save cut short after this step) there is nothing to do: renaming a
    link onto another link of the same file does nothing (POSIX rename), which would leave the temporary name."""
    previous = previous_path(path)
    if not path.is_file() or (previous.is_file() and os.path.samefile(path, previous)):
        return
    tmp = _temporary_name(previous)
    try:
        try:
            os.link(path, tmp)
        except OSError:
            shutil.copyfile(path, tmp)
        os.replace(tmp, previous)
    finally:
        tmp.unlink(missing_ok=True)  # gone after the rename, unless the rename did nothing


def save_checkpoint(state: dict, path: str | os.PathLike) -> Path:
    """Atomically save ``state`` (tensors, numbers, strings, lists, dicts only) with torch.save, with the SHA-256 of
    its contents; the checkpoint it replaces is kept as ``previous_path(path)`` (checkpoint.prev.pt)."""
    path = Path(path)
    payload = {"format": FORMAT, **state}
    payload[CHECKSUM_KEY] = digest(payload)
    with _writing(previous_path(path)):
        _keep_previous(path)
    return atomic_write(path, lambda f: torch.save(payload, f))


def load_checkpoint(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> dict:
    """Load a vicinal checkpoint with ``torch.load(weights_only=True)`` and verify its SHA-256; anything else raises
    ValueError.

    A file that needs arbitrary pickled objects (code execution) is refused, with no fallback; so is one whose
    contents do not match the checksum stored in it (a damaged file) or that has none (an older vicinal's).
    The result is the saved state, with "format" and without the checksum.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {str(path)!r} does not exist: expected a file written by vicinal")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"checkpoint {str(path)!r} is not a readable torch file: expected torch.save's zip format")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        lines = [ln.strip() for ln in str(e).splitlines() if "unsupported" in ln.lower() or "WeightsUnpickler" in ln]
        raise ValueError(f"checkpoint {str(path)!r} refused: it needs more than weights_only loading allows "
                         f"({lines[0] if lines else type(e).__name__})") from None
    except Exception as e:  # a damaged file fails in many ways (zip, pickle, storage): all mean "unreadable"
        raise ValueError(f"checkpoint {str(path)!r} is not a readable torch file: {type(e).__name__}: {e}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else None
        raise ValueError(f"checkpoint {str(path)!r} is not a vicinal checkpoint: expected format {FORMAT!r}"
                         + (f", found {found!r} (an older vicinal's, without a checksum)"
                            if isinstance(found, str) and found.startswith("vicinal-checkpoint") else ""))
    stored = state.pop(CHECKSUM_KEY, None)
    if stored != digest(state):
        raise ValueError(f"checkpoint {str(path)!r} is damaged: its contents do not match the SHA-256 "
                         f"{CHECKSUM_KEY} stored in it")
    return state


def has_checkpoint(run_dir: str | os.PathLike) -> bool:
    """Whether ``run_dir`` holds a run's checkpoint (a run to resume rather than start)."""
    return (Path(run_dir) / CHECKPOINT_NAME).is_file()


def checkpoint_to_resume(run_dir: str | os.PathLike) -> Path:
    """The checkpoint file of the run in ``run_dir`` (ValueError when there is no such folder or no checkpoint)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ValueError(f"resume={str(run_dir)!r}: no such folder (expected a vicinal run folder)")
    if not has_checkpoint(run_dir):
        raise ValueError(f"resume={str(run_dir)!r}: no {CHECKPOINT_NAME} there (not a vicinal run folder)")
    return run_dir / CHECKPOINT_NAME


def _previous_note(path: Path) -> str:
    """What to say of the checkpoint kept before ``path`` when ``path`` is refused."""
    previous = previous_path(path)
    if not previous.is_file():
        return ""
    try:
        step = load_checkpoint(previous).get("step")
    except ValueError:
        return f"; the previous one, {str(previous)!r}, is refused too"
    return (f"; the previous checkpoint {str(previous)!r} (step {step}) is intact: replace {path.name} with it to "
            f"resume from there")


def _unfit(path: Path, fault: str) -> ValueError:
    return ValueError(f"checkpoint {str(path)!r} does not fit this run: {fault}")


def _read_run_checkpoint(run_dir: str | os.PathLike) -> dict:
    """The verified checkpoint of the run in ``run_dir``, with its config (ValueError otherwise, naming the previous
    checkpoint when that one is intact)."""
    path = checkpoint_to_resume(run_dir)
    try:
        state = load_checkpoint(path)
    except ValueError as e:
        raise ValueError(f"{e}{_previous_note(path)}") from None
    if not isinstance(state.get("config"), dict):
        raise _unfit(path, "it holds no config")
    return state


def resume_config(run_dir: str | os.PathLike, **overrides) -> TrainConfig:
    """The config of the run in ``run_dir`` (from its checkpoint) with ``overrides``, ready for train(resume=True)."""
    state = _read_run_checkpoint(run_dir)
    return config_from_dict({**state["config"], **overrides, "out": str(run_dir)})


def start_state(run_dir: Path, config: TrainConfig, *, resume: bool, world_size: int) -> dict | None:
    """The checkpoint a run continues from: None for a fresh run, whose ``run_dir`` must hold no run yet; with
    ``resume`` the folder's verified checkpoint, which ``config`` and ``world_size`` must agree with (else
    ValueError). The rest of it is checked against the built run by ``restore``."""
    if not resume:
        if has_checkpoint(run_dir):
            raise ValueError(f"out={str(run_dir)!r} already holds a run ({CHECKPOINT_NAME}): resume it "
                             f"with --resume or choose another --out")
        return None
    state = _read_run_checkpoint(run_dir)
    check_resumable(config, config_from_dict(state["config"]).to_dict())  # the stored values validated first
    stored = state.get("world_size")
    if type(stored) is not int:
        raise _unfit(run_dir / CHECKPOINT_NAME, f"world_size={stored!r}, expected a number of processes")
    if world_size != stored:
        raise ValueError(f"resume: {world_size} processes is incompatible with the checkpoint's {stored}")
    generators = state.get("generators")
    fault = "missing" if not isinstance(generators, dict) or "corruption" not in generators else \
        generator_fault(generators["corruption"])  # read before the run is built: the labels it corrupted
    if fault:
        raise _unfit(run_dir / CHECKPOINT_NAME, f"generators.corruption is {fault}")
    return state


def check_same_data(state: dict, record: dict) -> None:
    """Refuse to resume ``state`` on data other than it was trained on: ``record`` (the run's ``data_record``) must
    have the fingerprint stored in the checkpoint."""
    stored = state.get("data") if isinstance(state.get("data"), dict) else {}
    if stored.get("fingerprint") != record["fingerprint"]:
        raise ValueError(f"resume: the data set {record['source']!r} (fingerprint {record['fingerprint'][:16]}) "
                         f"differs from the one the checkpoint was trained on, {stored.get('source')!r} "
                         f"(fingerprint {str(stored.get('fingerprint'))[:16]}): expected the same data")


class Run(Protocol):
    """The parts of a training run that ``snapshot`` reads and ``restore`` sets (the trainer's TrainingRun)."""

    config: TrainConfig
    run_dir: Path
    device: torch.device
    ctx: dist_.DistContext
    data: RunData
    data_record: dict  # the data set's absolute source and fingerprint (see data_record)
    length: RunLength
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    mixer: Mixup  # its generator: the same on every rank
    noise_gen: torch.Generator  # this rank's input-noise generator
    progress: Progress


def snapshot(run: Run) -> dict:
    """Everything ``run`` needs to continue exactly: weights, optimizer, schedule, progress, generators, and each
    process's loader, noise and global RNG states (gathered from every rank: every rank must call this), with the
    record of the data it trains on."""
    rank_state = dict(loader=run.data.train.state_dict(), noise=run.noise_gen.get_state(),
                      torch_rng=torch.get_rng_state())  # the global generator: dropout masks
    if run.device.type == "cuda":
        rank_state["cuda_rng"] = torch.cuda.get_rng_state(run.device)
    return dict(config=run.config.to_dict(), model=run.model.state_dict(), optimizer=run.optimizer.state_dict(),
                scheduler=run.scheduler.state_dict(), world_size=run.ctx.world_size,
                rank_states=dist_.gather_objects(rank_state, run.ctx),
                generators=dict(mixing=run.mixer.generator.get_state(), corruption=run.data.corruption_state),
                data=dict(run.data_record), **run.progress.state_dict())


def restore(run: Run, state: dict) -> None:
    """Put ``run`` back where ``snapshot`` found it (this process's own rank state). ``state`` is first checked
    against the run's own snapshot (keys, types, tensor shapes and dtypes, counters that agree): a checkpoint that
    does not fit raises ValueError naming the first part that does not."""
    path = run.run_dir / CHECKPOINT_NAME
    fault = state_fault(state, snapshot(run), optimizer=run.optimizer, length=run.length)
    if fault:
        raise _unfit(path, fault)
    mine = state["rank_states"][run.ctx.rank]
    try:
        run.model.load_state_dict(state["model"])
        run.optimizer.load_state_dict(state["optimizer"])
        run.scheduler.load_state_dict(state["scheduler"])
        run.data.train.load_state_dict(mine["loader"])
        run.noise_gen.set_state(mine["noise"])
        torch.set_rng_state(mine["torch_rng"])
        if "cuda_rng" in mine and run.device.type == "cuda":
            torch.cuda.set_rng_state(mine["cuda_rng"], run.device)
        run.mixer.generator.set_state(state["generators"]["mixing"])
    except (RuntimeError, ValueError, TypeError, KeyError, IndexError) as e:  # values the layout check cannot see
        raise _unfit(path, f"{type(e).__name__}: {' '.join(str(e).split())[:200]}") from None
    run.progress.load_state_dict(state)


def export_safetensors(model: nn.Module, path: str | os.PathLike) -> Path:
    """Atomically write the model's weights (state_dict) as a safetensors file."""
    from safetensors.torch import save

    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    data = save(tensors, metadata={"format": "pt"})
    return atomic_write(path, lambda f: f.write(data))
