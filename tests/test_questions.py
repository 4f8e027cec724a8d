"""The lab's open questions: each notebook's variants trained alike, and conclusions chosen by the numbers."""

import dataclasses
import shutil

import pytest
import torch

from labkit import cli, lab, question_tables, questions
from labkit.bench import synthetic_split
from labkit.data import Split
from labkit.experiments import ExperimentResult
from labkit.history import History


@pytest.fixture(scope="module")
def splits():
    test = synthetic_split(12, seed=1, name="test")
    return synthetic_split(12, seed=0), Split(test.images, torch.arange(12) % 3, test.classes, "test")


@pytest.fixture(scope="module")
def vgg_questions(splits):
    return questions.run("vgg16", "smoke", splits=splits, device="cpu", bf16=False, log=None)


def test_each_notebook_asks_its_own_questions_and_the_schedule_and_improved_ones():
    assert lab.questions_of("vgg16") == ("dropout", "schedule", "improved")
    assert lab.questions_of("resnet50") == ("longer", "schedule", "improved")
    assert lab.question_variants("vgg16") == ("lab", "dropout", lab.SCHEDULE_VARIANT, "improved")
    assert lab.question_variants("resnet50") == ("lab", "longer", lab.SCHEDULE_VARIANT, "improved")


def test_the_questions_run_at_the_profiles_size_for_them_and_full_is_the_lab_itself():
    for model in lab.LABS:
        assert lab.question_recipe(model, "lab", "full") == lab.recipe(model, "full")
        quick = lab.question_recipe(model, "lab", "quick")
        scale = lab.QUICK.for_questions(model)
        assert (quick.epochs, quick.per_class, quick.test_per_class) == (scale.epochs, scale.per_class, scale.test_per_class)
        assert lab.question_recipe(model, "improved", "quick").epochs == 2 * quick.epochs
    assert lab.question_recipe("resnet50", "longer", "full").epochs == 30


def test_every_variant_trains_on_the_same_split_and_is_scored_on_the_same_images(vgg_questions, splits):
    rows = {row["variant"]: row for row in vgg_questions.rows}
    assert list(rows) == list(lab.question_variants("vgg16"))
    assert vgg_questions.info["targets"] == splits[1].labels.tolist()
    for variant, row in rows.items():
        history = vgg_questions.histories[variant]
        assert history.info["variant"] == variant and history.info["train_images"] == len(splits[0])
        assert len(row["predictions"]) == len(splits[1]) and not row["reused"]
        assert row["epochs"] == len(history.epochs) == lab.question_recipe("vgg16", variant, "smoke").epochs
    assert (vgg_questions.histories["dropout"].info["dropout"], rows["improved"]["schedule"]) == (0.5, "cosine")
    improved = vgg_questions.histories["improved"].lr
    assert improved[0] == 0.01 and all(a > b for a, b in zip(improved, improved[1:]))


def test_each_question_saves_its_own_figure_and_an_earlier_result_is_kept(vgg_questions, tmp_path):
    figures = questions.save(vgg_questions, tmp_path)
    assert sorted(figures) == sorted(lab.questions_of("vgg16"))
    assert all((tmp_path / f"{name}.png").stat().st_size > 0 for name in figures)
    loaded = ExperimentResult.load(tmp_path / questions.RESULTS)
    assert question_tables.table(loaded, "dropout") == question_tables.table(vgg_questions, "dropout")
    with pytest.raises(ValueError, match="already holds an experiment's results"):
        questions.save(vgg_questions, tmp_path)


def test_a_replaced_result_takes_its_figures_with_it_and_leaves_other_files(vgg_questions, tmp_path):
    questions.save(vgg_questions, tmp_path)
    (tmp_path / "notes.png").write_bytes(b"the reader's own")
    longer = answered("longer", [True] * 50 + [False] * 50, [True] * 60 + [False] * 40)
    longer.info["title"] = "ResNet50"
    questions.save(longer, tmp_path, replace_existing=True)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["longer.png", "notes.png", questions.RESULTS]


def test_the_notebooks_own_run_is_the_faithful_row_when_it_is_that_run(splits, monkeypatch):
    from labkit import pipeline, train

    recipe = lab.question_recipe("resnet50", "lab", "smoke", bf16=False)
    own = train.fit(pipeline.build_model(recipe), *splits, recipe, device="cpu", progress=False, log=None)
    trained = []
    monkeypatch.setattr(questions, "fit", lambda model, train_split, test_split, recipe, **_: trained.append(recipe.variant)
                        or own)  # fmt: skip
    result = questions.run("resnet50", "smoke", splits=splits, device="cpu", bf16=False, baseline=own, log=None)
    assert trained == ["longer", lab.SCHEDULE_VARIANT, "improved"] and result.rows[0]["reused"]
    assert f"| {own.history.total_seconds:.0f} s (the lab run, reused) |" in question_tables.table(result, "longer")
    logged = []
    for changed in ({"seed": 1}, {"changes": [{"from_epoch": 2, "lr": [0.01, 0.001]}]}):
        trained.clear()
        other = dataclasses.replace(own, history=History.from_dict({**own.history.to_dict(),
                                                                    "info": {**own.history.info, **changed}}))  # fmt: skip
        questions.run("resnet50", "smoke", splits=splits, device="cpu", bf16=False, baseline=other, log=logged.append)
        assert trained[0] == "lab"  # not this recipe's run: trained again
    assert "its seed is 1, not 0" in logged[0] and "resumed with changed settings" in "".join(logged)
    swapped = (splits[1], splits[0])  # the same counts, other images
    assert questions._why_not_run_of(own.history, recipe, swapped, False) == "it trained or tested on other images"


def test_a_profile_that_skips_a_labs_questions_says_why_and_what_they_would_cost(capsys, tmp_path):
    assert lab.questions_skipped("vgg16", "quick") is None
    assert all(lab.questions_skipped(model, profile) is None for model in lab.LABS for profile in ("full", "smoke"))
    # At the quick run's own size: 10 epochs longer, 5 cosine, 10 improved, against the lab run's 5.
    extra = sum(lab.question_recipe("resnet50", variant, "quick").epochs for variant in ("longer", "cosine", "improved"))
    reason = lab.questions_skipped("resnet50", "quick")
    assert extra == 25 and f"train {extra} more epochs, 5 times the lab run" in reason and "full profile" in reason
    with pytest.raises(ValueError, match="does not ask the ResNet50 lab's open questions"):
        questions.run("resnet50", "quick", data_root=tmp_path / "no-data", log=None)  # before any data is read
    assert cli.main(["questions", "--model", "resnet50", "--profile", "quick", "--out", str(tmp_path / "out")]) == 2
    assert reason in capsys.readouterr().err and not (tmp_path / "out").exists()


@pytest.mark.shared_data
def test_a_finished_run_given_on_the_command_line_stands_as_the_lab_row(shared_data, tmp_path, capsys):
    scale = lab.SMOKE.for_questions("vgg16")
    trained = tmp_path / "lab-run"
    assert cli.main(["train", "--model", "vgg16", "--profile", "smoke", "--epochs", str(scale.epochs), "--per-class",
                     str(scale.per_class), "--test-per-class", str(scale.test_per_class), "--data", str(shared_data),
                     "--device", "cpu", "--out", str(trained), "--no-progress"]) == 0  # fmt: skip
    out = tmp_path / "questions"
    assert cli.main(["questions", "--model", "vgg16", "--profile", "smoke", "--data", str(shared_data), "--out", str(out),
                     "--device", "cpu", "--lab-run", str(trained)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "vgg16 lab (2 epochs)" in printed and f"; the lab row is the run in {trained}" in printed
    assert "trains lab" not in printed
    import json

    saved = json.loads((out / questions.RESULTS).read_text())
    lab_row = saved["rows"][0]
    assert lab_row["reused"] and lab_row["predictions"] == json.loads((trained / lab.PREDICTIONS).read_text())["predictions"]


def test_a_folder_that_holds_no_finished_run_is_refused_before_any_training(tmp_path, capsys):
    from labkit import artefacts

    with pytest.raises(FileNotFoundError, match="holds no history.json or test_predictions.json"):
        artefacts.load_run(tmp_path)
    unfinished = History(info={"model": "vgg16"})
    unfinished.append(1, train_loss=1.0, train_acc=0.5, test_loss=1.0, test_acc=0.5, seconds=1.0)
    unfinished.save(tmp_path / lab.HISTORY)
    (tmp_path / lab.PREDICTIONS).write_text('{"targets": [0, 1], "predictions": [0, 0]}')
    with pytest.raises(ValueError, match="has not finished"):
        artefacts.load_run(tmp_path)
    (tmp_path / lab.PREDICTIONS).write_text('{"targets": [0, 1')
    with pytest.raises(ValueError, match="is incomplete"):
        artefacts.load_run(tmp_path)
    arguments = ["questions", "--model", "vgg16", "--profile", "smoke", "--out", str(tmp_path / "out"), "--lab-run"]
    assert cli.main([*arguments, str(tmp_path / "nowhere")]) == 2
    assert "not a finished run's folder" in capsys.readouterr().err


def test_a_model_no_question_is_asked_of_is_refused():
    with pytest.raises(ValueError, match="asked of resnet50 and vgg16, not 'vgg11'"):
        questions.run("vgg11", "smoke", log=None)


def answered(question, faithful_right, variant_right, profile="quick", swing=0.01, accuracy=None):
    """A result in which the faithful recipe and the question's variant got these test images right."""
    total = len(faithful_right)
    variant = lab.QUESTIONS[question].variant

    def row(name, right, epochs):
        history = History()
        for epoch in range(1, epochs + 1):
            history.append(epoch, train_loss=1.0, train_acc=0.99, test_loss=1.0, test_acc=sum(right) / total, seconds=1.0)
        share = sum(right) / total if accuracy is None or name == "lab" else accuracy
        return history, {"variant": name, "epochs": epochs, "train_acc": 0.99, "test_acc": share, "test_correct": sum(right),
                         "best_test_acc": share, "best_epoch": epochs, "swing": swing, "seconds": 1.0, "schedule": "cosine",
                         "predictions": [0 if good else 1 for good in right]}  # fmt: skip

    made = {name: row(name, right, 4 if name == "lab" else 8) for name, right in (("lab", faithful_right), (variant, variant_right))}
    info = {"profile": profile, "train_images": 100, "test_images": total, "seed": 0, "device_name": "CPU", "swing_epochs": 5,
            "targets": [0] * total, "questions": [question], "classes": list(lab.LAB_CLASSES)}  # fmt: skip
    return ExperimentResult("questions", [row for _, row in made.values()], info, {n: h for n, (h, _) in made.items()})


def test_a_gain_the_paired_test_resolves_confirms_the_suggestion_and_one_it_cannot_does_not():
    gained = answered("dropout", [True] * 50 + [False] * 50, [True] * 80 + [False] * 20)
    text = question_tables.conclusion(gained, "dropout")
    assert "raises the final test accuracy by 30.00 points" in text and "holds at this budget" in text
    assert "30 only dropout gets right and 0 only the lab recipe" in text
    lost = question_tables.conclusion(answered("longer", [True] * 80 + [False] * 20, [True] * 50 + [False] * 50), "longer")
    assert "lowers" in lost and "is contradicted at this budget" in lost
    even = question_tables.conclusion(answered("schedule", [True, False] * 50, [False, True] * 50), "schedule")
    assert "do not resolve" in even and "is not confirmed at this budget" in even


def test_the_improved_recipes_goal_is_judged_on_the_full_profile_only():
    right = [True] * 97 + [False] * 3
    met = question_tables.conclusion(answered("improved", right, right, "full", swing=0.003, accuracy=0.97), "improved")
    assert "the goal is met" in met
    swings = question_tables.conclusion(answered("improved", right, right, "full", swing=0.008, accuracy=0.97), "improved")
    assert "the goal is not met" in swings
    quick = question_tables.conclusion(answered("improved", right, right, "quick", swing=0.003, accuracy=0.97), "improved")
    assert "which the goal is not set for" in quick and "goal is met" not in quick and "not met" not in quick
    others = answered("improved", right, right, "full", swing=0.003, accuracy=0.97)
    others.info["classes"] = ["cat", "dog"]
    assert "which the goal is not set for" in question_tables.conclusion(others, "improved")


def test_the_command_line_answers_a_labs_questions_and_keeps_earlier_results(shared_data, tmp_path, capsys):
    out = tmp_path / "questions"
    assert cli.main(["questions", "--model", "resnet50", "--profile", "smoke", "--data", str(shared_data), "--out", str(out),
                     "--device", "cpu"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "## longer: the lab recipe against longer\n\nResNet50 was still converging" in printed
    assert "| longer | 4 |" in printed
    assert {path.name for path in out.iterdir()} == {questions.RESULTS, "longer.png", "schedule.png", "improved.png"}
    assert cli.main(["questions", "--model", "resnet50", "--profile", "smoke", "--out", str(out)]) == 2
    assert "already holds results" in capsys.readouterr().err


def test_a_question_reads_as_its_suggestion_its_table_and_its_conclusion(vgg_questions):
    shown = question_tables.markdown(vgg_questions, "schedule")
    heading, suggestion, *rest = shown.split("\n\n")
    assert heading == f"### schedule: the lab recipe against {lab.SCHEDULE_VARIANT}"
    assert suggestion == "Both papers decayed the learning rate, which the lab left out, so a schedule should help."
    assert question_tables.table(vgg_questions, "schedule") in shown
    assert shown.endswith(question_tables.conclusion(vgg_questions, "schedule"))


def test_the_details_read_the_runs_and_a_short_run_has_no_swing(vgg_questions):
    longer = answered("longer", [True] * 50 + [False] * 50, [True] * 60 + [False] * 40)
    longer.histories["longer"].test_acc[3] = 0.55
    assert "Over its last 4 epochs the longer run's test accuracy went from 55.00% (epoch 4) to 60.00% (epoch 8)" in (
        question_tables.conclusion(longer, "longer"))  # fmt: skip
    assert "| lab | 2 |" in question_tables.table(vgg_questions, "schedule")
    assert all(row["swing"] is None for row in vgg_questions.rows)  # 2 and 4 epochs: no more than five
    assert "| – |" in question_tables.table(vgg_questions, "schedule")
    assert "too short for a swing" in question_tables.conclusion(vgg_questions, "schedule")
    history = History()
    for epoch, accuracy in enumerate([0.1, 0.5, 0.6, 0.7, 0.6, 0.7], 1):
        history.append(epoch, train_loss=1.0, train_acc=0.5, test_loss=1.0, test_acc=accuracy, seconds=1.0)
    assert history.swing(5) == pytest.approx(0.0837, abs=1e-4) and history.swing(6) is None  # the first climb left out


@pytest.mark.shared_data
def test_a_lab_run_given_by_name_that_cannot_be_the_lab_row_is_refused_before_any_training(
    shared_data, tmp_path, capsys, monkeypatch
):
    scale = lab.SMOKE.for_questions("vgg16")
    trained = tmp_path / "lab-run"
    assert cli.main(["train", "--model", "vgg16", "--profile", "smoke", "--epochs", str(scale.epochs), "--per-class",
                     str(scale.per_class), "--test-per-class", str(scale.test_per_class), "--data", str(shared_data),
                     "--device", "cpu", "--out", str(trained), "--no-progress"]) == 0  # fmt: skip
    capsys.readouterr()
    monkeypatch.setattr(questions, "fit", lambda *args, **kwargs: pytest.fail("trained although the run was refused"))
    out = tmp_path / "questions"
    assert cli.main(["questions", "--model", "vgg16", "--profile", "smoke", "--data", str(shared_data), "--out", str(out),
                     "--device", "cpu", "--seed", "1", "--lab-run", str(trained)]) == 2  # fmt: skip
    error = capsys.readouterr().err
    assert "cannot stand as the lab recipe's row" in error and "its seed is 0, not 1" in error
    assert "or none to train that row" in error and not (out / questions.RESULTS).exists()


def cut_short(variant, after_epoch):
    """``fit``, stopped with a Ctrl-C once ``variant`` has trained (and checkpointed) ``after_epoch`` epochs."""
    from labkit import train

    def fit(*args, **kwargs):
        if args[3].variant != variant:
            return train.fit(*args, **kwargs)

        def interrupt(epoch, history):
            if epoch == after_epoch:
                raise KeyboardInterrupt

        return train.fit(*args, on_epoch_end=interrupt, **kwargs)

    return fit


def same_answers(result, other):
    drop = ("seconds",)
    assert [{k: v for k, v in row.items() if k not in drop} for row in result.rows] == [
        {k: v for k, v in row.items() if k not in drop} for row in other.rows
    ]
    assert {name: h.test_acc for name, h in result.histories.items()} == {n: h.test_acc for n, h in other.histories.items()}


def test_questions_cut_short_go_on_from_the_rows_and_the_epoch_they_kept(vgg_questions, splits, tmp_path, monkeypatch):
    from labkit import train

    keep = tmp_path / "kept"
    asked = dict(splits=splits, device="cpu", bf16=False, keep=keep, log=None)
    monkeypatch.setattr(questions, "fit", cut_short(lab.SCHEDULE_VARIANT, after_epoch=1))
    with pytest.raises(KeyboardInterrupt):
        questions.run("vgg16", "smoke", **asked)
    assert sorted(path.name for path in keep.iterdir()) == ["cosine-checkpoint.pt", "dropout.json", "lab.json"]
    alone = tmp_path / "checkpoint-only"
    alone.mkdir()
    shutil.copy2(keep / "cosine-checkpoint.pt", alone)
    with pytest.raises(ValueError, match=r"cosine-checkpoint.pt holds a cosine run .* \(its seed is 0, not 1\)"):
        questions.run("vgg16", "smoke", **{**asked, "keep": alone, "seed": 1})
    calls = []
    monkeypatch.setattr(questions, "fit", lambda *args, **kwargs: calls.append((args[3].variant, kwargs["resume"]))
                        or train.fit(*args, **kwargs))  # fmt: skip
    logged = []
    resumed = questions.run("vgg16", "smoke", **{**asked, "log": logged.append})
    assert calls == [(lab.SCHEDULE_VARIANT, True), ("improved", False)]  # the finished rows are not trained again
    assert logged[0].endswith("s, kept from an earlier call)") and logged[0].startswith("questions: vgg16 lab")
    same_answers(resumed, vgg_questions)  # as if it had never stopped
    assert sorted(path.name for path in keep.iterdir()) == sorted(f"{v}.json" for v in lab.question_variants("vgg16"))


def test_kept_rows_of_other_settings_are_refused_before_any_training(vgg_questions, splits, tmp_path, monkeypatch):
    keep = tmp_path / "kept"
    keep.mkdir()
    for row in vgg_questions.rows:  # as a finished call with this keep leaves it, at seed 0
        questions._keep(keep, row["variant"], row, vgg_questions.histories[row["variant"]])
    monkeypatch.setattr(questions, "fit", lambda *args, **kwargs: pytest.fail("trained although the kept rows were refused"))
    with pytest.raises(ValueError, match=r"lab.json holds a lab run that these questions cannot go on with \(its seed is "
                                         r"0, not 1\).*--overwrite"):  # fmt: skip
        questions.run("vgg16", "smoke", splits=splits, device="cpu", bf16=False, seed=1, keep=keep, log=None)
    assert [row["variant"] for row in questions.run("vgg16", "smoke", splits=splits, device="cpu", bf16=False, keep=keep,
                                                    log=None).rows] == list(lab.question_variants("vgg16"))  # fmt: skip
    (keep / "dropout.json").write_text('{"row": ')
    with pytest.raises(ValueError, match="dropout.json is damaged"):
        questions.run("vgg16", "smoke", splits=splits, device="cpu", bf16=False, keep=keep, log=None)
    (keep / "longer.json").write_text("{}")
    with pytest.raises(ValueError, match="holds longer.json, which no run of these questions writes"):
        questions.run("vgg16", "smoke", splits=splits, device="cpu", bf16=False, keep=keep, log=None)
    started = []

    def first_epoch(*args, **kwargs):
        started.append((args[3].variant, kwargs["resume"]))
        raise KeyboardInterrupt

    monkeypatch.setattr(questions, "fit", first_epoch)
    with pytest.raises(KeyboardInterrupt):  # starting again: what was kept, of any settings, is discarded first
        questions.run("vgg16", "smoke", splits=splits, device="cpu", bf16=False, seed=1, keep=keep, restart=True, log=None)
    assert started == [("lab", False)] and not questions.holds_unfinished(keep)


@pytest.mark.shared_data
def test_an_interrupted_questions_command_keeps_what_it_finished_and_resume_goes_on(shared_data, tmp_path, capsys,
                                                                                    monkeypatch):  # fmt: skip
    out = tmp_path / "questions"
    out.mkdir()
    (out / questions.RESULTS).write_text("{}")  # an earlier result, which --overwrite replaces only at the end
    command = ["questions", "--model", "vgg16", "--profile", "smoke", "--data", str(shared_data), "--out", str(out),
               "--device", "cpu"]  # fmt: skip
    monkeypatch.setattr(questions, "fit", cut_short("dropout", after_epoch=1))
    assert cli.main([*command, "--overwrite"]) == 130
    error = capsys.readouterr().err
    unfinished = out / lab.QUESTIONS_UNFINISHED
    assert f"what the questions finished is kept in {unfinished}" in error
    assert "the same command with --resume in place of --overwrite" in error
    assert (out / questions.RESULTS).read_text() == "{}"
    assert sorted(path.name for path in unfinished.iterdir()) == ["dropout-checkpoint.pt", "lab.json"]
    assert cli.main(command) == 2  # neither going on nor starting again was asked for
    assert "keeps questions cut short; pass --resume" in capsys.readouterr().err and unfinished.is_dir()
    assert cli.main([*command, "--overwrite", "--resume"]) == 2
    assert "contradict each other" in capsys.readouterr().err
    assert cli.main([*command, "--resume"]) == 0  # and it replaces the results, as the --overwrite it goes on with
    printed = capsys.readouterr().out
    assert f"goes on from what {unfinished} keeps" in printed and "vgg16 lab (2 epochs)" in printed
    assert "kept from an earlier call" in printed and "dropout (2 epochs)" in printed and not unfinished.exists()
    assert "resumed from its checkpoint" in printed
    assert [row["variant"] for row in ExperimentResult.load(out / questions.RESULTS).rows] == list(lab.question_variants("vgg16"))
    assert cli.main([*command, "--resume"]) == 2 and "keeps no questions cut short" in capsys.readouterr().err


def test_an_interrupted_questions_command_that_kept_nothing_says_that_nothing_was_written(tmp_path, capsys, monkeypatch,
                                                                                         shared_data):  # fmt: skip
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(questions, "fit", interrupted)
    out = tmp_path / "questions"
    assert cli.main(["questions", "--model", "vgg16", "--profile", "smoke", "--data", str(shared_data), "--out", str(out),
                     "--device", "cpu"]) == 130  # fmt: skip
    error = capsys.readouterr().err
    assert "nothing was written to --out" in error and "--resume" not in error
    assert not (out / lab.QUESTIONS_UNFINISHED).exists()
