"""Vectorised multi-seed training: members are exactly and statistically independent runs."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from toygan.engine import grad_norm
from toygan.objectives import get_objective
from toygan.toy.ensemble import (
    build_ensemble,
    member_g_grad_norms,
    member_modules,
    member_sum,
    sample_members,
)
from toygan.toy.experiment import ToyConfig, build_trainer, generate
from toygan.toy.metrics import wasserstein1

SMALL = dict(noise_dim=1, activation="leaky_relu", batch_size=64, lr_decay="none", steps=150)


def _cfg(**kw) -> ToyConfig:
    """Small, pinned settings (independent of ToyConfig's defaults), overridden by ``kw``."""
    return ToyConfig(device="cpu", **{**SMALL, **kw})


@pytest.mark.parametrize(
    "kw",
    [
        dict(objective="saturating", optimizer="sgd", lr=1e-2),
        dict(k_steps=2, noise_dim=3, activation="silu", lr_decay="linear", steps=25),
    ],
)
def test_member_is_the_single_run_with_its_seed(kw):
    seeds = [3, 8]
    ens = build_ensemble(_cfg(**kw), seeds)
    ens.train(25, progress=False)
    for i, s in enumerate(seeds):
        single = build_trainer(_cfg(seed=s, **kw))
        single.train(25, progress=False)
        g, d = member_modules(ens, i, _cfg(**kw))
        ours = [*g.parameters(), *d.parameters()]
        for a, b in zip(ours, [*single.G.parameters(), *single.D.parameters()], strict=True):
            torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_member_does_not_depend_on_the_other_members():
    alone = build_ensemble(_cfg(), [5])
    crowd = build_ensemble(_cfg(), [1, 5, 9])
    alone.train(20, progress=False)
    crowd.train(20, progress=False)
    a, b = member_modules(alone, 0, _cfg())[0], member_modules(crowd, 1, _cfg())[0]
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-5)


def test_final_w1_matches_separate_runs_statistically():
    """12 members vs 12 separately trained runs on *different* seeds: same W1 distribution."""
    cfg, steps, n = _cfg(), 150, 12
    mix = cfg.mixture()
    ens = build_ensemble(cfg, range(n))
    ens.train(steps, progress=False)
    x = sample_members(ens, 2000).numpy()
    w_ens = [wasserstein1(x[:, i], mix) for i in range(n)]
    w_sep = []
    for s in range(100, 100 + n):
        t = build_trainer(_cfg(seed=s))
        t.train(steps, progress=False)
        w_sep.append(wasserstein1(generate(t, 2000), mix))
    assert stats.ks_2samp(w_ens, w_sep).pvalue > 0.01
    assert stats.mannwhitneyu(w_ens, w_sep).pvalue > 0.01


@given(seed=st.integers(0, 2**31 - 1), members=st.integers(1, 5))
def test_member_sum_gives_each_member_its_single_run_gradient(seed, members):
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(16, members, 1, generator=g) * 5).requires_grad_()
    for name in ("saturating", "nonsaturating"):
        (grad,) = torch.autograd.grad(member_sum(name).generator_loss(logits), logits)
        for i in range(members):
            one = logits[:, i].detach().requires_grad_()
            (ref,) = torch.autograd.grad(get_objective(name).generator_loss(one), one)
            torch.testing.assert_close(grad[:, i], ref)
        real = logits.detach()[:8].requires_grad_()
        (gr,) = torch.autograd.grad(member_sum(name).discriminator_loss(real, logits[8:]), real)
        one = real[:, 0].detach().requires_grad_()
        (ref,) = torch.autograd.grad(
            get_objective(name).discriminator_loss(one, logits[8:, 0].detach()), one
        )
        torch.testing.assert_close(gr[:, 0], ref)


def test_member_grad_norms_match_single_models():
    ens = build_ensemble(_cfg(), [0, 1, 2])
    z = torch.randn(64, 3, 1, generator=torch.Generator().manual_seed(0))
    norms = member_g_grad_norms(ens.G, ens.D, z, "saturating")
    for i in range(3):
        g, d = member_modules(ens, i, _cfg())
        get_objective("saturating").generator_loss(d(g(z[:, i]))).backward()
        torch.testing.assert_close(norms[i], grad_norm(list(g.parameters())), rtol=1e-4, atol=0)


def test_a_diverged_member_does_not_stop_the_others():
    ens = build_ensemble(_cfg(), [0, 1, 2])
    with torch.no_grad():
        ens.G.net.weights[1][1].fill_(math.nan)
    ens.train_members(10, progress=False, sync_every=1)
    assert ens.finite_members().tolist() == [True, False, True]
    assert ens.step == 10
    x = sample_members(ens, 100).numpy()
    assert np.isfinite(x[:, [0, 2]]).all()


def test_seeds_must_be_distinct():
    with pytest.raises(ValueError, match="distinct"):
        build_ensemble(_cfg(), [1, 1])
