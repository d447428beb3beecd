"""Distances between a generator and a 1D data distribution, and D's distance from 1/2.

- ``wasserstein1``: W1 = int |F_n(x) - F(x)| dx between the empirical CDF of the samples and the
  mixture's CDF, computed exactly (closed-form antiderivative of F, root of F = i/n by bisection
  on each inter-sample interval): no binning, no second sample.
- ``ks_distance``: sup |F_n - F| via ``scipy.stats.kstest`` (exact).
- ``d_deviation``: E_{x ~ (p_data + p_g)/2} |D(x) - 1/2|, Monte Carlo.
- ``mode_stats``: 1D mode coverage (at least half a mode's weight within 3 std of it) and the
  share of high-quality samples (within 3 std of a mode).
- ``mode_metrics``: the 2D benchmarks' metrics exactly as PacGAN computes them (its
  ``extensions.py``, ``MetricLogger``, after VEEGAN), in any dimension: each sample's sigma-scaled
  distance sqrt(sum_d (x_d - mu_d)^2 / sigma_d^2) to its nearest mean; *high quality* if it is
  below 3; *modes* = components with at least one high-quality sample; *reverse KL* =
  KL(histogram of the high-quality samples over the modes || uniform) in nats. Floors for
  samples of the data itself: high quality P(chi_d < 3) (2D: 1 - e^{-4.5} = 98.89%), reverse KL
  about (K - 1) / (2 N).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats

from toygan.toy.mixture import GaussianMixture
from toygan.toy.theory import wasserstein1_exact


def _flat64(samples: torch.Tensor | np.ndarray) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(samples, dtype=np.float64)).reshape(-1)
    if x.numel() == 0:
        raise ValueError("need at least one sample")
    if not torch.isfinite(x).all():
        raise ValueError("samples must be finite")
    return x


def wasserstein1(samples: torch.Tensor | np.ndarray | GaussianMixture, dist: GaussianMixture):
    """Exact W1 between the empirical distribution of ``samples`` (any shape) and ``dist``; or,
    given two distributions (anything with ``cdf``), ``toygan.toy.theory.wasserstein1_exact``:
    int |F_data - F_g| dx by quadrature."""
    if hasattr(samples, "cdf"):
        return wasserstein1_exact(samples, dist)
    x = _flat64(samples).sort().values  # (n,)
    n = x.numel()
    H = dist.cdf_integral  # H(x) = int_{-inf}^x F
    left = H(x[0])  # int_{-inf}^{x_1} F
    right = dist.mean - x[-1] + H(x[-1])  # int_{x_n}^inf (1 - F) = E[X] - x_n + H(x_n)
    if n == 1:
        return float(left + right)
    a, b = x[:-1], x[1:]  # intervals where F_n = c
    c = torch.arange(1, n, dtype=torch.float64) / n  # (n - 1,)
    lo, hi = a.clone(), b.clone()
    for _ in range(60):  # bisection for F(r) = c, clipped to [a, b]
        mid = 0.5 * (lo + hi)
        below = dist.cdf(mid) < c
        lo = torch.where(below, mid, lo)
        hi = torch.where(below, hi, mid)
    r = 0.5 * (lo + hi)
    r = torch.where(dist.cdf(a) >= c, a, torch.where(dist.cdf(b) <= c, b, r))
    Ha, Hb, Hr = H(a), H(b), H(r)
    middle = c * (r - a) - (Hr - Ha) + (Hb - Hr) - c * (b - r)
    return float(left + right + middle.clamp_min(0).sum())


def ks_distance(samples: torch.Tensor | np.ndarray, dist: GaussianMixture) -> float:
    """Kolmogorov-Smirnov statistic sup_x |F_n(x) - F(x)| (scipy.stats.kstest, exact)."""
    x = _flat64(samples).numpy()
    return float(stats.kstest(x, lambda t: dist.cdf(torch.from_numpy(t)).numpy()).statistic)


@torch.no_grad()
def d_deviation(
    discriminator: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor, packing: int = 1
) -> float:
    """E_{x ~ (p_data + p_g)/2} |D(x) - 1/2| with D(x) = sigmoid(logits).

    The expectation under the equal mixture is the average of the two sample means: ``real`` are
    samples of p_data and ``fake`` are samples of G (p_g is represented by generator samples, no
    density estimate is needed). Both are (n, *data_shape) tensors on D's device. A packed D
    (``packing`` m) judges m consecutive samples at once: packs of real and packs of fakes.
    """
    m = packing
    real = real[: len(real) // m * m].reshape(len(real) // m, -1) if m > 1 else real
    fake = fake[: len(fake) // m * m].reshape(len(fake) // m, -1) if m > 1 else fake
    d_real = torch.sigmoid(discriminator(real)).sub(0.5).abs().mean()
    d_fake = torch.sigmoid(discriminator(fake)).sub(0.5).abs().mean()
    return float(0.5 * (d_real + d_fake))


def mode_stats(
    samples: torch.Tensor | np.ndarray,
    dist: GaussianMixture,
    n_std: float = 3.0,
    min_share: float = 0.5,
) -> dict[str, object]:
    """Mode coverage and sample quality on a mixture.

    A sample is *high quality* if it lies within ``n_std`` component stds of some mode's mean.
    Mode k is *covered* if at least ``min_share`` * w_k of all samples fall within ``n_std`` of it
    (half of what the data itself puts there, by default).

    Returns ``{"modes_covered": int, "covered": list[bool], "high_quality": float,
    "mode_shares": list[float]}``.
    """
    x = _flat64(samples)
    mu = torch.tensor(dist.means, dtype=torch.float64)
    sd = torch.tensor(dist.stds, dtype=torch.float64)
    near = (x.unsqueeze(1) - mu).abs() <= n_std * sd  # (n, K)
    shares = near.double().mean(0)  # (K,)
    covered = [bool(s >= min_share * w) for s, w in zip(shares, dist.weights, strict=True)]
    return {
        "modes_covered": sum(covered),
        "covered": covered,
        "high_quality": float(near.any(1).double().mean()),
        "mode_shares": shares.tolist(),
    }


MODE_METRIC_KEYS = ("modes", "high_quality", "reverse_kl", "reverse_kl_all")
HQ_THRESHOLD = 3.0  # PacGAN's dis_thre: sigma-scaled distance of a high-quality sample


def nearest_modes(
    samples: torch.Tensor, dist: GaussianMixture
) -> tuple[torch.Tensor, torch.Tensor]:
    """(nearest component (..., ) int64, its sigma-scaled distance (...) float64) of points
    (..., d): PacGAN's sqrt(sum_d (x_d - mu_d)^2 / sigma_d^2), the first component on a tie."""
    x = torch.as_tensor(samples).double()
    if dist.dim == 1 and (x.dim() == 1 or x.shape[-1] != 1):
        x = x.unsqueeze(-1)
    mu, sd = dist.loc.to(x.device), dist.scale.to(x.device)  # (K, d)
    dist2 = ((x.unsqueeze(-2) - mu) / sd).square().sum(-1)  # (..., K)
    d2, k = dist2.min(-1)
    return k, d2.sqrt()


def coverage_kl(counts: torch.Tensor) -> torch.Tensor:
    """KL(counts / sum || uniform) = ln K - entropy, in nats, over the last axis (K,); NaN
    where there is nothing to count (PacGAN's entropy of an empty histogram is undefined)."""
    k = counts.shape[-1]
    total = counts.sum(-1, keepdim=True)
    p = counts / total
    plogp = torch.where(p > 0, p * p.log(), torch.zeros_like(p)).sum(-1)
    return torch.where(total.squeeze(-1) > 0, math.log(k) + plogp, torch.nan)


def mode_metrics(
    samples: torch.Tensor | np.ndarray, dist: GaussianMixture, threshold: float = HQ_THRESHOLD
) -> dict[str, object]:
    """The mode-collapse benchmark's metrics of generator ``samples`` (N, d) on ``dist``.

    Returns ``{"modes": int, "high_quality": float (a fraction), "reverse_kl": float | None
    (None: no high-quality sample), "reverse_kl_all": float, "mode_counts": list[int],
    "n_modes": int}``: ``reverse_kl`` is PacGAN's (the histogram of high-quality samples),
    ``reverse_kl_all`` assigns every sample to its nearest mode, whatever its distance.
    """
    x = torch.as_tensor(np.asarray(samples, dtype=np.float64))
    if x.numel() == 0:
        raise ValueError("need at least one sample")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("samples must be finite")
    k, r = nearest_modes(x.reshape(-1, dist.dim), dist)  # (N,), (N,)
    hq = r < threshold
    K = dist.n_components
    counts = torch.bincount(k[hq], minlength=K).double()  # (K,)
    all_counts = torch.bincount(k, minlength=K).double()
    rkl = float(coverage_kl(counts))
    return {
        "modes": int((counts > 0).sum()),
        "high_quality": float(hq.double().mean()),
        "reverse_kl": None if math.isnan(rkl) else rkl,
        "reverse_kl_all": float(coverage_kl(all_counts)),
        "mode_counts": [int(c) for c in counts],
        "n_modes": K,
    }
