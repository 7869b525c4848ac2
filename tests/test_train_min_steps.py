"""Enough training on small data (TrainConfig.min_steps) and saying how an npz was read (arXiv 1710.09412)."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, make_classification

from vicinal.data import DataNotFoundError, Dataset, load_dataset
from vicinal.data.npz import SEQUENCE_HINT_COLUMNS, reading_note
from vicinal.train import RunLength, TrainConfig, config_from_preset
from vicinal.train.budget import Cost, fit_length
from vicinal.train.config import PRESETS, check_resumable
from vicinal.train.data import data_note, resolve_for_data, training_points
from vicinal.train.schedules import reach_min_steps


def vectors(rows: int, features: int = 40, classes: int = 10, seed: int = 0) -> Dataset:
    """A small standardized data set of float vectors, as a user's own file gives one."""
    x, y = make_classification(n_samples=rows + 200, n_features=features, n_informative=features // 2,
                               n_classes=classes, random_state=seed)
    x = torch.tensor((x - x.mean(0)) / x.std(0), dtype=torch.float32)
    y = torch.tensor(y)
    return Dataset(name="generated", x_train=x[:rows], y_train=y[:rows], x_test=x[rows:], y_test=y[rows:],
                   num_classes=classes, kind="tabular", mean=(0.0,) * features, std=(1.0,) * features)


def steps(config: TrainConfig, dataset: Dataset) -> int:
    return config.epochs * (training_points(config, dataset) // config.batch_size)


def digits() -> Dataset:
    """scikit-learn's digits: 1,437 of its 1,797 rows to train on, 64 features."""
    x, y = load_digits(return_X_y=True)
    x = torch.tensor((x - x.mean(0)) / (x.std(0) + 1e-6), dtype=torch.float32)
    y = torch.tensor(y)
    return Dataset(name="digits", x_train=x[:1437], y_train=y[:1437], x_test=x[1437:], y_test=y[1437:],
                   num_classes=10, kind="tabular", mean=(0.0,) * 64, std=(1.0,) * 64)


@pytest.mark.parametrize("make", [lambda: vectors(300), digits, lambda: vectors(4_000)],
                         ids=["generated-300", "digits", "generated-4000"])
def test_quick_gives_small_data_the_preset_s_steps(make):
    dataset = make()
    asked = config_from_preset("quick", dataset="digits", threads=1)
    resolved = resolve_for_data(asked, dataset)
    per_epoch = training_points(asked, dataset) // asked.batch_size
    assert resolved.epochs > asked.epochs
    assert asked.min_steps <= steps(resolved, dataset) < asked.min_steps + per_epoch  # the fewest epochs that reach it
    assert resolved.min_steps == 0  # resolved: a later cut stays cut
    # the test set is evaluated about as often as the preset's 6 epochs would
    assert abs(resolved.epochs / resolved.eval_every - asked.epochs / asked.eval_every) <= 1


def test_what_is_counted_in_epochs_keeps_its_share():
    config = TrainConfig(dataset="digits", epochs=10, min_steps=100, mixup_off_epochs=2, schedule="step",
                         milestones=(5, 8), eval_every=2)
    raised = reach_min_steps(config, steps_per_epoch=4)  # 25 epochs: 2.5 times as many
    assert (raised.epochs, raised.mixup_off_epochs, raised.milestones, raised.eval_every) == (25, 5, (13, 20), 5)
    onecycle = reach_min_steps(config.replace(schedule="onecycle"), steps_per_epoch=4)
    assert onecycle.milestones == config.milestones  # only the step schedule reads them
    assert reach_min_steps(config, steps_per_epoch=10) == config.replace(min_steps=0)  # 10 epochs reach 100 steps


@pytest.fixture(scope="module")
def fashion_mnist():
    try:
        return load_dataset("fashion-mnist")
    except DataNotFoundError:
        pytest.skip("Fashion-MNIST is not installed")


@pytest.mark.parametrize("preset", ["quick", "main", "standard"])
def test_fashion_mnist_presets_keep_their_lengths(fashion_mnist, preset):
    dataset = fashion_mnist
    asked = config_from_preset(preset)
    resolved = resolve_for_data(asked, dataset)
    assert asked.min_steps > 0
    assert steps(asked, dataset) >= asked.min_steps  # Fashion-MNIST alone reaches the preset's minimum
    kept = ("epochs", "mixup_off_epochs", "milestones", "eval_every", "time_budget")
    assert {k: getattr(resolved, k) for k in kept} == {k: getattr(asked, k) for k in kept}


def test_presets_without_a_minimum_are_unchanged():
    assert "min_steps" not in PRESETS["smoke"] and "min_steps" not in PRESETS["paper"]
    config = TrainConfig(dataset="digits", epochs=3)
    assert resolve_for_data(config, vectors(300)).epochs == 3


def test_a_time_budget_still_caps_the_raised_length():
    dataset = vectors(4_000)
    resolved = resolve_for_data(config_from_preset("quick", dataset="digits", time_budget=5.0), dataset)
    length = RunLength.of(resolved, steps_per_epoch=training_points(resolved, dataset) // resolved.batch_size)
    cost = Cost(step_seconds=0.01, eval_seconds=0.01, fit_seconds=0.01, attack_seconds=0.0, batch_size=256,
                eval_images_per_s=1e5)
    cut = fit_length(length, cost, budget=resolved.time_budget)
    assert resolved.epochs == length.epochs > cut.epochs  # 94 epochs asked for by min_steps, fewer fit in 5 s
    assert cut.total_steps * cost.step_seconds <= resolved.time_budget
    # the budget's cut, written back as the compare writes it, is not raised again
    again = resolve_for_data(resolved.replace(time_budget=None, epochs=cut.epochs), dataset)
    assert again.epochs == cut.epochs


def test_bad_min_steps_and_stored_configs_without_the_field():
    with pytest.raises(ValueError, match="min_steps=-1"):
        TrainConfig(min_steps=-1)
    config = TrainConfig(dataset="digits")
    stored = {k: v for k, v in dataclasses.asdict(config).items() if k != "min_steps"}  # a run from before the field
    check_resumable(config, stored)
    with pytest.raises(ValueError, match="min_steps"):
        check_resumable(config.replace(min_steps=5), stored)


# ---- how an npz was read ---------------------------------------------------------------------------------------

def save(path: Path, columns: int, **extra) -> Path:
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.normal(size=(40, columns)).astype(np.float32), y_train=np.arange(40) % 2,
             x_test=rng.normal(size=(10, columns)).astype(np.float32), y_test=np.arange(10) % 2, **extra)
    return path


def test_an_unmarked_npz_of_many_columns_says_it_was_read_as_vectors(tmp_path):
    wide = save(tmp_path / "wide.npz", SEQUENCE_HINT_COLUMNS)
    note = reading_note(wide)
    assert "wide.npz" in note and "vectors" in note and 'kind="sequence"' in note
    assert data_note(TrainConfig(dataset=f"npz:{wide}")) == note
    assert load_dataset(f"npz:{wide}").kind == "tabular"  # read as it says
    assert reading_note(save(tmp_path / "narrow.npz", SEQUENCE_HINT_COLUMNS - 1)) is None
    assert reading_note(save(tmp_path / "marked.npz", 64, kind=np.array("tabular"))) is None  # the user chose
    assert reading_note(tmp_path / "missing.npz") is None  # loading says what is wrong
    assert data_note(TrainConfig(dataset="digits")) is None


def test_the_run_prints_the_note_once_and_its_report_says_it(tmp_path, capsys):
    from vicinal.train import train

    wide = save(tmp_path / "wide.npz", 48)
    result = train(TrainConfig(dataset=f"npz:{wide}", epochs=1, batch_size=20, schedule="constant", threads=1,
                               out=str(tmp_path / "run")))
    printed = [line for line in capsys.readouterr().err.splitlines() if "read as vectors" in line]
    assert len(printed) == 1 and printed[0].startswith("vicinal: wide.npz")
    assert reading_note(wide) in (Path(result.run_dir) / "report.md").read_text()
