"""Benchmark: training time (evaluation excluded) until Fashion-MNIST test accuracy reaches 93.5% and 94.5%.

Run:  .venv/bin/python benchmarks/time_to_accuracy.py [--preset quick] [--epochs N] [--alpha A] [--model M]
          [--test-translate T] [--seed S]
Trains the preset's recipe once, evaluating after every epoch, and prints for each target the first epoch
that reached it and the training seconds spent until then (targets: 93.5% in ≤ 120 s, 94.5% in ≤ 600 s).
Timing claims only from a quiet machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vicinal.train import config_from_preset, train  # noqa: E402
from vicinal.train.report import describe_test_views  # noqa: E402

TARGETS = ((0.935, 120.0), (0.945, 600.0))  # (test accuracy, seconds allowed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    parser.add_argument("--alpha", type=float, default=None, help="override the preset's α (0: ERM)")
    parser.add_argument("--model", default=None, help="override the preset's model (e.g. fastcnn, fastcnn48)")
    parser.add_argument("--test-translate", type=int, default=None,
                        help="override the preset's translation test-time augmentation (pixels, 0: off)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None, help="run folder (default: a temporary one)")
    args = parser.parse_args()
    overrides = {k: v for k, v in dict(epochs=args.epochs, alpha=args.alpha, model=args.model,
                                       test_translate=args.test_translate).items() if v is not None}
    out = args.out or tempfile.mkdtemp(prefix="vicinal-tta-")
    config = config_from_preset(args.preset, **overrides, seed=args.seed, data_dir=args.data_dir, eval_every=1,
                                out=str(Path(out) / "run"))
    result = train(config)
    views = describe_test_views(config)
    print(f"{config.model} on {config.dataset}, preset {args.preset}, α={config.alpha:g}, {config.epochs} epochs, "
          f"batch {config.batch_size}, test predictions {'averaged over ' + views if views else 'plain'}; "
          f"final test accuracy {100 * (1 - result.final['test_error']):.2f}% after "
          f"{result.final['train_seconds']:.1f} s of training")
    for accuracy, budget in TARGETS:
        hit = next((row for row in result.history if 1 - row["test_error"] >= accuracy), None)
        if hit is None:
            print(f"{100 * accuracy:.1f}%: not reached (best {100 * (1 - result.final['best_test_error']):.2f}%)")
        else:
            verdict = "within" if hit["seconds"] <= budget else "over"
            print(f"{100 * accuracy:.1f}%: epoch {hit['epoch']}, {hit['seconds']:.1f} s of training "
                  f"({verdict} the {budget:.0f} s target)")
    print("re-run: .venv/bin/python " + " ".join(sys.argv))


if __name__ == "__main__":
    main()
