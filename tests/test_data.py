import os
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from labkit import data
from labkit.data import DataError, load_split

from .conftest import CLASSES, PER_CLASS, fake_pixels


def chw(pixels):
    return torch.from_numpy(pixels.transpose(2, 0, 1).copy())


# --------------------------------------------------------------------------- loading


@pytest.mark.parametrize("layout", ["image_folder", "archive_root"])
def test_loads_chosen_classes_with_labels_in_the_order_given(layout, request):
    root = request.getfixturevalue(layout)
    split = load_split("train", ["bird", "airplane"], root=root)
    assert split.classes == ("bird", "airplane")
    assert split.images.dtype == torch.uint8 and split.images.shape == (2 * PER_CLASS["train"], 3, 32, 32)
    assert split.class_counts() == {"bird": PER_CLASS["train"], "airplane": PER_CLASS["train"]}
    for image, label in zip(split.images, split.labels):
        original_class = CLASSES.index(split.classes[label])
        assert any(
            torch.equal(image, chw(fake_pixels("train", original_class, i))) for i in range(PER_CLASS["train"])
        )


def test_both_layouts_give_the_same_split(image_folder, archive_root):
    from_folder = load_split("test", root=image_folder)
    from_archive = load_split("test", root=archive_root)
    assert torch.equal(from_folder.images, from_archive.images)
    assert torch.equal(from_folder.labels, from_archive.labels)


@pytest.mark.parametrize("layout", ["image_folder", "archive_root"])
def test_per_class_limit_takes_the_first_images_of_each_class(layout, request):
    root = request.getfixturevalue(layout)
    split = load_split("train", ["automobile", "cat"], root=root, per_class=2)
    assert split.labels.tolist() == [0, 0, 1, 1]
    expected = [fake_pixels("train", 1, 0), fake_pixels("train", 1, 1), fake_pixels("train", 3, 0), fake_pixels("train", 3, 1)]
    for image, pixels in zip(split.images, expected):
        assert torch.equal(image, chw(pixels))


def test_root_comes_from_argument_then_environment_then_the_user_cache(image_folder, monkeypatch, tmp_path):
    monkeypatch.setenv("LABKIT_DATA", str(image_folder))
    assert len(load_split("test")) == 3 * PER_CLASS["test"]
    monkeypatch.delenv("LABKIT_DATA")
    monkeypatch.chdir(tmp_path)  # the default never depends on the working folder (notebooks run in notebooks/)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.data_root() == tmp_path / "xdg" / "labkit" / "data"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for unset_or_relative in ("", "relative/cache"):
        monkeypatch.setenv("XDG_CACHE_HOME", unset_or_relative)
        assert data.data_root() == tmp_path / "home" / ".cache" / "labkit" / "data"
    with pytest.raises(DataError, match=f"data root {tmp_path / 'home'}.* does not exist"):
        load_split("test")


def test_the_data_root_is_not_the_decoded_image_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("LABKIT_DATA", raising=False)
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "decoded"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.data_root() == tmp_path / "xdg" / "labkit" / "data"
    assert data.cache_root() == tmp_path / "decoded"


def test_second_load_comes_from_the_cache_without_decoding(image_folder, monkeypatch):
    first = load_split("train", root=image_folder)
    monkeypatch.setattr(data, "_decode", lambda path: pytest.fail(f"decoded {path} again"))
    second = load_split("train", root=image_folder)
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)


def test_cache_is_rebuilt_when_an_image_changes(image_folder):
    before = load_split("train", root=image_folder)
    path = image_folder / "train" / "airplane" / "0000.png"
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(path)
    os.utime(path, ns=(1, 1))
    after = load_split("train", root=image_folder)
    assert not torch.equal(before.images[0], after.images[0])
    assert int(after.images[0].sum()) == 0


def test_cache_folder_is_where_labkit_cache_says(image_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "my-cache"))
    load_split("test", root=image_folder)
    assert list((tmp_path / "my-cache").glob("cifar10-test-*.npz"))


# --------------------------------------------------------------------------- bad input


def test_missing_root_names_the_path_the_variable_and_both_remedies(tmp_path):
    with pytest.raises(DataError) as error:
        load_split("train", root=tmp_path / "nowhere")
    message = str(error.value)
    assert str(tmp_path / "nowhere") in message and "LABKIT_DATA" in message
    assert "train/<class>" in message and "cifar-10-batches-py" in message
    assert "downloading is turned off by LABKIT_OFFLINE" in message and "unset LABKIT_OFFLINE" in message


def test_wrong_layout_is_reported(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(DataError, match="wrong layout"):
        load_split("train", root=tmp_path)


def test_a_half_image_folder_is_reported_not_downloaded_over(image_folder, monkeypatch):
    monkeypatch.setattr(data, "download_cifar10", lambda root: pytest.fail(f"downloaded into {root}"))
    shutil.rmtree(image_folder / "test")
    with pytest.raises(DataError, match="wrong layout: it holds train/ but no test/ folder"):
        load_split("train", root=image_folder, download=True)


def test_unknown_class_lists_the_valid_names(image_folder):
    with pytest.raises(DataError, match="unknown class name.*'plane'.*valid names are: airplane, automobile, bird, cat"):
        load_split("train", ["plane"], root=image_folder)


def test_empty_class_folder_is_an_error(image_folder):
    for path in (image_folder / "train" / "bird").iterdir():
        path.unlink()
    with pytest.raises(DataError, match="bird is empty"):
        load_split("train", root=image_folder)


def test_corrupt_image_is_named(image_folder):
    broken = image_folder / "train" / "bird" / "0002.png"
    broken.write_bytes(broken.read_bytes()[:40])
    with pytest.raises(DataError, match="cannot read image .*0002.png"):
        load_split("train", root=image_folder)


def test_non_image_file_is_named(image_folder):
    (image_folder / "train" / "automobile" / "notes.txt").write_text("not an image")
    with pytest.raises(DataError, match="cannot read image .*notes.txt"):
        load_split("train", root=image_folder)


def test_image_of_the_wrong_size_is_named_with_its_size(image_folder):
    Image.new("RGB", (64, 48)).save(image_folder / "test" / "cat" / "0001.png")
    with pytest.raises(DataError, match=r"0001.png is 64x48 pixels.*32x32"):
        load_split("test", ["cat"], root=image_folder)


def test_grayscale_images_are_converted_to_rgb(image_folder):
    Image.new("L", (32, 32), color=200).save(image_folder / "test" / "cat" / "0000.png")
    split = load_split("test", ["cat"], root=image_folder)
    assert split.images.shape[1] == 3 and int(split.images[0].min()) == 200


def test_per_class_limit_larger_than_the_data_is_an_error(image_folder):
    with pytest.raises(DataError, match="per-class limit 50 is larger than the 6 images"):
        load_split("train", root=image_folder, per_class=50)


# --------------------------------------------------------------------------- the real data


@pytest.mark.shared_data
def test_shared_cifar10_lab_subset(shared_data):
    train, test = data.load_lab_data(root=shared_data)
    assert (len(train), len(test)) == (15_000, 3_000)
    assert train.classes == test.classes == ("airplane", "automobile", "bird")
    assert train.class_counts() == {"airplane": 5000, "automobile": 5000, "bird": 5000}
    assert test.class_counts() == {"airplane": 1000, "automobile": 1000, "bird": 1000}
    assert train.labels[:5000].eq(0).all() and train.labels[-5000:].eq(2).all()
    first = np.asarray(Image.open(shared_data / "train" / "automobile" / "0000.jpg").convert("RGB"))
    assert torch.equal(train.images[5000], chw(first))


@pytest.mark.shared_data
def test_shared_cifar10_other_classes_and_limits(shared_data):
    split = load_split("test", ["truck", "cat"], root=shared_data, per_class=10)
    assert split.labels.tolist() == [0] * 10 + [1] * 10
    first_truck = np.asarray(Image.open(shared_data / "test" / "truck" / "0000.jpg").convert("RGB"))
    assert torch.equal(split.images[0], chw(first_truck))


def test_a_split_says_where_its_pixels_came_from(image_folder, archive_root):
    from labkit.data import is_jpeg_reencoding

    from_folder = load_split("test", CLASSES, image_folder)
    from_archive = load_split("test", CLASSES, archive_root)
    assert from_folder.source == {"layout": "image folder", "encoding": "png"}
    assert from_archive.source == {"layout": "CIFAR-10 python archive", "encoding": "original (lossless)"}
    assert from_folder.checksum() == from_archive.checksum()  # the same pixels, whichever layout held them
    assert not is_jpeg_reencoding({"data": from_folder.source})
    assert is_jpeg_reencoding({"data": {"encoding": "JPEG"}})
