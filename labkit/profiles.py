"""Run profiles: the full lab recipe, and smaller runs for CPUs and CI.

A profile other than ``full`` replaces the epoch count and the per-class
limits; every other setting (model, batch size, learning rate, seed) is the
caller's.  The profile is chosen by argument, else ``$LABKIT_PROFILE``, else
``full`` -- the variable is how nbval, which cannot pass parameters, runs the
notebooks on the smoke profile.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    epochs: int | None = None  # None: the lab's own count for the model
    per_class: int | None = None  # None: all 5,000 training images of each class
    test_per_class: int | None = None  # None: all 1,000 test images of each class


PROFILES: dict[str, Profile] = {
    "full": Profile("full", "the lab recipe: all 15,000 training images, 20 (VGG16) or 15 (ResNet50) epochs"),
    "quick": Profile("quick", "a CPU-sized run that still learns: 1,000 training images per class, 2 epochs, full test split",
                     epochs=2, per_class=1000),
    "smoke": Profile("smoke", "seconds: 8 training and 10 test images per class, 1 epoch (CI)",
                     epochs=1, per_class=8, test_per_class=10),
}  # fmt: skip


def get_profile(name: str | None = None) -> Profile:
    """The named profile, else the one ``$LABKIT_PROFILE`` names, else ``full``."""
    chosen = name or os.environ.get("LABKIT_PROFILE") or "full"
    try:
        return PROFILES[chosen.lower()]
    except KeyError:
        raise ValueError(f"unknown profile {chosen!r}; choose one of {', '.join(PROFILES)}") from None


@dataclass(frozen=True)
class LabSettings:
    """Everything one lab run uses, after the profile is applied: printed in the notebooks."""

    model: str
    profile: str
    epochs: int
    per_class: int | None
    test_per_class: int | None
    batch_size: int
    lr: float
    momentum: float
    weight_decay: float
    seed: int
    device: str
    data_root: str | None

    def fit_arguments(self) -> dict:
        """Keyword arguments for :func:`labkit.train.fit`, so the run uses exactly these settings."""
        return {
            "epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr, "momentum": self.momentum,
            "weight_decay": self.weight_decay, "seed": self.seed, "device": self.device,
            "info": {"model": self.model, "profile": self.profile, "per_class": self.per_class,
                     "test_per_class": self.test_per_class},
        }  # fmt: skip

    def markdown(self) -> str:
        """The settings, and the data pipeline's constants, as a Markdown table."""
        from .data import CROP_PADDING, IMAGE_SIZE, MEAN, STD

        rows = self.rows() + [
            ("training augmentation", f"random crop {IMAGE_SIZE} with {CROP_PADDING}-pixel zero padding, "
                                      "random horizontal flip"),
            ("normalisation", f"mean {MEAN}, std {STD} (per RGB channel)"),
            ("loss", "cross-entropy"),
        ]  # fmt: skip
        return "\n".join(["| setting | value |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)])

    def rows(self) -> list[tuple[str, str]]:
        def images(limit: int | None, total: int) -> str:
            return f"{limit:,} per class" if limit else f"all {total:,} per class"

        return [
            ("model", self.model),
            ("profile", f"{self.profile} ({PROFILES[self.profile].description})"),
            ("training images", images(self.per_class, 5000)),
            ("test images", images(self.test_per_class, 1000)),
            ("epochs", str(self.epochs)),
            ("batch size", str(self.batch_size)),
            ("optimiser", f"SGD, lr {self.lr:g}, momentum {self.momentum:g}, weight decay {self.weight_decay:g}"),
            ("learning-rate schedule", "none (constant)"),
            ("seed", str(self.seed)),
            ("device", self.device),
        ]


def lab_settings(
    model: str,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int = 0,
    device: str = "auto",
    data_root: str | None = None,
    per_class: int | None = None,
    profile: str | None = None,
    momentum: float | None = None,
    weight_decay: float | None = None,
) -> LabSettings:
    """Combine a notebook's parameters with its profile into the settings the run uses."""
    from .train import MOMENTUM, WEIGHT_DECAY

    chosen = get_profile(profile)
    full = chosen.name == "full"
    return LabSettings(
        model=model,
        profile=chosen.name,
        epochs=epochs if full else chosen.epochs,
        per_class=per_class if full else chosen.per_class,
        test_per_class=None if full else chosen.test_per_class,
        batch_size=batch_size,
        lr=lr,
        momentum=MOMENTUM if momentum is None else momentum,
        weight_decay=WEIGHT_DECAY if weight_decay is None else weight_decay,
        seed=seed,
        device=device,
        data_root=data_root,
    )
