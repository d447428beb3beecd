"""The 1D experiment: a GAN learning a Gaussian mixture, configured by one dataclass.

``ToyConfig`` holds every setting of a run (it is what ``config.json`` stores);
``build_trainer`` turns it into a ``GANTrainer``. The CLI, the notebooks and the tests all build
runs through these two, so a notebook cell and a CLI call with the same config train the same GAN.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch.optim.lr_scheduler import LinearLR

from toygan import io, rundir
from toygan.cli import DictConfig, FileError, UsageError, require, require_memory
from toygan.engine import OPTIMIZERS, GANTrainer, TrainingDiverged, make_optimizer, resolve_device
from toygan.models import ACTIVATIONS, PRIORS, Discriminator, Generator, NoisePrior
from toygan.objectives import OBJECTIVES, Objective, get_objective, resolve_settings
from toygan.toy import metrics, plots
from toygan.toy.mixture import GaussianMixture


@dataclass
class ToyConfig(DictConfig):
    """Settings of one 1D run. Defaults train the two-mode mixture below in well under a minute."""

    # G loss: saturating log(1-D(G(z))) | nonsaturating -log D(G(z)); or least_squares[_chi2],
    # hinge, wasserstein_gp, wasserstein_clip (toygan.objectives). Settings left None below
    # take the objective's defaults (Objective.defaults / .params; see ToyConfig.resolved)
    objective: str = "nonsaturating"
    means: list[float] = field(default_factory=lambda: [-2.0, 2.0])  # mixture component means
    stds: list[float] = field(default_factory=lambda: [0.5, 0.5])  # component stds (> 0)
    weights: list[float] = field(default_factory=lambda: [0.5, 0.5])  # mixing weights (sum 1)
    noise_dim: int = 4  # dimension of z (> 1 gives G a smooth density: no spikes where dG/dz = 0)
    prior: str = "gaussian"  # p_z: gaussian N(0, I) | uniform U(-1, 1)
    g_width: int = 64  # generator hidden units per layer
    g_depth: int = 2  # generator hidden layers
    d_width: int = 64  # discriminator hidden units per layer
    d_depth: int = 2  # discriminator hidden layers
    activation: str = "silu"  # hidden activation of both networks (smooth: no spiky p_g)
    steps: int = 6000  # generator updates (iterations of Algorithm 1)
    k_steps: int | None = None  # D updates per G update, k (n_critic); None: 1, wasserstein 5
    batch_size: int = 512  # minibatch size m, for real and for noise (large: mode balance)
    optimizer: str | None = None  # adam | sgd | rmsprop; None: adam, wasserstein_clip rmsprop
    lr: float | None = None  # learning rate of both networks; None: 1e-3 (wasserstein_clip 5e-5)
    d_lr_scale: float = 1.0  # D's learning rate = lr x d_lr_scale (D's advantage; 1: same as G)
    lr_decay: str = "linear"  # none | linear: both learning rates fall linearly to 0 at the end
    beta1: float | None = None  # Adam beta1; None: 0.5
    beta2: float | None = None  # Adam beta2; None: 0.999, wasserstein_gp 0.9
    momentum: float = 0.9  # SGD momentum
    gp_lambda: float | None = None  # wasserstein_gp penalty weight; None: 0.1 (paper: 10)
    clip: float | None = None  # wasserstein_clip weight bound c; None: 0.01
    seed: int = 0  # seeds every random draw of the run (one torch.Generator)
    device: str = "auto"  # auto | cpu | cuda
    snapshot_every: int = 400  # steps between snapshots (metrics, figures, checkpoint)
    n_samples: int = 10_000  # generator samples for metrics and samples.npy

    def mixture(self) -> GaussianMixture:
        return GaussianMixture(self.means, self.stds, self.weights)

    def resolved(self) -> ToyConfig:
        """A copy with every ``None`` setting replaced by the objective's default (unchanged for
        an unknown objective, which ``build_trainer`` rejects)."""
        if self.objective not in OBJECTIVES:
            return self
        unset = {k: getattr(self, k) for k in OBJECTIVE_SETTINGS}
        return replace(self, **resolve_settings(self.objective, unset))

    def build_objective(self) -> Objective:
        """The registry objective with this config's parameters (gp_lambda, clip) applied."""
        obj = get_objective(self.objective)
        cfg = self.resolved()
        return obj.with_params(**{k: getattr(cfg, k) for k in obj.params if k in PARAM_SETTINGS})

    def to_dict(self) -> dict[str, Any]:
        """The settings with the objective's defaults filled in: config.json records what ran."""
        return super(ToyConfig, self.resolved()).to_dict()


PARAM_SETTINGS = ("gp_lambda", "clip")  # ToyConfig fields that are Objective.params
# ToyConfig fields whose None means "the objective's default"
OBJECTIVE_SETTINGS = ("k_steps", "optimizer", "lr", "beta1", "beta2", *PARAM_SETTINGS)


TOY_CHOICES = {  # the values each choice flag accepts
    "objective": sorted(OBJECTIVES),
    "optimizer": list(OPTIMIZERS),
    "device": ["auto", "cpu", "cuda"],
    "prior": list(PRIORS),
    "activation": sorted(ACTIVATIONS),
    "lr_decay": ["none", "linear"],
}


def check_config(cfg: ToyConfig) -> None:
    """Raise ``UsageError`` naming the flag of the first invalid setting."""
    try:
        GaussianMixture(cfg.means, cfg.stds, cfg.weights)
    except ValueError as err:
        msg = str(err)
        name = next((n for n in ("means", "stds", "weights") if msg.startswith(n + " ")), None)
        raise UsageError("--" + (name or "means/--stds/--weights"), msg) from None
    require(cfg.objective in OBJECTIVES, "objective", f"unknown objective {cfg.objective!r}")
    obj = get_objective(cfg.objective)
    for name in PARAM_SETTINGS:  # a parameter the objective does not have is a mistake
        given = getattr(cfg, name) is not None
        require(not given or name in obj.params, name, f"not a parameter of {obj.name}")
    cfg = cfg.resolved()  # check the values that will run
    for name in ("steps", "k_steps", "batch_size", "snapshot_every", "noise_dim", "g_width",
                 "d_width"):  # fmt: skip
        require(getattr(cfg, name) >= 1, name, f"must be >= 1, got {getattr(cfg, name)}")
    for name in ("g_depth", "d_depth"):
        require(getattr(cfg, name) >= 0, name, f"must be >= 0, got {getattr(cfg, name)}")
    require(cfg.n_samples >= 10, "n_samples", f"must be >= 10, got {cfg.n_samples}")
    require(math.isfinite(cfg.lr) and cfg.lr > 0, "lr", f"must be a number > 0, got {cfg.lr}")
    ok = math.isfinite(cfg.d_lr_scale) and cfg.d_lr_scale > 0
    require(ok, "d_lr_scale", f"must be a number > 0, got {cfg.d_lr_scale}")
    for name in ("beta1", "beta2", "momentum"):
        v = getattr(cfg, name)
        require(0.0 <= v < 1.0, name, f"must be in [0, 1), got {v}")
    require(cfg.optimizer in OPTIMIZERS, "optimizer", f"must be one of {list(OPTIMIZERS)}")
    if cfg.gp_lambda is not None:
        v = cfg.gp_lambda
        require(math.isfinite(v) and v >= 0, "gp_lambda", f"must be a number >= 0, got {v}")
    if cfg.clip is not None:
        require(math.isfinite(cfg.clip) and cfg.clip > 0, "clip", f"must be > 0, got {cfg.clip}")
    if cfg.device == "cuda":
        require(torch.cuda.is_available(), "device", "cuda requested but CUDA is not available")
    require(0 <= cfg.seed < 2**63 - 2, "seed", f"must be in [0, 2^63 - 2), got {cfg.seed}")
    check_memory(cfg)


def check_memory(cfg: ToyConfig) -> None:
    """``UsageError`` naming the flag whose size cannot be allocated, before anything is.

    Rough upper bounds: each network's weights with gradients and Adam's two moments, the
    activations of a step (both networks, forward and backward, with the prefetched batches),
    and the snapshots' samples (float64, kept for the figures).
    """
    snaps = cfg.steps // cfg.snapshot_every + 2
    require_memory("n_samples", 8 * cfg.n_samples * (2 * snaps + 8), f"--n-samples {cfg.n_samples}")
    for net, width, depth in (("g", cfg.g_width, cfg.g_depth), ("d", cfg.d_width, cfg.d_depth)):
        weights = 4 * 4 * (width * width * max(depth - 1, 0) + width * (cfg.noise_dim + 2))
        require_memory(f"{net}_width", weights, f"--{net}-width {width}")
    k = cfg.k_steps or 1
    acts = 4 * 8 * cfg.batch_size * (cfg.g_width + cfg.d_width) * (cfg.g_depth + cfg.d_depth + 2)
    require_memory("batch_size", acts + 4 * 33 * k * cfg.batch_size * cfg.noise_dim,
                   f"--batch-size {cfg.batch_size}")  # fmt: skip


def build_trainer(cfg: ToyConfig) -> GANTrainer:
    """G, D, prior, data, optimisers and RNG for ``cfg``, all seeded from ``cfg.seed``; settings
    left ``None`` take the objective's defaults (``ToyConfig.resolved``)."""
    objective = cfg.build_objective()  # fails early on an unknown name
    cfg = cfg.resolved()
    data = cfg.mixture()
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)  # parameter initialisation (nn.Linear draws from the global RNG)
    G = Generator(cfg.noise_dim, 1, cfg.g_width, cfg.g_depth, cfg.activation).to(device)
    D = Discriminator(1, cfg.d_width, cfg.d_depth, cfg.activation).to(device)
    opt = dict(lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), momentum=cfg.momentum)
    g_opt = make_optimizer(G.parameters(), cfg.optimizer, **opt)
    d_opt = make_optimizer(D.parameters(), cfg.optimizer, **{**opt, "lr": cfg.lr * cfg.d_lr_scale})
    schedulers = []
    if cfg.lr_decay == "linear":
        schedulers = [LinearLR(o, 1.0, 0.0, total_iters=cfg.steps) for o in (g_opt, d_opt)]
    elif cfg.lr_decay != "none":
        raise ValueError(f"unknown lr_decay {cfg.lr_decay!r}; choose from ['none', 'linear']")
    return GANTrainer(
        G,
        D,
        NoisePrior(cfg.noise_dim, cfg.prior),
        data,
        objective,
        g_opt,
        d_opt,
        rng=torch.Generator(device).manual_seed(cfg.seed),
        k_steps=cfg.k_steps,
        batch_size=cfg.batch_size,
        schedulers=schedulers,
    )


@torch.no_grad()
def generate(trainer: GANTrainer, n: int, seed: int = 12345) -> torch.Tensor:
    """``n`` generator samples (n, data_dim) from a dedicated generator (training RNG untouched)."""
    rng = torch.Generator(trainer.device).manual_seed(seed)
    was_training = trainer.G.training
    trainer.G.eval()
    x = trainer.G(trainer.prior.sample(n, rng))
    trainer.G.train(was_training)
    return x


def _summary(cfg: ToyConfig, snap_metrics: dict[str, Any], seconds: float) -> dict[str, Any]:
    return {
        "objective": cfg.objective,
        "steps": cfg.steps,
        "seed": cfg.seed,
        **snap_metrics,
        "seconds": round(seconds, 3),
        "steps_per_second": round(cfg.steps / seconds, 1) if seconds > 0 else None,
    }


def _snapshot_state(snap: plots.Snapshot) -> dict[str, Any]:
    """A snapshot as tensors and plain values (checkpoint-safe: loads with weights_only=True)."""
    arrays = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in vars(snap).items()
              if isinstance(v, np.ndarray)}  # fmt: skip
    return {"step": snap.step, "metrics": dict(snap.metrics), **arrays}


def _snapshot_from_state(d: dict[str, Any]) -> plots.Snapshot:
    arrays = {k: v.numpy() for k, v in d.items() if isinstance(v, torch.Tensor)}
    return plots.Snapshot(step=int(d["step"]), metrics=dict(d["metrics"]), **arrays)


def load_run_state(out: str | Path, cfg: ToyConfig) -> dict[str, Any]:
    """The checkpoint of the 1D run in ``out``, checked against ``cfg`` (all but ``steps``).

    Raises:
        FileError: naming checkpoint.pt if it is missing, unreadable, unsafe (anything but
            tensors and plain values) or from another run.
    """
    path = Path(out) / "checkpoint.pt"
    state = io.load_checkpoint(path)
    stored = state.get("config")
    if not isinstance(stored, dict) or not {"trainer", "snapshots"} <= set(state):
        raise FileError(path, "not a checkpoint of a 1D toygan run")
    differ = sorted(k for k, v in cfg.to_dict().items() if k != "steps" and stored.get(k) != v)
    if differ:
        raise FileError(path, f"belongs to another run (its config differs in {differ})")
    try:
        state["snapshots"] = [_snapshot_from_state(d) for d in state["snapshots"]]
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
    rows), ``snapshots.csv`` (W1, KS, d_deviation at each snapshot), ``summary.json``,
    ``samples.npy`` ((n_samples, 1) final generator samples), ``checkpoint.pt`` (model,
    optimisers, RNGs, statistics and snapshots, rewritten at each snapshot, so a diverging run
    keeps its last finite one) and, with ``figures``, ``panel.png``, ``strip.png``,
    ``curves.png`` and ``training.gif``. Every file is written atomically.

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
    with rundir.running(out, "toy1d", resume=resume, force=force):
        return _train_and_write(cfg, out, trainer, state, progress, figures)


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
    snaps: list[plots.Snapshot] = list(state["snapshots"]) if state else []
    seconds = float(state["train_seconds"]) if state else 0.0  # earlier sessions of the run
    log = io.CsvLog(out / "metrics.csv")
    log.reset(trainer.history.rows())
    logged = len(trainer.history)
    real = dist.sample(cfg.n_samples, torch.Generator().manual_seed(cfg.seed + 1)).to(
        trainer.device
    )  # (n, 1): one fixed real sample for every snapshot
    callback_seconds = 0.0
    t0 = time.perf_counter()

    def snapshot(tr: GANTrainer, step: int) -> None:
        nonlocal callback_seconds, logged
        if snaps and snaps[-1].step == step:  # resumed from this step's checkpoint: done already
            return
        t1 = time.perf_counter()
        fake = generate(tr, cfg.n_samples, seed=cfg.seed + 2)  # (n, 1), the same z every time
        if not bool(fake.isfinite().all()):  # finite weights, overflowing outputs
            raise TrainingDiverged(step, "a generator sample")
        m = {
            "w1": metrics.wasserstein1(fake.cpu(), dist),
            "ks": metrics.ks_distance(fake.cpu(), dist),
            "d_deviation": metrics.d_deviation(tr.D, real, fake),
        }
        snaps.append(plots.take_snapshot(step, tr.D, real, fake, dist, metrics=m))
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
    modes = metrics.mode_stats(final.fake, dist)
    summary = _summary(
        cfg,
        {
            **{k: round(v, 6) for k, v in final.metrics.items()},
            "modes_covered": modes["modes_covered"],
            "n_modes": dist.n_components,
            "high_quality": round(modes["high_quality"], 6),
        },
        seconds,
    )
    io.write_csv(out / "snapshots.csv", [{"step": s.step, **s.metrics} for s in snaps])
    io.save_npy(out / "samples.npy", final.fake.astype(np.float32).reshape(-1, 1))
    if figures:
        plots.save_figures(snaps, trainer.history, out, cfg.objective)
        plt.close("all")
    io.write_json(out / "summary.json", summary)
    return summary
