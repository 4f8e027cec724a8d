"""The lab's definition: recipes, profiles, and how overrides combine with them."""

import ast
from dataclasses import replace
from pathlib import Path

import pytest

from labkit import lab, results

PACKAGE = Path(__file__).parents[1] / "labkit"


def test_profile_comes_from_argument_then_environment_then_full(monkeypatch):
    monkeypatch.delenv("LABKIT_PROFILE", raising=False)
    assert lab.get_profile().name == "full"
    monkeypatch.setenv("LABKIT_PROFILE", "smoke")
    assert lab.get_profile().name == "smoke"
    assert lab.get_profile("quick") is lab.QUICK
    assert lab.recipe("vgg16").profile == "smoke"


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown profile 'fast'.*full, quick, smoke"):
        lab.get_profile("fast")


def test_full_profile_is_the_lab_recipe():
    assert lab.recipe("vgg16", "full") == lab.VGG16 == lab.LABS["vgg16"].recipe
    assert lab.recipe("ResNet50", "full") == lab.RESNET50
    assert (lab.VGG16.epochs, lab.RESNET50.epochs) == (20, 15)
    assert lab.VGG16.classes == ("airplane", "automobile", "bird")


@pytest.mark.parametrize("profile", [lab.QUICK, lab.SMOKE])
def test_reduced_profiles_replace_epochs_and_limits_only(profile):
    chosen = lab.recipe("resnet50", profile.name)
    assert (chosen.epochs, chosen.per_class, chosen.test_per_class) == (
        profile.epochs, profile.per_class, profile.test_per_class,
    )  # fmt: skip
    unchanged = replace(chosen, epochs=15, per_class=None, test_per_class=None, profile="full")
    assert unchanged == lab.RESNET50


def test_a_value_the_caller_passes_wins_over_the_profile_and_none_means_the_recipe():
    chosen = lab.recipe("vgg16", "smoke", epochs=3, lr=0.05, seed=None, batch_size=None)
    assert (chosen.epochs, chosen.lr, chosen.per_class) == (3, 0.05, lab.SMOKE.per_class)
    assert (chosen.seed, chosen.batch_size) == (lab.VGG16.seed, lab.VGG16.batch_size)


def test_other_models_get_the_vgg16_recipe():
    assert lab.recipe("vgg11", "full") == replace(lab.VGG16, model="vgg11")


def test_unknown_recipe_settings_are_named():
    with pytest.raises(ValueError, match="unknown recipe setting.*learning_rate"):
        lab.recipe("vgg16", "full", learning_rate=0.1)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"epochs": 0}, "epochs must be greater than zero"),
        ({"lr": -0.1}, "lr must be greater than zero"),
        ({"lr": float("nan")}, "lr must be a finite number"),
        ({"batch_size": 0}, "batch size must be greater than zero"),
        ({"momentum": -1}, "must not be negative"),
        ({"input_path": "slow"}, "unknown input path 'slow'"),
        ({"classes": ""}, "at least two classes"),
        ({"classes": ("bird",)}, "at least two classes"),
        ({"classes": ("bird", "cat", "bird")}, "names a class twice"),
        ({"lr": float("inf")}, "lr must be a finite number"),
        ({"momentum": float("nan")}, "momentum must be a finite number"),
        ({"weight_decay": float("nan")}, "weight decay must be a finite number"),
        ({"epochs": None}, "epochs must be a finite number"),
        ({"profile": "fast"}, "unknown profile 'fast'"),
    ],
)
def test_bad_recipe_values_are_refused_when_the_recipe_is_made(bad, message):
    with pytest.raises(ValueError, match=message):
        lab.Recipe(**bad)


def test_classes_may_be_given_as_one_comma_separated_string():
    assert lab.Recipe(classes="cat, dog").classes == ("cat", "dog")


def test_profiles_describe_their_own_numbers():
    assert lab.SMOKE.describe() == "seconds, for CI: 8 training and 10 test images per class, 1 epoch"
    assert "1,000 training images per class, 2 epochs, the full test split" in lab.QUICK.describe()
    assert "15,000 training images, 20 (VGG16) or 15 (ResNet50) epochs" in lab.FULL.describe()


def test_settings_table_shows_the_values_used():
    table = results.recipe_markdown(lab.recipe("vgg16", "smoke"), "cpu")
    assert "| epochs | 1 |" in table and "8 per class" in table and "0.4914" in table and "| device | cpu |" in table


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("labkit")):
            yield node


def test_no_module_imports_another_modules_private_names():
    for path in PACKAGE.rglob("*.py"):
        for node in _imports(path):
            private = [alias.name for alias in node.names if alias.name.startswith("_")]
            assert not private, f"{path.name} imports {private} from {node.module}"


def test_the_lab_definition_imports_nothing_heavy():
    # labkit.lab is read by the command line's --help and by every module: it must stay cheap.
    tree = ast.parse((PACKAGE / "lab.py").read_text())
    modules = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert modules <= {"__future__", "math", "os", "dataclasses", "typing"}, modules
