"""Tests of vicinal.eval.attacks: FGSM / I-FGSM against a hand-computed linear case, the ε budget, clamping."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vicinal.eval import attack_error, fgsm, ifgsm
from vicinal.models import FastCNN, Normalize

# A bias-free two-class linear model: logits = x @ W.T. For CE with label y, ∇ₓ = (p₁ − [y = 1])·(W₁ − W₀),
# so sign(∇ₓ) = sign(W₁ − W₀) for y = 0 and −sign(W₁ − W₀) for y = 1, whatever x is.
W = torch.tensor([[1.0, -2.0, 0.5, -1.0, 0.0], [-1.0, 1.0, 1.0, -3.0, 0.0]])  # W₁ − W₀ = [−2, 3, 0.5, −2, 0]


def linear_model() -> nn.Linear:
    model = nn.Linear(5, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(W)
    return model


def test_fgsm_matches_the_hand_computed_gradient_sign():
    x = torch.full((2, 5), 0.5)
    y = torch.tensor([0, 1])
    expected = torch.tensor([[0.4, 0.6, 0.6, 0.4, 0.5], [0.6, 0.4, 0.4, 0.6, 0.5]])  # x₄ has weight 0: no move
    torch.testing.assert_close(fgsm(linear_model(), x, y, eps=0.1), expected)
    targeted = fgsm(linear_model(), x, y, eps=0.1, targeted=True)  # towards y: the opposite step
    torch.testing.assert_close(targeted, expected.flip(0))


def test_fgsm_clamps_to_the_valid_range():
    x = torch.tensor([[0.95, 0.02, 0.5, 0.0, 1.0]])
    out = fgsm(linear_model(), x, torch.tensor([0]), eps=0.1)
    torch.testing.assert_close(out, torch.tensor([[0.85, 0.12, 0.6, 0.0, 1.0]]))
    out = fgsm(linear_model(), x, torch.tensor([1]), eps=0.1)
    torch.testing.assert_close(out, torch.tensor([[1.0, 0.0, 0.4, 0.1, 1.0]]))
    unclamped = fgsm(linear_model(), x, torch.tensor([1]), eps=0.1, clamp=None)
    torch.testing.assert_close(unclamped, torch.tensor([[1.05, -0.08, 0.4, 0.1, 1.0]]))
    custom = fgsm(linear_model(), x, torch.tensor([1]), eps=0.1, clamp=(0.05, 0.9))
    assert custom.min() >= 0.05 and custom.max() <= 0.9


def test_ifgsm_on_a_linear_model_reaches_the_fgsm_corner():
    """The gradient sign of a linear model is constant, so every step goes the same way until the ε-ball stops it."""
    x = torch.rand(4, 5, generator=torch.Generator().manual_seed(0)) * 0.6 + 0.2
    y = torch.tensor([0, 1, 1, 0])
    torch.testing.assert_close(ifgsm(linear_model(), x, y, eps=0.1, steps=7), fgsm(linear_model(), x, y, eps=0.1))
    half_way = ifgsm(linear_model(), x, y, eps=0.1, steps=2, step_size=0.02)
    torch.testing.assert_close(half_way - x, 0.4 * (fgsm(linear_model(), x, y, eps=0.1) - x))


def small_cnn() -> nn.Module:
    torch.manual_seed(0)  # weight initialisation only
    return nn.Sequential(Normalize((0.3,), (0.35,)), FastCNN(num_classes=10, in_channels=1, image_size=12, width=4))


@pytest.mark.parametrize("eps", [0.0, 1 / 255, 8 / 255, 0.3])
def test_the_eps_budget_and_the_valid_range_hold_on_random_inputs(eps):
    gen = torch.Generator().manual_seed(int(eps * 1000))
    x = torch.rand(6, 1, 12, 12, generator=gen)
    y = torch.randint(0, 10, (6,), generator=gen)
    model = small_cnn()
    for attacked in (
        fgsm(model, x, y, eps=eps),
        ifgsm(model, x, y, eps=eps, steps=4),
        ifgsm(model, x, y, eps=eps, steps=3, step_size=eps),  # steps that overshoot get projected back
    ):
        assert (attacked - x).abs().max() <= eps + 1e-6
        assert attacked.min() >= 0.0 and attacked.max() <= 1.0
    if eps > 0:
        assert (fgsm(model, x, y, eps=eps) != x).any()


def test_fgsm_raises_the_loss_of_a_trained_linear_model():
    x = torch.full((8, 5), 0.5) + torch.linspace(-0.1, 0.1, 8)[:, None]
    y = torch.tensor([0, 1] * 4)
    loss = lambda inputs: nn.functional.cross_entropy(linear_model()(inputs), y)  # noqa: E731
    assert loss(fgsm(linear_model(), x, y, eps=0.05)) > loss(x)
    assert loss(fgsm(linear_model(), x, y, eps=0.05, targeted=True)) < loss(x)


def test_attacks_restore_the_mode_keep_x_and_leave_no_parameter_gradients():
    model = small_cnn().train()
    x = torch.rand(3, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    x_before = x.clone()
    running_mean = model[1].stem[1].running_mean.clone()
    labels = torch.tensor([1, 2, 3])
    for attack in (lambda: fgsm(model, x, labels, eps=0.1), lambda: ifgsm(model, x, labels, eps=0.1, steps=2)):
        out = attack()
        assert not out.requires_grad
    assert torch.equal(x, x_before) and not x.requires_grad
    assert all(m.training for m in model.modules())
    assert torch.equal(model[1].stem[1].running_mean, running_mean), \
        "attacks must run in eval mode (no batch-norm updates)"
    assert all(p.grad is None for p in model.parameters())


def margin_loader(n: int = 40):
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(n, 5, generator=gen)
    y = torch.randint(0, 2, (n,), generator=gen)
    return x, y, [(x[i : i + 16], y[i : i + 16]) for i in range(0, n, 16)]


def test_attack_error_white_box_by_hand_on_a_linear_model():
    """Without clamping FGSM lowers the margin of a linear binary model by exactly ε·‖W₁ − W₀‖₁ = 7.5·ε."""
    x, y, loader = margin_loader()
    model = linear_model()
    margin = (x @ (W[1] - W[0])) * (2 * y - 1)  # > 0 when right
    eps = 0.05
    clean = float((margin <= 0).float().mean())
    assert attack_error(model, loader, attack="none", eps=eps, device="cpu") == pytest.approx(clean)
    expected = float((margin - 7.5 * eps <= 0).float().mean())
    assert expected > float((margin <= 0).float().mean())
    assert attack_error(model, loader, attack="fgsm", eps=eps, device="cpu", clamp=None) == pytest.approx(expected)
    got = attack_error(model, loader, attack="ifgsm", eps=eps, steps=5, device="cpu", clamp=None)
    assert got == pytest.approx(expected)


def test_attack_error_black_box_transfer_uses_the_source_model():
    _, _, loader = margin_loader()
    model = linear_model()
    opposite = nn.Linear(5, 2, bias=False)
    with torch.no_grad():
        opposite.weight.copy_(W.flip(0))  # its loss gradient points the other way
    clean = attack_error(model, loader, attack="none", eps=0.05, device="cpu")
    same = attack_error(model, loader, attack="fgsm", eps=0.05, device="cpu", source_model=linear_model())
    assert same == attack_error(model, loader, attack="fgsm", eps=0.05, device="cpu")
    assert attack_error(model, loader, attack="fgsm", eps=0.05, device="cpu", source_model=opposite) <= clean < same


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m, x, y: fgsm(m, x, y, eps=-0.1), "eps must be a finite number >= 0, got -0.1"),
        (lambda m, x, y: fgsm(m, x, y, eps=float("nan")), "eps must be a finite number >= 0, got nan"),
        (lambda m, x, y: fgsm(m, x, y, eps=0.1, clamp=(1.0, 0.0)),
         r"clamp must be None or \(low, high\) with low < high"),
        (lambda m, x, y: fgsm(m, (x * 255).long(), y, eps=0.1),
         "x must be a floating-point tensor in pixel space, got dtype torch.int64"),
        (lambda m, x, y: fgsm(m, x, y[:1], eps=0.1),
         r"y must have one label per input: x has batch 2, y has shape \(1,\)"),
        (lambda m, x, y: ifgsm(m, x, y, eps=0.1, steps=0), "steps must be an integer >= 1, got 0"),
        (lambda m, x, y: ifgsm(m, x, y, eps=0.1, step_size=-1.0), "step_size must be a finite number >= 0, got -1.0"),
        (lambda m, x, y: attack_error(m, [(x, y)], attack="pgd", eps=0.1, device="cpu"),
         "attack must be 'none', 'fgsm' or 'ifgsm', got 'pgd'"),
        (lambda m, x, y: attack_error(m, [], attack="fgsm", eps=0.1, device="cpu"), "the loader yielded no examples"),
    ],
)
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call(linear_model(), torch.full((2, 5), 0.5), torch.tensor([0, 1]))
