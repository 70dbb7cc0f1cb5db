"""torch.distributed for the trainers: torchrun sets the environment, we only join the group.

    torchrun --nproc_per_node=2 -m t2l_edge train sft --config ...

gloo on CPU, nccl on CUDA. Every rank builds the same global batch from (seed, step) and keeps
rows rank, rank + world, ...: DistributedSampler-style sharding without a sampler object,
because batches are already a pure function of the step (that is what makes resume exact).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, n: int) -> slice:
        """The rows of an n-row global batch this rank computes."""
        return slice(self.rank, n, self.world)

    def any(self, flag: bool) -> bool:
        """True on every rank if it is true on any (a Ctrl-C seen by one rank stops all at the same step)."""
        if not self.enabled:
            return flag
        # nccl reduces only CUDA tensors; gloo only CPU ones
        on = "cuda" if torch.distributed.get_backend() == "nccl" else "cpu"
        t = torch.tensor([1.0 if flag else 0.0], device=on)
        torch.distributed.all_reduce(t)
        return bool(t.item() > 0)

    def barrier(self) -> None:
        if self.enabled:
            torch.distributed.barrier()


def init_from_env() -> Dist:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); a no-op otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    if not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    return Dist(torch.distributed.get_rank(), torch.distributed.get_world_size())


def wrap_ddp(module: torch.nn.Module, dist: Dist) -> torch.nn.Module:
    if not dist.enabled:
        return module
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(module)


def shutdown(dist: Dist) -> None:
    if dist.enabled and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
