"""The saturation diagnostic of Arjovsky & Bottou 2017 (arXiv:1701.04862), Fig. 2, on 1D GANs.

Freeze G (at initialisation, and after some steps of ordinary training), train a discriminator
from scratch against it for more and more iterations, and measure the norm of G's gradient under
each generator objective, for several seeds at once (``toygan.toy.ensemble``). With the saturating
loss log(1 - D(G(z))) the gradient is sigmoid(l) * dl/dtheta and vanishes as D learns to reject
fakes (l -> -inf); with -log D(G(z)) it is sigmoid(-l) * dl/dtheta and does not.

    python -m toygan.run --diagnostic saturation [--seeds 8] [--d-steps 2000]

writes config.json, saturation.csv and saturation.png into ``--out``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from toygan import io, rundir
from toygan.cli import (
    OneLineParser,
    add_dataclass_arguments,
    add_force_argument,
    require,
    run_cli,
)
from toygan.engine import make_optimizer
from toygan.objectives import OBJECTIVES
from toygan.toy import plots_compare
from toygan.toy.compare import BOTH, COMPARE_DEFAULTS, multi_seed_configs, toy_arguments
from toygan.toy.ensemble import build_ensemble, member_g_grad_norms
from toygan.toy.experiment import ToyConfig


@dataclass
class SaturationOptions:
    """Settings of the diagnostic (G's pre-training uses the ToyConfig flags)."""

    diagnostic: str = "saturation"  # which diagnostic (this module: saturation)
    objective: list[str] = field(default_factory=BOTH.copy)  # G losses to measure
    seeds: int = 8  # seeds seed, ..., seed + seeds - 1 (one G and one fresh D each)
    stages: list[int] = field(default_factory=lambda: [0, 500])  # G frozen after these steps
    d_steps: int = 2000  # discriminator iterations against the frozen G
    d_optimizer: str = "adam"  # optimiser of the fresh D: adam | sgd
    d_lr: float = 1e-3  # learning rate of the fresh D
    n_noise: int = 4096  # noise samples per gradient measurement (fixed across D iterations)
    out: str = "runs/saturation"  # output directory
    progress: bool = True  # show progress bars


def checkpoints(d_steps: int) -> list[int]:
    """D iterations at which G's gradient is measured: 0, then 1, 2, 5, 10, 20, 50, ..."""
    pts = [0] + [m * 10**e for e in range(8) for m in (1, 2, 5)]
    return [p for p in pts if p < d_steps] + [d_steps]


def saturation_diagnostic(cfg: ToyConfig, opts: SaturationOptions) -> list[dict[str, Any]]:
    """Rows (stage, objective, d_steps, seed, grad_norm, d_fake) of the diagnostic.

    For each stage G is trained for ``stage`` steps with ``cfg`` (the non-saturating objective
    unless ``cfg.objective`` says otherwise), then frozen; a fresh D (initialised per seed) is
    trained with the D loss of Algorithm 1 on fresh minibatches, and at each checkpoint the
    per-seed ||grad_G L_G|| is measured for every objective on the same fixed noise batch.
    ``d_fake`` is the mean D(G(z)) there: how confidently D rejects the fakes.
    """
    seeds = list(range(cfg.seed, cfg.seed + opts.seeds))
    rows: list[dict[str, Any]] = []
    pts = set(checkpoints(opts.d_steps))
    for stage in opts.stages:
        trainer = build_ensemble(cfg, seeds)
        if stage > 0:
            trainer.train(stage, progress=opts.progress, desc=f"G for {stage} steps")
        frozen = trainer.G.state_dict()
        fresh = build_ensemble(cfg, seeds)  # fresh D (same per-seed init), own minibatch stream
        fresh.G.load_state_dict(frozen)
        fresh.d_opt = make_optimizer(fresh.D.parameters(), opts.d_optimizer, lr=opts.d_lr)
        rng = torch.Generator(fresh.device).manual_seed(10_000 + cfg.seed)
        z = fresh.prior.source.sample(opts.n_noise * len(seeds), rng)  # (n * S, noise_dim)
        z = z.view(opts.n_noise, len(seeds), -1)  # (n, S, noise_dim), fixed for every checkpoint
        for t in range(opts.d_steps + 1):
            if t in pts:
                with torch.no_grad():
                    d_fake = torch.sigmoid(fresh.D(fresh.G(z))).mean((0, 2))  # (S,)
                for obj in opts.objective:
                    norms = member_g_grad_norms(fresh.G, fresh.D, z, obj)  # (S,)
                    for s, g, d in zip(seeds, norms.tolist(), d_fake.tolist(), strict=True):
                        rows.append(
                            {
                                "stage": stage,
                                "objective": obj,
                                "d_steps": t,
                                "seed": s,
                                "grad_norm": g,
                                "d_fake": d,
                            }
                        )
            if t < opts.d_steps:
                fresh.d_step()  # D only: G's weights are never stepped here
    return rows


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Median ||grad_G|| per stage and objective at the first and last checkpoint, and ratio."""
    out: dict[str, Any] = {}
    for stage in sorted({r["stage"] for r in rows}):
        for obj in sorted({r["objective"] for r in rows}):
            sel = [r for r in rows if r["stage"] == stage and r["objective"] == obj]
            last = max(r["d_steps"] for r in sel)
            first = [r["grad_norm"] for r in sel if r["d_steps"] == 0]
            end = [r["grad_norm"] for r in sel if r["d_steps"] == last]
            d_fake = [r["d_fake"] for r in sel if r["d_steps"] == last]
            out[f"stage{stage}/{obj}"] = {
                "median_grad_norm_at_0": float(np.median(first)),
                f"median_grad_norm_at_{last}": float(np.median(end)),
                "median_drop_factor": float(np.median(np.array(first) / np.array(end))),
                "median_d_fake_at_end": float(np.median(d_fake)),
            }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="toygan saturation", description=__doc__.splitlines()[0])
    toy_arguments(parser, COMPARE_DEFAULTS)
    add_dataclass_arguments(
        parser,
        SaturationOptions,
        choices={
            "diagnostic": ["saturation"],
            "objective": sorted(OBJECTIVES),
            "d_optimizer": ["adam", "sgd"],
        },
    )
    add_force_argument(parser)
    args = parser.parse_args(argv)

    def body() -> int:
        cfg, opts = multi_seed_configs(args, SaturationOptions)
        require(min(opts.stages) >= 0, "stages", f"must be >= 0, got {opts.stages}")
        require(opts.d_steps >= 1, "d_steps", f"must be >= 1, got {opts.d_steps}")
        require(opts.d_lr > 0, "d_lr", f"must be > 0, got {opts.d_lr}")
        require(opts.n_noise >= 1, "n_noise", f"must be >= 1, got {opts.n_noise}")
        with rundir.running(opts.out, "saturation", force=args.force) as out:
            io.write_json(
                out / "config.json", {"toy": cfg.to_dict(), "saturation": dataclasses.asdict(opts)}
            )
            rows = saturation_diagnostic(cfg, opts)
            io.write_csv(out / "saturation.csv", rows)
            summary = summarise(rows)
            io.write_json(out / "saturation_summary.json", summary)
            plots_compare.save_saturation(rows, Path(out) / "saturation.png")
        for key, s in summary.items():
            print(
                f"{key:>26}: median ||grad_G|| x{1 / s['median_drop_factor']:.3g} over "
                f"{opts.d_steps} D steps (median D(G(z)) then {s['median_d_fake_at_end']:.3g})"
            )
        print(f"wrote {out}")
        return 0

    return run_cli("toygan saturation", body)
