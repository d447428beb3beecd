"""Networks and the noise prior: MLP generators and discriminators (D returns logits).

The generator maps noise z ~ p_z of shape (batch, noise_dim) to samples of shape
(batch, data_dim); the discriminator maps samples to *logits* of shape (batch, 1), never to
probabilities: every loss is a function of logits (see ``toygan.objectives``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu,
    "leaky_relu": partial(F.leaky_relu, negative_slope=0.2),
    "tanh": torch.tanh,
    "elu": F.elu,
    "gelu": F.gelu,
    "silu": F.silu,
    "softplus": F.softplus,
}

OUTPUTS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "linear": lambda x: x,
    "tanh": torch.tanh,  # samples in [-1, 1]
    "sigmoid": torch.sigmoid,  # samples in [0, 1] (the generator's pixels, never D's output)
}

PRIORS = ("gaussian", "uniform")


class MLP(nn.Module):
    """``depth`` hidden layers of ``width`` units with ``activation``, then a linear layer.

    The forward pass calls ``F.linear`` on each layer's weights directly: for toygan's small
    networks the per-submodule call overhead of ``nn.Sequential`` is a visible part of a step.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        width: int = 32,
        depth: int = 2,
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; choose from {sorted(ACTIVATIONS)}"
            )
        if width <= 0 or depth < 0:
            raise ValueError(f"width must be > 0 and depth >= 0, got {width=}, {depth=}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        dims = [in_dim] + [width] * depth + [out_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(dims))
        self.activation, self.dropout = activation, dropout
        self._act = ACTIVATIONS[activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        *hidden, last = self.layers
        for layer in hidden:
            x = self._act(F.linear(x, layer.weight, layer.bias))  # (batch, width)
            if self.dropout:
                x = F.dropout(x, self.dropout, self.training)
        return F.linear(x, last.weight, last.bias)  # (batch, out_dim)


class Generator(nn.Module):
    """x = G(z): an MLP from noise (batch, noise_dim) to samples (batch, data_dim)."""

    def __init__(
        self,
        noise_dim: int = 1,
        data_dim: int = 1,
        width: int = 32,
        depth: int = 2,
        activation: str = "relu",
        output: str = "linear",
    ) -> None:
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"unknown output {output!r}; choose from {sorted(OUTPUTS)}")
        self.noise_dim, self.data_dim = noise_dim, data_dim
        self.output = output
        self.net = MLP(noise_dim, data_dim, width, depth, activation)
        self._out = OUTPUTS[output]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self._out(self.net(z))  # (batch, noise_dim) -> (batch, data_dim)


class Discriminator(nn.Module):
    """l = D(x): an MLP from samples (batch, data_dim) to logits (batch, 1); D(x) = sigmoid(l)."""

    def __init__(
        self,
        data_dim: int = 1,
        width: int = 32,
        depth: int = 2,
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.data_dim = data_dim
        self.net = MLP(data_dim, 1, width, depth, activation, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))  # (batch, data_dim) -> (batch, 1) logits


class NoisePrior:
    """p_z: standard Gaussian N(0, I) or uniform U(-1, 1)^dim noise of shape (n, dim)."""

    def __init__(self, dim: int = 1, kind: str = "gaussian") -> None:
        if kind not in PRIORS:
            raise ValueError(f"unknown prior {kind!r}; choose from {list(PRIORS)}")
        if dim <= 0:
            raise ValueError(f"noise dimension must be > 0, got {dim}")
        self.dim, self.kind = dim, kind

    def __repr__(self) -> str:
        return f"NoisePrior(dim={self.dim}, kind={self.kind!r})"

    def sample(
        self, n: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32
    ) -> torch.Tensor:
        """Draw ``n`` noise vectors, shape (n, dim), on ``generator``'s device."""
        device = generator.device if generator is not None else torch.device("cpu")
        if self.kind == "gaussian":
            return torch.randn(n, self.dim, generator=generator, device=device, dtype=dtype)
        u = torch.rand(n, self.dim, generator=generator, device=device, dtype=dtype)
        return u.mul_(2.0).sub_(1.0)  # (n, dim) in [-1, 1)
