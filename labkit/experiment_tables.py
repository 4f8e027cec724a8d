"""The experiments' tables and conclusions, computed from their results beside the papers' numbers.

Every sentence that states a finding is chosen by the numbers: a difference the
test (or training) images cannot resolve is called that, and when this run does
not reproduce a paper's effect, the text says so.
"""

from __future__ import annotations

from .experiments import ExperimentResult
from .lab import CROP_PADDING, IMAGE_SIZE, model_depth, title
from .metrics import binomial_interval
from .models.vgg import cfgs
from .papers import (
    RESNET_CIFAR,
    RESNET_CIFAR_BATCH,
    RESNET_CIFAR_ITERATIONS,
    RESNET_CIFAR_TRAIN_IMAGES,
    RESNET_PAPER,
    VGG_CONFIGURATIONS,
    VGG_DEPTH,
    VGG_JITTER,
    VGG_PAPER,
    VGG_PROTOCOL_TABLES,
    VGG_PROTOCOLS,
    VGG_SATURATION_LAYERS,
    VGG_VALIDATION_IMAGES,
)

CONFIGURATION_OF = {model: config for config, model in VGG_CONFIGURATIONS.items()}


def weight_layers(config: str) -> int:
    """Convolutions in the configuration's column, plus the three fully connected layers."""
    return sum(1 for item in cfgs[config] if item != "M") + 3


def _points(value: float) -> str:
    return f"{100 * value:+.2f}"


def _with_interval(correct: int, total: int) -> str:
    low, high = binomial_interval(correct, total)
    return f"{correct / total:.2%} ({low:.1%}–{high:.1%})"


def _half_width(accuracies: list[float], total: int) -> float:
    """The widest half 95% interval of these accuracies on ``total`` images: a smaller difference is not resolved."""
    widths = []
    for accuracy in accuracies:
        low, high = binomial_interval(round(accuracy * total), total)
        widths.append((high - low) / 2)
    return max(widths)


def model_name(model: str) -> str:
    """VGG11, ResNet-20, plain-56: the names the papers use."""
    if model.startswith("vgg"):
        return f"VGG{model_depth(model)}"
    if model.startswith("plain"):
        return f"plain-{model_depth(model)}"
    return f"ResNet-{model_depth(model)}" if model.startswith("resnet") else title(model)


def _budget(result: ExperimentResult) -> str:
    info = result.info
    epochs = f"{info['epochs']} epoch{'s' if info['epochs'] != 1 else ''}"
    return (f"{info['train_images']:,} training images, {epochs}, {info['test_images']:,} test images "
            f"({info['profile']} profile, {info['device_name']}{', bf16' if info.get('bf16') else ''})")  # fmt: skip


# --------------------------------------------------------------------------- VGG depth


def depth_table(result: ExperimentResult) -> str:
    rows = {row["model"]: row for row in result.rows}
    base = rows.get(VGG_CONFIGURATIONS["D"])
    total = result.info["test_images"]
    lines = [
        f"| configuration | weight layers | parameters | {VGG_PAPER}: top-1 / top-5 error (ImageNet, S = Q = 256) "
        "| paper: top-1 error vs D | this run: train accuracy | this run: test accuracy (95% interval) "
        "| this run: test error vs D |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model, row in rows.items():
        config = CONFIGURATION_OF[model]
        top1, top5 = VGG_DEPTH[config]
        versus = _points(base["test_acc"] - row["test_acc"]) if base else "—"  # error points, as the paper's column
        lines.append(
            f"| {config} ({model_name(model)}) | {weight_layers(config)} | {row['parameters']:,} | {top1} / {top5} "
            f"| {top1 - VGG_DEPTH['D'][0]:+.1f} | {row['train_acc']:.2%} | {_with_interval(row['test_correct'], total)} "
            f"| {versus} |"
        )
    return "\n".join(lines)


def depth_conclusion(result: ExperimentResult) -> str:
    accuracy = {CONFIGURATION_OF[row["model"]]: row["test_acc"] for row in result.rows}
    resolved = _half_width(list(accuracy.values()), result.info["test_images"])
    gain, deeper = accuracy["D"] - accuracy["A"], accuracy["E"] - accuracy["D"]
    if gain > resolved:
        verdict = f"deeper is better reproduces from A to D: D is {100 * gain:.2f} points above A"
    elif gain < -resolved:
        verdict = f"the paper's order is reversed from A to D: D is {100 * -gain:.2f} points below A"
    else:
        verdict = f"A and D cannot be told apart here ({_points(gain)} points, within ±{100 * resolved:.1f})"
    best = max(accuracy, key=accuracy.get)
    paper = VGG_DEPTH["E"][0] - VGG_DEPTH["D"][0]
    return (
        f"On {_budget(result)}, {verdict}. E against D: {_points(deeper)} points of test accuracy (in the paper, at "
        f"training scale 256, E's top-1 error is {abs(paper):.1f} points {'above' if paper > 0 else 'below'} D's, and "
        f"the paper reports that its error saturates when the depth reaches {VGG_SATURATION_LAYERS} layers). The best "
        f"configuration here is {best} ({accuracy[best]:.2%}). A difference smaller than about ±{100 * resolved:.1f} "
        f"points is within the 95% interval of {result.info['test_images']:,} test images; the paper's differences "
        f"are measured on {VGG_VALIDATION_IMAGES:,} ImageNet validation images after full training."
    )


# --------------------------------------------------------------------------- ResNet degradation


def _pairs(result: ExperimentResult) -> dict[int, dict[str, dict]]:
    pairs: dict[int, dict[str, dict]] = {}
    for row in result.rows:
        kind = "plain" if row["model"].startswith("plain") else "residual"
        pairs.setdefault(model_depth(row["model"]), {})[kind] = row
    return dict(sorted(pairs.items()))


def degradation_table(result: ExperimentResult) -> str:
    lines = [
        f"| depth | {RESNET_PAPER}: ResNet test error (CIFAR-10, Table 6) | plain: train error | plain: test error "
        "| residual: train error | residual: test error | residual − plain, test error |",
        "|---|---|---|---|---|---|---|",
    ]
    for depth, pair in _pairs(result).items():
        plain, residual = pair["plain"], pair["residual"]
        paper = f"{RESNET_CIFAR[depth][1]}%" if depth in RESNET_CIFAR else "—"
        lines.append(
            f"| {depth} | {paper} | {1 - plain['train_acc']:.2%} | {1 - plain['test_acc']:.2%} "
            f"| {1 - residual['train_acc']:.2%} | {1 - residual['test_acc']:.2%} "
            f"| {_points(plain['test_acc'] - residual['test_acc'])} |"
        )
    return "\n".join(lines)


def _finding(deep: float, shallow: float, total: int, expected: str, names: tuple[str, str], what: str) -> tuple[str, bool | None]:
    """Compare two error rates on ``total`` images: (the sentence, True/False for the paper's direction, None if unresolved)."""
    resolved = _half_width([1 - deep, 1 - shallow], total)
    figures = f"{deep:.2%} against {shallow:.2%}"
    if abs(deep - shallow) <= resolved:
        return (f"{names[0]} and {names[1]} end with {what} that cannot be told apart ({figures}, within "
                f"±{100 * resolved:.1f} points)", None)  # fmt: skip
    higher = deep > shallow
    agrees = higher if expected == "higher" else not higher
    return f"{names[0]} ends with {'higher' if higher else 'lower'} {what} than {names[1]} ({figures})", agrees


def degradation_conclusion(result: ExperimentResult) -> str:
    pairs = _pairs(result)
    shallow, deep = min(pairs), max(pairs)
    info = result.info
    plain_text, plain_agrees = _finding(
        1 - pairs[deep]["plain"]["train_acc"], 1 - pairs[shallow]["plain"]["train_acc"], info["train_images"], "higher",
        (f"plain-{deep}", f"plain-{shallow}"), "training error",
    )  # fmt: skip
    residual_text, residual_agrees = _finding(
        1 - pairs[deep]["residual"]["test_acc"], 1 - pairs[shallow]["residual"]["test_acc"], info["test_images"], "lower",
        (f"ResNet-{deep}", f"ResNet-{shallow}"), "test error",
    )  # fmt: skip
    verdicts = {True: "reproduces", False: "is reversed", None: "is not resolved at this budget"}
    text = (f"On {_budget(result)}, {plain_text}: the degradation problem {verdicts[plain_agrees]}; {residual_text}: "
            f"deeper-is-better for residual nets {verdicts[residual_agrees]}")  # fmt: skip
    held = "holds here" if plain_agrees and residual_agrees else "is not seen here"
    text += f"; so the paper's sign flip (depth hurts the plain net and helps the residual one) {held}."
    if shallow in RESNET_CIFAR and deep in RESNET_CIFAR:
        epochs = RESNET_CIFAR_ITERATIONS * RESNET_CIFAR_BATCH / RESNET_CIFAR_TRAIN_IMAGES
        text += (f" The paper trained each net for {RESNET_CIFAR_ITERATIONS:,} iterations of {RESNET_CIFAR_BATCH} images "
                 f"with a learning-rate schedule (about {epochs:.0f} epochs of {RESNET_CIFAR_TRAIN_IMAGES:,} images), "
                 f"where ResNet-{shallow} and ResNet-{deep} reach {RESNET_CIFAR[shallow][1]}% and "
                 f"{RESNET_CIFAR[deep][1]}% test error on all ten classes.")  # fmt: skip
    return text


# --------------------------------------------------------------------------- VGG test protocols


def protocol_table(result: ExperimentResult) -> str:
    total = result.info["test_images"]
    single = next(row for row in result.rows if row["protocol"] == "single")
    lines = ["| protocol | views per image | image sizes | test accuracy (95% interval) | vs single |",
             "|---|---|---|---|---|"]  # fmt: skip
    for row in result.rows:
        sizes = ", ".join(str(size) for size in row["sizes"])
        lines.append(f"| {row['protocol']} | {row['views']} | {sizes} | {_with_interval(row['correct'], total)} "
                     f"| {_points(row['accuracy'] - single['accuracy'])} |")  # fmt: skip
    return "\n".join(lines)


def paper_protocol_table() -> str:
    base = next(iter(VGG_PROTOCOLS.values()))[0]
    lines = [f"| {VGG_PAPER}, {VGG_PROTOCOL_TABLES} | top-1 / top-5 error | top-1 vs single scale |", "|---|---|---|"]
    for name, (top1, top5) in VGG_PROTOCOLS.items():
        lines.append(f"| {name} | {top1} / {top5} | {top1 - base:+.1f} |")
    return "\n".join(lines)


def protocol_conclusion(result: ExperimentResult) -> str:
    accuracy = {row["protocol"]: row["accuracy"] for row in result.rows}
    best = max(accuracy, key=accuracy.get)
    flip_gain = accuracy["flip"] - accuracy["single"]
    scales_gain = accuracy["dense+flip"] - accuracy["flip"]  # the paper's comparison: both with the mirror
    single_scale, three_scales = (VGG_PROTOCOLS[name][0] for name in list(VGG_PROTOCOLS)[:2])

    def change(gain: float) -> str:
        if not gain:
            return "leaves test accuracy as it is"
        return f"{'raises' if gain > 0 else 'lowers'} test accuracy by {abs(100 * gain):.2f} points"

    return (
        f"On the same {result.info['test_images']:,} test images and the same weights, the mirror {change(flip_gain)} "
        f"against a single view, and dense evaluation over sizes {', '.join(map(str, result.info['sizes']))} "
        f"(with the mirror) {change(scales_gain)} against the mirror at one size; the best protocol here is {best} "
        f"({accuracy[best]:.2%}). In the paper, three test scales instead of one (both dense, with the mirror) took "
        f"{single_scale - three_scales:.1f} points off the top-1 error of a net trained on scales S from {VGG_JITTER[0]} "
        f"to {VGG_JITTER[1]}; the lab's net is trained at one scale ({IMAGE_SIZE}-pixel crops of its "
        f"{IMAGE_SIZE}-pixel images padded by {CROP_PADDING} pixels)."
    )


TABLES = {"depth": depth_table, "degradation": degradation_table, "protocol": protocol_table}
CONCLUSIONS = {"depth": depth_conclusion, "degradation": degradation_conclusion, "protocol": protocol_conclusion}


def table(result: ExperimentResult) -> str:
    """The experiment's table in Markdown."""
    return TABLES[result.name](result)


def conclusion(result: ExperimentResult) -> str:
    """What the experiment found, in one paragraph chosen by its numbers."""
    return CONCLUSIONS[result.name](result)
