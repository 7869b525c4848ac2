"""The `between` experiment end to end at the smoke preset, its report written again from results.json, its verdicts
on made-up curves, and run_between's pairs (the same for ERM and mixup of a seed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from vicinal.experiments import EXPERIMENTS, read_results, run_experiment, write_report
from vicinal.experiments.framework import to_jsonable
from vicinal.experiments.registry import RESULTS


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("between")
    run_experiment("between", preset="smoke", out=out, quiet=True)
    return out


def test_smoke_report_shows_the_three_curves_the_toy_and_verdicts(smoke: Path) -> None:
    report = (smoke / "report.md").read_text()
    measured = read_results(smoke)["measured"]
    for heading in ("The two-moons picture", "In between training pairs", "In between test pairs", "Verdicts"):
        assert f"## {heading}" in report
    for column in ("miss rate %", "mean ‖∇ₓ̃ CE‖₂", "mean p(yᵢ \\| x̃)"):
        assert column in report
    plots = sorted(p.name for p in smoke.glob("*.png"))
    assert plots == ["between_test.png", "between_train.png", "toy.png"]
    assert all(f"]({name})" in report for name in plots)
    for key in ("erm", "mixup_a1"):
        (run,) = measured["runs"][key]
        for split in ("train", "test"):
            table = run["between"][split]
            assert table["lambdas"] == [0.5, 0.6, 0.7, 0.8, 0.9, 1.0] and table["pairs"] == 200
            assert all(0 <= m <= 1 for m in table["miss_rate"]) and all(g > 0 for g in table["grad_norm"])
    assert report.count("** |") == 6  # three curves judged on training and on test pairs


def test_report_is_written_again_from_results_json_alone(smoke: Path, tmp_path: Path) -> None:
    shutil.copy(smoke / RESULTS, tmp_path / RESULTS)
    assert write_report(tmp_path).read_text() == (smoke / "report.md").read_text()
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(p.name for p in smoke.glob("*.png"))


def _table(shift: float) -> dict:
    lambdas = [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    return {"lambdas": lambdas, "miss_rate": [0.3 + shift] * 6, "grad_norm": [1.0 + shift] * 6,
            "p_first": lambdas, "p_distance": [0.1 + shift] * 6, "pairs": 10, "target": "mixed"}


def _made_up_report(folder: Path, mixup_shift: list[float]) -> str:
    """The report of made-up curves: ERM's the same every seed, mixup's shifted by ``mixup_shift[seed]``."""
    measured = json.loads((folder.parent / "smoke" / RESULTS).read_text())["measured"]

    def run(seed: int, shift: float) -> dict:
        return {"seed": seed, "run": "made-up", "config": {}, "final": {}, "history": [],
                "between": {"train": _table(shift), "test": _table(shift)}}

    measured["runs"] = {"erm": [run(s, 0.0) for s in range(len(mixup_shift))],
                        "mixup_a1": [run(s, d) for s, d in enumerate(mixup_shift)]}
    results = {"experiment": "between", "preset": "quick", "seeds": list(range(len(mixup_shift))), "seconds": 1.0,
               "machine": "made up", "command": "made up", "device": "cpu",
               "settings": to_jsonable(EXPERIMENTS["between"].settings["quick"]), "measured": measured}
    folder.mkdir()
    (folder / RESULTS).write_text(json.dumps(results))
    return write_report(folder).read_text()


@pytest.mark.parametrize("shifts, expected", [
    ([-0.02, -0.03, -0.025], "reproduced"),
    ([0.02, 0.03, 0.025], "contradicted"),
    ([-0.02, 0.03, -0.025], "not reproduced"),
])
def test_verdicts_follow_the_paired_rule_on_the_in_between_means(smoke: Path, tmp_path: Path, shifts: list,
                                                                 expected: str) -> None:
    (tmp_path / "smoke").mkdir()
    shutil.copy(smoke / RESULTS, tmp_path / "smoke" / RESULTS)
    report = _made_up_report(tmp_path / "made-up", shifts)
    statuses = [line.rsplit("**", 2)[-2] for line in report.splitlines() if line.endswith("** |")]
    assert statuses == [expected] * 6


def test_run_between_measures_erm_and_mixup_of_a_seed_on_the_same_pairs() -> None:
    from vicinal.models import build_model
    from vicinal.train import config_from_preset
    from vicinal.train.between import run_between

    config = config_from_preset("smoke", model="mlp", train_subset=128, test_subset=64, seed=4)
    torch.manual_seed(0)
    model = build_model("mlp", input_shape=(1, 28, 28), num_classes=10)
    erm = run_between(config.replace(alpha=0.0), model, pairs=30)
    mixup = run_between(config.replace(alpha=1.0, method="mixup"), model, pairs=30)
    assert erm == mixup  # the same model on the same pairs: the method does not enter the pairs
    other_seed = run_between(config.replace(seed=5), model, pairs=30)
    assert other_seed["train"] != erm["train"]
    assert erm["train"].pairs == erm["test"].pairs == 30
