"""SFT step cost on the real SmolLM2-135M, on this machine (on demand, not a test).

One step = hypernetwork forward -> per-example LoRA on q/v of all 30 layers -> frozen base
forward on T sequences -> loss on the last `--answer` tokens -> backward -> AdamW.
fp32 and bf16 autocast are measured in the same run, with the machine's own GEMM GFLOP/s in
each precision and the share of it a step achieves (the step's FLOPs counted by torch's
FlopCounterMode). `bf16: auto` in the training config picks bf16 only where the CPU has
hardware bf16 (train/device.py); `auto_choice` records what it picks here.

    .venv/bin/python -m bench.bench_train [--batch 8] [--seq 128] [--steps 6]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import torch
from bench._common import machine_info, write_result

ROOT = Path(__file__).resolve().parent.parent


def gemm_gflops(dtype, n: int = 1024, reps: int = 5) -> float:
    """Best-of-reps square matmul throughput on this machine, in GFLOP/s."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b  # warm-up
    best = min(_timed(lambda: a @ b) for _ in range(reps))
    return 2 * n ** 3 / best / 1e9


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def step_flops(net, model, wrapped, batch, bf16: bool) -> float:
    """FLOPs of one forward + backward of the SFT loss."""
    from torch.utils.flop_counter import FlopCounterMode

    from t2l_edge.train.loss import sft_loss

    with FlopCounterMode(display=False) as counter:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss, _ = sft_loss(net, model, wrapped, batch)
        loss.backward()
    net.zero_grad(set_to_none=True)
    return float(counter.get_total_flops())


def step_args(ap: argparse.ArgumentParser, out: str) -> argparse.Namespace:
    """The step's shape and threads (shared with bench_compile), parsed; torch threads set."""
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--answer", type=int, default=16)
    ap.add_argument("--steps", type=int, default=6, help="timed steps per mode, after a warm-up step")
    ap.add_argument("--variant", default="M")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / out))
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


def build(args):
    """The real base with per-example LoRA wrapping, an untrained hypernetwork, AdamW and one
    fixed random batch of args.batch x args.seq tokens (loss on the last args.answer)."""
    from t2l_edge.core.basemodel import default_base_path, read_base_spec
    from t2l_edge.hypernet.config import HyperConfig
    from t2l_edge.hypernet.model import HyperNetwork
    from t2l_edge.train.base_torch import load_base_torch
    from t2l_edge.train.batched_lora import wrap_model
    from t2l_edge.train.batches import Batch

    t0 = time.perf_counter()
    model, _tok, _sha = load_base_torch()
    load_s = time.perf_counter() - t0
    spec = read_base_spec(default_base_path(), sha256=False)
    net = HyperNetwork(HyperConfig(variant=args.variant), spec).train()
    wrapped = wrap_model(model, net.cfg.targets, spec.n_layer)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(100, 40000, (args.batch, args.seq), generator=g)
    labels = torch.full_like(ids, -100)
    labels[:, -args.answer:] = ids[:, -args.answer:]
    batch = Batch(torch.nn.functional.normalize(torch.randn(args.batch, 384, generator=g), dim=-1), ids, torch.ones_like(ids), labels)
    return net, model, wrapped, opt, batch, load_s


def timed_steps(net, model, wrapped, opt, batch, n: int, bf16: bool) -> list[float]:
    """Seconds of each of n full training steps (loss, backward, clip, AdamW)."""
    from t2l_edge.train.loss import sft_loss

    times = []
    for _ in range(n):
        t = time.perf_counter()
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss, _ = sft_loss(net, model, wrapped, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t)
    return times


def main() -> None:
    args = step_args(argparse.ArgumentParser(), "train.json")

    net, model, wrapped, opt, batch, load_s = build(args)

    res = {"machine": machine_info(threads=torch.get_num_threads(), torch=torch.__version__), "batch": args.batch, "seq": args.seq, "answer_tokens": args.answer,
           "variant": args.variant, "hypernet_params": net.param_count(), "base_load_s": load_s, "modes": {}}
    from t2l_edge.train.device import cpu_flags, use_bf16

    res["auto_choice"] = "bf16-autocast" if use_bf16("auto", torch.device("cpu")) else "fp32"
    res["cpu_bf16_flags"] = sorted(f for f in cpu_flags() if "bf16" in f)
    for mode in ("fp32", "bf16-autocast"):
        times = timed_steps(net, model, wrapped, opt, batch, args.steps + 1, bf16=mode != "fp32")[1:]  # first: warm-up
        med = statistics.median(times)
        flops = step_flops(net, model, wrapped, batch, mode != "fp32")
        peak = gemm_gflops(torch.float32 if mode == "fp32" else torch.bfloat16)
        res["modes"][mode] = {"median_s_per_step": med, "all_s": times, "tokens_per_s": args.batch * args.seq / med,
                              "step_gflop": flops / 1e9, "gemm_gflops": peak,
                              "share_of_gemm_peak": flops / 1e9 / med / peak,
                              "flop_floor_s": flops / 1e9 / peak, "vs_floor": med / (flops / 1e9 / peak)}
    res["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    res["bf16_speedup"] = res["modes"]["fp32"]["median_s_per_step"] / res["modes"]["bf16-autocast"]["median_s_per_step"]
    res["ddp"] = "see bench/bench_train_ddp.py (results/train_ddp.json)"
    write_result(args.out, res)


if __name__ == "__main__":
    main()
