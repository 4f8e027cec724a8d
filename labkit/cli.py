"""Command line: ``python -m labkit train ...`` runs the lab recipe headless."""

from __future__ import annotations

import argparse
import functools
import logging
import math
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from .lab import (
    AUTO,
    CHANGEABLE_ON_RESUME,
    CHECKPOINT,
    EXPERIMENTS,
    FULL,
    HISTORY,
    INPUT_PATHS,
    LABS,
    PREDICTIONS,
    PROFILES,
    QUESTIONS_FOLDER,
    QUESTIONS_UNFINISHED,
    QUICK,
    SMOKE,
    VARIANTS,
    Recipe,
    experiment_parameter,
    question_variants,
)


class UsageError(ValueError):
    """A command-line choice that cannot work; the message says what to change."""


def _number(kind: type, minimum: float, strict: bool = False) -> Callable[[str], Any]:
    """An argparse type: a finite number of ``kind`` of at least (or, ``strict``, above) ``minimum``."""
    whole = "whole " if kind is int else ""
    bound = f"greater than {minimum}" if strict else f"at least {minimum}"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {whole}number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if not (value > minimum if strict else value >= minimum):
            raise argparse.ArgumentTypeError(f"must be a {whole}number {bound}, got {text}")
        return value

    return parse


_positive_int = _number(int, 1)
_count = _number(int, 0)
_positive_float = _number(float, 0, strict=True)
_non_negative_float = _number(float, 0)


def seed_list(text: str) -> tuple[int, ...]:
    """An argparse type: comma-separated, different whole-number seeds."""
    try:
        seeds = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of whole numbers, like 0,1,2") from None
    if not seeds or len(set(seeds)) != len(seeds) or any(not 0 <= seed < 2**32 for seed in seeds):
        raise argparse.ArgumentTypeError(f"need one or more different seeds from 0 to {2**32 - 1}, got {text!r}")
    return seeds


# Notebook parameters that are numbers, with the parser of the train option of the same name.
# (The seed goes to the recipe, which checks it for both commands.)
_REPORT_NUMBERS = {"epochs": _positive_int, "batch_size": _positive_int, "lr": _positive_float, "per_class": _positive_int,
                   "val_per_class": _positive_int}  # fmt: skip


def _add_precision_options(parser: argparse.ArgumentParser) -> None:
    """--bf16 and --channels-last; unset means the device's default (labkit.device.device_settings)."""
    parser.add_argument(
        "--bf16", action=argparse.BooleanOptionalAction, default=None, help="bf16 autocast; --no-bf16 for fp32 (default: on for CUDA and for CPUs with native bf16, AVX512-BF16 or AMX)"
    )
    parser.add_argument(
        "--channels-last", action=argparse.BooleanOptionalAction, default=None,
        help="channels-last memory format (default: on for CUDA and CPU)",
    )  # fmt: skip


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default only where there is one and the help text does not say it already."""

    def _get_help_string(self, action):
        if "(default" in (action.help or "") or action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _add_study_options(parser: argparse.ArgumentParser, what: str,
                       overwrite_help: str = "replace the results that --out already holds") -> None:  # fmt: skip
    """The options of a command that trains several models and writes one results.json."""
    parser.add_argument("--out", required=True, type=Path, help="folder for results.json and the figures")
    parser.add_argument(
        "--profile", choices=[AUTO, *PROFILES], default=None,
        help=f"how much {what} run(s) (default: $LABKIT_PROFILE, else auto: full where a CUDA GPU is, else quick)",
    )  # fmt: skip
    parser.add_argument("--data", default=None, help=f"data root (default: {_DATA_DEFAULT})")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")
    parser.add_argument("--seed", type=int, default=0, help="seed for every model's init, shuffling and augmentation")
    parser.add_argument(
        "--bf16", action=argparse.BooleanOptionalAction, default=None,
        help="bf16 autocast; --no-bf16 for fp32 (default: on for CUDA and for CPUs with native bf16)",
    )  # fmt: skip
    parser.add_argument("--overwrite", action="store_true", help=overwrite_help)
    # Nothing is written until every model has trained, so a Ctrl-C leaves --out as it was.
    parser.set_defaults(on_interrupt=STUDY_INTERRUPTED)


def _command(commands, name: str, handler: Callable, summary: str, description: str) -> argparse.ArgumentParser:
    """A subcommand whose --help shows every default; ``handler(args)`` runs it."""
    parser = commands.add_parser(
        name, help=summary, description=description, formatter_class=_HelpFormatter
    )
    parser.set_defaults(handler=handler)
    return parser


# labkit.data.data_root's default, in words.
_DATA_DEFAULT = "$LABKIT_DATA, else $XDG_CACHE_HOME/labkit/data, else ~/.cache/labkit/data"


def build_parser() -> argparse.ArgumentParser:
    default = Recipe()
    parser = argparse.ArgumentParser(
        prog="python -m labkit",
        description="Run the labkit CIFAR-10 labs headless.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = _command(
        commands, "train", run_train, "train a model on the lab recipe",
        (
            "Train a model on a CIFAR-10 class subset with the lab recipe (cross-entropy, SGD with "
            "momentum and weight decay, no schedule), testing after every epoch. Writes "
            f"{HISTORY}, {CHECKPOINT} and figures into --out. Options left out take the lab recipe's "
            "values (labkit/lab.py)."
        ),
    )
    train.add_argument("--model", default=default.model, help="model name, for example vgg16 or resnet50")
    train.add_argument(
        "--recipe", choices=list(VARIANTS), default="lab",
        help="the lab's recipe (default, faithful) or a variant of it: " + "; ".join(
            f"{name}: {variant.question}" for name, variant in VARIANTS.items() if name != "lab"),
    )  # fmt: skip
    train.add_argument(
        "--profile", choices=[AUTO, *PROFILES], default=None,
        help="full: the lab recipe; quick and smoke: fewer epochs and images (labkit/lab.py); auto: full where a "
        "CUDA GPU is, else quick (default: $LABKIT_PROFILE, else auto)",
    )  # fmt: skip
    train.add_argument(
        "--epochs", type=_positive_int, default=None,
        help=f"epochs to train (default: the lab recipe's, {', '.join(f'{m} {entry.recipe.epochs}' for m, entry in LABS.items())})",
    )  # fmt: skip
    train.add_argument("--out", required=True, type=Path, help="folder for the run's checkpoint, history and figures")
    train.add_argument("--data", default=None, help=f"data root (default: {_DATA_DEFAULT})")
    train.add_argument(
        "--download", action=argparse.BooleanOptionalAction, default=None,
        help="download CIFAR-10 (about 170 MB) into the data root if it is missing there (default: yes, into the "
        "default root or an empty folder, unless LABKIT_OFFLINE is set; --download downloads even then, and into a "
        "named folder holding other files; --no-download never does)",
    )  # fmt: skip
    train.add_argument("--cache-dir", default=None, help="decoded-image cache (default: $LABKIT_CACHE, else ~/.cache/labkit)")
    train.add_argument(
        "--classes", default=None, help=f"comma-separated CIFAR-10 class names, in label order (default: {','.join(default.classes)})"
    )
    train.add_argument("--per-class", type=_positive_int, default=None, help="training images per class (default: all)")
    train.add_argument("--test-per-class", type=_positive_int, default=None, help="test images per class (default: all)")
    train.add_argument(
        "--val-per-class", type=_positive_int, default=None,
        help="hold out the last N training images of each class as a validation split, measured every epoch, so "
        "choices need not look at the test split (default: no hold-out)",
    )  # fmt: skip
    train.add_argument("--batch-size", type=_positive_int, default=None, help=f"training batch size (default: {default.batch_size})")
    train.add_argument("--eval-batch-size", type=_positive_int, default=None, help=f"test batch size (default: {default.eval_batch_size})")
    train.add_argument("--lr", type=_positive_float, default=None, help=f"SGD learning rate (default: {default.lr:g})")
    train.add_argument("--momentum", type=_non_negative_float, default=None, help=f"SGD momentum (default: {default.momentum:g})")
    train.add_argument(
        "--weight-decay", type=_non_negative_float, default=None, help=f"SGD weight decay (default: {default.weight_decay:g})"
    )
    train.add_argument(
        "--seed", type=int, default=None, help=f"seed for model init, shuffling and augmentation (default: {default.seed})"
    )
    train.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")
    train.add_argument(
        "--input-path", choices=INPUT_PATHS, default=default.input_path,
        help="fast: split on the device, augmented per batch; reference: torchvision transforms and a DataLoader",
    )  # fmt: skip
    train.add_argument("--workers", type=_count, default=default.workers, help="DataLoader workers for --input-path reference")
    _add_precision_options(train)
    train.add_argument("--compile", action="store_true", help="run the steps through torch.compile (first epoch includes compiling)")
    train.add_argument(
        "--sync-bn", action="store_true",
        help="under torchrun on GPUs: SyncBatchNorm, so BatchNorm normalises over the global batch, not each "
        "process's share (README: more than one GPU)",
    )  # fmt: skip
    train.add_argument("--resume", action="store_true", help=f"continue the run saved in --out/{CHECKPOINT}")
    train.add_argument(
        "--allow-change", action="append", default=[], choices=CHANGEABLE_ON_RESUME, metavar="SETTING",
        help="with --resume: let this setting (lr, momentum, weight_decay, or epochs to train a finished run for "
        "longer) differ from the checkpoint's; history.json records the change (repeatable)",
    )  # fmt: skip
    train.add_argument(
        "--keep-optimizer-state", action="store_true",
        help="keep the optimiser's state in a finished run's checkpoint (by default it keeps the weights only: "
        "a finished run cannot be resumed, and the state is as large again as the weights)",
    )  # fmt: skip
    train.add_argument("--overwrite", action="store_true", help="replace a run that --out already holds")
    train.add_argument("--no-progress", action="store_true", help="no progress bars, only one line per epoch")

    report = _command(
        commands, "report", run_report, "run both lab notebooks headless and build report/",
        (
            f"Execute {' and '.join(f'notebooks/{entry.notebook}' for entry in LABS.values())} with papermill, render them "
            "to HTML and write report/index.html with both labs' results beside the reference lab. The new "
            "report replaces the old one only if every notebook succeeds."
        ),
    )
    report.add_argument(
        "--profile", choices=[AUTO, *PROFILES], default=None,
        help="auto (full where a CUDA GPU is, else quick), full, quick or smoke (default: $LABKIT_PROFILE, "
        "else auto; see labkit/lab.py)",
    )  # fmt: skip
    report.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
        help="papermill parameter for both notebooks, e.g. -p epochs 3 -p device cuda (repeatable)",
    )  # fmt: skip
    report.add_argument(
        "--seeds", type=seed_list, default=None, metavar="S1,S2,...",
        help="run each notebook once per seed (e.g. 0,1,2) and report every seed's accuracy with their mean and "
        "spread (default: one run, with the recipe's seed or -p seed)",
    )  # fmt: skip
    report.add_argument("--kernel", default="python3", help="Jupyter kernel to run the notebooks with")
    report.add_argument("--notebooks", type=Path, default=Path("notebooks"), help="folder holding the lab notebooks")
    report.add_argument("--report-dir", type=Path, default=Path("report"), help="where the rendered report goes")
    report.add_argument(
        "--runs-dir", type=Path, default=Path("runs/report"), help="scratch folder for the runs' checkpoints"
    )
    report.add_argument(
        "--update-notebooks", action="store_true",
        help="also copy the executed lab notebooks back into the notebooks folder (what make notebooks does), so "
        "the notebooks and the report hold one execution; with --render-only, from the report already there",
    )  # fmt: skip
    report.add_argument(
        "--render-only", action="store_true",
        help="run nothing: rewrite the report's pages from the files it holds (after labkit bench --markdown "
        "report/benchmarks.md, or a change to how the pages look); the comparison's test images are read from "
        "$LABKIT_DATA, else the user cache",
    )  # fmt: skip

    bench = _command(
        commands, "bench", run_bench, "measure training speed: model step, fast path, reference path, evaluation",
        (
            "Measure, for each model on one device: the model step alone on random tensors (the ceiling), "
            "the fast input path end to end, the torchvision reference path end to end, and evaluation. "
            "Prints images/s, the fast/reference and fast/ceiling ratios, FLOPs per image (counted by "
            "torch.utils.flop_counter), achieved TFLOP/s and peak memory. Images are random uint8 tensors: "
            "the speed of every path is the same as on real data."
        ),
    )
    bench.add_argument("--model", default="vgg16,resnet50", help="comma-separated model names")
    bench.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    bench.add_argument("--batch-size", type=_positive_int, default=default.batch_size, help="training batch size")
    bench.add_argument("--eval-batch-size", type=_positive_int, default=default.eval_batch_size, help="evaluation batch size")
    bench.add_argument("--steps", type=_positive_int, default=12, help="timed steps per training path, split over the turns")
    bench.add_argument(
        "--rounds", type=_positive_int, default=None, help="turns per path (default: one per step on CPU, 3 on GPU)"
    )
    bench.add_argument("--warmup", type=_count, default=2, help="untimed steps per path before the turns")
    bench.add_argument(
        "--workers", type=_count, default=None, help="DataLoader workers for the reference path (default: 0 on CPU, 2 on GPU)"
    )
    bench.add_argument(
        "--compare-memory-format", action="store_true",
        help="also time the ceiling in the other memory format (channels_last against contiguous)",
    )  # fmt: skip
    bench.add_argument(
        "--compare-precision", action="store_true",
        help="also time the ceiling in the other precision (bf16 against fp32), in the same turns",
    )  # fmt: skip
    _add_precision_options(bench)
    bench.add_argument("--compile", action="store_true", help="torch.compile the model (compile time reported apart)")
    bench.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures as JSON")
    bench.add_argument(
        "--markdown", type=Path, default=None, metavar="PATH", help="also write a Markdown report (e.g. report/benchmarks.md)"
    )

    experiment = _command(
        commands, "experiment", run_experiment, "run one of the papers' experiments: depth, degradation or protocol",
        (
            "depth: VGG's configurations A, B, D and E trained alike; degradation: plain and residual CIFAR "
            "networks at two depths; protocol: VGG's test protocols (single, flip, dense, dense+flip) on one trained "
            "VGG16. Each runs with the lab's recipe at its profile's size (labkit/lab.py) and writes results.json "
            "and figures into --out."
        ),
    )
    experiment.add_argument("name", choices=list(EXPERIMENTS), help="the experiment")
    _add_study_options(experiment, "each experiment")
    experiment.add_argument(
        "--from", dest="from_run", type=Path, default=None, metavar="RUN",
        help=f"protocol only: test the VGG16 trained in this run folder ({CHECKPOINT} and {HISTORY} of labkit train) "
        "instead of training one on the profile first",
    )  # fmt: skip

    questions = _command(
        commands, "questions", run_questions,
        "answer the lab's open questions: FC dropout, twice the epochs, a learning-rate schedule, the improved recipe",
        (
            "Trains the model under the faithful lab recipe and under each variant its notebook compares it with "
            f"({'; '.join(f'{model}: ' + ', '.join(question_variants(model)[1:]) for model in LABS)}), on one split "
            "with one seed, at the profile's size for the questions (labkit/lab.py); writes results.json and one "
            "figure per question into --out, and prints each question's table and conclusion."
        ),
    )  # fmt: skip
    questions.add_argument("--model", choices=list(LABS), default="vgg16", help="the lab whose questions to answer")
    _add_study_options(questions, "the questions", overwrite_help=(
        f"replace the results that --out already holds once the new ones are written, and start again questions cut "
        f"short (what --out/{QUESTIONS_UNFINISHED} keeps of them is discarded)"))  # fmt: skip
    questions.add_argument(
        "--lab-run", type=Path, default=None, metavar="RUN",
        help=f"a finished run of the lab recipe at the questions' size ({HISTORY} and {PREDICTIONS} of labkit train, "
        "or a report's lab folder) to stand as the lab row instead of training it; refused, with the reason, "
        "unless every setting and image matches",
    )  # fmt: skip
    questions.add_argument(
        "--resume", action="store_true",
        help=f"continue questions cut short: the variants they finished (kept in --out/{QUESTIONS_UNFINISHED} until "
        "the results are written) are not trained again, and the one they were training goes on from its last epoch",
    )  # fmt: skip

    data = commands.add_parser("data", help="data utilities (verify)", description="Data utilities.")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    verify = _command(
        data_commands, "verify", run_verify, "check an image folder against a SHA-256 list",
        (
            "Check every file under --data against a list of 'SHA256  relative/path' lines (the format of "
            "sha256sum, and of ../shared/data/cifar10-jpg.sha256). Reports missing, extra and changed files "
            "and exits 1 on any difference."
        ),
    )
    verify.add_argument("--data", default=None, help=f"data root (default: {_DATA_DEFAULT})")
    verify.add_argument("--sha256", default=None, help="checksum list (default: ROOT.sha256 beside the folder)")
    return parser


def run_verify(args: argparse.Namespace) -> int:
    from .data import data_root
    from .verify import verify

    root = data_root(args.data)
    result = verify(root, args.sha256)
    for label, names in (("missing", result.missing), ("extra", result.extra), ("changed", result.changed)):
        for name in names[:20]:
            print(f"{label}: {name}")
        if len(names) > 20:
            print(f"{label}: ... and {len(names) - 20} more")
    print(
        f"{root}: {result.checked:,} files checked; {len(result.missing)} missing, {len(result.extra)} extra, "
        f"{len(result.changed)} changed -> {'OK' if result.ok else 'DIFFERENT'}"
    )
    return 0 if result.ok else 1


def run_bench(args: argparse.Namespace) -> int:
    from .bench import run_benchmarks
    from .models import BUILDERS

    models = [name.strip().lower() for name in args.model.split(",") if name.strip()]
    unknown = [name for name in models if name not in BUILDERS]
    if unknown or not models:
        raise UsageError(f"unknown model(s) {', '.join(unknown) or '(none given)'}; known models: {', '.join(BUILDERS)}")
    from .files import check_writable

    for option, path in (("--json", args.json), ("--markdown", args.markdown)):
        if path is not None:  # before minutes of measuring, not after
            check_writable(path, option)
    command = (
        f"python -m labkit bench --model {','.join(models)} --device {args.device} --batch-size {args.batch_size} "
        f"--steps {args.steps} --warmup {args.warmup}"
        + "".join(f" --{flag} {value}" for flag, value in (("rounds", args.rounds), ("workers", args.workers)) if value is not None)
        + (" --compare-memory-format" if args.compare_memory_format else "")
        + (" --compare-precision" if args.compare_precision else "")
        + {True: " --bf16", False: " --no-bf16", None: ""}[args.bf16]
    )
    run_benchmarks(
        models, json_path=args.json, markdown_path=args.markdown, command=command, device=args.device,
        batch_size=args.batch_size, steps=args.steps, rounds=args.rounds, warmup=args.warmup, bf16=args.bf16, channels_last=args.channels_last, compile_model=args.compile,
        workers=args.workers, eval_batch_size=args.eval_batch_size, compare_memory_format=args.compare_memory_format,
        compare_precision=args.compare_precision,
    )  # fmt: skip
    return 0


def _literal(text: str):
    """Parameter values as Python literals where they parse (3, 0.1, None, True), else strings."""
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def run_report(args: argparse.Namespace) -> int:
    from .device import resolve_device
    from .lab import choose_profile
    from .report import NotebookFailed, absolute_data_root, build_report, check_parameters, recipe_settings

    if args.render_only:
        from .report import copy_to_notebooks, rerender

        if args.parameter or args.seeds or args.profile:
            raise UsageError("--render-only runs nothing, so it takes no -p, --seeds or --profile; drop them, "
                             "or drop --render-only to run the notebooks")  # fmt: skip
        try:
            print(f"labkit report: pages rewritten: {rerender(args.report_dir)}")
            if args.update_notebooks:  # e.g. a report brought back from a GPU machine
                copy_to_notebooks(args.report_dir, args.notebooks)
        except FileNotFoundError as error:
            raise UsageError(str(error)) from None
        return 0
    # papermill streams each cell's output through its logger: show it live.
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parameters = {name: _literal(value) for name, value in args.parameter}
    if args.profile:
        parameters["profile"] = args.profile
    profile, reason = choose_profile(parameters.get("profile"))
    device = resolve_device(str(parameters.get("device", "auto")))
    for name, parse in _REPORT_NUMBERS.items():  # the same checks, and words, as the train command's options
        if parameters.get(name) is not None:
            try:
                parameters[name] = parse(str(parameters[name]))
            except argparse.ArgumentTypeError as error:
                raise UsageError(f"-p {name}: {error}") from None
    if args.seeds and "seed" in parameters:
        raise UsageError("--seeds and -p seed both set the seed; pass one of them")
    check_parameters(args.notebooks, parameters, profile)  # every notebook would refuse them: say so before any runs
    _check_kernel(args.kernel)
    if isinstance(parameters.get("data_root"), str):  # the notebooks run in their own folder
        parameters["data_root"] = os.path.abspath(os.path.expanduser(parameters["data_root"]))
    absolute_data_root()
    passed = {name: value for name, value in parameters.items() if name != "profile"}
    print(f"labkit report: profile {profile.name} ({reason}): {profile.describe()}"
          + (f"; your parameters, which win over the profile: {', '.join(f'{k}={v!r}' for k, v in passed.items())}"
             if passed else ""), flush=True)  # fmt: skip
    if profile.name != SMOKE.name:
        switched_off = {name for name in EXPERIMENTS if parameters.get(experiment_parameter(name)) is False}
        _print_estimates(profile.name, device, len(args.seeds or (None,)), recipe_settings(parameters),
                         tuple(name for name in EXPERIMENTS if name not in switched_off),
                         _asks_questions(args.notebooks, parameters))  # fmt: skip
    parameters["profile"] = profile.name  # the notebooks run what was announced, whatever their own default
    try:
        build_report(args.notebooks, args.report_dir, args.runs_dir, parameters, args.kernel, seeds=args.seeds,
                     update_notebooks=args.update_notebooks)  # fmt: skip
    except NotebookFailed as error:
        print(f"labkit: error: {error}. The previous report in {args.report_dir} is unchanged.", file=sys.stderr)
        return 1
    return 0


def _asks_questions(notebooks: Path, parameters: dict[str, Any]) -> bool:
    """Whether the lab notebooks run their open questions: they take the switch, and it is not off."""
    from .report import notebook_parameters

    switch = experiment_parameter(QUESTIONS_FOLDER)
    taken = set().union(*notebook_parameters(notebooks).values())
    return switch in taken and parameters.get(switch) is not False


def _print_estimates(chosen: str, device, seeds: int = 1, overrides: dict | None = None,
                     experiments: tuple[str, ...] | None = None, questions: bool = True) -> None:  # fmt: skip
    from .device import device_name
    from .report import duration, estimate_seconds

    print(f"Estimated training and test time on this machine ({device_name(device)}), from measured step rates, "
          f"of each notebook with the papers' experiments{' and the open questions' if questions else ''} it runs:",
          flush=True)  # fmt: skip
    estimate = estimate_seconds((FULL.name, QUICK.name), str(device), overrides, experiments, questions)
    for name, parts in estimate.items():
        models = ", ".join(f"{LABS[model].title} {duration(sum(part))}" for model, part in parts.items())
        once = sum(sum(part) for part in parts.values())
        total = f"about {duration(once)} in all"
        if name == chosen and seeds > 1:  # the experiments and questions run with the first seed only
            every_seed = sum(lab_part for lab_part, _ in parts.values())
            total += f", {duration(once + (seeds - 1) * every_seed)} for {seeds} seeds  <- this run"
        elif name == chosen:
            total += "  <- this run"
        print(f"  {name:<5} {models}: {total}")
    other = QUICK.name if chosen == FULL.name else FULL.name
    print(f"To run the {other} profile instead: python -m labkit report --profile {other}   (or LABKIT_PROFILE={other} make report)",
          flush=True)


def _check_kernel(name: str) -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        manager.get_kernel_spec(name)
    except NoSuchKernel:
        known = ", ".join(sorted(manager.find_kernel_specs())) or "none"
        raise UsageError(f"no Jupyter kernel named {name!r}; installed kernels: {known}") from None


def _check_out(out: Path, resume: bool, overwrite: bool, data: str | None) -> None:
    from .data import data_root
    from .files import check_writable

    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder; choose a folder path")
    check_writable(out, "--out")
    root = data_root(data).resolve()
    if out.resolve() == root or root in out.resolve().parents:
        raise UsageError(f"--out {out} is inside the data root {root}; choose a folder outside the data")
    if resume and overwrite:
        raise UsageError("--resume and --overwrite contradict each other; pass one of them")


def run_train(args: argparse.Namespace) -> int:
    from .distributed import launch_world
    from .lab import choose_profile, recipe
    from .pipeline import run

    main = launch_world().is_main  # under torchrun, rank 0 alone prints
    say = functools.partial(print, flush=True) if main else (lambda *args, **kwargs: None)
    _check_out(args.out, args.resume, args.overwrite, args.data)
    profile, reason = choose_profile(args.profile)
    model = args.model.lower()
    say(f"profile {profile.name} ({reason}): {profile.for_model(model).describe(model)}; options you pass win over it")
    chosen = recipe(
        args.model, profile, args.recipe, classes=args.classes, epochs=args.epochs, per_class=args.per_class,
        test_per_class=args.test_per_class, val_per_class=args.val_per_class, batch_size=args.batch_size, eval_batch_size=args.eval_batch_size,
        lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay, seed=args.seed,
        input_path=args.input_path, workers=args.workers, bf16=args.bf16, channels_last=args.channels_last,
        torch_compile=args.compile, sync_bn=args.sync_bn,
    )  # fmt: skip
    finished = run(chosen, args.out, data_root=args.data, download=args.download, cache_dir=args.cache_dir,
                   device=args.device, resume=args.resume, allow_changes=tuple(args.allow_change),
                   keep_optimizer_state=args.keep_optimizer_state, replace=args.overwrite, progress=not args.no_progress,
                   log=say)  # fmt: skip
    final = finished.history.final()
    say(
        f"{chosen.model}: train accuracy {final['train_acc']:.2%}, test accuracy {final['test_acc']:.2%} "
        f"after {final['epochs']} epochs; training time {final['total_seconds']:.1f} s on "
        f"{finished.history.info['device_name']}. Results in {args.out}"
    )
    return 0


def _trained_vgg16(args: argparse.Namespace, profile):
    """The VGG16 whose test passes the protocol experiment compares: from --from, else trained here."""
    from . import pipeline
    from .checkpoint import load_checkpoint
    from .data import load_split
    from .history import History
    from .lab import recipe

    if args.from_run is None:
        chosen = recipe("vgg16", profile, seed=args.seed, bf16=args.bf16)
        train_split, test_split = pipeline.load_data(chosen, args.data)
        print(f"protocol: training VGG16 first ({profile.for_model('vgg16').describe('vgg16')}); "
              "pass --from RUN to test a trained one", flush=True)  # fmt: skip
        model = pipeline.build_model(chosen)
        from .train import fit

        fit(model, train_split, test_split, chosen, device=args.device, progress=False, log=functools.partial(print, flush=True))
        return model, test_split
    history_path, checkpoint_path = args.from_run / HISTORY, args.from_run / CHECKPOINT
    if not history_path.is_file() or not checkpoint_path.is_file():
        raise UsageError(f"--from {args.from_run} holds no finished run ({HISTORY} and {CHECKPOINT}); "
                         "give the --out folder of a finished labkit train run")  # fmt: skip
    info = History.load(history_path).info
    if info.get("model") != "vgg16" or not info.get("classes"):
        raise UsageError(f"--from {args.from_run} is not a labkit VGG16 run (its {HISTORY} names model "
                         f"{info.get('model')!r}); the protocol experiment tests a VGG16")  # fmt: skip
    trained = recipe("vgg16", profile, classes=tuple(info["classes"]), seed=args.seed)
    model = pipeline.build_model(trained)
    model.load_state_dict(load_checkpoint(checkpoint_path)["model"])
    return model, load_split("test", trained.classes, args.data, info.get("test_per_class"))


def run_experiment(args: argparse.Namespace) -> int:
    from . import experiment_tables, experiments
    from .lab import choose_profile

    if args.from_run is not None and args.name != "protocol":
        raise UsageError(f"--from is for the protocol experiment, which tests a trained VGG16; {args.name} trains its own models")
    _check_out(args.out, False, args.overwrite, args.data)
    if (args.out / experiments.RESULTS).exists() and not args.overwrite:  # before minutes of training, not after
        raise UsageError(f"{args.out} already holds an experiment's results; choose another --out, or pass --overwrite")
    profile, reason = choose_profile(args.profile)
    scale = profile.for_experiment(args.name)
    print(f"experiment {args.name}, profile {profile.name} ({reason}): {EXPERIMENTS[args.name].question}", flush=True)
    log = functools.partial(print, flush=True)
    if args.name == "protocol":
        model, test_split = _trained_vgg16(args, profile)
        result = experiments.protocol(model, test_split, profile, args.device, args.bf16, seed=args.seed, log=log)
    else:
        print(f"{', '.join(EXPERIMENTS[args.name].models)}: {scale.describe(EXPERIMENTS[args.name].lab)} each", flush=True)
        result = experiments.train_models(args.name, profile, args.data, device=args.device, seed=args.seed,
                                          bf16=args.bf16, log=log)  # fmt: skip
    experiments.save(result, args.out, replace_existing=args.overwrite)
    print(f"\n{experiment_tables.table(result)}\n\n{experiment_tables.conclusion(result)}\n\nResults in {args.out}")
    return 0


def run_questions(args: argparse.Namespace) -> int:
    from . import question_tables, questions
    from .artefacts import load_run
    from .lab import choose_profile, question_recipe, questions_of, questions_skipped

    _check_out(args.out, args.resume, args.overwrite, args.data)
    unfinished = args.out / QUESTIONS_UNFINISHED
    cut_short = questions.holds_unfinished(unfinished)
    if cut_short and not (args.resume or args.overwrite):  # before the results' check: its advice would discard them
        raise UsageError(f"{unfinished} keeps questions cut short; pass --resume to go on with them, or --overwrite "
                         "to start again")  # fmt: skip
    # (--resume goes on with an --overwrite cut short, which replaces the results at its end.)
    if (args.out / questions.RESULTS).exists() and not (args.overwrite or args.resume):  # before any training
        raise UsageError(f"{args.out} already holds results; choose another --out, or pass --overwrite")
    if args.resume and not cut_short:
        raise UsageError(f"--resume: {unfinished} keeps no questions cut short; run without --resume")
    profile, reason = choose_profile(args.profile)
    skipped = questions_skipped(args.model, profile)
    if skipped:
        raise UsageError(skipped)
    baseline = None if args.lab_run is None else load_run(args.lab_run)  # a bad folder fails before any training
    scale = profile.for_questions(args.model)
    variants = question_variants(args.model)[1 if baseline else 0:]
    trained = ", ".join(f"{variant} ({question_recipe(args.model, variant, profile).epochs} epochs)" for variant in variants)
    if baseline:
        trained += f"; the lab row is the run in {args.lab_run}"
    if args.resume:
        trained += f"; goes on from what {unfinished} keeps"
    print(f"the {LABS[args.model].title} lab's open questions, profile {profile.name} ({reason}): "
          f"{scale.describe(args.model)} for the lab recipe; trains {trained}", flush=True)  # fmt: skip
    instead = " in place of --overwrite" if args.overwrite else ""
    kept = (f"what the questions finished is kept in {unfinished}; the same command with --resume{instead} goes on "
            "from there (results.json is written only when every variant has trained)")  # fmt: skip
    args.on_interrupt = lambda: kept if questions.holds_unfinished(unfinished) else STUDY_INTERRUPTED
    result = questions.run(args.model, profile, args.data, device=args.device, seed=args.seed, bf16=args.bf16,
                           baseline=baseline, require_baseline=True, keep=unfinished, restart=args.overwrite,
                           log=functools.partial(print, flush=True))  # fmt: skip
    questions.save(result, args.out, replace_existing=args.overwrite or args.resume)
    if unfinished.exists():  # (gone already if nothing was kept in it)
        shutil.rmtree(unfinished)
    for name in questions_of(args.model):
        print(f"\n{question_tables.markdown(result, name, heading='##')}")
    print(f"\nResults in {args.out}")
    return 0


STUDY_INTERRUPTED = "nothing was written to --out; run the command again to train every model anew"
TRAIN_INTERRUPTED = ("a run replaced with --overwrite is back as it was, and an unfinished run continues from its last "
                     "checkpoint with --resume")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or bool(os.environ.get("LABKIT_DEBUG"))
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        said = getattr(args, "on_interrupt", TRAIN_INTERRUPTED)  # (a command may know better once it has begun)
        print(f"labkit: interrupted; {said() if callable(said) else said}", file=sys.stderr)
        return 130
    except (ValueError, OSError, FloatingPointError) as error:
        # Every expected failure (bad data, bad options, a broken checkpoint,
        # divergence) is a ValueError or FloatingPointError subclass with a
        # message written for the user.
        if debug:
            raise
        print(f"labkit: error: {error}", file=sys.stderr)
        return 2
