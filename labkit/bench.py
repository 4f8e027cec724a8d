"""How fast each training path runs, against the ceiling of the model step alone.

Four measurements per model, in one process on one device:

1. ``ceiling``: forward + backward + SGD step on random tensors already on the
   device -- no input pipeline can beat it;
2. ``fast``: labkit's fast path end to end (uint8 split on the device, crop,
   flip and normalisation per batch, then the step);
3. ``reference``: torchvision transforms on PIL images behind a DataLoader;
4. ``evaluate``: the test pass, no gradients.

Warm-up steps run first and are not timed (cuDNN autotuning, allocator growth,
torch.compile's compilation, which is timed on its own). The training paths take
turns, so that a machine whose speed drifts slows them all alike, and ratios
are medians of paired turns with a 95% interval: a shared CPU's step time
varies more from one step to the next than the input paths cost.
"""

from __future__ import annotations

import copy
import functools
import math
import resource
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from itertools import count, islice, repeat
from pathlib import Path

import torch
from torch import nn

from .data import Split
from .device import autocast, device_name, device_settings, memory_format, synchronize, tf32_note
from .files import atomic_write_text, json_text
from .lab import IMAGE_SIZE, LAB_CLASSES, RESNET50, VGG16
from .loaders import make_loader
from .models import build
from .train import evaluate, make_optimizer, train_step


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
    return model.to(device=device, memory_format=memory_format(channels_last)).train()


def _step_function(model: nn.Module, bf16: bool):
    """Training's own step (:func:`labkit.train.train_step`) on the lab's optimiser."""
    optimizer = make_optimizer(model)
    return lambda images, labels: train_step(model, optimizer, images, labels, bf16)


def _random_batch(batch_size: int, device: torch.device, channels_last: bool) -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.randn(batch_size, 3, IMAGE_SIZE, IMAGE_SIZE, device=device).contiguous(memory_format=memory_format(channels_last))
    return images, torch.randint(0, len(LAB_CLASSES), (batch_size,), device=device)


def _run_steps(batches: Iterator, step, device: torch.device, count: int) -> float:
    """Seconds for ``count`` steps drawn from ``batches``, input path included."""
    synchronize(device)
    start = time.perf_counter()
    for _ in range(count):
        images, labels = next(batches)
        step(images.to(device, non_blocking=True), labels.to(device, non_blocking=True))
    synchronize(device)
    return time.perf_counter() - start


def _endless(loader) -> Iterator:
    """A loader's batches, epoch after epoch, as a real training run draws them."""
    for epoch in count():
        loader.set_epoch(epoch)
        yield from loader


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """A distribution-free confidence interval for the median (binomial order statistics).

    CPU step times are skewed by interference, so no normal approximation; None
    when there are too few values for the confidence asked.
    """
    ordered, n = sorted(values), len(values)
    tail, below, k = (1 - confidence) / 2, 0.0, 0
    while k < n and below + math.comb(n, k) / 2**n <= tail:
        below += math.comb(n, k) / 2**n
        k += 1
    return (ordered[k - 1], ordered[n - k]) if k else None


def step_rate(
    model: nn.Module,
    device: torch.device,
    batch_size: int = VGG16.batch_size,
    steps: int = 5,
    warmup: int = 1,
    bf16: bool = False,
    channels_last: bool = False,
) -> float:
    """Training images per second of the model step alone, on random tensors on the device."""
    step = _step_function(_prepare(model, device, channels_last), bf16)
    batches = repeat(_random_batch(batch_size, device, channels_last))
    _run_steps(batches, step, device, warmup)
    return batch_size * steps / _run_steps(batches, step, device, steps)


def evaluation_rate(
    model: nn.Module, device: torch.device, batch_size: int = VGG16.batch_size, batches: int = 2,
    bf16: bool = False, channels_last: bool = False,
) -> float:  # fmt: skip
    """Test images per second of the forward pass alone (no gradients), after one untimed batch."""
    model = _prepare(model, device, channels_last).eval()
    batch = _random_batch(batch_size, device, channels_last)

    def forward(images, labels):
        with torch.no_grad(), autocast(device, bf16):
            model(images)

    _run_steps(repeat(batch), forward, device, 1)
    return batch_size * batches / _run_steps(repeat(batch), forward, device, batches)


@functools.lru_cache(maxsize=None)  # a property of the architecture: count it once a process
def training_flops_per_image(model_name: str, num_classes: int = len(LAB_CLASSES)) -> tuple[float, float]:
    """(forward, forward+backward) FLOPs per 32x32 image, counted by torch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build(model_name, num_classes).train()
    images = torch.randn(2, 3, IMAGE_SIZE, IMAGE_SIZE)
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
    eval_batch_size: int = VGG16.eval_batch_size
    workers: int = 0
    images_per_second: dict[str, float] = field(default_factory=dict)
    loader_ms_per_batch: dict[str, float] = field(default_factory=dict)
    rounds: int = 1
    round_images_per_second: dict[str, list[float]] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    ratio_intervals: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    forward_flops_per_image: float = 0.0
    train_flops_per_image: float = 0.0
    achieved_tflops: dict[str, float] = field(default_factory=dict)
    peak_memory_mb: float = 0.0
    compile_seconds: float | None = None
    torch: str = field(default_factory=lambda: str(torch.__version__))
    tf32: str | None = None  # labkit.device.tf32_note: what the fp32 work really ran in


def synthetic_split(count: int, num_classes: int = len(LAB_CLASSES), seed: int = 0, name: str = "train") -> Split:
    """Random uint8 images: as fast to train on as real ones, and always available."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count, 3, IMAGE_SIZE, IMAGE_SIZE), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, num_classes, (count,), generator=generator)
    return Split(images, labels, tuple(f"class{i}" for i in range(num_classes)), name)


def benchmark_model(
    model_name: str,
    device: str | torch.device = "auto",
    batch_size: int = VGG16.batch_size,
    steps: int = 12,
    warmup: int = 2,
    bf16: bool | None = None,
    channels_last: bool | None = None,
    compile_model: bool = False,
    rounds: int | None = None,
    workers: int | None = None,
    eval_batch_size: int = VGG16.eval_batch_size,
    train_split: Split | None = None,
    test_split: Split | None = None,
    compare_memory_format: bool = False,
    compare_precision: bool = False,
    log=print,
) -> BenchResult:
    """All four measurements for one model; see the module docstring.

    ``rounds`` defaults to ``steps`` on a CPU (one step of each path in turn) and
    to 3 on a GPU, whose speed does not drift and where a sync per step would
    cost time; ``workers`` (reference path) defaults to 0 on a CPU and 2 elsewhere.
    ``compare_memory_format`` adds a fourth turn: the ceiling in the other memory
    format (channels_last against contiguous), and ``compare_precision`` the ceiling
    in the other precision (bf16 against fp32): how the defaults were chosen.
    """
    device, bf16, channels_last = device_settings(device, bf16, channels_last)
    on_cpu = device.type == "cpu"
    rounds = (steps if on_cpu else min(3, steps)) if rounds is None else rounds
    workers = (0 if on_cpu else 2) if workers is None else workers
    if rounds < 1 or steps < rounds or warmup < 0 or workers < 0:
        raise ValueError(
            f"need 1 <= rounds <= steps, warmup >= 0 and workers >= 0; got rounds {rounds}, steps {steps}, "
            f"warmup {warmup}, workers {workers}"
        )
    per_round = steps // rounds
    train_split = train_split or synthetic_split(batch_size * (warmup + per_round + 1))
    test_split = test_split or synthetic_split(2 * eval_batch_size, seed=1, name="test")
    if len(train_split) < 2 * batch_size:
        raise ValueError(f"the training split has {len(train_split)} images, fewer than two batches of {batch_size}")

    torch.manual_seed(0)
    plain = build(model_name)
    # The ceiling again with one setting flipped: (turn name, channels_last, bf16, ratio, its top and bottom turns).
    variants = []
    if compare_memory_format:
        name = f"ceiling, {'contiguous' if channels_last else 'channels_last'}"
        top, bottom = ("ceiling", name) if channels_last else (name, "ceiling")
        variants.append((name, not channels_last, bf16, "channels_last/contiguous", top, bottom))
    if compare_precision:
        name = f"ceiling, {'fp32' if bf16 else 'bf16'}"
        top, bottom = ("ceiling", name) if bf16 else (name, "ceiling")
        variants.append((name, channels_last, not bf16, "bf16/fp32", top, bottom))
    copies = [copy.deepcopy(plain) for _ in variants]  # the same initial weights for every turn
    model = _prepare(plain, device, channels_last)
    if compile_model:
        model = torch.compile(model)
    result = BenchResult(model_name, str(device), device_name(device), batch_size, per_round * rounds, warmup, bf16,
                         channels_last, compile_model, eval_batch_size, workers, rounds=rounds,
                         tf32=tf32_note(device))  # fmt: skip
    _reset_peak(device)
    step = _step_function(model, bf16)
    images, labels = _random_batch(batch_size, device, channels_last)
    if compile_model:
        result.compile_seconds = _run_steps(repeat((images, labels)), step, device, 1)

    # 1-3. ceiling, fast path and reference path take turns, ``per_round`` steps
    # each: a shared CPU's speed drifts by tens of percent within a minute, and
    # turns let every path see the same drift. Each path keeps one iterator, as
    # in a real epoch. The exception is a reference DataLoader with workers:
    # they would keep loading while the other paths run (charging its input
    # work to them), so it starts afresh each round with one untimed batch.
    fast = make_loader(train_split, batch_size, True, device, 0, "fast", channels_last)
    reference = make_loader(train_split, batch_size, True, device, 0, "reference", num_workers=workers)
    sources = {"ceiling": repeat((images, labels)), "fast": _endless(fast), "reference": _endless(reference)}
    steps_of = dict.fromkeys(sources, step)
    for (name, variant_channels_last, variant_bf16, *_), other in zip(variants, copies):
        other_model = _prepare(other, device, variant_channels_last)
        sources[name] = repeat((images.contiguous(memory_format=memory_format(variant_channels_last)), labels))
        steps_of[name] = _step_function(torch.compile(other_model) if compile_model else other_model, variant_bf16)
    for name, batches in sources.items():
        _run_steps(batches, steps_of[name], device, warmup)
    samples: dict[str, list[float]] = {name: [] for name in sources}
    for _ in range(rounds):
        for name in sources:
            if name == "reference" and workers:
                # Restarted just before its own turn, so its workers never load during another path's turn.
                sources[name] = _endless(reference)
                _run_steps(sources[name], step, device, 1)
            samples[name].append(batch_size * per_round / _run_steps(sources[name], steps_of[name], device, per_round))
    sources.clear()  # stops the reference's workers
    for name, rates in samples.items():
        result.images_per_second[name] = statistics.median(rates)
        result.round_images_per_second[name] = rates
        log(f"  {model_name} {name}{f' ({workers} DataLoader workers)' if name == 'reference' and workers else ''}: "
            f"{statistics.median(rates):,.1f} images/s (median of {rounds} turns of {per_round} step(s), "
            f"after {warmup} untimed warm-up step(s))")  # fmt: skip
    pairs = [("fast/ceiling", "fast", "ceiling"), ("fast/reference", "fast", "reference")]
    pairs += [(ratio, top, bottom) for *_, ratio, top, bottom in variants]
    for ratio, top, bottom in pairs:
        paired = [a / b for a, b in zip(samples[top], samples[bottom])]
        result.ratios[ratio] = statistics.median(paired)
        result.ratio_intervals[ratio] = median_interval(paired)

    # The input paths alone, no model: what each adds to a step (the stable way to see
    # overhead on a CPU, where run-to-run noise in the step is larger than the loader's cost).
    # Within one epoch, after one untimed batch: a DataLoader starts its workers at
    # the first batch of every epoch, and that start-up is not per-batch input work.
    timed = min(steps, len(fast) - 1)
    for name, loader in (("fast", fast), ("reference", reference)):
        batches = iter(loader)
        next(batches)
        synchronize(device)
        start = time.perf_counter()
        for images, _ in islice(batches, timed):
            images.to(device, non_blocking=True)
        synchronize(device)
        result.loader_ms_per_batch[name] = 1000 * (time.perf_counter() - start) / timed
    log(
        f"  {model_name} input path alone: fast {result.loader_ms_per_batch['fast']:.1f} ms, reference "
        f"{result.loader_ms_per_batch['reference']:.1f} ms per batch of {batch_size}"
    )

    # 4. evaluation
    loader = make_loader(test_split, eval_batch_size, False, device, 0, "fast", channels_last)
    evaluate(model, loader, device, bf16)  # warm-up (and cuDNN autotuning for the new batch size)
    synchronize(device)
    start = time.perf_counter()
    evaluate(model, loader, device, bf16)
    synchronize(device)
    result.images_per_second["evaluate"] = len(test_split) / (time.perf_counter() - start)
    log(f"  {model_name} evaluation: {result.images_per_second['evaluate']:,.1f} images/s")

    ips = result.images_per_second
    result.forward_flops_per_image, result.train_flops_per_image = training_flops_per_image(model_name)
    result.achieved_tflops = {
        name: ips[name] * (result.forward_flops_per_image if name == "evaluate" else result.train_flops_per_image) / 1e12
        for name in ips
    }
    result.peak_memory_mb = _peak_memory_mb(device)
    return result


def _ratio_text(result: BenchResult, ratio: str, percent: bool) -> str:
    def show(value: float) -> str:
        return f"{value:.1%}" if percent else f"{value:.2f}x"

    interval = result.ratio_intervals.get(ratio)
    spread = f" ({show(interval[0])} to {show(interval[1])})" if interval else ""
    return show(result.ratios[ratio]) + spread


def additive_ratios(result: BenchResult) -> dict[str, float]:
    """The two ratios predicted from the input paths timed alone plus the ceiling's step.

    Valid on a CPU, where input work and the step run one after the other on the
    same cores; far more precise there than the end-to-end turns, which carry
    the machine's own drift. Empty elsewhere (a GPU overlaps the two).
    """
    if result.device != "cpu" or result.workers:
        return {}
    step_ms = 1000 * result.batch_size / result.images_per_second["ceiling"]
    fast_ms = step_ms + result.loader_ms_per_batch["fast"]
    reference_ms = step_ms + result.loader_ms_per_batch["reference"]
    return {"fast/ceiling": step_ms / fast_ms, "fast/reference": reference_ms / fast_ms}


_VARIANT_RATIOS = ("channels_last/contiguous", "bf16/fp32")


def format_table(results: list[BenchResult]) -> str:
    """Markdown tables: speed per model and path, then the paired ratios with their 95% intervals."""
    lines = ["| model | device | path | images/s | TFLOP/s |", "|---|---|---|---|---|"]
    for r in results:
        for path, ips in r.images_per_second.items():
            lines.append(f"| {r.model} | {r.device_name} | {path} | {ips:,.1f} | {r.achieved_tflops[path]:.3f} |")
    compared = [ratio for ratio in _VARIANT_RATIOS if any(ratio in r.ratios for r in results)]
    additive = all(additive_ratios(r) for r in results)
    lines += [
        "",
        "| model | fast/ceiling (target >= 95%) | fast/reference (target >= 1.00x) |"
        + (" fast/ceiling, additive | fast/reference, additive |" if additive else "")
        + "".join(f" {ratio} ceiling |" for ratio in compared),
        "|---|---|---|" + ("---|---|" if additive else "") + "---|" * len(compared),
    ]
    for r in results:
        row = f"| {r.model} | {_ratio_text(r, 'fast/ceiling', True)} | {_ratio_text(r, 'fast/reference', False)} |"
        if additive:
            predicted = additive_ratios(r)
            row += f" {predicted['fast/ceiling']:.2%} | {predicted['fast/reference']:.3f}x |"
        row += "".join(f" {_ratio_text(r, ratio, False) if ratio in r.ratios else '—'} |" for ratio in compared)
        lines.append(row)
    return "\n".join(lines)


GPU_SECTION = f"""## GPU (one NVIDIA H200)

Targets: the whole VGG16 lab ({VGG16.epochs} epochs, each followed by the test pass) in at most 10 s of training
time, the ResNet50 lab ({RESNET50.epochs} epochs) in at most 25 s, with bf16 test accuracy within 1 point of fp32 on
the same seed.

**Not measured yet**: these rows come from a run of `benchmarks/gpu_check.sh` on a GPU (one command,
under 5 minutes on an H200); its header says how to prepare the data.
"""


def markdown_report(results: list[BenchResult], command: str) -> str:
    """report/benchmarks.md: how the figures were made, the tables, and the GPU status."""
    first = results[0]
    per_round = first.steps // first.rounds
    details = "\n".join(
        f"- {r.model}: {r.forward_flops_per_image / 1e9:.3f} GFLOP per image forward, "
        f"{r.train_flops_per_image / 1e9:.3f} GFLOP per training image (forward + backward; "
        f"torch.utils.flop_counter); input path alone: fast {r.loader_ms_per_batch['fast']:.1f} ms, "
        f"reference {r.loader_ms_per_batch['reference']:.1f} ms per batch against a "
        f"{1000 * r.batch_size / r.images_per_second['ceiling']:,.0f} ms model step; turns (images/s) ceiling "
        + ", ".join(f"{v:.1f}" for v in r.round_images_per_second["ceiling"])
        + "; fast "
        + ", ".join(f"{v:.1f}" for v in r.round_images_per_second["fast"])
        + f"; peak memory {r.peak_memory_mb:,.0f} MiB"
        + (" (process RSS, cumulative over the run)" if r.device == "cpu" else " (max allocated)")
        for r in results
    )
    section = "CPU" if first.device == "cpu" else first.device_name
    additive_note = ""
    if all(additive_ratios(r) for r in results):
        additive_note = """ The "additive" ratios add each input path's time per batch,
measured alone, to the ceiling's step time: on a CPU the input work and the step run one after the
other on the same cores, so this predicts the end-to-end ratios without the drift of the machine."""
    cpu_note = ""
    if first.device == "cpu":
        spread = ", ".join(
            f"{r.model} {min(r.round_images_per_second['ceiling']):.1f} to {max(r.round_images_per_second['ceiling']):.1f}"
            for r in results
        )
        cpu_note = f"""Why turns on a CPU: the same step on the same tensors ran at {spread} images/s across
this run's ceiling turns, so paths timed in separate blocks would compare moments, not paths. Why no
DataLoader workers there: with as many compute threads as cores, workers only move the same decoding
onto the same cores, and between turns they would prefetch while the other paths run, charging the
reference's input work to those paths.

"""
    if any("bf16/fp32" in r.ratios for r in results):
        additive_note += """ "bf16/fp32" is the ceiling under bf16 autocast over the
ceiling in fp32, the two timed as turns of the same rounds on models with the same initial weights:
how much native bf16 speeds up the model step on this device."""
    reference = f"{first.workers} DataLoader workers" if first.workers else "no workers: see below"
    return f"""# Benchmarks

Produced by `{command}` on {first.device_name} (torch {first.torch}); batch {first.batch_size}; bf16
{"on" if first.bf16 else "off"}, channels_last {"on" if first.channels_last else "off"} (the defaults on
this device, unless the command says otherwise){f"; fp32 work with {first.tf32}" if first.tf32 else ""}.

How: the training paths take turns, {per_round} step{"s" if per_round > 1 else ""} each, {first.rounds} turns per
path, after {first.warmup} untimed warm-up step{"s" if first.warmup != 1 else ""} per path. Each path keeps its own iterator, as in an
epoch. "ceiling" is the model step alone on a random batch already on the device; "fast" is labkit's
default input path end to end (uint8 split on the device, crop, flip and normalisation per batch);
"reference" is torchvision transforms on PIL images behind a DataLoader ({reference}); "evaluate"
is the test pass (no gradients, batch {first.eval_batch_size}). Images are random uint8 tensors, which
train at the same speed as real ones. Speeds are the median turn; each ratio is the median of the
per-turn ratios of two paths measured back to back, with a distribution-free 95% interval for that
median (order statistics) in brackets.{additive_note}

## {section}

{format_table(results)}

{details}

{cpu_note}{GPU_SECTION}"""


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
            f"fast/ceiling {_ratio_text(result, 'fast/ceiling', True)}, "
            f"fast/reference {_ratio_text(result, 'fast/reference', False)}; "
            f"peak memory {result.peak_memory_mb:,.0f} MiB"
            + (f"; compile {result.compile_seconds:.1f} s" if result.compile_seconds is not None else ""),
            flush=True,
        )
    print()
    print(format_table(results))
    if json_path:
        atomic_write_text(Path(json_path), json_text([asdict(r) for r in results]))
    if markdown_path:
        atomic_write_text(Path(markdown_path), markdown_report(results, command))
    return results
