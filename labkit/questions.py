"""The lab's open questions, answered by runs: one model under the faithful recipe and under each variant.

Every variant of a notebook trains on the same split with the same seed, so two
rows differ only by what the variant changes, and they are scored on the same
test images, so they compare image by image.  How much they run is set by the
profile (:attr:`labkit.lab.Profile.questions`); where that is the lab's own size,
the notebook's own run is the faithful recipe's row instead of a second run of it.
:mod:`labkit.question_tables` turns the result into tables and conclusions.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Callable

import torch
from matplotlib.figure import Figure

from . import experiments
from .checkpoint import CheckpointError, load_checkpoint
from .data import Split
from .device import device_name, device_settings
from .experiments import ExperimentResult
from .files import atomic_write_text, folder_lock, json_text
from .history import History
from .lab import (
    CHECKPOINT,
    QUESTIONS,
    QUESTIONS_FOLDER,
    SWING_EPOCHS,
    Profile,
    Recipe,
    get_profile,
    question_recipe,
    question_variants,
    questions_of,
    questions_skipped,
    title,
)
from .pipeline import build_model, load_data
from .plots import recipe_curves
from .provenance import data_record
from .train import RESUME_DEFAULTS, RESUME_MUST_MATCH, FitResult, fit

NAME = QUESTIONS_FOLDER
RESULTS = experiments.RESULTS


def _why_not_run_of(history: History, recipe: Recipe, splits: tuple[Split, Split], bf16: bool,
                    finished: bool = True) -> str | None:  # fmt: skip
    """Why a run cannot stand as ``recipe``'s row on ``splits`` (or, unfinished, be resumed as it); None when it can."""
    info = history.info
    expected = {**recipe.to_dict(), "bf16": bf16, "world_size": 1, "classes": list(splits[0].classes)}
    differing = [key for key in RESUME_MUST_MATCH if info.get(key, RESUME_DEFAULTS.get(key)) != expected[key]]
    if differing:
        return "its " + ", ".join(f"{key} is {info.get(key)!r}, not {expected[key]!r}" for key in differing)
    if info.get("changes"):
        return "it was resumed with changed settings"
    if finished and len(history.epochs) != recipe.epochs:
        return f"it trained {len(history.epochs)} epochs, not {recipe.epochs}"
    data, wanted = info.get("data", {}), data_record(*splits)
    if any(data.get(key) != wanted[key] for key in ("train_sha256", "test_sha256")):
        return "it trained or tested on other images"
    return None


def _row(variant: str, recipe: Recipe, run: FitResult, reused: bool) -> dict[str, Any]:
    history, evaluation = run.history, run.evaluation
    best = max(range(len(history.test_acc)), key=history.test_acc.__getitem__)
    return {
        "variant": variant, "epochs": recipe.epochs, "schedule": recipe.schedule, "train_acc": history.train_acc[-1],
        "test_acc": history.test_acc[-1], "test_correct": int((evaluation.predictions == evaluation.targets).sum()),
        "best_test_acc": history.test_acc[best], "best_epoch": history.epochs[best], "swing": history.swing(SWING_EPOCHS),
        "seconds": history.total_seconds, "reused": reused, "predictions": evaluation.predictions.tolist(),
    }  # fmt: skip


def _checkpoint(keep: Path, variant: str) -> Path:
    return keep / f"{variant}-{CHECKPOINT}"


def _finished_row(keep: Path, variant: str) -> Path:
    return keep / f"{variant}.json"


def _kept_files(keep: Path) -> list[Path]:
    """What a call with ``keep`` left there: finished rows and checkpoints (not the folder's lock)."""
    return sorted(path for path in keep.iterdir() if not path.name.startswith(".")) if keep.is_dir() else []


def holds_unfinished(keep: str | os.PathLike) -> bool:
    """Whether ``keep`` holds anything of questions cut short, for :func:`run` to go on with."""
    return bool(_kept_files(Path(keep)))


def _read_kept(path: Path) -> tuple[dict[str, Any] | None, History]:
    """A kept finished row and its history, or (None, the history so far) of a checkpoint."""
    try:
        if path.suffix == ".json":
            saved = json.loads(path.read_text(encoding="utf-8"))
            return saved["row"], History.from_dict(saved["history"])
        return None, History.from_dict(load_checkpoint(path)["history"])
    except CheckpointError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"{path} is damaged ({error!r}); delete it to train that variant again") from None


def _kept(keep: Path, recipes: dict[str, Recipe], splits: tuple[Split, Split], bf16: bool) -> dict[str, tuple[dict, History]]:
    """The rows an earlier call with ``keep`` finished; anything there that is not one of this call's runs is refused."""
    known = {path: variant for variant in recipes for path in (_finished_row(keep, variant), _checkpoint(keep, variant))}
    strangers = [path.name for path in _kept_files(keep) if path not in known]
    if strangers:
        raise ValueError(f"{keep} holds {', '.join(strangers)}, which no run of these questions writes: it keeps another "
                         f"lab's questions; go on with those, or start again without {keep} (on the command line: "
                         "--overwrite)")  # fmt: skip
    found = {}
    for path, variant in known.items():  # in the variants' order, each one's row before its checkpoint
        if not path.is_file() or variant in found:  # (cut short after its row was kept: the row is the run)
            continue
        row, history = _read_kept(path)
        why = _why_not_run_of(history, recipes[variant], splits, bf16, finished=row is not None)
        if why:
            started = history.info.get("profile")
            hint = f" (it was started with --profile {started})" if started not in (None, recipes[variant].profile) else ""
            raise ValueError(
                f"{path} holds a {variant} run that these questions cannot go on with ({why}){hint}; give the settings "
                f"and data it was started with, or start again without {keep} (on the command line: --overwrite)"
            )
        if row is not None:
            found[variant] = (row, history)
    return found


def _keep(keep: Path, variant: str, row: dict[str, Any], history: History) -> None:
    atomic_write_text(_finished_row(keep, variant), json_text({"row": row, "history": history.to_dict()}))
    _checkpoint(keep, variant).unlink(missing_ok=True)  # the row is kept; its weights are not needed again


def run(
    model: str,
    profile: str | Profile | None = None,
    data_root: str | os.PathLike | None = None,
    splits: tuple[Split, Split] | None = None,
    device: str = "auto",
    seed: int = 0,
    bf16: bool | None = None,
    classes: tuple[str, ...] | str | None = None,
    baseline: FitResult | None = None,
    require_baseline: bool = False,
    keep: str | os.PathLike | None = None,
    restart: bool = False,
    progress: bool = False,
    log: Callable[[str], None] | None = print,
) -> ExperimentResult:
    """Train ``model`` under the faithful recipe and every variant its notebook's questions compare it with.

    ``baseline``, a finished run of the faithful recipe at the questions' size on the
    same images (the notebook's own), is that row instead of a second run; any other
    run is refused, with the reason logged, and the row trained (or, with
    ``require_baseline``, a ValueError that says why, before any training).

    ``keep``, a folder, makes a long call that is cut short lose at most one epoch:
    it is locked while the call lives, each variant checkpoints there after every
    epoch and keeps its row there when it ends, and a later call with the same
    ``keep`` takes the finished rows and goes on with the unfinished variant. What
    it holds of other settings or images is refused, with a ValueError, before any
    training; ``restart`` discards it instead (after the checks above). The caller
    removes ``keep`` once the result is saved: until then a call returns the kept rows.
    """
    if not questions_of(model):
        asked = sorted({lab for question in QUESTIONS.values() for lab in question.labs})
        raise ValueError(f"the lab's open questions are asked of {' and '.join(asked)}, not {model!r}")
    skipped = questions_skipped(model, profile)
    if skipped:
        raise ValueError(skipped)
    recipes = {variant: question_recipe(model, variant, profile, seed=seed, bf16=bf16, classes=classes)
               for variant in question_variants(model)}  # fmt: skip
    faithful = recipes["lab"]
    splits = splits or load_data(faithful, data_root)
    targets = splits[1].labels.cpu()
    resolved, resolved_bf16, _ = device_settings(device, bf16)
    refused = None if baseline is None else _why_not_run_of(baseline.history, faithful, splits, resolved_bf16)
    if baseline is not None and refused and require_baseline:  # asked for by name: hours of training it was meant to save
        raise ValueError(
            f"the given run cannot stand as the lab recipe's row of the questions ({refused}); give a finished run of "
            f"the lab recipe at their size ({get_profile(profile).for_questions(model).describe(model)}, seed "
            f"{faithful.seed}), or none to train that row"
        )
    if baseline is not None and refused and log:
        log(f"{NAME}: the given run is not the lab recipe's row at this size ({refused}); training that row")
    reuses_baseline = baseline is not None and refused is None
    with contextlib.ExitStack() as held:
        kept = {}
        if keep is not None:
            keep = held.enter_context(folder_lock(keep))  # two calls on one folder would train over each other
            if restart:
                for path in _kept_files(keep):
                    path.unlink()
            kept = _kept(keep, recipes, splits, resolved_bf16)
        rows, histories = [], {}
        for variant, recipe in recipes.items():
            reused = variant == "lab" and reuses_baseline
            if variant in kept and not reused:
                row, history = kept[variant]
                source = f"{history.total_seconds:.0f} s, kept from an earlier call"
            else:
                checkpoint = None if keep is None or reused else _checkpoint(keep, variant)
                resume = checkpoint is not None and checkpoint.is_file()
                result = baseline if reused else fit(build_model(recipe), *splits, recipe, device=device,
                                                     checkpoint=checkpoint, resume=resume, progress=progress, log=None)  # fmt: skip
                if not torch.equal(result.evaluation.targets.cpu(), targets):  # McNemar pairs the rows image by image
                    raise RuntimeError(f"the {variant} run was not scored on the test split's images in order")
                row, history = _row(variant, recipe, result, reused), result.history
                if checkpoint is not None:
                    _keep(keep, variant, row, history)
                source = "the given finished run" if reused else f"{history.total_seconds:.0f} s"
                if resume:
                    source += ", resumed from its checkpoint"
            rows.append(row)
            histories[variant] = history
            if log:
                final = history.final()
                log(f"{NAME}: {model} {variant} ({recipe.epochs} epochs) train {final['train_acc']:.2%} "
                    f"test {final['test_acc']:.2%} ({source})")  # fmt: skip
    train, test = splits
    info = {
        "experiment": NAME, "model": model.lower(), "questions": list(questions_of(model)), "profile": faithful.profile,
        "epochs": faithful.epochs, "per_class": faithful.per_class, "test_per_class": faithful.test_per_class,
        "train_images": len(train), "test_images": len(test), "classes": list(train.classes), "seed": faithful.seed,
        "device_name": device_name(resolved), "bf16": resolved_bf16, "swing_epochs": SWING_EPOCHS,
        "targets": targets.tolist(),
        # The rows' own training and testing, across the calls that made them; a reused row's was spent before.
        "seconds": sum(histories[row["variant"]].total_seconds for row in rows if not row["reused"]),
        "title": f"{title(model.lower())}: {len(train):,} training images, {len(test):,} test images",
    }  # fmt: skip
    return ExperimentResult(NAME, rows, info, histories)


def figures(result: ExperimentResult) -> dict[str, Figure]:
    """One figure per question: the faithful recipe's curves against its variant's."""
    drawn = {}
    for name in result.info["questions"]:
        variant = QUESTIONS[name].variant
        pair = {"lab": result.histories["lab"], variant: result.histories[variant]}
        drawn[name] = recipe_curves(pair, title=f"{result.info['title']}: the lab recipe against {variant}")
    return drawn


def save(result: ExperimentResult, folder: str | os.PathLike, replace_existing: bool = False) -> dict[str, Figure]:
    """Write ``results.json`` and one figure per question (``QUESTION.png``) into ``folder``; return the figures."""
    return experiments.save(result, folder, replace_existing, figures(result))
