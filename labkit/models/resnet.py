"""Residual networks (He et al., 2016) with a stem for 32x32 inputs, and their plain counterparts.

The ImageNet stem (7x7/2 conv, then a 3x3/2 max-pool) would shrink a CIFAR
image to 8x8 before the first residual stage, so the stem here is one 3x3
stride-1 conv and there is no max-pool.  Later stages halve the resolution with
a stride-2 convolution in their first block, as in the paper: on the first 1x1
conv of a bottleneck, on the first 3x3 conv of a basic block.

Two families share one class.  The ImageNet-width networks (resnet18-152:
widths 64/128/256/512) use a projection shortcut where shapes change.  The
CIFAR networks of the paper's section 4.2 (resnet20-110: 6n+2 layers, widths
16/32/64) use its option A, an identity shortcut zero-padded where the width
grows, so every shortcut is free of parameters.  A ``plain`` network is the
same network with its shortcuts removed and nothing else changed: the paper's
baseline for the degradation problem.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from ..lab import LAB_CLASSES

SHORTCUTS = ("projection", "zero-pad", "none")
IMAGENET_WIDTHS = (64, 128, 256, 512)
CIFAR_WIDTHS = (16, 32, 64)
CIFAR_DEPTHS = (20, 32, 44, 56, 110)


class Projection(nn.Module):
    """1x1 conv (with bias) and BatchNorm: the shortcut where shapes change."""

    def __init__(self, in_planes: int, out_planes: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=True)
        self.bn = nn.BatchNorm2d(out_planes)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(x))


class ZeroPadShortcut(nn.Module):
    """The paper's option A: subsample by the stride and append zero channels; no parameters."""

    def __init__(self, in_planes: int, out_planes: int, stride: int) -> None:
        super().__init__()
        if out_planes < in_planes:
            raise ValueError(f"a zero-padded shortcut cannot narrow {in_planes} channels to {out_planes}")
        self.stride = stride
        self.extra = out_planes - in_planes

    def forward(self, x: Tensor) -> Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra)) if self.extra else x


def _shortcut(kind: str, in_planes: int, out_planes: int, stride: int) -> nn.Module | None:
    if kind not in SHORTCUTS:
        raise ValueError(f"unknown shortcut {kind!r}; use one of {', '.join(SHORTCUTS)}")
    if kind == "none":
        return None
    if stride == 1 and in_planes == out_planes:
        return nn.Identity()
    return (Projection if kind == "projection" else ZeroPadShortcut)(in_planes, out_planes, stride)


class BasicBlock(nn.Module):
    """Two 3x3 convs; used by ResNet-18 and -34 and by the CIFAR ResNets."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1, shortcut: str = "projection") -> None:
        super().__init__()
        out_planes = planes * self.expansion
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, out_planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = _shortcut(shortcut, in_planes, out_planes, stride)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out if self.shortcut is None else out + self.shortcut(x))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand: keeps deep networks affordable."""

    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1, shortcut: str = "projection") -> None:
        super().__init__()
        out_planes = planes * self.expansion
        self.conv1 = nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = _shortcut(shortcut, in_planes, out_planes, stride)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out if self.shortcut is None else out + self.shortcut(x))


class ResNet(nn.Module):
    """CIFAR stem, one residual stage per width (the first at stride 1, the rest at stride 2), global pool, linear."""

    def __init__(
        self,
        block: type[BasicBlock | Bottleneck],
        layers: list[int],
        num_classes: int = len(LAB_CLASSES),
        widths: tuple[int, ...] = IMAGENET_WIDTHS,
        shortcut: str = "projection",
    ) -> None:
        super().__init__()
        if len(layers) != len(widths):
            raise ValueError(f"{len(layers)} stage depths for {len(widths)} stage widths; give one depth per width")
        self.stem = nn.Sequential(
            nn.Conv2d(3, widths[0], kernel_size=3, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        )
        in_planes = widths[0]
        self.num_stages = len(widths)
        for index, (planes, blocks) in enumerate(zip(widths, layers)):
            stride = 1 if index == 0 else 2
            stage = []
            for block_index in range(blocks):
                stage.append(block(in_planes, planes, stride if block_index == 0 else 1, shortcut))
                in_planes = planes * block.expansion
            self.add_module(f"layer{index + 1}", nn.Sequential(*stage))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_planes, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        for index in range(self.num_stages):
            x = getattr(self, f"layer{index + 1}")(x)
        return self.fc(self.avgpool(x).flatten(1))


def resnet18(num_classes: int = len(LAB_CLASSES)) -> ResNet:
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes)


def resnet34(num_classes: int = len(LAB_CLASSES)) -> ResNet:
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes)


def resnet50(num_classes: int = len(LAB_CLASSES)) -> ResNet:
    """The lab's model: 16 bottleneck blocks, 23,510,339 parameters for 3 classes."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes)


def resnet101(num_classes: int = len(LAB_CLASSES)) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes)


def resnet152(num_classes: int = len(LAB_CLASSES)) -> ResNet:
    return ResNet(Bottleneck, [3, 8, 36, 3], num_classes)


def plain18(num_classes: int = len(LAB_CLASSES)) -> ResNet:
    """ResNet-18 without its shortcuts: the paper's 18-layer plain baseline."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, shortcut="none")


def plain34(num_classes: int = len(LAB_CLASSES)) -> ResNet:
    """ResNet-34 without its shortcuts: the plain net the paper found worse than plain-18."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, shortcut="none")


def cifar_resnet(depth: int, num_classes: int = len(LAB_CLASSES), plain: bool = False) -> ResNet:
    """The paper's CIFAR-10 network of ``depth`` = 6n+2 layers: n basic blocks on each of 32, 16 and 8 pixel maps."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(f"a CIFAR ResNet has 6n+2 layers (20, 32, 44, 56, 110, ...), got depth {depth!r}")
    blocks = (depth - 2) // 6
    return ResNet(BasicBlock, [blocks] * 3, num_classes, CIFAR_WIDTHS, "none" if plain else "zero-pad")


def resnet20(num_classes: int = len(LAB_CLASSES)) -> ResNet:
    return cifar_resnet(20, num_classes)


def resnet32(num_classes: int = len(LAB_CLASSES)) -> ResNet:
    return cifar_resnet(32, num_classes)


def resnet44(num_classes: int = len(LAB_CLASSES)) -> ResNet:
    return cifar_resnet(44, num_classes)


def resnet56(num_classes: int = len(LAB_CLASSES)) -> ResNet:
    return cifar_resnet(56, num_classes)


def resnet110(num_classes: int = len(LAB_CLASSES)) -> ResNet:
    return cifar_resnet(110, num_classes)


def plain20(num_classes: int = len(LAB_CLASSES)) -> ResNet:
    return cifar_resnet(20, num_classes, plain=True)


def plain32(num_classes: int = len(LAB_CLASSES)) -> ResNet:
    return cifar_resnet(32, num_classes, plain=True)


def plain44(num_classes: int = len(LAB_CLASSES)) -> ResNet:
    return cifar_resnet(44, num_classes, plain=True)


def plain56(num_classes: int = len(LAB_CLASSES)) -> ResNet:
    return cifar_resnet(56, num_classes, plain=True)


def plain110(num_classes: int = len(LAB_CLASSES)) -> ResNet:
    return cifar_resnet(110, num_classes, plain=True)
