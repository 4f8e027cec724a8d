"""The GPU rows of report/benchmarks.md: the whole lab recipe timed on one GPU.

Runs, on the chosen device: the benchmark of both models (bf16 + channels_last,
the CUDA defaults, with the ceiling also timed in contiguous format), then both
labs' full recipes (labkit.lab) through labkit.pipeline.run with the fast path in
bf16, and the same runs in fp32 on the same seed to check that bf16 costs no accuracy. Prints a Markdown table and writes JSON.

    python benchmarks/gpu_check.py --subset .gpu/subset.npz --out $OUT

``--subset`` is the lab's 3-class split saved by ``--export`` on a machine that
has the data (the GPU machine cannot see ../shared):

    python benchmarks/gpu_check.py --export .gpu/subset.npz

``--smoke`` shrinks everything so the script itself can be tested on a CPU.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from labkit import lab, pipeline
from labkit.bench import run_benchmarks
from labkit.data import Split, load_lab_data
from labkit.device import resolve_device


def export(path: Path) -> None:
    train_split, test_split = load_lab_data()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path, train_images=train_split.images.numpy(), train_labels=train_split.labels.numpy(),
        test_images=test_split.images.numpy(), test_labels=test_split.labels.numpy(),
    )  # fmt: skip
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB): {len(train_split):,} + {len(test_split):,} images")


def load(path: Path) -> tuple[Split, Split]:
    with np.load(path) as stored:
        return tuple(
            Split(torch.from_numpy(stored[f"{name}_images"]), torch.from_numpy(stored[f"{name}_labels"]),
                  lab.LAB_CLASSES, name)
            for name in ("train", "test")
        )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", type=Path, help="the saved 3-class split (see --export)")
    parser.add_argument("--export", type=Path, help="save the 3-class split from $LABKIT_DATA here and stop")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for gpu_check.json")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to test the script on a CPU")
    args = parser.parse_args()
    if args.export:
        export(args.export)
        return

    train_split, test_split = load(args.subset)
    recipes = {name: entry.recipe for name, entry in lab.LABS.items()}
    if args.smoke:
        train_split = Split(train_split.images[::500], train_split.labels[::500], lab.LAB_CLASSES, "train")
        test_split = Split(test_split.images[::300], test_split.labels[::300], lab.LAB_CLASSES, "test")
        recipes = {name: replace(recipe, epochs=1) for name, recipe in recipes.items()}
    device = resolve_device(args.device)
    started = time.perf_counter()
    sizes = {"batch_size": 8, "eval_batch_size": 16, "steps": 2, "warmup": 1} if args.smoke else {"steps": 30, "warmup": 5}
    bench = run_benchmarks(list(recipes), device=device, workers=2, compare_memory_format=True, **sizes)
    rows, runs = [], {}
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as scratch:
        for name, recipe in recipes.items():
            for precision in ("bf16", "fp32"):
                chosen = replace(recipe, bf16=precision == "bf16" and device.type == "cuda")
                result = pipeline.run(chosen, Path(scratch) / f"{name}-{precision}", splits=(train_split, test_split),
                                      device=str(device), checkpoint=False, progress=False)  # fmt: skip
                final = result.history.final()
                runs[f"{name}-{precision}"] = result.history.to_dict()
                rows.append(f"| {name} | {precision} | {chosen.epochs} | {final['total_seconds']:.1f} s | "
                            f"{100 * final['train_acc']:.2f}% | {100 * final['test_acc']:.2f}% | "
                            f"{result.history.info['device_name']} |")  # fmt: skip
    table = "\n".join(["| model | precision | epochs | training time | train acc | test acc | device |",
                       "|---|---|---|---|---|---|---|", *rows])  # fmt: skip
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_check.json").write_text(json.dumps(
        {"bench": [vars(r) for r in bench], "runs": runs, "table": table}, indent=2, default=str) + "\n")
    print(f"gpu_check finished in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
