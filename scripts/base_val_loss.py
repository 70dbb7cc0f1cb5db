#!/usr/bin/env python
"""Held-out validation loss of the bare base model, the number every training run's val_loss
is compared with: an untrained hypernetwork gives delta W = 0, so this is step 0 of any run.

    .venv/bin/python scripts/base_val_loss.py [configs/sft_smollm2_M.yaml] [key=value ...]
    .venv/bin/python scripts/base_val_loss.py configs/sft_smollm2_M.yaml prompt_style=plain
"""
import argparse
import json

import torch
from t2l_edge.train.config import SFTConfig, resolve
from t2l_edge.train.base_torch import load_base_torch
from t2l_edge.core.basemodel import default_base_path, read_base_spec
from t2l_edge.hypernet.config import HyperConfig
from t2l_edge.hypernet.model import HyperNetwork
from t2l_edge.train.batched_lora import wrap_model
from t2l_edge.train.prompts import FORMATTERS
from t2l_edge.train.tasks import load_tasks
from t2l_edge.train.loop import validate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config", nargs="?", default="configs/sft_smollm2_M.yaml", help="training config YAML")
    ap.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = resolve(SFTConfig, args.config, args.overrides)
    model, tok, sha = load_base_torch(default_base_path())
    spec = read_base_spec(default_base_path())
    net = HyperNetwork(HyperConfig.from_dict(cfg.hypernet), spec)
    wrapped = wrap_model(model, net.cfg.targets, spec.n_layer)
    _, val, _ = load_tasks(cfg, log=lambda s: None)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    formatter = FORMATTERS[cfg.prompt_style](tok, cfg.max_len)
    print(json.dumps({"prompt_style": cfg.prompt_style, **validate(net, model, wrapped, val, formatter, cfg, pad)}))


if __name__ == "__main__":
    main()
