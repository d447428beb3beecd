"""The 28 x 28 convolutional networks of the ``dcgan`` preset (InfoGAN's released MNIST G and D).

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
from torch import nn

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
    """Noise (batch, noise_dim) -> flat images (batch, 784) in [0, 1] (sigmoid output)."""

    output = "sigmoid"

    def __init__(self, noise_dim: int) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.fc = nn.Sequential(
            nn.Linear(noise_dim, 1024),
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

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).reshape(len(z), 128, 7, 7)  # (batch, 128, 7, 7)
        return self.deconv(h).flatten(1)  # (batch, 784) in [0, 1]


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
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                nn.init.normal_(m.weight, 1.0, INIT_STD, generator=generator)
            else:
                continue
            nn.init.zeros_(m.bias)
