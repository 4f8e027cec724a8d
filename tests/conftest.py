"""Shared fixtures: tiny datasets written by the tests themselves, in both layouts."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CLASSES = ("airplane", "automobile", "bird", "cat")
PER_CLASS = {"train": 6, "test": 3}


def fake_pixels(split: str, class_index: int, image_index: int) -> np.ndarray:
    """Deterministic, distinguishable 32x32 RGB content for one image."""
    rng = np.random.default_rng([0 if split == "train" else 1, class_index, image_index])
    return rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    # Never write caches next to the data (it is read-only in CI) or into $HOME.
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def image_folder(tmp_path) -> Path:
    """ROOT/{train,test}/<class>/NNNN.png, lossless, so pixels are exact."""
    root = tmp_path / "folder"
    for split, count in PER_CLASS.items():
        for class_index, name in enumerate(CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True)
            for image_index in range(count):
                Image.fromarray(fake_pixels(split, class_index, image_index)).save(folder / f"{image_index:04d}.png")
    return root


@pytest.fixture
def archive_root(tmp_path) -> Path:
    """ROOT/cifar-10-batches-py with the same pixels as ``image_folder``, interleaved by class."""
    root = tmp_path / "archive"
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump({"label_names": list(CLASSES)}, handle)
    batches = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
    for split, names in batches.items():
        rows, labels = [], []
        for image_index in range(PER_CLASS[split]):
            for class_index in range(len(CLASSES)):
                rows.append(fake_pixels(split, class_index, image_index).transpose(2, 0, 1).reshape(-1))
                labels.append(class_index)
        chunks = np.array_split(np.arange(len(rows)), len(names))
        for name, chunk in zip(names, chunks):
            batch = {"data": np.stack([rows[i] for i in chunk]), "labels": [labels[i] for i in chunk]}
            with open(folder / name, "wb") as handle:
                pickle.dump(batch, handle)
    return root


@pytest.fixture
def shared_data() -> Path:
    root = Path(os.environ.get("LABKIT_DATA", Path(__file__).parents[1] / ".." / "shared" / "data" / "cifar10-jpg"))
    if not (root / "train").is_dir():
        pytest.skip(f"CIFAR-10 image folder not found at {root}; set LABKIT_DATA to run this test")
    return root
