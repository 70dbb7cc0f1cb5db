"""Ablate a trained generator: a copy of a checkpoint with some of its parameters set to zero
(or, with --times F, multiplied by F).

Which part of a generator carries a behaviour? Zero a part, export, and check again. Zeroing
the word path's second rank (word_path.which_) removes what it adds to the adapter; zeroing the
reader's last MLP layer (reader.mlp.3) removes what the reader adds to the trunk, while the word
path still reads. Every parameter whose name starts with one of the prefixes is zeroed.
`--params P --times 8` instead multiplies them, such as the tied second rank's scales
(word_path.which_scale): whether a binding that is right but weak grows with its scale, before
training for it.

    .venv/bin/python -m scripts.zero_params runs/RUN/best --zero word_path.which_ -o /tmp/no-which
    .venv/bin/t2l-edge export /tmp/no-which -o /tmp/no-which-bundle
    .venv/bin/python -m scripts.zero_params runs/RUN/best --params word_path.which_scale --times 8 -o /tmp/which-x8
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", type=Path, help="a trained generator folder (hypernet.safetensors + hypernet.json)")
    p.add_argument("--zero", "--params", dest="params", required=True, metavar="PREFIX,...",
                   help="comma-separated parameter-name prefixes")
    p.add_argument("--times", type=float, default=0.0, metavar="F", help="multiply by F instead of zeroing (default 0)")
    p.add_argument("-o", "--out", type=Path, required=True, help="new checkpoint folder (must not exist)")
    args = p.parse_args(argv)

    from t2l_edge.core.errors import T2LError
    from t2l_edge.hypernet.checkpoint import load_hypernet, save_hypernet

    if args.out.exists():
        p.error(f"{args.out} exists; choose a new folder")
    try:
        net, meta = load_hypernet(args.checkpoint)
    except T2LError as e:
        p.error(str(e))
    prefixes = [x for x in args.params.split(",") if x]
    chosen = [name for name, _ in net.named_parameters() if any(name.startswith(x) for x in prefixes)]
    missing = [x for x in prefixes if not any(n.startswith(x) for n in chosen)]
    if missing:
        p.error(f"no parameter starts with {', '.join(missing)}; see the names in {args.checkpoint}/hypernet.safetensors")
    params = dict(net.named_parameters())
    for name in chosen:
        params[name].data.mul_(args.times)
    edit = {"params": chosen, "factor": args.times}
    save_hypernet(net, args.out, {**meta.get("provenance", {}), "ablated_from": str(args.checkpoint), **edit})
    print(json.dumps({"out": str(args.out), **edit}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
