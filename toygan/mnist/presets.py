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

- ``mirza2014`` (``--model cgan``): CGAN's MNIST MLPs (``toygan.mnist.models.CGANGenerator``,
  ``CGANDiscriminator``; Mirza & Osindero 2014 section 4.1): z ~ U[0, 1]^100, SGD batch 100, lr
  0.1 divided by 1.00004 after every update (floor 1e-6), momentum 0.5 rising to 0.7, dropout 0.5.
  The paper publishes no code and no init, update order or D-loss scale: those are the 2014
  code's (goodfeli/adversarial, which the paper builds on): irange init with the marginal output
  bias, simultaneous updates, L_D halved; momentum saturates at epoch 250 as there. G's dropout
  stays on when sampling (``intrinsic_dropout``), as in that code's ``IntrinsicDropoutGenerator``,
  whose ``sample`` (the one its ``parzen_ll.py`` calls) applies the training dropout: with
  z ~ U[0, 1]^100 G learns to draw its variety from the dropout masks, so in PyTorch's eval mode
  it draws one image per label (docs/family.md, "CGAN": validation Parzen with and without).
- ``chen2016`` (``--model infogan``): InfoGAN's released MNIST setup (openai/InfoGAN
  ``run_mnist_exp.py``): the ``dcgan`` networks with the Q head on D's body
  (``InfoDiscriminator``), latent U(-1, 1)^62 + c_1 ~ Cat(10) + c_2, c_3 ~ U(-1, 1), Adam beta1
  0.5, lr 2e-4 for D and Q (Q's weights live in the code's ``d_net`` scope, so D's optimiser
  trains them; the paper's text gives G's and D's rates only) and 1e-3 for G, batch 128,
  lambda 1, D called separately on real and fake minibatches.
- ``donahue2016`` (``--model bigan``): BiGAN's permutation-invariant MNIST setup (jeffdonahue/bigan
  ``train_mnist.sh``, ``train_gan.py``, ``net.py``): z ~ U(-1, 1)^50; G, E and D the code's
  ``mnist_mlp`` nets (``toygan.mnist.models``): FC 1024 -> FC 1024 with batch norm on the second
  (no gain, no bias, epsilon 1e-8; no FC layer has a bias, the outputs' included), z joined
  again at G's and D's second layer as an added FC(z) (the code's ``apply_cond``), D's logit
  layer starting at zero, E(x) = 2 sigmoid(.) - 1 (the uniform latent's ``logits_to_sample``),
  leak 0.2; D called on the real and the fake pairs separately, so each minibatch is batch-
  normalised on its own (the code has no ``--cat_inputs``; one joint pass let D win from the
  first epoch, D(real) .99, D(fake) .01: docs/family.md, "BiGAN"); Adam
  2e-4, beta1 0.5, batch 128, weight decay 2.5e-5; D, G and E updated from one pass
  (``all_updates = g_updates + d_updates + e_updates``), G and E on swapped labels; the learning
  rate constant for 200 epochs, then decaying exponentially, epoch by epoch, to 0.01 of it at
  epoch 400 (``set_lr``: ``train_mnist.sh`` gives no ``--linear_decay``, so ``final_lr_mult``
  is 0.01 and the decay is geometric; the code's schedule, whatever
  ``--epochs`` is); init N(0, 0.02) as the ``dcgan`` networks. The code halves D's loss and
  G and E's; toygan does not: Adam's steps do not depend on the scale, only the weight decay's
  share of the gradient does (2.5e-5 per unit of weight, halved relative to the code's).

D returns logits in all; every objective without a gradient penalty works with every preset
(penalties need the unconditional game). ``Preset.models`` lists the models a preset trains:
the ``dcgan`` networks serve the GAN, CGAN (y one-hot joined to G's input and to every layer of
D, ``ConditionalDCGANDiscriminator``) and InfoGAN; ``modern``'s MLPs the GAN and CGAN (y one-hot
joined to G's and D's inputs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from toygan.engine import make_optimizer
from toygan.game import BiGame, ConditionalGame, Game, InfoGame, InfoPrior, LabelPrior
from toygan.mnist.models import (
    BiGANDiscriminator,
    BiGANEncoder,
    BiGANGenerator,
    CGANDiscriminator,
    CGANGenerator,
    ConditionalDCGANDiscriminator,
    Conditioned,
    DCGANDiscriminator,
    DCGANGenerator,
    InfoDiscriminator,
    Maxout,  # noqa: F401 (re-exported: the 2014 networks' layer)
    dcgan_init_,
)
from toygan.models import Discriminator, Generator, NoisePrior
from toygan.objectives import Objective, get_objective

IMAGE_DIM = 784  # 28 x 28 pixels, flattened


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
    models: tuple[str, ...] = ("gan",)  # the --model values this preset trains
    g_lr: float = 0.0  # G's learning rate when it differs from D's (InfoGAN: 1e-3)
    weight_decay: float = 0.0  # L2 on every weight's gradient (BiGAN: 2.5e-5)
    lr_decay: float = 1.000004  # sgd: lr divided by this after every update
    lr_schedule: str = "constant"  # adam: constant | exp_half (constant, then geometric decay)
    intrinsic_dropout: bool = False  # G's dropout on when sampling too (IntrinsicDropoutGenerator)


_GOODFELLOW2014 = Preset(
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
)

_DCGAN = Preset(
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
    models=("gan", "cgan", "infogan"),
)

PRESETS = {
    "goodfellow2014": _GOODFELLOW2014,
    "modern": Preset("modern", 16, 100, 5e-4, "adam", "tanh", models=("gan", "cgan")),
    "dcgan": _DCGAN,
    # CGAN builds on the 2014 code: its setup with U[0, 1] noise, the CGAN nets, decay 1.00004
    "mirza2014": replace(
        _GOODFELLOW2014,
        name="mirza2014",
        noise="uniform01",
        networks="cgan_mlp",
        models=("cgan",),
        lr_decay=1.00004,
        intrinsic_dropout=True,
    ),
    # InfoGAN's released setup: the dcgan networks (with Q), G at 1e-3
    "chen2016": replace(_DCGAN, name="chen2016", models=("infogan",), g_lr=1e-3),
    "donahue2016": Preset(
        "donahue2016",
        128,
        50,
        2e-4,
        "adam",
        "sigmoid",
        noise="uniform",
        init="dcgan",
        update="simultaneous",
        d_passes="separate",  # the code's default: no --cat_inputs, batch norm per minibatch
        networks="bigan",
        models=("bigan",),
        weight_decay=2.5e-5,
        lr_schedule="exp_half",
    ),
}
MODELS = ("gan", "cgan", "infogan", "bigan")  # --model: the game (toygan.game)
DEFAULT_PRESET = {  # cgan: dcgan and mirza2014 both reach 97%; dcgan's FD and Parzen are better
    "gan": "modern",
    "cgan": "dcgan",
    "infogan": "chen2016",
    "bigan": "donahue2016",
}
N_CLASSES = 10  # digits: CGAN's labels, InfoGAN's c_1 values
N_CONTINUOUS = 2  # InfoGAN's continuous codes c_2, c_3
DECAY_EPOCHS = 400  # exp_half: BiGAN's 400 epochs, the rate decaying over the last 200
FINAL_LR_MULT = 0.01  # exp_half: the rate at the last epoch (BiGAN's final_lr_mult default)
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
    """p_z = U(c - a, c + a)^dim, default a = sqrt 3, c = 0 (zero mean, unit variance; the 2014
    code's ``noise: 'uniform'``), shape (n, dim)."""

    def __init__(self, dim: int, half_width: float = math.sqrt(3.0), center: float = 0.0) -> None:
        super().__init__(dim, "uniform")
        self.half_width, self.center = half_width, center

    def __repr__(self) -> str:
        return (
            f"UniformNoise(dim={self.dim}, half_width={self.half_width:g}, center={self.center:g})"
        )

    def sample(
        self, n: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32
    ) -> torch.Tensor:
        u = super().sample(n, generator, dtype)  # (n, dim) in [-1, 1)
        u = u.mul_(self.half_width)
        return u.add_(self.center) if self.center else u


NOISES = {
    "uniform_sqrt3": lambda d: UniformNoise(d),
    "uniform": lambda d: UniformNoise(d, 1.0),  # U(-1, 1)
    "uniform01": lambda d: UniformNoise(d, 0.5, 0.5),  # U[0, 1] (CGAN)
    "gaussian": lambda d: NoisePrior(d),
}


def build_prior(name: str, model: str = "gan"):
    """The prior of preset ``name`` for ``model``: its noise, with labels (CGAN) or codes
    (InfoGAN: ``toygan.game.InfoPrior``)."""
    p = get_preset(name)
    noise = NOISES[p.noise](p.noise_dim)
    if model == "cgan":
        return LabelPrior(noise, N_CLASSES)
    if model == "infogan":
        return InfoPrior(noise, N_CLASSES, N_CONTINUOUS)
    return noise


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
    if images is not None:  # G's output layer: its last linear layer
        [m for m in G.modules() if isinstance(m, nn.Linear)][-1].bias.copy_(marginal_logits(images))


def get_preset(name: str) -> Preset:
    """The preset (or ablation of ``goodfellow2014``) called ``name``."""
    try:
        return (PRESETS | ABLATIONS)[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}") from None


def presets_for(model: str) -> list[str]:
    """The presets that train ``model``."""
    return sorted(n for n, p in PRESETS.items() if model in p.models)


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


def build_game(
    name: str,
    model: str = "gan",
    device: torch.device | str = "cpu",
    images: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[nn.Module, nn.Module, Game]:
    """(G, D, game) of preset ``name`` playing ``model`` (``MODELS``) on ``device``; the game's
    extra networks (BiGAN's E) are in ``game.networks``. Init as ``build_models``."""
    p = get_preset(name)
    if model not in p.models:
        raise ValueError(f"preset {name!r} trains --model {'|'.join(p.models)}, not {model!r}")
    if model == "gan":
        return (*build_models(name, device, images, generator), Game())
    if model == "cgan" and p.networks == "mlp":  # modern's MLPs, one-hot y joined to the inputs
        G = Conditioned(
            Generator(p.noise_dim + N_CLASSES, IMAGE_DIM, [256, 512, 1024], 0, "leaky_relu",
                      p.output), N_CLASSES)  # fmt: skip
        D = Conditioned(
            Discriminator(IMAGE_DIM + N_CLASSES, [1024, 512, 256], 0, "leaky_relu", dropout=0.3),
            N_CLASSES,
        )
        game: Game = ConditionalGame(N_CLASSES)
    elif model == "cgan" and p.networks == "cgan_mlp":
        G = CGANGenerator(p.noise_dim, N_CLASSES, intrinsic_dropout=p.intrinsic_dropout)
        D = CGANDiscriminator(N_CLASSES)
        marginals = images.cpu() if images is not None and p.marginal_bias else None
        goodfellow_init_(G, D, marginals, generator)
        game = ConditionalGame(N_CLASSES)
    elif model == "cgan":  # the dcgan networks, y one-hot joined
        G, D = DCGANGenerator(p.noise_dim, N_CLASSES), ConditionalDCGANDiscriminator(N_CLASSES)
        dcgan_init_(G, D, generator=generator)
        game = ConditionalGame(N_CLASSES)
    elif model == "infogan":
        game = InfoGame(p.noise_dim, N_CLASSES, N_CONTINUOUS)
        G, D = DCGANGenerator(p.noise_dim + game.code_dim), InfoDiscriminator(game.code_dim)
        dcgan_init_(G, D, generator=generator)
    else:  # bigan
        G, D, E = (
            BiGANGenerator(p.noise_dim),
            BiGANDiscriminator(p.noise_dim),
            BiGANEncoder(p.noise_dim),
        )
        dcgan_init_(G, D, E, generator=generator)
        game = BiGame(E.to(device))
    return G.to(device), D.to(device), game


class HalfDecay(torch.optim.lr_scheduler.LambdaLR):
    """BiGAN's ``set_lr`` (jeffdonahue/bigan ``train_gan.py``, exponential branch), stepped once
    per iteration but changing once per epoch: during epoch e (0-based) of ``epochs``, the rate
    is lr0 for e < epochs / 2, else lr0 * final ** ((e - epochs / 2 + 1) / (epochs / 2)), so the
    last epoch runs at final * lr0. ``epochs`` is fixed by the preset, not by ``--epochs``, so a
    run extended with ``--resume`` follows the same schedule."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        steps_per_epoch: int,
        epochs: int = DECAY_EPOCHS,
        final: float = FINAL_LR_MULT,
    ) -> None:
        self.steps_per_epoch = max(int(steps_per_epoch), 1)
        self.half, self.final = epochs // 2, final
        super().__init__(optimizer, self.factor)

    def factor(self, t: int) -> float:
        epoch = t // self.steps_per_epoch
        if epoch < self.half:
            return 1.0
        return self.final ** (min(epoch - self.half + 1, self.half) / self.half)


def build_optimizers(
    name: str,
    G: nn.Module,
    D: nn.Module,
    steps_per_epoch: int,
    lr: float | None = None,
    extra: Sequence[nn.Module] = (),
) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer, list]:
    """(g_opt, d_opt, schedulers) of preset ``name``; ``lr`` overrides the preset's rates (both
    networks). ``extra``: networks trained with G (BiGAN's E)."""
    p = get_preset(name)
    d_lr, g_lr = lr or p.lr, lr or p.g_lr or p.lr
    g_params = [q for net in (G, *extra) for q in net.parameters()]
    wd = p.weight_decay
    if p.optimizer == "sgd":
        g_opt = make_optimizer(g_params, "sgd", g_lr, momentum=0.5, weight_decay=wd)
        d_opt = make_optimizer(D.parameters(), "sgd", d_lr, momentum=0.5, weight_decay=wd)
        schedule = GoodfellowSchedule([g_opt, d_opt], steps_per_epoch, lr0=d_lr, decay=p.lr_decay)
        return g_opt, d_opt, [schedule]
    g_opt = make_optimizer(g_params, "adam", g_lr, betas=(0.5, 0.999), weight_decay=wd)
    d_opt = make_optimizer(D.parameters(), "adam", d_lr, betas=(0.5, 0.999), weight_decay=wd)
    if p.lr_schedule == "exp_half":  # the code's 400 epochs: 200 constant, 200 decaying
        return g_opt, d_opt, [HalfDecay(g_opt, steps_per_epoch), HalfDecay(d_opt, steps_per_epoch)]
    return g_opt, d_opt, []
