"""Fuzz tests: random bytes, truncations and byte flips of valid files, thrown at every data reader.

Each reader must either load the file or raise ValueError, nothing else.
"""

import gzip
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vicinal.data.cifar import read_batch
from vicinal.data.download import extract_tar
from vicinal.data.idx import read_idx
from vicinal.data.npz import load_npz
from vicinal.data.tabular import load_csv

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _idx_bytes() -> bytes:
    array = np.arange(3 * 4 * 4, dtype=np.uint8).reshape(3, 4, 4)
    return bytes([0, 0, 8, 3]) + np.asarray(array.shape, ">u4").tobytes() + array.tobytes()


def _pickle_bytes() -> bytes:
    rng = np.random.default_rng(0)
    return pickle.dumps({b"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), b"labels": [1, 9],
                         b"filenames": [b"a.png", b"b.png"]}, protocol=2)


def _csv_bytes() -> bytes:
    return ("a,b,label\n" + "".join(f"{i},{i * 0.5},{'xy'[i % 2]}\n" for i in range(12))).encode()


def _npz_bytes() -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x_train=np.arange(12.0).reshape(6, 2), y_train=np.arange(6) % 2,
                        x_test=np.ones((2, 2)), y_test=np.array([0, 1]))
    return buffer.getvalue()


def _tar_bytes() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("folder/file.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    return buffer.getvalue()


READERS = {
    "idx": (_idx_bytes(), "x.idx", read_idx),
    "idx.gz": (gzip.compress(_idx_bytes()), "x.idx.gz", read_idx),
    "cifar": (_pickle_bytes(), "data_batch_1", lambda p: read_batch(p, label_key="labels", num_classes=10)),
    "csv": (_csv_bytes(), "x.csv", lambda p: load_csv(p, test_fraction=0.34)),
    "npz": (_npz_bytes(), "x.npz", load_npz),
    "tar": (_tar_bytes(), "x.tar.gz", lambda p: extract_tar(p, p.parent / "out")),
}


def loads_or_value_error(folder: Path, kind: str, data: bytes) -> None:
    _, name, reader = READERS[kind]
    path = folder / name
    path.write_bytes(data)
    try:
        reader(path)
    except ValueError as err:
        assert path.name in str(err)  # every refusal names the file


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize("kind", sorted(READERS))
def test_valid_seed_files_load(folder, kind):
    _, name, reader = READERS[kind]
    path = folder / name
    path.write_bytes(READERS[kind][0])
    reader(path)  # no exception: the mutations below start from files that load


@pytest.mark.parametrize("kind", sorted(READERS))
@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes(folder, kind, data):
    loads_or_value_error(folder, kind, data)


@pytest.mark.parametrize("kind", sorted(READERS))
@FUZZ
@given(cut=st.floats(min_value=0.0, max_value=1.0, exclude_max=True))
def test_random_truncations(folder, kind, cut):
    valid = READERS[kind][0]
    loads_or_value_error(folder, kind, valid[: int(cut * len(valid))])


@pytest.mark.parametrize("kind", sorted(READERS))
@FUZZ
@given(flips=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=4))
def test_random_byte_flips(folder, kind, flips):
    data = bytearray(READERS[kind][0])
    for where, mask in flips:
        data[int(where * len(data))] ^= mask
    loads_or_value_error(folder, kind, bytes(data))
