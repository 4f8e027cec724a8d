"""labkit: the package behind the VGG16 and ResNet50 CIFAR-10 labs.

Submodules load on first use (``labkit.lab``, ``labkit.data``, ``labkit.models``,
``labkit.train``, ...), so ``import labkit`` itself is instant and does nothing else.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "artefacts", "bench", "checkpoint", "cli", "compare", "data", "device", "distributed", "experiment_tables",
    "experiments", "files", "history", "lab", "loaders", "metrics", "models", "pages", "papers", "pipeline", "plots",
    "protocols", "provenance", "question_tables", "questions", "report", "results", "train", "verify",
)  # fmt: skip


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBMODULES])
