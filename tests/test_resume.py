"""Exact resume: end-of-epoch, mid-epoch and after SIGTERM give the uninterrupted run's weights bit for bit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from test_train_support import (
    SUBPROCESS_ENV, assert_same_weights, cli_args, crash_at, image_config, tabular_config, weights,
)
from vicinal.train import config_from_preset, load_checkpoint, resume_config, train

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """3 epochs of 4 steps: mixup, crop + flip, 20% corrupted labels, dropout (every generator matters)."""
    config = image_config(tmp_path_factory.mktemp("full") / "r", epochs=3, label_noise=0.2, dropout=0.2)
    return train(config)


@pytest.mark.parametrize("crash_step, checkpoint_every, saved", [
    (6, 0, (4, 1, 0)),  # crash in epoch 2: resume from the end-of-epoch-1 checkpoint
    (7, 3, (6, 1, 2)),  # crash after step 6: resume from the mid-epoch-2 checkpoint
])
def test_resumed_run_equals_the_uninterrupted_one(tmp_path, uninterrupted, crash_step, checkpoint_every, saved):
    config = uninterrupted.config.replace(out=str(tmp_path / "r"), checkpoint_every=checkpoint_every)
    with pytest.raises(RuntimeError, match="machine lost"):
        train(config, callbacks=[crash_at(crash_step)])
    state = load_checkpoint(tmp_path / "r" / "checkpoint.pt")
    assert (state["step"], state["epoch"], state["epoch_step"]) == saved
    resumed = train(resume_config(tmp_path / "r"), resume=True)
    assert_same_weights(weights(resumed.model), weights(uninterrupted.model))
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in uninterrupted.history]
    assert [r["corrupted_fit"] for r in resumed.history] == [r["corrupted_fit"] for r in uninterrupted.history]


def test_resume_errors(tmp_path):
    with pytest.raises(ValueError, match="no such folder"):
        resume_config(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no checkpoint.pt"):
        train(tabular_config(tmp_path / "empty"), resume=True)
    (tmp_path / "foreign").mkdir()
    torch.save({"model": {}}, tmp_path / "foreign" / "checkpoint.pt")
    with pytest.raises(ValueError, match="not a vicinal checkpoint"):
        resume_config(tmp_path / "foreign")
    train(tabular_config(tmp_path / "run", epochs=1))
    with pytest.raises(ValueError, match=r"resume: alpha=0.5 is incompatible .* alpha=1.0"):
        train(tabular_config(tmp_path / "run", epochs=1, alpha=0.5), resume=True)


CLI_OPTIONS = dict(dataset="fashion-mnist", model="fastcnn", train_subset=512, test_subset=128, batch_size=64,
                   epochs=3, lr=0.05, alpha=1.0, augment_flip=True, quiet=True, threads=1)


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_stop_signal_checkpoints_exits_and_resumes_exactly(tmp_path, signum, code):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "vicinal", "train", "--preset", "smoke", *cli_args(CLI_OPTIONS), "--out", str(run)]
    env = {**os.environ, **SUBPROCESS_ENV}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (run / "checkpoint.pt").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == code, err
    assert f"--resume {run}" in err
    state = load_checkpoint(run / "checkpoint.pt")
    assert 1 <= state["step"] < 24  # stopped early, after at least one step
    done = subprocess.run([sys.executable, "-m", "vicinal", "train", "--resume", str(run)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == str(run / "report.md")
    if signum == signal.SIGTERM:  # one comparison against the uninterrupted run is enough
        reference = train(config_from_preset("smoke", **CLI_OPTIONS, out=str(tmp_path / "ref")))
        from safetensors.torch import load_file

        assert_same_weights(load_file(run / "model.safetensors"), weights(reference.model))
