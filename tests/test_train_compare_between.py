"""compare()'s in-between curves and two-moons picture: between.json, the report's section, the time it states."""

from __future__ import annotations

import json

from support import image_config

from vicinal.train import compare


def test_compare_reports_the_in_between_curves_and_the_toy(tmp_path) -> None:
    result = compare(image_config(tmp_path / "c", model="mlp"), alphas=(0.0, 1.0), seeds=2)
    between = json.loads((result.run_dir / "between.json").read_text())
    assert [(r["alpha"], r["seed"]) for r in between["runs"]] == [(0.0, 0), (1.0, 0), (0.0, 1), (1.0, 1)]
    for run in between["runs"]:
        table = run["train"]
        assert table["lambdas"] == [0.5, 0.6, 0.7, 0.8, 0.9, 1.0] and table["pairs"] == between["pairs"]
        assert all(0 <= m <= 1 for m in table["miss_rate"]) and all(g > 0 for g in table["grad_norm"])
    assert between["curves_seconds"] > 0 and between["toy_seconds"] > 0
    text = result.report.read_text()
    assert "## Between training examples" in text
    for name in ("between.png", "toy.png"):
        assert f"]({name})" in text and (result.run_dir / name).stat().st_size > 1000
    assert "in-between miss rate" in text and "in-between gradient norm" in text and "in-between |p(yᵢ) − λ|" in text
    assert f"{between['curves_seconds']:.1f} s for the in-between curves of the 4 runs" in text
    assert text.index("## Between training examples") < text.index("![learning curves]")


def test_main_presets_learning_curve_has_ten_test_points() -> None:
    from vicinal.train import config_from_preset
    from vicinal.train.schedules import RunLength

    length = RunLength.of(config_from_preset("main"), steps_per_epoch=11)  # 1,500 images, batch 128
    assert length.evaluations >= 10
    assert length.evaluates_after(length.epochs)
