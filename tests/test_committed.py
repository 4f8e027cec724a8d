"""The committed executions: one run of each notebook, stored without widgets or machine paths.

notebooks/ holds the outputs of the same execution as report/ (nbval compares the stored
parameter counts, and a reader should not meet two sets of numbers).
"""

import re
from pathlib import Path

import nbformat
import pytest

from labkit.lab import LABS

ROOT = Path(__file__).parents[1]
EXECUTED = sorted([*(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "report").rglob("*.ipynb")])
MADE = sorted(path for path in (ROOT / "report").rglob("*") if path.suffix in (".ipynb", ".html", ".json", ".md"))
MACHINE_PATH = re.compile(r"(?<![\w.:/])/(tmp|work|home|root|Users|var|private|mnt)/")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def outputs(notebook):
    return [output for cell in notebook.cells for output in cell.get("outputs", [])]


@pytest.mark.parametrize("path", EXECUTED, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_executed_notebook_stores_widget_progress_bars(path):
    notebook = nbformat.read(path, as_version=4)
    assert "widgets" not in notebook.metadata
    assert not any(WIDGET_VIEW in output.get("data", {}) for output in outputs(notebook))
    assert not any(re.search(r"\b0%\|", str(output)) for output in outputs(notebook))


@pytest.mark.parametrize("path", [*EXECUTED, *MADE], ids=lambda path: str(path.relative_to(ROOT)))
def test_no_committed_run_holds_a_path_of_the_machine_that_made_it(path):
    found = MACHINE_PATH.search(path.read_text(encoding="utf-8"))
    assert found is None, path.read_text(encoding="utf-8")[max(0, found.start() - 80):found.end() + 80]


@pytest.mark.parametrize("model", list(LABS))
def test_the_notebooks_hold_the_reports_execution(model):
    committed = nbformat.read(ROOT / "notebooks" / LABS[model].notebook, as_version=4)
    reported = nbformat.read(ROOT / "report" / LABS[model].notebook, as_version=4)
    assert committed.metadata.get("papermill", {}).get("start_time") == reported.metadata["papermill"]["start_time"]
    # The same cells and outputs, less papermill's injected cell (its scratch paths are the report's record).
    kept = [cell for cell in reported.cells if "injected-parameters" not in cell.metadata.get("tags", [])]
    assert committed.cells == kept and len(kept) == len(reported.cells) - 1
