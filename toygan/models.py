"""Networks and the noise prior: MLP generators and discriminators (D returns logits).

The generator maps noise z ~ p_z of shape (batch, noise_dim) to samples of shape
(batch, data_dim); the discriminator maps samples to *logits* of shape (batch, 1), never to
probabilities: every loss is a function of logits (see ``toygan.objectives``).

Besides ``forward`` (autograd), each network has ``forward_cached`` / ``backward_cached``: the
same forward pass without autograd, and its backward pass written out (weight gradient
g^T x, bias gradient sum g, input gradient g W, activation derivatives from ATen's own backward
kernels). For networks this small a step is all per-operation overhead, and this path skips
autograd's graph building and bookkeeping: the engine uses it when it can (``cached_backward``)
and the tests check it against autograd.

Two layer types of the 2D mode-collapse benchmarks (PacGAN, Lin et al. 2018) are options of the
same MLP, trained through autograd: ``batch_norm`` (each hidden layer Linear without bias ->
``PopulationBatchNorm`` -> activation, as PacGAN's G) and ``pieces`` (maxout: each hidden unit
the maximum of ``pieces`` linear units, Goodfellow et al. 2013, as PacGAN's D).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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

_aten = torch.ops.aten
# d act / d pre-activation applied to an upstream gradient: f(grad, pre, post) -> grad wrt pre
ACTIVATION_GRADS: dict[str, Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "relu": lambda g, pre, post: _aten.threshold_backward(g, post, 0),
    "leaky_relu": lambda g, pre, post: _aten.leaky_relu_backward(g, pre, 0.2, False),
    "tanh": lambda g, pre, post: _aten.tanh_backward(g, post),
    "elu": lambda g, pre, post: _aten.elu_backward(g, 1.0, 1, 1, False, pre),
    "gelu": lambda g, pre, post: _aten.gelu_backward(g, pre),
    "silu": lambda g, pre, post: _aten.silu_backward(g, pre),
    "softplus": lambda g, pre, post: _aten.softplus_backward(g, pre, 1, 20),
}

OUTPUTS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "linear": lambda x: x,
    "tanh": torch.tanh,  # samples in [-1, 1]
    "sigmoid": torch.sigmoid,  # samples in [0, 1] (the generator's pixels, never D's output)
}

OUTPUT_GRADS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "linear": lambda g, out: g,
    "tanh": lambda g, out: _aten.tanh_backward(g, out),
    "sigmoid": lambda g, out: _aten.sigmoid_backward(g, out),
}

PRIORS = ("gaussian", "uniform")


def _grad_buffer(p: nn.Parameter) -> torch.Tensor:
    """``p.grad``, allocated once and then overwritten in place by ``backward_cached``.

    Reusing the buffer matters for large layers: a fresh 3 MB gradient every step costs page
    faults that can take longer than the matrix product that fills it.
    """
    if p.grad is None or p.grad.shape != p.shape:
        p.grad = torch.empty_like(p, memory_format=torch.contiguous_format)
    return p.grad


def linear(x: torch.Tensor, layer: nn.Linear) -> torch.Tensor:
    """x W^T + b (batch, out) for ``layer`` (W: (out, in); b may be None).

    On CPU, weights of 2^16 entries or more: computed as (W x^T + b)^T and made contiguous. MKL
    multiplies a small batch by a large transposed W up to twice as slowly as W by x^T; the
    copy costs less than what a transposed layout would cost every elementwise operation that
    meets it downstream (mixed layouts leave the vectorised kernels: 20x slower).
    """
    w = layer.weight
    if w.numel() >= 1 << 16 and w.device.type == "cpu" and x.dim() == 2:
        if layer.bias is None:
            return torch.mm(w, x.t()).t().contiguous()  # (batch, out)
        return torch.addmm(layer.bias[:, None], w, x.t()).t().contiguous()  # (batch, out)
    return F.linear(x, w, layer.bias)


def dropout_mask(x: torch.Tensor, p: float) -> torch.Tensor:
    """Inverted-dropout mask shaped like x: 0 with probability p, else 1/(1-p) (global RNG).

    Uniforms compared with 1 - p: on CPU about twice as fast as ``F.dropout``'s Bernoulli
    draws, and the same mask serves the autograd and the analytic backward pass.
    """
    keep = 1.0 - p
    return torch.rand(x.shape, device=x.device).lt_(keep).to(x.dtype).div_(keep)


class PopulationBatchNorm(nn.Module):
    """Batch normalisation (Ioffe & Szegedy 2015) as the blocks library computes it, the one
    PacGAN's generator uses: in training, (h - mean) / sqrt(var + eps) over the batch (biased
    variance, eps inside the root), then scale and shift (init 1 and 0); the population mean and
    *standard deviation* (init 0 and 1) move as 0.95 old + 0.05 batch (``momentum``) at every
    call in training mode, and normalise in eval mode, (h - mean) / stdev.

    Takes (batch, features) or member-batched (S, batch, features) activations (statistics over
    the batch axis, -2); its parameters and buffers are (features,) or (S, 1, features).
    """

    def __init__(self, features: int, momentum: float = 0.05, eps: float = 1e-4) -> None:
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.weight = nn.Parameter(torch.ones(features))
        self.bias = nn.Parameter(torch.zeros(features))
        self.register_buffer("running_mean", torch.zeros(features))
        self.register_buffer("running_std", torch.ones(features))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if self.training:
            mean = h.mean(-2, keepdim=True)  # (1, F) or (S, 1, F)
            std = (h - mean).square().mean(-2, keepdim=True).add(self.eps).sqrt()
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean.detach().reshape_as(self.running_mean))
                self.running_std.mul_(1 - m).add_(m * std.detach().reshape_as(self.running_std))
        else:
            shape = (1, -1) if self.running_mean.dim() == 1 else self.running_mean.shape
            mean, std = self.running_mean.view(shape), self.running_std.view(shape)
        return (h - mean) / std * self.weight + self.bias


class MLP(nn.Module):
    """Hidden layers with ``activation`` (and dropout), then a linear layer.

    ``width`` is the number of units of each of the ``depth`` hidden layers, or a sequence of
    widths, one per hidden layer (``depth`` is then ignored). ``batch_norm``: each hidden layer
    is Linear without bias -> ``PopulationBatchNorm`` -> activation. ``pieces`` > 1: each
    hidden unit is a maxout unit, the maximum of ``pieces`` linear units (the activation is then
    unused; ``Linear(in, width * pieces)`` holds unit j's pieces in columns j * pieces ...
    j * pieces + pieces - 1, as blocks' ``LinearMaxout``).

    The forward pass calls ``linear`` on each layer's weights directly: for toygan's small
    networks the per-submodule call overhead of ``nn.Sequential`` is a visible part of a step.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        width: int | Sequence[int] = 32,
        depth: int = 2,
        activation: str = "relu",
        dropout: float = 0.0,
        *,
        batch_norm: bool = False,
        pieces: int = 1,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; choose from {sorted(ACTIVATIONS)}"
            )
        widths = [width] * depth if isinstance(width, int) else list(width)
        if depth < 0 or any(w <= 0 for w in widths):
            raise ValueError(f"widths must be > 0 and depth >= 0, got {width=}, {depth=}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if pieces < 1:
            raise ValueError(f"maxout pieces must be >= 1, got {pieces}")
        dims = [in_dim, *widths]
        self.layers = nn.ModuleList(
            nn.Linear(a, b * pieces, bias=not batch_norm) for a, b in pairwise(dims)
        )
        self.layers.append(nn.Linear(dims[-1], out_dim))
        self.norms = nn.ModuleList(PopulationBatchNorm(w) for w in widths) if batch_norm else None
        self.activation, self.dropout, self.pieces = activation, dropout, pieces
        self.widths = widths
        self._act = ACTIVATIONS[activation]

    @property
    def cached_backward(self) -> bool:
        """True when ``forward_cached`` / ``backward_cached`` compute this network (no batch
        norm, no maxout): the engine's analytic fast path."""
        return self.norms is None and self.pieces == 1

    def hidden(self, j: int, h: torch.Tensor) -> torch.Tensor:
        """Hidden layer j after its linear map: batch norm, then maxout or the activation."""
        if self.norms is not None:
            h = self.norms[j](h)
        if self.pieces > 1:
            return h.unflatten(-1, (-1, self.pieces)).max(-1).values  # (..., width)
        return self._act(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        *hidden, last = self.layers
        for j, layer in enumerate(hidden):
            x = self.hidden(j, linear(x, layer))  # (batch, width)
            if self.dropout and self.training:
                x = x * dropout_mask(x, self.dropout)
        return linear(x, last)  # (batch, out_dim)

    @torch.no_grad()
    def forward_cached(self, x: torch.Tensor) -> tuple[torch.Tensor, list]:
        """``forward`` without autograd: (output (batch, out_dim), cache for backward_cached).

        The cache holds each layer's input and, after hidden layers, (pre-activation,
        activation, dropout mask or None). Dropout masks are ``forward``'s: the same global RNG
        draws, so both passes train alike.
        """
        self._check_cached()
        cache = []
        *hidden, last = self.layers
        for layer in hidden:
            pre = linear(x, layer)  # (batch, width)
            post = self._act(pre)
            mask = None
            if self.dropout and self.training:
                mask = dropout_mask(post, self.dropout)
            cache.append((x, (pre, post, mask)))
            x = post if mask is None else post * mask
        cache.append((x, None))
        return linear(x, last), cache  # (batch, out_dim)

    def _check_cached(self) -> None:
        if not self.cached_backward:
            raise ValueError("forward_cached/backward_cached cover plain MLPs only (no batch "
                             "norm, no maxout); use autograd")  # fmt: skip

    @torch.no_grad()
    def backward_cached(
        self, cache: list, grad: torch.Tensor, *, params: bool = True, inputs: bool = False
    ) -> torch.Tensor | None:
        """Backpropagate ``grad`` (batch, out_dim) through the pass that made ``cache``.

        ``params``: write the weight and bias gradients into ``.grad`` (overwriting it, unlike
        autograd, which accumulates); ``inputs``: return the gradient with respect to the input
        (batch, in_dim), else None.
        """
        act_grad = ACTIVATION_GRADS[self.activation]
        for j in reversed(range(len(self.layers))):
            layer, (x, act) = self.layers[j], cache[j]
            if act is not None:  # a hidden layer: through dropout, then the activation
                pre, post, mask = act
                grad = act_grad(grad if mask is None else grad * mask, pre, post)
            if params:
                torch.mm(grad.t(), x, out=_grad_buffer(layer.weight))  # (out, in)
                torch.sum(grad, 0, out=_grad_buffer(layer.bias))  # (out,)
            if j == 0 and not inputs:
                return None
            grad = torch.mm(grad, layer.weight)  # (batch, in)
        return grad


class Generator(nn.Module):
    """x = G(z): an MLP from noise (batch, noise_dim) to samples (batch, data_dim)."""

    def __init__(
        self,
        noise_dim: int = 1,
        data_dim: int = 1,
        width: int | Sequence[int] = 32,
        depth: int = 2,
        activation: str = "relu",
        output: str = "linear",
        *,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"unknown output {output!r}; choose from {sorted(OUTPUTS)}")
        self.noise_dim, self.data_dim = noise_dim, data_dim
        self.output = output
        self.net = MLP(noise_dim, data_dim, width, depth, activation, batch_norm=batch_norm)
        self._out = OUTPUTS[output]

    @property
    def cached_backward(self) -> bool:
        return self.net.cached_backward

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self._out(self.net(z))  # (batch, noise_dim) -> (batch, data_dim)

    @torch.no_grad()
    def forward_cached(self, z: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        """``forward`` without autograd, and the cache ``backward_cached`` needs."""
        h, cache = self.net.forward_cached(z)
        x = self._out(h)  # (batch, data_dim)
        return x, (cache, x)

    def backward_cached(self, cache: tuple, grad: torch.Tensor, **kw) -> torch.Tensor | None:
        """Backpropagate dL/dx (batch, data_dim); see ``MLP.backward_cached``."""
        net_cache, x = cache
        return self.net.backward_cached(net_cache, OUTPUT_GRADS[self.output](grad, x), **kw)


class Discriminator(nn.Module):
    """l = D(x): an MLP from samples (batch, data_dim) to logits (batch, 1); D(x) = sigmoid(l)."""

    def __init__(
        self,
        data_dim: int = 1,
        width: int | Sequence[int] = 32,
        depth: int = 2,
        activation: str = "relu",
        dropout: float = 0.0,
        *,
        pieces: int = 1,
    ) -> None:
        super().__init__()
        self.data_dim = data_dim
        self.net = MLP(data_dim, 1, width, depth, activation, dropout, pieces=pieces)

    @property
    def cached_backward(self) -> bool:
        return self.net.cached_backward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))  # (batch, data_dim) -> (batch, 1) logits

    @torch.no_grad()
    def forward_cached(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        """``forward`` without autograd, and the cache ``backward_cached`` needs."""
        logits, cache = self.net.forward_cached(x.flatten(1))
        return logits, (cache, x.shape)

    def backward_cached(self, cache: tuple, grad: torch.Tensor, **kw) -> torch.Tensor | None:
        """Backpropagate dL/dl (batch, 1); an input gradient comes back in x's shape."""
        net_cache, shape = cache
        grad_x = self.net.backward_cached(net_cache, grad, **kw)
        return None if grad_x is None else grad_x.view(shape)


INITS = ("torch", "normal", "orthogonal")


@torch.no_grad()
def initialise(net: nn.Module, init: str) -> nn.Module:
    """Re-initialise every ``nn.Linear`` of ``net`` in place (from the global RNG, in module
    order) and return it: ``"torch"`` leaves PyTorch's default; ``"normal"`` draws weights from
    N(0, 0.02^2) with zero biases (PacGAN's ``IsotropicGaussian(0.02)``, ``Constant(0)``);
    ``"orthogonal"`` draws orthogonal weights with gain 1.4 and zero biases (the Unrolled GAN
    notebook's ``tf.orthogonal_initializer(gain=1.4)``, slim's zero biases). Batch norm keeps
    its scale 1 and shift 0."""
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose from {list(INITS)}")
    if init == "torch":
        return net
    for m in net.modules():
        if isinstance(m, nn.Linear):
            if init == "normal":
                nn.init.normal_(m.weight, 0.0, 0.02)
            else:
                nn.init.orthogonal_(m.weight, gain=1.4)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net


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
