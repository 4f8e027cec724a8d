"""The lab's training recipe: ``train_one_epoch``, ``evaluate`` and ``fit``.

Loss and correct counts are accumulated on the device and read once per epoch,
so a GPU is never made to wait for Python between steps.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import torch
from torch import Tensor, nn

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import Split, make_loader
from .history import History
from .models import count_parameters

# The lab's recipe (DEVELOPERS.md): SGD with momentum, weight decay, no schedule.
LR = 0.01
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
BATCH_SIZE = 128
EVAL_BATCH_SIZE = 512
# Epochs of the reference lab; other models default to VGG16's count.
LAB_EPOCHS = {"vgg16": 20, "resnet50": 15}


def lab_epochs(model_name: str) -> int:
    return LAB_EPOCHS.get(model_name.lower(), LAB_EPOCHS["vgg16"])


class NonFiniteLossError(FloatingPointError):
    """Training diverged; carries the epoch and step where the loss stopped being finite."""

    def __init__(self, epoch: int, step: int) -> None:
        super().__init__(
            f"the training loss became NaN or infinite at epoch {epoch}, step {step}; "
            "training stopped. Lower the learning rate or check the inputs; "
            "the last checkpoint (if any) still holds the previous epoch"
        )
        self.epoch = epoch
        self.step = step


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA, then Apple's MPS, then the CPU; an unavailable choice is an error."""
    if isinstance(device, torch.device):
        device = str(device)
    name = device.lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        chosen = torch.device(name)
    except RuntimeError as error:
        raise ValueError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps") from error
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for, but this machine has no usable CUDA GPU; use --device cpu or auto")
    if chosen.type == "cuda" and chosen.index is not None and chosen.index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r} does not exist; this machine has {torch.cuda.device_count()} CUDA device(s)")
    if chosen.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {device!r} was asked for, but MPS is not available here; use --device cpu or auto")
    if chosen.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unsupported device {device!r}; use auto, cpu, cuda or mps")
    return chosen


def device_settings(
    device: str | torch.device, bf16: bool | None = None, channels_last: bool | None = None
) -> tuple[torch.device, bool, bool]:
    """Resolve the device and the speed settings that default to it.

    bf16 autocast defaults to on for CUDA only (CPUs without bf16 units run it
    slower). channels_last defaults to on for CUDA and for CPUs, where oneDNN's
    convolutions run faster in it (``labkit bench --compare-memory-format`` measures
    it: see report/benchmarks.md). Also turns on cuDNN's autotuner on CUDA
    (input shapes are fixed, so it pays off).
    """
    device = resolve_device(device)
    on_cuda = device.type == "cuda"
    if on_cuda:
        torch.backends.cudnn.benchmark = True
    if channels_last is None:
        channels_last = device.type in ("cuda", "cpu")
    return device, on_cuda if bf16 is None else bf16, channels_last


def device_name(device: torch.device) -> str:
    """A human-readable name for reports: the GPU model, or the CPU model and thread count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple MPS ({platform.machine()})"
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"CPU: {model}, {torch.get_num_threads()} threads"


def seed_everything(seed: int) -> None:
    """Seed every generator a run draws from (model init, dropout, reference transforms)."""
    torch.manual_seed(seed)


def make_optimizer(
    model: nn.Module, lr: float = LR, momentum: float = MOMENTUM, weight_decay: float = WEIGHT_DECAY
) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)


def _autocast(device: torch.device, bf16: bool):
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16)


def _progress(iterable: Iterable, total: int, description: str, enabled: bool):
    from tqdm.auto import tqdm

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


def train_one_epoch(
    model: nn.Module,
    loader,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    epoch: int = 1,
    bf16: bool = False,
    progress: bool = False,
    criterion: Callable[[Tensor, Tensor], Tensor] | None = None,
) -> tuple[float, float]:
    """One pass over ``loader``; returns mean loss and accuracy over the epoch's samples."""
    criterion = criterion or nn.functional.cross_entropy
    model.train()
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    correct = torch.zeros((), device=device, dtype=torch.int64)
    first_bad_step = torch.full((), -1, device=device, dtype=torch.int64)
    check_now = device.type == "cpu"  # reading a CPU scalar costs nothing; on a GPU it stalls
    seen = 0
    for step, (images, labels) in enumerate(_progress(loader, len(loader), f"epoch {epoch} train", progress), 1):
        images = images.to(device, non_blocking=True)
        labels = labels.to(device, non_blocking=True)
        with _autocast(device, bf16):
            logits = model(images)
            loss = criterion(logits.float(), labels)
        bad = ~torch.isfinite(loss.detach())
        if check_now:
            if bad.item():
                raise NonFiniteLossError(epoch, step)
        else:
            first_bad_step = torch.where(bad & (first_bad_step < 0), step, first_bad_step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach() * len(labels)
        correct += (logits.detach().argmax(1) == labels).sum()
        seen += len(labels)
    if seen == 0:
        raise ValueError("the training loader yielded no batches; the training split is empty")
    bad_step = int(first_bad_step)
    if bad_step >= 0:
        raise NonFiniteLossError(epoch, bad_step)
    return float(loss_sum) / seen, int(correct) / seen


@dataclass
class Evaluation:
    """Loss and accuracy on a split, with every prediction for plots."""

    loss: float
    accuracy: float
    predictions: Tensor
    targets: Tensor


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
    model.eval()
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    predictions, targets = [], []
    for images, labels in _progress(loader, len(loader), "evaluate", progress):
        images = images.to(device, non_blocking=True)
        labels = labels.to(device, non_blocking=True)
        with _autocast(device, bf16):
            logits = model(images).float()
        loss_sum += nn.functional.cross_entropy(logits, labels, reduction="sum")
        predictions.append(logits.argmax(1))
        targets.append(labels)
    if not targets:
        raise ValueError("the evaluation loader yielded no batches; the split is empty")
    predicted = torch.cat(predictions).cpu()
    target = torch.cat(targets).cpu()
    count = len(target)
    return Evaluation(float(loss_sum) / count, float((predicted == target).sum()) / count, predicted, target)


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{name.replace('_', ' ')} must be greater than zero, got {value}")


def _resume(
    path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, info: dict[str, Any], device: torch.device
) -> tuple[History, int]:
    state = load_checkpoint(path, map_location=device)
    saved = state.get("history", {}).get("info", {})
    for key in ("model", "classes"):
        if key in info and key in saved and list(_listify(saved[key])) != list(_listify(info[key])):
            raise CheckpointError(
                f"checkpoint {path} belongs to a run with {key} {saved[key]!r}, not {info[key]!r}; "
                "resume with the same settings, or choose another output folder"
            )
    missing = [key for key in ("epoch", "model", "optimizer", "history", "rng") if key not in state]
    if missing:
        raise CheckpointError(
            f"checkpoint {path} lacks {', '.join(missing)}: it was not written by labkit's training loop; "
            "start the run without --resume"
        )
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (KeyError, RuntimeError, ValueError) as error:
        raise CheckpointError(f"checkpoint {path} does not fit this model: {error}") from error
    _set_rng_state(state["rng"])
    return History.from_dict(state["history"]), int(state["epoch"])


def _listify(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def fit(
    model: nn.Module,
    train: Split,
    test: Split,
    epochs: int,
    batch_size: int = BATCH_SIZE,
    lr: float = LR,
    momentum: float = MOMENTUM,
    weight_decay: float = WEIGHT_DECAY,
    device: str | torch.device = "auto",
    seed: int = 0,
    input_path: str = "fast",
    num_workers: int = 0,
    channels_last: bool | None = None,
    bf16: bool | None = None,
    compile_model: bool = False,
    eval_batch_size: int = EVAL_BATCH_SIZE,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    info: dict[str, Any] | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = print,
    on_epoch_end: Callable[[int, History], None] | None = None,
) -> History:
    """Train ``model`` on the lab recipe, test after every epoch, and return the history.

    ``bf16`` defaults to on for CUDA, ``channels_last`` to on for CUDA and CPUs
    (see :func:`device_settings`).
    With ``checkpoint`` set, the run is saved after every epoch; ``resume``
    continues from that file, so a killed run loses at most one epoch.
    ``on_epoch_end(epoch, history)`` is called after each epoch's checkpoint.
    ``compile_model`` runs the steps through ``torch.compile``; the first
    epoch's time then includes the compilation.
    """
    _check_positive(epochs=epochs, batch_size=batch_size, eval_batch_size=eval_batch_size, learning_rate=lr)
    if momentum < 0 or weight_decay < 0:
        raise ValueError(f"momentum and weight decay must not be negative, got {momentum} and {weight_decay}")
    device, bf16, channels_last = device_settings(device, bf16, channels_last)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model.to(device=device, memory_format=memory_format)
    optimizer = make_optimizer(model, lr, momentum, weight_decay)

    run_info = {
        "classes": list(train.classes),
        "train_images": len(train),
        "test_images": len(test),
        "parameters": count_parameters(model),
        "device": str(device),
        "device_name": device_name(device),
        "torch": str(torch.__version__),
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "momentum": momentum,
        "weight_decay": weight_decay,
        "seed": seed,
        "input_path": input_path,
        "channels_last": channels_last,
        "bf16": bf16,
        "compiled": compile_model,
        **(info or {}),
    }
    history, done = History(info=run_info), 0
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    if resume:
        if checkpoint is None:
            raise ValueError("resume=True needs the checkpoint path to resume from")
        history, done = _resume(checkpoint, model, optimizer, run_info, device)
        history.info.update({key: run_info[key] for key in ("device", "device_name", "torch", "epochs")})
        if log and done:
            log(f"resumed from {checkpoint} after epoch {done}")

    train_loader = make_loader(train, batch_size, True, device, seed, input_path, channels_last, num_workers)
    test_loader = make_loader(test, eval_batch_size, False, device, seed, input_path, channels_last, num_workers)
    # The compiled wrapper runs the steps; checkpoints hold the plain model's weights.
    runner = torch.compile(model) if compile_model else model
    result = None
    for epoch in range(done + 1, epochs + 1):
        start = time.perf_counter()
        train_loader.set_epoch(epoch)
        train_loss, train_acc = train_one_epoch(runner, train_loader, optimizer, device, epoch, bf16, progress)
        result = evaluate(runner, test_loader, device, bf16)
        seconds = time.perf_counter() - start
        history.append(
            epoch, train_loss=train_loss, train_acc=train_acc,
            test_loss=result.loss, test_acc=result.accuracy, seconds=seconds,
        )  # fmt: skip
        history.finished = epoch == epochs
        history.info["finished_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        if checkpoint is not None:
            save_checkpoint(
                {
                    "epoch": epoch,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "history": history.to_dict(),
                    "rng": _rng_state(),
                },
                checkpoint,
            )
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)
        if log:
            log(
                f"epoch {epoch:>2}/{epochs}  train loss {train_loss:.4f} acc {train_acc:6.2%}  "
                f"test loss {result.loss:.4f} acc {result.accuracy:6.2%}  {seconds:6.1f} s"
            )
    history.finished = bool(history.epochs) and history.epochs[-1] >= epochs
    history.last_evaluation = result if result is not None else evaluate(runner, test_loader, device, bf16)
    return history
