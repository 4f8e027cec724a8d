"""The GPU check's own stages: fp32 against bf16, a checkpoint-and-resume, a compiled run.

benchmarks/gpu_check.sh runs these after the report and the benchmark; each
stage rewrites ``--out``/gpu_check.json as soon as it ends, so a run cut short
still returns every stage that finished.

    python benchmarks/gpu_check.py --device cuda --report /tmp/report --out $OUT

Data comes from the data root (``--data``, else ``$LABKIT_DATA``). ``--report``
is the report folder the same check built, whose bf16 runs the fp32 runs are
compared with. ``--profile smoke`` shrinks every run, to rehearse on a CPU.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import traceback
from dataclasses import replace
from pathlib import Path

from labkit import lab, pipeline, train
from labkit.device import resolve_device
from labkit.history import History

STAGES = ("precision", "resume", "compile")


class _Interrupted(Exception):
    """Raised after the first epoch's checkpoint, as a kill would stop the run."""


def precision(recipes, device, splits, scratch: Path, report: Path | None) -> dict:
    """Each lab in fp32 on the same seed, beside the report's run (bf16 on CUDA by default)."""
    rows = {}
    for name, recipe in recipes.items():
        fp32 = pipeline.run(replace(recipe, bf16=False), scratch / f"{name}-fp32", splits=splits[name],
                            device=device, checkpoint=False, progress=False)  # fmt: skip
        rows[name] = {"fp32": _summary(fp32.history)}
        reported = report / name / lab.HISTORY if report else None
        if reported and reported.is_file():
            rows[name]["report"] = _summary(History.load(reported))
    return rows


def resume(recipes, device, splits, scratch: Path) -> dict:
    """Stop a two-epoch VGG16 run after its first checkpoint, resume it, and compare with an unbroken run."""
    recipe = replace(recipes["vgg16"], epochs=2)
    folder = scratch / "resume"
    model = pipeline.build_model(recipe)

    def stop(epoch, history):
        raise _Interrupted

    try:
        train.fit(model, *splits["vgg16"], recipe, device=device, checkpoint=folder / lab.CHECKPOINT,
                  progress=False, on_epoch_end=stop)  # fmt: skip
    except _Interrupted:
        pass
    resumed = train.fit(pipeline.build_model(recipe), *splits["vgg16"], recipe, device=device,
                        checkpoint=folder / lab.CHECKPOINT, resume=True, progress=False)  # fmt: skip
    unbroken = train.fit(pipeline.build_model(recipe), *splits["vgg16"], recipe, device=device, progress=False)
    return {"resumed": _summary(resumed.history, per_epoch=True), "unbroken": _summary(unbroken.history, per_epoch=True)}


def compiled(recipes, device, splits, scratch: Path) -> dict:
    """The VGG16 lab through torch.compile: its first epoch includes the compilation."""
    result = pipeline.run(replace(recipes["vgg16"], torch_compile=True), scratch / "compiled", splits=splits["vgg16"],
                          device=device, checkpoint=False, progress=False)  # fmt: skip
    return _summary(result.history, per_epoch=True)


def _summary(history: History, per_epoch: bool = False) -> dict:
    summary = {**history.final(), "device_name": history.info.get("device_name"), "bf16": history.info.get("bf16"),
               "tf32": history.info.get("tf32"), "profile": history.info.get("profile")}  # fmt: skip
    if per_epoch:
        summary.update({name: getattr(history, name) for name in ("test_acc", "train_loss", "seconds")})
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for gpu_check.json")
    parser.add_argument("--data", default=None, help="data root (default: $LABKIT_DATA)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--profile", default="full", choices=list(lab.PROFILES), help="profile of every run")
    parser.add_argument("--report", type=Path, default=None, help="the report folder to compare the fp32 runs with")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated, from {', '.join(STAGES)}")
    args = parser.parse_args()
    stages = [name for name in args.stages.split(",") if name]
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        parser.error(f"unknown stage(s) {', '.join(unknown)}; choose from {', '.join(STAGES)}")

    device = str(resolve_device(args.device))
    recipes = {name: lab.recipe(name, args.profile) for name in lab.LABS}
    splits = {name: pipeline.load_data(recipe, args.data) for name, recipe in recipes.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict = {"device": device, "profile": args.profile, "stages": {}}
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as scratch:
        for stage in stages:
            started = time.perf_counter()
            print(f"== gpu_check stage {stage}", flush=True)
            try:
                if stage == "precision":
                    outcome = precision(recipes, device, splits, Path(scratch), args.report)
                elif stage == "resume":
                    outcome = resume(recipes, device, splits, Path(scratch))
                else:
                    outcome = compiled(recipes, device, splits, Path(scratch))
                entry = {"ok": True, "result": outcome}
            except Exception:  # noqa: BLE001 - one failed stage must not cost the others their results
                entry = {"ok": False, "error": traceback.format_exc()}
                print(entry["error"], flush=True)
            entry["seconds"] = time.perf_counter() - started
            results["stages"][stage] = entry
            (args.out / "gpu_check.json").write_text(json.dumps(results, indent=2) + "\n")
            print(f"== gpu_check stage {stage}: {'ok' if entry['ok'] else 'FAILED'} in {entry['seconds']:.0f} s",
                  flush=True)  # fmt: skip
    failed = [stage for stage, entry in results["stages"].items() if not entry["ok"]]
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
