"""Gaussian mixtures in R^d: the data distributions of toygan's toy worlds (d = 1 and d = 2).

A mixture p(x) = sum_k w_k N(x; mu_k, diag(sigma_k^2)). Densities are computed in float64 from
log-densities (log-sum-exp), so they stay exact far in the tails where the GAN theory
(D* = p_data / (p_data + p_g)) is evaluated. Sampling takes an explicit ``torch.Generator`` and
returns float32 samples of shape (n, d) on the generator's device, ready for the engine.

In 1D (``means`` a list of numbers) points are scalars: ``log_prob(x)`` has the shape of ``x``
and the CDF and its integral exist (the exact W1 of ``toygan.toy.metrics``). In d dimensions
(``means`` (K, d)) points are the last axis: ``log_prob(x)`` maps (..., d) to (...); ``stds`` are
isotropic (K,) or per axis (K, d).

The benchmarks of mode collapse (VEEGAN, PacGAN, Unrolled GAN, WGAN-GP) are ``ring`` and
``grid``; ``DATASETS`` names them and their variants.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

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


def _as_matrix(name: str, values) -> torch.Tensor:
    """``values`` as a float64 (K, d) tensor (a (K,) list is (K, 1)); ValueError otherwise."""
    try:
        t = torch.as_tensor(values, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{name} must be numbers, a list or a (K, d) array ({err})") from None
    if t.numel() == 0:
        raise ValueError(f"{name} must not be empty")
    if t.dim() == 1:
        t = t.unsqueeze(1)
    if t.dim() != 2:
        raise ValueError(f"{name} must be a non-empty list or (K, d) array, got {tuple(t.shape)}")
    if not bool(t.isfinite().all()):
        raise ValueError(f"{name} must be finite, got {t.tolist()}")
    return t


class GaussianMixture:
    """A Gaussian mixture in R^d with validated parameters.

    Args:
        means: component means: K numbers (1D) or a (K, d) array.
        stds: component standard deviations > 0: K numbers (isotropic) or (K, d) (per axis).
        weights: mixing weights w_k >= 0 summing to 1 (within 1e-6); ``None`` means equal weights.

    Attributes: ``dim`` (d); ``means``, ``stds``, ``weights`` as lists (1D: lists of numbers;
    d > 1: ``means`` (K, d) and ``stds`` (K, d) nested lists); ``loc`` and ``scale``, the (K, d)
    float64 tensors.

    Raises:
        ValueError: naming the problem, if lengths differ, a std is <= 0, a weight is < 0, the
            weights do not sum to 1, or any value is not finite.
    """

    def __init__(
        self,
        means: Sequence[float] | Sequence[Sequence[float]] | torch.Tensor,
        stds: Sequence[float] | Sequence[Sequence[float]] | torch.Tensor,
        weights: Sequence[float] | None = None,
    ) -> None:
        mu = _as_matrix("means", means)  # (K, d)
        k, d = mu.shape
        sd = _as_matrix("stds", stds)  # (K, 1) or (K, d)
        w = [1.0 / k] * k if weights is None else _as_float_list("weights", weights)
        if not len(sd) == k == len(w):
            raise ValueError(
                f"means, stds and weights must have the same length, got {k}, {len(sd)} "
                f"and {len(w)}"
            )
        if sd.shape[1] not in (1, d):
            raise ValueError(f"stds must be (K,) or (K, {d}), got {tuple(sd.shape)}")
        if float(sd.min()) <= 0:
            raise ValueError(f"stds must be > 0, got {sd.squeeze(-1).tolist()}")
        if min(w) < 0:
            raise ValueError(f"weights must be >= 0, got {w}")
        if abs(sum(w) - 1.0) > _WEIGHT_TOL:
            raise ValueError(f"weights must sum to 1, got {w} (sum {sum(w):.6g})")
        self.dim = d
        self.loc, self.scale = mu, sd.expand(k, d).clone()  # (K, d) each
        if d == 1:  # points are scalars
            self.means, self.stds = mu[:, 0].tolist(), sd[:, 0].tolist()
        else:
            self.means, self.stds = mu.tolist(), self.scale.tolist()
        self.weights = w
        self._mu = mu[:, 0].clone() if d == 1 else mu  # (K,) in 1D, else (K, d)
        self._sd = sd[:, 0].clone() if d == 1 else self.scale
        self._logw = torch.tensor(w, dtype=torch.float64).log()  # (K,), -inf for w = 0
        self._sampling: dict[tuple[torch.device, torch.dtype], tuple[torch.Tensor, ...]] = {}

    def __repr__(self) -> str:
        return f"GaussianMixture(means={self.means}, stds={self.stds}, weights={self.weights})"

    @property
    def n_components(self) -> int:
        return len(self.weights)

    def _one_d(self, what: str) -> None:
        if self.dim != 1:
            raise ValueError(f"{what} is defined for 1D mixtures only (this one is {self.dim}D)")

    @property
    def mean(self) -> float:
        self._one_d("the mean as a number")
        return sum(w * m for w, m in zip(self.weights, self.means, strict=True))

    @property
    def std(self) -> float:
        self._one_d("the std as a number")
        second = sum(
            w * (s * s + m * m) for w, m, s in zip(self.weights, self.means, self.stds, strict=True)
        )
        return math.sqrt(max(second - self.mean**2, 0.0))

    def component_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log w_k + log N(x; mu_k, sigma_k^2) of every component, float64: 1D (...) -> (..., K);
        d > 1: (..., d) -> (..., K)."""
        x = torch.as_tensor(x, dtype=torch.float64)
        mu, sd, logw = (t.to(x.device) for t in (self._mu, self._sd, self._logw))
        if self.dim == 1:
            z = (x.unsqueeze(-1) - mu) / sd  # (..., K)
            return logw - 0.5 * z * z - sd.log() - _LOG_SQRT_2PI  # (..., K)
        if x.shape[-1:] != (self.dim,):
            raise ValueError(f"points of a {self.dim}D mixture are (..., {self.dim}), got "
                             f"{tuple(x.shape)}")  # fmt: skip
        z = (x.unsqueeze(-2) - mu) / sd  # (..., K, d)
        norm = sd.log().sum(-1) + self.dim * _LOG_SQRT_2PI  # (K,)
        return logw - 0.5 * z.square().sum(-1) - norm  # (..., K)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) in float64: the shape of ``x`` in 1D, (...) for points (..., d)."""
        return torch.logsumexp(self.component_log_prob(x), dim=-1)

    def pdf(self, x: torch.Tensor) -> torch.Tensor:
        """p(x) in float64 (shape as ``log_prob``)."""
        return self.log_prob(x).exp()

    def cdf(self, x: torch.Tensor) -> torch.Tensor:
        """P(X <= x) in float64, same shape as ``x`` (1D only)."""
        self._one_d("the CDF")
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
        """Draw ``n`` samples, shape (n, d), on ``generator``'s device (CPU without one)."""
        device = generator.device if generator is not None else torch.device("cpu")
        key = (device, dtype)
        if key not in self._sampling:
            cum = self._logw.exp().cumsum(0)
            self._sampling[key] = (
                (cum / cum[-1]).to(device=device, dtype=torch.float64),  # (K,) cumulative weights
                self.loc.to(device=device, dtype=dtype),  # (K, d)
                self.scale.to(device=device, dtype=dtype),  # (K, d)
            )
        cum, mu, sd = self._sampling[key]
        u = torch.rand(n, generator=generator, device=device, dtype=torch.float64)  # (n,)
        comp = torch.searchsorted(cum, u, right=True).clamp_(max=self.n_components - 1)  # (n,)
        eps = torch.randn(n, self.dim, generator=generator, device=device, dtype=dtype)  # (n, d)
        return mu[comp] + sd[comp] * eps  # (n, d)

    def cdf_integral(self, x: torch.Tensor) -> torch.Tensor:
        """The antiderivative int_{-inf}^x F(t) dt in closed form, float64, shape of ``x`` (1D).

        For one component, int_{-inf}^x Phi((t - mu)/s) dt = (x - mu) Phi(z) + s phi(z) with
        z = (x - mu)/s; the mixture's is the weighted sum.
        """
        self._one_d("the CDF's integral")
        x = torch.as_tensor(x, dtype=torch.float64)
        mu, sd = self._mu.to(x.device), self._sd.to(x.device)
        w = self._logw.exp().to(x.device)
        d = x.unsqueeze(-1) - mu  # (..., K)
        z = d / sd
        phi = torch.exp(-0.5 * z * z - _LOG_SQRT_2PI)
        return ((d * torch.special.ndtr(z) + sd * phi) * w).sum(-1)


def ring(n_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture:
    """``n_modes`` equal Gaussians at angles 2 pi k / n_modes, k = 0 .. n_modes - 1, on a circle
    of ``radius`` (defaults: PacGAN's and VEEGAN's ring, radius 1, sigma 0.01).

    The angles never include 2 pi: ``linspace(0, 2 pi, 8)`` (the Unrolled GAN notebook's ring)
    puts modes 0 and 7 on the same point and leaves 7 distinct modes."""
    if n_modes < 1 or not radius > 0 or not std > 0:
        raise ValueError(f"ring needs n_modes >= 1, radius > 0, std > 0; got {n_modes}, "
                         f"{radius}, {std}")  # fmt: skip
    angle = 2.0 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes  # (K,)
    means = radius * torch.stack([angle.cos(), angle.sin()], 1)  # (K, 2)
    return GaussianMixture(means, [std] * n_modes)


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """``side`` x ``side`` equal Gaussians on a square grid centred at 0 with ``spacing``
    (defaults: PacGAN's and VEEGAN's grid, means {-4, -2, 0, 2, 4}^2, sigma 0.05)."""
    if side < 1 or not spacing > 0 or not std > 0:
        raise ValueError(f"grid needs side >= 1, spacing > 0, std > 0; got {side}, {spacing}, "
                         f"{std}")  # fmt: skip
    axis = spacing * (torch.arange(side, dtype=torch.float64) - (side - 1) / 2)  # (side,)
    means = torch.cartesian_prod(axis, axis)  # (side^2, 2), x-major as itertools.product
    return GaussianMixture(means, [std] * side * side)


# The named 2D datasets of ``--dataset``: the benchmarks and their published variants.
DATASETS: dict[str, Callable[[], GaussianMixture]] = {
    "ring": ring,  # PacGAN / VEEGAN: 8 modes, radius 1, sigma 0.01
    "grid": grid,  # PacGAN / VEEGAN: 25 modes at {-4, ..., 4}^2, sigma 0.05
    # Metz et al. 2017 (the paper's ring): radius 2, sigma 0.02
    "ring_metz2017": lambda: ring(8, 2.0, 0.02),
    # Gulrajani et al. 2017, gan_toy.py: both scaled down by 1.414 and 2.828
    "ring_gulrajani2017": lambda: ring(8, 2.0 / 1.414, 0.02 / 1.414),
    "grid_gulrajani2017": lambda: grid(5, 2.0 / 2.828, 0.05 / 2.828),
}
