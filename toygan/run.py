"""The command line: ``python -m toygan.run --objective nonsaturating`` and friends.

One entry point, thin: it parses flags into a config dataclass, validates them (one-line error,
exit code 2) and calls the same library functions as the notebooks and tests.

- a single 1D run (default): ``toygan.toy1d.run_experiment``;
- several objectives or ``--seeds N``: the multi-seed comparison, ``toygan.compare.main``;
- ``--diagnostic saturation``: the saturation diagnostic, ``toygan.saturation.main``;
- ``--dataset mnist``: the MNIST GAN, ``toygan.mnist_run.main``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from collections.abc import Sequence

from toygan.cli import (
    OneLineParser,
    UsageError,
    add_dataclass_arguments,
    config_from_args,
    require,
    run_cli,
)
from toygan.engine import TrainingDiverged
from toygan.io import ensure_writable_dir
from toygan.mixture import GaussianMixture
from toygan.models import ACTIVATIONS, PRIORS
from toygan.objectives import OBJECTIVES
from toygan.toy1d import ToyConfig, run_experiment

PROG = "python -m toygan.run"
CHOICES = {
    "objective": sorted(OBJECTIVES),
    "optimizer": ["adam", "sgd"],
    "device": ["auto", "cpu", "cuda"],
    "prior": list(PRIORS),
    "activation": sorted(ACTIVATIONS),
    "lr_decay": ["none", "linear"],
}


def _route(argv: Sequence[str]) -> str | None:
    """The module that handles ``argv`` ('toygan.compare', ...) or None for a single 1D run."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--dataset")
    pre.add_argument("--diagnostic")
    pre.add_argument("--seeds")
    pre.add_argument("--objective", nargs="*", default=[])
    known, _ = pre.parse_known_args(argv)
    if known.dataset == "mnist":
        return "toygan.mnist_run"
    if known.diagnostic is not None:
        return "toygan.saturation"
    if known.seeds is not None or len(known.objective) > 1:
        return "toygan.compare"
    return None


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog=PROG,
        description="Train a GAN on a 1D Gaussian mixture and write its results, figures and "
        "checkpoint into --out. See --dataset mnist, --seeds and --diagnostic for the rest.",
        allow_abbrev=False,
    )
    parser.add_argument(
        "--dataset", choices=["mixture", "mnist"], default="mixture",
        help="mixture: 1D Gaussian mixture (this parser); mnist: see --dataset mnist --help",
    )  # fmt: skip
    add_dataclass_arguments(parser, ToyConfig, choices=CHOICES)
    parser.add_argument("--out", default=None, help="output directory (default: runs/OBJECTIVE)")
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=True,
        help="show a progress bar with the losses (default: on; --no-progress turns it off)",
    )  # fmt: skip
    return parser


def validate(cfg: ToyConfig) -> None:
    """Raise ``UsageError`` naming the flag of the first invalid setting."""
    try:
        GaussianMixture(cfg.means, cfg.stds, cfg.weights)
    except ValueError as err:
        msg = str(err)
        name = next((n for n in ("means", "stds", "weights") if msg.startswith(n + " ")), None)
        raise UsageError("--" + (name or "means/--stds/--weights"), msg) from None
    for name in ("steps", "k_steps", "batch_size", "snapshot_every", "noise_dim"):
        require(getattr(cfg, name) >= 1, name, f"must be >= 1, got {getattr(cfg, name)}")
    for name in ("g_width", "d_width"):
        require(getattr(cfg, name) >= 1, name, f"must be >= 1, got {getattr(cfg, name)}")
    for name in ("g_depth", "d_depth"):
        require(getattr(cfg, name) >= 0, name, f"must be >= 0, got {getattr(cfg, name)}")
    require(cfg.n_samples >= 100, "n_samples", f"must be >= 100, got {cfg.n_samples}")
    require(math.isfinite(cfg.lr) and cfg.lr > 0, "lr", f"must be a number > 0, got {cfg.lr}")
    for name in ("beta1", "beta2", "momentum"):
        v = getattr(cfg, name)
        require(0.0 <= v < 1.0, name, f"must be in [0, 1), got {v}")
    if cfg.device == "cuda":
        import torch

        require(torch.cuda.is_available(), "device", "cuda requested but CUDA is not available")


def _single_run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    cfg = config_from_args(ToyConfig, args)
    validate(cfg)
    out = args.out or f"runs/{cfg.objective}"
    try:
        ensure_writable_dir(out)
    except ValueError as err:
        raise UsageError("--out", str(err)) from None
    try:
        summary = run_experiment(cfg, out, progress=args.progress)
    except TrainingDiverged as err:
        sys.stderr.write(f"{PROG}: error: {err}; see {out}/metrics.csv\n")
        return 1
    print(json.dumps(summary))
    print(f"wrote {out}/: config.json metrics.csv snapshots.csv summary.json samples.npy "
          "checkpoint.pt panel.png strip.png curves.png training.gif")  # fmt: skip
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    target = _route(argv)
    if target is not None:
        return importlib.import_module(target).main(argv)
    return run_cli(PROG, lambda: _single_run(argv))


if __name__ == "__main__":
    raise SystemExit(main())
