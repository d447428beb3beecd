"""The command line: ``python -m toygan.run --objective nonsaturating`` and friends.

One entry point, thin: it parses flags into a config dataclass, validates them (one-line error,
exit code 2) and calls the same library functions as the notebooks and tests.

- a single 1D run (default): ``toygan.toy.experiment.run_experiment``;
- several objectives or ``--seeds N``: the multi-seed comparison, ``toygan.toy.compare.main``;
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
    config_from_args,
    given_flags,
    resumed_config,
    run_cli,
)
from toygan.engine import TrainingDiverged

if TYPE_CHECKING:
    from toygan.toy.experiment import ToyConfig

PROG = "python -m toygan.run"


def _stored_dataset(run_dir: Path) -> str | None:
    """The ``dataset`` in ``run_dir/config.json``, or None (missing or unreadable: the 1D parser
    then reports the problem in one line)."""
    try:
        stored = json.loads((run_dir / "config.json").read_text())
    except (OSError, ValueError):
        return None
    return stored.get("dataset") if isinstance(stored, dict) else None


def _route(argv: Sequence[str]) -> str | None:
    """The module that handles ``argv`` ('toygan.toy.compare', ...) or None for a single 1D run."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--dataset")
    pre.add_argument("--diagnostic")
    pre.add_argument("--seeds")
    pre.add_argument("--objective", nargs="*", default=[])
    pre.add_argument("--resume")
    known, _ = pre.parse_known_args(argv)
    if known.dataset is None and known.resume:  # the run being resumed says which world
        known.dataset = _stored_dataset(Path(known.resume))
    if known.dataset == "mnist":
        return "toygan.mnist.experiment"
    if known.diagnostic is not None:
        return "toygan.toy.regimes" if known.diagnostic == "regimes" else "toygan.toy.saturation"
    if known.seeds is not None or len(known.objective) > 1:
        return "toygan.toy.compare"
    return None


def build_parser() -> OneLineParser:
    from toygan.toy.experiment import TOY_CHOICES, ToyConfig

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
    add_dataclass_arguments(parser, ToyConfig, choices=TOY_CHOICES)
    parser.add_argument("--out", default=None, help="output directory (default: runs/OBJECTIVE)")
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

    args = build_parser().parse_args(argv)
    if args.resume is not None:
        cfg, out = resume_config(args.resume, argv, args), args.resume
        if args.out is not None and Path(args.out) != Path(args.resume):
            raise UsageError("--out", "give --resume DIR alone: the run continues in DIR")
    else:
        cfg = config_from_args(ToyConfig, args)
        check_config(cfg)
        out = args.out or f"runs/{cfg.objective}"
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
