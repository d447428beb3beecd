"""Figures of the 2D GAN game, computed apart from drawn: GAN Lab's layers, plus D* and the metrics.

``take_snapshot`` computes what a panel shows at one step as plain arrays (``Snapshot2D``): G's
samples from a fixed z, D's output on a grid (what the objective reports: a probability for the
GAN losses), the generator gradients at the fake points (where D pushes them: -grad_x of G's
loss, through packs as D sees them) and, when z is 2-d, G's manifold (the image of a z-grid).
``panel_data`` adds the optimal D for the current G (``toygan.toy.theory.optimal_discriminator``
with a 2D ``SampleDensity`` of G's samples). The ``draw_*`` functions only draw; GAN Lab's
colours: real green, fake purple, D from purple (0, fake) to green (1, real), its 1/2 contour.

A packed D (PacGAN) judges m points at once: its heatmap is D(x, x'_2, ..., x'_m) averaged over
16 draws of the partners x' from G's samples (how x looks beside G's samples), said in the title.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.animation import FuncAnimation

from toygan import io
from toygan.engine import GANTrainer, History
from toygan.game import base_prior
from toygan.objectives import get_objective
from toygan.toy.density import SampleDensity
from toygan.toy.mixture import GaussianMixture
from toygan.toy.optima import d_axis
from toygan.toy.plots import draw_losses
from toygan.toy.theory import optimal_discriminator

REAL_COLOR, FAKE_COLOR, ARROW_COLOR, MANIFOLD_COLOR = "#1a9641", "#7b3294", "0.1", "#e66101"
D_CMAP = "PRGn"  # D = 0 (fake) purple ... D = 1 (real) green
N_GRID, N_ARROWS, N_PARTNERS, Z_GRID = 120, 64, 16, 21
MASS_FLOOR = 1e-3  # D* is drawn where (p_data + p_g) / 2 is above this share of its peak
MAX_PICTURES = 80  # snapshots that keep their pictures (older ones thinned: metrics stay)


@dataclass
class Snapshot2D:
    """What one 2D panel shows at one step (float32 arrays on the host; empty when thinned)."""

    step: int
    metrics: dict[str, float] = field(default_factory=dict)
    fake: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))  # (n, 2)
    d: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # (R, R)
    arrows: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))  # x y dx dy
    manifold: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 2), np.float32))
    extent: np.ndarray = field(default_factory=lambda: np.zeros(4))  # xlo, xhi, ylo, yhi

    @property
    def has_pictures(self) -> bool:
        return self.d.size > 0


def plot_extent(dist: GaussianMixture, margin: float = 0.35) -> np.ndarray:
    """A square [xlo, xhi, ylo, yhi] holding every mode with ``margin`` of the data's span."""
    lo = (dist.loc - 4 * dist.scale).min(0).values
    hi = (dist.loc + 4 * dist.scale).max(0).values
    centre, half = (lo + hi) / 2, float((hi - lo).max()) / 2
    half = max(half * (1 + margin), 0.5)
    return np.array([centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half])


def grid_points(extent: np.ndarray, n: int = N_GRID) -> torch.Tensor:
    """(n * n, 2) float64 points of an n x n grid over ``extent``, row-major from the bottom."""
    xs = torch.linspace(float(extent[0]), float(extent[1]), n, dtype=torch.float64)
    ys = torch.linspace(float(extent[2]), float(extent[3]), n, dtype=torch.float64)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)


def packing_of(trainer: GANTrainer) -> int:
    return getattr(trainer.game, "packing", 1)


@torch.no_grad()
def d_on_grid(trainer: GANTrainer, points: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """D's reported output at ``points`` (P, d), float32 (P,); a packed D sees each point beside
    m - 1 partners drawn from ``fake``, the same for every point (the average over
    ``N_PARTNERS`` draws)."""
    obj, m = trainer.objective, packing_of(trainer)
    x = points.to(trainer.device, torch.float32)
    was = trainer.D.training
    trainer.D.eval()
    if m == 1:
        out = obj.d_statistic(trainer.D(x)).reshape(-1)
    else:
        rng = torch.Generator(fake.device).manual_seed(0)
        out = torch.zeros(len(x), device=trainer.device)
        for _ in range(N_PARTNERS):
            # the same partners for every point (common random numbers): a smooth picture of D
            idx = torch.randint(len(fake), (1, m - 1), generator=rng, device=fake.device)
            idx = idx.expand(len(x), m - 1)
            packs = torch.cat([x.unsqueeze(1), fake[idx].to(x)], 1).reshape(len(x), -1)
            out += obj.d_statistic(trainer.D(packs)).reshape(-1) / N_PARTNERS
    trainer.D.train(was)
    return out.float().cpu()


def generator_arrows(trainer: GANTrainer, fake: torch.Tensor, n: int = N_ARROWS) -> np.ndarray:
    """(n, 4) [x, y, dx, dy]: -grad_x of G's loss at n fake points, the direction D's current
    gradient moves them (packs of m consecutive fakes, as D sees them)."""
    m = packing_of(trainer)
    n = (min(n, len(fake)) // m) * m
    x = fake[:n].detach().to(trainer.device, torch.float32).requires_grad_(True)  # (n, 2)
    was = trainer.D.training
    trainer.D.eval()
    logits = trainer.D(x.reshape(n // m, -1))  # (n / m, 1)
    (grad,) = torch.autograd.grad(trainer.objective.g(logits).sum(), x)
    trainer.D.train(was)
    return torch.cat([x.detach(), -grad], 1).cpu().numpy().astype(np.float32)


@torch.no_grad()
def manifold(trainer: GANTrainer, prior, n: int = Z_GRID) -> np.ndarray:
    """G's image of an n x n grid of z (n, n, 2) when z is 2-d (GAN Lab's manifold), else empty:
    z over [-2, 2]^2 for a Gaussian prior, [-1, 1]^2 for a uniform one."""
    if prior.dim != 2:
        return np.zeros((0, 0, 2), np.float32)
    r = 2.0 if prior.kind == "gaussian" else 1.0
    z = grid_points(np.array([-r, r, -r, r]), n).to(trainer.device, torch.float32)
    was = trainer.G.training
    trainer.G.eval()
    x = trainer.G(z)
    trainer.G.train(was)
    return x.reshape(n, n, 2).cpu().numpy().astype(np.float32)


def take_snapshot(
    step: int,
    trainer: GANTrainer,
    fake: torch.Tensor,
    dist: GaussianMixture,
    metrics: dict[str, float] | None = None,
) -> Snapshot2D:
    """Compute a panel's arrays at ``step`` from G's samples ``fake`` (n, 2) of the fixed z."""
    extent = plot_extent(dist)
    d = d_on_grid(trainer, grid_points(extent), fake)
    return Snapshot2D(
        step=step,
        metrics=dict(metrics or {}),
        fake=fake.detach().float().cpu().numpy(),
        d=d.reshape(N_GRID, N_GRID).numpy(),
        arrows=generator_arrows(trainer, fake),
        manifold=manifold(trainer, base_prior(trainer.prior)),
        extent=extent,
    )


def thin_snapshots(snaps: list[Snapshot2D], keep: int = MAX_PICTURES) -> None:
    """Bound the pictures kept (checkpoint size, GIF frames): when more than ``keep`` snapshots
    hold pictures, every other one of them (never the first or the last) drops its arrays and
    keeps its metrics. Deterministic in the sequence of steps, so a resumed run thins alike."""
    with_pictures = [i for i, s in enumerate(snaps) if s.has_pictures]
    if len(with_pictures) <= keep:
        return
    for i in with_pictures[1:-1:2]:
        snaps[i] = Snapshot2D(step=snaps[i].step, metrics=snaps[i].metrics)


def round_metrics(m: dict[str, float | None]) -> dict[str, float | None]:
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in m.items()}


def real_points(dist: GaussianMixture, n: int = 2500, seed: int = 1) -> np.ndarray:
    """A fixed sample of the data to draw (n, 2)."""
    return dist.sample(n, torch.Generator().manual_seed(seed)).numpy()


def optimum_grid(dist: GaussianMixture, p_g, objective: str, extent: np.ndarray, n: int):
    """The optimal D for the density ``p_g`` (anything with ``log_prob``) on an (n, n) grid over
    ``extent``, as the objective reports D; NaN where neither distribution has mass (below
    ``MASS_FLOOR`` of the peak of (p_data + p_g) / 2: there D* is a ratio of two tails and does
    not enter V(D, G)); None for a critic (no pointwise optimum)."""
    o = get_objective(objective)
    if o.family == "wasserstein":
        return None
    pts = grid_points(extent, n)  # (n * n, 2)
    opt = optimal_discriminator(dist, p_g, o)(pts)
    mass = torch.logaddexp(dist.log_prob(pts), p_g.log_prob(pts))  # log(p_data + p_g)
    opt = torch.where(mass >= mass.max() + np.log(MASS_FLOOR), opt, torch.nan)
    return opt.reshape(n, n).numpy()


def panel_data(snap: Snapshot2D, dist: GaussianMixture, objective: str) -> np.ndarray | None:
    """``optimum_grid`` for the current G, from a KDE of its samples, on the snapshot's grid."""
    if len(snap.fake) < 2:
        return None
    kde = SampleDensity(snap.fake.astype(np.float64))
    return optimum_grid(dist, kde, objective, snap.extent, snap.d.shape[0])


def draw_mixture_optimum(
    ax,
    dist: GaussianMixture,
    p_g: GaussianMixture,
    objective: str = "nonsaturating",
    title: str | None = None,
):
    """D* of two known mixtures (no sampling, no KDE), with the modes of both marked: the
    theory's picture beside a trained D's. Returns the image (for a colorbar)."""
    extent = plot_extent(dist)
    opt = optimum_grid(dist, p_g, objective, extent, N_GRID)
    if opt is None:
        raise ValueError(f"{objective} is a critic: it has no pointwise optimum to draw")
    im = _field(ax, opt, extent, objective)
    for mix, color, label in ((dist, REAL_COLOR, "p_data modes"), (p_g, FAKE_COLOR, "p_g modes")):
        loc = mix.loc.numpy()  # (K, 2)
        ax.scatter(loc[:, 0], loc[:, 1], s=18, facecolors="none", edgecolors=color, lw=1.2,
                   label=label)  # fmt: skip
    ax.set_title(title or "D* = p_data / (p_data + p_g) (grey: no mass)", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    return im


def _field(ax, grid: np.ndarray, extent, objective: str):
    axis = d_axis(objective)
    lim = axis.ylim or (float(np.nanmin(grid)), float(np.nanmax(grid)) + 1e-9)
    ax.set_facecolor("0.88")  # where a field is NaN (D*: no mass)
    im = ax.imshow(grid, origin="lower", extent=tuple(extent), cmap=D_CMAP, vmin=lim[0],
                   vmax=lim[1], interpolation="bilinear", aspect="equal")  # fmt: skip
    level = axis.equilibrium
    if level is not None and np.nanmin(grid) < level < np.nanmax(grid):
        xs = np.linspace(extent[0], extent[1], grid.shape[1])
        ys = np.linspace(extent[2], extent[3], grid.shape[0])
        ax.contour(xs, ys, grid, levels=[level], colors="0.25", linewidths=0.8, linestyles="--")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    return im


def draw_panel(
    ax: plt.Axes,
    snap: Snapshot2D,
    real: np.ndarray,
    objective: str = "nonsaturating",
    title: str | None = None,
    packing: int = 1,
    arrows: bool = True,
):
    """D's heatmap with its 1/2 contour, real (green) and fake (purple) points, the generator
    gradients at the fakes and G's manifold (when z is 2-d). Returns the image (for a colorbar)."""
    im = _field(ax, snap.d, snap.extent, objective)
    if snap.manifold.size:
        mf = snap.manifold
        for line in (*mf, *mf.transpose(1, 0, 2)):
            ax.plot(line[:, 0], line[:, 1], color=MANIFOLD_COLOR, lw=0.4, alpha=0.5)
    ax.scatter(real[:, 0], real[:, 1], s=3, c=REAL_COLOR, alpha=0.35, lw=0, label="real")
    ax.scatter(snap.fake[:, 0], snap.fake[:, 1], s=3, c=FAKE_COLOR, alpha=0.5, lw=0,
               label="fake G(z)")  # fmt: skip
    if arrows and len(snap.arrows):
        a = snap.arrows
        norm = np.linalg.norm(a[:, 2:], axis=1, keepdims=True)
        scale = 0.045 * (snap.extent[1] - snap.extent[0])
        uv = np.where(norm > 0, a[:, 2:] / np.maximum(norm, 1e-30), 0.0) * scale
        ax.quiver(a[:, 0], a[:, 1], uv[:, 0], uv[:, 1], angles="xy", scale_units="xy", scale=1,
                  color=ARROW_COLOR, width=0.003, headwidth=4, alpha=0.75)  # fmt: skip
    label = "D" if packing == 1 else f"D (packed by {packing}: beside G's samples)"
    ax.set_title(title if title is not None else f"step {snap.step}: {label}", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    return im


def draw_optimum(ax, snap: Snapshot2D, real: np.ndarray, dist, objective: str, title=None):
    """D* for the current G (from a KDE of its samples) with its 1/2 contour and the points."""
    opt = panel_data(snap, dist, objective)
    if opt is None:
        ax.text(0.5, 0.5, "a critic has no\npointwise optimum", ha="center", va="center",
                transform=ax.transAxes)  # fmt: skip
        ax.set_xticks([])
        ax.set_yticks([])
        return None
    im = _field(ax, opt, snap.extent, objective)
    ax.scatter(real[:, 0], real[:, 1], s=3, c=REAL_COLOR, alpha=0.35, lw=0)
    ax.scatter(snap.fake[:, 0], snap.fake[:, 1], s=3, c=FAKE_COLOR, alpha=0.5, lw=0)
    name = "D*" if get_objective(objective).family == "gan" else "optimal D"
    ax.set_title(title or f"{name} for this G (grey: no mass)", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    return im


def metric_line(snap: Snapshot2D) -> str:
    m = snap.metrics
    if "modes" not in m:
        return ""
    rkl = m.get("reverse_kl")
    rkl_s = "-" if rkl is None or (isinstance(rkl, float) and np.isnan(rkl)) else f"{rkl:.2f}"
    return f"modes {m['modes']}, high quality {100 * m['high_quality']:.1f}%, rev-KL {rkl_s}"


def draw_pair(fig, snap, real, dist, objective, packing=1) -> None:
    """Two panels side by side: D with points and arrows; D* for this G."""
    ax1, ax2 = fig.subplots(1, 2)
    im = draw_panel(ax1, snap, real, objective, packing=packing)
    draw_optimum(ax2, snap, real, dist, objective)
    fig.colorbar(im, ax=[ax1, ax2], shrink=0.8, label=d_axis(objective).label)
    fig.suptitle(metric_line(snap), fontsize=10)


def pick(snaps: Sequence[Snapshot2D], n: int = 4) -> list[Snapshot2D]:
    """``n`` snapshots with pictures spread over training (geometric in step), first and last."""
    from toygan.toy.plots import pick_snapshots

    return pick_snapshots([s for s in snaps if s.has_pictures], n)


def draw_strip(snaps, dist, objective, packing=1, n: int = 4) -> plt.Figure:
    """Two rows over training: D with the points and arrows; D* for that step's G."""
    picked = pick(snaps, n)
    real = real_points(dist)
    fig, axes = plt.subplots(2, len(picked), figsize=(3.3 * len(picked), 6.9), squeeze=False,
                             layout="constrained")  # fmt: skip
    im = None
    for i, snap in enumerate(picked):
        letter = "abcdefgh"[i]
        im = draw_panel(axes[0, i], snap, real, objective, f"({letter}) step {snap.step}: D",
                        packing)  # fmt: skip
        axes[0, i].set_xlabel(metric_line(snap), fontsize=8)
        draw_optimum(axes[1, i], snap, real, dist, objective,
                     f"D* for the G of step {snap.step}")  # fmt: skip
    if im is not None:
        fig.colorbar(im, ax=axes[:, -1], shrink=0.6, label=d_axis(objective).label)
    return fig


def draw_curves(history: History, snaps, objective: str, dist) -> plt.Figure:
    """Losses and mean D per step; modes, high quality and reverse KL per snapshot."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), layout="constrained")
    draw_losses(axes[0, 0], history, objective)
    steps = history.steps
    ax = axes[0, 1]
    for name, label, color in (("d_real", "mean D(real)", REAL_COLOR),
                               ("d_fake", "mean D(G(z))", FAKE_COLOR)):  # fmt: skip
        ax.plot(steps, history.stats[name], color=color, lw=0.8, label=label)
    if get_objective(objective).family == "gan":
        ax.axhline(0.5, color="0.4", ls=":", lw=1, label="1/2")
        ax.set_ylim(0, 1)
    ax.set(xlabel="step", ylabel="D", title="discriminator outputs")
    ax.legend(fontsize=8)
    s = [x.step for x in snaps]
    K = dist.n_components
    ax = axes[1, 0]
    ax.plot(s, [x.metrics.get("modes", np.nan) for x in snaps], "o-", ms=3, color="C0")
    ax.axhline(K, color="0.4", ls=":", lw=1, label=f"all {K} modes")
    ax.set(xlabel="step", ylabel="modes captured", ylim=(0, K + 0.5), title="modes captured")
    ax2 = ax.twinx()
    ax2.plot(s, [100 * x.metrics.get("high_quality", np.nan) for x in snaps], "s-", ms=2.5,
             color="C1", label="high-quality samples (%)")  # fmt: skip
    ax2.axhline(100 * (1 - np.exp(-4.5)), color="C1", ls=":", lw=1)
    ax2.set(ylabel="high quality (%)", ylim=(0, 100))
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="lower right")
    ax = axes[1, 1]
    for key, label, color in (("reverse_kl", "reverse KL (high-quality samples)", "C2"),
                              ("reverse_kl_all", "reverse KL (every sample)", "C3")):  # fmt: skip
        vals = [x.metrics.get(key) for x in snaps]
        ax.plot(s, [np.nan if v is None else v for v in vals], "o-", ms=3, color=color, label=label)
    ax.axhline(np.log(K), color="0.4", ls=":", lw=1, label=f"one mode: ln {K}")
    ax.set(xlabel="step", ylabel="nats", title="reverse KL to uniform coverage", ylim=(0, None))
    ax.legend(fontsize=8)
    return fig


def save_animation(snaps, path, dist, objective, packing=1, fps: int = 4, dpi: int = 70):
    """A GIF of D with the points and arrows over training (fixed axes), written atomically."""
    frames = [s for s in snaps if s.has_pictures]
    real = real_points(dist)
    fig, ax = plt.subplots(figsize=(5.2, 5.2))

    def frame(i: int):
        ax.clear()
        draw_panel(ax, frames[i], real, objective, packing=packing)
        ax.set_xlabel(metric_line(frames[i]), fontsize=9)

    anim = FuncAnimation(fig, frame, frames=len(frames), interval=1000 / fps)
    io.save_animation(anim, path, fps, dpi)
    plt.close(fig)
    return Path(path)


def save_figures(snaps, history: History, out, objective: str, dist=None, packing: int = 1):
    """panel.png (the last step: D and D*), strip.png, curves.png and training.gif into ``out``."""
    out = Path(out)
    real = real_points(dist)
    fig = plt.figure(figsize=(10.5, 4.9), layout="constrained")
    draw_pair(fig, snaps[-1], real, dist, objective, packing)
    paths = [io.save_figure(fig, out / "panel.png")]
    plt.close(fig)
    for name, fig in (("strip.png", draw_strip(snaps, dist, objective, packing)),
                      ("curves.png", draw_curves(history, snaps, objective, dist))):  # fmt: skip
        paths.append(io.save_figure(fig, out / name))
        plt.close(fig)
    paths.append(save_animation(snaps, out / "training.gif", dist, objective, packing))
    return paths


__all__ = [
    "Snapshot2D",
    "take_snapshot",
    "thin_snapshots",
    "panel_data",
    "draw_panel",
    "draw_optimum",
    "draw_strip",
    "draw_curves",
    "save_animation",
    "save_figures",
]
