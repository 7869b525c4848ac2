"""The command line: `vicinal train | compare | reproduce`, its options generated from TrainConfig's fields."""

from __future__ import annotations

import argparse
import dataclasses
import errno
import io
import shlex
import sys
import tokenize
import typing
from collections.abc import Sequence
from pathlib import Path

from vicinal.train.backends import BACKENDS
from vicinal.train.config import PRESET_NOTES, PRESETS, TrainConfig

DEFAULT_PRESET = "quick"
EXIT_WRITE = 74  # a file could not be written, e.g. a full disk (sysexits.h's EX_IOERR)
FULL_DISK = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}  # an OSError with one of these exits with EXIT_WRITE too


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `vicinal: error: ...` on stderr, exit code 2."""

    def error(self, message: str) -> typing.NoReturn:
        _fail(message)


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help text wrapped without breaking names like fashion-mnist at their hyphen."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        import textwrap

        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if isinstance(action, _OptionalBool):  # the value goes with the positive flag only
            return f"{action.option_strings[0]} [{action.metavar}], {action.option_strings[1]}"
        return super()._format_action_invocation(action)


def _fail(message: str, code: int = 2) -> typing.NoReturn:
    print(f"vicinal: error: {' '.join(str(message).split())}", file=sys.stderr)
    raise SystemExit(code)


def field_comments(cls: type = TrainConfig) -> dict[str, str]:
    """The trailing comment of each ``name: type = default  # comment`` line of a dataclass's source."""
    import inspect

    comments, pending = {}, None
    for tok in tokenize.generate_tokens(io.StringIO(inspect.getsource(cls)).readline):
        if tok.type == tokenize.NAME and pending is None and tok.start[1] == 4:
            pending = tok.string
        elif tok.type == tokenize.COMMENT and pending is not None:
            comments[pending] = tok.string.lstrip("# ").strip()
        if tok.type in (tokenize.NEWLINE, tokenize.NL):
            pending = None
    return comments


def _optional(kind: type):
    """An argparse type for a ``kind | None`` field: "none" is None, anything else ``kind(text)``."""
    def parse(text: str):
        return None if text.lower() == "none" else kind(text)

    parse.__name__ = f"{kind.__name__} or none"  # what argparse names in its error message
    return parse


class _OptionalBool(argparse.Action):
    """A ``bool | None`` field: --flag (True), --no-flag (False), --flag true|false|none (none: the default
    chosen by the data set)."""

    VALUES = {"true": True, "false": False, "none": None}
    ABSENT = object()  # the flag given without a value

    def __init__(self, option_strings: list[str], dest: str, **kwargs) -> None:
        negated = ["--no-" + s[2:] for s in option_strings]
        super().__init__([*option_strings, *negated], dest, nargs="?", const=self.ABSENT, metavar="true|false|none",
                         **kwargs)

    def __call__(self, parser, namespace, value, option_string=None) -> None:
        negated = option_string.startswith("--no-")
        if negated and value is not self.ABSENT:
            parser.error(f"argument {option_string}: takes no value, got {value!r}")
        if value is self.ABSENT:
            value = "false" if negated else "true"
        if value.lower() not in self.VALUES:
            parser.error(f"argument {option_string}: expected true, false or none, got {value!r}")
        setattr(namespace, self.dest, self.VALUES[value.lower()])


def _preset_note(name: str) -> str:
    values = [f"{p} {PRESETS[p][name]!r}" for p in PRESETS if name in PRESETS[p]]
    return f"; presets: {', '.join(values)}" if values else ""


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """One option per TrainConfig field (--field-name), its help the field's comment and default.

    Defaults are not filled in (argparse.SUPPRESS), so only the options given override the preset.
    """
    hints = typing.get_type_hints(TrainConfig)
    comments = field_comments()
    group = parser.add_argument_group("training options (TrainConfig fields)")
    for f in dataclasses.fields(TrainConfig):
        hint = hints[f.name]
        text = f"{comments.get(f.name, f.name)} (default: {f.default!r}{_preset_note(f.name)})".replace("%", "%%")
        kwargs: dict = dict(dest=f.name, default=argparse.SUPPRESS, help=text)
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if hint is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif set(args) == {bool, type(None)}:
            kwargs["action"] = _OptionalBool
        elif origin is typing.Literal:
            kwargs["choices"] = list(args)
        elif origin is tuple:
            kwargs.update(type=int, nargs="*", metavar="EPOCH")
        elif hint in (int, float, str):
            kwargs["type"] = hint
        elif len(args) == 2 and type(None) in args and set(args) & {int, float, str}:
            kwargs["type"] = _optional(next(a for a in args if a is not type(None)))
        else:  # a field type this generator does not know: fail loudly when the field is added
            raise TypeError(f"TrainConfig.{f.name}: no CLI mapping for type {hint!r}")
        group.add_argument("--" + f.name.replace("_", "-"), **kwargs)


def _overrides(args: argparse.Namespace) -> dict:
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    values = {k: v for k, v in vars(args).items() if k in names}
    if "milestones" in values:
        values["milestones"] = tuple(values["milestones"])
    return values


def _add_backend_options(parser: argparse.ArgumentParser, *, threads_option: bool) -> None:
    """--backend and --address; ``threads_option``: the command takes --threads (what a Ray task asks for)."""
    cpus = "--threads CPUs" if threads_option else "as many CPUs as torch uses in this process"
    parser.add_argument("--backend", choices=BACKENDS, default="local",
                        help="where the runs go: local (one after another in this process) or ray (each run a Ray "
                             f"task with {cpus}, and a GPU where there is one; needs vicinal[ray])")
    parser.add_argument("--address", default=None, metavar="HOST:PORT",
                        help="with --backend ray: join the Ray cluster started there with `ray start --head` "
                             "(default: a cluster started on this machine, else one for this command)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vicinal", description="mixup and vicinal risk minimization (arXiv 1710.09412): "
                     "train, compare ERM with mixup, reproduce the paper's experiments.",
                     epilog=f"exit codes: 0 done; 1 the loss turned non-finite or another error of the system; 2 bad "
                            f"input (one line says which); {EXIT_WRITE} a file could not be written (disk full: one "
                            f"line names it, the last checkpoint is kept); 130 / 143 stopped by SIGINT / SIGTERM "
                            f"(a checkpoint saved).")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of errors")
    commands = parser.add_subparsers(dest="command", metavar="{train,compare,reproduce}", parser_class=_Parser)
    common = dict(formatter_class=_Formatter)
    train_p = commands.add_parser("train", help="train one model", **common)
    compare_p = commands.add_parser("compare", help="ERM vs mixup (or a list of α, or of methods) over seeds, one "
                                                    "report",
                                    description="Train every arm (an α, or a method at its α) on the same budget, "
                                                "seed by seed, and write one "
                                                "report. Run again with the same --out, it continues an interrupted "
                                                "comparison: finished runs are kept, a stopped one resumes.",
                                    **common)
    for sub in (train_p, compare_p):
        sub.add_argument("--preset", choices=list(PRESETS), default=DEFAULT_PRESET,
                         help="starting values: smoke (seconds), quick (a few minutes on any data), main (the main "
                              "job, make demo: ERM vs mixup where ERM fits its training set, in a 4-minute budget), "
                              "standard (≤ 30 min a run), paper (the paper's CIFAR settings, for a GPU)")
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help="show the full traceback of errors")
        add_config_options(sub)
    train_p.add_argument("--resume", metavar="DIR", default=None,
                         help="continue the run in DIR from its latest checkpoint (options given must agree)")
    compare_p.add_argument("--alphas", type=float, nargs="+", default=None, metavar="ALPHA",
                           help="the α values of --method to compare (default: 0 and the preset's α)")
    compare_p.add_argument("--methods", nargs="+", default=None, metavar="METHOD[:ALPHA]",
                           help="the methods to compare instead, each at its own α: erm, or a --method name at --alpha "
                                "or at the α given after a colon (e.g. erm mixup:1 resizemix fmix:1 regmixup:20)")
    compare_p.add_argument("--seeds", type=int, default=1, metavar="N", help="seeds per arm (seed, seed+1, ...)")
    _add_backend_options(compare_p, threads_option=True)
    repro = commands.add_parser("reproduce", help="reproduce one of the paper's experiments (or all)", **common)
    repro.add_argument("experiment", help="experiment name (e.g. generalization, memorization, ... or all)")
    repro.add_argument("--preset", default=DEFAULT_PRESET, help="smoke, quick or paper")
    repro.add_argument("--out", default=None, help="output folder")
    repro.add_argument("--runs", default=None, metavar="DIR",
                       help="folder of the training runs (default: OUT/runs); experiments given one folder share "
                            "the runs they have in common")
    repro.add_argument("--device", default=None, help="auto, cpu, cuda or mps")
    repro.add_argument("--data-dir", default=None, help="folder holding the data files")
    repro.add_argument("--seeds", type=int, default=None, metavar="N",
                       help="seeds 0..N-1 per setting (default: the preset's)")
    repro.add_argument("--datasets", nargs="+", default=None, metavar="NAME",
                       help="data sets of the tabular experiment, e.g. iris csv:abalone.csv:rings "
                            "(default: the preset's)")
    _add_backend_options(repro, threads_option=False)
    repro.add_argument("--tensorboard", action="store_true",
                       help="the training runs also write TensorBoard event files (tensorboard --logdir OUT/runs)")
    repro.add_argument("--quiet", action="store_true", help="no progress lines")
    repro.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the full traceback of errors")
    return parser


def _run(args: argparse.Namespace) -> str:
    """Run the chosen command; return the line to print last (a report path)."""
    from vicinal.train import compare, config_from_preset, resume_config, train
    from vicinal.train.rundir import REPORT_NAME

    if args.command == "reproduce":
        from vicinal.experiments import run_experiment  # lazy: the experiments layer may not be installed

        options = {"datasets": tuple(args.datasets)} if args.datasets else None
        return str(run_experiment(args.experiment, preset=args.preset, out=args.out, device=args.device,
                                  data_dir=args.data_dir, seeds=args.seeds, quiet=args.quiet, options=options,
                                  backend=args.backend, address=args.address, tensorboard=args.tensorboard,
                                  runs=args.runs))
    overrides = _overrides(args)
    if args.command == "train":
        if args.resume is not None:
            config = resume_config(args.resume, **overrides)
            result = train(config, resume=True)
        else:
            result = train(config_from_preset(args.preset, **overrides))
        return str(result.run_dir / REPORT_NAME)
    config = config_from_preset(args.preset, **overrides)
    note = PRESET_NOTES.get(args.preset) if config.dataset == PRESETS[args.preset]["dataset"] else None
    return str(compare(config, alphas=args.alphas, methods=args.methods, seeds=args.seeds, backend=args.backend,
                       address=args.address, note=note, command=shlex.join(["vicinal", *args.argv])).report)


def _after_write_error(args: argparse.Namespace, error: OSError) -> str:
    """How to go on after a failed write: resume the run, or run the comparison or experiment again."""
    from vicinal.train.checkpoint import has_checkpoint

    if args.command != "train":
        return f"; once there is room, run the same {args.command} command again: it resumes"
    folder = Path(error.filename).parent if error.filename else None
    if folder is not None and has_checkpoint(folder):
        return f"; once there is room, continue with --resume {folder}"
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``vicinal`` and ``python -m vicinal``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    from vicinal.train import NonFiniteLossError, TrainingInterrupted, WriteError
    from vicinal.train.distributed import process_rank

    debug = getattr(args, "debug", False)
    try:
        line = _run(args)
    except TrainingInterrupted as e:
        print(f"vicinal: {e}", file=sys.stderr)
        return e.exit_code
    except (ValueError, NonFiniteLossError) as e:
        if debug:
            raise
        _fail(str(e), 2 if isinstance(e, ValueError) else 1)
    except WriteError as e:  # a full disk: the file keeps its earlier content, the last checkpoint is intact
        if debug:
            raise
        _fail(f"{e}{_after_write_error(args, e)}", EXIT_WRITE)
    except OSError as e:  # e.g. an --out folder that cannot be written; a full disk outside vicinal's own writes
        if debug:
            raise
        _fail(str(e), EXIT_WRITE if e.errno in FULL_DISK else 1)
    except KeyboardInterrupt:
        if debug:
            raise
        print("vicinal: interrupted", file=sys.stderr)
        return 130
    if process_rank() == 0:  # under torchrun the report path is printed once
        print(line)
    return 0
