"""Which torch device a run uses: resolved once, where a request enters (CLI, flow), then passed on as is."""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from functools import cache

import torch

from nasgen.errors import ConfigError

DEVICE_HELP = "cpu | cuda | cuda:N | auto"
DEVICE_NAME = re.compile(r"cpu|cuda(:\d+)?")  # a device a measurement names (no auto: it must say which)


def device_name(name: str) -> str:
    """``name`` if it names a device (cpu, cuda, cuda:N), whether or not this machine has it; else ValueError."""
    if not DEVICE_NAME.fullmatch(name):
        raise ValueError(f"unknown latency device {name!r}; use cpu, cuda or cuda:N")
    return name


def resolve_device(device: str) -> str:
    """``auto`` -> cuda when available, else cpu; a CUDA device on a machine without one is a ConfigError."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available on this machine")
    if not (device == "cpu" or device.startswith("cuda")):
        raise ConfigError(f"unknown device {device!r}; use {DEVICE_HELP}")
    return device


def cores_per_job(jobs: int) -> int:
    """Intra-op threads each of ``jobs`` concurrent torch jobs gets so that together they use at most the cores."""
    return max(1, (os.cpu_count() or 1) // max(1, jobs))


def limit_threads(n: int) -> None:
    """Process-pool initializer: n intra-op threads per worker, so workers x threads <= cores."""
    torch.set_num_threads(max(1, n))


@contextmanager
def thread_share(jobs: int, device: str = "cpu"):
    """While ``jobs`` torch jobs run at once in this process's threads (a thread task runner's fan-out), each
    gets cores // jobs intra-op threads, so together they use at most the cores; restored afterwards. On a GPU
    the arithmetic is on the device and nothing changes."""
    with fixed_threads(cores_per_job(jobs) if device == "cpu" and jobs > 1 else torch.get_num_threads()):
        yield


@contextmanager
def fixed_threads(n: int):
    """Exactly ``n`` intra-op threads while the block runs (a timing states its threads), restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


@cache
def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo, read once), else what ``platform`` knows."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            return next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), platform.machine())
    except OSError:
        return platform.processor() or platform.machine()


def describe(device: str) -> dict:
    """What a measurement on ``device`` ran on: CPU model and cores, GPU name, torch and onnxruntime versions.
    ``identity`` holds the fields that make two machines the same device for a latency (keys use only those)."""
    import platform

    device = resolve_device(device)
    gpu = torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else None
    try:
        import onnxruntime

        ort_version = onnxruntime.__version__
    except ImportError:  # pragma: no cover - pinned in the lock
        ort_version = None
    identity = {"device": device.split(":")[0], "cpu": cpu_model(), "cores": os.cpu_count(), "gpu": gpu}
    return {**identity, "identity": identity, "python": platform.python_version(), "torch": torch.__version__,
            "onnxruntime": ort_version}  # fmt: skip
