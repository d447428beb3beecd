"""Figures of the saturation diagnostic and of multi-seed comparisons (data computed elsewhere).

Plot functions take an ``ax`` and return it; ``save_*`` and ``comparison_figures`` draw complete
figures and close them. The runs they draw are ``toygan.toy.compare``'s and
``toygan.toy.saturation``'s, which import this module (never the other way round).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from toygan import io
from toygan.toy.optima import DAxis, d_axis, optimum_on_grid

PALETTE = {
    "saturating": "tab:red",
    "nonsaturating": "tab:blue",
    "least_squares": "tab:purple",
    "least_squares_chi2": "tab:pink",
    "hinge": "tab:orange",
    "wasserstein_gp": "tab:brown",
    "wasserstein_clip": "tab:gray",
}
DSTAR_COLOR = "#ff7f0e"  # the optimum, as in toygan.toy.plots


def plot_saturation(ax, rows: list[dict[str, Any]], stage: int):
    """Median ||grad_G|| (band: 10-90% of seeds) against D iterations, log-log, one stage."""
    df = pd.DataFrame([r for r in rows if r["stage"] == stage])
    df["D iterations (+1)"] = df["d_steps"] + 1
    sns.lineplot(
        data=df,
        x="D iterations (+1)",
        y="grad_norm",
        hue="objective",
        palette=PALETTE,
        estimator="median",
        errorbar=("pi", 80),
        ax=ax,
        marker="o",
        markersize=3,
    )
    ax.set(xscale="log", yscale="log", ylabel="||grad_G L_G||  (median, 10-90% band)")
    ax.set_title("G at initialisation" if stage == 0 else f"G after {stage} training steps")
    twin = ax.twinx()
    d = df[df["objective"] == df["objective"].iloc[0]].groupby("D iterations (+1)")["d_fake"]
    twin.plot(d.median().index, d.median().values, color="0.4", ls=":", label="median D(G(z))")
    twin.set(ylim=(0, 1), ylabel="D(G(z))  (dotted)")
    ax.legend(title=None, loc="lower left", fontsize=8)
    return ax


def save_saturation(rows: list[dict[str, Any]], path: Path) -> Path:
    stages = sorted({r["stage"] for r in rows})
    fig, axes = plt.subplots(1, len(stages), figsize=(5.5 * len(stages), 4), squeeze=False)
    for ax, stage in zip(axes[0], stages, strict=True):
        plot_saturation(ax, rows, stage)
    n = len({r["seed"] for r in rows})
    fig.suptitle(f"G frozen, fresh D trained: G's gradient under each loss ({n} seeds)")
    fig.tight_layout()
    io.save_figure(fig, path)
    plt.close(fig)
    return path


def plot_success(ax, summary: dict[str, Any]):
    """Success rate per objective, labelled x/S."""
    objs = [o for o in summary if not o.startswith("_")]
    rates = [summary[o]["success_rate"] for o in objs]
    ax.bar(objs, rates, color=[PALETTE.get(o, "0.5") for o in objs])
    for i, o in enumerate(objs):
        ax.text(i, rates[i] + 0.02, f"{summary[o]['successes']}/{summary[o]['seeds']}", ha="center")
    ax.set(ylim=(0, 1.1), ylabel="success rate")
    ax.set_title("converged (W1 < thr., all modes)")
    return ax


def plot_final_w1(ax, results: dict[str, Any], threshold: float):
    """Final W1 of every seed per objective (points, median bar), threshold dashed."""
    df = pd.DataFrame(
        [{"objective": o, "W1": min(f["w1"], 1e3)} for o in results for f in results[o]["final"]]
    )
    sns.stripplot(
        data=df, x="objective", y="W1", hue="objective", palette=PALETTE, ax=ax, size=4, jitter=0.2
    )
    for i, (_, w) in enumerate(df.groupby("objective", sort=False)["W1"]):
        ax.hlines(w.median(), i - 0.3, i + 0.3, color="k", lw=2)  # the median per objective
    ax.axhline(threshold, color="k", ls="--", lw=1, label=f"threshold {threshold}")
    ax.set(yscale="log", xlabel="", ylabel="final W1 (log)", title="final W1 per seed")
    ax.legend(fontsize=8)
    return ax


def plot_curve(ax, results: dict[str, Any], column: int, ylabel: str):
    """Median over seeds (band: interquartile) of a curves column against training steps."""
    df = pd.DataFrame(
        [
            {"objective": o, "step": r[0], "value": r[column]}
            for o in results
            for r in results[o]["curves"]
        ]
    )
    df = df[np.isfinite(df["value"])]
    sns.lineplot(
        data=df,
        x="step",
        y="value",
        hue="objective",
        palette=PALETTE,
        estimator="median",
        errorbar=("pi", 50),
        ax=ax,
    )
    ax.set(xlabel="training step", ylabel=ylabel)
    ax.legend(title=None, fontsize=8)
    return ax


@dataclass
class PanelArtists:
    """The artists of one comparison panel, kept so that animation frames only update data."""

    grid: np.ndarray  # (G,) x grid of D(x); histogram bins span it
    hist: Any  # StepPatch: G's samples as a density histogram
    d_line: Any  # Line2D: D(x) (or the critic) on the twin axis
    d_star: Any  # Line2D: the optimum for the current G, same axis
    off_axis: tuple[Any, Any]  # Text: share of G's samples left / right of the axis
    twin: Any  # the twin axis of D


def panel_artists(ax, mix, grid: np.ndarray, axis: DAxis | None = None, bins: int = 60):
    """Draw a comparison panel's fixed parts (p_data, D's equilibrium line) and empty artists
    for the rest; ``axis`` (default: a GAN's [0, 1] axis with the 1/2 line) says how D is drawn."""
    import torch

    axis = axis or DAxis("D(x)", (0.0, 1.0), 0.5)
    ax.plot(grid, mix.pdf(torch.from_numpy(grid)).numpy(), "k:", label="p_data")
    edges = np.linspace(grid[0], grid[-1], bins + 1)
    hist = ax.stairs(np.zeros(bins), edges, fill=True, color="tab:green", alpha=0.5, label="p_g")
    texts = tuple(
        ax.text(x, 0.9, "", transform=ax.transAxes, ha=ha, color="tab:green", fontsize=8,
                fontweight="bold")
        for x, ha in ((0.02, "left"), (0.98, "right"))
    )  # fmt: skip
    ax.set(xlim=(grid[0], grid[-1]), ylim=(0, 1.2), ylabel="")
    twin = ax.twinx()
    nan = np.full_like(grid, np.nan)
    (d_star,) = twin.plot(grid, nan, "-", color=DSTAR_COLOR, lw=1.3, label="optimum")
    (d_line,) = twin.plot(grid, nan, "--", color="tab:blue", label=axis.label)
    if axis.equilibrium is not None:
        twin.axhline(axis.equilibrium, color="0.6", lw=0.8)
    if axis.ylim is not None:
        lo, hi = axis.ylim
        ticks = [lo, axis.equilibrium, hi] if axis.equilibrium is not None else [lo, hi]
        twin.set(ylim=axis.ylim, yticks=[round(t, 2) for t in ticks])
    return PanelArtists(grid, hist, d_line, d_star, texts, twin)


def update_panel(art: PanelArtists, samples: np.ndarray, d_of_x: np.ndarray, d_star=None):
    """Show G's ``samples`` (n,), D on the grid (G,) and optionally the optimum (G,)."""
    lo, hi = art.grid[0], art.grid[-1]
    finite = samples[np.isfinite(samples)]
    shares = ((finite <= lo).mean(), (finite >= hi).mean()) if len(finite) else (0.0, 0.0)
    for text, share, arrow in zip(art.off_axis, shares, "<>", strict=True):
        # G's samples off the axis would otherwise be invisible
        text.set_text(f"{arrow} {share:.0%} of G" if share > 0.01 else "")
    inside = finite[(finite > lo) & (finite < hi)]
    edges = art.hist.get_data().edges
    values = np.histogram(inside, edges, density=True)[0] if len(inside) else 0 * edges[1:]
    art.hist.set_data(values)
    art.d_line.set_ydata(d_of_x)
    if d_star is not None:
        art.d_star.set_ydata(d_star)
    return art


def plot_panel(ax, samples, d_of_x, mix, grid: np.ndarray, axis=None, d_star=None):
    """Data density (black dotted), G's samples (green histogram), D(x) (blue dashed) and,
    if given, the optimum (orange) on D's axis (``axis``: a GAN's [0, 1] by default)."""
    art = update_panel(panel_artists(ax, mix, grid, axis), samples, d_of_x, d_star)
    if axis is not None and axis.ylim is None:  # a critic: its own scale, both curves in view
        both = np.concatenate([d_of_x, d_star if d_star is not None else d_of_x])
        lo, hi = np.nanmin(both), np.nanmax(both)
        pad = 0.1 * (hi - lo) + 1e-6
        art.twin.set_ylim(lo - pad, hi + pad)
    return ax


def save_panels(
    results, mix, grid, steps: list[int], path: Path, member: int = 0, summary=None
) -> Path:
    """A row per objective, a column per step: G, D (dashed) and D's optimum for the current G
    (orange, ``toygan.toy.optima``) on D's own axis; objectives with their own training settings
    (``summary[o]["settings"]`` differing from the first objective's) say so in the title."""
    objs = list(results)
    steps = [s for s in steps if all(s in results[o]["panels"] for o in objs)]
    fig, axes = plt.subplots(
        len(objs),
        len(steps),
        figsize=(3.2 * len(steps), 2.6 * len(objs)),
        squeeze=False,
        sharex=True,
    )
    settings = {o: (summary or {}).get(o, {}).get("settings") for o in objs}
    for r, o in enumerate(objs):
        axis = d_axis(o)
        for c, s in enumerate(steps):
            x, d = results[o]["panels"][s]
            star = optimum_on_grid(o, mix, x[:, member], grid, d[:, member])
            plot_panel(axes[r, c], x[:, member], d[:, member], mix, grid, axis, star)
            title = f"{o}, step {s}"
            if c == 0 and settings[o] and settings[o] != settings[objs[0]]:
                title += f"\n({settings[o]})"
            axes[r, c].set_title(title, fontsize=9, color=PALETTE.get(o, "k"))
    seed = results[objs[0]]["final"][member]["seed"]
    fig.suptitle(
        f"Same seed ({seed}), same steps: data (dotted), G (green), D(x) or critic (dashed), "
        "its optimum for the current G (orange)"
    )
    fig.tight_layout()
    io.save_figure(fig, path)
    plt.close(fig)
    return path


def save_animation(
    results, mix, grid, path: Path, member: int = 0, fps: int = 4, max_frames: int = 21, dpi=80
) -> Path:
    """GIF: every objective side by side for one seed, one frame per evaluation (at most
    ``max_frames``, evenly spaced, the last included). The figure is laid out once; frames only
    update the artists' data."""
    objs = list(results)
    steps = sorted(set.intersection(*(set(results[o]["panels"]) for o in objs)))
    if len(steps) > max_frames:
        steps = [steps[round(i)] for i in np.linspace(0, len(steps) - 1, max_frames)]
    fig, axes = plt.subplots(1, len(objs), figsize=(4.5 * len(objs), 3.2), squeeze=False)
    arts = [panel_artists(ax, mix, grid, d_axis(o)) for ax, o in zip(axes[0], objs, strict=True)]
    for art, o in zip(arts, objs, strict=True):
        if d_axis(o).ylim is None:  # a critic: one scale over all frames
            ds = np.stack([results[o]["panels"][s][1][:, member] for s in steps])
            lo, hi = np.nanmin(ds), np.nanmax(ds)
            art.twin.set_ylim(lo - 0.1 * (hi - lo) - 1e-6, hi + 0.1 * (hi - lo) + 1e-6)
    for ax, o in zip(axes[0], objs, strict=True):
        ax.set_title(f"{o}: step {steps[-1]}", color=PALETTE.get(o, "k"))
    fig.tight_layout()

    # One Agg canvas at the GIF's dpi; the static parts (axes, ticks, p_data, the 1/2 line) are
    # drawn once and restored for every frame, which redraws only the moving artists (blitting:
    # text layout of the tick labels was most of a full redraw's cost).
    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    moving = [a for art in arts for a in (art.hist, art.d_line, *art.off_axis)]
    moving += [ax.title for ax in axes[0]]
    for a in moving:
        a.set_animated(True)
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    frames = []
    for step in steps:
        canvas.restore_region(background)
        for ax, art, o in zip(axes[0], arts, objs, strict=True):
            x, d = results[o]["panels"][step]
            update_panel(art, x[:, member], d[:, member])
            ax.set_title(f"{o}: step {step}", color=PALETTE.get(o, "k"))
        for a in moving:
            fig.draw_artist(a)
        rgb = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3])
        frames.append(rgb.quantize(64, method=Image.Quantize.FASTOCTREE))  # palette: GIF
    plt.close(fig)
    with io.atomic_path(path) as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:],
                       duration=round(1000 / fps), loop=0)  # fmt: skip
    return path


def comparison_figures(results, summary, mix, grid, opts, out: Path, prefix: str = "compare"):
    """compare_summary.png (success, W1, E|D-1/2|), compare_panels.png and compare.gif."""
    wide = len(results) > 2
    fig, axes = plt.subplots(1, 4, figsize=(20 if wide else 18, 4.4 if wide else 3.8))
    plot_success(axes[0], summary)
    plot_final_w1(axes[1], results, opts.w1_threshold)
    plot_curve(axes[2], results, 2, "W1 (median, IQR band)").set_yscale("log")
    plot_curve(axes[3], results, 3, "E|D(x) - 1/2|  (median, IQR; GAN losses)")
    if wide:
        for ax in axes[:2]:
            ax.tick_params(axis="x", labelrotation=25)
    c, first = summary["_criteria"], summary[next(iter(results))]
    own = [f"{o}: {summary[o]['settings']}" for o in results
           if summary[o].get("settings", "") != first.get("settings", "")]  # fmt: skip
    fig.suptitle(
        f"{first['seeds']} seeds per objective, {first.get('settings', '')}, {c['steps']} steps"
        + (f"; own defaults: {'; '.join(own)}" if own else "")
    )
    fig.tight_layout()
    paths = [io.save_figure(fig, out / f"{prefix}_summary.png")]
    plt.close(fig)
    panels = out / f"{prefix}_panels.png"
    paths.append(save_panels(results, mix, grid, opts.panel_steps, panels, summary=summary))
    if opts.gif:
        paths.append(save_animation(results, mix, grid, out / f"{prefix}.gif"))
    return paths
