"""Tests of the pure mix() and of mixup() (Zhang et al., arXiv 1710.09412): invariants, options, errors."""

import functools
import math
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vicinal import MixedBatch, cutmix, mix, mixup, to_soft_targets

TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-12, torch.bfloat16: 2e-2, torch.float16: 2e-3}


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def reference(t: torch.Tensor, lam: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """The paper's formula in float64, λ broadcast over trailing dims."""
    lam = lam.double().reshape(-1, *([1] * (t.ndim - 1))) if lam.ndim else lam.double()
    t = t.double()
    return lam * t + (1 - lam) * t[index]


def batch(shape, dtype=torch.float32, classes=5, seed=0):
    g = gen(seed)
    x = torch.randn(shape, generator=g).to(dtype)
    y = torch.randint(classes, shape[:1], generator=g)
    return x, y


@settings(max_examples=30, deadline=None)
@given(
    shape=st.sampled_from([(1, 3), (2, 4), (7, 3), (5, 2, 3), (4, 1, 6, 6), (3, 2, 2, 3, 3)]),
    dtype=st.sampled_from([torch.float32, torch.float64, torch.bfloat16, torch.float16]),
    alpha=st.sampled_from([0.0, 0.1, 0.4, 1.0, 8.0]),
    per_sample=st.booleans(),
    pairing=st.sampled_from(["permutation", "flip", "roll", "same_class", "knn"]),
    seed=st.integers(0, 1000),
)
def test_mixup_invariants(shape, dtype, alpha, per_sample, pairing, seed):
    x, y = batch(shape, dtype, seed=seed)
    x_before = x.clone()
    out = mixup(x, y, alpha=alpha, num_classes=5, per_sample=per_sample, pairing=pairing, knn_k=2, generator=gen(seed))
    assert isinstance(out, MixedBatch)
    assert out.inputs.dtype == dtype and out.inputs.shape == x.shape
    assert out.lam.shape == ((shape[0],) if per_sample else ())
    assert out.index.shape == (shape[0],) and out.index.dtype == torch.long
    assert ((out.lam >= 0) & (out.lam <= 1)).all()
    # Inputs and targets use the same λ and partner: both follow the paper's formula.
    torch.testing.assert_close(out.inputs.double(), reference(x, out.lam, out.index),
                               atol=TOLERANCE[dtype], rtol=TOLERANCE[dtype])
    onehot = torch.nn.functional.one_hot(y, 5).float()
    torch.testing.assert_close(out.targets.double(), reference(onehot, out.lam, out.index))
    torch.testing.assert_close(out.targets.sum(1), torch.ones(shape[0]))
    assert torch.equal(x, x_before), "the caller's batch must not change"
    if alpha == 0:
        assert torch.equal(out.inputs, x) and torch.equal(out.targets, onehot)


def test_mix_matches_the_formula_and_is_pure():
    x, y = batch((6, 3, 4, 4))
    soft = to_soft_targets(y, num_classes=5)
    index = torch.tensor([5, 4, 3, 2, 1, 0])
    x0, soft0 = x.clone(), soft.clone()
    for lam in (0.3, torch.tensor(0.3), torch.linspace(0, 1, 6)):
        lam_t = torch.as_tensor(lam, dtype=torch.float32)
        mixed_x, mixed_y = mix(x, soft, lam, index)
        torch.testing.assert_close(mixed_x.double(), reference(x, lam_t, index))
        torch.testing.assert_close(mixed_y.double(), reference(soft, lam_t, index))
    assert torch.equal(x, x0) and torch.equal(soft, soft0)


def test_mix_out_writes_the_buffer():
    x, y = batch((4, 3))
    buffer = torch.empty_like(x)
    mixed, _ = mix(x, to_soft_targets(y, num_classes=5), 0.25, torch.tensor([1, 0, 3, 2]), out=buffer)
    assert mixed.data_ptr() == buffer.data_ptr()
    torch.testing.assert_close(buffer.double(), reference(x, torch.tensor(0.25), torch.tensor([1, 0, 3, 2])))


def test_mix_errors():
    x = torch.randn(4, 3)
    soft = torch.full((4, 2), 0.5)
    with pytest.raises(ValueError, match="lam.shape=\\(3,\\) is invalid: expected \\(\\) or \\(4,\\)"):
        mix(x, soft, torch.ones(3), torch.arange(4))
    with pytest.raises(ValueError, match="lam=nan is invalid: expected a number in \\[0, 1\\]"):
        mix(x, soft, math.nan, torch.arange(4))
    with pytest.raises(ValueError, match="index.shape=\\(3,\\) is invalid: expected \\(4,\\)"):
        mix(x, soft, 0.5, torch.arange(3))
    message = re.escape("(index.min(), index.max())=(0, 4) is invalid: expected values in [0, 4)")
    with pytest.raises(ValueError, match=message):
        mix(x, soft, 0.5, torch.tensor([0, 1, 2, 4]))
    with pytest.raises(ValueError, match="y.dtype=torch.int64 is invalid: expected a floating-point dtype"):
        mix(x, torch.arange(4), 0.5, torch.arange(4))
    message = re.escape("y.shape=(3, 2) is invalid: expected the batch size of x.shape=(4, 3)")
    with pytest.raises(ValueError, match=message):
        mix(x, soft[:3], 0.5, torch.arange(4))


PAIRINGS = ["permutation", "flip", "roll", "same_class", "knn", "same_class_knn"]
# In place, 20 rows of 3 elements are mixed at once, of 60,000 in blocks of a few rows, of 76,800 one row at a time.
ROWS = {"small rows": (3,), "blocked rows": (3, 100, 200), "large rows": (3, 160, 160)}


def mixed_three_ways(x, y, seed=7, **options):
    """mixup into new memory, into out= and in place, from the same seed; returns the three MixedBatches."""
    fresh = mixup(x, y, generator=gen(seed), **options)
    buffer = torch.empty_like(x)
    into = mixup(x, y, generator=gen(seed), out=buffer, **options)
    assert into.inputs.data_ptr() == buffer.data_ptr()
    mutable = x.clone()
    inplace = mixup(mutable, y, generator=gen(seed), inplace=True, **options)
    assert inplace.inputs.data_ptr() == mutable.data_ptr()
    return fresh, into, inplace


@pytest.mark.parametrize("rows", ROWS)
@pytest.mark.parametrize("pairing", PAIRINGS)
@pytest.mark.parametrize("per_sample", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_inplace_and_out_equal_the_out_of_place_result(rows, pairing, per_sample, dtype):
    x, y = batch((20, *ROWS[rows]), dtype)
    fresh, into, inplace = mixed_three_ways(x, y, alpha=1.0, num_classes=5, per_sample=per_sample, pairing=pairing,
                                            knn_k=3)
    # The same lerp with the same weights on every path: equal, not merely close.
    assert torch.equal(into.inputs, fresh.inputs) and torch.equal(inplace.inputs, fresh.inputs)
    assert torch.equal(inplace.targets, fresh.targets) and torch.equal(inplace.index, fresh.index)
    tol = TOLERANCE[dtype]
    torch.testing.assert_close(fresh.inputs.double(), reference(x, fresh.lam, fresh.index), atol=tol, rtol=tol)


@settings(max_examples=40, deadline=None)
@given(
    batch_size=st.integers(0, 24),
    rows=st.sampled_from(list(ROWS)),
    pairing=st.sampled_from(PAIRINGS),
    knn_k=st.integers(1, 6),
    per_sample=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_inplace_mixing_follows_any_partner_graph(batch_size, rows, pairing, knn_k, per_sample, seed):
    # knn partners form trees hanging on cycles, not permutations: each row must still be read before it is written.
    x, y = batch((batch_size, *ROWS[rows]), seed=seed)
    fresh, _, inplace = mixed_three_ways(x, y, alpha=1.0, num_classes=5, per_sample=per_sample, pairing=pairing,
                                         knn_k=knn_k)
    assert torch.equal(inplace.inputs, fresh.inputs)


@pytest.mark.parametrize("per_sample", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("channels_last", [False, True])
def test_rows_mixed_one_at_a_time_equal_the_batched_lerp(per_sample, dtype, channels_last):
    # Large rows go one at a time into the result; when autograd records, one lerp runs on the gathered partners.
    x, y = batch((5, 3, 160, 160), dtype)
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    options = dict(alpha=1.0, num_classes=5, per_sample=per_sample)
    rowwise = mixup(x, y, generator=gen(3), **options)
    batched = mixup(x.clone().requires_grad_(), y, generator=gen(3), **options)
    assert batched.inputs.requires_grad and torch.equal(rowwise.inputs, batched.inputs.detach())
    fresh, into, inplace = mixed_three_ways(x, y, seed=3, **options)
    assert torch.equal(into.inputs, rowwise.inputs) and torch.equal(inplace.inputs, rowwise.inputs)
    tol = TOLERANCE[dtype]
    torch.testing.assert_close(rowwise.inputs.double(), reference(x, rowwise.lam, rowwise.index), atol=tol, rtol=tol)


def peak_allocated_bytes(fn) -> int:
    """The peak of torch's CPU memory allocated and not yet freed while fn runs (from the profiler's memory events)."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    changes = sorted((e.time_range.start, e.self_cpu_memory_usage) for e in prof.events() if e.self_cpu_memory_usage)
    live = peak = 0
    for _, change in changes:
        live += change
        peak = max(peak, live)
    return peak


@pytest.mark.parametrize("shape", [(64, 3, 160, 160), (2048, 3, 32, 32)], ids=["large rows", "small rows"])
@pytest.mark.parametrize("method, options", [
    (mixup, dict(pairing="permutation")), (mixup, dict(pairing="flip")), (mixup, dict(pairing="same_class")),
    (mixup, dict(pairing="permutation", per_sample=True)), (cutmix, dict()), (cutmix, dict(per_sample=True)),
], ids=["permutation", "flip", "same_class", "per-sample", "cutmix", "cutmix per-sample"])
def test_inplace_allocates_no_batch_sized_buffer(shape, method, options):
    x, y = batch(shape)
    call = functools.partial(method, x, y, alpha=1.0, num_classes=5, generator=gen(), **options)
    assert peak_allocated_bytes(lambda: call(inplace=True)) < x.nbytes / 4
    assert peak_allocated_bytes(call) >= x.nbytes, "out of place allocates the result: the measurement sees it"


def test_large_rows_that_need_gradients_keep_the_graph():
    x, y = batch((3, 2, 200, 200))
    x.requires_grad_(True)
    mixed = mixup(x, y, alpha=1.0, num_classes=5, generator=gen(0))
    mixed.inputs.sum().backward()  # every row of x feeds λ + (1 − λ) of itself into the sum
    torch.testing.assert_close(x.grad, torch.ones_like(x))


def test_same_seed_same_batch_other_seed_other_batch():
    x, y = batch((16, 8))
    a, b, c = (mixup(x, y, alpha=1.0, num_classes=5, generator=gen(s)) for s in (1, 1, 2))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.index, b.index) and torch.equal(a.lam, b.lam)
    assert not torch.equal(a.inputs, c.inputs)


def test_global_rng_untouched():
    x, y = batch((8, 3))
    torch.manual_seed(0)
    before = torch.get_rng_state()
    mixup(x, y, alpha=1.0, num_classes=5)
    assert torch.equal(before, torch.get_rng_state())


@pytest.mark.parametrize("per_sample", [False, True])
def test_mix_inputs_only_labels_each_row_as_its_dominant_input(per_sample):
    x, y = batch((64, 4))
    onehot = torch.nn.functional.one_hot(y, 5).float()
    out = mixup(x, y, alpha=1.0, num_classes=5, mix="inputs", per_sample=per_sample, generator=gen())
    torch.testing.assert_close(out.inputs.double(), reference(x, out.lam, out.index))
    own = (out.lam >= 0.5).expand(64)
    assert torch.equal(out.targets[own], onehot[own])  # λ ≥ ½: the row's own input dominates
    assert torch.equal(out.targets[~own], onehot[out.index][~own])  # λ < ½: its partner's does
    if per_sample:
        assert own.any() and not own.all()  # both cases occur at α = 1


def test_mix_inputs_only_with_a_scalar_lambda_below_one_half_takes_every_partners_label():
    x, y = batch((8, 4))
    draws = [mixup(x, y, alpha=1.0, num_classes=5, mix="inputs", generator=gen(seed)) for seed in range(20)]
    low = next(d for d in draws if d.lam < 0.5)
    assert torch.equal(low.targets, torch.nn.functional.one_hot(y[low.index], 5).float())


def test_mix_labels_only_keeps_inputs():
    x, y = batch((8, 4))
    onehot = torch.nn.functional.one_hot(y, 5).float()
    labels_only = mixup(x, y, alpha=1.0, num_classes=5, mix="labels", generator=gen())
    assert torch.equal(labels_only.inputs, x) and labels_only.inputs.data_ptr() != x.data_ptr()
    torch.testing.assert_close(labels_only.targets.double(), reference(onehot, labels_only.lam, labels_only.index))


def test_label_smoothing_is_applied_before_mixing():
    x, y = batch((8, 4))
    out = mixup(x, y, alpha=1.0, num_classes=5, label_smoothing=0.1, generator=gen())
    smooth = torch.nn.functional.one_hot(y, 5).double() * 0.9 + 0.02
    torch.testing.assert_close(out.targets.double(), reference(smooth, out.lam, out.index))
    assert out.targets.min() >= 0.02 - 1e-6


def test_same_class_pairing_keeps_hard_labels():
    x, y = batch((32, 4), classes=3)
    out = mixup(x, y, alpha=1.0, num_classes=3, pairing="same_class", generator=gen())
    assert torch.equal(y[out.index], y)
    assert torch.equal(out.targets, torch.nn.functional.one_hot(y, 3).float())


def test_soft_targets_are_mixed_and_checked_against_num_classes():
    x = torch.randn(6, 3)
    soft = torch.softmax(torch.randn(6, 4), dim=1)
    out = mixup(x, soft, alpha=1.0, num_classes=4, generator=gen())
    torch.testing.assert_close(out.targets.double(), reference(soft, out.lam, out.index))
    with pytest.raises(ValueError, match="y.shape=\\(6, 4\\) is invalid: expected \\(B, 5\\) for num_classes=5"):
        mixup(x, soft, alpha=1.0, num_classes=5)


@pytest.mark.parametrize("shape", [(6,), (6, 2)])
def test_regression_targets_are_mixed_as_they_are(shape):
    x = torch.randn(6, 3)
    y = torch.randn(shape)
    y0 = y.clone()
    out = mixup(x, y, alpha=1.0, per_sample=True, generator=gen())
    assert out.targets.shape == y.shape
    torch.testing.assert_close(out.targets.double(), reference(y, out.lam, out.index))
    assert torch.equal(y, y0)
    kept = mixup(x, y, alpha=1.0, per_sample=True, mix="inputs", generator=gen())
    own = (kept.lam >= 0.5).view(-1, *(1,) * (y.ndim - 1))
    assert torch.equal(kept.targets, torch.where(own, y, y[kept.index])) and kept.targets.data_ptr() != y.data_ptr()


def test_batch_of_one_and_empty_tail_shapes():
    x, y = batch((1, 3, 2, 2))
    out = mixup(x, y, alpha=1.0, num_classes=5, generator=gen())
    assert out.index.tolist() == [0]
    torch.testing.assert_close(out.inputs, x)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(alpha=-1.0), "alpha=-1.0 is invalid: expected a finite number >= 0"),
        (dict(alpha=math.nan), "alpha=nan is invalid: expected a finite number >= 0"),
        (dict(alpha=math.inf), "alpha=inf is invalid: expected a finite number >= 0"),
        (dict(pairing="random"), "pairing='random' is invalid: expected one of"),
        (dict(mix="targets"), "mix='targets' is invalid: expected one of"),
        (dict(label_smoothing=1.0), "label_smoothing=1.0 is invalid: expected a number in \\[0, 1\\)"),
        (dict(label_smoothing=-0.1), "label_smoothing=-0.1 is invalid: expected a number in \\[0, 1\\)"),
        (dict(pairing="knn", knn_k=0), "knn_k=0 is invalid: expected an integer >= 1"),
        (dict(num_classes=None), "num_classes=None is invalid: expected the number of classes, for class indices y"),
        (dict(num_classes=3), re.escape("(y.min(), y.max())=(0, 4) is invalid: expected labels in [0, 3)")),
        (dict(inplace=True, out=torch.empty(5, 3)), "inplace=True is invalid: expected False with out="),
        (dict(out=torch.empty(5, 4)), "out.shape=\\(5, 4\\) is invalid: expected x.shape=\\(5, 3\\)"),
    ],
)
def test_mixup_errors(kwargs, message):
    x = torch.randn(5, 3)
    y = torch.tensor([0, 1, 2, 3, 4])
    options = dict(alpha=1.0, num_classes=5) | kwargs
    with pytest.raises(ValueError, match=message):
        mixup(x, y, **options)


def test_mixup_input_errors():
    x = torch.randn(5, 3)
    with pytest.raises(ValueError, match="y.shape=\\(4,\\) is invalid: expected the batch size of x.shape=\\(5, 3\\)"):
        mixup(x, torch.zeros(4, dtype=torch.long), alpha=1.0, num_classes=2)
    with pytest.raises(ValueError, match="x.dtype=torch.uint8 is invalid: expected a floating-point dtype"):
        mixup(torch.zeros(5, 3, dtype=torch.uint8), torch.zeros(5, dtype=torch.long), alpha=1.0, num_classes=2)
    with pytest.raises(ValueError, match=re.escape("(y.min(), y.max())=(-1, 0) is invalid: expected labels in [0, 2)")):
        mixup(x, torch.tensor([0, 0, -1, 0, 0]), alpha=1.0, num_classes=2)
    with pytest.raises(ValueError, match="y.shape=\\(5, 1\\) is invalid: expected \\(B,\\) for class indices"):
        mixup(x, torch.zeros(5, 1, dtype=torch.long), alpha=1.0, num_classes=2)
    message = re.escape("y.shape=(5, 1, 1) is invalid: expected (B,) or (B, D) for float targets")
    with pytest.raises(ValueError, match=message):
        mixup(x, torch.zeros(5, 1, 1), alpha=1.0)
    with pytest.raises(ValueError, match="out=x is invalid: expected a tensor that does not share memory with x"):
        mixup(x, torch.zeros(5, dtype=torch.long), alpha=1.0, num_classes=2, out=x)
    message = re.escape("y.shape=(5,) is invalid: expected class labels or soft targets (B, C) for pairing=")
    with pytest.raises(ValueError, match=message):
        mixup(x, torch.zeros(5), alpha=1.0, pairing="same_class")


def test_non_tensor_inputs_are_refused():
    with pytest.raises(ValueError, match="type\\(x\\)=<class 'list'> is invalid: expected a torch.Tensor"):
        mixup([[0.0]], torch.zeros(1, dtype=torch.long), alpha=1.0, num_classes=2)
    with pytest.raises(ValueError, match="y.shape=\\(\\) is invalid: expected a batch dimension first"):
        mixup(torch.zeros(1, 2), torch.tensor(0), alpha=1.0, num_classes=2)
    with pytest.raises(ValueError, match="generator=3 is invalid: expected a torch.Generator or None"):
        mixup(torch.zeros(2, 2), torch.zeros(2, dtype=torch.long), alpha=1.0, num_classes=2, generator=3)


@pytest.mark.parametrize("lam", [2.0, -0.5, math.inf, torch.tensor(1.5), torch.tensor([0.5, 0.2, 1.01, 0.0])])
def test_mix_refuses_lambda_outside_zero_one(lam):
    x, soft = torch.randn(4, 3), torch.full((4, 2), 0.5)
    with pytest.raises(ValueError, match="is invalid: expected (a number|values) in \\[0, 1\\]"):
        mix(x, soft, lam, torch.arange(4))


@pytest.mark.parametrize("lam", ["0.5", None, torch.tensor(True), [0.5]])
def test_mix_refuses_lambda_that_is_no_real_number(lam):
    with pytest.raises(ValueError, match="type\\(lam\\)=.* is invalid: expected a real number or a real tensor"):
        mix(torch.randn(4, 3), torch.full((4, 2), 0.5), lam, torch.arange(4))


@pytest.mark.parametrize("row", [[math.nan, 0.5, 0.5], [35 / 3] * 3, [1.5, -0.5, 0.0], [math.inf, 0.0, 0.0]])
def test_soft_targets_must_be_rows_of_probabilities(row):
    soft = torch.tensor([[0.2, 0.3, 0.5], row, [1.0, 0.0, 0.0]])
    message = "y\\[1\\]\\.(sum|min)\\(\\)=.* is invalid: expected .*rows of probabilities"
    with pytest.raises(ValueError, match=message):
        mixup(torch.randn(3, 4), soft, alpha=1.0, num_classes=3)


@pytest.mark.parametrize("option", ["per_sample", "inplace"])
def test_switches_must_be_booleans(option):
    with pytest.raises(ValueError, match=f"{option}='no' is invalid: expected True or False"):
        mixup(torch.randn(4, 3), torch.arange(4), alpha=1.0, num_classes=4, **{option: "no"})


def test_inplace_refuses_an_x_that_requires_grad():
    x = torch.randn(4, 3, requires_grad=True)
    with pytest.raises(ValueError, match="inplace=True is invalid: expected False for an x that requires grad"):
        mixup(x, torch.arange(4), alpha=1.0, num_classes=4, inplace=True)
    with torch.no_grad():  # without autograd recording, in place is fine
        mixup(x, torch.arange(4), alpha=1.0, num_classes=4, inplace=True)
    with pytest.raises(ValueError, match="out=<tensor> is invalid: expected None for an x that requires grad"):
        mixup(x, torch.arange(4), alpha=1.0, num_classes=4, out=torch.empty(4, 3))


def test_an_empty_batch_mixes_into_out():
    x, y = torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)
    out = mixup(x, y, alpha=1.0, num_classes=2, out=torch.empty(0, 3), generator=gen())
    assert out.inputs.shape == (0, 3) and out.targets.shape == (0, 2)
