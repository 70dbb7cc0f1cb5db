"""`t2l-edge train {sft,lora,mt-lora,recon}`: T2L and its LoRA baselines, on CPU or GPU, one
process or several under torchrun."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False)

KINDS = ("sft", "mt-lora", "lora", "recon")


@app.command(
    help=(
        "Train T2L or a LoRA baseline through the frozen base. Kinds:\n\n"
        "  sft      T2L hypernetwork end to end (best one by held-out loss in OUT/best)\n\n"
        "  mt-lora  one LoRA on the whole pool: the multi-task baseline (OUT/best/adapter.gguf)\n\n"
        "  lora     one LoRA per task in --set tasks=... (bench.NAME = a benchmark's oracle; OUT/TASK/best/adapter.gguf)\n\n"
        "  recon    T2L trained to reproduce a library of task LoRAs (--set library=OUT_OF_LORA)\n\n"
        "Config precedence: defaults < --config YAML < --set key=value. The resolved config, "
        "JSON-lines logs and a resumable checkpoint (every N steps and on Ctrl-C) go to --out. "
        "Several processes: torchrun --nproc_per_node=2 -m t2l_edge train sft ... (gloo on CPU, nccl on GPU).\n\n"
        "Examples:\n\n"
        "  t2l-edge train sft --config configs/sft_smollm2_M.yaml\n\n"
        "  t2l-edge train sft --out runs/sft-S --resume --until 1500   # continue, stop after step 1500\n\n"
        "  t2l-edge train mt-lora --config configs/mt_lora_smollm2.yaml\n\n"
        "  t2l-edge train lora --set tasks=bench.arc_easy,bench.piqa --set steps=300 --out runs/oracle\n\n"
        "Then: t2l-edge export runs/sft-M/best -o models/my-bundle"
    )
)
def train(
    kind: str = typer.Argument(..., help="sft | mt-lora | lora | recon"),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML file with config keys."),
    sets: list[str] = typer.Option([], "--set", help="Override a key: --set steps=500 --set hypernet.variant=L"),
    out: Optional[str] = typer.Option(None, "--out", help="Run folder (overrides the config's out)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from --out/checkpoint exactly."),
    until: Optional[int] = typer.Option(None, "--until", help="Stop (with a checkpoint) after this step."),
) -> None:
    from ..core.errors import T2LError

    if kind not in KINDS:
        raise T2LError(f"unknown trainer '{kind}'", f"use one of: {', '.join(KINDS)}")
    from ..train.config import config_class, resolve

    cls = config_class(kind)
    cfg = resolve(cls, config, sets)
    if out:
        cfg.out = out
    saved = Path(cfg.out) / "config.json"
    if resume and saved.is_file() and not config and not sets:  # resume with the run's own settings
        cfg = cls(**{k: v for k, v in json.loads(saved.read_text()).items() if k in cls.__dataclass_fields__})
        if out:
            cfg.out = out
    try:
        import torch
    except ImportError:
        raise T2LError("training needs PyTorch, which this environment lacks",
                       "install the training extra: scripts/setup.sh train") from None

    from ..train.distributed import init_from_env, shutdown

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    dist = init_from_env()
    try:
        from ..train.run import run

        result = run(kind, cfg, resume, until, dist, echo=lambda s: typer.echo(s, err=True))
    finally:
        shutdown(dist)
    if dist.is_main:
        typer.echo(json.dumps(result, default=str))
