"""Each objective's discriminator beside its own optimum, as arrays on a grid (for the figures).

For fixed G the optimal D depends on the objective (``toygan.toy.theory``): D* = p_data/(p_data+p_g)
for the GAN losses, (b p_data + a p_g)/(p_data + p_g) for least squares, sign(p_data - p_g) for
the hinge loss, all from a KDE of G's samples (``SampleDensity``). A Wasserstein critic has no
pointwise optimum: in 1D an optimal 1-Lipschitz critic has slope sign(F_g - F_data), computed
here with G's *empirical* CDF (exact for the samples, no KDE), and is defined up to a constant,
which ``optimum_on_grid`` matches to the trained critic's mean on the grid.

``DAxis`` says how to draw D for an objective: its range (None: its own, autoscaled) and the
value D takes at the equilibrium p_g = p_data (None for a critic).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from toygan.objectives import Objective, get_objective
from toygan.toy.density import SampleDensity
from toygan.toy.mixture import GaussianMixture
from toygan.toy.theory import optimal_discriminator


@dataclass(frozen=True)
class DAxis:
    """How D of an objective is drawn: label, y-range (None: autoscale) and equilibrium value."""

    label: str
    ylim: tuple[float, float] | None
    equilibrium: float | None


def d_axis(objective: str | Objective) -> DAxis:
    o = get_objective(objective)
    if o.family == "least_squares":
        a, b = o.params["a"], o.params["b"]
        pad = 0.25 * (b - a)
        return DAxis("D(x)", (min(a, b) - pad, max(a, b) + pad), 0.5 * (a + b))
    if o.family == "hinge":
        return DAxis("D(x)", (-1.6, 1.6), 0.0)
    if o.family == "wasserstein":
        return DAxis("critic f(x)", None, None)
    return DAxis("D(x)", (0.0, 1.0), 0.5)


def optimum_on_grid(
    objective: str | Objective,
    data: GaussianMixture,
    samples: np.ndarray,
    grid: np.ndarray,
    d_on_grid: np.ndarray | None = None,
) -> np.ndarray:
    """The optimal D (or critic) for G's ``samples`` (n,) on ``grid`` (G,), float64 (G,).

    Reported as the objective reports D (``Objective.d_statistic``: a probability for the GAN
    losses, the raw output otherwise). For a critic, ``d_on_grid`` (the trained critic) fixes the
    free constant: both have the same mean over the grid.
    """
    o = get_objective(objective)
    x = samples[np.isfinite(samples)].astype(np.float64)
    if len(x) < 2:
        return np.full(len(grid), np.nan)
    g = torch.from_numpy(np.asarray(grid, dtype=np.float64))  # (G,)
    if o.family != "wasserstein":
        return optimal_discriminator(data, SampleDensity(x), o)(g).numpy()
    xs = np.sort(x)
    f_g = np.searchsorted(xs, grid, side="right") / len(xs)  # (G,) empirical CDF of G
    slope = np.sign(f_g - data.cdf(g).numpy())  # (G,)
    steps = 0.5 * (slope[1:] + slope[:-1]) * np.diff(grid)  # trapezoid rule
    f = np.concatenate([[0.0], np.cumsum(steps)])  # (G,)
    if d_on_grid is not None:
        f += np.mean(d_on_grid) - np.mean(f)
    return f


__all__ = ["DAxis", "d_axis", "optimum_on_grid"]
