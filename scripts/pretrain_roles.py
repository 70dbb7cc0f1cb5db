#!/usr/bin/env python
"""Train only a generator's word-piece reader on the role term, before SFT.

Under SFT the role term (t2l_edge/train/roles.py) shares each step with the base model's loss,
and 300 steps took the reader from 0.35 to about 0.5 role accuracy on unseen words
(docs/specificity.md, "Which part of binding fails"). The term needs no base model, so here it
runs alone: thousands of steps in minutes on 2 cores. Only the reader's queries and keys change;
what they read feeds the trunk and the word path, so the saved generator's adapters differ from
the input's, and SFT (init_from) goes on from there.

    .venv/bin/python -m scripts.pretrain_roles --init runs/bind-word/best --store DIR \\
        --families rule_words_roles,label_words_split --out runs/roles-warm [--steps 2000] [--json F]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def with_context(net, k: int):
    """The same generator, its reader keyed on k neighbours each side (the weights fit as they are)."""
    import dataclasses

    from t2l_edge.hypernet.model import HyperNetwork

    out = HyperNetwork(dataclasses.replace(net.cfg, read_context=k), net.base)
    out.load_state_dict(net.state_dict())
    return out


def with_object(net, gate: bool = False):
    """The same generator grown an object query (HyperConfig.word_which_object), and with `gate`
    the object row's gate, as `init_from` grows them: the object row's gain and basis start at
    zero, so its adapters are the earlier ones until SFT (which fits the basis) trains the gain."""
    import dataclasses

    from t2l_edge.hypernet.model import HyperNetwork

    cfg = dataclasses.replace(net.cfg, word_which_object=net.cfg.word_which_object or 1, word_which_object_gate=int(gate))
    out = HyperNetwork(cfg, net.base)
    missing, unexpected = out.load_state_dict(net.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("word_path.object_") for k in missing), (missing, unexpected)
    return out


def pool_tasks(store, embed, heldout: str) -> tuple[list, list]:
    """(training tasks, held-out tasks) of the pool, split as an SFT run with these heldout_tasks splits them."""
    from t2l_edge.train.config import SFTConfig
    from t2l_edge.train.tasks import load_tasks

    cfg = SFTConfig(store=str(store.path), heldout_tasks=[t for t in heldout.split(",") if t])
    train, val, _ = load_tasks(cfg, store=store, embed=embed)
    return train, val


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--init", type=Path, required=True, help="generator folder with a word-piece reader (best/ of a run)")
    p.add_argument("--store", type=Path, required=True, help="task store the families draw their inputs from")
    p.add_argument("--families", required=True, help="comma-separated code-built families with named words")
    p.add_argument("--out", type=Path, required=True, help="new generator folder (must not exist)")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--rows", type=int, default=64, help="descriptions per step")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--context", type=int, default=None, metavar="K",
                   help="key each piece on its K neighbours each side instead of itself (hypernet.read_context); default: as --init")
    p.add_argument("--object", action="store_true",
                   help="grow an object query if --init has none, and train it on the object term too (train/roles.py)")
    p.add_argument("--gate", action="store_true",
                   help="with --object: grow the object row's gate too, and train it to open on descriptions that name "
                        "their rule's word and stay shut on the others, the pool's tasks' included (train/roles.py)")
    p.add_argument("--heldout", default="",
                   help="with --gate: comma-separated pool tasks held out, whose descriptions check the gate (as the SFT run's heldout_tasks)")
    p.add_argument("--json", type=Path, default=None, help="write the accuracy curve here")
    args = p.parse_args(argv)
    if args.out.exists():
        p.error(f"--out {args.out} exists; choose a new folder")

    import torch

    from t2l_edge.data.store import TaskStore
    from t2l_edge.hypernet.checkpoint import load_hypernet, save_hypernet
    from t2l_edge.train.conflict import load_families
    from t2l_edge.train.roles import fit_gate, gate_rates, object_accuracy, role_accuracy, role_data, role_loss
    from t2l_edge.train.tasks import DescriptionEmbedder

    torch.set_num_threads(args.threads)
    net, meta = load_hypernet(args.init)
    if not net.cfg.read_tokens:
        p.error(f"{args.init} has no word-piece reader (hypernet.read_tokens = 0)")
    if args.context is not None:
        net = with_context(net, args.context)
    if args.gate and not args.object:
        p.error("--gate needs --object")
    if args.object and not (net.cfg.word_which_object and (net.cfg.word_which_object_gate or not args.gate)):
        if not net.cfg.word_which or net.cfg.piece_values != "base":
            p.error(f"--object: {args.init} needs the word path's second rank and piece_values=base")
        net = with_object(net, args.gate)
    embed = DescriptionEmbedder(pieces=True, values=net.cfg.piece_values)
    store, names = TaskStore(args.store), [n for n in args.families.split(",") if n]
    tasks = pool_tasks(store, embed, args.heldout) if args.gate else ((), ())
    train, val = (role_data(load_families(store, embed, split, names=names), embed, split, t)
                  for split, t in zip(("train", "val"), tasks))
    if train is None or val is None:
        p.error(f"--families {args.families}: no description names both its words; use label or rule families")
    params = [net.reader.query, *net.reader.key.parameters()]
    if net.cfg.word_which_object:  # the object term trains its query through the same keys (train/roles.py)
        params.append(net.word_path.object_query)
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    net.train()

    def accuracies() -> dict:
        obj, gate = object_accuracy(net, val), gate_rates(net, val)
        return {"val_role_acc": role_accuracy(net, val), **({"val_object_acc": obj} if obj is not None else {}),
                **({"val_gate_open": gate["open"], "val_gate_shut": gate["shut"]} if gate is not None else {})}

    curve, t0 = [{"step": 0, **accuracies()}], time.perf_counter()
    print(f"{len(train)} training descriptions, {len(val)} held out; step 0: {curve[0]}")
    for step in range(1, args.steps + 1):
        loss, info = role_loss(net, train, np.random.default_rng([step, 5]), args.rows)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % max(1, args.steps // 10) == 0 or step == args.steps:
            curve.append({"step": step, **{k: round(v, 4) for k, v in info.items()}, **accuracies()})
            print(f"step {step}: {curve[-1]}")
    gate_fit = None
    if args.gate:  # fitted at once, after the reader it reads through has settled (train/roles.py)
        gate_fit = fit_gate(net, train)
        curve.append({"step": args.steps, "gate_fitted": True, **accuracies()})
        print(f"object row gate fitted on {len(train.gate_open)} descriptions ({int(train.gate_open.sum())} open), "
              f"loss {gate_fit:.4f}: {curve[-1]}")
    net.eval()
    earlier = {k: v for k, v in meta.get("provenance", {}).items() if k not in ("date", "git_commit")}
    run = {"init": str(args.init), "families": names, "steps": args.steps, "rows": args.rows, "lr": args.lr,
           "context": net.cfg.read_context}
    save_hypernet(net, args.out, provenance={**earlier, "pretrain_roles": run})
    out = {"init": str(args.init), "families": names, "train": len(train), "val": len(val), "gate_fit_loss": gate_fit,
           "seconds": round(time.perf_counter() - t0, 1), "curve": curve}
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
