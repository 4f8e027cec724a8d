"""Model builders for the lab, looked up by name with :func:`build`."""

from __future__ import annotations

from typing import Callable

from torch import nn

from ..lab import LAB_CLASSES
from .resnet import (
    CIFAR_DEPTHS,
    BasicBlock,
    Bottleneck,
    ResNet,
    cifar_resnet,
    plain18,
    plain20,
    plain32,
    plain34,
    plain44,
    plain56,
    plain110,
    resnet18,
    resnet20,
    resnet32,
    resnet34,
    resnet44,
    resnet50,
    resnet56,
    resnet101,
    resnet110,
    resnet152,
)
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
    "plain18": plain18,
    "plain34": plain34,
    # The CIFAR-10 networks of He et al. section 4.2 (widths 16/32/64, option A shortcuts).
    "resnet20": resnet20,
    "resnet32": resnet32,
    "resnet44": resnet44,
    "resnet56": resnet56,
    "resnet110": resnet110,
    "plain20": plain20,
    "plain32": plain32,
    "plain44": plain44,
    "plain56": plain56,
    "plain110": plain110,
}


def build(name: str, num_classes: int = len(LAB_CLASSES), dropout: float = 0.0) -> nn.Module:
    """Build a model by its name (for example ``"vgg16"``) with a fresh default init.

    ``dropout`` is VGG's, on its fully connected layers; other models have none.
    """
    key = name.lower()
    if key not in BUILDERS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(BUILDERS)}")
    if not dropout:
        return BUILDERS[key](num_classes=num_classes)
    if not key.startswith("vgg"):
        raise ValueError(f"dropout applies to VGG's fully connected layers, and {name} has none")
    return BUILDERS[key](num_classes=num_classes, dropout=dropout)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters, the figure the lab quotes."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = [
    "BUILDERS", "CIFAR_DEPTHS", "BasicBlock", "Bottleneck", "ResNet", "VGG", "build", "cfgs", "cifar_resnet",
    "count_parameters", "make_layers", "plain18", "plain20", "plain32", "plain34", "plain44", "plain56", "plain110",
    "resnet18", "resnet20", "resnet32", "resnet34", "resnet44", "resnet50", "resnet56", "resnet101", "resnet110",
    "resnet152", "summary", "vgg11", "vgg13", "vgg16", "vgg19",
]  # fmt: skip
