import json
import subprocess
import sys

import pytest

from labkit import cli

SMALL = ["--model", "vgg11", "--profile", "full", "--epochs", "1", "--batch-size", "8", "--per-class", "4", "--no-progress", "--device", "cpu"]


def train(image_folder, out, *extra):
    return cli.main(["train", "--data", str(image_folder), "--out", str(out), *SMALL, *extra])


def test_help_documents_every_option():
    parser = cli.build_parser()
    train_parser = parser._subparsers._group_actions[0].choices["train"]
    text = train_parser.format_help()
    for action in train_parser._actions:
        for option in action.option_strings:
            assert option in text
        assert action.help, f"{action.option_strings} has no help text"


def test_help_shows_a_default_of_zero_and_leaves_out_an_unset_one():
    parser = cli.build_parser()
    text = " ".join(parser._subparsers._group_actions[0].choices["questions"].format_help().split())
    assert "augmentation (default: 0)" in text and "(default: None)" not in text


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "labkit", "train", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--per-class" in result.stdout


def test_train_writes_history_checkpoint_and_figures(image_folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(image_folder, out) == 0
    assert {p.name for p in out.iterdir()} == {"history.json", "test_predictions.json", "checkpoint.pt", "curves.png", "predictions.png", "confusion.png"}
    history = json.loads((out / "history.json").read_text())
    assert history["finished"] and history["epochs"] == [1]
    assert history["info"]["model"] == "vgg11" and history["info"]["train_images"] == 12
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and "train accuracy" in printed


def test_refuses_to_overwrite_a_finished_run_unless_told(image_folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(image_folder, out) == 0
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert train(image_folder, out) == 2
    assert "already holds a finished run" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    assert train(image_folder, out, "--overwrite") == 0


def test_resume_continues_an_unfinished_run(image_folder, tmp_path, capsys, monkeypatch):
    import labkit.pipeline

    original = labkit.pipeline.fit

    def interrupted_after_epoch_1(*args, **kwargs):
        def stop(epoch, history):
            if epoch == 1:
                raise KeyboardInterrupt  # Ctrl-C once the first checkpoint is written

        return original(*args, **kwargs, on_epoch_end=stop)

    out = tmp_path / "run"
    monkeypatch.setattr(labkit.pipeline, "fit", interrupted_after_epoch_1)
    assert train(image_folder, out, "--epochs", "2") == 130
    assert "with --resume" in capsys.readouterr().err
    monkeypatch.setattr(labkit.pipeline, "fit", original)
    assert train(image_folder, out, "--epochs", "2") == 2
    assert "--resume" in capsys.readouterr().err
    assert train(image_folder, out, "--epochs", "2", "--resume") == 0
    assert json.loads((out / "history.json").read_text())["epochs"] == [1, 2]
    assert "resumed from" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--model", "vgg17"], "unknown model 'vgg17'"),
        (["--classes", "airplane,plane"], "unknown class name"),
        (["--per-class", "99"], "per-class limit 99 is larger"),
    ],
)
def test_bad_input_exits_2_with_one_readable_line(image_folder, tmp_path, capsys, arguments, message):
    out = tmp_path / "run"
    assert train(image_folder, out, *arguments) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error
    assert not out.exists() or not any(out.iterdir())


def test_invalid_numbers_are_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--out", "x", "--epochs", "0"])
    assert exit_info.value.code == 2 and "at least 1" in capsys.readouterr().err


def test_an_interrupted_overwrite_leaves_the_previous_run_as_it_was(image_folder, tmp_path, monkeypatch):
    import labkit.pipeline

    out = tmp_path / "run"
    assert train(image_folder, out) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    original = labkit.pipeline.fit

    def interrupted_after_epoch_1(*args, **kwargs):
        def stop(epoch, history):
            raise KeyboardInterrupt  # the new run's first checkpoint is written, then Ctrl-C

        return original(*args, **kwargs, on_epoch_end=stop)

    monkeypatch.setattr(labkit.pipeline, "fit", interrupted_after_epoch_1)
    assert train(image_folder, out, "--overwrite", "--epochs", "2", "--seed", "1") == 130
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    monkeypatch.setattr(labkit.pipeline, "fit", original)
    assert train(image_folder, out, "--overwrite", "--seed", "1") == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(before)
    assert json.loads((out / "history.json").read_text())["info"]["seed"] == 1


def test_an_experiment_writes_its_results_and_keeps_them_unless_told(shared_data, tmp_path, capsys):
    out = tmp_path / "depth"
    command = ["experiment", "depth", "--profile", "smoke", "--data", str(shared_data), "--out", str(out), "--device", "cpu"]
    assert cli.main(command) == 0
    saved = json.loads((out / "results.json").read_text())
    assert [row["model"] for row in saved["rows"]] == ["vgg11", "vgg13", "vgg16", "vgg19"]
    assert (out / "curves.png").is_file()
    printed = capsys.readouterr().out
    assert "| D (VGG16) | 16 | 33,617,987 | 27.0 / 8.8 |" in printed and "A and D" in printed
    before = (out / "results.json").read_bytes()
    assert cli.main(command) == 2
    assert "already holds an experiment's results" in capsys.readouterr().err
    assert (out / "results.json").read_bytes() == before


def test_the_protocol_experiment_tests_a_trained_vgg16_from_its_run_folder(shared_data, tmp_path, capsys):
    run = tmp_path / "vgg16"
    assert cli.main(["train", "--data", str(shared_data), "--out", str(run), "--model", "vgg16", "--profile", "smoke",
                     "--no-progress", "--device", "cpu"]) == 0  # fmt: skip
    out = tmp_path / "protocol"
    assert cli.main(["experiment", "protocol", "--profile", "smoke", "--data", str(shared_data), "--out", str(out),
                     "--from", str(run), "--device", "cpu"]) == 0  # fmt: skip
    saved = json.loads((out / "results.json").read_text())
    trained = json.loads((run / "history.json").read_text())
    single = next(row for row in saved["rows"] if row["protocol"] == "single")
    assert single["accuracy"] == pytest.approx(trained["test_acc"][-1])  # the same weights, the same test images
    assert "training VGG16 first" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [(["experiment", "depth", "--from", "runs/x"], "--from is for the protocol experiment"),
     (["experiment", "protocol", "--from", "nowhere"], "holds no finished run"),
     (["experiment", "width"], "invalid choice: 'width'")],
)  # fmt: skip
def test_a_bad_experiment_command_says_what_to_change(arguments, message, tmp_path, capsys, image_folder):
    try:
        code = cli.main([*arguments, "--out", str(tmp_path / "out"), "--data", str(image_folder), "--profile", "smoke"])
    except SystemExit as exit:  # argparse's own refusal
        code = exit.code
    assert code == 2 and message in capsys.readouterr().err
