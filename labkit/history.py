"""The record of a training run: per-epoch metrics plus facts about the run."""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import dataclass, field
from typing import Any

from .files import atomic_write_text, json_text

METRICS = ("train_loss", "train_acc", "test_loss", "test_acc", "seconds")
VALIDATION = ("val_loss", "val_acc")  # only in runs that hold out a validation split
STRETCHES = ("stretch_end", "stretch_loss")  # absent from runs recorded before they were
OPTIONAL = (*VALIDATION, *STRETCHES, "test_predicted_counts", "lr")  # saved only when recorded


@dataclass
class History:
    """Per-epoch metrics (accuracies as fractions in [0, 1], times in seconds).

    ``info`` holds what a reader needs to trust the numbers: the recipe and
    profile, parameter count, device name and torch version.
    """

    epochs: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    # The training loss at a finer grain: the mean over each stretch of a few steps, and
    # where the stretch ends in epochs (1.5: half way through epoch 2).
    stretch_loss: list[float] = field(default_factory=list)
    stretch_end: list[float] = field(default_factory=list)
    # How many test images each class received as the prediction, per epoch: tells an
    # epoch at chance because every image went to one class from one that merely guessed.
    test_predicted_counts: list[list[int]] = field(default_factory=list)
    # The learning rate each epoch trained at (absent from runs recorded before it was).
    lr: list[float] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    finished: bool = False

    def append(self, epoch: int, **metrics: float) -> None:
        missing = set(METRICS) - set(metrics)
        if missing:
            raise ValueError(f"missing metrics for epoch {epoch}: {sorted(missing)}")
        validation = [name for name in VALIDATION if name in metrics]
        if validation and len(validation) != len(VALIDATION):
            raise ValueError(f"epoch {epoch}: validation metrics come as a pair, {' and '.join(VALIDATION)}")
        if self.epochs and bool(validation) != bool(self.val_acc):
            raise ValueError(f"epoch {epoch}: every epoch of a run has validation metrics, or none does")
        if self.epochs and ("lr" in metrics) != bool(self.lr):
            raise ValueError(f"epoch {epoch}: every epoch of a run records its learning rate, or none does")
        self.epochs.append(epoch)
        for name in (*METRICS, *validation, *(["lr"] if "lr" in metrics else [])):
            getattr(self, name).append(float(metrics[name]))

    def add_stretches(self, ends: list[float], losses: list[float]) -> None:
        if len(ends) != len(losses):
            raise ValueError(f"{len(ends)} stretch ends for {len(losses)} stretch losses")
        self.stretch_end += [float(end) for end in ends]
        self.stretch_loss += [float(loss) for loss in losses]

    @property
    def total_seconds(self) -> float:
        """Training time of the run: every epoch's training and test pass."""
        return float(sum(self.seconds))

    def final(self) -> dict[str, float]:
        """The last epoch's metrics and the total time."""
        if not self.epochs:
            raise ValueError("the history is empty: no epoch has finished")
        last = {name: getattr(self, name)[-1] for name in (*METRICS, *VALIDATION) if name != "seconds" and getattr(self, name)}
        return {"epochs": self.epochs[-1], **last, "total_seconds": self.total_seconds}

    def swing(self, last: int) -> float | None:
        """Standard deviation of the last epochs' test accuracy: how much the final figure is chance.

        None for a run of ``last`` epochs or fewer, whose spread would be its first climb, not noise.
        """
        return statistics.stdev(self.test_acc[-last:]) if len(self.test_acc) > last and last > 1 else None

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in ("epochs", *METRICS)}
        data.update({name: getattr(self, name) for name in OPTIONAL if getattr(self, name)})
        return {**data, "info": dict(self.info), "finished": self.finished, "total_seconds": self.total_seconds}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "History":
        known = {name: data[name] for name in ("epochs", *METRICS, *OPTIONAL, "info", "finished") if name in data}
        return cls(**known)

    def save(self, path: str | os.PathLike) -> None:
        """Write JSON atomically, so a crash never leaves half a file."""
        atomic_write_text(path, json_text(self.to_dict()))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "History":
        with open(path, encoding="utf-8") as handle:
            return cls.from_dict(json.load(handle))
