"""TensorBoard: the event file of a run holds its metrics.jsonl epoch by epoch and a λ histogram per epoch; one
--logdir shows every run of a comparison; a resumed run continues the file; a missing package is one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import SUBPROCESS_ENV, crash_at, tabular_config
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

from vicinal.experiments import run_experiment
from vicinal.train import compare, resume_config, train
from vicinal.train.rundir import read_metrics

ROOT = Path(__file__).resolve().parent.parent
EVERYTHING = {"scalars": 0, "histograms": 0}  # keep every event (the default samples some)


def _events(run_dir: Path) -> EventAccumulator:
    events = EventAccumulator(str(run_dir), size_guidance=EVERYTHING)
    events.Reload()
    return events


def _scalars(events: EventAccumulator, tag: str) -> list[tuple[int, float]]:
    return [(e.step, e.value) for e in events.Scalars(tag)]


def test_event_file_holds_every_epoch_metric_and_a_lambda_histogram_per_epoch(tmp_path):
    result = train(tabular_config(tmp_path / "r", epochs=3, eval_every=2, per_sample=True, tensorboard=True))
    rows = read_metrics(result.run_dir)
    events = _events(result.run_dir)
    for key in ("train_loss", "train_error", "test_error", "test_nll", "ece", "lr", "seconds", "images_per_s"):
        expected = [(r["epoch"], r[key]) for r in rows if r[key] is not None]
        assert _scalars(events, key) == [(step, pytest.approx(v, rel=1e-6)) for step, v in expected], key
    assert [step for step, _ in _scalars(events, "test_error")] == [2, 3]  # the evaluated epochs only
    histograms = events.Histograms("lambda")
    assert [h.step for h in histograms] == [1, 2, 3]
    images_per_epoch = result.final["steps"] // 3 * 64
    for h in histograms:  # per_sample: one λ per training image of the epoch
        assert h.histogram_value.num == images_per_epoch and 0 <= h.histogram_value.min < h.histogram_value.max <= 1


def test_one_logdir_shows_every_run_of_a_comparison(tmp_path):
    root = tmp_path / "cmp"
    compare(tabular_config(root, epochs=1, tensorboard=True), alphas=(0.0, 1.0), seeds=1)
    runs = EventMultiplexer(size_guidance=EVERYTHING).AddRunsFromDirectory(str(root)).Reload()
    names = {"alpha0-seed0", "alpha1-seed0"}
    assert set(runs.Runs()) == names
    for name in names:
        assert [e.step for e in runs.Scalars(name, "test_error")] == [1]
    erm = runs.Histograms("alpha0-seed0", "lambda")[0].histogram_value
    assert erm.min == erm.max == 1.0  # ERM: every batch unmixed, λ = 1


def test_reproduce_passes_tensorboard_to_every_training_run(tmp_path):
    out = tmp_path / "tabular"
    run_experiment("tabular", preset="smoke", out=out, seeds=[0], quiet=True, tensorboard=True,
                   options={"datasets": ["iris"]})
    runs = EventMultiplexer(size_guidance=EVERYTHING).AddRunsFromDirectory(str(out / "runs")).Reload()
    assert len(runs.Runs()) == 2  # ERM and mixup on iris, seed 0
    for name in runs.Runs():
        rows = read_metrics(out / "runs" / name)
        assert [e.step for e in runs.Scalars(name, "train_loss")] == [r["epoch"] for r in rows]


def test_a_resumed_run_continues_its_event_file_without_repeating_an_epoch(tmp_path):
    config = tabular_config(tmp_path / "r", epochs=3, tensorboard=True)
    with pytest.raises(RuntimeError, match="machine lost"):
        train(config, callbacks=[crash_at(30)])  # 22 steps an epoch: stops in epoch 2
    result = train(resume_config(config.out), resume=True)
    events = _events(result.run_dir)
    assert _scalars(events, "train_loss") == [(r["epoch"], pytest.approx(r["train_loss"], rel=1e-6))
                                              for r in result.history]
    assert [h.step for h in events.Histograms("lambda")] == [1, 2, 3]


def test_tensorboard_without_the_package_is_one_line_with_exit_code_2(tmp_path):
    code = ("import sys; sys.modules['tensorboard'] = None; from vicinal.cli import main; "
            "raise SystemExit(main(sys.argv[1:]))")
    argv = [sys.executable, "-c", code, "train", "--preset", "smoke", "--dataset", "digits", "--model", "mlp",
            "--quiet", "--tensorboard", "--out", str(tmp_path / "r")]
    done = subprocess.run(argv, cwd=ROOT, env={**os.environ, **SUBPROCESS_ENV}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "tensorboard=True is invalid" in done.stderr
    assert "pip install 'vicinal[tensorboard]'" in done.stderr
    assert not (tmp_path / "r").exists()  # refused before the run folder is made
