"""Checkpoints: atomic writes, weights-only loading, refused pickles, checksums, the previous checkpoint kept, file
modes, SIGKILL during save, safetensors export."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from support import SUBPROCESS_ENV, crash_at, tabular_config

from vicinal._io import atomic_write
from vicinal.train import export_safetensors, load_checkpoint, resume_config, save_checkpoint, train
from vicinal.train.checkpoint import FORMAT, previous_path
from vicinal.train.digest import content_digest


class Evil:
    """Not a tensor: unpickling it needs arbitrary code."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_round_trip_is_weights_only_loadable(tmp_path):
    path = tmp_path / "checkpoint.pt"
    state = {"model": {"w": torch.arange(6.0).view(2, 3)}, "step": 7, "history": [{"epoch": 1, "x": None}],
             "milestones": (1, 2), "rng": torch.Generator().manual_seed(3).get_state()}
    save_checkpoint(state, path)
    raw = torch.load(path, weights_only=True)  # readable without vicinal's loader too
    assert torch.equal(raw["model"]["w"], state["model"]["w"])
    loaded = load_checkpoint(path)
    assert loaded["step"] == 7 and loaded["milestones"] == (1, 2) and torch.equal(loaded["rng"], state["rng"])
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temporary file left behind


def test_a_file_needing_more_than_weights_is_refused(tmp_path):
    path = tmp_path / "checkpoint.pt"
    torch.save({"format": FORMAT, "model": {}, "payload": Evil()}, path)
    with pytest.raises(ValueError, match="refused.*GLOBAL"):
        load_checkpoint(path)


@pytest.mark.parametrize("content, match", [
    (b"not a torch file at all", "not a readable torch file"),
    (None, "not a vicinal checkpoint"),
])
def test_foreign_files_are_refused(tmp_path, content, match):
    path = tmp_path / "checkpoint.pt"
    if content is None:
        torch.save({"model": {"w": torch.zeros(1)}}, path)  # a torch file, but not ours
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        load_checkpoint(path)
    with pytest.raises(ValueError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write(path, lambda f: f.write(b"old"))

    def crash(f):
        f.write(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        atomic_write(path, crash)
    assert path.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_sigkill_while_saving_leaves_a_loadable_checkpoint(tmp_path):
    path = tmp_path / "checkpoint.pt"
    script = textwrap.dedent(f"""
        import sys, torch
        from vicinal.train import save_checkpoint
        big = torch.zeros(4_000_000)  # 16 MB per save: the kill lands mid-write most of the time
        i = 0
        while True:
            save_checkpoint({{"step": i, "model": {{"w": big + i}}}}, {str(path)!r})
            i += 1
            if i == 2:
                print("saving", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(__file__)))
    try:
        assert proc.stdout.readline().strip() == "saving"
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    state = load_checkpoint(path)
    assert state["step"] >= 1
    assert torch.equal(state["model"]["w"][:3], torch.full((3,), float(state["step"])))


def test_safetensors_export_round_trip(tmp_path):
    from safetensors.torch import load_file

    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    path = export_safetensors(model, tmp_path / "model.safetensors")
    loaded = load_file(path)
    for k, v in model.state_dict().items():
        assert torch.equal(loaded[k], v)


def _real_checkpoint_bytes(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("ck") / "checkpoint.pt"
    save_checkpoint({"model": {"w": torch.arange(64.0)}, "step": 3, "history": [{"epoch": 1}]}, path)
    return path.read_bytes()


def test_fuzzed_checkpoints_load_or_raise_value_error(tmp_path_factory):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    original = _real_checkpoint_bytes(tmp_path_factory)
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "original.pt").write_bytes(original)

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(cut=st.integers(0, len(original)), flips=st.lists(st.tuples(st.integers(0, len(original) - 1),
                                                                        st.integers(1, 255)), max_size=4),
           junk=st.binary(max_size=64))
    def check(cut, flips, junk):
        data = bytearray(original[:cut] + junk)
        for pos, xor in flips:
            if pos < len(data):
                data[pos] ^= xor
        path = folder / "checkpoint.pt"
        path.write_bytes(bytes(data))
        try:
            state = load_checkpoint(path)
        except ValueError:
            return
        # what loads is what was saved: the checksum lets nothing else through
        assert content_digest(state) == original_digest

    original_digest = content_digest(load_checkpoint(folder / "original.pt"))
    check()


def _flip_a_bit_of(path, pattern: bytes) -> None:
    """Flip the lowest bit of the first occurrence of ``pattern`` in the file (a weight's bytes: no zip or pickle
    structure is touched)."""
    data = bytearray(path.read_bytes())
    at = data.index(pattern)
    data[at] ^= 1
    path.write_bytes(bytes(data))


def test_a_bit_flip_in_a_weight_is_refused_and_the_previous_checkpoint_is_kept(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint({"model": {"w": torch.full((64,), 1.5)}, "step": 1}, path)
    save_checkpoint({"model": {"w": torch.full((64,), 2.5)}, "step": 2}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.prev.pt", "checkpoint.pt"]
    assert previous_path(path) == tmp_path / "checkpoint.prev.pt"
    raw = torch.load(path, weights_only=True)
    assert len(raw["sha256"]) == 64 and "sha256" not in load_checkpoint(path)
    _flip_a_bit_of(path, torch.full((4,), 2.5).numpy().tobytes())
    torch.load(path, weights_only=True)  # torch itself reads the damaged file without a word
    with pytest.raises(ValueError, match="is damaged: its contents do not match the SHA-256"):
        load_checkpoint(path)
    assert load_checkpoint(previous_path(path))["step"] == 1


def test_a_checkpoint_without_a_checksum_is_refused(tmp_path):
    path = tmp_path / "checkpoint.pt"
    torch.save({"format": "vicinal-checkpoint-1", "model": {"w": torch.zeros(2)}}, path)  # an older vicinal's
    with pytest.raises(ValueError, match="older vicinal's, without a checksum"):
        load_checkpoint(path)
    torch.save({"format": FORMAT, "model": {"w": torch.zeros(2)}}, path)  # crafted: no checksum at all
    with pytest.raises(ValueError, match="damaged"):
        load_checkpoint(path)


def test_written_files_get_the_umask_mode_or_keep_the_mode_they_had(tmp_path):
    previous = os.umask(0o022)
    try:
        new = atomic_write(tmp_path / "new.json", lambda f: f.write(b"{}"))
        assert new.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
        kept = tmp_path / "kept.json"
        kept.write_bytes(b"old")
        kept.chmod(0o640)
        atomic_write(kept, lambda f: f.write(b"new"))
        assert kept.read_bytes() == b"new" and kept.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(previous)


def _entries(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_save_after_one_cut_short_leaves_two_files_and_no_temporary_one(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint({"step": 1}, path)
    save_checkpoint({"step": 2}, path)
    previous_path(path).unlink()
    os.link(path, previous_path(path))  # what a save stopped after keeping the previous checkpoint leaves
    save_checkpoint({"step": 3}, path)
    assert _entries(tmp_path) == ["checkpoint.prev.pt", "checkpoint.pt"]
    assert not os.path.samefile(path, previous_path(path))
    assert load_checkpoint(path)["step"] == 3 and load_checkpoint(previous_path(path))["step"] == 2


def test_a_resume_after_a_save_cut_short_leaves_no_stale_copy(tmp_path):
    run = tmp_path / "r"
    with pytest.raises(RuntimeError, match="machine lost"):  # digits: 22 steps an epoch, so a crash in epoch 2
        train(tabular_config(run, epochs=3, checkpoint_every=10), callbacks=[crash_at(30)])
    path = run / "checkpoint.pt"
    previous_path(path).unlink()
    os.link(path, previous_path(path))
    train(resume_config(run), resume=True)
    entries = _entries(run)
    assert "checkpoint.prev.pt" in entries and not [n for n in entries if n.endswith(".tmp")], entries
    assert os.stat(path).st_nlink == os.stat(previous_path(path)).st_nlink == 1  # two files, no third name


# A full disk without one: a file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored) makes every write past it fail
# with EFBIG, as ENOSPC would. Files of a 2-epoch digits run: config.json 1.5 kB, metrics.jsonl and results.json
# under 1 kB, model.safetensors 105 kB, checkpoint.pt 243 kB.
FULL_DISK = textwrap.dedent("""
    import resource, signal, sys
    sys.path.insert(0, {tests!r})
    from support import tabular_config
    from vicinal.cli import main
    from vicinal.train import Callback, WriteError, resume_config, train

    def fill_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    class FillDiskAfter(Callback):
        def __init__(self, epoch):
            self.epoch = epoch

        def on_epoch(self, row):
            if row["epoch"] == self.epoch:
                fill_disk()
""")


def _full_disk(tmp_path, body: str) -> subprocess.CompletedProcess:
    tests = os.path.dirname(os.path.abspath(__file__))
    script = FULL_DISK.format(tests=tests) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **SUBPROCESS_ENV})


@pytest.mark.parametrize("full_after, file", [(1, "checkpoint.pt"), (2, "model.safetensors")])
def test_a_full_disk_names_the_file_and_keeps_the_last_checkpoint(tmp_path, full_after, file):
    done = _full_disk(tmp_path, f"""
        try:
            train(tabular_config("r", epochs=2), callbacks=[FillDiskAfter({full_after})])
        except WriteError as e:
            print(e.filename, e.errno, e, sep="\\n")
    """)
    assert done.returncode == 0, done.stderr
    filename, errno, message = done.stdout.strip().splitlines()
    assert filename == f"r/{file}" and int(errno) == 27  # EFBIG; the path as the run was given it
    assert message.startswith(f"could not write {filename!r}: File too large; {file}")
    assert not [n for n in _entries(tmp_path / "r") if n.endswith(".tmp")]
    assert load_checkpoint(tmp_path / "r" / "checkpoint.pt")["epoch"] == full_after  # the last good one
    result = train(resume_config(tmp_path / "r"), resume=True)  # with room again, the run goes on
    assert len(result.history) == 2 and (tmp_path / "r" / "model.safetensors").is_file()


def test_a_full_disk_on_the_command_line_is_one_line_and_exit_code_74(tmp_path):
    done = _full_disk(tmp_path, """
        fill_disk()  # config.json fits, the first checkpoint does not
        sys.exit(main(["train", "--dataset", "digits", "--model", "mlp", "--epochs", "1", "--threads", "1",
                       "--quiet", "--out", "r"]))
    """)
    assert done.returncode == 74, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("vicinal: error: could not write 'r/checkpoint.pt': File too large; checkpoint.pt "
                                  "was not written")
    assert _entries(tmp_path / "r") == [".vicinal-run.lock", "config.json"]
