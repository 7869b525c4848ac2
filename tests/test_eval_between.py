"""vicinal.eval.between: the pairs, the in-between table against closed forms and plain predictions, and its
contract (eval mode restored, no parameter gradients, inputs unchanged, errors)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from vicinal.eval.between import LAMBDAS, between_examples, between_markdown, between_pairs, between_plot, mean_over


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _data(n: int = 300, classes: int = 4, features: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    g = _gen(123)
    return torch.randn(n, features, generator=g), torch.randint(classes, (n,), generator=g)


def _net(features: int = 6, classes: int = 4) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(features, 16), nn.Tanh(), nn.Dropout(0.5), nn.Linear(16, classes))


def test_pairs_have_different_labels_and_follow_the_generator() -> None:
    _, labels = _data()
    i, j = between_pairs(labels, pairs=250, generator=_gen(1))
    assert len(i) == len(j) == 250
    assert bool((labels[i] != labels[j]).all())
    assert len(set(i.tolist())) == 250  # distinct anchors while pairs <= N
    again = between_pairs(labels, pairs=250, generator=_gen(1))
    other = between_pairs(labels, pairs=250, generator=_gen(2))
    assert torch.equal(i, again[0]) and torch.equal(j, again[1])
    assert not torch.equal(j, other[1])


def test_pairs_beyond_the_set_size_and_partners_from_every_other_class() -> None:
    labels = torch.tensor([0] * 50 + [1] * 3 + [2] * 3)
    i, j = between_pairs(labels, pairs=2000, generator=_gen(0))
    assert bool((labels[i] != labels[j]).all())
    partners = j[labels[i] == 0]
    assert set(partners.tolist()) == set(range(50, 56))  # uniform over the examples of the other classes
    share = (labels[partners] == 1).double().mean()
    assert abs(float(share) - 0.5) < 0.05


def test_lambda_one_gives_the_plain_predictions_on_the_first_examples() -> None:
    inputs, labels = _data()
    model = _net()
    table = between_examples(model, inputs, labels, lambdas=(0.5, 1.0), pairs=200, generator=_gen(3), batch_size=64)
    i, j = between_pairs(labels, pairs=200, generator=_gen(3))
    with torch.no_grad():
        probs = model.eval()(inputs[i]).softmax(1)
    prediction = probs.argmax(1)
    miss = ((prediction != labels[i]) & (prediction != labels[j])).double().mean()
    p_first = probs.gather(1, labels[i][:, None]).double().mean()
    assert table.miss_rate[1] == pytest.approx(float(miss), abs=1e-12)
    assert table.p_first[1] == pytest.approx(float(p_first), abs=1e-6)
    assert table.p_distance[1] == pytest.approx(1 - float(p_first), abs=1e-6)
    assert table.miss_rate[1] <= float((prediction != labels[i]).double().mean())  # misses are part of the errors


def test_linear_model_matches_the_closed_form() -> None:
    # two examples a·e₀ (class 0) and a·e₁ (class 1), logits = x: p(yᵢ | x̃) = σ((2λ − 1)·a) for either order, and
    # ∇ₓ̃ CE = p − target, so its norm is √2·|p(yᵢ) − λ| with the mixed target and √2·(1 − p(yᵢ)) against yᵢ
    a = 3.0
    inputs, labels = torch.tensor([[a, 0.0], [0.0, a]]), torch.tensor([0, 1])
    model = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
    lambdas = (0.5, 0.7, 0.9, 1.0)
    mixed = between_examples(model, inputs, labels, lambdas=lambdas, pairs=10, generator=_gen(0))
    first = between_examples(model, inputs, labels, lambdas=lambdas, pairs=10, generator=_gen(0), target="first")
    for k, lam in enumerate(lambdas):
        p = 1 / (1 + math.exp(-(2 * lam - 1) * a))
        assert mixed.p_first[k] == pytest.approx(p, abs=1e-6)
        assert mixed.p_distance[k] == pytest.approx(abs(p - lam), abs=1e-6)
        assert mixed.grad_norm[k] == pytest.approx(math.sqrt(2) * abs(p - lam), abs=1e-5)
        assert first.grad_norm[k] == pytest.approx(math.sqrt(2) * (1 - p), abs=1e-5)
        assert mixed.miss_rate[k] == 0.0  # two classes: every prediction is yᵢ or yⱼ
    assert mixed.target == "mixed" and first.target == "first" and mixed.pairs == 10


def test_model_mode_parameters_and_inputs_are_left_as_they_were() -> None:
    inputs, labels = _data()
    model = _net().train()
    model[2].eval()  # a submodule in its own mode
    kept = inputs.clone()
    table = between_examples(model, inputs, labels, pairs=50, generator=_gen(0))
    assert model.training and not model[2].training and model[0].training
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(inputs, kept) and not inputs.requires_grad
    assert table.lambdas == LAMBDAS and len(table.grad_norm) == len(LAMBDAS)
    assert all(g > 0 for g in table.grad_norm)
    assert all(0 <= m <= 1 for m in table.miss_rate)


def test_batch_size_does_not_change_the_table() -> None:
    inputs, labels = _data()
    model = _net()
    one = between_examples(model, inputs, labels, pairs=100, generator=_gen(5), batch_size=7)
    all_ = between_examples(model, inputs, labels, pairs=100, generator=_gen(5), batch_size=100)
    for name in ("miss_rate", "grad_norm", "p_first", "p_distance"):
        assert getattr(one, name) == pytest.approx(getattr(all_, name), abs=1e-5)


def test_mean_over_the_in_between_points_and_the_plot(tmp_path) -> None:
    inputs, labels = _data()
    tables = [between_examples(_net(), inputs, labels, pairs=40, generator=_gen(s)) for s in (0, 1)]
    assert mean_over(tables[0], "miss_rate") == pytest.approx(sum(tables[0].miss_rate[:-1]) / 5)
    assert mean_over(tables[0].to_dict(), "p_first", below=0.65) == pytest.approx(sum(tables[0].p_first[:2]) / 2)
    path = between_plot({"A": tables, "B": [tables[0].to_dict()]}, path=tmp_path / "b.png", title="t")
    assert path.stat().st_size > 1000
    lines = between_markdown({"A": tables, "B": [tables[0].to_dict()]}).splitlines()
    assert len(lines) == 2 + len(LAMBDAS) + 1 and lines[-1].startswith("| mean over λ < 1 |")
    cells = lines[2].strip("| ").split(" | ")  # λ = 0.5: miss rate % of A (two seeds: mean ± std), then of B (one)
    assert cells[0] == "0.5" and " ± " in cells[1] and " ± " not in cells[2]
    assert float(cells[2]) == pytest.approx(100 * tables[0].miss_rate[0], abs=0.01)
    with pytest.raises(ValueError, match="curves"):
        between_markdown({"A": []})


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(lambdas=(0.5, 1.5)), "lambdas"),
    (dict(lambdas=()), "lambdas"),
    (dict(pairs=0), "pairs"),
    (dict(batch_size=0), "batch_size"),
    (dict(target="second"), "target"),
])
def test_bad_options_are_refused(kwargs: dict, match: str) -> None:
    inputs, labels = _data()
    with pytest.raises(ValueError, match=match):
        between_examples(_net(), inputs, labels, generator=_gen(0), **{"pairs": 10, **kwargs})


def test_bad_data_is_refused() -> None:
    inputs, labels = _data()
    with pytest.raises(ValueError, match="two classes"):
        between_pairs(torch.zeros(10, dtype=torch.long), pairs=5, generator=_gen(0))
    with pytest.raises(ValueError, match="labels.shape"):
        between_examples(_net(), inputs, labels[:-1], pairs=5, generator=_gen(0))
    with pytest.raises(ValueError, match="labels.dtype"):
        between_examples(_net(), inputs, labels.float(), pairs=5, generator=_gen(0))
    with pytest.raises(ValueError, match="outputs"):
        between_examples(_net(classes=3), inputs, labels, pairs=5, generator=_gen(0))
    with pytest.raises(ValueError, match="inputs"):
        between_examples(_net(), inputs.long(), labels, pairs=5, generator=_gen(0))
