"""Test-time protocols of the VGG paper (Simonyan & Zisserman, 2015, sections 3.2 and 4.2).

``single`` is the lab's test pass: one 32x32 view.  ``flip`` averages the
soft-max posteriors of an image and its mirror.  ``dense`` converts the fully
connected layers to convolutions, so the net applies to an image of any size;
the test image is rescaled to several sizes (:data:`labkit.lab.DENSE_SIZES`), each class score map is averaged
over its positions, and the posteriors are averaged over the sizes.
``dense+flip`` does both.  A ResNet already ends in a global average pool, so
it is convolutional as it stands and takes the same protocols.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .device import autocast
from .lab import DENSE_SIZES, IMAGE_SIZE
from .models.vgg import VGG

PROTOCOLS = ("single", "flip", "dense", "dense+flip")


def convolutional_head(classifier: nn.Sequential, trunk_channels: int) -> nn.Sequential:
    """The fully connected layers as convolutions with the same weights.

    The first layer becomes a k x k convolution, where k x k is the trunk's map at the
    training size (7x7 in the paper; 1x1 for a 32x32 image here), the others 1x1.
    """
    layers: list[nn.Module] = []
    first = True
    for layer in classifier:
        if not isinstance(layer, nn.Linear):
            layers.append(copy.deepcopy(layer))
            continue
        inputs = trunk_channels if first else layer.in_features
        kernel = math.isqrt(layer.in_features // inputs)
        if inputs * kernel * kernel != layer.in_features:
            raise ValueError(
                f"a linear layer of {layer.in_features} inputs does not read a square map of {inputs} channels"
            )
        conv = nn.Conv2d(inputs, layer.out_features, kernel, bias=layer.bias is not None)
        conv = conv.to(device=layer.weight.device, dtype=layer.weight.dtype)
        with torch.no_grad():
            conv.weight.copy_(layer.weight.reshape(conv.weight.shape))
            if layer.bias is not None:
                conv.bias.copy_(layer.bias)
        layers.append(conv)
        first = False
    return nn.Sequential(*layers)


class DenseVGG(nn.Module):
    """A VGG's own trunk with its classifier converted to convolutions: a class score map for any image size."""

    def __init__(self, model: VGG) -> None:
        super().__init__()
        self.features = model.features  # shared, not copied: the trained trunk
        channels = [m.out_channels for m in model.features.modules() if isinstance(m, nn.Conv2d)][-1]
        self.head = convolutional_head(model.classifier, channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def _scorer(model: nn.Module, protocol: str) -> nn.Module:
    # Only a VGG needs converting: its classifier reads one flattened 512x1x1 map, while a
    # ResNet's global average pool already accepts any size and averages over positions.
    if not protocol.startswith("dense") or not isinstance(model, VGG):
        return model
    return DenseVGG(model).train(model.training)


def _sizes(protocol: str, sizes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sizes) if protocol.startswith("dense") else (IMAGE_SIZE,)


# A view of the test image: (through the dense scorer?, size in pixels, mirrored?).
View = tuple[bool, int, bool]


def _view_keys(protocol: str, sizes: tuple[int, ...]) -> list[View]:
    dense = protocol.startswith("dense")
    mirrors = (False, True) if protocol.endswith("flip") else (False,)
    return [(dense, size, mirrored) for size in _sizes(protocol, sizes) for mirrored in mirrors]


def _distinct_views(protocols: tuple[str, ...], sizes: tuple[int, ...]) -> list[View]:
    # dense+flip holds every view of dense, and flip holds single's: each is computed once.
    return list(dict.fromkeys(view for protocol in protocols for view in _view_keys(protocol, sizes)))


def view_count(protocol: str, sizes: tuple[int, ...] = DENSE_SIZES) -> int:
    """Forward passes per test image."""
    return len(_view_keys(protocol, sizes))


def relative_cost(protocols: tuple[str, ...] = PROTOCOLS, sizes: tuple[int, ...] = DENSE_SIZES) -> float:
    """What testing every image under all of ``protocols`` costs, in single 32x32 test passes.

    Cost grows with pixels; a view that two protocols share is paid for once.
    """
    return sum((size / IMAGE_SIZE) ** 2 for _, size, _ in _distinct_views(protocols, sizes))


def check_protocol(protocol: str, sizes: tuple[int, ...] = DENSE_SIZES) -> None:
    """Refuse an unknown protocol, and a size that five 2x2 pools would not halve exactly."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown test protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    if not sizes or any(isinstance(s, bool) or not isinstance(s, int) or s < IMAGE_SIZE or s % IMAGE_SIZE for s in sizes):
        raise ValueError(
            f"dense sizes must be multiples of {IMAGE_SIZE} pixels, such as {', '.join(map(str, DENSE_SIZES))} "
            f"(five 2x2 pools then halve every map exactly), got {sizes!r}"
        )


def _view_posteriors(scorer: nn.Module, images: Tensor, size: int, mirrored: bool, bf16: bool) -> Tensor:
    if size != images.shape[-1]:
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    if mirrored:
        images = images.flip(3)
    with torch.no_grad(), autocast(images.device, bf16):
        scores = scorer(images).float()
    if scores.dim() == 4:  # a class score map: average it over its positions
        scores = scores.mean((2, 3))
    return scores.softmax(1)


class _Scorers:
    """Posteriors of one batch under several protocols, each distinct view computed once."""

    def __init__(self, model: nn.Module, protocols: tuple[str, ...], sizes: tuple[int, ...], bf16: bool) -> None:
        for protocol in protocols:
            check_protocol(protocol, sizes)
        self.protocols, self.sizes, self.bf16 = protocols, sizes, bf16
        # The VGG is converted once, not per batch.
        self.scorers = {dense: _scorer(model, "dense" if dense else "single")
                        for dense in {protocol.startswith("dense") for protocol in protocols}}  # fmt: skip

    def __call__(self, images: Tensor) -> dict[str, Tensor]:
        views = {(dense, size, mirrored): _view_posteriors(self.scorers[dense], images, size, mirrored, self.bf16)
                 for dense, size, mirrored in _distinct_views(self.protocols, self.sizes)}  # fmt: skip
        return {protocol: torch.stack([views[key] for key in _view_keys(protocol, self.sizes)]).mean(0)
                for protocol in self.protocols}  # fmt: skip


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    # BatchNorm's running statistics, not the batch's; the caller's mode comes back.
    was_training = model.training
    try:
        model.eval()
        yield
    finally:
        model.train(was_training)


def posteriors(model: nn.Module, images: Tensor, protocol: str = "single", sizes: tuple[int, ...] = DENSE_SIZES,
               bf16: bool = False) -> Tensor:  # fmt: skip
    """Class probabilities of each image under ``protocol``: soft-max posteriors averaged over its views.

    In eval mode (BatchNorm's running statistics, left untouched); the model's mode is restored.
    """
    with _eval_mode(model):
        return _Scorers(model, (protocol,), sizes, bf16)(images)[protocol]


@dataclass(frozen=True)
class ProtocolResult:
    protocol: str
    correct: int
    images: int
    views: int  # forward passes per test image
    sizes: tuple[int, ...]

    @property
    def accuracy(self) -> float:
        return self.correct / self.images


def evaluate_protocol(model: nn.Module, loader, protocol: str, device: torch.device | str = "cpu", bf16: bool = False,
                      sizes: tuple[int, ...] = DENSE_SIZES) -> ProtocolResult:  # fmt: skip
    """Test accuracy of ``model`` under one protocol, in eval mode, over every batch of ``loader``."""
    return evaluate_protocols(model, loader, (protocol,), device, bf16, sizes)[0]


def evaluate_protocols(model: nn.Module, loader, protocols: tuple[str, ...] = PROTOCOLS, device: torch.device | str = "cpu",
                       bf16: bool = False, sizes: tuple[int, ...] = DENSE_SIZES) -> list[ProtocolResult]:  # fmt: skip
    """Every protocol on the same weights and the same test images, in the order given.

    One pass over ``loader``: a view that two protocols share is computed once.
    """
    protocols = tuple(protocols)
    device = torch.device(device)

    correct, seen = dict.fromkeys(protocols, 0), 0
    with _eval_mode(model):
        scorers = _Scorers(model, protocols, sizes, bf16)
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            for protocol, probabilities in scorers(images).items():
                correct[protocol] += int((probabilities.argmax(1) == labels).sum())
            seen += len(labels)
    if not seen:
        raise ValueError("the evaluation loader yielded no batches; the split is empty")
    return [ProtocolResult(protocol, correct[protocol], seen, view_count(protocol, sizes), _sizes(protocol, sizes))
            for protocol in protocols]  # fmt: skip
