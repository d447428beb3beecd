"""``fit_discriminator`` learns D* = p_data / (p_data + p_g) (Proposition 1), on unseen pairs.

The oracle D* is computed with scipy in float64; the error is the mean of |sigmoid(D(x)) - D*(x)|
under (p_data + p_g)/2, estimated from fresh samples of both distributions.
"""

import numpy as np
import torch
from hypothesis import Phase, assume, example, given, settings
from hypothesis import strategies as st
from oracles import mixtures as _mixtures
from oracles import np_logpdf
from scipy import special

from toygan.toy.density import SampleDensity
from toygan.toy.fit import fit_discriminator
from toygan.toy.mixture import GaussianMixture

STEPS = 800  # enough for errors of ~0.01 on these pairs, well inside the 0.05 bound
# Least squares: 800 steps hold its 0.1 bound where G's widest component is at most 2.5 times
# as wide as the data's narrowest (measured on 40 drawn pairs: at most 0.047). Narrow data modes
# inside wide generator mass make D* = tanh(l / 2) steep there and the fit slower: ratios 3.3-4.9
# measured 0.03-0.13 at 800 steps, 0.007-0.028 at 6,000 (``LONG_STEPS``, the test below).
LS_MAX_RATIO, LONG_STEPS = 2.5, 6000
# no shrinking: each example trains a network, and a broken loss fails every example anyway
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)


def mixtures():
    return _mixtures(spread=3.0, std=(0.3, 1.5), min_weight=0.1)


def d_of(D: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return torch.sigmoid(D(x)).squeeze(1).double().numpy()  # (n, 1) -> (n,)


@settings(max_examples=4, phases=NO_SHRINK)
@given(mixtures(), mixtures(), st.integers(0, 2**16))
def test_fitted_discriminator_converges_to_optimal(p_data, p_g, seed):
    D = fit_discriminator(p_data, p_g, steps=STEPS, seed=seed)
    rng = torch.Generator().manual_seed(seed + 1)  # fresh points, not the training ones
    x = torch.cat([p_data.sample(4000, rng), p_g.sample(4000, rng)])  # (8000, 1) ~ (p + q)/2
    xs = x.squeeze(1).double().numpy()
    d_star = special.expit(np_logpdf(p_data, xs) - np_logpdf(p_g, xs))
    err = float(np.mean(np.abs(d_of(D, x) - d_star)))
    assert err <= 0.05, f"mean |D - D*| = {err:.4f}"


@settings(max_examples=3, phases=NO_SHRINK)
@given(mixtures(), st.integers(0, 2**16))
def test_fitted_discriminator_is_one_half_when_p_g_equals_p_data(p, seed):
    D = fit_discriminator(p, p, steps=STEPS, seed=seed)
    x = np.linspace(min(p.means) - 4 * max(p.stds), max(p.means) + 4 * max(p.stds), 801)
    dens = np.exp(np_logpdf(p, x))
    has_mass = dens >= 0.05 * dens.max()  # where the data puts mass
    d = d_of(D, torch.from_numpy(x).float().unsqueeze(1))
    assert np.abs(d[has_mass] - 0.5).max() <= 0.05


def test_fit_is_deterministic_and_reports_snapshots():
    p, q = GaussianMixture([-1.0], [0.5]), GaussianMixture([1.0], [0.5])
    seen: list[int] = []
    D1 = fit_discriminator(
        p, q, steps=30, seed=3, snapshot_every=10, callback=lambda s, D: seen.append(s)
    )
    D2 = fit_discriminator(p, q, steps=30, seed=3)
    assert seen == [0, 10, 20, 30]
    for a, b in zip(D1.parameters(), D2.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    state = torch.random.get_rng_state()
    fit_discriminator(p, q, steps=2, seed=4)
    assert torch.equal(state, torch.random.get_rng_state())  # global RNG untouched


def test_fit_accepts_any_sampler_and_returns_logits():
    p = GaussianMixture([-2.0, 2.0], [0.5, 0.5])
    kde = SampleDensity(GaussianMixture([0.0], [1.0]).sample(500, torch.Generator().manual_seed(0)))
    D = fit_discriminator(p, kde, steps=5, seed=0)
    out = D(torch.zeros(7, 1))
    assert out.shape == (7, 1) and out.dtype == torch.float32


def np_dens(d, x):
    return np.exp(np_logpdf(d, x))


def least_squares_error(p_data, p_g, seed: int, steps: int) -> float:
    """Mean |D - D*| under (p_data + p_g)/2 of a least-squares D fitted for ``steps``, where
    D* = (b p_data + a p_g) / (p_data + p_g) with a = -1, b = 1: tanh(l / 2), l the log-ratio."""
    D = fit_discriminator(p_data, p_g, steps=steps, seed=seed, objective="least_squares_chi2")
    rng = torch.Generator().manual_seed(seed + 1)
    x = torch.cat([p_data.sample(4000, rng), p_g.sample(4000, rng)])  # (8000, 1) ~ (p + q)/2
    xs = x.squeeze(1).double().numpy()
    d_star = np.tanh(0.5 * (np_logpdf(p_data, xs) - np_logpdf(p_g, xs)))
    with torch.no_grad():
        d = D(x).squeeze(1).double().numpy()
    return float(np.mean(np.abs(d - d_star)))


@settings(max_examples=2, deadline=None, phases=NO_SHRINK)
@given(mixtures(), mixtures(), st.integers(0, 2**16))
def test_fitted_least_squares_d_converges_to_its_optimum(p_data, p_g, seed):
    assume(max(p_g.stds) <= LS_MAX_RATIO * min(p_data.stds))  # the regime of the 800-step claim
    err = least_squares_error(p_data, p_g, seed, STEPS)
    assert err <= 0.1, f"mean |D - D*| = {err:.4f} (D* in [-1, 1])"


NARROW_DATA = GaussianMixture(
    [-1.2377653700612012, 2.0, 0.4226276609715365],
    [0.30000000000000004, 0.35635094152018676, 0.4598453238014034],
    [0.40336335672739204, 0.48450628552153374, 0.11213035775107426],
)
WIDE_G = GaussianMixture(
    [-2.392164085893697, 2.027472915163047, 1.2962384668255833e-238],
    [1.3337984424578768, 1.1804245393364547, 0.7085267801281239],
    [0.17436500668416416, 0.4523583498946181, 0.3732766434212178],
)


@settings(max_examples=2, deadline=None, phases=NO_SHRINK)
@example(NARROW_DATA, WIDE_G, 11418)  # 0.128 at 800 steps (it broke the old claim), 0.028 here
@given(
    _mixtures(spread=3.0, std=(0.3, 0.5), min_weight=0.1),  # narrow data modes
    _mixtures(spread=3.0, std=(1.0, 1.5), min_weight=0.1),  # wide generator ones (ratio 2-5)
    st.integers(0, 2**16),
)
def test_least_squares_d_beside_wide_generator_modes_needs_longer(p_data, p_g, seed):
    err = least_squares_error(p_data, p_g, seed, LONG_STEPS)
    assert err <= 0.05, f"mean |D - D*| = {err:.4f} after {LONG_STEPS} steps"


def hinge_sign_agreement(p_data, p_g, seed: int, steps: int, mass_floor: float) -> float | None:
    """The share of points where a hinge D fitted for ``steps`` has the sign of p_data - p_g,
    over fresh points of (p_data + p_g)/2 where |p_data - p_g| > 0.2 (p_data + p_g) (not tiny)
    and (p_data + p_g)/2 is at least ``mass_floor`` of its largest value; None when fewer than
    100 such points (nearly equal distributions: every D of norm <= 1 is optimal)."""
    D = fit_discriminator(p_data, p_g, steps=steps, seed=seed, objective="hinge")
    rng = torch.Generator().manual_seed(seed + 1)
    x = torch.cat([p_data.sample(4000, rng), p_g.sample(4000, rng)])
    xs = x.squeeze(1).double().numpy()
    pd, pg = np_dens(p_data, xs), np_dens(p_g, xs)
    clear = (np.abs(pd - pg) > 0.2 * (pd + pg)) & (pd + pg >= mass_floor * (pd + pg).max())
    if clear.sum() < 100:
        return None
    with torch.no_grad():
        d = D(x).squeeze(1).double().numpy()
    return float(np.mean(np.sign(d[clear]) == np.sign(pd - pg)[clear]))


# The hinge D's sign after 800 steps holds where the pair has mass: on a pair whose densities
# differ mostly in the tails (seed 201, below) the sign is wrong at x in [2.6, 3.7], where
# (p_data + p_g)/2 is under 5% of its peak: 93.7% agreement there at 800 and 2,000 steps, 100% at
# 6,000 (``LONG_STEPS``).
HINGE_MASS = 0.05
TAIL_DATA = GaussianMixture(
    [8.766576145566398e-280, -0.0011954975501188988, -2.0605761180049873],
    [1.1834790385620013, 0.759361975402598, 0.4682912143242837],
    [0.3458637124062877, 0.5764395206771461, 0.07769676691656625],
)
TAIL_G = GaussianMixture([1e-09], [0.9141350400927695])


@settings(max_examples=2, deadline=None, phases=NO_SHRINK)
@given(mixtures(), mixtures(), st.integers(0, 2**16))
def test_fitted_hinge_d_has_the_sign_of_p_data_minus_p_g(p_data, p_g, seed):
    agree = hinge_sign_agreement(p_data, p_g, seed, STEPS, HINGE_MASS)
    assert agree is None or agree >= 0.97, f"sign agrees on {agree:.3f} of the points"


@settings(max_examples=1, deadline=None, phases=NO_SHRINK)
@example(TAIL_DATA, TAIL_G, 201)
@given(mixtures(), mixtures(), st.integers(0, 2**16))
def test_fitted_hinge_d_has_the_sign_in_the_tails_too_when_trained_longer(p_data, p_g, seed):
    agree = hinge_sign_agreement(p_data, p_g, seed, LONG_STEPS, 0.0)
    assert agree is None or agree >= 0.97, f"sign agrees on {agree:.3f} of the points"


@settings(max_examples=2, deadline=None, phases=NO_SHRINK)
@given(
    st.floats(-2, 2), st.floats(0.4, 1.2), st.floats(0.8, 2.0), st.floats(0.4, 1.2),
    st.sampled_from([-1, 1]), st.integers(0, 2**16),
)  # fmt: skip
def test_fitted_critic_value_is_w1(mu, sd, shift, sd_g, sign, seed):
    # lambda 100, not the default 10: the penalised optimum overshoots W1 by
    # int (F_g - F_data)^2 / (2 lambda p_hat) (8-15% at lambda 10 on such pairs, ~1% at 100)
    # Pairs whose shift dominates their difference in spread: where F_g - F_data changes sign
    # inside the mass (e.g. sd 1.2 vs 0.5, shift 0.86) the fitted GP critic converges 6% below
    # W1 (the same value at 800 and 1600 steps and at batch 1024): a bias of the penalised
    # critic on such pairs, not a lack of training, so they are outside this claim.
    assume(shift >= 1.5 * abs(sd - sd_g))
    from toygan.objectives import get_objective
    from toygan.toy.theory import wasserstein1_exact

    p_data, p_g = GaussianMixture([mu], [sd]), GaussianMixture([mu + sign * shift], [sd_g])
    critic = get_objective("wasserstein_gp").with_params(gp_lambda=100.0)
    D = fit_discriminator(p_data, p_g, steps=STEPS, seed=seed, objective=critic)
    rng = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        value = float(D(p_data.sample(100_000, rng)).mean() - D(p_g.sample(100_000, rng)).mean())
    w1 = wasserstein1_exact(p_data, p_g)
    assert abs(value - w1) <= 0.05 * w1, f"critic value {value:.4f}, W1 {w1:.4f}"
