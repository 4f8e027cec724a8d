"""What a finished run leaves in its folder: history.json and the three figures.

Saving needs only a history and a test pass, not the process that trained the
model, so a history loaded from JSON and a fresh evaluation save the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.figure import Figure

from . import plots
from .data import Split
from .history import History
from .lab import FIGURE_DPI, FIGURE_FILES, FIGURES, HISTORY
from .train import Evaluation


def figures(history: History, evaluation: Evaluation, test_split: Split, title: str | None = None) -> dict[str, Figure]:
    """The run's figures, keyed by the names in :data:`labkit.lab.FIGURES`."""
    targets, predictions, classes = evaluation.targets, evaluation.predictions, test_split.classes
    made = {
        "curves": plots.training_curves(history, title=title or history.info.get("model")),
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
    history.save(folder / HISTORY)
    return made
