"""One run of a recipe into a folder: seed -> model -> data -> fit -> artefacts.

:func:`run` composes the public steps below; the notebooks call the same steps
one cell at a time, so the lesson and the command line cannot drift apart.
Launched by torchrun, every rank calls :func:`run` alike; rank 0 alone holds
the folder's lock, checks and writes it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from matplotlib.figure import Figure
from torch import nn

from . import distributed
from .artefacts import save_run
from .data import Split, load_lab_data
from .device import resolve_device
from .files import folder_lock, remove_stale_temporaries
from .history import History
from .lab import CHECKPOINT, HISTORY, RUN_FILES, Recipe
from .models import build
from .train import Evaluation, fit, seed_everything

# Every file a run keeps in its folder.
_FOLDER_FILES = (*RUN_FILES, CHECKPOINT)


def load_data(
    recipe: Recipe,
    data_root: str | os.PathLike | None = None,
    download: bool | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[Split, Split]:
    """The recipe's training and test splits (its classes and per-class limits).

    ``download``: None fetches CIFAR-10 when it is missing unless ``$LABKIT_OFFLINE``
    is set; see :func:`labkit.data.load_split`.
    """
    return load_lab_data(recipe.classes, data_root, recipe.per_class, recipe.test_per_class, download, cache_dir)


def build_model(recipe: Recipe) -> nn.Module:
    """The recipe's model, freshly initialised from its seed: the same seed gives the same weights."""
    seed_everything(recipe.seed)
    return build(recipe.model, num_classes=len(recipe.classes), dropout=recipe.dropout)


def run_folder(output_dir: str | os.PathLike | None, recipe: Recipe, base: str | os.PathLike | None = None) -> Path:
    """``output_dir`` if given, else a new time-stamped folder under ``base``, else ``$LABKIT_RUNS``, else ``runs``.

    A fresh folder per run means a rerun never overwrites an earlier run's checkpoint;
    ``$LABKIT_RUNS`` is how the test suite keeps notebook runs out of the source tree.
    """
    if output_dir is not None:
        return Path(output_dir)
    base = Path(base or os.environ.get("LABKIT_RUNS") or "runs")
    return base / f"{recipe.model}-{recipe.profile}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _restore_set_aside(folder: Path, log: Callable[[str], None] | None) -> None:
    """Put back a run that a replacement killed by a signal (no chance to clean up) left set aside."""
    for aside in sorted(folder.glob(".replaced-*")):
        if not aside.is_dir():
            continue
        for name in _FOLDER_FILES:
            (folder / name).unlink(missing_ok=True)
        for item in aside.iterdir():
            item.rename(folder / item.name)
        aside.rmdir()
        if log:
            log(f"put back the run that an interrupted replacement had set aside in {folder}")


def _saved_schedule(history: Path) -> str:
    """The learning-rate schedule a finished run trained on; an unreadable history is judged elsewhere."""
    try:
        return History.load(history).info.get("schedule", "constant")
    except (OSError, ValueError, KeyError, TypeError):
        return "constant"


def check_folder(folder: Path, resume: bool, replace: bool, allow_changes: tuple[str, ...] = ()) -> None:
    """Refuse a run that would mix with, or silently replace, the run ``folder`` holds."""
    checkpoint, history = folder / CHECKPOINT, folder / HISTORY
    if resume:
        if not checkpoint.is_file():
            raise ValueError(f"--resume: {checkpoint} does not exist, so there is no run to continue; drop --resume")
        schedule = _saved_schedule(history) if history.is_file() else "constant"
        if schedule != "constant":
            raise ValueError(
                f"{folder} holds a finished run ({HISTORY}) on the {schedule} learning-rate schedule: there is nothing "
                "to resume, and it cannot be trained for longer, since its schedule was laid out over its epochs; "
                "start a new run with more --epochs in another --out"
            )
        if history.is_file() and "epochs" not in allow_changes:
            raise ValueError(
                f"{folder} holds a finished run ({HISTORY}): there is nothing to resume; to train it for longer, "
                "pass --allow-change epochs with a larger --epochs"
            )
    elif not replace and history.is_file():
        raise ValueError(f"{folder} already holds a finished run ({HISTORY}); choose another --out, or pass --overwrite to replace it")
    elif not replace and checkpoint.is_file():
        raise ValueError(
            f"{folder} holds an unfinished run ({CHECKPOINT}); pass --resume to continue it, or --overwrite to start again"
        )


@contextlib.contextmanager
def _replacing(folder: Path) -> Iterator[None]:
    """Set a finished run's files aside while a new run replaces it; put them back if it fails.

    So an interrupted replacement never leaves one run's history beside another's checkpoint.
    """
    names = [name for name in _FOLDER_FILES if (folder / name).exists()]
    aside = Path(tempfile.mkdtemp(prefix=".replaced-", dir=folder)) if names else None
    for name in names:
        (folder / name).rename(aside / name)
    try:
        yield
    except BaseException:
        if aside:  # with nothing set aside, the new run's checkpoint is all there is: keep it to resume
            for name in _FOLDER_FILES:
                (folder / name).unlink(missing_ok=True)
            for name in names:
                (aside / name).rename(folder / name)
            aside.rmdir()
        raise
    if aside:
        shutil.rmtree(aside)


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
    download: bool | None = None,
    cache_dir: str | os.PathLike | None = None,
    splits: tuple[Split, Split] | None = None,
    device: str = "auto",
    checkpoint: bool = True,
    resume: bool = False,
    allow_changes: tuple[str, ...] = (),
    keep_optimizer_state: bool = False,
    replace: bool = False,
    progress: bool = True,
    log: Callable[[str], None] | None = print,
) -> Run:
    """Run ``recipe`` and save its artefacts into ``folder``.

    ``splits`` replaces loading from ``data_root`` for callers that hold the data
    already (the GPU check); ``checkpoint=False`` skips the per-epoch checkpoint;
    ``replace`` replaces a run the folder holds, which comes back if this one fails.
    Under torchrun the run joins the launch's process group and trains with
    DistributedDataParallel (:mod:`labkit.distributed`); the other ranks return no figures.
    """
    folder = Path(folder)
    world = distributed.launch_world()
    resolved = distributed.rank_device(world, resolve_device(device))
    distributed.rank_batch_size(recipe.batch_size, world)  # refused before any data is read
    distributed.check_sync_bn(recipe.sync_bn, resolved)
    model = build_model(recipe)  # an unknown device or model fails before any data is read
    main = world.is_main
    if not main:
        log, progress = None, False
    with distributed.process_group(world, resolved), folder_lock(folder) if main else contextlib.nullcontext():
        # A second run into the same folder is refused, not mixed in.
        if main:
            _restore_set_aside(folder, log)
            check_folder(folder, resume, replace, allow_changes)
            for name in _FOLDER_FILES:
                remove_stale_temporaries(folder / name)
        if main:
            train_split, test_split = splits or load_data(recipe, data_root, download, cache_dir)
        # The other ranks read the data (from rank 0's download and cache) and any checkpoint
        # to resume only once rank 0 has checked the folder.
        distributed.barrier()
        if not main:
            train_split, test_split = splits or load_data(recipe, data_root, download, cache_dir)
        if log:
            ranks = f" ({world.size} processes, {recipe.batch_size // world.size} images each per step)" if world.size > 1 else ""
            log(
                f"{recipe.model}: {len(train_split):,} training / {len(test_split):,} test images of "
                f"{', '.join(train_split.classes)}; {recipe.epochs} epochs on {resolved}{ranks}"
            )
        with _replacing(folder) if replace and main else contextlib.nullcontext():
            result = fit(
                model, train_split, test_split, recipe, device=resolved,
                checkpoint=folder / CHECKPOINT if checkpoint else None, resume=resume, allow_changes=allow_changes,
                keep_optimizer_state=keep_optimizer_state, progress=progress, log=log,
            )  # fmt: skip
            figures = save_run(folder, result.history, result.evaluation, test_split) if main else {}
    return Run(folder, result.history, result.evaluation, figures)
