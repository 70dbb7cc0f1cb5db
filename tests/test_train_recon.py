"""Reconstruction training drives the error on a small LoRA library toward zero, and resumes."""

from __future__ import annotations

import numpy as np
import torch

from t2l_edge.hypernet.config import HyperConfig
from t2l_edge.hypernet.model import HyperNetwork
from t2l_edge.train.config import ReconConfig
from t2l_edge.train.recon import LibraryTask, recon_loss, run_recon, validate_recon
from tests.helpers.tiny_models import tiny_spec


def _library(n=4, rank=4):
    spec = tiny_spec()
    g = torch.Generator().manual_seed(1)
    rng = np.random.default_rng(1)
    lib = []
    for k in range(n):
        A, B = {}, {}
        for m in ("q_proj", "v_proj"):
            fin, fout = spec.shape(m)
            A[m] = torch.randn(spec.n_layer, rank, fin, generator=g) * 0.1
            B[m] = torch.randn(spec.n_layer, fout, rank, generator=g) * 0.1
        centre = rng.standard_normal(32)
        # descriptions of one task: nearby embeddings; held-out ones are new nearby points
        emb = (centre + 0.05 * rng.standard_normal((5, 32))).astype(np.float32)
        lib.append(LibraryTask(f"t{k}", A, B, 2.0, emb[:3], emb[3:]))
    return spec, lib


def _net(spec):
    torch.manual_seed(0)
    return HyperNetwork(HyperConfig(variant="M", emb_dim=32, latent=16, hidden=64, head_in=32, rank=4, alpha=4.0,
                                    use_rslora=False, dropout=0.0), spec)


def test_recon_drives_the_error_toward_zero(tmp_path):
    spec, lib = _library()
    net = _net(spec)
    before = validate_recon(net, lib, "delta", None)
    cfg = ReconConfig(out=str(tmp_path / "r"), steps=300, batch_tasks=4, lr=3e-3, warmup=0.05, eval_every=100, log_every=50)
    res = run_recon(cfg, net, lib)
    assert res["best_val"] < 0.1 * before, (before, res["best_val"])
    assert (tmp_path / "r" / "best" / "hypernet.json").is_file()


def test_ab_loss_is_zero_exactly_at_the_targets():
    spec, lib = _library(n=2)
    net = _net(spec)
    from t2l_edge.train.recon import _stats

    stats = {"A": _stats(lib, "A"), "B": _stats(lib, "B")}
    assert float(recon_loss(net, lib, torch.from_numpy(np.stack([t.train_emb[0] for t in lib])), "ab", stats)) > 0.1

    class Oracle(torch.nn.Module):  # returns the library itself: the loss must vanish
        cfg = net.cfg

        def forward(self, emb):
            return {m: (torch.stack([t.A[m] for t in lib]), torch.stack([t.B[m] for t in lib])) for m in ("q_proj", "v_proj")}

    assert float(recon_loss(Oracle(), lib, torch.zeros(2, 32), "ab", stats)) == 0.0


def test_recon_resume_is_exact(tmp_path):
    spec, lib = _library()
    cfg = ReconConfig(out=str(tmp_path / "a"), steps=12, batch_tasks=2, lr=3e-3, eval_every=6, log_every=1)
    straight = _net(spec)
    run_recon(cfg, straight, lib)
    cfg_b = ReconConfig(**{**cfg.to_dict(), "out": str(tmp_path / "b")})
    run_recon(cfg_b, _net(spec), lib, stop_at=5)
    resumed = _net(spec)
    run_recon(cfg_b, resumed, lib, resume=True)
    for k, v in resumed.state_dict().items():
        assert torch.equal(v, straight.state_dict()[k]), k
