"""The run folder: its name, the resolved config with provenance, the metrics log, the results and final weights."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import torch
from torch import nn

import vicinal
from vicinal.train.checkpoint import atomic_write, export_safetensors, write_json
from vicinal.train.config import TrainConfig

CONFIG_NAME, METRICS_NAME, RESULTS_NAME = "config.json", "metrics.jsonl", "results.json"
WEIGHTS_NAME, REPORT_NAME = "model.safetensors", "report.md"


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
    atomic_write(run_dir / METRICS_NAME, lambda f: f.write(text), binary=False)


def write_results(run_dir: Path, final: dict, model: nn.Module) -> None:
    """results.json (the final numbers) and model.safetensors (the final weights)."""
    write_json(run_dir / RESULTS_NAME, final)
    export_safetensors(model, run_dir / WEIGHTS_NAME)


def read_metrics(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / METRICS_NAME
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
