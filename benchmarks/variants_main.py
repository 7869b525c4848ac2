"""The variants on the main regime: ERM, mixup, ResizeMix, FMix and RegMixup over paired seeds (arXiv 2206.14502).

Run: python benchmarks/variants_main.py [--seeds 3] [--runs /tmp/variants_runs] [--threads 1]
Trains each method with the trainer's `main` preset at its full 60 epochs (no time budget, so every method gets
the same length), then measures the mean top-class confidence of each model on inputs from no class it knows:
uniform noise and scikit-learn's handwritten digits (8x8, scaled up to 28x28), standardized as Fashion-MNIST is.
Writes results.json and report.md into docs/results/variants; the verdicts follow vicinal.eval.stats (paired
over seeds).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

from vicinal.data import load_dataset
from vicinal.eval.stats import VERDICT_RULE, paired
from vicinal.train import train
from vicinal.train.config import config_from_preset
from vicinal.train.hardware import cpu_description

HERE = Path(__file__).resolve().parents[1] / "docs" / "results" / "variants"  # where it writes
METHODS = {  # name: the TrainConfig fields that make it
    "ERM": dict(method="mixup", alpha=0.0),
    "mixup α=1": dict(method="mixup", alpha=1.0),
    "ResizeMix": dict(method="resizemix", alpha=1.0),
    "FMix α=1": dict(method="fmix", alpha=1.0),
    "RegMixup α=20 η=1": dict(method="regmixup", alpha=20.0, regmixup_eta=1.0),
}
METRICS = (("test_error", "test error %", 100), ("test_nll", "test NLL", 1), ("ece", "ECE %", 100),
           ("noise_confidence", "confidence on noise %", 100), ("digits_confidence", "confidence on digits %", 100),
           ("train_seconds", "train seconds", 1))


def ood_inputs(mean: float, std: float) -> dict[str, torch.Tensor]:
    """Inputs of no Fashion-MNIST class, standardized as its images: 1,000 of uniform noise, 1,797 digits."""
    noise = torch.rand(1000, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    digits = torch.tensor(load_digits().images, dtype=torch.float32).unsqueeze(1) / 16
    digits = F.interpolate(digits, size=(28, 28), mode="bilinear", align_corners=False).clamp(0, 1)
    return {"noise": (noise - mean) / std, "digits": (digits - mean) / std}


@torch.no_grad()
def confidence(model: torch.nn.Module, x: torch.Tensor) -> float:
    model.eval()
    return torch.cat([model(chunk).float().softmax(1).amax(1) for chunk in x.split(500)]).mean().item()


def measure(seeds: list[int], runs: Path, threads: int) -> dict:
    dataset = load_dataset("fashion-mnist")
    ood = ood_inputs(float(dataset.mean[0]), float(dataset.std[0]))
    results: dict = {"cpu": cpu_description(), "seeds": seeds, "methods": {}}
    for seed in seeds:
        for name, fields in METHODS.items():
            out = runs / f"{fields['method']}-a{fields['alpha']:g}-seed{seed}"
            config = config_from_preset("main", **fields, seed=seed, time_budget=None, threads=threads, quiet=True,
                                        out=str(out))
            result = train(config)
            row = {key: result.final.get(key) for key, _, _ in METRICS}
            row.update({f"{kind}_confidence": confidence(result.model, x) for kind, x in ood.items()})
            results["methods"].setdefault(name, {"config": fields, "seeds": {}})["seeds"][str(seed)] = row
            print(name, seed, {k: round(v, 4) for k, v in row.items() if v is not None}, flush=True)
    return results


def report(results: dict) -> str:
    methods, seeds = results["methods"], results["seeds"]
    lines = ["# The variants on the main regime: fastcnn16 on 1,500 Fashion-MNIST images, 60 epochs", "",
             f"Seeds {seeds}; CPU: {results['cpu']}. Mean ± std over seeds; differences are paired by seed "
             "(mean, 95 % CI, paired t-test). Train seconds were measured on a machine shared with other jobs "
             "(load average about 8 on 2 cores): they vary with that load, not only with the method. Confidence: "
             "the mean top-class probability on 1,000 uniform-noise images and on scikit-learn's 1,797 digits.", "",
             "| method | " + " | ".join(label for _, label, _ in METRICS) + " |",
             "| --- " * (len(METRICS) + 1) + "|"]
    for name, data in methods.items():
        cells = []
        for key, _, scale in METRICS:
            values = torch.tensor([scale * data["seeds"][str(s)][key] for s in seeds], dtype=torch.float64)
            cells.append(f"{values.mean():.3g} ± {values.std():.2g}" if len(values) > 1 else f"{values[0]:.3g}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for baseline in ("ERM", "mixup α=1"):
        lines += ["", f"Each method − {baseline}, seed by seed (negative: lower than {baseline}); verdict on "
                  "'lower' (confidence on out-of-distribution inputs: lower is better):", "",
                  "| method | " + " | ".join(label for _, label, _ in METRICS[:-1]) + " |",
                  "| --- " * len(METRICS) + "|"]
        for name, data in methods.items():
            if name in ("ERM", baseline):
                continue
            cells = []
            for key, _, scale in METRICS[:-1]:
                base = {s: methods[baseline]["seeds"][str(s)][key] for s in seeds}
                other = {s: data["seeds"][str(s)][key] for s in seeds}
                diff = paired(base, other)
                cells.append(f"{diff.describe(scale=scale, digits=3)}: {diff.verdict(-1)}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", f"Verdict rule: {VERDICT_RULE}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--runs", type=Path, default=Path("/tmp/variants_runs"), help="folder of the run folders")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--report-only", action="store_true", help="rewrite report.md from results.json")
    args = parser.parse_args()
    if args.report_only:
        results = json.loads((HERE / "results.json").read_text())
    else:
        results = measure(list(range(args.seeds)), args.runs, args.threads)
        (HERE / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (HERE / "report.md").write_text(report(results))
    print(HERE / "report.md")


if __name__ == "__main__":
    main()
