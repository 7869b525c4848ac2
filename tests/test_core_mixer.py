"""Tests of the Mixup callable: options, switches, DataLoader collate, state_dict (arXiv 1710.09412, 1905.04899)."""

import io
import math
import pickle
import re

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from vicinal import MixedBatch, Mixup, c_mixup, cutmix, fmix, mixup, regmixup, resizemix


def data(n=8, classes=4):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 1, 6, 6, generator=g), torch.arange(n) % classes


def test_mixer_equals_mixup_with_the_same_generator_state():
    x, y = data()
    mixer = Mixup(alpha=0.4, num_classes=4, seed=3)
    out = mixer(x, y)
    direct = mixup(x, y, alpha=0.4, num_classes=4, generator=torch.Generator().manual_seed(3))
    assert torch.equal(out.inputs, direct.inputs) and torch.equal(out.targets, direct.targets)
    second = mixer(x, y)
    assert not (torch.equal(second.lam, out.lam) and torch.equal(second.index, out.index))


def test_cutmix_mode_uses_cutmix():
    x, y = data()
    out = Mixup(alpha=1.0, mode="cutmix", num_classes=4, seed=1)(x, y)
    direct = cutmix(x, y, alpha=1.0, num_classes=4, generator=torch.Generator().manual_seed(1))
    assert torch.equal(out.inputs, direct.inputs) and torch.equal(out.lam, direct.lam)


def test_disabled_or_unapplied_batches_still_get_soft_targets():
    x, y = data()
    mixer = Mixup(alpha=1.0, num_classes=4, label_smoothing=0.1, seed=0, enabled=False)
    out = mixer(x, y)
    assert out.inputs is x
    torch.testing.assert_close(out.targets, torch.eye(4)[y] * 0.9 + 0.025)
    assert out.lam.item() == 1.0 and torch.equal(out.index, torch.arange(8))
    mixer.enabled = True
    assert mixer(x, y).lam.item() < 1.0


def test_prob_is_the_share_of_mixed_batches():
    x, y = data()
    mixer = Mixup(alpha=1.0, num_classes=4, prob=0.3, seed=0)
    mixed = sum(mixer(x, y).lam.item() < 1.0 for _ in range(1000))
    assert mixed == pytest.approx(300, abs=50)  # binomial sd ≈ 14.5
    never = Mixup(alpha=1.0, num_classes=4, prob=0.0, seed=0)
    assert all(never(x, y).lam.item() == 1.0 for _ in range(20))


def test_switch_prob_picks_the_other_method():
    x, y = data()
    mixer = Mixup(alpha=1.0, cutmix_alpha=1.0, num_classes=4, switch_prob=0.5, seed=0)
    # CutMix leaves every pixel equal to the image's or the partner's; mixup (λ ∈ (0, 1)) almost never does.
    kinds = []
    for _ in range(200):
        out = mixer(x, y)
        pasted = ((out.inputs == x) | (out.inputs == x[out.index])).all()
        kinds.append(bool(pasted))
    assert sum(kinds) == pytest.approx(100, abs=25)


def test_works_as_a_dataloader_collate_fn():
    x, y = data(20)
    loader = DataLoader(TensorDataset(x, y), batch_size=6, collate_fn=Mixup(alpha=1.0, num_classes=4, seed=0))
    batches = list(loader)
    assert [b.inputs.shape[0] for b in batches] == [6, 6, 6, 2]
    for b in batches:
        assert isinstance(b, MixedBatch)
        torch.testing.assert_close(b.targets.sum(1), torch.ones(b.inputs.shape[0]))
    first = batches[0]
    torch.testing.assert_close(first.inputs, first.lam * x[:6] + (1 - first.lam) * x[:6][first.index])


def test_collate_in_worker_processes_does_not_repeat_draws():
    x, y = data(32)
    mixer = Mixup(alpha=1.0, num_classes=4, seed=0)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, num_workers=2, collate_fn=mixer)
    lams = [b.lam.item() for b in loader]
    assert len(lams) == 4 and len(set(lams)) == 4


def test_state_dict_round_trip_with_weights_only_load():
    x, y = data()
    mixer = Mixup(alpha=1.0, num_classes=4, seed=5)
    mixer(x, y)
    buffer = io.BytesIO()
    torch.save(mixer.state_dict(), buffer)
    expected = mixer(x, y)
    buffer.seek(0)
    restored = Mixup(alpha=1.0, num_classes=4, seed=99, enabled=False)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert restored.enabled
    again = restored(x, y)
    assert torch.equal(again.inputs, expected.inputs) and torch.equal(again.index, expected.index)
    with pytest.raises(ValueError, match="keys of state=\\['rng'\\] is invalid: expected \\['enabled', 'generator'\\]"):
        restored.load_state_dict({"rng": torch.zeros(1)})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(alpha=-1), "alpha=-1 is invalid: expected a finite number >= 0"),
        (dict(alpha=1, cutmix_alpha=float("nan")), "cutmix_alpha=nan is invalid: expected a finite number >= 0"),
        (dict(alpha=1, mode="mixer"), "mode='mixer' is invalid: expected one of 'mixup', 'cutmix'"),
        (dict(alpha=1, prob=1.5), "prob=1.5 is invalid: expected a number in \\[0, 1\\]"),
        (dict(alpha=1, switch_prob=-0.1), "switch_prob=-0.1 is invalid: expected a number in \\[0, 1\\]"),
        (dict(alpha=1, pairing="nearest"), "pairing='nearest' is invalid: expected one of 'permutation'"),
        (dict(alpha=1, mix="all"), "mix='all' is invalid: expected one of 'both', 'inputs', 'labels'"),
        (dict(alpha=1, label_smoothing=1), "label_smoothing=1 is invalid: expected a number in \\[0, 1\\)"),
        (dict(alpha=1, knn_k=0), "knn_k=0 is invalid: expected an integer >= 1"),
        (dict(alpha=1, num_classes=0), "num_classes=0 is invalid: expected an integer >= 1"),
        (dict(alpha=1, seed=1, generator=torch.Generator()), "seed=1 is invalid: .*give either seed or generator"),
    ],
)
def test_constructor_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Mixup(**kwargs)


def test_call_errors():
    x, y = data()
    mixer = Mixup(alpha=1.0, num_classes=4, seed=0)
    with pytest.raises(ValueError, match="y=None is invalid: expected labels: call mixer\\(x, y\\)"):
        mixer(x)
    message = re.escape("y.shape=(3,) is invalid: expected the batch size of x.shape=(8, 1, 6, 6)")
    with pytest.raises(ValueError, match=message):
        mixer(x, y[:3])
    with pytest.raises(ValueError, match=re.escape("(y.min(), y.max())=(4, 7) is invalid: expected labels in [0, 4)")):
        mixer(x, y + 4)


def test_pickled_mixer_continues_the_same_stream():
    x, y = data()
    mixer = Mixup(alpha=1.0, num_classes=4, seed=2)
    copy = pickle.loads(pickle.dumps(mixer))
    assert torch.equal(mixer(x, y).inputs, copy(x, y).inputs)


@pytest.mark.parametrize("seed", [1.5, "a", 2**64, True])
def test_seed_must_be_an_integer_torch_accepts(seed):
    with pytest.raises(ValueError, match="seed=.* is invalid: expected an integer in \\[-2\\*\\*63, 2\\*\\*64\\)"):
        Mixup(alpha=1.0, seed=seed)


@pytest.mark.parametrize(
    "state, message",
    [
        ("garbage", "type\\(state\\)=<class 'str'> is invalid: expected a dict"),
        (dict(generator=torch.zeros(5056, dtype=torch.uint8), enabled=torch.tensor(True)),
         "state\\['generator'\\]=.* is invalid"),
        (dict(generator="abc", enabled=torch.tensor(True)), "state\\['generator'\\]=<class 'str'> is invalid"),
        (dict(generator=torch.zeros(3), enabled=torch.tensor(True)), "state\\['generator'\\]=.* is invalid"),
        (dict(generator=None, enabled=torch.ones(3, dtype=torch.bool)), "state\\['enabled'\\]=.* is invalid"),
        (dict(generator=None, enabled=1), "state\\['enabled'\\]=1 is invalid: expected a bool tensor of one element"),
    ],
)
def test_a_state_that_does_not_fit_is_refused_and_changes_nothing(state, message):
    x, y = data()
    mixer, twin = Mixup(alpha=1.0, num_classes=4, seed=8), Mixup(alpha=1.0, num_classes=4, seed=8)
    if isinstance(state, dict) and state["generator"] is None:
        state["generator"] = mixer.generator.get_state()
    with pytest.raises(ValueError, match=message):
        mixer.load_state_dict(state)
    assert mixer.enabled and torch.equal(mixer(x, y).inputs, twin(x, y).inputs)


def test_options_are_read_only_and_enabled_is_the_switch():
    mixer = Mixup(alpha=0.4, num_classes=4, seed=0)
    with pytest.raises(AttributeError):
        mixer.alpha = -1.0
    mixer.enabled = False
    assert mixer.alpha == 0.4 and mixer(*data()).lam.item() == 1.0


def test_each_call_checks_its_batch_for_every_mode_it_may_use():
    x, y = data()
    mixer = Mixup(alpha=1.0, mode="cutmix", switch_prob=0.5, num_classes=4, seed=0)  # mixup on half the batches
    for _ in range(10):  # refused on every call, not only when mixup is drawn
        with pytest.raises(ValueError, match="x.dtype=torch.uint8 is invalid: expected a floating-point dtype"):
            mixer(x.to(torch.uint8), y)
    soft = torch.full((8, 4), 0.25)
    soft[2] = math.nan
    with pytest.raises(ValueError, match=re.escape("y[2].sum()=nan is invalid: expected 1 (within 0.001)")):
        Mixup(alpha=1.0, num_classes=4, seed=0, enabled=False)(x, soft)


def test_manifold_uses_the_mixers_options_generator_and_switches():
    from vicinal import manifold_mixup

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(36, 5), torch.nn.ReLU(), torch.nn.Linear(5, 4))
    x, y = data()
    mixer = Mixup(alpha=0.4, num_classes=4, seed=5, per_sample=True, pairing="roll", label_smoothing=0.1)
    logits, batch = mixer.manifold(model, x, y, layers=("1", "2"))
    want_logits, want = manifold_mixup(model, x, y, alpha=0.4, layers=("1", "2"), num_classes=4, per_sample=True,
                                       pairing="roll", label_smoothing=0.1, generator=torch.Generator().manual_seed(5))
    assert torch.equal(logits, want_logits) and batch.layer == want.layer and torch.equal(batch.lam, want.lam)
    assert torch.equal(batch.targets, want.targets) and torch.equal(batch.index, want.index)
    mixer.enabled = False
    state = mixer.generator.get_state()
    logits, batch = mixer.manifold(model, x, y, layers=("1",))
    assert torch.equal(logits, model(x)) and batch.inputs is x and bool((batch.lam == 1).all())
    assert torch.equal(mixer.generator.get_state(), state)  # nothing drawn for an unmixed batch


@pytest.mark.parametrize("mode,direct,options", [
    ("resizemix", resizemix, {"scale": (0.2, 0.6), "num_classes": 4}),
    ("fmix", fmix, {"alpha": 1.0, "decay_power": 2.0, "num_classes": 4}),
    ("regmixup", regmixup, {"alpha": 20.0, "num_classes": 4}),
])
def test_the_variant_modes_equal_their_core_functions(mode, direct, options):
    x, y = data()
    mixer_options = {"alpha": 1.0, **options}
    out = Mixup(mode=mode, seed=5, **mixer_options)(x, y)
    expected = direct(x, y, **options, generator=torch.Generator().manual_seed(5))
    for field in ("inputs", "targets", "lam", "index"):
        assert torch.equal(getattr(out, field), getattr(expected, field)), field


def test_c_mixup_mode_equals_c_mixup_on_regression_targets():
    x, y = data()
    targets = y.float() * 0.5
    out = Mixup(alpha=0.5, mode="c_mixup", bandwidth=0.3, per_sample=True, seed=6)(x, targets)
    generator = torch.Generator().manual_seed(6)
    expected = c_mixup(x, targets, alpha=0.5, bandwidth=0.3, per_sample=True, generator=generator)
    assert torch.equal(out.inputs, expected.inputs) and torch.equal(out.targets, expected.targets)


def test_fmix_mode_masks_the_chosen_dims():
    sequences = torch.randn(4, 2, 30, generator=torch.Generator().manual_seed(0))
    out = Mixup(alpha=1.0, mode="fmix", mask_dims=1, num_classes=4, seed=0)(sequences, torch.arange(4))
    assert out.inputs.shape == sequences.shape
    with pytest.raises(ValueError, match=re.escape("x.shape=(4, 30) is invalid")):
        Mixup(alpha=1.0, mode="fmix", mask_dims=2, num_classes=4, seed=0)(sequences[:, 0], torch.arange(4))


def test_variant_mode_errors():
    with pytest.raises(ValueError, match="switch_prob=0.5 is invalid: expected 0 for mode='fmix'"):
        Mixup(alpha=1.0, mode="fmix", switch_prob=0.5)
    with pytest.raises(ValueError, match="mode='c_mixup' is invalid: expected num_classes=None"):
        Mixup(alpha=1.0, mode="c_mixup", num_classes=3)
    with pytest.raises(ValueError, match="mask_dims=0 is invalid"):
        Mixup(alpha=1.0, mode="fmix", mask_dims=0)
    with pytest.raises(ValueError, match="bandwidth=-1 is invalid"):
        Mixup(alpha=1.0, mode="c_mixup", bandwidth=-1)
    with pytest.raises(ValueError, match="x.dtype=torch.uint8 is invalid"):
        images = torch.zeros(2, 1, 4, 4, dtype=torch.uint8)
        Mixup(alpha=1.0, mode="regmixup", num_classes=2)(images, torch.zeros(2).long())


def test_a_class_count_over_the_loaders_cap_is_refused_at_once():
    from vicinal.data import MAX_CLASSES

    x, y = torch.rand(2, 3), torch.tensor([0, 1])
    match = rf"num_classes={MAX_CLASSES + 1} is invalid: expected an integer >= 1 and <= {MAX_CLASSES}"
    with pytest.raises(ValueError, match=match):
        Mixup(alpha=1.0, num_classes=MAX_CLASSES + 1)
    with pytest.raises(ValueError, match=match):
        mixup(x, y, alpha=1.0, num_classes=MAX_CLASSES + 1)
    with pytest.raises(ValueError, match=r"num_classes=1000000000 is invalid"):  # not a 32 GB allocation attempt
        mixup(torch.rand(8, 3), torch.zeros(8, dtype=torch.long), alpha=1.0, num_classes=10**9)
    assert Mixup(alpha=1.0, num_classes=MAX_CLASSES)(x, y).targets.shape == (2, MAX_CLASSES)  # the cap itself is fine
