"""Figures of the 1D GAN game, computed apart from drawn.

``take_snapshot`` computes everything a panel shows (histograms' samples, p_data, the KDE of p_g,
D(x) and D*(x) = p_data / (p_data + p_g) on a grid) as plain arrays; ``draw_panel``,
``draw_strip``, ``draw_curves`` and ``save_animation`` only draw. The panel follows Figure 1 of
Goodfellow et al. 2014: data density black dotted, generator green, D blue dashed, plus D* and the
1/2 line that D reaches at the equilibrium.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from matplotlib.animation import FuncAnimation

from toygan import io
from toygan.engine import History
from toygan.io import save_figure
from toygan.plotting import smooth
from toygan.toy.density import SampleDensity
from toygan.toy.mixture import GaussianMixture

DATA_COLOR, FAKE_COLOR, D_COLOR, DSTAR_COLOR = "0.15", "#2ca02c", "#1f77b4", "#ff7f0e"


@dataclass
class Snapshot:
    """What one panel shows at one training step (all arrays float64, on the host)."""

    step: int
    grid: np.ndarray  # (G,) points where densities and D are evaluated
    p_data: np.ndarray  # (G,) data density
    p_g: np.ndarray  # (G,) KDE of the generator samples
    d: np.ndarray  # (G,) D(x) = sigmoid(logit)
    d_star: np.ndarray  # (G,) optimal D for the current G, from p_data and the KDE of p_g
    real: np.ndarray  # (n,) data samples
    fake: np.ndarray  # (n,) generator samples
    metrics: dict[str, float] = field(default_factory=dict)


def plot_range(dist: GaussianMixture, margin: float = 4.0) -> tuple[float, float]:
    """An x-range holding every component to ``margin`` stds."""
    lo = min(m - margin * s for m, s in zip(dist.means, dist.stds, strict=True))
    hi = max(m + margin * s for m, s in zip(dist.means, dist.stds, strict=True))
    return lo, hi


@torch.no_grad()
def take_snapshot(
    step: int,
    discriminator: torch.nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    dist: GaussianMixture,
    x_range: tuple[float, float] | None = None,
    n_grid: int = 400,
    metrics: dict[str, float] | None = None,
    d_values=None,
) -> Snapshot:
    """Evaluate D, p_data, the KDE of p_g and D* on a grid; ``real``/``fake`` are (n, 1).

    ``d_values``: a function of the grid (G,) returning D's probabilities (G,) to use instead of
    calling ``discriminator`` on single points (a packed D judges packs: ``toygan.toy.live``)."""
    lo, hi = x_range or plot_range(dist)
    grid = torch.linspace(lo, hi, n_grid, dtype=torch.float64)  # (G,)
    if d_values is None:
        device = next(discriminator.parameters()).device
        was_training = discriminator.training
        discriminator.eval()
        logits = discriminator(grid.to(device, torch.float32).unsqueeze(1))  # (G, 1)
        discriminator.train(was_training)
        d = torch.sigmoid(logits.double()).reshape(-1).cpu().numpy()  # (G,)
    else:
        d = np.asarray(d_values(grid), dtype=np.float64).reshape(-1)  # (G,)
    fake64 = fake.detach().double().cpu().reshape(-1)
    kde = SampleDensity(fake64)
    log_p_data, log_p_g = dist.log_prob(grid), kde.log_prob(grid)
    return Snapshot(
        step=step,
        grid=grid.numpy(),
        p_data=log_p_data.exp().numpy(),
        p_g=log_p_g.exp().numpy(),
        d=d,
        d_star=torch.sigmoid(log_p_data - log_p_g).numpy(),
        real=real.detach().double().cpu().reshape(-1).numpy(),
        fake=fake64.numpy(),
        metrics=dict(metrics or {}),
    )


def density_top(snap: Snapshot) -> float:
    """Top of the density axis: room for p_g, but a collapsed (spiky) p_g is clipped at 2.5x the
    data's peak rather than flattening p_data to the floor."""
    peak = snap.p_data.max()
    return float(min(max(peak, snap.p_g.max()) * 1.2, 2.5 * peak))


def draw_panel(
    ax: plt.Axes,
    snap: Snapshot,
    legend: bool = True,
    title: str | None = None,
    d_range: tuple[float, float] | None = (0.0, 1.0),
    d_equilibrium: float | None = 0.5,
    d_label: str = "D(x)",
    d_star_label: str = r"$D^*(x)=\frac{p_{data}}{p_{data}+p_g}$",
):
    """Histograms of real and fake samples (densities), p_data, p_g, and on a twin axis D(x),
    D*(x) and D's equilibrium line (defaults: a GAN's [0, 1] axis and 1/2; ``d_range`` None
    autoscales, for a critic). Returns ``(ax, twin_ax)``."""
    lo, hi = snap.grid[0], snap.grid[-1]
    bins = np.linspace(lo, hi, 61)
    sns.histplot(x=snap.real, bins=bins, stat="density", ax=ax, color="0.6", alpha=0.35,
                 element="step", label="real samples")  # fmt: skip
    sns.histplot(x=snap.fake, bins=bins, stat="density", ax=ax, color=FAKE_COLOR, alpha=0.3,
                 element="step", label="fake samples G(z)")  # fmt: skip
    ax.plot(snap.grid, snap.p_data, ":", color=DATA_COLOR, lw=2, label=r"$p_{data}$")
    ax.plot(snap.grid, snap.p_g, "-", color=FAKE_COLOR, lw=1.8, label=r"$p_g$ (KDE)")
    ax.set_xlim(lo, hi)
    ax.set_ylim(0, density_top(snap))
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    twin = ax.twinx()
    if d_equilibrium is not None:
        twin.axhline(d_equilibrium, color="0.5", lw=1, ls=(0, (1, 2)))
    twin.plot(snap.grid, snap.d, "--", color=D_COLOR, lw=2, label=d_label)
    twin.plot(snap.grid, snap.d_star, "-", color=DSTAR_COLOR, lw=1.3, alpha=0.9,
              label=d_star_label)  # fmt: skip
    if d_range is not None:
        twin.set_ylim(*d_range)
    twin.set_ylabel(d_label)
    if title is None:
        title = f"step {snap.step}"
        if "w1" in snap.metrics:
            title += f"   W1 = {snap.metrics['w1']:.3f}"
    ax.set_title(title)
    if legend:
        handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        labels = ax.get_legend_handles_labels()[1] + twin.get_legend_handles_labels()[1]
        ax.legend(handles, labels, loc="upper left", fontsize=8, framealpha=0.85)
    return ax, twin


def pick_snapshots(snaps: Sequence[Snapshot], n: int = 4) -> list[Snapshot]:
    """``n`` snapshots spread over training, first and last included (geometric in step, so the
    fast early changes get panels too)."""
    if len(snaps) <= n:
        return list(snaps)
    last = snaps[-1].step
    targets = [0] + list(np.geomspace(max(snaps[1].step, 1), last, n - 1))
    picked = []
    for t in targets:
        s = min(snaps, key=lambda s: abs(s.step - t))
        if s not in picked:
            picked.append(s)
    return picked


def draw_strip(snaps: Sequence[Snapshot], n: int = 4) -> plt.Figure:
    """A row of panels over training, in the spirit of Figure 1 (a)-(d) of the paper."""
    picked = pick_snapshots(snaps, n)
    fig, axes = plt.subplots(1, len(picked), figsize=(4.2 * len(picked), 3.6), sharey=False)
    for i, (ax, snap) in enumerate(zip(np.atleast_1d(axes), picked, strict=True)):
        _, twin = draw_panel(ax, snap, legend=(i == 0), title=f"({'abcdefgh'[i]}) step {snap.step}")
        if i < len(picked) - 1:
            twin.set_ylabel("")
        if i > 0:
            ax.set_ylabel("")
    fig.tight_layout()
    return fig


def draw_losses(ax: plt.Axes, history: History, objective: str = "nonsaturating") -> plt.Axes:
    """d_loss and g_loss per step (faint) with a moving average, and their equilibrium values
    for the GAN losses (L_D = 2 log 2; L_G = log 2 non-saturating, -log 2 saturating)."""
    steps = history.steps
    w = max(1, len(steps) // 100)
    for name, color in (("d_loss", "C3"), ("g_loss", "C2")):
        y = history.stats[name] if len(steps) else np.zeros(0)
        ax.plot(steps, y, color=color, alpha=0.2, lw=0.7)
        ax.plot(steps, smooth(y, w), color=color, label=name)
    if objective in ("saturating", "nonsaturating"):
        ax.axhline(2 * np.log(2), color="C3", ls=":", lw=1,
                   label=r"$L_D$ at equilibrium: $2\log 2$")  # fmt: skip
        g_eq = np.log(2) if objective == "nonsaturating" else -np.log(2)
        ax.axhline(g_eq, color="C2", ls=":", lw=1, label=f"$L_G$ at equilibrium: {g_eq:+.3f}")
    ax.set(xlabel="step", ylabel="loss", title="losses")
    ax.legend(fontsize=8)
    return ax


def draw_curves(
    history: History, snaps: Sequence[Snapshot], objective: str = "nonsaturating"
) -> plt.Figure:
    """Losses, mean D(real)/D(fake) and ||grad G|| per step; W1, KS and d_deviation per snapshot.

    Dotted lines mark the values at the equilibrium p_g = p_data, D = 1/2:
    L_D = 2 log 2, L_G = log 2 (non-saturating) or -log 2 (saturating).
    """
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    draw_losses(axes[0, 0], history, objective)
    steps = history.steps
    w = max(1, len(steps) // 100)
    ax = axes[0, 1]
    for name, label, color in (("d_real", "mean D(real)", "C0"), ("d_fake", "mean D(G(z))", "C1")):
        y = history.stats[name]
        ax.plot(steps, y, color=color, alpha=0.2, lw=0.7)
        ax.plot(steps, smooth(y, w), color=color, label=label)
    ax.axhline(0.5, color="0.4", ls=":", lw=1, label="1/2")
    ax.set(xlabel="step", ylabel="D", ylim=(0, 1), title="discriminator outputs")
    ax.legend(fontsize=8)
    ax = axes[1, 0]
    y = history.stats["g_grad_norm"]
    ax.plot(steps, y, color="C4", alpha=0.25, lw=0.7)
    ax.plot(steps, smooth(y, w), color="C4", label=r"$\|\nabla_\theta L_G\|$")
    ax.set(xlabel="step", ylabel="gradient norm", yscale="log", title="generator gradient")
    ax.legend(fontsize=8)
    ax = axes[1, 1]
    s_steps = [s.step for s in snaps]
    for key, label, color in (
        ("w1", "Wasserstein-1", "C0"),
        ("ks", "Kolmogorov-Smirnov", "C1"),
        ("d_deviation", r"$E|D(x)-\frac{1}{2}|$", "C2"),
    ):
        ax.plot(s_steps, [s.metrics.get(key, np.nan) for s in snaps], "o-", ms=3, color=color,
                label=label)  # fmt: skip
    ax.set(xlabel="step", ylabel="distance", title="distance to the data and to D = 1/2")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def save_animation(snaps: Sequence[Snapshot], path: str | Path, fps: int = 4, dpi: int = 80):
    """A GIF of the panel over training (matplotlib PillowWriter, no ffmpeg), written atomically.

    Axis limits are fixed over all frames, so motion on screen is motion of the distributions.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    top = max(density_top(s) for s in snaps)

    def frame(i: int):
        fig.clear()
        ax = fig.add_subplot()
        draw_panel(ax, snaps[i])
        ax.set_ylim(0, top)
        fig.tight_layout()

    anim = FuncAnimation(fig, frame, frames=len(snaps), interval=1000 / fps)
    io.save_animation(anim, path, fps, dpi)
    plt.close(fig)
    return Path(path)


def save_figures(
    snaps: Sequence[Snapshot], history: History, out: str | Path, objective: str, dist=None
) -> list[Path]:
    """The panel (final step), the strip, the curves and the GIF into ``out`` (``dist`` unused:
    the 1D snapshots carry their densities; the 2D ``plots2d.save_figures`` needs it)."""
    out = Path(out)
    paths = []
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    draw_panel(ax, snaps[-1])
    fig.tight_layout()
    paths.append(save_figure(fig, out / "panel.png"))
    plt.close(fig)
    for name, fig in (
        ("strip.png", draw_strip(snaps)),
        ("curves.png", draw_curves(history, snaps, objective)),
    ):
        paths.append(save_figure(fig, out / name))
        plt.close(fig)
    paths.append(save_animation(snaps, out / "training.gif"))
    return paths
