"""Tests of the IDX reader, the Fashion-MNIST / MNIST loaders, their search order and checksummed downloads."""

import dataclasses
import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from vicinal.data import Augment, DataNotFoundError, load_dataset, mnist
from vicinal.data.download import download, file_digest
from vicinal.data.idx import read_idx, write_idx

STEMS = [stem for pair in mnist.FILES.values() for stem in pair]


pytestmark = pytest.mark.usefixtures("isolated")  # no test sees the user's cache or $VICINAL_DATA


def write_idx_set(folder: Path, *, seed: int = 0, n_train: int = 30, n_test: int = 12, gz: bool = True,
                  num_classes: int = 10) -> dict[str, np.ndarray]:
    """The four IDX files of a tiny MNIST-like set in `folder`; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, num_classes, n_train).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, num_classes, n_test).astype(np.uint8),
    }
    for stem, array in arrays.items():
        write_idx(folder / (stem + (".gz" if gz else "")), array)
    return arrays


def test_reads_hand_made_bytes(tmp_path):
    data = np.arange(6, dtype=np.int16).reshape(2, 3) - 3
    raw = bytes([0, 0, 0x0B, 2]) + struct.pack(">II", 2, 3) + data.astype(">i2").tobytes()
    path = tmp_path / "hand.idx"
    path.write_bytes(raw)
    out = read_idx(path)
    assert out.dtype == np.int16 and out.shape == (2, 3)
    np.testing.assert_array_equal(out, data)


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_roundtrip_every_type(tmp_path, dtype, suffix):
    array = (np.arange(60) - 20).astype(dtype).reshape(3, 4, 5)
    out = read_idx(write_idx(tmp_path / f"a{suffix}", array), ndim=3)
    assert out.dtype == array.dtype
    np.testing.assert_array_equal(out, array)


def _valid_bytes() -> bytes:
    return bytes([0, 0, 8, 3]) + struct.pack(">III", 2, 2, 2) + bytes(range(8))


BAD_IDX = {
    "empty": (b"", "truncated"),
    "bad magic": (b"\x01" + _valid_bytes()[1:], "bad magic number"),
    "unknown type": (bytes([0, 0, 0x07, 3]) + _valid_bytes()[4:], "bad magic number"),
    "dims cut": (_valid_bytes()[:9], "truncated"),
    "data cut": (_valid_bytes()[:-1], "truncated"),
    "trailing bytes": (_valid_bytes() + b"\x00", "bytes after"),
    "implausible dims": (bytes([0, 0, 8, 3]) + struct.pack(">III", 2**31, 2**31, 2**31), "too large for any array"),
    "dims over memory": (bytes([0, 0, 8, 3]) + struct.pack(">III", 2**20, 2**20, 2**10), "more than the limit"),
    "dims beyond any array": (bytes([0, 0, 8, 4]) + struct.pack(">IIII", 0, 14, 2**30, 2**30),
                              "too large for any array"),
}


@pytest.mark.parametrize("case", sorted(BAD_IDX))
@pytest.mark.parametrize("compress", [False, True])
def test_bad_idx_names_file_and_fault(tmp_path, case, compress):
    raw, fault = BAD_IDX[case]
    path = tmp_path / f"bad{'.gz' if compress else ''}"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    with pytest.raises(ValueError, match=f"{path.name}.*{fault}"):
        read_idx(path)


def test_wrong_rank_refused(tmp_path):
    path = write_idx(tmp_path / "labels", np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match="expected an IDX file of 3 dimensions"):
        read_idx(path, ndim=3)


@pytest.mark.parametrize("cut", [10, 0.5, -5, -1])
def test_truncated_gzip_stream(tmp_path, cut):
    good = tmp_path / "good.gz"
    write_idx(good, np.arange(400, dtype=np.uint8).reshape(20, 20))
    whole = good.read_bytes()
    end = int(len(whole) * cut) if isinstance(cut, float) else cut
    path = tmp_path / "cut.gz"
    path.write_bytes(whole[:end])
    with pytest.raises(ValueError, match="cut.gz.*(truncated|corrupt)"):
        read_idx(path)


def test_gzip_crc_error(tmp_path):
    good = write_idx(tmp_path / "good.gz", np.arange(400, dtype=np.uint8).reshape(20, 20)).read_bytes()
    crc_broken = good[:-8] + bytes([good[-8] ^ 0xFF]) + good[-7:]
    path = tmp_path / "crc.gz"
    path.write_bytes(crc_broken)
    with pytest.raises(ValueError, match="crc.gz.*corrupt"):
        read_idx(path)


@pytest.mark.parametrize("gz", [True, False])
def test_loads_idx_set_from_data_dir(tmp_path, gz):
    arrays = write_idx_set(tmp_path / "data", gz=gz)
    ds = load_dataset("mnist", data_dir=tmp_path / "data", download=False)
    assert ds.kind == "image" and ds.num_classes == 10 and ds.classes == [str(d) for d in range(10)]
    assert ds.x_train.shape == (30, 1, 28, 28) and ds.x_train.dtype == torch.uint8
    assert ds.y_train.dtype == torch.int64 and ds.x_test.shape == (12, 1, 28, 28)
    np.testing.assert_array_equal(ds.x_train[:, 0].numpy(), arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(ds.y_test.numpy(), arrays["t10k-labels-idx1-ubyte"])
    pixels = arrays["train-images-idx3-ubyte"] / 255.0  # independent reference for the statistics
    assert ds.mean[0] == pytest.approx(pixels.mean(), abs=1e-9)
    assert ds.std[0] == pytest.approx(pixels.std(), abs=1e-9)
    assert ds.augment == Augment(crop_padding=2)  # shifts keep a digit; a mirror image does not


def test_counts_and_sizes_are_checked_from_the_headers_before_any_data_is_read(tmp_path):
    """A gzip bomb (a header promising far more images than the labels) stops at the headers: here the
    promised images are not even there, so reading them first would have said "truncated" instead."""
    folder = tmp_path / "data"
    write_idx_set(folder)
    bomb = folder / "train-images-idx3-ubyte.gz"
    bomb.write_bytes(gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">III", 2_800_000, 28, 28)))
    with pytest.raises(ValueError, match="train-labels.*train split .* 2800000 inputs but 30 labels"):
        load_dataset("mnist", data_dir=folder, download=False)
    write_idx_set(folder)
    with pytest.raises(ValueError, match=r"data: the four IDX files \(.*\) needs .* more than the limit of 10.0 KiB"):
        load_dataset("mnist", data_dir=folder, download=False, max_bytes=10 * 1024)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((12, 28, 27), np.uint8))
    with pytest.raises(ValueError, match=r"train images \(28, 28\) and test images \(28, 27\) differ"):
        load_dataset("mnist", data_dir=folder, download=False)


def test_a_header_over_the_memory_limit_is_refused_before_its_data(tmp_path):
    path = tmp_path / "zeros.gz"
    write_idx(path, np.zeros((100, 100, 100), np.uint8))
    with pytest.raises(ValueError, match=r"zeros.gz: its header declares data of dims \(100, 100, 100\) .* more than "
                                         r"the limit of 500.0 KiB"):
        read_idx(path, max_bytes=500 * 1024)
    assert read_idx(path, max_bytes=1 << 20).shape == (100, 100, 100)


def test_count_mismatch_and_label_range(tmp_path):
    folder = tmp_path / "data"
    write_idx_set(folder)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(11, np.uint8))
    with pytest.raises(ValueError, match="t10k-labels.*12 inputs but 11 labels"):
        load_dataset("mnist", data_dir=folder, download=False)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.full(12, 10, np.uint8))
    with pytest.raises(ValueError, match="t10k-labels.*label 10 out of range: expected 0..9"):
        load_dataset("mnist", data_dir=folder, download=False)
    write_idx(folder / "train-images-idx3-ubyte.gz", np.zeros((30, 28, 28), np.int16))
    with pytest.raises(ValueError, match="train-images.*unsigned bytes"):
        load_dataset("mnist", data_dir=folder, download=False)


def test_search_order(tmp_path, monkeypatch):
    home_cache = tmp_path / "home" / ".cache" / "vicinal" / "mnist"
    env_dir, arg_dir = tmp_path / "env", tmp_path / "arg"
    write_idx_set(home_cache, seed=1)
    write_idx_set(env_dir / "mnist", seed=2)
    write_idx_set(arg_dir, seed=3)
    monkeypatch.setenv("VICINAL_DATA", str(env_dir))
    assert load_dataset("mnist", data_dir=arg_dir, download=False).source == str(arg_dir)
    assert load_dataset("mnist", data_dir=tmp_path / "empty", download=False).source == str(env_dir / "mnist")
    monkeypatch.delenv("VICINAL_DATA")
    assert load_dataset("mnist", download=False).source == str(home_cache)


def test_partial_folder_is_skipped(tmp_path):
    folder = tmp_path / "data"
    write_idx_set(folder)
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataNotFoundError, match="mnist not found.*download disabled"):
        load_dataset("mnist", data_dir=folder, download=False)


def _serve(monkeypatch, tmp_path, *, corrupt_md5: bool = False) -> dict[str, np.ndarray]:
    """Point MNIST's download at file:// URLs of files this test writes (first mirror missing)."""
    served = tmp_path / "server"
    arrays = write_idx_set(served, seed=5)
    md5 = {stem: file_digest(served / f"{stem}.gz") for stem in STEMS}
    if corrupt_md5:
        md5["t10k-images-idx3-ubyte"] = "0" * 32
    source = dataclasses.replace(mnist.SOURCES["mnist"], md5=md5,
                                 mirrors=((tmp_path / "nowhere").as_uri() + "/", served.as_uri() + "/"))
    monkeypatch.setitem(mnist.SOURCES, "mnist", source)
    return arrays


def test_download_into_cache_with_checksums(tmp_path, monkeypatch):
    arrays = _serve(monkeypatch, tmp_path)
    ds = load_dataset("mnist")
    cache = tmp_path / "home" / ".cache" / "vicinal" / "mnist"
    assert ds.source == str(cache)
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{s}.gz" for s in STEMS)  # no temporary files left
    np.testing.assert_array_equal(ds.y_train.numpy(), arrays["train-labels-idx1-ubyte"])


def test_download_checksum_mismatch(tmp_path, monkeypatch):
    _serve(monkeypatch, tmp_path, corrupt_md5=True)
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz: checksum mismatch: expected md5 0{32}, got"):
        load_dataset("mnist")
    cache = tmp_path / "home" / ".cache" / "vicinal" / "mnist"
    assert not (cache / "t10k-images-idx3-ubyte.gz").exists()
    assert not [p for p in cache.iterdir() if p.name.endswith(".part")]


def test_download_helper_rejects_and_fails_cleanly(tmp_path):
    src = tmp_path / "file.bin"
    src.write_bytes(b"payload")
    dest = tmp_path / "out" / "file.bin"
    got = download([src.as_uri()], dest, checksum=file_digest(src, "sha256"), algorithm="sha256")
    assert got.read_bytes() == b"payload"
    with pytest.raises(DataNotFoundError, match="could not download other.bin"):
        download([(tmp_path / "missing").as_uri()], tmp_path / "out" / "other.bin", checksum="0")
    with pytest.raises(ValueError, match="algorithm must be 'md5' or 'sha256', got 'crc'"):
        download([src.as_uri()], dest, checksum="0", algorithm="crc")


def test_unavailable_fashion_mnist_says_how_to_get_it(tmp_path, monkeypatch):
    source = dataclasses.replace(mnist.SOURCES["fashion-mnist"], system_dirs=(str(tmp_path / "no-debian"),),
                                 mirrors=((tmp_path / "offline").as_uri() + "/",))
    monkeypatch.setitem(mnist.SOURCES, "fashion-mnist", source)
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("fashion-mnist")
    message = str(info.value)
    for needed in ("download failed", "dataset-fashion-mnist", "--data-dir", "VICINAL_DATA",
                   str(tmp_path / "no-debian")):
        assert needed in message
    assert isinstance(info.value, ValueError)


@pytest.mark.fashion_mnist
def test_real_fashion_mnist_from_debian_package():
    """The Debian package dataset-fashion-mnist is installed by `make`; its files must load."""
    ds = load_dataset("fashion-mnist", download=False)
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_train.dtype == torch.uint8
    assert ds.x_test.shape == (10000, 1, 28, 28) and ds.num_classes == 10 and len(ds.classes) == 10
    assert torch.equal(ds.y_train.bincount(), torch.full((10,), 6000))
    assert ds.mean[0] == pytest.approx(0.2860, abs=1e-3) and ds.std[0] == pytest.approx(0.3530, abs=1e-3)
    assert ds.augment == Augment(crop_padding=2, flip=True)  # a shifted or mirrored garment is the same garment
