"""Check a data folder against a SHA-256 list (``sha256sum`` format: "HASH  relative/path")."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .data import DataError
from .files import file_digest


@dataclass
class Verification:
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.changed)


def default_list(root: Path) -> Path:
    """``ROOT.sha256`` beside the folder, as the shared data ships it."""
    root = Path(os.path.abspath(root))  # so that "." has a name to put .sha256 after (links kept)
    return root.with_name(root.name + ".sha256")


def read_list(path: Path) -> dict[str, str]:
    expected: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise DataError(f"cannot read the checksum list {path}: {error}") from error
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        digest, _, name = line.partition("  ")
        name = name.lstrip("*")
        while name.startswith("./"):  # as `sha256sum` writes paths given as ./...
            name = name[2:]
        if len(digest) != 64 or not name:
            raise DataError(f"{path}, line {number}: expected 'SHA256  relative/path', got {line[:80]!r}")
        expected[name] = digest.lower()
    return expected


def verify(root: str | os.PathLike, checksums: str | os.PathLike | None = None) -> Verification:
    """Compare every file under ``root`` with the list: missing, extra and changed files."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data root {root} is not a folder; pass the image folder with --data")
    listing = Path(checksums) if checksums else default_list(root)
    expected = read_list(listing)
    present = {
        Path(folder, name).relative_to(root).as_posix()
        for folder, _, names in os.walk(root)
        for name in names
    }
    result = Verification()
    result.missing = sorted(set(expected) - present)
    result.extra = sorted(present - set(expected))
    for name in sorted(set(expected) & present):
        result.checked += 1
        if file_digest(root / name) != expected[name]:
            result.changed.append(name)
    return result
