"""Proposition 1 and Theorem 1 of Goodfellow et al. 2014, checked against independent oracles.

Oracles: numpy/scipy in float64 (``scipy.stats.norm.logpdf``, ``scipy.integrate.quad``,
``scipy.optimize.minimize_scalar``), never toygan's own densities or quadrature.
"""

import math

import numpy as np
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from oracles import mixtures, np_logpdf
from scipy import integrate, optimize, special

from toygan.toy.density import SampleDensity
from toygan.toy.mixture import GaussianMixture
from toygan.toy.theory import (
    jensen_shannon,
    optimal_discriminator,
    quadrature_rule,
    value_function,
    virtual_criterion,
)

LOG4 = math.log(4.0)


def np_pdf(d: GaussianMixture, x: float) -> float:
    return sum(
        w * math.exp(-0.5 * ((x - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))
        for m, s, w in zip(d.means, d.stds, d.weights, strict=True)
    )


def quad_jsd(p: GaussianMixture, q: GaussianMixture) -> float:
    """JSD = 1/2 int p log(2p/(p+q)) + q log(2q/(p+q)) by adaptive quadrature (QUADPACK)."""

    def f(x: float) -> float:
        a, b = np_pdf(p, x), np_pdf(q, x)
        out = 0.0
        for u in (a, b):
            if u > 0:
                out += u * math.log(2 * u / (a + b))
        return 0.5 * out

    comps = list(zip(p.means + q.means, p.stds + q.stds, strict=True))
    lo = min(m - 14 * s for m, s in comps)
    hi = max(m + 14 * s for m, s in comps)
    return integrate.quad(f, lo, hi, points=sorted({m for m, _ in comps}), limit=400)[0]


def evaluation_points(p: GaussianMixture, q: GaussianMixture) -> torch.Tensor:
    comps = list(zip(p.means + q.means, p.stds + q.stds, strict=True))
    lo = min(m - 30 * s for m, s in comps)  # far beyond the support: both densities < 1e-190
    hi = max(m + 30 * s for m, s in comps)
    return torch.linspace(lo, hi, 1001, dtype=torch.float64)


class Constant:
    """A "density" with log_prob = log c everywhere (for the pointwise argument)."""

    def __init__(self, c: float) -> None:
        self.log_c = math.log(c)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full_like(torch.as_tensor(x, dtype=torch.float64), self.log_c)


@given(st.floats(1e-3, 1e3), st.floats(1e-3, 1e3), st.floats(1e-6, 1 - 1e-6))
def test_pointwise_maximiser_of_a_log_y_plus_b_log_1_minus_y(a, b, y):
    y_star = float(optimal_discriminator(Constant(a), Constant(b))(torch.zeros(1)))

    def f(t: float) -> float:
        return a * math.log(t) + b * math.log1p(-t)

    assert f(y_star) >= f(y)
    res = optimize.minimize_scalar(
        lambda t: -f(t), bounds=(1e-9, 1 - 1e-9), method="bounded", options={"xatol": 1e-12}
    )
    torch.testing.assert_close(y_star, a / (a + b), rtol=1e-12, atol=0)
    torch.testing.assert_close(y_star, float(res.x), rtol=0, atol=1e-5)


@given(mixtures(), mixtures())
def test_optimal_discriminator_matches_density_ratio_across_and_beyond_support(p, q):
    x = evaluation_points(p, q)
    got = optimal_discriminator(p, q)(x)
    lp, lq = np_logpdf(p, x.numpy()), np_logpdf(q, x.numpy())
    torch.testing.assert_close(got, torch.from_numpy(special.expit(lp - lq)), rtol=0, atol=1e-6)
    inside = (lp > -600) | (lq > -600)  # where the plain ratio p / (p + q) is representable
    a, b = np.exp(lp[inside]), np.exp(lq[inside])
    torch.testing.assert_close(got[inside], torch.from_numpy(a / (a + b)), rtol=0, atol=1e-6)


@settings(max_examples=8)
@given(mixtures(), mixtures())
def test_jensen_shannon_matches_adaptive_quadrature(p, q):
    torch.testing.assert_close(jensen_shannon(p, q), quad_jsd(p, q), rtol=0, atol=1e-6)


@given(mixtures(), mixtures())
def test_virtual_criterion_is_minus_log4_plus_twice_jsd(p, q):
    c = virtual_criterion(p, q)
    torch.testing.assert_close(c, -LOG4 + 2 * jensen_shannon(p, q), rtol=0, atol=1e-9)


@given(
    mixtures(),
    mixtures(),
    st.floats(-2, 2),
    st.floats(-2, 2),
    st.floats(-2, 2),
    st.floats(0.1, 5),
)
def test_optimal_discriminator_beats_perturbed_ones(p, q, a, b, c, omega):
    assume(max(abs(a), abs(b), abs(c)) > 0.05)
    d_star = optimal_discriminator(p, q)

    def perturbed(x: torch.Tensor) -> torch.Tensor:  # logits
        return d_star.logit(x) + a + b * torch.tanh(x) + c * torch.sin(omega * x)

    assert virtual_criterion(p, q) > value_function(perturbed, p, q)


@given(mixtures(), mixtures())
def test_jensen_shannon_bounded_and_symmetric(p, q):
    j = jensen_shannon(p, q)
    assert 0.0 <= j <= math.log(2) + 1e-12  # the upper bound up to quadrature accuracy
    torch.testing.assert_close(j, jensen_shannon(q, p), rtol=0, atol=1e-12)
    distinct = any(
        abs(u - v) > 1e-3
        for u, v in zip(p.means + p.stds + p.weights, q.means + q.stds + q.weights, strict=False)
    )
    if len(p.means) == len(q.means) and distinct:
        assert j > 0.0


@given(mixtures())
def test_equal_distributions_give_zero_jsd_and_half_discriminator(p):
    twin = GaussianMixture(p.means, p.stds, p.weights)
    x = evaluation_points(p, twin)
    assert (optimal_discriminator(p, twin)(x) == 0.5).all()
    assert jensen_shannon(p, twin) == 0.0
    torch.testing.assert_close(virtual_criterion(p, twin), -LOG4, rtol=0, atol=1e-12)


def test_quadrature_integrates_mixture_mass_and_moments():
    p = GaussianMixture([-3.0, 0.5, 4.0], [0.2, 1.5, 0.7], [0.2, 0.5, 0.3])
    x, w = quadrature_rule(p)
    dens = p.pdf(x)
    torch.testing.assert_close(float((w * dens).sum()), 1.0, rtol=0, atol=1e-13)
    torch.testing.assert_close(float((w * dens * x).sum()), p.mean, rtol=0, atol=1e-12)


def test_value_function_of_a_network_matches_quad():
    p, q = GaussianMixture([-1.0], [0.5]), GaussianMixture([1.0, 2.0], [1.0, 0.4])
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    net = net.double()

    def f(x: float) -> float:
        with torch.no_grad():
            logit = float(net(torch.tensor([[x]], dtype=torch.float64)))
        return np_pdf(p, x) * -np.logaddexp(0, -logit) + np_pdf(q, x) * -np.logaddexp(0, logit)

    want = integrate.quad(f, -12, 14, points=[-1, 1, 2], limit=200)[0]
    torch.testing.assert_close(value_function(net, p, q), want, rtol=0, atol=1e-8)


def test_value_function_accepts_probabilities_or_logits():
    p, q = GaussianMixture([-1.0], [0.5]), GaussianMixture([1.0, 2.0], [1.0, 0.4])
    # V(D = 1/2) = -log 4 for any p, q; and a D in probabilities gives what its logits give
    torch.testing.assert_close(value_function(torch.zeros_like, p, q), -LOG4, rtol=0, atol=1e-13)
    v_logits = value_function(lambda x: 0.3 * torch.sin(x), p, q)
    v_probs = value_function(lambda x: torch.sigmoid(0.3 * torch.sin(x)), p, q, output="probs")
    torch.testing.assert_close(v_probs, v_logits, rtol=0, atol=1e-13)


@settings(max_examples=5)
@given(st.integers(0, 2**16))
def test_kde_bandwidth_resolves_modes(seed):
    p = GaussianMixture([-2.0, 2.0], [0.5, 0.5])
    # 20,000 samples: over 40 seeds the largest peak error was 0.029 (mean 0.012); Scott's rule
    # flattens the peaks of 0.40 by 0.06
    kde = SampleDensity(p.sample(20_000, torch.Generator().manual_seed(seed)))
    torch.testing.assert_close(
        kde.pdf(torch.tensor([-2.0, 2.0])).double(),
        p.pdf(torch.tensor([-2.0, 2.0])),
        rtol=0,
        atol=0.04,
    )
    # and D* computed from the KDE of p_g is close to the exact D*
    q = GaussianMixture([0.0], [1.5])
    kde_q = SampleDensity(q.sample(4000, torch.Generator().manual_seed(seed + 1)))
    x, w = quadrature_rule(p, q)
    half = 0.5 * (p.pdf(x) + q.pdf(x))
    err = (optimal_discriminator(p, kde_q)(x) - optimal_discriminator(p, q)(x)).abs()
    assert float((w * half * err).sum()) <= 0.02
