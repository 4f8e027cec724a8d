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


def _git(source: Path, *arguments: str) -> str | None:
    try:
        done = subprocess.run(["git", *arguments], cwd=source, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def commit() -> str | None:
    """The labkit source's git commit, with "+changes" when its files differ from it.

    None unless this package's own folder is tracked in a checkout (an installed
    copy inside some other repository must not report that repository's commit).
    """
    source = Path(__file__).resolve().parents[1]
    top = _git(source, "rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != source or _git(source, "ls-files", "--error-unmatch", "labkit/__init__.py") is None:
        return None
    head = _git(source, "rev-parse", "HEAD")
    changes = _git(source, "status", "--porcelain", "--", "labkit")
    return None if head is None else head + ("+changes" if changes else "")


def data_record(train: Split, test: Split) -> dict[str, str]:
    """The data's layout and encoding, and a checksum of each split as used."""
    return {**train.source, "train_sha256": train.checksum(), "test_sha256": test.checksum()}
