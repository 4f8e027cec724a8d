"""Faults and bad input: a killed run resumes, a failed run destroys nothing, errors say what to fix."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
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
from labkit.data import Split
from labkit.lab import Recipe

RUN = ["--model", "vgg11", "--batch-size", "6", "--test-per-class", "2", "--no-progress", "--device", "cpu"]


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


def _finished_run(image_folder, out):
    assert cli.main(["train", "--data", str(image_folder), "--out", str(out), *RUN, "--epochs", "1"]) == 0


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
    ("option", "value"), [("--epochs", "0"), ("--epochs", "-1"), ("--lr", "0"), ("--lr", "-0.1"), ("--batch-size", "0")]
)
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
