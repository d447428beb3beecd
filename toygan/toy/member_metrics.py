"""The 1D metrics of ``toygan.toy.metrics`` for S generators at once, as tensor operations.

A multi-seed run (``toygan.toy.ensemble``) evaluates every member every few hundred steps; one
Python call per member would cost more than the training itself. These functions take samples
of all members, shape (n, S), and return one value per member, computed on the samples' device
with the formulas of the scalar versions (which serve as their test oracles):

- ``wasserstein1_members``: W1 = int |F_n(x) - F(x)| dx per member, exactly: on each interval
  between consecutive sorted samples F_n is the constant c = i/n, and the integral of |c - F|
  there is closed-form once the root of F = c is known (bisection, only on the intervals that
  contain one).
- ``mode_stats_members``: mode coverage and the share of high-quality samples per member.
- ``mode_metrics_members``: the 2D benchmark's metrics (``metrics.mode_metrics``) per member of
  samples (n, S, d).

A member with a non-finite sample gets W1 = inf, no mode covered and quality 0.
"""

from __future__ import annotations

import torch

from toygan.toy.metrics import HQ_THRESHOLD, coverage_kl, nearest_modes
from toygan.toy.mixture import GaussianMixture


def wasserstein1_members(
    samples: torch.Tensor, dist: GaussianMixture, iterations: int = 60
) -> torch.Tensor:
    """Exact W1 between each member's empirical distribution and ``dist``, shape (S,), float64.

    ``samples`` is (n, S): column s holds member s's n samples.
    """
    x = samples.detach().double()  # (n, S)
    n = x.shape[0]
    if n == 0:
        raise ValueError("need at least one sample")
    finite = x.isfinite().all(0)  # (S,)
    x = torch.where(finite, x, 0.0).sort(0).values  # (n, S), non-finite members zeroed
    H = dist.cdf_integral(x)  # (n, S): H(x) = int_{-inf}^x F
    left = H[0]  # int_{-inf}^{x_1} F
    right = dist.mean - x[-1] + H[-1]  # int_{x_n}^inf (1 - F)
    w1 = left + right  # (S,)
    if n > 1:
        F = dist.cdf(x)  # (n, S)
        a, b, Fa, Fb, Ha, Hb = x[:-1], x[1:], F[:-1], F[1:], H[:-1], H[1:]  # each (n - 1, S)
        c = (torch.arange(1, n, dtype=x.dtype, device=x.device) / n).unsqueeze(1)  # (n - 1, 1)
        c = c.expand_as(a)
        r = torch.where(Fa >= c, a, b)  # F - c keeps one sign on [a, b]: the "root" is an end
        cross = (Fa < c) & (Fb > c)  # (n - 1, S): F = c strictly inside [a, b]
        lo, hi, cc = a[cross], b[cross], c[cross]  # (crossings,)
        for _ in range(iterations):  # bisection for F(root) = c
            mid = 0.5 * (lo + hi)
            below = dist.cdf(mid) < cc
            lo = torch.where(below, mid, lo)
            hi = torch.where(below, hi, mid)
        r = r.masked_scatter(cross, 0.5 * (lo + hi))
        Hr = dist.cdf_integral(r)  # (n - 1, S)
        middle = c * (r - a) - (Hr - Ha) + (Hb - Hr) - c * (b - r)  # int_a^b |c - F|
        w1 = w1 + middle.clamp_min(0).sum(0)
    return torch.where(finite, w1, torch.inf)


def mode_stats_members(
    samples: torch.Tensor, dist: GaussianMixture, n_std: float = 3.0, min_share: float = 0.5
) -> dict[str, torch.Tensor]:
    """``metrics.mode_stats`` per member of samples (n, S).

    Returns ``{"modes_covered": (S,) int64, "covered": (S, K) bool, "high_quality": (S,)
    float64, "mode_shares": (S, K) float64}``; sample x is near mode k if |x - mu_k| <= n_std
    sigma_k, mode k is covered if at least ``min_share`` w_k of the samples are near it.
    """
    x = samples.detach().double()  # (n, S)
    mu, sd, w = (
        torch.tensor(v, dtype=torch.float64, device=x.device)
        for v in (dist.means, dist.stds, dist.weights)
    )  # each (K,)
    near = (x.unsqueeze(-1) - mu).abs() <= n_std * sd  # (n, S, K); NaN/inf are never near
    shares = near.double().mean(0)  # (S, K)
    covered = shares >= min_share * w  # (S, K)
    finite = x.isfinite().all(0)  # (S,)
    covered &= finite.unsqueeze(1)
    return {
        "modes_covered": covered.sum(1),
        "covered": covered,
        "high_quality": torch.where(finite, near.any(-1).double().mean(0), 0.0),
        "mode_shares": shares,
    }


def mode_metrics_members(
    samples: torch.Tensor, dist: GaussianMixture, threshold: float = HQ_THRESHOLD
) -> dict[str, torch.Tensor]:
    """``metrics.mode_metrics`` for every member of samples (n, S, d), on their device.

    Returns ``{"modes": (S,) int64, "high_quality": (S,), "reverse_kl": (S,) (NaN: no
    high-quality sample), "reverse_kl_all": (S,), "mode_counts": (S, K)}``; a member with a
    non-finite sample gets 0 modes, quality 0 and NaN divergences.
    """
    x = samples.detach().double()  # (n, S, d)
    finite = x.isfinite().flatten(1 if x.dim() == 2 else 2).all(-1).all(0)  # (S,)
    x = torch.where(x.isfinite(), x, 0.0)
    k, r = nearest_modes(x, dist)  # (n, S) each
    hq = r < threshold
    K = dist.n_components
    one_hot = torch.nn.functional.one_hot(k, K).double()  # (n, S, K)
    counts = (one_hot * hq.unsqueeze(-1)).sum(0)  # (S, K)
    all_counts = one_hot.sum(0)
    counts = torch.where(finite.unsqueeze(1), counts, 0.0)
    nan = torch.full_like(finite, torch.nan, dtype=torch.float64)
    return {
        "modes": (counts > 0).sum(1),
        "high_quality": torch.where(finite, hq.double().mean(0), 0.0),
        "reverse_kl": torch.where(finite, coverage_kl(counts), nan),
        "reverse_kl_all": torch.where(finite, coverage_kl(all_counts), nan),
        "mode_counts": counts.long(),
    }


__all__ = ["wasserstein1_members", "mode_stats_members", "mode_metrics_members"]
