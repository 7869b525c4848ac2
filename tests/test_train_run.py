"""train(): the run folder, metrics, checkpoint contents, mixing methods, label noise, NaN stop, determinism."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from support import (
    OnTrainingForward,
    StepRecorder,
    assert_same_weights,
    image_config,
    tabular_config,
    weights,
)

from vicinal.train import Callback, NonFiniteLossError, RunInfo, StepEvent, load_checkpoint, train

EPOCH_KEYS = {"epoch", "seconds", "train_loss", "train_error", "test_error", "test_nll", "ece", "lr", "images_per_s"}


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    return train(image_config(tmp_path_factory.mktemp("run") / "r", epochs=2))


@pytest.mark.fashion_mnist
def test_run_folder_holds_every_artifact(image_run):
    names = {p.name for p in image_run.run_dir.iterdir()}
    assert {"config.json", "metrics.jsonl", "results.json", "checkpoint.pt", "model.safetensors", "report.md",
            "learning_curves.png", "reliability.png"} <= names
    stored = json.loads((image_run.run_dir / "config.json").read_text())
    assert stored["config"]["alpha"] == 1.0 and stored["provenance"]["torch_version"] == torch.__version__
    assert {"git_revision", "device"} <= stored["provenance"].keys()
    report = (image_run.run_dir / "report.md").read_text()
    assert "learning_curves.png" in report and "reliability.png" in report


@pytest.mark.fashion_mnist
def test_metrics_one_line_per_epoch_with_the_contract_keys(image_run):
    rows = [json.loads(line) for line in (image_run.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2] and rows == image_run.history
    for r in rows:
        assert EPOCH_KEYS <= r.keys()
        assert 0 <= r["test_error"] <= 1 and 0 <= r["ece"] <= 1 and r["test_nll"] > 0 and r["train_loss"] > 0
    assert rows[1]["seconds"] >= rows[0]["seconds"] > 0


@pytest.mark.fashion_mnist
def test_results_and_final_numbers(image_run):
    final = json.loads((image_run.run_dir / "results.json").read_text())
    assert final == image_run.final
    for key in ("alpha", "seed", "test_error", "test_nll", "ece", "train_seconds", "epochs"):
        assert key in final
    assert final["epochs"] == 2 and final["test_error"] == image_run.history[-1]["test_error"]


@pytest.mark.fashion_mnist
def test_checkpoint_holds_everything_to_resume_and_loads_weights_only(image_run):
    path = image_run.run_dir / "checkpoint.pt"
    raw = torch.load(path, weights_only=True)
    state = load_checkpoint(path)
    assert {"model", "optimizer", "scheduler", "step", "epoch", "rank_states", "generators"} <= state.keys()
    assert (state["epoch"], state["step"], state["epoch_step"]) == (2, 8, 0)
    assert {"loader", "noise"} <= state["rank_states"][0].keys()
    assert {"mixing", "corruption"} <= state["generators"].keys()
    assert_same_weights(raw["model"], weights(image_run.model))


@pytest.mark.fashion_mnist
@pytest.mark.parametrize("changes", [
    dict(alpha=0.0, label_smoothing=0.1),
    dict(method="cutmix", per_sample=True),
    dict(method="manifold_mixup"),
    dict(mix="inputs", pairing="same_class", mix_prob=0.5, input_noise=0.1, mixup_off_epochs=1),
])
def test_every_mixing_method_trains(tmp_path, changes):
    result = train(image_config(tmp_path / "r", epochs=2, **changes))
    assert math.isfinite(result.final["train_loss"]) and result.final["epochs"] == 2


def test_label_noise_reports_memorization_every_epoch(tmp_path):
    result = train(tabular_config(tmp_path / "r", label_noise=0.5, epochs=2))
    for row in result.history:
        assert 0 <= row["corrupted_fit"] <= 1 and 0 <= row["clean_train_error"] <= 1
    assert "corrupted_fit" in result.final


def test_learning_happens(tmp_path):
    result = train(tabular_config(tmp_path / "r", epochs=4, alpha=0.0, lr=0.1))
    assert result.final["test_error"] < 0.2  # chance is 0.9 on ten digits


def test_existing_run_is_not_overwritten(tmp_path):
    train(tabular_config(tmp_path / "r", epochs=1))
    with pytest.raises(ValueError, match="already holds a run"):
        train(tabular_config(tmp_path / "r", epochs=1))


def _nan_at(bad_steps: set[int]) -> OnTrainingForward:
    """Make the outputs, and so the loss, of the given steps (1-based) NaN."""
    return OnTrainingForward(lambda step, output: output * float("nan") if step in bad_steps else None)


def test_nonfinite_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    config = tabular_config(tmp_path / "r", epochs=3)
    with pytest.raises(NonFiniteLossError, match=r"non-finite loss .* at step 30 \(epoch 2\); stopped, the last good "
                                                 r"checkpoint, .*checkpoint.pt, is kept"):
        train(config, callbacks=[_nan_at({30})])  # digits: 22 steps an epoch, so step 30 is in epoch 2
    state = load_checkpoint(tmp_path / "r" / "checkpoint.pt")
    assert (state["step"], state["epoch"]) == (22, 1)
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    with pytest.raises(NonFiniteLossError, match=r"at step 3 \(epoch 1\); stopped, no checkpoint was written yet"):
        train(tabular_config(tmp_path / "early", epochs=3), callbacks=[_nan_at({3})])
    assert not (tmp_path / "early" / "checkpoint.pt").exists()


def test_nonfinite_steps_can_be_skipped_up_to_a_limit(tmp_path):
    result = train(tabular_config(tmp_path / "ok", epochs=1, max_nonfinite_skips=2), callbacks=[_nan_at({5, 9})])
    assert result.final["nonfinite_skips"] == 2 and math.isfinite(result.final["train_loss"])
    with pytest.raises(NonFiniteLossError, match="step 9"):
        train(tabular_config(tmp_path / "stop", epochs=1, max_nonfinite_skips=1), callbacks=[_nan_at({5, 9})])


def test_deterministic_same_seed_same_weights_other_seed_other_weights(tmp_path):
    runs = [train(tabular_config(tmp_path / name, seed=seed, deterministic=True, epochs=1))
            for name, seed in (("a", 3), ("b", 3), ("c", 4))]
    assert_same_weights(weights(runs[0].model), weights(runs[1].model))
    first, other = weights(runs[0].model), weights(runs[2].model)
    assert any(not torch.equal(first[k], other[k]) for k in first)
    assert not torch.are_deterministic_algorithms_enabled()  # restored afterwards


def test_threads_apply_during_the_run_and_are_restored(tmp_path):
    seen = StepRecorder(lambda event: torch.get_num_threads())
    before = torch.get_num_threads()
    wanted = 1 if before != 1 else 2
    train(tabular_config(tmp_path / "r", epochs=1, threads=wanted), callbacks=[seen])
    assert set(seen.seen) == {wanted} and torch.get_num_threads() == before


def test_default_run_folders_never_collide(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = train(tabular_config(None, epochs=1)).run_dir
    second = train(tabular_config(None, epochs=1)).run_dir
    assert first != second and first.parent == second.parent == Path("runs")


def _mixed_steps(config) -> list[bool]:
    """Whether each step of a run of ``config`` was mixed (an unmixed batch has λ = 1)."""
    mixed = StepRecorder(lambda event: bool((event.lam != 1).any()))
    train(config, callbacks=[mixed])
    return mixed.seen


def test_mixup_off_for_the_last_epochs_and_mix_prob(tmp_path):
    assert _mixed_steps(tabular_config(tmp_path / "off", epochs=3, mixup_off_epochs=1)) == [True] * 44 + [False] * 22
    flags = _mixed_steps(tabular_config(tmp_path / "prob", epochs=3, mix_prob=0.5))  # 22 steps an epoch
    assert 0.3 < sum(flags) / len(flags) < 0.7
    assert not any(_mixed_steps(tabular_config(tmp_path / "erm", epochs=1, alpha=0.0)))


class _Everything(Callback):
    def __init__(self) -> None:
        self.starts, self.steps, self.rows = [], [], []

    def on_start(self, run: RunInfo) -> None:
        self.starts.append((run.resumed, run.epochs, run.steps_per_epoch, run.run_dir))

    def on_step(self, event: StepEvent) -> None:
        self.steps.append((event.step, event.epoch, event.lr, float(event.loss), event.index.shape))

    def on_epoch(self, row: dict) -> None:
        self.rows.append(dict(row))


def test_callbacks_see_the_start_every_step_and_every_epoch(tmp_path):
    seen = _Everything()
    result = train(tabular_config(tmp_path / "r", epochs=2), callbacks=[seen])
    assert seen.starts == [(False, 2, 22, tmp_path / "r")]
    assert [(step, epoch) for step, epoch, *_ in seen.steps] == [(s, (s - 1) // 22) for s in range(1, 45)]
    lrs = [lr for _, _, lr, _, _ in seen.steps]
    assert lrs[0] < max(lrs) and lrs[-1] < max(lrs)  # one-cycle: the lr each step used
    assert all(math.isfinite(loss) and shape == (64,) for *_, loss, shape in seen.steps)
    assert seen.rows == result.history


def test_eval_every_skips_test_metrics_but_always_evaluates_the_last_epoch(tmp_path):
    result = train(tabular_config(tmp_path / "r", epochs=3, eval_every=2))
    assert [r["test_error"] is None for r in result.history] == [True, False, False]
    assert result.final["test_error"] == result.history[-1]["test_error"]
    assert (tmp_path / "r" / "report.md").exists()


@pytest.mark.fashion_mnist
def test_test_flip_changes_only_the_evaluation(tmp_path, image_run):
    flipped = train(image_config(tmp_path / "flip", epochs=2, test_flip=True))
    assert_same_weights(weights(flipped.model), weights(image_run.model))  # training is untouched
    assert flipped.history[-1]["test_nll"] != image_run.history[-1]["test_nll"]
    with pytest.raises(ValueError, match="test_flip=True is invalid for 'digits'"):
        train(tabular_config(tmp_path / "tab", test_flip=True))
    with pytest.raises(ValueError, match="test_translate=1 is invalid for 'digits'"):
        train(tabular_config(tmp_path / "tab2", test_translate=1))
    with pytest.raises(ValueError, match="test_translate"):
        image_config(None, test_translate=-1)


@pytest.mark.fashion_mnist
def test_a_finished_run_resumed_with_other_test_time_augmentation_is_evaluated_again(tmp_path, image_run):
    import shutil

    shutil.copytree(image_run.run_dir, tmp_path / "r")
    again = train(image_run.config.replace(out=str(tmp_path / "r"), test_flip=True, test_translate=1), resume=True)
    assert_same_weights(weights(again.model), weights(image_run.model))  # nothing trained again
    assert again.final["epochs"] == 2 and again.final["train_seconds"] == image_run.final["train_seconds"]
    assert again.final["test_nll"] != image_run.final["test_nll"]  # the new views were used
    rows = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["test_nll"] == again.final["test_nll"] and rows[0] == image_run.history[0]
    stored = json.loads((tmp_path / "r" / "config.json").read_text())["config"]
    assert (stored["test_flip"], stored["test_translate"]) == (True, 1)
