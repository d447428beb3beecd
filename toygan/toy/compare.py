"""Saturating vs non-saturating, measured: every objective trained on the same seeds, compared.

Goodfellow et al. 2014 (arXiv:1406.2661), section 3, propose maximising log D(G(z)) instead of
minimising log(1 - D(G(z))) because the latter saturates early in training. One run of each
proves nothing; this module trains ``--seeds`` members per objective as one vectorised ensemble
(``toygan.toy.ensemble``) and reports, per objective: the success rate (final W1 below a stated
threshold *and* every mode covered), the distribution of final W1, mode coverage, the share of
high-quality samples, the time to converge and E|D - 1/2| over training.

    python -m toygan.run --objective saturating nonsaturating --seeds 32 [--optimizer adam] \
        [--ray local]
    python -m toygan.run --objective saturating nonsaturating least_squares hinge \
        wasserstein_gp --seeds 32

Every objective trains under the comparison's settings (``COMPARE_DEFAULTS``), except that one
whose registry defaults differ from the GAN losses' (the Wasserstein critics: n_critic 5, their
own optimiser) keeps them for every setting not given on the command line
(``objective_config``); config.json, summary.json and the figure titles record each objective's.

writes config.json, summary.json, per_seed.csv, curves.csv and the figures into ``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from toygan import io, rundir, sweep
from toygan.cli import (
    OneLineParser,
    add_dataclass_arguments,
    add_force_argument,
    config_from_args,
    require,
    run_cli,
)
from toygan.objectives import GAN_DEFAULTS, OBJECTIVES, get_objective
from toygan.toy import plots_compare
from toygan.toy.ensemble import build_ensemble, member_d_deviation, member_logits, sample_members
from toygan.toy.experiment import TOY_CHOICES, ToyConfig, check_config
from toygan.toy.member_metrics import mode_stats_members, wasserstein1_members

# The comparison's documented defaults, where they differ from ToyConfig's (see README):
# SGD with momentum as in the paper (Adam rescales small gradients and hides saturation).
BOTH = ["saturating", "nonsaturating"]  # the two generator losses of the paper
COMPARE_DEFAULTS: dict[str, Any] = {
    "optimizer": "sgd",
    "lr": 1e-2,
    "steps": 2000,
    # pinned, so that the comparison does not drift with ToyConfig's defaults:
    "noise_dim": 1,
    "activation": "leaky_relu",
    "batch_size": 128,
    "lr_decay": "none",
}


@dataclass
class CompareOptions:
    """What to compare and how success is judged (training settings come from ToyConfig)."""

    objective: list[str] = field(default_factory=BOTH.copy)  # G losses to compare
    seeds: int = 32  # members per objective: seeds seed, seed + 1, ..., seed + seeds - 1
    w1_threshold: float = 0.4  # success: final W1 below this (mode gap / 10), all modes covered
    eval_every: int = 100  # steps between W1 / E|D - 1/2| evaluations of every member
    eval_samples: int = 2000  # G samples per member at each evaluation
    panel_steps: list[int] = field(default_factory=lambda: [0, 100, 500, 2000])  # panel columns
    out: str = "runs/compare"  # output directory
    progress: bool = True  # show progress bars
    gif: bool = True  # write the side-by-side animation compare.gif
    ray: str | None = None  # run the objectives as Ray tasks: local, or a cluster's HOST:PORT


OWN_SETTINGS = ("k_steps", "optimizer", "lr", "beta1", "beta2")  # per-objective training defaults


def objective_config(cfg: ToyConfig, objective: str, explicit=()) -> ToyConfig:
    """``cfg`` for ``objective``: the comparison's settings, except that an objective whose
    registry defaults differ from the GAN losses' (the Wasserstein critics: n_critic 5, their
    own optimiser) keeps them, for every setting not named in ``explicit`` (flags the user set)."""
    o = get_objective(objective)
    cfg = dataclasses.replace(cfg, objective=objective)
    if dict(o.defaults) != dict(GAN_DEFAULTS):
        own = {k: v for k, v in o.defaults.items() if k in OWN_SETTINGS and k not in explicit}
        cfg = dataclasses.replace(cfg, **own)
    return cfg.resolved()  # settings still unset (None): the objective's defaults


def settings_label(cfg: ToyConfig) -> str:
    """'sgd lr 0.01, k = 1' (Adam: with its betas)."""
    betas = f" ({cfg.beta1:g}, {cfg.beta2:g})" if cfg.optimizer == "adam" else ""
    return f"{cfg.optimizer}{betas} lr {cfg.lr:g}, k = {cfg.k_steps}"


def toy_arguments(parser: argparse.ArgumentParser, defaults: dict[str, Any]) -> None:
    """ToyConfig's flags (not --objective, --steps' own default) with ``defaults`` overridden."""
    over = {}
    known = {f.name for f in dataclasses.fields(ToyConfig)}
    for name, value in defaults.items():
        if name not in known:
            continue
        shown = " ".join(map(str, value)) if isinstance(value, list) else value
        over[name] = {"default": value, "help": f"{name.replace('_', ' ')} (default: {shown})"}
    add_dataclass_arguments(
        parser,
        ToyConfig,
        skip=("objective", "snapshot_every"),
        choices=TOY_CHOICES,
        overrides=over,
    )


def evaluate_members(trainer, mix, n: int) -> dict[str, np.ndarray]:
    """Every member's samples (n, S) and W1, modes covered, high quality, alive (each (S,)).

    All members at once on the device (``toygan.toy.member_metrics``); a quarantined or non-finite
    member gets W1 = inf and no mode covered.
    """
    x = sample_members(trainer, n)  # (n, S)
    alive = trainer.finite_members()  # (S,): quarantined members count as failed
    x = torch.where(alive, x, torch.nan)
    ms = mode_stats_members(x, mix)
    return {
        "samples": x.cpu().numpy(),
        "w1": wasserstein1_members(x, mix).cpu().numpy(),
        "modes_covered": ms["modes_covered"].cpu().numpy(),
        "high_quality": ms["high_quality"].cpu().numpy(),
        "alive": (alive & x.isfinite().all(0)).cpu().numpy(),
    }


def run_objective(
    cfg: ToyConfig, seeds: list[int], opts: CompareOptions, grid: torch.Tensor
) -> dict[str, Any]:
    """Train one ensemble (one member per seed) and record its evaluations.

    Returns ``curves`` (list of (step, seed, w1, d_dev, modes, hq) rows), ``final`` (per-seed
    dicts), ``panels`` {step: (samples (n, S), D(x) on ``grid`` (len(grid), S))} and ``seconds``
    (training and evaluations, not the final evaluation on ``cfg.n_samples`` samples).
    """
    mix = cfg.mixture()
    trainer = build_ensemble(cfg, seeds)
    every = min(opts.eval_every, cfg.steps)
    keep = set(opts.panel_steps) | {cfg.steps}
    objective = get_objective(cfg.objective)
    gan = objective.family == "gan"
    evals: list[tuple[int, dict[str, np.ndarray], np.ndarray]] = []
    panels = {}

    def evaluate(tr, step: int) -> None:
        e = evaluate_members(tr, mix, opts.eval_samples)
        dev = np.full(len(seeds), np.nan)  # E|D - 1/2|: D a probability (GAN losses) only
        if gan:
            dev = np.where(e["alive"], member_d_deviation(tr).cpu().numpy(), np.nan)  # (S,)
        evals.append((step, e, dev))
        if step in keep or step % every == 0:
            d = objective.d_statistic(member_logits(tr, grid))  # (G, S): D as reported
            panels[step] = (e["samples"][:1000], d.cpu().numpy())

    start = time.perf_counter()
    trainer.train_members(
        cfg.steps,
        snapshot_every=every,
        callbacks=[evaluate],
        progress=opts.progress,
        desc=cfg.objective,
    )
    seconds = time.perf_counter() - start
    rows = [
        (step, s, float(e["w1"][i]), float(dev[i]), int(e["modes_covered"][i]),
         float(e["high_quality"][i]))
        for step, e, dev in evals
        for i, s in enumerate(seeds)
    ]  # fmt: skip
    e = evaluate_members(trainer, mix, cfg.n_samples)
    final = [
        {
            "seed": s,
            "w1": float(e["w1"][i]),
            "modes_covered": int(e["modes_covered"][i]),
            "high_quality": float(e["high_quality"][i]),
        }
        for i, s in enumerate(seeds)
    ]
    diverged = [s for s, ok in zip(seeds, e["alive"].tolist(), strict=True) if not ok]
    return {
        "curves": rows,
        "final": final,
        "panels": panels,
        "seconds": seconds,
        "diverged": diverged,
    }


def summarise(result: dict[str, Any], n_modes: int, opts: CompareOptions) -> dict[str, Any]:
    """Success rate, W1 quantiles, coverage, quality and time to converge of one objective."""
    final = result["final"]
    w1 = np.array([f["w1"] for f in final])
    cov = np.array([f["modes_covered"] for f in final])
    ok = (w1 < opts.w1_threshold) & (cov == n_modes)
    curves = np.array(result["curves"], dtype=float).reshape(-1, 6)
    converge = []
    for f in final:  # first evaluation at which the member met the success criterion
        c = curves[curves[:, 1] == f["seed"]]
        hit = c[(c[:, 2] < opts.w1_threshold) & (c[:, 4] == n_modes), 0]
        converge.append(float(hit.min()) if len(hit) else None)
    done = [c for c in converge if c is not None]
    last = curves[curves[:, 0] == curves[:, 0].max()] if len(curves) else curves
    dev = last[np.isfinite(last[:, 3]), 3]  # E|D - 1/2| at the last evaluation (GAN losses)
    return {
        "seeds": len(final),
        "successes": int(ok.sum()),
        "success_rate": float(ok.mean()),
        "w1_median": float(np.median(w1)),
        "w1_quartiles": [float(q) for q in np.quantile(w1, [0.25, 0.75])],
        "all_modes_covered": int((cov == n_modes).sum()),
        "mean_modes_covered": float(cov.mean()),
        "high_quality_mean": float(np.mean([f["high_quality"] for f in final])),
        "steps_to_converge_median": float(np.median(done)) if done else None,
        "converged_at_some_evaluation": len(done),
        "final_d_deviation_median": float(np.median(dev)) if len(dev) else None,
        "train_seconds": result["seconds"],
        "diverged_seeds": result["diverged"],
    }


def compare(cfg: ToyConfig, opts: CompareOptions, out: Path, explicit=()) -> dict[str, Any]:
    """Train every objective of ``opts`` on the same seeds; write all outputs into ``out``.

    Each objective trains with ``objective_config(cfg, objective, explicit)``, here or as a Ray
    task (``opts.ray``, ``toygan.sweep``); config.json and summary.json record every objective's
    settings."""
    seeds = list(range(cfg.seed, cfg.seed + opts.seeds))
    mix = cfg.mixture()
    lo, hi = min(mix.means) - 4 * max(mix.stds) - 2, max(mix.means) + 4 * max(mix.stds) + 2
    grid = torch.linspace(lo, hi, 200)
    cfgs = {o: objective_config(cfg, o, explicit) for o in opts.objective}
    per_objective = {o: {k: getattr(c, k) for k in OWN_SETTINGS} for o, c in cfgs.items()}
    io.write_json(
        out / "config.json",
        {
            "toy": cfg.to_dict(),
            "compare": dataclasses.asdict(opts),
            "seeds": seeds,
            "per_objective": per_objective,  # where an objective's own defaults replace cfg's
        },
    )
    results, summary = {}, {}
    task_opts = dataclasses.replace(opts, progress=False) if opts.ray else opts  # no bars in tasks
    run = functools.partial(run_objective, seeds=seeds, opts=task_opts, grid=grid)
    for obj, result in zip(opts.objective, sweep.map_cells(run, cfgs.values(), opts.ray),
                           strict=True):  # fmt: skip
        results[obj] = result
        summary[obj] = summarise(results[obj], mix.n_components, opts)
        summary[obj]["settings"] = settings_label(cfgs[obj])
    summary["_criteria"] = {
        "success": f"final W1 < {opts.w1_threshold} on {cfg.n_samples} samples and every one of "
        f"{mix.n_components} modes covered (>= half its weight within 3 std)",
        "optimizer": cfg.optimizer,
        "lr": cfg.lr,
        "k_steps": cfg.k_steps,
        "steps": cfg.steps,
        "means": cfg.means,
        "stds": cfg.stds,
        "per_objective": per_objective,
    }
    io.write_json(out / "summary.json", summary)
    io.write_csv(
        out / "per_seed.csv", [{"objective": o, **f} for o in results for f in results[o]["final"]]
    )
    names = ("step", "seed", "w1", "d_deviation", "modes_covered", "high_quality")
    io.write_csv(
        out / "curves.csv",
        [
            {"objective": o, **dict(zip(names, r, strict=True))}
            for o in results
            for r in results[o]["curves"]
        ],
    )
    plots_compare.comparison_figures(results, summary, mix, grid.numpy(), opts, out)
    return summary


def multi_seed_configs(args: argparse.Namespace, options: type) -> tuple[ToyConfig, Any]:
    """The ToyConfig (checked) and the ``options`` dataclass (seeds >= 1) of a multi-seed CLI.

    The ToyConfig's own objective is a placeholder: multi-seed runs name theirs in ``options``.
    """
    cfg = dataclasses.replace(ToyConfig.from_dict(vars(args)), objective="nonsaturating")
    opts = config_from_args(options, args)
    check_config(cfg)
    require(opts.seeds >= 1, "seeds", f"must be >= 1, got {opts.seeds}")
    return cfg, opts


def explicit_settings(argv: list[str] | None) -> set[str]:
    """The per-objective settings (``OWN_SETTINGS``) given as flags in ``argv``."""
    argv = sys.argv[1:] if argv is None else argv
    flags = {"--" + k.replace("_", "-"): k for k in OWN_SETTINGS}
    return {flags[a.split("=")[0]] for a in argv if a.split("=")[0] in flags}


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="toygan compare", description=__doc__.splitlines()[0])
    toy_arguments(parser, COMPARE_DEFAULTS)
    add_dataclass_arguments(parser, CompareOptions, choices={"objective": sorted(OBJECTIVES)})
    add_force_argument(parser)
    args = parser.parse_args(argv)

    def body() -> int:
        cfg, opts = multi_seed_configs(args, CompareOptions)
        require(len(set(opts.objective)) == len(opts.objective), "objective", "repeated name")
        require(opts.w1_threshold > 0, "w1_threshold", f"must be > 0, got {opts.w1_threshold}")
        require(opts.eval_every >= 1, "eval_every", f"must be >= 1, got {opts.eval_every}")
        require(opts.eval_samples >= 10, "eval_samples", f"must be >= 10, got {opts.eval_samples}")
        sweep.prepare(opts.ray, cfg.device)
        with rundir.running(opts.out, "compare", force=args.force) as out:
            summary = compare(cfg, opts, out, explicit_settings(argv))
        for obj in opts.objective:
            s = summary[obj]
            print(
                f"{obj:>14}: {s['successes']}/{s['seeds']} seeds converge "
                f"(median W1 {s['w1_median']:.3f}) under {s['settings']}"
            )
        print(f"wrote {out}")
        return 0

    return run_cli("toygan compare", body)
