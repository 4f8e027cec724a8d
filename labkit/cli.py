"""Command line: ``python -m labkit train ...`` runs the lab recipe headless."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

CHECKPOINT_NAME = "checkpoint.pt"
HISTORY_NAME = "history.json"
FIGURE_DPI = 110


class UsageError(ValueError):
    """A command-line choice that cannot work; the message says what to change."""


def _positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = _number(text, float)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than zero, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def _number(text: str, kind: type):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole ' if kind is int else ''}number") from None


def build_parser() -> argparse.ArgumentParser:
    from .data import LAB_CLASSES
    from .train import BATCH_SIZE, EVAL_BATCH_SIZE, LR, MOMENTUM, WEIGHT_DECAY

    parser = argparse.ArgumentParser(
        prog="python -m labkit",
        description="Run the labkit CIFAR-10 labs headless.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train a model on the lab recipe",
        description=(
            "Train a model on a CIFAR-10 class subset with the lab recipe (cross-entropy, SGD with "
            "momentum and weight decay, no schedule), testing after every epoch. Writes "
            f"{HISTORY_NAME}, {CHECKPOINT_NAME} and figures into --out."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    train.add_argument("--model", default="vgg16", help="model name, for example vgg16 or resnet50")
    train.add_argument(
        "--epochs", type=_positive_int, default=None, help="epochs to train (default: the lab's, 20 for vgg16, 15 for resnet50)"
    )
    train.add_argument("--out", required=True, type=Path, help="folder for the run's checkpoint, history and figures")
    train.add_argument("--data", default=None, help="data root (default: $LABKIT_DATA, else ./data)")
    train.add_argument("--download", action="store_true", help="let torchvision download CIFAR-10 into --data if it is missing")
    train.add_argument("--cache-dir", default=None, help="decoded-image cache (default: $LABKIT_CACHE, else ~/.cache/labkit)")
    train.add_argument("--classes", default=",".join(LAB_CLASSES), help="comma-separated CIFAR-10 class names, in label order")
    train.add_argument("--per-class", type=_positive_int, default=None, help="training images per class (default: all)")
    train.add_argument("--test-per-class", type=_positive_int, default=None, help="test images per class (default: all)")
    train.add_argument("--batch-size", type=_positive_int, default=BATCH_SIZE, help="training batch size")
    train.add_argument("--eval-batch-size", type=_positive_int, default=EVAL_BATCH_SIZE, help="test batch size")
    train.add_argument("--lr", type=_positive_float, default=LR, help="SGD learning rate")
    train.add_argument("--momentum", type=_non_negative_float, default=MOMENTUM, help="SGD momentum")
    train.add_argument("--weight-decay", type=_non_negative_float, default=WEIGHT_DECAY, help="SGD weight decay")
    train.add_argument("--seed", type=int, default=0, help="seed for model init, shuffling and augmentation")
    train.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")
    train.add_argument(
        "--input-path", choices=("fast", "reference"), default="fast",
        help="fast: split on the device, augmented per batch; reference: torchvision transforms and a DataLoader",
    )  # fmt: skip
    train.add_argument("--workers", type=int, default=0, help="DataLoader workers for --input-path reference")
    train.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None, help="bf16 autocast (default: on for CUDA)")
    train.add_argument(
        "--channels-last", action=argparse.BooleanOptionalAction, default=None, help="channels-last memory format (default: on for CUDA)"
    )
    train.add_argument("--resume", action="store_true", help=f"continue the run saved in --out/{CHECKPOINT_NAME}")
    train.add_argument("--overwrite", action="store_true", help="replace a run that --out already holds")
    train.add_argument("--no-progress", action="store_true", help="no progress bars, only one line per epoch")
    train.set_defaults(handler=run_train)
    return parser


def _check_out(out: Path, resume: bool, overwrite: bool) -> None:
    checkpoint, history = out / CHECKPOINT_NAME, out / HISTORY_NAME
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder; choose a folder path")
    if resume:
        if overwrite:
            raise UsageError("--resume and --overwrite contradict each other; pass one of them")
        if not checkpoint.is_file():
            raise UsageError(f"--resume: {checkpoint} does not exist, so there is no run to continue; drop --resume")
        return
    if overwrite:
        return
    if history.is_file():
        raise UsageError(
            f"{out} already holds a finished run ({HISTORY_NAME}); choose another --out, "
            "or pass --overwrite to replace it"
        )
    if checkpoint.is_file():
        raise UsageError(
            f"{out} holds an unfinished run ({CHECKPOINT_NAME}); pass --resume to continue it, "
            "or --overwrite to start again"
        )


def run_train(args: argparse.Namespace) -> int:
    from . import plots
    from .data import load_lab_data
    from .models import build
    from .train import fit, lab_epochs, resolve_device, seed_everything

    out: Path = args.out
    _check_out(out, args.resume, args.overwrite)
    device = resolve_device(args.device)  # fail before loading any data
    classes = [name.strip() for name in args.classes.split(",") if name.strip()]
    seed_everything(args.seed)
    model = build(args.model, num_classes=max(1, len(classes)))
    train_split, test_split = load_lab_data(
        classes, args.data, args.per_class, args.test_per_class, args.download, args.cache_dir
    )
    epochs = args.epochs or lab_epochs(args.model)
    print(
        f"{args.model}: {len(train_split):,} training / {len(test_split):,} test images of "
        f"{', '.join(classes)}; {epochs} epochs on {device}",
        flush=True,
    )
    out.mkdir(parents=True, exist_ok=True)
    history = fit(
        model, train_split, test_split, epochs=epochs, batch_size=args.batch_size, lr=args.lr,
        momentum=args.momentum, weight_decay=args.weight_decay, device=device, seed=args.seed,
        input_path=args.input_path, num_workers=args.workers, channels_last=args.channels_last, bf16=args.bf16,
        eval_batch_size=args.eval_batch_size, checkpoint=out / CHECKPOINT_NAME, resume=args.resume,
        info={"model": args.model, "per_class": args.per_class, "test_per_class": args.test_per_class},
        progress=not args.no_progress,
    )  # fmt: skip
    evaluation = history.last_evaluation
    figures = {
        "curves.png": plots.training_curves(history, title=args.model),
        "predictions.png": plots.prediction_grid(
            test_split.images, evaluation.targets, evaluation.predictions, test_split.classes
        ),
        "confusion.png": plots.confusion_matrix(evaluation.targets, evaluation.predictions, test_split.classes),
    }
    for name, figure in figures.items():
        figure.savefig(out / name, dpi=FIGURE_DPI)
    history.save(out / HISTORY_NAME)
    final = history.final()
    print(
        f"{args.model}: train accuracy {final['train_acc']:.2%}, test accuracy {final['test_acc']:.2%} "
        f"after {final['epochs']} epochs; training time {final['total_seconds']:.1f} s on "
        f"{history.info['device_name']}. Results in {out}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or bool(os.environ.get("LABKIT_DEBUG"))
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("labkit: interrupted; the last checkpoint is kept, continue with --resume", file=sys.stderr)
        return 130
    except (ValueError, OSError, FloatingPointError) as error:
        # Every expected failure (bad data, bad options, a broken checkpoint,
        # divergence) is a ValueError or FloatingPointError subclass with a
        # message written for the user.
        if debug:
            raise
        print(f"labkit: error: {error}", file=sys.stderr)
        return 2
