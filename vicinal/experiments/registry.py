"""The registry of the paper's experiments, `run_experiment` (measure, then report) behind `vicinal reproduce`, and
`write_report` (a report written again from results.json, no training) (arXiv 1710.09412)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from vicinal._io import write_json, write_text
from vicinal.core._checks import check_choice
from vicinal.train.backends import BACKENDS
from vicinal.train.config import resolve_seeds
from vicinal.train.hardware import cpu_description

from . import ablation, adversarial, between, calibration, gan, generalization, length, memorization, tabular
from .framework import PRESETS, Context, Experiment, Findings, Preset, Stopwatch, to_jsonable
from .reporting import index_text, report_text

RESULTS, REPORT = "results.json", "report.md"


def _experiment(module, name: str, title: str, source: str) -> Experiment:
    return Experiment(name=name, title=title, source=source, settings=module.SETTINGS,
                      default_seeds=module.DEFAULT_SEEDS, measure=module.measure, report=module.report)


EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (
    _experiment(generalization, "generalization",
                "Generalization: ERM vs mixup (α = 1 and a small α), CutMix, Manifold Mixup, label smoothing",
                "§3.1–3.2, Tables 1–2 (CIFAR)"),
    _experiment(memorization, "memorization", "Memorization of corrupted labels: ERM, ERM + dropout, mixup",
                "§3.4, Table 2 of the corrupted-label study"),
    _experiment(adversarial, "adversarial", "Robustness to adversarial examples: FGSM and I-FGSM, white and black box",
                "§3.5"),
    _experiment(tabular, "tabular", "Tabular data: the UCI protocol, ERM vs mixup, and small-n high-dimensional sets",
                "§3.6"),
    _experiment(gan, "gan", "Stabilizing GANs on 2-D toy data: vanilla vs mixup discriminator",
                "§3.7 and the official demo"),
    _experiment(ablation, "ablation", "Ablations: what part of mixup matters", "§3.8"),
    _experiment(length, "length", "Training length: does mixup's gain over ERM grow with the epochs?",
                "§3.2, the ImageNet rows (90 and 200 epochs)"),
    _experiment(calibration, "calibration", "Calibration: ECE, NLL and over-confidence off the data, ERM vs mixup",
                "Thulasidasan et al. 2019, arXiv 1905.11001"),
    _experiment(between, "between", "In between examples: misses, gradient norms and p(yᵢ) along x̃ = λ·xᵢ + (1−λ)·xⱼ, "
                "ERM vs mixup, and the two-moons picture", "§1, Figures 1(b) and 2"),
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
                   quiet: bool = False, options: Mapping[str, Any] | None = None, backend: str = "local",
                   address: str | None = None, tensorboard: bool = False, runs: str | Path | None = None) -> Path:
    """Run experiment `name` ("all" for every one) at `preset`: measure (train and evaluate) into results.json,
    then write report.md and the plots from it, under `out` (None: runs/reproduce/<name>-<preset>); return the
    report's path. Prints only progress lines (stderr) unless `quiet`.

    The run folders go under `runs` (None: `out`/runs); a run already there (same config) is resumed or, when
    finished, only evaluated again, so "all" (or separate calls given one `runs`) trains the runs its experiments
    share once and an interrupted call continues.
    seeds: None = the preset's default, an int n = seeds 0..n−1, or an explicit list of seeds.
    options: fields of the experiment's settings to change, e.g. {"datasets": ("csv:abalone.csv:rings",)}
    for `tabular` (applied to every experiment that has the field when name is "all").
    backend, address: where the training runs go (vicinal.train.train_all: "local", or "ray" with a cluster's
    HOST:PORT or a local Ray).
    tensorboard: every training run also writes TensorBoard event files into its folder (`tensorboard --logdir
    <out>/runs` shows them all).
    """
    check_choice("name", name, [*EXPERIMENTS, "all"])
    check_choice("preset", preset, PRESETS)
    check_choice("backend", backend, BACKENDS)
    resolved = None if seeds is None else resolve_seeds(seeds)
    out = Path(out) if out is not None else Path("runs", "reproduce", f"{name}-{preset}")
    runs = Path(runs) if runs is not None else out / "runs"
    command = f"vicinal reproduce {name} --preset {preset}" + ("" if seeds is None else f" --seeds {seeds}")

    def measure(experiment: Experiment, folder: Path, options: Mapping[str, Any] | None) -> Path:
        """Measure one experiment into folder/results.json: settings, seeds, time, machine and the measurements."""
        settings = _with_options(experiment.settings[preset], options, experiment.name)
        folder.mkdir(parents=True, exist_ok=True)
        ctx = Context(experiment=experiment.name, preset=preset, out=folder, runs=runs, device=device,
                      data_dir=data_dir, seeds=resolved or experiment.default_seeds[preset], quiet=quiet,
                      backend=backend, address=address, tensorboard=tensorboard)
        watch = Stopwatch()
        measured = experiment.measure(ctx, settings)
        return write_json(folder / RESULTS, to_jsonable({
            "experiment": experiment.name, "preset": preset, "seeds": ctx.seeds, "seconds": watch.seconds,
            "machine": cpu_description(), "command": command, "device": device or "auto", "settings": settings,
            "measured": measured}))

    if name != "all":
        measure(EXPERIMENTS[name], out, options)
        return write_report(out)
    known = {f.name for e in EXPERIMENTS.values() for f in fields(e.settings[preset])}
    unknown = sorted(set(options or {}) - known)
    if unknown:
        raise ValueError(f"options {unknown} are not settings of any experiment; expected some of {sorted(known)}")
    for experiment in EXPERIMENTS.values():
        measure(experiment, out / experiment.name, _options_for(experiment, preset, options))
        write_report(out / experiment.name)  # each report as soon as its experiment is done
    write_json(out / RESULTS, {"preset": preset, "experiments": list(EXPERIMENTS)})
    return write_report(out)


def read_results(folder: str | Path) -> dict[str, Any]:
    """The results.json of an experiment's (or `reproduce all`'s) folder."""
    path = Path(folder) / RESULTS
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"folder={str(folder)!r} is invalid: expected a folder holding a readable {RESULTS} "
                         f"written by `vicinal reproduce` ({err})") from None


def findings_of(folder: str | Path) -> tuple[Experiment, dict[str, Any], Findings]:
    """An experiment folder's experiment, results and findings (its plots drawn again into the folder)."""
    results = read_results(folder)
    name = results.get("experiment")
    check_choice("experiment", name, list(EXPERIMENTS))
    experiment = EXPERIMENTS[name]
    return experiment, results, experiment.report(results, Path(folder))


def write_report(folder: str | Path) -> Path:
    """Write report.md (and the plots) of an experiment's folder, or of a `reproduce all` folder with every
    experiment's, from results.json alone (no training); return the report's path."""
    folder = Path(folder)
    results = read_results(folder)
    if "experiments" in results:  # the index of `reproduce all`
        entries = []
        for name in results["experiments"]:
            experiment, data, findings = findings_of(folder / name)
            write_text(folder / name / REPORT, report_text(experiment, data, findings))
            entries.append((experiment, f"{name}/{REPORT}", data["seconds"], findings.verdicts))
        return write_text(folder / REPORT, index_text(results["preset"], entries))
    experiment, data, findings = findings_of(folder)
    return write_text(folder / REPORT, report_text(experiment, data, findings))
