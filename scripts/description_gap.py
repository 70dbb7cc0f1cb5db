#!/usr/bin/env python
"""The description gap of an exported bundle, on exactly the validation batches a training run
logs: held-out pool tasks (val_loss, val_gap) and the held-out conflict families (syn_val_loss,
syn_gap). The gap is the CE with descriptions swapped across tasks minus the CE with each
task's own; about 0 means the generator ignores its description. The random gap
(val_random_gap) is the CE under adapters made from the swap controls' nonsense strings minus
the CE with each task's own: the bar's own-minus-random, in training units.

This puts a bundle whose training run is gone (such as the shipped default) on the same scale
as a run's log. The bundle's ONNX hypernetwork makes the adapters; PyTorch runs the base.

    .venv/bin/python scripts/description_gap.py --bundle models/default [--config configs/sft_specific_M.yaml] [--set key=value] [--guidance G] [--snap TAU] [--json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch


def snap_bank(bank) -> tuple[np.ndarray, float]:
    """(centroids [tasks, emb], mean description length) of the tasks the default split trains
    on, from a bundle's task bank (runtime/task_bank.py): where a snapped description lands."""
    return bank.centroids[bank.trained()], bank.length


def snapped(emb: np.ndarray, bank: np.ndarray, length: float, tau: float) -> np.ndarray:
    """Each embedding replaced by the softmax(cosine / tau)-weighted mean of the bank's
    centroids, at the descriptions' mean length: tau -> 0 is the nearest training task."""
    unit = bank / np.linalg.norm(bank, axis=1, keepdims=True)
    s = (emb / np.linalg.norm(emb, axis=1, keepdims=True)) @ unit.T / tau
    w = np.exp(s - s.max(1, keepdims=True))
    mixed = (w / w.sum(1, keepdims=True)) @ bank
    return (mixed * (length / np.linalg.norm(mixed, axis=1, keepdims=True))).astype(np.float32)


class BundleLoRAs(torch.nn.Module):
    """Description embeddings -> {module: (A, B)} through a bundle's hypernet.onnx, shaped as
    the PyTorch HyperNetwork returns them, so the trainers' validation can score it."""

    def __init__(self, bundle: Path, guidance: float = 1.0, snap: float = 0.0):
        super().__init__()
        from types import SimpleNamespace

        from t2l_edge.formats.keys import HYPERNET_FILE
        from t2l_edge.runtime.bundle import load_manifest
        from t2l_edge.runtime.encoder_runtime import ort_session

        self.manifest = load_manifest(bundle)
        self.session = ort_session(bundle / HYPERNET_FILE, threads=1)
        lora = self.manifest.lora
        self.cfg = SimpleNamespace(alpha=float(lora["alpha"]), rank=int(lora["rank"]), use_rslora=bool(lora["use_rslora"]))
        self.guidance, self.reference, self.snap, self.bank = guidance, None, snap, None
        if guidance != 1.0 or snap > 0:  # both come from the product's own Generator
            from t2l_edge.runtime.generator import Generator

            product = Generator.load(bundle, threads=1)
        if guidance != 1.0:  # the product's own guidance (core/guidance.py), row by row
            from t2l_edge.core.guidance import guided

            self.reference = product.reference()
            shape = guided(self.reference, self.reference, guidance)
            self.cfg.rank, self.cfg.alpha = shape.rank, shape.alpha
        if snap > 0:
            self.bank = snap_bank(product.task_bank())
        self._device_anchor = torch.nn.Parameter(torch.zeros(1), requires_grad=False)  # validate() asks for a device

    def forward(self, emb: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        from t2l_edge.formats.keys import HYPERNET_INPUT, lora_a_name, lora_b_name

        emb = emb.detach().float().cpu().numpy()
        if self.bank is not None:
            emb = snapped(emb, *self.bank, self.snap)
        outs = self.session.run(None, {HYPERNET_INPUT: emb})
        named = dict(zip([o.name for o in self.session.get_outputs()], outs))
        A = {m: named[lora_a_name(m)] for m in self.manifest.targets}
        B = {m: named[lora_b_name(m)] for m in self.manifest.targets}
        if self.reference is not None:
            A, B = self._guided(A, B)
        return {m: (torch.from_numpy(A[m]), torch.from_numpy(B[m])) for m in self.manifest.targets}

    def _guided(self, A: dict, B: dict) -> tuple[dict, dict]:
        from dataclasses import replace

        from t2l_edge.core.guidance import guided

        rows = [guided(replace(self.reference, A={m: A[m][i] for m in A}, B={m: B[m][i] for m in B}), self.reference,
                       self.guidance) for i in range(len(next(iter(A.values()))))]
        return ({m: np.stack([r.A[m] for r in rows]) for m in A}, {m: np.stack([r.B[m] for r in rows]) for m in B})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", type=Path, default=Path("models/default"))
    ap.add_argument("--config", default="configs/sft_specific_M.yaml", help="the run whose validation batches to use")
    ap.add_argument("--set", action="append", default=[], help="config override key=value")
    ap.add_argument("--guidance", type=float, default=1.0, help="adapter guidance (core/guidance.py); 1 = off")
    ap.add_argument("--snap", type=float, default=0.0,
                    help="snap each description toward the training tasks' centroids at this softmax temperature (0 = off)")
    ap.add_argument("--json", action="store_true", help="print one JSON object only")
    args = ap.parse_args()
    torch.set_num_threads(1)

    from t2l_edge.core.basemodel import resolve_base
    from t2l_edge.train.base_torch import load_base_torch
    from t2l_edge.train.batched_lora import wrap_model
    from t2l_edge.train.config import SFTConfig, resolve
    from t2l_edge.train.loop import validate
    from t2l_edge.train.prompts import FORMATTERS
    from t2l_edge.train.tasks import load_sft_data

    cfg = resolve(SFTConfig, args.config, args.set)
    gen = BundleLoRAs(args.bundle, args.guidance, args.snap)
    # A bundle that reads word pieces takes packed descriptions: embed them as it was trained.
    cfg.hypernet["read_tokens"] = gen.manifest.raw["hypernet"]["config"].get("read_tokens", 0)
    model, tok, _ = load_base_torch(resolve_base(cfg.base))
    wrapped = wrap_model(model, gen.manifest.targets, gen.manifest.base.n_layer)
    _, val, extra, _ = load_sft_data(cfg, log=(lambda s: None) if args.json else print)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    fields = validate(gen, model, wrapped, val, FORMATTERS[cfg.prompt_style](tok, cfg.max_len), cfg, pad, extra.val_families,
                      extra.random_emb)
    out = {"bundle": str(args.bundle), "bundle_id": gen.manifest.bundle_id, "config": args.config,
           "prompt_style": cfg.prompt_style, "guidance": args.guidance, "snap": args.snap, **{k: float(np.round(v, 4)) for k, v in fields.items()}}
    print(json.dumps(out, indent=None if args.json else 1))


if __name__ == "__main__":
    main()
