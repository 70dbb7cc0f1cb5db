"""T2L reconstruction training: the hypernetwork learns to reproduce a library of task LoRAs
from their descriptions (the paper's "recon" setting). No base model is in the loop, so a step
costs only the hypernetwork and the target comparison.

Loss, per step, on one sampled training description for each of several library tasks:
  delta  L1 between the generated and the library's delta W = scale * B @ A (gauge-free: many
         A/B pairs give the same delta W)
  ab     L1 between generated and library A and B, each z-scored with the library's own
         per-(module, layer) mean and std (the paper's cheaper variant)
Validation: the same loss with each task's held-out descriptions (unseen wording).
The library is what `train lora` wrote: LIBRARY/TASK/best/adapter.gguf, each task's committed
descriptions embedded with the bundle's encoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..core.adapter import lora_scale
from ..core.errors import T2LError
from .distributed import Dist
from .loop import Callbacks, train_loop


@dataclass
class LibraryTask:
    task_id: str
    A: dict[str, torch.Tensor]  # module -> [L, r, in]
    B: dict[str, torch.Tensor]  # module -> [L, out, r]
    scale: float
    train_emb: np.ndarray  # [n, emb_dim] training descriptions
    val_emb: np.ndarray  # [m, emb_dim] held-out descriptions


def load_library(folder: str | Path, log=print) -> list:
    """LIBRARY/TASK/best/adapter.gguf for every task with committed training descriptions."""
    from ..data.descriptions import descriptions
    from ..formats.gguf_adapter import read_gguf_adapter
    from .tasks import DescriptionEmbedder

    files = sorted(Path(folder).glob("*/best/adapter.gguf"))
    if not files:
        raise T2LError(f"no LoRA library in {folder} (expects TASK/best/adapter.gguf)", "train one with `t2l-edge train lora`")
    embed = DescriptionEmbedder()
    library, skipped, base = [], [], None
    for f in files:
        tid = f.parent.parent.name
        train_d, val_d = descriptions(tid, "train"), descriptions(tid, "heldout")
        if not train_d:  # benchmarks have held-out descriptions only: never train on them
            skipped.append(tid)
            continue
        ad = read_gguf_adapter(f)
        base = base or ad.base
        emb = embed(train_d + val_d)
        library.append(LibraryTask(tid, {m: torch.from_numpy(v) for m, v in ad.A.items()},
                                   {m: torch.from_numpy(v) for m, v in ad.B.items()}, ad.scale,
                                   emb[: len(train_d)], emb[len(train_d):]))
    if not library:
        raise T2LError(f"no task in {folder} has training descriptions", "benchmark oracles (bench.*) cannot be reconstruction targets")
    log(f"LoRA library: {len(library)} tasks" + (f" ({len(skipped)} without training descriptions skipped)" if skipped else ""))
    return library, base, {"encoder": embed.name}


def _stats(library: list[LibraryTask], key: str) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per (module, layer) mean and std of A or B over the library, for z-scoring."""
    out = {}
    for m in getattr(library[0], key):
        stack = torch.stack([getattr(t, key)[m] for t in library])  # [N, L, ...]
        flat = stack.transpose(0, 1).reshape(stack.shape[1], -1)
        out[m] = (flat.mean(1).view(1, -1, 1, 1), flat.std(1).clamp_min(1e-8).view(1, -1, 1, 1))
    return out


def recon_loss(net, tasks: list[LibraryTask], emb: torch.Tensor, kind: str, stats=None) -> torch.Tensor:
    cfg = getattr(net, "module", net).cfg
    scale = lora_scale(cfg.alpha, cfg.rank, cfg.use_rslora)
    out = net(emb)
    losses = []
    for m, (a, b) in out.items():
        if kind == "delta":
            got = scale * torch.einsum("tlor,tlri->tloi", b, a)
            want = torch.stack([t.scale * torch.einsum("lor,lri->loi", t.B[m], t.A[m]) for t in tasks])
            losses.append((got - want).abs().mean())
        else:
            (ma, sa), (mb, sb) = stats["A"][m], stats["B"][m]
            want_a = torch.stack([t.A[m] for t in tasks])
            want_b = torch.stack([t.B[m] for t in tasks])
            losses.append(((a - want_a) / sa).abs().mean() + ((b - want_b) / sb).abs().mean())
    return sum(losses) / len(losses)


def _pick(tasks: list[LibraryTask], n: int, rng: np.random.Generator, which: str):
    idx = rng.choice(len(tasks), size=n, replace=len(tasks) < n)
    chosen = [tasks[i] for i in idx]
    embs = [getattr(t, which)[int(rng.integers(len(getattr(t, which))))] for t in chosen]
    return chosen, torch.from_numpy(np.stack(embs)).float()


def validate_recon(net, library: list[LibraryTask], kind: str, stats) -> float:
    """Mean loss over every (task, held-out description) pair."""
    net.eval()
    vals = []
    with torch.no_grad():
        for t in library:
            for e in t.val_emb:
                vals.append(float(recon_loss(net, [t], torch.from_numpy(e[None]).float(), kind, stats)))
    net.train()
    return float(np.mean(vals)) if vals else float("nan")


def run_recon(cfg, net, library: list[LibraryTask], resume: bool = False, progress=None, provenance: dict | None = None,
              stop_at: int | None = None, dist: Dist = Dist()) -> dict:
    from ..hypernet.checkpoint import save_hypernet

    stats = {"A": _stats(library, "A"), "B": _stats(library, "B")} if cfg.loss == "ab" else None

    def step_fn(trained, step):
        tasks, emb = _pick(library, cfg.batch_tasks, np.random.default_rng([cfg.seed, step]), "train_emb")
        part = dist.shard(len(tasks))
        return recon_loss(trained, tasks[part], emb[part], cfg.loss, stats), {}

    def save_best(module, folder, info):
        save_hypernet(module, folder, provenance=info)

    prov = {"kind": "recon", "library_tasks": [t.task_id for t in library], **(provenance or {})}
    callbacks = Callbacks(step_fn, lambda m: validate_recon(m, library, cfg.loss, stats), save_best, progress)
    return train_loop(cfg, net, callbacks, prov, resume=resume, stop_at=stop_at, dist=dist)
