"""What a finished run leaves in its folder: history.json, the test predictions and the three figures.

Saving needs only a history and a test pass, not the process that trained the
model, so a history loaded from JSON and a fresh evaluation save the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.figure import Figure

from . import plots
from .data import Split
from .files import atomic_write_text, json_text
from .history import History
from .lab import FIGURE_DPI, FIGURE_FILES, FIGURES, HISTORY, PREDICTIONS
from .results import reference_lab
from .train import Evaluation, FitResult


def figures(history: History, evaluation: Evaluation, test_split: Split, title: str | None = None) -> dict[str, Figure]:
    """The run's figures, keyed by the names in :data:`labkit.lab.FIGURES`."""
    targets, predictions, classes = evaluation.targets, evaluation.predictions, test_split.classes
    made = {
        "curves": plots.training_curves(history, title=title or history.info.get("model"), reference=reference_lab(history)),
        "predictions": plots.prediction_grid(test_split.images, targets, predictions, classes),
        "confusion": plots.confusion_matrix(targets, predictions, classes),
    }
    return {name: made[name] for name in FIGURES}


def save_run(
    folder: str | os.PathLike, history: History, evaluation: Evaluation, test_split: Split, title: str | None = None
) -> dict[str, Figure]:
    """Write history.json and the figures into ``folder``; return the figures for display."""
    folder = Path(folder)
    made = figures(history, evaluation, test_split, title)
    folder.mkdir(parents=True, exist_ok=True)
    for name, figure in made.items():
        figure.savefig(folder / FIGURE_FILES[name], dpi=FIGURE_DPI)
    predictions = {"classes": list(test_split.classes), "targets": evaluation.targets.tolist(),
                   "predictions": evaluation.predictions.tolist()}  # fmt: skip
    if evaluation.confidences is not None:  # for the report's most confident mistakes
        predictions["confidences"] = [round(value, 4) for value in evaluation.confidences.tolist()]
    atomic_write_text(folder / PREDICTIONS, json_text(predictions))
    history.save(folder / HISTORY)
    return made


def load_predictions(folder: str | os.PathLike) -> tuple[list[int], list[int]]:
    """A saved run's (targets, predictions) on its test images, in test-split order."""
    import json

    saved = json.loads((Path(folder) / PREDICTIONS).read_text())
    return saved["targets"], saved["predictions"]


def load_run(folder: str | os.PathLike) -> FitResult:
    """A finished run as its folder keeps it (history and final test pass), to compare without training it again."""
    import json

    import torch

    folder = Path(folder)
    missing = [name for name in (HISTORY, PREDICTIONS) if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{folder} holds no {' or '.join(missing)}: it is not a finished run's folder; "
            "give the folder that a training run (python -m labkit train --out DIR) or a report's lab page wrote"
        )
    try:
        history = History.load(folder / HISTORY)
        saved = json.loads((folder / PREDICTIONS).read_text(encoding="utf-8"))
        targets, predictions = torch.tensor(saved["targets"]), torch.tensor(saved["predictions"])
        final = history.final()
        loss, accuracy = final["test_loss"], final["test_acc"]
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise ValueError(f"{folder}: its {HISTORY} or {PREDICTIONS} is incomplete ({error!r}); train the run again") from None
    if not history.finished:
        raise ValueError(f"{folder} holds a run that has not finished; finish it first (python -m labkit train --resume)")
    if targets.shape != predictions.shape:
        raise ValueError(f"{folder / PREDICTIONS} holds {len(targets)} labels and {len(predictions)} predictions; "
                         "train the run again")  # fmt: skip
    return FitResult(history, Evaluation(loss, accuracy, predictions, targets))
