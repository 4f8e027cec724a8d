"""Results against the reference lab: Markdown for the notebooks, HTML for the report page.

Every number written here is read from a run's :class:`~labkit.history.History`;
the only constants are the reference lab's published results.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .files import atomic_write_text
from .history import History


@dataclass(frozen=True)
class Reference:
    """One published run of the original lab (on a GPU it did not name)."""

    model: str
    title: str
    train_acc: float
    test_acc: float
    seconds: float
    epochs: int
    parameters: int


REFERENCE = {
    "vgg16": Reference("vgg16", "VGG16", 0.9954, 0.930, 111.0, 20, 33_617_987),
    "resnet50": Reference("resnet50", "ResNet50", 0.9720, 0.891, 166.0, 15, 23_510_339),
}
LAB_TITLES = {"vgg16": "VGG16", "resnet50": "ResNet50"}


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 120:
        return f"{value:.1f} s"
    minutes, seconds = divmod(value, 60)
    if minutes < 120:
        return f"{value:.0f} s ({int(minutes)} min {seconds:.0f} s)"
    return f"{value:.0f} s ({value / 3600:.1f} h)"


def _profile_note(history: History) -> str:
    info = history.info
    train_images = info.get("train_images")
    return f"{info.get('profile', '?')} ({train_images:,} training images)" if train_images else info.get("profile", "?")


def comparison_rows(history: History, reference: Reference | None) -> list[tuple[str, str, str]]:
    """(quantity, this run, reference) rows; '—' where the reference did not report a value."""
    final = history.final()
    info = history.info
    ref = reference
    return [
        ("train accuracy", _percent(final["train_acc"]), _percent(ref.train_acc if ref else None)),
        ("test accuracy", _percent(final["test_acc"]), _percent(ref.test_acc if ref else None)),
        ("train loss", f"{final['train_loss']:.4f}", "—"),
        ("test loss", f"{final['test_loss']:.4f}", "—"),
        ("epochs", str(final["epochs"]), str(ref.epochs) if ref else "—"),
        ("training time (train + test passes)", _seconds(final["total_seconds"]), _seconds(ref.seconds if ref else None)),
        ("parameters", f"{info.get('parameters', 0):,}", f"{ref.parameters:,}" if ref else "—"),
        ("device", str(info.get("device_name", "?")), "a GPU (not named)"),
        ("profile", _profile_note(history), "full (15,000 training images)"),
        ("date", str(info.get("finished_at", "?")), "—"),
        ("torch", str(info.get("torch", "?")), "—"),
    ]


def results_markdown(history: History, model: str) -> str:
    """The notebook's results table: this run against the reference lab."""
    lines = ["| | this run | reference lab |", "|---|---|---|"]
    lines += [f"| {name} | {mine} | {theirs} |" for name, mine, theirs in comparison_rows(history, REFERENCE.get(model))]
    return "\n".join(lines)


def _trend(values: Sequence[float]) -> float:
    """Relative change over the last epoch (negative: falling)."""
    if len(values) < 2 or values[-2] == 0:
        return 0.0
    return (values[-1] - values[-2]) / abs(values[-2])


def conclusion_markdown(history: History, model: str, other: History | None = None) -> str:
    """A discussion of this run's own numbers: fit, convergence, the reference, the other lab."""
    final = history.final()
    info = history.info
    reference = REFERENCE.get(model)
    title = LAB_TITLES.get(model, model)
    train_acc, test_acc = final["train_acc"], final["test_acc"]
    gap = 100 * (train_acc - test_acc)
    paragraphs = []

    run = (
        f"**This run.** {title} reached **{100 * test_acc:.2f}%** test accuracy and {100 * train_acc:.2f}% "
        f"training accuracy after {final['epochs']} epoch{'s' if final['epochs'] != 1 else ''}, in {_seconds(final['total_seconds'])} of training "
        f"on {info.get('device_name', 'an unnamed device')} (profile {_profile_note(history)})."
    )
    if reference:
        difference = 100 * (test_acc - reference.test_acc)
        run += (
            f" The reference lab reported {100 * reference.test_acc:.1f}% test accuracy after {reference.epochs} "
            f"epochs in {reference.seconds:.0f} s: this run is {abs(difference):.1f} points "
            f"{'above' if difference >= 0 else 'below'} it."
        )
        if info.get("profile") != "full":
            run += (
                " This run used a reduced profile (fewer images and epochs), so the gap says how much of the "
                "result comes from more data and longer training, not that the recipe failed."
            )
    paragraphs.append(run)

    if gap > 5:
        fit = (
            f"**Fit.** Training accuracy is {gap:.1f} points above test accuracy: the network is starting to "
            "memorise its training images (overfitting), even with crop-and-flip augmentation and weight decay."
        )
    elif gap < -2:
        fit = (
            f"**Fit.** Test accuracy is {-gap:.1f} points *above* training accuracy. That is typical of an "
            "early stage of training: training accuracy is averaged over the epoch while the weights are still "
            "changing, and measured on augmented images, while the test pass uses the end-of-epoch weights on "
            "clean images. The model is under-fitted rather than over-fitted."
        )
    else:
        fit = (
            f"**Fit.** Training and test accuracy are within {abs(gap):.1f} points of each other: no sign of "
            "overfitting at this point."
        )
    paragraphs.append(fit)

    loss_trend = _trend(history.train_loss)
    test_trend = _trend(history.test_acc)
    if len(history.epochs) < 2:
        converge = "**Convergence.** A single epoch says nothing about convergence; run more epochs to see the curves."
    elif loss_trend < -0.05:
        converge = (
            f"**Convergence.** The training loss was still falling by {100 * -loss_trend:.0f}% in the last epoch "
            f"(test accuracy changed by {100 * (history.test_acc[-1] - history.test_acc[-2]):+.1f} points): the "
            "run had not converged, and more epochs would still help."
        )
    elif loss_trend > 0.05:
        converge = (
            f"**Convergence.** The training loss *rose* by {100 * loss_trend:.0f}% in the last epoch: training "
            "has not settled at this learning rate yet (momentum and BatchNorm statistics are still adapting "
            "after so few steps). Only more epochs, or a lower learning rate, would show where it converges."
        )
    else:
        converge = (
            f"**Convergence.** The training loss changed by only {100 * loss_trend:+.1f}% in the last epoch: the "
            f"run has levelled off at this learning rate (test accuracy moved {100 * test_trend:+.1f}% relative)."
        )
    paragraphs.append(converge)

    if other is not None and other.epochs:
        other_model = str(other.info.get("model", "the other lab"))
        other_title = LAB_TITLES.get(other_model, other_model)
        other_final = other.final()
        params, other_params = info.get("parameters", 0), other.info.get("parameters", 0)
        per_epoch = final["total_seconds"] / final["epochs"]
        other_per_epoch = other_final["total_seconds"] / other_final["epochs"]
        compare = (
            f"**{title} against {other_title}.** {title} has {params:,} parameters, {other_title} "
            f"{other_params:,} ({params / other_params:.2f}x). Per epoch {title} took {per_epoch:.1f} s and "
            f"{other_title} {other_per_epoch:.1f} s ({per_epoch / other_per_epoch:.2f}x) on "
            f"{other.info.get('device_name', 'its device')}. Test accuracy: {title} {100 * test_acc:.2f}%, "
            f"{other_title} {100 * other_final['test_acc']:.2f}% (profile {_profile_note(other)})."
        )
        if other.info.get("profile") != info.get("profile"):
            compare += " The two runs used different profiles, so compare them with care."
        paragraphs.append(compare)
    return "\n\n".join(paragraphs)


def per_class_markdown(targets, predictions, classes: Sequence[str]) -> str:
    """Accuracy of each class on the test split, as a Markdown table."""
    from .metrics import confusion_counts, per_class_accuracy

    counts = confusion_counts(targets, predictions, len(classes))
    accuracy = per_class_accuracy(targets, predictions, classes)
    lines = ["| class | test images | correct | accuracy |", "|---|---|---|---|"]
    for index, name in enumerate(classes):
        lines.append(f"| {name} | {int(counts[index].sum()):,} | {int(counts[index, index]):,} | {_percent(accuracy[name])} |")
    return "\n".join(lines)


def save_run(run_dir: str | Path, history: History, test_split, title: str | None = None, dpi: int = 110) -> dict:
    """Write a finished run's history.json and figures into ``run_dir``; return the figures."""
    from . import plots

    run_dir = Path(run_dir)
    evaluation = history.last_evaluation
    if evaluation is None:
        raise ValueError("the history holds no test predictions; it must come from labkit.train.fit in this session")
    figures = {
        "curves": plots.training_curves(history, title=title),
        "predictions": plots.prediction_grid(test_split.images, evaluation.targets, evaluation.predictions,
                                             test_split.classes),
        "confusion": plots.confusion_matrix(evaluation.targets, evaluation.predictions, test_split.classes),
    }  # fmt: skip
    run_dir.mkdir(parents=True, exist_ok=True)
    for name, figure in figures.items():
        figure.savefig(run_dir / f"{name}.png", dpi=dpi)
    history.save(run_dir / "history.json")
    return figures


# --------------------------------------------------------------------------- the report page

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #1f2328; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #d0d7de; padding: 0.35em 0.7em; text-align: left; }
th { background: #f6f8fa; }
.labs { display: grid; grid-template-columns: 1fr 1fr; gap: 2em; }
img { max-width: 100%; border: 1px solid #d0d7de; }
.note { color: #59636e; }
"""


def index_html(runs: dict[str, History], links: dict[str, dict[str, str]], generated: str) -> str:
    """One page: both labs' results beside the reference, their figures, and links to the notebooks."""
    models = list(runs)
    header = "".join(
        f"<th>{html.escape(LAB_TITLES.get(m, m))}: this run</th><th>{html.escape(LAB_TITLES.get(m, m))}: reference</th>"
        for m in models
    )
    tables = {m: comparison_rows(runs[m], REFERENCE.get(m)) for m in models}
    body_rows = []
    for index, (name, _, _) in enumerate(next(iter(tables.values()))):
        cells = "".join(
            f"<td>{html.escape(tables[m][index][1])}</td><td>{html.escape(tables[m][index][2])}</td>" for m in models
        )
        body_rows.append(f"<tr><th>{html.escape(name)}</th>{cells}</tr>")
    sections = []
    for model in models:
        title = html.escape(LAB_TITLES.get(model, model))
        link = links.get(model, {})
        anchors = " · ".join(
            f'<a href="{html.escape(target)}">{html.escape(label)}</a>' for label, target in link.items()
        )
        sections.append(
            f"<section><h2>{title}</h2><p>{anchors}</p>"
            f'<h3>Training curves</h3><img src="{model}/curves.png" alt="{title} training curves">'
            f'<h3>Test predictions</h3><img src="{model}/predictions.png" alt="{title} predictions">'
            f'<h3>Confusion matrix</h3><img src="{model}/confusion.png" alt="{title} confusion matrix"></section>'
        )
    from .profiles import PROFILES

    used = sorted({str(history.info.get("profile", "?")) for history in runs.values()})
    devices = sorted({str(history.info.get("device_name", "?")) for history in runs.values()})
    profile_text = "; ".join(
        f"<b>{html.escape(name)}</b>: {html.escape(PROFILES[name].description if name in PROFILES else 'unknown')}"
        for name in used
    )
    scope = (
        f"<p>Profile {profile_text}, on {html.escape(', '.join(devices))}."
        + ("" if used == ["full"] else " This is not the full recipe, so the numbers are not comparable "
           "like-for-like with the reference; a run of the full recipe on a GPU replaces this report.")
        + "</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>labkit report: VGG16 and ResNet50 on CIFAR-10 (3 classes)</title>
<style>{_STYLE}</style></head><body>
<h1>VGG16 and ResNet50 on three CIFAR-10 classes</h1>
<p class="note">Generated {html.escape(generated)} by <code>python -m labkit report</code>. Every number in
"this run" comes from the run's history; the reference columns are the original lab's published results
(one run each on an unnamed GPU). Accuracies are on the airplane/automobile/bird test split.</p>
{scope}
<table><thead><tr><th></th>{header}</tr></thead><tbody>{''.join(body_rows)}</tbody></table>
<div class="labs">{''.join(sections)}</div>
</body></html>
"""


def write_index(report_dir: Path, runs: dict[str, History], links: dict[str, dict[str, str]], generated: str) -> Path:
    path = Path(report_dir) / "index.html"
    atomic_write_text(path, index_html(runs, links, generated))
    summary = {model: {**history.final(), "info": history.info} for model, history in runs.items()}
    atomic_write_text(Path(report_dir) / "results.json", json.dumps(summary, indent=2) + "\n")
    return path
