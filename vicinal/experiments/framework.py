"""The experiment framework: presets, the run context, findings and verdicts (arXiv 1710.09412)."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Mapping, Sequence, get_args

from vicinal.eval.report import finite, mean, std

# The trainer presets (vicinal.train.PRESETS) the experiments have settings for: every run of an experiment at
# preset p starts from the trainer's preset p and changes what the experiment needs.
Preset = Literal["smoke", "quick", "paper"]
PRESETS: tuple[str, ...] = get_args(Preset)
Status = Literal["reproduced", "partly", "not reproduced", "not measured"]


@dataclass
class Context:
    """What one experiment run is given: its preset, folder, device, data and seeds."""

    experiment: str  # the experiment's registry name
    preset: str  # one of PRESETS, a trainer preset
    out: Path  # the experiment's folder; every run writes below it
    device: str | None = None  # None = let the trainer pick ("auto")
    data_dir: str | None = None  # where the data sets are (None = the data layer's search order)
    seeds: tuple[int, ...] = (0,)  # one run per seed for every setting
    quiet: bool = False  # True = no progress lines on stderr

    def progress(self, message: str) -> None:
        """One progress line on stderr (the only thing an experiment prints)."""
        if not self.quiet:
            print(f"[{self.experiment}/{self.preset}] {message}", file=sys.stderr, flush=True)

    def run_dir(self, *parts: object) -> Path:
        """A fresh sub-folder for one run, named from its parts."""
        path = self.out.joinpath("runs", *(str(p) for p in parts))
        path.mkdir(parents=True, exist_ok=True)
        return path


@dataclass
class Verdict:
    """One claim of the paper and whether our measurement agrees with it."""

    claim: str  # the paper's claim, in a line
    status: Status  # reproduced (same direction, similar relative size), partly, not reproduced, not measured
    evidence: str  # our numbers and the paper's, in a line


@dataclass
class Findings:
    """What an experiment hands back to be written into report.md and results.json."""

    setting: dict[str, Any]  # data, model, epochs, ... as measured (seeds and time are added by the framework)
    sections: list[tuple[str, str]] = field(default_factory=list)  # (heading, markdown body), in order
    verdicts: list[Verdict] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)  # JSON-able numbers, every run's results
    plots: list[str] = field(default_factory=list)  # PNG file names inside the experiment folder
    paper: dict[str, Any] = field(default_factory=dict)  # the paper's numbers this experiment compares against


@dataclass(frozen=True)
class Experiment:
    """One of the paper's experiments: a name, what it shows, and its settings per preset."""

    name: str  # registry name, as in `vicinal reproduce <name>`
    title: str  # a line for the report's heading
    source: str  # where the claim comes from (paper section, later paper)
    settings: Mapping[str, Any]  # preset name -> the experiment's settings dataclass for it
    run: Callable[[Context, Any], Findings]  # run(context, settings) -> Findings
    default_seeds: Mapping[str, tuple[int, ...]]  # preset name -> seeds used when the caller gives none


def relative_gain(baseline: float, other: float) -> float:
    """(baseline − other) / baseline: the share of the baseline's error that `other` removes."""
    if not math.isfinite(baseline) or not math.isfinite(other):
        return math.nan
    if baseline == 0:
        return 0.0 if other == 0 else -math.inf
    return (baseline - other) / baseline


MIN_EFFECT = 0.05  # an effect must exceed this (and the seed noise) to count as shown, e.g. 5 % relative


def judge(ours: float, paper: float, *, noise: float = 0.0, factor: float = 2.0) -> Status:
    """Compare our effect with the paper's (both signed, positive = the paper's direction).

    reproduced: same direction, beyond max(`noise`, MIN_EFFECT), and within `factor` of the paper's
    relative size; partly: same direction but weaker than that or of a rather different size;
    not reproduced otherwise.
    """
    if not math.isfinite(ours):
        return "not measured"
    noise = max(noise, MIN_EFFECT) if math.isfinite(noise) else MIN_EFFECT
    if paper == 0:
        return "reproduced" if abs(ours) <= noise else "not reproduced"
    direction = ours * math.copysign(1.0, paper)
    if direction <= 0:
        return "not reproduced"
    if direction <= noise:
        return "partly"
    ratio = abs(ours) / abs(paper)
    return "reproduced" if 1.0 / factor <= ratio <= factor else "partly"


def judge_direction(ours: float, *, noise: float = 0.0) -> Status:
    """For a claim with a direction but no size: positive beyond max(`noise`, MIN_EFFECT) = reproduced,
    positive = partly."""
    if not math.isfinite(ours):
        return "not measured"
    noise = max(noise, MIN_EFFECT) if math.isfinite(noise) else MIN_EFFECT
    if ours > noise:
        return "reproduced"
    return "partly" if ours > 0 else "not reproduced"


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


def gain_and_noise(baseline: Sequence[float], other: Sequence[float]) -> tuple[float, float]:
    """Relative gain of `other` over `baseline` (means) and its noise: the standard error of the
    difference of means, relative to the baseline's mean (0 when each side has a single value)."""
    nb, no = len(finite(baseline)), len(finite(other))
    mb, mo = mean(baseline), mean(other)
    if nb == 0 or no == 0 or mb == 0:
        return math.nan, math.nan
    return relative_gain(mb, mo), math.sqrt(std(baseline) ** 2 / nb + std(other) ** 2 / no) / mb
