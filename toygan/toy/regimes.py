"""Where the saturating loss fails, mapped: success rates over D's advantage and G's start.

Goodfellow et al. 2014 (arXiv:1406.2661, section 3): "Early in learning, when G is poor, D can
reject samples with high confidence ... log(1 - D(G(z))) saturates", so G should maximise
log D(G(z)) instead. The claim has two knobs: how strongly D wins (k D steps per G step, D's
learning rate relative to G's) and how poor G is at the start (how far the data lies from G's
initial samples near 0). This module sweeps both: for every cell (k, D's lr scale, offset of the
mixture) and objective it trains ``seeds`` GANs as one vectorised ensemble (``toygan.toy.ensemble``)
and records the success rate (final W1 < threshold and every mode covered, as in
``toygan.toy.compare``).

    python -m toygan.run --diagnostic regimes [--seeds 16] [--steps 1000] [--ray local]

writes config.json, regimes.csv (one row per cell, objective and seed), regimes_summary.csv (one
row per cell and objective) and regimes.png into ``--out``.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toygan import io, rundir, sweep
from toygan.cli import OneLineParser, add_dataclass_arguments, add_force_argument, require, run_cli
from toygan.objectives import OBJECTIVES
from toygan.toy.compare import (
    BOTH,
    COMPARE_DEFAULTS,
    evaluate_members,
    multi_seed_configs,
    toy_arguments,
)
from toygan.toy.ensemble import build_ensemble
from toygan.toy.experiment import ToyConfig

# The grid's training settings where they differ from the comparison's: short runs with small
# batches, so that 36 cells x 2 objectives x 16 seeds fit in ~10 minutes on 2 CPU cores.
REGIME_DEFAULTS: dict[str, Any] = {**COMPARE_DEFAULTS, "steps": 1000, "batch_size": 64}


@dataclass
class RegimeOptions:
    """The grid and how success is judged (training settings come from ToyConfig)."""

    diagnostic: str = "regimes"  # which diagnostic (this module: regimes)
    objective: list[str] = field(default_factory=BOTH.copy)  # G losses compared in every cell
    seeds: int = 16  # members per cell and objective: seed, ..., seed + seeds - 1
    k_grid: list[int] = field(default_factory=lambda: [1, 2, 5, 10])  # D steps per G step
    d_lr_grid: list[float] = field(default_factory=lambda: [1.0, 3.0, 10.0])  # D lr / G lr
    offset_grid: list[float] = field(default_factory=lambda: [0.0, 4.0, 8.0])  # data shift
    w1_threshold: float = 0.4  # success: final W1 below this and every mode covered
    eval_samples: int = 2000  # G samples per member for the final W1 and modes
    out: str = "runs/regimes"  # output directory
    progress: bool = False  # show a progress bar per ensemble
    ray: str | None = None  # run the cells as Ray tasks: local, or a cluster's HOST:PORT


def cell_config(cfg: ToyConfig, objective: str, k: int, d_lr: float, offset: float) -> ToyConfig:
    """``cfg`` with the cell's k, D learning-rate scale and mixture means shifted by ``offset``."""
    return dataclasses.replace(
        cfg,
        objective=objective,
        k_steps=k,
        d_lr_scale=d_lr,
        means=[m + offset for m in cfg.means],
    )


def run_cell(cfg: ToyConfig, seeds: list[int], opts: RegimeOptions) -> list[dict[str, Any]]:
    """Train one ensemble of ``cfg`` and return one row per seed (final W1, modes, success)."""
    trainer = build_ensemble(cfg, seeds)
    trainer.train_members(cfg.steps, progress=opts.progress, desc=cfg.objective)
    mix = cfg.mixture()
    e = evaluate_members(trainer, mix, opts.eval_samples)
    ok = (e["w1"] < opts.w1_threshold) & (e["modes_covered"] == mix.n_components)
    return [
        {
            "seed": s,
            "w1": float(e["w1"][i]),
            "modes_covered": int(e["modes_covered"][i]),
            "diverged": not bool(e["alive"][i]),
            "success": bool(ok[i]),
        }
        for i, s in enumerate(seeds)
    ]


def regime_grid(cfg: ToyConfig, opts: RegimeOptions) -> list[dict[str, Any]]:
    """Rows (objective, k, d_lr_scale, offset, seed, w1, modes_covered, diverged, success) of
    every cell of the grid; each cell and objective is one ensemble on the same seeds, trained
    here or as a Ray task (``opts.ray``, ``toygan.sweep``)."""
    seeds = list(range(cfg.seed, cfg.seed + opts.seeds))
    grid = itertools.product(opts.offset_grid, opts.k_grid, opts.d_lr_grid, opts.objective)
    cells = [{"objective": obj, "k": k, "d_lr_scale": d_lr, "offset": offset}
             for offset, k, d_lr, obj in grid]  # fmt: skip
    cfgs = [cell_config(cfg, c["objective"], c["k"], c["d_lr_scale"], c["offset"]) for c in cells]
    results = sweep.map_cells(functools.partial(run_cell, seeds=seeds, opts=opts), cfgs, opts.ray)
    return [{**c, **r} for c, rs in zip(cells, results, strict=True) for r in rs]


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (objective, k, d_lr_scale, offset): successes, seeds, success rate, median W1."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["objective"], r["k"], r["d_lr_scale"], r["offset"]), []).append(r)
    out = []
    for (obj, k, d_lr, offset), rs in groups.items():
        out.append(
            {
                "objective": obj,
                "k": k,
                "d_lr_scale": d_lr,
                "offset": offset,
                "seeds": len(rs),
                "successes": sum(r["success"] for r in rs),
                "success_rate": sum(r["success"] for r in rs) / len(rs),
                "w1_median": statistics.median(r["w1"] for r in rs),
                "diverged": sum(r["diverged"] for r in rs),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="toygan regimes", description=__doc__.splitlines()[0])
    toy_arguments(parser, REGIME_DEFAULTS)
    add_dataclass_arguments(
        parser,
        RegimeOptions,
        choices={"diagnostic": ["regimes"], "objective": sorted(OBJECTIVES)},
    )
    add_force_argument(parser)
    args = parser.parse_args(argv)

    def body() -> int:
        from toygan.toy import plots_regimes

        cfg, opts = multi_seed_configs(args, RegimeOptions)
        require(min(opts.k_grid) >= 1, "k_grid", f"must be >= 1, got {opts.k_grid}")
        require(min(opts.d_lr_grid) > 0, "d_lr_grid", f"must be > 0, got {opts.d_lr_grid}")
        require(opts.w1_threshold > 0, "w1_threshold", f"must be > 0, got {opts.w1_threshold}")
        require(opts.eval_samples >= 10, "eval_samples", f"must be >= 10, got {opts.eval_samples}")
        sweep.prepare(opts.ray, cfg.device)
        with rundir.running(opts.out, "regimes", force=args.force) as out:
            io.write_json(
                out / "config.json", {"toy": cfg.to_dict(), "regimes": dataclasses.asdict(opts)}
            )
            start = time.perf_counter()
            rows = regime_grid(cfg, opts)
            seconds = time.perf_counter() - start
            io.write_csv(out / "regimes.csv", rows)
            summary = summarise(rows)
            io.write_csv(out / "regimes_summary.csv", summary)
            plots_regimes.save_regimes(summary, cfg, opts, Path(out) / "regimes.png")
        print(f"{len(summary)} cells x objectives, {opts.seeds} seeds each, in {seconds:.0f} s")
        print(f"wrote {out}")
        return 0

    return run_cli("toygan regimes", body)
