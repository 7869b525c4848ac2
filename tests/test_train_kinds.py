"""Data of every shape through the trainer and the command line: the model and augmentation a run resolves from
its data set, and the model-vs-data check before anything is built."""

from __future__ import annotations

import json

import numpy as np
import pytest
from support import assert_same_weights, crash_at, run_cli, tabular_config, weights

from vicinal.train import train


def _npz(path, x_train, x_test, **extra):
    rng = np.random.default_rng(0)
    np.savez(path, x_train=x_train, y_train=rng.integers(0, 3, len(x_train)), x_test=x_test,
             y_test=rng.integers(0, 3, len(x_test)), **extra)
    return f"npz:{path}"


RNG = np.random.default_rng(2)
KINDS = {  # name: (arrays, the model "auto" resolves to, one example's shape)
    "sequences (N, T)": (dict(x_train=RNG.normal(size=(256, 40)), x_test=RNG.normal(size=(64, 40)),
                              kind="sequence"), "cnn1d", (1, 40)),
    "vectors (N, F)": (dict(x_train=RNG.normal(size=(256, 40)), x_test=RNG.normal(size=(64, 40))), "mlp", (40,)),
    "images (N, 1, 8, 8)": (dict(x_train=RNG.integers(0, 256, (256, 1, 8, 8), dtype=np.uint8),
                                 x_test=RNG.integers(0, 256, (64, 1, 8, 8), dtype=np.uint8)), "fastcnn", (1, 8, 8)),
}
FAST = ["--quiet", "--threads", "1", "--batch-size", "32"]  # 8 steps an epoch


@pytest.mark.parametrize("preset, extra", [("smoke", []),
                                           ("quick", ["--epochs", "1", "--eval-every", "1", "--min-steps", "0"])])
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_users_npz_of_each_kind_compares_with_a_fitting_model_and_no_unasked_augmentation(
        capsys, tmp_path, kind, preset, extra):
    arrays, model, shape = KINDS[kind]
    dataset = _npz(tmp_path / "d.npz", **arrays)
    code, out, err = run_cli(capsys, "compare", "--preset", preset, "--dataset", dataset, *FAST, *extra,
                          "--out", str(tmp_path / "cmp"))
    assert code == 0 and "Traceback" not in err, err
    for sub in ("alpha0-seed0", f"alpha{0.4:g}-seed0"):
        stored = json.loads((tmp_path / "cmp" / sub / "config.json").read_text())
        config, requested = stored["config"], stored["provenance"]["requested"]
        assert (config["model"], config["augment_crop"], config["augment_flip"]) == (model, 0, False)
        assert requested == dict(model="auto", augment_crop=None, augment_flip=None)
        assert json.loads((tmp_path / "cmp" / sub / "results.json").read_text())["model"] == model
    report = (tmp_path / "cmp" / "report.md").read_text()
    assert f"# ERM vs mixup α=0.4: {model} on {dataset}" in report and "augmentation: none" in report


def test_augmentation_a_user_asks_for_on_small_images_is_used(capsys, tmp_path):
    dataset = _npz(tmp_path / "d.npz", **KINDS["images (N, 1, 8, 8)"][0])
    code, _, err = run_cli(capsys, "train", "--preset", "smoke", "--dataset", dataset, "--augment-flip",
                        "--augment-crop", "1", "--epochs", "1", *FAST, "--out", str(tmp_path / "r"))
    assert code == 0, err
    assert "augmentation: crop 1 + flip" in (tmp_path / "r" / "report.md").read_text()


@pytest.mark.parametrize("kind, argv, line", [
    ("sequences (N, T)", ["--model", "fastcnn"],
     "model='fastcnn' does not fit examples of shape (1, 40): expected images (C, H, W)"),
    ("images (N, 1, 8, 8)", ["--model", "cnn1d"],
     "model='cnn1d' does not fit examples of shape (1, 8, 8): expected sequences (C, T)"),
    ("sequences (N, T)", ["--augment-flip"], "augment_flip=True is invalid for"),
    ("vectors (N, F)", ["--augment-crop", "2"], "augment_crop=2 is invalid for"),
    ("vectors (N, F)", ["--test-flip"], "test_flip=True is invalid for"),
    ("images (N, 1, 8, 8)", ["--augment-crop", "100000"],
     "augment_crop=100000 is invalid for images of shape (1, 8, 8): expected at most 4"),
])
def test_a_model_or_augmentation_that_does_not_fit_the_data_is_one_line_before_anything_is_built(
        capsys, tmp_path, kind, argv, line):
    dataset = _npz(tmp_path / "d.npz", **KINDS[kind][0])
    code, _, err = run_cli(capsys, "train", "--preset", "smoke", "--dataset", dataset, *FAST, *argv,
                        "--out", str(tmp_path / "r"))
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and line in lines[0], err
    assert not (tmp_path / "r").exists()  # refused before the run folder, loaders or model were made


@pytest.mark.parametrize("kind, model", [("sequences (N, T)", "cnn1d16"), ("images (N, 1, 8, 8)", "fastcnn16"),
                                         ("vectors (N, F)", "mlp")])
def test_auto_at_a_width_gives_the_convolutional_default_that_width(tmp_path, kind, model):
    dataset = _npz(tmp_path / "d.npz", **KINDS[kind][0])
    result = train(tabular_config(tmp_path / "r", dataset=dataset, model="auto16", batch_size=32, epochs=1))
    assert result.config.model == model and result.final["model"] == model


@pytest.mark.fashion_mnist
def test_fashion_mnist_left_to_its_defaults_trains_fastcnn_with_crops_and_flips(tmp_path):
    asked = tabular_config(tmp_path / "r", dataset="fashion-mnist", model="auto", train_subset=256, test_subset=64,
                           batch_size=32, epochs=1)
    assert (asked.augment_crop, asked.augment_flip) == (None, None)
    result = train(asked)
    assert (result.config.model, result.config.augment_crop, result.config.augment_flip) == ("fastcnn", 2, True)


def test_a_run_asked_for_the_auto_model_resumes_with_the_model_it_resolved(tmp_path):
    asked = tabular_config(tmp_path / "r", model="auto", epochs=2)
    reference = train(asked.replace(out=str(tmp_path / "ref")))
    assert reference.config.model == "mlp" and reference.final["model"] == "mlp"
    with pytest.raises(RuntimeError, match="machine lost"):
        train(asked, callbacks=[crash_at(30)])
    resumed = train(asked, resume=True)
    assert_same_weights(weights(resumed.model), weights(reference.model))
    assert "clean_train_error" in resumed.final and 0 <= resumed.final["clean_train_error"] <= 1
