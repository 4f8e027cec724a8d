"""What a run records about what made it: versions, the commit, the data."""

import shutil
import subprocess
from pathlib import Path

import pytest

from labkit import provenance

ROOT = Path(__file__).parents[1]


def test_provenance_names_this_checkout_s_commit_and_nothing_outside_a_checkout(tmp_path, monkeypatch):
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    assert provenance.commit().split("+")[0] == head.stdout.strip()
    # A copy of the package inside another folder (an installed one) has no commit of its own.
    copy = tmp_path / "labkit"
    shutil.copytree(ROOT / "labkit", copy)
    monkeypatch.setattr(provenance, "__file__", str(copy / "provenance.py"))
    assert provenance.commit() is None
