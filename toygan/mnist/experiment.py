"""The MNIST experiment: one config dataclass, the shared engine, outputs per epoch, resume.

``MnistConfig`` holds every setting (it is ``config.json``); ``build_trainer`` turns it into a
``GANTrainer`` on the whole dataset held on the device (``toygan.mnist.data.MnistSource``);
``run_mnist`` trains epoch by epoch, writing a fixed-noise sample grid and a checkpoint after
each, and ``--resume DIR`` continues a stopped run to the same final state as an uninterrupted
one. ``main(argv)`` is ``python -m toygan.run --dataset mnist ...``.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from toygan import io, rundir
from toygan.cli import (
    DictConfig,
    FileError,
    OneLineParser,
    UsageError,
    add_dataclass_arguments,
    add_force_argument,
    check_path,
    config_from_args,
    given_flags,
    require,
    require_memory,
    resumed_config,
    run_cli,
)
from toygan.engine import GANTrainer, TrainingDiverged, resolve_device
from toygan.game import check_labels
from toygan.mnist import plots, presets
from toygan.mnist.data import (
    OUTPUT_RANGES,
    MnistError,
    MnistSource,
    check_range,
    load_mnist,
    to_pixels,
)
from toygan.mnist.monitor import for_run as parzen_monitor
from toygan.mnist.sampling import generate, requested_labels, sample_noise, seeded
from toygan.objectives import OBJECTIVES

AMP = {"none": None, "bf16": torch.bfloat16}


@dataclass
class MnistConfig(DictConfig):
    """Settings of one MNIST run; the defaults are the ``modern`` preset on the train split."""

    dataset: str = "mnist"  # data set of this entry point (toygan.run dispatches on it)
    model: str = "gan"  # gan | cgan (labels) | infogan (codes, Q head) | bigan (encoder)
    # gan: modern (MLPs, Adam) | goodfellow2014 (maxout, SGD) | dcgan (conv, BN); cgan: dcgan |
    # modern | mirza2014; infogan: chen2016 | dcgan; bigan: donahue2016 ('': the first named)
    preset: str = ""
    # G loss: saturating log(1-D(G(z))) | nonsaturating -log D(G(z))
    objective: str = "nonsaturating"
    data_dir: str = ""  # folder of the IDX files ('': $TOYGAN_DATA/mnist or ~/.cache/toygan/mnist)
    split: str = "train"  # train | test: the split whose images G learns
    limit: int = 0  # train on the first N images of the split (0: all; train: the paper's 50,000)
    download: bool = True  # download missing files from the standard mirrors
    epochs: int = 5  # passes over the training images
    batch_size: int = 0  # minibatch size m (0: the preset's: 100 / 16 / 128 dcgan)
    k_steps: int = 1  # discriminator updates per generator update (k in Algorithm 1)
    lr: float = 0.0  # learning rate of both networks (0: the preset's)
    seed: int = 0  # seeds initialisation and every random draw of the run
    device: str = "auto"  # auto | cpu | cuda
    amp: str = "none"  # mixed precision for forward passes: none | bf16
    n_samples: int = 10_000  # final generator samples written to samples.npy
    grid: int = 10  # the per-epoch sample grid is grid x grid digits from fixed noise
    out: str = "runs/mnist"  # output directory
    resume: str = ""  # run directory to continue (its config.json wins; --epochs may extend it)
    progress: bool = True  # show a progress bar
    # every N epochs: validation Parzen LL (toygan.mnist.monitor), parzen.csv, best.pt (0: off)
    parzen_every: int = 0

    def __post_init__(self) -> None:
        if not self.preset:  # the model's own preset (an unknown model is validate's to report)
            self.preset = presets.DEFAULT_PRESET.get(self.model, "")

    @property
    def n_train(self) -> int:
        return self.limit or (50_000 if self.split == "train" else 0)


SPLIT_IMAGES = {"train": 50_000, "test": 10_000}  # training images each split offers
IMAGE_BYTES = 784 * 4  # one float32 image
RESUMABLE = {"epochs", "device", "data_dir", "download", "progress", "resume", "out"}


def validate(cfg: MnistConfig) -> None:
    """One ``UsageError`` per bad value (the CLI turns it into one line and exit 2)."""
    require(cfg.dataset == "mnist", "dataset", f"this entry point trains mnist, not {cfg.dataset}")
    if cfg.data_dir:
        check_path(cfg.data_dir, "--data-dir")
    if cfg.out and not cfg.resume:
        check_path(cfg.out, "--out")
    require(cfg.model in presets.MODELS, "model", f"choose from {list(presets.MODELS)}")
    known = presets.PRESETS | presets.ABLATIONS
    require(
        cfg.preset in known,
        "preset",
        f"choose from {sorted(presets.PRESETS)} (or an ablation: "
        f"{', '.join(sorted(presets.ABLATIONS))})",
    )
    models = presets.get_preset(cfg.preset).models
    require(cfg.model in models, "model", f"preset {cfg.preset} trains --model "
            f"{'|'.join(models)}; for {cfg.model} use --preset "
            f"{'|'.join(presets.presets_for(cfg.model))}")  # fmt: skip
    require(cfg.objective in OBJECTIVES, "objective", f"choose from {sorted(OBJECTIVES)}")
    if cfg.model != "gan":
        penalty = OBJECTIVES[cfg.objective].d_penalty is not None
        require(not penalty, "objective", f"{cfg.objective} penalises D's gradient in its "
                f"input, which --model {cfg.model} does not define")  # fmt: skip
    if cfg.model == "bigan":
        require(cfg.objective in ("nonsaturating", "saturating"), "objective", "bigan trains "
                "G and E on swapped labels: choose nonsaturating or saturating")  # fmt: skip
    require(cfg.split in ("train", "test"), "split", "choose from ['train', 'test']")
    require(cfg.limit >= 0, "limit", f"must be >= 0, got {cfg.limit}")
    require(cfg.epochs >= 1, "epochs", f"must be >= 1, got {cfg.epochs}")
    require(cfg.parzen_every >= 0, "parzen_every", f"must be >= 0, got {cfg.parzen_every}")
    require(cfg.batch_size >= 0, "batch_size", f"must be >= 0, got {cfg.batch_size}")
    require(cfg.k_steps >= 1, "k_steps", f"must be >= 1, got {cfg.k_steps}")
    simultaneous = presets.get_preset(cfg.preset).update == "simultaneous"
    require(cfg.k_steps == 1 or not simultaneous, "k_steps", f"{cfg.preset} updates D and G "
            "simultaneously (the 2014 code): k_steps must be 1")  # fmt: skip
    require(math.isfinite(cfg.lr) and cfg.lr >= 0, "lr", f"must be a number >= 0, got {cfg.lr}")
    require(cfg.amp in AMP, "amp", f"choose from {list(AMP)}")
    require(0 <= cfg.seed < 2**63, "seed", f"must be in [0, 2^63), got {cfg.seed}")
    require(cfg.device in ("auto", "cpu", "cuda"), "device", "choose from ['auto', 'cpu', 'cuda']")
    require(
        cfg.device != "cuda" or torch.cuda.is_available(), "device", "cuda requested but CUDA is "
        "not available"
    )  # fmt: skip
    require(cfg.n_samples >= 1, "n_samples", f"must be >= 1, got {cfg.n_samples}")
    require(cfg.grid >= 1, "grid", f"must be >= 1, got {cfg.grid}")
    available = SPLIT_IMAGES[cfg.split]
    require(cfg.limit <= available, "limit", f"the {cfg.split} split has {available} images")
    n = cfg.n_train or available
    m = batch_size(cfg)
    require(m * cfg.k_steps <= n, "batch_size", f"{m} x k_steps {cfg.k_steps} is more than the "
            f"{n} training images")  # fmt: skip
    require_memory("n_samples", 3 * cfg.n_samples * IMAGE_BYTES, f"--n-samples {cfg.n_samples}")
    require_memory("grid", 2 * (cfg.epochs + 1) * cfg.grid**2 * IMAGE_BYTES, f"--grid {cfg.grid}")


def batch_size(cfg: MnistConfig) -> int:
    return cfg.batch_size or presets.get_preset(cfg.preset).batch_size


def build_trainer(cfg: MnistConfig) -> tuple[GANTrainer, int]:
    """The trainer of ``cfg`` and its iterations per epoch; data on the device, all seeded."""
    p = presets.get_preset(cfg.preset)
    device = resolve_device(cfg.device)
    labelled = cfg.model == "cgan"  # CGAN's real minibatches carry their labels
    loaded = load_mnist(
        cfg.split, cfg.data_dir or None, cfg.n_train, labels=labelled, download_missing=cfg.download
    )
    images, labels = loaded if labelled else (loaded, None)
    data = to_pixels(images, OUTPUT_RANGES[p.output], device)  # (N, 784) in G's output range
    check_range(data, p.output)
    m = batch_size(cfg)
    per_epoch = max(1, len(data) // (m * cfg.k_steps))  # iterations that use each image once
    torch.manual_seed(cfg.seed)  # parameter initialisation draws from the global RNG
    init_rng = torch.Generator().manual_seed(cfg.seed)  # goodfellow2014's uniform init
    G, D, game = presets.build_game(cfg.preset, cfg.model, device, data, init_rng)
    y = None
    if labels is not None:
        y = torch.from_numpy(labels.astype(np.int64))  # (N,)
        try:
            check_labels(y, presets.N_CLASSES, f"{cfg.split} labels")  # every label a digit
        except ValueError as err:
            raise MnistError(str(err)) from None
    g_opt, d_opt, schedulers = presets.build_optimizers(
        cfg.preset,
        G,
        D,
        per_epoch,
        cfg.lr,
        extra=list(game.networks.values()),
    )
    trainer = GANTrainer(
        G,
        D,
        presets.build_prior(cfg.preset, cfg.model),
        MnistSource(data, y),
        presets.build_objective(cfg.preset, cfg.objective),
        g_opt,
        d_opt,
        rng=torch.Generator(device).manual_seed(cfg.seed),
        k_steps=cfg.k_steps,
        batch_size=m,
        schedulers=schedulers,
        autocast=AMP[cfg.amp],
        prefetch=1,
        update=p.update,
        d_passes=p.d_passes,
        game=game,
    )
    return trainer, per_epoch


def _history_dict(trainer: GANTrainer) -> dict[str, np.ndarray]:
    return {"step": trainer.history.steps, **trainer.history.stats}


# settings that may differ between a run and its resumption (the rest must match the checkpoint)
MAY_CHANGE = {"epochs", "device", "progress", "data_dir", "download", "resume", "out"}


def load_run_state(out: Path, cfg: MnistConfig) -> dict[str, Any]:
    """The checkpoint of the MNIST run in ``out`` (weights_only), checked against ``cfg``."""
    path = out / "checkpoint.pt"
    state = io.load_checkpoint(path, map_location="cpu")
    stored = state.get("config")
    if not isinstance(stored, dict) or not {"trainer", "epoch"} <= set(state):
        raise FileError(path, "not a checkpoint of an MNIST toygan run")
    older = {"model": "gan"}  # fields added since: what a checkpoint without them trained
    differ = sorted(
        k
        for k, v in cfg.to_dict().items()
        if k not in MAY_CHANGE and stored.get(k, older.get(k)) != v
    )
    if differ:
        raise FileError(path, f"belongs to another run (its config differs in {differ})")
    return state


def run_mnist(
    cfg: MnistConfig, out: str | Path | None = None, *, force: bool = False
) -> dict[str, Any]:
    """Train ``cfg`` (continuing the run in ``out`` if ``cfg.resume``); returns the summary.

    The directory follows ``toygan.rundir``'s life cycle (status.json: running, finished,
    failed, diverged; another run there is refused unless ``force``). Writes config.json,
    grid_epoch_NNN.png and grids.npy, checkpoint.pt (every epoch), metrics.csv (appended every
    epoch), curves.png, training.gif, samples.npy ((n_samples, 784) in [0, 1]) and summary.json,
    all atomically. Resuming ends bit-identical to an uninterrupted run.

    Raises:
        TrainingDiverged: naming the step; the last epoch's checkpoint is kept.
        UsageError: ``out`` holds another run, or ``--epochs`` is below the epochs trained.
        FileError: a file of the run being resumed is unreadable, unsafe or from another run.
    """
    out = Path(out or cfg.resume or cfg.out)
    resume = bool(cfg.resume)
    state = load_run_state(out, cfg) if resume else None
    done = int(state["epoch"]) if state else 0
    if done > cfg.epochs:
        raise UsageError("--epochs", f"the run in {out} has already trained {done} epochs")
    if state and done == cfg.epochs and (rundir.read_status(out) or {}).get("state") == "finished":
        return io.read_json(out / "summary.json") | {"note": "already finished: nothing trained"}
    grids: list[np.ndarray] = []  # (grid**2, 784) per epoch, epoch 0 = untrained
    if state:
        stack = io.load_npy(out / "grids.npy")
        if stack.ndim != 3 or stack.shape[1:] != (cfg.grid**2, 784) or len(stack) < done + 1:
            raise FileError(out / "grids.npy", f"holds {stack.shape}, not the {done + 1} grids "
                            f"of ({cfg.grid**2}, 784) this run wrote")  # fmt: skip
        grids = list(stack[: done + 1])
    trainer, per_epoch = build_trainer(
        cfg
    )  # data and models first: a bad --data-dir writes nothing
    if state is not None:
        rundir.restore(trainer, state, out / "checkpoint.pt")
    flag = "resume" if resume else "out"
    with rundir.running(out, "mnist", resume=resume, force=force, flag=flag):
        return _train_and_write(cfg, out, trainer, per_epoch, state, grids)


def _train_and_write(
    cfg: MnistConfig,
    out: Path,
    trainer: GANTrainer,
    per_epoch: int,
    state: dict[str, Any] | None,
    grids: list[np.ndarray],
) -> dict[str, Any]:
    fixed_rng = torch.Generator(trainer.device).manual_seed(cfg.seed + 1)
    fixed_z = sample_noise(trainer.prior, trainer.game, cfg.grid**2, fixed_rng, per_row=cfg.grid)
    train_seconds = float(state["train_seconds"]) if state else 0.0  # earlier sessions
    ckpt = out / "checkpoint.pt"
    log = io.CsvLog(out / "metrics.csv")
    log.reset(trainer.history.rows())
    logged = len(trainer.history)
    io.write_json(out / "config.json", cfg.to_dict())
    monitor = parzen_monitor(cfg, out, trainer, per_epoch)  # None unless cfg.parzen_every
    t_start = time.perf_counter()
    callback_seconds = 0.0

    def on_epoch(tr: GANTrainer, step: int) -> None:
        nonlocal callback_seconds, logged
        t0 = time.perf_counter()
        epoch = step // per_epoch
        if len(grids) > epoch:  # resumed from this epoch's checkpoint: done already
            return
        if monitor is not None:  # before the checkpoint: a resume redoes an unsaved epoch
            monitor(tr, step)
        with torch.no_grad():
            tr.G.eval()
            lo, hi = OUTPUT_RANGES[tr.G.output]
            with seeded(cfg.seed + 1, tr.device):  # G's intrinsic dropout, if any
                out_z = tr.generate(fixed_z).float()  # (grid**2, 784)
            if not bool(out_z.isfinite().all()):  # finite weights, overflowing outputs
                raise TrainingDiverged(step, "a generator sample")
            grid = ((out_z - lo) / (hi - lo)).clamp_(0, 1).cpu().numpy()
            tr.G.train()
        grids.append(grid)
        plots.save_grid(grid, out / f"grid_epoch_{epoch:03d}.png", f"epoch {epoch}")
        io.save_npy(out / "grids.npy", np.stack(grids))
        log.append(tr.history.rows(start=logged))
        logged = len(tr.history)
        io.save_torch(
            ckpt,
            {
                "trainer": tr.state_dict(),
                "epoch": epoch,
                "train_seconds": train_seconds + t0 - t_start - callback_seconds,
                "config": cfg.to_dict(),
            },
        )
        callback_seconds += time.perf_counter() - t0

    remaining = cfg.epochs * per_epoch - trainer.step
    if remaining > 0:
        try:
            trainer.train(
                remaining,
                snapshot_every=per_epoch,
                callbacks=[on_epoch],
                progress=cfg.progress,
                desc=f"mnist {cfg.model} {cfg.preset} {cfg.objective}",
            )
        except TrainingDiverged as err:
            log.append(trainer.history.rows(start=logged))
            kept = (len(grids) - 1) * per_epoch
            raise TrainingDiverged(
                err.step, f"{err.name} (checkpoint of step {kept} kept)"
            ) from None
    train_seconds += time.perf_counter() - t_start - callback_seconds
    steps = cfg.epochs * per_epoch
    images = steps * cfg.k_steps * trainer.batch_size  # real images D has seen
    samples = generate(trainer, cfg.n_samples, cfg.seed + 2).cpu().numpy()
    io.save_npy(out / "samples.npy", samples.astype(np.float32))
    if cfg.model in ("cgan", "infogan"):  # the label / c_1 value each sample was drawn for
        asked = requested_labels(cfg.n_samples, "cpu").numpy().astype(np.int64)
        io.save_npy(out / "sample_labels.npy", asked)
    plots.save_curves(_history_dict(trainer), per_epoch, out / "curves.png")
    plots.save_gif(np.stack(grids), list(range(len(grids))), out / "training.gif")
    last = {k: float(v[-per_epoch:].mean()) for k, v in trainer.history.stats.items()}
    summary = {
        "model": cfg.model,
        "preset": cfg.preset,
        "objective": cfg.objective,
        "split": cfg.split,
        "n_train": len(trainer.data),
        "train_images": f"{cfg.split}[0:{len(trainer.data)}]",
        "epochs": cfg.epochs,
        "steps": steps,
        "steps_per_epoch": per_epoch,
        "batch_size": trainer.batch_size,
        "device": str(trainer.device),
        "amp": cfg.amp,
        "seed": cfg.seed,
        "train_seconds": round(train_seconds, 3),
        "seconds_per_epoch": round(train_seconds / cfg.epochs, 3),
        "images_per_second": round(images / train_seconds, 1) if train_seconds > 0 else None,
        **{f"last_epoch_mean_{k}": round(v, 6) for k, v in last.items()},
    }
    io.write_json(out / "summary.json", summary)
    return summary


def resume_config(cfg: MnistConfig, argv: list[str], ns) -> MnistConfig:
    """The stored config of the run in ``cfg.resume``; --epochs, --device, --data-dir and
    --download may change, and --progress is this session's."""
    check_path(cfg.resume, "--resume", must_exist=True)
    raw = io.read_json(path) if (path := Path(cfg.resume) / "config.json").is_file() else {}
    if isinstance(raw, dict) and raw.get("dataset", "mnist") != "mnist":
        raise UsageError("--resume", f"{cfg.resume} holds a run on --dataset {raw['dataset']}, "
                         "not an MNIST run")  # fmt: skip
    stored = resumed_config(MnistConfig, cfg.resume, argv, ns, RESUMABLE)
    try:
        validate(stored)
    except UsageError as err:
        if err.flag in given_flags(argv):
            raise
        raise FileError(Path(cfg.resume) / "config.json", str(err)) from None
    stored.resume, stored.progress, stored.out = cfg.resume, cfg.progress, stored.out
    return stored


def main(argv: list[str] | None = None) -> int:
    """``python -m toygan.run --dataset mnist ...``: train, write outputs, print the summary."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = OneLineParser(prog="toygan mnist", description=__doc__.splitlines()[0])
    add_dataclass_arguments(
        parser,
        MnistConfig,
        choices={
            "dataset": ["mnist"],
            "model": list(presets.MODELS),
            "preset": sorted(presets.PRESETS | presets.ABLATIONS),
            "objective": sorted(OBJECTIVES),
            "split": ["train", "test"],
            "device": ["auto", "cpu", "cuda"],
            "amp": list(AMP),
        },
    )
    add_force_argument(parser)
    ns = parser.parse_args(argv)

    def body() -> int:
        cfg = config_from_args(MnistConfig, ns)
        if cfg.resume:
            cfg = resume_config(cfg, argv, ns)
        validate(cfg)
        try:
            summary = run_mnist(cfg, force=ns.force)
        except MnistError as err:
            raise UsageError("--data-dir", str(err)) from None
        except TrainingDiverged as err:
            sys.stderr.write(f"toygan mnist: error: {err}\n")
            return 1
        out = cfg.resume or cfg.out
        if "note" in summary:
            print(f"{out}: {summary['note']}")
            return 0
        keys = ("epochs", "steps", "train_seconds", "images_per_second", "device")
        print(", ".join(f"{k}={summary[k]}" for k in keys) + f" -> {out}")
        return 0

    return run_cli("toygan mnist", body)


if __name__ == "__main__":
    raise SystemExit(main())
