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
    CIFAR10_CLASSES,
    FIGURE_FILES,
    HISTORY,
    LAB_CLASSES,
    LABS,
    PREDICTIONS,
    RUN_FILES,
    TEST_PER_CLASS,
    TRAIN_PER_CLASS,
    get_profile,
    title,
)

SEEDS_FOLDER = "seeds"  # in a report with several seeds: the other seeds' executed notebooks
# Notebook parameters that are recipe settings (lab.recipe overrides) under the same name.
RECIPE_PARAMETERS = ("epochs", "batch_size", "lr", "seed", "per_class", "val_per_class", "classes", "bf16")


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names the notebook and the cell."""


def estimate_seconds(
    profiles: tuple[str, ...], device_name: str = "auto", overrides: dict[str, Any] | None = None
) -> dict[str, dict[str, float]]:
    """Seconds of training and testing each profile's runs would take here, from measured rates.

    One short measurement per model (a few training steps and test batches of 64
    at the run's precision): enough to tell minutes from hours, not a benchmark.
    ``overrides`` are the recipe settings passed with the profile (epochs, classes,
    bf16, ...). Start-up, data loading and figures are not included.
    """
    overrides = overrides or {}
    import torch

    from .bench import evaluation_rate, step_rate
    from .device import device_settings
    from .lab import recipe
    from .models import build

    device, bf16, channels_last = device_settings(device_name, overrides.get("bf16"))
    rates = {}
    for model in LABS:
        torch.manual_seed(0)
        network = build(model)
        train_rate = step_rate(network, device, batch_size=64, steps=2, warmup=1, bf16=bf16, channels_last=channels_last)
        test_rate = evaluation_rate(network, device, batch_size=64, batches=2, bf16=bf16, channels_last=channels_last)
        rates[model] = train_rate, test_rate
    estimate: dict[str, dict[str, float]] = {}
    for profile in profiles:
        estimate[profile] = {}
        for model, (train_rate, test_rate) in rates.items():
            chosen = recipe(model, profile, **overrides)
            classes = len(chosen.classes)
            train_images = classes * (chosen.per_class or TRAIN_PER_CLASS)  # (a validation hold-out costs as much)
            test_images = classes * (chosen.test_per_class or TEST_PER_CLASS)
            estimate[profile][model] = chosen.epochs * (train_images / train_rate + test_images / test_rate)
    return estimate


def duration(seconds: float) -> str:
    """Seconds as a reader reads a wait: 40 s, 12 min, 4.7 h."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


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
        chosen = recipe(model, profile, **overrides)  # raises the recipe's own message for a bad value
    unknown = [name for name in chosen.classes if name not in CIFAR10_CLASSES]
    if unknown:
        raise ValueError(f"-p classes: unknown class name(s) {', '.join(unknown)}; CIFAR-10's classes are "
                         f"{', '.join(CIFAR10_CLASSES)} (or \"all\")")  # fmt: skip


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
        for leftover in previous.iterdir():  # (an older report's seeds are not this one's)
            if leftover.name != SEEDS_FOLDER and not (report_dir / leftover.name).exists():
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
    seeds: tuple[int, ...] | None = None,
) -> Path:
    """Run every lab notebook into a fresh report, then replace ``report_dir`` with it.

    With ``seeds``, each notebook runs once per seed: the lab pages show the first
    seed's execution, the others' executed notebooks go to ``seeds/``, and the
    report tables every seed's results with their mean and spread.
    The runs go into a new folder inside ``runs_dir``, removed once the report is
    complete: nothing that was in ``runs_dir`` before is touched.
    """
    parameters = dict(parameters or {})
    if seeds is not None and (not seeds or len(set(seeds)) != len(seeds)):
        raise ValueError(f"seeds must name one or more different seeds, got {list(seeds)}")
    report_dir, runs_dir = report_dir.resolve(), runs_dir.resolve()
    report_dir.parent.mkdir(parents=True, exist_ok=True)
    runs_dir.mkdir(parents=True, exist_ok=True)
    for leftover in report_dir.parent.glob(f".{report_dir.name}-new-*"):  # a failed report's, kept for its error
        shutil.rmtree(leftover, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{report_dir.name}-new-", dir=report_dir.parent))
    scratch = Path(tempfile.mkdtemp(prefix="report-", dir=runs_dir))
    try:
        return _build(notebooks_dir, report_dir, staging, scratch, parameters, kernel, models, log, seeds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # its checkpoints; the report keeps each run's history and figures




def _build(notebooks_dir, report_dir, staging, scratch, parameters, kernel, models, log, seeds) -> Path:
    runs: dict[str, list[History]] = {}
    links: dict[str, dict[str, str]] = {}
    for model in models:
        name = LABS[model].notebook
        runs[model] = []
        for index, seed in enumerate(seeds or (parameters.get("seed"),)):
            run_dir = scratch / (model if seed is None else f"{model}-seed{seed}")
            notebook_parameters = {**parameters, "output_dir": str(run_dir)}
            if seed is not None:
                notebook_parameters["seed"] = seed
            first = next(iter(runs))
            if first != model:  # every later lab discusses itself against the first one's run of the same seed
                notebook_parameters["compare_with"] = str(scratch / (first if seed is None else f"{first}-seed{seed}") / HISTORY)
            log(f"== running {name} ({', '.join(f'{k}={v!r}' for k, v in notebook_parameters.items())})")
            if index == 0:
                executed = staging / name
            else:
                (staging / SEEDS_FOLDER).mkdir(exist_ok=True)
                executed = staging / SEEDS_FOLDER / f"{Path(name).stem}-seed{seed}.ipynb"
            _execute(notebooks_dir / name, executed, notebook_parameters, kernel)
            runs[model].append(History.load(run_dir / HISTORY))
            if index:
                shutil.copy2(run_dir / HISTORY, executed.with_suffix(".json"))
                continue
            figures = staging / model
            figures.mkdir()
            for file_name in RUN_FILES:
                shutil.copy2(run_dir / file_name, figures / file_name)
            html_page = _render_html(executed)
            links[model] = {"executed notebook": name, "notebook as HTML": html_page.name}
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    write_index(staging, {model: histories[0] for model, histories in runs.items()}, links, generated,
                seed_runs=runs if seeds and len(seeds) > 1 else None)  # fmt: skip
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


def _markdown_table_html(markdown: str) -> str:
    """A Markdown table (and a trailing sentence) from labkit.results, as HTML."""
    rows = [line for line in markdown.splitlines() if line.startswith("|") and not line.startswith("|---")]
    after = [line for line in markdown.splitlines() if line and not line.startswith("|")]
    cells = [[html.escape(cell.strip()) for cell in row.strip("|").split("|")] for row in rows]
    head = "".join(f"<th>{cell}</th>" for cell in cells[0])
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in cells[1:])
    text = "".join(f"<p>{html.escape(line.lstrip('* '))}</p>" for line in after)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{text}"


def paired_test(report_dir: Path, models: list[str]):
    """McNemar's test of the first two labs on the test images both classified; None when it does not apply."""
    from .artefacts import load_predictions
    from .metrics import mcnemar, paired_correctness

    if len(models) < 2 or not all((report_dir / model / PREDICTIONS).is_file() for model in models[:2]):
        return None
    first, second = (load_predictions(report_dir / model) for model in models[:2])
    return mcnemar(*paired_correctness(first, second))


def index_html(
    runs: dict[str, History], links: dict[str, dict[str, str]], generated: str,
    seed_runs: dict[str, list[History]] | None = None, paired=None,
) -> str:  # fmt: skip
    """One page: both labs' results beside the reference, their spread over seeds, figures, and links."""
    from .results import (
        comparison_rows,
        paired_test_markdown,
        reading_notes,
        reference_lab,
        seed_summary,
        seed_table_markdown,
    )

    models = list(runs)
    labs = {m: reference_lab(runs[m], m) for m in models}
    header = "".join(
        f"<th>{html.escape(title(m))}: this run</th>" + (f"<th>{html.escape(title(m))}: reference</th>" if labs[m] else "")
        for m in models
    )
    tables = {m: comparison_rows(runs[m], labs[m]) for m in models}
    body_rows = []
    for index, (quantity, _, _) in enumerate(next(iter(tables.values()))):
        cells = "".join(
            f"<td>{html.escape(tables[m][index][1])}</td>" + (f"<td>{html.escape(tables[m][index][2])}</td>" if labs[m] else "")
            for m in models
        )
        body_rows.append(f"<tr><th>{html.escape(quantity)}</th>{cells}</tr>")
    every_note = dict.fromkeys(note for history in runs.values() for note in reading_notes(history))  # in order, once
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in every_note)
    extra = ""
    if seed_runs:
        seeds = ", ".join(str(h.info.get("seed")) for h in next(iter(seed_runs.values())))
        extra += (f"<h2>Over seeds {html.escape(seeds)}</h2><p class=\"note\">Each lab run once per seed, every other setting "
                  f"the same. The lab pages below show seed {html.escape(seeds.split(',')[0])}; the other seeds' executed "
                  f"notebooks are in <code>{SEEDS_FOLDER}/</code>.</p>")  # fmt: skip
        for model, histories in seed_runs.items():
            table = seed_table_markdown(seed_summary(histories, labs[model]), labs[model])
            extra += f"<h3>{html.escape(title(model))}</h3>{_markdown_table_html(table)}"
    if paired is not None:
        extra += f"<h2>The two models on the same test images</h2><p>{html.escape(paired_test_markdown(models[0], models[1], paired))}</p>"
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
    classes = list(next(iter(runs.values())).info.get("classes", LAB_CLASSES))
    subject = f"{' and '.join(title(m) for m in models)} on {len(classes)} CIFAR-10 classes"
    reference_note = (
        "the reference columns are the original lab's published results (one run each on an unnamed GPU)"
        if any(labs.values()) else "these are not the lab's classes, so there is no reference run to compare with"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>labkit report: {html.escape(subject)}</title>
<style>{_STYLE}</style></head><body>
<h1>{html.escape(subject)}</h1>
<p class="note">Generated {html.escape(generated)} by <code>python -m labkit report</code>. Every number in
"this run" comes from the run's history; {reference_note}. Accuracies are on the {html.escape("/".join(classes))} test split.</p>
{scope}
<table><thead><tr><th></th>{header}</tr></thead><tbody>{''.join(body_rows)}</tbody></table>
<ul class="note">{notes}</ul>
{extra}
<div class="labs">{''.join(sections)}</div>
</body></html>
"""


def write_index(
    report_dir: Path, runs: dict[str, History], links: dict[str, dict[str, str]], generated: str,
    seed_runs: dict[str, list[History]] | None = None,
) -> Path:  # fmt: skip
    """index.html and results.json: the figures a reader sees, and the same figures for programs."""
    from dataclasses import asdict

    from .results import reference_lab, seed_summary, test_interval

    report_dir = Path(report_dir)
    paired = paired_test(report_dir, list(runs))
    path = report_dir / "index.html"
    atomic_write_text(path, index_html(runs, links, generated, seed_runs, paired))
    summary: dict[str, Any] = {
        model: {**history.final(), "test_acc_95_interval": test_interval(history), "info": history.info}
        for model, history in runs.items()
    }
    for model, histories in (seed_runs or {}).items():
        summary[model]["over_seeds"] = seed_summary(histories, reference_lab(histories[0], model))
    if paired is not None:
        summary["paired_test"] = {"models": list(runs)[:2], "test": "exact McNemar", **asdict(paired)}
    atomic_write_text(report_dir / "results.json", json_text(summary))
    return path
