"""Writing an experiment's report.md from its results.json, and the index report of `reproduce all`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from vicinal.eval.report import finite, markdown_table, mean_std
from vicinal.eval.stats import VERDICT_RULE, format_p, holm

from .framework import Experiment, Findings, Verdict

VERDICT_HEADERS = ["claim", "whose", "measured as", "ours: mean difference, 95 % CI, t, df, p (per seed)",
                   "Holm p", "paper", "verdict"]


Values = float | Iterable[float | None] | Mapping[int, float] | None


def spread(values: Values, digits: int = 2, *, scale: float = 1.0) -> str:
    """A number, or several (one per seed, or a mapping seed → value), as "mean ± std" times ``scale``
    ("—" when none)."""
    if isinstance(values, Mapping):
        values = list(values.values())
    vals = finite([values] if values is None or isinstance(values, (int, float)) else values)
    return mean_std(vals, digits=digits, scale=scale) if vals else "—"


def pct(values: Values, digits: int = 1) -> str:
    """A fraction in [0, 1], or several, as "mean ± std" in percent ("—" when none)."""
    return spread(values, digits, scale=100)


def number(value: float | None, digits: int = 1) -> str:
    """A plain number ("—" when missing)."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.{digits}f}"


def image(file_name: str, caption: str) -> str:
    """A markdown image with a line saying what it shows."""
    return f"![{caption}]({file_name})\n\n{caption}"


def whose(verdict: Verdict) -> str:
    """Whose claim a verdict judges, and where it is counted when it repeats another experiment's."""
    return verdict.scope + (f" (repeats {verdict.repeats})" if verdict.repeats else "")


def verdict_table(verdicts: Iterable[Verdict]) -> str:
    """The verdicts as a table: the claim, whose it is, what is compared, our paired effect with its test, the
    Holm-adjusted p over this table's verdicts, the paper's effect, the verdict."""
    verdicts = list(verdicts)
    adjusted = holm([v.p for v in verdicts])
    rows = [(v.claim, whose(v), v.measure, v.ours, format_p(a), v.paper, f"**{v.status}**")
            for v, a in zip(verdicts, adjusted, strict=True)]
    return markdown_table(VERDICT_HEADERS, rows)


def count_claims(verdicts: Iterable[Verdict]) -> str:
    """"N of M of this paper's claims reproduced at p < 0.05", each claim once (repeats left out), and the
    verdicts on later work's claims and on our own measures counted apart."""
    verdicts = [v for v in verdicts if not v.repeats]
    parts = []
    for scope, name in (("this paper", "this paper's claims"), ("later work", "later work's claims"),
                        ("ours", "our own measures (not claims of the paper)")):
        statuses = [v.status for v in verdicts if v.scope == scope]
        if statuses:
            rest = ", ".join(f"{statuses.count(s)} {s}" for s in dict.fromkeys(statuses) if s != "reproduced")
            parts.append(f"{statuses.count('reproduced')} of {len(statuses)} of {name} reproduced at p < 0.05"
                         + (f" ({rest})" if rest else ""))
    return "; ".join(parts) or "no verdicts"


def report_text(experiment: Experiment, data: Mapping[str, Any], findings: Findings) -> str:
    """report.md of one experiment: heading, setting, the experiment's sections and the verdicts."""
    setting = {
        **findings.setting,
        "seeds": ", ".join(str(s) for s in data["seeds"]),
        "wall-clock time": f"{data['seconds']:.0f} s on {data['machine']}",
        "command": data["command"],
    }
    parts = [
        f"# {experiment.title}",
        f"Paper: mixup: Beyond Empirical Risk Minimization (Zhang et al., ICLR 2018, arXiv 1710.09412). "
        f"Claim from: {experiment.source}.",
    ]
    if data["preset"] == "smoke":
        parts.append("> **smoke preset**: a few seconds of training to check the pipeline end to end; "
                     "its numbers and verdicts are not evidence either way.")
    parts.append("## Setting measured\n" + "\n".join(f"- **{k}**: {v}" for k, v in setting.items()))
    parts += [f"## {heading}\n{body}" for heading, body in findings.sections]
    if findings.verdicts:
        parts.append("## Verdicts\nOur effect is the per-seed paired difference (runs of one seed share the data "
                     "subset, initialization and batch order): its mean with a 95 % confidence interval, the paired "
                     f"t-test's t, df and two-sided p, and each seed's value. Verdict rule: {VERDICT_RULE}. The Holm "
                     "column adjusts the p-values for the number of verdicts in this table (family-wise error "
                     f"5 %). In all: {count_claims(findings.verdicts)}.\n\n" + verdict_table(findings.verdicts))
    return "\n\n".join(parts) + "\n"


def index_text(preset: str, entries: Iterable[tuple[Experiment, str, float, list[Verdict]]]) -> str:
    """The index report of `reproduce all`: one line per experiment (link, what it shows, seconds, verdicts) and
    this paper's claims counted once over all of them."""
    entries = list(entries)
    rows = [(f"[{experiment.name}]({link})", experiment.title, f"{seconds:.0f}", count_claims(verdicts))
            for experiment, link, seconds, verdicts in entries]
    total = sum(seconds for _, _, seconds, _ in entries)
    return "\n\n".join([
        f"# vicinal: the paper's experiments ({preset} preset)",
        "mixup: Beyond Empirical Risk Minimization (Zhang et al., ICLR 2018, arXiv 1710.09412), measured again.",
        f"In all: {count_claims(v for *_, verdicts in entries for v in verdicts)}. Verdict rule: {VERDICT_RULE}.",
        markdown_table(["experiment", "what it shows", "seconds", "verdicts"], rows),
        f"Total: {total:.0f} s. Runs shared by several experiments are trained by the first that needs them and "
        f"only evaluated again by the others.",
    ]) + "\n"
