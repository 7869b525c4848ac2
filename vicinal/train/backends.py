"""How many runs are executed: one after another in this process, or each as a Ray task on one machine or a
cluster, a task whose worker dies retried from its run folder's checkpoint."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, get_args

import torch

from vicinal.core._checks import check_choice
from vicinal.train import distributed as dist_
from vicinal.train.callbacks import Callback
from vicinal.train.checkpoint import has_checkpoint
from vicinal.train.config import TrainConfig, require_package
from vicinal.train.rundir import default_run_dir
from vicinal.train.signals import StopSignals, TrainingInterrupted
from vicinal.train.trainer import Result, train

Backend = Literal["local", "ray"]
BACKENDS: tuple[str, ...] = get_args(Backend)
MAX_RETRIES = 3  # times a Ray task whose worker or node died is started again (each time from its checkpoint)
POLL_SECONDS = 0.5  # how often the driver looks for a stop signal while the Ray tasks run
SIGNAL_CHECK_SECONDS = 0.2  # longest wait of the address probe between two looks for a Ctrl-C
STOP_SECONDS = 120.0  # how long a stopped driver waits for its runs to save their checkpoints
ADDRESS_TIMEOUT = 10.0  # seconds an --address has to accept a connection and answer as a gRPC server
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"  # what a gRPC client sends first (RFC 9113, section 3.4)
HTTP2_SETTINGS = bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  # an empty SETTINGS frame (type 4), which the server answers


def train_or_resume(config: TrainConfig, callbacks: Sequence[Callback] = ()) -> Result:
    """Train ``config``, or resume it when its folder holds a checkpoint (a finished run is only evaluated again)."""
    return train(config, resume=config.out is not None and has_checkpoint(config.out), callbacks=callbacks)


def train_all(configs: Sequence[TrainConfig], *, callbacks: Sequence[Callback] = (), backend: Backend = "local",
              address: str | None = None) -> list[Result]:
    """Train every config (``train_or_resume``) and return the Results in the order of ``configs``.

    ``backend="local"``: one after another in this process. ``backend="ray"``: each run one Ray task, all
    submitted at once and gathered when every run is in (the first failure cancels the rest). A task asks for
    ``config.threads`` CPUs (threads=0: as many as torch uses in this process, so that the results equal the
    local backend's; give threads to run several at once) and one GPU where the cluster has one and the device
    is auto or cuda. Ray joins the session this process already has, else the cluster at ``address`` (HOST:PORT
    of ``ray start --head``), else ``ray.init()`` (a cluster started on this machine, or one for this call).
    A task whose worker or node dies is retried up to MAX_RETRIES times and resumes from its run folder's
    checkpoint, so the run folders must be on storage every node sees (``out`` and ``data_dir`` are made
    absolute here). ``callbacks`` run in the workers, on copies: what they record stays there. SIGTERM or SIGINT
    while the tasks run stops every run with a checkpoint, as it stops one run of the local backend, and raises
    TrainingInterrupted; the same call again resumes them. An ``address`` that does not answer as a Ray cluster
    within ADDRESS_TIMEOUT seconds raises ValueError.
    """
    check_choice("backend", backend, BACKENDS)
    if backend == "local":
        if address is not None:
            raise ValueError(f"address={address!r} is invalid with backend='local': expected backend='ray'")
        _check_distinct(configs)
        return [train_or_resume(c, callbacks) for c in configs]
    configs = [_for_cluster(c) for c in configs]
    _check_distinct(configs)
    return _train_on_ray(configs, tuple(callbacks), address)


def _check_distinct(configs: Sequence[TrainConfig]) -> None:
    outs = [Path(c.out).resolve() for c in configs if c.out is not None]
    shared = next((out for i, out in enumerate(outs) if out in outs[:i]), None)
    if shared is not None:
        raise ValueError(f"out={str(shared)!r} is invalid: expected one run folder per run (several configs name it)")


def _for_cluster(config: TrainConfig) -> TrainConfig:
    """``config`` with its run folder (a new default one if unset) and data folder as absolute paths: a Ray worker
    may run in another directory, and a retried task must find the same folder."""
    out = Path(config.out) if config.out is not None else default_run_dir(config)
    data_dir = None if config.data_dir is None else str(Path(config.data_dir).resolve())
    return config.replace(out=str(out.resolve()), data_dir=data_dir)


def _check_address(address: str, *, timeout: float = ADDRESS_TIMEOUT) -> None:
    """HOST:PORT (or ray://HOST:PORT) where a gRPC server answers within ``timeout`` seconds, as a Ray cluster's does:
    Ray itself retries for many minutes, deaf to Ctrl-C, on an address that does not answer or is no Ray."""
    expected = "HOST:PORT of a running Ray cluster (ray start --head)"
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"address={address!r} is invalid: expected {expected}")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as connection:
            if os.environ.get("RAY_USE_TLS", "0").lower() in ("0", "false"):  # with TLS the server speaks first
                fault = _grpc_fault(connection, timeout=timeout)
                if fault:
                    raise ValueError(f"address={address!r} is invalid: expected {expected} (it {fault})")
    except OSError as e:
        raise ValueError(f"address={address!r} is invalid: expected {expected} ({e})") from None


def _grpc_fault(connection: socket.socket, *, timeout: float) -> str | None:
    """None when the server on ``connection`` answers HTTP/2's connection preface with a SETTINGS frame within
    ``timeout`` seconds (as every gRPC server, Ray's among them, does), else what it did instead."""
    deadline = time.monotonic() + timeout
    connection.sendall(HTTP2_PREFACE + HTTP2_SETTINGS)
    reply = b""
    while len(reply) < 9:  # a frame header: length (3 bytes), type (1), flags (1), stream (4)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return f"did not answer within {timeout:g} s"
        # short waits: a Ctrl-C the kernel hands to another thread (torch's, Ray's) does not interrupt this one's
        # recv, and Python raises KeyboardInterrupt only when the main thread comes back from it
        connection.settimeout(min(remaining, SIGNAL_CHECK_SECONDS))
        try:
            chunk = connection.recv(9 - len(reply))
        except socket.timeout:
            continue
        if not chunk:
            return "closed the connection"
        reply += chunk
    return None if reply[3] == HTTP2_SETTINGS[3] else f"answered {reply[:9]!r}, not as gRPC"


def _train_on_ray(configs: list[TrainConfig], callbacks: tuple[Callback, ...], address: str | None) -> list[Result]:
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")  # read when ray is imported: each run's epoch lines stay its own
    ray = require_package("ray", option="backend", value="ray", extra="ray")
    if dist_.process_world_size() > 1:
        raise ValueError("backend='ray' is invalid under torchrun: expected one process (torchrun spreads one run "
                         "over processes, Ray runs many runs)")
    started = not ray.is_initialized()
    if started:
        if address is not None:
            _check_address(address)
        ray.init(address=address, logging_level=logging.WARNING)
    try:
        gpu = ray.cluster_resources().get("GPU", 0) >= 1
        largest = max((n["Resources"].get("CPU", 0) for n in ray.nodes() if n["Alive"]), default=0)
        cpus = [c.threads or torch.get_num_threads() for c in configs]
        too_many = [(c.threads, n) for c, n in zip(configs, cpus) if n > largest]
        if too_many:  # Ray would wait for such a node for ever
            (threads, n), *_ = too_many
            raise ValueError(f"threads={threads} is invalid on this Ray cluster: it asks for {n} CPUs a run, "
                             f"expected at most {largest:g} (its largest node's)")
        task = ray.remote(_ray_task)
        refs = [task.options(num_cpus=n, num_gpus=int(gpu and (c.device == "auto" or c.device.startswith("cuda"))),
                             max_retries=MAX_RETRIES, name=f"vicinal {Path(c.out).name}").remote(c, callbacks, n)
                for c, n in zip(configs, cpus)]
        with StopSignals() as stop:  # in place of ray.init's SIGTERM handler, which exits mid-wait
            return _gather(ray, refs, stop, root=os.path.commonpath([c.out for c in configs]))
    finally:
        if started:
            ray.shutdown()


def _ray_task(config: TrainConfig, callbacks: tuple[Callback, ...], cpus: int) -> Result:
    """One run in a Ray worker (a retry after the worker died resumes from the checkpoint)."""
    torch.set_num_threads(cpus)  # a reused worker keeps its last task's count; threads=0 means the CPUs asked for
    result = train_or_resume(config, callbacks)
    result.model.cpu()  # the driver may have no GPU
    return result


def _gather(ray, refs: list, stop: StopSignals, *, root: str) -> list[Result]:
    """The tasks' Results in order, once all are in; the first failure cancels the others and is raised as the
    run's own exception (a ValueError stays a ValueError). A stop signal cancels every task, which Ray delivers
    as SIGINT: each run saves a checkpoint and stops, as it would alone; TrainingInterrupted is raised once they
    have (or after STOP_SECONDS)."""
    results, pending = {}, list(refs)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1, timeout=POLL_SECONDS)
            for ref in done:
                results[ref] = ray.get(ref)  # a failed run raises here, at once
            if stop.received is not None and pending:
                for ref in pending:
                    ray.cancel(ref)
                ray.wait(pending, num_returns=len(pending), timeout=STOP_SECONDS)
                raise TrainingInterrupted(stop.signum, root, saved=f"the runs in {root} saved their checkpoints "
                                                                  "(the same command again continues them)")
    except TrainingInterrupted:
        raise
    except BaseException as e:
        for ref in refs:
            ray.cancel(ref)
        if isinstance(e, ray.exceptions.RayTaskError) and isinstance(e.cause, Exception):
            raise e.cause from e
        raise
    return [results[ref] for ref in refs]
