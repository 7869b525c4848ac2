"""The paper's experiments: every smoke preset end to end, reports written again from results.json alone, the
verdict rule applied by the experiments to made-up numbers, and the registry's errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from vicinal.experiments import EXPERIMENTS, PRESETS, read_results, run_experiment, write_report
from vicinal.experiments.framework import to_jsonable
from vicinal.experiments.registry import RESULTS
from vicinal.experiments.runs import HISTORY_KEYS

# A number of the paper's that each smoke report must show beside ours.
PAPER_MARKS = {
    "generalization": "5.6 → 4.2",  # CIFAR-10 PreAct ResNet-18, ERM → mixup
    "memorization": "44.6",  # ERM's last error at 50 % corrupted labels
    "adversarial": "2.7×",  # white-box FGSM, ratio of accuracies
    "tabular": "4 of 6",
    "gan": "collapses or oscillates",
    "ablation": "5.18",  # ERM at the regime's wd 5e-4 (official README)
    "calibration": "lower ECE",
    "length": "ResNet-50 90 epochs",  # ImageNet, the paper's rows at 90 and 200 epochs
    "between": "Figure 2(a)",
}
STATUSES = {"reproduced", "contradicted", "not reproduced", "indicative", "not measured"}


@pytest.fixture(scope="module")
def smoke_all(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reproduce")
    index = run_experiment("all", preset="smoke", out=out, quiet=True)
    assert index == out / "report.md"
    return out


@pytest.mark.fashion_mnist
@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_smoke_writes_report_results_and_plots(smoke_all: Path, name: str) -> None:
    folder = smoke_all / name
    report = (folder / "report.md").read_text()
    results = read_results(folder)
    assert results["experiment"] == name and results["preset"] == "smoke"
    assert results["measured"] and results["settings"] and results["seeds"]
    pngs = list(folder.glob("*.png"))
    assert pngs and all(p.stat().st_size > 1000 for p in pngs)
    assert all(f"]({p.name})" in report for p in pngs)  # every plot is linked from the report
    assert PAPER_MARKS[name] in report
    assert "## Verdicts" in report and "Verdict rule" in report
    assert {"seeds", "wall-clock time", "command"} <= {line.split("**")[1] for line in report.splitlines()
                                                        if line.startswith("- **")}
    statuses = [line.rsplit("**", 2)[-2] for line in report.splitlines() if line.endswith("** |")]
    assert statuses and set(statuses) <= STATUSES


@pytest.mark.fashion_mnist
@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_report_is_written_again_from_results_json_alone(smoke_all: Path, name: str, tmp_path: Path) -> None:
    copy = tmp_path / name
    copy.mkdir()
    shutil.copy(smoke_all / name / RESULTS, copy / RESULTS)  # no run folders, no plots, no report
    report = write_report(copy)
    assert report.read_text() == (smoke_all / name / "report.md").read_text()
    assert sorted(p.name for p in copy.glob("*.png")) == sorted(p.name for p in (smoke_all / name).glob("*.png"))


@pytest.mark.fashion_mnist
@pytest.mark.slow
def test_index_links_every_experiment_and_is_written_again(smoke_all: Path) -> None:
    index = (smoke_all / "report.md").read_text()
    for name in EXPERIMENTS:
        assert f"]({name}/report.md)" in index
    assert write_report(smoke_all).read_text() == index


@pytest.mark.fashion_mnist
@pytest.mark.slow
def test_runs_shared_by_experiments_are_trained_once(smoke_all: Path) -> None:
    erm_runs = {run["run"] for name in ("generalization", "calibration", "adversarial", "ablation")
                for run in read_results(smoke_all / name)["measured"]["runs"]["erm"]}
    assert len(erm_runs) == 1  # seed 0's ERM run: one folder, trained by generalization, evaluated by the others
    assert json.loads((Path(erm_runs.pop()) / "config.json").read_text())["config"]["alpha"] == 0.0


def _run(seed: int, test_error: float) -> dict:
    """A made-up run summary as results.json holds it."""
    history = [dict.fromkeys(HISTORY_KEYS, 0.1) | {"epoch": 1, "test_error": test_error}]
    return {"seed": seed, "run": f"made-up/seed{seed}", "config": {}, "history": history,
            "final": {"test_error": test_error, "best_test_error": test_error, "train_error": 0.0, "test_nll": 0.3,
                      "ece": 0.02, "train_seconds": 1.0}}


def _generalization_report(folder: Path, errors: dict[str, dict[int, float]]) -> str:
    """The generalization report of made-up per-seed test errors, through write_report."""
    experiment = EXPERIMENTS["generalization"]
    settings = experiment.settings["quick"]
    keys = {"erm": "ERM", "mixup_a1": "mixup α=1"}
    results = {"experiment": "generalization", "preset": "quick", "seeds": sorted(errors["erm"]), "seconds": 1.0,
               "machine": "made up", "command": "made up", "device": "cpu", "settings": to_jsonable(settings),
               "measured": {"methods": [{"key": k, "label": v} for k, v in keys.items()],
                            "runs": {k: [_run(s, e) for s, e in errors[k].items()] for k in keys}}}
    folder.mkdir()
    (folder / RESULTS).write_text(json.dumps(results))
    return write_report(folder).read_text()


def _verdict_of(report: str, claim: str) -> str:
    line = next(line for line in report.splitlines() if line.startswith(f"| {claim}"))
    return line.rsplit("**", 2)[-2]


CLAIM = "mixup (the paper's α = 1) lowers test error over ERM"


@pytest.mark.parametrize("erm, mixup, expected", [
    ({0: 0.100, 1: 0.110, 2: 0.105}, {0: 0.090, 1: 0.098, 2: 0.096}, "reproduced"),  # p < 0.05, the paper's sign
    ({0: 0.100, 1: 0.110, 2: 0.105}, {0: 0.090, 1: 0.113, 2: 0.096}, "not reproduced"),  # mixed signs
    ({0: 0.100, 1: 0.110, 2: 0.105}, {0: 0.110, 1: 0.121, 2: 0.114}, "contradicted"),  # p < 0.05 the other way
    ({0: 0.100, 1: 0.110}, {0: 0.050, 1: 0.060}, "indicative"),  # two seeds, however large
])
def test_verdicts_follow_the_paired_rule(tmp_path: Path, erm: dict, mixup: dict, expected: str) -> None:
    report = _generalization_report(tmp_path / "made-up", {"erm": erm, "mixup_a1": mixup})
    assert _verdict_of(report, CLAIM) == expected
    assert "5.6 → 4.2" in report  # the paper's effect in its own column


def test_tabular_runs_a_users_csv(tmp_path: Path) -> None:
    rows = ["a,b,label"] + [f"{i % 7},{(3 * i) % 5 + (i % 2) * 4},{i % 2}" for i in range(80)]
    csv = tmp_path / "toy.csv"
    csv.write_text("\n".join(rows) + "\n")
    report = run_experiment("tabular", preset="smoke", out=tmp_path / "out", seeds=[0], quiet=True,
                            options={"datasets": [f"csv:{csv}:label"]})
    results = read_results(report.parent)
    assert list(results["measured"]["sets"]) == [f"csv:{csv}:label"]
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


def test_write_report_needs_results_json(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is invalid: expected a folder holding a readable results.json"):
        write_report(tmp_path)


def test_every_experiment_preset_is_a_trainer_preset_with_settings() -> None:
    from vicinal.train import PRESETS as TRAINER_PRESETS

    assert set(PRESETS) <= set(TRAINER_PRESETS)
    for experiment in EXPERIMENTS.values():
        assert set(experiment.settings) == set(experiment.default_seeds) == set(PRESETS), experiment.name
        assert all(len(experiment.default_seeds[p]) >= 3 for p in ("quick", "paper")), experiment.name


@pytest.mark.fashion_mnist
@pytest.mark.slow
def test_results_md_is_written_from_results_json(smoke_all: Path, tmp_path: Path) -> None:
    from vicinal.experiments.results_md import END, START, publish

    docs = tmp_path / "docs"
    large = docs / "results" / "compare-made-up"
    large.mkdir(parents=True)
    (large / RESULTS).write_text(json.dumps([
        {"alpha": a, "seed": s, "test_error": 0.05 - a / 100 + s / 1000, "test_nll": 0.15, "ece": 0.01,
         "train_error": 0.02, "model": "fastcnn48", "dataset": "fashion-mnist", "epochs": 40}
        for s in range(3) for a in (0.0, 0.4)]))
    hand = "# Results\n\nby hand\n\n{}\nSTALE TEXT\n{}\n\n## Not measured\n- by hand\n"
    (docs / "RESULTS.md").write_text(hand.format(START, END))
    page = publish(smoke_all, docs=docs, preset="smoke", large_data=large).read_text()
    assert page.startswith("# Results\n\nby hand\n") and page.endswith("## Not measured\n- by hand\n")
    assert "STALE TEXT" not in page and "](results/smoke/gan/gan_samples.png)" in page
    assert "](results/compare-made-up/report.md)" in page and "mixup α=0.4 − ERM" in page
    for name in EXPERIMENTS:
        report = (docs / "results" / "smoke" / name / "report.md").read_text()
        for line in (line for line in report.splitlines() if line.endswith("** |")):  # every verdict row
            assert line[2:].split(" | ")[0] in page
    assert not list((docs / "results" / "smoke").rglob("runs"))  # reports, plots, results.json; no run folders


@pytest.mark.slow
def test_results_md_takes_experiments_measured_apart(smoke_all: Path, tmp_path: Path) -> None:
    from vicinal.experiments.results_md import START, publish

    run = tmp_path / "apart"
    for name in ("generalization", "length"):  # two experiments by their own commands, no index of `all`
        shutil.copytree(smoke_all / name, run / name, ignore=shutil.ignore_patterns("runs"))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "RESULTS.md").write_text(f"# Results\n\n{START}\n<!-- measured: end -->\n")
    page = publish(run, docs=docs, preset="smoke", large_data=None).read_text()
    assert "[generalization](" in page and "[length](" in page and "vicinal reproduce all --preset smoke" in page
    assert "memorization" not in page.split(START)[1]
    assert read_results(docs / "results" / "smoke")["experiments"] == ["generalization", "length"]


def test_claims_are_counted_once_and_by_whose_they_are() -> None:
    from vicinal.experiments.framework import Verdict
    from vicinal.experiments.reporting import count_claims

    def verdict(status: str, scope: str = "this paper", repeats: str | None = None) -> Verdict:
        return Verdict("c", "m", "o", "p", status, p=0.01, scope=scope, repeats=repeats)

    text = count_claims([verdict("reproduced"), verdict("contradicted"), verdict("reproduced", repeats="x"),
                         verdict("reproduced", "later work"), verdict("not reproduced", "ours")])
    assert text.startswith("1 of 2 of this paper's claims reproduced at p < 0.05 (1 contradicted)")
    assert "1 of 1 of later work's claims" in text and "0 of 1 of our own measures" in text


@pytest.mark.slow
def test_length_judges_the_difference_of_differences(smoke_all: Path) -> None:
    from vicinal.experiments.runs import per_seed

    results = read_results(smoke_all / "length")
    runs, (short, long) = results["measured"]["runs"], results["measured"]["lengths"].values()
    gain = {n: {s: per_seed(runs[k["mixup α=1"]], "test_error")[s] - per_seed(runs[k["ERM"]], "test_error")[s]
                for s in results["seeds"]} for n, k in (("short", short), ("long", long))}
    expected = [100 * (gain["long"][s] - gain["short"][s]) for s in results["seeds"]]
    report = (smoke_all / "length" / "report.md").read_text()
    line = next(line for line in report.splitlines() if line.startswith("| mixup's gain over ERM grows"))
    assert f"| {sum(expected) / len(expected):.2f} points" in line
