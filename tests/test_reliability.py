"""Faults and bad input: a killed run resumes, a failed run destroys nothing, errors say what to fix."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

from labkit import cli, models, train
from labkit.checkpoint import save_checkpoint
from labkit.data import DataError, Split, load_split
from labkit.lab import Recipe

# The full profile with small overrides, in fp32: resumed and uninterrupted runs compare digit for digit on any CPU.
RUN = ["--model", "vgg11", "--profile", "full", "--batch-size", "6", "--test-per-class", "2", "--no-progress",
       "--device", "cpu", "--no-bf16"]  # fmt: skip


def cli_command(image_folder: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "labkit", "train", "--data", str(image_folder), "--out", str(out), *RUN, *extra]


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    if not folder.exists():
        return {}
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


# --------------------------------------------------------------------------- faults


def test_run_killed_after_a_checkpoint_resumes_to_the_same_history(image_folder, tmp_path):
    environment = {**os.environ, "LABKIT_CACHE": str(tmp_path / "cache")}
    reference_out, killed_out = tmp_path / "uninterrupted", tmp_path / "killed"
    subprocess.run(cli_command(image_folder, reference_out, "--epochs", "4"), check=True, env=environment,
                   capture_output=True)  # fmt: skip

    process = subprocess.Popen(cli_command(image_folder, killed_out, "--epochs", "4"), env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    checkpoint = killed_out / "checkpoint.pt"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert checkpoint.exists(), "the run never wrote its first checkpoint"
    assert not (killed_out / "history.json").exists(), "the run finished before it could be killed"
    done = torch.load(checkpoint, weights_only=True)["epoch"]

    resumed = subprocess.run(cli_command(image_folder, killed_out, "--epochs", "4", "--resume"), env=environment,
                             capture_output=True, text=True, check=True)  # fmt: skip
    assert f"resumed from {checkpoint} after epoch {done}" in resumed.stdout
    rerun = [line for line in resumed.stdout.splitlines() if line.startswith("epoch ")]
    assert [int(line.split()[1].split("/")[0]) for line in rerun] == list(range(done + 1, 5))

    expected = json.loads((reference_out / "history.json").read_text())
    actual = json.loads((killed_out / "history.json").read_text())
    for metric in ("epochs", "train_loss", "train_acc", "test_loss", "test_acc"):
        assert actual[metric] == expected[metric], metric


def test_kill_during_a_checkpoint_write_keeps_the_previous_one(tmp_path):
    """Kill a process over and over while it rewrites its checkpoint; the file always loads."""
    path = tmp_path / "checkpoint.pt"
    save_checkpoint({"epoch": 0, "weights": torch.zeros(1)}, path)
    writer = (
        "import sys, torch\nfrom labkit.checkpoint import save_checkpoint\n"
        "for epoch in range(1, 10**6):\n"
        "    save_checkpoint({'epoch': epoch, 'weights': torch.full((500_000,), float(epoch))}, sys.argv[1])\n"
    )
    for attempt in range(5):
        process = subprocess.Popen([sys.executable, "-c", writer, str(path)])
        time.sleep(1.5 + 0.13 * attempt)
        process.send_signal(signal.SIGKILL)
        process.wait()
        state = torch.load(path, weights_only=True)
        assert state["weights"].numel() in (1, 500_000)
        assert float(state["weights"][0]) == state["epoch"]


def _resident_mb() -> float:
    # Hand freed heap pages back first, so the figure is live memory rather than
    # whatever the allocator kept from earlier tests in this process.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads the resident set from /proc (Linux)")
def test_memory_does_not_grow_across_epochs():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (24, 3, 32, 32), dtype=torch.uint8, generator=generator)
    split = Split(images, torch.arange(24) % 3, ("a", "b", "c"), "train")
    resident = []
    train.fit(models.vgg16(), split, split, Recipe(epochs=5, batch_size=8), device="cpu", progress=False, log=None,
              on_epoch_end=lambda epoch, history: resident.append(_resident_mb()))  # fmt: skip
    first = resident[0]
    assert all(value <= first * 1.03 + 8 for value in resident), [round(value) for value in resident]


# --------------------------------------------------------------------------- bad input through the CLI


def _finished_run(image_folder, out, *extra):
    assert cli.main(["train", "--data", str(image_folder), "--out", str(out), *RUN, "--epochs", "1", *extra]) == 0


def _corrupt(folder):
    path = folder / "train" / "bird" / "0001.png"
    path.write_bytes(path.read_bytes()[:30])


def _non_image(folder):
    (folder / "train" / "airplane" / "readme.txt").write_text("hello")


def _wrong_size(folder):
    Image.new("RGB", (31, 32)).save(folder / "test" / "automobile" / "0000.png")


def _empty_class(folder):
    for path in (folder / "train" / "automobile").iterdir():
        path.unlink()


def _truncate_checkpoint(out):
    checkpoint = out / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    (out / "history.json").unlink()


CASES = {
    "missing data root": (lambda folder, out: None, ["--data", "/nonexistent/cifar"], "does not exist"),
    "wrong layout": (lambda folder, out: (folder / "test").rename(folder / "testing"), [], "wrong layout"),
    "empty class folder": (lambda folder, out: _empty_class(folder), [], "automobile is empty"),
    "corrupt image": (lambda folder, out: _corrupt(folder), [], "cannot read image"),
    "non-image file": (lambda folder, out: _non_image(folder), [], "readme.txt"),
    "wrong image size": (lambda folder, out: _wrong_size(folder), [], "is 31x32 pixels"),
    "unknown class": (lambda folder, out: None, ["--classes", "airplane,zebra"], "valid names are"),
    "unknown model": (lambda folder, out: None, ["--model", "alexnet"], "unknown model 'alexnet'"),
    "one class": (lambda folder, out: None, ["--classes", "bird"], "at least two classes"),
    "resume other settings": (
        lambda folder, out: (_finished_run(folder, out, "--epochs", "2"), (out / "history.json").unlink()),
        ["--lr", "0.5", "--resume"], "lr 0.01, not 0.5",
    ),
    "resume a finished run": (lambda folder, out: _finished_run(folder, out, "--epochs", "2"), ["--resume"],
                              "holds a finished run (history.json): there is nothing to resume"),
    "extend a weights-only run": (
        lambda folder, out: _finished_run(folder, out, "--epochs", "2"),
        ["--resume", "--allow-change", "epochs", "--epochs", "3"], "keeps a finished run's weights only",
    ),
    "per-class limit too large": (lambda folder, out: None, ["--per-class", "7"], "per-class limit 7 is larger"),
    "cuda without a GPU": (lambda folder, out: None, ["--device", "cuda"], "no usable CUDA GPU"),
    "resume another model": (
        lambda folder, out: (_finished_run(folder, out), (out / "history.json").unlink()),
        ["--model", "vgg13", "--resume"], "model 'vgg11', not 'vgg13'",
    ),
    "resume another class list": (
        lambda folder, out: (_finished_run(folder, out), (out / "history.json").unlink()),
        ["--classes", "airplane,cat,bird", "--resume"], "belongs to a run with classes",
    ),
    "truncated checkpoint": (
        lambda folder, out: (_finished_run(folder, out), _truncate_checkpoint(out)),
        ["--resume"], "damaged or truncated",
    ),
    "out holds a finished run": (lambda folder, out: _finished_run(folder, out), [], "already holds a finished run"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gives_one_clear_error_and_changes_nothing(case, image_folder, tmp_path, capsys):
    if case == "cuda without a GPU" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    prepare, extra, message = CASES[case]
    out = tmp_path / "run"
    prepare(image_folder, out)
    capsys.readouterr()
    before = snapshot(out)
    arguments = ["train", "--data", str(image_folder), "--out", str(out), *RUN, "--epochs", "2", *extra]
    assert cli.main(arguments) == 2
    error = capsys.readouterr().err.strip()
    assert message in error, error
    assert error.startswith("labkit: error: ") and len(error.splitlines()) == 1 and "Traceback" not in error
    assert snapshot(out) == before


@pytest.mark.parametrize(
    ("option", "value"),
    [("--epochs", "0"), ("--epochs", "-1"), ("--lr", "0"), ("--lr", "-0.1"), ("--batch-size", "0"), ("--lr", "inf"),
     ("--lr", "nan"), ("--momentum", "nan"), ("--weight-decay", "nan"), ("--weight-decay", "inf")],
)  # fmt: skip
def test_non_positive_numbers_are_refused_before_anything_runs(option, value, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--out", str(tmp_path / "run"), option, value])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert option in error and "Traceback" not in error
    assert not (tmp_path / "run").exists()


def test_debug_flag_shows_the_traceback(tmp_path):
    with pytest.raises(ValueError, match="unknown model"):
        cli.main(["--debug", "train", "--out", str(tmp_path / "run"), "--model", "alexnet"])


# --------------------------------------------------------------------------- runs are never lost or mixed

HOLD_LOCK = (
    "import sys, time\nfrom labkit.files import folder_lock\n"
    "with folder_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(60)\n"
)


def test_a_second_run_into_a_busy_folder_is_refused_and_a_killed_holder_blocks_nothing(image_folder, tmp_path, capsys):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        arguments = ["train", "--data", str(image_folder), "--out", str(out), *RUN, "--epochs", "1"]
        assert cli.main(arguments) == 2
        error = capsys.readouterr().err
        assert f"in use by another labkit run (process {holder.pid})" in error and len(error.splitlines()) == 1
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert cli.main(arguments) == 0  # the kernel dropped the dead process's lock
    assert not (out / ".lock").exists()


def test_a_killed_checkpoint_writes_temporary_file_is_removed_by_the_next_run(image_folder, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    leftover = out / ".checkpoint.pt.0123abcd.tmp"
    leftover.write_bytes(b"half a checkpoint")
    assert cli.main(["train", "--data", str(image_folder), "--out", str(out), *RUN, "--epochs", "1"]) == 0
    assert not leftover.exists() and (out / "checkpoint.pt").is_file()


def test_history_json_is_strict_json_even_for_a_diverged_value(tmp_path):
    from labkit.history import History

    history = History(info={"note": float("inf")})
    history.append(1, train_loss=float("nan"), train_acc=0.5, test_loss=1.0, test_acc=0.5, seconds=1.0)
    history.save(tmp_path / "history.json")

    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    saved = json.loads((tmp_path / "history.json").read_text(), parse_constant=refuse)
    assert saved["train_loss"] == [None] and saved["info"]["note"] is None


# --------------------------------------------------------------------------- safety


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_reading_a_crafted_archive_never_runs_its_code(archive_root, tmp_path):

    marker = tmp_path / "code-ran"
    with open(archive_root / "cifar-10-batches-py" / "batches.meta", "wb") as handle:
        pickle.dump({"label_names": ["airplane", "automobile"], "x": _Payload(marker)}, handle)
    with pytest.raises(DataError, match=r"batches.meta: it asks for (posix|os)\.system"):
        load_split("train", ["airplane", "automobile"], root=archive_root, cache=False)
    assert not marker.exists()


def test_a_damaged_archive_file_is_one_clear_error(archive_root, tmp_path, capsys):
    batch = archive_root / "cifar-10-batches-py" / "data_batch_1"
    batch.write_bytes(batch.read_bytes()[:100])
    arguments = ["train", "--data", str(archive_root), "--out", str(tmp_path / "run"), *RUN, "--epochs", "1",
                 "--classes", "airplane,automobile"]  # fmt: skip
    assert cli.main(arguments) == 2
    error = capsys.readouterr().err.strip()
    assert "cannot read archive file" in error and "data_batch_1" in error and len(error.splitlines()) == 1


# --------------------------------------------------------------------------- errors found early and said clearly


@pytest.mark.parametrize(
    ("make_out", "message"),
    [
        (lambda tmp, data: (tmp / "a-file").write_text("x") and tmp / "a-file" / "run", "is a file, not a folder"),
        (lambda tmp, data: data / "train" / "runs", "inside the data root"),
    ],
)
def test_out_problems_are_found_before_the_data_is_read(image_folder, tmp_path, capsys, monkeypatch, make_out, message):
    import labkit.pipeline

    monkeypatch.setattr(labkit.pipeline, "load_data", lambda *args: pytest.fail("the data was read"))
    out = make_out(tmp_path, image_folder)
    assert cli.main(["train", "--data", str(image_folder), "--out", str(out), *RUN, "--epochs", "1"]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("seed", ["-1", str(2**32), str(2**64)])
def test_seeds_the_run_cannot_use_are_refused(image_folder, tmp_path, capsys, seed):
    assert cli.main(["train", "--data", str(image_folder), "--out", str(tmp_path / "run"), *RUN, "--seed", seed]) == 2
    assert "seed must be a whole number from 0 to 4294967295" in capsys.readouterr().err


def test_bench_checks_it_can_write_its_output_before_measuring(tmp_path, capsys):
    (tmp_path / "a-file").write_text("x")
    assert cli.main(["bench", "--model", "vgg11", "--json", str(tmp_path / "a-file" / "bench.json")]) == 2
    error = capsys.readouterr().err
    assert "--json" in error and "is a file, not a folder" in error


def test_a_class_folder_missing_from_one_split_says_so(image_folder, tmp_path, capsys):
    import shutil

    shutil.rmtree(image_folder / "test" / "bird")
    assert cli.main(["train", "--data", str(image_folder), "--out", str(tmp_path / "run"), *RUN, "--epochs", "1"]) == 2
    error = capsys.readouterr().err
    assert "bird are in" in error and "missing from" in error and "both splits" in error


def test_sixteen_bit_images_are_scaled_and_float_images_refused(image_folder):
    import numpy as np

    Image.fromarray(np.full((32, 32), 40000, dtype=np.uint16)).save(image_folder / "test" / "cat" / "0000.png")
    split = load_split("test", ["cat", "bird"], root=image_folder, cache=False)
    assert int(split.images[0].min()) == int(split.images[0].max()) == 40000 >> 8
    Image.fromarray(np.zeros((32, 32), dtype=np.float32)).save(image_folder / "test" / "cat" / "0001.tiff")
    with pytest.raises(DataError, match="0001.tiff holds floating-point pixels"):
        load_split("test", ["cat", "bird"], root=image_folder, cache=False)


def test_a_cache_that_disagrees_with_the_request_is_rebuilt(image_folder, tmp_path):
    import numpy as np

    cache = tmp_path / "cache"
    first = load_split("train", ["cat", "bird"], root=image_folder, cache_dir=cache)
    (path,) = cache.glob("*.npz")
    np.savez(path, images=np.zeros((3, 32, 32, 3), np.uint8), labels=np.zeros(3, np.int64))  # 3 of 12 images
    with pytest.warns(UserWarning, match="inconsistent cache file"):
        again = load_split("train", ["cat", "bird"], root=image_folder, cache_dir=cache)
    assert torch.equal(again.images, first.images)


# --------------------------------------------------------------------------- a full disk


def test_a_full_disk_is_one_line_and_keeps_the_previous_checkpoint(image_folder, tmp_path, capsys, monkeypatch):
    import errno

    import labkit.train

    original, calls = labkit.train.save_checkpoint, []

    def full_on_the_second_write(state, path):
        calls.append(state["epoch"])
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        original(state, path)

    monkeypatch.setattr(labkit.train, "save_checkpoint", full_on_the_second_write)
    out = tmp_path / "run"
    assert cli.main(["train", "--data", str(image_folder), "--out", str(out), *RUN, "--epochs", "3"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "could not write the checkpoint of epoch 2" in error
    assert "the checkpoint of epoch 1 is kept" in error and "MB" in error
    assert torch.load(out / "checkpoint.pt", weights_only=True)["epoch"] == 1
    monkeypatch.setattr(labkit.train, "save_checkpoint", original)
    assert cli.main(["train", "--data", str(image_folder), "--out", str(out), *RUN, "--epochs", "3", "--resume"]) == 0


def test_too_little_free_space_is_refused_before_the_first_epoch(image_folder, tmp_path, capsys, monkeypatch):
    import collections

    import labkit.train

    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(labkit.train.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 2**20, 2**20))
    monkeypatch.setattr(labkit.train, "train_one_epoch", lambda *args: pytest.fail("an epoch started"))
    out = tmp_path / "run"
    assert cli.main(["train", "--data", str(image_folder), "--out", str(out), *RUN, "--epochs", "1"]) == 2
    assert "1 MB free, but the run's checkpoints need about" in capsys.readouterr().err


def test_a_finished_checkpoint_whose_artefacts_were_lost_is_completed_by_resume(image_folder, tmp_path, capsys):
    out = tmp_path / "run"
    _finished_run(image_folder, out, "--epochs", "2")
    expected = json.loads((out / "history.json").read_text())
    for name in ("history.json", "curves.png"):  # as if the process died while writing the figures
        (out / name).unlink()
    arguments = ["train", "--data", str(image_folder), "--out", str(out), *RUN, "--epochs", "2", "--resume"]
    assert cli.main(arguments) == 0
    restored = json.loads((out / "history.json").read_text())
    assert restored["test_acc"] == expected["test_acc"] and (out / "curves.png").is_file()


def test_a_finished_run_kept_with_its_optimizer_state_can_be_trained_longer(image_folder, tmp_path):
    out = tmp_path / "run"
    _finished_run(image_folder, out, "--epochs", "2", "--keep-optimizer-state")
    arguments = ["train", "--data", str(image_folder), "--out", str(out), *RUN, "--epochs", "3", "--resume"]
    assert cli.main(arguments) == 2  # without --allow-change epochs
    assert cli.main([*arguments, "--allow-change", "epochs"]) == 0
    history = json.loads((out / "history.json").read_text())
    assert history["epochs"] == [1, 2, 3] and history["info"]["changes"] == [{"from_epoch": 3, "epochs": [2, 3]}]


def test_a_replacement_killed_by_a_signal_is_put_back_by_the_next_run(image_folder, tmp_path, capsys):
    out = tmp_path / "run"
    _finished_run(image_folder, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    aside = out / ".replaced-killed"  # what a SIGKILLed --overwrite leaves: the old run aside, a new checkpoint
    aside.mkdir()
    for name in before:
        (out / name).rename(aside / name)
    (out / "checkpoint.pt").write_bytes(b"the new run's partial checkpoint")
    arguments = ["train", "--data", str(image_folder), "--out", str(out), *RUN, "--epochs", "1"]
    assert cli.main(arguments) == 2
    assert "already holds a finished run" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
