"""The papermill report command, on tiny stand-in notebooks (a few seconds each)."""

import json
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import labkit.report
from labkit import cli
from labkit.pages import remote_resources
from labkit.report import NotebookFailed, build_report

PARAMETERS = "output_dir = None\ncompare_with = None\nprofile = None\nseed = None"
# A stand-in lab: its accuracy depends on the model and seed, its predictions on the model.
WRITES_A_RUN = """
import json
from pathlib import Path
from matplotlib.figure import Figure
from labkit.history import History
out = Path(output_dir)
out.mkdir(parents=True, exist_ok=True)
history = History(info={"model": MODEL, "profile": profile or "smoke", "parameters": 10, "device_name": "CPU: test",
                        "train_images": 3, "test_images": 10, "seed": seed or 0})
accuracy = (4 if MODEL == "vgg16" else 6) / 10 + (seed or 0) / 100
history.append(1, train_loss=1.0, train_acc=0.5, test_loss=1.1, test_acc=accuracy, seconds=2.0)
history.save(out / "history.json")
predictions = [0] * 10 if MODEL == "vgg16" else [1] * 10
saved = {"targets": [0] * 5 + [1] * 5, "predictions": predictions}
if MODEL == "vgg16":
    saved["confidences"] = [0.5 + index / 20 for index in range(10)]
(out / "test_predictions.json").write_text(json.dumps(saved))
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
    assert (report_dir / "benchmarks.md").read_text() == "kept" and "kept" in (report_dir / "benchmarks.html").read_text()
    executed = nbformat.read(report_dir / "resnet50_lab.ipynb", as_version=4)
    injected = [cell.source for cell in executed.cells if "injected-parameters" in cell.metadata.get("tags", [])]
    assert 'profile = "smoke"' in injected[0] and "vgg16/history.json" in injected[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notebooks", "report", "runs"]  # no staging left
    for made in report_dir.rglob("*"):  # no path of the machine that made the report
        if made.suffix in (".ipynb", ".html", ".json"):
            assert str(tmp_path) not in made.read_text() and "/tmp/" not in made.read_text(), made.name
    assert kept.read_text() == "mine" and [p.name for p in (tmp_path / "runs").iterdir()] == ["vgg16"]


def test_seeds_run_each_notebook_once_per_seed_and_summarise_the_spread(notebooks, tmp_path):
    import json

    report_dir = tmp_path / "report"
    build_report(notebooks, report_dir, tmp_path / "runs", {"profile": "smoke"}, log=lambda message: None, seeds=(0, 1, 2))
    assert sorted(p.name for p in (report_dir / "seeds").iterdir()) == [
        "resnet50_lab-seed1.ipynb", "resnet50_lab-seed1.json", "resnet50_lab-seed2.ipynb", "resnet50_lab-seed2.json",
        "vgg16_lab-seed1.ipynb", "vgg16_lab-seed1.json", "vgg16_lab-seed2.ipynb", "vgg16_lab-seed2.json",
    ]  # fmt: skip
    executed = nbformat.read(report_dir / "seeds" / "resnet50_lab-seed2.ipynb", as_version=4)
    injected = next(cell.source for cell in executed.cells if "injected-parameters" in cell.metadata.get("tags", []))
    assert "seed = 2" in injected and "vgg16-seed2/history.json" in injected  # compared with the same seed's VGG16
    saved = json.loads((report_dir / "results.json").read_text())
    over = saved["vgg16"]["over_seeds"]
    assert [row["test_acc"] for row in over["seeds"]] == pytest.approx([0.40, 0.41, 0.42])
    assert over["test_acc"]["mean"] == pytest.approx(0.41) and over["test_acc"]["std"] == pytest.approx(0.01)
    assert (over["test_acc"]["min"], over["test_acc"]["max"]) == pytest.approx((0.40, 0.42))
    assert over["reference_within_2_std"] is False  # 93.0% is far outside 41% +- 2 points
    assert saved["vgg16"]["test_acc"] == pytest.approx(0.40)  # the lab page's run is the first seed's
    # VGG16 always says 0, ResNet50 always 1: each alone is right on the 5 images of its class.
    paired = saved["paired_test"]
    assert (paired["images"], paired["only_first"], paired["only_second"], paired["p_value"]) == (10, 5, 5, 1.0)
    page = (report_dir / "index.html").read_text()
    assert "Over seeds 0, 1, 2" in page and "41.00% ± 1.00%" in page and "McNemar" in page
    low, high = saved["vgg16"]["test_acc_95_interval"]
    assert low < 0.40 < high


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


def test_the_report_announces_the_automatic_profile_and_estimates_both(monkeypatch, tmp_path, capsys):
    import labkit.bench
    import labkit.report
    from labkit import lab

    monkeypatch.delenv("LABKIT_PROFILE")
    monkeypatch.setattr(lab, "_cuda_available", lambda: False)
    monkeypatch.setattr(labkit.bench, "step_rate", lambda model, device, **kwargs: 50.0)
    monkeypatch.setattr(labkit.bench, "evaluation_rate", lambda model, device, **kwargs: 150.0)
    ran = {}
    monkeypatch.setattr(labkit.report, "build_report", lambda *args, **kwargs: ran.setdefault("parameters", args[3]))
    assert cli.main(["report", "--report-dir", str(tmp_path / "report")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("labkit report: profile quick (chosen automatically: no CUDA GPU here")
    # full, with the experiments: 4 VGGs x 20 epochs and 4 CIFAR nets x 15 epochs of 15,000 / 50 + 3,000 / 150
    # seconds, and 3,000 test images / 150 x 30 single passes for the protocols (a view that two protocols
    # share counted once), beside the labs' own; and the open questions' variants, the notebooks' own runs being
    # their lab rows: VGG16 dropout 20, cosine 20 and improved 40 epochs; ResNet50 longer 30, cosine 15, improved 30
    assert any(line.split()[0] == "full" and "about 29.5 h in all" in line for line in lines)
    switched_off = [arg for name in [*lab.EXPERIMENTS, lab.QUESTIONS_FOLDER] for arg in ("-p", f"{name}_experiment", "False")]
    assert cli.main(["report", "--report-dir", str(tmp_path / "report"), *switched_off]) == 0
    lines = capsys.readouterr().out.splitlines()
    # full: 20 x (15,000 / 50 + 3,000 / 150) + 15 x (the same) seconds
    assert any(line.split()[0] == "full" and "about 3.1 h in all" in line for line in lines)
    quick = sum(lab.recipe(model, "quick").epochs * 3 * ((lab.recipe(model, "quick").per_class or 5000) / 50
                + (lab.recipe(model, "quick").test_per_class or 1000) / 150) for model in lab.LABS)  # fmt: skip
    assert any(line.split()[0] == "quick" and f"about {labkit.report.duration(quick)} in all  <- this run" in line
               for line in lines)  # fmt: skip
    assert "python -m labkit report --profile full" in lines[-1]
    assert ran["parameters"]["profile"] == "quick"  # the notebooks run the profile announced


def test_the_estimate_counts_the_open_questions_and_reuses_the_labs_own_run_where_it_can(monkeypatch):
    import labkit.bench
    from labkit.report import estimate_seconds

    monkeypatch.setattr(labkit.bench, "step_rate", lambda model, device, **kwargs: 50.0)
    monkeypatch.setattr(labkit.bench, "evaluation_rate", lambda model, device, **kwargs: 150.0)
    epoch = 15_000 / 50 + 3_000 / 150  # seconds of one full-profile epoch
    estimate = estimate_seconds(("full", "quick"), "cpu", experiments=())
    # full: the lab's own run is the lab row; VGG16 trains dropout 20, cosine 20, improved 40 epochs, and
    # ResNet50 longer 30, cosine 15, improved 30
    assert estimate["full"]["vgg16"] == pytest.approx((20 * epoch, 80 * epoch))
    assert estimate["full"]["resnet50"] == pytest.approx((15 * epoch, 75 * epoch))
    # quick: VGG16's questions on 1,500 images for 4 epochs (8 for improved), the lab row among them;
    # ResNet50's are not asked on the quick profile
    assert estimate["quick"]["vgg16"][1] == pytest.approx((4 + 4 + 4 + 8) * (1_500 / 50 + 1_500 / 150))
    assert estimate["quick"]["resnet50"][1] == 0
    # A notebook run of another recipe cannot stand as the lab row, which is then trained too.
    cosine = estimate_seconds(("full",), "cpu", {"variant": "cosine"}, experiments=())
    assert cosine["full"]["vgg16"] == pytest.approx((20 * epoch, 100 * epoch))
    assert estimate_seconds(("full",), "cpu", experiments=(), questions=False)["full"]["vgg16"][1] == 0


def test_the_recipe_parameter_names_a_variant_and_a_bad_one_is_refused_before_any_runs(tmp_path):
    from labkit import lab
    from labkit.report import check_parameters, recipe_settings

    folder = tmp_path / "notebooks"
    folder.mkdir()
    for model in lab.LABS:
        notebook = new_notebook(cells=[new_code_cell(f'{PARAMETERS}\nrecipe = "lab"', metadata={"tags": ["parameters"]})])
        nbformat.write(notebook, folder / lab.LABS[model].notebook)
    assert recipe_settings({"recipe": "cosine", "epochs": 3, "device": "cpu"}) == {"variant": "cosine", "epochs": 3}
    check_parameters(folder, {"recipe": "cosine"}, lab.SMOKE)
    with pytest.raises(ValueError, match="unknown recipe 'fancy'; use one of lab, dropout"):
        check_parameters(folder, {"recipe": "fancy"}, lab.SMOKE)
    with pytest.raises(ValueError, match="changes VGG's fully connected layers, and resnet50 has none"):
        check_parameters(folder, {"recipe": "dropout"}, lab.SMOKE)  # the ResNet50 notebook would fail on it


def test_durations_read_as_a_wait():
    from labkit.report import duration

    assert [duration(s) for s in (40, 720, 3 * 3600 + 360)] == ["40 s", "12 min", "3.1 h"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["-p", "model", "vgg99"], "unknown notebook parameter(s) model; the notebooks take: "),
        (["-p", "epochs", "0"], "-p epochs: must be a whole number at least 1, got 0"),
        (["-p", "lr", "inf"], "-p lr: must be a finite number, got inf"),
        (["-p", "seed", "-1"], "seed must be a whole number from 0 to 4294967295"),
        (["--kernel", "no-such-kernel"], "no Jupyter kernel named 'no-such-kernel'"),
        (["--seeds", "0,1", "-p", "seed", "3"], "--seeds and -p seed both set the seed; pass one of them"),
        (["-p", "classes", "cat,unicorn"], "unknown class"),
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
    monkeypatch.setattr(labkit.report, "build_report", lambda *args, **kwargs: seen.setdefault("parameters", args[3]))
    monkeypatch.chdir(tmp_path)
    repository = __import__("pathlib").Path(__file__).parents[1]
    arguments = ["report", "--profile", "smoke", "--notebooks", str(repository / "notebooks"), "-p", "data_root", "data"]
    assert cli.main(arguments) == 0
    assert seen["parameters"]["data_root"] == str(tmp_path / "data")


def test_every_page_works_offline_names_itself_and_links_every_other(notebooks, tmp_path):
    report_dir = tmp_path / "report"
    report_dir.mkdir()
    (report_dir / "benchmarks.md").write_text("# Benchmarks\n\n| model | images/s |\n|---|---|\n| vgg16 | 150.8 |\n")
    build_report(notebooks, report_dir, tmp_path / "runs", {"profile": "smoke"}, log=lambda message: None)
    pages = {path.name: path.read_text() for path in report_dir.glob("*.html")}
    assert sorted(pages) == ["benchmarks.html", "index.html", "resnet50_lab.html", "vgg16_lab.html"]
    every = {"index.html", "vgg16_lab.html", "resnet50_lab.html", "benchmarks.html", "results.json"}
    for name, page in pages.items():
        assert remote_resources(page) == [], name
        navigation = page[page.index("<nav"):page.index("</nav>")]
        assert set(re.findall(r'href="([^"]+)"', navigation)) == every - {name}, name
        assert re.search(r"<title>[^<]*(VGG16|ResNet50|Benchmarks)[^<]*labkit report|labkit report: ", page), name
    index = pages["index.html"]
    for model in ("vgg16", "resnet50"):
        for figure in ("curves", "predictions", "confusion"):
            assert f'<a href="{model}/{figure}.png"><img src="{model}/{figure}.png" alt="' in index
    assert all(re.search(r'alt="[^"]{20,}"', image) for image in re.findall(r"<img[^>]*>", index))


def test_render_only_rewrites_the_pages_from_the_report_and_runs_nothing(notebooks, tmp_path, capsys):
    import json

    report_dir = tmp_path / "report"
    build_report(notebooks, report_dir, tmp_path / "runs", {"profile": "smoke"}, log=lambda message: None, seeds=(0, 1))
    before = json.loads((report_dir / "results.json").read_text())
    for page in report_dir.glob("*.html"):
        page.unlink()
    (report_dir / "benchmarks.md").write_text("# Benchmarks\n\nmeasured later\n")
    (notebooks / "vgg16_lab.ipynb").write_text("{}")  # the notebooks take the report's execution, nothing runs
    assert cli.main(["report", "--render-only", "--update-notebooks", "--report-dir", str(report_dir),
                     "--notebooks", str(notebooks)]) == 0  # fmt: skip
    assert "pages rewritten" in capsys.readouterr().out
    assert nbformat.read(notebooks / "vgg16_lab.ipynb", as_version=4).metadata["papermill"]["output_path"] == (
        "report/vgg16_lab.ipynb")  # fmt: skip
    assert sorted(page.name for page in report_dir.glob("*.html")) == [
        "benchmarks.html", "index.html", "resnet50_lab.html", "vgg16_lab.html"]  # fmt: skip
    assert "measured later" in (report_dir / "benchmarks.html").read_text()
    assert "Over seeds 0, 1" in (report_dir / "index.html").read_text()
    assert json.loads((report_dir / "results.json").read_text()) == before


def test_render_only_of_a_folder_without_a_report_says_how_to_make_one(tmp_path, capsys):
    assert cli.main(["report", "--render-only", "--report-dir", str(tmp_path)]) == 2
    assert "make the report first" in capsys.readouterr().err


def test_headless_runs_store_no_widget_progress_bars(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    bars = "from labkit import train\nfor _ in train._progress(range(3), 3, 'epoch 1 train', True):\n    pass"
    for model in ("vgg16", "resnet50"):
        write_notebook(folder / f"{model}_lab.ipynb", f'MODEL = "{model}"', bars, WRITES_A_RUN)
        source = nbformat.read(folder / f"{model}_lab.ipynb", as_version=4)  # as an older execution leaves it
        source.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"a": {}}}}
        nbformat.write(source, folder / f"{model}_lab.ipynb")
    report_dir = tmp_path / "report"
    build_report(folder, report_dir, tmp_path / "runs", {"profile": "smoke"}, log=lambda message: None)
    executed = nbformat.read(report_dir / "vgg16_lab.ipynb", as_version=4)
    outputs = [output for cell in executed.cells for output in cell.get("outputs", [])]
    assert not any("application/vnd.jupyter.widget-view+json" in output.get("data", {}) for output in outputs)
    assert not any("0%|" in str(output) for output in outputs) and "widgets" not in executed.metadata


def test_a_progress_setting_that_means_nothing_is_refused(monkeypatch):
    from labkit import train

    monkeypatch.setenv("LABKIT_PROGRESS", "quiet")
    with pytest.raises(ValueError, match="LABKIT_PROGRESS must be 'bar' or 'none'"):
        train.progress_bars_wanted()


@pytest.mark.shared_data
def test_the_index_compares_the_models_on_cost_disagreements_and_surest_mistakes(notebooks, tmp_path, shared_data):
    report_dir = tmp_path / "report"
    build_report(notebooks, report_dir, tmp_path / "runs", {"profile": "smoke", "data_root": str(shared_data)},
                 log=lambda message: None)  # fmt: skip
    page = (report_dir / "index.html").read_text()
    assert sorted(path.name for path in (report_dir / "comparison").iterdir()) == [
        "cost.png", "disagreements.png", "vgg16-surest-mistakes.png"]  # fmt: skip
    # VGG16 always says airplane, ResNet50 always automobile: they disagree on all ten images.
    assert "10 of the 10 test images both models classified get different answers" in page
    assert "VGG16: the 5 wrong answers it was surest of" in page and "ResNet50: no mistakes with saved confidences" in page
    for figure in ("cost.png", "disagreements.png", "vgg16-surest-mistakes.png"):
        assert f'<a href="comparison/{figure}"><img src="comparison/{figure}" alt="' in page


def test_without_the_test_images_the_comparison_says_why_it_shows_none(notebooks, tmp_path):
    report_dir = tmp_path / "report"
    build_report(notebooks, report_dir, tmp_path / "runs", {"profile": "smoke", "data_root": str(tmp_path / "nowhere")},
                 log=lambda message: None)  # fmt: skip
    page = (report_dir / "index.html").read_text()
    assert "The test images were not found here" in page and (report_dir / "comparison" / "cost.png").is_file()


def test_the_notebooks_can_take_the_reports_execution_and_nbval_skips_its_injected_cell(notebooks, tmp_path):
    report_dir = tmp_path / "report"
    build_report(notebooks, report_dir, tmp_path / "runs", {"profile": "smoke"}, log=lambda message: None,
                 update_notebooks=True)  # fmt: skip
    for name in ("vgg16_lab.ipynb", "resnet50_lab.ipynb"):
        reported = nbformat.read(report_dir / name, as_version=4)
        injected = [cell for cell in reported.cells if "injected-parameters" in cell.metadata.get("tags", [])]
        assert len(injected) == 1 and "nbval-skip" in injected[0].metadata["tags"]  # nbval keeps LABKIT_PROFILE's
        assert reported.metadata["papermill"]["output_path"] == f"report/{name}"
        copied = nbformat.read(notebooks / name, as_version=4)  # the same cells and outputs, less the pinned settings
        assert copied.cells == [cell for cell in reported.cells if cell not in injected]
        assert copied.metadata == reported.metadata


def test_one_lab_alone_gets_no_comparison_and_no_link_to_the_other(notebooks, tmp_path):
    report_dir = tmp_path / "report"
    build_report(notebooks, report_dir, tmp_path / "runs", {"profile": "smoke"}, models=("vgg16",), log=lambda message: None)
    page = (report_dir / "index.html").read_text()
    assert "The two models compared" not in page and "resnet50_lab" not in page
    assert not (report_dir / "comparison").exists()


@pytest.mark.shared_data
def test_test_images_other_than_the_runs_are_not_shown_as_theirs(notebooks, tmp_path, shared_data):
    report_dir = tmp_path / "report"
    build_report(notebooks, report_dir, tmp_path / "runs", {"profile": "smoke", "data_root": str(shared_data)},
                 log=lambda message: None)  # fmt: skip
    for model in ("vgg16", "resnet50"):
        history = json.loads((report_dir / model / "history.json").read_text())
        history["info"]["data"] = {"test_sha256": "0" * 64}  # recorded from other pixels
        (report_dir / model / "history.json").write_text(json.dumps(history))
    (report_dir / "comparison" / "disagreements.png").unlink()
    labkit.report.rerender(report_dir, shared_data)
    page = (report_dir / "index.html").read_text()
    assert "are not the ones the runs were tested on" in page and not (report_dir / "comparison" / "disagreements.png").exists()


WRITES_AN_EXPERIMENT = """
from labkit.experiments import ExperimentResult, save
if depth_experiment:
    rows, histories = [], {}
    for model, accuracy in zip(("vgg11", "vgg13", "vgg16", "vgg19"), (0.5, 0.6, 0.8, 0.7)):
        rows.append({"model": model, "parameters": 1, "train_acc": 0.9, "test_acc": accuracy,
                     "test_correct": round(accuracy * 10), "seconds": 1.0})
        histories[model] = History()
        histories[model].append(1, train_loss=1.0, train_acc=0.9, test_loss=1.0, test_acc=accuracy, seconds=1.0)
    info = {"train_images": 12, "epochs": 1, "test_images": 10, "profile": "smoke", "device_name": "CPU: test"}
    save(ExperimentResult("depth", rows, info, histories), out / "depth")
"""


def test_the_papers_experiments_run_with_the_first_seed_and_the_index_shows_their_tables(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "vgg16_lab.ipynb", 'MODEL = "vgg16"', WRITES_A_RUN, WRITES_AN_EXPERIMENT)
    vgg = nbformat.read(folder / "vgg16_lab.ipynb", as_version=4)
    vgg.cells[0].source += "\ndepth_experiment = True"  # a switch in the parameters cell, as the lab's has
    nbformat.write(vgg, folder / "vgg16_lab.ipynb")
    write_notebook(folder / "resnet50_lab.ipynb", 'MODEL = "resnet50"', WRITES_A_RUN)
    report_dir = tmp_path / "report"
    build_report(folder, report_dir, tmp_path / "runs", {"profile": "smoke"}, log=lambda message: None, seeds=(0, 1))
    assert (report_dir / "vgg16" / "depth" / "results.json").is_file() and (report_dir / "vgg16" / "depth" / "curves.png").is_file()
    later = nbformat.read(report_dir / "seeds" / "vgg16_lab-seed1.ipynb", as_version=4)
    injected = next(cell.source for cell in later.cells if "injected-parameters" in cell.metadata.get("tags", []))
    assert "depth_experiment = False" in injected
    page = (report_dir / "index.html").read_text()
    assert "The papers' experiments" in page and "VGG16 lab: depth" in page
    assert "<td>D (VGG16)</td>" in page and "deeper is better reproduces from A to D" in page
    assert 'src="vgg16/depth/curves.png"' in page
    assert "Not run in this report: protocol, degradation" in page
    saved = json.loads((report_dir / "results.json").read_text())
    assert [row["test_acc"] for row in saved["experiments"]["depth"]["rows"]] == [0.5, 0.6, 0.8, 0.7]
    before = page
    labkit.report.rerender(report_dir)  # the pages again from the report's own files
    assert "deeper is better reproduces from A to D" in (report_dir / "index.html").read_text()
    assert before.count("<h3>") == (report_dir / "index.html").read_text().count("<h3>")


WRITES_QUESTIONS = """
from labkit import questions
from labkit.experiments import ExperimentResult
if questions_experiment:
    rows, histories = [], {}
    for variant, right in (("lab", 6), ("dropout", 9)):
        histories[variant] = History()
        histories[variant].append(1, train_loss=1.0, train_acc=0.9, test_loss=1.0, test_acc=right / 10, seconds=1.0)
        rows.append({"variant": variant, "epochs": 1, "schedule": "constant", "train_acc": 0.9, "test_acc": right / 10,
                     "test_correct": right, "best_test_acc": right / 10, "best_epoch": 1, "swing": None, "seconds": 1.0,
                     "reused": False, "predictions": [0] * right + [1] * (10 - right)})
    info = {"questions": ["dropout"], "train_images": 12, "test_images": 10, "seed": 0, "profile": "smoke",
            "device_name": "CPU: test", "swing_epochs": 5, "targets": [0] * 10, "classes": ["a", "b", "c"], "title": "VGG16"}
    questions.save(ExperimentResult("questions", rows, info, histories), out / "questions")
"""


def test_the_open_questions_run_with_the_first_seed_and_the_index_shows_their_tables(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "vgg16_lab.ipynb", 'MODEL = "vgg16"', WRITES_A_RUN, WRITES_QUESTIONS)
    vgg = nbformat.read(folder / "vgg16_lab.ipynb", as_version=4)
    vgg.cells[0].source += "\nquestions_experiment = True"
    nbformat.write(vgg, folder / "vgg16_lab.ipynb")
    write_notebook(folder / "resnet50_lab.ipynb", 'MODEL = "resnet50"', WRITES_A_RUN)
    report_dir = tmp_path / "report"
    build_report(folder, report_dir, tmp_path / "runs", {"profile": "smoke"}, log=lambda message: None, seeds=(0, 1))
    assert (report_dir / "vgg16" / "questions" / "dropout.png").is_file()
    later = nbformat.read(report_dir / "seeds" / "vgg16_lab-seed1.ipynb", as_version=4)
    injected = next(cell.source for cell in later.cells if "injected-parameters" in cell.metadata.get("tags", []))
    assert "questions_experiment = False" in injected
    page = (report_dir / "index.html").read_text()
    assert "The lab's open questions" in page and "VGG16 lab: dropout" in page and "<td>dropout</td>" in page
    assert "is not confirmed at this budget" in page and 'src="vgg16/questions/dropout.png"' in page
    saved = json.loads((report_dir / "results.json").read_text())
    assert [row["test_acc"] for row in saved["questions"]["vgg16"]["rows"]] == [0.6, 0.9]
    assert "predictions" not in saved["questions"]["vgg16"]["rows"][0]
    labkit.report.rerender(report_dir)
    assert "VGG16 lab: dropout" in (report_dir / "index.html").read_text()
