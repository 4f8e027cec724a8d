"""pyproject.toml and environment.yml must install the same packages."""

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def name_of(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def pyproject_packages() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {name_of(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        names |= {name_of(r) for r in extra}
    return names


def environment_packages() -> set[str]:
    names, in_pip = set(), False
    text = (ROOT / "environment.yml").read_text()
    for line in text[text.index("dependencies:") :].splitlines():
        stripped = line.strip()
        if not stripped.startswith("- "):
            continue
        item = stripped[2:].strip()
        if item == "pip:" or item.startswith("pip:"):
            in_pip = True
            continue
        if item.startswith("-e") or item in (".", "-e ."):
            continue
        indent = len(line) - len(line.lstrip())
        if in_pip and indent < 6:
            in_pip = False
        names.add(name_of(item))
    return names - {"python", "pip"}


def test_environment_yml_lists_the_same_packages_as_pyproject():
    assert environment_packages() == pyproject_packages()


def test_environment_yml_installs_labkit_itself_editable():
    assert re.search(r"^\s*- -e \.\.?/?\s*$", (ROOT / "environment.yml").read_text(), re.M)
