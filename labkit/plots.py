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
from .lab import MEAN, STD, Lab, model_depth
from .metrics import confusion_counts

# Screen resolution of the figures themselves: keeps notebook outputs small.
DPI = 80
CORRECT_COLOUR = "#1a7f37"
MISTAKE_COLOUR = "#cf222e"


def training_curves(history: History, title: str | None = None, reference: Lab | None = None) -> Figure:
    """Loss and accuracy per epoch, training against test, with the training loss every few steps between.

    With ``reference``, its published final accuracies are stars at its own epoch
    count, so a shorter run shows how far it stopped from where the reference ended.
    """
    figure = Figure(figsize=(10, 3.8), dpi=DPI, layout="constrained")
    loss_axes, acc_axes = figure.subplots(1, 2)
    epochs = history.epochs
    if history.stretch_loss:
        every = history.info.get("loss_every")
        label = f"train, every {every} steps" if every else "train, every few steps"
        loss_axes.plot(history.stretch_end, history.stretch_loss, "-", color="C0", alpha=0.45, linewidth=1, label=label)
    loss_axes.plot(epochs, history.train_loss, "o-", color="C0", label="train")
    loss_axes.plot(epochs, history.test_loss, "s-", color="C1", label="test")
    loss_axes.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
    if len(set(history.lr)) > 1:  # a schedule: the rate each epoch trained at, on its own scale
        rate_axes = loss_axes.twinx()
        rate_axes.plot(epochs, history.lr, "--", drawstyle="steps-mid", color="C7", label="learning rate")
        rate_axes.set_ylabel("learning rate")
        rate_axes.set_ylim(bottom=0)
        rate_axes.legend(fontsize="small", loc="lower left")
    acc_axes.plot(epochs, [100 * a for a in history.train_acc], "o-", color="C0", label="train")
    acc_axes.plot(epochs, [100 * a for a in history.test_acc], "s-", color="C1", label="test")
    if history.val_acc:  # a held-out part of the training split
        loss_axes.plot(epochs, history.val_loss, "^--", color="C2", label="validation")
        acc_axes.plot(epochs, [100 * a for a in history.val_acc], "^--", color="C2", label="validation")
    if reference is not None:
        at = reference.recipe.epochs
        acc_axes.plot([at], [100 * reference.reference.train_acc], "*", color="C0", markersize=12,
                      markeredgecolor="black", label=f"reference train ({at} epochs)")  # fmt: skip
        acc_axes.plot([at], [100 * reference.reference.test_acc], "*", color="C1", markersize=12,
                      markeredgecolor="black", label=f"reference test ({at} epochs)")  # fmt: skip
    acc_axes.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    ran = max(epochs, default=0)
    for axes, last in ((loss_axes, ran), (acc_axes, max(ran, reference.recipe.epochs if reference is not None else 0))):
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
        if 0 < last <= 20:  # the loss over this run's epochs; the accuracy out to the reference's last one
            axes.set_xticks(range(0 if history.stretch_loss else 1, last + 1))
        else:
            axes.xaxis.get_major_locator().set_params(integer=True)
    if title:
        figure.suptitle(title)
    return figure


def recipe_curves(histories: dict[str, History], title: str | None = None) -> Figure:
    """Accuracy per epoch of one model under several recipes, and the learning rate each epoch trained at.

    Training accuracy dashed and test accuracy solid in one colour per recipe, so
    the gap between a pair of lines is that recipe's overfitting.
    """
    figure = Figure(figsize=(10, 3.8), dpi=DPI, layout="constrained")
    acc_axes, rate_axes = figure.subplots(1, 2)
    for index, (name, history) in enumerate(histories.items()):
        colour = f"C{index % 10}"
        acc_axes.plot(history.epochs, [100 * a for a in history.train_acc], "--", color=colour, alpha=0.7,
                      label=f"{name}, train")  # fmt: skip
        acc_axes.plot(history.epochs, [100 * a for a in history.test_acc], "o-", markersize=3, color=colour, label=f"{name}, test")
        rates = history.lr or [history.info.get("lr")] * len(history.epochs)
        rate_axes.plot(history.epochs, rates, "-", drawstyle="steps-mid", color=colour, label=name)
    acc_axes.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    rate_axes.set(xlabel="epoch", ylabel="learning rate", title="Learning rate")
    rate_axes.set_ylim(bottom=0)
    for axes in (acc_axes, rate_axes):
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
        axes.xaxis.get_major_locator().set_params(integer=True)
    if title:
        figure.suptitle(title)
    return figure


def overlaid_curves(histories: dict[str, History], title: str | None = None) -> Figure:
    """Training and test error per epoch of several runs on shared axes, as the ResNet paper's Figure 6 draws them.

    One colour per depth (the digits of the model's name), dashed for a plain net and solid
    for the rest, so a plain net and its residual twin read as a pair.
    """
    figure = Figure(figsize=(10, 3.8), dpi=DPI, layout="constrained")
    train_axes, test_axes = figure.subplots(1, 2, sharey=True)
    depths = list(dict.fromkeys(model_depth(name) for name in histories))
    for name, history in histories.items():
        colour = f"C{depths.index(model_depth(name)) % 10}"
        style = "--" if name.startswith("plain") else "-"
        for axes, values in ((train_axes, history.train_acc), (test_axes, history.test_acc)):
            axes.plot(history.epochs, [100 * (1 - a) for a in values], style, marker="o", markersize=3,
                      color=colour, label=name)  # fmt: skip
    train_axes.set(xlabel="epoch", ylabel="error (%)", title="Training error")
    test_axes.set(xlabel="epoch", title="Test error")
    for axes in (train_axes, test_axes):
        axes.grid(alpha=0.3)
        axes.xaxis.get_major_locator().set_params(integer=True)
    test_axes.legend(fontsize="small")
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


RIGHT_MARK, WRONG_MARK = "\u2713", "\u2717"  # ✓ and ✗: right and wrong told apart without colour too


def prediction_grid(
    images: Tensor,
    targets: Tensor,
    predictions: Tensor,
    classes: Sequence[str],
    count: int = 24,
    columns: int = 6,
) -> Figure:
    """Test images titled with a mark and the prediction, and the true class where it is wrong (in red).

    ``images`` may be the split's uint8 images or normalised tensors.  The
    images shown are spread evenly over the split, so every class appears. Six
    columns and 10-point titles stay readable when the figure is shown 700 px wide.
    """
    count = min(count, len(images))
    picked = torch.linspace(0, len(images) - 1, count).round().long() if count else torch.zeros(0, dtype=torch.long)
    images, targets, predictions = images[picked], torch.as_tensor(targets)[picked], torch.as_tensor(predictions)[picked]
    titles, colours = [], []
    for truth, guess in zip(targets.tolist(), predictions.tolist()):
        right = truth == guess
        titles.append(f"{RIGHT_MARK} {classes[guess]}" if right else f"{WRONG_MARK} {classes[guess]}\n(true: {classes[truth]})")
        colours.append(CORRECT_COLOUR if right else MISTAKE_COLOUR)
    return image_grid(images, titles, colours, columns)


def image_grid(
    images: Tensor, titles: Sequence[str], colours: Sequence[str], columns: int = 6, fontsize: int = 10,
    height: float = 1.95,
) -> Figure:  # fmt: skip
    """Images in rows of ``columns``, each under its title: the layout of every grid of test images."""
    count = len(titles)
    rows = max(1, -(-count // columns))
    figure = Figure(figsize=(1.6 * columns, height * rows), dpi=DPI, layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False)
    pictures = _displayable(images[:count]) if count else images
    for index, axes in enumerate(grid.flat):
        axes.set_axis_off()
        if index >= count:
            continue
        axes.imshow(pictures[index].permute(1, 2, 0).numpy(), interpolation="nearest")
        axes.set_title(titles[index], fontsize=fontsize, color=colours[index])
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
