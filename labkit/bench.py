"""How fast each training path runs, against the ceiling of the model step alone.

Four measurements per model, in one process on one device:

1. ``ceiling``: forward + backward + SGD step on random tensors already on the
   device -- no input pipeline can beat it;
2. ``fast``: labkit's fast path end to end (uint8 split on the device, crop,
   flip and normalisation per batch, then the step);
3. ``reference``: torchvision transforms on PIL images behind a DataLoader;
4. ``evaluate``: the test pass, no gradients.

Warm-up steps run first and are not timed (cuDNN autotuning, allocator growth,
torch.compile's compilation, which is timed on its own).
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path

import torch
from torch import nn

from .data import Split, make_loader
from .files import atomic_write_text
from .models import build
from .train import _autocast, device_name, device_settings, evaluate, make_optimizer


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    # ru_maxrss is in KiB on Linux and bytes on macOS: the process's peak resident set.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _prepare(model: nn.Module, device: torch.device, channels_last: bool) -> nn.Module:
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    return model.to(device=device, memory_format=memory_format).train()


def _step_function(model: nn.Module, device: torch.device, bf16: bool):
    optimizer = make_optimizer(model)

    def step(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        with _autocast(device, bf16):
            loss = nn.functional.cross_entropy(model(images).float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return step


def _timed(batches, step, device: torch.device, warmup: int, steps: int) -> tuple[float, int]:
    """Seconds and images for ``steps`` batches after ``warmup`` untimed ones."""
    iterator = iter(batches)
    for images, labels in islice(iterator, warmup):
        step(images.to(device, non_blocking=True), labels.to(device, non_blocking=True))
    _synchronize(device)
    start, images_seen = time.perf_counter(), 0
    for images, labels in islice(iterator, steps):
        step(images.to(device, non_blocking=True), labels.to(device, non_blocking=True))
        images_seen += len(labels)
    _synchronize(device)
    return time.perf_counter() - start, images_seen


def step_rate(
    model: nn.Module,
    device: torch.device,
    batch_size: int = 128,
    steps: int = 5,
    warmup: int = 1,
    bf16: bool = False,
    channels_last: bool = False,
) -> float:
    """Training images per second of the model step alone, on random tensors on the device."""
    model = _prepare(model, device, channels_last)
    step = _step_function(model, device, bf16)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    images = torch.randn(batch_size, 3, 32, 32, device=device).contiguous(memory_format=memory_format)
    labels = torch.randint(0, 3, (batch_size,), device=device)
    seconds, seen = _timed(((images, labels) for _ in range(warmup + steps)), step, device, warmup, steps)
    return seen / seconds


def training_flops_per_image(model_name: str, num_classes: int = 3) -> tuple[float, float]:
    """(forward, forward+backward) FLOPs per 32x32 image, counted by torch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build(model_name, num_classes).train()
    images = torch.randn(2, 3, 32, 32)
    with FlopCounterMode(display=False) as counter:
        model(images)
    forward = counter.get_total_flops() / 2
    with FlopCounterMode(display=False) as counter:
        model(images).sum().backward()
    return forward, counter.get_total_flops() / 2


@dataclass
class BenchResult:
    model: str
    device: str
    device_name: str
    batch_size: int
    steps: int
    warmup: int
    bf16: bool
    channels_last: bool
    compiled: bool
    eval_batch_size: int = 512
    workers: int = 2
    images_per_second: dict[str, float] = field(default_factory=dict)
    loader_ms_per_batch: dict[str, float] = field(default_factory=dict)
    rounds: int = 1
    round_images_per_second: dict[str, list[float]] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    forward_flops_per_image: float = 0.0
    train_flops_per_image: float = 0.0
    achieved_tflops: dict[str, float] = field(default_factory=dict)
    peak_memory_mb: float = 0.0
    compile_seconds: float | None = None
    torch: str = field(default_factory=lambda: str(torch.__version__))


def synthetic_split(count: int, num_classes: int = 3, seed: int = 0, name: str = "train") -> Split:
    """Random uint8 images: as fast to train on as real ones, and always available."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count, 3, 32, 32), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, num_classes, (count,), generator=generator)
    return Split(images, labels, tuple(f"class{i}" for i in range(num_classes)), name)


def benchmark_model(
    model_name: str,
    device: str | torch.device = "auto",
    batch_size: int = 128,
    steps: int = 12,
    warmup: int = 2,
    bf16: bool | None = None,
    channels_last: bool | None = None,
    compile_model: bool = False,
    rounds: int = 3,
    workers: int = 2,
    eval_batch_size: int = 512,
    train_split: Split | None = None,
    test_split: Split | None = None,
    log=print,
) -> BenchResult:
    """All four measurements for one model; see the module docstring."""
    device, bf16, channels_last = device_settings(device, bf16, channels_last)
    if rounds < 1 or steps < 1:
        raise ValueError(f"steps and rounds must be at least 1, got {steps} and {rounds}")
    needed = batch_size * (max(1, steps // rounds) + max(warmup, 1))
    train_split = train_split or synthetic_split(needed)
    test_split = test_split or synthetic_split(2 * eval_batch_size, seed=1, name="test")
    if len(train_split) < needed:
        raise ValueError(f"the training split has {len(train_split)} images; {needed} are needed for these steps")

    torch.manual_seed(0)
    model = _prepare(build(model_name), device, channels_last)
    compile_seconds = None
    if compile_model:
        model = torch.compile(model)
    result = BenchResult(model_name, str(device), device_name(device), batch_size, steps, warmup, bf16,
                         channels_last, compile_model, eval_batch_size, workers, rounds=rounds)  # fmt: skip
    _reset_peak(device)
    step = _step_function(model, device, bf16)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format

    if compile_model:
        images = torch.randn(batch_size, 3, 32, 32, device=device).contiguous(memory_format=memory_format)
        labels = torch.randint(0, 3, (batch_size,), device=device)
        start = time.perf_counter()
        step(images, labels)
        _synchronize(device)
        compile_seconds = time.perf_counter() - start
        result.compile_seconds = compile_seconds

    # 1-3. ceiling, fast path, reference path, measured in interleaved rounds:
    # a CPU's speed drifts by several percent over minutes, and round-robin
    # rounds let every path see the same drift; the median round is reported.
    images = torch.randn(batch_size, 3, 32, 32, device=device).contiguous(memory_format=memory_format)
    labels = torch.randint(0, 3, (batch_size,), device=device)
    fast = make_loader(train_split, batch_size, True, device, 0, "fast", channels_last)
    reference = make_loader(train_split, batch_size, True, device, 0, "reference", num_workers=workers)
    per_round = max(1, steps // rounds)
    samples: dict[str, list[float]] = {"ceiling": [], "fast": [], "reference": []}
    for round_index in range(rounds):
        round_warmup = warmup if round_index == 0 else 1
        fast.set_epoch(round_index)
        reference.set_epoch(round_index)
        sources = {
            "ceiling": ((images, labels) for _ in range(round_warmup + per_round)),
            "fast": fast,
            "reference": reference,
        }
        for name, batches in sources.items():
            seconds, seen = _timed(batches, step, device, round_warmup, per_round)
            samples[name].append(seen / seconds)
    for name, rates in samples.items():
        result.images_per_second[name] = statistics.median(rates)
        result.round_images_per_second[name] = rates
        label = f"{name} ({workers} DataLoader workers)" if name == "reference" else name
        log(f"  {model_name} {label}: {statistics.median(rates):,.1f} images/s (rounds: "
            + ", ".join(f"{rate:,.1f}" for rate in rates) + ")")

    # The input paths alone, no model: what each adds to a step (the stable way to see
    # overhead on a CPU, where run-to-run noise in the step is larger than the loader's cost).
    for name, loader in (("fast", fast), ("reference", reference)):
        start, batches = time.perf_counter(), 0
        for images, _ in islice(iter(loader), steps):
            images.to(device, non_blocking=True)
            batches += 1
        _synchronize(device)
        result.loader_ms_per_batch[name] = 1000 * (time.perf_counter() - start) / batches
    log(
        f"  {model_name} input path alone: fast {result.loader_ms_per_batch['fast']:.1f} ms, reference "
        f"{result.loader_ms_per_batch['reference']:.1f} ms per batch of {batch_size}"
    )

    # 4. evaluation
    loader = make_loader(test_split, eval_batch_size, False, device, 0, "fast", channels_last)
    evaluate(model, loader, device, bf16)  # warm-up (and cuDNN autotuning for the new batch size)
    _synchronize(device)
    start = time.perf_counter()
    evaluate(model, loader, device, bf16)
    _synchronize(device)
    result.images_per_second["evaluate"] = len(test_split) / (time.perf_counter() - start)
    log(f"  {model_name} evaluation: {result.images_per_second['evaluate']:,.1f} images/s")

    ips = result.images_per_second
    result.ratios = {"fast/reference": ips["fast"] / ips["reference"], "fast/ceiling": ips["fast"] / ips["ceiling"]}
    result.forward_flops_per_image, result.train_flops_per_image = training_flops_per_image(model_name)
    result.achieved_tflops = {
        name: ips[name] * (result.forward_flops_per_image if name == "evaluate" else result.train_flops_per_image) / 1e12
        for name in ips
    }
    result.peak_memory_mb = _peak_memory_mb(device)
    return result


def format_table(results: list[BenchResult]) -> str:
    """A Markdown table of the figures, one row per model and path."""
    lines = [
        "| model | device | path | images/s | TFLOP/s | vs ceiling | fast/reference |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for path in ("ceiling", "fast", "reference", "evaluate"):
            ips = r.images_per_second[path]
            ceiling = f"{ips / r.images_per_second['ceiling']:.1%}" if path in ("fast", "reference") else "—"
            ratio = f"{r.ratios['fast/reference']:.2f}x" if path == "fast" else "—"
            lines.append(
                f"| {r.model} | {r.device_name} | {path} | {ips:,.1f} | {r.achieved_tflops[path]:.3f} | "
                f"{ceiling} | {ratio} |"
            )
    return "\n".join(lines)


GPU_SECTION = """## GPU (one NVIDIA H200)

Targets: the whole VGG16 lab (20 epochs, each followed by the test pass) in at most 10 s of training
time, the ResNet50 lab (15 epochs) in at most 25 s, with bf16 test accuracy within 1 point of fp32 on
the same seed.

**Not measured**: no GPU was available to the session that wrote this file. `benchmarks/gpu_check.sh`
measures these rows in one device run (under 5 minutes); its header says how to prepare the data.
"""


def markdown_report(results: list[BenchResult], command: str) -> str:
    """report/benchmarks.md: how the figures were made, the table, and the GPU status."""
    first = results[0]
    details = "\n".join(
        f"- {r.model}: {r.forward_flops_per_image / 1e9:.3f} GFLOP per image forward, "
        f"{r.train_flops_per_image / 1e9:.3f} GFLOP per training image (forward + backward; "
        f"torch.utils.flop_counter); fast/ceiling {r.ratios['fast/ceiling']:.1%}, fast/reference "
        f"{r.ratios['fast/reference']:.2f}x; input path alone: fast {r.loader_ms_per_batch['fast']:.1f} ms, "
        f"reference {r.loader_ms_per_batch['reference']:.1f} ms per batch against a "
        f"{1000 * r.batch_size / r.images_per_second['ceiling']:,.0f} ms model step; peak memory {r.peak_memory_mb:,.0f} MiB"
        + (" (process RSS, cumulative over the run)" if r.device == "cpu" else " (max allocated)")
        for r in results
    )
    return f"""# Benchmarks

Produced by `{command}` on {first.device_name} (torch {first.torch}); batch {first.batch_size};
the three training paths are timed in {first.rounds} interleaved rounds of {max(1, first.steps // first.rounds)}
steps each (the median round is shown), after {first.warmup} warm-up steps in the first round and 1 in
later ones (excluded); bf16
{"on" if first.bf16 else "off"}, channels_last {"on" if first.channels_last else "off"}. Images are random
uint8 tensors, which train at the same speed as real ones. "ceiling" is the model step alone on
tensors already on the device; "fast" is labkit's default input path end to end; "reference" is
torchvision transforms on PIL images with a DataLoader; "evaluate" is the test pass (no gradients,
batch {first.eval_batch_size}); the reference path uses {first.workers} DataLoader workers.

## CPU

{format_table(results)}

{details}

{GPU_SECTION}"""


def run_benchmarks(
    models: list[str], json_path: str | Path | None = None, markdown_path: str | Path | None = None,
    command: str = "python -m labkit bench", **options,
) -> list[BenchResult]:  # fmt: skip
    results = []
    for name in models:
        result = benchmark_model(name, **options)
        results.append(result)
        print(
            f"{name}: {result.forward_flops_per_image / 1e9:.3f} GFLOP forward, "
            f"{result.train_flops_per_image / 1e9:.3f} GFLOP per training image; "
            f"fast/ceiling {result.ratios['fast/ceiling']:.1%}, fast/reference {result.ratios['fast/reference']:.2f}x; "
            f"peak memory {result.peak_memory_mb:,.0f} MiB"
            + (f"; compile {result.compile_seconds:.1f} s" if result.compile_seconds is not None else ""),
            flush=True,
        )
    print()
    print(format_table(results))
    if json_path:
        atomic_write_text(Path(json_path), json.dumps([asdict(r) for r in results], indent=2) + "\n")
    if markdown_path:
        atomic_write_text(Path(markdown_path), markdown_report(results, command))
    return results
