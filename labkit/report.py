"""``python -m labkit report``: run both lab notebooks with papermill and build report/.

The new report is assembled in a sibling folder and swapped in only when every
notebook has run, so a failure leaves the previous report exactly as it was.
"""

from __future__ import annotations

import html
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .files import atomic_write_text, json_text
from .history import History
from .lab import (
    FIGURE_FILES,
    HISTORY,
    LAB_CLASSES,
    LABS,
    RUN_FILES,
    TEST_PER_CLASS,
    TRAIN_PER_CLASS,
    get_profile,
    title,
)

# Notebook parameters that are recipe settings (lab.recipe overrides) under the same name.
RECIPE_PARAMETERS = ("epochs", "batch_size", "lr", "seed", "per_class")


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names the notebook and the cell."""


def estimate_full_recipe(device_name: str = "auto", log=print) -> dict[str, float]:
    """Seconds the full recipe would take here, from a measured training-step rate."""
    import torch

    from .bench import step_rate
    from .device import device_settings
    from .models import build

    device, bf16, channels_last = device_settings(device_name)
    torch.manual_seed(0)
    estimate = {}
    for model_name, lab in LABS.items():
        # Images pushed through the model: every training image each epoch, plus
        # the test pass (a forward pass costs about a third of a training step).
        classes = len(lab.recipe.classes)
        work = lab.recipe.epochs * classes * (TRAIN_PER_CLASS + TEST_PER_CLASS / 3)
        rate = step_rate(build(model_name), device, batch_size=32, steps=2, warmup=1, bf16=bf16, channels_last=channels_last)
        estimate[model_name] = work / rate
        log(f"  {model_name}: {rate:.0f} training images/s measured here -> about {work / rate / 3600:.1f} h")
    return estimate


def notebook_parameters(notebooks_dir: Path) -> dict[str, set[str]]:
    """The names each lab notebook's ``parameters`` cell assigns, by notebook file name."""
    import ast

    import nbformat

    names = {}
    for lab in LABS.values():
        if not (notebooks_dir / lab.notebook).is_file():
            raise ValueError(
                f"{notebooks_dir / lab.notebook} does not exist; run from the project's folder, or pass --notebooks "
                "with the folder that holds the lab notebooks"
            )
        notebook = nbformat.read(notebooks_dir / lab.notebook, as_version=4)
        cells = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
        try:
            tree = ast.parse(cells[0].source if cells else "")
        except SyntaxError as error:
            raise ValueError(f"the parameters cell of {notebooks_dir / lab.notebook} does not parse: {error}") from None
        names[lab.notebook] = {target.id for node in tree.body if isinstance(node, ast.Assign)
                               for target in node.targets if isinstance(target, ast.Name)}  # fmt: skip
    return names


def check_parameters(notebooks_dir: Path, parameters: dict[str, Any], profile) -> None:
    """Refuse a parameter no notebook takes, and a recipe value the notebooks would refuse, before any runs."""
    from .lab import recipe

    taken = notebook_parameters(notebooks_dir)
    # The report passes output_dir and compare_with itself; each notebook is its own model's lab.
    known = set().union(*taken.values()) - {"output_dir", "compare_with", "model_name"}
    unknown = sorted(set(parameters) - known)
    if unknown:
        raise ValueError(f"unknown notebook parameter(s) {', '.join(unknown)}; the notebooks take: {', '.join(sorted(known))}")
    overrides = {name: value for name, value in parameters.items() if name in RECIPE_PARAMETERS}
    for model in LABS:
        recipe(model, profile, **overrides)  # raises the recipe's own message for a bad value


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
    # The old report is moved aside under a fresh name, never one a user's folder might have.
    old = Path(tempfile.mkdtemp(prefix=f".{report_dir.name}-old-", dir=report_dir.parent))
    if report_dir.exists():
        report_dir.rename(old / report_dir.name)
    staging.rename(report_dir)
    previous = old / report_dir.name
    if previous.exists():
        # Keep files the report command does not make (benchmarks.md, notes).
        for leftover in previous.iterdir():
            if not (report_dir / leftover.name).exists():
                leftover.rename(report_dir / leftover.name)
    shutil.rmtree(old)


def build_report(
    notebooks_dir: Path,
    report_dir: Path,
    runs_dir: Path,
    parameters: dict[str, Any] | None = None,
    kernel: str = "python3",
    models: tuple[str, ...] = tuple(LABS),
    log=print,
) -> Path:
    """Run every lab notebook into a fresh report, then replace ``report_dir`` with it.

    The runs go into a new folder inside ``runs_dir``, removed once the report is
    complete: nothing that was in ``runs_dir`` before is touched.
    """
    parameters = dict(parameters or {})
    report_dir, runs_dir = report_dir.resolve(), runs_dir.resolve()
    report_dir.parent.mkdir(parents=True, exist_ok=True)
    runs_dir.mkdir(parents=True, exist_ok=True)
    for leftover in report_dir.parent.glob(f".{report_dir.name}-new-*"):  # a failed report's, kept for its error
        shutil.rmtree(leftover, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{report_dir.name}-new-", dir=report_dir.parent))
    scratch = Path(tempfile.mkdtemp(prefix="report-", dir=runs_dir))
    try:
        return _build(notebooks_dir, report_dir, staging, scratch, parameters, kernel, models, log)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # its checkpoints; the report keeps each run's history and figures


def _build(notebooks_dir, report_dir, staging, scratch, parameters, kernel, models, log) -> Path:
    runs: dict[str, History] = {}
    links: dict[str, dict[str, str]] = {}
    for model in models:
        name = LABS[model].notebook
        run_dir = scratch / model
        notebook_parameters = {**parameters, "output_dir": str(run_dir)}
        if runs:  # every later lab discusses itself against the first one's run
            notebook_parameters["compare_with"] = str(scratch / next(iter(runs)) / HISTORY)
        log(f"== running {name} ({', '.join(f'{k}={v!r}' for k, v in notebook_parameters.items())})")
        executed = staging / name
        _execute(notebooks_dir / name, executed, notebook_parameters, kernel)
        figures = staging / model
        figures.mkdir()
        for file_name in RUN_FILES:
            shutil.copy2(run_dir / file_name, figures / file_name)
        runs[model] = History.load(run_dir / HISTORY)
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


# --------------------------------------------------------------------------- the index page

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #1f2328; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #d0d7de; padding: 0.35em 0.7em; text-align: left; }
th { background: #f6f8fa; }
.labs { display: grid; grid-template-columns: 1fr 1fr; gap: 2em; }
img { max-width: 100%; border: 1px solid #d0d7de; }
.note { color: #59636e; }
"""
_FIGURE_TITLES = {"curves": ("Training curves", "training curves"), "predictions": ("Test predictions", "predictions"),
                  "confusion": ("Confusion matrix", "confusion matrix")}  # fmt: skip


def index_html(runs: dict[str, History], links: dict[str, dict[str, str]], generated: str) -> str:
    """One page: both labs' results beside the reference, their figures, and links to the notebooks."""
    from .results import comparison_rows

    models = list(runs)
    header = "".join(
        f"<th>{html.escape(title(m))}: this run</th><th>{html.escape(title(m))}: reference</th>" for m in models
    )
    tables = {m: comparison_rows(runs[m], LABS.get(m)) for m in models}
    body_rows = []
    for index, (quantity, _, _) in enumerate(next(iter(tables.values()))):
        cells = "".join(
            f"<td>{html.escape(tables[m][index][1])}</td><td>{html.escape(tables[m][index][2])}</td>" for m in models
        )
        body_rows.append(f"<tr><th>{html.escape(quantity)}</th>{cells}</tr>")
    sections = []
    for model in models:
        name = html.escape(title(model))
        anchors = " · ".join(
            f'<a href="{html.escape(target)}">{html.escape(label)}</a>' for label, target in links.get(model, {}).items()
        )
        images = "".join(
            f'<h3>{_FIGURE_TITLES[figure][0]}</h3><img src="{model}/{file_name}" alt="{name} {_FIGURE_TITLES[figure][1]}">'
            for figure, file_name in FIGURE_FILES.items()
        )
        sections.append(f"<section><h2>{name}</h2><p>{anchors}</p>{images}</section>")

    used = sorted({str(history.info.get("profile", "?")) for history in runs.values()})
    devices = sorted({str(history.info.get("device_name", "?")) for history in runs.values()})

    def described(profile: str) -> str:
        try:
            return get_profile(profile).describe()
        except ValueError:
            return "unknown"

    profile_text = "; ".join(f"<b>{html.escape(name)}</b>: {html.escape(described(name))}" for name in used)
    scope = (
        f"<p>Profile {profile_text}, on {html.escape(', '.join(devices))}."
        + ("" if used == ["full"] else " This is not the full recipe, so the numbers are not comparable "
           "like-for-like with the reference; a run of the full recipe on a GPU replaces this report.")
        + "</p>"
    )  # fmt: skip
    subject = f"{' and '.join(title(m) for m in models)} on {len(LAB_CLASSES)} CIFAR-10 classes"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>labkit report: {html.escape(subject)}</title>
<style>{_STYLE}</style></head><body>
<h1>{html.escape(subject)}</h1>
<p class="note">Generated {html.escape(generated)} by <code>python -m labkit report</code>. Every number in
"this run" comes from the run's history; the reference columns are the original lab's published results
(one run each on an unnamed GPU). Accuracies are on the {"/".join(LAB_CLASSES)} test split.</p>
{scope}
<table><thead><tr><th></th>{header}</tr></thead><tbody>{''.join(body_rows)}</tbody></table>
<div class="labs">{''.join(sections)}</div>
</body></html>
"""


def write_index(report_dir: Path, runs: dict[str, History], links: dict[str, dict[str, str]], generated: str) -> Path:
    path = Path(report_dir) / "index.html"
    atomic_write_text(path, index_html(runs, links, generated))
    summary = {model: {**history.final(), "info": history.info} for model, history in runs.items()}
    atomic_write_text(Path(report_dir) / "results.json", json_text(summary))
    return path
