"""Regression through the trainer and the CLI: MSE on standardized targets, mixup (α = 0: ERM) and C-Mixup
(arXiv 2210.05775), RMSE in the targets' units, exact resume, and the options a task refuses before anything trains."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from support import assert_same_weights, crash_at, run_cli, weights

from vicinal.experiments.runs import digest
from vicinal.train import TrainConfig, load_checkpoint, resume_config, train
from vicinal.train.data import data_note


@pytest.fixture(scope="module")
def regression_npz(tmp_path_factory):
    """256 training and 128 test points of 4 features; a smooth target in units around 50 (std about 28) plus
    noise of std 1."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(384, 4))
    y = 50 + 20 * (np.sin(x[:, 0]) + 0.5 * x[:, 1] * x[:, 2] + x[:, 3]) + rng.normal(0, 1, size=len(x))
    path = tmp_path_factory.mktemp("data") / "regression.npz"
    np.savez(path, x_train=x[:256], y_train=y[:256], x_test=x[256:], y_test=y[256:])
    return path


def regression_config(data, out, **changes) -> TrainConfig:
    """8 steps an epoch of a small MLP with Adam: milliseconds each."""
    base = dict(dataset=f"npz:{data}", model="mlp32", batch_size=32, epochs=3, optimizer="adam", lr=0.01,
                schedule="constant", weight_decay=0.0, alpha=1.0, quiet=True, threads=1, out=str(out))
    return TrainConfig(**{**base, **changes})


@pytest.mark.parametrize("method", ["mixup", "c_mixup"])
def test_a_regression_run_learns_and_reports_rmse_in_the_targets_units(tmp_path, regression_npz, method):
    result = train(regression_config(regression_npz, tmp_path / "r", method=method, epochs=15))
    test_sd = float(np.load(regression_npz)["y_test"].std())
    final = result.final
    assert final["test_rmse"] < 0.3 * test_sd  # the constant prediction scores about one std
    assert final["test_mse"] == pytest.approx(final["test_rmse"] ** 2)
    assert final["train_rmse"] < 0.3 * test_sd and final["best_test_rmse"] <= final["test_rmse"]
    assert "test_error" not in final and "ece" not in final and final["train_error"] is None
    rows = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert all(row["test_rmse"] is not None and "test_error" not in row for row in rows)
    assert "train_rmse" in rows[-1] and all("train_rmse" not in row for row in rows[:-1])
    report = (tmp_path / "r" / "report.md").read_text()
    assert "| test RMSE | test MSE | train RMSE |" in report and not (tmp_path / "r" / "reliability.png").exists()
    # the test RMSE recomputed from the model's outputs in the targets' units (an independent reference)
    arrays = np.load(regression_npz)
    x_train, x_test = arrays["x_train"], arrays["x_test"]
    inputs = torch.tensor((x_test - x_train.mean(0)) / x_train.std(0), dtype=torch.float32)
    y_train = arrays["y_train"]
    with torch.no_grad():
        predicted = result.model.eval()(inputs).squeeze(1).double().numpy() * y_train.std() + y_train.mean()
    assert final["test_rmse"] == pytest.approx(float(np.sqrt(np.mean((predicted - arrays["y_test"]) ** 2))),
                                               rel=1e-4)


def test_alpha_zero_is_erm_for_mixup_and_c_mixup(tmp_path, regression_npz):
    erm = train(regression_config(regression_npz, tmp_path / "erm", alpha=0.0))
    unmixed = train(regression_config(regression_npz, tmp_path / "unmixed", method="c_mixup", alpha=1.0, mix_prob=0.0))
    c_erm = train(regression_config(regression_npz, tmp_path / "c0", method="c_mixup", alpha=0.0))
    mixed = train(regression_config(regression_npz, tmp_path / "mixed", method="c_mixup", alpha=1.0))
    assert_same_weights(weights(c_erm.model), weights(erm.model))
    assert_same_weights(weights(unmixed.model), weights(erm.model))
    assert not torch.equal(mixed.model.head[-1].weight, erm.model.head[-1].weight)


@pytest.mark.parametrize("method", ["mixup", "c_mixup"])
def test_an_interrupted_regression_run_resumes_to_the_uninterrupted_weights(tmp_path, regression_npz, method):
    config = regression_config(regression_npz, tmp_path / "full", method=method, checkpoint_every=5)
    full = train(config)
    with pytest.raises(RuntimeError, match="machine lost"):
        train(config.replace(out=str(tmp_path / "cut")), callbacks=[crash_at(14)])
    assert load_checkpoint(tmp_path / "cut" / "checkpoint.pt")["step"] == 10  # mid-epoch 2
    resumed = train(resume_config(tmp_path / "cut"), resume=True)
    assert_same_weights(weights(resumed.model), weights(full.model))
    assert [r["test_rmse"] for r in resumed.history] == [r["test_rmse"] for r in full.history]


def test_a_budgeted_regression_run_probes_its_step_and_evaluation(tmp_path, regression_npz):
    result = train(regression_config(regression_npz, tmp_path / "r", epochs=40, time_budget=30.0))
    assert result.budget is not None and 1 <= result.config.epochs <= 40 and result.final["test_rmse"] > 0


def test_c_mixup_refuses_a_classification_data_set(tmp_path):
    with pytest.raises(ValueError, match="method='c_mixup' is invalid: expected a regression data set"):
        train(TrainConfig(dataset="iris", method="c_mixup", quiet=True, threads=1, out=str(tmp_path / "r")))
    with pytest.raises(ValueError, match="method='c_mixup' is invalid"):
        TrainConfig(dataset="iris", method="c_mixup", task="classification")
    assert not (tmp_path / "r").exists()
    csv = tmp_path / "d.csv"
    csv.write_text("f1,y\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    with pytest.raises(ValueError, match="a CSV's numeric column is read as targets with task='regression'"):
        train(TrainConfig(dataset=f"csv:{csv}", method="c_mixup", quiet=True, threads=1, out=str(tmp_path / "c")))


@pytest.mark.parametrize("changes, field", [
    (dict(method="cutmix"), "method"),
    (dict(method="manifold_mixup"), "method"),
    (dict(method="regmixup"), "method"),
    (dict(method="fmix"), "method"),
    (dict(method="resizemix"), "method"),
    (dict(label_smoothing=0.1), "label_smoothing"),
    (dict(mix="inputs"), "mix"),
    (dict(method="c_mixup", mix="labels"), "mix"),
    (dict(pairing="knn"), "pairing"),
    (dict(label_noise=0.2), "label_noise"),
])  # fmt: skip
def test_regression_refuses_what_is_made_for_classes_before_anything_trains(tmp_path, regression_npz, changes,
                                                                            field):
    out = tmp_path / "r"
    with pytest.raises(ValueError, match=f"^{field}=.* is invalid: expected .*regression data set"):
        train(regression_config(regression_npz, out, **changes))
    assert not out.exists()
    with pytest.raises(ValueError, match=f"^{field}=.* is invalid: expected .*task='regression'"):
        regression_config(regression_npz, out, task="regression", **changes)


def test_bandwidth_is_checked_and_new_fields_at_their_defaults_keep_stored_run_digests():
    with pytest.raises(ValueError, match=r"bandwidth=0 is invalid: expected a finite number > 0"):
        TrainConfig(bandwidth=0)
    with pytest.raises(ValueError, match="task='ranking' is invalid"):
        TrainConfig(task="ranking")
    # the folder names of runs stored before task and bandwidth existed (digests computed on the code before them)
    assert digest(TrainConfig()) == "26f649c510"
    assert digest(TrainConfig(bandwidth=0.25)) != digest(TrainConfig())


def test_the_cli_trains_c_mixup_on_diabetes_and_refuses_cutmix_in_one_line(tmp_path, capsys):
    common = ["--dataset", "diabetes", "--model", "mlp16", "--epochs", "2", "--batch-size", "64", "--optimizer",
              "adam", "--lr", "0.01", "--schedule", "constant", "--threads", "1"]
    code, out, err = run_cli(capsys, "train", *common, "--method", "c_mixup", "--bandwidth", "0.25",
                             "--out", str(tmp_path / "r"))
    assert code == 0 and out.strip().endswith("report.md")
    assert "epoch 2/2" in err and "test RMSE" in err and "train RMSE" in err
    assert json.loads((tmp_path / "r" / "results.json").read_text())["test_rmse"] > 0
    code, out, err = run_cli(capsys, "train", *common, "--method", "cutmix", "--out", str(tmp_path / "bad"))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "method='cutmix' is invalid: expected mixup or c_mixup" in err


def test_whole_number_float_targets_are_named_in_a_note_saying_how_to_classify(tmp_path, regression_npz):
    labels = tmp_path / "labels.npz"
    x = np.random.default_rng(0).normal(size=(28, 3))
    np.savez(labels, x_train=x[:20], y_train=(np.arange(20) % 4).astype(float), x_test=x[20:],
             y_test=(np.arange(8) % 4).astype(float))
    note = data_note(TrainConfig(dataset=f"npz:{labels}"))
    assert "labels.npz: y_train holds whole numbers as float64 and was read as regression targets" in note
    assert 'task="classification"' in note
    assert data_note(TrainConfig(dataset=f"npz:{labels}", task="classification")) is None  # the user chose
    assert data_note(TrainConfig(dataset=f"npz:{regression_npz}")) is None  # targets that are no class labels
