"""Is `--preset quick` enough training on a small data set? Its min_steps against the same model trained to
convergence, on a generated 4,000-row npz of 40 unmarked columns, over paired seeds (arXiv 1710.09412).

Run: python benchmarks/small_data_steps.py [--seeds 3] [--out runs/small-data]
Writes the npz (scikit-learn's make_classification: 5,000 rows, 40 features, 20 informative, 10 classes,
random_state 0; 4,000 to train, 1,000 to test), then `vicinal compare --preset quick` (ERM and mixup α = 0.4) and the
same compare at 600 epochs without min_steps, one thread each, and prints each run's test error and the paired
difference quick − converged (mean, 95 % CI, t-test p) per method.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import make_classification

from vicinal.eval.stats import p_clause, paired
from vicinal.train.hardware import cpu_description


def write_npz(path: Path) -> Path:
    x, y = make_classification(n_samples=5000, n_features=40, n_informative=20, n_classes=10, random_state=0)
    x = x.astype(np.float32)
    np.savez(path, x_train=x[:4000], y_train=y[:4000], x_test=x[4000:], y_test=y[4000:])
    return path


def compare(npz: Path, out: Path, seeds: int, *extra: str) -> dict[tuple[float, int], float]:
    """(α, seed) → test error of `vicinal compare --preset quick` on ``npz`` with ``extra`` options."""
    subprocess.run([sys.executable, "-m", "vicinal", "compare", "--dataset", f"npz:{npz}", "--preset", "quick",
                    "--seeds", str(seeds), "--threads", "1", "--quiet", "--out", str(out), *extra], check=True)
    runs = json.loads((out / "results.json").read_text())
    return {(float(r["alpha"]), int(r["seed"])): r["test_error"] for r in runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("runs/small-data"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    npz = write_npz(args.out / "small.npz")
    quick = compare(npz, args.out / "quick", args.seeds)
    converged = compare(npz, args.out / "converged", args.seeds, "--epochs", "600", "--min-steps", "0")
    print(f"CPU: {cpu_description()}")
    for alpha in sorted({a for a, _ in quick}):
        seeds = sorted(s for a, s in quick if a == alpha)
        diff = paired({s: converged[alpha, s] for s in seeds}, {s: quick[alpha, s] for s in seeds})
        low, high = (100 * v for v in diff.ci())
        name = "ERM" if alpha == 0 else f"mixup α={alpha:g}"
        print(f"{name}: quick {[round(100 * quick[alpha, s], 2) for s in seeds]} %, converged "
              f"{[round(100 * converged[alpha, s], 2) for s in seeds]} %; quick − converged "
              f"{100 * diff.mean:+.2f} points, 95 % CI [{low:.2f}, {high:.2f}], {p_clause(diff.p)}")


if __name__ == "__main__":
    main()
