import math

import pytest
import torch

from t2l_edge.hypernet.config import HyperConfig
from t2l_edge.hypernet.model import HyperNetwork
from tests.helpers.tiny_models import tiny_spec

ALL_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@pytest.mark.parametrize("variant", ["L", "M", "S"])
def test_shapes_for_every_module(variant):
    spec = tiny_spec()
    cfg = HyperConfig(variant=variant, emb_dim=32, latent=16, hidden=32, head_in=24, rank=4, targets=ALL_MODULES)
    out = HyperNetwork(cfg, spec)(torch.randn(3, 32))
    for m in ALL_MODULES:
        fin, fout = spec.shape(m)
        a, b = out[m]
        assert a.shape == (3, spec.n_layer, 4, fin)
        assert b.shape == (3, spec.n_layer, fout, 4)


@pytest.mark.parametrize("variant", ["L", "M", "S"])
def test_hyper_init_is_a_peft_init(variant):
    """Untrained: B == 0 (delta W == 0 exactly), A inside PEFT's kaiming bound and not all zero,
    identical for every task and layer (only the bias speaks)."""
    spec = tiny_spec()
    cfg = HyperConfig(variant=variant, emb_dim=32, latent=16, hidden=32, head_in=24, rank=4)
    net = HyperNetwork(cfg, spec)
    out = net(torch.randn(2, 32))
    for m, (a, b) in out.items():
        fin = spec.shape(m)[0]
        assert torch.count_nonzero(b) == 0
        assert a.abs().max() <= 1 / math.sqrt(fin) + 1e-7
        assert a.abs().max() > 0.1 / math.sqrt(fin)
        assert torch.equal(a[0], a[1]) and torch.equal(a[0, 0], a[0, 1])


def test_hyper_init_a_is_the_same_peft_draw_in_every_variant_and_module():
    """The init must be PEFT's A itself, not just inside its bound: M once scattered it into
    half-zero rows for modules with in < out (gate/up), which a bound check cannot see."""
    from t2l_edge.hypernet.model import peft_a_init

    spec = tiny_spec()
    g = torch.Generator().manual_seed(0)
    want = {m: peft_a_init(4, spec.shape(m)[0], g) for m in ALL_MODULES}  # same draw order as the model
    for variant in "LMS":
        cfg = HyperConfig(variant=variant, emb_dim=32, latent=16, hidden=32, head_in=24, rank=4, targets=ALL_MODULES)
        out = HyperNetwork(cfg, spec)(torch.randn(2, 32))
        for m in ALL_MODULES:
            a, b = out[m]
            assert torch.equal(a[1, 1], want[m]), (variant, m)
            assert torch.count_nonzero(b) == 0


@pytest.mark.parametrize("variant", ["L", "M", "S"])
def test_gradients_reach_the_heads_and_then_the_trunk(variant):
    net = HyperNetwork(HyperConfig(variant=variant, emb_dim=32, latent=16, hidden=32, head_in=24, rank=4), tiny_spec())
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(2):  # step 1 moves the zero heads, step 2 then reaches the trunk
        opt.zero_grad()
        out = net(torch.randn(2, 32))
        loss = sum((b.sum() - 1.0) ** 2 for _, b in out.values())
        loss.backward()
        opt.step()
    assert net.task_proj[0].weight.grad.abs().sum() > 0
    assert all(h.weight.grad.abs().sum() > 0 for h in net.heads.values())


def test_variants_differ_in_size_on_smollm2_shape():
    from t2l_edge.core.basemodel import BaseSpec

    smol = BaseSpec(arch="llama", n_layer=30, hidden=576, n_head=9, n_head_kv=3, head_dim=64, ffn=1536, vocab=49152)
    counts = {v: HyperNetwork(HyperConfig(variant=v), smol).param_count() for v in "LMS"}
    assert counts["L"] > counts["M"] > counts["S"]


def test_same_seed_builds_the_same_network_and_leaves_the_global_rng_alone():
    """Every weight, trunk included, is a function of init_seed (two runs of one config start
    from the same network), and building one does not move the caller's RNG stream."""
    cfg = HyperConfig(variant="M", emb_dim=32, latent=16, hidden=32, head_in=24, rank=4)
    torch.manual_seed(123)
    want_next = torch.rand(3)
    torch.manual_seed(123)
    first = HyperNetwork(cfg, tiny_spec(), init_seed=7).state_dict()
    assert torch.equal(torch.rand(3), want_next)
    torch.manual_seed(999)  # a different global state must not matter
    again = HyperNetwork(cfg, tiny_spec(), init_seed=7).state_dict()
    other = HyperNetwork(cfg, tiny_spec(), init_seed=8).state_dict()
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not torch.equal(first["task_proj.0.weight"], other["task_proj.0.weight"])
