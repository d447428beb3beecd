"""Figures of an MNIST run: sample grids, loss and mean-D curves, digit histogram, GIF.

Plot data are plain arrays (samples (n, 784) in [0, 1], per-step statistics, digit counts); the
``draw_*`` functions take an ``ax`` and return it; the ``save_*`` functions write one file each
through ``toygan.io`` and close their figure. ``write_figures(run_dir, out_dir)`` makes the
committed ``mnist_*`` figures from a finished run directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import FuncAnimation

from toygan.io import load_npy, read_json, save_animation, save_figure
from toygan.plotting import smooth

FAKE_COLOR, REAL_COLOR, D_REAL_COLOR = "#2ca02c", "0.3", "#1f77b4"


def image_grid(samples: np.ndarray, ncol: int = 10, pad: int = 2) -> np.ndarray:
    """Tile samples (n, 784) in [0, 1] into one (H, W) image, ``ncol`` digits per row."""
    n = len(samples)
    nrow = -(-n // ncol)
    cell = 28 + pad
    out = np.ones((nrow * cell + pad, ncol * cell + pad), dtype=np.float32)
    for i, img in enumerate(np.asarray(samples, dtype=np.float32).reshape(n, 28, 28)):
        r, c = divmod(i, ncol)
        out[pad + r * cell : pad + r * cell + 28, pad + c * cell : pad + c * cell + 28] = img
    return out  # (H, W), 1 = white border


def draw_grid(ax, samples: np.ndarray, title: str = "", ncol: int = 10):
    """Samples (n, 784) in [0, 1] as a grid, white digits on black."""
    ax.imshow(image_grid(samples, ncol), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    return ax


def draw_losses(ax, steps: np.ndarray, d_loss: np.ndarray, g_loss: np.ndarray, per_epoch: int):
    """D and G losses per step (faint) and their moving averages, x in epochs."""
    x = np.asarray(steps) / per_epoch
    w = max(1, per_epoch // 5)
    for y, name, color in ((d_loss, "D loss", D_REAL_COLOR), (g_loss, "G loss", FAKE_COLOR)):
        ax.plot(x, y, color=color, alpha=0.2, lw=0.6)
        ax.plot(x, smooth(y, w), color=color, lw=1.5, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend(frameon=False)
    return ax


def draw_mean_d(
    ax,
    steps: np.ndarray,
    d_real: np.ndarray,
    d_fake: np.ndarray,
    per_epoch: int,
    legend: str | None = "lower left",
):
    """Mean D(real) and D(fake) per step on [0, 1], with the equilibrium D = 1/2; ``legend``:
    where the legend goes (None: no legend)."""
    x = np.asarray(steps) / per_epoch
    w = max(1, per_epoch // 5)
    ax.plot(x, smooth(d_real, w), color=D_REAL_COLOR, label="mean D(real)")
    ax.plot(x, smooth(d_fake, w), color=FAKE_COLOR, label="mean D(G(z))")
    ax.axhline(0.5, color="0.5", ls=":", lw=1, label="1/2")
    ax.set_ylim(0, 1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("D")
    if legend is not None:
        ax.legend(frameon=False, loc=legend, fontsize=8)
    return ax


def draw_digit_hist(ax, fake_counts: Sequence[float], real_counts: Sequence[float] | None = None):
    """Fraction of samples the classifier assigns to each digit; real held-out images beside."""
    digits = np.arange(10)
    fake = np.asarray(fake_counts, dtype=float)
    ax.bar(digits - 0.2, fake / fake.sum(), 0.4, color=FAKE_COLOR, label="generated")
    if real_counts is not None:
        real = np.asarray(real_counts, dtype=float)
        ax.bar(digits + 0.2, real / real.sum(), 0.4, color=REAL_COLOR, label="real (held out)")
    ax.axhline(0.1, color="0.5", ls=":", lw=1, label="uniform")
    ax.set_xticks(digits)
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("fraction")
    ax.legend(frameon=False)
    return ax


def _finish(fig, path: str | Path, title: str = "", fontsize: int = 10) -> Path:
    """Title (if any), tight layout, atomic save and close: the end of a multi-panel figure."""
    if title:
        fig.suptitle(title, fontsize=fontsize)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)


def save_grid(samples: np.ndarray, path: str | Path, title: str = "") -> Path:
    fig, ax = plt.subplots(figsize=(4, 4.2))
    draw_grid(ax, samples, title)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)


def save_curves(history: dict[str, np.ndarray], per_epoch: int, path: str | Path) -> Path:
    """``history``: 'step', 'd_loss', 'g_loss', 'd_real', 'd_fake' arrays (one row per step)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    s = history["step"]
    draw_losses(a, s, history["d_loss"], history["g_loss"], per_epoch)
    draw_mean_d(b, s, history["d_real"], history["d_fake"], per_epoch)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)


def save_strip(grids: np.ndarray, epochs: Sequence[int], path: str | Path, n: int = 6) -> Path:
    """Up to ``n`` evenly spaced epochs' grids side by side (first 36 digits each)."""
    idx = np.unique(np.linspace(0, len(grids) - 1, min(n, len(grids))).round().astype(int))
    fig, axes = plt.subplots(1, len(idx), figsize=(2.2 * len(idx), 2.5), squeeze=False)
    for ax, i in zip(axes[0], idx, strict=True):
        draw_grid(ax, grids[i][:36], f"epoch {epochs[i]}", ncol=6)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)


def save_gif(grids: np.ndarray, epochs: Sequence[int], path: str | Path, fps: int = 2) -> Path:
    """The fixed-noise grid at every epoch, as a GIF (matplotlib PillowWriter, no ffmpeg)."""
    fig, ax = plt.subplots(figsize=(4, 4.2))
    img = ax.imshow(image_grid(grids[0]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    title = ax.set_title("")

    def frame(i):
        img.set_data(image_grid(grids[i]))
        title.set_text(f"epoch {epochs[i]}")
        return img, title

    anim = FuncAnimation(fig, frame, frames=len(grids), blit=False)
    save_animation(anim, path, fps)
    plt.close(fig)
    return Path(path)


def write_figures(run_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """The committed figures of a run: ``mnist_samples.png`` (final grid), ``mnist_epochs.png``,
    ``mnist_curves.png``, ``mnist_training.gif`` and, if evaluated, ``mnist_digits.png``."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    grids = load_npy(run_dir / "grids.npy")  # (E + 1, n, 784)
    epochs = list(range(len(grids)))
    rows = np.genfromtxt(run_dir / "metrics.csv", delimiter=",", names=True)
    history = {k: rows[k] for k in rows.dtype.names}
    per_epoch = read_json(run_dir / "summary.json")["steps_per_epoch"]
    made = [
        save_grid(grids[-1], out_dir / "mnist_samples.png", f"epoch {epochs[-1]} (fixed z)"),
        save_strip(grids, epochs, out_dir / "mnist_epochs.png"),
        save_curves(history, per_epoch, out_dir / "mnist_curves.png"),
        save_gif(grids, epochs, out_dir / "mnist_training.gif"),
    ]
    ev = run_dir / "evaluation.json"
    if ev.exists():
        r = read_json(ev)
        e, n = r["digits"], r["counts"]
        fig, ax = plt.subplots(figsize=(5, 3))
        draw_digit_hist(ax, e["generated_counts"], e["real_counts"])
        ax.set_title(
            f"{n['generated']} samples (KL to uniform {e['kl_uniform']:.2f} nats) vs "
            f"{r['splits']['test']} ({n['test']})",
            fontsize=8,
        )
        fig.tight_layout()
        made.append(save_figure(fig, out_dir / "mnist_digits.png"))
        plt.close(fig)
    return made


def read_parzen_curves(folder: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{run label: (epochs, validation Parzen LL)} from the ``<label>.csv`` copies of runs'
    ``parzen.csv`` in ``folder`` (columns epoch, sigma, valid_ll, seconds)."""
    curves = {}
    for path in sorted(Path(folder).glob("*.csv")):
        rows = np.genfromtxt(path, delimiter=",", names=True, ndmin=1)
        curves[path.stem] = (rows["epoch"].astype(int), rows["valid_ll"].astype(float))
    return curves


def save_parzen_curves(
    curves: dict[str, tuple[np.ndarray, np.ndarray]],
    path: str | Path,
    paper: tuple[float, float] = (225.0, 2.0),
    goal: float = 221.0,
) -> Path:
    """Validation Parzen LL over epochs: the faithful runs (labels ``goodfellow2014_seed*``)
    left, the one-change ablations (``ablation_<change>_seed*``: preset
    ``goodfellow2014:<change>``) right, beside the
    paper's test number ± s.e. and the goal. Curves below -50 (runs that never learn) are
    clipped to the axis with their final value in the legend."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    faithful = {k: v for k, v in curves.items() if k.startswith("goodfellow2014_")}
    ablated = {k: v for k, v in curves.items() if k.startswith("ablation_")}
    lo = -50.0
    for ax, group, title in (
        (axes[0], faithful, "goodfellow2014, the released code (3 seeds)"),
        (axes[1], ablated, "one change from the released code each (seed 0)"),
    ):
        if ax is axes[1] and faithful:
            epochs, ll = next(iter(faithful.values()))
            ax.plot(epochs, ll, color="k", lw=2.2, label="released code, seed 0")
        for label, (epochs, ll) in group.items():
            name = label.removeprefix("ablation_").rsplit("_seed", 1)
            text = f"seed {name[1]}" if ax is axes[0] else name[0]
            style = {"lw": 1.4}
            if ll.max() < lo:  # drawn on the axis floor, grey and dotted
                text += f" (never learns: {ll[-1]:.0f}, at the floor)"
                style = {"lw": 2.5, "color": "0.45", "ls": ":"}
            ax.plot(epochs, np.maximum(ll, lo), label=text, **style)
        ax.axhspan(paper[0] - paper[1], paper[0] + paper[1], color="tab:purple", alpha=0.15)
        ax.axhline(
            paper[0], color="tab:purple", lw=1, label=f"paper, test: {paper[0]:g} ± {paper[1]:g}"
        )
        ax.axhline(goal, color="tab:purple", lw=1, ls="--", label=f"goal {goal:g}")
        ax.set(title=title, xlabel="epoch (50,000 images each)", ylim=(lo, paper[0] + 15))
        ax.legend(fontsize=8, loc="lower right")
    axes[0].set_ylabel("validation Parzen log-likelihood (nats)")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)


def save_pretrained_grid(name: str, path: str | Path, n: int = 100, seed: int = 0) -> Path:
    """A 10-column grid of ``n`` samples of ``toygan.pretrained(name)`` drawn with ``seed``,
    titled with the weights' epoch and validation Parzen."""
    from toygan.mnist.hub import pretrained  # the hub builds models; plots import it only here

    G = pretrained(name)
    meta = G.metadata
    title = f"toygan.pretrained({name!r}), epoch {meta.get('epoch', '?')}"
    return save_grid(G.generate(n, seed).numpy(), path, title)


def read_mean_d(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, mean D(real), mean D(fake)) per update from a CSV with columns step, d_real,
    d_fake (a copy of those columns of a run's metrics.csv, ``toygan.figures``)."""
    rows = np.genfromtxt(path, delimiter=",", names=True, ndmin=1)
    return rows["step"], rows["d_real"], rows["d_fake"]


def save_mean_d_panels(
    panels: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    path: str | Path,
    per_epoch: int,
    title: str = "",
) -> Path:
    """One ``draw_mean_d`` panel per run, side by side on a shared D axis: {panel title: (steps,
    mean D(real), mean D(fake))}."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.3 * len(panels), 3.4), sharey=True)
    for i, (ax, (label, curves)) in enumerate(
        zip(np.atleast_1d(axes), panels.items(), strict=True)
    ):  # curves: steps, mean D(real), mean D(fake); one legend, clear of the curves
        draw_mean_d(ax, *curves, per_epoch, legend="center right" if i == 0 else None)
        ax.set_title(label, fontsize=9)
    return _finish(fig, path, title, 10)


def read_info_curves(folder: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{run label: (steps, L_I)} from ``infogan_*.csv`` files in ``folder`` (columns step,
    l_info: copies of InfoGAN runs' metrics.csv, ``toygan.figures``)."""
    curves = {}
    for path in sorted(Path(folder).glob("infogan_*.csv")):
        rows = np.genfromtxt(path, delimiter=",", names=True, ndmin=1)
        curves[f"seed {path.stem.removeprefix('infogan_s')}"] = (rows["step"], rows["l_info"])
    return curves


def save_info_curves(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | Path, n_values: int = 10
) -> Path:
    """L_I = H(c_1) - CE over updates for each seed, smoothed, under its ceiling ln(n_values)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for label, (steps, values) in curves.items():
        ax.plot(steps, smooth(values, 25), lw=1.2, label=label)
    ceiling = float(np.log(n_values))
    ax.axhline(ceiling, color="0.3", ls="--", lw=1)
    label = f"H(c1) = ln {n_values} = {ceiling:.3f}"
    ax.annotate(label, (0.99, ceiling), xycoords=("axes fraction", "data"), ha="right",
                va="bottom", fontsize=9, color="0.3")  # fmt: skip
    ax.set(xlabel="generator updates", ylabel="L_I (nats)", ylim=(0, ceiling * 1.1))
    ax.set_title("InfoGAN: the mutual-information bound on c1 rises to its ceiling", fontsize=10)
    ax.legend(frameon=False, fontsize=8, loc="lower right", ncol=2)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)


def save_intrinsic_dropout(
    parzen_csv: str | Path,
    grids: dict[str, np.ndarray],
    path: str | Path,
    paper: tuple[float, float] = (132.0, 1.8),
    title: str = "",
) -> Path:
    """A G whose dropout is its noise, sampled both ways: validation Parzen over epochs with
    and without the dropout (a run's ``parzen.csv``: columns epoch, valid_ll,
    valid_ll_no_dropout) beside the paper's test number ± s.e., then one 10 x 10 grid per way
    (``grids``: title -> (100, 784) in [0, 1])."""
    rows = np.genfromtxt(parzen_csv, delimiter=",", names=True, ndmin=1)
    if "valid_ll_no_dropout" not in (rows.dtype.names or ()):
        raise ValueError(f"{parzen_csv} has no valid_ll_no_dropout column (not a dropout G's run)")
    fig = plt.figure(figsize=(4.6 + 3.6 * len(grids), 4.2))
    spec = fig.add_gridspec(1, 1 + len(grids), width_ratios=[1.35] + [1.0] * len(grids))
    ax = fig.add_subplot(spec[0])
    for key, label, color in (
        ("valid_ll", "dropout on when sampling (the 2014 code)", "tab:blue"),
        ("valid_ll_no_dropout", "dropout off (eval mode)", "tab:red"),
    ):
        ax.plot(rows["epoch"], rows[key], marker="o", ms=3, lw=1.4, color=color, label=label)
    ax.axhspan(paper[0] - paper[1], paper[0] + paper[1], color="tab:purple", alpha=0.2)
    ax.axhline(
        paper[0], color="tab:purple", lw=1, label=f"paper, test: {paper[0]:g} ± {paper[1]:g}"
    )
    ax.set(xlabel="epoch (50,000 images each)", ylabel="validation Parzen log-likelihood (nats)")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    for i, (name, grid) in enumerate(grids.items()):
        draw_grid(fig.add_subplot(spec[1 + i]), grid, name)
    return _finish(fig, path, title, 11)


def save_pretrained_dropout(
    name: str, parzen_csv: str | Path, path: str | Path, title: str = "", seed: int = 0
) -> Path:
    """``save_intrinsic_dropout`` for the shipped generator ``name`` (``toygan.pretrained``):
    its 10 x 10 grid (noise ``seed``) with and without the dropout it samples with."""
    from toygan.mnist.hub import pretrained  # the hub builds models; plots import it only here

    G, grids = pretrained(name), {}
    for on in (True, False):
        G.G.intrinsic_dropout = on
        grids[f"dropout {'on' if on else 'off'}: row r asks for digit r"] = G.grid(seed).numpy()
    return save_intrinsic_dropout(parzen_csv, grids, path, title=title)
