"""What `t2l-edge train sft|mt-lora|lora` run once the config is resolved: load the base from
GGUF, wrap its projections for per-example LoRA, then hand over to the trainer."""

from __future__ import annotations


def run(kind: str, cfg, resume: bool, until: int | None, dist, echo=print) -> dict:
    from ..core.basemodel import read_base_spec, resolve_base
    from ..hypernet.config import HyperConfig
    from .base_torch import load_base_torch
    from .batched_lora import wrap_model
    from .progress import progress_bar
    from .sft_data import FORMATTERS

    from .device import resolve_device, use_bf16

    base_path = resolve_base(cfg.base)
    spec = read_base_spec(base_path)
    device = resolve_device(cfg.device)
    model, tok, sha = load_base_torch(base_path)
    model.to(device)
    hcfg = HyperConfig.from_dict(cfg.hypernet)
    wrapped = wrap_model(model, hcfg.targets, spec.n_layer)
    formatter = FORMATTERS[cfg.prompt_style](tok, cfg.max_len)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    prov = {"base_sha256": sha, "device": str(device)}
    log = echo if dist.is_main else (lambda s: None)
    with progress_bar(kind, cfg.steps, enabled=dist.is_main) as progress:
        if kind == "sft":
            from ..hypernet.model import HyperNetwork
            from .sft import run_sft
            from .sft_setup import load_sft_data

            train_tasks, val_tasks, extra, data_prov = load_sft_data(cfg, log=log)
            net = HyperNetwork(hcfg, spec, init_seed=cfg.seed).to(device)
            log(f"hypernetwork {hcfg.variant}: {net.param_count():,} parameters; base {spec.name} (sha256 {sha[:12]}); "
                f"{dist.world} process(es) on {device}, bf16 autocast {'on' if use_bf16(cfg.bf16, device) else 'off'}")
            return run_sft(cfg, net, model, wrapped, formatter, train_tasks, val_tasks, pad, resume=resume,
                           progress=progress, provenance={**data_prov, **prov}, stop_at=until, dist=dist, extra=extra)
        if kind == "mt-lora":
            from .mt_lora import run_mt_lora

            return run_mt_lora(cfg, hcfg, spec, model, wrapped, formatter, pad, resume=resume, progress=progress,
                               provenance=prov, stop_at=until, dist=dist, log=log)
        from .lora import run_lora

        return run_lora(cfg, hcfg, spec, model, wrapped, formatter, pad, resume=resume, progress=progress,
                        provenance=prov, stop_at=until, dist=dist, log=log)
