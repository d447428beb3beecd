"""Validation-Parzen monitoring of an MNIST run: every N epochs, parzen.csv and best.pt.

Every ``parzen_every`` epochs the callback draws 10,000 samples from G (a fixed noise seed, so
epochs are compared on the same z), chooses sigma from ``logspace(-1, 0, 10)`` by the mean
log-likelihood of the validation images (train[50000:51000] for a run on the train split) and
appends (epoch, sigma, valid_ll, seconds) to ``parzen.csv``; ``best.pt`` holds G's weights of the
best epoch so far. A G whose dropout is part of its sampling noise (``intrinsic_dropout``, the
``mirza2014`` CGAN) is also measured without it (column ``valid_ll_no_dropout``; ``valid_ll``,
which picks ``best.pt``, is the preset's own way of sampling). This is the *validation* half of
the paper's protocol (parzen_ll.py), run in full: it picks the epoch, never the test set.
``--resume`` continues it: rows of epochs past the checkpoint are dropped (their epochs are
trained again, identically).
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from toygan import io
from toygan.mnist.data import to_pixels
from toygan.mnist.parzen import SIGMAS, choose_sigma, held_out
from toygan.mnist.sampling import generate

N_SAMPLES = 10_000  # generator samples per evaluation (parzen_ll.py's default)


@dataclass
class ParzenMonitor:
    """``monitor(trainer, step)``: a ``GANTrainer`` callback, active every ``every`` epochs."""

    out: Path
    every: int  # epochs between evaluations
    per_epoch: int  # iterations per epoch
    valid: torch.Tensor  # (m, 784) validation images in [0, 1], on the training device
    valid_name: str
    seed: int  # noise seed of the samples (the same every evaluation)
    n_samples: int = N_SAMPLES
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def best(self) -> dict[str, Any] | None:
        return max(self.rows, key=lambda r: r["valid_ll"], default=None)

    def resume(self, epoch: int) -> None:
        """Keep the rows of parzen.csv up to ``epoch`` (the checkpoint's)."""
        path = self.out / "parzen.csv"
        if path.exists():
            with path.open(newline="") as f:
                rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]
            self.rows = [r | {"epoch": int(r["epoch"])} for r in rows if r["epoch"] <= epoch]

    def __call__(self, trainer, step: int) -> None:
        epoch = step // self.per_epoch
        if epoch == 0 or epoch % self.every or any(r["epoch"] == epoch for r in self.rows):
            return
        t0 = time.perf_counter()
        samples = generate(trainer, self.n_samples, self.seed)  # (n, 784); CGAN: 0-9 in turn
        sigma, valid_ll = choose_sigma(samples, self.valid, SIGMAS)
        row = {"epoch": epoch, "sigma": sigma, "valid_ll": float(valid_ll.max())}
        if getattr(trainer.G, "intrinsic_dropout", False):  # also G sampled without its dropout
            trainer.G.intrinsic_dropout = False
            try:
                samples = generate(trainer, self.n_samples, self.seed)
            finally:
                trainer.G.intrinsic_dropout = True
            row["valid_ll_no_dropout"] = float(choose_sigma(samples, self.valid, SIGMAS)[1].max())
        best = self.best
        self.rows.append(row | {"seconds": round(time.perf_counter() - t0, 2)})
        if best is None or row["valid_ll"] > best["valid_ll"]:
            io.save_torch(
                self.out / "best.pt",
                {
                    "generator": {k: v.cpu() for k, v in trainer.G.state_dict().items()},
                    **row,
                    "valid": self.valid_name,
                    "n_samples": self.n_samples,
                },
            )
        io.write_csv(self.out / "parzen.csv", self.rows)


def for_run(cfg: Any, out: Path, trainer, per_epoch: int) -> ParzenMonitor | None:
    """The monitor of an MNIST run config (``parzen_every``; None when 0), resumed from its
    checkpoint's epoch."""
    if not getattr(cfg, "parzen_every", 0):
        return None
    valid8, valid_name, *_ = held_out(cfg, cfg.data_dir or None)
    valid = to_pixels(valid8, (0.0, 1.0), trainer.device)  # (1000, 784)
    monitor = ParzenMonitor(
        Path(out), cfg.parzen_every, per_epoch, valid, valid_name, cfg.seed + 3, N_SAMPLES
    )
    monitor.resume(trainer.step // per_epoch)
    return monitor
