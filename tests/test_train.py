import json
import math

import pytest
import torch
from torch import nn

from labkit import models, train
from labkit.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from labkit.data import Split, load_split
from labkit.device import resolve_device
from labkit.history import History
from labkit.lab import Recipe
from labkit.loaders import TensorLoader


def tiny_vgg(num_classes=3):
    # VGG configuration A with a narrow classifier: the lab's building blocks at test speed.
    return models.vgg11(num_classes=num_classes, hidden=64)


def random_split(count=48, classes=3, seed=0, name="train"):
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count, 3, 32, 32), dtype=torch.uint8, generator=generator)
    return Split(images, torch.arange(count) % classes, tuple("abc"[:classes]), name)


def test_a_few_steps_on_one_batch_drive_the_loss_far_down():
    torch.manual_seed(0)
    model = tiny_vgg()
    split = random_split(16)
    optimizer = train.make_optimizer(model)
    batch, labels = next(iter(TensorLoader(split, batch_size=16, train=False)))
    losses = []
    model.train()
    for _ in range(25):
        loss = nn.functional.cross_entropy(model(batch), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0], losses


class FixedLogits(nn.Module):
    """Ignores pixels and returns the logits stored for each image's first pixel value."""

    def __init__(self, table):
        super().__init__()
        self.register_buffer("table", torch.tensor(table, dtype=torch.float32))

    def forward(self, x):
        index = x[:, 0, 0, 0].round().long()
        return self.table[index]


def test_evaluate_matches_a_hand_computed_case():
    # Three images; the model is right on images 0 and 2 and wrong on image 1.
    logits = [[2.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 3.0, 0.0]]
    images = torch.arange(3, dtype=torch.float32).view(3, 1, 1, 1).expand(3, 3, 2, 2)
    labels = torch.tensor([0, 1, 1])
    loader = [(images[:2], labels[:2]), (images[2:], labels[2:])]
    result = train.evaluate(FixedLogits(logits), loader)
    expected_loss = (
        -math.log(math.e**2 / (math.e**2 + 2)) - math.log(1 / (2 + math.e)) - math.log(math.e**3 / (math.e**3 + 2))
    ) / 3
    assert result.accuracy == pytest.approx(2 / 3)
    assert result.loss == pytest.approx(expected_loss, rel=1e-6)
    assert result.predictions.tolist() == [0, 2, 1]
    assert result.targets.tolist() == [0, 1, 1]
    sure = [math.e**2 / (math.e**2 + 2), math.e / (math.e + 2), math.e**3 / (math.e**3 + 2)]
    assert result.confidences.tolist() == pytest.approx(sure, rel=1e-6)  # the probability of each predicted class


def tiny_recipe(**settings):
    # fp32: these tests compare numbers digit for digit, which must hold on CPUs with and without native bf16
    return Recipe(**{"model": "vgg11", "batch_size": 16, "epochs": 1, "bf16": False, **settings})


def fit(model, train_split, test_split, recipe, **options):
    return train.fit(model, train_split, test_split, recipe, device="cpu", progress=False, log=None, **options)


class Stopped(Exception):
    pass


def stop_after(last_epoch):
    """An on_epoch_end hook that stops the run after ``last_epoch``'s checkpoint, as a kill would."""

    def hook(epoch, history):
        if epoch == last_epoch:
            raise Stopped

    return hook


def run(epochs, checkpoint=None, resume=False, seed=0, stop=None, **settings):
    torch.manual_seed(seed)
    model = tiny_vgg()
    recipe = tiny_recipe(epochs=epochs, seed=seed, **settings)
    options = {"on_epoch_end": stop_after(stop)} if stop else {}
    try:
        result = fit(model, random_split(48), random_split(24, seed=1, name="test"), recipe, checkpoint=checkpoint,
                     resume=resume, **options)  # fmt: skip
    except Stopped:
        return None
    return result.history


def test_resumed_run_equals_an_uninterrupted_run(tmp_path):
    uninterrupted = run(2)
    checkpoint = tmp_path / "checkpoint.pt"
    run(2, checkpoint, stop=1)
    assert load_checkpoint(checkpoint)["epoch"] == 1
    resumed = run(2, checkpoint, resume=True, seed=0)
    assert resumed.finished and resumed.epochs == [1, 2]
    for metric in ("train_loss", "train_acc", "test_loss", "test_acc", "stretch_loss", "stretch_end"):
        assert getattr(resumed, metric) == getattr(uninterrupted, metric), metric


def test_the_training_loss_is_kept_every_few_steps_weighted_by_images_like_the_epochs():
    torch.manual_seed(0)
    model = tiny_vgg()
    images, labels = torch.randn(40, 3, 32, 32), torch.arange(40) % 3
    loader = [(images[start:start + 16], labels[start:start + 16]) for start in range(0, 40, 16)]  # 16, 16, 8 images
    trained = train.train_one_epoch(model, loader, train.make_optimizer(model), torch.device("cpu"), epoch=2, loss_every=2)
    assert trained.stretch_ends == pytest.approx([1 + 2 / 3, 2.0])  # two steps of three, then the last one
    assert (32 * trained.stretch_losses[0] + 8 * trained.stretch_losses[1]) / 40 == pytest.approx(trained.loss)
    assert trained.stretch_losses[0] != trained.stretch_losses[1]
    with pytest.raises(ValueError, match="loss_every must be a whole number of steps of at least 1, got 0"):
        train.train_one_epoch(model, loader, train.make_optimizer(model), torch.device("cpu"), loss_every=0)


def test_a_run_records_its_training_loss_between_the_epochs():
    history = run(2, batch_size=8)  # 48 images: six steps an epoch, so one stretch of 8 steps each
    assert history.stretch_end == [1.0, 2.0] and history.stretch_loss == pytest.approx(history.train_loss)
    assert history.info["loss_every"] == train.LOSS_EVERY


def test_different_seeds_give_different_runs():
    assert run(1, seed=0).train_loss != run(1, seed=1).train_loss


def test_history_records_every_epoch_and_round_trips_through_json(tmp_path):
    history = run(2)
    assert history.epochs == [1, 2] and len(history.seconds) == 2 and history.total_seconds > 0
    assert all(0 <= acc <= 1 for acc in history.train_acc + history.test_acc)
    assert history.info["parameters"] == models.count_parameters(tiny_vgg())
    history.save(tmp_path / "history.json")
    loaded = History.load(tmp_path / "history.json")
    assert loaded == history and loaded.final()["total_seconds"] == pytest.approx(history.total_seconds)


def test_non_finite_loss_stops_training_naming_epoch_and_step(tmp_path):
    model = tiny_vgg()
    with torch.no_grad():
        model.classifier[-1].bias.fill_(float("nan"))
    with pytest.raises(train.NonFiniteLossError, match="epoch 1, step 1"):
        fit(model, random_split(32), random_split(8, name="test"), tiny_recipe(epochs=2), checkpoint=tmp_path / "c.pt")
    assert not (tmp_path / "c.pt").exists()


def test_resume_refuses_a_checkpoint_of_another_model(tmp_path):
    checkpoint = tmp_path / "checkpoint.pt"
    fit(tiny_vgg(), random_split(16), random_split(8, name="test"), tiny_recipe(), checkpoint=checkpoint)
    with pytest.raises(CheckpointError, match="model 'vgg11', not 'resnet18'"):
        fit(models.resnet18(), random_split(16), random_split(8, name="test"), tiny_recipe(model="resnet18", epochs=2),
            checkpoint=checkpoint, resume=True)  # fmt: skip


def test_fit_returns_its_final_test_pass_and_records_the_recipe():
    torch.manual_seed(0)
    recipe = tiny_recipe(epochs=2, lr=0.02, seed=4)
    test_split = random_split(24, seed=1, name="test")
    result = fit(tiny_vgg(), random_split(48), test_split, recipe)
    assert result.evaluation.accuracy == result.history.test_acc[-1]
    assert result.evaluation.loss == result.history.test_loss[-1]
    assert torch.equal(result.evaluation.targets, test_split.labels)
    info = result.history.info
    assert (info["model"], info["lr"], info["seed"], info["epochs"], info["batch_size"]) == ("vgg11", 0.02, 4, 2, 16)
    assert info["classes"] == ["a", "b", "c"] and info["bf16"] is False and info["channels_last"] is True
    # Provenance: what made the numbers, down to the pixels trained on.
    assert {"labkit", "torch", "torchvision", "numpy", "Pillow"} <= set(info["versions"])
    assert info["data"]["train_sha256"] == random_split(48).checksum() != info["data"]["test_sha256"]
    assert info["commit"] is None or len(info["commit"].split("+")[0]) == 40  # a checkout's commit, else None


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no usable CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("gpu0")


# --------------------------------------------------------------------------- checkpoints


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint({"epoch": 1, "weights": torch.ones(3)}, path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # the kill arrives between writing the temporary file and the rename

    monkeypatch.setattr("labkit.files.os.replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({"epoch": 2, "weights": torch.zeros(3)}, path)
    state = load_checkpoint(path)
    assert state["epoch"] == 1 and torch.equal(state["weights"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


class Payload:
    pass


def test_checkpoint_holding_a_pickled_object_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": 1, "epoch": 1, "payload": Payload()}, path)
    with pytest.raises(CheckpointError, match="objects other than tensors"):
        load_checkpoint(path)


def test_truncated_checkpoint_is_reported(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint({"epoch": 1, "weights": torch.ones(1000)}, path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="damaged or truncated"):
        load_checkpoint(path)


@pytest.mark.shared_data
def test_vgg16_learns_on_real_images(shared_data):
    """Four epochs (20 steps) on 150 real images cut the lab model's training loss clearly.

    Two epochs were too few: whether the second epoch's loss is lower then
    depends on rounding (it flipped when channels_last became the CPU default).
    """
    torch.manual_seed(0)
    split = load_split("train", root=shared_data, per_class=50)
    history = fit(models.vgg16(), split, split, Recipe(epochs=4, batch_size=32)).history
    assert history.train_loss[-1] < 0.85 * history.train_loss[0]  # measured: 1.14 -> 0.75


def test_resume_from_a_checkpoint_not_written_by_fit_names_what_is_missing(tmp_path):
    checkpoint = tmp_path / "checkpoint.pt"
    save_checkpoint({"epoch": 1, "weights": torch.ones(2)}, checkpoint)
    with pytest.raises(CheckpointError, match="lacks model, history, rng"):
        fit(tiny_vgg(), random_split(8), random_split(8, name="test"), tiny_recipe(epochs=2), checkpoint=checkpoint,
            resume=True)  # fmt: skip


def test_resume_reads_the_checkpoint_onto_the_cpu_and_takes_any_rng_state_tensor(tmp_path, monkeypatch):
    # On a GPU, reading a checkpoint onto the device moved its RNG states there, and the RNG setters
    # take CPU byte tensors only. Here the saved state is an int64 tensor, as such a move can leave it.
    uninterrupted = run(2)
    checkpoint = tmp_path / "checkpoint.pt"
    run(2, checkpoint, stop=1)
    state = load_checkpoint(checkpoint)
    state["rng"]["torch"] = state["rng"]["torch"].long()
    save_checkpoint({key: value for key, value in state.items() if key != "format"}, checkpoint)
    read_onto = []
    original = train.load_checkpoint
    monkeypatch.setattr(train, "load_checkpoint", lambda path, map_location: read_onto.append(map_location)
                        or original(path, map_location=map_location))  # fmt: skip
    resumed = run(2, checkpoint, resume=True)
    assert read_onto == ["cpu"]
    assert resumed.train_loss == uninterrupted.train_loss and resumed.test_acc == uninterrupted.test_acc


@pytest.mark.parametrize(
    ("changed", "named"),
    [({"lr": 0.02}, "lr 0.01, not 0.02"), ({"epochs": 3}, "epochs 2, not 3"), ({"batch_size": 8}, "batch_size 16, not 8"),
     ({"seed": 1}, "seed 0, not 1"), ({"momentum": 0.5}, "momentum 0.9, not 0.5")],
)  # fmt: skip
def test_resume_with_other_settings_is_refused_naming_each_difference(tmp_path, changed, named):
    checkpoint = tmp_path / "checkpoint.pt"
    run(2, checkpoint, stop=1)
    before = checkpoint.read_bytes()
    settings = {"epochs": 2, **changed}
    with pytest.raises(CheckpointError, match=named):
        run(settings.pop("epochs"), checkpoint, resume=True, **settings)
    assert checkpoint.read_bytes() == before


def test_resuming_a_finished_checkpoint_tests_its_weights_again_without_training(tmp_path):
    checkpoint = tmp_path / "checkpoint.pt"
    finished = run(1, checkpoint)
    again = run(1, checkpoint, resume=True)
    assert again.epochs == [1] and again.test_acc == finished.test_acc and again.finished


def test_weights_made_non_finite_by_an_epochs_last_update_are_never_saved_and_a_lower_lr_recovers(tmp_path):
    # Each epoch is one step, so the poisoned update is the epoch's last one and its loss was still finite.
    torch.manual_seed(0)
    model, armed = tiny_vgg(), {"on": False}
    model.classifier[-1].weight.register_hook(lambda grad: grad * float("nan") if armed["on"] else grad)
    train_split, test_split = random_split(16), random_split(8, name="test")
    recipe = tiny_recipe(epochs=3, batch_size=16)
    checkpoint = tmp_path / "checkpoint.pt"

    def arm(epoch, history):
        armed["on"] = True

    with pytest.raises(train.DivergedError, match="weights .*epoch 2.*--allow-change lr"):
        fit(model, train_split, test_split, recipe, checkpoint=checkpoint, on_epoch_end=arm)
    saved = load_checkpoint(checkpoint)
    assert saved["epoch"] == 1 and all(torch.isfinite(t).all() for t in saved["model"].values())

    armed["on"] = False
    with pytest.raises(CheckpointError, match="lr 0.01, not 0.001.*--allow-change for lr"):
        fit(tiny_vgg(), train_split, test_split, tiny_recipe(epochs=3, batch_size=16, lr=0.001), checkpoint=checkpoint,
            resume=True)  # fmt: skip
    resumed = fit(tiny_vgg(), train_split, test_split, tiny_recipe(epochs=3, batch_size=16, lr=0.001),
                  checkpoint=checkpoint, resume=True, allow_changes=("lr",))  # fmt: skip
    assert resumed.history.epochs == [1, 2, 3] and resumed.history.info["lr"] == 0.001
    assert resumed.history.info["changes"] == [{"from_epoch": 2, "lr": [0.01, 0.001]}]


def test_a_finished_runs_checkpoint_keeps_the_weights_only_unless_asked(tmp_path):
    run(1, tmp_path / "weights.pt")
    assert "optimizer" not in load_checkpoint(tmp_path / "weights.pt")
    torch.manual_seed(0)
    fit(tiny_vgg(), random_split(48), random_split(24, seed=1, name="test"), tiny_recipe(),
        checkpoint=tmp_path / "full.pt", keep_optimizer_state=True)  # fmt: skip
    assert "optimizer" in load_checkpoint(tmp_path / "full.pt")


def test_a_validation_hold_out_leaves_training_and_is_measured_every_epoch():
    from labkit.data import hold_out

    train_split = random_split(48)  # 16 images per class, labels 0,1,2,0,1,2,...
    kept, held = hold_out(train_split, 4)
    assert (len(kept), len(held), held.name) == (36, 12, "validation")
    assert torch.equal(held.images[:4], train_split.images[torch.arange(36, 48, 3)])  # the last 4 of class a
    with pytest.raises(ValueError, match="too few to hold out 16"):
        hold_out(train_split, 16)

    result = fit(tiny_vgg(), train_split, random_split(12, seed=1, name="test"), tiny_recipe(epochs=2, val_per_class=4))
    history = result.history
    assert len(history.val_acc) == len(history.val_loss) == 2 and "val_acc" in history.final()
    assert (history.info["train_images"], history.info["val_images"], history.info["val_per_class"]) == (36, 12, 4)
    again = History.from_dict(json.loads(json.dumps(history.to_dict())))
    assert again.val_acc == history.val_acc
    assert "val_acc" not in fit(tiny_vgg(), train_split, train_split, tiny_recipe()).history.to_dict()


def test_validation_metrics_come_in_pairs_for_every_epoch_or_none():
    history = History()
    metrics = {"train_loss": 1.0, "train_acc": 0.5, "test_loss": 1.0, "test_acc": 0.5, "seconds": 1.0}
    with pytest.raises(ValueError, match="come as a pair"):
        history.append(1, **metrics, val_acc=0.5)
    history.append(1, **metrics, val_loss=1.0, val_acc=0.5)
    with pytest.raises(ValueError, match="every epoch of a run has validation metrics, or none"):
        history.append(2, **metrics)


@pytest.mark.parametrize(("settings", "message"), [
    ({"val_per_class": 0}, "at least 1"),
    ({"val_per_class": 1000, "per_class": 1000}, "leaves none to train on; hold out fewer than 1000"),
    ({"val_per_class": 5000}, "hold out fewer than 5000"),
])  # fmt: skip
def test_a_hold_out_that_leaves_nothing_to_train_on_is_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        tiny_recipe(**settings)
