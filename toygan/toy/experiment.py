"""The toy experiment: a GAN learning a 1D or 2D Gaussian mixture, configured by one dataclass.

``ToyConfig`` (``toygan.toy.config``) holds every setting of a run (it is what ``config.json``
stores); ``build_trainer`` turns it into a ``GANTrainer``, from the same pieces
(``build_networks``, ``build_data``) the ensemble (``toygan.toy.ensemble``) stacks per seed. The
CLI, the notebooks and the tests all build runs through these, so a notebook cell and a CLI call
with the same config train the same GAN. ``run_experiment`` trains one and writes its results:
in 1D the figures of ``toygan.toy.plots``, in 2D those of ``toygan.toy.plots2d`` and the mode
metrics of the benchmarks (``toygan.toy.metrics.mode_metrics``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch.optim.lr_scheduler import LinearLR

from toygan import io, rundir
from toygan.cli import FileError, UsageError
from toygan.engine import GANTrainer, TrainingDiverged, make_optimizer, resolve_device
from toygan.game import Game, PackedGame, PackedPrior, PackedSource, base_prior
from toygan.models import Discriminator, Generator, NoisePrior, initialise
from toygan.sources import EpochSource
from toygan.toy import metrics, plots, plots2d
from toygan.toy.config import (  # noqa: F401  (re-exported: the names users import from here)
    OBJECTIVE_SETTINGS,
    PARAM_SETTINGS,
    TOY_CHOICES,
    ToyConfig,
    check_config,
    check_memory,
)


def build_networks(
    cfg: ToyConfig, device: torch.device | str = "cpu"
) -> tuple[Generator, Discriminator]:
    """G and D of ``cfg`` (resolved), initialised from the global RNG as ``cfg.init`` says: G maps
    noise (n, noise_dim) to samples (n, d); D judges (n, d * packing)."""
    d = cfg.dim
    G = Generator(cfg.noise_dim, d, cfg.g_width, cfg.g_depth, cfg.activation,
                  batch_norm=cfg.g_batch_norm)  # fmt: skip
    D = Discriminator(d * cfg.packing, cfg.d_width, cfg.d_depth, cfg.activation,
                      pieces=cfg.d_maxout)  # fmt: skip
    return initialise(G, cfg.init).to(device), initialise(D, cfg.init).to(device)


TRAIN_SET_SEED = 3  # the fixed training set of seed s is drawn from torch.Generator(s + 3)


def training_points(cfg: ToyConfig, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """The fixed training set of ``cfg.train_points`` rows (N, d * packing), drawn once from its
    own generator (``seed + TRAIN_SET_SEED``, on the CPU: the same on every device): N points
    of the mixture, then, as PacGAN's ``GaussianPackingMixture``, each of the ``packing`` slots
    of a row a draw with replacement from them (a bootstrap resample, also for packing 1)."""
    rng = torch.Generator().manual_seed(seed + TRAIN_SET_SEED)
    n = cfg.train_points
    points = cfg.mixture().sample(n, rng)  # (N, d)
    idx = torch.randint(n, (cfg.packing, n), generator=rng)  # (m, N): slot j of row r
    return points[idx.T].reshape(n, -1).to(device)  # (N, m * d)


def build_data(cfg: ToyConfig, seed: int, device: torch.device | str = "cpu"):
    """(prior, data, game) of ``cfg``: the noise prior, the real-sample source (fresh draws of the
    mixture, or an ``EpochSource`` over the fixed set) and the game (packed when packing > 1)."""
    noise = NoisePrior(cfg.noise_dim, cfg.prior)
    if cfg.train_points:
        data = EpochSource(training_points(cfg, seed, device))
    elif cfg.packing > 1:
        data = PackedSource(cfg.mixture(), cfg.packing)
    else:
        data = cfg.mixture()
    if cfg.packing == 1:
        return noise, data, Game()
    return PackedPrior(noise, cfg.packing), data, PackedGame(cfg.packing)


PREFETCH_FLOATS = 1 << 19  # noise floats per member in one prefetched block (2 MiB)


def prefetch_steps(cfg: ToyConfig) -> int:
    """Iterations of minibatches the engine draws at once: 32, fewer for large noise (the
    metz2017 preset's z of 256 at batch 512: 2), so that the prefetched batches a checkpoint
    carries stay small. A function of ``cfg`` alone: a single run and an ensemble member draw
    the same stream."""
    cfg = cfg.resolved()
    per_step = cfg.batch_size * cfg.packing * cfg.noise_dim * (cfg.k_steps + 1)
    return max(1, min(32, PREFETCH_FLOATS // per_step))


def build_schedulers(cfg: ToyConfig, g_opt, d_opt) -> list:
    """Linear decay of both learning rates to 0 at ``cfg.steps`` (``lr_decay``), or none."""
    if cfg.lr_decay == "linear":
        return [LinearLR(o, 1.0, 0.0, total_iters=cfg.steps) for o in (g_opt, d_opt)]
    if cfg.lr_decay != "none":
        raise ValueError(f"unknown lr_decay {cfg.lr_decay!r}; choose from ['none', 'linear']")
    return []


def build_trainer(cfg: ToyConfig) -> GANTrainer:
    """G, D, prior, data, optimisers and RNG for ``cfg``, all seeded from ``cfg.seed``; settings
    left ``None`` take the objective's defaults (``ToyConfig.resolved``)."""
    objective = cfg.build_objective()  # fails early on an unknown name
    cfg = cfg.resolved()
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)  # parameter initialisation (nn.Linear draws from the global RNG)
    G, D = build_networks(cfg, device)
    opt = dict(lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), momentum=cfg.momentum)
    g_opt = make_optimizer(G.parameters(), cfg.optimizer, **opt)
    d_opt = make_optimizer(D.parameters(), cfg.optimizer, **{**opt, "lr": cfg.lr * cfg.d_lr_scale})
    prior, data, game = build_data(cfg, cfg.seed, device)
    return GANTrainer(
        G,
        D,
        prior,
        data,
        objective,
        g_opt,
        d_opt,
        rng=torch.Generator(device).manual_seed(cfg.seed),
        k_steps=cfg.k_steps,
        batch_size=cfg.batch_size,
        schedulers=build_schedulers(cfg, g_opt, d_opt),
        update=cfg.update,
        game=game,
        unrolled=cfg.unrolled,
        prefetch=prefetch_steps(cfg),
    )


@torch.no_grad()
def generate(trainer: GANTrainer, n: int, seed: int = 12345) -> torch.Tensor:
    """``n`` generator samples (n, data_dim) from a dedicated generator (training RNG untouched)."""
    rng = torch.Generator(trainer.device).manual_seed(seed)
    was_training = trainer.G.training
    trainer.G.eval()
    x = trainer.G(base_prior(trainer.prior).sample(n, rng))
    trainer.G.train(was_training)
    return x


def _summary(cfg: ToyConfig, snap_metrics: dict[str, Any], seconds: float) -> dict[str, Any]:
    return {
        "objective": cfg.objective,
        **({"dataset": cfg.dataset} if cfg.dim > 1 else {}),
        "steps": cfg.steps,
        "seed": cfg.seed,
        **snap_metrics,
        "seconds": round(seconds, 3),
        "steps_per_second": round(cfg.steps / seconds, 1) if seconds > 0 else None,
    }


def _snapshot_state(snap) -> dict[str, Any]:
    """A snapshot as tensors and plain values (checkpoint-safe: loads with weights_only=True)."""
    arrays = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in vars(snap).items()
              if isinstance(v, np.ndarray)}  # fmt: skip
    return {"step": snap.step, "metrics": dict(snap.metrics), **arrays}


def _snapshot_from_state(d: dict[str, Any], dim: int):
    arrays = {k: v.numpy() for k, v in d.items() if isinstance(v, torch.Tensor)}
    kind = plots.Snapshot if dim == 1 else plots2d.Snapshot2D
    return kind(step=int(d["step"]), metrics=dict(d["metrics"]), **arrays)


def _config_differs(cfg: ToyConfig, stored: dict[str, Any]) -> list[str]:
    """The settings (all but ``steps``) in which ``cfg`` differs from a stored config; a setting
    a checkpoint of an older toygan lacks must have its default value."""
    defaults = ToyConfig().to_dict()
    return sorted(
        k
        for k, v in cfg.to_dict().items()
        if k != "steps" and stored.get(k, defaults[k] if k not in stored else None) != v
    )


def load_run_state(out: str | Path, cfg: ToyConfig) -> dict[str, Any]:
    """The checkpoint of the toy run in ``out``, checked against ``cfg`` (all but ``steps``).

    Raises:
        FileError: naming checkpoint.pt if it is missing, unreadable, unsafe (anything but
            tensors and plain values) or from another run.
    """
    path = Path(out) / "checkpoint.pt"
    state = io.load_checkpoint(path)
    stored = state.get("config")
    if not isinstance(stored, dict) or not {"trainer", "snapshots"} <= set(state):
        raise FileError(path, "not a checkpoint of a toy toygan run")
    differ = _config_differs(cfg, stored)
    if differ:
        raise FileError(path, f"belongs to another run (its config differs in {differ})")
    try:
        state["snapshots"] = [_snapshot_from_state(d, cfg.dim) for d in state["snapshots"]]
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise FileError(path, f"holds malformed snapshots ({err.__class__.__name__})") from None
    return state


def run_experiment(
    cfg: ToyConfig,
    out: str | Path,
    progress: bool = True,
    figures: bool = True,
    *,
    resume: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """Train ``cfg`` and write its results into ``out``; returns the summary.

    The directory follows ``toygan.rundir``'s life cycle: a directory holding another run is
    refused unless ``force``; ``resume`` continues the run in ``out`` from its checkpoint to
    ``cfg.steps`` and ends bit-identical to an uninterrupted run.

    Files: ``status.json`` (running / finished / failed / diverged), ``config.json``,
    ``metrics.csv`` (one row per step, appended at every snapshot, so a killed run keeps its
    rows), ``snapshots.csv`` (1D: W1, KS, d_deviation; 2D: the mode metrics and d_deviation, at
    each snapshot), ``summary.json``, ``samples.npy`` ((n_samples, d) final generator samples),
    ``checkpoint.pt`` (model, optimisers, RNGs, statistics and snapshots, rewritten at each
    snapshot, so a diverging run keeps its last finite one) and, with ``figures``,
    ``panel.png``, ``strip.png``, ``curves.png`` and ``training.gif``. Every file is written
    atomically.

    Raises:
        TrainingDiverged: with the step and the checkpoint kept, if a loss became NaN/inf.
        UsageError: ``out`` holds another run (without ``force``/``resume``), or ``resume``
            with fewer steps than already trained, or a schedule that cannot be extended.
        FileError: the checkpoint to resume is unreadable, unsafe or from another run.
    """
    out = Path(out)
    state = load_run_state(out, cfg) if resume else None
    done = int(state["trainer"]["step"]) if state else 0
    if done > cfg.steps:
        raise UsageError("--steps", f"the run in {out} has already trained {done} steps")
    if (
        state
        and cfg.steps > done
        and cfg.lr_decay != "none"
        and cfg.steps != state["config"]["steps"]
    ):
        raise UsageError(
            "--steps", f"the run in {out} decays its learning rate to 0 over "
            f"{state['config']['steps']} steps (--lr-decay {cfg.lr_decay}); it cannot be extended"
        )  # fmt: skip
    if state and done == cfg.steps and (rundir.read_status(out) or {}).get("state") == "finished":
        return io.read_json(out / "summary.json") | {"note": "already finished: nothing trained"}
    trainer = build_trainer(cfg)
    if state is not None:
        rundir.restore(trainer, state, out / "checkpoint.pt")
    kind = "toy1d" if cfg.dim == 1 else "toy2d"
    with rundir.running(out, kind, resume=resume, force=force):
        return _train_and_write(cfg, out, trainer, state, progress, figures)


def snapshot_metrics(cfg: ToyConfig, trainer: GANTrainer, real, fake) -> dict[str, float]:
    """The metrics of one snapshot: 1D W1, KS and E|D - 1/2|; 2D the benchmark's mode metrics
    (modes, high_quality, reverse_kl, reverse_kl_all) and E|D - 1/2| (GAN losses)."""
    dist = cfg.mixture()
    if cfg.dim == 1:
        return {
            "w1": metrics.wasserstein1(fake.cpu(), dist),
            "ks": metrics.ks_distance(fake.cpu(), dist),
            "d_deviation": metrics.d_deviation(trainer.D, real, fake),
        }
    m = metrics.mode_metrics(fake.cpu(), dist)
    out = {k: m[k] for k in metrics.MODE_METRIC_KEYS}
    if trainer.objective.family == "gan":
        out["d_deviation"] = metrics.d_deviation(trainer.D, real, fake, packing=cfg.packing)
    return out


def _train_and_write(
    cfg: ToyConfig,
    out: Path,
    trainer: GANTrainer,
    state: dict[str, Any] | None,
    progress: bool,
    figures: bool,
) -> dict[str, Any]:
    io.write_json(out / "config.json", cfg.to_dict())
    dist = cfg.mixture()
    view = plots if cfg.dim == 1 else plots2d
    snaps: list = list(state["snapshots"]) if state else []
    seconds = float(state["train_seconds"]) if state else 0.0  # earlier sessions of the run
    log = io.CsvLog(out / "metrics.csv")
    log.reset(trainer.history.rows())
    logged = len(trainer.history)
    real = dist.sample(cfg.n_samples, torch.Generator().manual_seed(cfg.seed + 1)).to(
        trainer.device
    )  # (n, d): one fixed real sample for every snapshot
    callback_seconds = 0.0
    t0 = time.perf_counter()

    def snapshot(tr: GANTrainer, step: int) -> None:
        nonlocal callback_seconds, logged
        if snaps and snaps[-1].step == step:  # resumed from this step's checkpoint: done already
            return
        t1 = time.perf_counter()
        fake = generate(tr, cfg.n_samples, seed=cfg.seed + 2)  # (n, d), the same z every time
        if not bool(fake.isfinite().all()):  # finite weights, overflowing outputs
            raise TrainingDiverged(step, "a generator sample")
        m = snapshot_metrics(cfg, tr, real, fake)
        if cfg.dim == 1:
            snaps.append(plots.take_snapshot(step, tr.D, real, fake, dist, metrics=m))
        else:
            snaps.append(plots2d.take_snapshot(step, tr, fake, dist, metrics=m))
            plots2d.thin_snapshots(snaps)
        log.append(tr.history.rows(start=logged))
        logged = len(tr.history)
        spent = seconds + (t1 - t0) - callback_seconds  # training time up to this snapshot
        io.save_torch(
            out / "checkpoint.pt",
            {
                "trainer": tr.state_dict(),
                "config": cfg.to_dict(),
                "snapshots": [_snapshot_state(s) for s in snaps],
                "train_seconds": spent,
            },
        )
        callback_seconds += time.perf_counter() - t1

    try:
        if trainer.step < cfg.steps:
            trainer.train(
                cfg.steps - trainer.step,
                snapshot_every=cfg.snapshot_every,
                callbacks=[snapshot],
                progress=progress,
                desc=f"toygan {cfg.objective}",
            )
    except TrainingDiverged as err:
        log.append(trainer.history.rows(start=logged))
        kept = snaps[-1].step if snaps else 0
        raise TrainingDiverged(err.step, f"{err.name} (checkpoint of step {kept} kept)") from None
    seconds += time.perf_counter() - t0 - callback_seconds
    final = snaps[-1]
    if cfg.dim == 1:
        modes = metrics.mode_stats(final.fake, dist)
        final_metrics = {
            **{k: round(v, 6) for k, v in final.metrics.items()},
            "modes_covered": modes["modes_covered"],
            "n_modes": dist.n_components,
            "high_quality": round(modes["high_quality"], 6),
        }
    else:
        mm = metrics.mode_metrics(final.fake, dist)
        final_metrics = {**plots2d.round_metrics(final.metrics), "n_modes": mm["n_modes"],
                         "mode_counts": mm["mode_counts"]}  # fmt: skip
    summary = _summary(cfg, final_metrics, seconds)
    io.write_csv(out / "snapshots.csv", [{"step": s.step, **s.metrics} for s in snaps])
    io.save_npy(out / "samples.npy", final.fake.astype(np.float32).reshape(-1, cfg.dim))
    if figures:
        extra = {} if cfg.dim == 1 else {"dist": dist, "packing": cfg.packing}
        view.save_figures(snaps, trainer.history, out, cfg.objective, **extra)
        plt.close("all")
    io.write_json(out / "summary.json", summary)
    return summary
