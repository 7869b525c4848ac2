"""The time budget: the length it fits, a budgeted run repeated bit for bit (resumed, or re-run from config.json),
and compare splitting one budget over its runs."""

from __future__ import annotations

import json

import pytest
from support import StepRecorder, assert_same_weights, crash_at, run_cli, tabular_config, weights

from vicinal.train import RunLength, TrainConfig, compare, train
from vicinal.train.budget import Cost, describe_budget, estimate, fit_length, record
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


def test_a_cut_never_takes_all_the_mixing_from_a_mixing_run():
    """30 epochs, the last 29 without mixing, cut to 3: in proportion all 3 would be without mixing, and the run
    labelled mixup would never mix. The cut keeps one mixing epoch, and its record says so."""
    length = RunLength(epochs=30, steps_per_epoch=7, mixup_off_epochs=29)
    for budget in (4.0, 10.0, 20.0):  # 1, 3 and 7 epochs fit
        cut = fit_length(length, COST, budget=budget)
        assert cut.epochs < 30 and cut.mixup_off_epochs == cut.epochs - 1 and cut.mixes_in(0)
        assert estimate(cut, COST) <= budget
    cut = fit_length(length, COST, budget=10.0)
    said = describe_budget(record(length, cut, COST, budget=10.0, precision="fp32"))
    assert "bought 3 epochs (cut from 30, the last 2 without mixing (one mixing epoch kept" in said
    no_mixing_asked = RunLength(epochs=30, steps_per_epoch=7, mixup_off_epochs=0)
    assert fit_length(no_mixing_asked, COST, budget=10.0).mixup_off_epochs == 0


def test_a_budgeted_run_that_mixes_mixes_in_at_least_one_epoch(tmp_path, capsys):
    seen = StepRecorder(lambda event: float(event.lam.min()))
    result = train(tabular_config(tmp_path / "r", epochs=1000, mixup_off_epochs=999, time_budget=1.0, quiet=False),
                   callbacks=[seen])
    assert result.config.epochs < 1000 and result.config.mixup_off_epochs == result.config.epochs - 1
    assert min(seen.seen) < 1  # some batch was mixed
    assert "one mixing epoch kept" in (tmp_path / "r" / "report.md").read_text()
    assert "so that one epoch still mixes" in capsys.readouterr().err


def test_a_budgeted_run_resumed_with_another_budget_or_ceiling_is_refused_in_one_line(tmp_path, capsys):
    asked = tabular_config(tmp_path / "a", epochs=1000, time_budget=1.0, checkpoint_every=5)
    with pytest.raises(RuntimeError, match="machine lost"):
        train(asked, callbacks=[crash_at(12)])
    for name, value in (("time_budget", 0.5), ("epochs", 999), ("mixup_off_epochs", 3)):
        with pytest.raises(ValueError, match=rf"^resume: {name}={value} is incompatible with the {name}=\S+ its time "
                                             rf"budget was fitted to"):
            train(asked.replace(**{name: value}), resume=True)
    code, _, err = run_cli(capsys, "train", "--resume", str(tmp_path / "a"), "--time-budget", "0.5")
    assert code == 2 and err.count("\n") == 1 and "time_budget=0.5 is incompatible" in err
    unbudgeted = tabular_config(tmp_path / "b", epochs=3, checkpoint_every=5)
    with pytest.raises(RuntimeError, match="machine lost"):
        train(unbudgeted, callbacks=[crash_at(12)])
    with pytest.raises(ValueError, match=r"^resume: time_budget=1.0 is incompatible .* which had no time budget"):
        train(unbudgeted.replace(time_budget=1.0), resume=True)


def test_a_comparison_continued_with_another_budget_or_ceiling_is_refused(tmp_path):
    config = tabular_config(tmp_path / "c", epochs=1000, time_budget=2.0)
    with pytest.raises(RuntimeError, match="machine lost"):  # stopped after its budget was fitted
        compare(config, alphas=(0.0, 1.0), seeds=1, callbacks=[crash_at(1)])
    assert (tmp_path / "c" / "budget.json").is_file()
    for name, value in (("time_budget", 4.0), ("epochs", 500)):
        with pytest.raises(ValueError, match=rf"^compare .*: {name}={value} is incompatible with the {name}="):
            compare(config.replace(**{name: value}), alphas=(0.0, 1.0), seeds=1)
