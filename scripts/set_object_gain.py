"""Copy a generator with its object row's gains set by hand: is the row useful at some scale SFT never reached?

The object row (hypernet/word_path.py, HyperConfig.word_which_object) adds gain_l x a fitted
detector of the rule's word to rank 1's A row in each of the last layers. SFT left the gains near
zero (docs/specificity.md, "An A row built from the rule's own word"). This writes a copy with
every layer's gain set to --gain, to export and check (scripts/word_rule_check.py) as it is.

    .venv/bin/python -m scripts.set_object_gain --init runs/words-object/best --gain 4 --out runs/gain4

A generator whose basis was never fitted (scripts/pretrain_roles.py --object writes one) needs
--store: the basis is fitted here on the base, as `t2l-edge train sft` fits it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def fitted_basis(net, store: str):
    """The object basis `t2l-edge train sft` would fit for this generator, on the default base."""
    from t2l_edge.core.basemodel import resolve_base
    from t2l_edge.train.base_torch import load_base_torch
    from t2l_edge.train.object_basis import generator_object_basis

    model, tok, _ = load_base_torch(resolve_base(None))
    return generator_object_basis(model, tok, net.cfg, store, net.base.n_layer, print)


def own_rank(net, scale: float):
    """The same generator with its object row in a rank of its own (word_path.OBJECT_OWN_RANK),
    that rank's tied B column at `scale` in every layer."""
    import dataclasses

    import torch

    from t2l_edge.hypernet.model import HyperNetwork
    from t2l_edge.hypernet.word_path import OBJECT_OWN_RANK

    out = HyperNetwork(dataclasses.replace(net.cfg, word_which_object=OBJECT_OWN_RANK), net.base)
    missing, unexpected = out.load_state_dict(net.state_dict(), strict=False)
    assert missing == ["word_path.object_scale"] and not unexpected, (missing, unexpected)
    with torch.no_grad():
        out.word_path.object_scale.fill_(scale)
    return out.eval()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--init", type=Path, required=True, help="generator folder with an object row (best/ of a run)")
    p.add_argument("--gain", type=float, required=True, help="every layer's gain (the detector's scores spread 1 per unit)")
    p.add_argument("--out", type=Path, required=True, help="new generator folder (must not exist)")
    p.add_argument("--store", default=None, help="task store to fit the object basis on, where --init has none yet")
    p.add_argument("--refit", action="store_true",
                   help="fit the object basis again from the base (needs --store), as `t2l-edge train sft` now fits it")
    p.add_argument("--own-rank", type=float, default=None, metavar="SCALE",
                   help="move the object row from rank 1 to a rank of its own (hypernet.word_which_object=2), its tied "
                        "B column at SCALE in every layer (rank 1's tied scales are about 2.3 after pretrain_roles)")
    args = p.parse_args(argv)
    if args.out.exists():
        p.error(f"--out {args.out} exists; choose a new folder")

    import torch

    from t2l_edge.hypernet.checkpoint import load_hypernet, save_hypernet

    net, meta = load_hypernet(args.init)
    if not net.cfg.word_which_object:
        p.error(f"{args.init} has no object row (hypernet.word_which_object = 0)")
    if args.own_rank is not None:
        if net.cfg.word_which != 2 or net.cfg.rank < 3:
            p.error(f"--own-rank: {args.init} needs a tied second rank (hypernet.word_which=2) and rank >= 3")
        net = own_rank(net, args.own_rank)
    if args.refit or not net.word_path.object_basis.any():
        if not args.store:
            p.error(f"{args.init} has no fitted object basis yet: pass --store DIR to fit it on the base"
                    if not args.refit else "--refit needs --store DIR")
        net.word_path.start_object_from_base(fitted_basis(net, args.store))
    with torch.no_grad():
        net.word_path.object_gain.fill_(args.gain)
    earlier = {k: v for k, v in meta.get("provenance", {}).items() if k not in ("date", "git_commit")}
    save_hypernet(net, args.out, provenance={**earlier, "object_gain_set": {"init": str(args.init), "gain": args.gain,
                                                                            "own_rank_scale": args.own_rank, "refit": args.refit}})
    print(f"wrote {args.out}: object gains {args.gain} in every layer"
          + (f", in a rank of its own at scale {args.own_rank}" if args.own_rank is not None else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
