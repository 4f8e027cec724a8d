"""One run of a recipe into a folder, and the same run composed step by step as the notebooks do."""

import json

import pytest
import torch

from labkit import artefacts, lab, pipeline, train
from labkit.data import Split
from labkit.lab import Recipe

# fp32, so the by-hand and pipeline runs compare digit for digit on every CPU
TINY = Recipe(model="vgg11", epochs=2, batch_size=8, eval_batch_size=8, per_class=4, test_per_class=2, bf16=False)


def metrics(history):
    return {name: getattr(history, name) for name in ("epochs", "train_loss", "train_acc", "test_loss", "test_acc")}


def test_run_writes_the_run_folder_and_equals_the_notebook_steps(image_folder, tmp_path):
    result = pipeline.run(TINY, tmp_path / "run", data_root=image_folder, device="cpu", progress=False, log=None)
    assert {p.name for p in (tmp_path / "run").iterdir()} == {*lab.RUN_FILES, lab.CHECKPOINT}
    saved = json.loads((tmp_path / "run" / lab.HISTORY).read_text())
    assert saved["info"]["model"] == "vgg11" and saved["info"]["train_images"] == 12 and saved["finished"]

    # The notebook's cells: data, model, fit, artefacts.
    train_split, test_split = pipeline.load_data(TINY, image_folder)
    model = pipeline.build_model(TINY)
    by_hand = train.fit(model, train_split, test_split, TINY, device="cpu", progress=False, log=None)
    artefacts.save_run(tmp_path / "by-hand", by_hand.history, by_hand.evaluation, test_split)
    assert metrics(by_hand.history) == metrics(result.history) == {k: saved[k] for k in metrics(result.history)}
    assert torch.equal(by_hand.evaluation.predictions, result.evaluation.predictions)


def test_run_on_splits_in_memory_without_a_checkpoint(tmp_path):
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (12, 3, 32, 32), dtype=torch.uint8, generator=generator)
    split = Split(images, torch.arange(12) % 3, lab.LAB_CLASSES, "train")
    result = pipeline.run(TINY, tmp_path / "run", splits=(split, split), device="cpu", checkpoint=False,
                          progress=False, log=None)  # fmt: skip
    assert result.history.finished and not (tmp_path / "run" / lab.CHECKPOINT).exists()
    assert set(result.figures) == set(lab.FIGURES)


def test_an_unknown_model_fails_before_any_data_is_read(tmp_path):
    with pytest.raises(ValueError, match="unknown model 'vgg99'"):
        pipeline.run(Recipe(model="vgg99"), tmp_path / "run", data_root=tmp_path / "no-data", log=None)
    assert not (tmp_path / "run").exists()


def test_run_folder_is_the_given_one_or_a_new_time_stamped_one(tmp_path):
    assert pipeline.run_folder(tmp_path / "mine", TINY) == tmp_path / "mine"
    fresh = pipeline.run_folder(None, lab.recipe("vgg16", "smoke"), base=str(tmp_path))
    assert fresh.parent == tmp_path and fresh.name.startswith("vgg16-smoke-")


def test_runs_without_an_output_folder_go_under_labkit_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_RUNS", str(tmp_path / "elsewhere"))
    assert pipeline.run_folder(None, TINY).parent == tmp_path / "elsewhere"
