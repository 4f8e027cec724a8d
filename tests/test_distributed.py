"""DistributedDataParallel on the CPU: two gloo processes meeting on the loopback address."""

import json
import os
import socket
import subprocess
import sys

import pytest
import torch
from torch import multiprocessing

from labkit import distributed, models, train
from labkit.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from labkit.distributed import LaunchError, World
from labkit.loaders import make_loader

from . import ddp_workers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def spawn(worker, *args) -> None:
    multiprocessing.spawn(worker, args=(2, free_port(), *args), nprocs=2, join=True)


TORCHRUN = {"RANK": "1", "LOCAL_RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}


def test_a_process_torchrun_did_not_start_is_a_world_of_one():
    assert distributed.launch_world({}) == World(0, 0, 1)
    assert distributed.launch_world(TORCHRUN) == World(1, 1, 2)
    assert not distributed.launch_world(TORCHRUN).is_main


@pytest.mark.parametrize(
    ("environment", "message"),
    [({"RANK": "0", "WORLD_SIZE": "2"}, "RANK, WORLD_SIZE set but LOCAL_RANK, MASTER_ADDR, MASTER_PORT not"),
     ({**TORCHRUN, "WORLD_SIZE": "two"}, "WORLD_SIZE='two' is not a whole number"),
     ({**TORCHRUN, "RANK": "2"}, "RANK=2, LOCAL_RANK=1, WORLD_SIZE=2 do not describe a world")],
)  # fmt: skip
def test_an_incomplete_launch_environment_says_how_to_launch(environment, message):
    with pytest.raises(LaunchError, match=message) as error:
        distributed.launch_world(environment)
    assert "torchrun --nproc_per_node=2 -m labkit train" in str(error.value)


def test_the_global_batch_is_split_evenly_or_refused():
    assert distributed.rank_batch_size(128, World(0, 0, 4)) == 32
    with pytest.raises(ValueError, match="batch size 128 does not split evenly across 3 processes"):
        distributed.rank_batch_size(128, World(0, 0, 3))


def test_shards_are_disjoint_cover_the_order_and_are_padded_to_equal_length():
    order = torch.randperm(11)
    first, second = (distributed.shard(order, World(rank, rank, 2)) for rank in (0, 1))
    assert len(first) == len(second) == 6
    assert set(first.tolist()) | set(second.tolist()) == set(range(11))
    assert len(set(first.tolist()) & set(second.tolist())) == 1  # the one padding image
    assert [distributed.span(11, World(rank, rank, 3)) for rank in range(3)] == [(0, 3), (3, 7), (7, 11)]


def test_sync_bn_is_refused_off_cuda_with_what_to_do():
    with pytest.raises(ValueError, match="--sync-bn needs CUDA GPUs .* on cpu; drop --sync-bn"):
        train.fit(models.vgg11(hidden=16), ddp_workers.random_split(8, 0, "train"), ddp_workers.random_split(4, 1, "test"),
                  ddp_workers.tiny_recipe(sync_bn=True), device="cpu", progress=False, log=None)  # fmt: skip


def check_shards(ranks):
    for epoch in ("1", "2"):
        first, second = (rank["drawn"][epoch] for rank in ranks)
        assert len(first) == len(second) == 8 and not set(first) & set(second)
        assert sorted(first + second) == list(range(16))
    assert ranks[0]["drawn"]["1"] != ranks[0]["drawn"]["2"]  # set_epoch reshuffles
    assert [rank["steps"] for rank in ranks] == [2, 2]  # 8 images each, 4 per rank per step


def test_two_ranks_draw_disjoint_shards_that_cover_the_split_and_reshuffle_each_epoch(tmp_path):
    out = tmp_path / "shards.json"
    spawn(ddp_workers.shards, str(out), 16)
    check_shards(json.loads(out.read_text()))


def test_the_reference_path_shards_through_torchs_distributed_sampler():
    # DistributedSampler takes its rank and world size as arguments: no process group needed to check its shards.
    ranks = []
    for rank in (0, 1):
        loader = make_loader(ddp_workers.labelled_split(16), 4, True, "cpu", seed=3, path="reference", world=World(rank, rank, 2))
        drawn = {}
        for epoch in (1, 2):
            loader.set_epoch(epoch)
            drawn[str(epoch)] = [int(label) for _, labels in loader for label in labels]
        ranks.append({"drawn": drawn, "steps": len(loader)})
    check_shards(ranks)


@pytest.fixture(scope="module")
def two_rank_runs(tmp_path_factory):
    """A two-epoch run on two ranks; the same run stopped after epoch 1 and resumed from its checkpoint."""
    whole, parted = tmp_path_factory.mktemp("whole"), tmp_path_factory.mktemp("parted")
    spawn(ddp_workers.fit, str(whole), None, False)
    spawn(ddp_workers.fit, str(parted), 1, False)
    spawn(ddp_workers.fit, str(parted), None, True)
    return whole, parted


def test_a_two_rank_run_keeps_one_set_of_weights_and_tests_like_one_process(two_rank_runs):
    whole, _ = two_rank_runs
    record = json.loads((whole / "result-whole.json").read_text())
    assert record["same_weights"]  # from different initial weights per rank, and after every step
    assert record["sharded"][0] == record["alone"][0] and record["sharded"][2] == record["alone"][2]
    assert record["sharded"][1] == pytest.approx(record["alone"][1], rel=1e-6)
    info = record["history"]["info"]
    assert (info["world_size"], info["batch_size"], info["rank_batch_size"], info["backend"]) == (2, 8, 4, "gloo")
    assert record["files"] == ["checkpoint.pt"]  # rank 0 alone wrote: one checkpoint, no temporaries


def test_a_two_rank_run_resumed_from_its_checkpoint_equals_the_uninterrupted_run(two_rank_runs):
    whole, parted = two_rank_runs
    uninterrupted = json.loads((whole / "result-whole.json").read_text())
    resumed = json.loads((parted / "result-resumed.json").read_text())
    for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
        assert resumed["history"][key] == uninterrupted["history"][key]
    assert resumed["same_weights"]


def test_resuming_with_another_world_size_is_refused_naming_the_launch(two_rank_runs):
    _, parted = two_rank_runs
    state = load_checkpoint(parted / "checkpoint.pt")
    state["history"]["info"]["epochs"] = 3  # not finished, so a single process would go on
    save_checkpoint(state, parted / "unfinished.pt")
    with pytest.raises(CheckpointError, match=r"world_size 2, not 1 \(it was started with torchrun and 2 processes"):
        train.fit(models.vgg11(num_classes=3, hidden=32), ddp_workers.random_split(28, 0, "train"),
                  ddp_workers.random_split(11, 1, "test"), ddp_workers.tiny_recipe(epochs=3), device="cpu",
                  checkpoint=parted / "unfinished.pt", resume=True, progress=False, log=None)  # fmt: skip


def torchrun(*arguments):
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
               f"--master_port={free_port()}", "-m", "labkit", "train", *arguments]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)


def test_torchrun_trains_on_two_processes_and_resumes_with_the_same_world_size(shared_data, tmp_path):
    out = tmp_path / "run"
    common = ["--model", "vgg11", "--profile", "smoke", "--data", str(shared_data), "--out", str(out), "--no-bf16",
              "--batch-size", "8", "--no-progress"]  # fmt: skip
    first = torchrun(*common, "--epochs", "1", "--keep-optimizer-state")
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.count("epoch  1/1") == 1  # rank 0 alone prints
    assert "(2 processes, 4 images each per step)" in first.stdout
    history = json.loads((out / "history.json").read_text())
    assert (history["info"]["world_size"], history["info"]["rank_batch_size"]) == (2, 4)
    again = torchrun(*common, "--epochs", "2", "--resume", "--allow-change", "epochs")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resumed from" in again.stdout and again.stdout.count("epoch  2/2") == 1
    assert json.loads((out / "history.json").read_text())["epochs"] == [1, 2]
    alone = subprocess.run([sys.executable, "-m", "labkit", "train", *common, "--epochs", "3", "--resume",
                            "--allow-change", "epochs", "--keep-optimizer-state"], capture_output=True, text=True)  # fmt: skip
    assert alone.returncode == 2
    assert "world_size 2, not 1 (it was started with torchrun and 2 processes in all)" in alone.stderr
