"""VGG networks (Simonyan & Zisserman, 2015) sized for 32x32 inputs.

Five 2x2 max-pools take a 32x32 image down to 1x1, so the classifier sees a
512-vector instead of ImageNet's 512x7x7 map; everything else follows the
paper's configuration table.
"""

from __future__ import annotations

from torch import Tensor, nn

from ..lab import LAB_CLASSES

# Numbers are conv3 output widths, "M" is a 2x2/2 max-pool.  Keys are the
# paper's column names: A=VGG11, B=VGG13, D=VGG16, E=VGG19.
cfgs: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [
        64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
        512, 512, 512, 512, "M", 512, 512, 512, 512, "M",
    ],
}  # fmt: skip


def make_layers(cfg: list[int | str], batch_norm: bool = True, in_channels: int = 3) -> nn.Sequential:
    """Turn one column of the configuration table into the convolutional trunk."""
    layers: list[nn.Module] = []
    for item in cfg:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        width = int(item)
        layers.append(nn.Conv2d(in_channels, width, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(width))
        layers.append(nn.ReLU(inplace=True))
        in_channels = width
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """A VGG trunk followed by the paper's three fully connected layers."""

    def __init__(
        self,
        features: nn.Sequential,
        num_classes: int = len(LAB_CLASSES),
        hidden: int = 4096,
        dropout: float = 0.0,
        feature_width: int = 512,
    ) -> None:
        super().__init__()
        self.features = features
        head: list[nn.Module] = [nn.Linear(feature_width, hidden), nn.ReLU(inplace=True)]
        if dropout > 0:
            head.append(nn.Dropout(dropout))
        head += [nn.Linear(hidden, hidden), nn.ReLU(inplace=True)]
        if dropout > 0:
            head.append(nn.Dropout(dropout))
        head.append(nn.Linear(hidden, num_classes))
        self.classifier = nn.Sequential(*head)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        return self.classifier(x.flatten(1))


def _vgg(config: str, num_classes: int, batch_norm: bool, hidden: int, dropout: float) -> VGG:
    return VGG(make_layers(cfgs[config], batch_norm), num_classes, hidden, dropout)


def vgg11(num_classes: int = len(LAB_CLASSES), batch_norm: bool = True, hidden: int = 4096, dropout: float = 0.0) -> VGG:
    """Configuration A (8 conv + 3 FC weight layers)."""
    return _vgg("A", num_classes, batch_norm, hidden, dropout)


def vgg13(num_classes: int = len(LAB_CLASSES), batch_norm: bool = True, hidden: int = 4096, dropout: float = 0.0) -> VGG:
    """Configuration B (10 conv + 3 FC weight layers)."""
    return _vgg("B", num_classes, batch_norm, hidden, dropout)


def vgg16(num_classes: int = len(LAB_CLASSES), batch_norm: bool = True, hidden: int = 4096, dropout: float = 0.0) -> VGG:
    """Configuration D, the lab's model: BatchNorm after every conv, no dropout."""
    return _vgg("D", num_classes, batch_norm, hidden, dropout)


def vgg19(num_classes: int = len(LAB_CLASSES), batch_norm: bool = True, hidden: int = 4096, dropout: float = 0.0) -> VGG:
    """Configuration E (16 conv + 3 FC weight layers)."""
    return _vgg("E", num_classes, batch_norm, hidden, dropout)
