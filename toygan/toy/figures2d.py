"""The 2D world's committed results and figures (``figures/toy2d/``), from benchmark run dirs.

``export_benchmark(run_dir, prefix)`` turns a finished (or stopped) benchmark directory of
``toygan.toy.benchmark`` into the files the README cites: ``PREFIX.json`` (its summary.json:
every config's metrics as [mean, s.e.] at the length reached, the papers' rows and the command),
``PREFIX_curves.csv`` (every member's metrics at every evaluation), ``PREFIX_samples.npz`` (500
samples of every member's final G, from the checkpoints) and the two figures drawn from them:
``PREFIX.png`` (the metrics over training beside the papers') and ``PREFIX_samples.png``
(members' samples side by side: collapse and its cures). ``write_toy2d(out)`` (``python -m
toygan.figures --only toy2d``) redraws the figures from the committed files and the default 2D
run's strip.

    python -m toygan.toy.figures2d runs/bench-ring-lin2018 figures/toy2d/ring_benchmark
    python -m toygan.toy.figures2d --table figures/toy2d/ring_benchmark.json  # Markdown

``markdown_table(summary)`` is the table the docs print beside the papers' rows.
"""

from __future__ import annotations

import csv
import shutil
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from toygan import io
from toygan.toy import plots_benchmark
from toygan.toy.config import ToyConfig
from toygan.toy.mixture import DATASETS

N_PICTURE = 500  # samples per member kept for the pictures


def member_samples(run_dir: Path, summary: dict) -> dict[str, np.ndarray]:
    """Each config's final G samples (N_PICTURE, S, 2), float32, rebuilt from its checkpoint."""
    from toygan import rundir
    from toygan.toy.benchmark import Cell, Row
    from toygan.toy.ensemble import sample_members

    raw = io.read_json(run_dir / "config.json")
    base = ToyConfig.from_dict(raw["toy"])
    out = {}
    for c in summary["configs"]:
        row = Row(c["objective"], c["packing"], c["unrolled"])
        path = run_dir / row.name / "checkpoint.pt"
        state = io.load_checkpoint(path)
        seeds = list(range(base.seed, base.seed + c["n_seeds"]))
        cell = Cell(row, ToyConfig.from_dict(state["config"]), seeds, run_dir)
        rundir.restore(cell.trainer, state, path)
        x = sample_members(cell.trainer, base.n_samples)[:N_PICTURE]  # the metrics' fixed z
        out[row.name] = x.numpy().astype(np.float32)
    return out


def export_benchmark(run_dir: str | Path, prefix: str | Path) -> list[Path]:
    """Write PREFIX.json, PREFIX_curves.csv, PREFIX_samples.npz and the two figures."""
    run_dir, prefix = Path(run_dir), Path(prefix)
    io.ensure_writable_dir(prefix.parent)
    summary = io.read_json(run_dir / "summary.json")
    paths = [io.write_json(prefix.with_suffix(".json"), summary)]
    curves = prefix.with_name(prefix.name + "_curves.csv")
    shutil.copyfile(run_dir / "curves.csv", curves)
    paths.append(curves)
    samples = member_samples(run_dir, summary)
    npz = prefix.with_name(prefix.name + "_samples.npz")
    with io.atomic_path(npz) as tmp:
        np.savez_compressed(tmp, **samples)
    paths.append(npz)
    return paths + draw(prefix)


def read_curves(path: Path) -> list[dict]:
    with open(path) as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k in ("step", "seed"):
            r[k] = int(r[k])
        for k in ("modes", "high_quality", "reverse_kl", "reverse_kl_all"):
            r[k] = float(r[k]) if r[k] not in ("", "nan") else float("nan")
    return rows


def draw(prefix: Path, out: Path | None = None) -> list[Path]:
    """OUT.png and OUT_samples.png (OUT: ``prefix`` unless given) from the PREFIX files."""
    out = prefix if out is None else out
    summary = io.read_json(prefix.with_suffix(".json"))
    curves = read_curves(prefix.with_name(prefix.name + "_curves.csv"))
    paths = [plots_benchmark.save_benchmark_figure(summary, curves, out.with_suffix(".png"))]
    npz = prefix.with_name(prefix.name + "_samples.npz")
    if npz.exists():
        with np.load(npz) as f:
            samples = {k: f[k] for k in f.files}
        path = out.with_name(out.name + "_samples.png")
        paths.append(save_samples_figure(summary, samples, path))
    return paths


def save_samples_figure(summary: dict, samples: dict[str, np.ndarray], path: Path, cols: int = 5):
    """Rows: configs; columns: the first ``cols`` seeds; each G's samples (purple) over the
    data's modes (green), titled with that member's modes and high quality at the end."""
    from toygan.toy.metrics import mode_metrics
    from toygan.toy.plots2d import FAKE_COLOR, REAL_COLOR, plot_extent, real_points

    dist = DATASETS[summary["dataset"]]()
    real, extent = real_points(dist, 1500), plot_extent(dist, 0.2)
    names = [c["name"] for c in summary["configs"]]
    fig, axes = plt.subplots(len(names), cols, figsize=(2.1 * cols + 1.4, 2.15 * len(names)),
                             squeeze=False, layout="constrained")  # fmt: skip
    for r, name in enumerate(names):
        x = samples[name]  # (n, S, 2)
        steps = next(c["steps"] for c in summary["configs"] if c["name"] == name)
        for c in range(cols):
            ax = axes[r, c]
            if c < x.shape[1]:
                ax.scatter(real[:, 0], real[:, 1], s=2, c=REAL_COLOR, alpha=0.4, lw=0)
                pts = x[:, c].astype(np.float64)
                ax.scatter(pts[:, 0], pts[:, 1], s=2, c=FAKE_COLOR, alpha=0.45, lw=0)
                m = mode_metrics(pts[np.isfinite(pts).all(1)], dist) if np.isfinite(pts).any() \
                    else {"modes": 0, "high_quality": 0.0}  # fmt: skip
                word = "mode" if m["modes"] == 1 else "modes"
                ax.set_title(f"{m['modes']} {word}, {100 * m['high_quality']:.0f}% HQ", fontsize=8)
            else:
                ax.axis("off")
            ax.set_xlim(extent[0], extent[1])
            ax.set_ylim(extent[2], extent[3])
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(f"{name}\n({steps} steps)", fontsize=8)
    fig.suptitle(f"{summary['dataset']}, {summary.get('preset') or 'flags'}: G's samples "
                 f"(purple) of seeds 0-{cols - 1} over the data (green), {N_PICTURE} samples "
                 "of the metrics' fixed z", fontsize=10)  # fmt: skip
    io.save_figure(fig, path)
    plt.close(fig)
    return path


def write_toy2d(out: Path) -> list[Path]:
    """The default ring and grid runs' strips (``python -m toygan.run --dataset ring|grid``)
    and the benchmark figures redrawn from the committed ``figures/toy2d`` files."""
    from toygan.toy.experiment import run_experiment

    target = io.ensure_writable_dir(Path(out) / "toy2d")
    paths = []
    for name in ("ring", "grid"):
        with tempfile.TemporaryDirectory() as tmp:
            run_experiment(ToyConfig(dataset=name, seed=0, device="cpu"), tmp, progress=False)
            for f in ("strip.png", "panel.png"):
                paths.append(Path(shutil.copy(Path(tmp) / f, target / f"{name}_default_{f}")))
    committed = Path(__file__).parents[2] / "figures" / "toy2d"
    for j in sorted(committed.glob("*.json")):
        paths += draw(committed / j.stem, target / j.stem)
    return paths


def _cell(v, percent: bool = False) -> str:
    """[mean, s.e.] (s.e. None: the paper gives none) as text; '-' where undefined."""
    if v is None or v[0] is None:
        return "-"
    f = 100 if percent else 1
    digits = 1 if percent else 2
    text = f"{f * v[0]:.{digits}f}"
    if v[1] is not None:
        text += f" ± {f * v[1]:.{digits}f}"
    return text + ("%" if percent else "")


def markdown_table(summary: dict) -> str:
    """The benchmark's rows as a Markdown table, each paper row (where there is one) below
    toygan's: config, steps reached, seeds, modes, high quality, reverse KL (both variants)."""
    paper = (summary.get("paper") or {}).get("rows", {})
    source = (summary.get("paper") or {}).get("source", "")
    lines = ["| config | steps | seeds | modes | high quality | reverse KL | reverse KL (all) |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for c in summary["configs"]:
        kl = _cell(c["reverse_kl"])
        if c.get("reverse_kl_undefined"):
            kl += f" ({c['reverse_kl_undefined']} without a HQ sample)"
        lines.append(f"| `{c['name']}` | {c['steps']:,} | {c['n_seeds']} | {_cell(c['modes'])} | "
                     f"{_cell(c['high_quality'], True)} | {kl} | "
                     f"{_cell(c['reverse_kl_all'])} |")  # fmt: skip
        if c["name"] in paper:
            p = paper[c["name"]]
            lines.append(
                f"| *{source}* | | | *{_cell(p['modes'])}* | "
                f"*{_cell(p['high_quality'], True)}* | *{_cell(p['reverse_kl'])}* | |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == "--table":
        print(markdown_table(io.read_json(Path(argv[1]))), end="")
        return 0
    if len(argv) != 2:
        sys.stderr.write("usage: python -m toygan.toy.figures2d RUN_DIR PREFIX\n"
                         "       python -m toygan.toy.figures2d --table PREFIX.json\n")  # fmt: skip
        return 2
    for p in export_benchmark(*argv):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
