"""MNIST presets: the networks, optimisers and schedules of two well-known setups.

- ``goodfellow2014``: the original code of Goodfellow et al. 2014 (goodfeli/adversarial,
  mnist.yaml): G 100 -> ReLU 1200 -> ReLU 1200 -> sigmoid 784; D maxout 240x5 -> maxout 240x5 ->
  logit, dropout (keep 0.8 on the input, 0.5 on hidden layers); SGD, batch 100, learning rate 0.1
  divided by 1.000004 per update (floor 1e-6), momentum 0.5 rising linearly to 0.7 over epochs
  1-250; k = 1. Not reproduced: pylearn2's weight init and max-column-norm constraint (PyTorch
  default init here).
- ``modern``: the popular seed-style MLP GAN (VanillaGAN_PyTorch): G 100 -> 256 -> 512 -> 1024 ->
  tanh 784, D 784 -> 1024 -> 512 -> 256 -> logit, LeakyReLU(0.2), dropout 0.3 in D; Adam,
  beta1 = 0.5. Tuned for short CPU runs: batch 16 and learning rate 5e-4 (the seed code's 32 and
  2e-4 give noise-like blobs after 5 epochs of a 9,000-image subset; 16 and 5e-4 give 2,810
  updates and recognisable digits).

D returns logits in both; either objective works with either preset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from toygan.engine import make_optimizer
from toygan.models import Discriminator, Generator

IMAGE_DIM = 784  # 28 x 28 pixels, flattened


class Maxout(nn.Module):
    """Maxout (Goodfellow et al. 2013): ``units`` outputs, each the max of ``pieces`` affines."""

    def __init__(self, in_dim: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_dim, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.linear(x)  # (batch, units * pieces)
        return h.view(len(x), self.units, self.pieces).amax(-1)  # (batch, units)


class MaxoutDiscriminator(nn.Module):
    """D of the 2014 MNIST experiment: two maxout layers with dropout; returns logits (batch, 1)."""

    def __init__(
        self,
        in_dim: int = IMAGE_DIM,
        units: int = 240,
        pieces: int = 5,
        input_dropout: float = 0.2,
        hidden_dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.h0 = Maxout(in_dim, units, pieces)
        self.h1 = Maxout(units, units, pieces)
        self.out = nn.Linear(units, 1)
        self.input_dropout, self.hidden_dropout = input_dropout, hidden_dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.dropout(x.flatten(1), self.input_dropout, self.training)  # (batch, 784)
        x = F.dropout(self.h0(x), self.hidden_dropout, self.training)  # (batch, units)
        x = F.dropout(self.h1(x), self.hidden_dropout, self.training)  # (batch, units)
        return self.out(x)  # (batch, 1) logits


class GoodfellowSchedule:
    """The 2014 code's schedules, stepped once per iteration (pylearn2 ExponentialDecay and
    MomentumAdjustor): lr_t = max(lr0 / decay^t, min_lr); momentum rises linearly from
    ``momentum0`` at epoch ``start`` to ``momentum1`` at epoch ``saturate``."""

    def __init__(
        self,
        optimizers: Sequence[torch.optim.Optimizer],
        steps_per_epoch: int,
        lr0: float = 0.1,
        decay: float = 1.000004,
        min_lr: float = 1e-6,
        momentum0: float = 0.5,
        momentum1: float = 0.7,
        start: int = 1,
        saturate: int = 250,
    ) -> None:
        self.optimizers, self.steps_per_epoch = list(optimizers), steps_per_epoch
        self.lr0, self.decay, self.min_lr = lr0, decay, min_lr
        self.momentum0, self.momentum1, self.start, self.saturate = (
            momentum0,
            momentum1,
            start,
            saturate,
        )
        self.t = 0  # iterations done
        self._apply()

    def lr(self) -> float:
        return max(self.lr0 / self.decay**self.t, self.min_lr)

    def momentum(self) -> float:
        epoch = self.t // self.steps_per_epoch  # epochs completed
        frac = min(max((epoch - self.start) / (self.saturate - self.start), 0.0), 1.0)
        return self.momentum0 + frac * (self.momentum1 - self.momentum0)

    def _apply(self) -> None:
        lr, momentum = self.lr(), self.momentum()
        for opt in self.optimizers:
            for group in opt.param_groups:
                group["lr"], group["momentum"] = lr, momentum

    def step(self) -> None:
        self.t += 1
        self._apply()

    def state_dict(self) -> dict:
        return {"t": self.t}

    def load_state_dict(self, state: dict) -> None:
        self.t = int(state["t"])
        self._apply()


@dataclass(frozen=True)
class Preset:
    """What a preset fixes: batch size, noise dimension, learning rate and optimiser."""

    name: str
    batch_size: int
    noise_dim: int
    lr: float
    optimizer: str  # sgd | adam
    output: str  # generator output: sigmoid -> pixels in [0, 1], tanh -> [-1, 1]


PRESETS = {
    "goodfellow2014": Preset("goodfellow2014", 100, 100, 0.1, "sgd", "sigmoid"),
    "modern": Preset("modern", 16, 100, 5e-4, "adam", "tanh"),
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}") from None


def build_models(name: str, device: torch.device | str = "cpu") -> tuple[nn.Module, nn.Module]:
    """(G, D) of preset ``name`` on ``device``; initialised from the global torch RNG."""
    p = get_preset(name)
    if name == "goodfellow2014":
        G = Generator(p.noise_dim, IMAGE_DIM, 1200, 2, "relu", p.output)
        D: nn.Module = MaxoutDiscriminator()
    else:
        G = Generator(p.noise_dim, IMAGE_DIM, [256, 512, 1024], 0, "leaky_relu", p.output)
        D = Discriminator(IMAGE_DIM, [1024, 512, 256], 0, "leaky_relu", dropout=0.3)
    return G.to(device), D.to(device)


def build_optimizers(
    name: str, G: nn.Module, D: nn.Module, steps_per_epoch: int, lr: float | None = None
) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer, list]:
    """(g_opt, d_opt, schedulers) of preset ``name``; ``lr`` overrides the preset's."""
    p = get_preset(name)
    lr = lr or p.lr
    if p.optimizer == "sgd":
        g_opt = make_optimizer(G.parameters(), "sgd", lr, momentum=0.5)
        d_opt = make_optimizer(D.parameters(), "sgd", lr, momentum=0.5)
        return g_opt, d_opt, [GoodfellowSchedule([g_opt, d_opt], steps_per_epoch, lr0=lr)]
    g_opt = make_optimizer(G.parameters(), "adam", lr, betas=(0.5, 0.999))
    d_opt = make_optimizer(D.parameters(), "adam", lr, betas=(0.5, 0.999))
    return g_opt, d_opt, []
