"""Device resolution and the thread share of torch jobs that run at once (no oversubscription)."""

from __future__ import annotations

import os
import threading

import pytest
import torch

from nasgen.device import resolve_device, thread_share
from nasgen.errors import ConfigError


def test_auto_is_cpu_without_cuda_and_a_missing_gpu_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert resolve_device("auto") == "cpu"
    with pytest.raises(ConfigError, match="CUDA is not available"):
        resolve_device("cuda:0")
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_device("tpu")


@pytest.mark.parametrize("jobs", [1, 2, 3, 64])
def test_jobs_running_at_once_share_the_cores_and_the_setting_is_restored(jobs):
    cores, before = os.cpu_count() or 1, torch.get_num_threads()
    seen = []
    with thread_share(jobs, "cpu"):
        workers = [threading.Thread(target=lambda: seen.append(torch.get_num_threads())) for _ in range(jobs)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    share = before if jobs == 1 else max(1, cores // jobs)
    assert seen == [share] * jobs  # every job's threads, as its own thread sees them
    assert jobs == 1 or jobs * share <= max(cores, jobs)  # together at most the cores (one each at least)
    assert torch.get_num_threads() == before


def test_a_gpu_fan_out_keeps_the_cpu_threads():
    before = torch.get_num_threads()
    with thread_share(4, "cuda"):
        assert torch.get_num_threads() == before


def test_cores_per_job_never_oversubscribes_and_never_drops_to_zero(monkeypatch):
    from nasgen import device

    monkeypatch.setattr(device.os, "cpu_count", lambda: 2)
    assert [device.cores_per_job(j) for j in (1, 2, 3)] == [2, 1, 1]
