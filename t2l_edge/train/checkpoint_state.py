"""Resumable training state without pickle: the trained module's weights and the AdamW moments
in safetensors, scalars in JSON.

The batch sampler and all randomness are functions of (seed, step), so the step number is the
only other state a resumed run needs to continue exactly. Works for any trained module (T2L
hypernetwork or a FixedLoRA baseline).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..core.atomic import atomic_dir
from ..core.errors import T2LError

WEIGHTS = "weights.safetensors"


def save_state(folder: Path, module: torch.nn.Module, opt: torch.optim.Optimizer, step: int, extra: dict) -> None:
    from safetensors.torch import save_file

    tensors = {}
    params = [p for g in opt.param_groups for p in g["params"]]
    for i, p in enumerate(params):
        for k, v in opt.state.get(p, {}).items():
            tensors[f"{i}.{k}"] = (v if torch.is_tensor(v) else torch.tensor(v)).detach().cpu().contiguous()
    weights = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    with atomic_dir(folder) as tmp:
        save_file(weights, str(tmp / WEIGHTS), metadata={"format": "pt"})
        save_file(tensors, str(tmp / "optimizer.safetensors"))
        (tmp / "state.json").write_text(json.dumps({"step": step, **extra}, indent=1, sort_keys=True))


def load_state(folder: Path, module: torch.nn.Module, opt: torch.optim.Optimizer) -> dict:
    from safetensors.torch import load_file

    if not (folder / "state.json").is_file():
        raise T2LError(f"no checkpoint in {folder}", "start without --resume")
    if (folder / WEIGHTS).is_file():
        module.load_state_dict(load_file(str(folder / WEIGHTS)))
    else:  # checkpoints written before the trainers shared one loop kept a hypernet folder
        from ..hypernet.checkpoint import load_hypernet

        saved, _ = load_hypernet(folder / "hypernet")
        module.load_state_dict(saved.state_dict())
    tensors = load_file(str(folder / "optimizer.safetensors"))
    params = [p for g in opt.param_groups for p in g["params"]]
    for i, p in enumerate(params):
        state = {k.split(".", 1)[1]: v for k, v in tensors.items() if k.split(".", 1)[0] == str(i)}
        if state:  # moments onto the parameter's device (cuda runs); the scalar step stays put
            opt.state[p] = {k: (v.to(p.device) if v.dim() else v) for k, v in state.items()}
    return json.loads((folder / "state.json").read_text())
