"""Tests of the laws of FMix, ResizeMix, C-Mixup and RegMixup (arXiv 2002.12047, 2012.11101, 2210.05775, 2206.14502)."""

import math
import re

import pytest
import torch
import torch.nn.functional as F

from vicinal import c_mixup, fmix, regmixup, regmixup_cross_entropy, resizemix, sample_fmix_masks


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def unique_images(shape, seed=0):
    """Every value unique, so the source of each output value can be told."""
    x = torch.randperm(torch.Size(shape).numel(), generator=gen(seed)).reshape(shape).float()
    return x, torch.arange(shape[0]) % 4


def taken_from_partner(x, out, dims):
    """Mask (B, *last dims) of values taken from the partner; every value must come from one of the two."""
    plane = x.shape[x.ndim - dims:]
    same = (out.inputs == x).reshape(x.shape[0], -1, *plane).all(1)
    other = (out.inputs == x[out.index]).reshape(x.shape[0], -1, *plane).all(1)
    assert (same | other).all(), "a value comes neither from the row nor from its partner"
    return other & ~same


def one_hot_mix(y, out, classes=4):
    onehot = F.one_hot(y, classes).float()
    lam = out.lam.reshape(-1, 1) if out.lam.ndim else out.lam
    return lam * onehot + (1 - lam) * onehot[out.index]


# FMix


@pytest.mark.parametrize("shape", [(97,), (32, 32), (7, 9), (6, 5, 4)])
def test_fmix_mask_mean_is_lambda_to_half_a_pixel(shape):
    lam = torch.rand(50, generator=gen(1))
    masks, kept = sample_fmix_masks(lam, shape, generator=gen(2))
    assert masks.dtype == torch.bool and masks.shape == (50, *shape)
    pixels = math.prod(shape)
    mean = masks.flatten(1).double().mean(1)
    torch.testing.assert_close(kept.double(), mean, rtol=0, atol=1e-6)
    assert ((mean - lam.double()).abs() <= 0.5 / pixels + 1e-6).all()


def adjacent_changes(masks):
    """The share of horizontally or vertically adjacent pixel pairs whose mask values differ."""
    rows = (masks[:, 1:] != masks[:, :-1]).float().mean()
    cols = (masks[:, :, 1:] != masks[:, :, :-1]).float().mean()
    return ((rows + cols) / 2).item()


def test_fmix_masks_are_low_frequency_and_smoother_with_a_larger_decay():
    lam = torch.full((200,), 0.5)
    smooth = [adjacent_changes(sample_fmix_masks(lam, (32, 32), decay_power=d, generator=gen(3))[0]) for d in (1, 3, 5)]
    shuffled = torch.rand(200, 32, 32, generator=gen(4)) < 0.5  # a mask of the same mean with no spatial structure
    assert smooth[0] > smooth[1] > smooth[2]
    assert smooth[1] < 0.1 < 0.4 < adjacent_changes(shuffled)


@pytest.mark.parametrize("shape,dims", [((5, 2, 8, 8), 2), ((4, 3, 20), 1), ((3, 16), 1), ((2, 1, 4, 5, 6), 3)])
@pytest.mark.parametrize("per_sample", [False, True])
def test_fmix_takes_the_partner_outside_the_mask_and_lambda_is_the_kept_share(shape, dims, per_sample):
    x, y = unique_images(shape)
    x0 = x.clone()
    out = fmix(x, y, alpha=1.0, dims=dims, num_classes=4, per_sample=per_sample, generator=gen(5))
    assert torch.equal(x, x0) and out.inputs.shape == x.shape
    assert out.lam.shape == ((shape[0],) if per_sample else ())
    kept = 1 - taken_from_partner(x, out, dims).flatten(1).float().mean(1)
    moved = out.index != torch.arange(shape[0])
    torch.testing.assert_close(kept[moved], out.lam.expand(shape[0])[moved])
    torch.testing.assert_close(out.targets, one_hot_mix(y, out))


@pytest.mark.parametrize("per_sample", [False, True])
def test_fmix_inplace_and_out_match_the_fresh_result(per_sample):
    x, y = unique_images((6, 2, 8, 8))
    fresh = fmix(x, y, alpha=1.0, num_classes=4, per_sample=per_sample, generator=gen(6))
    buffer = torch.empty_like(x)
    fmix(x, y, alpha=1.0, num_classes=4, per_sample=per_sample, generator=gen(6), out=buffer)
    mutable = x.clone()
    fmix(mutable, y, alpha=1.0, num_classes=4, per_sample=per_sample, generator=gen(6), inplace=True)
    assert torch.equal(buffer, fresh.inputs) and torch.equal(mutable, fresh.inputs)


def test_fmix_keeps_the_dtype_and_takes_any_batch_size():
    for batch_size in (0, 1, 3):
        x = (torch.arange(batch_size * 64) % 250).reshape(batch_size, 1, 8, 8).to(torch.uint8)
        out = fmix(x, torch.zeros(batch_size, dtype=torch.long), alpha=1.0, num_classes=2, generator=gen())
        assert out.inputs.dtype == torch.uint8 and out.inputs.shape == x.shape


def test_fmix_errors():
    y = torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match=re.escape("x.shape=(4,) is invalid: expected (B, ...) with 1 mask dim")):
        fmix(torch.zeros(4), y, alpha=1.0, dims=1, num_classes=2)
    with pytest.raises(ValueError, match="dims=4 is invalid: expected 1, 2 or 3"):
        fmix(torch.zeros(4, 2, 2, 2, 2), y, alpha=1.0, dims=4, num_classes=2)
    with pytest.raises(ValueError, match="decay_power=0 is invalid: expected a finite number > 0"):
        fmix(torch.zeros(4, 1, 4, 4), y, alpha=1.0, decay_power=0, num_classes=2)
    with pytest.raises(ValueError, match=re.escape("(lam.min(), lam.max())=(0.5, 1.5) is invalid")):
        sample_fmix_masks(torch.tensor([0.5, 1.5]), (4, 4), generator=gen())


# ResizeMix


def constant_images(batch_size, height=12, width=16, channels=2):
    """Row i is the constant i + 1, so its resized copy is the same constant and its paste can be counted."""
    x = (torch.arange(batch_size, dtype=torch.float32) + 1).view(-1, 1, 1, 1).expand(-1, channels, height, width)
    return x.contiguous(), torch.arange(batch_size) % 4


@pytest.mark.parametrize("per_sample", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_resizemix_lambda_is_the_share_not_covered_by_the_pasted_partner(per_sample, seed):
    x, y = constant_images(7)
    out = resizemix(x, y, num_classes=4, per_sample=per_sample, generator=gen(seed))
    pasted = (out.inputs != x).all(1)  # (B, H, W): the partner's constant differs from the row's own
    moved = out.index != torch.arange(7)
    lam = out.lam.expand(7)
    torch.testing.assert_close(1 - pasted.flatten(1).float().mean(1)[moved], lam[moved])
    for mask in pasted[moved]:  # one rectangle of sides τ·(H, W), τ in the authors' range [0.1, 0.8]
        rows, cols = mask.any(1).nonzero().squeeze(1), mask.any(0).nonzero().squeeze(1)
        box = mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert box.all() and mask.sum() == box.numel()
        assert 0.1 - 0.5 / 12 <= box.shape[0] / 12 <= 0.8 + 0.5 / 12 and 0.1 - 0.5 / 16 <= box.shape[1] / 16 <= 0.85
    torch.testing.assert_close(out.targets, one_hot_mix(y, out))


def test_resizemix_pastes_the_whole_partner_resized():
    x, y = unique_images((5, 3, 20, 20))
    x0 = x.clone()
    out = resizemix(x, y, scale=(0.5, 0.5), num_classes=4, generator=gen(7))
    assert torch.equal(x, x0)
    changed = (out.inputs != x).any(1).any(0)
    rows, cols = changed.any(1).nonzero().squeeze(1), changed.any(0).nonzero().squeeze(1)
    top, left = rows.min().item(), cols.min().item()
    assert (rows.max() - top + 1, cols.max() - left + 1) == (10, 10)
    reference = F.interpolate(x[out.index], size=(10, 10), mode="bilinear", align_corners=False)
    torch.testing.assert_close(out.inputs[..., top : top + 10, left : left + 10], reference)
    assert out.lam.item() == pytest.approx(0.75)


@pytest.mark.parametrize("per_sample", [False, True])
def test_resizemix_inplace_and_out_match_the_fresh_result(per_sample):
    x, y = unique_images((6, 2, 9, 9))
    fresh = resizemix(x, y, num_classes=4, per_sample=per_sample, generator=gen(8))
    buffer = torch.empty_like(x)
    resizemix(x, y, num_classes=4, per_sample=per_sample, generator=gen(8), out=buffer)
    mutable = x.clone()
    resizemix(mutable, y, num_classes=4, per_sample=per_sample, generator=gen(8), inplace=True)
    assert torch.equal(buffer, fresh.inputs) and torch.equal(mutable, fresh.inputs)


@pytest.mark.parametrize("batch_size", [0, 1, 4])
def test_resizemix_keeps_integer_images_in_range_for_any_batch_size(batch_size):
    x = (torch.arange(batch_size * 3 * 64) % 256).reshape(batch_size, 3, 8, 8).to(torch.uint8)
    out = resizemix(x, torch.zeros(batch_size, dtype=torch.long), num_classes=2, per_sample=True, generator=gen())
    assert out.inputs.dtype == torch.uint8 and out.inputs.shape == x.shape


def test_resizemix_errors():
    y = torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match=re.escape("scale=(0.0, 0.5) is invalid: expected (low, high) with 0 < low")):
        resizemix(torch.zeros(4, 1, 4, 4), y, scale=(0.0, 0.5), num_classes=2)
    with pytest.raises(ValueError, match=re.escape("x.shape=(4, 8) is invalid: expected (B, ..., H, W)")):
        resizemix(torch.zeros(4, 8), y, num_classes=2)
    with pytest.raises(ValueError, match="interpolation='cubic' is invalid"):
        resizemix(torch.zeros(4, 1, 4, 4), y, interpolation="cubic", num_classes=2)


# C-Mixup


def test_c_mixup_partner_frequencies_follow_the_gaussian_kernel():
    y = torch.tensor([0.0, 0.4, 1.0, 2.5])
    bandwidth = 0.7
    weights = torch.tensor([[math.exp(-((a - b) ** 2) / (2 * bandwidth**2)) for b in y.tolist()] for a in y.tolist()])
    expected = weights / weights.sum(1, keepdim=True)
    g, draws = gen(9), 3000
    counts = torch.zeros(4, 4)
    x = torch.zeros(4, 1)
    for _ in range(draws):
        index = c_mixup(x, y, alpha=1.0, bandwidth=bandwidth, generator=g).index
        counts[torch.arange(4), index] += 1
    # Each frequency has a standard error of at most √(¼ / 3000) ≈ 0.009; 0.035 is about four of them.
    torch.testing.assert_close(counts / draws, expected, rtol=0, atol=0.035)


def test_c_mixup_mixes_inputs_and_targets_with_one_lambda():
    x, y = torch.randn(6, 3, generator=gen(10)), torch.randn(6, 2, generator=gen(11))
    x0, y0 = x.clone(), y.clone()
    out = c_mixup(x, y, alpha=2.0, bandwidth=1.0, per_sample=True, generator=gen(12))
    assert torch.equal(x, x0) and torch.equal(y, y0)
    lam = out.lam.view(-1, 1)
    torch.testing.assert_close(out.inputs, lam * x + (1 - lam) * x[out.index])
    torch.testing.assert_close(out.targets, lam * y + (1 - lam) * y[out.index])


def test_c_mixup_bandwidth_sets_how_near_the_partners_are():
    y = torch.arange(64, dtype=torch.float32) * 10
    narrow = c_mixup(torch.zeros(64, 1), y, alpha=1.0, bandwidth=0.1, generator=gen(13))
    assert torch.equal(narrow.index, torch.arange(64)), "labels 10 apart are never drawn at σ = 0.1"
    wide = c_mixup(torch.zeros(64, 1), y, alpha=1.0, bandwidth=1e6, generator=gen(13))
    assert (wide.index != torch.arange(64)).float().mean() > 0.8


def test_c_mixup_inplace_out_and_batch_sizes():
    x, y = torch.randn(5, 4, generator=gen(14)), torch.randn(5, generator=gen(15))
    fresh = c_mixup(x, y, alpha=1.0, generator=gen(16))
    mutable, buffer = x.clone(), torch.empty_like(x)
    c_mixup(mutable, y, alpha=1.0, generator=gen(16), inplace=True)
    c_mixup(x, y, alpha=1.0, generator=gen(16), out=buffer)
    assert torch.equal(mutable, fresh.inputs) and torch.equal(buffer, fresh.inputs)
    for batch_size in (0, 1):
        out = c_mixup(torch.zeros(batch_size, 2), torch.zeros(batch_size), alpha=1.0, generator=gen())
        assert out.inputs.shape == (batch_size, 2) and out.index.shape == (batch_size,)


def test_c_mixup_errors():
    with pytest.raises(ValueError, match="bandwidth=0 is invalid: expected a finite number > 0"):
        c_mixup(torch.zeros(3, 2), torch.zeros(3), alpha=1.0, bandwidth=0)
    with pytest.raises(ValueError, match="float regression targets"):
        c_mixup(torch.zeros(3, 2), torch.zeros(3, dtype=torch.long), alpha=1.0)
    with pytest.raises(ValueError, match="x.dtype=torch.int64 is invalid"):
        c_mixup(torch.zeros(3, 2, dtype=torch.long), torch.zeros(3), alpha=1.0)


# RegMixup


def test_regmixup_stacks_the_clean_batch_and_its_mixup_copy():
    x, y = torch.randn(6, 3, 4, generator=gen(17)), torch.arange(6) % 4
    x0 = x.clone()
    out = regmixup(x, y, num_classes=4, generator=gen(18))
    assert torch.equal(x, x0) and out.inputs.shape == (12, 3, 4) and out.targets.shape == (12, 4)
    assert torch.equal(out.inputs[:6], x)
    lam = out.lam
    torch.testing.assert_close(out.inputs[6:], lam * x + (1 - lam) * x[out.index])
    onehot = F.one_hot(y, 4).float()
    torch.testing.assert_close(out.targets, torch.cat([onehot, lam * onehot + (1 - lam) * onehot[out.index]]))


def test_regmixup_default_alpha_keeps_lambda_near_a_half():
    g = gen(19)
    lams = torch.stack([regmixup(torch.zeros(2, 1), torch.zeros(2, dtype=torch.long), num_classes=2,
                                 generator=g).lam for _ in range(500)])
    # Beta(20, 20) has standard deviation 1 / (2·√41) ≈ 0.078.
    assert lams.mean().item() == pytest.approx(0.5, abs=0.02) and lams.std().item() == pytest.approx(0.078, abs=0.01)


@pytest.mark.parametrize("eta", [0.0, 1.0, 2.5])
@pytest.mark.parametrize("per_sample", [False, True])
def test_regmixup_loss_is_clean_cross_entropy_plus_eta_times_the_mixup_loss(eta, per_sample):
    x, y = torch.randn(5, 3, generator=gen(20)), torch.tensor([0, 1, 2, 1, 0])
    batch = regmixup(x, y, num_classes=3, per_sample=per_sample, generator=gen(21))
    logits = torch.randn(10, 3, generator=gen(22))
    loss = regmixup_cross_entropy(logits, y, y[batch.index], batch.lam, eta=eta)
    log_p = logits.log_softmax(1)
    clean = -log_p[torch.arange(5), y].mean()
    lam = batch.lam.expand(5)
    mixed = log_p[5:]
    by_hand = -(lam * mixed[torch.arange(5), y] + (1 - lam) * mixed[torch.arange(5), y[batch.index]]).mean()
    torch.testing.assert_close(loss, clean + eta * by_hand)


def test_regmixup_gradients_flow_to_both_halves():
    x = torch.randn(4, 3, generator=gen(23), requires_grad=True)
    batch = regmixup(x, torch.arange(4) % 2, num_classes=2, generator=gen(24))
    batch.inputs.sum().backward()
    torch.testing.assert_close(x.grad, torch.full_like(x, 2.0))  # each row once clean, once spread over the mixes


def test_regmixup_errors():
    y = torch.zeros(3, dtype=torch.long)
    with pytest.raises(ValueError, match=re.escape("logits.shape=(5, 2) is invalid: expected (2B, C)")):
        regmixup_cross_entropy(torch.zeros(5, 2), y, y, 0.5)
    with pytest.raises(ValueError, match="eta=-1 is invalid: expected a finite number >= 0"):
        regmixup_cross_entropy(torch.zeros(6, 2), y, y, 0.5, eta=-1)
    with pytest.raises(ValueError, match=re.escape("y_a.shape=(3,) is invalid: expected (2,)")):
        regmixup_cross_entropy(torch.zeros(4, 2), y, y, 0.5)
    with pytest.raises(ValueError, match="x.dtype=torch.int64 is invalid"):
        regmixup(torch.zeros(3, 2, dtype=torch.long), y, num_classes=2)
