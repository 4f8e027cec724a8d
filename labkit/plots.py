"""Figures for a run.  Each function returns a new Figure and touches no global state.

Figures are built with ``matplotlib.figure.Figure`` rather than pyplot, so they
are not registered with pyplot, do not accumulate in long notebook sessions and
do not depend on the active backend.
"""

from __future__ import annotations

from typing import Sequence

import torch
from matplotlib.figure import Figure
from torch import Tensor

from .history import History
from .lab import MEAN, STD
from .metrics import confusion_counts

# Screen resolution of the figures themselves: keeps notebook outputs small.
DPI = 80
CORRECT_COLOUR = "#1a7f37"
MISTAKE_COLOUR = "#cf222e"


def training_curves(history: History, title: str | None = None) -> Figure:
    """Loss and accuracy per epoch, training against test."""
    figure = Figure(figsize=(10, 3.8), dpi=DPI, layout="constrained")
    loss_axes, acc_axes = figure.subplots(1, 2)
    epochs = history.epochs
    loss_axes.plot(epochs, history.train_loss, "o-", label="train")
    loss_axes.plot(epochs, history.test_loss, "s-", label="test")
    loss_axes.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
    acc_axes.plot(epochs, [100 * a for a in history.train_acc], "o-", label="train")
    acc_axes.plot(epochs, [100 * a for a in history.test_acc], "s-", label="test")
    if history.val_acc:  # a held-out part of the training split
        loss_axes.plot(epochs, history.val_loss, "^--", label="validation")
        acc_axes.plot(epochs, [100 * a for a in history.val_acc], "^--", label="validation")
    acc_axes.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for axes in (loss_axes, acc_axes):
        axes.grid(alpha=0.3)
        axes.legend()
        if 0 < len(epochs) <= 20:
            axes.set_xticks(epochs)
        else:
            axes.xaxis.get_major_locator().set_params(integer=True)
    if title:
        figure.suptitle(title)
    return figure


def denormalize(images: Tensor) -> Tensor:
    """Undo the lab's normalisation, giving floats in [0, 1] for display."""
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (images.float().cpu() * std + mean).clamp(0, 1)


def _displayable(images: Tensor) -> Tensor:
    images = images.cpu()
    if images.dtype == torch.uint8:
        return images.float() / 255
    return denormalize(images)


def prediction_grid(
    images: Tensor,
    targets: Tensor,
    predictions: Tensor,
    classes: Sequence[str],
    count: int = 24,
    columns: int = 8,
) -> Figure:
    """Test images titled with the prediction, and the true class where it is wrong (in red).

    ``images`` may be the split's uint8 images or normalised tensors.  The
    images shown are spread evenly over the split, so every class appears.
    """
    count = min(count, len(images))
    picked = torch.linspace(0, len(images) - 1, count).round().long() if count else torch.zeros(0, dtype=torch.long)
    images, targets, predictions = images[picked], torch.as_tensor(targets)[picked], torch.as_tensor(predictions)[picked]
    rows = max(1, -(-count // columns))
    figure = Figure(figsize=(1.35 * columns, 1.55 * rows), dpi=DPI, layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False)
    pictures = _displayable(images)
    for index, axes in enumerate(grid.flat):
        axes.set_axis_off()
        if index >= count:
            continue
        truth, guess = int(targets[index]), int(predictions[index])
        axes.imshow(pictures[index].permute(1, 2, 0).numpy(), interpolation="nearest")
        right = truth == guess
        label = classes[guess] if right else f"{classes[guess]}\n(true: {classes[truth]})"
        axes.set_title(label, fontsize=7, color=CORRECT_COLOUR if right else MISTAKE_COLOUR)
    return figure


def confusion_matrix(targets: Tensor, predictions: Tensor, classes: Sequence[str]) -> Figure:
    """Counts of true class (rows) against predicted class (columns)."""
    counts = confusion_counts(targets, predictions, len(classes))
    size = 1.2 + 0.9 * len(classes)
    figure = Figure(figsize=(size + 1, size), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(counts.numpy(), cmap="Blues")
    figure.colorbar(image, ax=axes, shrink=0.8)
    ticks = range(len(classes))
    axes.set_xticks(ticks, classes, rotation=30, ha="right")
    axes.set_yticks(ticks, classes)
    axes.set(xlabel="predicted class", ylabel="true class", title="Confusion matrix (test split)")
    threshold = counts.max().item() / 2
    for i in ticks:
        for j in ticks:
            value = int(counts[i, j])
            axes.text(j, i, str(value), ha="center", va="center", color="white" if value > threshold else "black")
    return figure
