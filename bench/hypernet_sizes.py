"""Print the parameter count and fp32 size of each hypernetwork variant for a base GGUF.

    .venv/bin/python bench/hypernet_sizes.py [--base PATH.gguf] [--targets q_proj,v_proj]
"""

from __future__ import annotations

import argparse

from t2l_edge.core.basemodel import default_base_path, read_base_spec
from t2l_edge.hypernet.config import HyperConfig
from t2l_edge.hypernet.model import HyperNetwork


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default=None)
    ap.add_argument("--targets", default="q_proj,v_proj")
    args = ap.parse_args()
    spec = read_base_spec(args.base or default_base_path(), sha256=False)
    targets = tuple(args.targets.split(","))
    cfg0 = HyperConfig(targets=targets)
    print(f"{spec.name} ({spec.arch}, {spec.n_layer} layers), targets {', '.join(targets)}, rank {cfg0.rank}, "
          f"latent {cfg0.latent}, hidden {cfg0.hidden}, head_in {cfg0.head_in}\n")
    print("| variant | head emits | parameters | fp32 MB |")
    print("|---|---|---|---|")
    emits = {"L": "r*(in+out) per (layer, module)", "M": "r*max(in,out) per (layer, module, A/B)", "S": "max(in,out) per (layer, module, A/B, rank row)"}
    for v in "LMS":
        n = HyperNetwork(HyperConfig(variant=v, targets=targets), spec).param_count()
        print(f"| {v} | {emits[v]} | {n:,} | {4 * n / 1e6:.1f} |")


if __name__ == "__main__":
    main()
