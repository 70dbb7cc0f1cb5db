"""Benchmark adapter generation on the SmolLM2-135M shape (on demand, not a test).

Everything is measured in the same run, as ratios against baselines taken on the same machine:
  cold  `t2l-edge make-adapter` wall time   vs  bare `python -c "import onnxruntime"`
  warm  Generator.make() latency, and batch throughput
  the same pipeline in PyTorch (MiniLM + hypernetwork, cold process and warm call)
The hypernetwork is untrained (random heads): timing does not depend on the weights.

    .venv/bin/python -m bench.bench_make_adapter [--variant M] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import machine_info, write_result

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DESC = "Answer the multiple-choice science question with the text of the correct option."


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def wall(cmd: list[str], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
        out.append(time.perf_counter() - t)
    return out


# The cold path of `make-adapter`, one phase at a time, in a fresh process (what -X importtime
# and a timer per phase show, without the CLI's argument parsing).
PHASES_CODE = """
import time, json, sys
t0 = time.perf_counter(); marks = []
def mark(name): marks.append((name, time.perf_counter()))
import typer, click; import t2l_edge.cli; mark("import cli (typer, click)")
import onnxruntime; mark("import onnxruntime")
from t2l_edge.runtime import Generator; from t2l_edge.formats.gguf_adapter import write_gguf; mark("import runtime + gguf writer")
from t2l_edge.formats.keys import ENCODER_FILE, HYPERNET_FILE, TOKENIZER_FILE
from t2l_edge.runtime.bundle import load_manifest
from t2l_edge.runtime.encoder_runtime import PRE_OPTIMIZED, OnnxEncoder, ort_session
b = sys.argv[1]; verify = sys.argv[2]
man = load_manifest(b, verify=True if verify == "cached" else "full"); mark("verify bundle (" + verify + ")")
info = man.raw["encoder"]
enc = OnnxEncoder(b + "/" + ENCODER_FILE, b + "/" + TOKENIZER_FILE, pre_optimized=info.get("graph") == PRE_OPTIMIZED); mark("encoder session")
hyper = ort_session(b + "/" + HYPERNET_FILE); mark("hypernet session")
gen = Generator(__import__("pathlib").Path(b), man, enc, hyper)
ad = gen.make("Answer the question."); mark("make")
write_gguf(ad, sys.argv[3], force=True); mark("write gguf")
prev, out = t0, {}
for name, t in marks: out[name] = t - prev; prev = t
print(json.dumps(out))
"""


def phases(bundle: Path, out: Path, repeats: int) -> dict:
    """Median seconds per cold-path phase, full hashing vs the digest cache."""
    res = {}
    for verify in ("full", "cached"):
        runs = [json.loads(subprocess.run([PY, "-c", PHASES_CODE, str(bundle), verify, str(out)], check=True,
                                          capture_output=True, text=True, cwd=ROOT).stdout) for _ in range(repeats)]
        res[verify] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", default="M")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "make_adapter.json"))
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="t2l-bench-"))
    try:
        res = measure(args, tmp)
    finally:  # the bundle, checkpoint and adapters of the run, also when a step fails
        shutil.rmtree(tmp, ignore_errors=True)
    write_result(args.out, res)


def measure(args, tmp: Path) -> dict:
    import torch

    from t2l_edge.export.bundle_writer import write_bundle
    from t2l_edge.core.basemodel import default_base_path, read_base_spec
    from t2l_edge.hypernet.checkpoint import save_hypernet
    from t2l_edge.hypernet.config import HyperConfig
    from t2l_edge.hypernet.model import HyperNetwork

    spec = read_base_spec(default_base_path())
    torch.manual_seed(0)
    net = HyperNetwork(HyperConfig(variant=args.variant), spec).eval()
    with torch.no_grad():
        for h in net.heads.values():
            h.weight.normal_(0, 0.01)
    ckpt = save_hypernet(net, tmp / "ckpt")
    bundle = tmp / "bundle"
    write_bundle(net, bundle, {"note": "untrained, benchmark only"}, log=lambda s: None)

    res: dict = {"machine": machine_info(),
                 "variant": args.variant, "param_count": net.param_count(), "repeats": args.repeats,
                 "bundle_mb": round(sum(f.stat().st_size for f in bundle.iterdir()) / 1e6, 2)}
    floor = wall([PY, "-c", "import onnxruntime"], args.repeats)
    python_floor = wall([PY, "-c", "pass"], args.repeats)
    make_cmd = [str(Path(PY).parent / "t2l-edge"), "make-adapter", DESC, "--bundle", str(bundle), "-o", str(tmp / "a.gguf"), "--force"]
    cold = wall(make_cmd, args.repeats)
    cold_full_verify = wall(make_cmd + ["--verify"], args.repeats)
    phase_s = phases(bundle, tmp / "p.gguf", args.repeats)
    torch_cold_code = (
        "import torch\n"
        "from t2l_edge.hypernet.checkpoint import load_hypernet\n"
        "from t2l_edge.hypernet.encoder import load_minilm\n"
        "from tokenizers import Tokenizer\n"
        "net, _ = load_hypernet(%r); enc, folder = load_minilm()\n"
        "tok = Tokenizer.from_file(str(folder / 'tokenizer.json')); e = tok.encode(%r)\n"
        "with torch.no_grad(): net(enc(torch.tensor([e.ids]), torch.tensor([e.attention_mask])))\n"
    ) % (str(ckpt), DESC)
    torch_cold = wall([PY, "-c", torch_cold_code], args.repeats)

    from t2l_edge.formats.keys import HYPERNET_INPUT
    from t2l_edge.runtime import Generator

    warm_by_threads = {}
    for threads in (1, 2, None):
        g = Generator.load(bundle, threads=threads)
        g.make(DESC)
        times = []
        for _ in range(30):
            t = time.perf_counter()
            g.make(DESC)
            times.append(time.perf_counter() - t)
        warm_by_threads[str(threads or "default")] = 1000 * statistics.median(times)
    gen = Generator.load(bundle)
    warm = []
    for _ in range(30):
        t = time.perf_counter()
        gen.make(DESC)
        warm.append(time.perf_counter() - t)
    emb = gen.hypernet_input([DESC])  # pooled, or packed for a generator that reads word pieces
    enc_ms = 1000 * statistics.median(_timed(lambda: gen.hypernet_input([DESC])) for _ in range(30))
    hyper_ms = 1000 * statistics.median(_timed(lambda: gen.session.run(None, {HYPERNET_INPUT: emb})) for _ in range(30))
    # Is the hypernetwork run compute-bound? Its FLOPs (counted on the PyTorch twin) per second,
    # against this machine's fp32 GEMM peak at torch's default threads (as ORT's default).
    from torch.utils.flop_counter import FlopCounterMode

    from bench.bench_train import gemm_gflops

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(torch.from_numpy(emb))
    hyper_gflop = counter.get_total_flops() / 1e9
    batch = [f"{DESC} Variant {i}." for i in range(32)]
    t = time.perf_counter()
    gen.make_batch(batch)
    batch_s = time.perf_counter() - t

    from t2l_edge.hypernet.encoder import load_minilm
    from tokenizers import Tokenizer

    enc, folder = load_minilm()
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    e = tok.encode(DESC)
    ids, mask = torch.tensor([e.ids]), torch.tensor([e.attention_mask])
    torch_warm = []
    with torch.no_grad():
        for _ in range(20):
            t = time.perf_counter()
            net(enc(ids, mask))
            torch_warm.append(time.perf_counter() - t)

    med = statistics.median
    res.update({
        "floor_import_onnxruntime_s": med(floor),
        "floor_python_s": med(python_floor),
        "cold_make_adapter_s": med(cold),
        "cold_make_adapter_full_verify_s": med(cold_full_verify),
        "cold_over_floor": med(cold) / med(floor),
        "cold_phases_s": phase_s,
        "warm_make_ms": 1000 * med(warm),
        "warm_make_ms_by_threads": warm_by_threads,
        "warm_encoder_ms": enc_ms, "warm_hypernet_ms": hyper_ms,
        "hypernet_gflop": hyper_gflop, "hypernet_gflops_achieved": hyper_gflop / (hyper_ms / 1000),
        "gemm_peak_fp32_gflops": gemm_gflops(torch.float32),
        "batch32_adapters_per_s": 32 / batch_s,
        "torch_cold_s": med(torch_cold),
        "torch_warm_ms": 1000 * med(torch_warm),
        "speedup_cold_vs_torch_cold": med(torch_cold) / med(cold),
        "speedup_warm_vs_torch_warm": med(torch_warm) / med(warm),
        "targets": {"cold_s": 0.5, "cold_over_floor": 1.8, "warm_ms": 5.0, "speedup_vs_torch_cold": 5.0},
    })
    return res


if __name__ == "__main__":
    main()
