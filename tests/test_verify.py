import hashlib

import pytest

from labkit import cli
from labkit.data import DataError
from labkit.verify import verify


def write_list(root, target):
    lines = [
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(root).as_posix()}"
        for path in sorted(root.rglob("*")) if path.is_file()
    ]  # fmt: skip
    target.write_text("\n".join(lines) + "\n")


def test_an_intact_folder_passes(image_folder, capsys):
    write_list(image_folder, image_folder.with_name("folder.sha256"))
    assert cli.main(["data", "verify", "--data", str(image_folder)]) == 0
    assert "0 missing, 0 extra, 0 changed -> OK" in capsys.readouterr().out


def test_missing_extra_and_changed_files_are_reported(image_folder, capsys):
    listing = image_folder.with_name("folder.sha256")
    write_list(image_folder, listing)
    (image_folder / "train" / "cat" / "0000.png").unlink()
    (image_folder / "train" / "cat" / "new.png").write_bytes(b"x")
    (image_folder / "test" / "bird" / "0001.png").write_bytes(b"changed")
    result = verify(image_folder, listing)
    assert result.missing == ["train/cat/0000.png"]
    assert result.extra == ["train/cat/new.png"]
    assert result.changed == ["test/bird/0001.png"]
    assert cli.main(["data", "verify", "--data", str(image_folder), "--sha256", str(listing)]) == 1
    out = capsys.readouterr().out
    assert "missing: train/cat/0000.png" in out and "changed: test/bird/0001.png" in out and "DIFFERENT" in out


def test_a_malformed_list_is_an_error(image_folder, tmp_path):
    bad = tmp_path / "bad.sha256"
    bad.write_text("not a checksum line\n")
    with pytest.raises(DataError, match="line 1"):
        verify(image_folder, bad)


@pytest.mark.shared_data
def test_the_shared_data_matches_its_published_checksums(shared_data):
    result = verify(shared_data)
    assert result.ok and result.checked == 60_000


def test_verify_of_the_current_folder_and_dot_slash_paths(tmp_path, monkeypatch):
    import hashlib

    from labkit.verify import verify

    root = tmp_path / "images"
    root.mkdir()
    (root / "a.txt").write_text("a")
    digest = hashlib.sha256(b"a").hexdigest()
    (tmp_path / "images.sha256").write_text(f"{digest}  ./a.txt\n")
    monkeypatch.chdir(root)
    result = verify(".")
    assert result.ok and result.checked == 1
