"""Regenerate tests/data/tiny_bundle: the committed tiny bundle the torch-free runtime tests use.

    .venv/bin/python -m tests.helpers.make_tiny_bundle [--out tests/data/tiny_bundle]

It is exactly tiny_bundle(folder, "M", perturb=0.5) on tiny_encoder(seed 0): a large head
perturbation, so different descriptions give visibly different greedy answers on the tiny llama
(the serve tests rely on that). Its manifest names the fake tiny_spec() base; tests that run it
on the tiny llama point the manifest at that base (see serve_fixtures.tiny_world). Needs torch.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from tests.helpers.tiny_models import STORED_BUNDLE

VARIANT, PERTURB = "M", 0.5


def build(out: Path, encoder: dict | None = None) -> Path:
    """Write the tiny bundle to `out` (which must not exist); returns `out`."""
    from tests.helpers.tiny_models import tiny_bundle, tiny_encoder

    with tempfile.TemporaryDirectory() as tmp:
        enc = encoder or tiny_encoder(Path(tmp) / "enc")
        tiny_bundle(out, VARIANT, encoder=enc, perturb=PERTURB)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=STORED_BUNDLE)
    args = ap.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    build(args.out)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"wrote {args.out} ({size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
