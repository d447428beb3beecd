"""The 2D mode-collapse benchmark: configs x seeds, every member of a vectorised ensemble.

PacGAN's Table 1 (Lin et al. 2018) trains a GAN and PacGAN2-4 on the ring and the grid, 10 runs
each, and reports modes captured, the share of high-quality samples and the reverse KL
(``toygan.toy.metrics.mode_metrics``) as mean +- standard error. This module runs such a table:

    python -m toygan.run --dataset ring --preset lin2018 --packing 1 2 3 4 --seeds 10
    python -m toygan.run --dataset grid --preset metz2017 \\
        --configs saturating:unrolled=0 saturating wasserstein_gp:unrolled=0 --seeds 10

A *config* is the preset (or the flags) with one objective, packing and unrolling: the product of
``--objective``, ``--packing`` and ``--unrolled``, or the rows of ``--configs``
(``objective[:packing=m][:unrolled=k]``). An objective whose registry training defaults differ
from the GAN losses' (the Wasserstein critics: n_critic 5, Adam betas (0.5, 0.9)) keeps those, with
the preset's learning rate, and Algorithm 1's alternating update (k > 1 steps per G step). Each
config is one ensemble of ``--seeds`` members (``toygan.toy.ensemble``; configs differ in their
networks' shapes, so each is its own batched computation), evaluated every ``--eval-every`` steps
on ``n_samples`` samples of one fixed z per member.

The configs train round-robin, ``--round-steps`` at a time, so that wherever the run is stopped
every config has about the same length; after every round each config's checkpoint, the curves,
``summary.json`` and the figure are rewritten (atomically). ``--resume DIR`` continues the table
bit-exactly, optionally to a larger ``--steps``. With ``--ray local`` or ``--ray HOST:PORT`` each
round's configs train in parallel as Ray tasks (``toygan.sweep``), to the same numbers.

writes config.json, summary.json, curves.csv, curves.png, CONFIG/checkpoint.pt into ``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from toygan import io, rundir, sweep
from toygan.cli import (
    FileError,
    OneLineParser,
    UsageError,
    add_dataclass_arguments,
    add_force_argument,
    check_path,
    config_from_dict,
    given_flags,
    require,
    run_cli,
)
from toygan.objectives import GAN_DEFAULTS, get_objective
from toygan.toy import plots_benchmark
from toygan.toy.config import TOY_CHOICES, ToyConfig, check_config
from toygan.toy.ensemble import build_ensemble, sample_members
from toygan.toy.member_metrics import mode_metrics_members
from toygan.toy.metrics import MODE_METRIC_KEYS
from toygan.toy.presets import apply_preset

PROG = "toygan benchmark"
OWN = ("k_steps", "optimizer", "beta1", "beta2")  # an objective's own training settings


@dataclass
class BenchmarkOptions:
    """What to compare, how long and how often to measure (training settings: ToyConfig)."""

    objective: list[str] | None = None  # G losses (default: the preset's or --objective's one)
    packing: list[int] | None = None  # PacGAN packings (default: the preset's, 1)
    unrolled: list[int] | None = None  # unrolling steps (default: the preset's, 0)
    configs: list[str] | None = None  # rows objective[:packing=m][:unrolled=k] (not a product)
    seeds: int = 10  # members per config: seeds seed .. seed + seeds - 1
    eval_every: int | None = None  # steps between evaluations (default: --snapshot-every)
    round_steps: int = 5000  # steps each config trains before the next takes its turn
    out: str | None = None  # output directory (default: runs/bench-DATASET-PRESET)
    progress: bool = True  # show a progress bar per round and config
    ray: str | None = None  # run each round's configs as Ray tasks: local, or a cluster's HOST:PORT


@dataclass(frozen=True)
class Row:
    """One config of the table."""

    objective: str
    packing: int
    unrolled: int

    @property
    def name(self) -> str:
        extra = (f"-packing{self.packing}" if self.packing > 1 else "") + (
            f"-unrolled{self.unrolled}" if self.unrolled else ""
        )
        return self.objective + extra


def parse_row(spec: str, base: ToyConfig) -> Row:
    """``objective[:packing=m][:unrolled=k]`` -> Row (the base's packing and unrolling unless
    given); ``UsageError`` naming ``--configs`` otherwise."""
    name, *extra = spec.split(":")
    values = {"packing": base.packing, "unrolled": base.unrolled}
    for item in extra:
        key, _, value = item.partition("=")
        require(key in values and value.lstrip("-").isdigit(), "configs",
                f"{spec!r}: expected objective[:packing=m][:unrolled=k]")  # fmt: skip
        values[key] = int(value)
    require(name in TOY_CHOICES["objective"], "configs", f"{spec!r}: unknown objective {name!r}")
    return Row(name, values["packing"], values["unrolled"])


def rows_of(opts: BenchmarkOptions, base: ToyConfig) -> list[Row]:
    if opts.configs:
        rows = [parse_row(s, base) for s in opts.configs]
    else:
        rows = [
            Row(o, m, k)
            for o in opts.objective or [base.objective]
            for m in opts.packing or [base.packing]
            for k in opts.unrolled or [base.unrolled]
        ]
    names = [r.name for r in rows]
    require(len(set(names)) == len(names), "configs", f"a config is repeated: {names}")
    return rows


def row_config(base: ToyConfig, row: Row) -> ToyConfig:
    """The base config with the row's objective, packing and unrolling; an objective with its
    own training defaults keeps them (not the learning rate), alternating when k > 1."""
    o = get_objective(row.objective)
    cfg = dataclasses.replace(base, objective=row.objective, packing=row.packing,
                              unrolled=row.unrolled)  # fmt: skip
    if dict(o.defaults) != dict(GAN_DEFAULTS):
        own = {k: v for k, v in o.defaults.items() if k in OWN}
        cfg = dataclasses.replace(cfg, **own)
    if (cfg.resolved().k_steps or 1) > 1:
        cfg = dataclasses.replace(cfg, update="alternating")
    return cfg


def mean_se(values: np.ndarray) -> list[float | None]:
    """[mean, standard error] of the finite values (None if there are none)."""
    v = values[np.isfinite(values)]
    if len(v) == 0:
        return [None, None]
    se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0
    return [float(v.mean()), se]


class Cell:
    """One config's ensemble, its evaluations and its checkpoint (``DIR/NAME/checkpoint.pt``)."""

    def __init__(self, row: Row, cfg: ToyConfig, seeds: list[int], out: Path) -> None:
        self.row, self.cfg, self.seeds = row, cfg, seeds
        self.path = out / row.name / "checkpoint.pt"
        self.trainer = build_ensemble(cfg, seeds)
        self.dist = cfg.mixture()
        self.curves: list[dict[str, Any]] = []  # one row per (step, seed)
        self.seconds = 0.0

    def evaluate(self, trainer, step: int) -> None:
        if self.curves and self.curves[-1]["step"] == step:
            return  # resumed at this evaluation
        x = sample_members(trainer, self.cfg.n_samples)  # (n, S, 2): one fixed z per member
        alive = trainer.finite_members()  # (S,)
        x = torch.where(alive.view(1, -1, 1), x, torch.nan)
        m = mode_metrics_members(x, self.dist)
        for i, s in enumerate(self.seeds):
            self.curves.append({"config": self.row.name, "step": step, "seed": s,
                                **{k: float(m[k][i]) for k in MODE_METRIC_KEYS}})  # fmt: skip

    def train(self, steps: int, every: int, progress: bool) -> None:
        t0 = time.perf_counter()
        self.trainer.train_members(steps, snapshot_every=every, callbacks=[self.evaluate],
                                   progress=progress, desc=self.row.name)  # fmt: skip
        self.seconds += time.perf_counter() - t0

    def state(self) -> dict[str, Any]:
        """What the checkpoint holds: trainer, config, curves and seconds so far."""
        return {"trainer": self.trainer.state_dict(), "config": self.cfg.to_dict(),
                "curves": self.curves, "seconds": self.seconds}  # fmt: skip

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        io.save_torch(self.path, self.state())

    def __reduce__(self):  # a cell travels to a Ray task as its checkpoint (trainers don't pickle)
        return _restored, (self.row, self.cfg, self.seeds, self.path.parents[1], self.state())

    def load(self, state: dict[str, Any] | None = None) -> None:
        """Continue from the checkpoint on disk, or from ``state`` (``Cell.state()``)."""
        state = io.load_checkpoint(self.path) if state is None else state
        ours = {k: v for k, v in self.cfg.to_dict().items() if k != "steps"}
        theirs = state.get("config") if isinstance(state, dict) else None
        if not isinstance(theirs, dict) or {k: theirs.get(k) for k in ours} != ours:
            raise FileError(self.path, "does not belong to this benchmark's config")
        rundir.restore(self.trainer, state, self.path)
        self.curves, self.seconds = list(state["curves"]), float(state["seconds"])

    def summary(self) -> dict[str, Any]:
        step = self.trainer.step
        last = [c for c in self.curves if c["step"] == step]
        stats = {k: mean_se(np.array([c[k] for c in last], dtype=float)) for k in
                 MODE_METRIC_KEYS}  # fmt: skip
        undefined = sum(1 for c in last if not math.isfinite(c["reverse_kl"]))
        return {
            "name": self.row.name,
            "packing": self.row.packing,
            "objective": self.row.objective,
            "unrolled": self.row.unrolled,
            "n_seeds": len(self.seeds),
            "steps": step,
            **stats,
            "reverse_kl_undefined": undefined,  # members without a high-quality sample
            "train_seconds": round(self.seconds, 1),
            "settings": {
                k: getattr(self.cfg.resolved(), k)
                for k in ("k_steps", "optimizer", "lr", "d_lr_scale", "beta1", "beta2", "update")
            },  # fmt: skip
        }


def _restored(row: Row, cfg: ToyConfig, seeds: list[int], out: Path, state: dict) -> Cell:
    cell = Cell(row, cfg, seeds, out)
    cell.load(state)
    return cell


def train_round(cell: Cell, steps: int, round_steps: int, every: int, progress: bool) -> Cell:
    """``cell`` trained one round, up to ``steps`` (here, or on a copy in a Ray task)."""
    cell.train(min(round_steps, steps - cell.trainer.step), every, progress)
    return cell


def run_benchmark(
    base: ToyConfig, opts: BenchmarkOptions, out: Path, resume: bool, command: str
) -> dict[str, Any]:
    """Train every row's ensemble round-robin to ``base.steps``; write the outputs each round."""
    rows = rows_of(opts, base)
    seeds = list(range(base.seed, base.seed + opts.seeds))
    every = opts.eval_every or base.snapshot_every
    cells = [Cell(r, row_config(base, r), seeds, out) for r in rows]
    for c in cells:
        check_config(c.cfg)
        if resume and c.path.exists():  # a config killed before its first round starts afresh
            c.load()
    io.write_json(out / "config.json", {"benchmark": dataclasses.asdict(opts), "toy":
                                         base.to_dict(), "command": command})  # fmt: skip
    summary: dict[str, Any] = {}
    run = functools.partial(train_round, steps=base.steps, round_steps=opts.round_steps,
                            every=every, progress=opts.progress and not opts.ray)  # fmt: skip
    while True:  # a round: every unfinished config, here in turn or as parallel Ray tasks
        todo = [i for i, c in enumerate(cells) if c.trainer.step < base.steps]
        for i, cell in zip(todo, sweep.map_cells(run, [cells[i] for i in todo], opts.ray),
                           strict=True):  # fmt: skip
            cells[i] = cell  # from a Ray task: the trained copy
            cell.save()
        summary = write_outputs(cells, base, out, command)
        if all(c.trainer.step >= base.steps for c in cells):
            return summary


def write_outputs(cells: list[Cell], base: ToyConfig, out: Path, command: str) -> dict[str, Any]:
    summary = {
        "dataset": base.dataset,
        "preset": base.preset,
        "target_steps": base.steps,
        "command": command,
        "metrics": f"{base.n_samples} samples of one fixed z per member (PacGAN's protocol): "
        "modes with >= 1 high-quality sample, share of samples within 3 sigma of a mode, "
        "KL(high-quality histogram || uniform) in nats; [mean, standard error] over seeds",
        "configs": [c.summary() for c in cells],
        "paper": plots_benchmark.paper_rows(base.dataset, base.preset),
    }
    io.write_json(out / "summary.json", summary)
    io.write_csv(out / "curves.csv", [r for c in cells for r in c.curves])
    plots_benchmark.save_benchmark_figure(summary, [r for c in cells for r in c.curves],
                                          out / "curves.png")  # fmt: skip
    return summary


def build_parser(argv) -> OneLineParser:
    parser = OneLineParser(prog=PROG, description=__doc__.splitlines()[0], allow_abbrev=False)
    add_dataclass_arguments(parser, ToyConfig, choices=TOY_CHOICES,
                            skip=("objective", "packing", "unrolled"))  # fmt: skip
    add_dataclass_arguments(parser, BenchmarkOptions,
                            choices={"objective": TOY_CHOICES["objective"]})  # fmt: skip
    apply_preset(parser, argv)  # after every flag: a preset's value becomes that flag's default
    parser.add_argument("--resume", default=None, metavar="DIR",
                        help="continue the benchmark in DIR (its config.json wins; --steps may "
                        "extend it)")  # fmt: skip
    add_force_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    command = "python -m toygan.run " + " ".join(argv)

    def body() -> int:
        resume = args.resume is not None
        if args.out is not None:
            check_path(args.out, "--out")
        if resume:
            check_path(args.resume, "--resume", must_exist=True)
            base, opts = resumed(args, argv)
            out = Path(args.resume)
        else:
            lists = {k: _listed(getattr(args, k)) for k in ("objective", "packing", "unrolled")}
            given = {k for k in lists if f"--{k}" in given_flags(argv)}
            both = ", --".join(sorted(given))
            require(
                not (args.configs and given),
                "configs",
                f"give the rows with --configs or as a product of --{both}, not both",
            )
            firsts = {k: v[0] for k, v in lists.items() if v}
            values = {k: v for k, v in vars(args).items() if k not in lists}  # ToyConfig's own
            base = config_from_dict(ToyConfig, {**values, **firsts})
            opts = config_from_dict(BenchmarkOptions, {**vars(args), **lists})
            check_config(base)
            require(base.dim == 2, "dataset", "the benchmark is 2D: --dataset ring, grid, ...")
            require(opts.seeds >= 1, "seeds", f"must be >= 1, got {opts.seeds}")
            require(opts.round_steps >= 1, "round_steps", f"must be >= 1, got {opts.round_steps}")
            require(opts.eval_every is None or opts.eval_every >= 1, "eval_every",
                    f"must be >= 1, got {opts.eval_every}")  # fmt: skip
            for r in rows_of(opts, base):  # every row valid before anything is written
                check_config(row_config(base, r))
            out = Path(opts.out or f"runs/bench-{base.dataset}-{base.preset or base.objective}")
        sweep.prepare(opts.ray, base.device)
        with rundir.running(out, "benchmark2d", resume=resume, force=args.force) as path:
            summary = run_benchmark(base, opts, path, resume, command)
        for c in summary["configs"]:
            m, hq, kl = c["modes"], c["high_quality"], c["reverse_kl"]
            print(f"{c['name']:>28}: modes {m[0]:.1f} +- {m[1]:.1f}, high quality "
                  f"{100 * hq[0]:.1f}%, reverse KL {fmt(kl)} at {c['steps']} steps")  # fmt: skip
        print(f"wrote {out}")
        return 0

    return run_cli(PROG, body)


def _listed(value) -> list | None:
    """A list flag's value; a preset's default arrives as a single value."""
    return None if value is None else value if isinstance(value, list) else [value]


def fmt(v: list[float | None]) -> str:
    return "-" if v[0] is None else f"{v[0]:.2f} +- {v[1]:.2f}"


def resumed(args: argparse.Namespace, argv: list[str]) -> tuple[ToyConfig, BenchmarkOptions]:
    """The stored base config and options of ``--resume DIR``: only --steps, --device and
    --progress may change; ``UsageError`` for any other flag, ``FileError`` for a bad file."""
    path = Path(args.resume) / "config.json"
    if not path.is_file():
        raise UsageError("--resume", f"{args.resume} holds no toygan benchmark (no config.json)")
    raw = io.read_json(path)
    if not isinstance(raw, dict) or not {"benchmark", "toy"} <= set(raw):
        raise UsageError("--resume", f"{args.resume} holds no toygan benchmark")
    may = {"--steps", "--device", "--progress", "--ray", "--resume", "--force"}
    for f in sorted(given_flags(argv) - may):
        raise UsageError(f, f"--resume continues the benchmark in {args.resume} as it was "
                         "(only --steps, --device and --ray may change)")  # fmt: skip
    if not isinstance(raw["toy"], dict) or not isinstance(raw["benchmark"], dict):
        raise FileError(path, "holds no benchmark settings")
    base = config_from_dict(ToyConfig, raw["toy"])
    opts = config_from_dict(BenchmarkOptions, raw["benchmark"])
    given = given_flags(argv)
    if "--steps" in given:
        base = dataclasses.replace(base, steps=args.steps)
    if "--device" in given:
        base = dataclasses.replace(base, device=args.device)
    if "--progress" in given:
        opts = dataclasses.replace(opts, progress=args.progress)
    opts = dataclasses.replace(opts, ray=args.ray)  # where it runs now, not where it ran
    try:
        check_config(base)
    except UsageError as err:
        raise FileError(path, str(err)) from None
    if base.lr_decay != "none" and base.steps != raw["toy"]["steps"]:
        raise UsageError("--steps", f"the benchmark decays its learning rates over "
                         f"{raw['toy']['steps']} steps; it cannot be extended")  # fmt: skip
    return base, opts
