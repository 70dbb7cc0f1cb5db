"""Every malformed adapter of tests/helpers/bad_adapters.py, built for the real SmolLM2 base, through
our validator and through upstream llama-server, side by side.

Upstream runs as a subprocess (`llama-server --lora CASE.gguf`): it either exits before it is
ready (refused, with its own message, or killed by a signal: crashed), or it comes up, and
then it is asked for 4 tokens to see whether it survives using the adapter (accepted).
Used by tests/test_upstream_bad_slow.py and scripts/upstream_table.py (docs/upstream.md).
"""

from __future__ import annotations

import dataclasses
import re
import signal
from pathlib import Path

from tests.helpers import upstream_tools as up

# The lines of llama-server's log that say why an adapter was refused.
_REASON = re.compile(r"(error|failed|invalid|mismatch|does not exist|missing|not transposed|incorrect|unsupported|expect)", re.I)
_STAMP = re.compile(r"^\d+\.\d+\.\d+\.\d+ [DIWE] +")  # the server log's time and level prefix


def _reason(log: str) -> str:
    seen = []
    for line in log.splitlines():
        line = _STAMP.sub("", line.strip())
        if _REASON.search(line) and line not in seen:
            seen.append(line)
    if not seen:
        return (log.strip().splitlines() or ["(no output)"])[-1]
    # the adapter loader's own line first: it names the cause; the later ones only say "failed"
    seen.sort(key=lambda s: 0 if ("llama_adapter" in s or "gguf" in s or "tensor" in s or "arch" in s) else 1)
    return seen[0]


def _crash(code: int, log: str) -> str:
    lines = [_STAMP.sub("", ln.strip()) for ln in log.splitlines() if ln.strip()]
    sig = signal.Signals(-code).name if code < 0 else f"exit {code}"
    return f"killed by {sig}; last log line: {lines[-1] if lines else '(none)'}"


def upstream_verdict(bin_dir: Path, base: Path, adapter: Path, log: Path) -> dict:
    """{'verdict': refused|crashed|accepted|crashed when used, 'exit': code, 'message': ...}"""
    port = up.free_port()
    args = [str(bin_dir / "llama-server"), "-m", str(base), "--lora", str(adapter), "--port", str(port), *up.TEST_FLAGS]
    srv = up.Server(args, port, log)
    try:
        ended = srv.start()
        if ended is not None:
            if ended.returncode < 0 or ended.returncode >= 128:
                return {"verdict": "crashed", "exit": ended.returncode, "message": _crash(ended.returncode, ended.log)}
            return {"verdict": "refused", "exit": ended.returncode, "message": _reason(ended.log)}
        try:
            status, out = up.http("POST", srv.url + "/completion", {"prompt": "The capital of France is", "n_predict": 4,
                                                                    "temperature": 0}, timeout=300)
        except OSError as exc:  # the server died while generating
            status, out = None, str(exc)
        if srv.proc.poll() is not None:
            return {"verdict": "crashed when used", "exit": srv.proc.returncode, "message": _crash(srv.proc.returncode, srv.log())}
        text = out.get("content", "") if isinstance(out, dict) else str(out)
        return {"verdict": "accepted", "exit": None, "message": f"HTTP {status}, generated {text!r}"}
    finally:
        srv.stop()


def compare_all(bin_dir: Path, d: Path) -> list[dict]:
    """One row per malformed adapter: our validator's verdict and upstream's."""
    from tests.helpers.bad_adapters import build_cases
    from t2l_edge.core.basemodel import default_base_path, read_base_spec
    from t2l_edge.core.errors import T2LError
    from t2l_edge.formats.validate import validate_adapter
    from tests.helpers.tinyllama import random_adapter

    base = default_base_path()
    spec = read_base_spec(base)
    other = random_adapter(dataclasses.replace(spec, sha256="0" * 64, name="another-base"))
    d.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, (path, fragment) in build_cases(spec, base, other, d).items():
        try:
            validate_adapter(path, base)
            ours = {"verdict": "accepted", "message": ""}
        except T2LError as exc:
            ours = {"verdict": "refused", "message": exc.message, "expected_fragment": fragment}
        theirs = upstream_verdict(bin_dir, base, path, d / f"{name}.server.log")
        theirs["message"] = theirs["message"].replace(str(d), "…")  # temp paths differ per run
        rows.append({"case": name, "ours": ours, "upstream": theirs})
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| malformed adapter | t2l-edge validator | llama-server | upstream's own words |", "|---|---|---|---|"]
    for r in rows:
        msg = r["upstream"]["message"].replace("|", "/")[:160]
        exit_ = "" if r["upstream"]["exit"] is None else f" (exit {r['upstream']['exit']})"
        lines.append(f"| {r['case']} | {r['ours']['verdict']} | {r['upstream']['verdict']}{exit_} | `{msg}` |")
    return "\n".join(lines)
