"""Static checks of the committed notebooks (nbval executes them; these check their shape)."""

import ast
from pathlib import Path

import nbformat
import pytest

from labkit.lab import LABS

NOTEBOOKS = {lab.notebook: f"{lab.reference.parameters:,}" for lab in LABS.values()}
FOLDER = Path(__file__).parents[1] / "notebooks"


@pytest.fixture(params=list(NOTEBOOKS))
def notebook(request):
    return request.param, nbformat.read(FOLDER / request.param, as_version=4)


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_first_code_cell_is_the_parameters_cell_of_literals(notebook):
    _, nb = notebook
    first = code_cells(nb)[0]
    assert first.metadata.get("tags") == ["parameters"]
    for statement in ast.parse(first.source).body:
        assert isinstance(statement, ast.Assign), ast.dump(statement)
        ast.literal_eval(statement.value)  # raises if a value is not a literal


def test_parameter_count_cell_is_checked_by_nbval_against_the_exact_count(notebook):
    name, nb = notebook
    checked = [cell for cell in code_cells(nb) if "# NBVAL_CHECK_OUTPUT" in cell.source.splitlines()]
    assert len(checked) == 1, "nbval only honours the marker alone on its line"
    assert checked[0].outputs[0]["text"] == f"{NOTEBOOKS[name]} trainable parameters\n"


def test_no_classes_are_defined_in_cells_and_cells_stay_short(notebook):
    _, nb = notebook
    for cell in code_cells(nb):
        tree = ast.parse("\n".join(line for line in cell.source.splitlines() if not line.startswith("%")))
        assert not [node for node in ast.walk(tree) if isinstance(node, (ast.ClassDef, ast.FunctionDef))]
        # The parameters cell is a list of settings, one a line, not code to follow: it may run longer.
        limit = 20 if "parameters" in cell.metadata.get("tags", []) else 15
        assert len(cell.source.splitlines()) <= limit


def test_stored_outputs_are_small_and_executed(notebook):
    name, nb = notebook
    assert (FOLDER / name).stat().st_size < 1_000_000
    assert all(cell.execution_count for cell in code_cells(nb)), "commit the notebooks with their outputs"


def test_no_code_cell_types_in_a_lab_number(notebook):
    # Recipe values come from labkit.lab; a parameter left as None means the recipe's value.
    _, nb = notebook
    for cell in code_cells(nb):
        tree = ast.parse("\n".join(line for line in cell.source.splitlines() if not line.startswith("%")))
        numbers = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
                   and isinstance(node.value, (int, float)) and not isinstance(node.value, bool)]  # fmt: skip
        assert not numbers, f"numbers {numbers} in cell:\n{cell.source}"
