"""The experiment framework: presets, the run context, claims judged by the paired verdict rule, findings
(arXiv 1710.09412)."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, Callable, Literal, get_args

from vicinal.eval.stats import Verdict as Status
from vicinal.eval.stats import paired

# The trainer presets (vicinal.train.PRESETS) the experiments have settings for: every run of an experiment at
# preset p starts from the trainer's preset p and changes what the experiment needs.
Preset = Literal["smoke", "quick", "paper"]
PRESETS: tuple[str, ...] = get_args(Preset)


@dataclass
class Context:
    """What one experiment's measuring is given: its preset, folders, device, data and seeds."""

    experiment: str  # the experiment's registry name
    preset: str  # one of PRESETS, a trainer preset
    out: Path  # the experiment's folder (report.md, results.json, plots)
    runs: Path  # where run folders live; shared by the experiments of one `reproduce all`, so a run is trained once
    device: str | None = None  # None = let the trainer pick ("auto")
    data_dir: str | None = None  # where the data sets are (None = the data layer's search order)
    seeds: tuple[int, ...] = (0,)  # one run per seed for every setting
    quiet: bool = False  # True = no progress lines on stderr
    backend: str = "local"  # where the runs are trained: vicinal.train.train_all's backend (local or ray)
    address: str | None = None  # with backend "ray": the cluster's HOST:PORT (None: a local Ray)
    tensorboard: bool = False  # the training runs also write TensorBoard event files into their folders

    def progress(self, message: str) -> None:
        """One progress line on stderr (the only thing an experiment prints)."""
        if not self.quiet:
            print(f"[{self.experiment}/{self.preset}] {message}", file=sys.stderr, flush=True)


Scope = Literal["this paper", "later work", "ours"]
SCOPES: tuple[str, ...] = get_args(Scope)


@dataclass(frozen=True)
class Verdict:
    """One claim, our paired effect beside the paper's, and the verdict rule's answer."""

    claim: str  # the claim, in a line
    measure: str  # what is compared, e.g. "test error %, mixup α=1 − ERM"
    ours: str  # our paired effect: mean, 95 % CI, t, df, p (per seed: …)
    paper: str  # the paper's effect in the same terms ("—" where it gives none)
    status: Status  # vicinal.eval.stats: reproduced, contradicted, not reproduced, indicative, not measured
    p: float | None = None  # the two-sided p-value of the paired t-test (None where the verdict is not one test)
    scope: Scope = "this paper"  # whose claim: this paper's, a later paper's, or a measure of ours it does not state
    repeats: str | None = None  # the experiment whose verdict this one repeats on the same runs (counted there)


def judge(claim: str, *, measure: str, baseline: Mapping[int, float | None], other: Mapping[int, float | None],
          expected_sign: int, paper: str, scale: float = 100.0, digits: int = 2, unit: str = "",
          scope: Scope = "this paper", repeats: str | None = None) -> Verdict:
    """The verdict on ``claim`` that ``other − baseline`` (per seed, paired) has ``expected_sign``.

    >>> judge("mixup lowers test error", measure="test error %", baseline={0: 0.10, 1: 0.11, 2: 0.12, 3: 0.10},
    ...       other={0: 0.09, 1: 0.10, 2: 0.10, 3: 0.09}, expected_sign=-1, paper="5.6 → 4.2").status
    'reproduced'
    """
    diff = paired(baseline, other)
    return Verdict(claim, measure, diff.describe(scale=scale, digits=digits, unit=unit), paper,
                   diff.verdict(expected_sign), p=None if diff.n < 2 else diff.p, scope=scope, repeats=repeats)


@dataclass
class Findings:
    """What an experiment's report function makes of its results: the setting lines, sections, verdicts, plots."""

    setting: dict[str, str]  # data, model, regime and its reason, ... as measured
    sections: list[tuple[str, str]] = field(default_factory=list)  # (heading, markdown body), in order
    verdicts: list[Verdict] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)  # PNG file names inside the experiment folder


@dataclass(frozen=True)
class Experiment:
    """One of the paper's experiments: a name, what it shows, its settings per preset, how it measures and reports.

    ``measure(context, settings)`` trains and evaluates and returns plain JSON-able data (it becomes
    results.json's ``measured``); ``report(results, folder)`` turns results.json's content into Findings and
    draws the plots into ``folder``, with no training, so a report can be written again from results.json alone.
    """

    name: str  # registry name, as in `vicinal reproduce <name>`
    title: str  # a line for the report's heading
    source: str  # where the claim comes from (paper section, later paper)
    settings: Mapping[str, Any]  # preset name -> the experiment's settings dataclass for it
    default_seeds: Mapping[str, tuple[int, ...]]  # preset name -> seeds used when the caller gives none
    measure: Callable[[Context, Any], dict[str, Any]]
    report: Callable[[dict[str, Any], Path], Findings]


def to_jsonable(value: Any) -> Any:
    """Dataclasses, paths, tuples, tensors and non-finite floats as plain JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "tolist"):  # tensors and numpy values
        return to_jsonable(value.tolist())
    return value


class Stopwatch:
    """Wall-clock seconds since creation."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start
