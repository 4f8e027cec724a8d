"""The papers' own experiments, run with the lab's recipe on the lab's data.

``depth`` trains VGG's configurations A, B, D and E on one split; ``degradation``
trains plain and residual CIFAR networks at two depths; ``protocol`` applies
VGG's test protocols to one trained VGG16.  Each returns an
:class:`ExperimentResult` that :func:`save` writes as JSON and figures, and that
:mod:`labkit.experiment_tables` turns into the tables and the computed text of
the notebooks and the report.  How much each runs is set by the profile
(:data:`labkit.lab.Profile.experiments`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from matplotlib.figure import Figure
from torch import nn

from . import protocols as test_protocols
from .data import Split, first_per_class
from .device import device_name, device_settings
from .files import atomic_write, atomic_write_text, folder_lock, json_text
from .history import History
from .lab import (
    DENSE_SIZES,
    EXPERIMENT_RESULTS,
    EXPERIMENTS,
    FIGURE_DPI,
    LABS,
    experiment_recipe,
    get_profile,
)
from .loaders import make_loader
from .models import count_parameters
from .pipeline import build_model, load_data
from .plots import overlaid_curves
from .train import fit

RESULTS = EXPERIMENT_RESULTS


@dataclass
class ExperimentResult:
    """What an experiment measured: one row per model or protocol, and the facts that make it comparable."""

    name: str
    rows: list[dict[str, Any]]
    info: dict[str, Any]
    histories: dict[str, History] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"experiment": self.name, "info": self.info, "rows": self.rows,
                "histories": {model: history.to_dict() for model, history in self.histories.items()}}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ExperimentResult":
        histories = {model: History.from_dict(saved) for model, saved in data.get("histories", {}).items()}
        return cls(data["experiment"], data["rows"], data["info"], histories)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ExperimentResult":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def figures(self) -> dict[str, Figure]:
        if not self.histories:
            return {}
        return {"curves": overlaid_curves(self.histories, title=self.info.get("title"))}


def _check_name(name: str) -> None:
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)}")


def _info(name: str, recipe, splits: tuple[Split, Split], device) -> dict[str, Any]:
    train, test = splits
    return {
        "experiment": name, "question": EXPERIMENTS[name].question, "profile": recipe.profile,
        "epochs": recipe.epochs, "per_class": recipe.per_class, "test_per_class": recipe.test_per_class,
        "train_images": len(train), "test_images": len(test), "classes": list(train.classes), "seed": recipe.seed,
        "device_name": device_name(device), "recipe": {k: recipe.to_dict()[k] for k in ("batch_size", "lr", "momentum", "weight_decay")},
    }  # fmt: skip


def train_models(
    name: str,
    profile=None,
    data_root: str | os.PathLike | None = None,
    splits: tuple[Split, Split] | None = None,
    device: str = "auto",
    seed: int = 0,
    bf16: bool | None = None,
    classes: tuple[str, ...] | str | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = print,
) -> ExperimentResult:
    """Train every model of experiment ``name`` on the same split, with the same recipe and seed.

    ``classes`` None: the lab's three.
    """
    _check_name(name)
    experiment = EXPERIMENTS[name]
    if not experiment.models:
        raise ValueError(f"the {name} experiment trains no models; it tests a trained one (see {name}())")
    recipes = [experiment_recipe(name, model, profile, seed=seed, bf16=bf16, classes=classes) for model in experiment.models]
    splits = splits or load_data(recipes[0], data_root)
    resolved = device_settings(device, bf16)[0]
    rows, histories = [], {}
    started = time.perf_counter()
    for recipe in recipes:
        result = fit(build_model(recipe), *splits, recipe, device=device, progress=progress, log=None)
        history = result.history
        final = history.final()
        rows.append({
            "model": recipe.model, "parameters": history.info["parameters"], "train_acc": final["train_acc"],
            "test_acc": final["test_acc"], "test_correct": int((result.evaluation.predictions == result.evaluation.targets).sum()),
            "seconds": history.total_seconds,
        })  # fmt: skip
        histories[recipe.model] = history
        if log:
            log(f"{name}: {recipe.model} train {final['train_acc']:.2%} test {final['test_acc']:.2%} "
                f"({history.total_seconds:.0f} s)")  # fmt: skip
    info = _info(name, recipes[0], splits, resolved)
    info.update(bf16=histories[recipes[0].model].info["bf16"], seconds=time.perf_counter() - started,
                title=f"{name}: {len(splits[0]):,} training images, {recipes[0].epochs} epochs")  # fmt: skip
    return ExperimentResult(name, rows, info, histories)


def depth(**kwargs: Any) -> ExperimentResult:
    """VGG configurations A, B, D and E trained alike (the paper's Table 3, on this lab's data)."""
    return train_models("depth", **kwargs)


def degradation(**kwargs: Any) -> ExperimentResult:
    """Plain and residual CIFAR networks at two depths trained alike (the paper's Figure 6 and Table 6)."""
    return train_models("degradation", **kwargs)


def protocol(
    model: nn.Module,
    test: Split,
    profile=None,
    device: str = "auto",
    bf16: bool | None = None,
    sizes: tuple[int, ...] = DENSE_SIZES,
    seed: int = 0,
    model_name: str = "vgg16",
    log: Callable[[str], None] | None = print,
) -> ExperimentResult:
    """Every test protocol on one trained model, on the same test images.

    The profile's test subset of ``test`` (or all of ``test`` when it holds fewer); the
    model comes back on its own device and in its own mode.
    """
    chosen = get_profile(profile)
    asked = chosen.for_experiment("protocol").test_per_class
    if asked is not None:
        test = first_per_class(test, min(asked, *test.class_counts().values()))
    resolved, bf16, channels_last = device_settings(device, bf16)
    home = next(model.parameters()).device
    model.to(resolved)
    recipe = LABS["vgg16"].recipe
    loader = make_loader(test, recipe.eval_batch_size, False, resolved, seed, "fast", channels_last)  # the split on the device
    started = time.perf_counter()
    try:
        results = test_protocols.evaluate_protocols(model, loader, test_protocols.PROTOCOLS, resolved, bf16, sizes)
    finally:
        model.to(home)
    rows = [{"protocol": result.protocol, "accuracy": result.accuracy, "correct": result.correct,
             "views": result.views, "sizes": list(result.sizes)} for result in results]  # fmt: skip
    if log:
        for result in results:
            views = f"{result.views} view{'s' if result.views > 1 else ''} per image"
            log(f"protocol: {result.protocol} {result.accuracy:.2%} ({views})")
    info = {
        "experiment": "protocol", "question": EXPERIMENTS["protocol"].question, "profile": chosen.name,
        "test_images": len(test), "test_per_class": min(test.class_counts().values()), "classes": list(test.classes),
        "parameters": count_parameters(model), "model": model_name, "sizes": list(sizes),
        "device_name": device_name(resolved), "bf16": bf16, "seed": seed, "seconds": time.perf_counter() - started,
    }  # fmt: skip
    return ExperimentResult("protocol", rows, info)


def save(result: ExperimentResult, folder: str | os.PathLike, replace_existing: bool = False,
         figures: dict[str, Figure] | None = None) -> dict[str, Figure]:  # fmt: skip
    """Write ``results.json`` and the figures (None: the result's own) into ``folder``, and return the figures.

    An earlier result there is kept unless ``replace_existing``; a figure is
    written as ``NAME.png`` and listed in ``results.json``, so that replacing the
    result removes the figures it made and the new one does not.
    """
    folder = Path(folder)
    with folder_lock(folder):
        target = folder / RESULTS
        if target.exists() and not replace_existing:
            raise ValueError(f"{folder} already holds an experiment's results ({RESULTS}); choose another --out, "
                             "or pass --overwrite to replace them")  # fmt: skip
        earlier = _figure_files(target)
        figures = result.figures() if figures is None else figures
        written = [f"{figure_name}.png" for figure_name in figures]
        for file_name, figure in zip(written, figures.values()):
            atomic_write(folder / file_name, lambda handle, f=figure: f.savefig(handle, format="png", dpi=FIGURE_DPI))
        atomic_write_text(target, json_text({**result.to_dict(), "figures": written}))
        for stale in sorted(set(earlier) - set(written)):  # a replaced result's figures would read as this one's
            (folder / stale).unlink(missing_ok=True)
    return figures


def _figure_files(results: Path) -> list[str]:
    """The figures a saved result wrote beside itself (none for a result saved before they were listed)."""
    try:
        listed = json.loads(results.read_text(encoding="utf-8")).get("figures")
    except (OSError, ValueError, AttributeError):
        return []
    if not isinstance(listed, list):
        return []
    return [name for name in listed if isinstance(name, str) and name.endswith(".png") and Path(name).name == name]

