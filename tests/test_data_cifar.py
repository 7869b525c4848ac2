"""Tests of the CIFAR-10/100 pickle-batch loaders, the restricted unpickler and safe tar extraction."""

import dataclasses
import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from numpy._core.multiarray import _reconstruct

from vicinal.data import Augment, cifar, load_dataset
from vicinal.data.download import extract_tar, file_digest
from vicinal.data.safe_pickle import load_pickle

pytestmark = pytest.mark.usefixtures("isolated")  # no test sees the user's cache or $VICINAL_DATA


def batch(rng, rows: int, *, num_classes: int = 10, label_key: bytes = b"labels") -> dict:
    """A batch in the official format: bytes keys, uint8 data (N, 3072), labels as a list of ints."""
    return {b"batch_label": b"testing batch", b"data": rng.integers(0, 256, (rows, 3072), dtype=np.uint8),
            label_key: [int(v) for v in rng.integers(0, num_classes, rows)], b"filenames": [b"a.png"] * rows}


def dump(path: Path, obj, protocol: int = 2) -> Path:
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


def write_cifar10(folder: Path, *, seed: int = 0, rows: int = 4, protocol: int = 2) -> dict[str, dict]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    batches = {name: batch(rng, rows) for name in cifar.SOURCES["cifar10"].train + ("test_batch",)}
    for name, content in batches.items():
        dump(folder / name, content, protocol)
    return batches


@pytest.mark.parametrize("protocol", [2, 5])
def test_cifar10_loads_in_order(tmp_path, protocol):
    batches = write_cifar10(tmp_path / "cifar-10-batches-py", protocol=protocol)
    ds = load_dataset("cifar10", data_dir=tmp_path, download=False)
    assert ds.x_train.shape == (20, 3, 32, 32) and ds.x_train.dtype == torch.uint8
    assert ds.x_test.shape == (4, 3, 32, 32) and ds.num_classes == 10 and ds.classes == cifar.CIFAR10_CLASSES
    expected = np.concatenate([batches[f"data_batch_{i}"][b"data"] for i in range(1, 6)]).reshape(20, 3, 32, 32)
    np.testing.assert_array_equal(ds.x_train.numpy(), expected)
    assert ds.y_test.tolist() == batches["test_batch"][b"labels"]
    assert len(ds.mean) == 3 and ds.mean[1] == pytest.approx(expected[:, 1].mean() / 255, abs=1e-9)
    assert ds.augment == Augment(crop_padding=4, flip=True) == ds.augmentation()  # the paper's, label-preserving
    assert ds.augmentation(crop_padding=0) == Augment(flip=True) and ds.augmentation(crop_padding=0, flip=False) is None


def test_cifar100_fine_labels_and_meta(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    dump(folder / "train", batch(rng, 6, num_classes=100, label_key=b"fine_labels"))
    dump(folder / "test", batch(rng, 3, num_classes=100, label_key=b"fine_labels"))
    names = [f"class{i}".encode() for i in range(100)]
    dump(folder / "meta", {b"fine_label_names": names, b"coarse_label_names": names[:20]})
    ds = load_dataset("cifar100", data_dir=tmp_path, download=False)
    assert ds.num_classes == 100 and ds.classes[7] == "class7" and ds.x_train.shape == (6, 3, 32, 32)


class _Shell:
    """A pickle payload that would run a shell command when unpickled without restriction."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_pickle_naming_os_system_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar10(folder)
    evil = batch(np.random.default_rng(0), 4)
    evil[b"labels"] = _Shell(marker)
    dump(folder / "data_batch_3", evil)
    with pytest.raises(ValueError, match="data_batch_3: refused or corrupt pickle.*refused global .*system"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)
    assert not marker.exists()


@pytest.mark.parametrize("payload, fault", [
    (np.array([1, 2], dtype=object), "refused dtype"),
    (np.zeros(3, dtype=[("a", "u1"), ("b", "f4")]), "refused"),
    (io.BytesIO(b"x"), "refused global"),
    (dataclasses.field, "refused global"),
])
def test_restricted_unpickler_refuses_objects(tmp_path, payload, fault):
    path = dump(tmp_path / "p.pkl", {"data": payload}, protocol=4)
    with pytest.raises(ValueError, match=f"p.pkl: .*{fault}"):
        load_pickle(path)


class _SharedBuffer:
    """An array pickled with a given bytes object as its data: pickle stores the object once and refers to it."""

    def __init__(self, data: bytes):
        self.data = data

    def __reduce__(self):
        return _reconstruct, (np.ndarray, (0,), b"b"), (1, (len(self.data),), np.dtype("u1"), False, self.data)


@pytest.mark.parametrize("protocol", [2, 4])
def test_arrays_re_using_one_buffer_past_the_file_size_are_refused(tmp_path, protocol):
    """A 100 kB buffer referred to 1,000 times is a 130 kB file that would unpickle to 100 MB of arrays."""
    shared = bytes(100_000)
    path = dump(tmp_path / "bomb.pkl", {b"data": [_SharedBuffer(shared) for _ in range(1000)]}, protocol)
    assert path.stat().st_size < 150_000
    with pytest.raises(ValueError, match="bomb.pkl: refused or corrupt pickle .*arrays hold more bytes than the file"):
        load_pickle(path)
    once = load_pickle(dump(tmp_path / "once.pkl", {b"data": [_SharedBuffer(shared)]}, protocol))
    assert once[b"data"][0].shape == (100_000,)


def test_restricted_unpickler_keeps_plain_data(tmp_path):
    content = {"a": [1, 2.5, None, True], b"b": (b"x", "y"), "c": np.arange(6, dtype=">f4").reshape(2, 3)}
    for protocol in (0, 2, 4, 5):
        loaded = load_pickle(dump(tmp_path / "ok.pkl", content, protocol))
        assert loaded["a"] == content["a"] and loaded[b"b"] == content[b"b"]
        np.testing.assert_array_equal(loaded["c"], content["c"])
        assert loaded["c"].dtype == content["c"].dtype


def _bad_batches(rng):
    good = batch(rng, 4)
    yield "not a dict", [1, 2], "expected a dict batch"
    yield "no data", {k: v for k, v in good.items() if k != b"data"}, "no 'data' entry"
    yield "float data", {**good, b"data": good[b"data"].astype(np.float32)}, "'data' must be a uint8 array"
    yield "wrong width", {**good, b"data": good[b"data"][:, :100]}, r"'data' must be a uint8 array \(N, 3072\)"
    yield "label range", {**good, b"labels": [0, 1, 2, 10]}, "label 10 out of range: expected 0..9"
    yield "negative label", {**good, b"labels": [0, -1, 2, 3]}, "label -1 out of range"
    yield "count", {**good, b"labels": [0, 1, 2]}, "4 inputs but 3 labels"
    yield "float labels", {**good, b"labels": [0.5, 1, 2, 3]}, "must be a list of integer labels"


@pytest.mark.parametrize("case", [c for c, _, _ in _bad_batches(np.random.default_rng(0))])
def test_bad_batches_name_file_and_fault(tmp_path, case):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar10(folder)
    content, fault = next((c, f) for name, c, f in _bad_batches(np.random.default_rng(0)) if name == case)
    dump(folder / "test_batch", content)
    with pytest.raises(ValueError, match=f"test_batch: .*{fault}"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)


def _serve_tarball(tmp_path, monkeypatch, *, md5: str | None = None) -> Path:
    staging = tmp_path / "staging"
    write_cifar10(staging / "cifar-10-batches-py", seed=4)
    archive = tmp_path / "server" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(staging / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    source = dataclasses.replace(cifar.SOURCES["cifar10"], url=archive.as_uri(), md5=md5 or file_digest(archive))
    monkeypatch.setitem(cifar.SOURCES, "cifar10", source)
    return tmp_path / "home" / ".cache" / "vicinal" / "cifar10"


def test_download_and_extract_tarball(tmp_path, monkeypatch):
    cache = _serve_tarball(tmp_path, monkeypatch)
    ds = load_dataset("cifar10")
    assert ds.source == str(cache / "cifar-10-batches-py") and ds.x_train.shape == (20, 3, 32, 32)
    assert sorted(p.name for p in cache.iterdir()) == ["cifar-10-batches-py"]  # archive and staging removed


def test_tarball_checksum_mismatch(tmp_path, monkeypatch):
    _serve_tarball(tmp_path, monkeypatch, md5="f" * 32)
    with pytest.raises(ValueError, match="cifar-10-python.tar.gz: checksum mismatch"):
        load_dataset("cifar10")


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_extract_refuses_members_outside_target(tmp_path, kind):
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo({"dotdot": "../escaped", "absolute": "/tmp/escaped", "symlink": "link"}[kind])
        if kind == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
        else:
            info.size = 3
            tar.addfile(info, io.BytesIO(b"bad"))
    target = tmp_path / "target"
    with pytest.raises(ValueError, match="evil.tar: member .*(outside|link or device)"):
        extract_tar(archive, target)
    assert not (tmp_path / "escaped").exists() and list(target.iterdir()) == []


def test_corrupt_tarball_is_value_error(tmp_path):
    archive = tmp_path / "cut.tar.gz"
    archive.write_bytes(b"\x1f\x8b" + b"\x00" * 50)
    with pytest.raises(ValueError, match="cut.tar.gz: not a readable tar archive"):
        extract_tar(archive, tmp_path / "out")
