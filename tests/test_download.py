"""Downloading CIFAR-10, from a tiny archive in its python format served on 127.0.0.1, never the internet."""

import functools
import hashlib
import http.server
import json
import pickle
import socket
import tarfile
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from labkit import cli, data
from labkit.data import ARCHIVE_FOLDER, DataError, load_lab_data, load_split
from labkit.lab import CIFAR10_CLASSES, LAB_CLASSES

from .conftest import fake_pixels

PER_CLASS = {"train": 3, "test": 2}
BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}


def write_archive_folder(folder: Path) -> None:
    """The real archive's files and keys; rows interleaved by class, as the real batches are."""
    folder.mkdir(parents=True)
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump({"label_names": list(CIFAR10_CLASSES), "num_vis": 3072}, handle)
    for split, names in BATCHES.items():
        pairs = [(i, c) for i in range(PER_CLASS[split]) for c in range(len(CIFAR10_CLASSES))]
        for name, chunk in zip(names, np.array_split(np.arange(len(pairs)), len(names))):
            rows = [fake_pixels(split, pairs[k][1], pairs[k][0]).transpose(2, 0, 1).reshape(-1) for k in chunk]
            batch = {"data": np.stack(rows), "labels": [pairs[k][1] for k in chunk], "batch_label": name}
            with open(folder / name, "wb") as handle:
                pickle.dump(batch, handle)


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


class _Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def served(tmp_path, monkeypatch):
    """The tiny archive on a local HTTP server; labkit's URL and checksums point at it, downloads are on."""
    source = tmp_path / "source"
    write_archive_folder(source / ARCHIVE_FOLDER)
    public = tmp_path / "public"
    public.mkdir()
    archive = public / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source / ARCHIVE_FOLDER, arcname=ARCHIVE_FOLDER)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(public)))
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(data, "CIFAR10_URL", f"http://127.0.0.1:{server.server_address[1]}/{archive.name}")
    monkeypatch.setattr(data, "CIFAR10_MD5", md5(archive))
    monkeypatch.setattr(data, "_ARCHIVE_MD5", {name: md5(path) for name, path in _files(source / ARCHIVE_FOLDER)})
    monkeypatch.delenv("LABKIT_OFFLINE", raising=False)
    monkeypatch.delenv("LABKIT_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("no_proxy", "*")  # a proxy set in the environment must not see 127.0.0.1
    try:
        yield SimpleNamespace(requests=server.requests, root=tmp_path / "xdg" / "labkit" / "data")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _files(folder: Path):
    return sorted((path.name, path) for path in folder.iterdir())


def chw(pixels):
    return torch.from_numpy(pixels.transpose(2, 0, 1).copy())


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --------------------------------------------------------------------------- downloading


def test_missing_data_is_downloaded_into_the_user_cache_once(served, capsys):
    train, test = load_lab_data()
    folder = served.root / ARCHIVE_FOLDER
    assert sorted(path.name for path in folder.iterdir()) == sorted(data._ARCHIVE_MD5)
    assert list(served.root.iterdir()) == [folder], "the temporary download folder is removed"
    said = capsys.readouterr().out
    assert "downloading CIFAR-10" in said and data.CIFAR10_URL in said and str(folder) in said
    for split in (train, test):
        count = PER_CLASS[split.name]
        assert split.classes == LAB_CLASSES and split.labels.tolist() == sum(([k] * count for k in range(3)), [])
        for position, image in enumerate(split.images):
            class_index, image_index = divmod(position, count)
            assert torch.equal(image, chw(fake_pixels(split.name, class_index, image_index)))
    requests = len(served.requests)
    assert requests > 0
    again, _ = load_lab_data()
    assert len(served.requests) == requests, "a second load downloaded again"
    assert torch.equal(again.images, train.images)


def test_download_true_downloads_even_when_offline(served, monkeypatch):
    monkeypatch.setenv("LABKIT_OFFLINE", "1")
    assert len(load_split("test", download=True)) == 3 * PER_CLASS["test"]
    assert (served.root / ARCHIVE_FOLDER / "test_batch").is_file()


def test_a_damaged_archive_leaves_nothing_behind(served, monkeypatch):
    monkeypatch.setattr(data, "CIFAR10_MD5", "0" * 32)
    with pytest.raises(DataError) as error:
        load_lab_data()
    message = str(error.value)
    assert "wrong MD5 checksum" in message and data.CIFAR10_URL in message and "LABKIT_DATA" in message
    assert list(served.root.iterdir()) == []


def test_a_damaged_file_in_the_archive_leaves_nothing_behind(served, monkeypatch):
    monkeypatch.setitem(data._ARCHIVE_MD5, "test_batch", "0" * 32)
    with pytest.raises(DataError, match=f"{ARCHIVE_FOLDER}/test_batch .*wrong MD5 checksum"):
        load_lab_data()
    assert list(served.root.iterdir()) == []


def test_no_network_is_a_data_error_naming_the_url_and_both_remedies(served, monkeypatch):
    url = f"http://127.0.0.1:{closed_port()}/x.tar.gz"
    monkeypatch.setattr(data, "CIFAR10_URL", url)
    with pytest.raises(DataError) as error:
        load_lab_data()
    message = str(error.value)
    assert f"downloading CIFAR-10 from {url} failed" in message and "URLError" in message
    assert "LABKIT_DATA" in message and "internet" in message and str(served.root) in message
    assert list(served.root.iterdir()) == []


# --------------------------------------------------------------------------- downloading forbidden


def test_offline_without_data_names_both_remedies_and_downloads_nothing(served, monkeypatch):
    monkeypatch.setenv("LABKIT_OFFLINE", "1")
    with pytest.raises(DataError) as error:
        load_lab_data()
    message = str(error.value)
    assert "LABKIT_DATA" in message and "LABKIT_OFFLINE" in message and "data_root" in message
    assert "train/<class>" in message and ARCHIVE_FOLDER in message and str(served.root) in message
    assert served.requests == [] and not served.root.exists()


def test_download_false_forbids_it_without_offline(served):
    with pytest.raises(DataError, match="--no-download"):
        load_split("train", download=False)
    assert served.requests == []


@pytest.mark.parametrize(("value", "offline"), [("", False), ("0", False), ("1", True), ("yes", True)])
def test_offline_is_any_value_but_empty_or_0(monkeypatch, value, offline):
    monkeypatch.setenv("LABKIT_OFFLINE", value)
    assert data.offline() is offline


# --------------------------------------------------------------------------- the train command

SMOKE = ["--model", "vgg11", "--per-class", "2", "--test-per-class", "2", "--epochs", "1", "--device", "cpu",
         "--no-progress"]  # fmt: skip


@pytest.mark.parametrize(("flags", "download"), [([], None), (["--no-download"], False), (["--download"], True)])
def test_train_download_options_are_the_download_argument(flags, download):
    assert cli.build_parser().parse_args(["train", "--out", "run", *flags]).download is download


def test_train_command_downloads_then_no_download_exits_2_without_data(served, tmp_path, monkeypatch, capsys):
    assert cli.main(["train", *SMOKE, "--out", str(tmp_path / "run")]) == 0
    assert json.loads((tmp_path / "run" / "history.json").read_text())["info"]["train_images"] == 6
    assert (served.root / ARCHIVE_FOLDER).is_dir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty"))
    capsys.readouterr()
    assert cli.main(["train", *SMOKE, "--no-download", "--out", str(tmp_path / "run2")]) == 2
    error = capsys.readouterr().err
    assert "--no-download" in error and "LABKIT_DATA" in error and "Traceback" not in error
    assert not (tmp_path / "empty" / "labkit" / "data").exists()


def test_a_named_folder_holding_other_files_is_not_downloaded_into_unasked(served, tmp_path, monkeypatch):
    # LABKIT_DATA one level too high, say: the layout error, not 340 MB beside the real data.
    elsewhere = tmp_path / "shared"
    (elsewhere / "cifar10-jpg").mkdir(parents=True)
    monkeypatch.setenv("LABKIT_DATA", str(elsewhere))
    with pytest.raises(DataError, match="holds other files, so labkit does not download into it unasked.*--download"):
        load_lab_data()
    assert [path.name for path in elsewhere.iterdir()] == ["cifar10-jpg"] and not served.requests
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("LABKIT_DATA", str(empty))
    assert len(load_split("test")) == 3 * PER_CLASS["test"]  # an empty (or missing) folder is a place to download to


def test_a_killed_download_s_leftovers_are_removed_by_the_next(served):
    leftover = served.root / ".labkit-download-killed"
    leftover.mkdir(parents=True)
    (leftover / "cifar-10-python.tar.gz").write_bytes(b"half")
    load_split("test")
    assert sorted(path.name for path in served.root.iterdir()) == [ARCHIVE_FOLDER]
