"""The papermill report command, on tiny stand-in notebooks (a few seconds each)."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from labkit import cli
from labkit.report import NotebookFailed, build_report

PARAMETERS = "output_dir = None\ncompare_with = None\nprofile = None"
WRITES_A_RUN = """
from pathlib import Path
from matplotlib.figure import Figure
from labkit.history import History
out = Path(output_dir)
out.mkdir(parents=True, exist_ok=True)
history = History(info={"model": MODEL, "profile": profile or "smoke", "parameters": 10, "device_name": "CPU: test",
                        "train_images": 3})
history.append(1, train_loss=1.0, train_acc=0.5, test_loss=1.1, test_acc=0.4, seconds=2.0)
history.save(out / "history.json")
for name in ("curves", "predictions", "confusion"):
    Figure(figsize=(1, 1)).savefig(out / f"{name}.png")
"""


def write_notebook(path, *sources):
    notebook = new_notebook(cells=[new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]})])
    notebook.cells += [new_code_cell(source) for source in sources]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


@pytest.fixture
def notebooks(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "vgg16_lab.ipynb", 'MODEL = "vgg16"', WRITES_A_RUN)
    write_notebook(folder / "resnet50_lab.ipynb", 'MODEL = "resnet50"', WRITES_A_RUN, "assert compare_with")
    return folder


def test_report_runs_every_notebook_and_writes_the_page(notebooks, tmp_path):
    report_dir = tmp_path / "report"
    report_dir.mkdir()
    (report_dir / "benchmarks.md").write_text("kept")
    (report_dir / "index.html").write_text("old report")
    kept = tmp_path / "runs" / "vgg16" / "my-notes.txt"  # a run folder the report command did not make
    kept.parent.mkdir(parents=True)
    kept.write_text("mine")
    index = build_report(notebooks, report_dir, tmp_path / "runs", {"profile": "smoke"}, log=lambda message: None)
    page = index.read_text()
    assert "old report" not in page and "VGG16: this run" in page and "ResNet50: this run" in page
    for name in ("vgg16_lab.ipynb", "vgg16_lab.html", "resnet50_lab.ipynb", "resnet50_lab.html", "results.json",
                 "vgg16/curves.png", "resnet50/history.json"):  # fmt: skip
        assert (report_dir / name).is_file(), name
    assert (report_dir / "benchmarks.md").read_text() == "kept"
    executed = nbformat.read(report_dir / "resnet50_lab.ipynb", as_version=4)
    injected = [cell.source for cell in executed.cells if "injected-parameters" in cell.metadata.get("tags", [])]
    assert 'profile = "smoke"' in injected[0] and "vgg16/history.json" in injected[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notebooks", "report", "runs"]  # no staging left
    assert kept.read_text() == "mine" and [p.name for p in (tmp_path / "runs").iterdir()] == ["vgg16"]


def test_a_failing_notebook_leaves_the_previous_report_untouched(notebooks, tmp_path, capsys):
    write_notebook(notebooks / "resnet50_lab.ipynb", 'raise RuntimeError("diverged on purpose")')
    report_dir = tmp_path / "report"
    report_dir.mkdir()
    (report_dir / "index.html").write_text("previous report")
    with pytest.raises(NotebookFailed, match=r"resnet50_lab.ipynb failed in cell \d+.*RuntimeError: diverged on purpose"):
        build_report(notebooks, report_dir, tmp_path / "runs", log=lambda message: None)
    assert [p.name for p in report_dir.iterdir()] == ["index.html"]
    assert (report_dir / "index.html").read_text() == "previous report"

    code = cli.main(["report", "--notebooks", str(notebooks), "--report-dir", str(report_dir),
                     "--runs-dir", str(tmp_path / "runs"), "--profile", "smoke"])  # fmt: skip
    assert code == 1
    error = capsys.readouterr().err
    assert "resnet50_lab.ipynb failed in cell" in error and "previous report" in error
    assert (report_dir / "index.html").read_text() == "previous report"


def test_full_profile_without_a_gpu_first_estimates_its_time(monkeypatch, tmp_path, capsys):
    import labkit.report
    import labkit.bench

    if __import__("torch").cuda.is_available():
        pytest.skip("this machine has a GPU: no estimate is printed")
    monkeypatch.setattr(labkit.bench, "step_rate", lambda model, device, **kwargs: 50.0)
    ran = {}
    monkeypatch.setattr(labkit.report, "build_report", lambda *args, **kwargs: ran.setdefault("report", args))
    assert cli.main(["report", "--profile", "full", "--report-dir", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    # 20 x 16,000 + 15 x 16,000 image-steps at 50 images/s
    assert "about 3.1 h on this machine" in out and "--profile quick" in out
    assert "report" in ran


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["-p", "model", "vgg99"], "unknown notebook parameter(s) model; the notebooks take: "),
        (["-p", "epochs", "0"], "-p epochs: must be a whole number at least 1, got 0"),
        (["-p", "lr", "inf"], "-p lr: must be a finite number, got inf"),
        (["-p", "seed", "-1"], "seed must be a whole number from 0 to 4294967295"),
        (["--kernel", "no-such-kernel"], "no Jupyter kernel named 'no-such-kernel'"),
    ],
)
def test_report_parameters_are_checked_before_any_notebook_runs(arguments, message, tmp_path, capsys, monkeypatch):
    import labkit.report

    monkeypatch.setattr(labkit.report, "_execute", lambda *args: pytest.fail("a notebook ran"))
    assert cli.main(["report", "--profile", "smoke", "--report-dir", str(tmp_path / "report"), *arguments]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "report").exists()


def test_a_relative_data_root_is_resolved_from_where_the_command_runs(tmp_path, monkeypatch):
    import labkit.report

    seen = {}
    monkeypatch.setattr(labkit.report, "build_report", lambda *args: seen.setdefault("parameters", args[3]))
    monkeypatch.chdir(tmp_path)
    repository = __import__("pathlib").Path(__file__).parents[1]
    arguments = ["report", "--profile", "smoke", "--notebooks", str(repository / "notebooks"), "-p", "data_root", "data"]
    assert cli.main(arguments) == 0
    assert seen["parameters"]["data_root"] == str(tmp_path / "data")
