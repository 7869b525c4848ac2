"""Tests of the tabular loaders (scikit-learn sets, CSV) and load_dataset's dispatch."""

import numpy as np
import pytest
import torch

from vicinal.data import DATASETS, MAX_CLASSES, load_dataset
from vicinal.data.tabular import load_csv


@pytest.mark.parametrize("name, classes, features, rows", [
    ("iris", 3, 4, 150), ("wine", 3, 13, 178), ("breast-cancer", 2, 30, 569), ("digits", 10, 64, 1797),
])
def test_sklearn_sets_split_stratified_and_standardized(name, classes, features, rows):
    ds = load_dataset(name, seed=3, test_fraction=0.25)
    assert ds.kind == "tabular" and ds.num_classes == classes and len(ds.classes) == classes
    assert ds.x_train.dtype == torch.float32 and ds.x_train.shape[1] == features
    assert len(ds.x_train) + len(ds.x_test) == rows and len(ds.x_test) == int(np.ceil(0.25 * rows))
    assert ds.mean == (0.0,) * features and ds.std == (1.0,) * features
    # standardized on the training split: train columns have mean 0 and std 1 (or are constant)
    assert ds.x_train.double().mean(0).abs().max() < 1e-5
    stds = ds.x_train.double().std(0, unbiased=False)
    assert torch.all(((stds - 1).abs() < 1e-4) | (stds < 1e-6))  # digits has constant (all-zero) pixels
    # stratified: each class's share in the test split is within one example of its overall share
    all_labels = torch.cat([ds.y_train, ds.y_test])
    expected = all_labels.bincount(minlength=classes).double() * len(ds.y_test) / rows
    assert (ds.y_test.bincount(minlength=classes).double() - expected).abs().max() <= 1.0


def test_split_is_seeded():
    a, b, c = (load_dataset("wine", seed=s) for s in (0, 0, 1))
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train, c.x_train)


def test_test_statistics_come_from_training_split():
    """The test split is scaled with the training split's mean/std, so it is not exactly standardized."""
    ds = load_dataset("breast-cancer", seed=0)
    assert ds.x_test.double().mean(0).abs().max() > 1e-3


def write_csv(path, text: str):
    path.write_text(text)
    return path


def test_csv_string_labels_sorted_to_indices(tmp_path):
    rows = ["f1,f2,species"] + [f"{i},{i * 2 % 7},{['b', 'a', 'c'][i % 3]}" for i in range(30)]
    path = write_csv(tmp_path / "d.csv", "\n".join(rows) + "\n\n")
    ds = load_dataset(f"csv:{path}:species", seed=0, test_fraction=0.3)
    assert ds.classes == ["a", "b", "c"] and ds.num_classes == 3 and ds.x_train.shape == (21, 2)
    labels = [["b", "a", "c"][i % 3] for i in range(30)]
    # standardization keeps the order of the first feature (0..29), which identifies the row
    col = torch.cat([ds.x_train[:, 0], ds.x_test[:, 0]]).double()
    order = col.argsort()
    y_all = torch.cat([ds.y_train, ds.y_test])[order]
    assert [ds.classes[i] for i in y_all.tolist()] == labels


def test_csv_default_label_column_and_integer_classes(tmp_path):
    rows = ["a,b,label,c"] + [f"{i},{i % 4},{[10, 2, 1][i % 3]},{-i}" for i in range(24)]
    path = write_csv(tmp_path / "d.csv", "\n".join(rows))
    ds = load_csv(path)
    assert ds.classes == ["1", "2", "10"] and ds.x_train.shape[1] == 3
    last = write_csv(tmp_path / "e.csv", "\n".join(["a,b,target"] + [f"{i},{i % 5},{i % 2}" for i in range(20)]))
    assert load_csv(last).classes == ["0", "1"]
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeff".encode() + "\n".join(["label,a"] + [f"{i % 2},{i}" for i in range(20)]).encode())
    assert load_csv(bom).x_train.shape[1] == 1


@pytest.mark.parametrize("text, fault", [
    ("", "empty file"),
    ("\n\n", "empty file"),
    ("a,b,label\n1,2,x\n3,nan,y\n4,5,x\n6,7,y\n", r"line 3, column 'b': non-finite feature nan"),
    ("a,b,label\n1,2,x\n3,inf,y\n4,5,x\n6,7,y\n", "non-finite"),
    ("a,b,label\n1,2,x\n3,hello,y\n", "line 3: feature value 'hello' is not a number"),
    ("a,b,label\n1,2,x\n3,,y\n", "feature value '' is not a number"),
    ("a,b,label\n1,2,x\n3,4\n", "line 3 has 2 fields, the header has 3"),
    ("a,b,label\n1,2,x\n3,4,\n", "line 3: empty label"),
    ("a,b,label\n1,2,x\n", "too few rows"),
    ("a,b,label\n1,2,x\n3,4,x\n5,6,x\n", "at least 2 classes"),
    ("a,b,label\n1,2,x\n3,4,x\n5,6,y\n", "too few rows: class 'y' has 1"),
    ("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n", "too few rows: 4 rows cannot give"),
    ("label\nx\ny\n", "needs a label column and at least one feature column"),
])
def test_bad_csv_names_file_and_fault(tmp_path, text, fault):
    path = write_csv(tmp_path / "bad.csv", text)
    with pytest.raises(ValueError, match=f"bad.csv: .*{fault}"):
        load_dataset(f"csv:{path}", test_fraction=0.2)


def test_csv_line_numbers_count_blank_lines(tmp_path):
    path = write_csv(tmp_path / "blank.csv", "a,b,label\n\n1,2,x\n  \n\n3,hello,y\n")
    with pytest.raises(ValueError, match="blank.csv: line 6: feature value 'hello' is not a number"):
        load_csv(path)
    path = write_csv(tmp_path / "blank2.csv", "\na,b,label\n1,2,x\n\n3,4\n")
    with pytest.raises(ValueError, match="blank2.csv: line 5 has 2 fields, the header has 3"):
        load_csv(path)


def test_csv_features_beyond_float32_and_too_many_classes_are_refused(tmp_path):
    path = write_csv(tmp_path / "big.csv", "a,b,label\n1,2,x\n3,-1e39,y\n")
    with pytest.raises(ValueError, match=r"big.csv: line 3, column 'b': feature -1e\+39 is beyond float32's range"):
        load_csv(path)
    rows = "".join(f"{i},{i}\n" for i in range(MAX_CLASSES + 1))
    path = write_csv(tmp_path / "regression.csv", "x,label\n" + rows)
    with pytest.raises(ValueError, match=f"regression.csv: line {MAX_CLASSES + 2}: label column 'label' has more than "
                                         f"{MAX_CLASSES} distinct values"):
        load_csv(path)


def test_csv_over_the_memory_limit_is_refused_while_reading(tmp_path, monkeypatch):
    rows = "".join(f"{i},{i % 7},{i % 3}\n" for i in range(10_000))
    path = write_csv(tmp_path / "long.csv", "a,b,label\n" + rows)
    with pytest.raises(ValueError, match=r"long.csv: 4096 rows of 2 features by line 4097: needs 224.0 KiB of memory, "
                                         r"more than the limit of 100.0 KiB"):
        load_csv(path, max_bytes=100 * 1024)
    monkeypatch.setenv("VICINAL_MEMORY_LIMIT", str(100 * 1024))
    with pytest.raises(ValueError, match="more than the limit of 100.0 KiB"):
        load_dataset(f"csv:{path}")
    monkeypatch.setenv("VICINAL_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match="VICINAL_MEMORY_LIMIT='lots' is invalid: expected a number of bytes >= 1"):
        load_dataset(f"csv:{path}")
    monkeypatch.delenv("VICINAL_MEMORY_LIMIT")
    assert load_csv(path).x_train.shape == (8000, 2)


def test_csv_missing_label_column_and_file(tmp_path):
    path = write_csv(tmp_path / "d.csv", "a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"d.csv: no label column 'kind' \(columns: \['a', 'b'\]\)"):
        load_dataset(f"csv:{path}:kind")
    with pytest.raises(ValueError, match="missing.csv: cannot be read as CSV"):
        load_dataset(f"csv:{tmp_path / 'missing.csv'}")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00label\n")
    with pytest.raises(ValueError, match="bin.csv: cannot be read as CSV"):
        load_dataset(f"csv:{binary}")


@pytest.mark.parametrize("name", ["imagenet", "csv:", "npz:", "", "IRIS"])
def test_unknown_name_lists_known_ones(name):
    with pytest.raises(ValueError, match="unknown data set .*fashion-mnist, mnist, cifar10.*npz:PATH"):
        load_dataset(name)


@pytest.mark.parametrize("kwargs, fault", [
    ({"test_fraction": 0.0}, "test_fraction must be in"), ({"test_fraction": 1.5}, "test_fraction must be in"),
    ({"seed": -1}, "seed must be an int >= 0"),
])
def test_bad_options(kwargs, fault):
    with pytest.raises(ValueError, match=fault):
        load_dataset("iris", **kwargs)


def test_known_names_are_listed():
    assert {"fashion-mnist", "mnist", "cifar10", "cifar100", "iris", "wine", "breast-cancer", "digits", "diabetes",
            "friedman1"} <= set(DATASETS)


@pytest.mark.parametrize("name, features, rows", [("diabetes", 10, 442), ("friedman1", 10, 1000)])
def test_regression_sets_keep_their_targets_units_and_split_by_seed(name, features, rows):
    from sklearn.datasets import load_diabetes, make_friedman1

    ds = load_dataset(name, seed=3)
    assert ds.task == "regression" and ds.num_classes == 0 and ds.outputs == 1 and ds.classes is None
    assert ds.x_train.shape == (rows - int(np.ceil(0.2 * rows)), features) and len(ds.y_test) == np.ceil(0.2 * rows)
    assert ds.y_train.dtype == torch.float32 and ds.y_train.ndim == 1
    _, y = load_diabetes(return_X_y=True) if name == "diabetes" else make_friedman1(n_samples=1000, noise=1.0,
                                                                                      random_state=0)
    both = np.sort(torch.cat([ds.y_train, ds.y_test]).double().numpy())
    np.testing.assert_allclose(both, np.sort(y), rtol=1e-6)  # the same points, in their own units
    assert ds.x_train.double().mean(0).abs().max() < 1e-5
    other = load_dataset(name, seed=4)
    assert not torch.equal(ds.y_test, other.y_test) and torch.equal(ds.y_test, load_dataset(name, seed=3).y_test)


def test_a_csv_numeric_column_is_read_as_regression_targets_when_asked(tmp_path):
    rows = ["f1,f2,price"] + [f"{i},{i * 3 % 7},{100 + 2.5 * i}" for i in range(30)]
    path = write_csv(tmp_path / "d.csv", "\n".join(rows) + "\n")
    ds = load_dataset(f"csv:{path}:price", task="regression", seed=0)
    assert ds.task == "regression" and ds.outputs == 1 and ds.y_train.dtype == torch.float32
    # the target keeps its units and stays with its row: price = 100 + 2.5 × f1 (f1 is 0..29 before scaling)
    f1 = torch.cat([ds.x_train[:, 0], ds.x_test[:, 0]]).double()
    price = torch.cat([ds.y_train, ds.y_test]).double()
    assert price[f1.argsort()].tolist() == [100 + 2.5 * i for i in range(30)]


def test_a_non_numeric_regression_column_and_a_wrong_task_are_refused(tmp_path):
    path = write_csv(tmp_path / "d.csv", "f1,kind\n1,a\n2,b\n3,a\n4,b\n")
    with pytest.raises(ValueError, match=r"d.csv: line 2: target 'a' in column 'kind' is not a number: "
                                         r"task='regression' needs a numeric target column"):
        load_dataset(f"csv:{path}", task="regression")
    with pytest.raises(ValueError, match=r"task='regression' is invalid for 'iris': expected 'auto' or "
                                         r"'classification'"):
        load_dataset("iris", task="regression")
    with pytest.raises(ValueError, match=r"task='classification' is invalid for 'diabetes'"):
        load_dataset("diabetes", task="classification")
    with pytest.raises(ValueError, match=r"task='ordinal' is invalid: expected one of"):
        load_dataset("iris", task="ordinal")
