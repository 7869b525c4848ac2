"""vicinal.eval: error, NLL and calibration (ECE), FGSM / I-FGSM attacks, what a model does between examples, paired
statistics over seeds, plots and report helpers."""

from vicinal._autocast import autocast_context
from vicinal.eval.attacks import attack_error, fgsm, ifgsm, in_pixel_space
from vicinal.eval.between import BetweenTable, between_examples, between_pairs
from vicinal.eval.calibration import expected_calibration_error, reliability_bins
from vicinal.eval.metrics import evaluate, evaluate_regression, predict
from vicinal.eval.plots import bar_chart, learning_curves, line_chart, reliability_diagram
from vicinal.eval.report import markdown_table, mean_std
from vicinal.eval.stats import Paired, paired

__all__ = [
    "attack_error", "fgsm", "ifgsm", "in_pixel_space", "BetweenTable", "between_examples", "between_pairs",
    "expected_calibration_error", "reliability_bins",
    "autocast_context",
    "evaluate", "evaluate_regression", "predict", "bar_chart", "learning_curves", "line_chart", "reliability_diagram",
    "markdown_table", "mean_std", "Paired", "paired",
]  # fmt: skip
