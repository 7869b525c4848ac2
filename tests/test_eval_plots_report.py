"""Tests of vicinal.eval.plots and vicinal.eval.report: PNG files written, bands over seeds, tables, mean ± std."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch

import vicinal.eval.report as report
from vicinal.eval import bar_chart, learning_curves, line_chart, markdown_table, mean_std, reliability_diagram
from vicinal.eval.plots import _mean_std_over_runs
from vicinal.train.report import _curve_metrics

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def history(errors, losses):
    return [{"epoch": i + 1, "test_error": e, "train_loss": loss} for i, (e, loss) in enumerate(zip(errors, losses))]


def assert_png(path, expected):
    assert path == expected and path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 5000


def test_learning_curves_band_is_mean_and_std_over_seeds(tmp_path):
    seeds = [history([0.3, 0.2, 0.1], [1.0, 0.5, 0.2]), history([0.5, 0.4, 0.3, 0.2], [1.2, 0.7, 0.4, 0.3])]
    epochs, mean, std = _mean_std_over_runs(seeds, "test_error")  # cut to the shortest run
    np.testing.assert_allclose(epochs, [1, 2, 3])
    np.testing.assert_allclose(mean, [0.4, 0.3, 0.2])
    np.testing.assert_allclose(std, np.std([[0.3, 0.2, 0.1], [0.5, 0.4, 0.3]], axis=0, ddof=1))
    runs = {"ERM": seeds, "mixup α=1": [history([0.2] * 3, [0.9] * 3)]}
    path = learning_curves(runs, path=tmp_path / "sub" / "curves.png", title="t")
    assert_png(path, tmp_path / "sub" / "curves.png")


def test_learning_curves_skip_the_epochs_a_metric_was_not_measured(tmp_path):
    every_other = [history([None, 0.3, None, 0.1], [1.0, 0.5, 0.3, 0.2]), history([None, 0.5, None, 0.3], [1.0] * 4)]
    epochs, mean, _ = _mean_std_over_runs(every_other, "test_error")  # eval_every=2: test metrics on even epochs
    np.testing.assert_allclose(epochs, [2, 4])
    np.testing.assert_allclose(mean, [0.4, 0.2])
    assert len(_mean_std_over_runs(every_other, "train_loss")[0]) == 4
    assert _curve_metrics(every_other) == ("test_error", "train_loss")
    assert _curve_metrics([[{"epoch": 1, "test_error": None, "train_loss": 1.0}]]) == ("train_loss",)
    assert_png(learning_curves({"ERM": every_other}, path=tmp_path / "c.png", title="t"), tmp_path / "c.png")


def test_reliability_diagram_writes_one_panel_per_label(tmp_path):
    gen = torch.Generator().manual_seed(0)
    probs = (3 * torch.randn(200, 10, generator=gen)).softmax(dim=1)
    labels = torch.randint(0, 10, (200,), generator=gen)
    predictions = {"ERM": (probs, labels), "mixup": (probs.sqrt(), labels)}
    path = reliability_diagram(predictions, path=tmp_path / "rel.png", title="calibration")
    assert_png(path, tmp_path / "rel.png")
    with pytest.raises(ValueError, match="probs must be finite probabilities"):
        reliability_diagram({"bad": (probs * 2, labels)}, path=tmp_path / "bad.png", title="t")


def test_bar_and_line_charts(tmp_path):
    bars = bar_chart({"ERM": [6.1, 6.3, 6.0], "mixup": 5.8}, path=tmp_path / "bar.png", title="t", ylabel="error %")
    assert_png(bars, tmp_path / "bar.png")
    series = {"ERM": ([0, 1, 2], [5.0, 30.0, 60.0]), "mixup": ([0, 1, 2], [4.5, 20.0, 40.0])}
    lines = line_chart(series, path=tmp_path / "line.png", title="t", xlabel="ε", ylabel="error %")
    assert_png(lines, tmp_path / "line.png")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda p: learning_curves({}, path=p, title="t"), "runs must map each label to a non-empty list"),
        (lambda p: learning_curves({"a": [[{"epoch": 1, "test_error": 0.1}]]}, path=p, title="t"),
         r"lack the metric\(s\) \['train_loss'\]"),
        (lambda p: learning_curves({"a": [history([0.1], [1.0])]}, path=p.with_suffix(".jpg"), title="t"),
         "plot path must end in .png, got"),
        (lambda p: bar_chart({"a": []}, path=p, title="t", ylabel="y"), "every label needs at least one value"),
        (lambda p: line_chart({"a": ([1, 2], [1])}, path=p, title="t", xlabel="x", ylabel="y"),
         "xs and ys must have the same length, got 2 and 1"),
        (lambda p: reliability_diagram({}, path=p, title="t"), "predictions must hold at least one label"),
    ],
)
def test_plot_input_errors(tmp_path, call, match):
    with pytest.raises(ValueError, match=match):
        call(tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_mean_std_uses_the_sample_std_and_scales():
    assert mean_std([1.0, 2.0, 3.0, 4.0]) == f"2.50 ± {np.std([1, 2, 3, 4], ddof=1):.2f}"
    assert mean_std([0.0512, 0.0488], scale=100, digits=1) == "5.0 ± 0.2"
    assert mean_std([0.25]) == "0.25"
    assert mean_std(np.array([3.0, 3.0])) == "3.00 ± 0.00"


@pytest.mark.parametrize("values", [[], [1.0, float("nan")], [float("inf")]])
def test_mean_std_rejects_empty_and_non_finite(values):
    with pytest.raises(ValueError, match="values must be a non-empty sequence of finite numbers"):
        mean_std(values)


def test_markdown_table_shape_and_escaping():
    table = markdown_table(["model", "error"], [["a|b", 0.123456], ["c", "1 ± 2"]])
    lines = table.splitlines()
    assert lines == ["| model | error |", "| --- | --- |", "| a\\|b | 0.1235 |", "| c | 1 ± 2 |"]
    assert all(line.count(" | ") == 1 for line in lines)
    with pytest.raises(ValueError, match=r"row 1 has 1 cells, expected 2 \(one per header\)"):
        markdown_table(["a", "b"], [[1, 2], [3]])
    with pytest.raises(ValueError, match="headers must name at least one column"):
        markdown_table([], [])


def test_report_doctests_pass():
    result = doctest.testmod(report)
    assert result.attempted >= 2 and result.failed == 0
