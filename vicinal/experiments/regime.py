"""The small-data regime the paper's claims are about (networks that fit their training sets), and the methods whose
runs generalization, calibration, adversarial and the ablation share (arXiv 1710.09412)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .framework import Context
from .runs import NotRun, RunRecord, Variant, by_key, plan_variants, train_runs


def step_schedule(epochs: int) -> dict[str, Any]:
    """The paper's CIFAR recipe with its epochs scaled: SGD lr 0.1, momentum 0.9, weight decay 1e-4, batch 128,
    the lr ÷10 at 50 % and 75 % of training (the paper: epochs 100 and 150 of 200)."""
    return dict(epochs=epochs, schedule="step", milestones=(max(1, epochs // 2), max(2, 3 * epochs // 4)),
                lr=0.1, lr_decay=0.1, momentum=0.9, nesterov=False, weight_decay=1e-4, batch_size=128)


@dataclass(frozen=True)
class Regime:
    """The trainer overrides of every shared run, and why they were chosen (written into each report)."""

    base: dict[str, Any]  # TrainConfig fields on top of the trainer preset
    reason: str  # the rule the regime was chosen by (stated before any comparison) and the probe that met it


_FITTED_REASON = (
    "Chosen before any comparison, by a rule: the paper's claims are about networks that fit their training "
    "sets, so ERM must reach ≤ 1 % training error by the end; the widest fastcnn the 90-minute budget of "
    "`reproduce all` allows, since the paper's gains grow with capacity; the paper's step schedule and recipe "
    "(SGD lr 0.1 ÷10 at 50 % and 75 % of training, momentum 0.9, wd 1e-4, batch 128) with its epochs scaled "
    "down; the full 10,000-image test set. {probe}")

REGIMES: dict[str, Regime] = {
    "smoke": Regime(base=dict(dataset="fashion-mnist", model="mlp", train_subset=256, test_subset=256,
                              augment_flip=False, eval_every=1, **{**step_schedule(2), "batch_size": 64}),
                    reason="smoke: seconds of training to check the pipeline; not a regime of the paper's."),
    "quick": Regime(base=dict(dataset="fashion-mnist", model="fastcnn64", train_subset=2000, test_subset=None,
                              augment_flip=True, eval_every=5, **step_schedule(40)),
                    reason=_FITTED_REASON.format(probe="PROBE")),
    "paper": Regime(base=dict(dataset="cifar10", model="preact_resnet18"),
                    reason="the paper's own CIFAR-10 settings (the trainer's `paper` preset), for a GPU."),
}

PAPER_ALPHA = 1.0  # the α of the paper's CIFAR tables
SMALL_ALPHA = 0.2  # the small α the authors advise for small networks

# The methods trained in the regime; each experiment uses those it needs, and in `reproduce all` each is trained once.
METHODS: tuple[Variant, ...] = (
    Variant("erm", "ERM", dict(alpha=0.0)),
    Variant(f"mixup_a{PAPER_ALPHA:g}", f"mixup α={PAPER_ALPHA:g}", dict(method="mixup", alpha=PAPER_ALPHA)),
    Variant(f"mixup_a{SMALL_ALPHA:g}", f"mixup α={SMALL_ALPHA:g}", dict(method="mixup", alpha=SMALL_ALPHA)),
    Variant("cutmix", "CutMix α=1", dict(method="cutmix", alpha=1.0)),
    Variant("manifold", "Manifold Mixup α=2", dict(method="manifold_mixup", alpha=2.0)),
    Variant("label_smoothing", "label smoothing ε=0.1", dict(alpha=0.0, label_smoothing=0.1)),
)
MIXUP = f"mixup_a{PAPER_ALPHA:g}"
MIXUP_SMALL = f"mixup_a{SMALL_ALPHA:g}"


def methods(keys: Sequence[str]) -> tuple[Variant, ...]:
    """The shared methods named by ``keys``, in their order."""
    known = {v.key: v for v in METHODS}
    return tuple(known[k] for k in keys)


def describe(base: Mapping[str, Any]) -> str:
    """The regime in a line, from its trainer overrides."""
    subset = base.get("train_subset")
    data = f"{base.get('dataset')}, {f'{subset:,}' if subset else 'all'} training images (a subset drawn per seed)"
    test = base.get("test_subset")
    data += f", {f'{test:,}' if test else 'the full'} test set"
    schedule = (f"{base.get('epochs')} epochs, SGD lr {base.get('lr')} ÷10 at epochs "
                f"{', '.join(str(m) for m in base.get('milestones', ()))}, momentum {base.get('momentum')}, "
                f"wd {base.get('weight_decay')}, batch {base.get('batch_size')}"
                if base.get("schedule") == "step" else "the trainer preset's schedule")
    flips = "random flips" if base.get("augment_flip") else "no augmentation"
    return f"{data}; {base.get('model')}; {schedule}; {flips}"


def train_methods(ctx: Context, regime: Regime, variants: Sequence[Variant], *, keep_model: bool = False
                  ) -> tuple[dict[str, dict[int, RunRecord]], dict[str, NotRun]]:
    """Every variant in the regime over the context's seeds: the runs by key and seed, and the settings refused."""
    planned, refused = plan_variants(ctx, regime.base, variants)
    return by_key(train_runs(ctx, planned, keep_model=keep_model)), refused
