"""The benchmark runs end to end in a tiny configuration (a check that it works, not a timing)."""

import json

import pytest

from labkit import cli
from labkit.bench import training_flops_per_image


def test_bench_command_writes_json_and_markdown(tmp_path, capsys):
    json_path, markdown_path = tmp_path / "bench.json", tmp_path / "benchmarks.md"
    code = cli.main(["bench", "--model", "vgg11", "--device", "cpu", "--batch-size", "4", "--eval-batch-size", "8",
                     "--steps", "2", "--rounds", "2", "--warmup", "1", "--workers", "0", "--json", str(json_path),
                     "--markdown", str(markdown_path)])  # fmt: skip
    assert code == 0
    (result,) = json.loads(json_path.read_text())
    speeds = result["images_per_second"]
    assert set(speeds) == {"ceiling", "fast", "reference", "evaluate"} and all(v > 0 for v in speeds.values())
    assert result["ratios"]["fast/ceiling"] == pytest.approx(speeds["fast"] / speeds["ceiling"])
    assert result["ratios"]["fast/reference"] == pytest.approx(speeds["fast"] / speeds["reference"])
    assert set(result["loader_ms_per_batch"]) == {"fast", "reference"}
    assert all(v > 0 for v in result["loader_ms_per_batch"].values())
    assert result["peak_memory_mb"] > 0 and result["train_flops_per_image"] > result["forward_flops_per_image"] > 0
    table = markdown_path.read_text()
    assert all(f"| vgg11 | " in line for line in table.splitlines() if "| fast |" in line or "| reference |" in line)
    assert "Not measured" in table and "2 interleaved rounds of 1" in table
    assert all(len(rates) == 2 for rates in result["round_images_per_second"].values())
    assert "fast/ceiling" in capsys.readouterr().out


def test_flop_counts_of_the_lab_models():
    forward, training = training_flops_per_image("vgg16")
    assert forward == pytest.approx(0.664e9, rel=0.01)  # 13 convs + 3 linears on a 32x32 image
    assert 2.5 < training / forward < 3.5  # backward costs about twice the forward pass


def test_unknown_model_is_refused(capsys):
    assert cli.main(["bench", "--model", "vgg16,lenet"]) == 2
    assert "unknown model(s) lenet" in capsys.readouterr().err
