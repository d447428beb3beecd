"""The regime diagram of ``toygan.toy.regimes``: success rates as annotated heatmaps.

One row of heatmaps per objective and one for the difference (non-saturating minus saturating,
on a diverging colormap centred at 0); one column per offset of the data from G's start. Inside
a heatmap: rows k (D steps per G step), columns D's learning rate relative to G's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from toygan import io


def regime_matrix(
    summary: list[dict[str, Any]], objective: str, offset: float, ks: list, lrs: list
) -> np.ndarray:
    """Success rates of ``objective`` at ``offset``, shape (len(ks), len(lrs)) (NaN: no run)."""
    m = np.full((len(ks), len(lrs)), np.nan)
    for r in summary:
        if r["objective"] == objective and r["offset"] == offset:
            m[ks.index(r["k"]), lrs.index(r["d_lr_scale"])] = r["success_rate"]
    return m


def plot_heatmap(ax, m: np.ndarray, ks: list, lrs: list, cmap: str, vmin: float, signed=False):
    """An annotated heatmap of ``m`` (k rows, D lr columns); returns the image."""
    im = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=1.0, aspect="auto", origin="lower")
    for (i, j), v in np.ndenumerate(m):
        if np.isfinite(v):
            text = f"{v:+.2f}" if signed else f"{v:.2f}"
            dark = abs(v) > 0.6 if signed else v < 0.5  # viridis: dark below the middle
            ax.text(j, i, text, ha="center", va="center", fontsize=9,
                    color="white" if dark else "black")  # fmt: skip
    ax.set_xticks(range(len(lrs)), [f"x{g:g}" for g in lrs])
    ax.set_yticks(range(len(ks)), [str(k) for k in ks])
    ax.set(xlabel="D learning rate / G's", ylabel="k (D steps per G step)")
    return im


def save_regimes(summary: list[dict[str, Any]], cfg, opts, path: Path) -> Path:
    """regimes.png: success rate per objective and their difference, one column per offset."""
    ks, lrs, offsets = list(opts.k_grid), list(opts.d_lr_grid), list(opts.offset_grid)
    objs = list(opts.objective)
    pairs = [(objs[1], objs[0])] if len(objs) == 2 else []  # (minuend, subtrahend)
    rows = len(objs) + len(pairs)
    fig, axes = plt.subplots(
        rows,
        len(offsets),
        figsize=(3.4 * len(offsets) + 1.2, 2.9 * rows),
        squeeze=False,
        layout="constrained",
    )
    for c, off in enumerate(offsets):
        means = ", ".join(f"{m + off:g}" for m in cfg.means)
        mats = {o: regime_matrix(summary, o, off, ks, lrs) for o in objs}
        for r, o in enumerate(objs):
            rate_im = plot_heatmap(axes[r, c], mats[o], ks, lrs, "viridis", 0.0)
            axes[r, c].set_title(f"{o}\ndata modes at {means}", fontsize=10)
        for r, (a, b) in enumerate(pairs, start=len(objs)):
            diff_im = plot_heatmap(axes[r, c], mats[a] - mats[b], ks, lrs, "RdBu", -1.0, True)
            axes[r, c].set_title(f"{a} - {b}\ndata modes at {means}", fontsize=10)
    for ax in axes[:, 1:].flat:
        ax.set_ylabel("")
    for ax in axes[:-1].flat:
        ax.set_xlabel("")
    fig.colorbar(rate_im, ax=axes[: len(objs)].ravel().tolist(), label="success rate", shrink=0.8)
    if pairs:
        fig.colorbar(diff_im, ax=axes[len(objs) :].ravel().tolist(), label="difference")
    fig.suptitle(
        f"Success rate (W1 < {opts.w1_threshold}, every mode covered), {opts.seeds} seeds per "
        f"cell\n{cfg.optimizer} lr {cfg.lr} (G), {cfg.steps} steps, batch {cfg.batch_size}; "
        "G starts near 0",
        fontsize=10,
    )
    io.save_figure(fig, path)
    plt.close(fig)
    return path
