"""docs/RESULTS.md's measured part, written from results.json files so that no number in it is typed by hand: the
reports of a `vicinal reproduce all` folder (or of experiments measured by separate commands into one folder) and
the large-data `compare` point (arXiv 1710.09412).

    python -m vicinal.experiments.results_md RUN [--docs docs] [--preset quick] [--large-data DIR]

copies RUN's reports, plots and results.json (not its run folders) to docs/results/<preset>/, writes them again
from results.json, replaces the part of docs/RESULTS.md between its two markers, and prints the summary of the
paper's claims for the README.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from vicinal._io import write_json
from vicinal.eval.report import markdown_table, mean_std
from vicinal.eval.stats import VERDICT_RULE, paired

from .framework import Findings, Verdict
from .registry import EXPERIMENTS, REPORT, RESULTS, findings_of, read_results, write_report
from .reporting import count_claims, verdict_table

START, END = "<!-- measured: start -->", "<!-- measured: end -->"
LARGE_DATA = Path("docs/results/compare-standard")


def publish(run: str | Path, *, docs: str | Path = "docs", preset: str = "quick",
            large_data: str | Path | None = LARGE_DATA) -> Path:
    """Copy ``run``'s reports, plots and results.json to ``docs``/results/``preset``/, write them again from
    results.json, and replace the measured part of ``docs``/RESULTS.md; return RESULTS.md's path."""
    run, docs = Path(run), Path(docs)
    dest = docs / "results" / preset
    names = experiment_folders(run)
    for name in names:
        target = dest / name
        target.mkdir(parents=True, exist_ok=True)
        for item in (*(run / name).glob("*.png"), run / name / RESULTS):
            shutil.copy2(item, target / item.name)
    write_json(dest / RESULTS, {"preset": preset, "experiments": names})
    write_report(dest)
    path = docs / "RESULTS.md"
    text = path.read_text() if path.exists() else f"# Results\n\n{START}\n{END}\n"
    if START not in text or END not in text:
        raise ValueError(f"{path} is invalid: expected the markers {START} and {END} around its measured part")
    link = dest.relative_to(docs).as_posix()
    large = None
    if large_data:
        large = (Path(large_data), Path(large_data).resolve().relative_to(docs.resolve()).as_posix())
    body = measured_part(dest, link=link, large_data=large)
    head, rest = text.split(START, 1)
    path.write_text(f"{head}{START}\n{body}\n{END}{rest.split(END, 1)[1]}")
    return path


def experiment_folders(run: Path) -> list[str]:
    """The experiments measured under ``run``: the list of `vicinal reproduce all`'s index, or else every
    experiment folder holding a results.json (experiments measured by separate commands), in the registry's order."""
    if (run / RESULTS).exists() and "experiments" in read_results(run):
        return list(read_results(run)["experiments"])
    names = [name for name in EXPERIMENTS if (run / name / RESULTS).exists()]
    if not names:
        raise ValueError(f"run={str(run)!r} is invalid: expected the folder of `vicinal reproduce all`, or a folder "
                         f"of experiment folders (generalization/, memorization/, ...) each holding a {RESULTS}")
    return names


def _experiments(folder: Path) -> list[tuple[str, dict, Findings, str]]:
    """(name, results, findings, title) of each experiment of a `reproduce all` folder, in the index's order."""
    out = []
    for name in read_results(folder)["experiments"]:
        experiment, results, findings = findings_of(folder / name)
        out.append((name, results, findings, experiment.title))
    return out


def measured_part(folder: Path, *, link: str, large_data: tuple[Path, str] | None) -> str:
    """The measured part of RESULTS.md: how it was run, every verdict, the large-data point (its folder and its
    link from RESULTS.md), each experiment; ``link`` is ``folder`` as linked from RESULTS.md."""
    experiments = _experiments(folder)
    seconds = sum(results["seconds"] for _, results, _, _ in experiments)
    parts = [
        "- **Commands**: each experiment by its own command (below; all of them at once: `vicinal reproduce all "
        f"--preset {experiments[0][1]['preset']}`), {seconds:,.0f} s ({seconds / 60:.0f} minutes) in all; then "
        "`python -m vicinal.experiments.results_md RUN` wrote this part of the page and "
        f"[{link}/]({link}/{REPORT}) from their results.json files.\n\n" + markdown_table(
            ["experiment", "command", "seeds", "wall clock", "machine"],
            [(f"[{name}]({link}/{name}/{REPORT})", f"`{results['command']}`", str(len(results["seeds"])),
              f"{results['seconds'] / 60:.0f} min", results["machine"]) for name, results, _, _ in experiments]),
        f"- **Verdicts**: {VERDICT_RULE}. Our effect (the per-seed paired difference: its mean, 95 % confidence "
        "interval, t, df, p and each seed's value) stands beside the paper's, in its own column; each experiment's "
        "report adds Holm-adjusted p-values over its own verdicts.",
        summary(experiments, link),
    ]
    if large_data is not None:
        parts.append(large_data_point(*large_data))
    for i, (name, results, findings, title) in enumerate(experiments, 1):
        parts.append(_section(i, name, title, results, findings, f"{link}/{name}"))
    return "\n\n".join(parts)


SCOPE_HEADINGS = (("this paper", "This paper's claims"),
                  ("later work", "Later work's claims (CutMix, Manifold Mixup, calibration, the small α)"),
                  ("ours", "Our own measures (not claims of the paper)"))


def summary(experiments: list[tuple[str, dict, Findings, str]], link: str) -> str:
    """Every verdict once (repeats left out, said), this paper's claims apart from later work's and ours."""
    verdicts = [(name, v) for name, _, findings, _ in experiments for v in findings.verdicts]
    parts = ["## Summary: every claim judged once",
             f"In all: {count_claims(v for _, v in verdicts)}."]
    for scope, heading in SCOPE_HEADINGS:
        rows = [(f"[{name}]({link}/{name}/{REPORT})", v.claim, v.measure, v.ours, v.paper, f"**{v.status}**")
                for name, v in verdicts if v.scope == scope and not v.repeats]
        if rows:
            parts.append(f"### {heading}\n\n" + markdown_table(
                ["experiment", "claim", "measured as", "ours", "paper", "verdict"], rows))
    repeats = [(name, v) for name, v in verdicts if v.repeats]
    if repeats:
        parts.append("Left out of the counts, judged again on the same claim: " + "; ".join(
            f"{name}: {v.measure} ({v.status}, repeats {v.repeats})" for name, v in repeats) + ".")
    return "\n\n".join(parts)


def _section(number: int, name: str, title: str, results: dict, findings: Findings, link: str) -> str:
    setting = {**findings.setting, "seeds": ", ".join(map(str, results["seeds"])),
               "wall-clock time": f"{results['seconds']:,.0f} s", "report": f"[{name}]({link}/{REPORT})"}
    lines = [f"## {number}. {title}", "\n".join(f"- **{k}**: {v}" for k, v in setting.items())]
    for heading, body in findings.sections:
        for plot in findings.plots:
            body = body.replace(f"]({plot})", f"]({link}/{plot})")
        lines.append(f"### {heading}\n\n{body}")
    if findings.verdicts:
        lines.append("### Verdicts\n\n" + verdict_table(findings.verdicts))
    return "\n\n".join(lines)


def large_data_point(folder: Path, link: str) -> str:
    """The full-data `compare` (a list of per-run final numbers in results.json) as a table and paired verdicts."""
    runs = json.loads((folder / RESULTS).read_text())
    by_alpha: dict[float, dict[int, dict]] = {}
    for r in runs:
        by_alpha.setdefault(float(r["alpha"]), {})[int(r["seed"])] = r
    alphas = sorted(by_alpha)
    label = {a: "ERM" if a == 0 else f"mixup α={a:g}" for a in alphas}
    metrics = (("test_error", "test error %", 100), ("test_nll", "test NLL", 1), ("ece", "ECE %", 100))
    rows = [(label[a], *(mean_std([r[m] for r in by_alpha[a].values()], scale=s, digits=3 if s == 1 else 2)
                         for m, _, s in metrics), f"{len(by_alpha[a])}") for a in alphas]
    verdicts = []
    if 0.0 in by_alpha:
        for a in alphas[1:]:
            for metric, what, scale in metrics:
                diff = paired({s: r[metric] for s, r in by_alpha[0.0].items()},
                              {s: r[metric] for s, r in by_alpha[a].items()})
                verdicts.append(Verdict(f"mixup lowers the {what.split(' %')[0]} over ERM",
                                        f"{what}, {label[a]} − ERM",
                                        diff.describe(scale=scale, digits=3 if scale == 1 else 2), "—",
                                        diff.verdict(-1), p=diff.p,
                                        scope="this paper" if metric == "test_error" else "later work"))
    config = runs[0]
    erm_train = mean_std([r["train_error"] for r in by_alpha[alphas[0]].values()], scale=100)
    return "\n\n".join([
        "## The large-data point: all 60,000 training images",
        f"`vicinal compare --preset standard --seeds {len(by_alpha[alphas[0]])}`: {config['model']} on "
        f"{config['dataset']}, all training images, {config['epochs']} epochs (the trainer's `standard` preset: "
        "one-cycle SGD, crop and flip, mixing off for the last epochs, flip and shift test-time augmentation); "
        f"[report]({link}/{REPORT}). ERM ends at {erm_train} % "
        "training error on its augmented batches, not the fitted regime of the small-data runs; it stands beside "
        "them as the large-data point.",
        markdown_table(["run", *(what for _, what, _ in metrics), "seeds"], rows),
        verdict_table(verdicts),
    ])


def claims_summary(folder: str | Path) -> str:
    """The README's summary: the count of this paper's claims reproduced, then each of its claims in a line."""
    experiments = _experiments(Path(folder))
    verdicts = [(name, v) for name, _, findings, _ in experiments for v in findings.verdicts if not v.repeats]
    lines = [f"In all: {count_claims(v for _, v in verdicts)}."]
    lines += [f"- **{v.status}** ({name}): {v.claim} — {v.measure}: {_short(v.ours)}; paper {v.paper}"
              for name, v in verdicts if v.scope == "this paper"]
    return "\n".join(lines)


def _short(ours: str) -> str:
    """Our effect without its per-seed list."""
    return re.sub(r" \(per seed: [^)]*\)", "", ours)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vicinal.experiments.results_md",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("run", help="the folder of `vicinal reproduce all`, or of experiment folders measured apart")
    parser.add_argument("--docs", default="docs", help="the docs folder holding RESULTS.md")
    parser.add_argument("--preset", default="quick", help="the run's preset (names docs/results/<preset>)")
    parser.add_argument("--large-data", default=str(LARGE_DATA), help="the full-data compare folder ('' for none)")
    args = parser.parse_args(argv)
    try:
        path = publish(args.run, docs=args.docs, preset=args.preset, large_data=args.large_data or None)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {path}\n\nThe README's summary of the paper's claims:\n\n"
          f"{claims_summary(Path(args.docs) / 'results' / args.preset)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
