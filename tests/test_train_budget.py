"""The time budget: the length it fits, a budgeted run repeated bit for bit (resumed, or re-run from config.json),
and compare splitting one budget over its runs."""

from __future__ import annotations

import json

import pytest
from support import assert_same_weights, crash_at, tabular_config, weights

from vicinal.train import RunLength, TrainConfig, compare, train
from vicinal.train.budget import Cost, estimate, fit_length
from vicinal.train.config import config_from_dict
from vicinal.train.rundir import read_config
from vicinal.train.schedules import min_epochs

COST = Cost(step_seconds=0.1, eval_seconds=2.0, fit_seconds=1.0, attack_seconds=0.0, batch_size=256,
            eval_images_per_s=5000.0)


def test_a_cut_keeps_the_schedules_shape():
    length = RunLength(epochs=40, steps_per_epoch=7, mixup_off_epochs=6, eval_every=5)
    assert length.evaluations == 8 and length.cut_to(17).evaluations == 4  # after 5, 10, 15 and the last, 17
    assert [length.cut_to(e).mixup_off_epochs for e in (40, 20, 10, 3, 1)] == [6, 3, 2, 0, 0]  # 1.5 rounds up
    assert length.cut_to(40) == length
    for bad in (0, 41, 2.5):
        with pytest.raises(ValueError, match=r"^epochs=.* is invalid: expected an integer in \[1, 40\]"):
            length.cut_to(bad)


@pytest.mark.parametrize("budget", [4.0, 10.0, 33.3, 60.0, 1e6])
def test_the_budget_buys_the_longest_cut_that_fits(budget):
    length = RunLength(epochs=40, steps_per_epoch=7, mixup_off_epochs=6, eval_every=5)
    cut = fit_length(length, COST, budget=budget)
    assert estimate(cut, COST) <= budget
    assert cut.epochs == 40 or estimate(length.cut_to(cut.epochs + 1), COST) > budget
    assert estimate(length.cut_to(3), COST) == pytest.approx(3 * 7 * 0.1 + 1 * 2.0 + 1.0)
    with_noise = estimate(length.cut_to(10), COST, fit_every_evaluation=True)
    assert with_noise == pytest.approx(10 * 7 * 0.1 + 2 * (2.0 + 1.0))


def test_a_budget_below_the_shortest_run_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"^time_budget=3 s a run is invalid here: one epoch .* about 3.7 s"):
        fit_length(RunLength(epochs=40, steps_per_epoch=7), COST, budget=3.0)
    # a one-cycle schedule of 3 steps an epoch needs 2 epochs for a warm-up of more than one step
    assert min_epochs(TrainConfig(schedule="onecycle", warmup_fraction=0.25), steps_per_epoch=3) == 2
    assert min_epochs(TrainConfig(schedule="onecycle", warmup_fraction=0.25), steps_per_epoch=4) == 2
    assert min_epochs(TrainConfig(schedule="cosine"), steps_per_epoch=1) == 1
    with pytest.raises(ValueError, match=r"^time_budget=5 s .* 2 epochs \(the schedule's shortest\) .* about 5.6 s"):
        fit_length(RunLength(epochs=40, steps_per_epoch=3), COST, budget=5.0, min_epochs=2)
    assert fit_length(RunLength(epochs=40, steps_per_epoch=3), COST, budget=5.7, min_epochs=2).epochs == 2


def test_a_budgeted_run_resumes_and_reruns_the_same_steps_bit_for_bit(tmp_path):
    """The probe sets the epochs (at most 1000); config.json holds them: a crash resumed with the budgeted config,
    and a re-run of config.json's config, train the same steps to the same weights."""
    asked = tabular_config(tmp_path / "a", epochs=1000, time_budget=1.0, checkpoint_every=5)
    with pytest.raises(RuntimeError, match="machine lost"):
        train(asked, callbacks=[crash_at(12)])
    stored = read_config(tmp_path / "a")
    assert stored["time_budget"] is None and 1 <= stored["epochs"] < 1000
    provenance = json.loads((tmp_path / "a" / "config.json").read_text())["provenance"]
    budget = provenance["budget"]
    assert (budget["seconds"], budget["epochs"], budget["ceiling_epochs"]) == (1.0, stored["epochs"], 1000)
    assert budget["steps"] == stored["epochs"] * 22 and budget["images_per_s"] > 0 and "cpu" in budget
    assert provenance["requested"]["time_budget"] == 1.0 and provenance["requested"]["epochs"] == 1000

    resumed = train(asked, resume=True)  # the budget is not measured again: the stored length is kept
    assert resumed.final["steps"] == budget["steps"] and resumed.config.epochs == stored["epochs"]
    rerun = train(config_from_dict({**stored, "out": str(tmp_path / "b")}))
    assert rerun.final["steps"] == budget["steps"] and rerun.budget is None
    assert_same_weights(weights(rerun.model), weights(resumed.model))
    assert "time budget 1 s a run:" in (tmp_path / "a" / "report.md").read_text()


def test_compare_splits_one_budget_over_its_runs_and_keeps_its_length_when_continued(tmp_path):
    config = tabular_config(tmp_path / "c", epochs=1000, time_budget=2.0)
    first = compare(config, alphas=(0.0, 1.0), seeds=1)
    budget = first.budget
    assert (budget["comparison_seconds"], budget["runs"], budget["seconds"]) == (2.0, 2, 1.0)
    assert {r.config.epochs for r in first.runs} == {budget["epochs"]} and budget["epochs"] < 1000
    assert json.loads((tmp_path / "c" / "budget.json").read_text()) == budget
    assert "The comparison's 2 s, split over its 2 runs: time budget 1 s a run" in first.report.read_text()
    again = compare(config, alphas=(0.0, 1.0), seeds=1)  # continued: the finished runs are kept
    assert again.budget == budget and again.results == first.results
