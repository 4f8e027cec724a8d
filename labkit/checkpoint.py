"""Checkpoints that survive a kill mid-write and cannot run code when opened."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch

from .files import atomic_write

FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message says why and what to do."""


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> None:
    """Write ``state`` beside ``path`` and rename it into place.

    A kill at any moment leaves either the previous checkpoint or the new one,
    never a truncated file under the real name.
    """
    atomic_write(path, lambda handle: torch.save({"format": FORMAT_VERSION, **state}, handle))


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load tensors and plain data only (``weights_only=True``): never arbitrary objects."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; check the path, or start without resuming")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"checkpoint {path} holds objects other than tensors and plain data, so it was not loaded "
            "(loading it could run code). Only resume from checkpoints written by labkit."
        ) from error
    except (RuntimeError, EOFError, OSError) as error:
        raise CheckpointError(
            f"checkpoint {path} is damaged or truncated ({error}); delete it and start the run again"
        ) from error
    if not isinstance(state, dict) or state.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"{path} is not a labkit checkpoint (format {FORMAT_VERSION})")
    return state
