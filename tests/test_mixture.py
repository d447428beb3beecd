"""GaussianMixture against scipy.stats in float64, and its validation."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from oracles import mixtures as _mixtures
from oracles import np_cdf, np_logpdf
from scipy import integrate

from toygan import GaussianMixture


def mixtures(max_k=4):
    return _mixtures(max_components=max_k, spread=5.0, std=(0.1, 2.0))


@given(mixtures())
def test_pdf_cdf_log_prob_match_scipy(m):
    x = np.linspace(-12, 12, 201)
    torch.testing.assert_close(
        m.pdf(torch.from_numpy(x)).numpy(), np.exp(np_logpdf(m, x)), rtol=1e-9, atol=1e-300
    )
    torch.testing.assert_close(
        m.cdf(torch.from_numpy(x)).numpy(), np_cdf(m, x), rtol=1e-9, atol=1e-12
    )
    torch.testing.assert_close(
        m.log_prob(torch.from_numpy(x)).numpy(), np_logpdf(m, x), rtol=1e-9, atol=1e-9
    )


def test_log_prob_is_finite_far_in_the_tails():
    m = GaussianMixture([0.0], [1.0])
    x = torch.tensor([-60.0, 60.0], dtype=torch.float64)
    expected = -0.5 * x**2 - 0.5 * math.log(2 * math.pi)
    torch.testing.assert_close(m.log_prob(x), expected)


@given(mixtures(max_k=3))
def test_cdf_integral_matches_quadrature(m):
    for x in (-3.0, 0.5, 4.0):
        ref, _ = integrate.quad(lambda t: float(np_cdf(m, np.array(t))), -40, x, limit=200)
        assert float(m.cdf_integral(torch.tensor(x))) == pytest.approx(ref, abs=1e-7)


@given(mixtures(), st.integers(0, 2**31 - 1))
def test_sample_moments(m, seed):
    x = m.sample(200_000, torch.Generator().manual_seed(seed)).double()
    assert x.shape == (200_000, 1) and x.dtype == torch.float64
    se = m.std / math.sqrt(200_000)
    assert abs(float(x.mean()) - m.mean) < 6 * se
    assert float(x.std()) == pytest.approx(m.std, rel=0.02)


def test_sampling_is_reproducible_and_respects_weights():
    m = GaussianMixture([-10.0, 10.0], [1.0, 1.0], [0.2, 0.8])
    a = m.sample(50_000, torch.Generator().manual_seed(3))
    b = m.sample(50_000, torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert float((a > 0).float().mean()) == pytest.approx(0.8, abs=0.01)


def test_mean_and_std_formulas():
    m = GaussianMixture([-2.0, 2.0], [0.5, 0.5], [0.5, 0.5])
    assert m.mean == 0.0
    assert m.std == pytest.approx(math.sqrt(4.25))


@pytest.mark.parametrize(
    ("means", "stds", "weights", "match"),
    [
        ([0.0, 1.0], [1.0], [0.5, 0.5], "same length"),
        ([0.0], [0.0], [1.0], "stds must be > 0"),
        ([0.0], [-1.0], [1.0], "stds must be > 0"),
        ([0.0, 1.0], [1.0, 1.0], [1.2, -0.2], "weights must be >= 0"),
        ([0.0, 1.0], [1.0, 1.0], [0.5, 0.6], "weights must sum to 1"),
        ([float("nan")], [1.0], [1.0], "means must be finite"),
        ([0.0], [float("inf")], [1.0], "stds must be finite"),
        ([], [], [], "means must not be empty"),
    ],
)
def test_invalid_parameters_raise_value_error_naming_the_problem(means, stds, weights, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(means, stds, weights)
