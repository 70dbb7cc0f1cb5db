"""Regenerate docs/serve.png: the `t2l-edge serve` page in headless chromium, on the real
SmolLM2 base and the shipped default bundle (models/default), after one question.

    .venv/bin/python -m scripts.serve_screenshot [--out docs/serve.png] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

DESCRIPTION = "Answer the multiple-choice science question with the correct option."
PROMPT = "Which gas do plants take in from the air to make food?\nOptions: oxygen | carbon dioxide | nitrogen | helium"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(REPO / "docs" / "serve.png"))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from tests.helpers.browser import Browser, missing
    from tests.helpers.serve_fixtures import live_server
    from t2l_edge.core.basemodel import resolve_base
    from t2l_edge.engine import Engine
    from t2l_edge.runtime import Generator
    from t2l_edge.server import build_app

    if missing():
        print(f"error: {missing()}", file=sys.stderr)
        return 2
    gen = Generator.load(REPO / "models" / "default", threads=args.threads)
    with Engine(resolve_base(None), n_ctx=2048, n_threads=args.threads) as engine:
        with live_server(build_app(engine, gen)) as url, Browser(1280, 1000) as browser:
            out = browser.ask(url + "/", DESCRIPTION, PROMPT, max_tokens=64)
            browser.screenshot(Path(args.out))
    print(json.dumps(out, indent=2))
    return 0 if not out["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
