"""The command line: ``python -m toygan.run --objective nonsaturating`` and friends.

One entry point, thin: it parses flags into a config dataclass, validates them (one-line error,
exit code 2) and calls the same library functions as the notebooks and tests.

- a single toy run, 1D (default) or 2D (``--dataset ring``, ``grid``, ...; ``--preset lin2018``
  or ``metz2017``): ``toygan.toy.experiment.run_experiment``;
- 1D, several objectives or ``--seeds N``: the multi-seed comparison, ``toygan.toy.compare.main``;
- 2D, ``--seeds N`` or several values of ``--objective``, ``--packing``, ``--unrolled`` (or
  ``--configs``): the benchmark table, every (config, seed) a member of a vectorised ensemble,
  ``toygan.toy.benchmark.main``;
- ``--diagnostic saturation``: the saturation diagnostic, ``toygan.toy.saturation.main``;
- ``--diagnostic regimes``: the regime diagram, ``toygan.toy.regimes.main``;
- ``--dataset mnist``: the MNIST GAN, ``toygan.mnist.experiment.main``.

It belongs to the core and imports a world (``toygan.toy``, ``toygan.mnist``) only inside the
function that dispatches to it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from toygan.cli import (
    FileError,
    OneLineParser,
    UsageError,
    add_dataclass_arguments,
    add_force_argument,
    check_path,
    config_from_args,
    given_flags,
    resumed_config,
    run_cli,
)
from toygan.engine import TrainingDiverged

if TYPE_CHECKING:
    from toygan.toy.experiment import ToyConfig

PROG = "python -m toygan.run"


def _stored_config(run_dir: Path) -> dict:
    """``run_dir/config.json`` as a dict, or {} (missing or unreadable: the parser that handles
    the run then reports the problem in one line)."""
    try:
        stored = json.loads((run_dir / "config.json").read_text())
    except (OSError, ValueError):
        return {}
    return stored if isinstance(stored, dict) else {}


ONE_D = ("mixture",)  # the toy datasets of points in R (toygan.toy.config.ONE_D)


def _route(argv: Sequence[str]) -> str | None:
    """The module that handles ``argv`` ('toygan.toy.compare', ...) or None for a single toy run."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--dataset")
    pre.add_argument("--diagnostic")
    pre.add_argument("--seeds")
    pre.add_argument("--objective", nargs="*", default=[])
    pre.add_argument("--packing", nargs="*", default=[])
    pre.add_argument("--unrolled", nargs="*", default=[])
    pre.add_argument("--configs", nargs="*")
    pre.add_argument("--resume")
    known, _ = pre.parse_known_args(argv)
    stored = _stored_config(Path(known.resume)) if known.resume else {}
    if known.dataset is None and known.resume:  # the run being resumed says which world
        known.dataset = stored.get("dataset") or stored.get("toy", {}).get("dataset")
    if known.dataset == "mnist":
        return "toygan.mnist.experiment"
    if known.diagnostic is not None:
        return "toygan.toy.regimes" if known.diagnostic == "regimes" else "toygan.toy.saturation"
    lists = (known.objective, known.packing, known.unrolled)
    several = known.seeds is not None or any(len(v) > 1 for v in lists) or known.configs
    if known.dataset not in (None, *ONE_D) and (several or "benchmark" in stored):
        return "toygan.toy.benchmark"
    if known.seeds is not None or len(known.objective) > 1:
        return "toygan.toy.compare"
    return None


def build_parser(argv: Sequence[str] = ()) -> OneLineParser:
    from toygan.toy.experiment import TOY_CHOICES, ToyConfig
    from toygan.toy.presets import PRESETS, apply_preset

    parser = OneLineParser(
        prog=PROG,
        description="Train a GAN on a 1D or 2D Gaussian mixture and write its results, figures "
        "and checkpoint into --out. See --dataset mnist, --seeds and --diagnostic for the rest.",
        allow_abbrev=False,
    )
    data_help = {
        "dataset": {"choices": [*TOY_CHOICES["dataset"], "mnist"],
                    "help": "mixture: 1D Gaussian mixture from --means --stds --weights; "
                    "mixture2d: any 2D one from the same flags; ring, grid (PacGAN's), "
                    "ring_metz2017, ring_gulrajani2017, grid_gulrajani2017; mnist: see "
                    "--dataset mnist --help (default: mixture)"},
        "means": {"help": "mixture means (mixture2d: x1 y1 x2 y2 ...) (default: -2 2)"},
        "stds": {"help": "component stds > 0 (mixture2d: K isotropic or 2K per axis) "
                 "(default: 0.5 0.5)"},
        "weights": {"help": "mixing weights summing to 1 (default: equal)"},
        "preset": {"choices": sorted(PRESETS), "help": "a 2D benchmark's released code as "
                   "settings: lin2018 (PacGAN), metz2017 (Unrolled GAN); flags given win"},
        "n_samples": {"help": "G samples for metrics and samples.npy (default: 10000 in 1D, "
                      "2500 in 2D, PacGAN's)"},
    }  # fmt: skip
    add_dataclass_arguments(parser, ToyConfig, choices=TOY_CHOICES, overrides=data_help)
    apply_preset(parser, argv)
    parser.add_argument(
        "--out", default=None, help="output directory (default: runs/OBJECTIVE in 1D, "
        "runs/DATASET-PRESET or runs/DATASET-OBJECTIVE in 2D)",
    )  # fmt: skip
    parser.add_argument(
        "--resume", default=None, metavar="DIR",
        help="continue the run in DIR from its last checkpoint (its config.json wins; --steps "
        "may extend a run without learning-rate decay)",
    )  # fmt: skip
    add_force_argument(parser)
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=True,
        help="show a progress bar with the losses (default: on; --no-progress turns it off)",
    )  # fmt: skip
    return parser


def default_out(cfg: ToyConfig) -> str:
    if cfg.dim == 1:
        return f"runs/{cfg.objective}"
    return f"runs/{cfg.dataset}-{cfg.preset or cfg.objective}"


def resume_config(run_dir: str, argv: Sequence[str], args: argparse.Namespace) -> ToyConfig:
    """The stored config of the run in ``run_dir``; --steps and --device may change."""
    from toygan.toy.experiment import ToyConfig, check_config

    cfg = resumed_config(ToyConfig, run_dir, argv, args, {"steps", "device"})
    try:
        check_config(cfg)
    except UsageError as err:
        if err.flag in given_flags(argv):
            raise
        raise FileError(Path(run_dir) / "config.json", str(err)) from None
    return cfg


def _single_run(argv: Sequence[str]) -> int:
    from toygan.toy.experiment import ToyConfig, check_config, run_experiment

    args = build_parser(argv).parse_args(argv)
    if args.out is not None:
        check_path(args.out, "--out")
    if args.resume is not None:
        check_path(args.resume, "--resume", must_exist=True)
        cfg, out = resume_config(args.resume, argv, args), args.resume
        if args.out is not None and Path(args.out) != Path(args.resume):
            raise UsageError("--out", "give --resume DIR alone: the run continues in DIR")
    else:
        cfg = config_from_args(ToyConfig, args)
        check_config(cfg)
        out = args.out or default_out(cfg)
    try:
        summary = run_experiment(
            cfg, out, progress=args.progress, resume=args.resume is not None, force=args.force
        )
    except TrainingDiverged as err:
        sys.stderr.write(f"{PROG}: error: {err}; see {out}/metrics.csv\n")
        return 1
    print(json.dumps(summary))
    if "note" in summary:
        print(f"{out}: {summary['note']}")
        return 0
    print(f"wrote {out}/: config.json metrics.csv snapshots.csv summary.json samples.npy "
          "checkpoint.pt panel.png strip.png curves.png training.gif status.json")  # fmt: skip
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    target = _route(argv)
    if target is not None:
        return importlib.import_module(target).main(argv)
    return run_cli(PROG, lambda: _single_run(argv))


if __name__ == "__main__":
    raise SystemExit(main())
