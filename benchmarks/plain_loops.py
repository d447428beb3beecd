"""The baseline toygan is measured against: a plain, seed-style PyTorch 1D GAN loop.

Written the way popular tutorials write it (see REFERENCE.md, "Popular seed-style
implementations"): ``nn.Sequential`` models ending in ``nn.Sigmoid``, ``nn.BCELoss``, separate D
passes for real and fake, default ``torch.optim.Adam``, ``.item()`` on the losses every step. The
architecture and hyperparameters match ``ToyConfig``'s defaults (LeakyReLU(0.2), width 64, depth
2, Adam lr 1e-3 betas (0.5, 0.999), batch 128, k = 1, the same two-mode ``GaussianMixture``), so
a speed ratio against it measures the implementation, not the model. Never use this for results:
sigmoid + BCE is the numerically fragile pattern toygan avoids.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from toygan.toy.mixture import GaussianMixture


def _mlp(in_dim: int, out_dim: int, width: int, depth: int) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Linear(in_dim if i == 0 else width, width), nn.LeakyReLU(0.2)]
    return layers + [nn.Linear(width if depth else in_dim, out_dim)]


def plain_1d_steps_per_second(
    steps: int = 2000, batch: int = 128, width: int = 64, depth: int = 2, seed: int = 0
) -> float:
    """Train the plain loop for ``steps`` iterations on CPU; returns iterations per second."""
    torch.manual_seed(seed)
    data = GaussianMixture([-2.0, 2.0], [0.5, 0.5])
    G = nn.Sequential(*_mlp(1, 1, width, depth))
    D = nn.Sequential(*_mlp(1, 1, width, depth), nn.Sigmoid())
    g_opt = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    bce = nn.BCELoss()
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
    losses = []
    start = time.perf_counter()
    for _ in range(steps):
        real = data.sample(batch)  # (batch, 1)
        fake = G(torch.randn(batch, 1))  # (batch, 1)
        d_opt.zero_grad()
        d_loss = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        d_loss.backward()
        d_opt.step()
        g_opt.zero_grad()
        g_loss = bce(D(G(torch.randn(batch, 1))), ones)
        g_loss.backward()
        g_opt.step()
        losses.append((d_loss.item(), g_loss.item()))
    return steps / (time.perf_counter() - start)


if __name__ == "__main__":
    print(f"plain 1D loop: {plain_1d_steps_per_second():.0f} steps/s")
