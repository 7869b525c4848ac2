"""Run folders: a user's files are never replaced, a folder is locked while a run or a comparison holds it, leftovers
of a killed write are removed, and a run that fails before writing leaves no folder."""

from __future__ import annotations

import json

import pytest
from support import tabular_config

from vicinal.train import Callback, RunInfo, compare, train
from vicinal.train.rundir import claimed, lock_name


def test_a_folder_holding_a_users_files_is_refused_and_left_as_it_was(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "report.md").write_text("notes")
    (folder / "report.md").chmod(0o644)
    with pytest.raises(ValueError, match=r"out=.*/d' is invalid: it holds files vicinal did not write \(report.md\)"):
        train(tabular_config(folder, epochs=1))
    assert [p.name for p in folder.iterdir()] == ["report.md"]
    assert (folder / "report.md").read_text() == "notes" and (folder / "report.md").stat().st_mode & 0o777 == 0o644
    with pytest.raises(ValueError, match="holds files vicinal did not write"):
        compare(tabular_config(folder, epochs=1), alphas=(0.0,))
    (tmp_path / "empty").mkdir()
    assert train(tabular_config(tmp_path / "empty", epochs=1)).run_dir == tmp_path / "empty"  # an empty folder is fine


def test_resuming_a_folder_that_holds_no_run_writes_nothing_there(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="no checkpoint.pt there"):
        train(tabular_config(tmp_path / "mine"), resume=True)
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


def test_out_that_is_a_file_or_under_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="expected a folder, found a file"):
        train(tabular_config(tmp_path / "f", epochs=1))
    with pytest.raises(ValueError, match="expected a folder vicinal can write"):
        train(tabular_config(tmp_path / "f" / "run", epochs=1))


def test_a_run_that_fails_before_writing_leaves_no_folder(tmp_path):
    with pytest.raises(ValueError, match="does not fit"):
        train(tabular_config(tmp_path / "new" / "r", model="fastcnn"))  # a conv model on tabular data
    assert not (tmp_path / "new" / "r").exists()


class _Meanwhile(Callback):
    """At the run's start, calls ``action()`` and keeps the ValueError it raises (None when it raises none)."""

    def __init__(self, action) -> None:
        self.action, self.error = action, None

    def on_start(self, run: RunInfo) -> None:
        try:
            self.action()
        except ValueError as e:
            self.error = str(e)


def test_a_folder_is_locked_while_a_run_holds_it_and_free_afterwards(tmp_path):
    config = tabular_config(tmp_path / "r", epochs=1)
    fresh = _Meanwhile(lambda: train(config))
    train(config, callbacks=[fresh])
    assert "is in use by another vicinal process" in fresh.error
    resumed = _Meanwhile(lambda: train(config, resume=True))
    train(config, resume=True, callbacks=[resumed])  # a finished run resumed: evaluated again, under the lock
    assert "is in use" in resumed.error
    assert (tmp_path / "r" / lock_name("run")).is_file()  # the lock file stays: it marks the folder as vicinal's
    train(config, resume=True)  # nobody holds it now


def test_a_compare_folder_is_locked_and_is_no_run_folder(tmp_path):
    config = tabular_config(tmp_path / "c", epochs=1)
    second = _Meanwhile(lambda: compare(config, alphas=(0.0,)))
    sub_run = _Meanwhile(lambda: train(config.replace(out=str(tmp_path / "c" / "alpha0-seed0"))))
    compare(config, alphas=(0.0,), callbacks=[second, sub_run])
    assert "is in use" in second.error and "is in use" in sub_run.error
    with pytest.raises(ValueError, match=r"c' is invalid: it is a compare folder written by vicinal; expected a new"):
        train(config)  # a run into a comparison's folder
    with pytest.raises(ValueError, match=r"alpha0-seed0' is invalid: it is a run folder written by vicinal"):
        compare(config.replace(out=str(tmp_path / "c" / "alpha0-seed0")), alphas=(0.0,))
    assert json.loads((tmp_path / "c" / "results.json").read_text())[0]["alpha"] == 0.0


def test_temporary_files_of_a_killed_write_are_removed_when_the_folder_is_claimed(tmp_path):
    train(tabular_config(tmp_path / "r", epochs=1))
    stale = [tmp_path / "r" / ".checkpoint.pt.k3j_x9a2.tmp", tmp_path / "r" / ".metrics.jsonl.0123abcd.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    (tmp_path / "r" / ".notes.tmp").write_text("a user's")  # not a name atomic_write makes
    with claimed(tmp_path / "r", resume=True):
        assert not any(path.exists() for path in stale)
    assert (tmp_path / "r" / ".notes.tmp").exists()
