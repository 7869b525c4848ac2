"""vicinal.lightning.Mixup in a real lightning.Trainer on the CPU: training batches mixed, validation left alone,
mixing off for the last epochs, the generator saved in checkpoints and restored on resume (arXiv 1710.09412)."""

import warnings

import lightning
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import vicinal
from vicinal.lightning import Mixup

N, FEATURES, CLASSES, BATCH = 16, 4, 3, 4
X = torch.randn(N, FEATURES, generator=torch.Generator().manual_seed(0))
Y = torch.arange(N) % CLASSES


class Recorder(lightning.LightningModule):
    """A linear classifier that keeps every batch its steps are given."""

    def __init__(self, dict_batches=False):
        super().__init__()
        self.net = nn.Linear(FEATURES, CLASSES)
        self.dict_batches = dict_batches
        self.train_batches, self.val_batches = [], []

    def training_step(self, batch, batch_idx):
        x, y = (batch["x"], batch["y"]) if self.dict_batches else batch
        self.train_batches.append((self.current_epoch, x.clone(), y.clone()))
        return F.cross_entropy(self.net(x), y)  # takes soft targets as well as class indices

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.val_batches.append((x.clone(), y.clone()))
        return F.cross_entropy(self.net(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def loader(collate_fn=None):
    return DataLoader(TensorDataset(X, Y), batch_size=BATCH, collate_fn=collate_fn)


def fit(tmp_path, callback, *, epochs, model=None, ckpt_path=None, val=False, train_loader=None):
    model = model or Recorder()
    trainer = lightning.Trainer(
        accelerator="cpu", devices=1, max_epochs=epochs, callbacks=[callback], logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        num_sanity_val_steps=0, default_root_dir=tmp_path,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lightning's advice on workers and logging, not under test
        trainer.fit(model, train_loader or loader(), loader() if val else None, ckpt_path=ckpt_path)
    return trainer, model


def epoch_batches(model, epoch):
    return [(x, y) for e, x, y in model.train_batches if e == epoch]


def test_training_batches_are_mixed_as_vicinal_mixup_mixes_them(tmp_path):
    # The flip pairing pairs no row of a batch of 4 with itself: every mixed batch differs from its original.
    _, model = fit(tmp_path, Mixup(alpha=1.0, num_classes=CLASSES, seed=0, pairing="flip"), epochs=2)
    reference = vicinal.Mixup(alpha=1.0, num_classes=CLASSES, seed=0, pairing="flip")
    originals = [(X[i:i + BATCH], Y[i:i + BATCH]) for i in range(0, N, BATCH)] * 2
    assert len(model.train_batches) == len(originals)
    for (_, x, y), (x0, y0) in zip(model.train_batches, originals):
        expected = reference(x0, y0)
        assert torch.equal(x, expected.inputs) and torch.equal(y, expected.targets)
        assert y.shape == (BATCH, CLASSES) and not torch.equal(x, x0)


def test_validation_batches_are_left_alone(tmp_path):
    _, model = fit(tmp_path, Mixup(alpha=1.0, num_classes=CLASSES, seed=0), epochs=1, val=True)
    assert len(model.val_batches) == N // BATCH
    for i, (x, y) in enumerate(model.val_batches):
        assert torch.equal(x, X[i * BATCH:(i + 1) * BATCH]) and torch.equal(y, Y[i * BATCH:(i + 1) * BATCH])


def test_mixing_is_off_from_off_epoch_on_with_soft_targets_still(tmp_path):
    _, model = fit(tmp_path, Mixup(alpha=1.0, num_classes=CLASSES, off_epoch=1, seed=0, pairing="flip"), epochs=3)
    assert all(not torch.equal(x, X[i * BATCH:(i + 1) * BATCH]) for i, (x, _) in enumerate(epoch_batches(model, 0)))
    for epoch in (1, 2):
        for i, (x, y) in enumerate(epoch_batches(model, epoch)):
            assert torch.equal(x, X[i * BATCH:(i + 1) * BATCH])
            assert torch.equal(y, torch.eye(CLASSES)[Y[i * BATCH:(i + 1) * BATCH]])


def test_a_resumed_run_draws_as_an_uninterrupted_one(tmp_path):
    _, straight = fit(tmp_path / "straight", Mixup(alpha=1.0, num_classes=CLASSES, seed=5), epochs=3)
    trainer, _ = fit(tmp_path / "first", Mixup(alpha=1.0, num_classes=CLASSES, seed=5), epochs=1)
    path = tmp_path / "epoch1.ckpt"
    trainer.save_checkpoint(path)
    saved = torch.load(path, weights_only=True)["callbacks"]["Mixup"]
    assert saved["generator"].dtype == torch.uint8
    # A new callback with the same seed would repeat epoch 0's draws; the restored generator goes on.
    _, resumed = fit(tmp_path / "resumed", Mixup(alpha=1.0, num_classes=CLASSES, seed=5), epochs=3,
                     ckpt_path=path)
    assert [e for e, _, _ in resumed.train_batches] == [1] * 4 + [2] * 4
    for epoch in (1, 2):
        for (x, y), (x_ref, y_ref) in zip(epoch_batches(resumed, epoch), epoch_batches(straight, epoch)):
            assert torch.equal(x, x_ref) and torch.equal(y, y_ref)


def test_dict_batches_use_their_keys(tmp_path):
    def as_dict(samples):
        x, y = torch.utils.data.default_collate(samples)
        return {"x": x, "y": y}

    callback = Mixup(alpha=1.0, num_classes=CLASSES, input_key="x", target_key="y", seed=0)
    _, model = fit(tmp_path, callback, epochs=1, model=Recorder(dict_batches=True), train_loader=loader(as_dict))
    assert all(y.shape == (BATCH, CLASSES) for _, _, y in model.train_batches)
    assert callback.batch is not None and callback.batch.lam.item() < 1


def test_tuple_batches_cannot_be_mixed_in_place(tmp_path):
    with pytest.raises(ValueError, match="tuple"):
        fit(tmp_path, Mixup(alpha=1.0, num_classes=CLASSES, seed=0), epochs=1,
            train_loader=loader(lambda samples: tuple(torch.utils.data.default_collate(samples))))


@pytest.mark.parametrize("kwargs, match", [(dict(off_epoch=-1), "off_epoch"), (dict(prob=2.0), "prob")])
def test_bad_options_raise_value_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Mixup(alpha=1.0, **kwargs)


class _Trainer:
    current_epoch = 0


@pytest.mark.parametrize("batch, keys, match", [
    ([X[:4]], {}, r"target_key=1 is invalid for a training batch that is a list of 1"),
    ({"x": X[:4], "label": Y[:4]}, dict(input_key="x", target_key="y"), r"target_key='y' is invalid .* keys"),
    ([X[:4], Y[:4]], dict(input_key="x", target_key="y"), r"input_key='x' is invalid .* a list of 2"),
])
def test_a_batch_without_the_keys_is_one_value_error(batch, keys, match):
    with pytest.raises(ValueError, match=match):
        Mixup(alpha=1.0, num_classes=CLASSES, seed=0, **keys).on_train_batch_start(_Trainer(), None, batch, 0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(input_key=1.5), "input_key=1.5"), (dict(target_key=0), "target_key=0 .* other than input_key"),
    (dict(num_classes=10**9), "num_classes=1000000000"),
])
def test_bad_keys_and_class_counts_are_refused_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Mixup(alpha=1.0, **kwargs)
