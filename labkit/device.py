"""Where a run executes: choosing the device, its speed defaults, and naming it in reports."""

from __future__ import annotations

import contextlib
import platform
from pathlib import Path

import torch


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


def cpu_has_native_bf16() -> bool:
    """True on CPUs that execute bf16 in hardware (AVX512-BF16 or AMX), where bf16 autocast pays off.

    Not ``torch.backends.cpu.get_cpu_capability()`` or oneDNN's own check: both
    say yes on AVX512 CPUs that only emulate bf16, where it runs slower than fp32.
    """
    checks = (getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
    return any(check() for check in checks if check is not None)


def device_settings(
    device: str | torch.device, bf16: bool | None = None, channels_last: bool | None = None
) -> tuple[torch.device, bool, bool]:
    """Resolve the device and the speed settings that default to it.

    bf16 autocast defaults to on for CUDA and for CPUs with native bf16
    (:func:`cpu_has_native_bf16`; elsewhere a CPU emulates it, slower than fp32).
    channels_last defaults to on for CUDA and for CPUs, where oneDNN's
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
    if bf16 is None:
        bf16 = on_cuda or (device.type == "cpu" and cpu_has_native_bf16())
    return device, bf16, channels_last


def tf32_note(device: torch.device) -> str | None:
    """Which fp32 work runs as TF32 here: "fp32" on a recent GPU is not full fp32 unless both are off.

    PyTorch's defaults: cuDNN convolutions in TF32, matrix products in fp32. None off CUDA.
    """
    if device.type != "cuda":
        return None
    kinds = [kind for kind, on in (("convolutions", torch.backends.cudnn.allow_tf32),
                                   ("matmuls", torch.backends.cuda.matmul.allow_tf32)) if on]  # fmt: skip
    return f"TF32 {' and '.join(kinds)}" if kinds else "no TF32"


def memory_format(channels_last: bool) -> torch.memory_format:
    return torch.channels_last if channels_last else torch.contiguous_format


def autocast(device: torch.device, bf16: bool):
    """bf16 autocast on ``device`` when asked for; a no-op context otherwise."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16)


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so a timer stops when the work is done, not when it was queued."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


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
