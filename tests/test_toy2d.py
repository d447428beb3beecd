"""The 2D world: mixtures, the benchmark's metrics, theory, the cures and the 2D run, against
independent float64 oracles (scipy densities, Gauss-Hermite integration, PacGAN's loops)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

import toygan
from toygan import GaussianMixture, jensen_shannon, optimal_discriminator, virtual_criterion
from toygan.toy.config import ToyConfig
from toygan.toy.density import SampleDensity
from toygan.toy.ensemble import build_ensemble, member_modules, sample_members
from toygan.toy.experiment import build_trainer, generate
from toygan.toy.fit import fit_discriminator
from toygan.toy.member_metrics import mode_metrics_members
from toygan.toy.metrics import mode_metrics
from toygan.toy.mixture import ring
from toygan.toy.theory import value_function


@st.composite
def mixtures2d(draw, max_k: int = 3, std=(0.1, 0.3)):
    """2D mixtures: 1..max_k components, means in [-1, 1]^2, isotropic or per-axis stds."""
    k = draw(st.integers(1, max_k))
    means = [[draw(st.floats(-1, 1)), draw(st.floats(-1, 1))] for _ in range(k)]
    if draw(st.booleans()):
        stds = [draw(st.floats(*std)) for _ in range(k)]
    else:
        stds = [[draw(st.floats(*std)), draw(st.floats(*std))] for _ in range(k)]
    raw = [draw(st.floats(0.1, 1.0)) for _ in range(k)]
    return GaussianMixture(means, stds, [w / sum(raw) for w in raw])


def np_logpdf(d: GaussianMixture, x: np.ndarray) -> np.ndarray:
    """log p(x) of a 2D mixture with scipy.stats.multivariate_normal, x (n, 2)."""
    comps = [
        math.log(w) + stats.multivariate_normal(m, np.diag(np.square(s))).logpdf(x)
        for m, s, w in zip(d.means, d.stds, d.weights, strict=True)
    ]
    return special.logsumexp(np.stack(comps), axis=0)


def _density(d: GaussianMixture):
    """The mixture's density as a scalar function of (x, y), written out with ``math``."""
    comps = [(m[0], m[1], s[0], s[1], w) for m, s, w in zip(d.means, d.stds, d.weights,
                                                            strict=True)]  # fmt: skip

    def f(x, y):
        return sum(w / (2 * math.pi * sx * sy) * math.exp(-0.5 * (((x - mx) / sx) ** 2 +
                   ((y - my) / sy) ** 2)) for mx, my, sx, sy, w in comps)  # fmt: skip

    return f


def oracle_jsd(p, q) -> float:
    """JSD by scipy's adaptive ``dblquad`` over a box holding every component +- 10 std, in
    pieces split at the components' means (independent of toygan's Gauss-Legendre quadtree;
    a tensor Gauss-Hermite rule was 1e-8 off where one component is 2.8 times narrower)."""
    fp, fq = _density(p), _density(q)

    def integrand(y, x):
        a, b = fp(x, y), fq(x, y)
        m = 0.5 * (a + b)
        return (0.5 * a * math.log(a / m) if a > 0 else 0.0) + (
            0.5 * b * math.log(b / m) if b > 0 else 0.0
        )

    loc = np.concatenate([np.array(d.means) for d in (p, q)])
    sd = np.concatenate([np.array(d.stds) for d in (p, q)])
    lo, hi = (loc - 10 * sd).min(0), (loc + 10 * sd).max(0)

    def edges(a, b, inner):  # no piece narrower than 1e-6 of the span (quad's roundoff)
        out = [a]
        for t in sorted(inner):
            if t - out[-1] > 1e-6 * (b - a) and b - t > 1e-6 * (b - a):
                out.append(t)
        return np.array([*out, b])

    xs, ys = edges(lo[0], hi[0], loc[:, 0]), edges(lo[1], hi[1], loc[:, 1])
    total = 0.0
    for x0, x1 in zip(xs[:-1], xs[1:], strict=True):
        for y0, y1 in zip(ys[:-1], ys[1:], strict=True):
            total += integrate.dblquad(integrand, x0, x1, y0, y1, epsabs=1e-11, epsrel=1e-10)[0]
    return total


# -- data -------------------------------------------------------------------------------------


@given(mixtures2d())
def test_2d_log_prob_matches_scipy(m):
    x = np.random.default_rng(0).uniform(-2, 2, size=(64, 2))
    torch.testing.assert_close(m.log_prob(torch.from_numpy(x)).numpy(), np_logpdf(m, x),
                               rtol=1e-10, atol=1e-10)  # fmt: skip


def test_2d_samples_have_the_mixtures_moments():
    m = GaussianMixture([[0.0, 0.0], [3.0, -1.0]], [[0.5, 0.2], [0.1, 1.0]], [0.25, 0.75])
    x = m.sample(200_000, torch.Generator().manual_seed(0)).double()
    assert x.shape == (200_000, 2) and x.dtype == torch.float64
    mean = 0.25 * torch.tensor([0.0, 0.0]) + 0.75 * torch.tensor([3.0, -1.0])
    torch.testing.assert_close(x.mean(0), mean.double(), atol=0.01, rtol=0)
    second = 0.25 * (torch.tensor([0.25, 0.04]) + 0) + 0.75 * (torch.tensor([0.01, 1.0]) +
                                                              torch.tensor([9.0, 1.0]))  # fmt: skip
    torch.testing.assert_close(x.square().mean(0), second.double(), atol=0.03, rtol=0)


def test_ring_and_grid_are_the_benchmarks():
    r = toygan.ring()
    assert r.n_components == 8 and r.stds[0] == [0.01, 0.01]
    angles = np.sort(np.mod(np.arctan2(*np.array(r.means).T[::-1]), 2 * np.pi))
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-12)  # 8 distinct
    np.testing.assert_allclose(np.linalg.norm(r.means, axis=1), 1.0, atol=1e-12)
    g = toygan.grid()
    assert g.n_components == 25 and g.stds[0] == [0.05, 0.05]
    assert sorted({v for m in g.means for v in m}) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert np.allclose(np.linalg.norm(ring(8, 2.0, 0.02).means, axis=1), 2.0)


def test_mixture_2d_from_flags_and_bad_shapes():
    cfg = ToyConfig(dataset="mixture2d", means=[0, 0, 1, 1], stds=[0.1, 0.2, 0.3, 0.4])
    m = cfg.mixture()
    assert m.dim == 2 and m.stds == [[0.1, 0.2], [0.3, 0.4]]
    with pytest.raises(ValueError, match="stds must be"):
        GaussianMixture([[0, 0], [1, 1]], [[0.1, 0.1, 0.1], [0.1, 0.1, 0.1]])
    with pytest.raises(ValueError, match="CDF"):
        ring().cdf(torch.zeros(3))


# -- metrics ----------------------------------------------------------------------------------


def pacgan_metrics(x: np.ndarray, means, stds):
    """PacGAN's MetricLogger loops, transcribed: nearest mode by sigma-scaled distance (first
    on ties), < 3 is high quality, histogram of high-quality samples, its entropy."""
    detail = np.zeros(len(means))
    for i in range(x.shape[0]):
        min_dis, min_j = 1e7, -1
        for j in range(len(means)):
            d = x[i] - np.asarray(means[j], dtype=float)
            dis = math.sqrt(np.sum(d * d / np.square(stds[j])))
            if dis < min_dis:
                min_dis, min_j = dis, j
        if min_dis < 3:
            detail[min_j] += 1
    if detail.sum() == 0:  # no high-quality sample: PacGAN's entropy is undefined (NaN)
        return 0, 0.0, None
    entropy = stats.entropy(detail / detail.sum())
    return len(np.nonzero(detail)[0]), detail.sum() / x.shape[0], math.log(len(means)) - entropy


@settings(max_examples=10, deadline=None)
@given(st.sampled_from(["ring", "grid"]), st.integers(0, 2**16), st.floats(0.0, 3.0))
def test_mode_metrics_are_pacgans(name, seed, spread):
    mix = getattr(toygan, name)()
    rng = torch.Generator().manual_seed(seed)
    x = mix.sample(300, rng) + spread * float(mix.stds[0][0]) * torch.randn(300, 2, generator=rng)
    m = mode_metrics(x, mix)
    modes, hq, rkl = pacgan_metrics(x.double().numpy(), mix.means, mix.stds)
    assert m["modes"] == modes
    assert m["high_quality"] == pytest.approx(hq, abs=1e-12)
    assert m["reverse_kl"] == pytest.approx(rkl, abs=1e-9)


@pytest.mark.parametrize("name, k", [("ring", 8), ("grid", 25)])
def test_mode_metrics_floors_for_true_samples(name, k):
    mix = getattr(toygan, name)()
    n, reps = 2500, 40
    hq, rkl = [], []
    for s in range(reps):
        m = mode_metrics(mix.sample(n, torch.Generator().manual_seed(s)), mix)
        assert m["modes"] == k
        hq.append(m["high_quality"])
        rkl.append(m["reverse_kl"])
    # chi with 2 degrees of freedom: P(r < 3) = 1 - exp(-9/2) = 98.89%
    assert np.mean(hq) == pytest.approx(1 - math.exp(-4.5), abs=3 * 0.0021 / math.sqrt(reps))
    # reverse KL of a multinomial histogram: about (K - 1) / (2 N) for uniform coverage
    assert np.mean(rkl) == pytest.approx((k - 1) / (2 * n * (1 - math.exp(-4.5))), rel=0.2)


def test_hand_built_collapsed_sets_give_the_right_counts():
    mix = toygan.ring()
    means = torch.tensor(mix.means)
    one = means[[0]].repeat(100, 1)  # every sample on mode 0
    m = mode_metrics(one, mix)
    assert (m["modes"], m["high_quality"]) == (1, 1.0)
    assert m["reverse_kl"] == pytest.approx(math.log(8), abs=1e-12)
    half = torch.cat([means[[0]].repeat(50, 1), means[[4]].repeat(50, 1)])
    assert mode_metrics(half, mix)["reverse_kl"] == pytest.approx(math.log(4), abs=1e-12)
    far = torch.zeros(10, 2)  # the centre: no mode within 3 sigma
    m = mode_metrics(far, mix)
    assert (m["modes"], m["high_quality"], m["reverse_kl"]) == (0, 0.0, None)
    assert m["reverse_kl_all"] == pytest.approx(math.log(8) - 0.0, abs=1e-12)  # all on mode 0
    edge = means[[2]] + torch.tensor([[0.0299, 0.0], [0.0301, 0.0]])  # 2.99 and 3.01 sigma
    assert mode_metrics(edge, mix)["high_quality"] == 0.5


def test_member_mode_metrics_equal_the_single_ones():
    mix = toygan.grid()
    g = torch.Generator().manual_seed(3)
    x = mix.sample(600, g).view(200, 3, 2) * torch.tensor([1.0, 1.05, 0.9]).view(1, 3, 1)
    x[:, 2, :] = 0.0  # member 2 collapsed on the centre mode
    ms = mode_metrics_members(x, mix)
    for s in range(3):
        one = mode_metrics(x[:, s], mix)
        assert int(ms["modes"][s]) == one["modes"]
        assert float(ms["high_quality"][s]) == pytest.approx(one["high_quality"])
        assert float(ms["reverse_kl"][s]) == pytest.approx(one["reverse_kl"])
    x[0, 1, 0] = torch.nan  # a member with a NaN sample gets nothing
    ms = mode_metrics_members(x, mix)
    assert int(ms["modes"][1]) == 0 and math.isnan(float(ms["reverse_kl"][1]))


# -- theory -----------------------------------------------------------------------------------


@settings(max_examples=6, deadline=None)
@given(mixtures2d(max_k=2), mixtures2d(max_k=2))
def test_theorem_1_in_2d_against_an_independent_integration(p, q):
    jsd = oracle_jsd(p, q)
    assert jensen_shannon(p, q) == pytest.approx(jsd, abs=1e-9)
    assert virtual_criterion(p, q) == pytest.approx(-math.log(4) + 2 * jsd, abs=2e-9)


@settings(max_examples=6, deadline=None)
@given(mixtures2d(), mixtures2d(), st.integers(0, 2**16))
def test_proposition_1_in_2d_d_star_maximises_v(p, q, seed):
    d_star = optimal_discriminator(p, q)
    best = value_function(d_star.logit, p, q)
    assert best == pytest.approx(virtual_criterion(p, q), abs=1e-10)
    g = torch.Generator().manual_seed(seed)
    a, b = torch.randn(2, generator=g, dtype=torch.float64)
    for eps in (0.3, 0.03):  # any other D (here a tilted logit) has a lower value
        other = value_function(lambda x, e=eps: d_star.logit(x) + e * (a * x[:, 0] + b), p, q)
        assert other < best


def test_2d_theory_resolves_sigma_001_modes():
    p, far = toygan.ring(), GaussianMixture([[50.0, 50.0]], [0.1])
    assert jensen_shannon(p, p) == 0.0
    assert jensen_shannon(p, far) == pytest.approx(math.log(2), abs=1e-12)  # disjoint
    q = ring(8, 1.0, 0.012)  # same centres, wider: mode by mode the JSD of two Gaussians
    one = jensen_shannon(
        GaussianMixture([[0.0, 0.0]], [0.01]), GaussianMixture([[0.0, 0.0]], [0.012])
    )
    assert jensen_shannon(p, q) == pytest.approx(one, abs=1e-12)  # modes far apart: additive
    assert one == pytest.approx(
        oracle_jsd(GaussianMixture([[0.0, 0.0]], [1.0]), GaussianMixture([[0.0, 0.0]], [1.2])),
        abs=1e-9,
    )
    wide = GaussianMixture([[0.0, 0.0]], [0.5])
    assert virtual_criterion(p, wide) == pytest.approx(
        -math.log(4) + 2 * jensen_shannon(p, wide), abs=1e-12
    )
    x = torch.tensor(p.means)  # D* at the modes of a ring against a wide G: the data's
    assert bool((optimal_discriminator(p, wide)(x) > 0.999).all())


@pytest.mark.parametrize("k", [1, 3, 5])
def test_collapsed_g_d_star_and_jsd_are_the_discrete_ones(k):
    """A G on k of the ring's 8 (far apart) modes: D* is 1 on the missing modes and
    (1/8) / (1/8 + 1/k) on G's, the JSD that of the two histograms; the picture draws it."""
    import matplotlib.pyplot as plt

    from toygan.toy import plots2d

    p = toygan.ring()
    g = GaussianMixture(p.loc[:k], p.scale[:k], [1 / k] * k)
    d = optimal_discriminator(p, g)(p.loc)  # (8,)
    assert torch.allclose(d[:k], torch.full((k,), (1 / 8) / (1 / 8 + 1 / k), dtype=d.dtype))
    assert torch.allclose(d[k:], torch.ones(8 - k, dtype=d.dtype))
    pd, pg = np.full(8, 1 / 8), np.r_[np.full(k, 1 / k), np.zeros(8 - k)]
    m = (pd + pg) / 2
    discrete = 0.5 * (special.rel_entr(pd, m).sum() + special.rel_entr(pg, m).sum())
    assert jensen_shannon(p, g) == pytest.approx(discrete, abs=1e-9)
    fig, ax = plt.subplots()
    plots2d.draw_mixture_optimum(ax, toygan.ring(std=0.1), g)
    grid = ax.images[0].get_array()  # D* on the picture's grid, NaN where there is no mass
    finite = grid.compressed() if np.ma.isMaskedArray(grid) else grid[np.isfinite(grid)]
    assert finite.size and finite.min() < 0.5 < finite.max()
    plt.close(fig)
    with pytest.raises(ValueError, match="critic"):
        plots2d.draw_mixture_optimum(ax, p, g, objective="wasserstein_gp")


def test_fitted_d_approaches_d_star_in_2d():
    p = GaussianMixture([[-0.8, 0.0], [0.8, 0.0]], [0.3, 0.3])
    q = GaussianMixture([[0.0, 0.3]], [[0.6, 0.4]])
    D = fit_discriminator(p, q, steps=1500, seed=0)
    rng = torch.Generator().manual_seed(1)
    x = torch.cat([p.sample(4000, rng), q.sample(4000, rng)])  # ~ (p + q)/2
    xs = x.double().numpy()
    d_star = special.expit(np_logpdf(p, xs) - np_logpdf(q, xs))
    with torch.no_grad():
        d = torch.sigmoid(D(x)).squeeze(1).double().numpy()
    assert float(np.mean(np.abs(d - d_star))) <= 0.05


def test_2d_kde_is_the_kernel_sum():
    pts = torch.randn(300, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    kde = SampleDensity(pts, bandwidth=0.2)
    y = np.array([[0.1, -0.2], [2.0, 1.0]])
    expect = special.logsumexp(
        stats.multivariate_normal.logpdf(y[:, None, :] - pts.numpy()[None], cov=0.04 * np.eye(2)),
        axis=1,
    ) - math.log(300)
    np.testing.assert_allclose(kde.log_prob(torch.from_numpy(y)).numpy(), expect, rtol=1e-12)
    assert 0.05 < SampleDensity(pts).bandwidth < 1.0  # cross-validated, finite


# -- the cures and the ensemble ---------------------------------------------------------------

SMALL_LIN = dict(dataset="ring", g_width=16, d_width=12, batch_size=20, train_points=400,
                 steps=12, device="cpu")  # fmt: skip


@pytest.mark.parametrize("packing", [1, 3])
def test_lin2018_member_is_the_single_run_with_its_seed(packing):
    """Batch norm per member, maxout, packing and the fixed packed set: member i of the
    ensemble trains as the single run with seed s_i."""
    cfg = ToyConfig.from_preset("lin2018", **SMALL_LIN, packing=packing)
    seeds = [2, 7]
    ens = build_ensemble(cfg, seeds)
    ens.train(12, progress=False)
    for i, s in enumerate(seeds):
        single = build_trainer(ToyConfig.from_preset("lin2018", **SMALL_LIN, packing=packing,
                                                     seed=s))  # fmt: skip
        single.train(12, progress=False)
        g, d = member_modules(ens, i, cfg)
        for a, b in zip([*g.state_dict().values(), *d.state_dict().values()],
                        [*single.G.state_dict().values(), *single.D.state_dict().values()],
                        strict=True):  # fmt: skip
            torch.testing.assert_close(a, b, atol=2e-5, rtol=2e-5)
    x = sample_members(ens, 50)  # (50, S, 2), G in eval mode: population statistics
    assert x.shape == (50, 2, 2)


def test_packed_d_judges_packs_of_m_samples():
    cfg = ToyConfig.from_preset("lin2018", **SMALL_LIN, packing=4)
    tr = build_trainer(cfg)
    assert tr.D.data_dim == 8 and tr.game.packing == 4
    real = tr.sample_real()
    assert real.shape == (20, 8)  # 20 packs of 4 points
    noise = tr.sample_noise()
    assert noise.shape == (20, 4, 2) and tr.generate(noise).shape == (20, 8)
    pts = tr.data.data  # the fixed set: 400 packs, each slot a draw of the 400 points
    assert pts.shape == (400, 8)


def test_fixed_training_set_is_passed_in_epochs():
    cfg = ToyConfig(dataset="ring", train_points=60, batch_size=20, device="cpu", steps=3)
    tr = build_trainer(cfg)
    seen = torch.cat([tr.data.sample(20, tr.rng) for _ in range(3)])  # one epoch
    assert torch.equal(seen.sort(0).values, tr.data.data.sort(0).values)


def test_r1_penalty_is_gamma_half_the_squared_gradient_norm():
    from toygan.objectives import r1_penalty

    D = torch.nn.Linear(2, 1, dtype=torch.float64)
    x = torch.randn(5, 2, dtype=torch.float64)
    pen = r1_penalty(D, x, None, None, gamma=4.0)
    w2 = float(D.weight.detach().square().sum())
    torch.testing.assert_close(pen.detach(), torch.full((5, 1), 2.0 * w2, dtype=torch.float64))
    assert pen.requires_grad  # differentiable: D is trained through it


def test_each_objective_trains_in_2d():
    for name in ("nonsaturating", "wasserstein_gp", "hinge", "least_squares", "r1"):
        cfg = ToyConfig(dataset="grid", objective=name, steps=5, batch_size=32, g_width=8,
                        d_width=8, device="cpu")  # fmt: skip
        tr = build_trainer(cfg)
        tr.train(5, progress=False)
        assert torch.isfinite(generate(tr, 10)).all()


# -- the 2D run -------------------------------------------------------------------------------

TINY_2D = ["--dataset", "ring", "--steps", "40", "--snapshot-every", "20", "--n-samples", "300",
           "--g-width", "8", "--d-width", "8", "--batch-size", "32", "--no-progress",
           "--device", "cpu"]  # fmt: skip


def test_ring_run_writes_samples_and_a_summary_that_an_oracle_confirms(tmp_path):
    from toygan.run import main

    out = tmp_path / "ring"
    assert main([*TINY_2D, "--out", str(out)]) == 0
    x = np.load(out / "samples.npy")
    assert x.shape == (300, 2) and x.dtype == np.float32
    summary = json.loads((out / "summary.json").read_text())
    modes, hq, rkl = pacgan_metrics(x.astype(np.float64), ring().means, ring().stds)
    assert summary["modes"] == modes
    assert summary["high_quality"] == pytest.approx(hq, abs=1e-6)
    assert summary["reverse_kl"] == (None if rkl is None else pytest.approx(rkl, abs=1e-6))
    for name in ("panel.png", "strip.png", "curves.png", "training.gif", "checkpoint.pt"):
        assert (out / name).stat().st_size > 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["dataset"] == "ring" and cfg["means"] is None and cfg["n_samples"] == 300
