"""One-dimensional Gaussian mixtures: the data distributions of toygan's 1D experiments.

A mixture p(x) = sum_k w_k N(x; mu_k, sigma_k^2). Densities and the CDF are computed in float64
from log-densities (log-sum-exp), so they stay exact far in the tails where the GAN theory
(D* = p_data / (p_data + p_g)) is evaluated. Sampling takes an explicit ``torch.Generator`` and
returns float32 samples of shape (n, 1) on the generator's device, ready for the engine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_WEIGHT_TOL = 1e-6


def _as_float_list(name: str, values: Sequence[float] | torch.Tensor) -> list[float]:
    try:
        out = [float(v) for v in torch.as_tensor(values, dtype=torch.float64).reshape(-1)]
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{name} must be a list of numbers ({err})") from None
    if not out:
        raise ValueError(f"{name} must not be empty")
    if not all(math.isfinite(v) for v in out):
        raise ValueError(f"{name} must be finite, got {out}")
    return out


class GaussianMixture:
    """A 1D Gaussian mixture with validated parameters.

    Args:
        means: component means mu_k.
        stds: component standard deviations sigma_k > 0.
        weights: mixing weights w_k >= 0 summing to 1 (within 1e-6); ``None`` means equal weights.

    Raises:
        ValueError: naming the problem, if lengths differ, a std is <= 0, a weight is < 0, the
            weights do not sum to 1, or any value is not finite.
    """

    def __init__(
        self,
        means: Sequence[float],
        stds: Sequence[float],
        weights: Sequence[float] | None = None,
    ) -> None:
        mu = _as_float_list("means", means)
        sd = _as_float_list("stds", stds)
        w = [1.0 / len(mu)] * len(mu) if weights is None else _as_float_list("weights", weights)
        if not len(mu) == len(sd) == len(w):
            raise ValueError(
                f"means, stds and weights must have the same length, got {len(mu)}, {len(sd)} "
                f"and {len(w)}"
            )
        if min(sd) <= 0:
            raise ValueError(f"stds must be > 0, got {sd}")
        if min(w) < 0:
            raise ValueError(f"weights must be >= 0, got {w}")
        if abs(sum(w) - 1.0) > _WEIGHT_TOL:
            raise ValueError(f"weights must sum to 1, got {w} (sum {sum(w):.6g})")
        self.means = mu
        self.stds = sd
        self.weights = w
        self._mu = torch.tensor(mu, dtype=torch.float64)  # (K,)
        self._sd = torch.tensor(sd, dtype=torch.float64)  # (K,)
        self._logw = torch.tensor(w, dtype=torch.float64).log()  # (K,), -inf for w = 0
        self._sampling: dict[tuple[torch.device, torch.dtype], tuple[torch.Tensor, ...]] = {}

    def __repr__(self) -> str:
        return f"GaussianMixture(means={self.means}, stds={self.stds}, weights={self.weights})"

    @property
    def n_components(self) -> int:
        return len(self.means)

    @property
    def mean(self) -> float:
        return sum(w * m for w, m in zip(self.weights, self.means, strict=True))

    @property
    def std(self) -> float:
        second = sum(
            w * (s * s + m * m) for w, m, s in zip(self.weights, self.means, self.stds, strict=True)
        )
        return math.sqrt(max(second - self.mean**2, 0.0))

    def _component_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float64)
        mu, sd, logw = (t.to(x.device) for t in (self._mu, self._sd, self._logw))
        z = (x.unsqueeze(-1) - mu) / sd  # (..., K)
        return logw - 0.5 * z * z - sd.log() - _LOG_SQRT_2PI  # (..., K)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) in float64, same shape as ``x``."""
        return torch.logsumexp(self._component_log_prob(x), dim=-1)

    def pdf(self, x: torch.Tensor) -> torch.Tensor:
        """p(x) in float64, same shape as ``x``."""
        return self.log_prob(x).exp()

    def cdf(self, x: torch.Tensor) -> torch.Tensor:
        """P(X <= x) in float64, same shape as ``x``."""
        x = torch.as_tensor(x, dtype=torch.float64)
        mu, sd = self._mu.to(x.device), self._sd.to(x.device)
        w = self._logw.exp().to(x.device)
        return (torch.special.ndtr((x.unsqueeze(-1) - mu) / sd) * w).sum(-1)

    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        """Draw ``n`` samples, shape (n, 1), on ``generator``'s device (CPU without one)."""
        device = generator.device if generator is not None else torch.device("cpu")
        key = (device, dtype)
        if key not in self._sampling:
            cum = self._logw.exp().cumsum(0)
            self._sampling[key] = (
                (cum / cum[-1]).to(device=device, dtype=torch.float64),  # (K,) cumulative weights
                self._mu.to(device=device, dtype=dtype),
                self._sd.to(device=device, dtype=dtype),
            )
        cum, mu, sd = self._sampling[key]
        u = torch.rand(n, generator=generator, device=device, dtype=torch.float64)  # (n,)
        comp = torch.searchsorted(cum, u, right=True).clamp_(max=len(self.means) - 1)  # (n,)
        eps = torch.randn(n, 1, generator=generator, device=device, dtype=dtype)  # (n, 1)
        return mu[comp].unsqueeze(1) + sd[comp].unsqueeze(1) * eps  # (n, 1)

    def cdf_integral(self, x: torch.Tensor) -> torch.Tensor:
        """The antiderivative int_{-inf}^x F(t) dt in closed form, float64, shape of ``x``.

        For one component, int_{-inf}^x Phi((t - mu)/s) dt = (x - mu) Phi(z) + s phi(z) with
        z = (x - mu)/s; the mixture's is the weighted sum.
        """
        x = torch.as_tensor(x, dtype=torch.float64)
        mu, sd = self._mu.to(x.device), self._sd.to(x.device)
        w = self._logw.exp().to(x.device)
        d = x.unsqueeze(-1) - mu  # (..., K)
        z = d / sd
        phi = torch.exp(-0.5 * z * z - _LOG_SQRT_2PI)
        return ((d * torch.special.ndtr(z) + sd * phi) * w).sum(-1)
