"""Tests of vicinal.models: every model's forward/backward, mixup layers, registry errors, Normalize."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vicinal.models import MODELS, FastCNN, Normalize, build_model, is_model_name, list_models

# (in_channels, image_size) per model: small inputs, so the big models run fast.
SMALL_INPUTS = {
    "preact_resnet18": (3, 8), "wide_resnet28_10": (3, 8), "densenet_bc_190": (3, 8), "lenet": (1, 28),
    "vgg11": (3, 16), "fastcnn": (1, 28), "mlp": (None, 7),
}  # fmt: skip
# Parameter counts the papers report (mixup, arXiv 1710.09412, and the architecture papers), in millions.
PAPER_PARAMS_M = {"preact_resnet18": 11.2, "wide_resnet28_10": 36.5, "densenet_bc_190": 25.6}


def small_model_and_batch(name: str, *, num_classes: int = 5, batch: int = 2, dropout: float = 0.0, **options):
    channels, size = SMALL_INPUTS.get(name, (3, 8))
    gen = torch.Generator().manual_seed(0)
    if channels is None:  # tabular: size is the number of features
        model = build_model(name, num_classes=num_classes, in_features=size, dropout=dropout, **options)
        return model, torch.randn(batch, size, generator=gen)
    model = build_model(name, num_classes=num_classes, in_channels=channels, image_size=size, dropout=dropout, **options)
    return model, torch.randn(batch, channels, size, size, generator=gen)


def test_registry_lists_every_paper_model():
    assert set(SMALL_INPUTS) == set(list_models()) == set(MODELS)


@pytest.mark.parametrize("name", sorted(SMALL_INPUTS))
def test_forward_backward_on_a_tiny_batch(name):
    torch.manual_seed(0)  # weight initialisation only
    model, x = small_model_and_batch(name, num_classes=5, batch=3)
    x_before = x.clone()
    logits = model(x)
    assert logits.shape == (3, 5)
    assert torch.isfinite(logits).all()
    logits.logsumexp(dim=1).sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"parameters without a finite gradient: {missing[:5]}"
    assert torch.equal(x, x_before)
    if name in PAPER_PARAMS_M:
        millions = sum(p.numel() for p in model.parameters()) / 1e6
        assert millions == pytest.approx(PAPER_PARAMS_M[name], rel=0.02)


# Small variants of the big models (same classes, same layer names).
MIXUP_LAYER_CASES = [
    ("preact_resnet18", dict(width=8)), ("wide_resnet10_1", {}), ("densenet_bc_10", dict(growth_rate=4)),
    ("lenet", {}), ("vgg11", {}), ("fastcnn", dict(width=8)), ("mlp", {}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "options"), MIXUP_LAYER_CASES)
def test_every_mixup_layer_is_on_the_forward_path(name, options):
    """Each named layer runs once per forward, keeps the batch first, and changing its output changes the logits."""
    model, x = small_model_and_batch(name, **options)
    model.eval()
    reference = model(x)
    assert model.mixup_layers
    for layer_name in model.mixup_layers:
        layer = model.get_submodule(layer_name)
        seen = []

        def swap_rows(module, inputs, output, seen=seen):
            seen.append(output.shape)
            return output.flip(0)  # what manifold mixup does with λ = 0 and the flip pairing

        handle = layer.register_forward_hook(swap_rows)
        try:
            mixed = model(x)
        finally:
            handle.remove()
        assert len(seen) == 1 and seen[0][0] == x.shape[0], layer_name
        torch.testing.assert_close(mixed, reference.flip(0), msg=f"{layer_name} output is not what the head sees")


def test_depth_and_width_by_name_or_keyword():
    by_name = build_model("wide_resnet16_2", num_classes=10, image_size=8)
    by_kwargs = build_model("wide_resnet28_10", num_classes=10, image_size=8, depth=16, widen_factor=2)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(by_name) == count(by_kwargs)
    assert len(by_name.group1) == 2 and by_name.group3[0].conv1.out_channels == 128
    dense = build_model("densenet_bc_40", num_classes=10, image_size=8, growth_rate=12)
    assert len([m for m in dense.block1 if type(m).__name__ == "Bottleneck"]) == 6
    assert build_model("fastcnn48", num_classes=10, in_channels=1, image_size=28).stem[0].out_channels == 48
    assert is_model_name("fastcnn48") and is_model_name("wide_resnet16_2") and is_model_name("mlp")
    assert not is_model_name("fastcnn_48") and not is_model_name("resnet50") and not is_model_name(None)


def test_fastcnn_width_and_any_input_shape():
    narrow = build_model("fastcnn", num_classes=10, in_channels=1, image_size=28, width=16)
    wide = build_model("fastcnn", num_classes=10, in_channels=1, image_size=28, width=64)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(narrow) < count(wide)
    rgb = build_model("fastcnn", num_classes=7, in_channels=3, image_size=32)
    assert rgb(torch.zeros(2, 3, 32, 32)).shape == (2, 7)
    assert rgb(torch.zeros(2, 3, 40, 40)).shape == (2, 7)  # global pooling: any size past the minimum


def test_mlp_flattens_images_when_in_features_is_not_given():
    model = build_model("mlp", num_classes=3, in_channels=2, image_size=5)
    assert model(torch.zeros(4, 2, 5, 5)).shape == (4, 3)
    assert model.hidden1[1].in_features == 50 and model.hidden1[1].out_features == 128


def test_channels_last_and_bf16_autocast_give_the_same_predictions():
    torch.manual_seed(0)
    model = FastCNN(num_classes=10, width=8).eval()
    x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    reference = model(x)
    torch.testing.assert_close(model.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last)), reference, rtol=1e-4, atol=1e-4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = model(x)
    assert low.dtype == torch.bfloat16
    torch.testing.assert_close(low.float(), reference, rtol=0.1, atol=0.1)


def test_dropout_rate_reaches_the_model():
    model, x = small_model_and_batch("fastcnn", dropout=0.3)
    rates = [m.p for m in model.modules() if isinstance(m, nn.Dropout)]
    assert rates == [0.3]
    wrn = build_model("wide_resnet10_1", num_classes=2, image_size=8, dropout=0.3)
    assert len([m for m in wrn.modules() if isinstance(m, nn.Dropout)]) == 4  # one per block and the head
    model.eval()
    torch.testing.assert_close(model(x), model(x))  # eval mode: dropout off
    assert not any(isinstance(m, nn.Dropout) for m in build_model("fastcnn", num_classes=2, in_channels=1, image_size=28).modules())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(name="resnet9000", num_classes=10), r"unknown model 'resnet9000'; expected one of \[.*fastcnn.*\]"),
        (dict(name="lenet", num_classes=10, image_size=8), "lenet needs image_size >= 12, got 8"),
        (dict(name="fastcnn", num_classes=10, image_size=0), "image_size must be an integer >= 1, got 0"),
        (dict(name="fastcnn", num_classes=0), "num_classes must be an integer >= 1, got 0"),
        (dict(name="fastcnn", num_classes=10, in_channels=-1), "in_channels must be an integer >= 1, got -1"),
        (dict(name="vgg11", num_classes=10, dropout=1.0), r"dropout must be a float in \[0, 1\), got 1.0"),
        (dict(name="fastcnn", num_classes=10, widht=64), r"unknown option\(s\) \['widht'\] for model 'fastcnn'"),
        (dict(name="wide_resnet27_2", num_classes=10), "depth must be 6n \\+ 4 .* got 27"),
        (dict(name="mlp", num_classes=10, in_features=0), "in_features must be an integer >= 1, got 0"),
        (dict(name=3, num_classes=10), "model name must be a string, got 3"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, match):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=match):
        build_model(name, **kwargs)


def test_normalize_puts_the_data_normalization_inside_the_model():
    mean, std = (0.5, 0.25, 0.0), (0.5, 0.25, 2.0)
    x = torch.rand(2, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    x_before = x.clone()
    normalized = Normalize(mean, std)(x)
    expected = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    torch.testing.assert_close(normalized, expected)
    assert torch.equal(x, x_before)
    torch.manual_seed(0)
    model = FastCNN(num_classes=4, in_channels=3, image_size=8, width=4).eval()
    torch.testing.assert_close(nn.Sequential(Normalize(mean, std), model)(x.repeat(1, 1, 2, 2)), model(expected.repeat(1, 1, 2, 2)))
    tabular = Normalize([1.0, 2.0], [2.0, 4.0])(torch.tensor([[3.0, 6.0]]))
    torch.testing.assert_close(tabular, torch.tensor([[1.0, 1.0]]))


@pytest.mark.parametrize(
    ("mean", "std", "x_shape", "match"),
    [
        ((0.5,), (0.0,), (1, 1, 2, 2), r"std > 0"),
        ((0.5, 0.5), (1.0,), (1, 2, 2, 2), "same length, got 2 and 1"),
        ((0.5,), (1.0,), (1, 3, 2, 2), r"expected inputs \(B, 1, ...\), got shape \(1, 3, 2, 2\)"),
    ],
)
def test_normalize_rejects_bad_statistics_and_shapes(mean, std, x_shape, match):
    with pytest.raises(ValueError, match=match):
        Normalize(mean, std)(torch.zeros(x_shape))


@pytest.mark.parametrize(
    ("name", "options", "minimum"),
    [
        ("fastcnn", dict(width=4), 8), ("lenet", {}, 12), ("vgg11", dict(stages=((4,),) * 5), 2),
        ("preact_resnet18", dict(width=4), 8), ("wide_resnet10_1", {}, 4), ("densenet_bc_10", dict(growth_rate=4), 4),
    ],
)  # fmt: skip
def test_each_model_runs_at_its_smallest_size_and_refuses_smaller(name, options, minimum):
    for size in (minimum, minimum + 1, 29):
        model = build_model(name, num_classes=3, in_channels=2, image_size=size, **options)
        assert model(torch.randn(2, 2, size, size, generator=torch.Generator().manual_seed(size))).shape == (2, 3)
    with pytest.raises(ValueError, match=f"needs image_size >= {minimum}, got {minimum - 1}"):
        build_model(name, num_classes=3, in_channels=2, image_size=minimum - 1, **options)


def test_registry_docstring_example_holds():
    import doctest

    import vicinal.models.registry as registry

    result = doctest.testmod(registry)
    assert result.attempted >= 1 and result.failed == 0
