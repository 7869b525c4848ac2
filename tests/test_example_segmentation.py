"""The segmentation example (examples/segmentation.py) trains and evaluates, at a small size, with each method."""

import importlib.util
from pathlib import Path

import pytest
import torch

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "segmentation.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("segmentation_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("method", ["cutmix", "mixup", "none"])
def test_the_example_learns_at_a_small_size(example, method, capsys):
    result = example.main(["--method", method, "--size", "16", "--steps", "40", "--batch-size", "16",
                           "--train-size", "128", "--test-size", "32", "--quiet"])
    assert result["last_loss"] < result["first_loss"]
    assert 0.0 <= result["miou"] <= result["pixel_accuracy"] <= 1.0
    assert f"{method}: test pixel accuracy" in capsys.readouterr().out


def test_generated_masks_mark_shape_edges_as_ignored(example):
    images, masks = example.make_shapes(16, 20, generator=torch.Generator().manual_seed(0))
    assert images.shape == (16, 3, 20, 20) and masks.shape == (16, 20, 20)
    assert set(masks.unique().tolist()) == {0, 1, 2, example.IGNORE}
    assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0
