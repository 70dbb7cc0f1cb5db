"""A resumed SFT run reproduces an uninterrupted one exactly; the loop lowers the loss."""

from __future__ import annotations

import torch

from t2l_edge.hypernet.config import HyperConfig
from t2l_edge.hypernet.model import HyperNetwork
from t2l_edge.train.config import SFTConfig
from t2l_edge.train.sft import run_sft
from tests.helpers.tiny_models import tiny_spec
from tests.helpers.train_fixtures import char_formatter, tiny_causal_lm, toy_tasks


def _setup(tmp_path, name):
    model, wrapped = tiny_causal_lm()
    net = HyperNetwork(HyperConfig(variant="S", emb_dim=32, latent=16, hidden=32, head_in=24, rank=4), tiny_spec())
    cfg = SFTConfig(out=str(tmp_path / name), steps=8, batch_tasks=4, lr=5e-3, bf16=False, log_every=1, eval_every=4,
                    eval_examples=8, checkpoint_every=100, neftune_alpha=5.0, label_smoothing=0.1)
    return cfg, net, model, wrapped, toy_tasks()


def test_resume_reproduces_uninterrupted_run(tmp_path):
    cfg, net, model, wrapped, tasks = _setup(tmp_path, "straight")
    run_sft(cfg, net, model, wrapped, char_formatter, tasks, tasks[:2], pad_id=0)
    straight = {k: v.clone() for k, v in net.state_dict().items()}

    cfg2, net2, model2, wrapped2, tasks2 = _setup(tmp_path, "resumed")
    run_sft(cfg2, net2, model2, wrapped2, char_formatter, tasks2, tasks2[:2], pad_id=0, stop_at=5)  # as if interrupted
    cfg3, net3, model3, wrapped3, tasks3 = _setup(tmp_path, "resumed")  # a fresh process, same folder
    out = run_sft(cfg3, net3, model3, wrapped3, char_formatter, tasks3, tasks3[:2], pad_id=0, resume=True)
    assert out["step"] == 8
    for k, v in net3.state_dict().items():
        assert torch.equal(v, straight[k]), k
    lines = (tmp_path / "resumed" / "log.jsonl").read_text().splitlines()
    assert [__import__("json").loads(x)["step"] for x in lines] == list(range(1, 9))
    assert (tmp_path / "resumed" / "best" / "hypernet.json").is_file()
