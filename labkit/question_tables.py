"""The open questions' tables and conclusions, computed from their runs.

Two recipes are scored on the same test images, so they are compared image by
image (the exact McNemar test): a difference those images cannot resolve is
called that, and the lab's suggestion is then neither confirmed nor refuted at
this budget.
"""

from __future__ import annotations

from .experiments import ExperimentResult
from .lab import GOAL_SWING, GOAL_TEST_ACC, LAB_CLASSES, QUESTIONS
from .metrics import binomial_interval, mcnemar

SIGNIFICANCE = 0.05


def _rows(result: ExperimentResult, question: str) -> tuple[dict, dict]:
    rows = {row["variant"]: row for row in result.rows}
    return rows["lab"], rows[QUESTIONS[question].variant]


def _points(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


def _budget(result: ExperimentResult) -> str:
    info = result.info
    return (f"{info['train_images']:,} training images, {info['test_images']:,} test images, seed {info['seed']} "
            f"({info['profile']} profile, {info['device_name']}{', bf16' if info.get('bf16') else ''})")  # fmt: skip


def suggestion(question: str) -> str:
    """The lab's suggestion that a question tests, as a sentence."""
    text = QUESTIONS[question].suggestion
    return f"{text[:1].upper()}{text[1:]}."


def markdown(result: ExperimentResult, question: str, heading: str = "###") -> str:
    """One question as a notebook shows it: its name, the suggestion it tests, the table and what the runs found."""
    return (f"{heading} {question}: the lab recipe against {QUESTIONS[question].variant}\n\n{suggestion(question)}\n\n"
            f"{table(result, question)}\n\n{conclusion(result, question)}")  # fmt: skip


def table(result: ExperimentResult, question: str) -> str:
    """The faithful recipe against the question's variant, on the same split and test images."""
    swing = f"swing: std of the last {result.info['swing_epochs']} epochs' test accuracy (points; – for a shorter run)"
    lines = [f"| recipe | epochs | train accuracy | test accuracy (95% interval) | train − test (points) "
             f"| best test accuracy (epoch) | {swing} | time |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    total = result.info["test_images"]
    for row in _rows(result, question):
        low, high = binomial_interval(row["test_correct"], total)
        time = f"{row['seconds']:.0f} s{' (the lab run, reused)' if row.get('reused') else ''}"
        lines.append(
            f"| {row['variant']} | {row['epochs']} | {row['train_acc']:.2%} | {row['test_acc']:.2%} ({low:.1%}–{high:.1%}) "
            f"| {_gap(row)} | {row['best_test_acc']:.2%} ({row['best_epoch']}) "
            f"| {_points(row['swing'])} | {time} |"
        )  # fmt: skip
    return "\n".join(lines) + f"\n\n{_budget(result)}."


def _paired(result: ExperimentResult, question: str):
    faithful, variant = _rows(result, question)
    targets = result.info["targets"]
    right = [[t == p for t, p in zip(targets, row["predictions"])] for row in (faithful, variant)]
    return faithful, variant, mcnemar(*right)


def conclusion(result: ExperimentResult, question: str) -> str:
    """What the runs say about the lab's suggestion, chosen by the numbers."""
    faithful, variant, test = _paired(result, question)
    name, difference = variant["variant"], variant["test_acc"] - faithful["test_acc"]
    paired = (f"McNemar p = {test.p_value:.2g}: of the {test.images:,} test images, {test.only_second} only {name} "
              f"gets right and {test.only_first} only the lab recipe")  # fmt: skip
    suggestion = QUESTIONS[question].suggestion
    if test.p_value < SIGNIFICANCE:
        gains = test.only_second > test.only_first  # the paired counts, which the p-value is computed from
        verb = "raises" if gains else "lowers"
        verdict = "holds at this budget" if gains else "is contradicted at this budget"
        found = f"The {name} recipe {verb} the final test accuracy by {abs(100 * difference):.2f} points ({paired})."
    else:
        verdict = "is not confirmed at this budget"
        found = (f"The {name} recipe changes the final test accuracy by {100 * difference:+.2f} points, which these test "
                 f"images do not resolve ({paired}).")  # fmt: skip
    parts = [found, f"The lab's suggestion ({suggestion}) {verdict}."]
    parts.append(_detail(result, question, faithful, variant))
    return " ".join(part for part in parts if part)


def _gap(row: dict) -> str:
    return _points(row["train_acc"] - row["test_acc"])


def _slip(row: dict) -> str:
    return _points(row["best_test_acc"] - row["test_acc"])


def _detail(result: ExperimentResult, question: str, faithful: dict, variant: dict) -> str:
    if question == "dropout":
        return (f"Overfitting, as the train − test gap: {_gap(faithful)} points without dropout, {_gap(variant)} with it; "
                f"the slip from the best epoch to the last: {_slip(faithful)} and {_slip(variant)} points.")  # fmt: skip
    if question == "longer":
        history = result.histories[variant["variant"]]
        half = faithful["epochs"]
        return (f"Over its last {len(history.test_acc) - half} epochs the longer run's test accuracy went from "
                f"{history.test_acc[half - 1]:.2%} "
                f"(epoch {half}) to {history.test_acc[-1]:.2%} (epoch {len(history.test_acc)}), and its train − test gap "
                f"from {_points(history.train_acc[half - 1] - history.test_acc[half - 1])} to {_gap(variant)} points.")  # fmt: skip
    if question == "schedule":
        if faithful["swing"] is None or variant["swing"] is None:
            return f"The runs are too short for a swing, which needs more than {result.info['swing_epochs']} epochs."
        return (f"The swing of the last {result.info['swing_epochs']} epochs' test accuracy: {_points(faithful['swing'])} "
                f"points under the constant rate, {_points(variant['swing'])} under the {variant['schedule']} schedule.")  # fmt: skip
    if question == "improved":
        met = variant["test_acc"] >= GOAL_TEST_ACC and variant["swing"] is not None and variant["swing"] <= GOAL_SWING
        goal = (f"The goal for the improved recipe on the full profile is at least {GOAL_TEST_ACC:.0%} test accuracy "
                f"with a swing of at most {100 * GOAL_SWING:.1f} points; this run has {variant['test_acc']:.2%} and "
                f"{_points(variant['swing'])} points")  # fmt: skip
        if result.info["profile"] != "full":
            return f"{goal}, on the {result.info['profile']} profile, which the goal is not set for."
        if tuple(result.info["classes"]) != LAB_CLASSES:
            return f"{goal}, on other classes than the lab's three, which the goal is not set for."
        return f"{goal}: the goal is {'met' if met else 'not met'}."
    return ""
