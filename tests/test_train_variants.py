"""The trainer's ResizeMix, FMix and RegMixup methods (arXiv 2012.11101, 2002.12047, 2206.14502): steps, runs, CLI."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from support import image_config, run_cli
from torch import nn

from vicinal.cli import build_parser
from vicinal.train import train
from vicinal.train.config import TrainConfig, check_resumable
from vicinal.train.step import build_mixer, vicinal_step


class CountingLinear(nn.Module):
    """A linear classifier that records the batch size of every forward pass."""

    def __init__(self, features: int, classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(features, classes)
        self.calls: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(x.shape[0])
        return self.linear(x.flatten(1))


@pytest.mark.parametrize("eta", [1.0, 0.3])
def test_regmixup_step_is_one_forward_pass_of_both_halves_with_the_papers_loss(eta):
    x = torch.randn(6, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    config = TrainConfig(method="regmixup", alpha=20.0, regmixup_eta=eta)
    mixer = build_mixer(config, num_classes=3, generator=torch.Generator().manual_seed(1))
    model = CountingLinear(16, 3)
    out = vicinal_step(model, x, y, mixer=mixer, autocast_dtype=None, regmixup_eta=eta)
    assert model.calls == [12]
    with torch.no_grad():
        logits = model.linear(out.batch.inputs.flatten(1))
        lam = out.batch.lam
        mixed = lam * F.cross_entropy(logits[6:], y) + (1 - lam) * F.cross_entropy(logits[6:], y[out.batch.index])
        expected = F.cross_entropy(logits[:6], y) + eta * mixed
        errors = (logits[:6].argmax(1) != y).sum()
    torch.testing.assert_close(out.loss.detach(), expected)
    assert out.errors.item() == errors.item()


def test_an_unmixed_regmixup_batch_is_the_clean_batch_alone():
    x, y = torch.randn(4, 1, 4, 4), torch.tensor([0, 1, 2, 0])
    mixer = build_mixer(TrainConfig(method="regmixup", alpha=0.0), num_classes=3,
                        generator=torch.Generator().manual_seed(0))
    model = CountingLinear(16, 3)
    out = vicinal_step(model, x, y, mixer=mixer, autocast_dtype=None)
    assert model.calls == [4]
    torch.testing.assert_close(out.loss.detach(), F.cross_entropy(model.linear(x.flatten(1)), y).detach())


def test_the_trainers_fmix_masks_a_sequence_along_time_only():
    x = torch.arange(4 * 2 * 40, dtype=torch.float32).reshape(4, 2, 40)
    mixer = build_mixer(TrainConfig(method="fmix"), num_classes=4, generator=torch.Generator().manual_seed(2))
    batch = mixer(x, torch.arange(4))
    taken = batch.inputs == x[batch.index]
    assert torch.equal(taken[:, 0], taken[:, 1]), "both channels share the mask over time"
    assert ((batch.inputs == x) | taken).all()


@pytest.mark.parametrize("changes", [
    dict(method="resizemix"),
    dict(method="fmix", per_sample=True),
    dict(method="regmixup", alpha=20.0, regmixup_eta=0.5),
])
def test_the_variant_methods_train(tmp_path, changes):
    result = train(image_config(tmp_path / "r", epochs=2, **changes))
    assert math.isfinite(result.final["train_loss"]) and result.final["epochs"] == 2


def test_regmixup_eta_is_checked_and_a_checkpoint_without_it_resumes():
    with pytest.raises(ValueError, match="regmixup_eta=-1 is invalid"):
        TrainConfig(regmixup_eta=-1)
    stored = TrainConfig().to_dict()
    del stored["regmixup_eta"]  # a checkpoint written before the field existed trained with its default
    check_resumable(TrainConfig(), stored)
    with pytest.raises(ValueError, match="resume: regmixup_eta=2.0 is incompatible"):
        check_resumable(TrainConfig(regmixup_eta=2.0), stored)


def test_the_cli_takes_the_variant_methods(capsys):
    args = build_parser().parse_args(["train", "--method", "regmixup", "--regmixup-eta", "0.5"])
    assert (args.method, args.regmixup_eta) == ("regmixup", 0.5)
    code, _, err = run_cli(capsys, "train", "--method", "puzzlemix")
    assert code == 2 and "puzzlemix" in err
