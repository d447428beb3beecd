"""Estimating p_g from generator samples: a Gaussian kernel density estimate in 1D.

p_hat(x) = (1/n) sum_i N(x; x_i, h^2), with Scott's rule h = 1.06 * sigma_hat * n^(-1/5)
(sigma_hat = min(std, IQR/1.34), as in Silverman 1986, robust to heavy tails and to modes) or a
given bandwidth. ``log_prob`` is computed with log-sum-exp, so D* = sigmoid(log p_data - log p_hat)
stays exact in the tails where both densities underflow.
"""

from __future__ import annotations

import math

import numpy as np
import torch

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


class SampleDensity:
    """A 1D Gaussian KDE of ``samples`` (any shape, flattened), evaluated in float64.

    Args:
        samples: generator samples.
        bandwidth: ``"scott"`` (default: 1.06 sigma n^-1/5 with the robust sigma above) or a
            positive number.
        max_points: KDE centres kept (an evenly spaced subset of the sorted samples) to bound
            the cost of an evaluation at O(len(x) * max_points).
    """

    def __init__(
        self,
        samples: torch.Tensor | np.ndarray,
        bandwidth: str | float = "scott",
        max_points: int = 4000,
    ) -> None:
        x = torch.as_tensor(np.asarray(samples, dtype=np.float64)).reshape(-1)
        if x.numel() < 2 or not torch.isfinite(x).all():
            raise ValueError("need at least two finite samples to estimate a density")
        n = x.numel()
        if bandwidth == "scott":
            q75, q25 = torch.quantile(x, 0.75), torch.quantile(x, 0.25)
            spread = min(float(x.std()), float(q75 - q25) / 1.34) or float(x.std())
            h = 1.06 * max(spread, 1e-12) * n ** (-0.2)
        else:
            h = float(bandwidth)
            if not h > 0:
                raise ValueError(f"bandwidth must be > 0, got {bandwidth}")
        xs = x.sort().values
        if n > max_points:
            xs = xs[torch.linspace(0, n - 1, max_points).round().long()]
        self.centres, self.bandwidth = xs, h  # (n',), float

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p_hat(x) in float64, same shape as ``x``."""
        x = torch.as_tensor(x, dtype=torch.float64)
        z = (x.reshape(-1, 1) - self.centres.to(x.device)) / self.bandwidth  # (N, n')
        lp = torch.logsumexp(-0.5 * z * z, dim=1) - math.log(self.centres.numel())
        return (lp - math.log(self.bandwidth) - _LOG_SQRT_2PI).reshape(x.shape)

    def pdf(self, x: torch.Tensor) -> torch.Tensor:
        return self.log_prob(x).exp()

    def sample(
        self, n: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32
    ) -> torch.Tensor:
        """Draw from the KDE (a random centre plus kernel noise), shape (n, 1)."""
        device = generator.device if generator is not None else torch.device("cpu")
        c = self.centres.to(device=device, dtype=dtype)
        idx = torch.randint(c.numel(), (n,), generator=generator, device=device)
        eps = torch.randn(n, generator=generator, device=device, dtype=dtype)
        return (c[idx] + self.bandwidth * eps).unsqueeze(1)
