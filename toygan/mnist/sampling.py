"""Drawing from a trained MNIST model of any kind: its noise (with the labels or c_1 values asked
for, CGAN and InfoGAN) and its samples as pixels in [0, 1], in eval mode, from a dedicated RNG.

Conditional models are asked for every digit in turn: sample i is drawn for label i % 10 (a
grid: row r for label r % 10, every row with the same noise vectors, one column per noise).
"""

from __future__ import annotations

import torch

from toygan.game import parts
from toygan.mnist.data import OUTPUT_RANGES
from toygan.mnist.presets import N_CLASSES


def requested_labels(n: int, device, per_row: int = 1) -> torch.Tensor:
    """Labels 0, 1, ..., 9, 0, ... (each repeated ``per_row`` times) for n conditional samples."""
    return torch.arange(n, device=device).div(per_row, rounding_mode="floor") % N_CLASSES


def sample_noise(trainer, n: int, rng: torch.Generator, per_row: int = 0):
    """n noise inputs of the run's prior. CGAN and InfoGAN ask for labels / c_1 values 0-9 in
    turn (``requested_labels``); with ``per_row`` (a grid), row r asks for r % 10 and every row
    shares the same ``per_row`` noise vectors (and continuous codes): one column per noise."""
    model = trainer.game.name
    if model not in ("cgan", "infogan"):
        return trainer.prior.sample(n, rng)
    labels = requested_labels(n, trainer.device, per_row or 1)
    if model == "cgan":
        z, y = trainer.prior.sample(per_row or n, rng, labels=labels[: per_row or n])
        return (z.repeat(n // per_row, 1) if per_row else z), labels
    latent = trainer.prior.sample(per_row or n, rng)  # (per_row or n, dim)
    if per_row:
        latent = latent.repeat(n // per_row, 1)
    noise_dim = trainer.game.noise_dim
    one_hot = torch.nn.functional.one_hot(labels, N_CLASSES).to(latent.dtype)
    latent[:, noise_dim : noise_dim + N_CLASSES] = one_hot
    return latent


@torch.no_grad()
def generate(trainer, n: int, seed: int, chunk: int = 1000, noise=None) -> torch.Tensor:
    """``n`` samples (n, 784) in [0, 1] from a dedicated RNG (the training RNG is untouched);
    CGAN / InfoGAN: for labels / c_1 = 0, 1, ..., 9, 0, ... (``sample_noise``); or of ``noise``."""
    rng = torch.Generator(trainer.device).manual_seed(seed)
    lo, hi = OUTPUT_RANGES[trainer.G.output]
    was_training = trainer.G.training
    trainer.G.eval()
    noise = sample_noise(trainer, n, rng) if noise is None else noise
    chunks = zip(*(t.split(chunk) for t in parts(noise)), strict=True)
    out = torch.cat([trainer.generate(c if len(c) > 1 else c[0]) for c in chunks])
    trainer.G.train(was_training)
    return ((out.float() - lo) / (hi - lo)).clamp_(0.0, 1.0)  # (n, 784)
