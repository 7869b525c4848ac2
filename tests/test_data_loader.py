"""Tests of batched augmentation and TensorLoader: coverage, normalization, sharding and exact resume."""

import io

import pytest
import torch
import torch.nn.functional as F

from vicinal.data import Augment, TensorLoader, apply_augment, augment_batch, sample_augment


def images(n=50, channels=3, size=8, seed=0):
    return torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(seed))


def reference_augment(x, aug, params):
    """Per-image loop: pad, take the window at the drawn offset, flip if drawn."""
    out = []
    for i, image in enumerate(x):
        if params.offsets is not None:
            p = aug.crop_padding
            padded = F.pad(image, (p, p, p, p))
            r, c = params.offsets[i].tolist()
            image = padded[:, r:r + x.shape[2], c:c + x.shape[3]]
        if params.flips is not None and params.flips[i]:
            image = image.flip(-1)
        out.append(image)
    return torch.stack(out)


@pytest.mark.parametrize("aug", [Augment(crop_padding=2), Augment(flip=True), Augment(crop_padding=4, flip=True)])
def test_augment_matches_per_image_reference(aug):
    x = images()
    before = x.clone()
    params = sample_augment(aug, len(x), torch.Generator().manual_seed(1))
    out = apply_augment(x, aug, params)
    assert out.dtype == torch.uint8 and out.shape == x.shape
    assert torch.equal(out, reference_augment(x, aug, params))
    assert torch.equal(x, before)


def test_augment_draws_are_uniform():
    aug = Augment(crop_padding=3, flip=True)
    params = sample_augment(aug, 20000, torch.Generator().manual_seed(2))
    counts = params.offsets.flatten().bincount(minlength=7).double()
    assert params.offsets.min() == 0 and params.offsets.max() == 6
    assert (counts / counts.sum() - 1 / 7).abs().max() < 0.01
    assert params.flips.double().mean().item() == pytest.approx(0.5, abs=0.015)


def test_augment_batch_seeded_and_identity_when_off():
    x = images()
    aug = Augment(crop_padding=2, flip=True)
    a, b = (augment_batch(x, aug, torch.Generator().manual_seed(3)) for _ in range(2))
    assert torch.equal(a, b) and not torch.equal(a, augment_batch(x, aug, torch.Generator().manual_seed(4)))
    same = augment_batch(x, Augment(), torch.Generator())
    assert torch.equal(same, x) and same.data_ptr() != x.data_ptr()
    assert augment_batch(x[:0], aug, torch.Generator()).shape == (0, 3, 8, 8)


@pytest.mark.parametrize("kwargs, fault", [
    ({"crop_padding": -1}, "crop_padding must be an int >= 0"), ({"crop_padding": 1.5}, "crop_padding must be"),
    ({"flip": "yes"}, "flip must be a bool"),
])
def test_bad_augment(kwargs, fault):
    with pytest.raises(ValueError, match=fault):
        Augment(**kwargs)


def test_augment_needs_images():
    with pytest.raises(ValueError, match=r"needs images \(B, C, H, W\), got shape \(4, 5\)"):
        augment_batch(torch.zeros(4, 5, dtype=torch.uint8), Augment(flip=True), torch.Generator())


def collect(loader, batches=None):
    out = []
    for i, batch in enumerate(loader):
        out.append(batch)
        if batches is not None and i + 1 == batches:
            break
    return out


@pytest.mark.parametrize("drop_last, expected_len", [(False, 5), (True, 4)])
def test_epoch_covers_every_example_once(drop_last, expected_len):
    y = torch.arange(50)
    loader = TensorLoader(images(), y, batch_size=12, drop_last=drop_last, seed=1)
    assert len(loader) == expected_len
    seen = torch.cat([labels for _, labels in collect(loader)])
    assert len(seen) == (48 if drop_last else 50) and len(set(seen.tolist())) == len(seen)
    assert not torch.equal(seen, torch.arange(len(seen)))  # shuffled
    ordered = torch.cat([labels for _, labels in TensorLoader(images(), y, batch_size=12, shuffle=False)])
    assert torch.equal(ordered, y)


def test_normalization_matches_reference_and_input_untouched():
    x = images()
    before = x.clone()
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    loader = TensorLoader(x, torch.arange(50), batch_size=16, shuffle=False, mean=mean, std=std)
    inputs = torch.cat([b for b, _ in collect(loader)])
    mean_, std_ = (torch.tensor(v).double().view(1, 3, 1, 1) for v in (mean, std))
    reference = (x.double() / 255 - mean_) / std_
    assert inputs.dtype == torch.float32
    torch.testing.assert_close(inputs.double(), reference, atol=1e-5, rtol=1e-5)
    assert torch.equal(x, before)


def test_float_features_pass_through_and_channels_last():
    features = torch.randn(30, 7)
    inputs = torch.cat([b for b, _ in collect(TensorLoader(features, torch.zeros(30, dtype=torch.int64),
                                                           batch_size=8, shuffle=False))])
    assert torch.equal(inputs, features)
    loader = TensorLoader(images(), torch.arange(50), batch_size=8, channels_last=True, shuffle=False)
    batch, _ = next(iter(loader))
    assert batch.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(batch, images()[:8].float() / 255)


def test_epochs_differ_and_seed_decides():
    def orders(seed):
        loader = TensorLoader(images(), torch.arange(50), batch_size=50, seed=seed)
        return [torch.cat([y for _, y in collect(loader)]) for _ in range(2)]

    first, second = orders(0)
    assert not torch.equal(first, second)
    assert all(torch.equal(a, b) for a, b in zip(orders(0), (first, second)))
    assert not torch.equal(orders(1)[0], first)


def loader(**kwargs):
    options = dict(batch_size=8, augment=Augment(crop_padding=2, flip=True), mean=(0.5,) * 3, std=(0.25,) * 3, seed=5)
    return TensorLoader(images(), torch.arange(50), **(options | kwargs))


def flat(batches):
    return [(x.clone(), y.clone()) for x, y in batches]


@pytest.mark.parametrize("stop_after", [3, 7, 9, 14])  # mid-epoch, end of an epoch (7 batches), next epoch
def test_resume_gives_the_uninterrupted_batches(stop_after):
    reference = loader()
    expected = flat(collect(reference)) + flat(collect(reference)) + flat(collect(reference))
    interrupted = loader()
    got, remaining = [], stop_after
    while remaining:  # iterate epoch by epoch until stop_after batches were taken
        part = flat(collect(interrupted, remaining))
        got += part
        remaining -= len(part)
    buffer = io.BytesIO()
    torch.save(interrupted.state_dict(), buffer)
    buffer.seek(0)
    resumed = loader()
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    while len(got) < len(expected):
        got += flat(collect(resumed))
    assert len(got) == len(expected)
    for (xa, ya), (xb, yb) in zip(got, expected):
        assert torch.equal(ya, yb) and torch.equal(xa, xb)


def test_resume_from_a_finished_epoch():
    reference = loader()
    collect(reference)
    expected = flat(collect(reference))
    interrupted = loader()
    collect(interrupted)  # the epoch ran to its end: the state is (epoch 1, position 0)
    state = interrupted.state_dict()
    assert (state["epoch"], state["position"]) == (1, 0)
    resumed = loader()
    resumed.load_state_dict(state)
    got = flat(collect(resumed))
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(got, expected))


def test_breaking_out_continues_the_same_epoch_and_set_epoch_jumps():
    a = loader()
    whole = flat(collect(a))
    b = loader()
    head = flat(collect(b, 2))
    tail = flat(collect(b))
    assert all(torch.equal(x, y) for (x, _), (y, _) in zip(head + tail, whole))
    later = flat(collect(a)) + flat(collect(a))  # epochs 1 and 2
    c = loader()
    c.set_epoch(2)
    assert all(torch.equal(x, y) for (x, _), (y, _) in zip(flat(collect(c)), later[len(whole):]))


@pytest.mark.parametrize("drop_last", [True, False])
def test_two_ranks_see_the_one_process_batch(drop_last):
    single = flat(collect(loader(batch_size=16, drop_last=drop_last)))
    ranks = [flat(collect(loader(batch_size=8, rank=r, world_size=2, drop_last=drop_last))) for r in range(2)]
    assert len(single) == len(ranks[0]) == len(ranks[1]) == (3 if drop_last else 4)
    for whole, part0, part1 in zip(single, *ranks):
        assert torch.equal(whole[0], torch.cat([part0[0], part1[0]]))
        assert torch.equal(whole[1], torch.cat([part0[1], part1[1]]))
    if not drop_last:  # the 2 leftover rows are split one per rank
        assert len(ranks[0][-1][1]) == len(ranks[1][-1][1]) == 1
    assert ranks[0][0][1].tolist() != ranks[1][0][1].tolist()


def test_state_from_another_setup_refused():
    state = loader().state_dict()
    with pytest.raises(ValueError, match="global_batch_size=8, this loader has 16"):
        loader(batch_size=16).load_state_dict(state)
    with pytest.raises(ValueError, match=r"lacks \['position'\]"):
        loader().load_state_dict({k: v for k, v in state.items() if k != "position"})
    with pytest.raises(ValueError, match="position 99"):
        loader().load_state_dict(state | {"position": 99})
    with pytest.raises(ValueError, match="augment_generator must be a uint8 tensor"):
        loader().load_state_dict(state | {"augment_generator": [1, 2]})


@pytest.mark.parametrize("kwargs, fault", [
    ({"batch_size": 0}, "batch_size must be an int >= 1, got 0"),
    ({"rank": 2, "world_size": 2}, r"rank must be an int in \[0, 1\], got 2"),
    ({"world_size": 0}, "world_size must be an int >= 1"),
    ({"seed": -1}, "seed must be an int >= 0"),
    ({"mean": (0.5,) * 3, "std": None}, "give both mean and std"),
    ({"mean": (0.5,) * 2, "std": (0.2,) * 2}, "mean and std need 1 or 3 values"),
    ({"mean": (0.5,) * 3, "std": (0.0,) * 3}, "std finite and > 0"),
])
def test_bad_loader_arguments(kwargs, fault):
    with pytest.raises(ValueError, match=fault):
        loader(**kwargs)


def test_bad_loader_data():
    with pytest.raises(ValueError, match="same length, got 50 and 49"):
        TensorLoader(images(), torch.arange(49), batch_size=4)
    with pytest.raises(ValueError, match=r"y must hold integer class labels \(N,\) or float regression targets"):
        TensorLoader(images(), torch.zeros(50, 2, dtype=torch.int64), batch_size=4)
    with pytest.raises(ValueError, match="y must hold integer class labels"):
        TensorLoader(images(), torch.zeros(50, dtype=torch.bool), batch_size=4)
    with pytest.raises(ValueError, match="augment needs images"):
        TensorLoader(torch.randn(10, 3), torch.arange(10), batch_size=4, augment=Augment(flip=True))


def test_float_targets_are_yielded_as_float32_rows_with_their_inputs():
    x = torch.arange(40, dtype=torch.float32).reshape(20, 2)
    y = torch.stack([x[:, 0] * 0.5, -x[:, 1]], dim=1).double()  # (N, 2) regression targets tied to each row
    batches = collect(TensorLoader(x, y, batch_size=8, shuffle=True, seed=3))
    inputs, targets = torch.cat([b for b, _ in batches]), torch.cat([t for _, t in batches])
    assert targets.dtype == torch.float32 and targets.shape == (20, 2)
    assert torch.equal(targets, torch.stack([inputs[:, 0] * 0.5, -inputs[:, 1]], dim=1))
    one = collect(TensorLoader(x, y[:, 0], batch_size=8))[0][1]
    assert one.dtype == torch.float32 and one.shape == (8,)
