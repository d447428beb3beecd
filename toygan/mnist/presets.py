"""MNIST presets: the networks, optimisers and schedules of two well-known setups.

- ``goodfellow2014``: the released code of Goodfellow et al. 2014 (goodfeli/adversarial:
  mnist.yaml, ``AdversaryCost2`` in __init__.py, run by pylearn2's SGD), read line by line:

  * noise z ~ U(-sqrt 3, sqrt 3)^100 (``noise: 'uniform'``: zero mean, unit variance);
  * G 100 -> ReLU 1200 -> ReLU 1200 -> sigmoid 784, every weight U(-0.05, 0.05) (``irange: .05``
    on all three layers), biases 0 except the output's: logit of each pixel's mean over the
    training images, the mean clipped to [1e-7, 1 - 1e-7] (pylearn2
    ``init_sigmoid_bias_from_marginals``); no dropout in G;
  * D maxout 240x5 -> maxout 240x5 -> logit, every weight U(-0.005, 0.005), biases 0; dropout
    keeps 0.8 of D's inputs (scale 1.25) and 0.5 of each hidden layer's (scale 2). No
    ``max_col_norm`` or other constraint anywhere in the yaml;
  * L_D = 1/2 (L_real + L_fake) (``d_obj = 0.5 * (...)``; ``d_loss_scale``), L_G = -log D(G(z))
    (non-saturating) on the same fake minibatch and dropout masks as D's fake pass; both
    gradients from that one pass and applied together (``update="simultaneous"``): the code
    does not alternate as the paper's Algorithm 1 does, and the code wins here;
  * SGD, batch 100, lr 0.1 divided by 1.000004 after every update (floor 1e-6); momentum 0.5,
    rising linearly to 0.7 over epochs 1-250 (pylearn2 ``MomentumAdjustor``: during epoch n,
    1-based, momentum = 0.5 + 0.2 min((n - 1) / 249, 1)).

  Where paper and code differ, the code is followed: the paper describes alternating k = 1
  updates and the full losses; the code uses simultaneous updates and a halved D loss.
  Not matched: pylearn2's momentum keeps lr inside the velocity (v = mu v - lr g) where PyTorch
  multiplies the buffer by the current lr; with lr changing by a factor 1.000004 per update the
  two differ by under 1e-5 relative. Random streams (Theano MRG vs torch) differ, of course.
- ``modern``: the popular seed-style MLP GAN (VanillaGAN_PyTorch): G 100 -> 256 -> 512 -> 1024 ->
  tanh 784, D 784 -> 1024 -> 512 -> 256 -> logit, LeakyReLU(0.2), dropout 0.3 in D; Adam,
  beta1 = 0.5. Tuned for short CPU runs: batch 16 and learning rate 5e-4 (the seed code's 32 and
  2e-4 give noise-like blobs after 5 epochs of a 9,000-image subset; 16 and 5e-4 give 2,810
  updates and recognisable digits).

- ``dcgan``: the 28 x 28 convolutional G and D of InfoGAN's released MNIST code without the Q
  head (``toygan.mnist.models``: batch norm, leaky slope 0.01, N(0, 0.02) init), trained as
  DCGAN (Radford et al. 2016) and that code train them: Adam(2e-4, beta1 0.5), batch 128,
  Algorithm 1 with k = 1, D called separately on the real and the fake minibatch (its batch norm
  sees each alone); noise U(-1, 1)^62 (the code's ``Uniform(62)``).

D returns logits in all three; every objective works with every preset.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from toygan.engine import make_optimizer
from toygan.mnist.models import DCGANDiscriminator, DCGANGenerator, dcgan_init_
from toygan.models import Discriminator, Generator, NoisePrior
from toygan.objectives import Objective, get_objective

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
        # pylearn2 counts on_monitor calls: one before training, one after each epoch, so
        # during the epoch after e completed ones its count is e + 1
        count = self.t // self.steps_per_epoch + 1
        frac = min(max((count - self.start) / (self.saturate - self.start), 0.0), 1.0)
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
    """What a preset fixes: batch size, noise, learning rate, optimiser, init and update order."""

    name: str
    batch_size: int
    noise_dim: int
    lr: float
    optimizer: str  # sgd | adam
    output: str  # generator output: sigmoid -> pixels in [0, 1], tanh -> [-1, 1]
    noise: str = "gaussian"  # gaussian N(0, I) | uniform_sqrt3 U(+-sqrt 3) | uniform U(-1, 1)
    init: str = "torch"  # torch: PyTorch default | goodfellow2014: irange uniforms | dcgan
    update: str = "alternating"  # alternating (Algorithm 1) | simultaneous (the 2014 code)
    d_loss_scale: float = 1.0  # L_D multiplier: 0.5 in the 2014 code's d_obj
    networks: str = "mlp"  # mlp | maxout2014: the 2014 code's nets | dcgan: toygan.mnist.models
    marginal_bias: bool = False  # G's output bias = logit of the pixel marginals (2014 init)
    d_passes: str = "joint"  # joint: one D pass on real + fake | separate (batch-norm D)


PRESETS = {
    "goodfellow2014": Preset(
        "goodfellow2014",
        100,
        100,
        0.1,
        "sgd",
        "sigmoid",
        noise="uniform_sqrt3",
        init="goodfellow2014",
        update="simultaneous",
        d_loss_scale=0.5,
        networks="maxout2014",
        marginal_bias=True,
    ),
    "modern": Preset("modern", 16, 100, 5e-4, "adam", "tanh"),
    "dcgan": Preset(
        "dcgan",
        128,
        62,
        2e-4,
        "adam",
        "sigmoid",
        noise="uniform",
        init="dcgan",
        networks="dcgan",
        d_passes="separate",
    ),
}
# The Table 1 ablation: goodfellow2014 with exactly one thing changed back to what a reader of the
# paper's text (or PyTorch's defaults) would do; named for that one change.
ABLATIONS = {
    f"goodfellow2014:{change}": replace(
        PRESETS["goodfellow2014"], name=f"goodfellow2014:{change}", **kw
    )
    for change, kw in {
        "alternating": {"update": "alternating"},  # Algorithm 1's order instead of the code's
        "gaussian-noise": {"noise": "gaussian"},  # the older mnist.yaml's N(0, I) noise
        "full-d-loss": {"d_loss_scale": 1.0},  # the paper's L_D, not the code's 1/2 L_D
        "zero-output-bias": {"marginal_bias": False},  # irange init, output bias 0
        "torch-init": {"init": "torch", "marginal_bias": False},  # PyTorch's default init
    }.items()
}
G_IRANGE, D_IRANGE = 0.05, 0.005  # mnist.yaml: weights U(-irange, irange)
MARGINAL_CLIP = 1e-7  # init_sigmoid_bias_from_marginals clips pixel means to [1e-7, 1 - 1e-7]


class UniformNoise(NoisePrior):
    """p_z = U(-a, a)^dim, default a = sqrt 3 (zero mean, unit variance; the 2014 code's
    ``noise: 'uniform'``), shape (n, dim)."""

    def __init__(self, dim: int, half_width: float = math.sqrt(3.0)) -> None:
        super().__init__(dim, "uniform")
        self.half_width = half_width

    def __repr__(self) -> str:
        return f"UniformNoise(dim={self.dim}, half_width={self.half_width:g})"

    def sample(
        self, n: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32
    ) -> torch.Tensor:
        u = super().sample(n, generator, dtype)  # (n, dim) in [-1, 1)
        return u.mul_(self.half_width)


def build_prior(name: str) -> NoisePrior:
    """The noise prior of preset ``name``."""
    p = get_preset(name)
    if p.noise == "uniform_sqrt3":
        return UniformNoise(p.noise_dim)
    return UniformNoise(p.noise_dim, 1.0) if p.noise == "uniform" else NoisePrior(p.noise_dim)


def build_objective(name: str, objective: str | Objective) -> Objective:
    """``objective`` with the preset's D-loss scale: the same per-sample losses and logit
    derivatives (and penalty), times ``d_loss_scale``. The G loss is unchanged."""
    obj, c = get_objective(objective), get_preset(name).d_loss_scale
    if c == 1.0:
        return obj

    def scaled(f):
        return None if f is None else lambda *a: c * f(*a)

    return replace(
        obj,
        formula=f"L_D x {c:g}; {obj.formula}",
        d_real=scaled(obj.d_real),
        d_fake=scaled(obj.d_fake),
        d_penalty=scaled(obj.d_penalty),
        d_real_grad=scaled(obj.d_real_grad),
        d_fake_grad=scaled(obj.d_fake_grad),
    )


def marginal_logits(images: torch.Tensor) -> torch.Tensor:
    """logit of each pixel's mean (784,), the mean clipped to [1e-7, 1 - 1e-7], in float64
    (pylearn2 ``init_sigmoid_bias_from_marginals``); ``images`` (N, 784) in [0, 1]."""
    mean = images.double().mean(0).clamp(MARGINAL_CLIP, 1.0 - MARGINAL_CLIP)  # (784,)
    return torch.logit(mean)


@torch.no_grad()
def goodfellow_init_(
    G: Generator,
    D: nn.Module,
    images: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> None:
    """The 2014 init in place: G weights U(-0.05, 0.05), D weights U(-0.005, 0.005), biases 0,
    G's output bias the logit of the pixel marginals of ``images`` (N, 784) in [0, 1] (left 0
    without images). Draws from ``generator`` (CPU), G's layers first, then D's."""
    for net, irange in ((G, G_IRANGE), (D, D_IRANGE)):
        for layer in (m for m in net.modules() if isinstance(m, nn.Linear)):
            w = torch.rand(layer.weight.shape, generator=generator, dtype=torch.float64)
            layer.weight.copy_(w.mul_(2 * irange).sub_(irange))
            layer.bias.zero_()
    if images is not None:
        G.net.layers[-1].bias.copy_(marginal_logits(images))


def get_preset(name: str) -> Preset:
    """The preset (or ablation of ``goodfellow2014``) called ``name``."""
    try:
        return (PRESETS | ABLATIONS)[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}") from None


def build_models(
    name: str,
    device: torch.device | str = "cpu",
    images: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[nn.Module, nn.Module]:
    """(G, D) of preset ``name`` on ``device``. ``torch`` init: from the global torch RNG;
    ``goodfellow2014`` init: ``goodfellow_init_`` with the training ``images`` (N, 784) in
    [0, 1] and ``generator`` (a CPU ``torch.Generator``; None: the global RNG)."""
    p = get_preset(name)
    if p.networks == "maxout2014":
        G = Generator(p.noise_dim, IMAGE_DIM, 1200, 2, "relu", p.output)
        D: nn.Module = MaxoutDiscriminator()
        if p.init == "goodfellow2014":
            marginals = images.cpu() if images is not None and p.marginal_bias else None
            goodfellow_init_(G, D, marginals, generator)
    elif p.networks == "dcgan":
        G, D = DCGANGenerator(p.noise_dim), DCGANDiscriminator()
        dcgan_init_(G, D, generator=generator)
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
