"""compare() across mixing methods: the arms it trains, their folders and names, the confidence off the data, the
report's verdict tables against ERM and against mixup, and the refusals."""

from __future__ import annotations

import json

import pytest
import torch
from support import image_config, run_cli, tabular_config
from torch import nn

from vicinal.eval.ood import mean_confidence, ood_images
from vicinal.train import TrainConfig, compare


@pytest.mark.fashion_mnist
def test_each_method_trains_at_its_own_alpha_in_its_own_folder(tmp_path) -> None:
    config = image_config(tmp_path / "c", model="mlp", alpha=0.4)
    result = compare(config, methods=("erm", "mixup:1", "fmix", "regmixup:20"), seeds=3)
    arms = {(r.config.method, r.config.alpha) for r in result.runs}
    assert arms == {("mixup", 0.0), ("mixup", 1.0), ("fmix", 0.4), ("regmixup", 20.0)}
    for name, method, alpha in (("alpha0-seed2", "mixup", 0.0), ("fmix-alpha0.4-seed0", "fmix", 0.4),
                                ("regmixup-alpha20-seed1", "regmixup", 20.0)):
        stored = json.loads((result.run_dir / name / "config.json").read_text())["config"]
        assert (stored["method"], stored["alpha"]) == (method, alpha)
    for final in json.loads((result.run_dir / "results.json").read_text()):
        assert 0.1 - 1e-6 <= final["noise_confidence"] <= 1 and 0.1 - 1e-6 <= final["digits_confidence"] <= 1
    text = result.report.read_text()
    assert text.startswith("# ERM vs mixup α=1 vs FMix α=0.4 vs RegMixup α=20:")
    erm_table = text.index("Each run − ERM, paired by seed")
    mixup_table = text.index("Each run − mixup α=1, paired by seed")
    assert erm_table < mixup_table
    # against ERM every other arm has a row; against mixup only the later methods do
    assert text[erm_table:mixup_table].count("\n| mixup α=1 |") == 1
    assert "\n| mixup α=1 |" not in text[mixup_table:text.index("\n\n", text.index("| --- |", mixup_table))]
    assert "confidence on noise %" in text and "confidence on digits %" in text


def test_alphas_alone_keep_their_folders_and_names(tmp_path) -> None:
    result = compare(tabular_config(tmp_path / "c", epochs=1), alphas=(0.0, 0.5), seeds=1)
    assert sorted(p.name for p in result.run_dir.iterdir() if p.is_dir()) == ["alpha0-seed0", "alpha0.5-seed0"]
    text = result.report.read_text()
    assert text.startswith("# ERM vs mixup α=0.5:") and "Each run − mixup" not in text
    assert "noise_confidence" not in json.loads((result.run_dir / "results.json").read_text())[0]  # not images


@pytest.mark.parametrize(("changes", "match"), [
    (dict(methods=("erm", "dropout")), r"methods entry 'dropout' is invalid: expected 'erm' or METHOD\[:ALPHA\]"),
    (dict(methods=("erm", "mixup:x")), r"methods entry 'mixup:x' is invalid: .* ALPHA a number"),
    (dict(methods=("erm", "fmix:0")), r"methods=\('erm', 'fmix:0'\) is invalid: expected distinct runs"),
    (dict(methods=("mixup:-1",)), r"alpha=-1.0 is invalid"),
    (dict(methods=()), r"methods=\(\) is invalid"),
    (dict(methods=("erm",), alphas=(0.0, 1.0)), r"alphas=\(0.0, 1.0\) and methods=\('erm',\) are invalid together"),
])
def test_bad_arms_are_refused_before_anything_runs(tmp_path, changes, match) -> None:
    with pytest.raises(ValueError, match=match):
        compare(tabular_config(tmp_path / "c"), **changes)
    assert not (tmp_path / "c").exists()


def test_the_command_line_takes_methods_and_refuses_them_beside_alphas(tmp_path, capsys) -> None:
    code, out, err = run_cli(capsys, "compare", "--dataset", "digits", "--model", "mlp", "--epochs", "1", "--quiet",
                             "--threads", "1", "--methods", "erm", "mixup:1", "--alphas", "0", "1",
                             "--out", str(tmp_path / "c"))
    assert code == 2 and err.count("\n") == 1 and "are invalid together" in err
    code, out, err = run_cli(capsys, "compare", "--dataset", "digits", "--model", "mlp", "--epochs", "1", "--quiet",
                             "--threads", "1", "--methods", "erm", "cutmix:1", "--out", str(tmp_path / "d"))
    assert code == 2 and "cutmix" in err  # CutMix needs images; digits here are vectors


class _Constant(nn.Module):
    """A classifier of fixed logits, whatever the input."""

    def __init__(self, logits: list[float]) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.tensor(logits))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(len(x), -1)


def test_confidence_runs_from_one_over_the_classes_to_one() -> None:
    images = ood_images((3, 12, 10), generator=torch.Generator().manual_seed(0), noise_images=50)
    assert images["noise"].shape == (50, 3, 12, 10) and images["digits"].shape == (1797, 3, 12, 10)
    assert all(0 <= x.min() and x.max() <= 1 for x in images.values())
    assert torch.equal(images["digits"][:, 0], images["digits"][:, 2])
    unsure, sure = _Constant([0.0] * 4).train(), _Constant([30.0, 0.0, 0.0, 0.0])
    assert mean_confidence(unsure, images["noise"], device="cpu") == pytest.approx(0.25)
    assert unsure.training  # its mode is given back
    assert mean_confidence(sure, images["digits"], device="cpu") == pytest.approx(1.0)
    again = ood_images((3, 12, 10), generator=torch.Generator().manual_seed(0), noise_images=50)
    assert torch.equal(again["noise"], images["noise"])
    with pytest.raises(ValueError, match=r"shape=\(12, 10\) is invalid"):
        ood_images((12, 10), generator=torch.Generator())


def test_regression_compares_erm_mixup_and_c_mixup_by_rmse(tmp_path) -> None:
    config = TrainConfig(dataset="friedman1", model="mlp32", batch_size=64, epochs=3, optimizer="adam", lr=1e-3,
                         schedule="constant", bandwidth=0.25, quiet=True, threads=1, out=str(tmp_path / "c"))
    result = compare(config, methods=("erm", "mixup:1", "c_mixup:1"), seeds=3)
    finals = json.loads((result.run_dir / "results.json").read_text())
    assert len(finals) == 9 and all(f["test_rmse"] > 0 and f["test_mse"] == pytest.approx(f["test_rmse"] ** 2)
                                    for f in finals)
    text = result.report.read_text()
    assert text.startswith("# ERM vs mixup α=1 vs C-Mixup α=1: mlp32 on friedman1")
    assert "C-Mixup bandwidth 0.25 standard deviations of the targets" in text
    assert "| run | test RMSE | test MSE |" in text and "Each run − mixup α=1, paired by seed" in text
    assert not (result.run_dir / "between.json").exists() and "reliability" not in text and "test error" not in text


def test_a_compare_from_the_command_line_names_its_command_and_machine(tmp_path, capsys) -> None:
    argv = ["compare", "--dataset", "digits", "--model", "mlp", "--epochs", "2", "--quiet", "--threads", "1",
            "--methods", "erm", "mixup:1", "--out", str(tmp_path / "c")]
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    text = (tmp_path / "c" / "report.md").read_text()
    assert f"`vicinal {' '.join(argv)}`" in text
    machine = next(line for line in text.splitlines() if line.startswith("Machine: "))
    assert "1 threads" in machine  # the runs' threads, not the process's
