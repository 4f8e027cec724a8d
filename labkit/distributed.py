"""Training on several processes with DistributedDataParallel, launched by torchrun.

torchrun starts one process per device and tells each, in its environment, who
it is (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``) and where to meet the others
(``MASTER_ADDR``, ``MASTER_PORT``); on several nodes its rendezvous sets the
same variables. labkit reads them, joins the process group (NCCL on CUDA, gloo
on CPU), gives each rank a disjoint shard of every epoch and all-reduces the
gradients. A process started without them is a world of one, and runs exactly
as a plain process always has.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor
from torch import distributed as dist

# What torchrun sets in every process it starts.
LAUNCH_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
LAUNCH_EXAMPLE = "torchrun --nproc_per_node=2 -m labkit train --model vgg16 --out runs/vgg16-ddp"


class LaunchError(ValueError):
    """The environment describes a distributed launch that cannot work; the message says how to fix it."""


@dataclass(frozen=True)
class World:
    """This process's place among the processes of one run."""

    rank: int = 0
    local_rank: int = 0  # the rank on this node: which of the node's GPUs is this process's
    size: int = 1

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes files and prints."""
        return self.rank == 0


SINGLE = World()


def _whole(environ: Mapping[str, str], name: str) -> int:
    try:
        return int(environ[name])
    except ValueError:
        raise LaunchError(f"{name}={environ[name]!r} is not a whole number; start labkit with {LAUNCH_EXAMPLE}") from None


def launch_world(environ: Mapping[str, str] | None = None) -> World:
    """The world that torchrun described in the environment, or a world of one when nothing was launched."""
    environ = os.environ if environ is None else environ
    present = [name for name in LAUNCH_VARIABLES if name in environ]
    if not present:
        return SINGLE
    missing = [name for name in LAUNCH_VARIABLES if name not in environ]
    if missing:
        raise LaunchError(
            f"the launch environment is incomplete: {', '.join(present)} set but {', '.join(missing)} not. "
            f"Start labkit with torchrun, which sets all five ({LAUNCH_EXAMPLE}), or unset "
            f"{', '.join(present)} to train in one process"
        )
    rank, local_rank, size = (_whole(environ, name) for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE"))
    if size < 1 or not 0 <= rank < size or not 0 <= local_rank <= rank:
        raise LaunchError(
            f"RANK={rank}, LOCAL_RANK={local_rank}, WORLD_SIZE={size} do not describe a world (ranks run from 0 to "
            f"WORLD_SIZE - 1); start labkit with {LAUNCH_EXAMPLE}"
        )
    return World(rank, local_rank, size)


def current() -> World:
    """The world of the process group this process has joined; a world of one when it has joined none."""
    if not (dist.is_available() and dist.is_initialized()):
        return SINGLE
    return World(dist.get_rank(), int(os.environ.get("LOCAL_RANK", 0)), dist.get_world_size())


def rank_device(world: World, device: torch.device) -> torch.device:
    """Each rank's own device: the CUDA GPU numbered by its local rank, or the CPU."""
    if world.size == 1:
        return device
    if device.type == "cuda":
        count = torch.cuda.device_count()
        if world.local_rank >= count:
            raise LaunchError(
                f"local rank {world.local_rank} has no GPU: this node has {count}; "
                f"start at most {count} processes per node (--nproc_per_node={count})"
            )
        return torch.device("cuda", world.local_rank)
    if device.type == "cpu":
        return device
    raise LaunchError(f"distributed training runs on CUDA GPUs (NCCL) or on CPUs (gloo), not on {device.type}; pass --device cpu")


def check_sync_bn(sync_bn: bool, device: torch.device) -> None:
    """Refuse SyncBatchNorm off CUDA: PyTorch synchronises BatchNorm statistics on GPUs only."""
    if sync_bn and device.type != "cuda":
        raise ValueError(
            f"--sync-bn needs CUDA GPUs (PyTorch's SyncBatchNorm synchronises on GPUs only), and this run is on "
            f"{device.type}; drop --sync-bn"
        )


def backend(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


@contextlib.contextmanager
def process_group(world: World, device: torch.device) -> Iterator[None]:
    """Join torchrun's process group for the block (nothing to join in a world of one), and leave it afterwards."""
    if world.size == 1 or dist.is_initialized():
        yield
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    # init_method env:// reads MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE, as torchrun set them.
    dist.init_process_group(backend(device), rank=world.rank, world_size=world.size)
    try:
        yield
        dist.barrier()  # no rank leaves while another still talks to it (gloo aborts on that)
    finally:
        dist.destroy_process_group()


def rank_batch_size(batch_size: int, world: World) -> int:
    """Each rank's share of the global batch, which stays the recipe's at any world size."""
    if batch_size % world.size:
        raise ValueError(
            f"the batch size {batch_size} does not split evenly across {world.size} processes; "
            f"choose a --batch-size that {world.size} divides (the recipe's global batch is split, not multiplied)"
        )
    return batch_size // world.size


def shard(order: Tensor, world: World) -> Tensor:
    """This rank's share of an epoch's order: every ``size``-th index, from its rank.

    As torch's DistributedSampler does, the order is first padded with its own start
    to a multiple of the world size, so every rank takes the same number of steps.
    """
    if world.size == 1:
        return order
    total = math.ceil(len(order) / world.size) * world.size
    padded = torch.cat([order, order[: total - len(order)]]) if total > len(order) else order
    return padded[world.rank :: world.size]


def span(count: int, world: World) -> tuple[int, int]:
    """This rank's contiguous slice of a split of ``count`` items for evaluation (no padding: no image counts twice)."""
    start = count * world.rank // world.size
    return start, count * (world.rank + 1) // world.size


def _several() -> bool:
    """Whether this process is one of several in a process group: the collectives below are no-ops otherwise."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def all_sum(tensor: Tensor) -> Tensor:
    """``tensor`` summed over every rank, in place (itself in a world of one)."""
    if _several():
        dist.all_reduce(tensor)
    return tensor


def all_min(tensor: Tensor) -> Tensor:
    if _several():
        dist.all_reduce(tensor, op=dist.ReduceOp.MIN)
    return tensor


def broadcast_buffers(model: torch.nn.Module) -> None:
    """Give every rank rank 0's buffers (BatchNorm's running statistics), so all ranks test and save the same net.

    DDP sends them at the start of each training forward pass; the last step of an
    epoch then updates each rank's from its own shard of the batch.
    """
    if _several():
        for buffer in model.buffers():
            dist.broadcast(buffer, 0)


def rank_seed(seed: int, epoch: int, world: World) -> int:
    """A seed for this rank's global generator in ``epoch``: different on every rank, fixed by (seed, epoch, rank)."""
    return (seed * 100_003 + epoch) * 1_009 + world.rank


def barrier() -> None:
    if _several():
        dist.barrier()
