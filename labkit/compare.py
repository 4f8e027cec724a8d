"""The two labs side by side: what each cost, where they disagree, and their surest mistakes.

Everything here is read from the runs' saved files (history.json, test_predictions.json)
and the test images themselves, so a report can draw it again without training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from matplotlib.figure import Figure

from .history import History
from .lab import LABS, TRAIN_PER_CLASS, title
from .plots import DPI, MISTAKE_COLOUR, RIGHT_MARK, WRONG_MARK, image_grid


@dataclass(frozen=True)
class CommonImage:
    """A test image both runs classified: its class, its place among that class's images, each run's answer."""

    label: int
    rank: int
    predictions: tuple[int, ...]
    confidences: tuple[float | None, ...]


def common_images(saved: Sequence[dict]) -> list[CommonImage]:
    """The test images every run saw, from each run's test_predictions.json.

    A per-class limit keeps the first N test images of each class in the same
    order for every run, so the k-th image of a class is the same image in each.
    """
    grouped = []
    for run in saved:
        confidences = run.get("confidences") or [None] * len(run["targets"])
        by_class: dict[int, list[tuple[int, float | None]]] = {}
        for target, prediction, confidence in zip(run["targets"], run["predictions"], confidences):
            by_class.setdefault(int(target), []).append((int(prediction), confidence))
        grouped.append(by_class)
    images = []
    for label in sorted(set.intersection(*(set(by_class) for by_class in grouped))):
        for rank in range(min(len(by_class[label]) for by_class in grouped)):
            answers = [by_class[label][rank] for by_class in grouped]
            images.append(CommonImage(label, rank, tuple(a[0] for a in answers), tuple(a[1] for a in answers)))
    return images


def training_flops(history: History, flops_per_image: float) -> float:
    """Training FLOPs of a run: its images times its epochs times one training step's FLOPs per image."""
    return flops_per_image * int(history.info.get("train_images") or 0) * len(history.epochs)


def cost_figure(runs: dict[str, History], flops_per_image: dict[str, float]) -> Figure:
    """Test accuracy against training time and against training FLOPs, each run beside its reference."""
    figure = Figure(figsize=(10, 3.8), dpi=DPI, layout="constrained")
    time_axes, flops_axes = figure.subplots(1, 2)
    for index, (model, history) in enumerate(runs.items()):
        colour, name, accuracy = f"C{index}", title(model), 100 * history.final()["test_acc"]
        flops = training_flops(history, flops_per_image[model])
        time_axes.plot([history.total_seconds], [accuracy], "o", color=colour, markersize=9, label=f"{name}: this run")
        flops_axes.plot([flops], [accuracy], "o", color=colour, markersize=9, label=f"{name}: this run")
        lab = LABS.get(model)
        if lab and tuple(history.info.get("classes", lab.recipe.classes)) == lab.recipe.classes:
            reference = 100 * lab.reference.test_acc
            full = flops_per_image[model] * TRAIN_PER_CLASS * len(lab.recipe.classes) * lab.recipe.epochs
            time_axes.plot([lab.reference.seconds], [reference], "*", color=colour, markersize=13,
                           markeredgecolor="black", label=f"{name}: reference (a GPU)")  # fmt: skip
            flops_axes.plot([full], [reference], "*", color=colour, markersize=13, markeredgecolor="black",
                            label=f"{name}: reference")  # fmt: skip
    time_axes.set(xlabel="training time (s, test passes included)", ylabel="test accuracy (%)", title="Against time")
    flops_axes.set(xlabel="training FLOPs (forward and backward)", ylabel="test accuracy (%)", title="Against arithmetic")
    for axes in (time_axes, flops_axes):
        axes.set_xscale("log")
        axes.grid(alpha=0.3, which="both")
        axes.legend(fontsize="small")
    return figure


def _marked(name: str, right: bool, guess: str) -> str:
    return f"{name}: {RIGHT_MARK if right else WRONG_MARK} {guess}"


def disagreements(commons: Sequence[CommonImage]) -> list[CommonImage]:
    """The common test images the runs answered differently."""
    return [image for image in commons if len(set(image.predictions)) > 1]


def spread(images: Sequence[CommonImage], count: int) -> list[CommonImage]:
    """Up to ``count`` images taken from each class in turn, so every class with one shows."""
    by_class: dict[int, list[CommonImage]] = {}
    for image in images:
        by_class.setdefault(image.label, []).append(image)
    queues = [list(reversed(group)) for _, group in sorted(by_class.items())]
    chosen: list[CommonImage] = []
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop())
    return sorted(chosen, key=lambda image: (image.label, image.rank))


def disagreement_grid(images, commons: Sequence[CommonImage], models: Sequence[str], classes: Sequence[str],
                      count: int = 12) -> Figure:  # fmt: skip
    """Test images the models answered differently, each titled with every model's answer and the truth."""
    shown = list(commons)[:count]
    titles, colours = [], []
    for image in shown:
        lines = [_marked(title(model), guess == image.label, classes[guess]) for model, guess in zip(models, image.predictions)]
        titles.append("\n".join([*lines, f"(true: {classes[image.label]})"]))
        colours.append("black")
    return image_grid(images, titles, colours, columns=4, fontsize=9, height=2.3)


def confident_mistakes(commons: Sequence[CommonImage], run: int, count: int = 8) -> list[CommonImage]:
    """One run's wrong answers on the common images, the surest first; empty when it saved no confidences."""
    wrong = [image for image in commons if image.predictions[run] != image.label and image.confidences[run] is not None]
    return sorted(wrong, key=lambda image: -image.confidences[run])[:count]


def mistakes_grid(images, mistakes: Sequence[CommonImage], run: int, classes: Sequence[str]) -> Figure:
    """A run's surest mistakes: the wrong class with the softmax probability it gave it, and the truth."""
    # The model is named in the caption: a title holds the mark, the class, the probability and the truth.
    titles = [f"{WRONG_MARK} {classes[image.predictions[run]]} {image.confidences[run]:.1%}\n(true: {classes[image.label]})"
              for image in mistakes]  # fmt: skip
    return image_grid(images, titles, [MISTAKE_COLOUR] * len(titles), columns=4, fontsize=9, height=2.1)
