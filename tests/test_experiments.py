"""The paper's experiments end to end at the smoke preset, the registry's errors, and the verdict rules."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from vicinal.experiments import EXPERIMENTS, PRESETS, run_experiment
from vicinal.experiments.framework import gain_and_noise, judge, judge_direction, relative_gain
from vicinal.experiments.reporting import pct

# A number of the paper's (or its claim) that each report must show beside ours.
PAPER_MARKS = {
    "generalization": "5.6",  # CIFAR-10 PreAct ResNet-18 ERM
    "memorization": "44.6",  # ERM's last error at 50 % corrupted labels
    "adversarial": "2.7",  # white-box FGSM robustness ratio
    "tabular": "better on 4 of 6",
    "gan": "stabilizes GAN training",
    "ablation": "5.53",  # ERM, wd 1e-4 (official README)
    "calibration": "lower ECE",
}


def our_numbers(name: str, results: dict) -> list[str]:
    """Numbers of ours, read back from results.json and formatted as the report prints them."""
    r = results["results"]
    if name == "generalization":
        return [pct(r["erm"][0]["final"]["test_error"], 2)]
    if name == "memorization":
        return [pct(r["0.5"]["erm"][0]["final"]["test_error"])]
    if name == "adversarial":
        clean = next(row for row in r["attack_error"] if row["model"] == "ERM" and row["box"] == "clean")
        return [pct(clean["errors"][0])]
    if name == "tabular":
        return [pct([run["final"]["test_error"] for run in r["iris"]["erm"]])]
    if name == "gan":
        cov = r["ring"]["vanilla_seed0"]["coverage"]
        return [pct(cov[max(cov, key=int)]["high_quality_share"])]
    if name == "ablation":
        return [pct(r["0.0001"]["erm"][0]["final"]["test_error"], 2)]
    if name == "calibration":
        return [pct(r["erm"][0]["final"]["ece"], 2)]
    raise AssertionError(name)


@pytest.fixture(scope="module")
def smoke_all(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reproduce")
    index = run_experiment("all", preset="smoke", out=out, quiet=True)
    assert index == out / "report.md"
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_smoke_writes_report_results_and_plots(smoke_all: Path, name: str) -> None:
    folder = smoke_all / name
    report = (folder / "report.md").read_text()
    results = json.loads((folder / "results.json").read_text())
    assert results["experiment"] == name and results["preset"] == "smoke"
    pngs = list(folder.glob("*.png"))
    assert pngs and all(p.stat().st_size > 1000 for p in pngs)
    assert all(f"({p})" in report for p in results["plots"])  # every plot is linked from the report
    assert PAPER_MARKS[name] in report
    for number in our_numbers(name, results):
        assert number in report, f"{number} missing from {name}'s report"
    assert results["verdicts"], "every experiment judges at least one claim"
    for verdict in results["verdicts"]:
        assert verdict["status"] in ("reproduced", "partly", "not reproduced", "not measured")
        assert verdict["evidence"] in report
    for key in ("data", "seeds", "wall-clock time", "command"):
        assert key in results["setting"]
    assert '"config"' in json.dumps(results["results"])  # every run's resolved config is kept


@pytest.mark.slow
def test_index_links_every_experiment(smoke_all: Path) -> None:
    index = (smoke_all / "report.md").read_text()
    summary = json.loads((smoke_all / "results.json").read_text())
    assert set(summary["experiments"]) == set(EXPERIMENTS)
    for name in EXPERIMENTS:
        assert f"]({name}/report.md)" in index


@pytest.mark.slow
def test_ablation_reports_rows_the_trainer_cannot_run(smoke_all: Path) -> None:
    results = json.loads((smoke_all / "ablation" / "results.json").read_text())["results"]["0.0001"]
    for key, runs in results.items():
        assert isinstance(runs, list) or runs.startswith("not run"), key


def test_tabular_runs_a_users_csv(tmp_path: Path) -> None:
    rows = ["a,b,label"] + [f"{i % 7},{(3 * i) % 5 + (i % 2) * 4},{i % 2}" for i in range(80)]
    csv = tmp_path / "toy.csv"
    csv.write_text("\n".join(rows) + "\n")
    report = run_experiment("tabular", preset="smoke", out=tmp_path / "out", seeds=[0], quiet=True,
                            options={"datasets": [f"csv:{csv}:label"]})
    results = json.loads((report.parent / "results.json").read_text())
    assert list(results["results"]) == [f"csv:{csv}:label"]
    assert f"csv:{csv}:label" in report.read_text()


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="nope", preset="smoke"), "name='nope' is invalid: expected one of"),
    (dict(name="gan", preset="fast"), "preset='fast' is invalid: expected one of"),
    (dict(name="gan", preset="smoke", seeds=0), "seeds=0 is invalid"),
    (dict(name="gan", preset="smoke", seeds=[-1]), r"seeds=\[-1\] is invalid"),
    (dict(name="gan", preset="smoke", options={"colour": "red"}), r"options \['colour'\] are not settings"),
    (dict(name="all", preset="smoke", options={"colour": "red"}), "are not settings of any experiment"),
])
def test_run_experiment_rejects_bad_arguments(tmp_path: Path, kwargs: dict, match: str) -> None:
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=match):
        run_experiment(name, out=tmp_path, **kwargs)
    assert not (tmp_path / "report.md").exists()


def test_every_experiment_preset_is_a_trainer_preset_with_settings() -> None:
    from vicinal.train import PRESETS as TRAINER_PRESETS

    assert set(PRESETS) <= set(TRAINER_PRESETS)
    for experiment in EXPERIMENTS.values():
        assert set(experiment.settings) == set(experiment.default_seeds) == set(PRESETS), experiment.name


def test_judge_rules() -> None:
    assert judge(0.25, 0.25) == "reproduced"
    assert judge(0.4, 0.25) == "reproduced"  # within the factor of 2
    assert judge(0.05, 0.25) == "partly"  # right direction, much smaller
    assert judge(0.01, 0.25, noise=0.02) == "partly"  # within noise
    assert judge(-0.1, 0.25) == "not reproduced"
    assert judge(math.nan, 0.25) == "not measured"
    assert judge_direction(0.1, noise=0.05) == "reproduced"
    assert judge_direction(0.01, noise=0.05) == "partly"
    assert judge_direction(-0.01) == "not reproduced"
    assert judge_direction(0.03) == "partly"  # a single seed (no noise estimate) still needs MIN_EFFECT
    assert judge(0.04, 0.04) == "partly"


def test_relative_gain_and_noise() -> None:
    assert relative_gain(0.056, 0.042) == pytest.approx(0.25)
    gain, noise = gain_and_noise([0.10, 0.12], [0.08, 0.08])
    assert gain == pytest.approx((0.11 - 0.08) / 0.11)
    assert noise == pytest.approx(math.sqrt(0.0002 / 2) / 0.11)
    assert gain_and_noise([0.1], [0.05]) == (pytest.approx(0.5), 0.0)
    assert all(math.isnan(v) for v in gain_and_noise([], [0.1]))
