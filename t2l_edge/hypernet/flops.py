"""Forward FLOPs of a hypernetwork, counted by PyTorch on the module itself (the torch side of
the FLOP accounting in analysis/flops.py, which only does arithmetic)."""

from __future__ import annotations


def hypernet_flops(net) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net.eval()(torch.zeros(1, net.cfg.emb_dim))
    return float(counter.get_total_flops())
