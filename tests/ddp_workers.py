"""What each of two gloo processes does in tests/test_distributed.py (spawned, so importable by name)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import distributed as dist

from labkit import distributed, models, train
from labkit.data import Split
from labkit.lab import Recipe
from labkit.loaders import make_loader


def join(rank: int, size: int, port: int) -> distributed.World:
    """Set the variables torchrun would set, so the code under test reads them as it does under torchrun."""
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(size), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))  # fmt: skip
    torch.set_num_threads(1)
    return distributed.launch_world()


def labelled_split(count: int) -> Split:
    # Labels 0..count-1 name each image, so a loader's labels say which images a rank drew.
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (count, 3, 32, 32), dtype=torch.uint8, generator=generator)
    return Split(images, torch.arange(count), tuple(f"c{i}" for i in range(count)), "train")


def random_split(count: int, seed: int, name: str) -> Split:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count, 3, 32, 32), dtype=torch.uint8, generator=generator)
    return Split(images, torch.arange(count) % 3, ("a", "b", "c"), name)


def shards(rank: int, size: int, port: int, out: str, count: int) -> None:
    world = join(rank, size, port)
    with distributed.process_group(world, torch.device("cpu")):
        loader = make_loader(labelled_split(count), 4, True, "cpu", seed=3, world=world)
        drawn = {}
        for epoch in (1, 2):
            loader.set_epoch(epoch)
            drawn[epoch] = [int(label) for _, labels in loader for label in labels]
        everyone = [None] * size
        dist.all_gather_object(everyone, {"drawn": drawn, "steps": len(loader)})
        if world.is_main:
            Path(out).write_text(json.dumps(everyone))


def tiny_recipe(**settings) -> Recipe:
    return Recipe(**{"model": "vgg11", "batch_size": 8, "epochs": 2, "bf16": False, "eval_batch_size": 5, **settings})


class Stopped(Exception):
    pass


def fit(rank: int, size: int, port: int, out: str, stop_after: int | None, resume: bool) -> None:
    world = join(rank, size, port)
    with distributed.process_group(world, torch.device("cpu")):
        torch.manual_seed(rank)  # different initial weights per rank: DDP must start all from rank 0's
        model = models.vgg11(num_classes=3, hidden=32)
        training, test = random_split(28, 0, "train"), random_split(11, 1, "test")

        def stop(epoch, history):
            if epoch == stop_after:
                raise Stopped

        try:
            result = train.fit(model, training, test, tiny_recipe(), device="cpu", checkpoint=Path(out) / "checkpoint.pt",
                               resume=resume, progress=False, log=None, on_epoch_end=stop)  # fmt: skip
        except Stopped:
            return
        weights = torch.cat([t.detach().flatten().double() for t in model.state_dict().values()])
        everyone = [None] * size
        dist.all_gather_object(everyone, weights.tolist())
        alone = train.evaluate(model, make_loader(test, 5, False, "cpu"), "cpu")  # one process, the same weights
        if world.is_main:
            record = {
                "same_weights": all(w == everyone[0] for w in everyone),
                "history": result.history.to_dict(),
                "sharded": [result.evaluation.accuracy, result.evaluation.loss, result.evaluation.predictions.tolist()],
                "alone": [alone.accuracy, alone.loss, alone.predictions.tolist()],
                "files": sorted(p.name for p in Path(out).iterdir()),
            }
            (Path(out) / f"result-{'resumed' if resume else 'whole'}.json").write_text(json.dumps(record))
