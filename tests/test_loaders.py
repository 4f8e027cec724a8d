"""Split -> batches: both input paths augment, normalise and order batches the same way."""

import pytest
import torch

from labkit import lab, loaders
from labkit.data import Split, load_split


def constant_split(value=255, count=64):
    images = torch.full((count, 3, 32, 32), value, dtype=torch.uint8)
    return Split(images, torch.zeros(count, dtype=torch.long), ("a",), "train")


def candidates(image):
    """Every image that RandomCrop(32, padding=4) + RandomHorizontalFlip can make from ``image``."""
    padded = torch.nn.functional.pad(image, (4, 4, 4, 4))
    crops = [padded[:, y : y + 32, x : x + 32] for y in range(9) for x in range(9)]
    return crops + [crop.flip(-1) for crop in crops]


def test_crop_and_flip_matches_slicing_the_padded_image():
    images = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8)
    rows, cols, flips = torch.tensor([0, 8, 4, 2, 7]), torch.tensor([8, 0, 4, 5, 1]), torch.tensor([0, 1, 0, 1, 1])
    out = loaders.crop_and_flip(images, rows, cols, flips)
    for i in range(5):
        padded = torch.nn.functional.pad(images[i], (4, 4, 4, 4))
        expected = padded[:, rows[i] : rows[i] + 32, cols[i] : cols[i] + 32]
        assert torch.equal(out[i], expected.flip(-1) if flips[i] else expected)


@pytest.mark.parametrize("path", ["fast", "reference"])
def test_training_batches_are_crops_and_flips_of_the_originals(path):
    images = torch.randint(0, 256, (12, 3, 32, 32), dtype=torch.uint8)
    split = Split(images, torch.arange(12) % 2, ("a", "b"), "train")
    loader = loaders.make_loader(split, batch_size=12, train=True, path=path, seed=3)
    batch, labels = next(iter(loader))
    assert batch.shape == (12, 3, 32, 32) and batch.dtype == torch.float32
    for augmented, label in zip(batch, labels):
        matches = [
            i for i in range(12)
            if labels.new_tensor(int(split.labels[i])) == label
            and any(torch.equal(loaders.normalize(c.unsqueeze(0))[0], augmented) for c in candidates(images[i]))
        ]  # fmt: skip
        assert matches, "an augmented image is not a crop/flip of any original"


@pytest.mark.parametrize("path", ["fast", "reference"])
def test_padding_is_zero_before_normalisation_and_values_stay_in_range(path):
    loader = loaders.make_loader(constant_split(255), batch_size=64, train=True, path=path, seed=0)
    batch, _ = next(iter(loader))
    low = torch.tensor([(0 - m) / s for m, s in zip(lab.MEAN, lab.STD)]).view(1, 3, 1, 1)
    high = torch.tensor([(1 - m) / s for m, s in zip(lab.MEAN, lab.STD)]).view(1, 3, 1, 1)
    is_low = torch.isclose(batch, low.expand_as(batch))
    is_high = torch.isclose(batch, high.expand_as(batch))
    assert (is_low | is_high).all(), "values other than padding (0) and image (255) appeared"
    assert is_low.any(), "64 random crops never showed the zero padding"


@pytest.mark.parametrize("path", ["fast", "reference"])
def test_augmentation_varies_between_epochs_and_repeats_for_the_same_epoch(path):
    images = torch.randint(0, 256, (32, 3, 32, 32), dtype=torch.uint8)
    split = Split(images, torch.zeros(32, dtype=torch.long), ("a",), "train")
    loader = loaders.make_loader(split, batch_size=32, train=True, path=path, seed=1)
    loader.set_epoch(1)
    first, _ = next(iter(loader))
    again, _ = next(iter(loader))
    loader.set_epoch(2)
    second, _ = next(iter(loader))
    assert torch.equal(first, again)
    assert not torch.equal(first, second)


def test_fast_and_reference_paths_give_identical_test_tensors(image_folder):
    split = load_split("test", root=image_folder)
    fast = list(loaders.make_loader(split, batch_size=5, train=False, path="fast"))
    reference = list(loaders.make_loader(split, batch_size=5, train=False, path="reference"))
    assert len(fast) == len(reference) == 2  # 9 images in batches of 5
    for (x_fast, y_fast), (x_ref, y_ref) in zip(fast, reference):
        assert torch.equal(x_fast, x_ref) and torch.equal(y_fast, y_ref)


def test_test_batches_are_only_normalised_and_in_order(image_folder):
    split = load_split("test", root=image_folder)
    batch, labels = next(iter(loaders.TensorLoader(split, batch_size=len(split), train=False)))
    assert torch.equal(labels, split.labels)
    assert torch.equal(batch, loaders.normalize(split.images))


def test_fast_loader_can_hand_out_channels_last_batches(image_folder):
    split = load_split("test", root=image_folder)
    batch, _ = next(iter(loaders.TensorLoader(split, batch_size=4, train=False, channels_last=True)))
    assert batch.is_contiguous(memory_format=torch.channels_last)


def test_the_normalisation_constants_are_made_once_per_device_not_per_batch(monkeypatch):
    made = []
    original = torch.tensor
    monkeypatch.setattr(torch, "tensor", lambda *args, **kwargs: made.append(args) or original(*args, **kwargs))
    loaders.channel_stats.cache_clear()
    split = Split(torch.zeros(40, 3, 32, 32, dtype=torch.uint8), torch.zeros(40, dtype=torch.long), ("a",), "train")
    for train in (True, False):
        assert len(list(loaders.make_loader(split, batch_size=8, train=train, path="fast"))) == 5
    assert len(made) == 2  # MEAN and STD, once
