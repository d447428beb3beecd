"""Unrolled GAN (Metz et al. 2017): G's gradient through k steps of D's optimiser, against a
hand-written unroll in float64 autograd, and the unroll's plumbing (state, modes, refusals)."""

import math

import pytest
import torch
from torch import nn
from torch.func import functional_call

from toygan.engine import GANTrainer, make_optimizer
from toygan.models import Discriminator, Generator, NoisePrior
from toygan.objectives import get_objective
from toygan.toy.mixture import ring
from toygan.unroll import unroll


def tiny(seed: int, optimizer: str, objective: str, update: str = "alternating", k: int = 1):
    torch.manual_seed(seed)
    G = Generator(2, 2, 5, 1, "tanh").double()
    D = Discriminator(2, 6, 2, "tanh").double()
    kw = dict(lr=0.05, betas=(0.5, 0.9), momentum=0.7)
    g_opt = make_optimizer(G.parameters(), optimizer, **kw)
    d_opt = make_optimizer(D.parameters(), optimizer, **kw)

    class Data:  # float64 ring points
        def sample(self, n, generator=None):
            return ring(4, 1.0, 0.1).sample(n, generator, dtype=torch.float64)

    class Prior(NoisePrior):
        def sample(self, n, generator=None, dtype=torch.float64):
            return super().sample(n, generator, dtype)

    return GANTrainer(G, D, Prior(2), Data(), objective, g_opt, d_opt,
                      rng=torch.Generator().manual_seed(seed), batch_size=16, prefetch=1,
                      update=update, unrolled=k)  # fmt: skip


def hand_adam_step(p, g, m, v, t, lr, b1, b2, eps):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    mhat, vhat = m / (1 - b1**t), v / (1 - b2**t)
    return p - lr * mhat / (vhat.sqrt() + eps), m, v


@pytest.mark.parametrize("objective", ["saturating", "nonsaturating"])
def test_one_step_unroll_matches_a_hand_written_float64_unroll(objective):
    tr = tiny(0, "adam", objective)
    tr.train(3, progress=False)  # D's Adam has moments and a step count now
    real, noise = tr.data.sample(16, torch.Generator().manual_seed(9)), None
    noise = tr.prior.sample(16, torch.Generator().manual_seed(10))
    obj = get_objective(objective)
    names = [n for n, _ in tr.D.named_parameters()]
    p0 = {n: p.detach().clone() for n, p in tr.D.named_parameters()}
    group = tr.d_opt.param_groups[0]
    lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
    # hand-written: theta_1 = Adam step on L_D(theta_0) with create_graph, then G's loss at it
    g_params = list(tr.G.parameters())
    fake = tr.G(noise)
    leaves = {n: p0[n].clone().requires_grad_(True) for n in names}
    out = functional_call(tr.D, leaves, (torch.cat([real, fake]),))
    d_loss = obj.discriminator_loss(out[:16], out[16:])
    grads = torch.autograd.grad(d_loss, list(leaves.values()), create_graph=True)
    new = {}
    for (n, p), g in zip(tr.D.named_parameters(), grads, strict=True):
        st = tr.d_opt.state[p]
        t = float(st["step"]) + 1
        new[n], _, _ = hand_adam_step(leaves[n], g, st["exp_avg"], st["exp_avg_sq"], t, lr, b1,
                                      b2, eps)  # fmt: skip
    out1 = functional_call(tr.D, new, (torch.cat([real, fake]),))
    if obj.zero_sum:  # G minimises -L_D at the unrolled D, real term included
        loss = -obj.discriminator_loss(out1[:16], out1[16:])
    else:
        loss = obj.generator_loss(out1[16:])
    expected = torch.autograd.grad(loss, g_params)
    # the engine's unroll
    got_loss, _ = tr._unrolled_g_loss((real,), (tr.G(noise),))
    got = torch.autograd.grad(got_loss, g_params)
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    assert any(float(g.abs().max()) > 0 for g in got)
    for n, p in tr.D.named_parameters():  # the unroll never moves D itself
        torch.testing.assert_close(p, p0[n], rtol=0, atol=0)


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_unrolled_parameters_equal_the_optimisers_own_steps(optimizer):
    """k unrolled steps on a fixed batch give the parameters the real optimiser reaches with k
    steps on that batch (same rule, same state): the unroll is D's optimiser, differentiable."""
    tr = tiny(1, optimizer, "nonsaturating")
    tr.train(2, progress=False)
    real = tr.data.sample(16, torch.Generator().manual_seed(3))
    fake = tr.G(tr.prior.sample(16, torch.Generator().manual_seed(4))).detach()
    params = unroll(tr.D, tr.d_opt, tr._d_loss_at, ((real,), (fake,)), 3)
    for _ in range(3):
        tr.d_opt.zero_grad()
        out = tr.D(torch.cat([real, fake]))
        tr.objective.discriminator_loss(out[:16], out[16:]).backward()
        tr.d_opt.step()
    for n, p in tr.D.named_parameters():
        torch.testing.assert_close(params[n], p, rtol=1e-9, atol=1e-12)


def test_unrolled_training_is_deterministic_and_differs_from_plain():
    a, b, plain = tiny(2, "adam", "saturating", "simultaneous", 3), tiny(2, "adam", "saturating",
                   "simultaneous", 3), tiny(2, "adam", "saturating", "simultaneous", 0)  # fmt: skip
    for t in (a, b, plain):
        t.train(5, progress=False)
    for p, q in zip(a.G.parameters(), b.G.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    pairs = zip(a.G.parameters(), plain.G.parameters(), strict=True)
    assert any(not torch.allclose(p, r) for p, r in pairs)
    assert math.isfinite(float(a.history.stats["g_loss"][-1]))


def test_unrolling_refuses_penalties_clipping_and_other_games():
    for name in ("wasserstein_gp", "wasserstein_clip", "r1"):
        with pytest.raises(ValueError, match="unrolling"):
            tiny(0, "adam", name, k=2)
    G, D = nn.Linear(2, 2), Discriminator(2, 4, 1)
    from toygan.game import ConditionalGame

    with pytest.raises(ValueError, match="unrolling"):
        GANTrainer(G, D, NoisePrior(2), ring(), "nonsaturating", None,
                   make_optimizer(D.parameters(), "adam", 1e-3),
                   rng=torch.Generator(), game=ConditionalGame(), unrolled=1)  # fmt: skip
    with pytest.raises(ValueError, match="unrolled"):
        tiny(0, "adam", "nonsaturating", k=-1)
