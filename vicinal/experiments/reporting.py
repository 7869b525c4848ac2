"""Writing an experiment's report.md and results.json, and the index report of `reproduce all`."""

from __future__ import annotations

import math
import platform
from pathlib import Path
from typing import Any, Iterable

import torch

from vicinal.eval.report import finite, markdown_table, mean_std
from vicinal.train.checkpoint import write_json

from .framework import Context, Experiment, Findings, to_jsonable


def pct(values: float | Iterable[float | None] | None, digits: int = 1) -> str:
    """A fraction in [0, 1], or several (one per seed) as "mean ± std", in percent ("—" when none)."""
    vals = finite([values] if values is None or isinstance(values, (int, float)) else values)
    return mean_std(vals, digits=digits, scale=100) if vals else "—"


def number(value: float | None, digits: int = 1) -> str:
    """A plain number ("—" when missing)."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.{digits}f}"


def image(file_name: str, caption: str) -> str:
    """A markdown image with a line saying what it shows."""
    return f"![{caption}]({file_name})\n\n{caption}"


def _setting_lines(setting: dict[str, Any]) -> str:
    return "\n".join(f"- **{key}**: {value}" for key, value in setting.items())


def write_report(experiment: Experiment, ctx: Context, findings: Findings, seconds: float) -> Path:
    """Write report.md and results.json for one experiment; return the report's path."""
    setting = {
        **findings.setting,
        "seeds": ", ".join(str(s) for s in ctx.seeds),
        "wall-clock time": f"{seconds:.0f} s on {platform.machine()} ({torch.get_num_threads()} torch threads)",
        "device": ctx.device or "auto",
        "command": f"vicinal reproduce {experiment.name} --preset {ctx.preset}",
    }
    parts = [
        f"# {experiment.title}",
        f"Paper: mixup: Beyond Empirical Risk Minimization (Zhang et al., ICLR 2018, arXiv 1710.09412). "
        f"Claim from: {experiment.source}.",
    ]
    if ctx.preset == "smoke":
        parts.append("> **smoke preset**: a few seconds of training to check the pipeline end to end; "
                     "its numbers and verdicts are not evidence either way.")
    parts.append("## Setting measured\n" + _setting_lines(setting))
    parts += [f"## {heading}\n{body}" for heading, body in findings.sections]
    if findings.verdicts:
        rows = [(v.claim, f"**{v.status}**", v.evidence) for v in findings.verdicts]
        parts.append("## Verdicts\nreproduced = same direction and similar relative size; partly = same "
                     "direction but weak or of another size; not reproduced = no effect or the other way.\n\n"
                     + markdown_table(["paper's claim", "here", "evidence"], rows))
    report = ctx.out / "report.md"
    report.write_text("\n\n".join(parts) + "\n")
    write_json(ctx.out / "results.json", to_jsonable({
        "experiment": experiment.name,
        "preset": ctx.preset,
        "seeds": list(ctx.seeds),
        "seconds": seconds,
        "setting": setting,
        "paper": findings.paper,
        "verdicts": findings.verdicts,
        "results": findings.results,
        "plots": findings.plots,
    }))
    return report


def write_index(out: Path, preset: str, entries: list[tuple[Experiment, Path, float, list[str]]]) -> Path:
    """The index report of `reproduce all`: one line per experiment, linking its report."""
    rows = []
    for experiment, report, seconds, statuses in entries:
        link = report.relative_to(out).as_posix()
        counts = ", ".join(f"{statuses.count(s)} {s}" for s in dict.fromkeys(statuses)) or "—"
        rows.append((f"[{experiment.name}]({link})", experiment.title, f"{seconds:.0f}", counts))
    total = sum(seconds for _, _, seconds, _ in entries)
    body = [
        f"# vicinal: the paper's experiments ({preset} preset)",
        "mixup: Beyond Empirical Risk Minimization (Zhang et al., ICLR 2018, arXiv 1710.09412), measured again.",
        markdown_table(["experiment", "what it shows", "seconds", "verdicts"], rows),
        f"Total: {total:.0f} s.",
    ]
    index = out / "report.md"
    index.write_text("\n\n".join(body) + "\n")
    write_json(out / "results.json", to_jsonable({
        "preset": preset,
        "seconds": total,
        "experiments": {e.name: {"report": str(r), "seconds": s, "verdicts": st} for e, r, s, st in entries},
    }))
    return index
