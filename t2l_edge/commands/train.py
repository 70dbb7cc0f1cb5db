"""`t2l-edge train sft`: train a T2L hypernetwork end to end through the frozen base (CPU/GPU)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False)


@app.command(
    help=(
        "Train a T2L hypernetwork. Only `sft` exists so far (lora, mt-lora and recon are planned). "
        "Config precedence: defaults < --config YAML < --set key=value. The resolved config, "
        "JSON-lines logs, a resumable checkpoint (every N steps and on Ctrl-C) and the best "
        "hypernetwork (by held-out validation loss) go to --out.\n\n"
        "Examples:\n\n"
        "  t2l-edge train sft --config configs/sft_smollm2_M.yaml\n\n"
        "  t2l-edge train sft --set steps=3000 --set hypernet.variant=S --out runs/sft-S\n\n"
        "  t2l-edge train sft --out runs/sft-S --resume --until 1500   # continue, stop after step 1500\n\n"
        "Then: t2l-edge export runs/sft-S/best -o models/my-bundle"
    )
)
def train(
    kind: str = typer.Argument(..., help="sft"),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML file with SFTConfig keys."),
    sets: list[str] = typer.Option([], "--set", help="Override a key: --set steps=500 --set hypernet.variant=L"),
    out: Optional[str] = typer.Option(None, "--out", help="Run folder (overrides the config's out)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from --out/checkpoint exactly."),
    until: Optional[int] = typer.Option(None, "--until", help="Stop (with a checkpoint) after this step."),
) -> None:
    from ..errors import T2LError

    if kind != "sft":
        raise T2LError(f"trainer '{kind}' is not implemented yet", "use: t2l-edge train sft")
    import torch
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from ..basemodel import read_base_spec, resolve_base
    from ..hypernet.config import HyperConfig
    from ..hypernet.model import HyperNetwork
    from ..train.base_torch import load_base_torch
    from ..train.batched_lora import wrap_model
    from ..train.config import SFTConfig, resolve
    from ..train.sft import run_sft
    from ..train.sft_data import ChatFormatter
    from ..train.sft_setup import load_tasks

    cfg = resolve(SFTConfig, config, sets)
    if out:
        cfg.out = out
    if resume and (Path(cfg.out) / "config.json").is_file() and not config and not sets:
        cfg = resolve(SFTConfig, None, [f"{k}={json.dumps(v) if not isinstance(v, str) else v}"
                                        for k, v in json.loads((Path(cfg.out) / "config.json").read_text()).items() if v is not None])
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    base_path = resolve_base(cfg.base)
    spec = read_base_spec(base_path)
    model, tok, sha = load_base_torch(base_path)
    train_tasks, val_tasks, prov = load_tasks(cfg, log=lambda s: typer.echo(s, err=True))
    hcfg = HyperConfig.from_dict(cfg.hypernet)
    net = HyperNetwork(hcfg, spec)
    wrapped = wrap_model(model, hcfg.targets, spec.n_layer)
    formatter = ChatFormatter(tok, cfg.max_len)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    typer.echo(f"hypernetwork {hcfg.variant}: {net.param_count():,} parameters; base {spec.name} (sha256 {sha[:12]})", err=True)
    with Progress(TextColumn("[bold]sft"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TextColumn("{task.fields[info]}"), TimeRemainingColumn(), transient=False) as bar:
        job = bar.add_task("sft", total=cfg.steps, info="")

        def progress(step, rec):
            info = f"loss {rec['loss']:.3f} lr {rec['lr']:.1e}" + (f" val {rec['val_loss']:.3f}" if "val_loss" in rec else "")
            bar.update(job, completed=step, info=info)

        result = run_sft(cfg, net, model, wrapped, formatter, train_tasks, val_tasks, pad, resume=resume,
                         progress=progress, provenance={**prov, "base_sha256": sha}, stop_at=until)
    typer.echo(json.dumps(result))
