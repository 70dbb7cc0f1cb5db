"""On-demand benchmark of `t2l-edge serve`: bounded load on 127.0.0.1, real base + default bundle.

Starts the real CLI (`t2l-edge serve --threads 1`) in its own process and sends
OpenAI chat requests (greedy, max_tokens 32, not streamed) from 1, 4 and 16 client threads:
  - cached: each request uses one of a few descriptions made before timing starts, so every
    request switches between cached adapters;
  - new: every request carries a description never seen before (generated on first use).
Per setting: requests/s, p50/p95 client latency, errors. From the server's own per-request
timings ("t2l".timings in each response): the adapter cost inside the request (make + load +
switch) as a ratio to the same request's decode time. Targets: 16 clients with zero errors;
a cached switch < 5% and a first-use description < 10% of a 32-token reply.

    .venv/bin/python -m bench.bench_serve [--requests-per-setting 1:8,4:16,16:32] [--out bench/results/serve.json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from bench._common import machine_info, write_result

ROOT = Path(__file__).resolve().parents[1]
MAX_TOKENS = 32
DESCRIPTIONS = ["Explain the topic to a curious child in a few simple sentences.",
                "Write a short story about the topic.",
                "Describe the topic in detail for a school report.",
                "Give practical advice about the topic."]
TOPICS = ["how bees make honey", "why the sky is blue", "how trains work", "the water cycle", "volcanoes",
          "learning to swim", "the moon", "keeping a garden"]


def start_server(threads: int):
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.Popen([sys.executable, "-m", "t2l_edge.cli", "serve", "--port", "0", "--threads", str(threads),
                             "--max-queue", "256"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=ROOT)
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        raise SystemExit(f"serve did not start: {line} {proc.stderr.read()[-2000:]}")
    return proc, "http://" + line.split("http://", 1)[1].split("/", 1)[0]


def body(model: str, description: str, topic: str) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": f"Tell me about {topic}."}],
            "max_tokens": MAX_TOKENS, "temperature": 0, "t2l": {"description": description}}


def run_setting(url: str, model: str, clients: int, n: int, new: bool) -> dict:
    """n requests spread over `clients` threads; returns latencies, errors and server timings."""
    import httpx

    per = [n // clients + (1 if i < n % clients else 0) for i in range(clients)]
    lat, timings, errors = [], [], []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(i: int) -> None:
        with httpx.Client(base_url=url, timeout=600) as http:
            start.wait()
            for k in range(per[i]):
                topic = TOPICS[(i + k) % len(TOPICS)]
                desc = (f"{DESCRIPTIONS[(i + k) % len(DESCRIPTIONS)]} Focus on detail {uuid.uuid4().hex[:8]}."
                        if new else DESCRIPTIONS[(i + k) % len(DESCRIPTIONS)])
                t0 = time.perf_counter()
                try:
                    r = http.post("/v1/chat/completions", json=body(model, desc, topic))
                    ok = r.status_code == 200
                    out = r.json() if ok else None
                except Exception as exc:  # noqa: BLE001 - counted as an error
                    ok, out = False, None
                    r = exc
                dt = time.perf_counter() - t0
                with lock:
                    if not ok:
                        errors.append(str(getattr(r, "text", r))[:200])
                        continue
                    lat.append(dt)
                    t = out["t2l"]["timings"]
                    timings.append({**t, "completion_tokens": out["usage"]["completion_tokens"],
                                    "cached": out["t2l"]["adapters"][0]["cached"]})

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"clients": clients, "requests": n, "errors": len(errors), "error_samples": errors[:3], "wall_s": wall,
            "requests_per_s": len(lat) / wall, "latency_p50_s": pct(lat, 50), "latency_p95_s": pct(lat, 95),
            **cost(timings)}


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))]


def cost(timings: list[dict]) -> dict:
    """Adapter cost inside each request vs that request's own decode time (prefill excluded),
    and vs a 32-token reply at that request's own decode speed."""
    own, per32, tok = [], [], []
    for t in timings:
        n_dec = max(t["completion_tokens"] - 1, 1)  # the first token comes with the prompt's logits
        if t["decode_ms"] <= 0:
            continue
        own.append(t["adapter_ms"] / t["decode_ms"])
        per32.append(t["adapter_ms"] / (t["decode_ms"] / n_dec * (MAX_TOKENS - 1)))
        tok.append(t["completion_tokens"])
    med = lambda k: statistics.median(x[k] for x in timings) if timings else None  # noqa: E731
    return {"adapter_ms_p50": med("adapter_ms"), "make_ms_p50": med("make_ms"), "load_ms_p50": med("load_ms"),
            "switch_ms_p50": med("switch_ms"), "decode_ms_p50": med("decode_ms"), "prefill_ms_p50": med("prefill_ms"),
            "tokens_per_s_p50": med("tokens_per_s"), "completion_tokens_p50": statistics.median(tok) if tok else None,
            "cached_fraction": sum(t["cached"] for t in timings) / len(timings) if timings else None,
            "adapter_over_decode_p50": pct(own, 50), "adapter_over_decode_p95": pct(own, 95),
            "adapter_over_32_token_reply_p50": pct(per32, 50), "adapter_over_32_token_reply_p95": pct(per32, 95)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests-per-setting", default="1:8,4:16,16:32", help="CLIENTS:REQUESTS pairs")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "serve.json"))
    args = ap.parse_args()
    import httpx

    settings = [tuple(int(x) for x in s.split(":")) for s in args.requests_per_setting.split(",")]
    before = machine_info(load=True)
    proc, url = start_server(args.threads)
    try:
        with httpx.Client(base_url=url, timeout=600) as http:
            model = http.get("/v1/models").json()["data"][0]["id"]
            for i, d in enumerate(DESCRIPTIONS):  # warm-up: make the cached set, and one decode
                http.post("/v1/chat/completions", json=body(model, d, TOPICS[i]))
        results = {"cached": [], "new": []}
        for kind in ("cached", "new"):
            for clients, n in settings:
                r = run_setting(url, model, clients, n, new=kind == "new")
                results[kind].append(r)
                print(f"{kind:6s} {clients:2d} clients {n:3d} req: {r['requests_per_s']:.2f} req/s, p50 {r['latency_p50_s']:.2f} s, "
                      f"p95 {r['latency_p95_s']:.2f} s, errors {r['errors']}, adapter/decode p50 "
                      f"{r['adapter_over_decode_p50']:.4f}", flush=True)
        with httpx.Client(base_url=url, timeout=60) as http:
            health = http.get("/health").json()
    finally:
        proc.send_signal(2)
        proc.wait(60)
    top = {k: max(v, key=lambda r: r["clients"]) for k, v in results.items()}
    pool = lambda kind, key: statistics.median(r[key] for r in results[kind])  # noqa: E731
    result = {
        "what": "t2l-edge serve on 127.0.0.1: real SmolLM2-135M-Instruct Q4_1 base + models/default bundle, "
                f"--threads {args.threads}, greedy chat requests, max_tokens {MAX_TOKENS}, not streamed",
        "settings": results, "server_health_after": health, "total_requests": sum(n for _, n in settings) * 2,
        "summary": {
            "errors_16_clients": {k: top[k]["errors"] for k in top},
            "cached_switch_over_32_token_reply_p50": pool("cached", "adapter_over_32_token_reply_p50"),
            "first_use_over_32_token_reply_p50": pool("new", "adapter_over_32_token_reply_p50"),
            "cached_switch_over_own_decode_p50": pool("cached", "adapter_over_decode_p50"),
            "first_use_over_own_decode_p50": pool("new", "adapter_over_decode_p50"),
        },
        "targets": {"errors_16_clients": 0, "cached_switch_over_32_token_reply": 0.05, "first_use_over_32_token_reply": 0.10},
        "machine_before": before, "machine_after": machine_info(load=True), "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    s = result["summary"]
    result["pass"] = {"zero_errors_16_clients": all(v == 0 for v in s["errors_16_clients"].values()),
                      "cached_switch": s["cached_switch_over_32_token_reply_p50"] < 0.05,
                      "first_use": s["first_use_over_32_token_reply_p50"] < 0.10}
    write_result(args.out, result, indent=2, shown={"summary": s, "pass": result["pass"]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
