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
    EXPERIMENT_RESULTS,
    EXPERIMENTS,
    FIGURE_DPI,
    FIGURE_FILES,
    HISTORY,
    LAB_CLASSES,
    LABS,
    PREDICTIONS,
    QUESTIONS,
    QUESTIONS_FOLDER,
    RUN_FILES,
    TEST_PER_CLASS,
    TRAIN_PER_CLASS,
    experiment_parameter,
    experiments_of,
    get_profile,
    title,
)

SEEDS_FOLDER = "seeds"  # in a report with several seeds: the other seeds' executed notebooks
BENCHMARKS = "benchmarks.md"  # written by `labkit bench --markdown`; the report shows it as benchmarks.html
KEPT_FILES = (BENCHMARKS,)  # files of the previous report that a new one keeps and renders
RESULTS = "results.json"
# Notebook parameters that are recipe settings (lab.recipe overrides) under the same name.
RECIPE_PARAMETERS = ("epochs", "batch_size", "lr", "seed", "per_class", "val_per_class", "classes", "bf16")
VARIANT_PARAMETER = "recipe"  # the notebook parameter that names the recipe variant (lab.VARIANTS) its run trains


def recipe_settings(parameters: dict[str, Any]) -> dict[str, Any]:
    """The notebook parameters that decide the labs' recipes, as :func:`labkit.lab.recipe` takes them."""
    settings = {name: value for name, value in parameters.items() if name in RECIPE_PARAMETERS}
    if parameters.get(VARIANT_PARAMETER) is not None:
        settings["variant"] = parameters[VARIANT_PARAMETER]
    return settings


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names the notebook and the cell."""


def estimate_seconds(
    profiles: tuple[str, ...], device_name: str = "auto", overrides: dict[str, Any] | None = None,
    experiments: tuple[str, ...] | None = None, questions: bool = True,
) -> dict[str, dict[str, tuple[float, float]]]:  # fmt: skip
    """Seconds of training and testing each profile's notebooks would take here: (the lab, what runs once).

    One short measurement per model (a few training steps and test batches of 64
    at the run's precision): enough to tell minutes from hours, not a benchmark.
    ``overrides`` are the recipe settings passed with the profile (:func:`recipe_settings`).
    The second figure is what a notebook runs with its first seed only: the papers'
    ``experiments`` (None: all of them) and, with ``questions``, the lab's open
    questions. Start-up, data loading and figures are not included.
    """
    overrides = overrides or {}
    experiments = tuple(EXPERIMENTS) if experiments is None else experiments
    import torch

    from .bench import evaluation_rate, step_rate
    from .device import device_settings
    from .lab import experiment_recipe, question_recipe, question_variants, questions_of, questions_skipped, recipe
    from .models import build
    from .protocols import relative_cost

    device, bf16, channels_last = device_settings(device_name, overrides.get("bf16"))
    rates: dict[str, tuple[float, float]] = {}

    def rate(model: str) -> tuple[float, float]:
        twin = model.replace("plain", "resnet")  # zero-padded shortcuts cost next to nothing
        if twin not in rates:
            torch.manual_seed(0)
            network = build(twin)
            rates[twin] = (step_rate(network, device, batch_size=64, steps=2, warmup=1, bf16=bf16, channels_last=channels_last),
                           evaluation_rate(network, device, batch_size=64, batches=2, bf16=bf16, channels_last=channels_last))  # fmt: skip
        return rates[twin]

    def seconds(chosen) -> float:
        classes = len(chosen.classes)
        train_images = classes * (chosen.per_class or TRAIN_PER_CLASS)  # (a validation hold-out costs as much)
        test_images = classes * (chosen.test_per_class or TEST_PER_CLASS)
        train_rate, test_rate = rate(chosen.model)
        return chosen.epochs * (train_images / train_rate + test_images / test_rate)

    estimate: dict[str, dict[str, float]] = {}
    kept = {name: value for name, value in overrides.items() if name in ("classes", "bf16", "seed")}
    for profile in profiles:
        estimate[profile] = {}
        for model in LABS:
            chosen = recipe(model, profile, **overrides)
            total = 0.0
            for name in experiments_of(model):
                if name not in experiments:
                    continue
                if EXPERIMENTS[name].models:
                    total += sum(seconds(experiment_recipe(name, m, profile, **kept)) for m in EXPERIMENTS[name].models)
                else:  # the test protocols, on the lab's own trained model
                    per_class = get_profile(profile).for_experiment(name).test_per_class or chosen.test_per_class
                    test_images = len(chosen.classes) * (per_class or TEST_PER_CLASS)
                    total += test_images * relative_cost() / rate(model)[1]
            if questions and questions_of(model) and not questions_skipped(model, profile):
                asked = {variant: question_recipe(model, variant, profile, **kept) for variant in question_variants(model)}
                if asked["lab"] == chosen:  # the notebook's own run stands as the lab row
                    del asked["lab"]
                total += sum(seconds(variant) for variant in asked.values())
            estimate[profile][model] = (seconds(chosen), total)
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
    for model in LABS:
        chosen = recipe(model, profile, **recipe_settings(parameters))  # raises the recipe's own message for a bad value
    unknown = [name for name in chosen.classes if name not in CIFAR10_CLASSES]
    if unknown:
        raise ValueError(f"-p classes: unknown class name(s) {', '.join(unknown)}; CIFAR-10's classes are "
                         f"{', '.join(CIFAR10_CLASSES)} (or \"all\")")  # fmt: skip


def _execute(notebook: Path, output: Path, parameters: dict[str, Any], kernel: str) -> None:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from .train import PROGRESS_VARIABLE

    previous = os.environ.get(PROGRESS_VARIABLE)
    os.environ[PROGRESS_VARIABLE] = "none"  # the kernel inherits it: no widget bars in the saved notebook
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
    finally:
        if previous is None:
            os.environ.pop(PROGRESS_VARIABLE, None)
        else:
            os.environ[PROGRESS_VARIABLE] = previous


def _from(folder: Path, path):
    """A path as the notebooks read it: a relative one from their folder, the kernel's working folder."""
    return None if path is None else Path(folder) / Path(path).expanduser()


def executed_for_notebooks(executed: Path) -> Any:
    """An executed lab notebook as notebooks/ keeps it: without papermill's injected cell.

    That cell pinned the profile, seed and a scratch output folder the report has
    since removed; without it, a reader's "Run All" takes the defaults again.
    """
    import nbformat

    notebook = nbformat.read(executed, as_version=4)
    notebook.cells = [cell for cell in notebook.cells if "injected-parameters" not in cell.metadata.get("tags", [])]
    return notebook


def _finish_executed(executed: Path, source: Path, destination: Path) -> None:
    """Where papermill read and wrote the notebook, by folder name only; no stale widget state; nbval skips its injected cell.

    nbval runs a committed copy on the smoke profile from ``$LABKIT_PROFILE``, which
    the report's injected parameters (profile, seed, output folder) would override.
    """
    import nbformat

    notebook = nbformat.read(executed, as_version=4)
    notebook.metadata.pop("widgets", None)  # papermill copies the source's: another run's progress bars
    record = notebook.metadata.get("papermill", {})
    record.update({"input_path": source.as_posix(), "output_path": destination.as_posix()})
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "nbval-skip" not in tags:
            cell.metadata["tags"] = [*tags, "nbval-skip"]
    nbformat.write(notebook, executed)


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
    update_notebooks: bool = False,
) -> Path:
    """Run every lab notebook into a fresh report, then replace ``report_dir`` with it.

    ``update_notebooks`` copies the lab pages' executed notebooks back over the
    notebooks they ran from, so notebooks/ and the report hold one execution.

    With ``seeds``, each notebook runs once per seed: the lab pages show the first
    seed's execution, the others' executed notebooks go to ``seeds/``, and the
    report tables every seed's results with their mean and spread.
    The runs go into a new folder inside ``runs_dir``, removed once the report is
    complete: nothing that was in ``runs_dir`` before is touched.
    """
    parameters = dict(parameters or {})
    if seeds is not None and (not seeds or len(set(seeds)) != len(seeds)):
        raise ValueError(f"seeds must name one or more different seeds, got {list(seeds)}")
    report_dir, runs_dir, notebooks_dir = report_dir.resolve(), runs_dir.resolve(), Path(notebooks_dir).resolve()
    report_dir.parent.mkdir(parents=True, exist_ok=True)
    runs_dir.mkdir(parents=True, exist_ok=True)
    for leftover in report_dir.parent.glob(f".{report_dir.name}-new-*"):  # a failed report's, kept for its error
        shutil.rmtree(leftover, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{report_dir.name}-new-", dir=report_dir.parent))
    scratch = Path(tempfile.mkdtemp(prefix="report-", dir=runs_dir))
    try:
        index = _build(notebooks_dir, report_dir, staging, scratch, parameters, kernel, models, log, seeds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # its checkpoints; the report keeps each run's history and figures
    if update_notebooks:
        copy_to_notebooks(report_dir, notebooks_dir, models, log)
    return index


def copy_to_notebooks(report_dir: Path, notebooks_dir: Path, models=tuple(LABS), log=print) -> None:
    """Each lab's executed notebook from the report over the notebook it ran from: one execution in both."""
    import nbformat

    for model in models:
        name = LABS[model].notebook
        if not (report_dir / name).is_file():
            raise FileNotFoundError(f"{report_dir / name} is missing: the report holds no executed {title(model)} lab")
        atomic_write_text(Path(notebooks_dir) / name, nbformat.writes(executed_for_notebooks(report_dir / name)) + "\n")
        log(f"== {Path(notebooks_dir).name}/{name} now holds the report's execution")




def _build(notebooks_dir, report_dir, staging, scratch, parameters, kernel, models, log, seeds) -> Path:
    runs: dict[str, list[History]] = {}
    taken = notebook_parameters(Path(notebooks_dir))  # each notebook's own parameter names
    for model in models:
        name = LABS[model].notebook
        runs[model] = []
        for index, seed in enumerate(seeds or (parameters.get("seed"),)):
            run_dir = scratch / (model if seed is None else f"{model}-seed{seed}")
            # Paths from the kernel's folder, so the executed notebook holds no path of this machine.
            given = {**parameters, "output_dir": os.path.relpath(run_dir, notebooks_dir)}
            if seed is not None:
                given["seed"] = seed
            if index:  # the papers' experiments run once, with the first seed
                switches = [experiment_parameter(name) for name in (*experiments_of(model), QUESTIONS_FOLDER)]
                given.update({switch: False for switch in switches if switch in taken[name]})
            first = next(iter(runs))
            if first != model:  # every later lab discusses itself against the first one's run of the same seed
                compared = scratch / (first if seed is None else f"{first}-seed{seed}") / HISTORY
                given["compare_with"] = os.path.relpath(compared, notebooks_dir)
            log(f"== running {name} ({', '.join(f'{k}={v!r}' for k, v in given.items())})")
            if index == 0:
                executed = staging / name
            else:
                (staging / SEEDS_FOLDER).mkdir(exist_ok=True)
                executed = staging / SEEDS_FOLDER / f"{Path(name).stem}-seed{seed}.ipynb"
            _execute(notebooks_dir / name, executed, given, kernel)
            _finish_executed(executed, Path(notebooks_dir.name) / name, Path(report_dir.name) / executed.relative_to(staging))
            runs[model].append(History.load(run_dir / HISTORY))
            if index:
                shutil.copy2(run_dir / HISTORY, executed.with_suffix(".json"))
                continue
            figures = staging / model
            figures.mkdir()
            for file_name in RUN_FILES:
                shutil.copy2(run_dir / file_name, figures / file_name)
            for experiment in (*experiments_of(model), QUESTIONS_FOLDER):
                if (run_dir / experiment).is_dir():
                    shutil.copytree(run_dir / experiment, figures / experiment)
    for kept in KEPT_FILES:  # made by other commands: the new pages link and render them too
        if (report_dir / kept).is_file():
            shutil.copy2(report_dir / kept, staging / kept)
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    render(staging, {model: histories[0] for model, histories in runs.items()}, generated,
           seed_runs=runs if seeds and len(seeds) > 1 else None, data_root=_from(notebooks_dir, parameters.get("data_root")))  # fmt: skip
    _swap_in(staging, report_dir)
    log(f"== report written to {report_dir / 'index.html'}")
    return report_dir / "index.html"


def absolute_data_root() -> None:
    """Notebooks run with their own folder as working directory: make $LABKIT_DATA absolute first."""
    value = os.environ.get("LABKIT_DATA")
    if value and not os.path.isabs(value):
        os.environ["LABKIT_DATA"] = os.path.abspath(value)


# --------------------------------------------------------------------------- the pages

_STYLE = """
.pair { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 460px), 1fr)); gap: 1.5em; }
figure { margin: 0 0 1.5em; }
figure img { width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption { color: #59636e; font-size: 0.9em; }
"""
# What each figure shows, for its heading, its caption and its alternative text.
_FIGURE_TEXT = {
    "curves": ("Training curves", "loss and accuracy per epoch, training against test"),
    "predictions": ("Test predictions", "test images titled with the prediction, a mistake also with the true class"),
    "confusion": ("Confusion matrix", "counts of true class against predicted class on the test split"),
}
_FULL_WIDTH = ("predictions",)  # each model's figure on a row of its own: 24 small titles to read


def lab_page(model: str) -> str:
    """The file name of a lab's notebook rendered as HTML."""
    return str(Path(LABS[model].notebook).with_suffix(".html"))


def navigation(report_dir: Path, models) -> list[tuple[str, str]]:
    """The report's pages, in the order of the navigation bar: the index, each lab, the benchmarks, the data."""
    links = [("Report", "index.html")]
    links += [(f"{title(model)} lab", lab_page(model)) for model in models if (report_dir / LABS[model].notebook).is_file()]
    if (report_dir / BENCHMARKS).is_file():
        links.append(("Benchmarks", "benchmarks.html"))
    links.append((RESULTS, RESULTS))
    return links


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


def _figure(model: str, figure: str, file_name: str) -> str:
    heading, described = _FIGURE_TEXT[figure]
    return _picture(f"{model}/{file_name}", f"{title(model)} {heading.lower()}: {described}", title(model))


def _short_commit(commit: str) -> str:
    """The first 12 hex digits, keeping provenance's "+changes" mark of uncommitted edits."""
    return commit[:12] + ("+changes" if commit.endswith("+changes") else "")


def _what_ran(history: History) -> str:
    """How much of its recipe a run trained and tested, read from its history (not from today's profiles)."""
    info = history.info
    epochs = len(history.epochs)
    train = f"{info['train_images']:,} training images" if info.get("train_images") else "its training images"
    test = f"{info['test_images']:,} test images" if info.get("test_images") else "its test images"
    return f"{train}, {epochs} epoch{'s' if epochs != 1 else ''}, {test}"


def index_html(
    runs: dict[str, History], generated: str, seed_runs: dict[str, list[History]] | None = None, paired=None,
    navigation_links: list[tuple[str, str]] | None = None, comparison: str = "", experiments: str = "",
) -> str:  # fmt: skip
    """One page: both labs' results beside the reference, their spread over seeds, figures, and links."""
    from .pages import page
    from .results import (
        comparison_rows,
        paired_test_markdown,
        reading_notes,
        reference_lab,
        seed_summary,
        seed_table_markdown,
    )

    models = list(runs)
    navigation_links = navigation_links or [("Report", "index.html")]
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
                  f"the same. The lab pages show seed {html.escape(seeds.split(',')[0])}; the other seeds' executed "
                  f"notebooks are in <code>{SEEDS_FOLDER}/</code>.</p>")  # fmt: skip
        for model, histories in seed_runs.items():
            table = seed_table_markdown(seed_summary(histories, labs[model]), labs[model])
            extra += f"<h3>{html.escape(title(model))}</h3>{_markdown_table_html(table)}"
    extra += comparison
    if paired is not None:
        extra += f"<h3>Is the difference chance?</h3><p>{html.escape(paired_test_markdown(models[0], models[1], paired))}</p>"
    extra += experiments
    figures = []
    for figure, file_name in FIGURE_FILES.items():
        cells = "".join(_figure(model, figure, file_name) for model in models)
        layout = "" if figure in _FULL_WIDTH else ' class="pair"'
        figures.append(f"<h3>{_FIGURE_TEXT[figure][0]}</h3><div{layout}>{cells}</div>")
    pages = [(label, href) for label, href in navigation_links if href not in ("index.html",)]
    page_list = "".join(f'<li><a href="{html.escape(href)}">{html.escape(label)}</a></li>' for label, href in pages)
    rendered = {href for _, href in navigation_links}
    notebooks = "".join(f'<li><a href="{html.escape(LABS[model].notebook)}">{html.escape(title(model))}: the executed '
                        f"notebook</a> (.ipynb, to open in JupyterLab)</li>" for model in models
                        if model in LABS and lab_page(model) in rendered)  # fmt: skip

    used = sorted({str(history.info.get("profile", "?")) for history in runs.values()})
    devices = sorted({str(history.info.get("device_name", "?")) for history in runs.values()})

    def described(profile: str) -> str:
        try:
            purpose = get_profile(profile).purpose
        except ValueError:
            purpose = "unknown"
        ran = [f"{title(model)} {_what_ran(history)}" for model, history in runs.items() if history.info.get("profile") == profile]
        return f"{purpose}: {'; '.join(ran)}" if ran else purpose

    profile_text = "; ".join(f"<b>{html.escape(name)}</b> ({html.escape(described(name))})" for name in used)
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
    commits = sorted({_short_commit(str(history.info["commit"])) for history in runs.values() if history.info.get("commit")})
    source = f" from labkit commit {html.escape(', '.join(commits))}" if commits else ""
    body = f"""<h1>{html.escape(subject)}</h1>
<p class="note">Generated {html.escape(generated)} by <code>python -m labkit report</code>{source}. Every number in
"this run" comes from the run's history; {reference_note}. Accuracies are on the {html.escape("/".join(classes))} test split.</p>
{scope}
<table><thead><tr><th></th>{header}</tr></thead><tbody>{''.join(body_rows)}</tbody></table>
<ul class="note">{notes}</ul>
{extra}
<h2>Figures</h2>
{''.join(figures)}
<h2>Pages and files</h2>
<ul>{page_list}{notebooks}</ul>
"""
    return page(f"labkit report: {subject}", body, navigation_links, "index.html", _STYLE)


def write_index(
    report_dir: Path, runs: dict[str, History], generated: str, seed_runs: dict[str, list[History]] | None = None,
    comparison: str = "",
) -> Path:  # fmt: skip
    """index.html and results.json: the figures a reader sees, and the same figures for programs."""
    from dataclasses import asdict

    from .results import reference_lab, seed_summary, test_interval

    report_dir = Path(report_dir)
    paired = paired_test(report_dir, list(runs))
    path = report_dir / "index.html"
    found, asked = saved_experiments(report_dir, runs), saved_questions(report_dir, runs)
    atomic_write_text(path, index_html(runs, generated, seed_runs, paired, navigation(report_dir, runs), comparison,
                                       experiments_html(found, runs) + questions_html(asked)))  # fmt: skip
    summary: dict[str, Any] = {
        model: {**history.final(), "test_acc_95_interval": test_interval(history), "info": history.info}
        for model, history in runs.items()
    }
    for model, histories in (seed_runs or {}).items():
        summary[model]["over_seeds"] = seed_summary(histories, reference_lab(histories[0], model))
    if paired is not None:
        summary["paired_test"] = {"models": list(runs)[:2], "test": "exact McNemar", **asdict(paired)}
    if found:
        summary["experiments"] = {name: {"info": result.info, "rows": result.rows} for name, result in found.items()}
    if asked:  # each row without its per-image predictions, which results.json in the lab's folder keeps
        summary["questions"] = {model: {"info": {k: v for k, v in result.info.items() if k != "targets"},
                                        "rows": [{k: v for k, v in row.items() if k != "predictions"} for row in result.rows]}
                                for model, result in asked.items()}  # fmt: skip
    summary["generated"] = generated
    atomic_write_text(report_dir / RESULTS, json_text(summary))
    return path


def saved_experiments(report_dir: Path, runs: dict[str, History]) -> dict[str, Any]:
    """The papers' experiments that the labs' notebooks ran and saved, by name, in the labs' order."""
    from .experiments import ExperimentResult

    found = {}
    for model in runs:
        for name in experiments_of(model):
            path = Path(report_dir) / model / name / EXPERIMENT_RESULTS
            if path.is_file():
                found[name] = ExperimentResult.load(path)
    return found


def saved_questions(report_dir: Path, runs: dict[str, History]) -> dict[str, Any]:
    """The open questions that the labs' notebooks answered and saved, by model."""
    from .experiments import ExperimentResult

    paths = {model: Path(report_dir) / model / QUESTIONS_FOLDER / EXPERIMENT_RESULTS for model in runs}
    return {model: ExperimentResult.load(path) for model, path in paths.items() if path.is_file()}


def questions_html(asked: dict[str, Any]) -> str:
    """The open questions section: per lab and question, the table, what it found, and the curves."""
    from .question_tables import conclusion, suggestion, table

    if not asked:
        return ""
    parts = ["<h2>The lab's open questions</h2><p class=\"note\">Run by the lab notebooks, once, with the first seed: "
             "each variant of the recipe against the faithful one, on the same split and test images.</p>"]  # fmt: skip
    for model, result in asked.items():
        for name in result.info["questions"]:
            parts.append(f"<h3>{html.escape(title(model))} lab: {html.escape(name)}</h3>"
                         f"<p>{html.escape(suggestion(name))}</p>")  # fmt: skip
            parts.append(_markdown_table_html(f"{table(result, name)}\n{conclusion(result, name)}"))
            parts.append(_picture(f"{model}/{QUESTIONS_FOLDER}/{name}.png", f"{name}: accuracy and learning rate per epoch "
                                  f"of the lab recipe and of {QUESTIONS[name].variant}", f"{title(model)} lab: {name}"))  # fmt: skip
    return "".join(parts)


def experiments_html(found: dict[str, Any], runs: dict[str, History]) -> str:
    """The experiments section: each one's table beside the paper's numbers, what it found, and its curves."""
    from .experiment_tables import conclusion, paper_protocol_table, table

    if not found:
        return ""
    parts = ['<h2>The papers\' experiments</h2><p class="note">Run by the lab notebooks with the lab\'s recipe, once, '
             "with the first seed; each lab page explains its experiments.</p>"]  # fmt: skip
    for name, result in found.items():
        model = EXPERIMENTS[name].lab
        parts.append(f"<h3>{html.escape(title(model))} lab: {html.escape(name)}</h3>"
                     f"<p>{html.escape(EXPERIMENTS[name].question[:1].upper() + EXPERIMENTS[name].question[1:])}</p>")  # fmt: skip
        parts.append(_markdown_table_html(f"{table(result)}\n{conclusion(result)}"))
        if name == "protocol":
            parts.append(_markdown_table_html(paper_protocol_table()))
        curves = Path(model) / name / FIGURE_FILES["curves"]
        if result.histories:
            parts.append(_picture(curves.as_posix(), f"{name} experiment: training and test error per epoch of each "
                                  f"model ({', '.join(result.histories)})", f"{title(model)} lab: {name}"))  # fmt: skip
    missing = [name for model in runs for name in experiments_of(model) if name not in found]
    if missing:
        parts.append(f"<p class=\"note\">Not run in this report: {html.escape(', '.join(missing))} (switched off in "
                     "the notebooks' parameters).</p>")  # fmt: skip
    return "".join(parts)


COMPARISON_FOLDER = "comparison"  # the comparison section's figures


def comparison_html(report_dir: Path, runs: dict[str, History], data_root=None) -> str:
    """The comparison section: cost against accuracy, the images the labs disagree on, each one's surest mistakes.

    Drawn from the runs' saved files and the test images; a figure whose inputs are
    missing (no saved predictions, no image folder here) is left out with the reason.
    """
    import json

    from . import compare
    from .bench import training_flops_per_image
    from .data import load_split

    models = list(runs)
    if len(models) < 2:
        return ""
    folder = report_dir / COMPARISON_FOLDER
    folder.mkdir(exist_ok=True)
    classes = list(next(iter(runs.values())).info.get("classes", LAB_CLASSES))
    flops = {model: training_flops_per_image(model, len(classes))[1] for model in models}
    figure = compare.cost_figure(runs, flops)
    figure.savefig(folder / "cost.png", dpi=FIGURE_DPI)
    costs = "; ".join(f"{title(m)} {compare.training_flops(runs[m], flops[m]):.3g} FLOPs in {runs[m].total_seconds:.0f} s"
                      for m in models)  # fmt: skip
    parts = [
        "<h2>The two models compared</h2>",
        "<h3>Accuracy against cost</h3>",
        _picture(f"{COMPARISON_FOLDER}/cost.png", "Test accuracy of each model against its training time and against "
                 "its training FLOPs, this run's as circles and the reference run's as stars",
                 f"Training FLOPs counted with torch.utils.flop_counter for one training step per image, times the "
                 f"images and epochs trained: {costs}. The reference runs trained the full recipe on a GPU."),
    ]  # fmt: skip
    saved = [report_dir / model / PREDICTIONS for model in models]
    if len(models) < 2 or not all(path.is_file() for path in saved):
        return "".join(parts)
    commons = compare.common_images([json.loads(path.read_text()) for path in saved])
    differing = compare.disagreements(commons)
    wanted = {"disagree": compare.spread(differing, 12)}
    for index, model in enumerate(models):
        wanted[model] = compare.confident_mistakes(commons, index)
    # The images of the run tested on the fewest, loaded again and checked against its record.
    smallest = min(models, key=lambda model: int(runs[model].info.get("test_images") or 0))
    tested = runs[smallest].info
    try:
        split = load_split("test", classes, data_root, tested.get("test_per_class"), download=False)
    except (OSError, RuntimeError, ValueError) as error:
        reason = (str(error).splitlines() or [type(error).__name__])[0]
        parts.append(f'<p class="note">The test images were not found here ({html.escape(reason)}), so the images '
                     "the two models disagree on are not shown.</p>")  # fmt: skip
        return "".join(parts)
    recorded = (tested.get("data") or {}).get("test_sha256")
    if recorded and split.checksum() != recorded:
        parts.append('<p class="note">The test images found here are not the ones the runs were tested on (their '
                     "SHA-256 differs from the runs' record), so the images the two models disagree on are not shown."
                     "</p>")  # fmt: skip
        return "".join(parts)
    positions: dict[int, list[int]] = {}
    for position, label in enumerate(split.labels.tolist()):
        positions.setdefault(label, []).append(position)

    def pictures(chosen):
        return split.images[[positions[image.label][image.rank] for image in chosen]]

    names = " and ".join(title(m) for m in models)
    parts.append(f"<h3>Where they disagree</h3><p>{len(differing):,} of the {len(commons):,} test images both models "
                 f"classified get different answers from {names}"
                 + (f"; {len(wanted['disagree'])} of them, spread over the classes, are shown." if differing else ".")
                 + "</p>")  # fmt: skip
    if differing:
        compare.disagreement_grid(pictures(wanted["disagree"]), wanted["disagree"], models, classes).savefig(
            folder / "disagreements.png", dpi=FIGURE_DPI)  # fmt: skip
        parts.append(_picture(f"{COMPARISON_FOLDER}/disagreements.png", f"Test images on which {names} disagree, "
                              "each titled with both answers, marked right or wrong, and the true class", ""))  # fmt: skip
    parts.append("<h3>The surest mistakes</h3>")
    for index, model in enumerate(models):
        mistakes = wanted[model]
        if not mistakes:
            parts.append(f'<p class="note">{html.escape(title(model))}: no mistakes with saved confidences '
                         "(runs saved before labkit recorded them have none).</p>")  # fmt: skip
            continue
        file_name = f"{model}-surest-mistakes.png"
        compare.mistakes_grid(pictures(mistakes), mistakes, index, classes).savefig(folder / file_name, dpi=FIGURE_DPI)
        parts.append(_picture(f"{COMPARISON_FOLDER}/{file_name}", f"{title(model)}'s most confident mistakes: test images "
                              "titled with the wrong class, the probability the model gave it, and the true class",
                              f"{title(model)}: the {len(mistakes)} wrong answers it was surest of, on the common test images."))  # fmt: skip
    return "".join(parts)


def _picture(source: str, alt: str, caption: str) -> str:
    return (f'<figure><a href="{source}"><img src="{source}" alt="{html.escape(alt)}"></a>'
            f"<figcaption>{html.escape(caption)} (select the figure for full size)</figcaption></figure>")  # fmt: skip


def render(
    report_dir: Path, runs: dict[str, History], generated: str, seed_runs: dict[str, list[History]] | None = None,
    data_root=None,
) -> Path:  # fmt: skip
    """Every page of a report from its files: index.html, results.json, each lab's page, the benchmarks page."""
    from .pages import markdown_page, render_notebook

    report_dir = Path(report_dir)
    links = navigation(report_dir, runs)
    renamed = {LABS[model].notebook: lab_page(model) for model in runs if (report_dir / LABS[model].notebook).is_file()}
    for model in runs:
        notebook = report_dir / LABS[model].notebook
        if notebook.is_file():
            render_notebook(notebook, report_dir / lab_page(model), f"{title(model)} lab: labkit report", links, renamed)
    if (report_dir / BENCHMARKS).is_file():
        markdown_page(report_dir / BENCHMARKS, report_dir / "benchmarks.html", "Benchmarks: labkit report", links)
    return write_index(report_dir, runs, generated, seed_runs, comparison_html(report_dir, runs, data_root))


def saved_runs(report_dir: Path) -> tuple[dict[str, History], dict[str, list[History]] | None, str]:
    """A report's runs read back from its files: each lab's history, every seed's, and when it was generated."""
    import json

    report_dir = Path(report_dir)
    saved = json.loads((report_dir / RESULTS).read_text()) if (report_dir / RESULTS).is_file() else {}
    listed = [model for model in saved if model in LABS] or list(LABS)  # this report's labs, not an older one's
    runs = {model: History.load(report_dir / model / HISTORY) for model in listed if (report_dir / model / HISTORY).is_file()}
    if not runs:
        raise FileNotFoundError(f"{report_dir} holds no lab's {HISTORY}; make the report first (python -m labkit report)")
    seed_runs: dict[str, list[History]] = {}
    for model, first in runs.items():
        others = sorted((report_dir / SEEDS_FOLDER).glob(f"{Path(LABS[model].notebook).stem}-seed*.json"),
                        key=lambda path: int(path.stem.rsplit("seed", 1)[1]))  # fmt: skip
        if others:
            seed_runs[model] = [first] + [History.load(path) for path in others]
    generated = saved.get("generated") or max(str(history.info.get("finished_at", "")) for history in runs.values())
    return runs, seed_runs or None, generated


def rerender(report_dir: Path, data_root=None) -> Path:
    """Rewrite a report's pages from the files it holds, running nothing: after a change to how pages look,
    or to show a new benchmarks.md. ``data_root`` holds the test images the comparison shows."""
    runs, seed_runs, generated = saved_runs(report_dir)
    return render(report_dir, runs, generated, seed_runs, data_root)
