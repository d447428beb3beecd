"""Drawing from a trained MNIST model of any kind: its noise (with the labels or c_1 values asked
for, CGAN and InfoGAN) and its samples as pixels in [0, 1], in eval mode, from a dedicated RNG.
A G whose dropout is part of its noise (``intrinsic_dropout``, the ``mirza2014`` CGAN) draws its
masks from the global RNG, forked and seeded for the draw (``seeded``): the same seed gives the
same samples and training's random stream is left as it was.

Conditional models are asked for every digit in turn: sample i is drawn for label i % 10 (a
grid: row r for label r % 10, every row with the same noise vectors, one column per noise).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from toygan.game import parts
from toygan.mnist.data import OUTPUT_RANGES
from toygan.mnist.presets import N_CLASSES


@contextmanager
def seeded(seed: int, device: torch.device | str) -> Iterator[None]:
    """The global RNG (CPU, and ``device`` if CUDA) seeded with ``seed`` inside the block and
    restored after it (``torch.random.fork_rng``): G's intrinsic dropout masks at sampling."""
    device = torch.device(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


def requested_labels(n: int, device, per_row: int = 1) -> torch.Tensor:
    """Labels 0, 1, ..., 9, 0, ... (each repeated ``per_row`` times) for n conditional samples."""
    return torch.arange(n, device=device).div(per_row, rounding_mode="floor") % N_CLASSES


def sample_noise(prior, game, n: int, rng: torch.Generator, per_row: int = 0):
    """n noise inputs of ``prior`` for ``game``, on ``rng``'s device. CGAN and InfoGAN ask for
    labels / c_1 values 0-9 in turn (``requested_labels``); with ``per_row`` (a grid), row r
    asks for r % 10 and every row shares the same ``per_row`` noise vectors (and continuous
    codes): one column per noise."""
    if game.name not in ("cgan", "infogan"):
        return prior.sample(n, rng)
    labels = requested_labels(n, rng.device, per_row or 1)
    if game.name == "cgan":
        z, y = prior.sample(per_row or n, rng, labels=labels[: per_row or n])
        return (z.repeat(n // per_row, 1) if per_row else z), labels
    latent = prior.sample(per_row or n, rng)  # (per_row or n, dim)
    if per_row:
        latent = latent.repeat(n // per_row, 1)
    noise_dim = game.noise_dim
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
    noise = sample_noise(trainer.prior, trainer.game, n, rng) if noise is None else noise
    with seeded(seed, trainer.device):
        out = in_chunks(trainer.generate, noise, chunk)  # (n, 784) in G's output range
    trainer.G.train(was_training)
    return ((out.float() - lo) / (hi - lo)).clamp_(0.0, 1.0)  # (n, 784)


def in_chunks(fn, noise, chunk: int = 1000) -> torch.Tensor:
    """``fn`` of a noise batch (a tensor or a tuple of tensors, e.g. CGAN's (z, y)) applied
    ``chunk`` rows at a time, the outputs concatenated."""
    pieces = zip(*(t.split(chunk) for t in parts(noise)), strict=True)
    return torch.cat([fn(c if len(c) > 1 else c[0]) for c in pieces])
