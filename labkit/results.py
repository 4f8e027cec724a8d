"""A run's results in words and tables: against the reference lab, per class, a conclusion.

Every number written here is read from a run's :class:`~labkit.history.History`
or :class:`~labkit.train.Evaluation`; the reference lab's published results come
from :mod:`labkit.lab`.
"""

from __future__ import annotations

import statistics
from typing import Sequence

from .data import is_jpeg_reencoding
from .history import History
from .lab import (
    CROP_PADDING,
    IMAGE_SIZE,
    LABS,
    MEAN,
    STD,
    TEST_PER_CLASS,
    TRAIN_PER_CLASS,
    VARIANTS,
    Lab,
    Recipe,
    get_profile,
    title,
)
from .metrics import binomial_interval, confusion_counts, per_class_accuracy


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


def reference_lab(history: History, model: str | None = None) -> Lab | None:
    """The reference lab a run compares with: its model's, and only on the lab's own classes."""
    lab = LABS.get((model or str(history.info.get("model", ""))).lower())
    classes = tuple(history.info.get("classes", lab.recipe.classes if lab else ()))
    return lab if lab and classes == lab.recipe.classes else None


def test_interval(history: History) -> tuple[float, float] | None:
    """The 95% binomial interval of the final test accuracy; None when the test image count is unknown."""
    images = history.info.get("test_images")
    if not images:
        return None
    return binomial_interval(round(history.final()["test_acc"] * images), images)


def _with_interval(history: History) -> str:
    interval = test_interval(history)
    accuracy = _percent(history.final()["test_acc"])
    return f"{accuracy} (95% interval {100 * interval[0]:.1f}–{100 * interval[1]:.1f}%)" if interval else accuracy


def comparison_rows(history: History, lab: Lab | None) -> list[tuple[str, str, str]]:
    """(quantity, this run, reference) rows; '—' where the reference did not report a value."""
    final = history.final()
    info = history.info
    ref = lab.reference if lab else None
    full_images = len(lab.recipe.classes) * TRAIN_PER_CLASS if lab else 0
    return [
        ("recipe", recipe_name(info), "lab" if lab else "—"),
        ("train accuracy", _percent(final["train_acc"]), _percent(ref.train_acc if ref else None)),
        ("test accuracy", _with_interval(history), _percent(ref.test_acc if ref else None)),
        *([("validation accuracy", f"{_percent(final['val_acc'])} ({info.get('val_images', 0):,} held-out training images)", "—")]
          if "val_acc" in final else []),
        ("train loss", f"{final['train_loss']:.4f}", "—"),
        ("test loss", f"{final['test_loss']:.4f}", "—"),
        ("epochs", str(final["epochs"]), str(lab.recipe.epochs) if lab else "—"),
        ("training time (train + test passes)", _seconds(final["total_seconds"]), _seconds(ref.seconds if ref else None)),
        ("parameters", f"{info.get('parameters', 0):,}", f"{ref.parameters:,}" if ref else "—"),
        ("device", str(info.get("device_name", "?")), "a GPU (not named)"),
        ("profile", _profile_note(history), f"full ({full_images:,} training images)" if lab else "—"),
        ("date", str(info.get("finished_at", "?")), "—"),
        ("torch", str(info.get("torch", "?")), "—"),
    ]


def recipe_name(info: dict) -> str:
    """The recipe variant a run was made from, with what sets it apart from the lab's: "cosine (cosine schedule)"."""
    changes = []
    if info.get("schedule", "constant") != "constant":
        changes.append(f"{info['schedule']} schedule")
    if info.get("dropout"):
        changes.append(f"FC dropout {info['dropout']:g}")
    if info.get("label_smoothing"):
        changes.append(f"label smoothing {info['label_smoothing']:g}")
    name = info.get("variant", "lab")
    if name in VARIANTS and VARIANTS[name].epochs_factor > 1:  # the epochs it ran: an --epochs override wins
        changes.insert(0, f"{info['epochs']} epochs")
    if name == "lab" and changes:  # settings passed on top of the faithful recipe
        return f"lab, with {', '.join(changes)}"
    return f"{name} ({', '.join(changes)})" if changes else name


def reading_notes(history: History) -> list[str]:
    """What a reader must know to compare this run's numbers with the reference's."""
    notes = [
        "Accuracies are the final epoch's, not the best epoch's: picking the best epoch by its test accuracy "
        "would tune on the test split (the reference lab does not say how it chose its figures)."
    ]
    name = title(str(history.info.get("model", "")))
    if history.val_acc:
        best = max(range(len(history.val_acc)), key=history.val_acc.__getitem__)
        notes.append(
            f"{name}'s validation accuracy, on {history.info.get('val_images', 0):,} training images held out of training, "
            f"peaked at epoch {history.epochs[best]} ({_percent(history.val_acc[best])}): the epoch to choose without "
            "looking at the test split."
        )
    interval = test_interval(history)
    if interval:
        notes.append(
            f"{name}'s 95% interval is the binomial one for its {history.info['test_images']:,} test images: the "
            "spread the test set alone allows; a run with another seed varies on top of it."
        )
    if is_jpeg_reencoding(history.info):
        notes.append(
            "The images are a JPEG re-encoding of CIFAR-10, not its original pixels: JPEG's compression loss "
            "makes the data slightly different from the reference lab's."
        )
    return notes


def results_markdown(history: History, model: str) -> str:
    """The notebook's results table: this run against the reference lab (on the lab's classes only)."""
    lab = reference_lab(history, model)
    if lab is None:
        lines = ["| | this run |", "|---|---|"]
        lines += [f"| {name} | {mine} |" for name, mine, _ in comparison_rows(history, None)]
        if model.lower() in LABS:
            missing = (f"The classes ({', '.join(history.info.get('classes', []))}) are not the lab's, so there is no "
                       "reference run to compare with.")  # fmt: skip
        else:
            missing = f"The reference lab has no run of {title(model)} to compare with."
        notes = [missing, *reading_notes(history)]
    else:
        lines = ["| | this run | reference lab |", "|---|---|---|"]
        lines += [f"| {name} | {mine} | {theirs} |" for name, mine, theirs in comparison_rows(history, lab)]
        notes = reading_notes(history)
    return "\n".join(lines) + "\n\n" + "\n".join(f"* {note}" for note in notes)


def seed_summary(histories: Sequence[History], lab: Lab | None) -> dict:
    """Every seed's final accuracies and time, their mean, standard deviation and range, and the reference's place.

    The reference counts as "within" when its test accuracy lies inside the mean
    +- 2 standard deviations of the seeds (with one seed there is no spread to say).
    """
    rows = [{"seed": h.info.get("seed"), "train_acc": h.final()["train_acc"], "test_acc": h.final()["test_acc"],
             "seconds": h.final()["total_seconds"]} for h in histories]  # fmt: skip
    summary: dict = {"seeds": rows}
    for key in ("train_acc", "test_acc", "seconds"):
        values = [row[key] for row in rows]
        summary[key] = {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else None,
                        "min": min(values), "max": max(values)}  # fmt: skip
    test = summary["test_acc"]
    if lab and test["std"] is not None:
        summary["reference_within_2_std"] = abs(lab.reference.test_acc - test["mean"]) <= 2 * test["std"]
    return summary


def seed_table_markdown(summary: dict, lab: Lab | None) -> str:
    """The seeds table: one row per seed, then mean +- std and min-max."""
    lines = ["| seed | train accuracy | test accuracy | training time |", "|---|---|---|---|"]
    lines += [f"| {row['seed']} | {_percent(row['train_acc'])} | {_percent(row['test_acc'])} | {_seconds(row['seconds'])} |"
              for row in summary["seeds"]]  # fmt: skip

    def spread(key: str, show) -> str:
        part = summary[key]
        return show(part["mean"]) + (f" ± {show(part['std'])}" if part["std"] is not None else "")

    lines.append(f"| mean ± std | {spread('train_acc', _percent)} | {spread('test_acc', _percent)} | "
                 f"{spread('seconds', lambda v: f'{v:.1f} s')} |")  # fmt: skip
    lines.append(f"| min–max | {_percent(summary['train_acc']['min'])}–{_percent(summary['train_acc']['max'])} | "
                 f"{_percent(summary['test_acc']['min'])}–{_percent(summary['test_acc']['max'])} | "
                 f"{summary['seconds']['min']:.1f}–{summary['seconds']['max']:.1f} s |")  # fmt: skip
    if lab is not None:
        verdict = summary.get("reference_within_2_std")
        said = {True: "inside", False: "outside", None: "not comparable with one seed: no spread to compare with"}[verdict]
        lines.append("")
        lines.append(f"Reference test accuracy {_percent(lab.reference.test_acc)}: {said}"
                     + (" the seeds' mean ± 2 standard deviations." if verdict is not None else "."))  # fmt: skip
    return "\n".join(lines)


def paired_test_markdown(first: str, second: str, test) -> str:
    """Two models on the same test images, as a sentence: where each alone is right, and McNemar's p-value."""
    verdict = ("a difference the test images alone would rarely show by chance" if test.p_value < 0.05
               else "no evidence, on these images, that one model errs less than the other")  # fmt: skip
    return (
        f"On the {test.images:,} test images both models classified, {title(first)} alone was right on "
        f"{test.only_first:,} and {title(second)} alone on {test.only_second:,}; the exact McNemar test gives "
        f"p = {test.p_value:.3g}: {verdict}."
    )


def _trend(values: Sequence[float]) -> float:
    """Relative change over the last epoch (negative: falling)."""
    if len(values) < 2 or values[-2] == 0:
        return 0.0
    return (values[-1] - values[-2]) / abs(values[-2])


def chance_notes(history: History) -> list[str]:
    """A sentence for each stretch of epochs that put (nearly) every test image into one class, naming it."""
    classes = list(history.info.get("classes", ()))
    counts = history.test_predicted_counts
    epochs = history.epochs[-len(counts):] if counts else []  # a resumed older run has counts for its last epochs only
    accuracies = history.test_acc[-len(counts):] if counts else []
    collapsed = []
    for epoch, accuracy, count in zip(epochs, accuracies, counts):
        total = sum(count)
        if total and len(count) == len(classes) and max(count) >= 0.95 * total:
            collapsed.append((epoch, accuracy, classes[count.index(max(count))], max(count) == total))
    groups: list[list[tuple]] = []
    for entry in collapsed:  # consecutive epochs onto the same class make one note
        if groups and groups[-1][-1][0] == entry[0] - 1 and groups[-1][-1][2] == entry[2]:
            groups[-1].append(entry)
        else:
            groups.append([entry])
    notes = []
    for group in groups:
        first, last, chosen = group[0][0], group[-1][0], group[0][2]
        when = f"epoch {first}" if first == last else f"epochs {first} to {last}"
        accuracy = ", ".join(f"{100 * entry[1]:.2f}%" for entry in group)
        share = "every test image" if all(entry[3] for entry in group) else "95% or more of the test images"
        note = (f"**At chance.** After {when} the test accuracy was {accuracy}: the network put {share} into one "
                f"class, {chosen}, which scores about that class's share of the test split, as guessing would.")  # fmt: skip
        if last != history.epochs[-1]:
            note += " The later epochs show whether it recovered."
        notes.append(note)
    return notes


def conclusion_markdown(history: History, model: str, other: History | None = None) -> str:
    """A discussion of this run's own numbers: fit, convergence, the reference, the other lab."""
    final = history.final()
    info = history.info
    lab = reference_lab(history, model)
    name = title(model)
    train_acc, test_acc = final["train_acc"], final["test_acc"]
    gap = 100 * (train_acc - test_acc)
    paragraphs = []

    run = (
        f"**This run.** {name} reached **{100 * test_acc:.2f}%** test accuracy and {100 * train_acc:.2f}% "
        f"training accuracy after {final['epochs']} epoch{'s' if final['epochs'] != 1 else ''}, in {_seconds(final['total_seconds'])} of training "
        f"on {info.get('device_name', 'an unnamed device')} (profile {_profile_note(history)})."
    )
    if lab:
        reference = lab.reference
        difference = 100 * (test_acc - reference.test_acc)
        run += (
            f" The reference lab reported {100 * reference.test_acc:.1f}% test accuracy after {lab.recipe.epochs} "
            f"epochs in {reference.seconds:.0f} s: this run is {abs(difference):.1f} points "
            f"{'above' if difference >= 0 else 'below'} it"
            + (" (on a JPEG re-encoding of CIFAR-10, not the original pixels)." if is_jpeg_reencoding(info) else ".")
        )
        interval = test_interval(history)
        if interval and not interval[0] <= reference.test_acc <= interval[1]:
            run += (f" The reference lies outside this run's 95% interval ({100 * interval[0]:.1f}–"
                    f"{100 * interval[1]:.1f}%): more than the test set's own sampling error.")  # fmt: skip
        elif interval:
            run += (f" The reference lies inside this run's 95% interval ({100 * interval[0]:.1f}–"
                    f"{100 * interval[1]:.1f}%): the test set alone cannot tell the two apart.")  # fmt: skip
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
            "has not settled at this learning rate yet. Only more epochs, or a lower learning rate, would show "
            "where it converges."
        )
    else:
        converge = (
            f"**Convergence.** The training loss changed by only {100 * loss_trend:+.1f}% in the last epoch: the "
            f"run has levelled off at this learning rate (test accuracy moved {100 * test_trend:+.1f}% relative)."
        )
    paragraphs.append(converge)
    paragraphs += chance_notes(history)

    if other is not None and other.epochs:
        other_model = str(other.info.get("model", "the other lab"))
        other_title = title(other_model)
        other_final = other.final()
        params, other_params = info.get("parameters", 0), other.info.get("parameters", 0)
        per_epoch = final["total_seconds"] / final["epochs"]
        other_per_epoch = other_final["total_seconds"] / other_final["epochs"]
        compare = (
            f"**{name} against {other_title}.** {name} has {params:,} parameters, {other_title} "
            f"{other_params:,} ({params / other_params:.2f}x). Per epoch {name} took {per_epoch:.1f} s and "
            f"{other_title} {other_per_epoch:.1f} s ({per_epoch / other_per_epoch:.2f}x) on "
            f"{other.info.get('device_name', 'its device')}. Test accuracy: {name} {100 * test_acc:.2f}%, "
            f"{other_title} {100 * other_final['test_acc']:.2f}% (profile {_profile_note(other)})."
        )
        if other.info.get("profile") != info.get("profile"):
            compare += " The two runs used different profiles, so compare them with care."
        paragraphs.append(compare)
    return "\n\n".join(paragraphs)


def per_class_markdown(targets, predictions, classes: Sequence[str]) -> str:
    """Accuracy of each class on the test split, as a Markdown table."""
    counts = confusion_counts(targets, predictions, len(classes))
    accuracy = per_class_accuracy(targets, predictions, classes)
    lines = ["| class | test images | correct | accuracy |", "|---|---|---|---|"]
    for index, name in enumerate(classes):
        lines.append(f"| {name} | {int(counts[index].sum()):,} | {int(counts[index, index]):,} | {_percent(accuracy[name])} |")
    return "\n".join(lines)


def _precision(recipe: Recipe, device: str) -> str:
    from .device import cpu_has_native_bf16, device_settings

    resolved, bf16, _ = device_settings(device, recipe.bf16)
    if recipe.bf16 is not None:
        return "bf16 autocast (asked for)" if bf16 else "fp32 (asked for)"
    if resolved.type == "cpu":
        native = cpu_has_native_bf16()
        why = "this CPU executes bf16 natively" if native else "this CPU has no native bf16 (AVX512-BF16 or AMX)"
        return f"{'bf16 autocast' if bf16 else 'fp32'} (the default: {why})"
    return f"{'bf16 autocast' if bf16 else 'fp32'} (the default on {resolved.type})"


def recipe_markdown(recipe: Recipe, device: str = "auto") -> str:
    """The settings a run uses, after its profile, and the data pipeline's constants, as a Markdown table."""
    def images(limit: int | None, total: int) -> str:
        return f"{limit:,} per class" if limit else f"all {total:,} per class"

    rows = [
        ("model", recipe.model),
        ("classes", ", ".join(recipe.classes)),
        ("profile", f"{recipe.profile} ({get_profile(recipe.profile).describe()})"),
        ("training images", images(recipe.per_class, TRAIN_PER_CLASS)),
        ("test images", images(recipe.test_per_class, TEST_PER_CLASS)),
        ("validation", f"the last {recipe.val_per_class:,} training images of each class, held out of training"
                       if recipe.val_per_class else "none (no hold-out)"),
        ("epochs", str(recipe.epochs)),
        ("batch size", str(recipe.batch_size)),
        ("optimiser", f"SGD, lr {recipe.lr:g}, momentum {recipe.momentum:g}, weight decay {recipe.weight_decay:g}"),
        ("learning-rate schedule", "none (constant)"),
        ("seed", str(recipe.seed)),
        ("device", device),
        ("precision", _precision(recipe, device)),
        ("training augmentation", f"random crop {IMAGE_SIZE} with {CROP_PADDING}-pixel zero padding, "
                                  "random horizontal flip"),
        ("normalisation", f"mean {MEAN}, std {STD} (per RGB channel)"),
        ("loss", "cross-entropy"),
    ]  # fmt: skip
    return "\n".join(["| setting | value |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)])
