"""Headless reruns: execute both lab notebooks with papermill and build report/.

The new report is assembled in a sibling folder and swapped in only when every
notebook has run, so a failure leaves the previous report exactly as it was.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .history import History

LABS = {"vgg16": "vgg16_lab.ipynb", "resnet50": "resnet50_lab.ipynb"}
RUN_FILES = ("history.json", "curves.png", "predictions.png", "confusion.png")
# Images the full recipe pushes through each model: training epochs plus a
# test pass per epoch (a forward pass costs about a third of a training step).
_FULL_WORK = {"vgg16": 20 * (15_000 + 3_000 / 3), "resnet50": 15 * (15_000 + 3_000 / 3)}


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names the notebook and the cell."""


def estimate_full_recipe(device_name: str = "auto", log=print) -> dict[str, float]:
    """Seconds the full recipe would take here, from a measured training-step rate."""
    import torch

    from .bench import step_rate
    from .models import build
    from .train import device_settings

    device, bf16, channels_last = device_settings(device_name)
    torch.manual_seed(0)
    estimate = {}
    for model_name, work in _FULL_WORK.items():
        rate = step_rate(build(model_name), device, batch_size=32, steps=2, warmup=1, bf16=bf16, channels_last=channels_last)
        estimate[model_name] = work / rate
        log(f"  {model_name}: {rate:.0f} training images/s measured here -> about {work / rate / 3600:.1f} h")
    return estimate


def _execute(notebook: Path, output: Path, parameters: dict[str, Any], kernel: str) -> None:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(notebook), str(output), parameters=parameters, kernel_name=kernel,
            log_output=True, progress_bar=False, cwd=str(notebook.parent),
        )  # fmt: skip
    except PapermillExecutionError as error:
        raise NotebookFailed(
            f"notebook {notebook.name} failed in cell {error.cell_index} (execution count {error.exec_count}): "
            f"{error.ename}: {error.evalue}. The executed copy with the error is {output}"
        ) from error


def _render_html(notebook: Path) -> Path:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    target = notebook.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target


def _swap_in(staging: Path, report_dir: Path) -> None:
    old = report_dir.with_name(report_dir.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if report_dir.exists():
        report_dir.rename(old)
    staging.rename(report_dir)
    if old.exists():
        # Keep files the report command does not make (benchmarks.md, notes).
        for leftover in old.iterdir():
            if not (report_dir / leftover.name).exists():
                leftover.rename(report_dir / leftover.name)
        shutil.rmtree(old)


def build_report(
    notebooks_dir: Path,
    report_dir: Path,
    runs_dir: Path,
    parameters: dict[str, Any] | None = None,
    kernel: str = "python3",
    labs: dict[str, str] = LABS,
    log=print,
) -> Path:
    """Run every lab notebook into a fresh report, then replace ``report_dir`` with it."""
    from .report import write_index

    parameters = dict(parameters or {})
    report_dir, runs_dir = report_dir.resolve(), runs_dir.resolve()
    staging = report_dir.with_name(report_dir.name + ".new")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    runs: dict[str, History] = {}
    links: dict[str, dict[str, str]] = {}
    for model, name in labs.items():
        run_dir = runs_dir / model
        if run_dir.exists():
            shutil.rmtree(run_dir)  # scratch space of the previous report run; its results live in report/
        notebook_parameters = {**parameters, "output_dir": str(run_dir)}
        if model != "vgg16" and "vgg16" in runs:
            notebook_parameters["compare_with"] = str(runs_dir / "vgg16" / "history.json")
        log(f"== running {name} ({', '.join(f'{k}={v!r}' for k, v in notebook_parameters.items())})")
        executed = staging / name
        _execute(notebooks_dir / name, executed, notebook_parameters, kernel)
        figures = staging / model
        figures.mkdir()
        for file_name in RUN_FILES:
            shutil.copy2(run_dir / file_name, figures / file_name)
        runs[model] = History.load(run_dir / "history.json")
        html_page = _render_html(executed)
        links[model] = {"executed notebook": name, "notebook as HTML": html_page.name}
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    write_index(staging, runs, links, generated)
    _swap_in(staging, report_dir)
    log(f"== report written to {report_dir / 'index.html'}")
    return report_dir / "index.html"


def absolute_data_root() -> None:
    """Notebooks run with their own folder as working directory: make $LABKIT_DATA absolute first."""
    value = os.environ.get("LABKIT_DATA")
    if value and not os.path.isabs(value):
        os.environ["LABKIT_DATA"] = os.path.abspath(value)

