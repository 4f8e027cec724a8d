import json

import pytest
import torch

from labkit import experiment_tables, experiments, lab, models, papers
from labkit.bench import synthetic_split
from labkit.data import Split
from labkit.experiments import ExperimentResult


@pytest.fixture(scope="module")
def splits():
    test = synthetic_split(36, seed=1, name="test")
    balanced = Split(test.images, torch.arange(36) % 3, test.classes, "test")  # 12 of each class
    return synthetic_split(24, seed=0), balanced


@pytest.fixture(scope="module")
def depth_result(splits):
    return experiments.depth(profile="smoke", splits=splits, device="cpu", bf16=False, log=None)


def test_depth_trains_configurations_a_b_d_e_alike_on_one_split(depth_result, splits):
    assert [row["model"] for row in depth_result.rows] == list(lab.EXPERIMENTS["depth"].models)
    assert [row["parameters"] for row in depth_result.rows] == [
        models.count_parameters(models.build(name)) for name in lab.EXPERIMENTS["depth"].models
    ]
    scale = lab.SMOKE.for_experiment("depth")
    for history in depth_result.histories.values():
        assert history.epochs == list(range(1, scale.epochs + 1))
        assert history.info["train_images"] == len(splits[0]) and history.info["seed"] == 0
    assert depth_result.info["profile"] == "smoke" and depth_result.info["test_images"] == len(splits[1])


def test_an_experiment_saves_json_and_figures_and_keeps_an_earlier_result(depth_result, tmp_path):
    experiments.save(depth_result, tmp_path)
    assert (tmp_path / "curves.png").stat().st_size > 0
    loaded = ExperimentResult.load(tmp_path / experiments.RESULTS)
    assert loaded.rows == json.loads(json.dumps(depth_result.rows)) and set(loaded.histories) == set(depth_result.histories)
    before = (tmp_path / experiments.RESULTS).read_bytes()
    with pytest.raises(ValueError, match="already holds an experiment's results.*--overwrite"):
        experiments.save(depth_result, tmp_path)
    assert (tmp_path / experiments.RESULTS).read_bytes() == before
    experiments.save(depth_result, tmp_path, replace_existing=True)


def test_the_depth_table_is_in_the_papers_layout_with_its_numbers(depth_result):
    table = experiment_tables.table(depth_result)
    lines = table.splitlines()
    assert len(lines) == 2 + 4
    for line, config in zip(lines[2:], "ABDE"):
        top1, top5 = papers.VGG_DEPTH[config]
        assert line.startswith(f"| {config} (VGG") and f"| {top1} / {top5} |" in line
    assert "| D (VGG16) | 16 | 33,617,987 |" in table and "| +0.0 |" in lines[4] and lines[4].endswith("| +0.00 |")


def fake(name, rows, test_images=300):
    info = {"train_images": 3000, "epochs": 6, "test_images": test_images, "profile": "quick", "device_name": "CPU",
            "bf16": True, "sizes": [32, 64, 96]}  # fmt: skip
    return ExperimentResult(name, rows, info)


def degradation_rows(plain20, plain56, resnet20, resnet56):
    rows = []
    for model, (train_acc, test_acc) in {"plain20": plain20, "resnet20": resnet20, "plain56": plain56, "resnet56": resnet56}.items():
        rows.append({"model": model, "parameters": 1, "train_acc": train_acc, "test_acc": test_acc,
                     "test_correct": round(test_acc * 300), "seconds": 1.0})  # fmt: skip
    return rows


def test_the_degradation_text_says_whether_the_papers_sign_flip_reproduces():
    holds = fake("degradation", degradation_rows((0.80, 0.78), (0.70, 0.69), (0.82, 0.75), (0.86, 0.84)))
    text = experiment_tables.conclusion(holds)
    assert "plain-56 ends with higher training error than plain-20 (30.00% against 20.00%)" in text
    assert "the degradation problem reproduces" in text and "residual nets reproduces" in text
    assert "sign flip (depth hurts the plain net and helps the residual one) holds here" in text
    assert "8.75% and 6.97%" in text and "about 164 epochs of 50,000 images" in text
    fails = fake("degradation", degradation_rows((0.70, 0.68), (0.80, 0.79), (0.86, 0.84), (0.82, 0.75)))
    text = experiment_tables.conclusion(fails)
    assert "the degradation problem is reversed" in text and "residual nets is reversed" in text
    assert "is not seen here" in text
    # 300 test images resolve no difference of one point
    close = fake("degradation", degradation_rows((0.80, 0.78), (0.70, 0.69), (0.82, 0.80), (0.83, 0.81)))
    text = experiment_tables.conclusion(close)
    assert "ResNet-56 and ResNet-20 end with test error that cannot be told apart" in text
    assert "residual nets is not resolved at this budget" in text and "is not seen here" in text
    table = experiment_tables.table(holds)
    assert "| 20 | 8.75% | 20.00% | 22.00% | 18.00% | 25.00% | +3.00 |" in table


def depth_rows(accuracies):
    return [{"model": papers.VGG_CONFIGURATIONS[c], "parameters": 1, "train_acc": 0.9, "test_acc": a,
             "test_correct": round(a * 1500)} for c, a in zip("ABDE", accuracies)]  # fmt: skip


@pytest.mark.parametrize(
    ("accuracies", "says"),
    [((0.80, 0.82, 0.86, 0.85), "deeper is better reproduces from A to D: D is 6.00 points above A"),
     ((0.86, 0.84, 0.80, 0.81), "the paper's order is reversed from A to D"),
     ((0.85, 0.85, 0.855, 0.85), "A and D cannot be told apart here")],
)  # fmt: skip
def test_the_depth_text_follows_the_numbers(accuracies, says):
    assert says in experiment_tables.conclusion(fake("depth", depth_rows(accuracies), test_images=1500))


def test_the_protocol_experiment_tests_every_protocol_on_the_profiles_test_subset(splits):
    torch.manual_seed(0)
    model = models.vgg11(hidden=32).train()
    result = experiments.protocol(model, splits[1], profile="smoke", device="cpu", bf16=False, log=None)
    assert [row["protocol"] for row in result.rows] == ["single", "flip", "dense", "dense+flip"]
    assert result.info["test_images"] == 3 * lab.SMOKE.for_experiment("protocol").test_per_class
    assert [row["views"] for row in result.rows] == [1, 2, 3, 6]
    table = experiment_tables.table(result)
    assert "| dense+flip | 6 | 32, 64, 96 |" in table and "| single | 1 | 32 |" in table and "+0.00 |" in table
    assert "three test scales instead of one (both dense, with the mirror) took 0.8 points" in experiment_tables.conclusion(result)
    assert model.training and result.info["model"] == "vgg16"  # handed back as it came
    assert "| dense, three scales | 24.8 / 7.5 | -0.8 |" in experiment_tables.paper_protocol_table()


def test_an_unknown_experiment_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown experiment 'width'; choose one of depth, protocol, degradation"):
        experiments.train_models("width")
    with pytest.raises(ValueError, match="trains no models"):
        experiments.train_models("protocol")
