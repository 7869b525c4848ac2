"""Tests of vicinal.eval.evaluate: hand-computed error, NLL and ECE; eval mode restored; no gradients; batching."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from vicinal.eval import evaluate, predict
from vicinal.eval.metrics import shift_images

PRIOR = torch.tensor([0.7, 0.2, 0.1])


class ConstantPrior(nn.Module):
    """Predicts the same class probabilities PRIOR for every input; has a dropout so eval mode matters."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(PRIOR.log())
        self.dropout = nn.Dropout(0.9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.bias.expand(x.shape[0], -1) + 0 * x.sum(dim=1, keepdim=True))


def batches(labels: list[int], batch_size: int = 3):
    y = torch.tensor(labels)
    x = torch.ones(len(labels), 4)
    return [(x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(labels), batch_size)]


def test_error_nll_and_ece_by_hand():
    labels = [0, 0, 0, 1, 2, 0, 1, 0, 0, 2]  # 6 of 10 are class 0, the constant prediction
    model = ConstantPrior().train()
    result = evaluate(model, batches(labels), device="cpu")
    assert result["error"] == pytest.approx(0.4)
    assert result["nll"] == pytest.approx(-(6 * math.log(0.7) + 2 * math.log(0.2) + 2 * math.log(0.1)) / 10, rel=1e-6)
    assert result["ece"] == pytest.approx(abs(0.6 - 0.7), abs=1e-6)  # one bin holds everything
    assert result["probs"].shape == (10, 3) and torch.allclose(result["probs"], PRIOR.expand(10, 3))
    assert torch.equal(result["labels"], torch.tensor(labels))
    assert model.training and model.dropout.training, "evaluate must restore the train mode"
    assert model.bias.grad is None and not result["probs"].requires_grad


def test_eval_mode_is_used_and_restored_for_batch_norm():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 3))
    model[1].eval()  # a mixed state is restored as it was
    running_before = model[1].running_mean.clone()
    x = torch.randn(12, 4, generator=torch.Generator().manual_seed(0)) + 5.0
    loader = [(x[:5], torch.zeros(5, dtype=torch.long)), (x[5:], torch.ones(7, dtype=torch.long))]
    result = evaluate(model, loader, device=torch.device("cpu"))
    assert torch.equal(model[1].running_mean, running_before)
    assert model[0].training and not model[1].training
    with torch.no_grad():
        model.eval()
        expected = model(x).softmax(dim=1)
    torch.testing.assert_close(result["probs"], expected)


def test_bf16_autocast_is_close_to_float32():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    gen = torch.Generator().manual_seed(1)
    loader = [(torch.randn(16, 4, generator=gen), torch.randint(0, 3, (16,), generator=gen)) for _ in range(3)]
    full = evaluate(model, loader, device="cpu")
    low = evaluate(model, loader, device="cpu", autocast_dtype=torch.bfloat16)
    assert low["probs"].dtype == torch.float32
    torch.testing.assert_close(low["probs"], full["probs"], atol=0.02, rtol=0.05)
    assert low["nll"] == pytest.approx(full["nll"], rel=0.05)


def test_empty_loader_and_bad_labels_raise_value_error():
    with pytest.raises(ValueError, match="the loader yielded no batches"):
        evaluate(ConstantPrior(), [], device="cpu")
    with pytest.raises(ValueError, match=r"labels must be class indices in \[0, 2\]"):
        evaluate(ConstantPrior(), batches([0, 3]), device="cpu")


def test_flip_averages_the_logits_of_each_image_and_its_mirror():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 3))
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(8, 1, 6, 6, generator=gen)
    loader = [(x, torch.randint(0, 3, (8,), generator=gen))]
    flipped = evaluate(model, loader, device="cpu", flip=True)
    with torch.no_grad():
        expected = ((model(x) + model(x.flip(-1))) / 2).softmax(dim=1)
        plain = model(x).softmax(dim=1)
    torch.testing.assert_close(flipped["probs"], expected)
    assert not torch.allclose(flipped["probs"], plain)  # the mirror images do change the prediction
    symmetric = [(torch.ones(4, 1, 6, 6), torch.zeros(4, dtype=torch.long))]  # a mirror-symmetric image: no change
    torch.testing.assert_close(evaluate(model, symmetric, device="cpu", flip=True)["probs"],
                               evaluate(model, symmetric, device="cpu")["probs"])
    with pytest.raises(ValueError, match=r"test-time augmentation \(flip, translate\) needs images \(N, C, H, W\)"):
        evaluate(ConstantPrior(), batches([0, 1]), device="cpu", flip=True)


def test_shift_images_moves_the_content_and_repeats_the_edges():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    down_right = shift_images(x, 1)
    assert torch.equal(down_right[..., 1:, 1:], x[..., :-1, :-1])  # content moved one pixel down and right
    assert torch.equal(down_right[..., 0, 1:], x[..., 0, :-1]) and torch.equal(down_right[..., 1:, 0], x[..., :-1, 0])
    up_left = shift_images(x, -2)
    assert torch.equal(up_left[..., :2, :2], x[..., 2:, 2:])
    assert torch.equal(up_left[..., 3, :2], x[..., 3, 2:]) and torch.equal(shift_images(x, 0), x)


@pytest.mark.parametrize("flip", [False, True])
def test_translate_weighs_the_image_half_and_each_diagonal_shift_a_quarter(flip):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.Flatten(), nn.Linear(3 * 4 * 4, 3))  # not shift-invariant
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(8, 1, 6, 6, generator=gen)
    loader = [(x[:5], torch.zeros(5, dtype=torch.long)), (x[5:], torch.zeros(3, dtype=torch.long))]
    logits, _ = predict(model, loader, device="cpu", flip=flip, translate=1)

    def views(images):
        out = model(images)
        return (out + model(images.flip(-1))) / 2 if flip else out

    with torch.no_grad():
        expected = views(x) / 2 + (views(shift_images(x, -1)) + views(shift_images(x, 1))) / 4
        plain, _ = predict(model, loader, device="cpu", flip=flip)
    torch.testing.assert_close(logits, expected)
    assert not torch.allclose(logits, plain)  # the shifted views do change the prediction
    flat = [(torch.ones(4, 1, 6, 6), torch.zeros(4, dtype=torch.long))]  # shifting a constant image changes nothing
    torch.testing.assert_close(predict(model, flat, device="cpu", translate=2)[0],
                               predict(model, flat, device="cpu")[0])


@pytest.mark.parametrize("translate, match", [
    (-1, "translate must be an integer >= 0"), (1.5, "translate must be an integer >= 0"),
    (True, "translate must be an integer >= 0"), (6, r"translate=6 is invalid for images of \(6, 6\) pixels"),
])
def test_bad_translate_raises_value_error(translate, match):
    loader = [(torch.zeros(2, 1, 6, 6), torch.zeros(2, dtype=torch.long))]
    with pytest.raises(ValueError, match=match):
        predict(nn.Sequential(nn.Flatten(), nn.Linear(36, 2)), loader, device="cpu", translate=translate)
    with pytest.raises(ValueError, match=r"test-time augmentation \(flip, translate\) needs images"):
        evaluate(ConstantPrior(), batches([0, 1]), device="cpu", translate=1)


def test_evaluate_regression_gives_mse_and_rmse_in_the_targets_units():
    from sklearn.metrics import mean_squared_error

    from vicinal.eval import evaluate_regression

    generator = torch.Generator().manual_seed(0)
    x, z = torch.randn(50, 3, generator=generator), torch.randn(50, 2, generator=generator)  # standardized targets
    model = nn.Linear(3, 2)
    mean, std = torch.tensor([100.0, -5.0]), torch.tensor([20.0, 0.5])
    loader = [(x[:32], z[:32]), (x[32:], z[32:])]
    out = evaluate_regression(model, loader, device="cpu", mean=mean, std=std)
    with torch.no_grad():
        predicted = model(x) * std + mean
    reference = mean_squared_error((z * std + mean).numpy(), predicted.numpy())
    assert out["mse"] == pytest.approx(reference, rel=1e-6) and out["rmse"] == pytest.approx(math.sqrt(reference))
    assert out["predictions"].shape == (50, 2) and torch.allclose(out["targets"], z * std + mean)
    with pytest.raises(ValueError, match="one output per target column"):
        evaluate_regression(nn.Linear(3, 1), loader, device="cpu")
    with pytest.raises(ValueError, match="targets must be float regression targets"):
        evaluate_regression(model, [(x, torch.zeros(50, dtype=torch.long))], device="cpu")
