"""The MNIST experiment: one config dataclass, the shared engine, outputs per epoch, resume.

``MnistConfig`` holds every setting (it is ``config.json``); ``build_trainer`` turns it into a
``GANTrainer`` on the whole dataset held on the device (``toygan.mnist.MnistSource``);
``run_mnist`` trains epoch by epoch, writing a fixed-noise sample grid and a checkpoint after
each, and ``--resume DIR`` continues a stopped run to the same final state as an uninterrupted
one. ``main(argv)`` is ``python -m toygan.run --dataset mnist ...``.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from toygan import io, plots_mnist, presets
from toygan.cli import (
    DictConfig,
    OneLineParser,
    UsageError,
    add_dataclass_arguments,
    require,
    run_cli,
    writable_dir,
)
from toygan.engine import GANTrainer, TrainingDiverged, resolve_device
from toygan.mnist import OUTPUT_RANGES, MnistError, MnistSource, check_range, load_mnist, to_pixels
from toygan.objectives import OBJECTIVES

AMP = {"none": None, "bf16": torch.bfloat16}


@dataclass
class MnistConfig(DictConfig):
    """Settings of one MNIST run; the defaults are the ``modern`` preset on the train split."""

    dataset: str = "mnist"  # data set of this entry point (toygan.run dispatches on it)
    preset: str = "modern"  # modern (LeakyReLU MLPs, tanh, Adam) | goodfellow2014 (maxout, SGD)
    # G loss: saturating log(1-D(G(z))) | nonsaturating -log D(G(z))
    objective: str = "nonsaturating"
    data_dir: str = ""  # folder of the IDX files ('': $TOYGAN_DATA/mnist or ~/.cache/toygan/mnist)
    split: str = "train"  # train | test: the split whose images G learns
    limit: int = 0  # train on the first N images of the split (0: all; train: the paper's 50,000)
    download: bool = True  # download missing files from the standard mirrors
    epochs: int = 5  # passes over the training images
    batch_size: int = 0  # minibatch size m (0: the preset's, 100 goodfellow2014 / 16 modern)
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

    @property
    def n_train(self) -> int:
        return self.limit or (50_000 if self.split == "train" else 0)


def validate(cfg: MnistConfig) -> None:
    """One ``UsageError`` per bad value (the CLI turns it into one line and exit 2)."""
    require(cfg.dataset == "mnist", "dataset", f"this entry point trains mnist, not {cfg.dataset}")
    require(cfg.preset in presets.PRESETS, "preset", f"choose from {sorted(presets.PRESETS)}")
    require(cfg.objective in OBJECTIVES, "objective", f"choose from {sorted(OBJECTIVES)}")
    require(cfg.split in ("train", "test"), "split", "choose from ['train', 'test']")
    require(cfg.limit >= 0, "limit", f"must be >= 0, got {cfg.limit}")
    require(cfg.epochs >= 1, "epochs", f"must be >= 1, got {cfg.epochs}")
    require(cfg.batch_size >= 0, "batch_size", f"must be >= 0, got {cfg.batch_size}")
    require(cfg.k_steps >= 1, "k_steps", f"must be >= 1, got {cfg.k_steps}")
    require(cfg.lr >= 0, "lr", f"must be >= 0, got {cfg.lr}")
    require(cfg.amp in AMP, "amp", f"choose from {list(AMP)}")
    require(cfg.n_samples >= 1 and cfg.grid >= 1, "n_samples", "n_samples and grid must be >= 1")


def batch_size(cfg: MnistConfig) -> int:
    return cfg.batch_size or presets.get_preset(cfg.preset).batch_size


def build_trainer(cfg: MnistConfig) -> tuple[GANTrainer, int]:
    """The trainer of ``cfg`` and its iterations per epoch; data on the device, all seeded."""
    p = presets.get_preset(cfg.preset)
    device = resolve_device(cfg.device)
    images = load_mnist(cfg.split, cfg.data_dir or None, cfg.n_train, download_missing=cfg.download)
    data = to_pixels(images, OUTPUT_RANGES[p.output], device)  # (N, 784) in G's output range
    check_range(data, p.output)
    m = batch_size(cfg)
    per_epoch = max(1, len(data) // (m * cfg.k_steps))  # iterations that use each image once
    torch.manual_seed(cfg.seed)  # parameter initialisation draws from the global RNG
    init_rng = torch.Generator().manual_seed(cfg.seed)  # goodfellow2014's uniform init
    G, D = presets.build_models(cfg.preset, device, data, init_rng)
    g_opt, d_opt, schedulers = presets.build_optimizers(cfg.preset, G, D, per_epoch, cfg.lr)
    trainer = GANTrainer(
        G,
        D,
        presets.build_prior(cfg.preset),
        MnistSource(data),
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
    )
    return trainer, per_epoch


@torch.no_grad()
def generate(trainer: GANTrainer, n: int, seed: int, chunk: int = 1000) -> torch.Tensor:
    """``n`` samples (n, 784) in [0, 1] from a dedicated RNG (the training RNG is untouched)."""
    rng = torch.Generator(trainer.device).manual_seed(seed)
    lo, hi = OUTPUT_RANGES[trainer.G.output]
    was_training = trainer.G.training
    trainer.G.eval()
    out = torch.cat([trainer.G(z) for z in trainer.prior.sample(n, rng).split(chunk)])
    trainer.G.train(was_training)
    return ((out.float() - lo) / (hi - lo)).clamp_(0.0, 1.0)  # (n, 784)


def _history_dict(trainer: GANTrainer) -> dict[str, np.ndarray]:
    return {"step": trainer.history.steps, **trainer.history.stats}


def run_mnist(cfg: MnistConfig, out: str | Path | None = None) -> dict[str, Any]:
    """Train ``cfg`` (continuing ``out`` if it holds a checkpoint and ``cfg.resume``); returns
    the summary. Writes config.json, grid_epoch_NNN.png and grids.npy, checkpoint.pt (every
    epoch), metrics.csv, curves.png, training.gif, samples.npy ((n_samples, 784) in [0, 1]) and
    summary.json, all atomically.

    Raises:
        TrainingDiverged: naming the step; the last epoch's checkpoint is kept.
    """
    out = Path(out or cfg.resume or cfg.out)
    io.ensure_writable_dir(out)
    trainer, per_epoch = build_trainer(cfg)
    fixed_z = trainer.prior.sample(
        cfg.grid**2, torch.Generator(trainer.device).manual_seed(cfg.seed + 1)
    )
    grids: list[np.ndarray] = []  # (grid**2, 784) per epoch, epoch 0 = untrained
    train_seconds = 0.0
    ckpt = out / "checkpoint.pt"
    if cfg.resume:
        if not ckpt.exists():
            raise UsageError("--resume", f"no checkpoint.pt in {out}")
        state = torch.load(ckpt, map_location=trainer.device, weights_only=False)
        trainer.load_state_dict(state["trainer"])
        trainer.history.extend(state["history"]["step"], state["history"]["values"])
        grids = list(np.load(out / "grids.npy"))[: trainer.step // per_epoch + 1]
        train_seconds = state["train_seconds"]
    io.write_json(out / "config.json", cfg.to_dict())
    t_start = time.perf_counter()
    callback_seconds = 0.0

    def on_epoch(tr: GANTrainer, step: int) -> None:
        nonlocal callback_seconds
        t0 = time.perf_counter()
        epoch = step // per_epoch
        with torch.no_grad():
            tr.G.eval()
            lo, hi = OUTPUT_RANGES[tr.G.output]
            grid = ((tr.G(fixed_z).float() - lo) / (hi - lo)).clamp_(0, 1).cpu().numpy()
            tr.G.train()
        grids.append(grid)
        plots_mnist.save_grid(grid, out / f"grid_epoch_{epoch:03d}.png", f"epoch {epoch}")
        io.save_npy(out / "grids.npy", np.stack(grids))
        h = tr.history
        io.save_torch(
            ckpt,
            {
                "trainer": tr.state_dict(),
                "history": {"step": h.steps, "values": np.stack(list(h.stats.values()), 1)},
                "train_seconds": train_seconds + time.perf_counter() - t_start - callback_seconds,
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
                desc=f"mnist {cfg.preset} {cfg.objective}",
            )
        except TrainingDiverged as err:
            io.write_csv(out / "metrics.csv", trainer.history.rows())
            kept = (len(grids) - 1) * per_epoch
            raise TrainingDiverged(
                err.step, f"{err.name} (checkpoint of step {kept} kept)"
            ) from None
    train_seconds += time.perf_counter() - t_start - callback_seconds
    steps = cfg.epochs * per_epoch
    images = steps * cfg.k_steps * trainer.batch_size  # real images D has seen
    samples = generate(trainer, cfg.n_samples, cfg.seed + 2).cpu().numpy()
    io.save_npy(out / "samples.npy", samples.astype(np.float32))
    io.write_csv(out / "metrics.csv", trainer.history.rows())
    plots_mnist.save_curves(_history_dict(trainer), per_epoch, out / "curves.png")
    plots_mnist.save_gif(np.stack(grids), list(range(len(grids))), out / "training.gif")
    last = {k: float(v[-per_epoch:].mean()) for k, v in trainer.history.stats.items()}
    summary = {
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


def main(argv: list[str] | None = None) -> int:
    """``python -m toygan.run --dataset mnist ...``: train, write outputs, print the summary."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = OneLineParser(prog="toygan mnist", description=__doc__.splitlines()[0])
    add_dataclass_arguments(
        parser,
        MnistConfig,
        choices={
            "dataset": ["mnist"],
            "preset": sorted(presets.PRESETS),
            "objective": sorted(OBJECTIVES),
            "split": ["train", "test"],
            "device": ["auto", "cpu", "cuda"],
            "amp": list(AMP),
        },
    )
    ns = parser.parse_args(argv)

    def body() -> int:
        cfg = MnistConfig(**vars(ns))
        if cfg.resume:
            path = Path(cfg.resume) / "config.json"
            if not path.exists():
                raise UsageError("--resume", f"no config.json in {cfg.resume}")
            stored = MnistConfig.from_dict(json.loads(path.read_text()))
            extend = any(a == "--epochs" or a.startswith("--epochs=") for a in argv)
            stored.epochs = cfg.epochs if extend else stored.epochs
            stored.resume, stored.progress, stored.device = cfg.resume, cfg.progress, cfg.device
            cfg = stored
        validate(cfg)
        writable_dir(cfg.resume or cfg.out, "resume" if cfg.resume else "out")
        try:
            summary = run_mnist(cfg)
        except MnistError as err:
            raise UsageError("--data-dir", str(err)) from None
        except TrainingDiverged as err:
            sys.stderr.write(f"toygan mnist: {err}\n")
            return 1
        except ValueError as err:  # e.g. --device cuda without CUDA
            raise UsageError("--device" if "device" in str(err) else "config", str(err)) from None
        keys = ("epochs", "steps", "train_seconds", "images_per_second", "device")
        print(", ".join(f"{k}={summary[k]}" for k in keys) + f" -> {cfg.resume or cfg.out}")
        return 0

    return run_cli("toygan mnist", body)


if __name__ == "__main__":
    raise SystemExit(main())
