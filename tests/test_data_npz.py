"""Tests of .npz data sets: the kind of data read from the arrays' shapes, its default model and augmentation,
and every fault refused at load time with the file named."""

import numpy as np
import pytest
import torch

from vicinal.data import MAX_CLASSES, Augment, TensorLoader, load_dataset
from vicinal.data.npz import load_npz
from vicinal.models import build_model, default_model


def _npz(path, **arrays):
    """An .npz of 20 training and 8 test vectors of 5 features in 4 classes, with `arrays` replacing or
    adding entries (None drops one)."""
    rng = np.random.default_rng(0)
    base = {"x_train": rng.normal(size=(20, 5)), "y_train": np.arange(20) % 4,
            "x_test": rng.normal(size=(8, 5)), "y_test": np.arange(8) % 4}
    base.update(arrays)
    np.savez(path, **{k: v for k, v in base.items() if v is not None})
    return path


def _split(x):
    return dict(x_train=x[:20], x_test=x[20:28])


RNG = np.random.default_rng(1)
SEQUENCES = RNG.normal(size=(28, 40))  # (N, T): one-channel sequences when the archive says so
IMAGES_8 = RNG.integers(0, 256, (28, 1, 8, 8), dtype=np.uint8)  # (N, 1, 8, 8) uint8 images, digits-like
VECTORS = RNG.normal(size=(28, 6))


@pytest.mark.parametrize(("arrays", "kind", "shape", "model"), [
    (dict(**_split(SEQUENCES), kind="sequence"), "sequence", (1, 40), "cnn1d"),
    (_split(IMAGES_8), "image", (1, 8, 8), "fastcnn"),
    (_split(VECTORS), "tabular", (6,), "mlp"),
])  # fmt: skip
def test_each_kind_gets_a_fitting_default_model_and_no_augmentation(tmp_path, arrays, kind, shape, model):
    ds = load_dataset(f"npz:{_npz(tmp_path / 'd.npz', **arrays)}")
    assert ds.kind == kind and ds.input_shape == shape and ds.num_classes == 4
    assert ds.augment is None and ds.augmentation() is None  # a user's data: nothing unless asked for
    assert default_model(ds.input_shape) == model
    net = build_model(model, num_classes=ds.num_classes, input_shape=ds.input_shape)
    x, y = next(iter(TensorLoader(ds.x_train, ds.y_train, batch_size=8, mean=ds.mean, std=ds.std)))
    assert x.shape == (8, *shape) and net(x).shape == (8, 4)


@pytest.mark.parametrize(("x", "extra", "kind", "shape", "dtype"), [
    (RNG.normal(size=(28, 5)), {}, "tabular", (5,), torch.float32),
    (RNG.integers(0, 9, (28, 5), dtype=np.uint8), {}, "tabular", (5,), torch.float32),  # no widening past float32
    (RNG.normal(size=(28, 3, 16)).astype(np.float32), {}, "sequence", (3, 16), torch.float32),
    (RNG.normal(size=(28, 16)), dict(kind="sequence"), "sequence", (1, 16), torch.float32),
    (RNG.integers(0, 256, (28, 3, 16), dtype=np.uint8), dict(kind=np.array(b"sequence")), "sequence", (3, 16),
     torch.float32),
    (RNG.integers(0, 256, (28, 6, 7), dtype=np.uint8), {}, "image", (1, 6, 7), torch.uint8),
    (RNG.integers(0, 256, (28, 3, 6, 7), dtype=np.uint8), {}, "image", (3, 6, 7), torch.uint8),
    (RNG.normal(size=(28, 2, 6, 6)), {}, "image", (2, 6, 6), torch.float32),
    (RNG.normal(size=(28, 6, 6)), dict(kind="image"), "image", (1, 6, 6), torch.float32),
])  # fmt: skip
def test_the_kind_follows_from_the_shape_or_the_kind_array(tmp_path, x, extra, kind, shape, dtype):
    ds = load_npz(_npz(tmp_path / "d.npz", **_split(x), **extra))
    assert (ds.kind, ds.input_shape, ds.x_train.dtype, ds.x_test.dtype) == (kind, shape, dtype, dtype)
    if dtype == torch.float32:  # standardized per channel (per feature) over the training split
        axes = [0] + list(range(2, ds.x_train.ndim))
        values = ds.x_train.double()
        assert values.mean(axes).abs().max() < 1e-6
        assert ((values.std(axes, unbiased=False) - 1).abs() < 1e-4).all()
        assert ds.mean == (0.0,) * shape[0] and ds.std == (1.0,) * shape[0]


def test_sequences_are_scaled_per_channel_with_training_statistics(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(28, 2, 10)) * np.array([1.0, 100.0]).reshape(1, 2, 1) + np.array([5.0, -3.0]).reshape(1, 2, 1)
    ds = load_npz(_npz(tmp_path / "s.npz", **_split(x)))
    train = x[:20]
    mean, std = train.mean(axis=(0, 2), keepdims=True), train.std(axis=(0, 2), keepdims=True)
    np.testing.assert_allclose(ds.x_test.numpy(), (x[20:28] - mean) / std, rtol=1e-5, atol=1e-5)


def test_float_labels_that_are_whole_numbers_are_read_as_classes_when_asked(tmp_path):
    path = _npz(tmp_path / 'f.npz', y_train=(np.arange(20) % 4).astype(float))
    ds = load_dataset(f"npz:{path}", task="classification")
    assert ds.task == "classification" and ds.y_train.dtype == torch.int64
    assert ds.y_train.tolist() == (np.arange(20) % 4).tolist()
    assert load_dataset(f"npz:{path}").task == "regression"  # float y: regression targets unless asked otherwise


@pytest.mark.parametrize("arrays, fault", [
    ({"y_train": np.linspace(0, 1, 20)}, "y_train must be integer class labels"),
    ({"y_train": np.r_[np.arange(19) % 4, 1e30]}, "far beyond any class index"),
    ({"y_train": np.r_[np.arange(19) % 4, 2.0**63]}, "far beyond any class index"),
])  # fmt: skip
def test_float_labels_read_as_classes_must_be_class_indices(tmp_path, arrays, fault):
    path = _npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=f"bad.npz: .*{fault}"):
        load_dataset(f"npz:{path}", task="classification")


def test_float_targets_are_read_as_regression_targets_in_their_units(tmp_path):
    rng = np.random.default_rng(3)
    y_train, y_test = rng.normal(50, 10, size=(20, 2)), rng.normal(50, 10, size=(8, 2))
    ds = load_dataset(f"npz:{_npz(tmp_path / 'r.npz', y_train=y_train, y_test=y_test)}")
    assert ds.task == "regression" and ds.num_classes == 0 and ds.outputs == 2
    assert ds.y_train.dtype == torch.float32 and ds.y_train.shape == (20, 2)
    np.testing.assert_allclose(ds.y_test.numpy(), y_test, rtol=1e-6)  # not standardized: the targets' units
    ints = load_dataset(f"npz:{_npz(tmp_path / 'i.npz')}", task="regression")  # integer y as targets when asked
    assert ints.task == "regression" and ints.outputs == 1 and ints.y_train.dtype == torch.float32


@pytest.mark.parametrize("arrays, fault", [
    ({"y_train": np.full(20, np.nan)}, r"y_train has non-finite values"),
    ({"y_train": np.zeros((20, 2)), "y_test": np.zeros((8, 3))},
     r"y_train targets \(2,\) and y_test targets \(3,\) differ"),
    ({"y_train": np.zeros((20, 2, 2))}, r"y_train must be numeric regression targets \(N,\) or \(N, D\)"),
])  # fmt: skip
def test_bad_regression_targets_name_file_and_fault(tmp_path, arrays, fault):
    path = _npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=f"bad.npz: .*{fault}"):
        load_dataset(f"npz:{path}")


BIG = np.finfo(np.float32).max


@pytest.mark.parametrize("arrays, fault", [
    ({"y_test": None}, r"missing arrays \['y_test'\]"),
    ({"y_train": np.arange(19) % 4}, "train split: 20 inputs but 19 labels"),
    ({"y_train": np.zeros((20, 1), int)}, r"y_train must be integer class labels \(N,\)"),
    ({"y_train": -(np.arange(20) % 4)}, "negative label"),
    ({"x_test": np.zeros((8, 6))}, "differ"),
    ({"x_train": np.full((20, 5), np.nan)}, r"x_train has non-finite values \(NaN/inf\): nan in row 0"),
    ({"x_train": np.zeros(20)}, "x_train must hold one row per example"),
    ({"x_train": np.zeros((20, 0)), "x_test": np.zeros((8, 0))}, "an example needs at least one value"),
    ({"x_train": np.zeros((20, 1, 2, 3, 4)), "x_test": np.zeros((8, 1, 2, 3, 4))}, r"expected vectors \(N, F\)"),
    ({"x_train": np.array(["a"] * 20).reshape(20, 1), "x_test": np.array(["a"] * 8).reshape(8, 1)},
     "x_train has dtype <U1: expected numbers"),
    ({"x_train": np.zeros((20, 5), complex), "x_test": np.zeros((8, 5), complex)}, "expected numbers"),
    # one class; no test rows (the file failed only after an epoch, without naming the file)
    ({"y_train": np.zeros(20, int)}, "y_train holds only class 0: a classifier needs at least 2 classes"),
    ({"x_test": np.zeros((0, 5)), "y_test": np.zeros(0, int)}, "x_test is empty"),
    ({"x_train": np.zeros((0, 5)), "y_train": np.zeros(0, int)}, "x_train is empty"),
    # features beyond float32 were zeroed in training data and failed after an epoch in test data
    ({"x_train": np.full((20, 5), 1e300)}, r"x_train has values beyond float32's range .*: 1e\+300 in row 0"),
    ({"x_test": np.vstack([np.zeros((7, 5)), np.full((1, 5), -1e39)])}, r"x_test .* beyond float32's range.* row 7"),
    ({"x_train": np.vstack([np.zeros((19, 5)), np.full((1, 5), 1e-30)]), "x_test": np.full((8, 5), 1e30)},
     "x_test row 0 lies beyond float32's range once scaled"),
    # classes: 0..C-1 with C <= MAX_CLASSES
    ({"y_train": np.r_[np.arange(19) % 4, 20_000_000]}, "label 20000000 in y_train asks for 20000001 classes: "
                                                        rf"expected class indices 0..C-1 with C <= {MAX_CLASSES}"),
    ({"y_test": np.r_[np.arange(7) % 4, MAX_CLASSES]}, f"label {MAX_CLASSES} in y_test"),
    ({"y_train": np.array([*range(19), 2**63], dtype=np.uint64) % np.uint64(2**64 - 1)}, "far beyond any class index"),
    ({"x_train": IMAGES_8[:20], "x_test": IMAGES_8[20:28].astype(float)}, "x_train is uint8 and x_test float64: "
                                                                            "images are uint8 in both splits"),
    ({"kind": "video"}, r"kind='video' is invalid: expected one of \['image', 'sequence', 'tabular'\]"),
    ({"kind": np.arange(3)}, "kind must be a string"),
    ({"kind": "image"}, r"x_train has shape \(20, 5\), which kind='image' does not take"),
    ({"x_train": np.array([{"a": 1}] * 20, dtype=object).reshape(20, 1)},
     r"x_train holds Python objects or records \(dtype object\), which are refused"),
])  # fmt: skip
def test_bad_npz_names_file_and_fault(tmp_path, arrays, fault):
    path = _npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=f"bad.npz: .*{fault}"):
        load_dataset(f"npz:{path}")


def test_files_that_are_no_npz_say_what_they_are(tmp_path):
    """np.load calls any file that is not a zip archive "pickled (object) data"; each is named for what it is."""
    np.save(tmp_path / "one.npy", np.zeros(3))
    garbage = tmp_path / "text.npz"
    garbage.write_text("hello world")
    whole = _npz(tmp_path / "good.npz").read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(whole[: len(whole) // 2])
    flipped = tmp_path / "flip.npz"
    flipped.write_bytes(whole[:200] + bytes([whole[200] ^ 0xFF]) + whole[201:])
    cases = {"one.npy": "is a single .npy array, expected an .npz archive",
             "text.npz": r"is not an .npz archive: it does not start with a zip signature \(starts b'hello '\)",
             "cut.npz": "is a damaged or truncated zip archive",
             "flip.npz": r"is a damaged or truncated zip archive \(BadZipFile: Bad CRC-32",
             "missing.npz": "cannot be read"}
    for name, fault in cases.items():
        with pytest.raises(ValueError, match=f"{name}: {fault}") as raised:
            load_npz(tmp_path / name)
        assert "pickle" not in str(raised.value)


def test_a_decoded_size_over_the_limit_is_refused_before_reading(tmp_path, monkeypatch):
    """uint8 zeros compress about 1000:1; the limit is checked against what they decode to, before reading."""
    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, x_train=np.zeros((2000, 1000), np.uint8), y_train=np.arange(2000) % 2,
                        x_test=np.zeros((10, 1000), np.uint8), y_test=np.arange(10) % 2)
    assert path.stat().st_size < 20_000
    fault = (r"zeros.npz: its arrays \(x_train uint8 \(2000, 1000\), .*\) needs 9.6 MiB of memory, "
             r"more than the limit of 4.0 MiB")
    with pytest.raises(ValueError, match=fault):
        load_npz(path, max_bytes=4 << 20)
    monkeypatch.setenv("VICINAL_MEMORY_LIMIT", str(4 << 20))
    with pytest.raises(ValueError, match="more than the limit of 4.0 MiB"):
        load_dataset(f"npz:{path}")
    monkeypatch.setenv("VICINAL_MEMORY_LIMIT", str(16 << 20))
    ds = load_dataset(f"npz:{path}")
    assert ds.kind == "tabular" and ds.x_train.dtype == torch.float32 and ds.x_train.shape == (2000, 1000)


def test_augmentation_is_asked_for_and_must_fit_the_images(tmp_path):
    images = load_npz(_npz(tmp_path / "i.npz", **_split(IMAGES_8)))
    assert images.augmentation(flip=True) == Augment(flip=True)
    assert images.augmentation(crop_padding=4) == Augment(crop_padding=4)
    with pytest.raises(ValueError, match=r"crop_padding=100000 is invalid for images of shape \(1, 8, 8\): expected at "
                                         r"most 4 \(half the smaller side\)"):
        images.augmentation(crop_padding=100000)
    sequences = load_npz(_npz(tmp_path / "s.npz", **_split(SEQUENCES), kind="sequence"))
    assert sequences.augmentation(crop_padding=0, flip=False) is None
    with pytest.raises(ValueError, match=r"augmentation Augment\(crop_padding=0, flip=True\) is invalid for examples "
                                         r"of shape \(1, 40\): expected images \(C, H, W\)"):
        sequences.augmentation(flip=True)
    with pytest.raises(ValueError, match="crop_padding must be an int >= 0"):
        images.augmentation(crop_padding=-1)
