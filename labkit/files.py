"""Safe writes: atomic files (no reader sees half a file), strict JSON, one run per folder."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import secrets
from pathlib import Path
from typing import IO, Any, Callable, Iterator


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write`` on a temporary file beside ``path``, fsync it, then rename it over ``path``.

    The temporary file is created with the usual permissions (0666 less the
    umask) and removed again if ``write`` fails, leaving any old ``path`` as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))



def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def json_text(data: Any) -> str:
    """Strict JSON, as every JSON reader accepts it: a NaN or infinity is written as null."""
    return json.dumps(_finite(data), indent=2, allow_nan=False) + "\n"


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Delete what :func:`atomic_write` left beside ``path`` when a process was killed mid-write."""
    path = Path(path)
    stale = sorted(path.parent.glob(f".{path.name}.*.tmp")) if path.parent.is_dir() else []
    for leftover in stale:
        leftover.unlink(missing_ok=True)
    return stale


class FolderInUse(ValueError):
    """Another process holds the folder's lock; the message names it and what to do."""


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, name: str = ".lock") -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` for the ``with`` block, or refuse at once.

    The lock is an ``flock`` on a file in the folder, so the kernel drops it when
    its process dies: a killed run never blocks the folder. The folder is made if
    missing, and removed again on the way out if it was made here and is still empty.
    """
    import fcntl

    folder = Path(folder)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / name
    while True:
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(descriptor)
            raise FolderInUse(
                f"{folder} is in use by another labkit run (process {holder}); wait for it to finish, "
                "or choose another output folder"
            ) from None
        # A process that unlinked the lock file after we opened it leaves us holding a lock
        # on a file nobody else will see: start again on the current one.
        if lock.exists() and os.stat(lock).st_ino == os.fstat(descriptor).st_ino:
            break
        os.close(descriptor)
    try:
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, str(os.getpid()).encode(), 0)
        yield folder
    finally:
        lock.unlink(missing_ok=True)
        os.close(descriptor)
        if created and not any(folder.iterdir()):
            with contextlib.suppress(OSError):  # another run may have just begun in it
                folder.rmdir()


def check_writable(path: str | os.PathLike, what: str) -> None:
    """Fail now, naming ``what``, if ``path`` could not be created later (a file in the way, no permission)."""
    path = Path(path).absolute()
    ancestor = path
    while not ancestor.exists():
        ancestor = ancestor.parent
    if ancestor != path and not ancestor.is_dir():
        raise ValueError(f"{what} {path} cannot be made: {ancestor} is a file, not a folder; choose another path")
    folder = ancestor if ancestor.is_dir() else ancestor.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {path} cannot be written: no permission to write into {folder}; choose another path")


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB blocks (data files can be large)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
