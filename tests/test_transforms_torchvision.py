"""torchvision's own tests of v2 `MixUp` / `CutMix`, ported onto vicinal.transforms (arXiv 1710.09412, 1905.04899).

Source: pytorch/vision, test/test_transforms_v2.py, class `TestCutMixMixUp` and the function
`test_labels_getter_default_heuristic` (with the 2-D label cases of pull request #8427, "Enable
one-hot-encoded labels in MixUp and CutMix"), rewritten here. What changed, and why:
- torchvision's tensor types (`tv_tensors.Image`, `Mask`, `BoundingBoxes`) do not exist without
  torchvision (which does not import beside this CPU torch): the "unsupported input" case keeps the PIL
  image and a plain tensor in place of the mask and boxes; every other input is a plain tensor, as in
  torchvision's own tests;
- the error messages are vicinal's (`name=value is invalid: expected ...`): each `match=` names the
  value at fault rather than torchvision's sentence;
- `test_cpu_vs_gpu` needs CUDA and is not ported; the private `_find_labels_default_heuristic` is
  vicinal's public `find_labels`.
Added beside them: the dtype and multi-hot cases of torchvision's `_mixup_label` (2-D labels mixed as
given; floating ones keep their dtype, integer ones become float32), checked against its formula.
"""

import pytest
import torch
from torch.utils.data import DataLoader, default_collate

from vicinal.transforms import CutMix, MixUp, find_labels

TRANSFORMS = [CutMix, MixUp]


class LabelledImages:
    """`size` random 3×100×100 images; image i has label i (unique in a batch), as an index or one-hot row."""

    def __init__(self, size: int, num_classes: int, *, one_hot: bool) -> None:
        assert size < num_classes
        self.size, self.num_classes, self.one_hot = size, num_classes, one_hot
        self.generator = torch.Generator().manual_seed(0)

    def __getitem__(self, i: int):
        image = torch.rand(3, 100, 100, generator=self.generator)
        label = torch.nn.functional.one_hot(torch.tensor(i), self.num_classes) if self.one_hot else i
        return image, label

    def __len__(self) -> int:
        return self.size


@pytest.mark.parametrize("one_hot", [False, True], ids=["indices", "one-hot"])
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_every_supported_input_structure(transform, one_hot):
    batch_size, num_classes = 32, 100
    dataset = LabelledImages(batch_size, num_classes, one_hot=one_hot)
    mix = transform(num_classes=num_classes, seed=0)
    loader = DataLoader(dataset, batch_size=batch_size)

    images, labels = next(iter(loader))
    image_shape = images.shape[-3:]
    assert labels.shape == ((batch_size, num_classes) if one_hot else (batch_size,))

    def check(images, labels):
        assert images.shape == (batch_size, *image_shape)
        assert labels.shape == (batch_size, num_classes)
        torch.testing.assert_close(labels.sum(dim=-1), torch.ones(batch_size))
        assert bool(((labels != 0).sum(dim=-1) == 2).all())  # each row: its own class and its partner's

    check(*mix(images, labels))  # unpacked, after the DataLoader
    packed = next(iter(loader))
    assert isinstance(packed, list)
    check(*mix(packed))  # packed, as the DataLoader gives it

    for collate_fn in (lambda batch: mix(default_collate(batch)), lambda batch: mix(*default_collate(batch))):
        check(*next(iter(DataLoader(dataset, batch_size=batch_size, collate_fn=collate_fn))))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_errors(transform):
    PIL = pytest.importorskip("PIL.Image")
    num_classes, batch_size = 10, 9
    images = torch.rand(batch_size, 3, 12, 12, generator=torch.Generator().manual_seed(0))
    mix = transform(alpha=0.5, num_classes=num_classes, seed=0)

    for bad_input in (PIL.new("RGB", (12, 12)), torch.rand(12, 12)):  # torchvision: a PIL image, a mask, boxes
        with pytest.raises(ValueError, match="invalid"):
            mix(bad_input)
    with pytest.raises(ValueError, match="keys"):  # no labels to be found
        mix({"img": images, "Nothing_else": 3})
    with pytest.raises(ValueError, match=r"labels=\(9, 3, 12, 12\)"):  # the images alone: taken for the labels
        mix(images)
    with pytest.raises(ValueError, match="inputs=str"):
        mix(images, "not_a_tensor")
    with pytest.raises(ValueError, match="num_classes=10"):  # 2-D labels with another number of classes
        mix(images, torch.randint(0, 2, size=(batch_size, num_classes + 1)))
    with pytest.raises(ValueError, match=r"labels=\(2, 3, 4\)"):
        mix(images, torch.randint(0, 2, size=(2, 3, 4)))
    with pytest.raises(ValueError, match=r"images of shape \(1, 1, 9, 3, 12, 12\)"):
        mix(images[None, None], torch.randint(0, num_classes, size=(batch_size,)))
    with pytest.raises(ValueError, match="batch size of the labels"):
        mix(images, torch.randint(0, num_classes, size=(batch_size + 1,)))
    with pytest.raises(ValueError, match="num_classes=None"):  # class indices need num_classes
        transform(alpha=0.5, seed=0)(images, torch.randint(0, num_classes, size=(batch_size,)))


@pytest.mark.parametrize("second", TRANSFORMS)
@pytest.mark.parametrize("first", TRANSFORMS)
def test_two_in_a_row_mix_the_mixed_labels_again(first, second):
    """A Compose of two: the second takes the first's (B, C) labels as given (torchvision since 2-D labels)."""
    num_classes, batch_size = 10, 9
    images = torch.rand(batch_size, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(batch_size)
    mixed_once = first(num_classes=num_classes, seed=1)(images, labels)
    out_images, out_labels = second(num_classes=num_classes, seed=2)(*mixed_once)
    assert out_images.shape == images.shape and out_labels.shape == (batch_size, num_classes)
    torch.testing.assert_close(out_labels.sum(dim=-1), torch.ones(batch_size))
    assert int((out_labels != 0).sum(dim=-1).max()) <= 3  # rows i, i − 1 and i − 2


@pytest.mark.parametrize("key", ["labels", "LABELS", "LaBeL", "SOME_WEIRD_KEY_THAT_HAS_LABeL_IN_IT"])
@pytest.mark.parametrize("sample_type", [tuple, list, dict])
def test_the_default_labels_getter_finds_label_like_keys(key, sample_type):
    labels = torch.arange(10)
    sample = {key: labels, "another_key": "whatever"}
    if sample_type is not dict:
        sample = sample_type((None, sample, "whatever_again"))
    assert find_labels(sample) is labels
    if key.lower() != "labels":  # an exact "labels" key (any case) wins over other label-like keys
        assert find_labels({key: "something_else", "labels": labels}) is labels


def torchvision_label_mix(labels: torch.Tensor, lam: float) -> torch.Tensor:
    """torchvision's `_mixup_label` for (B, C) labels: float if integer, then lam·y + (1 − lam)·y.roll(1)."""
    labels = labels if labels.is_floating_point() else labels.float()
    return labels.roll(1, 0) * (1.0 - lam) + labels * lam


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.float32, torch.int64, torch.uint8])
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_two_dimensional_labels_are_mixed_as_given_in_their_dtype(transform, dtype):
    generator = torch.Generator().manual_seed(3)
    images = torch.rand(6, 3, 8, 8, generator=generator)
    multi_hot = torch.randint(0, 2, (6, 5), generator=generator)
    multi_hot[0] = 0  # an empty row, and rows of several classes: not probabilities
    multi_hot[1] = 1
    labels = multi_hot.to(dtype) * (3 if dtype.is_floating_point else 1)
    out_images, out = transform(num_classes=5, seed=4)(images, labels)
    assert out.dtype == (dtype if dtype.is_floating_point else torch.float32)
    if transform is MixUp:
        lam = ((out_images - images.roll(1, 0)) / (images - images.roll(1, 0))).median().item()
    else:
        lam = (out_images == images).all(dim=1)[0].float().mean().item()  # the kept share of the one box
    tolerance = dict(atol=1e-2, rtol=1e-2) if dtype == torch.float16 else dict(atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out, torchvision_label_mix(labels, lam), **tolerance)
    assert torch.equal(labels, multi_hot.to(dtype) * (3 if dtype.is_floating_point else 1))  # not changed
