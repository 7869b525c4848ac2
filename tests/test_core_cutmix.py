"""Tests of cutmix() (Yun et al., arXiv 1905.04899): pasted pixels, the corrected λ, options and errors."""

import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vicinal import cutmix, sample_boxes


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def images(shape, dtype=torch.float32, seed=0):
    """Every pixel value unique, so the source of each output pixel can be told."""
    x = torch.randperm(torch.Size(shape).numel(), generator=gen(seed)).reshape(shape).to(dtype)
    y = torch.arange(shape[0]) % 4
    return x, y


def from_partner(x, out):
    """Mask (B, H, W) of pixels taken from the partner; every pixel must come from one of the two."""
    height, width = x.shape[-2:]
    same = (out.inputs == x).reshape(x.shape[0], -1, height, width).all(1)
    other = (out.inputs == x[out.index]).reshape(x.shape[0], -1, height, width).all(1)
    assert (same | other).all(), "a pixel comes neither from the image nor from its partner"
    return other & ~same


@settings(max_examples=25, deadline=None)
@given(
    shape=st.sampled_from([(5, 1, 8, 8), (4, 3, 7, 9), (3, 6, 5), (2, 2, 2, 6, 6), (1, 1, 4, 4)]),
    alpha=st.sampled_from([0.0, 0.3, 1.0, 4.0]),
    per_sample=st.booleans(),
    seed=st.integers(0, 500),
)
def test_cutmix_pixels_and_corrected_lambda(shape, alpha, per_sample, seed):
    x, y = images(shape, seed=seed)
    x0 = x.clone()
    out = cutmix(x, y, alpha=alpha, num_classes=4, per_sample=per_sample, generator=gen(seed))
    assert torch.equal(x, x0)
    assert out.inputs.shape == x.shape and out.inputs.dtype == x.dtype
    assert out.lam.shape == ((shape[0],) if per_sample else ())
    pasted = from_partner(x, out)
    moved = out.index != torch.arange(shape[0])
    kept = 1 - pasted.flatten(1).float().mean(1)
    # λ is the share of pixels kept (rows paired with themselves cannot show the paste).
    torch.testing.assert_close(kept[moved], (out.lam if per_sample else out.lam.expand(shape[0]))[moved])
    onehot = torch.nn.functional.one_hot(y, 4).float()
    lam = out.lam.reshape(-1, 1) if per_sample else out.lam
    torch.testing.assert_close(out.targets, lam * onehot + (1 - lam) * onehot[out.index])
    if alpha == 0:
        assert torch.equal(out.inputs, x) and (out.lam == 1).all()


def test_pasted_region_is_one_rectangle():
    x, y = images((6, 3, 16, 16))
    out = cutmix(x, y, alpha=1.0, num_classes=4, per_sample=True, generator=gen(3))
    for mask in from_partner(x, out):
        if mask.any():
            rows, cols = mask.any(1).nonzero().squeeze(1), mask.any(0).nonzero().squeeze(1)
            box = mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
            assert box.all() and mask.sum() == box.numel()


def test_boxes_are_clipped_and_lambda_follows_the_clip():
    lam = torch.full((2000,), 0.5)
    boxes, kept = sample_boxes(lam, 10, 20, generator=gen())
    top, left, bottom, right = boxes.unbind(-1)
    assert ((0 <= top) & (top <= bottom) & (bottom <= 10) & (0 <= left) & (left <= right) & (right <= 20)).all()
    torch.testing.assert_close(kept, 1 - ((bottom - top) * (right - left)).float() / 200)
    assert (kept >= 0.5 - 1e-6).all() and (kept > 0.5).any(), "clipping only ever shrinks the box"
    # The unclipped box has area (1 − λ)·H·W up to rounding, so the mean kept share is near λ.
    assert kept.mean().item() == pytest.approx(0.5, abs=0.2)


@pytest.mark.parametrize("per_sample", [False, True])
def test_inplace_and_out_match_the_fresh_result(per_sample):
    x, y = images((5, 2, 6, 6))
    fresh = cutmix(x, y, alpha=1.0, num_classes=4, per_sample=per_sample, generator=gen(9))
    buffer = torch.empty_like(x)
    into = cutmix(x, y, alpha=1.0, num_classes=4, per_sample=per_sample, generator=gen(9), out=buffer)
    mutable = x.clone()
    inplace = cutmix(mutable, y, alpha=1.0, num_classes=4, per_sample=per_sample, generator=gen(9), inplace=True)
    assert into.inputs.data_ptr() == buffer.data_ptr() and inplace.inputs.data_ptr() == mutable.data_ptr()
    assert torch.equal(buffer, fresh.inputs) and torch.equal(mutable, fresh.inputs)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.bfloat16, torch.float16])
def test_dtype_is_kept(dtype):
    x, y = images((4, 1, 8, 8), torch.float32)
    x = (x % 200).to(dtype)
    out = cutmix(x, y, alpha=1.0, num_classes=4, generator=gen(1))
    assert out.inputs.dtype == dtype


def test_same_seed_same_boxes():
    x, y = images((8, 3, 12, 12))
    a, b, c = (cutmix(x, y, alpha=1.0, num_classes=4, generator=gen(s)) for s in (5, 5, 6))
    assert torch.equal(a.inputs, b.inputs) and not torch.equal(a.inputs, c.inputs)


def test_cutmix_errors():
    y = torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match="x.shape=\\(4, 8\\) is invalid: expected \\(B, ..., H, W\\) for cutmix"):
        cutmix(torch.zeros(4, 8), y, alpha=1.0, num_classes=2)
    with pytest.raises(ValueError, match="alpha=-2 is invalid: expected a finite number >= 0"):
        cutmix(torch.zeros(4, 1, 4, 4), y, alpha=-2, num_classes=2)
    message = re.escape("y.shape=(4,) is invalid: expected the batch size of x.shape=(3, 1, 4, 4)")
    with pytest.raises(ValueError, match=message):
        cutmix(torch.zeros(3, 1, 4, 4), y, alpha=1.0, num_classes=2)
    with pytest.raises(ValueError, match="num_classes=None is invalid: expected the number of classes"):
        cutmix(torch.zeros(4, 1, 4, 4), y, alpha=1.0)


@pytest.mark.parametrize("per_sample", [False, True])
def test_an_empty_image_plane_is_refused(per_sample):
    message = re.escape("(height, width)=(0, 0) is invalid: expected an image plane of at least 1x1")
    with pytest.raises(ValueError, match=message):
        cutmix(torch.zeros(4, 3, 0, 0), torch.zeros(4, dtype=torch.long), alpha=1.0, num_classes=2,
               per_sample=per_sample)


def test_sample_boxes_checks_its_inputs():
    with pytest.raises(ValueError, match="\\(height, width\\)=\\(0, 5\\) is invalid"):
        sample_boxes(torch.full((3,), 0.5), 0, 5, generator=gen())
    message = re.escape("(lam.min(), lam.max())=(0.5, 1.5) is invalid: expected values in [0, 1]")
    with pytest.raises(ValueError, match=message):
        sample_boxes(torch.tensor([0.5, 1.5]), 4, 4, generator=gen())
    with pytest.raises(ValueError, match="generator=None is invalid"):
        sample_boxes(torch.full((3,), 0.5), 4, 4, generator=None)


@pytest.mark.parametrize("per_sample", [False, True])
def test_gradients_flow_through_the_paste(per_sample):
    x, y = images((5, 2, 6, 6))
    x.requires_grad_(True)
    out = cutmix(x, y, alpha=1.0, num_classes=4, per_sample=per_sample, generator=gen(4))
    assert torch.equal(out.inputs.detach(), cutmix(x.detach(), y, alpha=1.0, num_classes=4, per_sample=per_sample,
                                                   generator=gen(4)).inputs)
    weights = torch.randn(x.shape, generator=gen(5))
    (out.inputs * weights).sum().backward()
    # The paste by hand: each output pixel is the image's own or its partner's, so the gradient routes back there.
    pasted = from_partner(x.detach(), out).unsqueeze(1).expand_as(x)
    expected = torch.where(pasted, 0.0, weights).index_add(0, out.index, torch.where(pasted, weights, 0.0))
    torch.testing.assert_close(x.grad, expected)
