"""The Ray backend, on one local Ray session of 2 CPUs for the whole module (Ray is slow to start): the same
results as the local backend for the same seeds, and a run whose worker is killed mid-run retried and resumed."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import ray
from support import SUBPROCESS_ENV, tabular_config
from test_cli import _run

from vicinal.train import Callback, RunInfo, StepEvent, load_checkpoint
from vicinal.train.backends import train_all

ROOT = Path(__file__).resolve().parent.parent
TIMING = ("seconds", "train_seconds", "images_per_s")  # wall-clock numbers, which differ between any two runs


@pytest.fixture(scope="module")
def ray_session():
    ray.init(num_cpus=2, logging_level=logging.WARNING)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module
    yield
    ray.shutdown()


def _untimed(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in TIMING}


@pytest.mark.fashion_mnist
def test_compare_on_ray_ends_with_the_results_of_the_local_backend(ray_session, capsys, tmp_path):
    argv = ["compare", "--preset", "smoke", "--alphas", "0", "1", "--seeds", "2", "--quiet", "--threads", "1",
            "--train-subset", "256", "--test-subset", "128", "--epochs", "2"]  # a few seconds a run
    finals = {}
    for backend in ("ray", "local"):
        out = tmp_path / backend
        code, printed, err = _run(capsys, *argv, "--backend", backend, "--out", str(out))
        assert code == 0, err
        assert printed.strip().splitlines()[-1] == str(out / "report.md")
        finals[backend] = [_untimed(r) for r in json.loads((out / "results.json").read_text())]
    assert [(r["alpha"], r["seed"]) for r in finals["ray"]] == [(0.0, 0), (1.0, 0), (0.0, 1), (1.0, 1)]
    assert finals["ray"] == finals["local"]


class _KillFirstAttempt(Callback):
    """Appends "pid resumed" to ``log`` as each attempt of the run of seed ``seed`` starts, and SIGKILLs its own
    process (the Ray worker) at step ``step`` of the first attempt."""

    def __init__(self, log: Path, *, seed: int, step: int) -> None:
        self.log, self.seed, self.step, self.kill = log, seed, step, False

    def on_start(self, run: RunInfo) -> None:
        if run.config.seed != self.seed:
            return
        self.kill = not self.log.exists()
        with self.log.open("a") as f:
            f.write(f"{os.getpid()} {run.resumed}\n")

    def on_step(self, event: StepEvent) -> None:
        if self.kill and event.step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_run_whose_worker_is_killed_is_retried_and_resumes_from_its_checkpoint(ray_session, tmp_path):
    def configs(folder: str) -> list:  # 22 steps an epoch, a checkpoint every 10 steps
        return [tabular_config(tmp_path / folder / f"s{seed}", epochs=3, seed=seed, checkpoint_every=10)
                for seed in (0, 1)]

    log = tmp_path / "attempts"
    on_ray = train_all(configs("ray"), backend="ray", callbacks=[_KillFirstAttempt(log, seed=1, step=35)])
    attempts = [line.split() for line in log.read_text().splitlines()]
    assert [resumed for _, resumed in attempts] == ["False", "True"]  # killed in epoch 2, resumed from step 30
    first, second = (int(pid) for pid, _ in attempts)
    assert first != second and not _alive(first)
    local = train_all(configs("local"))  # the same runs, never interrupted
    for a, b in zip(on_ray, local):
        assert [_untimed(row) for row in a.history] == [_untimed(row) for row in b.history]
        assert _untimed(a.final) == _untimed(b.final)


def test_backend_errors_are_one_line_with_exit_code_2(capsys, tmp_path):
    base = ["compare", "--preset", "smoke", "--quiet", "--out", str(tmp_path / "c")]
    for argv, names in [(["--backend", "kube"], "--backend"),
                        (["--address", "127.0.0.1:6379"], "address='127.0.0.1:6379' is invalid with backend='local'")]:
        code, _, err = _run(capsys, *base, *argv)
        assert code == 2 and err.count("\n") == 1 and names in err, err
    with pytest.raises(ValueError, match="out=.* is invalid: expected one run folder per run"):
        train_all([tabular_config(tmp_path / "same"), tabular_config(tmp_path / "same", seed=1)], backend="ray")
    assert not (tmp_path / "c").exists()


def test_a_run_asking_for_more_cpus_than_any_node_has_is_refused_before_anything_runs(ray_session, tmp_path):
    with pytest.raises(ValueError, match=r"threads=3 is invalid on this Ray cluster: .* at most 2 "):
        train_all([tabular_config(tmp_path / "a"), tabular_config(tmp_path / "b", threads=3)], backend="ray")
    assert not (tmp_path / "a").exists()


def test_an_address_nobody_answers_is_refused_at_once(tmp_path):
    code = "import sys; from vicinal.cli import main; raise SystemExit(main(sys.argv[1:]))"
    argv = [sys.executable, "-c", code, "compare", "--preset", "smoke", "--quiet", "--backend", "ray",
            "--address", "127.0.0.1:1", "--out", str(tmp_path / "c")]
    done = subprocess.run(argv, cwd=ROOT, env={**os.environ, **SUBPROCESS_ENV}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "address='127.0.0.1:1' is invalid: expected HOST:PORT of a running Ray cluster" in done.stderr


def test_backend_ray_without_the_package_is_one_line_with_exit_code_2(tmp_path):
    code = ("import sys; sys.modules['ray'] = None; from vicinal.cli import main; "
            "raise SystemExit(main(sys.argv[1:]))")
    argv = [sys.executable, "-c", code, "compare", "--preset", "smoke", "--quiet", "--backend", "ray",
            "--out", str(tmp_path / "c")]
    done = subprocess.run(argv, cwd=ROOT, env={**os.environ, **SUBPROCESS_ENV}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "backend='ray' is invalid: expected the ray package installed (pip install 'vicinal[ray]')" in done.stderr


class _NotRay:
    """A server on a loopback port that is no Ray cluster: it answers ``reply`` to whatever it is sent (b"": it
    says nothing and keeps the connection open). ``greeted`` is set once a client sent it what a gRPC client (Ray's,
    or vicinal's probe of the address) sends first."""

    def __init__(self, reply: bytes) -> None:
        self.reply, self.greeted = reply, threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = self.server.accept()
                self.connections.append(connection)
                threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with contextlib.suppress(OSError):
            if connection.recv(1024).startswith(b"PRI * HTTP/2.0"):
                self.greeted.set()
            if self.reply:
                connection.sendall(self.reply)

    def close(self) -> None:
        for connection in [self.server, *self.connections]:
            connection.close()


def _compare_on(address: str, tmp_path: Path) -> subprocess.Popen:
    code = "import sys; from vicinal.cli import main; raise SystemExit(main(sys.argv[1:]))"
    argv = [sys.executable, "-c", code, "compare", "--preset", "smoke", "--quiet", "--backend", "ray",
            "--address", address, "--out", str(tmp_path / "c")]
    # started as from a terminal: SIGINT at its default and nothing blocked, no Ray session of this process's tests
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    return subprocess.Popen(argv, cwd=ROOT, env={**env, **SUBPROCESS_ENV}, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_as_from_a_terminal)


def _as_from_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


@pytest.mark.parametrize("reply, said", [
    (b"HTTP/1.0 400 Bad request\r\n\r\n", "answered b'HTTP/1.0 ', not as gRPC"),  # python -m http.server
    (b"", "did not answer within 10 s"),
])
def test_an_address_that_is_no_ray_cluster_is_refused_within_a_deadline(tmp_path, reply, said):
    server = _NotRay(reply)
    started = time.monotonic()
    try:
        proc = _compare_on(f"127.0.0.1:{server.port}", tmp_path)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        server.close()
    assert time.monotonic() - started < 30
    assert proc.returncode == 2 and err.count("\n") == 1, err
    assert f"address='127.0.0.1:{server.port}' is invalid: expected HOST:PORT of a running Ray cluster" in err
    assert said in err


def test_ctrl_c_while_waiting_for_an_address_is_honoured(tmp_path):
    server = _NotRay(b"")
    try:
        proc = _compare_on(f"127.0.0.1:{server.port}", tmp_path)
        assert server.greeted.wait(timeout=60)
        proc.send_signal(signal.SIGINT)  # while a client waits for the server's answer
        # honoured: exit 130 at once, not 2 after the probe's deadline (the timeout leaves room for a busy machine's
        # slow interpreter exit with ray and torch imported)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        server.close()
    assert proc.returncode == 130 and err == "vicinal: interrupted\n", err


def test_sigterm_to_a_ray_driver_stops_its_runs_with_checkpoints_and_exit_143(ray_session, capsys, tmp_path):
    out = tmp_path / "c"
    # 300 epochs of 4 steps (a few seconds a run): long enough that neither run ends before both have started
    argv = ["compare", "--dataset", "digits", "--model", "mlp", "--epochs", "300", "--min-steps", "0", "--quiet",
            "--threads", "1", "--train-subset", "256", "--batch-size", "64", "--alphas", "0", "1",
            "--out", str(out)]
    code = "import sys; from vicinal.cli import main; raise SystemExit(main(sys.argv[1:]))"
    address = ray.get_runtime_context().gcs_address  # the driver joins this module's session
    proc = subprocess.Popen([sys.executable, "-c", code, *argv, "--backend", "ray", "--address", address], cwd=ROOT,
                            env={**os.environ, **SUBPROCESS_ENV}, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while len(list(out.glob("*/checkpoint.pt"))) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=150)
    finally:
        proc.kill()
    assert proc.returncode == 143 and "Traceback" not in err, err
    assert err.splitlines()[-1] == (f"vicinal: stopped by SIGTERM; the runs in {out} saved their checkpoints (the "
                                    "same command again continues them)")
    epochs = [load_checkpoint(path)["epoch"] for path in sorted(out.glob("*/checkpoint.pt"))]
    assert len(epochs) == 2 and max(epochs) < 300  # both stopped early
    code, _, err = _run(capsys, *argv)  # the same compare again (here on the local backend) continues them
    assert code == 0, err
    assert [len(path.read_text().splitlines()) for path in sorted(out.glob("*/metrics.jsonl"))] == [300, 300]
