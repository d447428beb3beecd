"""The MNIST networks beyond plain MLPs: maxout, the ``dcgan`` convolutions, CGAN, InfoGAN, BiGAN.

Every network works on flat images (batch, 784) in [0, 1]; every D returns logits (batch, 1),
InfoGAN's D the logit and Q's code parameters (batch, 1 + code_dim). Labels are class indices
(batch,) int64, one-hot encoded inside the networks.

The 28 x 28 convolutional networks of the ``dcgan`` preset (InfoGAN's released MNIST G and D):

openai/InfoGAN ``regularized_gan.py`` (network_type "mnist") and ``custom_ops.py``, read line by
line; D without the Q head:

- D: image (1, 28, 28) -> conv 64 4x4 stride 2 (padding "SAME": 1) -> leaky ReLU -> conv 128 4x4
  s2 -> batch norm -> leaky ReLU -> FC 1024 -> batch norm -> leaky ReLU -> FC 1 (a logit).
- G: noise -> FC 1024 -> BN -> ReLU -> FC 7*7*128 -> BN -> ReLU -> deconv 64 4x4 s2 -> BN -> ReLU
  -> deconv 1 4x4 s2 -> sigmoid (``MeanBernoulli``: the pixel means are the sample).
- Leaky slope 0.01 (``leaky_rectify``'s default; the paper's text says 0.1). Batch norm: eps 1e-5,
  moving averages with decay 0.9 (PyTorch momentum 0.1), gamma ~ N(1, 0.02), beta 0.
- Weights: convolutions truncated N(0, 0.02) (cut at two standard deviations, as TF's
  ``truncated_normal_initializer``), deconvolutions and FC layers N(0, 0.02); biases 0.

D and G work on flat images (batch, 784), like every MNIST model of toygan; D returns logits
(batch, 1). D normalises each minibatch it sees by its own statistics, so the engine calls it
once on real and once on fake images (``GANTrainer(d_passes="separate")``), as the code does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Maxout(nn.Module):
    """Maxout (Goodfellow et al. 2013): ``units`` outputs, each the max of ``pieces`` affines."""

    def __init__(self, in_dim: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_dim, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.linear(x)  # (batch, units * pieces)
        return h.view(len(x), self.units, self.pieces).amax(-1)  # (batch, units)


LEAK = 0.01  # infogan custom_ops.leaky_rectify
INIT_STD = 0.02  # custom_conv2d / custom_deconv2d / custom_fully_connected stddev
BN_EPS, BN_MOMENTUM = 1e-5, 0.1  # conv_batch_norm: epsilon 1e-5, EMA decay 0.9


class DCGANDiscriminator(nn.Module):
    """Flat images (batch, 784) in [0, 1] -> logits (batch, 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 64, 4, 2, 1),  # (batch, 64, 14, 14)
            nn.LeakyReLU(LEAK),
            nn.Conv2d(64, 128, 4, 2, 1),  # (batch, 128, 7, 7)
            nn.BatchNorm2d(128, BN_EPS, BN_MOMENTUM),
            nn.LeakyReLU(LEAK),
            nn.Flatten(),  # (batch, 6272)
            nn.Linear(128 * 7 * 7, 1024),
            nn.BatchNorm1d(1024, BN_EPS, BN_MOMENTUM),
            nn.LeakyReLU(LEAK),
        )
        self.out = nn.Linear(1024, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The shared body (InfoGAN's D and Q): (batch, 784) -> (batch, 1024)."""
        return self.body(x.reshape(len(x), 1, 28, 28))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))  # (batch, 1) logits


class DCGANGenerator(nn.Module):
    """Noise (batch, noise_dim) -> flat images (batch, 784) in [0, 1] (sigmoid output); with
    ``n_classes``, G(z, y) of the conditional ``dcgan`` variant: y one-hot after z."""

    output = "sigmoid"

    def __init__(self, noise_dim: int, n_classes: int = 0) -> None:
        super().__init__()
        self.noise_dim, self.n_classes = noise_dim, n_classes
        self.fc = nn.Sequential(
            nn.Linear(noise_dim + n_classes, 1024),
            nn.BatchNorm1d(1024, BN_EPS, BN_MOMENTUM),
            nn.ReLU(),
            nn.Linear(1024, 128 * 7 * 7),
            nn.BatchNorm1d(128 * 7 * 7, BN_EPS, BN_MOMENTUM),
            nn.ReLU(),
        )
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 4, 2, 1),  # (batch, 64, 14, 14)
            nn.BatchNorm2d(64, BN_EPS, BN_MOMENTUM),
            nn.ReLU(),
            nn.ConvTranspose2d(64, 1, 4, 2, 1),  # (batch, 1, 28, 28)
            nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.n_classes:
            z = torch.cat([z, one_hot(y, self.n_classes, z)], 1)  # (batch, noise_dim + classes)
        h = self.fc(z).reshape(len(z), 128, 7, 7)  # (batch, 128, 7, 7)
        return self.deconv(h).flatten(1)  # (batch, 784) in [0, 1]


def one_hot(y: torch.Tensor, n_classes: int, like: torch.Tensor) -> torch.Tensor:
    """Labels (batch,) -> one-hot (batch, n_classes) in ``like``'s dtype."""
    return F.one_hot(y.long(), n_classes).to(like.dtype)


class Conditioned(nn.Module):
    """A one-input network made conditional the CGAN way: one-hot y joined to its input;
    ``forward(v, y)`` = net([v, onehot(y)]) (the ``modern`` MLPs' CGAN: G(z, y), D(x, y)).
    Wrapping a G keeps its ``output`` (G's range); its ``noise_dim`` is z's alone, the wrapped
    net's input less the ``n_classes`` label columns."""

    def __init__(self, net: nn.Module, n_classes: int = 10) -> None:
        super().__init__()
        self.net, self.n_classes = net, n_classes
        if hasattr(net, "output"):
            self.output = net.output
        if hasattr(net, "noise_dim"):
            self.noise_dim = net.noise_dim - n_classes

    def forward(self, v: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([v.flatten(1), one_hot(y, self.n_classes, v)], 1))


def label_maps(h: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
    """Feature maps (batch, c, H, W) with one-hot labels (batch, k) joined as k constant maps:
    (batch, c + k, H, W)."""
    return torch.cat([h, code[:, :, None, None].expand(-1, -1, *h.shape[2:])], 1)


class ConditionalDCGANDiscriminator(nn.Module):
    """The conditional ``dcgan`` D: the ``dcgan`` D (conv 64, conv 128 + BN, FC 1024 + BN, FC 1)
    with one-hot y joined to the input of every layer, as constant maps before the convolutions
    and as 10 more inputs before the FC layers (DCGAN's conditional MNIST D, carpedm20
    DCGAN-tensorflow); (x (batch, 784), y (batch,)) -> logits (batch, 1). Two designs that did
    not train (docs/family.md, "CGAN"): y joined to the 6,272 conv features only (D, and so G,
    ignored the label) and a projection discriminator (D won in the first epoch)."""

    def __init__(self, n_classes: int = 10) -> None:
        super().__init__()
        self.n_classes = n_classes
        k = n_classes
        self.conv0 = nn.Conv2d(1 + k, 64, 4, 2, 1)  # (batch, 64, 14, 14)
        self.conv1 = nn.Conv2d(64 + k, 128, 4, 2, 1)  # (batch, 128, 7, 7)
        self.bn1 = nn.BatchNorm2d(128, BN_EPS, BN_MOMENTUM)
        self.fc2 = nn.Linear(128 * 7 * 7 + k, 1024)
        self.bn2 = nn.BatchNorm1d(1024, BN_EPS, BN_MOMENTUM)
        self.out = nn.Linear(1024 + k, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        code = one_hot(y, self.n_classes, x)  # (batch, k)
        h = label_maps(x.reshape(len(x), 1, 28, 28), code)  # (batch, 1 + k, 28, 28)
        h = label_maps(F.leaky_relu(self.conv0(h), LEAK), code)  # (batch, 64 + k, 14, 14)
        h = F.leaky_relu(self.bn1(self.conv1(h)), LEAK).flatten(1)  # (batch, 6272)
        h = F.leaky_relu(self.bn2(self.fc2(torch.cat([h, code], 1))), LEAK)  # (batch, 1024)
        return self.out(torch.cat([h, code], 1))  # (batch, 1) logits


class InfoDiscriminator(DCGANDiscriminator):
    """InfoGAN's D and Q (openai/InfoGAN ``regularized_gan.py``): the shared conv body, D's
    FC 1 and Q's FC 128 -> BN -> leaky ReLU -> FC code_dim; (batch, 784) -> (batch, 1 +
    code_dim): the logit, then Q's categorical logits and continuous means. Q's parameters are
    D's (the code's ``d_net`` scope): D's optimiser trains them."""

    def __init__(self, code_dim: int = 12) -> None:
        super().__init__()
        self.q = nn.Sequential(
            nn.Linear(1024, 128),
            nn.BatchNorm1d(128, BN_EPS, BN_MOMENTUM),
            nn.LeakyReLU(LEAK),
            nn.Linear(128, code_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)  # (batch, 1024)
        return torch.cat([self.out(h), self.q(h)], 1)  # (batch, 1 + code_dim)


class CGANGenerator(nn.Module):
    """CGAN's MNIST G (Mirza & Osindero 2014, section 4.1): z (batch, 100) -> ReLU 200 and
    one-hot y -> ReLU 1000, both -> a *separate* combined ReLU layer of 1200 units (our reading
    of "mapped to second, combined hidden ReLu layer of dimensionality 1200"; the other reading,
    the 1200-unit concatenation itself, has no such layer) -> sigmoid 784; dropout 0.5 on the
    hidden layers. ``intrinsic_dropout``: the dropout stays on in eval mode too, so that it is part
    of G's noise when sampling, as in the 2014 code's ``IntrinsicDropoutGenerator`` (whose
    ``sample``, the one ``parzen_ll.py`` calls, applies the training dropout)."""

    output = "sigmoid"

    def __init__(
        self,
        noise_dim: int = 100,
        n_classes: int = 10,
        dropout: float = 0.5,
        intrinsic_dropout: bool = False,
    ) -> None:
        super().__init__()
        self.noise_dim, self.n_classes, self.dropout = noise_dim, n_classes, dropout
        self.intrinsic_dropout = intrinsic_dropout
        self.z_in = nn.Linear(noise_dim, 200)
        self.y_in = nn.Linear(n_classes, 1000)
        self.joint = nn.Linear(1200, 1200)
        self.out = nn.Linear(1200, 784)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        def drop(h):
            return F.dropout(F.relu(h), self.dropout, self.training or self.intrinsic_dropout)

        h = torch.cat([drop(self.z_in(z)), drop(self.y_in(one_hot(y, self.n_classes, z)))], 1)
        h = drop(self.joint(h))  # (batch, 1200)
        return torch.sigmoid(self.out(h))  # (batch, 784) in [0, 1]


class CGANDiscriminator(nn.Module):
    """CGAN's MNIST D: maxout 240x5 on x, maxout 50x5 on one-hot y, joint maxout 240x4 on
    both, a logit; dropout 0.5 on every hidden layer. (x (batch, 784), y (batch,)) ->
    logits (batch, 1)."""

    def __init__(self, n_classes: int = 10, dropout: float = 0.5) -> None:
        super().__init__()
        self.n_classes, self.dropout = n_classes, dropout
        self.x_in = Maxout(784, 240, 5)
        self.y_in = Maxout(n_classes, 50, 5)
        self.joint = Maxout(290, 240, 4)
        self.out = nn.Linear(240, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        def drop(h):
            return F.dropout(h, self.dropout, self.training)

        h = torch.cat([drop(self.x_in(x)), drop(self.y_in(one_hot(y, self.n_classes, x)))], 1)
        return self.out(drop(self.joint(h)))  # (batch, 1) logits


BIGAN_LEAK = 0.2  # jeffdonahue/bigan lib LReLU default leak
BIGAN_WIDTH = 1024  # mnist_mlp: size 64 * 16


def _fc(in_dim: int, out_dim: int) -> nn.Linear:
    """The BiGAN code's FC layer: no bias (``--nobias``; batch norm centres instead)."""
    return nn.Linear(in_dim, out_dim, bias=False)


def _bn() -> nn.BatchNorm1d:
    """The BiGAN code's batch norm: no gain, no bias (``--nogain --nobias``)."""
    return nn.BatchNorm1d(BIGAN_WIDTH, eps=1e-8, affine=False)  # BatchNorm: epsilon 1e-8


class BiGANGenerator(nn.Module):
    """BiGAN's permutation-invariant MNIST G (jeffdonahue/bigan ``deconvnet_mnist_mlp``):
    h1 = ReLU(BN(FC z)), h2 = ReLU(BN(FC h1 + FC z)) (z joined again at the second layer, the
    code's ``apply_cond``), x = sigmoid(FC h2); z (batch, 50) -> (batch, 784) in [0, 1]."""

    output = "sigmoid"

    def __init__(self, latent_dim: int = 50) -> None:
        super().__init__()
        self.noise_dim = latent_dim
        self.fc1, self.bn1 = _fc(latent_dim, BIGAN_WIDTH), _bn()
        self.fc2, self.cond2, self.bn2 = (
            _fc(BIGAN_WIDTH, BIGAN_WIDTH),
            _fc(latent_dim, BIGAN_WIDTH),
            _bn(),
        )
        self.out = _fc(BIGAN_WIDTH, 784)  # no bias, as every FC of the code

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.fc1(z)))  # (batch, 1024)
        h = F.relu(self.bn2(self.fc2(h) + self.cond2(z)))  # (batch, 1024)
        return torch.sigmoid(self.out(h))  # (batch, 784) in [0, 1]


class BiGANEncoder(nn.Module):
    """BiGAN's E (``mnist_mlp`` + the uniform latent's ``logits_to_sample``): h1 = lReLU(FC x),
    h2 = lReLU(BN(FC h1)), E(x) = 2 sigmoid(FC h2) - 1 in (-1, 1), the prior's range (no output
    bias: the code's ``encode_out_bias`` is off); x (batch, 784) -> (batch, 50)."""

    def __init__(self, latent_dim: int = 50) -> None:
        super().__init__()
        self.fc1, self.fc2, self.bn2 = _fc(784, BIGAN_WIDTH), _fc(BIGAN_WIDTH, BIGAN_WIDTH), _bn()
        self.out = _fc(BIGAN_WIDTH, latent_dim)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The layer below E(x) (the code's ``enc_feats``, its ``NNC_e-`` 1-NN features):
        x (batch, 784) -> (batch, 1024)."""
        h = F.leaky_relu(self.fc1(x.flatten(1)), BIGAN_LEAK)  # (batch, 1024)
        return F.leaky_relu(self.bn2(self.fc2(h)), BIGAN_LEAK)  # (batch, 1024)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2.0 * torch.sigmoid(self.out(self.features(x))) - 1.0  # (batch, latent_dim)


class BiGANDiscriminator(nn.Module):
    """BiGAN's joint D (``mnist_mlp`` with z as the condition): h1 = lReLU(FC x), h2 =
    lReLU(BN(FC h1 + FC z)), a logit FC h2 (the code's ``BinaryClassifier``: no bias, its
    weights start at zero, ``zero_init``); (x (batch, 784), z (batch, 50)) -> logits (batch, 1).
    """

    zero_init = ("out",)  # LinearPredictor(stddev=0): D(x, z) = 1/2 before the first update

    def __init__(self, latent_dim: int = 50) -> None:
        super().__init__()
        self.fc1, self.fc2, self.bn2 = _fc(784, BIGAN_WIDTH), _fc(BIGAN_WIDTH, BIGAN_WIDTH), _bn()
        self.cond2 = _fc(latent_dim, BIGAN_WIDTH)
        self.out = _fc(BIGAN_WIDTH, 1)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.fc1(x.flatten(1)), BIGAN_LEAK)  # (batch, 1024)
        h = F.leaky_relu(self.bn2(self.fc2(h) + self.cond2(z)), BIGAN_LEAK)  # (batch, 1024)
        return self.out(h)  # (batch, 1) logits


@torch.no_grad()
def dcgan_init_(*nets: nn.Module, generator: torch.Generator | None = None) -> None:
    """The InfoGAN code's initialisation, in place, drawing from ``generator`` (CPU)."""
    for net in nets:
        for m in net.modules():
            if isinstance(m, nn.Conv2d):  # custom_conv2d: truncated normal
                nn.init.trunc_normal_(
                    m.weight, 0.0, INIT_STD, -2 * INIT_STD, 2 * INIT_STD, generator=generator
                )
            elif isinstance(m, (nn.ConvTranspose2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, INIT_STD, generator=generator)
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.affine:
                nn.init.normal_(m.weight, 1.0, INIT_STD, generator=generator)
            else:
                continue
            if m.bias is not None:  # BiGAN's FC layers have none
                nn.init.zeros_(m.bias)
        for name in getattr(net, "zero_init", ()):  # BiGAN D's logit layer
            nn.init.zeros_(getattr(net, name).weight)
