"""The training loop: ``train_step``, ``train_one_epoch``, ``evaluate`` and ``fit``.

Loss and correct counts are accumulated on the device and read once per epoch,
so a GPU is never made to wait for Python between steps.  Under torchrun
(:mod:`labkit.distributed`) the same loop trains with DistributedDataParallel:
the epoch's sums are all-reduced, testing is sharded, and rank 0 alone saves.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import torch
from torch import Tensor, nn

from . import distributed, provenance
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import Split, hold_out
from .device import autocast, device_name, device_settings, memory_format, tf32_note
from .history import History
from .lab import CHANGEABLE_ON_RESUME, STEP_DECAY_AT, STEP_DECAY_FACTOR, VGG16, Recipe
from .loaders import make_loader
from .models import count_parameters

_RECOVER = (
    "The checkpoint (if any) still holds the last finite epoch: continue it with a lower learning rate "
    "(--resume --allow-change lr --lr ...), or check the inputs"
)


class NonFiniteLossError(FloatingPointError):
    """Training diverged; carries the epoch and step where the loss stopped being finite."""

    def __init__(self, epoch: int, step: int) -> None:
        super().__init__(
            f"the training loss became NaN or infinite at epoch {epoch}, step {step}; training stopped. {_RECOVER}"
        )
        self.epoch = epoch
        self.step = step


class DivergedError(FloatingPointError):
    """The weights or the test loss stopped being finite by the end of an epoch, so it was not saved."""

    def __init__(self, epoch: int, what: str) -> None:
        super().__init__(f"{what} became NaN or infinite in epoch {epoch}; training stopped before saving it. {_RECOVER}")
        self.epoch = epoch


class CheckpointWriteError(ValueError):
    """A checkpoint could not be written (a full disk, say); the previous one is kept."""


def seed_everything(seed: int) -> None:
    """Seed every generator a run draws from (model init, dropout, reference transforms)."""
    torch.manual_seed(seed)


def make_optimizer(model: nn.Module, recipe: Recipe = VGG16) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, recipe: Recipe = VGG16):
    """The recipe's learning-rate schedule, stepped after every epoch; None for the lab's constant rate."""
    if recipe.schedule == "constant":
        return None
    if recipe.schedule == "step":
        milestones = sorted({max(1, round(fraction * recipe.epochs)) for fraction in STEP_DECAY_AT})
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=STEP_DECAY_FACTOR)
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=recipe.epochs)


def train_step(
    model: nn.Module, optimizer: torch.optim.Optimizer, images: Tensor, labels: Tensor, bf16: bool = False,
    label_smoothing: float = 0.0,
) -> tuple[Tensor, Tensor]:
    """One SGD step on one batch; returns the loss and the logits, still on the device.

    The one definition of a step: ``fit`` trains with it and ``labkit bench``
    times it, so the benchmark measures exactly what training runs.
    """
    with autocast(images.device, bf16):
        logits = model(images)
        loss = nn.functional.cross_entropy(logits.float(), labels, label_smoothing=label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach(), logits.detach()


PROGRESS_VARIABLE = "LABKIT_PROGRESS"


def progress_bars_wanted() -> bool:
    """False when ``$LABKIT_PROGRESS`` is ``none``: how headless notebook runs turn the bars off.

    A notebook executed by papermill or nbval has no front end to draw tqdm's widget
    bars, and its saved copy would keep each one as a stale ``0%|`` line (JupyterLab
    shows widgets only in a notebook the reader trusts); the epoch lines say it all.
    """
    value = os.environ.get(PROGRESS_VARIABLE, "").strip().lower()
    if value not in ("", "bar", "none"):
        raise ValueError(f"{PROGRESS_VARIABLE} must be 'bar' or 'none' (no progress bars), got {value!r}")
    return value != "none"


def _progress(iterable: Iterable, total: int, description: str, enabled: bool):
    from tqdm.auto import tqdm

    enabled = enabled and progress_bars_wanted()
    interactive = sys.stderr.isatty() or "ipykernel" in sys.modules
    return tqdm(
        iterable,
        total=total,
        desc=description,
        leave=False,
        disable=not enabled,
        mininterval=0.1 if interactive else 15.0,
        dynamic_ncols=True,
    )


LOSS_EVERY = 8  # steps per point of the training-loss curve drawn between the epoch points


@dataclass
class TrainingPass:
    """One epoch's training: mean loss and accuracy, and the loss of each stretch of ``loss_every`` steps."""

    loss: float
    accuracy: float
    stretch_losses: list[float]  # mean loss per sample over each stretch, in order
    stretch_ends: list[float]  # where each stretch ends, in epochs (2.5: half way through epoch 3)


def train_one_epoch(
    model: nn.Module,
    loader,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    epoch: int = 1,
    bf16: bool = False,
    progress: bool = False,
    loss_every: int = LOSS_EVERY,
    label_smoothing: float = 0.0,
) -> TrainingPass:
    """One pass over ``loader``: the loss and accuracy over the epoch's samples, and a finer loss curve.

    The curve's sums are kept on the device and read with the epoch's totals, so
    drawing it costs no synchronisation between steps.
    """
    if not isinstance(loss_every, int) or loss_every < 1:
        raise ValueError(f"loss_every must be a whole number of steps of at least 1, got {loss_every!r}")
    model.train()
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    correct = torch.zeros((), device=device, dtype=torch.int64)
    first_bad_step = torch.full((), -1, device=device, dtype=torch.int64)
    steps = len(loader)
    stretch_sums = torch.zeros(max(1, -(-steps // loss_every)), device=device, dtype=torch.float64)
    stretch_counts = [0] * len(stretch_sums)
    # Reading a CPU scalar costs nothing; on a GPU it stalls, and across ranks every rank must stop together.
    world = distributed.current()
    check_now = device.type == "cpu" and world.size == 1
    seen = 0
    for step, (images, labels) in enumerate(_progress(loader, steps, f"epoch {epoch} train", progress), 1):
        images = images.to(device, non_blocking=True)
        labels = labels.to(device, non_blocking=True)
        loss, logits = train_step(model, optimizer, images, labels, bf16, label_smoothing)
        bad = ~torch.isfinite(loss)
        if check_now:
            if bad.item():
                raise NonFiniteLossError(epoch, step)
        else:
            first_bad_step = torch.where(bad & (first_bad_step < 0), step, first_bad_step)
        batch_loss = loss * len(labels)
        loss_sum += batch_loss
        stretch = min((step - 1) // loss_every, len(stretch_counts) - 1)
        stretch_sums[stretch] += batch_loss
        stretch_counts[stretch] += len(labels)
        correct += (logits.argmax(1) == labels).sum()
        seen += len(labels)
    if world.size > 1:  # the epoch over every rank's shard
        totals = distributed.all_sum(torch.tensor([seen, *stretch_counts], device=device, dtype=torch.int64)).tolist()
        seen, stretch_counts = totals[0], totals[1:]
        for total in (loss_sum, correct, stretch_sums):
            distributed.all_sum(total)
        no_bad_step = torch.iinfo(torch.int64).max
        first = distributed.all_min(torch.where(first_bad_step < 0, no_bad_step, first_bad_step))
        first_bad_step = torch.where(first == no_bad_step, -1, first)
    if seen == 0:
        raise ValueError("the training loader yielded no batches; the training split is empty")
    bad_step = int(first_bad_step)
    if bad_step >= 0:
        raise NonFiniteLossError(epoch, bad_step)
    filled = [index for index, count in enumerate(stretch_counts) if count]
    sums = stretch_sums.tolist()
    ends = [epoch - 1 + min(steps, (index + 1) * loss_every) / steps for index in filled]
    return TrainingPass(float(loss_sum) / seen, int(correct) / seen, [sums[i] / stretch_counts[i] for i in filled], ends)


@dataclass
class Evaluation:
    """Loss and accuracy on a split, with every prediction for plots."""

    loss: float
    accuracy: float
    predictions: Tensor
    targets: Tensor
    confidences: Tensor | None = None  # the softmax probability of each predicted class


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader,
    device: torch.device | str = "cpu",
    bf16: bool = False,
    progress: bool = False,
) -> Evaluation:
    """Mean cross-entropy and accuracy of ``model`` over ``loader``, in eval mode."""
    device = torch.device(device)
    loss_sum, predictions, targets, confidences = _test_pass(model, loader, device, bf16, progress)
    if not targets:
        raise ValueError("the evaluation loader yielded no batches; the split is empty")
    predicted = torch.cat(predictions).cpu()
    target = torch.cat(targets).cpu()
    count = len(target)
    accuracy = float((predicted == target).sum()) / count
    return Evaluation(float(loss_sum) / count, accuracy, predicted, target, torch.cat(confidences).cpu())


def _test_pass(model: nn.Module, loader, device: torch.device, bf16: bool, progress: bool = False):
    model.eval()
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    predictions, targets, confidences = [], [], []
    with torch.no_grad():
        for images, labels in _progress(loader, len(loader), "evaluate", progress):
            images = images.to(device, non_blocking=True)
            labels = labels.to(device, non_blocking=True)
            with autocast(device, bf16):
                logits = model(images).float()
            loss_sum += nn.functional.cross_entropy(logits, labels, reduction="sum")
            predicted = logits.argmax(1)
            predictions.append(predicted)
            confidences.append(logits.softmax(1).gather(1, predicted[:, None]).squeeze(1))
            targets.append(labels)
    return loss_sum, predictions, targets, confidences


def evaluate_sharded(model: nn.Module, split: Split, batch_size: int, device: torch.device | str = "cpu",
                     bf16: bool = False, channels_last: bool = False) -> Evaluation:  # fmt: skip
    """:func:`evaluate` over ``split`` with each rank testing its own slice, on every rank the whole split's result.

    Every rank must hold the same weights and buffers (:func:`labkit.distributed.broadcast_buffers`);
    the predictions then equal one process's, in the split's order.
    """
    device = torch.device(device)
    world = distributed.current()
    start, stop = distributed.span(len(split), world)
    mine = Split(split.images[start:stop], split.labels[start:stop], split.classes, split.name, split.source)
    loader = make_loader(mine, batch_size, False, device, channels_last=channels_last)
    loss_sum, predictions, _, confidences = _test_pass(model, loader, device, bf16)
    predicted = torch.zeros(len(split), device=device, dtype=torch.int64)
    sure = torch.zeros(len(split), device=device, dtype=torch.float32)
    if predictions:  # a rank whose slice is empty adds zeros
        predicted[start:stop] = torch.cat(predictions)
        sure[start:stop] = torch.cat(confidences)
    for total in (loss_sum, predicted, sure):
        distributed.all_sum(total)
    predicted, target = predicted.cpu(), split.labels.cpu()
    if not len(target):
        raise ValueError("the evaluation split is empty")
    accuracy = float((predicted == target).sum()) / len(target)
    return Evaluation(float(loss_sum) / len(target), accuracy, predicted, target, sure.cpu())


def _finite(model: nn.Module) -> bool:
    """Whether every weight and buffer is finite: one host read per epoch, not per step."""
    tensors = [t for t in model.state_dict().values() if t.is_floating_point()]
    return bool(torch.stack([torch.isfinite(t).all() for t in tensors]).all()) if tensors else True


def _checkpoint_bytes(model: nn.Module) -> int:
    # The weights and buffers, plus SGD's momentum buffer per weight.
    state = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    return state + sum(p.numel() * p.element_size() for p in model.parameters())


def _check_free_space(checkpoint: Path, model: nn.Module) -> None:
    """Refuse to start a run whose checkpoints cannot fit: the new one is written beside the old."""
    folder = checkpoint.parent
    folder.mkdir(parents=True, exist_ok=True)
    needed = 2 * _checkpoint_bytes(model) - (checkpoint.stat().st_size if checkpoint.exists() else 0)
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise CheckpointWriteError(
            f"{folder} has {free / 2**20:,.0f} MB free, but the run's checkpoints need about {needed / 2**20:,.0f} MB "
            "(each new one is written beside the previous one); free some space, or choose another output folder"
        )


def _save(state: dict[str, Any], checkpoint: Path, epoch: int, size: int) -> None:
    try:
        save_checkpoint(state, checkpoint)
    except (OSError, RuntimeError) as error:  # torch.save reports a failed write as a RuntimeError
        kept = f"the checkpoint of epoch {epoch - 1} is kept" if checkpoint.exists() else "no checkpoint is kept"
        raise CheckpointWriteError(
            f"could not write the checkpoint of epoch {epoch} into {checkpoint.parent} "
            f"({str(error).splitlines()[0] if str(error) else type(error).__name__}); {kept}. Free some space "
            "(a checkpoint takes about "
            f"{size / 2**20:,.0f} MB) and continue with --resume, or choose another output folder"
        ) from None


@dataclass
class FitResult:
    """What ``fit`` returns: the per-epoch history and the final test pass it ended on."""

    history: History
    evaluation: Evaluation


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _cpu_bytes(state: Tensor) -> Tensor:
    # The RNG setters take CPU byte tensors only, whatever device a checkpoint was read onto.
    return state.to(device="cpu", dtype=torch.uint8)


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(_cpu_bytes(state["torch"]))
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([_cpu_bytes(cuda_state) for cuda_state in state["cuda"]])


# What a resumed run must share with its checkpoint: anything else would make one
# history out of two different runs (lab.CHANGEABLE_ON_RESUME may change on request).
RESUME_MUST_MATCH = (
    "model", "classes", "epochs", "batch_size", "lr", "momentum", "weight_decay", "input_path", "bf16",
    "per_class", "test_per_class", "val_per_class", "seed", "world_size", "sync_bn", "dropout", "schedule",
    "label_smoothing",
)  # fmt: skip
# What a checkpoint written before a setting existed had instead.
RESUME_DEFAULTS = {"val_per_class": None, "world_size": 1, "sync_bn": False, "dropout": 0.0, "schedule": "constant",
                    "label_smoothing": 0.0, "variant": "lab"}  # fmt: skip


def _resume(
    path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, info: dict[str, Any], allow_changes: tuple[str, ...],
    scheduler=None,
) -> tuple[History, int, dict[str, list]]:
    # Read onto the CPU: load_state_dict copies weights and optimizer state onto the model's device.
    state = load_checkpoint(path, map_location="cpu")
    saved = state.get("history", {}).get("info", {})
    # A key an older checkpoint lacks has its default then (no hold-out, one process).
    saved = {**RESUME_DEFAULTS, **saved}
    differing = [
        key for key in RESUME_MUST_MATCH if key in info and key in saved and _listify(saved[key]) != _listify(info[key])
    ]
    refused = [key for key in differing if key not in allow_changes]
    if refused:
        named = "; ".join(f"{key} {saved.get(key)!r}, not {info[key]!r}" for key in refused)
        hints = []  # the defaults (profile, precision) may differ from when the run started, or on another machine
        if saved.get("profile") not in (None, info.get("profile")):
            hints.append(f"--profile {saved['profile']}")
        if saved["variant"] != info.get("variant", "lab"):
            hints.append(f"--recipe {saved['variant']}")
        if "bf16" in refused:
            hints.append("--bf16" if saved["bf16"] else "--no-bf16")
        if "world_size" in refused:
            size = saved["world_size"]
            hints.append(f"torchrun and {size} processes in all" if size > 1 else "one process, without torchrun")
        if hints:
            named += f" (it was started with {' and '.join(hints)})"
        raise CheckpointError(
            f"checkpoint {path} belongs to a run with {named}; resume with the checkpoint's settings"
            + (" (or --allow-change for " + ", ".join(k for k in refused if k in CHANGEABLE_ON_RESUME) + ")"
               if any(k in CHANGEABLE_ON_RESUME for k in refused) else "")
            + ", start again with --overwrite, or choose another output folder"
        )  # fmt: skip
    missing = [key for key in ("epoch", "model", "history", "rng") if key not in state]
    if missing:
        raise CheckpointError(
            f"checkpoint {path} lacks {', '.join(missing)}: it was not written by labkit's training loop; "
            "start the run without --resume"
        )
    finished = int(state["epoch"]) >= int(info["epochs"])  # then only its test pass and artefacts are made again
    if not finished and "optimizer" not in state:
        raise CheckpointError(
            f"checkpoint {path} keeps a finished run's weights only (it was saved without --keep-optimizer-state), "
            "so its training cannot go on; start again with --overwrite, or choose another output folder"
        )
    try:
        model.load_state_dict(state["model"])
        if not finished:
            optimizer.load_state_dict(state["optimizer"])
    except (KeyError, RuntimeError, ValueError) as error:
        raise CheckpointError(f"checkpoint {path} does not fit this model: {error}") from error
    for group in optimizer.param_groups:  # load_state_dict restored the checkpoint's; this run's are the recipe's
        group.update({key: info[key] for key in CHANGEABLE_ON_RESUME})
    if scheduler is not None and not finished:
        if "scheduler" not in state:
            raise CheckpointError(f"checkpoint {path} holds no learning-rate schedule; start again with --overwrite")
        scheduler.load_state_dict(state["scheduler"])
        for group, rate in zip(optimizer.param_groups, scheduler.get_last_lr()):
            group["lr"] = rate  # where the schedule had got to, not the recipe's starting rate
    _set_rng_state(state["rng"])
    return History.from_dict(state["history"]), int(state["epoch"]), {key: [saved[key], info[key]] for key in differing}


def _listify(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def fit(
    model: nn.Module,
    train: Split,
    test: Split,
    recipe: Recipe,
    device: str | torch.device = "auto",
    checkpoint: str | Path | None = None,
    resume: bool = False,
    allow_changes: tuple[str, ...] = (),
    keep_optimizer_state: bool = False,
    progress: bool = True,
    log: Callable[[str], None] | None = print,
    on_epoch_end: Callable[[int, History], None] | None = None,
) -> FitResult:
    """Train ``model`` on ``recipe``, test after every epoch, and return the history and final test pass.

    With ``checkpoint`` set, the run is saved after every epoch whose weights and
    test loss are finite; ``resume`` continues from that file, so a killed run
    loses at most one epoch. ``allow_changes`` names the optimiser settings
    (:data:`CHANGEABLE_ON_RESUME`) a resumed run may change; history.json records
    each change. Once the run is finished its checkpoint keeps the weights only,
    unless ``keep_optimizer_state``: a finished run cannot be resumed, and the
    optimiser's state is as large again as the weights.
    ``on_epoch_end(epoch, history)`` is called after each epoch's checkpoint.
    With ``recipe.torch_compile`` the first epoch's time includes compiling.

    In a process group (torchrun, :mod:`labkit.distributed`) every rank calls ``fit``
    alike: the model is wrapped in DistributedDataParallel, ``recipe.batch_size`` is the
    global batch, and rank 0 alone writes the checkpoint and logs.
    """
    unknown = sorted(set(allow_changes) - set(CHANGEABLE_ON_RESUME))
    if unknown:
        raise ValueError(f"only {', '.join(CHANGEABLE_ON_RESUME)} may change on resume, not {', '.join(unknown)}")
    scheduled = sorted({"lr", "epochs"} & set(allow_changes)) if recipe.schedule != "constant" else []
    if scheduled:
        raise ValueError(
            f"a run on the {recipe.schedule} schedule cannot change {' or '.join(scheduled)} on resume: the schedule "
            "was laid out over its learning rate and epochs; start a new run instead"
        )
    progress_bars_wanted()  # a meaningless $LABKIT_PROGRESS is refused before any data or model work
    world = distributed.current()
    rank_batch = distributed.rank_batch_size(recipe.batch_size, world)
    device, bf16, channels_last = device_settings(device, recipe.bf16, recipe.channels_last)
    device = distributed.rank_device(world, device)
    distributed.check_sync_bn(recipe.sync_bn, device)
    if recipe.sync_bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model.to(device=device, memory_format=memory_format(channels_last))
    optimizer = make_optimizer(model, recipe)
    scheduler = make_scheduler(optimizer, recipe)
    if not world.is_main:
        log, progress = None, False
    # A held-out validation split is for choosing (epochs, settings) without looking at the test split.
    val = None
    if recipe.val_per_class:
        train, val = hold_out(train, recipe.val_per_class)

    run_info = {
        **recipe.to_dict(),
        "classes": list(train.classes),
        "train_images": len(train),
        "val_images": len(val) if val is not None else 0,
        "test_images": len(test),
        "parameters": count_parameters(model),
        "device": str(device),
        "device_name": device_name(device),
        "torch": str(torch.__version__),
        "versions": provenance.versions(),
        "commit": provenance.commit(),
        "data": provenance.data_record(train, test),
        "channels_last": channels_last,
        "bf16": bf16,
        "tf32": tf32_note(device),
        "loss_every": LOSS_EVERY,
        "world_size": world.size,
        "rank_batch_size": rank_batch,
    }
    if world.size > 1:
        run_info["backend"] = distributed.backend(device)
    history, done = History(info=run_info), 0
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    if resume:
        if checkpoint is None:
            raise ValueError("resume=True needs the checkpoint path to resume from")
        history, done, changes = _resume(checkpoint, model, optimizer, run_info, tuple(allow_changes), scheduler)
        history.info.update({key: run_info[key] for key in ("device", "device_name", "torch", "versions", "commit", "epochs")})
        history.info.update({key: run_info[key] for key in changes})
        if changes:
            history.info.setdefault("changes", []).append({"from_epoch": done + 1, **changes})
        if log and done:
            changed = "".join(f", {key} {old!r} -> {new!r}" for key, (old, new) in changes.items())
            log(f"resumed from {checkpoint} after epoch {done}{changed}")
    saves = checkpoint is not None and world.is_main
    if saves:
        _check_free_space(checkpoint, model)

    def loader(split: Split, batch_size: int, shuffle: bool):
        return make_loader(split, batch_size, shuffle, device, recipe.seed, recipe.input_path, channels_last,
                           recipe.workers, world)  # fmt: skip

    train_loader = loader(train, rank_batch, True)
    # The compiled wrapper runs the steps; checkpoints hold the plain model's weights.
    runner = model
    if world.size > 1:
        runner = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    runner = torch.compile(runner) if recipe.torch_compile else runner

    one_process = world.size == 1
    test_loader = loader(test, recipe.eval_batch_size, False) if one_process else None
    val_loader = loader(val, recipe.eval_batch_size, False) if one_process and val is not None else None

    def test_on(split: Split, split_loader) -> Evaluation:
        if one_process:
            return evaluate(runner, split_loader, device, bf16)
        distributed.broadcast_buffers(model)  # every rank tests, and rank 0 saves, the same net
        return evaluate_sharded(model, split, recipe.eval_batch_size, device, bf16, channels_last)

    evaluation = None
    epochs = recipe.epochs
    for epoch in range(done + 1, epochs + 1):
        start = time.perf_counter()
        train_loader.set_epoch(epoch)
        if not one_process:  # each rank its own dropout masks, drawn alike after a resume (only rank 0's RNG is saved)
            torch.manual_seed(distributed.rank_seed(recipe.seed, epoch, world))
        rate = optimizer.param_groups[0]["lr"]
        trained = train_one_epoch(runner, train_loader, optimizer, device, epoch, bf16, progress,
                                  label_smoothing=recipe.label_smoothing)  # fmt: skip
        if scheduler is not None:
            scheduler.step()
        evaluation = test_on(test, test_loader)
        validation = {}
        if val is not None:
            held_out = test_on(val, val_loader)
            validation = {"val_loss": held_out.loss, "val_acc": held_out.accuracy}
        seconds = time.perf_counter() - start
        history.append(
            epoch, train_loss=trained.loss, train_acc=trained.accuracy,
            test_loss=evaluation.loss, test_acc=evaluation.accuracy, seconds=seconds, **validation,
            **({"lr": rate} if history.lr or not history.epochs else {}),  # a run resumed from before lr was kept has none
        )  # fmt: skip
        history.add_stretches(trained.stretch_ends, trained.stretch_losses)
        history.test_predicted_counts.append(torch.bincount(evaluation.predictions, minlength=len(test.classes)).tolist())
        history.finished = epoch == epochs
        history.info["finished_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        if not _finite(model):
            raise DivergedError(epoch, "the weights (after the epoch's last updates)")
        if not math.isfinite(evaluation.loss):
            raise DivergedError(epoch, "the test loss")
        if saves:
            state = {"epoch": epoch, "model": model.state_dict(), "history": history.to_dict(), "rng": _rng_state()}
            if keep_optimizer_state or epoch < epochs:
                state["optimizer"] = optimizer.state_dict()
                if scheduler is not None:
                    state["scheduler"] = scheduler.state_dict()
            _save(state, checkpoint, epoch, _checkpoint_bytes(model))
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)
        if log:
            held = f"  val acc {validation['val_acc']:6.2%}" if validation else ""
            log(
                f"epoch {epoch:>2}/{epochs}  train loss {trained.loss:.4f} acc {trained.accuracy:6.2%}  "
                f"test loss {evaluation.loss:.4f} acc {evaluation.accuracy:6.2%}{held}  {seconds:6.1f} s"
            )
    history.finished = bool(history.epochs) and history.epochs[-1] >= epochs
    if evaluation is None:  # resumed a finished checkpoint: test its weights again
        evaluation = test_on(test, test_loader)
    return FitResult(history, evaluation)
