"""The objective family (least squares, hinge, Wasserstein) against float64 formulas, and the
engine hooks it uses: the gradient penalty, weight clipping, the reported D statistic and the
per-objective defaults of the 1D front."""

import json

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from oracles import usage_error

from toygan import OBJECTIVES, ToyConfig, build_trainer, get_objective
from toygan.objectives import gradient_penalty, least_squares, uniform_per_sample
from toygan.run import main
from toygan.toy.ensemble import build_ensemble, member_sum
from toygan.toy.experiment import check_config

logit_arrays = arrays(np.float64, st.integers(1, 64), elements=st.floats(-30, 30))
FAMILY = [n for n, o in OBJECTIVES.items() if o.family != "gan"]


def relu(x):
    return np.maximum(x, 0.0)


def formulas(name: str, real: np.ndarray, fake: np.ndarray) -> tuple[float, float]:
    """(L_D without penalty, L_G) written out from the papers, in float64."""
    if name.startswith("least_squares"):
        a, b, c = (0.0, 1.0, 1.0) if name == "least_squares" else (-1.0, 1.0, 0.0)
        d = 0.5 * np.mean((real - b) ** 2) + 0.5 * np.mean((fake - a) ** 2)
        return d, 0.5 * np.mean((fake - c) ** 2)
    if name == "hinge":
        return np.mean(relu(1 - real)) + np.mean(relu(1 + fake)), -np.mean(fake)
    return np.mean(fake) - np.mean(real), -np.mean(fake)  # Wasserstein critic


@given(logit_arrays, logit_arrays)
def test_family_losses_match_float64_formulas(real, fake):
    r = torch.tensor(real).unsqueeze(1)  # (m, 1) float64
    f = torch.tensor(fake).unsqueeze(1)
    for name in FAMILY:
        obj = get_objective(name)
        d, g = formulas(name, real, fake)
        torch.testing.assert_close(float(obj.discriminator_loss(r, f)), d, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(float(obj.generator_loss(f)), g, rtol=1e-12, atol=1e-12)


@given(logit_arrays)
def test_family_derivatives_match_autograd(logits):
    for name in FAMILY:
        obj = get_objective(name)
        for loss, grad in ((obj.d_real, obj.d_real_grad), (obj.d_fake, obj.d_fake_grad),
                           (obj.g, obj.g_grad)):  # fmt: skip
            x = torch.tensor(logits, requires_grad=True)
            (auto,) = torch.autograd.grad(loss(x).sum(), x)
            torch.testing.assert_close(grad(x.detach()), auto, rtol=1e-12, atol=0.0)


def test_analytic_and_hooks():
    assert {n: o.analytic for n, o in OBJECTIVES.items()} == {
        "saturating": True, "nonsaturating": True, "least_squares": True,
        "least_squares_chi2": True, "hinge": True, "wasserstein_gp": False,
        "wasserstein_clip": True, "r1": False,
    }  # fmt: skip
    zero_sum = {n for n, o in OBJECTIVES.items() if o.zero_sum}  # G minimises -L_D
    assert zero_sum == {"saturating", "wasserstein_gp", "wasserstein_clip"}
    assert get_objective("wasserstein_gp").with_params(gp_lambda=1.0).params["gp_lambda"] == 1.0
    assert least_squares(-1, 1, 0).params == get_objective("least_squares_chi2").params
    with pytest.raises(ValueError, match="no parameter"):
        get_objective("hinge").with_params(clip=1.0)
    x = torch.tensor([[-3.0], [0.0], [3.0]])
    torch.testing.assert_close(get_objective("nonsaturating").d_statistic(x), torch.sigmoid(x))
    for name in FAMILY:
        torch.testing.assert_close(get_objective(name).d_statistic(x), x)


class HalfSquare(torch.nn.Module):
    """D(x) = 1/2 ||x||^2 over the last dim: grad D(x) = x, so ||grad|| = ||x||."""

    def forward(self, x):
        return 0.5 * x.square().sum(-1, keepdim=True)


@given(st.integers(0, 2**16), st.integers(1, 5), st.floats(0.0, 20.0))
def test_gradient_penalty_matches_closed_form(seed, dim, lam):
    rng = torch.Generator().manual_seed(seed)
    real = torch.randn(16, dim, generator=rng, dtype=torch.float64)
    fake = torch.randn(16, dim, generator=rng, dtype=torch.float64)
    state = rng.get_state()
    got = gradient_penalty(HalfSquare(), real, fake, rng, lam)  # (16, 1)
    alpha = torch.rand(16, 1, generator=torch.Generator().set_state(state), dtype=torch.float64)
    x_hat = alpha * real + (1 - alpha) * fake
    expected = lam * (x_hat.norm(dim=1, keepdim=True) - 1) ** 2
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_penalty_draws_from_the_given_generators_not_the_global_rng():
    before = torch.get_rng_state()
    rngs = [torch.Generator().manual_seed(s) for s in (3, 4)]
    x = torch.zeros(5, 2, 1)
    alpha = uniform_per_sample(x, rngs)  # (5, 2, 1): member s from rngs[s]
    assert alpha.shape == (5, 2, 1)
    for s, seed in enumerate((3, 4)):
        single = uniform_per_sample(torch.zeros(5, 1), torch.Generator().manual_seed(seed))
        torch.testing.assert_close(alpha[:, s], single)
    assert torch.equal(torch.get_rng_state(), before)


def test_ensemble_member_penalty_is_the_single_run_penalty():
    cfg = ToyConfig(objective="wasserstein_gp", g_width=8, d_width=8, device="cpu")
    ens = build_ensemble(cfg, [0, 1])
    singles = [build_trainer(ToyConfig(**{**cfg.to_dict(), "seed": s})) for s in (0, 1)]
    real = torch.randn(6, 2, 1, generator=torch.Generator().manual_seed(0))
    fake = torch.randn(6, 2, 1, generator=torch.Generator().manual_seed(1))
    obj = member_sum(cfg.build_objective(), [torch.Generator().manual_seed(s) for s in (0, 1)])
    got = obj.discriminator_penalty(ens.D, real, fake, None)
    ref = sum(
        tr.objective.discriminator_penalty(
            tr.D, real[:, s], fake[:, s], torch.Generator().manual_seed(s)
        )
        for s, tr in enumerate(singles)
    )
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)


def test_weight_clipping_after_every_critic_step():
    cfg = ToyConfig(objective="wasserstein_clip", g_width=8, d_width=8, batch_size=16,
                    lr=0.1, device="cpu")  # fmt: skip
    tr = build_trainer(cfg)
    steps = []
    d_step = tr.d_step

    def spy():
        out = d_step()
        steps.append(max(float(p.detach().abs().max()) for p in tr.D.parameters()))
        return out

    tr.d_step = spy
    tr.train(3, progress=False)
    assert len(steps) == 15 and max(steps) <= 0.01


def test_objective_defaults_unless_set_and_recorded_in_config():
    gp = ToyConfig(objective="wasserstein_gp").resolved()
    assert (gp.k_steps, gp.optimizer, gp.lr, gp.beta1, gp.beta2, gp.gp_lambda, gp.clip) == (
        5, "adam", 1e-3, 0.5, 0.9, 0.1, None,
    )  # fmt: skip  # the authors' toy script (gan_toy.py) at lr 1e-3, not the paper's lambda 10
    assert get_objective("wasserstein_gp").params == {"gp_lambda": 10.0}  # the formula's own
    paper = ToyConfig(objective="wasserstein_gp", gp_lambda=10.0, beta1=0.0)
    assert paper.build_objective().params == {"gp_lambda": 10.0}
    assert (paper.resolved().beta1, paper.resolved().gp_lambda) == (0.0, 10.0)
    wc = ToyConfig(objective="wasserstein_clip", k_steps=2, lr=1e-3).resolved()
    assert (wc.k_steps, wc.optimizer, wc.lr, wc.clip) == (2, "rmsprop", 1e-3, 0.01)
    ns = ToyConfig().resolved()
    assert (ns.k_steps, ns.optimizer, ns.lr, ns.beta1, ns.beta2) == (1, "adam", 1e-3, 0.5, 0.999)
    assert ToyConfig(objective="wasserstein_gp", gp_lambda=0.1).build_objective().params == {
        "gp_lambda": 0.1
    }
    assert ToyConfig(objective="wasserstein_gp").to_dict()["k_steps"] == 5


def test_cli_records_resolved_settings(tmp_path):
    argv = ["--objective", "wasserstein_clip", "--steps", "3", "--snapshot-every", "3",
            "--n-samples", "50", "--g-width", "4", "--d-width", "4", "--no-progress"]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path)]) == 0
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert (cfg["k_steps"], cfg["optimizer"], cfg["lr"], cfg["clip"]) == (5, "rmsprop", 5e-5, 0.01)


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--objective", "wasserstein_gp", "--gp-lambda", "-1"], "--gp-lambda"),
        (["--objective", "wasserstein_clip", "--clip", "0"], "--clip"),
        (["--objective", "wasserstein_gp", "--k-steps", "0"], "--k-steps"),
        (["--objective", "hinge", "--clip", "0.1"], "--clip"),
        (["--objective", "wasserstein_clip", "--lr", "0"], "--lr"),
    ],
)
def test_bad_family_settings_are_one_line_errors(argv, flag, capsys, tmp_path):
    assert flag in usage_error(main, [*argv, "--out", str(tmp_path)], capsys)


def test_check_config_accepts_every_objective():
    for name in OBJECTIVES:
        check_config(ToyConfig(objective=name))


def _linear_critic_loss(slope: float, gp_lambda: float) -> float:
    """WGAN-GP critic loss of f(x) = s x with p_g = delta_0 and p_data = delta_2 (float64)."""
    D = torch.nn.Linear(1, 1, dtype=torch.float64)
    with torch.no_grad():
        D.weight.fill_(slope)
        D.bias.zero_()
    fake = torch.zeros(8, 1, dtype=torch.float64)
    real = fake + 2.0
    obj = get_objective("wasserstein_gp").with_params(gp_lambda=gp_lambda)
    rng = torch.Generator().manual_seed(0)
    loss = obj.discriminator_loss(D(real), D(fake)) + obj.discriminator_penalty(D, real, fake, rng)
    return loss.item()


def test_gradient_penalty_wrong_sign_minimum_in_1d_needs_a_large_lambda():
    # L(s) = -2 s + lambda (|s| - 1)^2: the minimum is s = 1 + 1/lambda; for lambda > 1 there is
    # a second, local one at s = -(1 - 1/lambda), the wrong sign (wasserstein_gp's docstring)
    for s in (-0.9 - 1e-3, -0.9 + 1e-3):  # lambda 10: the loss rises on both sides of -0.9
        assert _linear_critic_loss(s, 10.0) > _linear_critic_loss(-0.9, 10.0)
    torch.testing.assert_close(_linear_critic_loss(1.1, 10.0), -2.2 + 10.0 * 0.01)
    losses = [_linear_critic_loss(s, 0.1) for s in np.linspace(-3.0, 0.0, 31)]
    assert all(a > b for a, b in zip(losses, losses[1:], strict=False))  # lambda 0.1: no trap
