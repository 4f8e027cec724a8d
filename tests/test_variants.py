"""Recipe variants beside the faithful lab recipe, and learning-rate schedules as part of a run's state."""

import dataclasses
import math

import pytest
import torch

from labkit import cli, lab, models, pipeline, train

from .test_train import random_split, run, tiny_recipe, tiny_vgg


def test_the_faithful_recipe_is_the_default_and_no_variant_changes_it():
    assert lab.recipe("vgg16", "full") == dataclasses.replace(lab.VGG16, profile="full")
    before = dataclasses.asdict(lab.VGG16)
    for name in lab.VARIANTS:
        lab.recipe("vgg16", "full", name)
    assert dataclasses.asdict(lab.VGG16) == before
    faithful = lab.recipe("vgg16", "full", "lab")
    assert (faithful.dropout, faithful.schedule, faithful.label_smoothing, faithful.variant) == (0.0, "constant", 0.0, "lab")


def test_each_variant_changes_only_what_it_names():
    faithful = dataclasses.asdict(lab.recipe("vgg16", "full"))
    dropout = dataclasses.asdict(lab.recipe("vgg16", "full", "dropout"))
    assert {key for key in faithful if faithful[key] != dropout[key]} == {"dropout", "variant"}
    assert dropout["dropout"] == 0.5
    assert lab.recipe("resnet50", "full", "longer").epochs == 2 * lab.RESNET50.epochs
    assert lab.recipe("resnet50", "quick", "longer").epochs == 2 * lab.recipe("resnet50", "quick").epochs
    assert lab.recipe("resnet50", "quick", "longer", epochs=3).epochs == 3  # what the caller passed wins
    improved = lab.recipe("resnet50", "full", "improved")
    assert (improved.schedule, improved.epochs, improved.dropout) == ("cosine", 30, 0.0)  # no FC layers to drop out
    assert lab.recipe("vgg16", "full", "improved").dropout == 0.5
    assert lab.VARIANTS[lab.SCHEDULE_VARIANT].changes == (("schedule", "cosine"),)


def test_dropout_is_refused_for_a_model_without_fully_connected_layers():
    with pytest.raises(ValueError, match="the 'dropout' recipe changes VGG's fully connected layers, and resnet50 has none"):
        lab.recipe("resnet50", "full", "dropout")
    with pytest.raises(ValueError, match="dropout applies to VGG's fully connected layers"):
        lab.Recipe(model="resnet50", dropout=0.5)
    with pytest.raises(ValueError, match="unknown recipe 'fancy'; use one of lab, dropout"):
        lab.recipe("vgg16", "full", "fancy")
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'linear'"):
        lab.Recipe(schedule="linear")


def test_the_dropout_recipe_builds_vgg_with_dropout_on_its_fully_connected_layers():
    model = pipeline.build_model(lab.recipe("vgg16", "full", "dropout"))
    assert [m.p for m in model.classifier if isinstance(m, torch.nn.Dropout)] == [0.5, 0.5]
    assert models.count_parameters(model) == 33_617_987  # dropout adds no weights
    assert not any(isinstance(m, torch.nn.Dropout) for m in pipeline.build_model(lab.recipe("vgg16", "full")).modules())


def rates(schedule, epochs):
    optimizer = train.make_optimizer(torch.nn.Linear(1, 1), tiny_recipe())
    scheduler = train.make_scheduler(optimizer, tiny_recipe(schedule=schedule, epochs=epochs))
    seen = []
    for _ in range(epochs):
        seen.append(optimizer.param_groups[0]["lr"])
        if scheduler is not None:
            optimizer.step()
            scheduler.step()
    return seen


def test_the_schedules_lay_the_rate_out_over_the_epochs():
    assert rates("constant", 4) == [0.01] * 4
    assert rates("step", 20) == pytest.approx([0.01] * 10 + [0.001] * 5 + [0.0001] * 5)
    cosine = rates("cosine", 5)
    assert cosine[0] == 0.01 and all(a > b for a, b in zip(cosine, cosine[1:])) and cosine[-1] > 0
    assert cosine == pytest.approx([0.01 * (1 + math.cos(math.pi * k / 5)) / 2 for k in range(5)])


def test_a_scheduled_run_records_each_epochs_rate_and_resumes_exactly(tmp_path):
    whole = run(4, schedule="step")
    assert whole.lr == pytest.approx([0.01, 0.01, 0.001, 0.0001])
    checkpoint = tmp_path / "checkpoint.pt"
    assert run(4, checkpoint=checkpoint, stop=2, schedule="step") is None  # killed after epoch 2
    resumed = run(4, checkpoint=checkpoint, resume=True, schedule="step")
    assert resumed.lr == whole.lr
    assert resumed.train_loss == whole.train_loss and resumed.test_acc == whole.test_acc


def test_a_scheduled_run_refuses_to_change_its_rate_or_epochs_on_resume(tmp_path):
    with pytest.raises(ValueError, match="a run on the cosine schedule cannot change lr on resume"):
        train.fit(tiny_vgg(), random_split(16), random_split(8, name="test"), tiny_recipe(schedule="cosine"),
                  device="cpu", checkpoint=tmp_path / "c.pt", resume=True, allow_changes=("lr",), progress=False, log=None)  # fmt: skip


def test_label_smoothing_changes_the_loss_it_trains_on():
    images, labels = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 0])
    losses = []
    for smoothing in (0.0, 0.1):
        torch.manual_seed(0)
        model = tiny_vgg()
        loss, _ = train.train_step(model, train.make_optimizer(model), images, labels, label_smoothing=smoothing)
        losses.append(float(loss))
    assert losses[0] != losses[1]


def test_the_command_line_takes_a_recipe_by_name(tmp_path, capsys):
    assert cli.main(["train", "--model", "resnet50", "--recipe", "dropout", "--out", str(tmp_path / "r")]) == 2
    assert "the 'dropout' recipe changes VGG's fully connected layers" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["train", "--recipe", "fancy", "--out", str(tmp_path / "r")])


def test_the_curves_show_the_rate_when_a_schedule_changes_it():
    from labkit.history import History
    from labkit.plots import training_curves

    def history(rates):
        record = History()
        for epoch, rate in enumerate(rates, 1):
            record.append(epoch, train_loss=1.0, train_acc=0.5, test_loss=1.0, test_acc=0.5, seconds=1.0, lr=rate)
        return record

    assert len(training_curves(history([0.01, 0.01])).axes) == 2
    scheduled = training_curves(history([0.01, 0.001]))
    assert len(scheduled.axes) == 3 and scheduled.axes[2].get_ylabel() == "learning rate"
    assert History.from_dict(history([0.01, 0.001]).to_dict()).lr == [0.01, 0.001]


def test_resuming_with_another_recipe_is_refused_naming_the_recipe_it_was_started_with(tmp_path):
    checkpoint = tmp_path / "checkpoint.pt"
    assert run(3, checkpoint=checkpoint, stop=1, schedule="cosine", variant="cosine") is None
    with pytest.raises(train.CheckpointError, match=r"schedule 'cosine', not 'constant' \(it was started with --recipe cosine\)"):
        run(3, checkpoint=checkpoint, resume=True)


def test_a_finished_scheduled_run_is_not_offered_more_epochs(tmp_path):
    from labkit.history import History

    (tmp_path / lab.CHECKPOINT).write_bytes(b"")
    History(info={"schedule": "constant"}).save(tmp_path / lab.HISTORY)
    with pytest.raises(ValueError, match="--allow-change epochs"):
        pipeline.check_folder(tmp_path, resume=True, replace=False)
    History(info={"schedule": "cosine"}).save(tmp_path / lab.HISTORY)  # the folder's run, whatever is asked now
    with pytest.raises(ValueError, match="on the cosine learning-rate schedule.*cannot be trained for longer") as refused:
        pipeline.check_folder(tmp_path, resume=True, replace=False, allow_changes=("epochs",))
    assert "--allow-change" not in str(refused.value)


def test_rank_seeds_differ_by_rank_epoch_and_seed():
    from labkit.distributed import World, rank_seed

    seeds = {rank_seed(seed, epoch, World(rank, rank, 2)) for seed in (0, 1) for epoch in (1, 2) for rank in (0, 1)}
    assert len(seeds) == 8


def test_the_results_table_names_the_recipe_of_the_run():
    from labkit import results

    from .test_results import make_history

    faithful = make_history()
    assert "| recipe | lab | lab |" in results.results_markdown(faithful, "vgg16")
    improved = make_history()
    improved.info.update(variant="improved", schedule="cosine", dropout=0.5, epochs=40)
    assert "| recipe | improved (40 epochs, cosine schedule, FC dropout 0.5) | lab |" in results.results_markdown(
        improved, "vgg16")  # fmt: skip
    overridden = make_history()  # --recipe longer --epochs 20: the label says what ran, not what the variant would
    overridden.info.update(variant="longer", epochs=20)
    assert "| recipe | longer (20 epochs) | lab |" in results.results_markdown(overridden, "vgg16")
    changed = make_history()
    changed.info.update(dropout=0.3)
    assert "| recipe | lab, with FC dropout 0.3 | lab |" in results.results_markdown(changed, "vgg16")
