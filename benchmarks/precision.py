"""bf16 against fp32 on real training runs: test accuracy over seeds, and the same weights in both.

    python benchmarks/precision.py --models vgg16 --seeds 0,1,2 --profile quick [--bf16-from report/results.json]

For each model and seed: trains the profile's recipe in fp32, then evaluates the
trained weights on the whole test split of its classes in fp32 and again under
bf16 autocast (the same weights, so the difference is the precision of the test
pass alone; the whole split, so one image is 0.03 points even where the profile
tests on a subset). bf16
runs of the same seeds are trained too, unless ``--bf16-from`` names a report
whose ``--seeds`` runs are read instead. Prints a Markdown table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import replace
from pathlib import Path

from labkit import lab, pipeline, train
from labkit.cli import seed_list
from labkit.device import device_name, device_settings
from labkit.files import atomic_write_text, json_text
from labkit.loaders import make_loader


def _reported_bf16(path: Path, recipe: lab.Recipe) -> dict[int, float]:
    """Test accuracy of each seed of a report's runs of the recipe's model, when they ran it in bf16."""
    saved = json.loads(path.read_text()).get(recipe.model)
    if saved is None:
        raise SystemExit(f"{path} holds no {recipe.model} run; drop --bf16-from to train bf16 runs here")
    info = saved["info"]
    differing = [key for key in ("profile", "epochs", "per_class", "test_per_class") if info.get(key) != getattr(recipe, key)]
    if differing or not info.get("bf16"):
        raise SystemExit(f"{path}: the {recipe.model} runs were not bf16 runs of this recipe "
                         f"({', '.join(differing) or 'bf16'} differ); drop --bf16-from to train bf16 runs here")  # fmt: skip
    rows = saved.get("over_seeds", {}).get("seeds") or [{"seed": saved["info"]["seed"], "test_acc": saved["test_acc"]}]
    return {row["seed"]: row["test_acc"] for row in rows}


def fp32_run(recipe: lab.Recipe, device: str, splits, whole_test) -> dict:
    model = pipeline.build_model(recipe)
    result = train.fit(model, *splits, replace(recipe, bf16=False), device=device, progress=False, log=None)
    resolved, _, channels_last = device_settings(device, False, recipe.channels_last)
    loader = make_loader(whole_test, recipe.eval_batch_size, False, resolved, recipe.seed, "fast", channels_last)
    same = {precision: train.evaluate(model, loader, resolved, bf16=precision == "bf16").accuracy for precision in ("fp32", "bf16")}
    return {"fp32": result.evaluation.accuracy, "same_weights_fp32": same["fp32"], "same_weights_bf16": same["bf16"],
            "same_weights_images": len(whole_test), "seconds": result.history.total_seconds}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="vgg16,resnet50", help="comma-separated lab models")
    parser.add_argument("--seeds", type=seed_list, default=(0, 1, 2), help="comma-separated seeds")
    parser.add_argument("--profile", default="quick", choices=list(lab.PROFILES))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data", default=None, help="data root (default: $LABKIT_DATA, else the user cache)")
    parser.add_argument("--bf16-from", type=Path, default=None, help="a report's results.json holding the bf16 runs")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    rows = []
    for model in [name.strip() for name in args.models.split(",") if name.strip()]:
        base = lab.recipe(model, args.profile)
        splits = pipeline.load_data(base, args.data)
        whole_test = pipeline.load_data(replace(base, test_per_class=None), args.data)[1]
        reported = _reported_bf16(args.bf16_from, base) if args.bf16_from else {}
        for seed in args.seeds:
            recipe = replace(base, seed=seed)
            row = {"model": model, "seed": seed, **fp32_run(recipe, args.device, splits, whole_test)}
            if seed in reported:
                row["bf16"] = reported[seed]
            else:
                bf16 = train.fit(pipeline.build_model(recipe), *splits, replace(recipe, bf16=True), device=args.device,
                                 progress=False, log=None)  # fmt: skip
                row["bf16"] = bf16.evaluation.accuracy
            rows.append(row)
            print(json.dumps(row), flush=True)

    print(f"\n{args.profile} profile on {device_name(device_settings(args.device)[0])}\n")
    print("| model | seed | fp32 test | bf16 test | bf16 - fp32 | fp32 weights: whole test split, fp32 / bf16 pass | difference |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {lab.title(row['model'])} | {row['seed']} | {row['fp32']:.2%} | {row['bf16']:.2%} | "
              f"{100 * (row['bf16'] - row['fp32']):+.2f} pt | {row['same_weights_fp32']:.2%} / "
              f"{row['same_weights_bf16']:.2%} ({row['same_weights_images']:,} images) | "
              f"{100 * (row['same_weights_bf16'] - row['same_weights_fp32']):+.2f} pt |")  # fmt: skip
    for model in dict.fromkeys(row["model"] for row in rows):
        mine = [row for row in rows if row["model"] == model]
        fp32, bf16 = (statistics.fmean(row[key] for row in mine) for key in ("fp32", "bf16"))
        print(f"| {lab.title(model)} | mean of {len(mine)} | {fp32:.2%} | {bf16:.2%} | {100 * (bf16 - fp32):+.2f} pt | | |")
    if args.json:
        atomic_write_text(args.json, json_text(rows))


if __name__ == "__main__":
    main()
