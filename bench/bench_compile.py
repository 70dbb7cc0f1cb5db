"""Does torch.compile pay for itself in SFT training here? (on demand, not a test)

The same step as bench_train (real SmolLM2-135M with per-example LoRA, M hypernetwork, one
fixed batch), eager and with the base's decoder stack under torch.compile (inductor), in the precision
the trainer would pick on this machine (train/device.py). The compiled model's first step
carries the compile; `compile_s` is that step minus a compiled step, and `break_even_steps`
how many steps the saving needs to repay it (None when compiling is not faster).

    .venv/bin/python -m bench.bench_compile [--steps 6] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from bench._common import machine_info, write_result
from bench.bench_train import build, step_args, timed_steps


def main() -> None:
    args = step_args(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]), "compile.json")
    from t2l_edge.train.device import use_bf16

    bf16 = use_bf16("auto", torch.device("cpu"))
    net, model, wrapped, opt, batch, _ = build(args)
    eager = timed_steps(net, model, wrapped, opt, batch, args.steps + 1, bf16)
    # The loss calls the decoder stack (model.model) and then only the answer positions of
    # lm_head, so the stack is what gets compiled, in place; the LoRA-wrapped projections inside
    # it and their per-step A and B are traced with it.
    model.model.compile()
    t = time.perf_counter()
    try:
        compiled = timed_steps(net, model, wrapped, opt, batch, args.steps + 1, bf16)
        error = None
    except Exception as exc:  # a compile failure is a result here, not a crash of the bench
        compiled, error = [], f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
    res = {"machine": machine_info(threads=torch.get_num_threads(), torch=torch.__version__), "batch": args.batch,
           "seq": args.seq, "precision": "bf16-autocast" if bf16 else "fp32",
           "eager_s_per_step": statistics.median(eager[1:]), "eager_all_s": eager}
    if error:
        res.update(compile_error=error, compile_attempt_s=time.perf_counter() - t)
    else:
        step = statistics.median(compiled[1:])
        saving = res["eager_s_per_step"] - step
        compile_s = compiled[0] - step
        res.update(compiled_s_per_step=step, compiled_all_s=compiled, compile_s=compile_s,
                   speedup=res["eager_s_per_step"] / step,
                   break_even_steps=compile_s / saving if saving > 0 else None)
    write_result(args.out, res)


if __name__ == "__main__":
    main()
