"""The paper's experiments, each measured beside the paper's numbers (arXiv 1710.09412)."""

from .framework import PRESETS, Experiment, Findings, Verdict
from .registry import EXPERIMENTS, read_results, run_experiment, write_report

__all__ = ["EXPERIMENTS", "PRESETS", "Experiment", "Findings", "Verdict", "read_results", "run_experiment",
           "write_report"]
