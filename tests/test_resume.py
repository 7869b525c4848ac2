"""Exact resume: end-of-epoch, mid-epoch and after SIGTERM give the uninterrupted run's weights bit for bit; resume
refuses damaged or crafted checkpoints and other data with one ValueError (one line, exit 2 on the command line)."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from support import (
    SUBPROCESS_ENV,
    assert_same_weights,
    cli_args,
    crash_at,
    image_config,
    run_cli,
    tabular_config,
    weights,
)

from vicinal.train import config_from_preset, load_checkpoint, resume_config, save_checkpoint, train

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """3 epochs of 4 steps: mixup, crop + flip, 20% corrupted labels, dropout (every generator matters)."""
    config = image_config(tmp_path_factory.mktemp("full") / "r", epochs=3, label_noise=0.2, dropout=0.2)
    return train(config)


@pytest.mark.fashion_mnist
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


@pytest.mark.fashion_mnist
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


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> dict:
    """The checkpoint of a finished one-epoch run on digits (the fuzz and crafted tests damage copies of it)."""
    return load_checkpoint(train(tabular_config(tmp_path_factory.mktemp("finished") / "r", epochs=1)).run_dir
                           / "checkpoint.pt")


def _crafted(folder: Path, state: dict) -> Path:
    """A run folder holding ``state`` as its checkpoint (with a valid checksum: it was crafted, not damaged)."""
    folder.mkdir(parents=True)
    save_checkpoint({k: v for k, v in state.items() if k != "format"}, folder / "checkpoint.pt")
    return folder


def _resume(folder: Path):
    return train(resume_config(folder), resume=True)


def test_a_damaged_checkpoint_is_refused_naming_the_previous_intact_one(tmp_path, capsys):
    run = tmp_path / "r"
    train(tabular_config(run, epochs=2))  # the epoch-2 checkpoint replaced the epoch-1 one, kept as checkpoint.prev.pt
    weight = load_checkpoint(run / "checkpoint.pt")["model"]["head.1.weight"]
    data = bytearray((run / "checkpoint.pt").read_bytes())
    data[data.index(weight[:2].numpy().tobytes()) + 3] ^= 0x40  # one bit of a weight's exponent
    (run / "checkpoint.pt").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"is damaged: .*; the previous checkpoint .*checkpoint.prev.pt' \(step 22\) "
                                         r"is intact: replace checkpoint.pt with it"):
        _resume(run)
    code, _, err = run_cli(capsys, "train", "--resume", str(run))
    assert code == 2 and err.count("\n") == 1 and "is damaged" in err
    (run / "checkpoint.prev.pt").replace(run / "checkpoint.pt")
    assert _resume(run).final["epochs"] == 2  # resumed from epoch 1


def _npz(path: Path, seed: int) -> str:
    rng = np.random.default_rng(seed)
    np.savez(path, x_train=rng.normal(size=(64, 5)), y_train=np.arange(64) % 3, x_test=rng.normal(size=(16, 5)),
             y_test=np.arange(16) % 3)
    return f"npz:{path.name}"


def test_resume_reads_the_same_file_from_any_folder_and_refuses_other_data(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    monkeypatch.chdir(first)
    name = _npz(first / "d.npz", seed=0)  # relative: npz:d.npz
    config = tabular_config(tmp_path / "r", dataset=name, batch_size=16, epochs=2)
    with pytest.raises(RuntimeError, match="machine lost"):
        train(config, callbacks=[crash_at(5)])
    stored = load_checkpoint(tmp_path / "r" / "checkpoint.pt")
    assert stored["config"]["dataset"] == f"npz:{first / 'd.npz'}" and stored["data"]["source"] == str(first / "d.npz")
    monkeypatch.chdir(second)
    _npz(second / "d.npz", seed=1)  # another file of the same name here
    with pytest.raises(ValueError, match=r"resume: the data set .*second/d.npz' .* differs from the one the "
                                         r"checkpoint was trained on, .*first/d.npz'"):
        train(resume_config(tmp_path / "r", dataset=name), resume=True)
    trained_on = (first / "d.npz").read_bytes()
    _npz(first / "d.npz", seed=2)  # the file the run was trained on has changed since
    with pytest.raises(ValueError, match="differs from the one the checkpoint was trained on"):
        _resume(tmp_path / "r")
    (first / "d.npz").write_bytes(trained_on)
    assert _resume(tmp_path / "r").final["epochs"] == 2  # from another folder: the file of the absolute path
    (second / "d.npz").write_bytes(trained_on)  # the same data under another name is fine too
    train(resume_config(tmp_path / "r", dataset=name), resume=True)


def _drop(state: dict, *path) -> None:
    *parents, last = path
    for key in parents:
        state = state[key]
    del state[last]


def _set(state: dict, value, *path) -> None:
    *parents, last = path
    for key in parents:
        state = state[key]
    state[last] = value


GARBAGE_RNG = torch.randint(0, 256, (5056,), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("craft, match", [
    (lambda s: _drop(s, "optimizer"), r"the checkpoint lacks \['optimizer'\]"),
    (lambda s: _drop(s, "rank_states", 0, "loader", "position"), r"rank_states.0.loader lacks \['position'\]"),
    (lambda s: _drop(s, "generators"), "generators.corruption is missing"),
    (lambda s: _drop(s, "optimizer", "state"), "optimizer.state is NoneType None, expected a dict"),
    (lambda s: _set(s, torch.zeros(3, 3), "model", "head.1.weight"),
     r"model.head.1.weight is a float32 tensor of shape \(3, 3\), expected a float32 tensor of shape \(10, 128\)"),
    (lambda s: _set(s, torch.zeros(3), "optimizer", "state", 0, "momentum_buffer"),
     r"optimizer.state\[0\].momentum_buffer is a float32 tensor of shape \(3,\), expected"),
    (lambda s: _set(s, GARBAGE_RNG, "generators", "mixing"), "Invalid mt19937 state"),
    (lambda s: _set(s, GARBAGE_RNG, "generators", "corruption"), "generators.corruption is not a CPU generator's"),
    (lambda s: _set(s, GARBAGE_RNG[:9], "rank_states", 0, "torch_rng"), r"rank_states.0.torch_rng is a uint8 tensor"),
    (lambda s: _set(s, 5, "epoch"), "step 22, epoch 5, epoch_step 0 do not fit a run of 1 epochs of 22 steps"),
    (lambda s: _set(s, "two", "world_size"), "world_size='two'"),
    (lambda s: _set(s, [], "history"), "history is not 1 metrics rows"),
    (lambda s: _set(s, None, "history", 0, "epoch"), "history is not 1 metrics rows"),
    (lambda s: _set(s, torch.zeros(2), "config", "per_sample"), r"per_sample=tensor\(\[0., 0.\]\) is invalid"),
])
def test_crafted_checkpoints_are_one_value_error(tmp_path, capsys, finished, craft, match):
    state = copy.deepcopy(finished)
    craft(state)
    folder = _crafted(tmp_path / "r", state)
    with pytest.raises(ValueError, match=match):
        _resume(folder)
    code, _, err = run_cli(capsys, "train", "--resume", str(folder))
    assert code == 2 and err.count("\n") == 1 and err.startswith("vicinal: error: ") and "Traceback" not in err


def _paths(value, prefix=()) -> list[tuple]:
    """Every path of keys and indices into a checkpoint's nested dicts and lists."""
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    out = []
    for key, item in children:
        out.append(prefix + (key,))
        out += _paths(item, prefix + (key,))
    return out


def test_fuzzed_resume_finds_only_value_errors(tmp_path_factory, finished):
    """Bit flips and cuts of the file, and crafted dicts (keys dropped, values of other types, tensors of other
    shapes or dtypes, garbage generator states) saved with a valid checksum: resume either works or raises
    ValueError."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    folder = tmp_path_factory.mktemp("fuzz")
    original = _crafted(folder / "original", finished)
    raw = (original / "checkpoint.pt").read_bytes()
    paths = _paths({k: v for k, v in finished.items() if k != "format"})
    garbage = st.one_of(st.none(), st.integers(-2, 2), st.just(10**30), st.floats(allow_nan=True), st.text(max_size=3),
                        st.just([]), st.just({}), st.just(torch.zeros(2, 1)), st.just(GARBAGE_RNG),
                        st.just(torch.zeros(5056, dtype=torch.uint8)))
    counter = iter(range(10**6))

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(data=st.data())
    def check(data):
        run = folder / f"case{next(counter)}"
        if data.draw(st.booleans(), label="damage the file"):
            cut = data.draw(st.integers(0, len(raw)), label="cut")
            damaged = bytearray(raw[:cut])
            for pos in data.draw(st.lists(st.integers(0, max(cut - 1, 0)), max_size=3), label="flips"):
                if pos < len(damaged):
                    damaged[pos] ^= 1 << data.draw(st.integers(0, 7))
            run.mkdir()
            (run / "checkpoint.pt").write_bytes(bytes(damaged))
        else:
            state = copy.deepcopy(finished)
            for path in data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=2), label="paths"):
                try:
                    target = state
                    for key in path[:-1]:
                        target = target[key]
                    if data.draw(st.booleans(), label="drop"):
                        del target[path[-1]]
                    else:
                        target[path[-1]] = data.draw(garbage, label="value")
                except (KeyError, IndexError, TypeError):  # an earlier change removed or replaced the path
                    pass
            _crafted(run, state)
        try:
            _resume(run)
        except ValueError:
            pass

    check()


PAUSED_RUN = """
import sys, time
sys.path.insert(0, "tests")
from support import tabular_config
from vicinal.train import Callback, train

class PauseAt(Callback):  # after step 6 (a checkpoint was written at step 5) say so and wait to be killed
    def on_step(self, event):
        if event.step == 6:
            print("paused", flush=True)
            time.sleep(600)

train(tabular_config(sys.argv[1], epochs=2, checkpoint_every=5), callbacks=[PauseAt()])
"""


def test_a_second_process_is_refused_while_a_run_holds_its_folder_and_a_killed_run_resumes(tmp_path, capsys):
    """Two processes on one folder: the second gets one line and exit 2, fresh or resumed, and the first goes on;
    SIGKILL releases the lock; the temporary file of a write cut short is removed when the run is resumed."""
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", PAUSED_RUN, str(run)], cwd=ROOT,
                            env={**os.environ, **SUBPROCESS_ENV}, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "paused"
        for argv in (["--resume", str(run)], ["--preset", "smoke", "--out", str(run)]):
            code, _, err = run_cli(capsys, "train", *argv)
            assert code == 2 and err.count("\n") == 1
            assert f"is in use by another vicinal process (pid {proc.pid})" in err
        assert proc.poll() is None  # the first run goes on
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        proc.kill()
    stale = run / ".checkpoint.pt.0badf00d.tmp"  # what a SIGKILL in the middle of a save leaves
    stale.write_bytes(b"half a checkpoint")
    assert load_checkpoint(run / "checkpoint.pt")["step"] == 5
    assert _resume(run).final["steps"] == 44 and not stale.exists()
