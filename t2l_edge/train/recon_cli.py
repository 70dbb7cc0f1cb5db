"""What `t2l-edge train recon` runs: read the LoRA library written by `train lora`, embed each
task's committed descriptions with the bundle's encoder, and train the hypernetwork on it."""

from __future__ import annotations

from pathlib import Path

import torch

from ..core.errors import T2LError


def load_library(folder: str | Path, log=print) -> list:
    """LIBRARY/TASK/best/adapter.gguf for every task with committed training descriptions."""
    from ..data.descriptions import descriptions
    from ..formats.gguf_adapter import read_gguf_adapter
    from .recon import LibraryTask
    from .sft_setup import DescriptionEmbedder

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


def run(kind: str, cfg, resume: bool, until: int | None, dist, echo=print) -> dict:
    from ..hypernet.config import HyperConfig
    from ..hypernet.model import HyperNetwork
    from .progress import progress_bar
    from .recon import run_recon

    if cfg.loss not in ("delta", "ab"):
        raise T2LError(f"unknown recon loss '{cfg.loss}'", "use delta or ab")
    log = echo if dist.is_main else (lambda s: None)
    library, base, prov = load_library(cfg.library, log=log)
    hcfg = HyperConfig.from_dict(cfg.hypernet)
    first = library[0]
    if set(first.A) != set(hcfg.targets) or first.A[hcfg.targets[0]].shape[1] != hcfg.rank:
        raise T2LError(f"the library's LoRAs (targets {sorted(first.A)}, rank {first.A[next(iter(first.A))].shape[1]}) "
                       f"do not match the hypernetwork config (targets {list(hcfg.targets)}, rank {hcfg.rank})",
                       "set hypernet.targets and hypernet.rank to the library's")
    net = HyperNetwork(hcfg, base, init_seed=cfg.seed)
    with progress_bar("recon", cfg.steps, enabled=dist.is_main) as progress:
        return run_recon(cfg, net, library, resume=resume, progress=progress, provenance={**prov, "base_sha256": base.sha256},
                         stop_at=until, dist=dist)
