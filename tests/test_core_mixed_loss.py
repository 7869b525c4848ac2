"""Tests of mixed_loss: λ·L(y_a) + (1−λ)·L(y_b) for any criterion, one λ or one per sample (arXiv 1710.09412)."""

import doctest

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import vicinal.core.losses
from vicinal import mixed_loss, mixup, mixup_cross_entropy


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_docstring_examples():
    result = doctest.testmod(vicinal.core.losses, raise_on_error=False)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("per_sample", [False, True])
def test_with_cross_entropy_it_is_the_two_label_mixup_loss(per_sample):
    x, y = torch.randn(10, 3, generator=gen()), torch.randint(0, 5, (10,), generator=gen(1))
    logits = torch.randn(10, 5, generator=gen(2))
    batch = mixup(x, y, alpha=1.0, num_classes=5, per_sample=per_sample, generator=gen(3))
    criterion = nn.CrossEntropyLoss(reduction="none" if per_sample else "mean")
    loss = mixed_loss(criterion, logits, y, y[batch.index], batch.lam)
    torch.testing.assert_close(loss.mean(), mixup_cross_entropy(logits, y, y[batch.index], batch.lam))


@pytest.mark.parametrize("per_sample", [False, True])
def test_multi_label_bce_equals_bce_on_the_mixed_targets(per_sample):
    # BCE is linear in its target, so mixing the losses is mixing the targets.
    y = (torch.rand(8, 6, generator=gen()) < 0.3).float()
    logits = torch.randn(8, 6, generator=gen(1), requires_grad=True)
    batch = mixup(torch.randn(8, 2, generator=gen(2)), y, alpha=1.0, per_sample=per_sample, generator=gen(3))
    loss = mixed_loss(nn.BCEWithLogitsLoss(reduction="none"), logits, y, y[batch.index], batch.lam)
    assert loss.shape == (8, 6)
    expected = F.binary_cross_entropy_with_logits(logits, batch.targets, reduction="none")
    torch.testing.assert_close(loss, expected)
    loss.mean().backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()


def test_a_focal_loss_of_ones_own_is_weighted_per_sample():
    def focal(logits, target, gamma=2.0):
        log_p = F.log_softmax(logits, 1).gather(1, target[:, None]).squeeze(1)
        return -((1 - log_p.exp()) ** gamma) * log_p

    logits, y_a, y_b = torch.randn(4, 3, generator=gen()), torch.tensor([0, 1, 2, 0]), torch.tensor([1, 1, 0, 2])
    lam = torch.tensor([1.0, 0.0, 0.25, 0.5])
    torch.testing.assert_close(mixed_loss(focal, logits, y_a, y_b, lam),
                               lam * focal(logits, y_a) + (1 - lam) * focal(logits, y_b))


def test_per_sample_lambda_needs_per_sample_losses():
    logits, y = torch.randn(4, 3, generator=gen()), torch.tensor([0, 1, 2, 0])
    with pytest.raises(ValueError, match="reduction='none'"):
        mixed_loss(F.cross_entropy, logits, y, y, torch.full((4,), 0.5))
    with pytest.raises(ValueError, match="lam"):
        mixed_loss(F.cross_entropy, logits, y, y, torch.ones(2, 2))
    with pytest.raises(ValueError, match="lam"):
        mixed_loss(F.cross_entropy, logits, y, y, float("nan"))
    with pytest.raises(ValueError, match="criterion"):
        mixed_loss("cross_entropy", logits, y, y, 0.5)


@pytest.mark.parametrize("lam", [2.0, -0.5, torch.tensor([0.5, 1.5, 0.0, 0.0]), "0.5", torch.tensor(True)])
def test_lambda_outside_zero_one_or_no_number_is_refused(lam):
    logits, y = torch.randn(4, 3, generator=gen()), torch.tensor([0, 1, 2, 0])
    with pytest.raises(ValueError, match="lam.* is invalid"):
        mixed_loss(nn.CrossEntropyLoss(reduction="none"), logits, y, y, lam)


@pytest.mark.parametrize("criterion", [lambda output, target: 1.0, lambda output, target: None])
def test_a_criterion_that_returns_no_tensor_is_refused(criterion):
    logits, y = torch.randn(4, 3, generator=gen()), torch.arange(4) % 3
    with pytest.raises(ValueError, match=r"type\(criterion\(output, y_a\)\)=.* is invalid: expected a torch.Tensor"):
        mixed_loss(criterion, logits, y, y.flip(0), 0.5)
