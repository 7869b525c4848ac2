"""The `length` experiment: does mixup's gain over ERM grow with training length? ERM vs mixup α = 1 in the
fitted regime at two lengths fixed before the runs, judged on the difference of differences (arXiv 1710.09412
§3.2, the ImageNet rows: ResNet-50 90 epochs 23.5 → 23.3, 200 epochs 23.6 → 22.1)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vicinal.eval.plots import line_chart
from vicinal.eval.report import markdown_table, mean

from . import paper
from .framework import Context, Findings, judge
from .regime import MIXUP, REGIMES, Regime, describe, methods, one_cycle
from .reporting import image, pct
from .runs import Variant, by_key, per_seed, plan_variants, summaries, train_runs, was_run

_QUICK_REASON = (
    "Fixed before any result was seen: half the generalization regime's length, 20 epochs, and its own 40 (those "
    "runs are shared), the same one-cycle recipe over each (the paper's ImageNet rows go from 90 to 200 epochs, "
    "2.2×). Longer pairs (40 and 120, then 40 and 80 epochs) were planned first and dropped before any of their "
    "runs finished: on the shared 2-core machine of this measurement a long run took over 20 minutes, too many "
    "for 5 seeds. The claim is judged on the difference of differences, (mixup − ERM at 40) − (mixup − ERM at "
    "20), per seed: negative when the gain grows with the epochs.")


@dataclass(frozen=True)
class LengthSettings:
    regime: Regime  # the shared small-data regime; its epochs are replaced by each length
    lengths: tuple[int, int]  # (short, long) epochs, fixed before the runs
    reason: str  # why these lengths (written into the report)


SETTINGS = {
    "smoke": LengthSettings(regime=REGIMES["smoke"], lengths=(2, 4), reason="smoke: seconds, to check the pipeline."),
    "quick": LengthSettings(regime=REGIMES["quick"], lengths=(20, 40), reason=_QUICK_REASON),
    "paper": LengthSettings(regime=REGIMES["paper"], lengths=(100, 200),
                            reason="half and all of the paper's 200 CIFAR-10 epochs (step schedule ÷10 at 50 % and "
                                   "75 %)."),
}
DEFAULT_SEEDS = {"smoke": (0,), "quick": (0, 1, 2, 3, 4), "paper": (0, 1, 2, 3, 4)}  # this paper's claim: 5 seeds


def _key(method: str, epochs: int, shared: int) -> str:
    """The run key: the method's own at the regime's length (the runs shared with generalization), tagged
    otherwise."""
    return method if epochs == shared else f"{method}_e{epochs}"


def _length_overrides(regime: Regime, epochs: int) -> dict[str, Any]:
    """The regime with its schedule over ``epochs`` (one-cycle stretched, or the preset's own when it has none)."""
    base = dict(regime.base)
    if base.get("schedule") == "onecycle":
        return {**base, **one_cycle(epochs), "batch_size": base["batch_size"]}
    return {**base, "epochs": epochs}


def measure(ctx: Context, settings: LengthSettings) -> dict[str, Any]:
    shared = settings.regime.base.get("epochs")
    planned, refused, keys = [], {}, {}
    for epochs in sorted(settings.lengths, key=lambda n: n == shared):  # the runs shared with generalization last
        variants = [Variant(_key(v.key, epochs, shared), v.label, v.overrides) for v in methods(("erm", MIXUP))]
        more, no = plan_variants(ctx, _length_overrides(settings.regime, epochs), variants)
        planned += more
        refused.update(no)
        keys[str(epochs)] = {v.label: v.key for v in variants}
    runs = by_key(train_runs(ctx, planned))
    return {"lengths": {str(n): keys[str(n)] for n in settings.lengths}, "shared_epochs": shared,
            "runs": {k: summaries(refused.get(k) or runs.get(k)) for per in keys.values() for k in per.values()}}


def _gain(runs: dict, keys: dict[str, str]) -> dict[int, float]:
    """seed → mixup − ERM test error at one length."""
    erm, mix = (per_seed(runs[k], "test_error") for k in keys.values())
    return {s: mix[s] - erm[s] for s in erm if s in mix}


def report(results: dict[str, Any], folder: Path) -> Findings:
    settings, measured = results["settings"], results["measured"]
    runs, lengths = measured["runs"], measured["lengths"]
    rows, series, gains = [], {}, {}
    for epochs, keys in lengths.items():
        for label, key in keys.items():
            entry = runs[key]
            if not was_run(entry):
                rows.append((epochs, label, str(entry), "—"))
                continue
            rows.append((epochs, label, pct(per_seed(entry, "test_error"), 2), pct(per_seed(entry, "train_error"), 2)))
            xs, ys = series.setdefault(label, ([], []))
            xs.append(int(epochs))
            ys.append(100 * mean(per_seed(entry, "test_error").values()))
        if all(was_run(runs[k]) for k in keys.values()):
            gains[epochs] = _gain(runs, keys)
    table = markdown_table(["epochs", "method", "test error % (last)", "training error % (last epoch)"], rows)
    (e90, m90), (e200, m200) = paper.IMAGENET_TOP1["ResNet-50 (90)"], paper.IMAGENET_TOP1["ResNet-50 (200)"]
    verdicts = []
    short, long = (str(n) for n in settings["lengths"])
    for epochs, gain in gains.items():
        verdicts.append(judge(f"mixup lowers test error over ERM at {epochs} epochs",
                              measure="test error %, mixup α=1 − ERM", baseline=dict.fromkeys(gain, 0.0),
                              other=gain, expected_sign=-1,
                              unit=" points", paper=f"ResNet-50 90 epochs {m90 - e90:+.1f}, 200 epochs "
                              f"{m200 - e200:+.1f} (ImageNet top-1)",
                              repeats="generalization" if epochs == str(measured["shared_epochs"]) else None))
    if short in gains and long in gains:
        verdicts.append(judge("mixup's gain over ERM grows with training length",
                              measure=f"test error %, (mixup − ERM at {long}) − (mixup − ERM at {short} epochs)",
                              baseline=gains[short], other=gains[long], expected_sign=-1, unit=" points",
                              paper=f"({m200 - e200:+.1f}) − ({m90 - e90:+.1f}) = "
                                    f"{(m200 - e200) - (m90 - e90):+.1f} (ResNet-50, 90 → 200 epochs)"))
    plots = []
    if series:
        chart = line_chart(series, path=folder / "length_error.png", title="test error against training length",
                           xlabel="epochs", ylabel="test error % (mean over seeds)")
        plots.append(chart.name)
    regime = settings["regime"]
    return Findings(
        setting={"regime": describe(regime["base"]) + "; the epochs replaced by each length",
                 "lengths": f"{short} and {long} epochs", "why these lengths": settings["reason"]},
        sections=[("Test error at each length", table)]
        + [("Plot", image(p, "Test error of ERM and mixup α = 1 at each length, mean over seeds.")) for p in plots],
        verdicts=verdicts, plots=plots,
    )
