"""Model builders for the lab, looked up by name with :func:`build`."""

from __future__ import annotations

from typing import Callable

from torch import nn

from ..lab import LAB_CLASSES
from .resnet import BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50, resnet101, resnet152
from .summary import summary
from .vgg import VGG, cfgs, make_layers, vgg11, vgg13, vgg16, vgg19

BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "vgg11": vgg11,
    "vgg13": vgg13,
    "vgg16": vgg16,
    "vgg19": vgg19,
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "resnet101": resnet101,
    "resnet152": resnet152,
}


def build(name: str, num_classes: int = len(LAB_CLASSES)) -> nn.Module:
    """Build a model by its name (for example ``"vgg16"``) with a fresh default init."""
    key = name.lower()
    if key not in BUILDERS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(BUILDERS)}")
    return BUILDERS[key](num_classes=num_classes)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters, the figure the lab quotes."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = [
    "BUILDERS", "BasicBlock", "Bottleneck", "ResNet", "VGG", "build", "cfgs", "count_parameters",
    "make_layers", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "summary", "vgg11", "vgg13", "vgg16", "vgg19",
]  # fmt: skip
