"""Where training runs and in which precision: decided at run time from the machine.

bf16 autocast pays off only with hardware bf16 matmuls (AMX or AVX512-BF16 on x86, or a GPU
that supports it). On an AVX2-only CPU the bf16 kernels emulate and run slower than fp32
(bench/bench_train.py measures both), so "auto" keeps fp32 there.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..core.errors import T2LError

_CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def resolve_device(name: str | None) -> torch.device:
    """"auto" (cuda when available, else cpu), "cpu", "cuda" or "cuda:N"."""
    import os

    name = (name or "auto").lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and "LOCAL_RANK" in os.environ:  # torchrun: one GPU per process
        name = f"cuda:{int(os.environ['LOCAL_RANK']) % max(1, torch.cuda.device_count())}"
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise T2LError(f"unknown device {name!r}", "use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise T2LError(f"device {name} asked for, but torch sees no CUDA GPU", "use --set device=cpu (or auto)")
    if dev.type not in ("cpu", "cuda"):
        raise T2LError(f"device type {dev.type} is not supported", "use cpu or cuda")
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    return dev


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cpu_has_bf16(flags: set[str] | None = None) -> bool:
    flags = cpu_flags() if flags is None else flags
    return any(f in flags for f in _CPU_BF16_FLAGS)


def use_bf16(setting, device: torch.device, flags: set[str] | None = None) -> bool:
    """setting: True / False, or "auto" (the config default)."""
    if isinstance(setting, bool):
        return setting
    value = str(setting).lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    if value != "auto":
        raise T2LError(f"bf16={setting!r} is not true, false or auto", "fix the config")
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return cpu_has_bf16(flags)
