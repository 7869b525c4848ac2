"""The hardware rules: channels_last and precision per CPU kind, torch.compile's fallback without a C++ compiler."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from support import SUBPROCESS_ENV, cli_args

from vicinal.train import TrainConfig
from vicinal.train.hardware import autocast_dtype, cpu_description, use_channels_last

CPU, CUDA = torch.device("cpu"), torch.device("cuda")
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("dtype, device, kind, model, expected", [
    (None, CPU, "image", "fastcnn", True),  # float32 on the CPU too
    (torch.bfloat16, CPU, "image", "fastcnn", True),
    (None, CPU, "image", "mlp", False),  # no convolutions
    (None, CPU, "sequence", "cnn1d", False),
    (None, CUDA, "image", "fastcnn", False),  # cuDNN's float32 kernels are not faster in it
    (torch.bfloat16, CUDA, "image", "fastcnn", True),
])
def test_channels_last_goes_with_convolutions_on_images(dtype, device, kind, model, expected):
    assert use_channels_last(dtype, device=device, kind=kind, model=model) is expected


def test_an_instruction_set_capped_below_bf16_trains_in_float32_and_is_named(monkeypatch):
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert autocast_dtype("auto", device=CPU, kind="image", model="fastcnn") is None
    assert autocast_dtype("bf16", device=CPU, kind="image", model="fastcnn") is torch.bfloat16  # asked for: kept
    assert " on " in cpu_description() and "emulated" in cpu_description()


def test_compile_with_manifold_mixup_is_refused():
    with pytest.raises(ValueError, match=r"^compile=True is invalid: expected False with method='manifold_mixup'"):
        TrainConfig(compile=True, method="manifold_mixup")


def test_compile_without_a_cpp_compiler_says_so_and_trains_uncompiled(tmp_path):
    options = dict(dataset="digits", model="mlp", batch_size=64, epochs=1, quiet=True, threads=1, compile=True)
    env = {**SUBPROCESS_ENV, "HOME": os.environ.get("HOME", str(tmp_path)), "PATH": str(tmp_path),  # no g++ there
           "PYTHONPATH": str(ROOT), "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor")}
    done = subprocess.run([sys.executable, "-m", "vicinal", "train", "--preset", "smoke", *cli_args(options),
                           "--out", str(tmp_path / "r")], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "compile=True: no working C++ compiler" in done.stderr and "training uncompiled" in done.stderr
    provenance = json.loads((tmp_path / "r" / "config.json").read_text())["provenance"]
    assert provenance["compiled"] is False
