"""The family's theory (``toygan.toy.theory``) against independent float64 oracles: scipy.stats
densities and CDFs, integrated by ``scipy.integrate.quad``; identities of each objective's
criterion with the divergence it measures."""

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from oracles import mixtures, np_cdf, np_logpdf
from scipy import integrate, optimize, special

from toygan import (
    divergence,
    least_squares_criterion,
    optimal_critic,
    optimal_critic_slope,
    optimal_discriminator,
    total_variation,
    virtual_criterion,
    wasserstein1,
    wasserstein1_exact,
)
from toygan.toy.mixture import GaussianMixture
from toygan.toy.theory import chi2_divergence, jensen_shannon, support_interval

LOG4 = math.log(4.0)
pairs = st.tuples(mixtures(), mixtures())


def quad(f, p, q, kink=None) -> float:
    """int f dx over both supports by adaptive quadrature, split at every component mean and,
    given ``kink``, piece by piece between its sign changes (found by a scan and brentq), where
    |kink| makes f non-smooth: one quad across a kink is off by up to 1e-7 (TV, W1)."""
    lo, hi, _ = support_interval(p, q)
    points = {*p.means, *q.means}
    if kink is not None:
        xs = np.linspace(lo, hi, 20_001)
        v = np.array([kink(x) for x in xs])
        for i in np.nonzero(v[:-1] * v[1:] < 0)[0]:
            points.add(optimize.brentq(kink, xs[i], xs[i + 1], xtol=1e-15))
    edges = [lo]
    for t in sorted(t for t in points if lo < t < hi):
        if t - edges[-1] > 1e-9 * (hi - lo):  # no pieces of width 1e-308 (quad's roundoff)
            edges.append(t)
    edges.append(hi)
    return sum(
        integrate.quad(f, a, b, limit=1000, epsabs=1e-13, epsrel=1e-11)[0]
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    )


def pdf(d):
    """The mixture's density as a scalar function, written out with ``math``."""
    comps = list(zip(d.means, d.stds, d.weights, strict=True))
    c = 1.0 / math.sqrt(2.0 * math.pi)
    return lambda x: sum(w * c / s * math.exp(-0.5 * ((x - m) / s) ** 2) for m, s, w in comps)


def cdf(d):
    comps = list(zip(d.means, d.stds, d.weights, strict=True))
    return lambda x: sum(w * 0.5 * math.erfc(-(x - m) / (s * math.sqrt(2))) for m, s, w in comps)


def oracle_chi2(p, q):
    fp, fq = pdf(p), pdf(q)

    def f(x):
        a, b = fp(x), fq(x)
        return 0.0 if a + b == 0 else (a - b) ** 2 / (a + b)

    return quad(f, p, q)


def oracle_tv(p, q):
    fp, fq = pdf(p), pdf(q)
    return 0.5 * quad(lambda x: abs(fp(x) - fq(x)), p, q, kink=lambda x: fp(x) - fq(x))


def oracle_w1(p, q):
    fp, fq = cdf(p), cdf(q)
    return quad(lambda x: abs(fp(x) - fq(x)), p, q, kink=lambda x: fp(x) - fq(x))


def grid(p, q, n=401):
    lo = min(p.means + q.means) - 3 * max(p.stds + q.stds)
    hi = max(p.means + q.means) + 3 * max(p.stds + q.stds)
    return np.linspace(lo, hi, n)


@given(pairs)
def test_optimal_discriminators_match_closed_forms(pq):
    p, q = pq
    x = grid(p, q)
    lp, lq = np_logpdf(p, x), np_logpdf(q, x)
    xt = torch.from_numpy(x)
    ratio = special.expit(lp - lq)  # p / (p + q)
    torch.testing.assert_close(optimal_discriminator(p, q)(xt).numpy(), ratio)  # unchanged
    for name, a, b in (("least_squares", 0.0, 1.0), ("least_squares_chi2", -1.0, 1.0)):
        got = optimal_discriminator(p, q, name)(xt).numpy()
        torch.testing.assert_close(got, b * ratio + a * (1 - ratio), rtol=1e-12, atol=1e-12)
    hinge = optimal_discriminator(p, q, "hinge")(xt).numpy()
    clear = np.abs(lp - lq) > 1e-9  # equal densities up to rounding: any sign is optimal
    np.testing.assert_array_equal(hinge[clear], np.sign(lp - lq)[clear])
    with pytest.raises(ValueError, match="optimal_critic"):
        optimal_discriminator(p, q, "wasserstein_gp")


@settings(max_examples=10, deadline=None)
@given(pairs)
def test_gan_criterion_is_jsd(pq):
    p, q = pq
    for name in ("nonsaturating", "saturating"):
        c = virtual_criterion(p, q, name)
        torch.testing.assert_close(c, -LOG4 + 2 * divergence(p, q, name), rtol=0, atol=1e-10)
        torch.testing.assert_close(divergence(p, q, name), jensen_shannon(p, q), rtol=0, atol=0)


@settings(max_examples=10, deadline=None)
@given(pairs)
def test_least_squares_criteria_are_the_chi2_divergence(pq):
    p, q = pq
    chi2 = oracle_chi2(p, q)
    torch.testing.assert_close(divergence(p, q, "least_squares_chi2"), chi2, rtol=1e-7, atol=1e-9)
    # Mao et al. Theorem 2: G's criterion at D*, 2 C(G) = chi^2 (a = -1, b = 1, c = 0)
    torch.testing.assert_close(2 * least_squares_criterion(p, q), chi2, rtol=1e-7, atol=1e-9)
    # D's side: -min L_D = -(b - a)^2 (2 - chi^2) / 8, for both codings
    for name, b_minus_a in (("least_squares_chi2", 2.0), ("least_squares", 1.0)):
        expected = -(b_minus_a**2) * (2 - chi2) / 8
        torch.testing.assert_close(virtual_criterion(p, q, name), expected, rtol=1e-7, atol=1e-9)
    with pytest.raises(ValueError, match="b-a=2"):
        divergence(p, q, "least_squares")


@settings(max_examples=10, deadline=None)
@given(pairs)
def test_hinge_min_loss_is_two_minus_twice_tv(pq):
    p, q = pq
    tv = oracle_tv(p, q)
    torch.testing.assert_close(total_variation(p, q), tv, rtol=1e-7, atol=1e-9)
    torch.testing.assert_close(divergence(p, q, "hinge"), tv, rtol=1e-7, atol=1e-9)
    torch.testing.assert_close(-virtual_criterion(p, q, "hinge"), 2 - 2 * tv, rtol=1e-7, atol=1e-9)


@settings(max_examples=10, deadline=None)
@given(pairs)
def test_wasserstein_critic_value_is_w1(pq):
    p, q = pq
    w1 = oracle_w1(p, q)
    torch.testing.assert_close(wasserstein1_exact(p, q), w1, rtol=1e-7, atol=1e-9)
    torch.testing.assert_close(wasserstein1(p, q), w1, rtol=1e-7, atol=1e-9)  # the top-level name
    for name in ("wasserstein_gp", "wasserstein_clip"):
        torch.testing.assert_close(divergence(p, q, name), w1, rtol=1e-7, atol=1e-9)
        torch.testing.assert_close(virtual_criterion(p, q, name), w1, rtol=1e-7, atol=1e-9)


# the CDFs of these two cross at x = 0, where the scan of _crossings has a node at -3e-16 with a
# gap of exactly 0: a scan that only looked for v_i * v_i+1 < 0 missed it (slope -1 everywhere)
@example((GaussianMixture([0.7890625], [0.7890625]), GaussianMixture([0.88671875], [0.88671875])))
@given(pairs)
def test_optimal_critic_has_the_optimal_slope_and_is_1_lipschitz(pq):
    p, q = pq
    x = grid(p, q, 2001)
    f = optimal_critic(p, q)(torch.from_numpy(x)).numpy()
    slope = np.diff(f) / np.diff(x)
    assert np.abs(slope).max() <= 1 + 1e-9
    mid = 0.5 * (x[1:] + x[:-1])
    gap = np_cdf(q, mid) - np_cdf(p, mid)
    ends = np_cdf(q, x) - np_cdf(p, x)  # (n,)
    # cells with no crossing inside: the gap clearly of one sign at both ends and the middle
    sign = np.sign(gap)
    clear = (np.abs(gap) > 1e-6) & (np.sign(ends[1:]) == sign) & (np.sign(ends[:-1]) == sign)
    clear &= np.minimum(np.abs(ends[1:]), np.abs(ends[:-1])) > 1e-6
    np.testing.assert_allclose(slope[clear], sign[clear], rtol=0, atol=1e-9)
    s = optimal_critic_slope(p, q)(torch.from_numpy(mid)).numpy()
    np.testing.assert_array_equal(s[clear], np.sign(gap[clear]))


def test_w1_of_shifted_gaussians_and_equal_distributions():
    a, b = GaussianMixture([0.0], [1.0]), GaussianMixture([1.3], [1.0])
    torch.testing.assert_close(wasserstein1_exact(a, b), 1.3, rtol=1e-12, atol=1e-12)
    p = GaussianMixture([-2.0, 2.0], [0.5, 0.5])
    twin = GaussianMixture([-2.0, 2.0], [0.5, 0.5])
    for name in ("least_squares_chi2", "hinge", "wasserstein_gp"):
        assert divergence(p, twin, name) == 0.0
    torch.testing.assert_close(virtual_criterion(p, twin, "hinge"), -2.0, rtol=0, atol=1e-12)
    assert chi2_divergence(p, GaussianMixture([50.0], [0.5])) == pytest.approx(2.0, abs=1e-12)
