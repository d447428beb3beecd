"""1D metrics against brute-force float64 oracles."""

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize

from toygan import GaussianMixture, d_deviation, ks_distance, mode_stats, wasserstein1


def brute_w1(x, m):
    """int |F_n - F| dx by scipy's adaptive quadrature, piece by piece between the samples, the
    component means and the points where F crosses a level i/n of F_n (the kinks), with
    tolerances of 1e-13: one quad with default tolerances and no break at the crossings was off
    by 5e-6."""
    xs = np.sort(np.asarray(x, dtype=np.float64))
    n = len(xs)

    def F(t):
        return float(m.cdf(torch.tensor(t, dtype=torch.float64)))

    def gap(t):
        return abs(np.searchsorted(xs, t, side="right") / n - F(t))

    lo, hi = (
        min(xs[0], min(m.means) - 12 * max(m.stds)),
        max(xs[-1], max(m.means) + 12 * max(m.stds)),
    )
    breaks = {*xs.tolist(), *m.means}
    for a, b in zip([lo, *xs], [*xs, hi], strict=True):  # F_n = c on [a, b)
        c = np.searchsorted(xs, a, side="right") / n
        if a < b and (F(a) - c) * (F(b) - c) < 0:
            breaks.add(optimize.brentq(lambda t, c=c: F(t) - c, a, b, xtol=1e-15))
    edges = [lo]
    for t in sorted(t for t in breaks if lo < t < hi):
        if t - edges[-1] > 1e-13 * (hi - lo):  # no pieces of width ~0 (quad's roundoff)
            edges.append(t)
    edges.append(hi)
    pieces = zip(edges[:-1], edges[1:], strict=True)  # |F_n - F| is smooth on each piece
    return sum(integrate.quad(gap, a, b, epsabs=1e-13, epsrel=1e-12)[0] for a, b in pieces)


def brute_ks(x, m):
    xs = np.sort(np.asarray(x, dtype=np.float64))
    n = len(xs)
    f = m.cdf(torch.from_numpy(xs)).numpy()
    return max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n))


samples = st.lists(st.floats(-8, 8), min_size=1, max_size=25)
mix3 = GaussianMixture([-3.0, 0.0, 4.0], [0.3, 1.0, 0.7], [0.2, 0.5, 0.3])
mix = st.sampled_from(
    [
        GaussianMixture([0.0], [1.0]),
        GaussianMixture([-2.0, 2.0], [0.5, 0.5]),
        mix3,
    ]
)


@example([0.0, 0.0, 0.0, 0.0, -1.0, -0.6867495928024798], mix3)  # the old oracle was off by 5e-6
@given(samples, mix)
@settings(max_examples=25, deadline=None)
def test_w1_is_exact(x, m):
    assert wasserstein1(np.array(x), m) == pytest.approx(brute_w1(x, m), abs=1e-9, rel=1e-9)


@given(samples, mix)
def test_ks_matches_the_definition(x, m):
    assert ks_distance(np.array(x), m) == pytest.approx(brute_ks(x, m), abs=1e-12)


def test_w1_of_a_shifted_sample_is_the_shift():
    m = GaussianMixture([0.0], [1.0])
    x = m.sample(200_000, torch.Generator().manual_seed(0))
    assert wasserstein1(x, m) < 0.01
    assert wasserstein1(x + 0.5, m) == pytest.approx(0.5, abs=0.01)


def test_d_deviation_of_constant_discriminators():
    real, fake = torch.randn(100, 1), torch.randn(100, 1) + 3
    half = torch.nn.Linear(1, 1)
    torch.nn.init.zeros_(half.weight), torch.nn.init.zeros_(half.bias)
    assert d_deviation(half, real, fake) == 0.0
    torch.nn.init.constant_(half.bias, 50.0)  # D = 1 everywhere
    assert d_deviation(half, real, fake) == pytest.approx(0.5)


def test_mode_stats_counts_modes_and_quality():
    m = GaussianMixture([-5.0, 0.0, 5.0], [0.5, 0.5, 0.5])
    x = torch.cat([torch.full((500,), -5.0), torch.full((450,), 0.1), torch.full((50,), 2.5)])
    s = mode_stats(x, m)
    assert s["covered"] == [True, True, False] and s["modes_covered"] == 2
    assert s["high_quality"] == pytest.approx(0.95)
