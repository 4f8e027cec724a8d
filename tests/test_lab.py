"""The lab's definition: recipes, profiles, and how overrides combine with them."""

import ast
from dataclasses import replace
from pathlib import Path

import pytest

from labkit import lab, results

PACKAGE = Path(__file__).parents[1] / "labkit"


def test_profile_comes_from_argument_then_environment_then_automatic(monkeypatch):
    monkeypatch.delenv("LABKIT_PROFILE", raising=False)
    monkeypatch.setattr(lab, "_cuda_available", lambda: False)
    assert lab.choose_profile() == (lab.QUICK, "chosen automatically: no CUDA GPU here, and the full recipe takes hours on a CPU")
    monkeypatch.setattr(lab, "_cuda_available", lambda: True)
    assert lab.choose_profile()[0] is lab.FULL and lab.choose_profile("auto")[0] is lab.FULL
    assert lab.recipe("vgg16").profile == "full"
    monkeypatch.setenv("LABKIT_PROFILE", "smoke")
    assert lab.choose_profile() == (lab.SMOKE, "set by LABKIT_PROFILE")
    assert lab.choose_profile("quick") == (lab.QUICK, "asked for")
    assert lab.recipe("vgg16").profile == "smoke"


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown profile 'fast'.*auto, full, quick, smoke"):
        lab.get_profile("fast")
    with pytest.raises(ValueError, match="a recipe is run on one of full, quick, smoke"):
        lab.Recipe(profile="auto")


def test_full_profile_is_the_lab_recipe():
    assert lab.recipe("vgg16", "full") == lab.VGG16 == lab.LABS["vgg16"].recipe
    assert lab.recipe("ResNet50", "full") == lab.RESNET50
    assert (lab.VGG16.epochs, lab.RESNET50.epochs) == (20, 15)
    assert lab.VGG16.classes == ("airplane", "automobile", "bird")


@pytest.mark.parametrize("profile", [lab.QUICK, lab.SMOKE])
@pytest.mark.parametrize("model", ["vgg16", "resnet50"])
def test_reduced_profiles_replace_epochs_and_limits_only(profile, model):
    chosen, scale = lab.recipe(model, profile.name), profile.for_model(model)
    assert (chosen.epochs, chosen.per_class) == (scale.epochs, scale.per_class) and chosen.epochs >= 1
    assert chosen.test_per_class == scale.test_per_class
    unchanged = replace(chosen, epochs=lab.LABS[model].recipe.epochs, per_class=None, test_per_class=None, profile="full")
    assert unchanged == lab.LABS[model].recipe


def test_the_quick_profile_draws_curves_and_sizes_each_model_apart():
    vgg, resnet = lab.QUICK.for_model("vgg16"), lab.QUICK.for_model("resnet50")
    assert vgg.epochs >= 3 and resnet.epochs >= 3
    assert vgg != resnet and lab.QUICK.for_model("vgg11") == lab.QUICK.scale


def test_a_value_the_caller_passes_wins_over_the_profile_and_none_means_the_recipe():
    chosen = lab.recipe("vgg16", "smoke", epochs=3, lr=0.05, seed=None, batch_size=None)
    assert (chosen.epochs, chosen.lr, chosen.per_class) == (3, 0.05, lab.SMOKE.scale.per_class)
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
    assert lab.SMOKE.describe() == "seconds, for CI: 8 training images per class, 1 epoch, 10 test images per class"
    vgg, resnet = lab.QUICK.for_model("vgg16"), lab.QUICK.for_model("resnet50")
    assert f"VGG16 {vgg.per_class:,} training images per class, {vgg.epochs} epochs, the full test split" in lab.QUICK.describe()
    assert f"ResNet50 {resnet.per_class:,} training images per class, {resnet.epochs} epochs, {resnet.test_per_class:,} test" in lab.QUICK.describe()
    assert "VGG16 5,000 training images per class, 20 epochs, the full test split; ResNet50 5,000" in lab.FULL.describe()


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
    # torch only inside the one function that asks whether a CUDA GPU is there.
    tree = ast.parse((PACKAGE / "lab.py").read_text())

    def imported(nodes) -> set[str]:
        names = {alias.name.split(".")[0] for node in nodes if isinstance(node, ast.Import) for alias in node.names}
        return names | {node.module.split(".")[0] for node in nodes if isinstance(node, ast.ImportFrom) and node.module}

    cuda_check = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "_cuda_available")
    elsewhere = [node for node in ast.walk(tree) if node not in set(ast.walk(cuda_check))]
    assert imported(elsewhere) <= {"__future__", "math", "os", "dataclasses", "typing"}, imported(elsewhere)
    assert imported(ast.walk(cuda_check)) == {"torch"}
