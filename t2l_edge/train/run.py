"""What `t2l-edge train KIND` runs once the config is resolved.

sft, mt-lora and lora load the base from GGUF, wrap its projections for per-example LoRA and
hand over to their trainer; recon reads the LoRA library written by `train lora` and trains the
hypernetwork on it, with no base model in the loop.
"""

from __future__ import annotations

from ..core.errors import T2LError


def run(kind: str, cfg, resume: bool, until: int | None, dist, echo=print) -> dict:
    log = echo if dist.is_main else (lambda s: None)
    if kind == "recon":
        return _run_recon(cfg, resume, until, dist, log)
    return _run_through_base(kind, cfg, resume, until, dist, log)


def _run_through_base(kind: str, cfg, resume: bool, until: int | None, dist, log) -> dict:
    from ..core.basemodel import read_base_spec, resolve_base
    from ..hypernet.config import HyperConfig
    from .base_torch import load_base_torch
    from .batched_lora import wrap_model
    from .device import resolve_device, use_bf16
    from .progress import progress_bar
    from .prompts import FORMATTERS

    base_path = resolve_base(cfg.base)
    spec = read_base_spec(base_path)
    device = resolve_device(cfg.device)
    model, tok, sha = load_base_torch(base_path)
    model.to(device)
    hcfg = HyperConfig.from_dict(cfg.hypernet)
    # Fitted on the bare base, before its projections are wrapped for per-example LoRA.
    object_basis = None
    if kind == "sft" and hcfg.word_which_object:
        from .object_basis import generator_object_basis

        object_basis = generator_object_basis(model, tok, hcfg, cfg.store, spec.n_layer, log)
    wrapped = wrap_model(model, hcfg.targets, spec.n_layer)
    formatter = FORMATTERS[cfg.prompt_style](tok, cfg.max_len)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    prov = {"base_sha256": sha, "device": str(device)}
    with progress_bar(kind, cfg.steps, enabled=dist.is_main) as progress:
        if kind == "sft":
            from ..hypernet.model import HyperNetwork
            from .sft import run_sft
            from .tasks import load_sft_data

            train_tasks, val_tasks, extra, data_prov = load_sft_data(cfg, log=log)
            net = HyperNetwork(hcfg, spec, init_seed=cfg.seed)
            if cfg.init_from and not resume:
                _load_weights(net, cfg.init_from, log)
            if object_basis is not None:  # after init_from, whose basis may still be zero (scripts/pretrain_roles.py --object)
                net.word_path.start_object_from_base(object_basis)
            net = net.to(device)
            log(f"hypernetwork {hcfg.variant}: {net.param_count():,} parameters; base {spec.name} (sha256 {sha[:12]}); "
                f"{dist.world} process(es) on {device}, bf16 autocast {'on' if use_bf16(cfg.bf16, device) else 'off'}")
            return run_sft(cfg, net, model, wrapped, formatter, train_tasks, val_tasks, pad, resume=resume,
                           progress=progress, provenance={**data_prov, **prov}, stop_at=until, dist=dist, extra=extra)
        from .baselines import run_lora, run_mt_lora

        trainer = run_mt_lora if kind == "mt-lora" else run_lora
        return trainer(cfg, hcfg, spec, model, wrapped, formatter, pad, resume=resume, progress=progress,
                       provenance=prov, stop_at=until, dist=dist, log=log)


def _run_recon(cfg, resume: bool, until: int | None, dist, log) -> dict:
    from ..hypernet.config import HyperConfig
    from ..hypernet.model import HyperNetwork
    from .progress import progress_bar
    from .recon import load_library, run_recon

    if cfg.loss not in ("delta", "ab"):
        raise T2LError(f"unknown recon loss '{cfg.loss}'", "use delta or ab")
    hcfg = HyperConfig.from_dict(cfg.hypernet)
    if hcfg.read_tokens:
        raise T2LError("recon trains generators that read the pooled embedding only",
                       "drop hypernet.read_tokens, or train a word-piece reader with `t2l-edge train sft`")
    library, base, prov = load_library(cfg.library, log=log)
    first = library[0]
    if set(first.A) != set(hcfg.targets) or first.A[hcfg.targets[0]].shape[1] != hcfg.rank:
        raise T2LError(f"the library's LoRAs (targets {sorted(first.A)}, rank {first.A[next(iter(first.A))].shape[1]}) "
                       f"do not match the hypernetwork config (targets {list(hcfg.targets)}, rank {hcfg.rank})",
                       "set hypernet.targets and hypernet.rank to the library's")
    net = HyperNetwork(hcfg, base, init_seed=cfg.seed)
    with progress_bar("recon", cfg.steps, enabled=dist.is_main) as progress:
        return run_recon(cfg, net, library, resume=resume, progress=progress, provenance={**prov, "base_sha256": base.sha256},
                         stop_at=until, dist=dist)


# Parts a generator may grow on an earlier checkpoint (init_from): each starts at zero, so the
# grown generator makes exactly the earlier one's adapters. Config field -> its parameters' prefix.
GROWN_PARTS = {"read_tokens": "reader.", "word_layers": "word_path.", "word_which": "word_path.which_",
               "word_which_rule": "word_path.which_rule.", "word_which_object": "word_path.object_",
               "word_which_object_gate": "word_path.object_gate."}


def _silent_reader(net) -> bool:
    """No reader, or one whose output layer is still zero (scripts/pretrain_reader.py's warm-up)."""
    last = net.reader.mlp[-1] if net.cfg.read_tokens else None
    return last is None or not (bool(last.weight.any()) or bool(last.bias.any()))


def _load_weights(net, folder: str, log) -> None:
    """Start from an earlier run's hypernetwork (a best/ folder): its weights, with this run's
    fresh optimizer and schedule. Its config must match this run's hypernet settings, except
    that it may grow the parts in GROWN_PARTS (a word-piece reader, a word path), which start at
    zero, and that a reader which adds nothing yet may change what it reads (piece_values):
    either way the new generator starts exactly where the earlier one was (near it, with
    hypernet.word_which_a > 0)."""
    from dataclasses import replace

    from ..hypernet.checkpoint import load_hypernet

    earlier, meta = load_hypernet(folder)
    grows = [name for name in GROWN_PARTS if getattr(earlier.cfg, name) == 0 and getattr(net.cfg, name) > 0]
    want = replace(net.cfg, **{name: 0 for name in grows}, word_which_a=earlier.cfg.word_which_a,  # init scales only
                   word_which_b=earlier.cfg.word_which_b,
                   piece_values=earlier.cfg.piece_values if _silent_reader(earlier) else net.cfg.piece_values)
    if earlier.cfg != want or earlier.base.to_dict() != net.base.to_dict():
        raise T2LError(f"init_from {folder}: its hypernetwork ({earlier.cfg.variant}, base {earlier.base.name}) "
                       f"differs from this run's ({net.cfg.variant}, base {net.base.name})",
                       "set hypernet to the earlier run's config or drop init_from")
    missing, unexpected = net.load_state_dict(earlier.state_dict(), strict=not grows)
    new_parts = tuple(GROWN_PARTS[name] for name in grows)
    assert not unexpected and all(k.startswith(new_parts) for k in missing), (missing, unexpected)
    if "word_which" in grows and net.cfg.word_which_b:
        net.word_path.start_which_from_naming(net.cfg.word_which_b)
    log(f"started from {folder} (step {meta.get('provenance', {}).get('step', '?')})"
        + "".join(f"; the new {GROWN_PARTS[name][:-1]} {_grown_start(name, net.cfg)}" for name in grows))


def _grown_start(name: str, cfg) -> str:
    """How a grown part starts, for the log: at zero, unless the second rank's init scales say otherwise."""
    from ..hypernet.word_path import WHICH_TIED

    starts = []
    if name == "word_which" and cfg.word_which_a:
        starts.append(f"its A row at random, std {cfg.word_which_a}")
    if name == "word_which" and cfg.word_which == WHICH_TIED:
        starts.append(f"its B map tied to the naming map, the other word negated, at scale {cfg.word_which_b}")
    elif name == "word_which" and cfg.word_which_b:
        starts.append(f"its B map {cfg.word_which_b} x the naming map, the other word negated")
    if not starts:
        return "starts at zero"
    return f"starts with {' and '.join(starts)}: near the earlier adapters, not at them"
