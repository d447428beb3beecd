"""The toy world's settings: one dataclass for a run on a 1D or 2D Gaussian mixture, and its checks.

``ToyConfig`` holds every setting of a run (it is what ``config.json`` stores). The data is
``--dataset``: ``mixture`` (1D, from ``--means/--stds/--weights``), ``mixture2d`` (any 2D
mixture from the same flags, two numbers per mean) or a named 2D benchmark (``ring``, ``grid``
and their variants, ``toygan.toy.mixture.DATASETS``). The networks are toygan's MLPs with the
options the 2D benchmarks' released code needs (batch norm in G, maxout in D, its
initialisation); ``update``, ``packing`` (PacGAN), ``unrolled`` (Unrolled GAN) and
``train_points`` (a fixed training set) are configurations of the one engine. A ``preset``
(``toygan.toy.presets``) is a named set of these values, a paper's released code.

``check_config`` raises ``UsageError`` naming the flag of the first invalid setting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import torch

from toygan.cli import DictConfig, UsageError, require, require_memory
from toygan.engine import OPTIMIZERS, UPDATES
from toygan.models import ACTIVATIONS, INITS, PRIORS
from toygan.objectives import OBJECTIVES, Objective, get_objective, resolve_settings
from toygan.toy.mixture import DATASETS, GaussianMixture

ONE_D = ("mixture",)  # datasets of points in R
FROM_FLAGS = ("mixture", "mixture2d")  # datasets defined by --means/--stds/--weights
DATASET_CHOICES = ("mixture", "mixture2d", *DATASETS)
MIXTURE_DEFAULTS = {"means": [-2.0, 2.0], "stds": [0.5, 0.5], "weights": [0.5, 0.5]}
N_SAMPLES = {1: 10_000, 2: 2_500}  # samples.npy and the final metrics (2D: PacGAN's 2,500)


@dataclass
class ToyConfig(DictConfig):
    """Settings of one toy run. Defaults train the 1D two-mode mixture below in well under a
    minute; ``--dataset ring`` etc. switch to 2D (``ToyConfig.from_preset`` for a paper's)."""

    # G loss: saturating log(1-D(G(z))) | nonsaturating -log D(G(z)); or least_squares[_chi2],
    # hinge, wasserstein_gp, wasserstein_clip, r1 (toygan.objectives). Settings left None below
    # take the objective's defaults (Objective.defaults / .params; see ToyConfig.resolved)
    objective: str = "nonsaturating"
    dataset: str = "mixture"  # mixture (1D) | mixture2d | ring | grid | ... (toy.mixture.DATASETS)
    means: list[float] | None = None  # mixture means (mixture2d: x1 y1 x2 y2 ...); None: -2 2
    stds: list[float] | None = None  # component stds > 0 (mixture2d: K isotropic or 2K per axis)
    weights: list[float] | None = None  # mixing weights (sum 1); None: equal
    noise_dim: int = 4  # dimension of z (> 1 gives G a smooth density: no spikes where dG/dz = 0)
    prior: str = "gaussian"  # p_z: gaussian N(0, I) | uniform U(-1, 1)
    g_width: int = 64  # generator hidden units per layer
    g_depth: int = 2  # generator hidden layers
    d_width: int = 64  # discriminator hidden units per layer
    d_depth: int = 2  # discriminator hidden layers
    activation: str = "silu"  # hidden activation of both networks (smooth: no spiky p_g)
    g_batch_norm: bool = False  # G's hidden layers: Linear without bias -> batch norm -> act
    d_maxout: int = 1  # > 1: D's hidden units are maxout units of this many pieces (PacGAN 5)
    init: str = "torch"  # weights: torch (default) | normal N(0, 0.02^2) | orthogonal gain 1.4
    steps: int = 6000  # generator updates (iterations of Algorithm 1)
    k_steps: int | None = None  # D updates per G update, k (n_critic); None: 1, wasserstein 5
    batch_size: int = 512  # minibatch size m, for real and for noise (packing: m packs)
    optimizer: str | None = None  # adam | sgd | rmsprop; None: adam, wasserstein_clip rmsprop
    lr: float | None = None  # learning rate of both networks; None: 1e-3 (wasserstein_clip 5e-5)
    d_lr_scale: float = 1.0  # D's learning rate = lr x d_lr_scale (D's advantage; 1: same as G)
    lr_decay: str = "linear"  # none | linear: both learning rates fall linearly to 0 at the end
    beta1: float | None = None  # Adam beta1; None: 0.5
    beta2: float | None = None  # Adam beta2; None: 0.999, wasserstein_gp 0.9
    momentum: float = 0.9  # SGD momentum
    gp_lambda: float | None = None  # wasserstein_gp penalty weight; None: 0.1 (paper: 10)
    clip: float | None = None  # wasserstein_clip weight bound c; None: 0.01
    r1_gamma: float | None = None  # r1 penalty weight gamma; None: 10
    update: str = "alternating"  # alternating: Algorithm 1 | simultaneous: one pass, both steps
    packing: int = 1  # PacGAN: D judges this many samples at once (1: the plain GAN)
    unrolled: int = 0  # Unrolled GAN: G differentiates through this many D steps (0: none)
    train_points: int = 0  # 0: fresh data every minibatch; N: a fixed set of N points, epochs
    seed: int = 0  # seeds every random draw of the run (one torch.Generator)
    device: str = "auto"  # auto | cpu | cuda
    snapshot_every: int = 400  # steps between snapshots (metrics, figures, checkpoint)
    n_samples: int | None = None  # G samples for metrics and samples.npy; None: 1D 10000, 2D 2500
    preset: str | None = None  # the preset these settings came from (toygan.toy.presets), if any

    def __post_init__(self) -> None:
        if self.dataset == "mixture":  # the 1D default mixture, unless given
            means_given = self.means is not None  # then weights left None are equal weights
            for k, v in MIXTURE_DEFAULTS.items():
                if getattr(self, k) is None and not (k == "weights" and means_given):
                    setattr(self, k, list(v))
        if self.n_samples is None:
            self.n_samples = N_SAMPLES[1 if self.dataset in ONE_D else 2]

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> ToyConfig:
        """The settings of preset ``name`` (``toygan.toy.presets.PRESETS``), then ``overrides``."""
        from toygan.toy.presets import preset_values

        return cls(**{**preset_values(name), **overrides})

    @property
    def dim(self) -> int:
        """d: the data's dimension (1 for ``mixture``, 2 for the others)."""
        return 1 if self.dataset in ONE_D else 2

    def mixture(self) -> GaussianMixture:
        """The data distribution (ValueError naming the problem if the flags do not make one)."""
        if self.dataset == "mixture":
            return GaussianMixture(self.means, self.stds, self.weights)
        if self.dataset == "mixture2d":
            if not self.means or len(self.means) % 2:
                raise ValueError("means must be 2K numbers x1 y1 x2 y2 ... for --dataset mixture2d")
            k = len(self.means) // 2
            stds = self.stds or []
            if len(stds) not in (k, 2 * k):
                raise ValueError(f"stds must be {k} (isotropic) or {2 * k} (per axis) numbers")
            sd = torch.tensor(stds, dtype=torch.float64).reshape(k, -1)
            mu = torch.tensor(self.means, dtype=torch.float64).reshape(k, 2)
            return GaussianMixture(mu, sd, self.weights)
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose from {DATASET_CHOICES}")
        return DATASETS[self.dataset]()

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


PARAM_SETTINGS = ("gp_lambda", "clip", "r1_gamma")  # ToyConfig fields that are Objective.params
# ToyConfig fields whose None means "the objective's default"
OBJECTIVE_SETTINGS = ("k_steps", "optimizer", "lr", "beta1", "beta2", *PARAM_SETTINGS)


TOY_CHOICES = {  # the values each choice flag accepts
    "objective": sorted(OBJECTIVES),
    "dataset": list(DATASET_CHOICES),
    "optimizer": list(OPTIMIZERS),
    "device": ["auto", "cpu", "cuda"],
    "prior": list(PRIORS),
    "activation": sorted(ACTIVATIONS),
    "lr_decay": ["none", "linear"],
    "init": list(INITS),
    "update": list(UPDATES),
}


def check_data(cfg: ToyConfig) -> GaussianMixture:
    """The run's mixture; ``UsageError`` naming the flag when the data flags do not make one,
    or when a mixture flag is given to a named dataset (the flags of one world given to the
    other: a named 2D dataset defines its own modes)."""
    require(cfg.dataset in DATASET_CHOICES, "dataset",
            f"unknown dataset {cfg.dataset!r}; choose from {list(DATASET_CHOICES)}")  # fmt: skip
    if cfg.dataset not in FROM_FLAGS:
        for name in ("means", "stds", "weights"):
            require(getattr(cfg, name) is None, name,
                    f"--dataset {cfg.dataset} defines its own modes; --means, --stds and "
                    "--weights describe --dataset mixture (1D) or mixture2d")  # fmt: skip
    try:
        return cfg.mixture()
    except ValueError as err:
        msg = str(err)
        name = next((n for n in ("means", "stds", "weights") if msg.startswith(n + " ")), None)
        raise UsageError("--" + (name or "means/--stds/--weights"), msg) from None


def check_config(cfg: ToyConfig) -> None:
    """Raise ``UsageError`` naming the flag of the first invalid setting."""
    check_data(cfg)
    require(cfg.objective in OBJECTIVES, "objective", f"unknown objective {cfg.objective!r}")
    obj = get_objective(cfg.objective)
    for name in PARAM_SETTINGS:  # a parameter the objective does not have is a mistake
        given = getattr(cfg, name) is not None
        require(not given or name in obj.params, name, f"not a parameter of {obj.name}")
    if cfg.preset is not None:
        from toygan.toy.presets import PRESETS

        require(cfg.preset in PRESETS, "preset", f"unknown preset {cfg.preset!r}; "
                f"choose from {sorted(PRESETS)}")  # fmt: skip
        require(cfg.dim == 2, "preset", f"{cfg.preset} is a preset of the 2D benchmarks; use "
                "--dataset ring, grid, ... (not the 1D mixture)")  # fmt: skip
    cfg = cfg.resolved()  # check the values that will run
    for name in ("steps", "k_steps", "batch_size", "snapshot_every", "noise_dim", "g_width",
                 "d_width", "d_maxout", "packing"):  # fmt: skip
        require(getattr(cfg, name) >= 1, name, f"must be >= 1, got {getattr(cfg, name)}")
    for name in ("g_depth", "d_depth", "unrolled", "train_points"):
        require(getattr(cfg, name) >= 0, name, f"must be >= 0, got {getattr(cfg, name)}")
    require(cfg.n_samples >= 10, "n_samples", f"must be >= 10, got {cfg.n_samples}")
    require(math.isfinite(cfg.lr) and cfg.lr > 0, "lr", f"must be a number > 0, got {cfg.lr}")
    ok = math.isfinite(cfg.d_lr_scale) and cfg.d_lr_scale > 0
    require(ok, "d_lr_scale", f"must be a number > 0, got {cfg.d_lr_scale}")
    for name in ("beta1", "beta2", "momentum"):
        v = getattr(cfg, name)
        require(0.0 <= v < 1.0, name, f"must be in [0, 1), got {v}")
    require(cfg.optimizer in OPTIMIZERS, "optimizer", f"must be one of {list(OPTIMIZERS)}")
    require(cfg.init in INITS, "init", f"must be one of {list(INITS)}")
    require(cfg.update in UPDATES, "update", f"must be one of {list(UPDATES)}")
    require(
        cfg.update == "alternating" or cfg.k_steps == 1,
        "k_steps",
        f"--update simultaneous takes k = 1 (one pass, both steps), got {cfg.k_steps}",
    )
    for name in ("gp_lambda", "clip", "r1_gamma"):
        v = getattr(cfg, name)
        require(v is None or (math.isfinite(v) and v >= 0), name, f"must be a number >= 0, got {v}")
    if cfg.clip is not None:
        require(cfg.clip > 0, "clip", f"must be > 0, got {cfg.clip}")
    if cfg.unrolled:
        require(obj.d_penalty is None and obj.d_after_step is None, "unrolled",
                f"unrolling differentiates D's optimiser steps; {obj.name} adds a penalty or "
                "clipping to them (use a GAN, least-squares or hinge objective)")  # fmt: skip
    if cfg.train_points:
        require(cfg.train_points >= cfg.batch_size, "train_points",
                f"a fixed set needs at least one minibatch ({cfg.batch_size}) of points, "
                f"got {cfg.train_points}")  # fmt: skip
    if cfg.device == "cuda":
        require(torch.cuda.is_available(), "device", "cuda requested but CUDA is not available")
    require(0 <= cfg.seed < 2**63 - 2, "seed", f"must be in [0, 2^63 - 2), got {cfg.seed}")
    check_memory(cfg)


def check_memory(cfg: ToyConfig) -> None:
    """``UsageError`` naming the flag whose size cannot be allocated, before anything is.

    Rough upper bounds: each network's weights with gradients and Adam's two moments, the
    activations of a step (both networks, forward and backward, with the prefetched batches),
    the snapshots' samples (float64, kept for the figures) and a fixed training set.
    """
    snaps = cfg.steps // cfg.snapshot_every + 2
    d = cfg.dim
    require_memory("n_samples", 8 * d * cfg.n_samples * (2 * snaps + 8),
                   f"--n-samples {cfg.n_samples}")  # fmt: skip
    pieces = cfg.d_maxout
    for net, width, depth in (("g", cfg.g_width, cfg.g_depth), ("d", cfg.d_width, cfg.d_depth)):
        wide = width * (pieces if net == "d" else 1)
        weights = 4 * 4 * (wide * width * max(depth - 1, 0) + wide * (cfg.noise_dim + 2))
        require_memory(f"{net}_width", weights, f"--{net}-width {width}")
    k, m = cfg.k_steps or 1, cfg.batch_size * cfg.packing
    acts = 4 * 8 * m * (cfg.g_width + cfg.d_width * pieces) * (cfg.g_depth + cfg.d_depth + 2)
    require_memory("batch_size", acts + 4 * 33 * k * m * cfg.noise_dim,
                   f"--batch-size {cfg.batch_size}")  # fmt: skip
    require_memory("train_points", 8 * 3 * d * cfg.packing * cfg.train_points,
                   f"--train-points {cfg.train_points}")  # fmt: skip


__all__ = ["ToyConfig", "TOY_CHOICES", "check_config", "check_data", "DATASET_CHOICES"]
