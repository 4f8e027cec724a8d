"""The benchmark runs end to end in a tiny configuration (a check that it works, not a timing)."""

import json
import statistics

import pytest
import torch

from labkit import cli
from labkit.bench import benchmark_model, format_table, median_interval, training_flops_per_image
from labkit.device import device_settings


def test_bench_command_writes_json_and_markdown(tmp_path, capsys):
    json_path, markdown_path = tmp_path / "bench.json", tmp_path / "benchmarks.md"
    code = cli.main(["bench", "--model", "vgg11", "--device", "cpu", "--batch-size", "4", "--eval-batch-size", "8",
                     "--steps", "3", "--warmup", "1", "--json", str(json_path),
                     "--markdown", str(markdown_path)])  # fmt: skip
    assert code == 0
    (result,) = json.loads(json_path.read_text())
    speeds, turns = result["images_per_second"], result["round_images_per_second"]
    assert set(speeds) == {"ceiling", "fast", "reference", "evaluate"} and all(v > 0 for v in speeds.values())
    # On a CPU the paths take turns one step at a time, and the reference runs without workers.
    assert result["rounds"] == 3 and result["workers"] == 0 and result["channels_last"] is True
    assert all(len(rates) == 3 for rates in turns.values())
    assert speeds["fast"] == pytest.approx(statistics.median(turns["fast"]))
    paired = [fast / ceiling for fast, ceiling in zip(turns["fast"], turns["ceiling"])]
    assert result["ratios"]["fast/ceiling"] == pytest.approx(statistics.median(paired))
    assert result["ratio_intervals"]["fast/ceiling"] is None  # three turns are too few for a 95% interval
    assert set(result["loader_ms_per_batch"]) == {"fast", "reference"}
    assert all(v > 0 for v in result["loader_ms_per_batch"].values())
    assert result["peak_memory_mb"] > 0 and result["train_flops_per_image"] > result["forward_flops_per_image"] > 0
    table = markdown_path.read_text()
    assert all("| vgg11 | " in line for line in table.splitlines() if "| fast |" in line or "| reference |" in line)
    assert "Not measured" in table and "take turns, 1 step each, 3 turns per" in table
    assert "fast/ceiling" in capsys.readouterr().out


def test_memory_format_comparison_and_reference_workers():
    result = benchmark_model("vgg11", device="cpu", batch_size=4, steps=2, warmup=0, workers=1, eval_batch_size=8,
                             compare_memory_format=True, log=lambda line: None)  # fmt: skip
    turns = result.round_images_per_second
    assert set(turns) == {"ceiling", "fast", "reference", "ceiling, contiguous"}
    paired = [cl / contiguous for cl, contiguous in zip(turns["ceiling"], turns["ceiling, contiguous"])]
    assert result.ratios["channels_last/contiguous"] == pytest.approx(statistics.median(paired))
    assert result.workers == 1 and len(turns["reference"]) == 2


@pytest.mark.parametrize("bf16", [False, True])
def test_precision_comparison_pairs_bf16_with_fp32_turns_whichever_is_the_default(bf16):
    result = benchmark_model("vgg11", device="cpu", batch_size=4, steps=2, warmup=0, eval_batch_size=8, bf16=bf16,
                             compare_precision=True, log=lambda line: None)  # fmt: skip
    turns = result.round_images_per_second
    other = "ceiling, fp32" if bf16 else "ceiling, bf16"
    assert set(turns) == {"ceiling", "fast", "reference", other}
    bf16_turns, fp32_turns = (turns["ceiling"], turns[other]) if bf16 else (turns[other], turns["ceiling"])
    paired = [a / b for a, b in zip(bf16_turns, fp32_turns)]
    assert result.ratios["bf16/fp32"] == pytest.approx(statistics.median(paired))
    assert "bf16/fp32 ceiling" in format_table([result])


def test_median_interval_uses_binomial_order_statistics():
    values = list(range(1, 21))  # n = 20: P(Binomial(20, 1/2) <= 5) = 0.021, so the 6th and 15th values
    assert median_interval(values) == (6, 15)
    assert median_interval(list(reversed(values))) == (6, 15)
    assert median_interval([3.0, 1.0, 2.0, 5.0, 4.0]) is None  # 2 / 2**5 > 0.025: no 95% interval from five
    assert median_interval(list(range(6))) == (0, 5)  # 2 / 2**6 = 0.031 > 0.025, but 1 / 2**6 is below


def test_bad_bench_settings_are_refused():
    with pytest.raises(ValueError, match="rounds <= steps"):
        benchmark_model("vgg11", device="cpu", batch_size=4, steps=2, rounds=3, log=lambda line: None)


def test_channels_last_is_the_default_on_cpu_and_can_be_turned_off():
    assert device_settings("cpu")[::2] == (torch.device("cpu"), True)
    assert device_settings("cpu", channels_last=False)[2] is False


def test_flop_counts_of_the_lab_models():
    forward, training = training_flops_per_image("vgg16")
    assert forward == pytest.approx(0.664e9, rel=0.01)  # 13 convs + 3 linears on a 32x32 image
    assert 2.5 < training / forward < 3.5  # backward costs about twice the forward pass


def test_unknown_model_is_refused(capsys):
    assert cli.main(["bench", "--model", "vgg16,lenet"]) == 2
    assert "unknown model(s) lenet" in capsys.readouterr().err


def test_a_reference_with_workers_restarts_right_before_its_own_turn(monkeypatch):
    # Restarted at the start of a round, its workers would load batches during the other paths' turns.
    import labkit.bench as bench

    events, original_endless, original_run = [], bench._endless, bench._run_steps

    def endless(loader):
        batches = original_endless(loader)
        events.append(("start", id(batches), type(loader).__name__))
        return batches

    def run_steps(batches, step, device, count):
        events.append(("run", id(batches), count))
        return original_run(batches, step, device, count)

    monkeypatch.setattr(bench, "_endless", endless)
    monkeypatch.setattr(bench, "_run_steps", run_steps)
    benchmark_model("vgg11", device="cpu", batch_size=4, steps=2, warmup=0, workers=1, eval_batch_size=8,
                    log=lambda line: None)  # fmt: skip
    restarts = [i for i, event in enumerate(events) if event[0] == "start" and event[2] == "ReferenceLoader"][1:]
    assert len(restarts) == 2  # one per round, after the first (warm-up) iterator
    for i in restarts:
        untimed, timed = events[i + 1], events[i + 2]
        assert untimed == ("run", events[i][1], 1) and timed[:2] == ("run", events[i][1])


def test_tf32_is_named_where_it_is_on():
    from labkit.bench import BenchResult, markdown_report
    from labkit.device import tf32_note

    assert tf32_note(torch.device("cpu")) is None
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = True, False  # PyTorch's defaults
        assert tf32_note(torch.device("cuda")) == "TF32 convolutions"
        torch.backends.cuda.matmul.allow_tf32 = True
        assert tf32_note(torch.device("cuda")) == "TF32 convolutions and matmuls"
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = False, False
        assert tf32_note(torch.device("cuda")) == "no TF32"
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
    result = BenchResult("vgg16", "cuda", "GPU", 128, 3, 1, False, True, False, tf32="TF32 convolutions",
                         images_per_second={"ceiling": 1.0, "fast": 1.0, "reference": 1.0, "evaluate": 1.0},
                         loader_ms_per_batch={"fast": 1.0, "reference": 1.0}, achieved_tflops=dict.fromkeys(
                             ("ceiling", "fast", "reference", "evaluate"), 0.0),
                         round_images_per_second={"ceiling": [1.0], "fast": [1.0]},
                         ratios={"fast/ceiling": 1.0, "fast/reference": 1.0},
                         ratio_intervals={"fast/ceiling": None, "fast/reference": None})  # fmt: skip
    assert "fp32 work with TF32 convolutions" in markdown_report([result], "bench")
