"""Tests of manifold_mixup() (Verma et al., arXiv 1806.05236): the chosen layer's output is mixed, nothing else."""

import re

import pytest
import torch
from torch import nn

from vicinal import manifold_mixup, soft_cross_entropy


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def small_model() -> nn.Sequential:
    torch.manual_seed(0)  # weights only; the mixing itself never reads the global RNG
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
    model.mixup_layers = ("", "2", "4")
    return model


def expected_logits(model, x, layer, lam, index):
    """Forward by hand, mixing the output of `layer` ("" = the input) with the paper's formula."""
    lam = lam.reshape(-1, 1) if lam.ndim else lam
    h = x.flatten(1)
    if layer == "":
        h = lam * h + (1 - lam) * h[index]
    for name, module in list(model.named_children())[1:]:
        h = module(h)
        if name == layer:
            h = lam * h + (1 - lam) * h[index]
    return h


@pytest.mark.parametrize("per_sample", [False, True])
def test_logits_are_the_model_with_the_chosen_layer_mixed(per_sample):
    model = small_model()
    x = torch.randn(6, 3, 4, generator=gen(1))
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    x0 = x.clone()
    seen = set()
    for seed in range(12):
        logits, out = manifold_mixup(model, x, y, alpha=1.0, num_classes=3, per_sample=per_sample, generator=gen(seed))
        seen.add(out.layer)
        torch.testing.assert_close(logits, expected_logits(model, x, out.layer, out.lam, out.index))
        lam = out.lam.reshape(-1, 1) if per_sample else out.lam
        onehot = nn.functional.one_hot(y, 3).float()
        torch.testing.assert_close(out.targets, lam * onehot + (1 - lam) * onehot[out.index])
    assert seen == {"", "2", "4"}, "every listed layer gets chosen"
    assert torch.equal(x, x0)
    assert not model._forward_hooks and not model._forward_pre_hooks
    assert all(not m._forward_hooks for m in model.modules()), "hooks are removed after the pass"


def test_explicit_layers_override_the_models_list_and_gradients_flow():
    model = small_model()
    x = torch.randn(4, 12, generator=gen())
    y = torch.tensor([0, 1, 2, 1])
    logits, out = manifold_mixup(model, x, y, alpha=0.5, layers=["3"], num_classes=3, generator=gen())
    assert out.layer == "3" and out.inputs.shape == (4, 8)
    soft_cross_entropy(logits, out.targets).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_alpha_zero_gives_the_plain_forward():
    model = small_model()
    x = torch.randn(5, 12, generator=gen())
    logits, out = manifold_mixup(model, x, torch.zeros(5, dtype=torch.long), alpha=0.0, num_classes=3, generator=gen())
    torch.testing.assert_close(logits, model(x))
    assert out.lam.item() == 1.0


def test_manifold_mixup_errors():
    model = small_model()
    x, y = torch.randn(4, 12), torch.zeros(4, dtype=torch.long)
    message = re.escape("layers=('9',) is invalid: expected names from model.named_modules(); unknown: ['9']")
    with pytest.raises(ValueError, match=message):
        manifold_mixup(model, x, y, alpha=1.0, layers=["9"], num_classes=3)
    with pytest.raises(ValueError, match="layers=\\(\\) is invalid: expected at least one submodule name"):
        manifold_mixup(model, x, y, alpha=1.0, layers=[], num_classes=3)
    bare = nn.Sequential(nn.Linear(12, 3))
    with pytest.raises(ValueError, match="layers=None is invalid: .*the model has no `mixup_layers` attribute"):
        manifold_mixup(bare, x, y, alpha=1.0, num_classes=3)
    with pytest.raises(ValueError, match="alpha=-1.0 is invalid: expected a finite number >= 0"):
        manifold_mixup(model, x, y, alpha=-1.0, num_classes=3)
    with pytest.raises(ValueError, match="type\\(model\\)=<class 'function'> is invalid: expected a torch.nn.Module"):
        manifold_mixup(lambda t: t, x, y, alpha=1.0, layers=["0"], num_classes=3)
    class Unused(nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.spare = nn.Linear(12, 3), nn.Linear(3, 3)

        def forward(self, t):
            return self.used(t)

    unused = Unused()
    with pytest.raises(ValueError, match="runs of layer 'spare' in one forward pass=0 is invalid: expected exactly 1"):
        manifold_mixup(unused, x, y, alpha=1.0, layers=["spare"], num_classes=3)
