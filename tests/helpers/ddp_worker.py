"""Run a few T2L SFT steps on the tiny world; launched by torchrun (N processes) or plainly
(1 process) from test_train_ddp.py. Writes the final hypernetwork weights per rank."""

import sys
from pathlib import Path

import torch

from safetensors.torch import save_file
from t2l_edge.hypernet.config import HyperConfig
from t2l_edge.hypernet.model import HyperNetwork
from t2l_edge.train.config import SFTConfig
from t2l_edge.train.distributed import init_from_env, shutdown
from t2l_edge.train.sft import run_sft
from tests.helpers.tiny_models import tiny_spec
from tests.helpers.train_fixtures import char_formatter, tiny_causal_lm, toy_tasks

if __name__ == "__main__":
    out = Path(sys.argv[1])
    torch.set_num_threads(1)
    dist = init_from_env()
    model, wrapped = tiny_causal_lm()
    torch.manual_seed(0)
    net = HyperNetwork(HyperConfig(variant="M", emb_dim=32, latent=16, hidden=32, head_in=24, rank=4, dropout=0.0), tiny_spec())
    if not dist.is_main:  # rank 1 starts from other weights: DDP must broadcast rank 0's
        torch.nn.init.normal_(net.task_proj[0].weight)
    cfg = SFTConfig(out=str(out / "run"), steps=6, batch_tasks=4, lr=5e-3, bf16=False, log_every=1, eval_every=3,
                    eval_examples=8, checkpoint_every=100, neftune_alpha=0.0, label_smoothing=0.1, l2=1e-3)
    tasks = toy_tasks()
    run_sft(cfg, net, model, wrapped, char_formatter, tasks, tasks[:2], pad_id=0, dist=dist)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(out / f"rank{dist.rank}.safetensors"))
    shutdown(dist)
