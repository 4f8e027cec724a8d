"""bf16 by default only where the CPU executes it natively: both branches, whatever CPU runs the tests."""

from __future__ import annotations

import pytest
import torch

from labkit import device
from labkit.device import cpu_has_native_bf16, device_settings


def pretend_cpu(monkeypatch, avx512_bf16: bool, amx: bool) -> None:
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)


@pytest.mark.parametrize("avx512_bf16, amx", [(True, False), (False, True), (True, True)])
def test_bf16_is_on_by_default_on_cpus_with_native_bf16(monkeypatch, avx512_bf16, amx):
    pretend_cpu(monkeypatch, avx512_bf16, amx)
    assert cpu_has_native_bf16()
    assert device_settings("cpu")[1] is True
    assert device_settings("cpu", bf16=False)[1] is False  # --no-bf16


def test_bf16_is_off_by_default_on_cpus_that_would_emulate_it(monkeypatch):
    pretend_cpu(monkeypatch, False, False)
    # What the public capability string says does not matter: AVX512 without BF16 emulates it.
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    assert not cpu_has_native_bf16()
    assert device_settings("cpu")[1] is False
    assert device_settings("cpu", bf16=True)[1] is True  # asked for, it is used


def test_a_torch_without_the_checks_counts_as_no_native_bf16(monkeypatch):
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    assert device.cpu_has_native_bf16() is False


def test_history_records_the_precision_the_run_used(monkeypatch):
    from labkit import models, train
    from labkit.bench import synthetic_split
    from labkit.lab import Recipe

    split = synthetic_split(8)
    for native in (True, False):
        pretend_cpu(monkeypatch, native, False)
        recipe = Recipe(model="vgg11", epochs=1, batch_size=8, eval_batch_size=8)
        history = train.fit(models.build("vgg11"), split, split, recipe, device="cpu", progress=False, log=None).history
        assert history.info["bf16"] is native
