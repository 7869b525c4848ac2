"""Tests of to_soft_targets, soft_cross_entropy and mixup_cross_entropy (arXiv 1710.09412)."""

import math
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vicinal import mixup, mixup_cross_entropy, soft_cross_entropy, to_soft_targets


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def reference_soft_ce(logits, targets):
    """−Σ t·log softmax, written out in float64 (independent of F.cross_entropy)."""
    logits = logits.double()
    log_probs = logits - logits.logsumexp(dim=1, keepdim=True)
    return -(targets.double() * log_probs).sum(1).mean()


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 12),
    classes=st.integers(2, 7),
    alpha=st.sampled_from([0.0, 0.2, 1.0]),
    per_sample=st.booleans(),
    smoothing=st.sampled_from([0.0, 0.1]),
    seed=st.integers(0, 999),
)
def test_the_two_losses_agree_on_mixed_targets(batch, classes, alpha, per_sample, smoothing, seed):
    g = gen(seed)
    x = torch.randn(batch, 3, generator=g)
    y = torch.randint(classes, (batch,), generator=g)
    logits = torch.randn(batch, classes, generator=g) * 3
    out = mixup(x, y, alpha=alpha, num_classes=classes, per_sample=per_sample, label_smoothing=smoothing, generator=g)
    soft = soft_cross_entropy(logits, out.targets)
    hard = mixup_cross_entropy(logits, y, y[out.index], out.lam, label_smoothing=smoothing)
    torch.testing.assert_close(soft, hard, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(soft.double(), reference_soft_ce(logits, out.targets), atol=1e-5, rtol=1e-5)


def test_gradients_of_the_two_losses_agree_in_bfloat16():
    logits = torch.randn(8, 5, generator=gen()).bfloat16().requires_grad_()
    y_a, y_b = torch.arange(8) % 5, torch.arange(8).flip(0) % 5
    targets = 0.3 * torch.eye(5)[y_a] + 0.7 * torch.eye(5)[y_b]
    (g_soft,) = torch.autograd.grad(soft_cross_entropy(logits, targets), logits)
    (g_hard,) = torch.autograd.grad(mixup_cross_entropy(logits, y_a, y_b, 0.3), logits)
    assert g_soft.dtype == torch.bfloat16
    torch.testing.assert_close(g_soft, g_hard)


def test_soft_cross_entropy_is_the_entropy_at_the_target():
    probs = torch.softmax(torch.randn(4, 6, generator=gen()), 1)
    entropy = -(probs * probs.log()).sum(1).mean()
    torch.testing.assert_close(soft_cross_entropy(probs.log(), probs), entropy)


def test_to_soft_targets():
    y = torch.tensor([2, 0, 1])
    assert torch.equal(to_soft_targets(y, num_classes=3), torch.eye(3)[[2, 0, 1]])
    smooth = to_soft_targets(y, num_classes=3, label_smoothing=0.3, dtype=torch.float64)
    assert smooth.dtype == torch.float64
    torch.testing.assert_close(smooth, torch.eye(3, dtype=torch.float64)[[2, 0, 1]] * 0.7 + 0.1)
    soft = torch.tensor([[0.2, 0.8], [1.0, 0.0]])
    copied = to_soft_targets(soft)
    assert torch.equal(copied, soft) and copied.data_ptr() != soft.data_ptr()


@pytest.mark.parametrize(
    "y, kwargs, message",
    [
        (torch.tensor([0, 3]), dict(num_classes=3),
         re.escape("(y.min(), y.max())=(0, 3) is invalid: expected labels in [0, 3) for num_classes=3")),
        (torch.tensor([0, 1]), dict(), "num_classes=None is invalid: expected the number of classes"),
        (torch.tensor([0, 1]), dict(num_classes=0), "num_classes=0 is invalid: expected an integer >= 1"),
        (torch.tensor([0.0, 1.0]), dict(num_classes=2),
         "y.shape=\\(2,\\) is invalid: .*class indices must be an integer tensor"),
        (torch.ones(2, 3), dict(num_classes=2), "y.shape=\\(2, 3\\) is invalid: expected \\(B, 2\\) for num_classes=2"),
        (torch.tensor([True, False]), dict(num_classes=2), "y.dtype=torch.bool is invalid"),
        (torch.tensor([0, 1]), dict(num_classes=2, label_smoothing=1.5),
         re.escape("label_smoothing=1.5 is invalid: expected a number in [0, 1)")),
    ],
)
def test_to_soft_targets_errors(y, kwargs, message):
    with pytest.raises(ValueError, match=message):
        to_soft_targets(y, **kwargs)


def test_loss_errors():
    logits = torch.zeros(4, 3)
    with pytest.raises(ValueError, match="targets.shape=\\(4, 2\\) is invalid: expected logits.shape=\\(4, 3\\)"):
        soft_cross_entropy(logits, torch.zeros(4, 2))
    y = torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match="y_b.shape=\\(3,\\) is invalid: expected \\(4,\\)"):
        mixup_cross_entropy(logits, y, y[:3], 0.5)
    with pytest.raises(ValueError, match="y_a.dtype=torch.float32 is invalid: expected an integer dtype"):
        mixup_cross_entropy(logits, y.float(), y, 0.5)
    with pytest.raises(ValueError, match="lam.shape=\\(3,\\) is invalid: expected \\(\\) or \\(4,\\)"):
        mixup_cross_entropy(logits, y, y, torch.ones(3))
    with pytest.raises(ValueError, match="label_smoothing=nan is invalid: expected a number in \\[0, 1\\)"):
        mixup_cross_entropy(logits, y, y, 0.5, label_smoothing=math.nan)


@pytest.mark.parametrize("lam", [math.nan, 5.0, -0.1, torch.tensor(math.nan), torch.tensor([0.5, 0.5, 2.0, 0.5])])
def test_mixup_cross_entropy_refuses_lambda_outside_zero_one(lam):
    y = torch.arange(4) % 3
    with pytest.raises(ValueError, match="is invalid: expected (a number|values) in \\[0, 1\\]"):
        mixup_cross_entropy(torch.zeros(4, 3), y, y, lam)
    with pytest.raises(ValueError, match="type\\(lam\\)=<class 'str'> is invalid"):
        mixup_cross_entropy(torch.zeros(4, 3), y, y, "0.5")


@pytest.mark.parametrize("bad, name, got", [(5, "y_a", "\\(0, 5\\)"), (-1, "y_b", "\\(-1, 2\\)")])
def test_mixup_cross_entropy_refuses_labels_out_of_range(bad, name, got):
    y = torch.tensor([0, 1, 2, 0])
    wrong = y.clone()
    wrong[3] = bad
    y_a, y_b = (wrong, y) if name == "y_a" else (y, wrong)
    message = f"\\({name}.min\\(\\), {name}.max\\(\\)\\)={got} is invalid: expected labels in \\[0, 3\\)"
    with pytest.raises(ValueError, match=message):
        mixup_cross_entropy(torch.zeros(4, 3), y_a, y_b, 0.5)


@pytest.mark.parametrize("row", [[math.nan, 0.5], [17.5, 17.5], [2.0, -1.0]])
def test_to_soft_targets_refuses_rows_that_are_no_probabilities(row):
    with pytest.raises(ValueError, match="y\\[1\\]\\.(sum|min)\\(\\)=.* is invalid: expected .*rows of probabilities"):
        to_soft_targets(torch.tensor([[0.5, 0.5], row]))


def test_losses_refuse_what_is_no_tensor():
    with pytest.raises(ValueError, match="type\\(logits\\)=<class 'list'> is invalid: expected a torch.Tensor"):
        soft_cross_entropy([[0.0, 1.0]], torch.zeros(1, 2))
    with pytest.raises(ValueError, match="targets.dtype=torch.int64 is invalid: expected a floating-point dtype"):
        soft_cross_entropy(torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="type\\(y_a\\)=<class 'list'> is invalid"):
        mixup_cross_entropy(torch.zeros(2, 3), [0, 1], torch.zeros(2, dtype=torch.long), 0.5)
