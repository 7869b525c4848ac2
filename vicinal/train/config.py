"""The training configuration: one dataclass of commented defaults, its validation, and the presets."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from vicinal.core import MixMode, Pairing  # the core's own lists of mixing modes and pairings
from vicinal.core._checks import check_choice

Optimizer = Literal["sgd", "adam"]
Schedule = Literal["step", "onecycle", "cosine", "constant"]
Method = Literal["mixup", "cutmix", "manifold_mixup", "resizemix", "fmix", "regmixup", "c_mixup"]
Task = Literal["auto", "classification", "regression"]
REGRESSION_METHODS = ("mixup", "c_mixup")  # the methods that train a regression model (mixup with alpha 0: ERM)
Precision = Literal["auto", "fp32", "bf16"]
AUTO = "auto"  # the model chosen by the data's shape (vicinal.models.default_model); auto<W>: at width W


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs; the CLI options are generated from these fields and comments."""

    # data
    dataset: str = "fashion-mnist"  # data set (vicinal.data.DATASETS: fashion-mnist, digits, diabetes, csv:PATH, ...)
    task: Task = "auto"  # classification or regression (auto: the data set's; csv: classes, npz: by y's dtype)
    data_dir: str | None = None  # folder holding the data files (None: the data module's search order)
    train_subset: int | None = None  # training points kept, a seeded subset (None, or more than there are: all)
    test_subset: int | None = None  # test points kept, a seeded subset (None, or more than there are: all)
    label_noise: float = 0.0  # fraction of training labels replaced by uniform random labels, in [0, 1]
    augment_crop: int | None = None  # random-crop padding in pixels (0: no crop; None: the data set's default)
    augment_flip: bool | None = None  # random horizontal flips (None: the data set's default)
    # model
    model: str = "auto"  # registry name (auto: mlp, cnn1d or fastcnn by the data's shape; auto<W>: at width W)
    dropout: float = 0.0  # dropout probability in [0, 1)
    # optimisation
    epochs: int = 12  # number of passes over the training data (with a time_budget: the most it may run)
    min_steps: int = 0  # fewest optimizer steps: on small data the epochs are raised to reach them (0: off)
    time_budget: float | None = None  # seconds of training and evaluation; a probe fits the epochs (compare: all runs')
    batch_size: int = 128  # images per optimizer step (global, over all processes)
    optimizer: Optimizer = "sgd"  # sgd (momentum) or adam
    lr: float = 0.1  # peak learning rate
    momentum: float = 0.9  # SGD momentum (Adam: beta1)
    nesterov: bool = False  # Nesterov momentum (SGD only)
    weight_decay: float = 5e-4  # L2 weight decay coefficient
    schedule: Schedule = "onecycle"  # lr schedule: step (×lr_decay at milestones), onecycle, cosine, constant
    milestones: tuple[int, ...] = (100, 150)  # epochs at which the step schedule multiplies the lr by lr_decay
    lr_decay: float = 0.1  # factor applied to the lr at each milestone
    warmup_fraction: float = 0.25  # share of all steps spent rising to the peak lr (onecycle only), in (0, 1)
    # vicinal risk minimization
    method: Method = "mixup"  # mixup, cutmix, manifold_mixup, resizemix, fmix, regmixup; c_mixup (regression only)
    alpha: float = 1.0  # Beta(alpha, alpha) parameter of the mixing weight lambda (0: ERM; resizemix: on/off only)
    regmixup_eta: float = 1.0  # RegMixup: weight of the mixup loss beside the clean cross-entropy (alpha ~20 there)
    bandwidth: float = 1.0  # C-Mixup: σ of the label kernel, in standard deviations of the training targets
    mix: MixMode = "both"  # what is mixed: both, inputs (each row labelled as its dominant input) or labels
    pairing: Pairing = "permutation"  # how partners are chosen within a batch
    knn_k: int = 200  # neighbours considered by the knn pairing
    per_sample: bool = False  # one lambda per sample instead of one per batch
    label_smoothing: float = 0.0  # label-smoothing epsilon in [0, 1)
    input_noise: float = 0.0  # std of Gaussian noise added to the normalized inputs (0: off)
    mixup_off_epochs: int = 0  # last epochs trained without mixing
    mix_prob: float = 1.0  # probability that a batch is mixed, in [0, 1]
    # run
    seed: int = 0  # seed of every random draw (data subset, labels, model init, mixing, augmentation)
    device: str = "auto"  # auto (cuda, then mps, then cpu), or a torch device string
    threads: int = 0  # CPU threads torch uses during the run (0: torch's default, all cores)
    precision: Precision = "auto"  # auto (bf16 autocast where it is faster), fp32 or bf16
    compile: bool = False  # torch.compile the training forward (CPU: needs a C++ compiler, else trains uncompiled)
    deterministic: bool = False  # torch.use_deterministic_algorithms and seeded everything
    out: str | None = None  # run folder (None: runs/<dataset>-<model>-a<alpha>-s<seed>)
    quiet: bool = False  # no progress bar or per-epoch lines
    checkpoint_every: int = 0  # also write a checkpoint every this many steps (0: end of each epoch only)
    max_nonfinite_skips: int = 0  # steps with a non-finite loss skipped before the run stops
    eval_every: int = 1  # evaluate on the test set every this many epochs (the last epoch always)
    test_flip: bool = False  # test predictions average the logits of each image and its mirror (flip TTA)
    test_translate: int = 0  # test predictions also average over the image shifted this many pixels (0: off)
    fgsm_eps: float = 0.0  # after the last epoch, error under white-box FGSM at this ε, pixels in [0, 1] (0: off)
    tensorboard: bool = False  # also write TensorBoard event files (epoch metrics, lr, λ histogram) into the run folder

    def __post_init__(self) -> None:
        validate(self)

    def replace(self, **changes) -> "TrainConfig":
        """A copy with some fields changed (validated again)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown TrainConfig field(s) {sorted(unknown)}; expected one of {field_names()}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def auto_width(model) -> int | None:
    """For ``model`` "auto" 0 (the default width), for "auto<W>" W ≥ 1; None for any other name."""
    match = re.fullmatch(AUTO + r"([1-9]\d*)?", model) if isinstance(model, str) else None
    return None if match is None else int(match.group(1) or 0)


def field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(TrainConfig)]


def _bad(name: str, value, expected: str) -> ValueError:
    return ValueError(f"{name}={value!r} is invalid: expected {expected}")


def _check_finite(name: str, value, *, low: float, high: float | None = None,
                  low_open: bool = False, high_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(name, value, "a finite number")
    too_low = value <= low if low_open else value < low
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        if high is None:  # no upper end: a range ending in "inf]" would read as if inf were allowed
            raise _bad(name, value, f"a finite number {'>' if low_open else '≥'} {low}")
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise _bad(name, value, f"a number in {lo}{low}, {high}{hi}")


def _check_int(name: str, value, *, low: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _bad(name, value, f"an integer ≥ {low}" + (" or None" if allow_none else ""))


def _check_dataset(name) -> None:
    """Ask the data layer whether ``name`` is a data set it can load (files are checked when loading)."""
    from vicinal import data

    known = tuple(data.DATASETS)
    prefixes = ("csv:", "npz:")
    if not isinstance(name, str) or not (name in known or (name.startswith(prefixes) and len(name) > 4)):
        raise _bad("dataset", name, f"one of {list(known)} or csv:PATH[:COLUMN] or npz:PATH")


def validate(config: TrainConfig) -> None:
    """Raise ValueError naming the first invalid field of ``config`` and what was expected."""
    for check in (_validate_data_and_model, _validate_optimization, _validate_vicinity, _validate_run):
        check(config)
    for f in dataclasses.fields(config):  # the switches and the paths, which no check reads
        value = getattr(config, f.name)
        if f.type == "bool" and not isinstance(value, bool):
            raise _bad(f.name, value, "True or False")
        if f.type == "str | None" and value is not None and not isinstance(value, str):
            raise _bad(f.name, value, "a path or None")


def _validate_data_and_model(c: TrainConfig) -> None:
    from vicinal.models import is_model_name, list_models  # lazy: the models layer owns its registry

    _check_dataset(c.dataset)
    check_choice("task", c.task, get_args(Task))
    if auto_width(c.model) is None and not is_model_name(c.model):
        raise _bad("model", c.model, f"{AUTO!r}, {AUTO}<W> or one of {list_models()} (or wide_resnet<D>_<K>, "
                                     f"densenet_bc_<D>, fastcnn<W>, cnn1d<W>, mlp<W>)")
    _check_int("train_subset", c.train_subset, low=1, allow_none=True)
    _check_int("test_subset", c.test_subset, low=1, allow_none=True)
    _check_finite("label_noise", c.label_noise, low=0.0, high=1.0)
    _check_int("augment_crop", c.augment_crop, low=0, allow_none=True)
    if c.augment_flip is not None and not isinstance(c.augment_flip, bool):
        raise _bad("augment_flip", c.augment_flip, "True, False or None (the data set's default)")
    _check_int("test_translate", c.test_translate, low=0)
    _check_finite("dropout", c.dropout, low=0.0, high=1.0, high_open=True)


def _validate_optimization(c: TrainConfig) -> None:
    _check_int("epochs", c.epochs, low=1)
    _check_int("min_steps", c.min_steps, low=0)
    if c.time_budget is not None:
        _check_finite("time_budget", c.time_budget, low=0.0, low_open=True)
    _check_int("batch_size", c.batch_size, low=1)
    if c.train_subset is not None and c.batch_size > c.train_subset:
        raise _bad("batch_size", c.batch_size, f"at most train_subset={c.train_subset}")
    check_choice("optimizer", c.optimizer, get_args(Optimizer))
    _check_finite("lr", c.lr, low=0.0, low_open=True)
    _check_finite("momentum", c.momentum, low=0.0, high=1.0, high_open=True)
    _check_finite("weight_decay", c.weight_decay, low=0.0)
    check_choice("schedule", c.schedule, get_args(Schedule))
    if not isinstance(c.milestones, tuple) or any(
            isinstance(m, bool) or not isinstance(m, int) or m < 1 for m in c.milestones):
        raise _bad("milestones", c.milestones, "a tuple of positive integers (epochs)")
    if list(c.milestones) != sorted(set(c.milestones)):
        raise _bad("milestones", c.milestones, "strictly increasing epochs")
    _check_finite("lr_decay", c.lr_decay, low=0.0, high=1.0, low_open=True)
    _check_finite("warmup_fraction", c.warmup_fraction, low=0.0, high=1.0, low_open=True, high_open=True)


def _validate_vicinity(c: TrainConfig) -> None:
    check_choice("method", c.method, get_args(Method))
    _check_finite("alpha", c.alpha, low=0.0)
    _check_finite("regmixup_eta", c.regmixup_eta, low=0.0)
    _check_finite("bandwidth", c.bandwidth, low=0.0, low_open=True)
    check_choice("mix", c.mix, get_args(MixMode))
    check_choice("pairing", c.pairing, get_args(Pairing))
    _check_int("knn_k", c.knn_k, low=1)
    _check_finite("label_smoothing", c.label_smoothing, low=0.0, high=1.0, high_open=True)
    _check_finite("input_noise", c.input_noise, low=0.0)
    _check_int("mixup_off_epochs", c.mixup_off_epochs, low=0)
    if c.mixup_off_epochs > c.epochs:
        raise _bad("mixup_off_epochs", c.mixup_off_epochs, f"at most epochs={c.epochs}")
    _check_finite("mix_prob", c.mix_prob, low=0.0, high=1.0)
    if c.task != "auto":
        check_task(c, regression=c.task == "regression", where=f"task={c.task!r}")


def check_task(c: TrainConfig, *, regression: bool, where: str) -> None:
    """Refuse the options that do not apply to the run's task, naming the field: c_mixup needs regression targets;
    a regression run takes mixup (α = 0: ERM) or c_mixup on the targets as they are, nothing made for classes.
    ``where`` says what makes the run's task (e.g. "task='regression'", "the regression data set 'diabetes'")."""
    if not regression:
        if c.method == "c_mixup":
            column = "; a CSV's numeric column is read as targets with task='regression'" \
                if c.dataset.startswith("csv:") else ""
            raise _bad("method", c.method, f"a regression data set (with {where}: one of "
                                           f"{[m for m in get_args(Method) if m != 'c_mixup']}{column})")
        return
    if c.method not in REGRESSION_METHODS:
        raise _bad("method", c.method, f"{' or '.join(REGRESSION_METHODS)} with {where} (mixup with alpha 0: ERM)")
    classes_only = dict(mix=("both", "inputs and targets mixed alike"),
                        pairing=("permutation", "partners from a permutation of the batch"),
                        label_smoothing=(0.0, "no label smoothing"), label_noise=(0.0, "no label noise"),
                        fgsm_eps=(0.0, "no FGSM attack: its error counts classes"))
    for name, (value, meaning) in classes_only.items():
        if getattr(c, name) != value:
            raise _bad(name, getattr(c, name), f"{value!r} with {where} ({meaning})")


def _validate_run(c: TrainConfig) -> None:
    _check_int("seed", c.seed, low=0)
    if not isinstance(c.device, str) or not c.device:
        raise _bad("device", c.device, "auto, cpu, cuda, cuda:N or mps")
    if c.device != "auto":
        import torch

        try:
            kind = torch.device(c.device).type
        except (RuntimeError, ValueError):
            kind = None
        if kind not in ("cpu", "cuda", "mps"):  # the devices the trainer runs on (not meta, xpu, ...)
            raise _bad("device", c.device, "auto, cpu, cuda, cuda:N or mps")
    _check_int("threads", c.threads, low=0)
    check_choice("precision", c.precision, get_args(Precision))
    if c.compile is True and c.method == "manifold_mixup":
        raise _bad("compile", c.compile, "False with method='manifold_mixup' (its hooks move from layer to layer)")
    _check_int("checkpoint_every", c.checkpoint_every, low=0)
    _check_int("max_nonfinite_skips", c.max_nonfinite_skips, low=0)
    _check_int("eval_every", c.eval_every, low=1)
    _check_finite("fgsm_eps", c.fgsm_eps, low=0.0, high=1.0)


# The presets. paper = the paper's CIFAR settings (arXiv 1710.09412, section 3.2); the CPU presets are sized for a
# 2-core CPU. Augmentation is left to the data set (crop 2 + flip on Fashion-MNIST, crop 4 + flip on CIFAR, shifts
# only on MNIST, none on a user's files), and the CPU presets' models to the data's shape (auto, auto<W>).
# main = the main job (`make demo`): ERM vs mixup where ERM fits its training set, within a time budget; its
# choice (README, "The main job"): the largest subset, then the widest fastcnn, at which ERM's clean training
# error ends ≤ 1 % in 3 seeds with the epochs an AVX2-only CPU affords in its share of the budget.
# min_steps: the optimizer steps each CPU preset takes on Fashion-MNIST (quick: 6 × 234 = 1,404; main: 60 × 11 = 660;
# standard: 40 × 234 = 9,360), so a smaller data set gets as many steps (more epochs) and Fashion-MNIST's lengths
# stay as they are; smoke (a check that everything runs) and paper (the paper's recipe, by epochs) have none.
PRESETS: dict[str, dict] = {
    "smoke": dict(dataset="fashion-mnist", train_subset=1024, test_subset=512, epochs=3, batch_size=64, lr=0.05,
                  schedule="onecycle", alpha=0.4),
    "quick": dict(dataset="fashion-mnist", epochs=6, min_steps=1400, batch_size=256, lr=0.2, schedule="onecycle",
                  weight_decay=5e-4, momentum=0.9, nesterov=True, alpha=0.4, eval_every=1),
    "main": dict(dataset="fashion-mnist", model="auto16", train_subset=1500, epochs=60, min_steps=660, batch_size=128,
                 lr=0.1, schedule="onecycle", weight_decay=5e-4, momentum=0.9, nesterov=True, alpha=1.0,
                 eval_every=6, fgsm_eps=4 / 255, time_budget=240.0),
    "standard": dict(dataset="fashion-mnist", model="fastcnn48", epochs=40, min_steps=9360, batch_size=256, lr=0.2,
                     schedule="onecycle", weight_decay=5e-4, momentum=0.9, nesterov=True, alpha=0.4,
                     mixup_off_epochs=6, test_flip=True, test_translate=1, eval_every=2),
    "paper": dict(dataset="cifar10", model="preact_resnet18", epochs=200, batch_size=128, optimizer="sgd",
                  lr=0.1, momentum=0.9, weight_decay=1e-4, schedule="step", milestones=(100, 150),
                  lr_decay=0.1, alpha=1.0, precision="fp32"),
}
# A line a comparison's report opens with when a preset runs on the data set it was made for.
PRESET_NOTES: dict[str, str] = {
    "main": ("Why this regime: the paper claims that mixup lowers the generalization error of networks that can fit "
             "their training set, where ERM memorizes it, and more so with capacity and training length "
             "(arXiv 1710.09412, sections 1 and 3.2); this recipe was chosen so that ERM fits its 1,500 training "
             "images (the train–test gap below then is nearly all of its test error)."),
}


def config_from_preset(name: str, **overrides) -> TrainConfig:
    """The preset ``name`` with ``overrides`` applied on top (fields not given keep the dataclass default)."""
    if name not in PRESETS:
        raise ValueError(f"preset={name!r} is unknown: expected one of {list(PRESETS)}")
    unknown = set(overrides) - set(field_names())
    if unknown:
        raise ValueError(f"unknown TrainConfig field(s) {sorted(unknown)}; expected one of {field_names()}")
    return TrainConfig(**{**PRESETS[name], **overrides})


def config_from_dict(values: dict) -> TrainConfig:
    """A TrainConfig from stored values (lists back to tuples); unknown keys raise ValueError."""
    unknown = set(values) - set(field_names())
    if unknown:
        raise ValueError(f"stored config has unknown field(s) {sorted(unknown)}: not written by this vicinal")
    return TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


# Fields a resumed run may change: they do not alter the weights the run computes (test-time augmentation and the
# attack change only the evaluation: a finished run resumed with another one is evaluated again with it). The data
# set may be named otherwise (a moved file, another data_dir): the checkpoint's data fingerprint must match.
RESUME_MUTABLE = frozenset({"out", "quiet", "device", "dataset", "data_dir", "checkpoint_every",
                            "max_nonfinite_skips", "test_flip", "test_translate", "fgsm_eps", "tensorboard"})


# What a time budget resolves: a run asked for with one keeps the length it resolved when it started.
BUDGET_RESOLVED = frozenset({"time_budget", "epochs", "mixup_off_epochs"})


def check_resumable(config: TrainConfig, stored: dict) -> None:
    """Raise ValueError unless ``config`` differs from the ``stored`` config only in RESUME_MUTABLE fields (and,
    when ``config`` asks for a time budget, in the length it resolves: BUDGET_RESOLVED)."""
    ignored = RESUME_MUTABLE | (BUDGET_RESOLVED if config.time_budget is not None else frozenset())
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    for name in field_names():
        if name in ignored:
            continue
        # a field the stored config predates counts as its default (what the run computed before it existed)
        new, old = getattr(config, name), stored.get(name, defaults[name])
        old = tuple(old) if isinstance(old, list) else old
        if new != old:
            raise ValueError(f"resume: {name}={new!r} is incompatible with the checkpoint's {name}={old!r} "
                             f"(only {sorted(RESUME_MUTABLE)} may change)")


def require_package(module: str, *, option: str, value, extra: str):
    """Import ``module``, which ``option=value`` needs; ValueError naming the extra to install when it is missing."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise _bad(option, value, f"the {extra} package installed (pip install 'vicinal[{extra}]')") from None


def resolve_seeds(seeds: int | Sequence[int], *, start: int = 0) -> tuple[int, ...]:
    """Run seeds: a count n gives start, start + 1, ..., start + n − 1; a list is taken as it is."""
    expected = "a number of seeds ≥ 1 or a non-empty list of distinct integers ≥ 0"
    if isinstance(seeds, bool) or not isinstance(seeds, (int, Sequence)):
        raise _bad("seeds", seeds, expected)
    if isinstance(seeds, int):
        if seeds < 1:
            raise _bad("seeds", seeds, expected)
        return tuple(range(start, start + seeds))
    resolved = tuple(seeds)
    if not resolved or len(set(resolved)) != len(resolved) or any(
            isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in resolved):
        raise _bad("seeds", seeds, expected)
    return resolved
