"""Figures of the theory: a trained D converging to D*, and C(G) = -log 4 + 2 JSD as G improves.

Computing is kept apart from drawing: ``fit_convergence`` and ``criterion_path`` return arrays,
``draw_fit_panel``, ``draw_fit_error`` and ``draw_criterion`` draw them on a given ``ax``,
``theory_figure`` assembles the README figure and ``write_figures`` saves it (deterministic: fixed
seeds, ``toygan.io.save_figure``). Goodfellow et al. 2014, Proposition 1 and Theorem 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from toygan.io import ensure_writable_dir, save_figure
from toygan.toy.fit import fit_discriminator
from toygan.toy.mixture import GaussianMixture
from toygan.toy.theory import (
    LOG4,
    jensen_shannon,
    optimal_discriminator,
    quadrature_rule,
    value_function,
    virtual_criterion,
)

DATA_COLOR, FAKE_COLOR, D_COLOR, DSTAR_COLOR = "0.15", "#2ca02c", "#1f77b4", "#ff7f0e"

P_DATA = GaussianMixture([-2.0, 2.0], [0.5, 0.5])  # the 1D experiment's default data
P_G = GaussianMixture([0.0, 1.0], [1.2, 0.4])  # a generator part-way through training


@dataclass
class FitConvergence:
    """A discriminator fitted against fixed p_data, p_g, seen at several steps (float64 arrays)."""

    grid: np.ndarray  # (G,) points
    p_data: np.ndarray  # (G,) data density
    p_g: np.ndarray  # (G,) generator density
    d_star: np.ndarray  # (G,) D* = p_data / (p_data + p_g)
    steps: np.ndarray  # (S,) training steps of the snapshots
    d: np.ndarray  # (S, G) sigmoid(D(x)) at each snapshot
    error: np.ndarray  # (S,) E_{(p_data + p_g)/2} |D - D*|, by quadrature


def fit_convergence(
    p_data: GaussianMixture = P_DATA,
    p_g: GaussianMixture = P_G,
    steps: int = 2000,
    snapshot_every: int = 25,
    seed: int = 0,
    n_grid: int = 400,
) -> FitConvergence:
    """Fit D with ``fit_discriminator`` and record it every ``snapshot_every`` steps."""
    lo = min(min(d.means) - 3.5 * max(d.stds) for d in (p_data, p_g))
    hi = max(max(d.means) + 3.5 * max(d.stds) for d in (p_data, p_g))
    grid = torch.linspace(lo, hi, n_grid, dtype=torch.float64)  # (G,)
    xq, wq = quadrature_rule(p_data, p_g)  # (N,) nodes for the error integral
    half = 0.5 * (p_data.pdf(xq) + p_g.pdf(xq))  # (N,)
    d_star = optimal_discriminator(p_data, p_g)
    d_star_q = d_star(xq)
    steps_seen, ds, errors = [], [], []

    def record(step: int, D: torch.nn.Module) -> None:
        with torch.no_grad():
            d_grid = torch.sigmoid(D(grid.float().unsqueeze(1))).squeeze(1)  # (G,)
            d_q = torch.sigmoid(D(xq.float().unsqueeze(1))).squeeze(1).double()  # (N,)
        steps_seen.append(step)
        ds.append(d_grid.double().numpy())
        errors.append(float((wq * half * (d_q - d_star_q).abs()).sum()))

    fit_discriminator(p_data, p_g, steps, seed, snapshot_every=snapshot_every, callback=record)
    return FitConvergence(
        grid.numpy(),
        p_data.pdf(grid).numpy(),
        p_g.pdf(grid).numpy(),
        d_star(grid).numpy(),
        np.array(steps_seen),
        np.stack(ds),
        np.array(errors),
    )


@dataclass
class CriterionPath:
    """C(G) along a path of generators p_g(t) moving to p_data (t = 0 .. 1)."""

    t: np.ndarray  # (T,) path parameter; p_g(1) = p_data
    criterion: np.ndarray  # (T,) C(G) = V(D*, G), by quadrature
    jsd: np.ndarray  # (T,) JSD(p_data || p_g), by quadrature
    v_fitted: np.ndarray  # (T,) V(D_fit, G) of a fitted discriminator (NaN if not fitted)


def interpolate(p_start: GaussianMixture, p_end: GaussianMixture, t: float) -> GaussianMixture:
    """The mixture whose means, stds and weights are (1 - t) start + t end (same components)."""
    return GaussianMixture(
        *(
            [(1 - t) * a + t * b for a, b in zip(u, v, strict=True)]
            for u, v in (
                (p_start.means, p_end.means),
                (p_start.stds, p_end.stds),
                (p_start.weights, p_end.weights),
            )
        )
    )


def criterion_path(
    p_data: GaussianMixture = P_DATA,
    p_start: GaussianMixture = P_G,
    n: int = 11,
    fit_steps: int = 0,
    seed: int = 0,
) -> CriterionPath:
    """C(G), JSD and (with ``fit_steps`` > 0) V(D_fit, G) for ``n`` generators on the path."""
    ts = np.linspace(0.0, 1.0, n)
    c, j, v = [], [], []
    for t in ts:
        p_g = interpolate(p_start, p_data, float(t))
        c.append(virtual_criterion(p_data, p_g))
        j.append(jensen_shannon(p_data, p_g))
        if fit_steps > 0:
            v.append(value_function(fit_discriminator(p_data, p_g, fit_steps, seed), p_data, p_g))
        else:
            v.append(np.nan)
    return CriterionPath(ts, np.array(c), np.array(j), np.array(v))


def draw_fit_panel(ax: plt.Axes, conv: FitConvergence, i: int, legend: bool = False) -> plt.Axes:
    """Densities (left axis) and D at snapshot ``i`` against D* (right axis, [0, 1])."""
    ax.plot(conv.grid, conv.p_data, ":", color=DATA_COLOR, lw=1.8, label="$p_{data}$")
    ax.fill_between(conv.grid, conv.p_g, color=FAKE_COLOR, alpha=0.25, lw=0)
    ax.plot(conv.grid, conv.p_g, color=FAKE_COLOR, lw=1.2, label="$p_g$")
    ax.set_ylim(0, 1.15 * max(conv.p_data.max(), conv.p_g.max()))
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    twin = ax.twinx()
    twin.axhline(0.5, color="0.6", lw=0.8)
    twin.plot(conv.grid, conv.d_star, color=DSTAR_COLOR, lw=2.2, label="$D^*(x)$")
    twin.plot(conv.grid, conv.d[i], "--", color=D_COLOR, lw=1.8, label="fitted $D(x)$")
    twin.set_ylim(0, 1)
    twin.set_ylabel("D(x)")
    ax.set_title(f"step {conv.steps[i]}:  E|D - D*| = {conv.error[i]:.3f}", fontsize=10)
    if legend:
        handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.9)
    return ax


def draw_fit_error(ax: plt.Axes, conv: FitConvergence) -> plt.Axes:
    """E_{(p_data + p_g)/2} |D - D*| against training steps (log-log)."""
    keep = conv.steps > 0
    ax.loglog(conv.steps[keep], conv.error[keep], color=D_COLOR, lw=1.8)
    ax.set_xlabel("discriminator steps")
    ax.set_ylabel("mean |D(x) - D*(x)|  under (p_data + p_g)/2")
    ax.set_title("a trained D converges to D* (Proposition 1)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    return ax


def draw_criterion(ax: plt.Axes, path: CriterionPath) -> plt.Axes:
    """C(G) by quadrature against -log 4 + 2 JSD as G moves to p_data (Theorem 1)."""
    ax.axhline(-LOG4, color="0.5", lw=0.8, ls="--", label="$-\\log 4$ (global minimum)")
    ax.plot(
        path.t,
        -LOG4 + 2 * path.jsd,
        color=DSTAR_COLOR,
        lw=5,
        alpha=0.45,
        label="$-\\log 4 + 2\\,\\mathrm{JSD}(p_{data}\\|p_g)$",
    )
    ax.plot(
        path.t,
        path.criterion,
        "o-",
        color="0.1",
        ms=4,
        lw=1.2,
        label="$C(G) = V(D^*, G)$ (quadrature)",
    )
    if np.isfinite(path.v_fitted).any():
        ax.plot(
            path.t,
            path.v_fitted,
            "x",
            color=D_COLOR,
            ms=7,
            mew=1.8,
            label="$V(D_{fit}, G)$, fitted D",
        )
    gap = np.abs(path.criterion - (-LOG4 + 2 * path.jsd)).max()
    ax.set_xlabel("t   ($p_g$ moved toward $p_{data}$: t = 1 means $p_g = p_{data}$)")
    ax.set_ylabel("value")
    ax.set_title(f"Theorem 1: max |C(G) - (-log 4 + 2 JSD)| = {gap:.1e}", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    return ax


def theory_figure(quick: bool = False) -> plt.Figure:
    """The README figure: D fitted to D* over training (top), error and Theorem 1 (bottom)."""
    steps, fit_steps = (60, 0) if quick else (2000, 800)
    conv = fit_convergence(steps=steps, snapshot_every=max(1, steps // 80))
    path = criterion_path(n=6 if quick else 11, fit_steps=fit_steps)
    shown = [0, *(int(np.searchsorted(conv.steps, s)) for s in (steps // 100, steps // 10)), -1]
    fig = plt.figure(figsize=(16, 8.5), layout="constrained")
    grid = fig.add_gridspec(2, 4)
    for k, i in enumerate(shown):
        draw_fit_panel(fig.add_subplot(grid[0, k]), conv, i, legend=k == 0)
    draw_fit_error(fig.add_subplot(grid[1, :2]), conv)
    draw_criterion(fig.add_subplot(grid[1, 2:]), path)
    fig.suptitle(
        "The optimal discriminator $D^* = p_{data}/(p_{data}+p_g)$ and the virtual "
        "training criterion (Goodfellow et al. 2014)"
    )
    return fig


def write_figures(out_dir: Path, quick: bool = False) -> list[Path]:
    """Write ``theory_dstar.png`` into ``out_dir``; returns the paths written."""
    ensure_writable_dir(out_dir)
    fig = theory_figure(quick)
    try:
        return [save_figure(fig, Path(out_dir) / "theory_dstar.png")]
    finally:
        plt.close(fig)
