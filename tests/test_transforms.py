"""vicinal.transforms.MixUp / CutMix against torchvision v2's documented behaviour (arXiv 1710.09412, 1905.04899).

torchvision cannot be imported beside the CPU build of torch here, so the tests check what its
documentation and source promise: the calling convention (batches after `default_collate`, tuple or
dict in, the same structure out), keyword-only `alpha` (default 1), `num_classes` (None only for
probability labels), `labels_getter`, consecutive pairing (row i with row i − 1), soft labels
(B, num_classes) out, and ValueErrors for bad labels and images.
"""

import random

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, default_collate

from vicinal.transforms import CutMix, MixUp

B, CLASSES = 6, 5


def batch(dtype=torch.float32):
    g = torch.Generator().manual_seed(0)
    images = torch.rand(B, 3, 8, 8, generator=g).to(dtype)
    return images, torch.tensor([0, 1, 2, 3, 4, 0])


def test_mixup_pairs_each_row_with_the_previous_one_with_one_lambda():
    images, labels = batch()
    out_images, out_labels = MixUp(num_classes=CLASSES, seed=0)(images, labels)
    assert out_labels.shape == (B, CLASSES) and out_labels.dtype == torch.float32
    lam = out_labels[1, 1].item()
    previous = images.roll(1, 0)
    torch.testing.assert_close(out_images, lam * images + (1 - lam) * previous)
    expected = lam * torch.eye(CLASSES)[labels] + (1 - lam) * torch.eye(CLASSES)[labels.roll(1, 0)]
    torch.testing.assert_close(out_labels, expected)


def test_cutmix_pastes_one_box_from_the_previous_image_and_mixes_labels_with_the_kept_share():
    images, labels = batch()
    for seed in range(5):
        out_images, out_labels = CutMix(num_classes=CLASSES, seed=seed)(images, labels)
        from_previous = (out_images == images.roll(1, 0)).all(dim=1)  # (B, H, W): pixels taken from row i − 1
        from_self = (out_images == images).all(dim=1)
        assert bool((from_previous ^ from_self).all())  # the random images tell every pixel's source apart
        assert bool((from_previous == from_previous[0]).all())  # one box for the whole batch
        kept = from_self[0].float().mean().item()
        expected = kept * torch.eye(CLASSES)[labels] + (1 - kept) * torch.eye(CLASSES)[labels.roll(1, 0)]
        torch.testing.assert_close(out_labels, expected)


@pytest.mark.parametrize("transform", [MixUp, CutMix])
def test_the_structure_given_is_the_structure_returned(transform):
    images, labels = batch()
    t = transform(num_classes=CLASSES, seed=0)
    extra = torch.arange(B)
    assert isinstance(t((images, labels)), tuple) and isinstance(t([images, labels]), list)
    out = t(images, labels, extra, "note")
    assert len(out) == 4 and out[2] is extra and out[3] == "note"
    out = t({"image": images, "labels": labels, "boxes": extra})
    assert list(out) == ["image", "labels", "boxes"] and out["boxes"] is extra
    assert out["labels"].shape == (B, CLASSES) and out["image"].shape == images.shape
    out = t(images, {"labels": labels})  # labels inside a dict second item
    assert out[1]["labels"].shape == (B, CLASSES)
    out = t({"img": images, "class_label": labels})  # the first "label"-like key
    assert out["class_label"].shape == (B, CLASSES)


def test_labels_getter_receives_the_input_and_finds_the_labels():
    images, labels = batch()
    seen = []

    def getter(inputs):
        seen.append(inputs)
        return inputs["y"]

    out = MixUp(num_classes=CLASSES, labels_getter=getter, seed=0)({"x": images, "y": labels})
    assert seen[0]["y"] is labels and out["y"].shape == (B, CLASSES)


def test_probability_labels_need_no_num_classes_and_are_mixed_as_given():
    images, labels = batch()
    probabilities = torch.softmax(torch.randn(B, 7, generator=torch.Generator().manual_seed(1)), dim=1).double()
    _, out = MixUp(seed=0)(images, probabilities)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out.sum(1), torch.ones(B, dtype=torch.float64))
    _, out = CutMix(num_classes=CLASSES, seed=0)(images, torch.eye(CLASSES, dtype=torch.long)[labels])
    assert out.dtype == torch.float32 and torch.allclose(out.sum(1), torch.ones(B))


def test_videos_and_uint8_images_for_cutmix():
    g = torch.Generator().manual_seed(2)
    videos = torch.rand(B, 4, 3, 8, 8, generator=g)
    out, _ = MixUp(num_classes=CLASSES, seed=0)(videos, batch()[1])
    assert out.shape == videos.shape
    images = torch.randint(0, 256, (B, 3, 8, 8), dtype=torch.uint8, generator=g)
    out, _ = CutMix(num_classes=CLASSES, seed=0)(images, batch()[1])
    assert out.dtype == torch.uint8


def test_options_are_keyword_only_with_torchvisions_defaults():
    with pytest.raises(TypeError):
        MixUp(1.0)
    t = CutMix()
    assert t.alpha == 1.0 and t.num_classes is None


@pytest.mark.parametrize("transform", [MixUp, CutMix])
def test_bad_labels_and_images_raise_value_errors(transform):
    images, labels = batch()
    t = transform(num_classes=CLASSES, seed=0)
    with pytest.raises(ValueError, match="num_classes"):
        transform(seed=0)(images, labels)
    with pytest.raises(ValueError, match="num_classes"):
        t(images, torch.eye(CLASSES + 1)[labels])
    with pytest.raises(ValueError, match="labels"):
        t(images, labels.view(B, 1, 1))
    with pytest.raises(ValueError, match="labels"):
        t(images, [0] * B)
    with pytest.raises(ValueError, match="images"):
        t(images[0], labels)
    with pytest.raises(ValueError, match="images"):
        t(images[:3], labels)
    with pytest.raises(ValueError, match="labels_getter"):
        transform(labels_getter="labels")
    with pytest.raises(ValueError, match="labels"):
        transform(num_classes=CLASSES, labels_getter=None)(images, labels)
    with pytest.raises(ValueError, match="alpha"):
        transform(alpha=-1.0)


def test_mixup_refuses_integer_images():
    images, labels = batch(torch.uint8)
    with pytest.raises(ValueError, match="floating"):
        MixUp(num_classes=CLASSES, seed=0)(images, labels)


def test_after_default_collate_inside_a_random_choice_between_the_two():
    g = torch.Generator().manual_seed(3)
    dataset = [(torch.rand(3, 8, 8, generator=g), i % CLASSES) for i in range(24)]
    transforms = [CutMix(num_classes=CLASSES, seed=1), MixUp(num_classes=CLASSES, seed=2)]
    chooser = random.Random(0)

    def random_choice(*inputs):  # as torchvision's RandomChoice: one of the transforms, called with the inputs
        return chooser.choice(transforms)(*inputs)

    def collate_fn(samples):
        return random_choice(*default_collate(samples))

    for images, labels in DataLoader(dataset, batch_size=8, shuffle=True, collate_fn=collate_fn,
                                     generator=torch.Generator().manual_seed(0)):
        assert images.shape == (8, 3, 8, 8) and labels.shape == (8, CLASSES)
        torch.testing.assert_close(labels.sum(1), torch.ones(8))
        assert int((labels > 0).sum(1).max()) <= 2  # at most two classes per row


def test_a_seed_fixes_the_draws_without_touching_the_global_rng_or_the_inputs():
    images, labels = batch()
    before, state = images.clone(), torch.get_rng_state()
    first = CutMix(num_classes=CLASSES, seed=4)(images, labels)
    second = CutMix(num_classes=CLASSES, generator=torch.Generator().manual_seed(4))(images, labels)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert torch.equal(images, before) and torch.equal(torch.get_rng_state(), state)


def test_dataloader_workers_draw_differently():
    # The two batches hold the same samples and go to different workers: only the draws can tell them apart.
    dataset = [(np.full((1, 4, 4), i % 4, dtype=np.float32), i % 4) for i in range(8)]
    mix = MixUp(num_classes=4, seed=0)
    loader = DataLoader(dataset, batch_size=4, num_workers=2, collate_fn=lambda s: mix(*default_collate(s)))
    first, second = [labels for _, labels in loader]
    assert not torch.equal(first, second)


@pytest.mark.parametrize("transform", [MixUp, CutMix])
def test_bad_label_values_class_counts_and_seeds_raise_value_errors(transform):
    images, _ = batch()
    rows = torch.full((B, CLASSES), 0.5)  # rows summing to 2.5: not probabilities
    with pytest.raises(ValueError, match=r"y\[0\].sum\(\)=2.5"):
        transform(seed=0)(images, rows)
    negative = torch.eye(CLASSES)[batch()[1]]
    negative[2, 0] = -1.0
    with pytest.raises(ValueError, match=r"labels\[2\]"):
        transform(num_classes=CLASSES, seed=0)(images, negative)
    with pytest.raises(ValueError, match=r"labels\[0\]"):
        transform(num_classes=CLASSES, seed=0)(images, torch.full((B, CLASSES), float("nan")))
    with pytest.raises(ValueError, match="num_classes=1000000000"):
        transform(num_classes=10**9)
    with pytest.raises(ValueError, match="seed='a'"):
        transform(seed="a")
