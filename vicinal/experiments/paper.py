"""The paper's own numbers and claims, as data (arXiv 1710.09412; errors in percent)."""

from __future__ import annotations

# Table: CIFAR test error (%), α = 1, 200 epochs. model -> dataset -> (ERM, mixup).
CIFAR_TEST_ERROR: dict[str, dict[str, tuple[float, float]]] = {
    "preact_resnet18": {"cifar10": (5.6, 4.2), "cifar100": (25.6, 21.1)},
    "wide_resnet28_10": {"cifar10": (3.8, 2.7), "cifar100": (19.4, 17.5)},
    "densenet_bc_190": {"cifar10": (3.7, 2.7), "cifar100": (19.0, 16.8)},
}

# Official README (facebookresearch/mixup-cifar10), PreAct ResNet-18 on CIFAR-10, median of the last 10
# of 200 epochs: (method, weight decay) -> test error %. The paper's ablation table shares these rows.
CIFAR10_PREACT_README: dict[tuple[str, float], float] = {
    ("erm", 1e-4): 5.53, ("erm", 5e-4): 5.18, ("mixup", 1e-4): 4.24, ("mixup", 5e-4): 4.68,
}

# ImageNet-2012 top-1 error (%), α 0.1–0.4: model (epochs) -> (ERM, mixup).
IMAGENET_TOP1: dict[str, tuple[float, float]] = {
    "ResNet-50 (90)": (23.5, 23.3),
    "ResNet-101 (90)": (22.1, 21.5),
    "ResNeXt-101 32x4d (100)": (21.2, 20.7),
    "ResNeXt-101 64x4d (100)": (20.4, 19.8),
    "ResNet-50 (200)": (23.6, 22.1),
}

# Corrupted labels, CIFAR-10, PreAct ResNet-18, 200 epochs: noise -> method -> (best, last) test error %.
# Second-hand transcription (see PAPER.md).
MEMORIZATION: dict[float, dict[str, tuple[float, float]]] = {
    0.2: {"erm": (12.7, 16.6), "erm_dropout": (8.8, 10.4), "mixup": (5.9, 6.4), "mixup_dropout": (6.2, 6.2)},
    0.5: {"erm": (18.8, 44.6), "erm_dropout": (14.1, 15.5), "mixup": (11.3, 12.7), "mixup_dropout": (10.9, 10.9)},
    0.8: {"erm": (36.5, 73.9), "erm_dropout": (30.9, 35.1), "mixup": (25.3, 30.9), "mixup_dropout": (24.0, 24.8)},
}
# The best settings the paper found per noise level: dropout p for ERM + dropout, α for mixup.
MEMORIZATION_BEST: dict[float, dict[str, float]] = {
    0.2: {"dropout": 0.7, "alpha": 8.0},
    0.5: {"dropout": 0.8, "alpha": 32.0},
    0.8: {"dropout": 0.8, "alpha": 32.0},
}

# Adversarial examples, ImageNet ResNet-101: the paper's summary factors, ratios of top-1 accuracies (mixup / ERM),
# and the top-1 errors % (ERM, mixup) they come from (second-hand transcription, see PAPER.md).
ADVERSARIAL_ROBUSTNESS_RATIO: dict[str, float] = {"white-box FGSM": 2.7, "black-box I-FGSM": 1.4}
ADVERSARIAL_TOP1_ERROR: dict[str, tuple[float, float]] = {"white-box FGSM": (90.7, 75.2),
                                                          "black-box I-FGSM": (57.3, 40.9)}

# Speech (Google commands), VGG-11 test error % (second-hand): (ERM, mixup).
SPEECH_VGG11: tuple[float, float] = (4.6, 3.4)

# The paper's claims in a line each, as the reports quote them.
CLAIMS: dict[str, str] = {
    "gan": "mixup stabilizes GAN training on 2-D toy data where the vanilla GAN collapses or oscillates",
    "ablation": "mixup AC + RP (mix inputs and labels, any class, random pairs) is the best row, clearly ahead of "
                "the second best (mix input + label smoothing)",
}
