"""ERM, mixup and C-Mixup for regression with a small MLP over paired seeds (Yao et al., arXiv 2210.05775).

Run: python benchmarks/variants_regression.py [--seeds 5]
Not through the trainer (it trains classifiers only): a plain loop calls `vicinal.mixup` and `vicinal.c_mixup` on
standardized inputs and targets. Data: scikit-learn's diabetes set (442 patients, 10 features) and its generated
Friedman #1 set (1,000 points, 10 features, noise 1). Each seed draws the 80/20 split, the initialization, the
batch order and the mixing draws, the same for every method. Writes regression.json and regression.md into
docs/results/variants.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch
from sklearn.datasets import load_diabetes, make_friedman1
from torch import nn

import vicinal
from vicinal.eval.stats import VERDICT_RULE, paired

HERE = Path(__file__).resolve().parents[1] / "docs" / "results" / "variants"  # where it writes
EPOCHS, BATCH, LR, ALPHA, BANDWIDTH = 200, 32, 1e-3, 1.0, 0.25  # BANDWIDTH in standard deviations of the target
METHODS = ("ERM", "mixup", "C-Mixup")


def data_sets() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    sets = {"diabetes": load_diabetes(return_X_y=True),
            "friedman1": make_friedman1(n_samples=1000, noise=1.0, random_state=0)}
    return {name: (torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32))
            for name, (x, y) in sets.items()}


def rmse(method: str, x: torch.Tensor, y: torch.Tensor, seed: int) -> float:
    """Test RMSE (in the target's units) of an MLP trained on a seeded 80 % of (x, y) with `method`."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(y), generator=g)
    cut = int(0.8 * len(y))
    train, test = order[:cut], order[cut:]
    x_mean, x_std, y_mean, y_std = x[train].mean(0), x[train].std(0), y[train].mean(), y[train].std()
    xs, ys = (x - x_mean) / x_std, (y - y_mean) / y_std
    torch.manual_seed(seed)  # the initialization, the same for every method
    model = nn.Sequential(nn.Linear(x.shape[1], 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    batches, mixing = torch.Generator().manual_seed(seed + 1), torch.Generator().manual_seed(seed + 2)
    for _ in range(EPOCHS):
        for rows in train[torch.randperm(cut, generator=batches)].split(BATCH):
            inputs, targets = xs[rows], ys[rows]
            if method == "mixup":
                batch = vicinal.mixup(inputs, targets, alpha=ALPHA, generator=mixing)
                inputs, targets = batch.inputs, batch.targets
            elif method == "C-Mixup":
                batch = vicinal.c_mixup(inputs, targets, alpha=ALPHA, bandwidth=BANDWIDTH, generator=mixing)
                inputs, targets = batch.inputs, batch.targets
            loss = nn.functional.mse_loss(model(inputs).squeeze(1), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        predicted = model(xs[test]).squeeze(1) * y_std + y_mean
    return math.sqrt(nn.functional.mse_loss(predicted, y[test]).item())


def report(results: dict) -> str:
    seeds = results["seeds"]
    lines = ["# ERM vs mixup vs C-Mixup for regression (MLP 64-64, Adam, 200 epochs)", "",
             f"Seeds {seeds}; α = {ALPHA} for mixup and C-Mixup, C-Mixup bandwidth σ = {BANDWIDTH} standard deviations "
             "of the target (not tuned); test RMSE in the target's units, mean ± std over seeds.", "",
             "| data set | " + " | ".join(METHODS) + " |", "| --- " * (len(METHODS) + 1) + "|"]
    for name, by_method in results["rmse"].items():
        cells = []
        for method in METHODS:
            values = torch.tensor(by_method[method], dtype=torch.float64)
            cells.append(f"{values.mean():.3f} ± {values.std():.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Paired differences of test RMSE (mean, 95 % CI, paired t-test; verdict on 'lower'):", "",
              "| data set | C-Mixup − ERM | C-Mixup − mixup | mixup − ERM |", "| --- | --- | --- | --- |"]
    for name, by_method in results["rmse"].items():
        cells = []
        for other, base in (("C-Mixup", "ERM"), ("C-Mixup", "mixup"), ("mixup", "ERM")):
            diff = paired(by_method[base], by_method[other])
            cells.append(f"{diff.describe(digits=3)}: {diff.verdict(-1)}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", f"Verdict rule: {VERDICT_RULE}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--report-only", action="store_true", help="rewrite regression.md from regression.json")
    args = parser.parse_args()
    if args.report_only:
        results = json.loads((HERE / "regression.json").read_text())
    else:
        torch.set_num_threads(1)
        seeds = list(range(args.seeds))
        results = {"seeds": seeds, "rmse": {}}
        for name, (x, y) in data_sets().items():
            results["rmse"][name] = {m: [rmse(m, x, y, seed) for seed in seeds] for m in METHODS}
            print(name, {m: [round(v, 3) for v in r] for m, r in results["rmse"][name].items()}, flush=True)
        (HERE / "regression.json").write_text(json.dumps(results, indent=1) + "\n")
    (HERE / "regression.md").write_text(report(results))
    print(HERE / "regression.md")


if __name__ == "__main__":
    main()
