"""What produced a run, recorded beside its numbers: package versions, the labkit commit, the data.

Two runs of one recipe can differ in the last digits because their libraries
differ (JPEG decoding in Pillow's libjpeg build, kernels in torch), so each run
says which ones it used.
"""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

from .data import Split

_PACKAGES = ("torch", "torchvision", "numpy", "Pillow")


def versions() -> dict[str, str]:
    """Installed versions of labkit and the libraries that decide a run's numbers."""
    found = {}
    for name in ("labkit", *_PACKAGES):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def commit() -> str | None:
    """The labkit source's git commit, with "+changes" when its files differ from it; None outside a checkout."""
    source = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        status = subprocess.run(["git", "status", "--porcelain", "--", "labkit"], cwd=source, capture_output=True,
                                text=True, timeout=10)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+changes" if status.stdout.strip() else "")


def data_record(train: Split, test: Split) -> dict[str, str]:
    """The data's layout and encoding, and a checksum of each split as used."""
    return {**train.source, "train_sha256": train.checksum(), "test_sha256": test.checksum()}
