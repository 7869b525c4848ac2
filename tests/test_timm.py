"""vicinal.timm against timm's own mixup.py and loader.py, and the sampler's properties (arXiv 1710.09412, 1905.04899).

timm's package does not import beside the CPU build of torch (its torchvision import fails), but
`timm/data/mixup.py` needs only torch and NumPy: the tests load that one file from the installed wheel
(`pip install --no-deps timm==1.0.29`, which `make install` runs). Three kinds of comparison:
- the same draws: timm's draws, made by timm's own helpers, replayed through `params=` (exact);
- the laws of the boxes: timm's `Mixup` run end to end (it draws from NumPy's global RNG, which vicinal
  never reads) against vicinal's, both pasting boxes whose coordinates are read back from the outputs,
  compared by chi-square tests of homogeneity (Bonferroni over the statistics: a false alarm rate of
  at most 1e-3 per case if the laws are equal);
- timm's `PrefetchLoader` from timm/data/loader.py, loaded with stubs only for the two imports it does
  not use here (datasets, transforms: they need torchvision).
"""

import importlib
import importlib.util
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import chi2_contingency
from torch.utils.data import DataLoader

from vicinal.core.cutmix import sample_boxes
from vicinal.timm import FastCollateMixup, MixParams, Mixup

B, C, H, W, CLASSES = 8, 3, 16, 16, 10
SEEDS = range(6)

CONFIGS = {
    "mixup": dict(mixup_alpha=1.0),
    "cutmix": dict(mixup_alpha=0.0, cutmix_alpha=1.0),
    "switch": dict(mixup_alpha=0.8, cutmix_alpha=1.0, switch_prob=0.5, prob=0.7),
    "minmax": dict(mixup_alpha=0.8, cutmix_minmax=(0.2, 0.8), label_smoothing=0.0),
    "uncorrected": dict(mixup_alpha=0.0, cutmix_alpha=1.0, correct_lam=False, label_smoothing=0.2),
}
MODES = ("batch", "pair", "elem", "half")


def timm_root() -> Path:
    spec = importlib.util.find_spec("timm")  # finds the package without importing it
    assert spec is not None and spec.origin, "timm is not installed: pip install --no-deps timm==1.0.29 (make install)"
    return Path(spec.origin).parent


@pytest.fixture(scope="module")
def timm_mixup():
    path = timm_root() / "data" / "mixup.py"
    file_spec = importlib.util.spec_from_file_location("timm_data_mixup", path)
    module = importlib.util.module_from_spec(file_spec)
    file_spec.loader.exec_module(module)
    return module


def timm_draws(module, reference, *, batch_size, shape, seed, per_batch):
    """Seed NumPy, then make timm's draws in timm's order with timm's own helpers, as our MixParams."""
    np.random.seed(seed)
    if per_batch:
        lam, use_cutmix = reference._params_per_batch()
        lam, use_cutmix = np.array([lam], dtype=np.float64), np.array([use_cutmix])
    else:
        units = batch_size if reference.mode == "elem" else batch_size // 2
        lam, use_cutmix = reference._params_per_elem(units)
    drawn, boxes = lam.copy(), np.zeros((len(lam), 4), dtype=np.int64)
    for i in range(len(lam)):
        if drawn[i] != 1 and use_cutmix[i]:  # timm draws a box only for a unit it mixes
            (top, bottom, left, right), lam[i] = module.cutmix_bbox_and_lam(
                shape, drawn[i], ratio_minmax=reference.cutmix_minmax, correct_lam=reference.correct_lam
            )
            boxes[i] = (top, left, bottom, right)
    return MixParams(
        lam=torch.tensor(lam, dtype=torch.float64),
        cutmix=torch.tensor(use_cutmix & (drawn != 1)),
        boxes=torch.tensor(boxes),
    )


def batch(seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    if dtype == torch.uint8:
        x = torch.randint(0, 256, (B, C, H, W), generator=g, dtype=torch.uint8)
    else:
        x = torch.randn(B, C, H, W, generator=g)
    return x, torch.randint(0, CLASSES, (B,), generator=g)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("config", CONFIGS)
def test_mixup_equals_timm_on_the_same_draws(timm_mixup, mode, config):
    x, y = batch()
    kinds = set()
    for seed in SEEDS:
        reference = timm_mixup.Mixup(num_classes=CLASSES, mode=mode, **CONFIGS[config])
        np.random.seed(seed)
        x_ref, t_ref = reference(x.clone(), y)
        # timm's Mixup treats "half" as "batch"; only its collate function halves the batch
        params = timm_draws(timm_mixup, reference, batch_size=B, shape=x.shape, seed=seed,
                            per_batch=mode in ("batch", "half"))
        kinds |= {"cutmix" if c else ("mixup" if lam < 1 else "none") for c, lam in zip(params.cutmix, params.lam)}
        x_ours, t_ours = Mixup(num_classes=CLASSES, mode=mode, **CONFIGS[config])(x, y, params=params)
        torch.testing.assert_close(x_ours, x_ref)
        torch.testing.assert_close(t_ours, t_ref)
    assert kinds - {"none"}, "no seed mixed anything: the comparison tested nothing"


@pytest.mark.parametrize("as_numpy", [True, False], ids=["numpy", "tensor"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("config", CONFIGS)
def test_fast_collate_equals_timm_bit_for_bit_on_uint8(timm_mixup, mode, config, as_numpy):
    images, y = batch(dtype=torch.uint8)

    def samples():  # a fresh list each time: timm's "half" mode writes into the samples it is given
        return [(images[i].numpy().copy() if as_numpy else images[i].clone(), int(y[i])) for i in range(B)]

    for seed in SEEDS:
        reference = timm_mixup.FastCollateMixup(num_classes=CLASSES, mode=mode, **CONFIGS[config])
        np.random.seed(seed)
        x_ref, t_ref = reference(samples())
        params = timm_draws(timm_mixup, reference, batch_size=B, shape=(B, C, H, W), seed=seed,
                            per_batch=mode == "batch")
        ours = FastCollateMixup(num_classes=CLASSES, mode=mode, **CONFIGS[config])
        given = samples()
        x_ours, t_ours = ours(given, params=params)
        assert x_ours.dtype == torch.uint8 and torch.equal(x_ours, x_ref)
        torch.testing.assert_close(t_ours, t_ref)
        assert all(np.array_equal(np.asarray(a), np.asarray(b)) for (a, _), (b, _) in zip(given, samples()))


def test_mixes_a_copy_and_reads_no_global_rng():
    x, y = batch()
    before, np_before, torch_before = x.clone(), np.random.get_state()[1].copy(), torch.get_rng_state()
    mixer = Mixup(mixup_alpha=1.0, cutmix_alpha=1.0, num_classes=CLASSES, seed=0)
    for _ in range(10):
        mixed, _ = mixer(x, y)
    assert torch.equal(x, before) and not torch.equal(mixed, x)
    assert np.array_equal(np.random.get_state()[1], np_before) and torch.equal(torch.get_rng_state(), torch_before)


def test_a_seed_fixes_the_draws_and_the_generator_moves_on():
    x, y = batch()
    first = Mixup(num_classes=CLASSES, seed=3)
    again = Mixup(num_classes=CLASSES, generator=torch.Generator().manual_seed(3))
    assert torch.equal(first(x, y)[0], again(x, y)[0])
    assert not torch.equal(first(x, y)[1], Mixup(num_classes=CLASSES, seed=3)(x, y)[1])


def test_disabled_returns_the_batch_itself_with_smoothed_one_hot_targets():
    x, y = batch()
    mixer = Mixup(mixup_alpha=1.0, cutmix_alpha=1.0, num_classes=CLASSES, label_smoothing=0.1, seed=0)
    mixer.mixup_enabled = False
    out, targets = mixer(x, y)
    assert out is x
    torch.testing.assert_close(targets, torch.eye(CLASSES)[y] * 0.9 + 0.01)
    assert Mixup(mixup_alpha=0.0, num_classes=CLASSES, seed=0)(x, y)[0] is x  # both α = 0: no mixing


@pytest.mark.parametrize("mode", ["batch", "pair", "elem"])
def test_odd_batches_pair_row_i_with_row_b_minus_1_minus_i(mode):
    x, y = torch.arange(7.0).view(7, 1).repeat(1, 4), torch.arange(7)
    out, targets = Mixup(mixup_alpha=1.0, num_classes=7, label_smoothing=0.0, mode=mode, seed=0)(x, y)
    lam = targets[torch.arange(7), y]  # the own class's share of each row
    torch.testing.assert_close(out[:, 0], lam * x[:, 0] + (1 - lam) * x.flip(0)[:, 0])
    torch.testing.assert_close(out[3], x[3])  # the middle row is its own partner
    if mode == "pair":
        torch.testing.assert_close(lam, lam.flip(0))


def test_half_collates_an_odd_batch_into_its_first_rows():
    samples = [(np.full((1, 4, 4), 10 * i, dtype=np.uint8), i) for i in range(7)]
    collate = FastCollateMixup(mixup_alpha=1.0, num_classes=7, label_smoothing=0.0, mode="half", seed=0)
    images, targets = collate(samples)
    assert images.shape == (4, 1, 4, 4) and targets.shape == (4, 7)
    assert torch.equal(images[3], torch.full((1, 4, 4), 30, dtype=torch.uint8))  # the middle sample: its own partner
    assert torch.equal(targets[3], torch.eye(7)[3])
    for i in range(3):  # row i mixes sample i with sample 6 − i, in the image and in the target alike
        lam = targets[i, i].item()
        assert targets[i, 6 - i].item() == pytest.approx(1 - lam, abs=1e-6)
        assert images[i, 0, 0, 0].item() == pytest.approx(10 * i * lam + 10 * (6 - i) * (1 - lam), abs=0.5)


def test_prob_and_switch_prob_are_the_shares_of_units_mixed_and_cut():
    mixer = Mixup(mixup_alpha=1.0, cutmix_alpha=1.0, prob=0.6, switch_prob=0.25, mode="elem", seed=0)
    params = mixer.sample_params(20_000, (32, 32))
    mixed = (params.lam < 1) | params.cutmix  # a CutMix box may be clipped away entirely (λ = 1)
    assert mixed.float().mean().item() == pytest.approx(0.6, abs=0.015)
    assert params.cutmix[mixed].float().mean().item() == pytest.approx(0.25, abs=0.015)


def test_lambda_follows_beta_alpha_alpha():
    alpha = 0.4
    lam = Mixup(mixup_alpha=alpha, mode="elem", seed=1).sample_params(20_000).lam
    assert lam.mean().item() == pytest.approx(0.5, abs=0.01)
    assert lam.var().item() == pytest.approx(1 / (4 * (2 * alpha + 1)), rel=0.05)


@pytest.mark.parametrize("correct_lam", [True, False])
def test_cutmix_boxes_and_the_corrected_lambda(correct_lam):
    mixer = Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, correct_lam=correct_lam, mode="elem", seed=2)
    params = mixer.sample_params(2_000, (H, W))
    top, left, bottom, right = params.boxes.unbind(1)
    assert bool(((0 <= top) & (top <= bottom) & (bottom <= H) & (0 <= left) & (left <= right) & (right <= W)).all())
    kept = 1 - ((bottom - top) * (right - left)).double() / (H * W)
    assert torch.equal(params.lam, kept) == correct_lam  # uncorrected: the drawn λ, whatever the clipping


def test_minmax_boxes_have_sides_in_range_inside_the_image():
    mixer = Mixup(mixup_alpha=0.0, cutmix_minmax=(0.25, 0.75), mode="elem", correct_lam=False, seed=0)
    assert mixer.cutmix_alpha == 1.0
    params = mixer.sample_params(2_000, (20, 40))
    top, left, bottom, right = params.boxes.unbind(1)
    assert params.cutmix.all()
    assert (bottom - top).min().item() == 5 and (bottom - top).max().item() == 14
    assert (right - left).min().item() == 10 and (right - left).max().item() == 29
    assert top.min().item() == 0 and bottom.max().item() == 20 and left.min().item() == 0 and right.max().item() == 40
    torch.testing.assert_close(params.lam, 1 - ((bottom - top) * (right - left)).double() / 800)


def test_pasted_boxes_come_from_the_mirrored_row():
    x, y = batch()
    params = Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, mode="elem", seed=4).sample_params(B, (H, W))
    out, _ = Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, mode="elem")(x, y, params=params)
    for i, (top, left, bottom, right) in enumerate(params.boxes.tolist()):
        inside = torch.zeros(H, W, dtype=torch.bool)
        inside[top:bottom, left:right] = True
        assert torch.equal(out[i][:, inside], x[B - 1 - i][:, inside])
        assert torch.equal(out[i][:, ~inside], x[i][:, ~inside])


def test_dataloader_workers_draw_differently():
    # Batches 0 and 1 hold the same samples and go to different workers: only the draws can tell them apart.
    samples = [(np.full((1, 4, 4), i % 8, dtype=np.uint8), i % 8) for i in range(16)]
    loader = DataLoader(samples, batch_size=8, num_workers=2,
                        collate_fn=FastCollateMixup(mixup_alpha=1.0, num_classes=8, seed=0))
    first, second = [targets for _, targets in loader]
    assert not torch.equal(first, second)


@pytest.mark.parametrize("kwargs, match", [
    (dict(mixup_alpha=-1.0), "mixup_alpha"),
    (dict(cutmix_minmax=(0.8, 0.2)), "cutmix_minmax"),
    (dict(cutmix_minmax=(0.1,)), "cutmix_minmax"),
    (dict(prob=1.5), "prob"),
    (dict(mode="pairs"), "mode"),
    (dict(label_smoothing=1.0), "label_smoothing"),
    (dict(num_classes=0), "num_classes"),
    (dict(seed=0, generator=torch.Generator()), "seed"),
])
def test_bad_arguments_raise_value_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Mixup(**kwargs)


def test_bad_calls_raise_value_errors():
    x, y = batch()
    with pytest.raises(ValueError, match="params"):
        Mixup(mode="elem")(x, y, params=MixParams(torch.ones(1), torch.zeros(1, dtype=torch.bool), torch.zeros(1, 4)))
    with pytest.raises(ValueError, match="image_size"):
        Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, seed=0)(torch.randn(4, 5), torch.arange(4))
    with pytest.raises(ValueError, match="uint8"):
        FastCollateMixup()([(np.zeros((1, 4, 4), dtype=np.float32), 0)])
    with pytest.raises(ValueError, match="cutmix_minmax"):
        Mixup(mixup_alpha=0.0, cutmix_minmax=(0.5, 0.6), mode="elem", seed=0).sample_params(4, (4, 4))


# ---- the laws of the CutMix boxes: timm's Mixup run end to end against vicinal's -------------------------------

BOX_CONFIGS = {
    "corrected": dict(correct_lam=True),
    "uncorrected": dict(correct_lam=False),
    "minmax": dict(cutmix_minmax=(0.2, 0.8)),
}
BOX_ROWS, BOX_CALLS = 500, 8  # 4,000 boxes a side


def read_boxes(out: torch.Tensor) -> torch.Tensor:
    """(top, left, bottom, right) of the pixels row i took from row B−1−i (row i holds the value i + 1)."""
    batch = out.shape[0]
    taken = out[:, 0] == (batch - torch.arange(batch, dtype=out.dtype))[:, None, None]
    rows, cols = taken.any(2), taken.any(1)
    first = lambda m: torch.where(m.any(1), m.float().argmax(1), 0)  # noqa: E731
    top, left = first(rows), first(cols)
    bottom, right = torch.where(rows.any(1), rows.shape[1] - first(rows.flip(1)), 0), \
        torch.where(cols.any(1), cols.shape[1] - first(cols.flip(1)), 0)
    boxes = torch.stack([top, left, bottom, right], dim=1)
    assert torch.equal(taken.sum((1, 2)), (bottom - top) * (right - left)), "a pasted region is not one box"
    return boxes


def box_outputs(mixer, size, *, seed=None):
    """The boxes and target λ of BOX_CALLS calls of `mixer` on rows of constant values (label i for row i)."""
    x = torch.arange(1, BOX_ROWS + 1, dtype=torch.float32).view(-1, 1, 1, 1).expand(-1, 1, *size).contiguous()
    y = torch.arange(BOX_ROWS)
    boxes, lams = [], []
    for call in range(BOX_CALLS):
        if seed is not None:
            np.random.seed(seed + call)
        out, targets = mixer(x.clone(), y)
        boxes.append(read_boxes(out))
        lams.append(targets[torch.arange(BOX_ROWS), y].double())
    return torch.cat(boxes), torch.cat(lams)


def homogeneity_p(a: np.ndarray, b: np.ndarray) -> float:
    """Chi-square test that two samples of one discrete statistic come from one law (bins under 10 pooled)."""
    values = np.union1d(a, b)
    table = np.array([[np.sum(a == v) for v in values], [np.sum(b == v) for v in values]])
    small = table.sum(0) < 10
    table = np.column_stack([table[:, ~small], table[:, small].sum(1)]) if small.any() else table
    table = table[:, table.sum(0) > 0]
    return 1.0 if table.shape[1] < 2 else float(chi2_contingency(table).pvalue)


@pytest.mark.parametrize("size", [(7, 9), (8, 10)], ids=["odd", "even"])
@pytest.mark.parametrize("config", BOX_CONFIGS)
def test_cutmix_boxes_follow_timms_law(timm_mixup, config, size):
    kwargs = dict(mixup_alpha=0.0, cutmix_alpha=1.0, mode="elem", label_smoothing=0.0, num_classes=BOX_ROWS,
                  **BOX_CONFIGS[config])
    state = np.random.get_state()
    try:
        theirs, their_lam = box_outputs(timm_mixup.Mixup(**kwargs), size, seed=0)
    finally:
        np.random.set_state(state)
    ours, our_lam = box_outputs(Mixup(**kwargs, seed=0), size)
    height, width = size
    area = lambda b: ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])).numpy()  # noqa: E731
    statistics = [(theirs[:, k].numpy(), ours[:, k].numpy()) for k in range(4)]
    tenths = lambda lam: (lam.numpy() * 10).astype(int)  # noqa: E731
    statistics += [(area(theirs), area(ours)), (tenths(their_lam), tenths(our_lam))]
    p_values = [homogeneity_p(a, b) for a, b in statistics]
    assert min(p_values) > 1e-3 / len(p_values), f"box laws differ: p-values {p_values}"
    for boxes, lam in ((theirs, their_lam), (ours, our_lam)):
        kept = torch.tensor(1 - area(boxes) / (height * width))
        corrected = config != "uncorrected"
        assert torch.allclose(lam, kept, atol=1e-6) == corrected  # uncorrected: the drawn λ, whatever the clipping


@pytest.mark.parametrize("lam, size", [(0.6, (15, 15)), (0.7, (8, 11))])
def test_boxes_of_one_lambda_have_timms_sides_and_corners(timm_mixup, lam, size):
    """For a fixed λ timm's `cutmix_bbox_and_lam` and vicinal's sampler give one law (λ = 0.6 on 15×15: 9×9 boxes)."""
    n, height, width = 4_000, *size
    state = np.random.get_state()
    try:
        np.random.seed(1)
        (top, bottom, left, right), _ = timm_mixup.cutmix_bbox_and_lam((height, width), lam, count=n)
    finally:
        np.random.set_state(state)
    theirs = np.stack([top, left, bottom, right], axis=1)
    ours = sample_boxes(torch.full((n,), lam, dtype=torch.float64), height, width,
                        generator=torch.Generator().manual_seed(1))[0].numpy()
    cut = (int(height * (1 - lam) ** 0.5), int(width * (1 - lam) ** 0.5))
    for boxes in (theirs, ours):  # unclipped boxes have sides int(size·√(1−λ)), as in timm
        inside = (boxes[:, 0] > 0) & (boxes[:, 2] < height) & (boxes[:, 1] > 0) & (boxes[:, 3] < width)
        assert inside.sum() > n / 20
        assert set((boxes[inside, 2] - boxes[inside, 0]).tolist()) == {cut[0]}
        assert set((boxes[inside, 3] - boxes[inside, 1]).tolist()) == {cut[1]}
    p_values = [homogeneity_p(theirs[:, k], ours[:, k]) for k in range(4)]
    assert min(p_values) > 1e-3 / 4, f"corner laws differ: p-values {p_values}"


# ---- timm's PrefetchLoader: --mixup-off-epoch reaches the drop-in ---------------------------------------------

@pytest.fixture
def timm_loader():
    """timm/data/loader.py, run by Python from the wheel, in a `timm` package whose other modules are not run.

    `timm` and `timm.data` are empty packages pointing at the wheel's folders, so loader.py's relative
    imports load timm's own constants, mixup, random_erasing and samplers files; only `dataset` and
    `transforms_factory` (torchvision) are stubs, with the names loader.py imports from them and does
    not call here. Everything is taken out of sys.modules afterwards.
    """
    root = timm_root()
    saved = {name: module for name, module in sys.modules.items() if name == "timm" or name.startswith("timm.")}
    for name, path in (("timm", root), ("timm.data", root / "data")):
        package = types.ModuleType(name)
        package.__path__ = [str(path)]
        sys.modules[name] = package
    for name, names in (("timm.data.dataset", ("IterableImageDataset", "ImageDataset")),
                        ("timm.data.transforms_factory", ("create_transform",))):
        stub = types.ModuleType(name)
        for attribute in names:
            setattr(stub, attribute, None)
        sys.modules[name] = stub
    try:
        yield importlib.import_module("timm.data.loader")
    finally:
        for name in [n for n in sys.modules if n == "timm" or n.startswith("timm.")]:
            del sys.modules[name]
        sys.modules.update(saved)


def uint8_samples(n=8):
    return [(np.full((3, 4, 4), 20 * i, dtype=np.uint8), i) for i in range(n)]


def test_timms_prefetch_loader_turns_the_drop_in_off(timm_loader):
    collate = FastCollateMixup(mixup_alpha=1.0, num_classes=8, label_smoothing=0.0, seed=0)
    assert isinstance(collate, timm_loader.FastCollateMixup) and isinstance(collate, FastCollateMixup)
    loader = timm_loader.PrefetchLoader(DataLoader(uint8_samples(), batch_size=8, collate_fn=collate),
                                        device=torch.device("cpu"))
    assert loader.mixup_enabled is True
    _, targets = next(iter(loader))
    assert not torch.equal(targets, torch.eye(8))
    loader.mixup_enabled = False  # what timm's train.py does from --mixup-off-epoch on
    assert collate.mixup_enabled is False and loader.mixup_enabled is False
    _, targets = next(iter(loader))
    assert torch.equal(targets, torch.eye(8))


def test_with_timms_base_the_drop_in_still_mixes_as_vicinal_and_pickles(timm_loader):
    with_timm = FastCollateMixup(mixup_alpha=1.0, cutmix_alpha=1.0, num_classes=8, seed=3)
    copy = pickle.loads(pickle.dumps(with_timm))
    assert isinstance(copy, timm_loader.FastCollateMixup)  # rebuilt with timm's base where timm is imported
    for name in [n for n in sys.modules if n == "timm" or n.startswith("timm.")]:
        del sys.modules[name]  # timm no longer imported (the fixture puts back what was there)
    without = FastCollateMixup(mixup_alpha=1.0, cutmix_alpha=1.0, num_classes=8, seed=3)
    assert type(without) is FastCollateMixup and type(with_timm) is not FastCollateMixup
    for ours, theirs_based, copied in zip(without(uint8_samples()), with_timm(uint8_samples()), copy(uint8_samples())):
        assert torch.equal(ours, theirs_based) and torch.equal(ours, copied)  # vicinal's mixing, the same draws


# ---- bad input -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    (dict(seed="a"), "seed='a'"),
    (dict(seed=2**64), "seed"),
    (dict(num_classes=10**9), "num_classes=1000000000"),
])
def test_bad_seeds_and_class_counts_raise_value_errors(kwargs, match):
    for mixer in (Mixup, FastCollateMixup):
        with pytest.raises(ValueError, match=match):
            mixer(**kwargs)


@pytest.mark.parametrize("samples, match", [
    ([(np.zeros((3, 4, 4), np.uint8), 0), (np.zeros((3, 5, 4), np.uint8), 1)], r"batch\[1\]\[0\].shape=\(3, 5, 4\)"),
    ([{"image": np.zeros((3, 4, 4), np.uint8), "label": 0}], r"batch\[0\]='dict'"),
    ([(np.zeros((3, 4, 4), np.uint8), "cat")], r"batch\[0\]\[1\]='cat'"),
    ([(np.zeros((3, 4, 4), np.uint8), 0.5)], r"batch\[0\]\[1\]=0.5"),
    ([(np.zeros((3, 4, 4), np.uint8),)], r"batch\[0\]='tuple'"),
])
def test_bad_samples_raise_value_errors_naming_the_sample(samples, match):
    with pytest.raises(ValueError, match=match):
        FastCollateMixup(num_classes=8, seed=0)(samples)
