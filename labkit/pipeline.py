"""One run of a recipe into a folder: seed -> model -> data -> fit -> artefacts.

:func:`run` composes the public steps below; the notebooks call the same steps
one cell at a time, so the lesson and the command line cannot drift apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from matplotlib.figure import Figure
from torch import nn

from .artefacts import save_run
from .data import Split, load_lab_data
from .device import resolve_device
from .history import History
from .lab import CHECKPOINT, Recipe
from .models import build
from .train import Evaluation, fit, seed_everything


def load_data(
    recipe: Recipe,
    data_root: str | os.PathLike | None = None,
    download: bool = False,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[Split, Split]:
    """The recipe's training and test splits (its classes and per-class limits)."""
    return load_lab_data(recipe.classes, data_root, recipe.per_class, recipe.test_per_class, download, cache_dir)


def build_model(recipe: Recipe) -> nn.Module:
    """The recipe's model, freshly initialised from its seed: the same seed gives the same weights."""
    seed_everything(recipe.seed)
    return build(recipe.model, num_classes=len(recipe.classes))


def run_folder(output_dir: str | os.PathLike | None, recipe: Recipe, base: str = "runs") -> Path:
    """``output_dir`` if given, else a new time-stamped folder under ``base``.

    A fresh folder per run means a rerun never overwrites an earlier run's checkpoint.
    """
    if output_dir is not None:
        return Path(output_dir)
    return Path(base) / f"{recipe.model}-{recipe.profile}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


@dataclass
class Run:
    """A finished run: where it was saved, its history, its final test pass and its figures."""

    folder: Path
    history: History
    evaluation: Evaluation
    figures: dict[str, Figure]


def run(
    recipe: Recipe,
    folder: str | os.PathLike,
    data_root: str | os.PathLike | None = None,
    download: bool = False,
    cache_dir: str | os.PathLike | None = None,
    splits: tuple[Split, Split] | None = None,
    device: str = "auto",
    checkpoint: bool = True,
    resume: bool = False,
    progress: bool = True,
    log: Callable[[str], None] | None = print,
) -> Run:
    """Run ``recipe`` and save its artefacts into ``folder``.

    ``splits`` replaces loading from ``data_root`` for callers that hold the data
    already (the GPU check); ``checkpoint=False`` skips the per-epoch checkpoint.
    """
    folder = Path(folder)
    resolved = resolve_device(device)
    model = build_model(recipe)  # an unknown device or model fails before any data is read
    train_split, test_split = splits or load_data(recipe, data_root, download, cache_dir)
    if log:
        log(
            f"{recipe.model}: {len(train_split):,} training / {len(test_split):,} test images of "
            f"{', '.join(train_split.classes)}; {recipe.epochs} epochs on {resolved}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    result = fit(
        model, train_split, test_split, recipe, device=resolved, checkpoint=folder / CHECKPOINT if checkpoint else None,
        resume=resume, progress=progress, log=log,
    )  # fmt: skip
    figures = save_run(folder, result.history, result.evaluation, test_split)
    return Run(folder, result.history, result.evaluation, figures)
