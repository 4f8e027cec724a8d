import json

import pytest
import torch

from labkit import artefacts, lab, report, results
from labkit.data import Split
from labkit.history import History
from labkit.train import Evaluation


def make_history(model="vgg16", accs=((0.6, 0.55), (0.9, 0.7)), profile="quick", params=33_617_987):
    history = History(info={"model": model, "profile": profile, "parameters": params, "device_name": "CPU: test",
                            "torch": "2.x", "finished_at": "2026-01-01 00:00 UTC", "train_images": 3000})  # fmt: skip
    for epoch, (train_acc, test_acc) in enumerate(accs, 1):
        history.append(epoch, train_loss=1 / epoch, train_acc=train_acc, test_loss=1.2 / epoch, test_acc=test_acc,
                       seconds=10.0)  # fmt: skip
    return history


def test_results_table_reads_every_number_from_the_history():
    table = results.results_markdown(make_history(), "vgg16")
    assert "| test accuracy | 70.00% | 93.00% |" in table
    assert "| train accuracy | 90.00% | 99.54% |" in table
    assert "| training time (train + test passes) | 20.0 s | 111.0 s |" in table
    assert "| parameters | 33,617,987 | 33,617,987 |" in table
    assert "quick (3,000 training images)" in table and "CPU: test" in table


def test_conclusion_names_overfitting_and_the_gap_to_the_reference():
    text = results.conclusion_markdown(make_history(), "vgg16")
    assert "70.00%" in text and "23.0 points below" in text
    assert "20.0 points above test accuracy" in text and "overfitting" in text
    assert "still falling by 50%" in text


def test_conclusion_spots_underfitting_and_compares_two_labs():
    resnet = make_history("resnet50", accs=((0.5, 0.6), (0.55, 0.66)), params=23_510_339)
    text = results.conclusion_markdown(resnet, "resnet50", other=make_history())
    assert "*above* training accuracy" in text
    assert "ResNet50 against VGG16" in text and "(0.70x)" in text


def test_index_page_and_results_json(tmp_path):
    runs = {"vgg16": make_history(), "resnet50": make_history("resnet50", params=23_510_339)}
    path = report.write_index(tmp_path, runs, "2026-01-01")
    page = path.read_text()
    assert page.count("<img") == 6 and 'href="results.json"' in page
    assert 'href="vgg16_lab.ipynb"' not in page  # no executed notebook in this folder: no link to one
    assert "VGG16: reference" in page and "97.20%" in page and "89.10%" in page
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["vgg16"]["test_acc"] == pytest.approx(0.7)


def test_save_run_writes_history_and_three_figures(tmp_path):
    history = make_history()
    targets = torch.tensor([0, 1, 2, 1])
    evaluation = Evaluation(0.5, 0.75, torch.tensor([0, 1, 2, 0]), targets, torch.tensor([0.9, 0.8, 0.7, 0.123456]))
    split = Split(torch.zeros(4, 3, 32, 32, dtype=torch.uint8), targets, ("a", "b", "c"), "test")
    figures = artefacts.save_run(tmp_path / "run", history, evaluation, split)
    saved = json.loads((tmp_path / "run" / "test_predictions.json").read_text())
    assert saved["confidences"] == pytest.approx([0.9, 0.8, 0.7, 0.1235])
    assert set(figures) == {"curves", "predictions", "confusion"}
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "confusion.png", "curves.png", "history.json", "predictions.png", "test_predictions.json",
    ]  # fmt: skip
    assert artefacts.load_predictions(tmp_path / "run") == ([0, 1, 2, 1], [0, 1, 2, 0])
    assert "| b | 2 | 1 | 50.00% |" in results.per_class_markdown(targets, torch.tensor([0, 1, 2, 0]), "abc")


def test_a_history_loaded_from_json_saves_as_a_run(tmp_path):
    make_history().save(tmp_path / "history.json")
    loaded = History.load(tmp_path / "history.json")
    targets = torch.tensor([0, 1, 2])
    split = Split(torch.zeros(3, 3, 32, 32, dtype=torch.uint8), targets, ("a", "b", "c"), "test")
    artefacts.save_run(tmp_path / "again", loaded, Evaluation(0.1, 1.0, targets, targets), split)
    assert History.load(tmp_path / "again" / "history.json") == loaded
    assert (tmp_path / "again" / "curves.png").stat().st_size > 0


def test_an_epoch_that_put_every_test_image_in_one_class_is_named_at_chance():
    history = make_history(accs=((0.5, 1 / 3), (0.8, 0.75)))
    history.info["classes"] = ["airplane", "automobile", "bird"]
    history.test_predicted_counts = [[0, 0, 30], [9, 10, 11]]
    text = results.conclusion_markdown(history, "vgg16")
    assert "After epoch 1 the test accuracy was 33.33%: the network put every test image into one class, bird" in text
    assert "After epoch 2" not in text and "The later epochs show whether it recovered." in text


def test_chance_notes_group_epochs_say_nothing_of_later_epochs_after_the_last_and_align_a_resumed_run():
    history = make_history(accs=((0.5, 0.6), (0.5, 1 / 3), (0.5, 1 / 3)))
    history.info["classes"] = ["airplane", "automobile", "bird"]
    history.test_predicted_counts = [[0, 30, 0], [0, 30, 0]]  # a resumed run recorded only its last two epochs
    (note,) = results.chance_notes(history)
    assert note.startswith("**At chance.** After epochs 2 to 3 the test accuracy was 33.33%, 33.33%")
    assert "automobile" in note and "later epochs" not in note


def test_conclusion_does_not_call_a_rising_loss_converged():
    history = make_history("resnet50", params=23_510_339)
    history.train_loss[-1] = history.train_loss[0] * 1.1
    text = results.conclusion_markdown(history, "resnet50")
    assert "*rose* by 10%" in text and "levelled off" not in text


def test_index_says_which_profile_and_device_made_it(tmp_path):
    runs = {"vgg16": make_history()}
    page = report.index_html(runs, "now")
    assert "<b>quick</b>" in page and "CPU: test" in page and "not the full recipe" in page


def test_results_say_how_the_figure_was_chosen_how_far_to_trust_it_and_what_data_made_it():
    history = make_history()
    history.info.update(test_images=3000, data={"layout": "image folder", "encoding": "JPEG"})
    table = results.results_markdown(history, "vgg16")
    assert "| test accuracy | 70.00% (95% interval 68.3–71.6%) | 93.00% |" in table
    assert "final epoch's, not the best epoch's" in table and "JPEG re-encoding of CIFAR-10" in table
    conclusion = results.conclusion_markdown(history, "vgg16")
    assert "(on a JPEG re-encoding of CIFAR-10" in conclusion and "outside this run's 95% interval (68.3–71.6%)" in conclusion
    history.info["data"] = {"layout": "CIFAR-10 python archive", "encoding": "original (lossless)"}
    assert "JPEG" not in results.results_markdown(history, "vgg16")


def test_another_class_subset_is_not_compared_with_the_reference(tmp_path):
    history = make_history()
    history.info["classes"] = ["cat", "dog"]
    table = results.results_markdown(history, "vgg16")
    assert "reference" not in table.splitlines()[0] and "93.00%" not in table and "no reference run" in table
    assert "reference lab reported" not in results.conclusion_markdown(history, "vgg16")
    page = report.index_html({"vgg16": history}, "now")
    assert "on 2 CIFAR-10 classes" in page and "VGG16: reference" not in page and "cat/dog test split" in page
    history.info["classes"] = list(lab.LAB_CLASSES)
    assert "93.00%" in results.results_markdown(history, "vgg16")


def test_the_seed_summary_places_the_reference_within_two_standard_deviations_or_not():
    histories = [make_history(accs=((0.99, acc),)) for acc in (0.92, 0.93, 0.94)]
    for seed, history in enumerate(histories):
        history.info["seed"] = seed
    summary = results.seed_summary(histories, lab.LABS["vgg16"])
    assert summary["test_acc"]["mean"] == pytest.approx(0.93) and summary["test_acc"]["std"] == pytest.approx(0.01)
    assert summary["reference_within_2_std"] is True
    table = results.seed_table_markdown(summary, lab.LABS["vgg16"])
    assert "| 2 | 99.00% | 94.00% | 10.0 s |" in table and "| mean ± std | 99.00% ± 0.00% | 93.00% ± 1.00% |" in table
    assert "inside the seeds' mean ± 2 standard deviations" in table
    one = results.seed_summary(histories[:1], lab.LABS["vgg16"])
    assert one["test_acc"]["std"] is None and "reference_within_2_std" not in one


def test_a_validation_hold_out_is_reported_with_the_epoch_it_would_choose():
    history = make_history(accs=((0.6, 0.55), (0.9, 0.7)))
    history.val_loss, history.val_acc = [0.9, 1.0], [0.66, 0.61]
    history.info.update(val_images=300, val_per_class=100)
    table = results.results_markdown(history, "vgg16")
    assert "| validation accuracy | 61.00% (300 held-out training images) | — |" in table
    assert "peaked at epoch 1 (66.00%)" in table
    assert "the last 100 training images of each class" in results.recipe_markdown(lab.recipe("vgg16", "quick", val_per_class=100), "cpu")
