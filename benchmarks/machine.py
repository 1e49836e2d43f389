"""The machine a benchmark ran on, stated next to every figure."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime


def machine_info() -> dict:
    import torch

    from nasgen.device import cpu_model

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
