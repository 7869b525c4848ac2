"""The command line: generated options, one-line errors with exit code 2, compare end to end, reproduce."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support import SUBPROCESS_ENV, tabular_config
from support import run_cli as _run

from vicinal.train import Callback, RunInfo, TrainConfig, compare

ROOT = Path(__file__).resolve().parent.parent


def test_reproduce_help_names_no_option_it_does_not_take(capsys):
    code, out, _ = _run(capsys, "reproduce", "--help")
    assert code == 0 and "--threads" not in out and "--backend" in out
    code, out, _ = _run(capsys, "compare", "--help")
    assert code == 0 and "task with --threads CPUs" in " ".join(out.split())
    code, out, _ = _run(capsys, "--help")
    assert code == 0 and "74 a file could not be written (disk full" in " ".join(out.split())


@pytest.mark.parametrize("command", ["train", "compare"])
def test_help_lists_every_config_field_and_its_default(capsys, command):
    code, out, _ = _run(capsys, command, "--help")
    assert code == 0
    text = " ".join(out.split())
    for f in dataclasses.fields(TrainConfig):
        assert f"--{f.name.replace('_', '-')}" in text, f.name
        assert f"(default: {f.default!r}" in text, f.name
    assert "Beta(alpha, alpha)" in text  # the field comments are the help texts


FASHION_MNIST = pytest.mark.fashion_mnist  # the smoke preset reads it before these options are refused


@pytest.mark.parametrize("argv, names", [
    (["--alpha", "-1"], "alpha=-1"),
    (["--alpha", "nan"], "alpha=nan"),
    (["--epochs", "0"], "epochs=0"),
    (["--epochs", "three"], "--epochs"),
    (["--lr", "0"], "lr=0"),
    (["--model", "resnet9000"], "model='resnet9000'"),
    (["--dataset", "imagenet-22k"], "dataset='imagenet-22k'"),
    (["--schedule", "linear"], "--schedule"),
    (["--device", "gpu-9"], "device='gpu-9'"),
    (["--preset", "fastest"], "--preset"),
    (["--alfa", "1"], "--alfa"),
    (["--batch-size", "4096"], "batch_size=4096"),
    (["--dataset", "iris", "--model", "mlp", "--train-subset", "none", "--test-subset", "none", "--batch-size", "1000"],
     "batch_size=1000"),
    (["--resume", "/nonexistent/run"], "/nonexistent/run"),
    pytest.param(["--epochs", "1", "--train-subset", "256"],
                 "warmup_fraction=0.25 is invalid for a one-cycle schedule of 4 steps", marks=FASHION_MNIST),
    (["--dataset", "iris", "--model", "fastcnn", "--train-subset", "none", "--test-subset", "none"],
     "model='fastcnn' does not fit examples of shape (4,)"),
    (["--device", "meta"], "device='meta'"),
    (["--device", "xpu"], "device='xpu'"),
    pytest.param(["--model", "fastcnn100000"], "model='fastcnn100000'", marks=FASHION_MNIST),
    pytest.param(["--model", "densenet_bc_1000000"], "depth=1000000", marks=FASHION_MNIST),
    pytest.param(["--augment-crop", "100000"], "augment_crop=100000", marks=FASHION_MNIST),
])
def test_bad_option_is_one_line_naming_it_with_exit_code_2(capsys, tmp_path, argv, names):
    code, out, err = _run(capsys, "train", "--preset", "smoke", "--quiet", "--out", str(tmp_path / "r"), *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vicinal: error: ") and names in lines[0], err
    assert "Traceback" not in err


def test_out_that_is_a_file_or_under_one_is_one_line_with_exit_code_2(capsys, tmp_path):
    (tmp_path / "f").write_text("x")
    for out, names in ((tmp_path / "f", "expected a folder, found a file"),
                       (tmp_path / "f" / "run", "expected a folder vicinal can write")):
        code, _, err = _run(capsys, "train", "--preset", "smoke", "--quiet", "--out", str(out))
        assert code == 2 and err.count("\n") == 1 and names in err, err


def test_non_square_images_train_an_mlp_and_are_refused_by_lenet(capsys, tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (80, 1, 28, 20), dtype=np.uint8)
    np.savez(tmp_path / "wide.npz", x_train=images[:64], y_train=np.arange(64) % 4, x_test=images[64:],
             y_test=np.arange(16) % 4)
    options = ["train", "--preset", "smoke", "--quiet", "--threads", "1", "--dataset", f"npz:{tmp_path / 'wide.npz'}",
               "--train-subset", "none", "--test-subset", "none", "--batch-size", "16", "--epochs", "2"]
    code, _, err = _run(capsys, *options, "--model", "lenet", "--out", str(tmp_path / "lenet"))
    assert code == 2 and err.count("\n") == 1 and "model='lenet' does not fit" in err and "square" in err
    assert not (tmp_path / "lenet").exists()
    code, out, err = _run(capsys, *options, "--model", "mlp", "--out", str(tmp_path / "mlp"))
    assert code == 0, err
    assert json.loads((tmp_path / "mlp" / "results.json").read_text())["epochs"] == 2


def test_bad_data_file_is_named_without_traceback_unless_debug(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 this is no npz")
    argv = [sys.executable, "-m", "vicinal", "train", "--preset", "smoke", "--quiet", "--dataset", f"npz:{bad}",
            "--model", "mlp", "--train-subset", "none", "--test-subset", "none", "--out", str(tmp_path / "r")]
    env = {**os.environ, **SUBPROCESS_ENV}
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("vicinal: error: ") and str(bad) in done.stderr
    debug = subprocess.run(argv[:4] + ["--debug"] + argv[4:], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=120)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_no_command_prints_help_and_exits_2(capsys):
    code, _, err = _run(capsys)
    assert code == 2 and "train" in err


@pytest.mark.fashion_mnist
def test_smoke_compare_end_to_end_prints_the_report_path_last(capsys, tmp_path):
    out_dir = tmp_path / "cmp"
    code, out, err = _run(capsys, "compare", "--preset", "smoke", "--quiet", "--threads", "1", "--out", str(out_dir))
    assert code == 0, err
    report = out_dir / "report.md"
    assert out.strip().splitlines()[-1] == str(report)
    results = json.loads((out_dir / "results.json").read_text())
    assert [r["alpha"] for r in results] == [0.0, 0.4]
    text = report.read_text()
    assert "| ERM |" in text and "| mixup α=0.4 |" in text
    assert (out_dir / "learning_curves.png").stat().st_size > 0 and (out_dir / "reliability.png").exists()
    assert "Learning curves:" in text and "Reliability diagram:" in text  # each plot says what it shows
    for sub in ("alpha0-seed0", "alpha0.4-seed0"):
        assert (out_dir / sub / "checkpoint.pt").exists()


def test_compare_reports_mean_and_std_over_seeds(tmp_path):
    result = compare(tabular_config(tmp_path / "c", epochs=1), alphas=(0.0, 0.5), seeds=2)
    assert [(r["alpha"], r["seed"]) for r in result.results] == [(0.0, 0), (0.5, 0), (0.0, 1), (0.5, 1)]
    assert result.report.read_text().count(" ± ") >= 8  # 4 columns × 2 rows
    with pytest.raises(ValueError, match="seeds=0"):
        compare(tabular_config(tmp_path / "d"), seeds=0)
    with pytest.raises(ValueError, match="alpha=-1"):
        compare(tabular_config(tmp_path / "d"), alphas=(0.0, -1.0))


class _RunsStarted(Callback):
    """Records (α, seed, resumed) of every run started; raises KeyboardInterrupt as run number ``crash`` starts."""

    def __init__(self, crash: int | None = None) -> None:
        self.crash, self.calls = crash, []

    def on_start(self, run: RunInfo) -> None:
        self.calls.append((run.config.alpha, run.config.seed, run.resumed))
        if len(self.calls) == self.crash:
            raise KeyboardInterrupt  # the comparison dies before this run takes a step


def test_an_interrupted_compare_continues_and_keeps_finished_runs(tmp_path):
    config = tabular_config(tmp_path / "c", epochs=2)
    with pytest.raises(KeyboardInterrupt):
        compare(config, alphas=(0.0, 0.5), seeds=2, callbacks=[_RunsStarted(crash=3)])
    first_seed = json.loads((tmp_path / "c" / "alpha0.5-seed0" / "results.json").read_text())
    started = _RunsStarted()
    result = compare(config, alphas=(0.0, 0.5), seeds=2, callbacks=[started])
    assert started.calls == [(0.0, 0, True), (0.5, 0, True), (0.0, 1, False), (0.5, 1, False)]
    assert result.results[1]["test_error"] == first_seed["test_error"]  # the finished run is kept, not retrained
    assert [r.history[-1]["epoch"] for r in result.runs] == [2, 2, 2, 2]


def test_reproduce_delegates_to_the_experiments_layer(capsys, monkeypatch, tmp_path):
    import vicinal.experiments

    seen = {}

    def fake(name, **kwargs):
        seen.clear()
        seen.update(name=name, **kwargs)
        return tmp_path / "report.md"

    monkeypatch.setattr(vicinal.experiments, "run_experiment", fake, raising=False)
    code, out, _ = _run(capsys, "reproduce", "memorization", "--preset", "smoke", "--out", str(tmp_path),
                        "--device", "cpu")
    assert code == 0 and out.strip().splitlines()[-1] == str(tmp_path / "report.md")
    assert seen == dict(name="memorization", preset="smoke", out=str(tmp_path), device="cpu", data_dir=None,
                        seeds=None, quiet=False, options=None, backend="local", address=None, tensorboard=False,
                        runs=None)
    code, _, _ = _run(capsys, "reproduce", "tabular", "--seeds", "3", "--quiet", "--datasets", "iris", "csv:a.csv:y")
    assert code == 0
    assert (seen["seeds"], seen["quiet"], seen["options"]) == (3, True, {"datasets": ("iris", "csv:a.csv:y")})

    def refuse(name, **kwargs):
        raise ValueError(f"experiment {name!r} is unknown")

    monkeypatch.setattr(vicinal.experiments, "run_experiment", refuse, raising=False)
    code, _, err = _run(capsys, "reproduce", "telepathy")
    assert code == 2 and err.startswith("vicinal: error: experiment 'telepathy'")
