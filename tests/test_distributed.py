"""Two processes with gloo on CPU: DDP ERM equals one process with the doubled batch; 2-rank mixup resumes exactly;
a run folder another process holds is refused on both ranks."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from support import (
    SUBPROCESS_ENV,
    StepRecorder,
    assert_same_weights,
    cli_args,
    crash_at,
    tabular_config,
    weights,
)

from vicinal.train import config_from_preset, load_checkpoint, resume_config, train
from vicinal.train.rundir import claimed

ROOT = Path(__file__).resolve().parent.parent
# digits + the paper's MLP (no batch norm): 22 global batches of 64 an epoch
OPTIONS = dict(dataset="digits", model="mlp", batch_size=64, epochs=2, lr=0.05, alpha=0.0, augment_flip=False,
               train_subset=None, test_subset=None, quiet=True, threads=1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_torchrun_two_ranks_of_batch_b_equal_one_process_of_batch_2b(tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "vicinal",
           "train", "--preset", "smoke", *cli_args(OPTIONS), "--out", str(tmp_path / "ddp")]
    done = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **SUBPROCESS_ENV}, capture_output=True, text=True,
                          timeout=200)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == str(tmp_path / "ddp" / "report.md")  # printed once, by rank 0
    assert done.stdout.count("report.md") == 1
    config = config_from_preset("smoke", **OPTIONS, out=str(tmp_path / "one"))
    single = train(config)
    ddp = load_checkpoint(tmp_path / "ddp" / "checkpoint.pt")
    assert ddp["world_size"] == 2 and len(ddp["rank_states"]) == 2
    assert ddp["step"] == single.final["steps"]
    for key, value in weights(single.model).items():
        torch.testing.assert_close(ddp["model"][key], value, rtol=1e-4, atol=1e-5)


def test_a_budget_shorter_than_one_step_is_refused_alike_on_every_rank(tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "vicinal",
           "train", "--preset", "smoke", *cli_args(OPTIONS), "--time-budget", "0.001", "--out", str(tmp_path / "r")]
    done = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **SUBPROCESS_ENV}, capture_output=True, text=True,
                          timeout=200)
    lines = [line for line in done.stderr.splitlines() if line.startswith("vicinal: error:")]
    assert len(lines) == 2 and lines[0] == lines[1], done.stderr[-3000:]  # rank 0 measured, both refuse
    assert lines[0].startswith("vicinal: error: time_budget=0.001 s a run is invalid here: one epoch")
    assert done.returncode != 0 and "exitcode  : 2" in done.stderr  # torchrun's summary of its ranks
    assert "gloo" not in done.stderr.lower() and "Connection closed" not in done.stderr
    assert not (tmp_path / "r").exists()


def _worker(rank: int, world_size: int, port: int, root: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world_size)  # shared by the three runs below
    try:
        config = tabular_config(Path(root) / "full", alpha=1.0, epochs=2, label_noise=0.1)
        drawn = StepRecorder(lambda event: (event.lam.clone(), event.index.clone()))
        train(config, callbacks=[drawn])
        torch.save(drawn.seen, Path(root) / f"draws{rank}.pt")
        with contextlib.suppress(RuntimeError):  # the same step on both ranks
            train(config.replace(out=str(Path(root) / "crashed"), checkpoint_every=5), callbacks=[crash_at(30)])
        train(resume_config(Path(root) / "crashed"), resume=True)
        try:  # a folder another process holds: refused on every rank alike (rank 0 checks the lock)
            train(config.replace(out=str(Path(root) / "held")))
        except ValueError as e:
            (Path(root) / f"held{rank}.txt").write_text(str(e))
        dist.barrier()  # both ranks done before either tears gloo down (an early teardown can abort the other)
    finally:
        dist.destroy_process_group()
    # Skip interpreter finalization: gloo's worker threads can abort it (SIGABRT, "terminate called without an
    # active exception"; pytorch/pytorch#179291). Every result of this worker is on disk by now.
    os._exit(0)


def test_two_rank_mixup_run_resumes_exactly(tmp_path):
    with claimed(tmp_path / "held"):  # this process holds one folder while the ranks run
        mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    for rank in (0, 1):
        assert f"is in use by another vicinal process (pid {os.getpid()})" in (tmp_path / f"held{rank}.txt").read_text()
    full = load_checkpoint(tmp_path / "full" / "checkpoint.pt")
    resumed = load_checkpoint(tmp_path / "crashed" / "checkpoint.pt")
    assert full["step"] == resumed["step"] == 44 and full["world_size"] == 2
    assert_same_weights(resumed["model"], full["model"])
    draws = [torch.load(tmp_path / f"draws{rank}.pt", weights_only=True) for rank in (0, 1)]
    assert len(draws[0]) == 44
    for (lam0, index0), (lam1, index1) in zip(*draws):  # one λ and one pairing per global step
        assert torch.equal(lam0, lam1) and torch.equal(index0, index1)
    assert len({float(lam) for lam, _ in draws[0]}) > 1
    history = [r["train_loss"] for r in full["history"]]
    assert history == [r["train_loss"] for r in resumed["history"]]
