"""The two labs side by side: the same images matched across runs, the surest mistakes, the cost figure."""

import pytest

from labkit import compare
from labkit.history import History


def saved(targets, predictions, confidences=None):
    run = {"targets": targets, "predictions": predictions}
    if confidences is not None:
        run["confidences"] = confidences
    return run


def test_runs_tested_on_different_subsets_are_matched_image_by_image():
    five = saved([0] * 5 + [1] * 5, [0, 0, 1, 0, 0, 1, 1, 1, 0, 1])  # five test images per class
    three = saved([0] * 3 + [1] * 3, [1, 0, 1, 1, 1, 1])  # the first three of each class
    commons = compare.common_images([five, three])
    assert [(image.label, image.rank) for image in commons] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert [image.predictions for image in commons] == [(0, 1), (0, 0), (1, 1), (1, 1), (1, 1), (1, 1)]
    assert [(image.label, image.rank) for image in compare.disagreements(commons)] == [(0, 0)]


def test_the_surest_mistakes_come_first_and_need_saved_confidences():
    run = saved([0, 0, 1, 1], [1, 1, 0, 1], [0.6, 0.9, 0.7, 0.99])
    commons = compare.common_images([run, run])
    assert [image.confidences[0] for image in compare.confident_mistakes(commons, 0)] == [0.9, 0.7, 0.6]
    assert compare.confident_mistakes(compare.common_images([saved([0], [1]), run]), 0) == []


def test_a_spread_takes_each_class_in_turn():
    images = [compare.CommonImage(label, rank, (0, 1), (None, None)) for label, ranks in ((0, 5), (1, 1), (2, 3))
              for rank in range(ranks)]  # fmt: skip
    assert [(image.label, image.rank) for image in compare.spread(images, 5)] == [(0, 0), (0, 1), (1, 0), (2, 0), (2, 1)]
    assert compare.spread(images, 0) == [] and len(compare.spread(images, 50)) == 9


def test_training_flops_and_the_cost_figure_place_each_run_and_its_reference():
    history = History(info={"model": "vgg16", "train_images": 6000, "classes": ["airplane", "automobile", "bird"]})
    for epoch in (1, 2):
        history.append(epoch, train_loss=1.0, train_acc=0.5, test_loss=1.0, test_acc=0.8, seconds=100.0)
    assert compare.training_flops(history, 1e9) == pytest.approx(1e9 * 6000 * 2)
    time_axes, flops_axes = compare.cost_figure({"vgg16": history}, {"vgg16": 1e9}).axes
    points = {line.get_label(): (line.get_xdata()[0], line.get_ydata()[0]) for line in flops_axes.lines}
    assert points == {"VGG16: this run": (pytest.approx(1.2e13), pytest.approx(80.0)),
                      "VGG16: reference": (pytest.approx(1e9 * 15000 * 20), pytest.approx(93.0))}  # fmt: skip
    assert [line.get_xdata()[0] for line in time_axes.lines] == [pytest.approx(200.0), pytest.approx(111.0)]
