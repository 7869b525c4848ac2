"""Tests of segmentation mixing: per-pixel targets, one box for image and mask, the ignore index (arXiv 1710.09412)."""

import doctest
import re

import pytest
import torch
import torch.nn.functional as F

import vicinal.core.segmentation
from vicinal import (
    cutmix_segmentation,
    mixup_segmentation,
    sample_boxes,
    sample_lambda,
    sample_pairing,
    segmentation_cross_entropy,
    segmentation_targets,
)

B, H, W, CLASSES, IGNORE = 6, 12, 10, 4, 255


def data(seed=0, ignore_share=0.2):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(B, 3, H, W, generator=g)  # every pixel of every image differs from the others' (a.s.)
    masks = torch.randint(0, CLASSES, (B, H, W), generator=g)
    masks[torch.rand(B, H, W, generator=g) < ignore_share] = IGNORE
    return x, masks


def one_hot(masks):
    return segmentation_targets(masks, num_classes=CLASSES, ignore_index=IGNORE)


def test_docstring_examples():
    result = doctest.testmod(vicinal.core.segmentation, raise_on_error=False)
    assert result.attempted > 0 and result.failed == 0


def test_targets_are_one_hot_rows_with_zero_rows_where_ignored():
    _, masks = data()
    targets = one_hot(masks)
    assert targets.shape == (B, CLASSES, H, W) and targets.dtype == torch.float32
    valid = masks != IGNORE
    torch.testing.assert_close(targets.sum(1), valid.float())
    assert torch.equal(targets.argmax(1)[valid], masks[valid])
    smoothed = segmentation_targets(masks, num_classes=CLASSES, ignore_index=IGNORE, label_smoothing=0.2)
    torch.testing.assert_close(smoothed, (targets * 0.8 + 0.05) * valid[:, None])


@pytest.mark.parametrize("per_sample", [False, True])
def test_cutmix_pastes_the_drawn_box_pixel_exactly_into_image_and_mask(per_sample):
    x, masks = data(1)
    out = cutmix_segmentation(x, masks, alpha=1.0, num_classes=CLASSES, ignore_index=IGNORE, per_sample=per_sample,
                              generator=torch.Generator().manual_seed(7))
    # The documented draws, made again with the public samplers: λ, the partners, then the box(es).
    g = torch.Generator().manual_seed(7)
    lam = sample_lambda(1.0, size=(B,) if per_sample else (), generator=g)
    index = sample_pairing("permutation", batch_size=B, generator=g)
    boxes, kept = sample_boxes(lam, H, W, generator=g)
    assert torch.equal(out.index, index) and torch.equal(out.lam, kept)
    for i in range(B):
        top, left, bottom, right = (boxes[i] if per_sample else boxes).tolist()
        image, mask = x[i].clone(), masks[i].clone()
        image[:, top:bottom, left:right] = x[index[i], :, top:bottom, left:right]
        mask[top:bottom, left:right] = masks[index[i], top:bottom, left:right]
        assert torch.equal(out.inputs[i], image)
        assert torch.equal(out.targets[i], one_hot(mask[None])[0])


def test_every_pixels_target_is_the_label_of_the_pixel_it_came_from():
    x, masks = data(2)
    for seed in range(4):
        out = cutmix_segmentation(x, masks, alpha=1.0, num_classes=CLASSES, ignore_index=IGNORE, per_sample=True,
                                  pairing="flip", generator=torch.Generator().manual_seed(seed))
        from_partner = (out.inputs == x.flip(0)).all(1)  # (B, H, W)
        assert bool((from_partner ^ (out.inputs == x).all(1)).all())
        source = torch.where(from_partner, masks.flip(0), masks)
        assert torch.equal(out.targets, one_hot(source))  # an ignored pixel stays ignored where it lands
        torch.testing.assert_close(out.lam, 1 - from_partner.float().mean((1, 2)))


@pytest.mark.parametrize("per_sample", [False, True])
def test_mixup_mixes_pixels_and_targets_with_the_images_lambda(per_sample):
    x, masks = data(3)
    out = mixup_segmentation(x, masks, alpha=1.0, num_classes=CLASSES, ignore_index=IGNORE, per_sample=per_sample,
                             generator=torch.Generator().manual_seed(0))
    lam = out.lam.view(-1, 1, 1, 1) if per_sample else out.lam
    torch.testing.assert_close(out.inputs, lam * x + (1 - lam) * x[out.index])
    torch.testing.assert_close(out.targets, lam * one_hot(masks) + (1 - lam) * one_hot(masks[out.index]))
    # Each row's mass is the share of its sources that are labelled: 1 where both are, 0 where neither is.
    valid = (masks != IGNORE).float()[:, None]
    torch.testing.assert_close(out.targets.sum(1, keepdim=True), lam * valid + (1 - lam) * valid[out.index])


@pytest.mark.parametrize("method", [mixup_segmentation, cutmix_segmentation])
def test_rows_sum_to_one_per_pixel_without_an_ignore_index(method):
    x, masks = data(4, ignore_share=0.0)
    out = method(x, masks, alpha=0.4, num_classes=CLASSES, label_smoothing=0.1,
                 generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(out.targets.sum(1), torch.ones(B, H, W))


def test_the_loss_weighs_each_labelled_share_and_skips_the_ignored():
    x, masks = data(5)
    logits = torch.randn(B, CLASSES, H, W, generator=torch.Generator().manual_seed(5))
    unmixed = segmentation_cross_entropy(logits, one_hot(masks))
    torch.testing.assert_close(unmixed, F.cross_entropy(logits, masks, ignore_index=IGNORE))
    out = mixup_segmentation(x, masks, alpha=1.0, num_classes=CLASSES, ignore_index=IGNORE,
                             generator=torch.Generator().manual_seed(2))
    lam, partner = out.lam, masks[out.index]
    loss_a = F.cross_entropy(logits, masks, ignore_index=IGNORE, reduction="none")
    loss_b = F.cross_entropy(logits, partner, ignore_index=IGNORE, reduction="none")
    mass = lam * (masks != IGNORE) + (1 - lam) * (partner != IGNORE)
    expected = (lam * loss_a + (1 - lam) * loss_b).sum() / mass.sum()
    torch.testing.assert_close(segmentation_cross_entropy(logits, out.targets), expected)
    everything_ignored = torch.zeros(B, CLASSES, H, W)
    assert segmentation_cross_entropy(logits, everything_ignored).item() == 0.0


def test_inputs_are_copies_unless_inplace_and_uint8_images_cut():
    x, masks = data(6)
    before = x.clone()
    out = mixup_segmentation(x, masks, alpha=1.0, num_classes=CLASSES, ignore_index=IGNORE, generator=torch.Generator())
    assert torch.equal(x, before) and out.inputs.data_ptr() != x.data_ptr()
    out = cutmix_segmentation(x, masks, alpha=1.0, num_classes=CLASSES, ignore_index=IGNORE,
                              generator=torch.Generator().manual_seed(0), inplace=True)
    assert out.inputs is x and not torch.equal(x, before)
    images = (before * 255).to(torch.uint8)
    out = cutmix_segmentation(images, masks, alpha=1.0, num_classes=CLASSES, ignore_index=IGNORE,
                              generator=torch.Generator().manual_seed(0))
    assert out.inputs.dtype == torch.uint8


def test_bad_input_raises_value_errors():
    x, masks = data(7)
    common = dict(alpha=1.0, num_classes=CLASSES, ignore_index=IGNORE)
    with pytest.raises(ValueError, match="masks"):
        mixup_segmentation(x, masks[:, :-1], **common)
    with pytest.raises(ValueError, match="masks"):
        mixup_segmentation(x, masks[:-1], **common)
    with pytest.raises(ValueError, match="masks"):
        segmentation_targets(masks.float(), num_classes=CLASSES)
    with pytest.raises(ValueError, match=re.escape("(masks.min(), masks.max())=(0, 255) is invalid: expected")):
        segmentation_targets(masks, num_classes=CLASSES)  # 255 without ignore_index
    with pytest.raises(ValueError, match="pairing"):
        cutmix_segmentation(x, masks, pairing="same_class", **common)
    with pytest.raises(ValueError, match="floating"):
        mixup_segmentation((x * 255).to(torch.uint8), masks, **common)
    with pytest.raises(ValueError, match="ignore_index"):
        segmentation_targets(masks, num_classes=CLASSES, ignore_index=2.5)
    with pytest.raises(ValueError, match="targets"):
        segmentation_cross_entropy(torch.randn(B, CLASSES, H, W), torch.zeros(B, CLASSES, H))


@pytest.mark.parametrize("method", [mixup_segmentation, cutmix_segmentation])
@pytest.mark.parametrize("per_sample", [False, True])
def test_in_place_equals_out_of_place(method, per_sample):
    x, masks = data(8)
    options = dict(alpha=1.0, num_classes=CLASSES, ignore_index=IGNORE, per_sample=per_sample)
    fresh = method(x, masks, generator=torch.Generator().manual_seed(3), **options)
    mutable = x.clone()
    inplace = method(mutable, masks, generator=torch.Generator().manual_seed(3), inplace=True, **options)
    assert inplace.inputs.data_ptr() == mutable.data_ptr()
    assert torch.equal(inplace.inputs, fresh.inputs) and torch.equal(inplace.targets, fresh.targets)
    with pytest.raises(ValueError, match="inplace=True is invalid: expected False for an x that requires grad"):
        method(x.clone().requires_grad_(), masks, inplace=True, **options)


@pytest.mark.parametrize("dtype, ignore_index, values", [
    (torch.uint8, 256, [0, 1]),  # 256 would wrap to 0 in uint8: class-0 pixels ignored
    (torch.int8, 255, [0, 1]),  # 255 would wrap to −1 in int8
    (torch.uint8, -100, [0, 1]),  # F.cross_entropy's default ignore_index, which no uint8 mask holds
])
def test_an_ignore_index_the_mask_dtype_cannot_hold_matches_no_pixel(dtype, ignore_index, values):
    masks = torch.tensor([[values]], dtype=dtype)
    targets = segmentation_targets(masks, num_classes=2, ignore_index=ignore_index)
    assert torch.equal(targets, segmentation_targets(masks.long(), num_classes=2))  # every pixel keeps its class
    x = torch.rand(1, 1, 1, len(values))
    for method in (mixup_segmentation, cutmix_segmentation):
        out = method(x, masks, alpha=1.0, num_classes=2, ignore_index=ignore_index,
                     generator=torch.Generator().manual_seed(0))
        assert torch.allclose(out.targets.sum(1), torch.ones(1, 1, len(values)))  # no pixel lost its mass


def test_a_wrapped_value_is_no_label_an_int8_mask_of_minus_one_is_refused():
    with pytest.raises(ValueError, match=re.escape("(masks.min(), masks.max())=(-1, 0) is invalid")):
        segmentation_targets(torch.tensor([[[-1, 0]]], dtype=torch.int8), num_classes=2, ignore_index=255)


@pytest.mark.parametrize("low", [-1.0, float("nan")])
def test_the_loss_refuses_negative_or_nan_targets(low):
    targets = one_hot(data(9)[1])
    targets[0, 0, 0, 0] = low
    with pytest.raises(ValueError, match=r"targets.min\(\)=(-1.0|nan) is invalid: expected targets >= 0"):
        segmentation_cross_entropy(torch.randn(B, CLASSES, H, W), targets)


def test_a_class_count_over_the_cap_is_refused_before_any_allocation():
    with pytest.raises(ValueError, match=r"num_classes=1000000000 is invalid: expected an integer >= 1 and <= 10000 "):
        segmentation_targets(torch.zeros(1, 2, 2, dtype=torch.long), num_classes=10**9)
