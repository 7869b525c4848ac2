"""Memory stays bounded: tiny hostile files, loaded under an address-space limit (ulimit -v), give one clear line."""

import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vicinal.data.memory import MEMORY_ENV, available_memory, format_bytes, memory_limit

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
ENV.pop(MEMORY_ENV, None)

# Loads each data set named after capping the address space at what the process uses now plus 1 GiB;
# prints one line per data set.
UNDER_LIMIT = """
import resource, sys
from vicinal.data import load_dataset
used = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
resource.setrlimit(resource.RLIMIT_AS, (used + (1 << 30), resource.getrlimit(resource.RLIMIT_AS)[1]))
for name in sys.argv[1:]:
    try:
        load_dataset(name)
        print("loaded", name)
    except ValueError as err:
        print("error:", err)
"""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, Path]:
    """The issue's files: one label of 20,000,000 in a 7 KB npz; a 246 KB npz of compressed uint8 zeros
    (250 MB once decoded, which float64 widening made 2 GB and standardizing 6 GB)."""
    folder = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    y[0] = 20_000_000
    np.savez(folder / "label.npz", x_train=rng.normal(size=(200, 4)), y_train=y, x_test=rng.normal(size=(60, 4)),
             y_test=rng.integers(0, 3, 60))
    np.savez_compressed(folder / "zeros.npz", x_train=np.zeros((250_000, 1000), np.uint8),
                        y_train=np.arange(250_000) % 2, x_test=np.zeros((10, 1000), np.uint8), y_test=np.arange(10) % 2)
    return {"label": folder / "label.npz", "zeros": folder / "zeros.npz"}


def test_hostile_npz_files_under_a_memory_limit_give_one_line(hostile):
    assert all(path.stat().st_size < 300_000 for path in hostile.values())
    names = [f"npz:{hostile['label']}", f"npz:{hostile['zeros']}"]
    done = subprocess.run([sys.executable, "-c", UNDER_LIMIT, *names], env=ENV, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and not done.stderr, done.stderr
    label, zeros = done.stdout.strip().splitlines()
    assert label.startswith("error: ") and "label.npz: label 20000000 in y_train asks for 20000001 classes" in label
    assert re.match(r"error: .*zeros.npz: its arrays \(x_train uint8 \(250000, 1000\).*\) needs 1.2 GiB of memory, "
                    r"more than the limit of", zeros), zeros


def _ulimit_v(kib: int):
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (kib * 1024, resource.getrlimit(resource.RLIMIT_AS)[1]))


def test_the_command_line_refuses_the_compressed_zeros_under_ulimit(hostile, tmp_path):
    """The issue's command, `vicinal train ... --dataset npz:FILE` under `ulimit -v`: one line, exit 2."""
    argv = [sys.executable, "-m", "vicinal", "train", "--preset", "smoke", "--model", "mlp", "--epochs", "2", "--quiet",
            "--dataset", f"npz:{hostile['zeros']}", "--out", str(tmp_path / "run")]
    done = subprocess.run(argv, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300,
                          preexec_fn=_ulimit_v(2_500_000))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "zeros.npz" in lines[0] and "more than the limit" in lines[0]


def test_the_limit_is_the_override_or_half_of_what_the_process_can_get(monkeypatch):
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    free = available_memory()
    assert free is not None and free > 0
    assert abs(memory_limit() - free // 2) < free // 20  # free memory moves a little between the two reads
    assert memory_limit(12345) == 12345
    monkeypatch.setenv(MEMORY_ENV, "777")
    assert memory_limit() == 777 and memory_limit(5) == 5
    for bad in (0, -1, 1.5, True, "10"):
        with pytest.raises(ValueError, match=r"max_bytes=.* is invalid: expected a number of bytes >= 1"):
            memory_limit(bad)
    assert [format_bytes(n) for n in (0, 1023, 1024, 1536 << 20, 3 << 40)] == ["0 B", "1023 B", "1.0 KiB", "1.5 GiB",
                                                                                  "3.0 TiB"]
