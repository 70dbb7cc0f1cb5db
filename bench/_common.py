"""What every bench shares: the machine block of its JSON and the write-then-print tail.

The benches run as modules from the repository root (`.venv/bin/python -m bench.NAME`), so
`bench` and `tests.helpers` import without any path patching.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path


def _cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), platform.processor())


def machine_info(load: bool = False, **extra) -> dict:
    """CPU model and count, Python and platform, the date, plus `extra` (threads, torch, ...).
    load: also the load average and the busiest processes (a shared machine's figures depend on them)."""
    info = {"cpu": _cpu_model(), "cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "when": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if load:
        busy = subprocess.run(["ps", "-eo", "pcpu,args", "--sort=-pcpu"], capture_output=True, text=True).stdout.splitlines()[1:6]
        info.update(loadavg_1_5_15=os.getloadavg(), busiest_processes=[b.strip()[:160] for b in busy])
    return {**info, **extra}


def write_result(path: str | os.PathLike, result: dict, indent: int = 1, shown: dict | None = None) -> None:
    """Write the bench's JSON (creating its folder), then print it, or `shown` (a summary) instead."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=indent) + "\n")
    print(json.dumps(result if shown is None else shown, indent=indent))
