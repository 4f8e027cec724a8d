"""The one GPU command, rehearsed on this CPU with the smoke profile, and its wheel installer."""

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
_spec = importlib.util.spec_from_file_location("install_wheels", ROOT / "benchmarks" / "install_wheels.py")
install_wheels = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(install_wheels)


@pytest.mark.shared_data
@pytest.mark.slow
def test_rehearsal_brings_back_every_stage(shared_data, tmp_path):
    out = tmp_path / "out"
    environment = {
        **os.environ, "OUT": str(out), "GPU_CHECK_PROFILE": "smoke", "GPU_CHECK_DEVICE": "cpu",
        "GPU_CHECK_PYTHON": sys.executable, "GPU_CHECK_STAGES": "report bench precision resume ddp questions",
        "LABKIT_DATA": str(shared_data), "TMPDIR": str(tmp_path),
    }  # fmt: skip
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh")], env=environment, capture_output=True,
                          text=True, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert {p.name for p in out.iterdir()} == {"log.txt", "report.tar.gz", "bench.json", "benchmarks-gpu.md",
                                               "gpu_check.json", "ddp-history.json", "questions-vgg16.tar.gz",
                                               "questions-resnet50.tar.gz"}  # fmt: skip
    # Two CPU ranks in a rehearsal (on a GPU machine: two GPUs, or the stage says it skipped).
    assert json.loads((out / "ddp-history.json").read_text())["info"]["world_size"] == 2
    with tarfile.open(out / "report.tar.gz") as archive:
        names = set(archive.getnames())
    assert {"report/index.html", "report/vgg16_lab.ipynb", "report/resnet50/history.json"} <= names
    # Of the papers' experiments only the test protocols, by default: the others train eight models.
    assert "report/vgg16/protocol/results.json" in names and not any("/depth/" in name for name in names)
    checks = json.loads((out / "gpu_check.json").read_text())
    assert all(entry["ok"] for entry in checks["stages"].values()) and set(checks["stages"]) == {"precision", "resume"}
    resumed = checks["stages"]["resume"]["result"]
    assert resumed["resumed"]["epochs"] == 2 and resumed["resumed"]["train_loss"] == resumed["unbroken"]["train_loss"]
    precision = checks["stages"]["precision"]["result"]["vgg16"]
    assert precision["fp32"]["profile"] == precision["report"]["profile"] == "smoke"
    with tarfile.open(out / "questions-resnet50.tar.gz") as archive:
        saved = json.load(archive.extractfile("resnet50/results.json"))
    assert [row["variant"] for row in saved["rows"]] == ["lab", "longer", "cosine", "improved"]
    # The smoke report's run is smaller than the smoke questions' lab row: not offered as that row, which trains.
    assert not saved["rows"][0]["reused"]
    assert "the lab row is the run in" not in (out / "log.txt").read_text()
    assert not list(tmp_path.glob("gpu-check.*")), "the scratch folder was left behind"
    assert "0 stage(s) failed" in (out / "log.txt").read_text()


def test_wheel_names_are_normalised_as_pip_does():
    assert install_wheels.project(Path("jupyter_client-8.10.0-py3-none-any.whl")) == "jupyter-client"
    assert install_wheels.project(Path("PyYAML-6.0.4-cp312-cp312-manylinux2014_x86_64.whl")) == "pyyaml"


def test_only_missing_distributions_are_installed(tmp_path, capsys, monkeypatch):
    for name in ("numpy-1.0-py3-none-any.whl", "not_a_real_project_xyz-1.0-py3-none-any.whl"):
        (tmp_path / name).write_bytes(b"")
    calls = []
    monkeypatch.setattr(install_wheels.subprocess, "call", lambda command: calls.append(command) or 0)
    monkeypatch.setattr(sys, "argv", ["install_wheels.py", str(tmp_path), str(tmp_path / "site")])
    assert install_wheels.main() == 0
    assert "1 of 2 already installed; installing not-a-real-project-xyz" in capsys.readouterr().out
    (command,) = calls
    assert "--no-index" in command and command[-1].endswith("not_a_real_project_xyz-1.0-py3-none-any.whl")


def test_an_empty_wheel_folder_says_how_to_fill_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["install_wheels.py", str(tmp_path), str(tmp_path / "site")])
    assert install_wheels.main() == 2
    assert "gpu_prepare.sh" in capsys.readouterr().err


@pytest.mark.shared_data
def test_the_precision_script_compares_fp32_and_bf16_runs_and_the_same_weights(shared_data, tmp_path):
    out = tmp_path / "precision.json"
    subprocess.run([sys.executable, "benchmarks/precision.py", "--models", "vgg16", "--seeds", "0", "--profile", "smoke",
                    "--data", str(shared_data), "--json", str(out)], check=True, cwd=ROOT, capture_output=True)  # fmt: skip
    (row,) = json.loads(out.read_text())
    assert (row["model"], row["seed"]) == ("vgg16", 0)
    assert all(0 <= row[key] <= 1 for key in ("fp32", "bf16", "same_weights_fp32", "same_weights_bf16"))
    assert row["same_weights_images"] == 3 * 1000  # the whole test split, not the smoke profile's 10 per class
