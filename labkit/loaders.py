"""Feeding a split to a model, batch by batch: the fast path and the reference path.

Both paths apply the same augmentation (random crop with zero padding, random
horizontal flip) and normalisation, and draw each epoch's order and
augmentation from ``(seed, epoch)`` alone:

* the fast path (:class:`TensorLoader`, the default) keeps the split on the
  training device and crops, flips and normalises whole batches there;
* the reference path (:class:`ReferenceLoader`) is the textbook pipeline of
  torchvision transforms on PIL images behind a ``DataLoader``.

Under torchrun each rank draws the same epoch order and trains on its own
shard of it (:func:`labkit.distributed.shard`; the reference path through
torch's ``DistributedSampler``).
"""

from __future__ import annotations

import functools
import math
from typing import Iterator

import torch
from torch import Tensor
from torch.nn import functional as F

from .data import Split
from .distributed import SINGLE, World, shard
from .lab import CROP_PADDING, IMAGE_SIZE, INPUT_PATHS, MEAN, STD


@functools.lru_cache(maxsize=None)
def channel_stats(device: torch.device) -> tuple[Tensor, Tensor]:
    """MEAN and STD as ``(1, 3, 1, 1)`` tensors on ``device``, made once per device.

    Made per batch they would be two blocking host-to-device copies per batch on a GPU.
    """
    return (torch.tensor(MEAN, device=device).view(1, 3, 1, 1), torch.tensor(STD, device=device).view(1, 3, 1, 1))


def normalize(images: Tensor) -> Tensor:
    """uint8 images to normalised float32, in the same operation order as ToTensor+Normalize."""
    mean, std = channel_stats(images.device)
    return images.float().div(255).sub_(mean).div_(std)


def crop_and_flip(images: Tensor, rows: Tensor, cols: Tensor, flips: Tensor) -> Tensor:
    """Random-crop-with-padding and horizontal flip for a whole uint8 batch in one gather.

    ``rows``/``cols`` are each image's crop offset into the zero-padded image
    (0..2*padding) and ``flips`` says which images are mirrored; this matches
    ``RandomCrop(32, padding=4)`` followed by ``RandomHorizontalFlip()``.
    """
    n, channels, height, width = images.shape
    padded = F.pad(images, (CROP_PADDING,) * 4)
    steps_y = torch.arange(height, device=images.device)
    steps_x = torch.arange(width, device=images.device)
    y = rows.view(n, 1) + steps_y.view(1, height)
    x_forward = cols.view(n, 1) + steps_x.view(1, width)
    x = torch.where(flips.view(n, 1).bool(), x_forward.flip(1), x_forward)
    batch = torch.arange(n, device=images.device).view(n, 1, 1, 1)
    channel = torch.arange(channels, device=images.device).view(1, channels, 1, 1)
    return padded[batch, channel, y.view(n, 1, height, 1), x.view(n, 1, 1, width)]


def _epoch_generator(seed: int, epoch: int, device: torch.device) -> torch.Generator:
    # Seeding per epoch makes each epoch's order and augmentation depend only on
    # (seed, epoch), which is what lets a resumed run repeat an uninterrupted one.
    generator = torch.Generator(device=device)
    generator.manual_seed(seed * 100_003 + epoch)
    return generator


class _EpochLoader:
    """What both input paths share: a batch size, a split's size and classes, and the epoch to draw."""

    def __init__(self, split: Split, batch_size: int, train: bool, seed: int, world: World = SINGLE) -> None:
        if batch_size < 1:
            raise ValueError(f"batch size must be positive, got {batch_size}")
        self.world = world if train else SINGLE  # a test split is sharded by the caller, in order
        self.size = len(shard(torch.arange(len(split)), self.world))  # this rank's images per epoch
        self.classes = split.classes
        self.batch_size = batch_size
        self.train = train
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order and augmentation the next iteration draws."""
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(self.size / self.batch_size)


class TensorLoader(_EpochLoader):
    """Batches drawn from a split that lives on the training device.

    Shuffling, crops and flips for a whole epoch are drawn up front on the
    device, so iterating costs one gather and one normalisation per batch and no
    host work per image.
    """

    def __init__(
        self,
        split: Split,
        batch_size: int,
        train: bool,
        device: torch.device | str = "cpu",
        seed: int = 0,
        channels_last: bool = False,
        world: World = SINGLE,
    ) -> None:
        super().__init__(split, batch_size, train, seed, world)
        self.device = torch.device(device)
        self.images = split.images.to(self.device)
        self.labels = split.labels.to(self.device)
        self.channels_last = channels_last

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        n = len(self.labels)
        if self.train:
            # Every rank draws the whole epoch alike, then keeps its shard of the order.
            generator = _epoch_generator(self.seed, self.epoch, self.device)
            order = torch.randperm(n, generator=generator, device=self.device)
            span = 2 * CROP_PADDING + 1
            offsets = torch.randint(0, span, (2, n), generator=generator, device=self.device)
            flips = torch.randint(0, 2, (n,), generator=generator, device=self.device)
            order = shard(order, self.world)
        for start in range(0, self.size, self.batch_size):
            if self.train:
                index = order[start : start + self.batch_size]
                batch = crop_and_flip(self.images[index], offsets[0, index], offsets[1, index], flips[index])
                labels = self.labels[index]
            else:
                batch = self.images[start : start + self.batch_size]
                labels = self.labels[start : start + self.batch_size]
            batch = normalize(batch)
            if self.channels_last:
                batch = batch.contiguous(memory_format=torch.channels_last)
            yield batch, labels


# --------------------------------------------------------------------------- reference path


def reference_transform(train: bool):
    """The lab's torchvision pipeline, as a textbook would write it."""
    from torchvision import transforms

    steps = [transforms.RandomCrop(IMAGE_SIZE, padding=CROP_PADDING), transforms.RandomHorizontalFlip()] if train else []
    return transforms.Compose([*steps, transforms.ToTensor(), transforms.Normalize(MEAN, STD)])


class ImageDataset(torch.utils.data.Dataset):
    """A split seen one PIL image at a time, for the reference pipeline."""

    def __init__(self, split: Split, transform) -> None:
        self.images = split.images.permute(0, 2, 3, 1).contiguous().numpy()
        self.labels = split.labels.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        from PIL import Image

        return self.transform(Image.fromarray(self.images[index])), self.labels[index]


class ReferenceLoader(_EpochLoader):
    """``DataLoader`` over PIL images, reseeded per epoch like :class:`TensorLoader`."""

    def __init__(self, split: Split, batch_size: int, train: bool, seed: int = 0, num_workers: int = 0,
                 world: World = SINGLE) -> None:  # fmt: skip
        super().__init__(split, batch_size, train, seed, world)
        self.dataset = ImageDataset(split.to("cpu"), reference_transform(train))
        self.num_workers = num_workers

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        generator = _epoch_generator(self.seed, self.epoch, torch.device("cpu"))
        sampler = None
        if self.world.size > 1:
            sampler = torch.utils.data.DistributedSampler(
                self.dataset, self.world.size, self.world.rank, shuffle=True, seed=self.seed
            )
            sampler.set_epoch(self.epoch)
        loader = torch.utils.data.DataLoader(
            self.dataset,
            batch_size=self.batch_size,
            shuffle=self.train and sampler is None,
            sampler=sampler,
            generator=generator,
            num_workers=self.num_workers,
            persistent_workers=False,
        )
        if self.num_workers == 0 and self.train:
            # Transforms then draw from the global generator; fork it so the
            # epoch's augmentation depends on (seed, epoch, rank) alone.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator)) + self.world.rank)
                yield from loader
        else:
            yield from loader


def make_loader(
    split: Split,
    batch_size: int,
    train: bool,
    device: torch.device | str = "cpu",
    seed: int = 0,
    path: str = "fast",
    channels_last: bool = False,
    num_workers: int = 0,
    world: World = SINGLE,
):
    """A loader for ``split`` on the chosen input path (``"fast"`` or ``"reference"``).

    A training loader in a ``world`` of several ranks yields this rank's shard of each epoch.
    """
    if path == "fast":
        return TensorLoader(split, batch_size, train, device, seed, channels_last, world)
    if path == "reference":
        return ReferenceLoader(split, batch_size, train, seed, num_workers, world)
    raise ValueError(f"unknown input path {path!r}; use one of {', '.join(INPUT_PATHS)}")
