"""CIFAR-10 class subsets read from disk into uint8 tensors: locating (downloading if need be), reading, caching.

A split is held whole in memory as one ``(N, 3, 32, 32)`` uint8 tensor: the
lab's 15,000 training images take 46 MB, so there is no reason to stream them.
Feeding a split to a model, batch by batch, is :mod:`labkit.loaders`' job.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import pickle
import shutil
import tarfile
import tempfile
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from .files import atomic_write, file_digest
from .lab import IMAGE_SIZE, LAB_CLASSES, class_list

SPLITS = ("train", "test")

ARCHIVE_FOLDER = "cifar-10-batches-py"
_ARCHIVE_FILES = {
    "train": [f"data_batch_{i}" for i in range(1, 6)],
    "test": ["test_batch"],
}
_CACHE_FORMAT = 2  # 2: 16-bit images scaled, not clipped

# The original archive, as its authors publish it, and the MD5 of every file in it
# (the values torchvision's CIFAR10 dataset checks too).
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_MEGABYTES = 170
_ARCHIVE_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}


class DataError(ValueError):
    """Input data that cannot be used as it is; the message says how to fix it."""


@dataclass(frozen=True)
class Split:
    """One split of a class subset: images as uint8 ``(N, 3, 32, 32)``, labels 0..k-1."""

    images: Tensor
    labels: Tensor
    classes: tuple[str, ...]
    name: str = "train"
    source: dict[str, str] = field(default_factory=dict, compare=False)  # where the images came from, in words

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device: torch.device | str) -> "Split":
        return Split(self.images.to(device), self.labels.to(device), self.classes, self.name, self.source)

    def checksum(self) -> str:
        """SHA-256 of the images and labels as trained on: two runs on one checksum saw the same pixels.

        JPEG decoders differ between libjpeg builds, so the same files can decode to other pixels.
        """
        digest = hashlib.sha256(self.images.cpu().contiguous().numpy().tobytes())
        digest.update(self.labels.cpu().numpy().astype("<i8").tobytes())
        return digest.hexdigest()

    def class_counts(self) -> dict[str, int]:
        counts = torch.bincount(self.labels.cpu(), minlength=len(self.classes)).tolist()
        return dict(zip(self.classes, counts))


# --------------------------------------------------------------------------- locating data


def _user_cache() -> Path:
    """``$XDG_CACHE_HOME`` if it is an absolute path (as the XDG specification asks), else ``~/.cache``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    return Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"


def default_data_root() -> Path:
    """Where CIFAR-10 is kept when no data root is given: ``labkit/data`` in the user cache folder."""
    return _user_cache() / "labkit" / "data"


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: the argument, else ``$LABKIT_DATA``, else :func:`default_data_root`.

    The default is absolute, so it is the same folder from any working directory
    (the notebooks run in notebooks/).
    """
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("LABKIT_DATA")
    return Path(env).expanduser() if env else default_data_root()


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where decoded splits are cached: argument, ``$LABKIT_CACHE``, else the user cache folder."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if os.environ.get("LABKIT_CACHE"):
        return Path(os.environ["LABKIT_CACHE"]).expanduser()
    return _user_cache() / "labkit"


def offline() -> bool:
    """True when ``$LABKIT_OFFLINE`` forbids downloads: any value but empty or 0."""
    return os.environ.get("LABKIT_OFFLINE", "").strip() not in ("", "0")


_WHERE_DATA_CAN_BE = (
    "set LABKIT_DATA (or --data on the command line, or the notebooks' data_root parameter) to a folder "
    "holding CIFAR-10, either as an image folder laid out as ROOT/train/<class>/*.jpg and "
    "ROOT/test/<class>/*.jpg (such as ../shared/data/cifar10-jpg) or as the extracted python archive "
    f"ROOT/{ARCHIVE_FOLDER}"
)


def _remedies(root: Path, download_step: str) -> str:
    """Both ways to get the data: point labkit at a copy, or let it download one into ``root``."""
    return (
        f"To fix it, {_WHERE_DATA_CAN_BE}; or {download_step} to let labkit download it "
        f"(needs internet, about {CIFAR10_MEGABYTES} MB) into {root}."
    )


def _layout(root: Path) -> str:
    if (root / ARCHIVE_FOLDER).is_dir() or (root.name == ARCHIVE_FOLDER and root.is_dir()):
        return "archive"
    if all((root / split).is_dir() for split in SPLITS):
        return "folder"
    return "none"


def _archive_dir(root: Path) -> Path:
    return root if root.name == ARCHIVE_FOLDER else root / ARCHIVE_FOLDER


def _download_refusal(root: Path, download: bool | None) -> tuple[str, str] | None:
    """Why a missing CIFAR-10 may not be downloaded, and what allows it; None when it may.

    Unasked, labkit downloads only into the default root or a folder that holds
    nothing yet: a named folder that holds other files is more likely a mistyped
    root (one level too high, say) than a place to put 340 MB.
    """
    if download is False:
        return "downloading is turned off (--no-download, or download=False)", "drop --no-download (or download=False)"
    if download is None and offline():
        return f"downloading is turned off by LABKIT_OFFLINE={os.environ['LABKIT_OFFLINE']}", "unset LABKIT_OFFLINE"
    if download is None and root != default_data_root() and root.is_dir() and any(root.iterdir()):
        return ("it holds other files, so labkit does not download into it unasked",
                "pass --download (or download=True)")
    return None


def _check_not_half_folder(root: Path) -> None:
    """A root with train/ but no test/ (or the reverse) is a mistake to report, not to download over."""
    present = [split for split in SPLITS if (root / split).is_dir()]
    if present:
        missing = next(split for split in SPLITS if split not in present)
        raise DataError(
            f"data root {root} has the wrong layout: it holds {present[0]}/ but no {missing}/ folder; an image "
            f"folder needs both, each with one folder of images per class. Add {root / missing}, or "
            f"{_WHERE_DATA_CAN_BE}."
        )


def _missing_data(root: Path, reason: str, allow_step: str) -> DataError:
    if root == default_data_root():
        where = f"data root {root} (the default when neither --data, the notebooks' data_root nor LABKIT_DATA names one)"
    else:
        where = f"data root {root} (set by --data or the notebooks' data_root, else LABKIT_DATA; the default is {default_data_root()})"
    if root.exists():
        what = f"has the wrong layout: it holds neither {ARCHIVE_FOLDER}/ nor train/ and test/"
    else:
        what = "does not exist"
    return DataError(f"{where} {what}, and {reason}. {_remedies(root, allow_step)}")


def _check_extracted(folder: Path) -> None:
    """Every archive file is there with its published MD5: nothing half-written reaches the data root."""
    for name, expected in _ARCHIVE_MD5.items():
        path = folder / name
        if not path.is_file():
            raise DataError(f"the downloaded archive lacks {ARCHIVE_FOLDER}/{name}")
        if file_digest(path, "md5") != expected:
            raise DataError(f"{ARCHIVE_FOLDER}/{name} from the downloaded archive has the wrong MD5 checksum")


def _fetch(staging: Path) -> None:
    """Download and extract the archive into ``staging``, with torchvision's MD5 check and progress bar."""
    from torchvision.datasets.utils import download_and_extract_archive

    try:
        download_and_extract_archive(
            CIFAR10_URL, staging, filename=Path(CIFAR10_URL).name, md5=CIFAR10_MD5, remove_finished=True
        )
    except RuntimeError as error:
        if type(error) is RuntimeError:  # torchvision's words for a checksum mismatch
            raise DataError(f"the downloaded archive has the wrong MD5 checksum (expected {CIFAR10_MD5})") from error
        raise DataError(str(error)) from error
    except (OSError, ValueError, EOFError, zlib.error, tarfile.TarError, http.client.HTTPException) as error:
        raise DataError(f"{type(error).__name__}: {error}") from error


def download_cifar10(root: str | os.PathLike) -> Path:
    """Download CIFAR-10 into ``root``/cifar-10-batches-py and return that folder.

    The archive is downloaded and extracted into a temporary folder beside the
    target, and moved into place only once every file's checksum is right, so an
    interrupted or damaged download never leaves a folder that looks complete.
    """
    target = _archive_dir(Path(root))
    for stale in target.parent.glob(".labkit-download-*"):  # left by a download that was killed outright
        shutil.rmtree(stale, ignore_errors=True)
    print(
        f"labkit: downloading CIFAR-10 (about {CIFAR10_MEGABYTES} MB) from {CIFAR10_URL} into {target}", flush=True
    )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".labkit-download-", dir=target.parent))
    except OSError as error:
        raise DataError(
            f"cannot create a folder in the data root {target.parent} for the download: {error}. "
            + _remedies(target.parent, "make it writable")
        ) from error
    try:
        try:
            _fetch(staging)
            _check_extracted(staging / ARCHIVE_FOLDER)
        except DataError as error:
            retry = "run again once the cause is fixed (internet access, disk space)"
            raise DataError(
                f"downloading CIFAR-10 from {CIFAR10_URL} failed: {error}. " + _remedies(target.parent, retry)
            ) from error
        try:
            (staging / ARCHIVE_FOLDER).rename(target)
        except OSError as error:
            if not target.is_dir():  # else another process has just put it there
                raise DataError(f"cannot move the downloaded archive into place as {target}: {error}") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _check_classes(classes: Sequence[str], available: Sequence[str], where: Path) -> tuple[str, ...]:
    classes = tuple(classes)
    if not classes:
        raise DataError("the class list is empty; name at least one class, for example airplane")
    unknown = [name for name in classes if name not in available]
    if unknown:
        raise DataError(
            f"unknown class name(s) {', '.join(map(repr, unknown))} in {where}; "
            f"valid names are: {', '.join(available)}"
        )
    if len(set(classes)) != len(classes):
        raise DataError(f"class list {list(classes)} names a class twice")
    return classes


# --------------------------------------------------------------------------- reading sources


def _folder_files(
    root: Path, split: str, classes: tuple[str, ...], per_class: int | None
) -> list[list[os.DirEntry]]:
    split_dir = root / split
    available = sorted(entry.name for entry in os.scandir(split_dir) if entry.is_dir())
    if not available:
        raise DataError(f"{split_dir} holds no class folders; expected {split_dir}/<class>/<image files>")
    other = root / next(name for name in SPLITS if name != split)
    only_there = [name for name in classes if name not in available and (other / name).is_dir()]
    if only_there:
        raise DataError(
            f"class folder(s) {', '.join(only_there)} are in {other} but missing from {split_dir}; "
            "every class needs its images in both splits"
        )
    classes = _check_classes(classes, available, split_dir)
    files = []
    for name in classes:
        class_dir = split_dir / name
        entries = sorted((entry for entry in os.scandir(class_dir) if entry.is_file()), key=lambda e: e.name)
        if not entries:
            raise DataError(f"class folder {class_dir} is empty; it must hold that class's images")
        files.append(_limit(entries, per_class, f"{class_dir}"))
    return files


def _limit(items: list, per_class: int | None, where: str) -> list:
    if per_class is None:
        return items
    if per_class > len(items):
        raise DataError(
            f"per-class limit {per_class} is larger than the {len(items)} images in {where}; "
            f"use a limit of at most {len(items)}, or none for all of them"
        )
    return items[:per_class]


def _decode(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            size = image.size
            if size != (IMAGE_SIZE, IMAGE_SIZE):
                raise DataError(
                    f"image {path} is {size[0]}x{size[1]} pixels; every image must be "
                    f"{IMAGE_SIZE}x{IMAGE_SIZE}. Replace or remove it."
                )
            return _to_rgb8(image, path)
    except (UnidentifiedImageError, OSError, ValueError) as error:
        if isinstance(error, DataError):
            raise
        raise DataError(f"cannot read image {path}: {error}. Replace or remove the file.") from error


def _to_rgb8(image, path: Path) -> np.ndarray:
    """Any 8- or 16-bit PIL mode as 8-bit RGB; 16-bit values are scaled, not clipped to white."""
    from PIL import Image

    if image.mode == "I":  # older Pillow opens 16-bit grey files as 32-bit integers
        values = np.asarray(image)
        if values.min() >= 0 and values.max() < 2**16:
            image = Image.fromarray(values.astype(np.uint16))
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        gray = (np.asarray(image, dtype=np.uint16) >> 8).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if image.mode in ("I", "F"):
        raise DataError(
            f"image {path} holds {'32-bit integer' if image.mode == 'I' else 'floating-point'} pixels, which have "
            "no agreed 8-bit scale; save it as an 8-bit RGB (or 16-bit grey) image"
        )
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _read_folder(files: list[list[os.DirEntry]]) -> tuple[np.ndarray, np.ndarray]:
    flat = [Path(entry.path) for entries in files for entry in entries]
    labels = np.concatenate([np.full(len(paths), index, dtype=np.int64) for index, paths in enumerate(files)])
    # Sequential on purpose: a 32x32 JPEG decodes in ~0.2 ms, and threads only
    # add GIL contention (measured slower with 2 and 8 workers).
    images = np.stack([_decode(path) for path in flat])
    return images, labels


class _ArchiveUnpickler(pickle.Unpickler):
    """Unpickles plain containers, numbers, strings and numpy arrays; refuses every other object.

    A plain ``pickle.load`` runs whatever code a crafted file names.
    """

    ALLOWED = {
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
        *((module, name) for module in ("numpy.core.multiarray", "numpy._core.multiarray")
          for name in ("_reconstruct", "scalar")),
        *((module, "_frombuffer") for module in ("numpy.core.numeric", "numpy._core.numeric")),
    }  # fmt: skip

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"it asks for {module}.{name}, which a CIFAR-10 archive never holds")
        return super().find_class(module, name)


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            loaded = _ArchiveUnpickler(handle, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError) as error:
        raise DataError(f"cannot read archive file {path}: {error}. Download the archive again.") from error
    if not isinstance(loaded, dict):
        raise DataError(f"archive file {path} holds a {type(loaded).__name__}, not a dict. Download the archive again.")
    return loaded


def _incomplete(folder: Path, missing: Path) -> DataError:
    return DataError(
        f"{missing} is missing; {folder} is not a complete CIFAR-10 archive. "
        + _remedies(folder.parent, f"delete {folder}")
    )


def _archive_classes(folder: Path) -> list[str]:
    meta = folder / "batches.meta"
    if not meta.is_file():
        raise _incomplete(folder, meta)
    names = _unpickle(meta).get("label_names")
    if not isinstance(names, list):
        raise DataError(f"{meta} holds no list of label_names. Download the archive again.")
    return [str(name) for name in names]


def _read_archive(
    folder: Path, split: str, classes: tuple[str, ...], per_class: int | None
) -> tuple[np.ndarray, np.ndarray]:
    # Only the official file names are read, each through the restricted unpickler.
    available = _archive_classes(folder)
    classes = _check_classes(classes, available, folder)
    data, targets = [], []
    for name in _ARCHIVE_FILES[split]:
        path = folder / name
        if not path.is_file():
            raise _incomplete(folder, path)
        batch = _unpickle(path)
        try:
            data.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, IMAGE_SIZE, IMAGE_SIZE))
            targets.append(np.asarray(batch["labels"], dtype=np.int64))
        except Exception as error:  # noqa: BLE001 - any failure here means a broken file
            raise DataError(f"cannot read archive file {path}: {error}. Download it again.") from error
    images_chw = np.concatenate(data)
    original = np.concatenate(targets)
    picked, labels = [], []
    for index, name in enumerate(classes):
        rows = np.flatnonzero(original == available.index(name))
        if len(rows) == 0:
            raise DataError(f"class {name!r} has no images in the {split} split of {folder}")
        rows = _limit(list(rows), per_class, f"the {split} split of {folder} for class {name!r}")
        picked.extend(rows)
        labels.extend([index] * len(rows))
    return images_chw[picked].transpose(0, 2, 3, 1), np.asarray(labels, dtype=np.int64)


# --------------------------------------------------------------------------- caching


def _fingerprint(parts: list[str], sources: Sequence[os.DirEntry | Path]) -> str:
    # Names, sizes and modification times of every source file: any edit to
    # the data makes a new cache key, without reading a single image.
    digest = hashlib.sha256("\n".join([f"format={_CACHE_FORMAT}", *parts]).encode())
    for source in sources:
        stat = source.stat()
        digest.update(f"\n{source.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


def _cache_load(path: Path, classes: int, count: int | None) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached split, or None when there is none or it disagrees with itself or with the request."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            images, labels = stored["images"], stored["labels"]
    except FileNotFoundError:
        return None
    except Exception as error:  # noqa: BLE001 - a damaged cache is rebuilt, never trusted
        warnings.warn(f"ignoring unreadable cache file {path} ({error}); decoding the images again", stacklevel=3)
        return None
    problem = None
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE, 3):
        problem = f"images of {images.dtype} {images.shape}"
    elif labels.shape != (len(images),) or labels.dtype != np.int64:
        problem = f"{labels.shape} labels of {labels.dtype} for {len(images)} images"
    elif len(labels) and not (0 <= labels.min() and labels.max() < classes):
        problem = f"labels outside 0..{classes - 1}"
    elif count is not None and len(images) != count:
        problem = f"{len(images)} images where {count} were asked for"
    if problem:
        warnings.warn(f"ignoring inconsistent cache file {path} ({problem}); decoding the images again", stacklevel=3)
        return None
    return images, labels


def _cache_save(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    try:
        atomic_write(path, lambda handle: np.savez(handle, images=images, labels=labels))
    except OSError as error:
        warnings.warn(
            f"could not write the image cache {path} ({error}); set LABKIT_CACHE to a writable folder "
            "to make the next load fast",
            stacklevel=3,
        )


# --------------------------------------------------------------------------- public reading API


def load_split(
    split: str = "train",
    classes: Sequence[str] = LAB_CLASSES,
    root: str | os.PathLike | None = None,
    per_class: int | None = None,
    download: bool | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> Split:
    """Load one CIFAR-10 split restricted to ``classes``, labelled 0..k-1 in that order.

    ``per_class`` keeps the first N images of each class (file-name order for an
    image folder, archive order for the original batches), so subsets are the
    same on every machine.

    When the data root holds no CIFAR-10, ``download`` says what happens: None
    (the default) downloads it unless ``$LABKIT_OFFLINE`` is set, True downloads
    it regardless, False raises a :class:`DataError` saying how to get it.
    """
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if per_class is not None and per_class < 1:
        raise DataError(f"per-class limit must be a positive number of images, got {per_class}")
    classes = class_list(classes)
    root = data_root(root)
    layout = _layout(root)
    if layout == "none":
        _check_not_half_folder(root)
        refusal = _download_refusal(root, download)
        if refusal:
            raise _missing_data(root, *refusal)
        download_cifar10(root)
        layout = _layout(root)

    if layout == "folder":
        files = _folder_files(root, split, classes, per_class)
        sources: list = [entry for entries in files for entry in entries]
    else:
        folder = _archive_dir(root)
        sources = [folder / "batches.meta", *(folder / name for name in _ARCHIVE_FILES[split])]
        sources = [path for path in sources if path.exists()]
    key = _fingerprint([layout, str(root.resolve()), split, ",".join(classes), str(per_class)], sources)
    cache_path = cache_root(cache_dir) / f"cifar10-{split}-{key}.npz"

    count = len(sources) if layout == "folder" else None
    stored = _cache_load(cache_path, len(classes), count) if cache else None
    if stored is not None:
        images, labels = stored
    else:
        if layout == "folder":
            images, labels = _read_folder(files)
        else:
            images, labels = _read_archive(folder, split, classes, per_class)
        if cache:
            _cache_save(cache_path, images, labels)
    tensor = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
    return Split(tensor, torch.from_numpy(np.asarray(labels, dtype=np.int64)), classes, split, _source(layout, sources))


def hold_out(split: Split, per_class: int) -> tuple[Split, Split]:
    """The last ``per_class`` images of each class as a validation split, and the rest to train on.

    The last ones, so the training images are the first of each class, as with a
    per-class limit; the same images on every machine.
    """
    keep, held = [], []
    for label in range(len(split.classes)):
        rows = torch.nonzero(split.labels == label).flatten()
        if len(rows) <= per_class:
            raise DataError(
                f"class {split.classes[label]!r} has {len(rows)} training images, too few to hold out {per_class} "
                "for validation and train on the rest; hold out fewer"
            )
        keep.append(rows[:-per_class])
        held.append(rows[-per_class:])
    keep, held = torch.cat(keep), torch.cat(held)

    def subset(rows: Tensor, name: str) -> Split:
        return Split(split.images[rows], split.labels[rows], split.classes, name, split.source)

    return subset(keep, split.name), subset(held, "validation")


def first_per_class(split: Split, per_class: int) -> Split:
    """The first ``per_class`` images of each class: the subset a per-class limit loads, without reading again."""
    rows = []
    for label in range(len(split.classes)):
        mine = torch.nonzero(split.labels == label).flatten()
        if len(mine) < per_class:
            raise DataError(
                f"class {split.classes[label]!r} has {len(mine)} {split.name} images, fewer than the {per_class} asked for; "
                "ask for fewer"
            )
        rows.append(mine[:per_class])
    keep = torch.cat(rows)
    return Split(split.images[keep], split.labels[keep], split.classes, split.name, split.source)


def _source(layout: str, sources: Sequence[os.DirEntry | Path]) -> dict[str, str]:
    if layout == "archive":
        return {"layout": "CIFAR-10 python archive", "encoding": "original (lossless)"}
    suffixes = sorted({Path(entry.name).suffix.lower() for entry in sources})
    encoding = "JPEG" if set(suffixes) <= {".jpg", ".jpeg"} else "/".join(suffix.lstrip(".") for suffix in suffixes)
    return {"layout": "image folder", "encoding": encoding}


def is_jpeg_reencoding(info: dict) -> bool:
    """Whether a run's history says it trained on JPEG files, not CIFAR-10's original pixels."""
    return info.get("data", {}).get("encoding") == "JPEG"


def load_lab_data(
    classes: Sequence[str] = LAB_CLASSES,
    root: str | os.PathLike | None = None,
    per_class: int | None = None,
    test_per_class: int | None = None,
    download: bool | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[Split, Split]:
    """The training and test splits of one class subset; ``download`` as for :func:`load_split`."""
    train = load_split("train", classes, root, per_class, download, cache_dir=cache_dir)
    test = load_split("test", classes, root, test_per_class, download, cache_dir=cache_dir)
    return train, test
