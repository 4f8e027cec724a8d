"""A compact layer table for a model, the way a student reads it: layer, output shape, weights."""

from __future__ import annotations

import torch
from torch import nn

from ..lab import IMAGE_SIZE


def _rows_of(model: nn.Module) -> list[tuple[str, nn.Module]]:
    # One row per top-level module, except that Sequential containers are
    # opened one level: VGG's trunk shows each conv, ResNet's stages each block.
    rows = []
    for name, child in model.named_children():
        if isinstance(child, nn.Sequential):
            rows.extend((f"{name}.{sub}", grandchild) for sub, grandchild in child.named_children())
        else:
            rows.append((name, child))
    return rows


def _shortcut_note(shortcut: nn.Module | None) -> str:
    if shortcut is None:
        return ", no shortcut"
    if isinstance(shortcut, nn.Identity):
        return ""
    return ", projection shortcut" if any(isinstance(m, nn.Conv2d) for m in shortcut.modules()) else ", zero-padded shortcut"


def _describe(module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d):
        k, s = module.kernel_size, module.stride
        return f"Conv2d {module.in_channels}->{module.out_channels}, {k[0]}x{k[1]}" + (f"/{s[0]}" if s[0] > 1 else "")
    if isinstance(module, nn.Linear):
        return f"Linear {module.in_features}->{module.out_features}"
    if isinstance(module, nn.BatchNorm2d):
        return f"BatchNorm2d {module.num_features}"
    if isinstance(module, nn.MaxPool2d):
        return f"MaxPool2d {module.kernel_size}x{module.kernel_size}/{module.stride}"
    if hasattr(module, "conv1") and hasattr(module, "shortcut"):
        stride = module.conv1.stride[0]
        out = max(m.out_channels for m in module.modules() if isinstance(m, nn.Conv2d))
        kind = type(module).__name__
        return f"{kind} {module.conv1.in_channels}->{out}" + (f", stride {stride}" if stride > 1 else "") + _shortcut_note(module.shortcut)
    return type(module).__name__


def summary(model: nn.Module, input_size: tuple[int, ...] = (1, 3, IMAGE_SIZE, IMAGE_SIZE)) -> str:
    """Text table of the model's layers with output shapes (from one forward pass) and parameter counts."""
    rows = _rows_of(model)
    shapes: dict[int, tuple[int, ...]] = {}
    hooks = [
        module.register_forward_hook(lambda m, i, o, key=id(module): shapes.__setitem__(key, tuple(o.shape[1:])))
        for _, module in rows
    ]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            parameter = next(model.parameters())
            model(torch.zeros(input_size, device=parameter.device, dtype=parameter.dtype))
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    table = [("layer", "type", "output shape", "parameters")]
    for name, module in rows:
        shape = shapes.get(id(module))
        count = sum(p.numel() for p in module.parameters())
        table.append((name, _describe(module), "x".join(map(str, shape)) if shape else "-", f"{count:,}"))
    total = sum(p.numel() for p in model.parameters())
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(w) if i < 3 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        for row in table
    ]
    lines.insert(1, "-" * len(lines[0]))
    lines.append("-" * len(lines[0]))
    lines.append(f"total parameters: {total:,}")
    return "\n".join(lines)
