"""The registry of the paper's experiments and `run_experiment`, behind `vicinal reproduce` (arXiv 1710.09412)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from vicinal.core._checks import check_choice
from vicinal.train.config import resolve_seeds

from . import ablation, adversarial, calibration, gan, generalization, memorization, tabular
from .framework import PRESETS, Context, Experiment, Preset, Stopwatch
from .reporting import write_index, write_report


def _experiment(module, name: str, title: str, source: str) -> Experiment:
    return Experiment(name=name, title=title, source=source, settings=module.SETTINGS, run=module.run,
                      default_seeds=module.DEFAULT_SEEDS)


EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (
    _experiment(generalization, "generalization",
                "Generalization: ERM vs mixup, CutMix, Manifold Mixup, label smoothing",
                "§3.1–3.2, Tables 1–2 (CIFAR)"),
    _experiment(memorization, "memorization", "Memorization of corrupted labels: ERM, dropout, mixup",
                "§3.4, Table 2 of the corrupted-label study"),
    _experiment(adversarial, "adversarial", "Robustness to adversarial examples: FGSM and I-FGSM, white and black box",
                "§3.5"),
    _experiment(tabular, "tabular", "Tabular data: the UCI protocol, ERM vs mixup", "§3.6"),
    _experiment(gan, "gan", "Stabilizing GANs on 2-D toy data: vanilla vs mixup discriminator",
                "§3.7 and the official demo"),
    _experiment(ablation, "ablation", "Ablations: what part of mixup matters", "§3.8"),
    _experiment(calibration, "calibration", "Calibration: ECE and reliability, ERM vs mixup, clean and noisy labels",
                "Thulasidasan et al. 2019, arXiv 1905.11001"),
)}


def _options_for(experiment: Experiment, preset: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    names = {f.name for f in fields(experiment.settings[preset])}
    return {k: v for k, v in (options or {}).items() if k in names}


def _with_options(settings: Any, options: Mapping[str, Any] | None, name: str) -> Any:
    """The settings with `options` applied; an unknown field is a ValueError naming the allowed ones."""
    if not options:
        return settings
    names = [f.name for f in fields(settings)]
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise ValueError(f"options {unknown} are not settings of experiment {name!r}; expected some of {names}")
    values = {k: tuple(v) if isinstance(getattr(settings, k), tuple) and isinstance(v, list) else v
              for k, v in options.items()}
    return replace(settings, **values)


def run_experiment(name: str, *, preset: Preset, out: str | Path | None = None, device: str | None = None,
                   data_dir: str | None = None, seeds: int | Sequence[int] | None = None,
                   quiet: bool = False, options: Mapping[str, Any] | None = None) -> Path:
    """Run experiment `name` ("all" for every one) at `preset`; write report.md, results.json and plots
    under `out` (None: runs/reproduce/<name>-<preset>); return the report's path. Prints only progress
    lines (stderr) unless `quiet`.

    seeds: None = the preset's default, an int n = seeds 0..n−1, or an explicit list of seeds.
    options: fields of the experiment's settings to change, e.g. {"datasets": ("csv:abalone.csv:rings",)}
    for `tabular` (applied to every experiment that has the field when name is "all").
    """
    check_choice("name", name, [*EXPERIMENTS, "all"])
    check_choice("preset", preset, PRESETS)
    out = Path(out) if out is not None else Path("runs", "reproduce", f"{name}-{preset}")
    if name == "all":
        known = {f.name for e in EXPERIMENTS.values() for f in fields(e.settings[preset])}
        unknown = sorted(set(options or {}) - known)
        if unknown:
            raise ValueError(f"options {unknown} are not settings of any experiment; expected some of {sorted(known)}")
        entries = []
        for experiment_name, experiment in EXPERIMENTS.items():
            watch = Stopwatch()
            report = run_experiment(experiment_name, preset=preset, out=out / experiment_name, device=device,
                                    data_dir=data_dir, seeds=seeds, quiet=quiet,
                                    options=_options_for(experiment, preset, options))
            statuses = [v["status"] for v in json.loads((report.parent / "results.json").read_text())["verdicts"]]
            entries.append((experiment, report, watch.seconds, statuses))
        return write_index(out, preset, entries)
    experiment = EXPERIMENTS[name]
    out.mkdir(parents=True, exist_ok=True)
    ctx = Context(experiment=name, preset=preset, out=out, device=device, data_dir=data_dir,
                  seeds=experiment.default_seeds[preset] if seeds is None else resolve_seeds(seeds), quiet=quiet)
    watch = Stopwatch()
    findings = experiment.run(ctx, _with_options(experiment.settings[preset], options, name))
    return write_report(experiment, ctx, findings, watch.seconds)
