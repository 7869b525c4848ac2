"""TrainConfig validation, presets, schedules and optimizers."""

from __future__ import annotations

import math

import pytest
import torch

from vicinal.train import PRESETS, RunLength, TrainConfig, build_optimizer, build_scheduler, config_from_preset
from vicinal.train.config import resolve_seeds


def test_every_preset_is_a_valid_config():
    for name in PRESETS:
        assert isinstance(config_from_preset(name), TrainConfig)


def test_paper_preset_holds_the_papers_cifar_settings():
    c = config_from_preset("paper")
    assert (c.model, c.optimizer, c.momentum, c.lr, c.schedule) == ("preact_resnet18", "sgd", 0.9, 0.1, "step")
    assert (c.milestones, c.lr_decay, c.epochs, c.weight_decay, c.batch_size) == ((100, 150), 0.1, 200, 1e-4, 128)
    assert c.alpha == 1.0
    # augmentation is left to CIFAR's default, the paper's 4-pixel crops and flips
    from vicinal.data import Augment
    from vicinal.data.cifar import SOURCES

    assert (c.augment_crop, c.augment_flip) == (None, None) and SOURCES["cifar10"].augment == Augment(4, True)


def test_overrides_apply_on_top_of_the_preset():
    c = config_from_preset("smoke", alpha=0.2, epochs=5)
    assert (c.alpha, c.epochs, c.train_subset) == (0.2, 5, PRESETS["smoke"]["train_subset"])


@pytest.mark.parametrize("field, value", [
    ("alpha", -0.1), ("alpha", math.nan), ("alpha", math.inf), ("epochs", 0), ("epochs", -3), ("epochs", 2.5),
    ("model", "resnet9000"), ("dataset", "imagenet-22k"), ("lr", 0.0), ("lr", math.nan), ("momentum", 1.0),
    ("weight_decay", -1e-4), ("schedule", "linear"), ("optimizer", "lamb"), ("method", "mixmatch"),
    ("mix", "outputs"), ("pairing", "nearest"), ("label_smoothing", 1.0), ("dropout", 1.0), ("mix_prob", 1.5),
    ("label_noise", -0.2), ("train_subset", 0), ("batch_size", 0), ("milestones", (150, 100)),
    ("milestones", (0,)), ("lr_decay", 0.0), ("precision", "fp8"), ("device", "gpu-9"), ("seed", -1),
    ("augment_crop", -2), ("augment_flip", 1), ("augment_flip", "none"), ("time_budget", 0.0), ("fgsm_eps", 2.0),
    ("model", "auto0"), ("input_noise", -1.0), ("checkpoint_every", -1), ("knn_k", 0),
    ("mixup_off_epochs", 99), ("warmup_fraction", 1.0), ("eval_every", 0),
])
def test_bad_field_raises_value_error_naming_it(field, value):
    with pytest.raises(ValueError, match=rf"^{field}="):
        TrainConfig(**{field: value})


@pytest.mark.parametrize("field, value", [("time_budget", 0.0), ("time_budget", -1.0), ("time_budget", math.inf),
                                          ("lr", 0.0), ("weight_decay", -1.0), ("input_noise", math.inf)])
def test_a_range_without_an_upper_end_is_said_as_a_finite_number(field, value):
    with pytest.raises(ValueError) as error:
        TrainConfig(**{field: value})
    assert "inf]" not in str(error.value) and "expected a finite number" in str(error.value)


def test_batch_larger_than_the_subset_is_refused():
    with pytest.raises(ValueError, match=r"batch_size=512 .*train_subset=256"):
        TrainConfig(train_subset=256, batch_size=512)


def test_unknown_preset_and_field_are_refused():
    with pytest.raises(ValueError, match="preset='fastest'"):
        config_from_preset("fastest")
    with pytest.raises(ValueError, match="alfa"):
        config_from_preset("smoke", alfa=1.0)
    with pytest.raises(ValueError, match="alfa"):
        TrainConfig().replace(alfa=1.0)


def _lrs(config: TrainConfig, steps_per_epoch: int) -> list[float]:
    opt = build_optimizer([torch.nn.Parameter(torch.zeros(1))], config)
    sched = build_scheduler(opt, config, RunLength.of(config, steps_per_epoch=steps_per_epoch))
    lrs = []
    for _ in range(config.epochs * steps_per_epoch):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def test_seeds_are_a_count_from_a_start_or_a_list():
    assert resolve_seeds(3, start=5) == (5, 6, 7) and resolve_seeds([4, 0]) == (4, 0)
    for bad in (0, True, [], [1, 1], [-1], "12", 2.0):
        with pytest.raises(ValueError, match=r"^seeds=.* is invalid: expected"):
            resolve_seeds(bad)


def test_run_length_is_the_one_source_of_epochs_and_steps():
    length = RunLength.of(TrainConfig(epochs=5, mixup_off_epochs=2, eval_every=2), steps_per_epoch=7)
    assert length.total_steps == 35
    assert [length.mixes_in(e) for e in range(5)] == [True, True, True, False, False]
    assert [length.evaluates_after(e) for e in range(1, 6)] == [False, True, False, True, True]
    with pytest.raises(ValueError, match="steps_per_epoch=0 is invalid"):
        RunLength.of(TrainConfig(), steps_per_epoch=0)


def test_step_schedule_divides_by_ten_at_the_milestone_epochs():
    c = config_from_preset("paper", epochs=20, milestones=(10, 15))
    lrs = _lrs(c, steps_per_epoch=3)
    assert lrs[0] == pytest.approx(0.1) and lrs[10 * 3 - 1] == pytest.approx(0.1)
    assert lrs[10 * 3] == pytest.approx(0.01) and lrs[15 * 3 - 1] == pytest.approx(0.01)
    assert lrs[15 * 3] == pytest.approx(0.001) and lrs[-1] == pytest.approx(0.001)


def test_onecycle_rises_to_the_peak_then_anneals_towards_zero():
    c = TrainConfig(schedule="onecycle", lr=0.4, epochs=4, warmup_fraction=0.25)
    lrs = _lrs(c, steps_per_epoch=25)
    peak = max(range(len(lrs)), key=lrs.__getitem__)
    assert lrs[peak] == pytest.approx(0.4, rel=1e-3)
    assert abs(peak - 25) <= 1
    assert all(a <= b + 1e-12 for a, b in zip(lrs[:peak], lrs[1:peak + 1]))
    assert all(a >= b - 1e-12 for a, b in zip(lrs[peak:], lrs[peak + 1:]))
    assert lrs[-1] < 1e-3 * 0.4


def test_cosine_and_constant_schedules():
    cos = _lrs(TrainConfig(schedule="cosine", lr=0.2, epochs=2), steps_per_epoch=50)
    assert cos[0] == pytest.approx(0.2) and cos[50] == pytest.approx(0.1, rel=0.05) and cos[-1] < 1e-3
    const = _lrs(TrainConfig(schedule="constant", lr=0.2, epochs=2), steps_per_epoch=5)
    assert const == pytest.approx([0.2] * 10)


def test_optimizers_follow_the_config():
    p = [torch.nn.Parameter(torch.zeros(1))]
    sgd = build_optimizer(p, TrainConfig(optimizer="sgd", momentum=0.9, nesterov=True, weight_decay=1e-4))
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["nesterov"] and sgd.defaults["weight_decay"] == 1e-4
    adam = build_optimizer(p, TrainConfig(optimizer="adam", lr=1e-3, momentum=0.8))
    assert isinstance(adam, torch.optim.Adam) and adam.defaults["betas"] == (0.8, 0.999)
