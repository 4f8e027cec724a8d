"""Summaries of a set of predictions: confusion counts and per-class accuracy."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor


def confusion_counts(targets: Tensor, predictions: Tensor, num_classes: int) -> Tensor:
    """``counts[i, j]`` = images of true class ``i`` predicted as ``j``."""
    targets = torch.as_tensor(targets).long().cpu()
    predictions = torch.as_tensor(predictions).long().cpu()
    flat = targets * num_classes + predictions
    return torch.bincount(flat, minlength=num_classes * num_classes).view(num_classes, num_classes)


def per_class_accuracy(targets: Tensor, predictions: Tensor, classes: Sequence[str]) -> dict[str, float]:
    """Recall of each class: the share of its test images classified correctly."""
    counts = confusion_counts(targets, predictions, len(classes))
    totals = counts.sum(1).clamp(min=1)
    return {name: float(counts[i, i] / totals[i]) for i, name in enumerate(classes)}
