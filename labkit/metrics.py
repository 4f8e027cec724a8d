"""Summaries of a set of predictions: confusion counts, per-class accuracy, and how far to trust them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
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


# --------------------------------------------------------------------------- how far to trust one accuracy


def binomial_interval(correct: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for an accuracy of ``correct`` out of ``total`` test images.

    What the test set alone allows: 3,000 images at 93% give about +-0.9 points.
    Wilson rather than the normal approximation, which leaves [0, 1] near 100%.
    """
    if total <= 0 or not 0 <= correct <= total:
        raise ValueError(f"need 0 <= correct <= total and total > 0, got {correct} of {total}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    share = correct / total
    centre = (share + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class McNemar:
    """Two classifiers on the same test images: where exactly one of them is right, and the exact p-value."""

    images: int
    only_first: int  # images the first model got right and the second wrong
    only_second: int
    p_value: float


def mcnemar(first_right: Sequence[bool], second_right: Sequence[bool]) -> McNemar:
    """The exact (binomial) McNemar test: do two models' error rates on the same images differ?

    Only the images where they disagree count; under "no difference" each is
    equally likely to favour either model. Paired, so far more sensitive than
    comparing two accuracies with their separate intervals.
    """
    if len(first_right) != len(second_right):
        raise ValueError(f"the two models were scored on {len(first_right)} and {len(second_right)} images; pair them first")
    only_first = sum(1 for a, b in zip(first_right, second_right) if a and not b)
    only_second = sum(1 for a, b in zip(first_right, second_right) if b and not a)
    disagree = only_first + only_second
    tail = sum(math.comb(disagree, k) for k in range(min(only_first, only_second) + 1))
    p_value = min(1.0, 2 * tail / 2**disagree) if disagree else 1.0
    return McNemar(len(first_right), only_first, only_second, p_value)


def paired_correctness(
    first: tuple[Sequence[int], Sequence[int]], second: tuple[Sequence[int], Sequence[int]]
) -> tuple[list[bool], list[bool]]:
    """Right/wrong per image for two runs' (targets, predictions), on the test images both saw.

    A per-class limit keeps the first N test images of each class, in the same
    order for every run, so the common images are the first min(N1, N2) of each class.
    """
    def by_class(targets, predictions) -> dict[int, list[bool]]:
        grouped: dict[int, list[bool]] = {}
        for target, prediction in zip(targets, predictions):
            grouped.setdefault(int(target), []).append(int(target) == int(prediction))
        return grouped

    a, b = by_class(*first), by_class(*second)
    first_right, second_right = [], []
    for label in sorted(set(a) & set(b)):
        common = min(len(a[label]), len(b[label]))
        first_right += a[label][:common]
        second_right += b[label][:common]
    return first_right, second_right
