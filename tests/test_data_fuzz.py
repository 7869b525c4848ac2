"""Fuzz tests: random bytes, truncations and byte flips of valid files, thrown at every data reader, and
well-formed npz, CSV and IDX files holding arbitrary arrays, cells and headers.

Each reader must either load the file (and then keep its promises) or raise ValueError naming it, nothing else.
"""

import csv
import gzip
import io
import pickle
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from vicinal.data import KINDS, MAX_CLASSES
from vicinal.data.cifar import read_batch
from vicinal.data.download import extract_tar
from vicinal.data.idx import IDX_DTYPES, read_idx
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


# --- structured fuzzing: well-formed files holding arbitrary arrays and cells -----------------------------------

DTYPES = st.sampled_from(["u1", "i1", "i8", "u8", "f2", "f4", "f8", "?", "c8", "U3", "S2", "M8[s]"])
EDGE_VALUES = st.sampled_from([np.nan, np.inf, -np.inf, 1e39, -3e38, 1e-40, 1e300, -1.0, 255.0])
EDGE_LABELS = st.sampled_from([-1, 1, 20_000_000, MAX_CLASSES, MAX_CLASSES - 1, 2**62])
KIND_TEXT = st.sampled_from(["image", "sequence", "tabular", "video", ""]) | st.text(max_size=4)


@st.composite
def npz_archives(draw) -> dict[str, np.ndarray]:
    """A valid archive (x of any rank 1-3 per example, dtype, two classes), then up to three faults: an array
    replaced by one of any dtype and rank, an array dropped, an edge label or value put in, a `kind` added."""
    n_train, n_test = draw(st.integers(2, 6)), draw(st.integers(1, 4))
    example = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    dtype = draw(st.sampled_from(["u1", "i8", "f4", "f8", "?"]))
    finite = st.floats(-1e6, 1e6, width=32) if dtype.startswith("f") else None
    arrays = {"x_train": draw(hnp.arrays(dtype, (n_train, *example), elements=finite)),
              "x_test": draw(hnp.arrays(dtype, (n_test, *example), elements=finite)),
              "y_train": np.arange(n_train) % 2, "y_test": np.arange(n_test) % 2}
    for _ in range(draw(st.integers(0, 3))):
        fault = draw(st.sampled_from(["replace", "drop", "edge", "kind"]))
        key = draw(st.sampled_from(sorted(arrays)))
        if fault == "replace":
            shape = draw(hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=5))
            arrays[key] = draw(hnp.arrays(np.dtype(draw(DTYPES)), shape))
        elif fault == "drop":
            del arrays[key]
        elif fault == "edge" and arrays[key].size and arrays[key].dtype.kind in "biuf":
            changed = arrays[key].astype(np.int64 if key.startswith("y") else np.float64).reshape(-1)
            changed[draw(st.integers(0, changed.size - 1))] = draw(EDGE_LABELS if key.startswith("y") else EDGE_VALUES)
            arrays[key] = changed.reshape(arrays[key].shape)
        elif fault == "kind":
            arrays["kind"] = np.array(draw(KIND_TEXT))
        if not arrays:
            break
    return arrays


def _check_dataset(ds) -> None:
    """What every loaded data set promises."""
    assert ds.kind in KINDS and 2 <= ds.num_classes <= MAX_CLASSES
    assert len(ds.x_train) == len(ds.y_train) >= 1 and len(ds.x_test) == len(ds.y_test) >= 1
    assert ds.x_train.shape[1:] == ds.x_test.shape[1:]
    assert ds.x_train.ndim == {"tabular": 2, "sequence": 3, "image": 4}[ds.kind]
    for y in (ds.y_train, ds.y_test):
        assert y.dtype == torch.int64 and int(y.min()) >= 0 and int(y.max()) < ds.num_classes
    for x in (ds.x_train, ds.x_test):
        assert x.dtype in (torch.uint8, torch.float32) and bool(torch.isfinite(x.float()).all())


@settings(FUZZ, max_examples=60)
@given(arrays=npz_archives())
def test_any_npz_archive_loads_or_gives_a_value_error(folder, arrays):
    path = folder / "fuzz.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy warns on some of the odd dtypes it is asked to save
        np.savez(path, **arrays)
    try:
        ds = load_npz(path)
    except ValueError as err:
        assert path.name in str(err)
        event("refused")
    else:
        _check_dataset(ds)
        event("loaded")


CELLS = (st.sampled_from(["", " ", "nan", "inf", "-inf", "1e39", "-3e38", "1e-400", "0x10", "1_000", "١٢", '"1,2"',
                          "'3'", "x", "y", "z", "label", "\t7 ", "0", "1", "2"])
         | st.floats(allow_nan=True, allow_infinity=True).map(repr) | st.integers(-3, 3).map(str)
         | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=3))


@st.composite
def csv_texts(draw) -> str:
    """A valid CSV (a header, 8-12 rows of numbers and two classes), then up to four faults: a cell replaced
    by any text, a row cut short or made long, blank lines, a header name changed; any line ending."""
    width = draw(st.integers(2, 4))
    header = ["a", "b", "c"][: width - 1] + ["label"]
    rows = [header] + [[str(draw(st.integers(-9, 9))) for _ in range(width - 1)] + [["x", "y"][i % 2]]
                       for i in range(draw(st.integers(8, 12)))]
    for _ in range(draw(st.integers(0, 4))):
        row = draw(st.integers(0, len(rows) - 1))
        fault = draw(st.sampled_from(["cell", "short", "long", "blank", "header"]))
        target = header if fault == "header" else rows[row]
        if fault in ("cell", "header") and target:
            names = st.sampled_from(["a", "label", "", " y "])
            target[draw(st.integers(0, len(target) - 1))] = draw(names if fault == "header" else CELLS)
        elif fault == "short" and rows[row]:
            rows[row].pop()
        elif fault == "long":
            rows[row].append(draw(CELLS))
        elif fault == "blank":
            rows.insert(row, draw(st.sampled_from([[], [""], ["  "]])))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\n\n"]))).writerows(rows)
    return buffer.getvalue()


@FUZZ
@given(text=csv_texts(), column=st.none() | st.sampled_from(["a", "label", "y", "missing"]))
def test_any_csv_loads_or_gives_a_value_error(folder, text, column):
    path = folder / "fuzz.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        ds = load_csv(path, label_column=column, test_fraction=0.4)
    except ValueError as err:
        assert path.name in str(err)
        event("refused")
    else:
        _check_dataset(ds)
        event("loaded")


@FUZZ
@given(code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x07]),
       dims=st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 6), max_size=4),
       declared_rank=st.none() | st.integers(0, 5), extra=st.integers(-8, 8), gz=st.booleans())
def test_any_idx_header_reads_or_gives_a_value_error(folder, code, dims, declared_rank, extra, gz):
    """Headers declaring any dimensions (up to 2^32 - 1 each) and rank, with data a few bytes short or long:
    a file is read only when its bytes are exactly what its header declares."""
    rank = len(dims) if declared_rank is None else declared_rank
    itemsize = np.dtype(IDX_DTYPES.get(code, "u1")).itemsize
    size = int(np.prod(dims, dtype=object)) * itemsize
    raw = bytes([0, 0, code, rank]) + np.asarray(dims, ">u4").tobytes() + bytes(min(max(size + extra, 0), 1 << 16))
    path = folder / ("fuzz.idx.gz" if gz else "fuzz.idx")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    try:
        array = read_idx(path, max_bytes=1 << 20)
    except ValueError as err:
        assert path.name in str(err)
    else:
        assert array.ndim == rank and array.nbytes == len(raw) - 4 - 4 * rank
