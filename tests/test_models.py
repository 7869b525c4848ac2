"""Tests of vicinal.models: every model's forward/backward, mixup layers, registry errors, Normalize."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from vicinal.models import (
    MAX_DEPTH,
    MODELS,
    CNN1d,
    FastCNN,
    Normalize,
    build_model,
    check_fits,
    default_model,
    is_model_name,
    list_models,
)

# One example's shape per model: small inputs, so the big models run fast.
SMALL_INPUTS = {
    "preact_resnet18": (3, 8, 8), "wide_resnet28_10": (3, 8, 8), "densenet_bc_190": (3, 8, 8), "lenet": (1, 28, 28),
    "vgg11": (3, 16, 16), "fastcnn": (1, 28, 28), "mlp": (7,), "cnn1d": (2, 40),
}  # fmt: skip
# Parameter counts the papers report (mixup, arXiv 1710.09412, and the architecture papers), in millions.
PAPER_PARAMS_M = {"preact_resnet18": 11.2, "wide_resnet28_10": 36.5, "densenet_bc_190": 25.6}


def small_model_and_batch(name: str, *, num_classes: int = 5, batch: int = 2, dropout: float = 0.0, **options):
    shape = SMALL_INPUTS.get(name, (3, 8, 8))
    model = build_model(name, num_classes=num_classes, input_shape=shape, dropout=dropout, **options)
    return model, torch.randn(batch, *shape, generator=torch.Generator().manual_seed(0))


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
    ("lenet", {}), ("vgg11", {}), ("fastcnn", dict(width=8)), ("mlp", {}), ("cnn1d", dict(width=8)),
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
    mlp = build_model("mlp64", num_classes=1, input_shape=(10,))  # two hidden layers of 64
    assert is_model_name("mlp64") and mlp.hidden2[0].weight.shape == (64, 64)
    assert mlp(torch.zeros(3, 10)).shape == (3, 1)


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
    channels_last = model.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(channels_last, reference, rtol=1e-4, atol=1e-4)
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
    plain = build_model("fastcnn", num_classes=2, in_channels=1, image_size=28)
    assert not any(isinstance(m, nn.Dropout) for m in plain.modules())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(name="resnet9000", num_classes=10), r"unknown model 'resnet9000'; expected one of \[.*fastcnn.*\]"),
        (dict(name="lenet", num_classes=10, image_size=8),
         r"model='lenet' does not fit examples of shape \(3, 8, 8\): expected at least 12 pixels"),
        (dict(name="fastcnn", num_classes=10, image_size=0), "image_size=0 is invalid: expected an integer >= 1"),
        (dict(name="fastcnn", num_classes=0), "num_classes=0 is invalid: expected an integer >= 1"),
        (dict(name="fastcnn", num_classes=10, in_channels=-1), "in_channels=-1 is invalid: expected an integer >= 1"),
        (dict(name="vgg11", num_classes=10, dropout=1.0), r"dropout must be a float in \[0, 1\), got 1.0"),
        (dict(name="fastcnn", num_classes=10, widht=64), r"unknown option\(s\) \['widht'\] for model 'fastcnn'"),
        (dict(name="wide_resnet27_2", num_classes=10), "depth must be 6n \\+ 4 .* got 27"),
        (dict(name="mlp", num_classes=10, in_features=0), "in_features=0 is invalid: expected an integer >= 1"),
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
    torch.testing.assert_close(nn.Sequential(Normalize(mean, std), model)(x.repeat(1, 1, 2, 2)),
                               model(expected.repeat(1, 1, 2, 2)))
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
        ("lenet", {}, 12), ("vgg11", dict(stages=((4,),) * 5), 2),
        ("preact_resnet18", dict(width=4), 8), ("wide_resnet10_1", {}, 4), ("densenet_bc_10", dict(growth_rate=4), 4),
    ],
)  # fmt: skip
def test_each_model_runs_at_its_smallest_size_and_refuses_smaller(name, options, minimum):
    for size in (minimum, minimum + 1, 29):
        model = build_model(name, num_classes=3, in_channels=2, image_size=size, **options)
        assert model(torch.randn(2, 2, size, size, generator=torch.Generator().manual_seed(size))).shape == (2, 3)
    with pytest.raises(ValueError, match=f"does not fit examples of shape .*: expected at least {minimum} pixels"):
        build_model(name, num_classes=3, in_channels=2, image_size=minimum - 1, **options)


def test_registry_docstring_example_holds():
    import doctest

    import vicinal.models.registry as registry

    result = doctest.testmod(registry)
    assert result.attempted >= 1 and result.failed == 0


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 3, 3), (1, 8, 8), (2, 5, 17), (3, 1, 40)])
def test_fastcnn_takes_small_and_non_square_images(shape):
    model = build_model("fastcnn", num_classes=4, input_shape=shape, width=4)
    logits = model(torch.randn(3, *shape, generator=torch.Generator().manual_seed(0)))
    assert logits.shape == (3, 4) and torch.isfinite(logits).all()


def test_fastcnn_skips_only_the_poolings_small_images_cannot_take():
    pools = lambda m: [isinstance(g[1], nn.MaxPool2d) for g in (m.group1, m.group2, m.group3)]  # noqa: E731
    assert pools(FastCNN(num_classes=2, image_size=28)) == [True, True, True]
    assert pools(FastCNN(num_classes=2, image_size=8)) == [True, True, True]  # 8 → 4 → 2 → 1
    assert pools(FastCNN(num_classes=2, image_size=4)) == [True, True, False]  # 4 → 2 → 1, then kept at 1
    assert pools(FastCNN(num_classes=2, image_size=1)) == [False, False, False]


@pytest.mark.parametrize("length", [1, 2, 3, 40, 200])
def test_cnn1d_runs_on_sequences_of_any_length(length):
    model = CNN1d(num_classes=3, in_channels=2, length=length, width=4)
    x = torch.randn(5, 2, length, generator=torch.Generator().manual_seed(length))
    logits = model(x)
    assert logits.shape == (5, 3)
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    assert model.group1[0].weight.shape == (4, 4, 3)  # 1-D convolutions


def test_default_model_follows_the_rank_of_an_example():
    assert default_model((13,)) == "mlp"
    assert default_model((1, 40)) == "cnn1d"
    assert default_model((1, 8, 8)) == "fastcnn" and default_model(torch.Size([3, 32, 32])) == "fastcnn"
    for shape in [(1, 8, 8), (2, 40), (13,)]:
        model = build_model(default_model(shape), num_classes=3, input_shape=shape)
        assert model(torch.zeros(2, *shape)).shape == (2, 3)
    for bad in [(), (1, 2, 3, 4), (0, 5), (2.0, 3), "abc", None]:
        with pytest.raises(ValueError, match=r"input_shape=.* is invalid: expected the shape of one example"):
            default_model(bad)


@pytest.mark.parametrize(("name", "shape", "match"), [
    ("fastcnn", (4,), r"model='fastcnn' does not fit examples of shape \(4,\): expected images \(C, H, W\)"),
    ("preact_resnet18", (1, 40), r"shape \(1, 40\): expected images \(C, H, W\)"),
    ("cnn1d", (1, 8, 8), r"model='cnn1d' does not fit examples of shape \(1, 8, 8\): expected sequences \(C, T\)"),
    ("cnn1d", (4,), r"shape \(4,\): expected sequences"),
    ("lenet", (1, 28, 32), r"model='lenet' does not fit examples of shape \(1, 28, 32\): expected square images"),
    ("wide_resnet16_2", (3, 3, 32), r"shape \(3, 3, 32\): expected at least 4 pixels on each side"),
])  # fmt: skip
def test_a_model_that_does_not_fit_the_data_names_both(name, shape, match):
    with pytest.raises(ValueError, match=match):
        check_fits(name, shape, num_classes=3)
    with pytest.raises(ValueError, match=match):
        build_model(name, num_classes=3, input_shape=shape)


def test_mlp_and_global_pooling_models_take_non_square_images():
    for name in ("mlp", "fastcnn", "vgg11", "preact_resnet18"):
        model = build_model(name, num_classes=3, input_shape=(2, 8, 12), **({"width": 4} if "res" in name else {}))
        assert model(torch.zeros(2, 2, 8, 12)).shape == (2, 3)
    assert build_model("mlp", num_classes=3, input_shape=(2, 8, 12)).hidden1[1].in_features == 192


@pytest.mark.parametrize(("name", "options"), [
    ("fastcnn", {}), ("fastcnn48", {}), ("cnn1d", {}), ("mlp", dict(hidden=64)), ("lenet", {}),
    ("wide_resnet28_10", {}), ("densenet_bc_40", dict(growth_rate=12)), ("vgg11", {}), ("preact_resnet18", {}),
])  # fmt: skip
def test_check_fits_counts_the_parameters_without_building(name, options):
    shape = (2, 40) if name == "cnn1d" else (1, 28, 28) if name in ("lenet", "mlp") else (3, 32, 32)
    count = check_fits(name, shape, num_classes=10, **options)
    assert count == count_parameters(build_model(name, num_classes=10, input_shape=shape, **options))


def test_build_model_leaves_the_global_generator_as_construction_alone_would():
    """The check before building draws nothing: seeded builds give the weights the class gives."""
    torch.manual_seed(0)
    built = build_model("fastcnn", num_classes=10, input_shape=(1, 28, 28))
    after_build = torch.rand(3)
    torch.manual_seed(0)
    direct = FastCNN(num_classes=10, in_channels=1, image_size=28)
    assert torch.equal(torch.rand(3), after_build)
    for a, b in zip(built.state_dict().values(), direct.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize(("name", "match"), [
    ("fastcnn100000", r"model='fastcnn100000' is invalid: its 2,880,009,700,010 parameters .* to train needs"),
    ("wide_resnet28_1000", r"model='wide_resnet28_1000' is invalid: its [\d,]+ parameters"),
    ("densenet_bc_1000000", rf"densenet_bc depth=1000000 is invalid: expected at most {MAX_DEPTH} layers"),
    ("wide_resnet1006_1", rf"wide_resnet depth=1006 is invalid: expected at most {MAX_DEPTH} layers"),
])  # fmt: skip
def test_huge_models_are_refused_before_anything_is_allocated(name, match):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=match):
        build_model(name, num_classes=10, input_shape=(3, 32, 32))
    assert time.perf_counter() - start < 5.0
    with pytest.raises(ValueError, match=r"preact_resnet depth=1002 is invalid"):
        build_model("preact_resnet18", num_classes=10, blocks=(125, 125, 125, 125))
    with pytest.raises(ValueError, match=r"mlp.* is invalid: its [\d,]+ parameters .* more than the limit of 1.0 MiB"):
        check_fits("mlp", (1000,), num_classes=10, max_bytes=1 << 20)
    assert check_fits("mlp", (1000,), num_classes=10, max_bytes=1 << 30) > 0


def test_build_model_takes_input_shape_or_the_old_arguments_not_both():
    with pytest.raises(ValueError, match=r"input_shape=\(1, 8, 8\) is invalid with \['in_channels'\]"):
        build_model("fastcnn", num_classes=3, input_shape=(1, 8, 8), in_channels=1)
    old = build_model("mlp", num_classes=3, in_features=5)
    assert old.hidden1[1].in_features == 5


def test_the_command_line_refuses_a_conv_model_on_tabular_data_in_one_line(tmp_path):
    """`vicinal train --dataset iris --model fastcnn` printed a conv2d traceback; now one line naming both, exit 2."""
    root = Path(__file__).resolve().parents[1]
    argv = [sys.executable, "-m", "vicinal", "train", "--preset", "smoke", "--quiet", "--dataset", "iris", "--model",
            "fastcnn", "--train-subset", "none", "--test-subset", "none", "--out", str(tmp_path / "run")]
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "model='fastcnn' does not fit examples of shape (4,): expected images (C, H, W)" in lines[0]
