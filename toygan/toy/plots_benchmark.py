"""The 2D benchmark's figure and the papers' rows it is drawn against.

``PAPER`` holds the published numbers the benchmark reproduces, keyed by (dataset, preset) and
by the benchmark's config name (``toygan.toy.benchmark.Row.name``):

- PacGAN Table 1 (Lin et al. 2018; 10 trials, +- standard error), the ``lin2018`` protocol:
  GAN = ``nonsaturating``, PacGAN2-4 = ``nonsaturating-packing2`` .. ``4``.
- VEEGAN Table 1 (Srivastava et al. 2017; 5 runs, no error bars; modes and % high quality) for
  GAN and Unrolled GAN (5 steps), and GDPP (Elfeki et al. 2019) for WGAN-GP: the rows the
  ``metz2017`` protocol is compared with (GAN = ``saturating``, the notebook's loss without
  unrolling; Unrolled = ``saturating-unrolled5``).

``save_benchmark_figure`` draws modes, high quality and reverse KL over training, mean +- one
standard error over seeds per config, with the paper's value of each config dashed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from toygan import io

# (modes, s.e.), (high quality %, s.e.), (reverse KL, s.e.); None where the paper gives none
PACGAN_RING = {
    "nonsaturating": ((6.3, 0.5), (98.2, 0.2), (0.45, 0.09)),
    "nonsaturating-packing2": ((7.9, 0.1), (95.6, 2.0), (0.07, 0.03)),
    "nonsaturating-packing3": ((7.8, 0.1), (97.7, 0.3), (0.10, 0.02)),
    "nonsaturating-packing4": ((7.8, 0.1), (95.9, 1.4), (0.07, 0.02)),
}
PACGAN_GRID = {
    "nonsaturating": ((17.3, 0.8), (94.8, 0.7), (0.70, 0.07)),
    "nonsaturating-packing2": ((23.8, 0.7), (91.3, 0.8), (0.13, 0.04)),
    "nonsaturating-packing3": ((24.6, 0.4), (94.2, 0.4), (0.06, 0.02)),
    "nonsaturating-packing4": ((24.8, 0.2), (93.6, 0.6), (0.04, 0.01)),
}
VEEGAN_RING = {
    "saturating": ((1.0, None), (99.3, None), None),  # VEEGAN Table 1, GAN
    "saturating-unrolled5": ((7.6, None), (35.6, None), None),  # VEEGAN Table 1, Unrolled GAN
    "wasserstein_gp": ((6.8, None), (59.6, None), None),  # GDPP, WGAN-GP
}
VEEGAN_GRID = {
    "saturating": ((3.3, None), (0.5, None), None),
    "saturating-unrolled5": ((23.6, None), (16.0, None), None),
    "wasserstein_gp": ((24.2, None), (28.7, None), None),
}
PAPER = {
    ("ring", "lin2018"): ("PacGAN Table 1", PACGAN_RING),
    ("grid", "lin2018"): ("PacGAN Table 1", PACGAN_GRID),
    ("ring", "metz2017"): ("VEEGAN Table 1 (GAN, Unrolled GAN); GDPP (WGAN-GP)", VEEGAN_RING),
    ("grid", "metz2017"): ("VEEGAN Table 1 (GAN, Unrolled GAN); GDPP (WGAN-GP)", VEEGAN_GRID),
}
METRICS = (("modes", "modes captured"), ("high_quality", "high-quality samples (%)"),
           ("reverse_kl", "reverse KL (nats)"))  # fmt: skip


def paper_rows(dataset: str, preset: str | None) -> dict[str, Any] | None:
    """The paper's rows for this protocol as JSON-ready dicts (None if there are none)."""
    if (dataset, preset) not in PAPER:
        return None
    source, rows = PAPER[(dataset, preset)]
    out = {}
    for name, vals in rows.items():
        out[name] = {
            key: (None if v is None else [v[0] / (100 if key == "high_quality" else 1),
                                          None if v[1] is None else v[1] /
                                          (100 if key == "high_quality" else 1)])
            for (key, _), v in zip(METRICS, vals, strict=True)
        }  # fmt: skip
    return {"source": source, "rows": out}


def save_benchmark_figure(summary: dict[str, Any], curves: list[dict[str, Any]], path: Path):
    """Three panels over training steps; one colour per config, the paper's value dashed."""
    names = [c["name"] for c in summary["configs"]]
    paper = (summary.get("paper") or {}).get("rows", {})
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3), layout="constrained")
    for i, name in enumerate(names):
        color = f"C{i % 10}"
        rows = [r for r in curves if r["config"] == name]
        steps = sorted({r["step"] for r in rows})
        for ax, (key, label) in zip(axes, METRICS, strict=True):
            scale = 100 if key == "high_quality" else 1
            vals = [np.array([r[key] for r in rows if r["step"] == s], float) * scale
                    for s in steps]  # fmt: skip
            mean = np.array([np.nanmean(v) if np.isfinite(v).any() else np.nan for v in vals])
            n = np.array([max(np.isfinite(v).sum(), 1) for v in vals])
            se = np.array([np.nanstd(v, ddof=1) if np.isfinite(v).sum() > 1 else 0 for v in vals])
            se = se / np.sqrt(n)
            ax.plot(steps, mean, color=color, lw=1.5, label=name)
            ax.fill_between(steps, mean - se, mean + se, color=color, alpha=0.2, lw=0)
            ref = (paper.get(name) or {}).get(key)
            if ref is not None:
                ax.axhline(ref[0] * scale, color=color, ls="--", lw=1.2)
            ax.set(xlabel="generator steps", ylabel=label, title=label)
    src = (summary.get("paper") or {}).get("source")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", fontsize=8,
               ncols=min(len(names), 4), title=f"dashed: {src}" if src else None,
               title_fontsize=8)  # fmt: skip
    axes[1].set_ylim(0, 100)
    axes[2].set_ylim(bottom=0)
    preset = summary.get("preset") or "flags"
    fig.suptitle(f"{summary['dataset']}, {preset}: mean +- s.e. over seeds, "
                 f"{summary['configs'][0]['n_seeds']} seeds per config", fontsize=11)  # fmt: skip
    io.save_figure(fig, path)
    plt.close(fig)
    return path
