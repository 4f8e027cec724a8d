import matplotlib
import pytest
import torch
from matplotlib.figure import Figure

from labkit import plots
from labkit.history import History
from labkit.metrics import confusion_counts, per_class_accuracy


@pytest.fixture
def history():
    h = History()
    for epoch, (loss, acc) in enumerate([(1.0, 0.5), (0.6, 0.7), (0.4, 0.8)], 1):
        h.append(epoch, train_loss=loss, train_acc=acc, test_loss=loss + 0.1, test_acc=acc - 0.05, seconds=1.0)
    return h


@pytest.fixture
def predictions():
    targets = torch.tensor([0, 0, 1, 1, 2, 2])
    predicted = torch.tensor([0, 1, 1, 1, 2, 0])
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    return images, targets, predicted


def test_figures_change_no_global_state(history, predictions):
    import matplotlib.pyplot as plt

    before_params = dict(matplotlib.rcParams)
    before_figures = plt.get_fignums()
    images, targets, predicted = predictions
    figures = [
        plots.training_curves(history, title="run"),
        plots.prediction_grid(images, targets, predicted, ["a", "b", "c"]),
        plots.confusion_matrix(targets, predicted, ["a", "b", "c"]),
    ]
    assert all(isinstance(f, Figure) for f in figures)
    assert plt.get_fignums() == before_figures
    assert dict(matplotlib.rcParams) == before_params


def test_training_curves_plot_every_epoch_for_train_and_test(history):
    loss_axes, acc_axes = plots.training_curves(history).axes
    assert [line.get_label() for line in loss_axes.lines] == ["train", "test"]
    assert list(acc_axes.lines[1].get_ydata()) == pytest.approx([45, 65, 75])
    assert list(loss_axes.lines[0].get_xdata()) == [1, 2, 3]


def test_the_loss_curve_has_a_point_every_few_steps_and_the_reference_is_marked(history):
    from labkit.lab import LABS

    history.add_stretches([0.5, 1.0, 1.5, 2.0, 2.5, 3.0], [1.2, 0.9, 0.7, 0.6, 0.5, 0.4])
    history.info["loss_every"] = 8
    loss_axes, acc_axes = plots.training_curves(history, reference=LABS["vgg16"]).axes
    fine = loss_axes.lines[0]
    assert fine.get_label() == "train, every 8 steps" and list(fine.get_xdata()) == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    stars = {line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in acc_axes.lines[2:]}
    assert stars == {"reference train (20 epochs)": ([20], [pytest.approx(99.54)]),
                     "reference test (20 epochs)": ([20], [pytest.approx(93.0)])}  # fmt: skip
    assert max(loss_axes.get_xticks()) == 3 and max(acc_axes.get_xticks()) == 20  # the loss over this run only


def test_a_held_out_validation_split_gets_its_own_curves(history):
    history.val_loss, history.val_acc = [1.0, 0.8, 0.7], [0.4, 0.6, 0.7]
    loss_axes, acc_axes = plots.training_curves(history).axes
    assert [line.get_label() for line in acc_axes.lines] == ["train", "test", "validation"]
    assert list(acc_axes.lines[2].get_ydata()) == pytest.approx([40, 60, 70])


def test_prediction_grid_marks_mistakes(predictions):
    images, targets, predicted = predictions
    figure = plots.prediction_grid(images, targets, predicted, ["a", "b", "c"], count=6, columns=3)
    titles = [axes.title for axes in figure.axes]
    wrong = [t.get_text() for t in titles if t.get_color() == plots.MISTAKE_COLOUR]
    right = [t.get_text() for t in titles if t.get_color() == plots.CORRECT_COLOUR]
    assert wrong == ["\u2717 b\n(true: a)", "\u2717 a\n(true: c)"]  # a mark, not only a colour
    assert right == ["\u2713 a", "\u2713 b", "\u2713 b", "\u2713 c"]


def test_prediction_grid_accepts_normalised_images(predictions):
    from labkit.loaders import normalize

    images, targets, predicted = predictions
    figure = plots.prediction_grid(normalize(images), targets, predicted, ["a", "b", "c"], count=2)
    shown = figure.axes[0].images[0].get_array()
    assert torch.allclose(torch.as_tensor(shown.data).permute(2, 0, 1), images[0] / 255, atol=1e-5)


def test_confusion_matrix_counts(predictions):
    _, targets, predicted = predictions
    assert confusion_counts(targets, predicted, 3).tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert per_class_accuracy(targets, predicted, ["a", "b", "c"]) == {"a": 0.5, "b": 1.0, "c": 0.5}
    figure = plots.confusion_matrix(targets, predicted, ["a", "b", "c"])
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert texts == ["1", "1", "0", "0", "2", "0", "1", "0", "1"]
