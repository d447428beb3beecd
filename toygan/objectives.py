"""GAN objectives as pure functions of discriminator logits, in one registry.

With D(x) = sigmoid(l) and the identities log D = log sigmoid(l) = -softplus(-l),
log(1 - D) = log sigmoid(-l) = -softplus(l) (Goodfellow et al. 2014, arXiv:1406.2661):

- discriminator (ascends V, so minimises -V):
  L_D = E_real[softplus(-l)] + E_fake[softplus(l)]
- ``saturating`` generator (the minimax game, descends V):
  L_G = E_fake[log(1 - D(G(z)))] = E_fake[-softplus(l)]
- ``nonsaturating`` generator (the paper's section 3 heuristic):
  L_G = E_fake[-log D(G(z))] = E_fake[softplus(-l)]

Both generator losses share the fixed point p_g = p_data; they differ in gradient when D rejects
fakes confidently (l << 0): d/dl of -softplus(l) is -sigmoid(l) -> 0, that of softplus(-l) is
-sigmoid(-l) -> -1. No sigmoid + BCE, no epsilons. The code evaluates softplus(x) as
-logsigmoid(-x), which is exact for every logit (``F.softplus`` switches to x above x = 20, an
absolute error of up to 2e-9 that float64 oracles see) and finite for all float32 logits.

Each loss comes with its derivative in the logit, in closed form (d/dl softplus(l) = sigmoid(l)),
for the engine's autograd-free fast path (``toygan.models``: MLPs with analytic backward passes).

An ``Objective`` is the unit the engine trains with. Later objectives (least squares,
Wasserstein with gradient penalty, hinge) add an entry; ``d_penalty`` is the hook for terms that
need D and the samples themselves (a gradient penalty), and is ``None`` for the GAN losses. An
objective without the derivatives (or with a penalty) trains through autograd.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

LogitLoss = Callable[[torch.Tensor], torch.Tensor]


def d_loss_real(logits: torch.Tensor) -> torch.Tensor:
    """softplus(-l) = -log D(x), per sample, for real samples."""
    return -F.logsigmoid(logits)


def d_loss_fake(logits: torch.Tensor) -> torch.Tensor:
    """softplus(l) = -log(1 - D(x)), per sample, for generated samples."""
    return -F.logsigmoid(-logits)


def g_loss_saturating(logits: torch.Tensor) -> torch.Tensor:
    """-softplus(l) = log(1 - D(G(z))), per sample: the minimax generator loss."""
    return F.logsigmoid(-logits)


def g_loss_nonsaturating(logits: torch.Tensor) -> torch.Tensor:
    """softplus(-l) = -log D(G(z)), per sample: the non-saturating generator loss."""
    return -F.logsigmoid(logits)


def d_loss_real_grad(logits: torch.Tensor) -> torch.Tensor:
    """d/dl softplus(-l) = -sigmoid(-l)."""
    return torch.sigmoid(-logits).neg_()


def d_loss_fake_grad(logits: torch.Tensor) -> torch.Tensor:
    """d/dl softplus(l) = sigmoid(l)."""
    return torch.sigmoid(logits)


def g_loss_saturating_grad(logits: torch.Tensor) -> torch.Tensor:
    """d/dl -softplus(l) = -sigmoid(l): vanishes as D rejects the fakes (l -> -inf)."""
    return torch.sigmoid(logits).neg_()


def g_loss_nonsaturating_grad(logits: torch.Tensor) -> torch.Tensor:
    """d/dl softplus(-l) = -sigmoid(-l): tends to -1 as D rejects the fakes (l -> -inf)."""
    return torch.sigmoid(-logits).neg_()


@dataclass(frozen=True)
class Objective:
    """A pair of per-sample losses on logits; the engine minimises their batch means.

    ``d_real`` and ``d_fake`` make the discriminator loss, ``g`` the generator loss, each mapping
    logits (batch, 1) to per-sample losses (batch, 1). ``d_penalty(D, real, fake)`` returns an
    extra scalar D loss (``None``: no penalty). ``d_real_grad``, ``d_fake_grad`` and ``g_grad``
    are the per-sample derivatives in the logit (``None``: autograd only).
    """

    name: str
    formula: str
    d_real: LogitLoss
    d_fake: LogitLoss
    g: LogitLoss
    d_penalty: Callable[..., torch.Tensor] | None = None
    d_real_grad: LogitLoss | None = None
    d_fake_grad: LogitLoss | None = None
    g_grad: LogitLoss | None = None

    @property
    def analytic(self) -> bool:
        """True when the losses' logit derivatives are known and no penalty needs autograd."""
        grads = (self.d_real_grad, self.d_fake_grad, self.g_grad)
        return self.d_penalty is None and all(g is not None for g in grads)

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor):
        """Scalar L_D from real logits (m, 1) and fake logits (m', 1)."""
        return self.d_real(real_logits).mean() + self.d_fake(fake_logits).mean()

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """Scalar L_G from fake logits (m, 1)."""
        return self.g(fake_logits).mean()

    def discriminator_loss_grad(self, real_logits: torch.Tensor, fake_logits: torch.Tensor):
        """(dL_D/dl_real, dL_D/dl_fake), shaped like the logits, for ``analytic`` objectives."""
        return (
            self.d_real_grad(real_logits).div_(real_logits.numel()),
            self.d_fake_grad(fake_logits).div_(fake_logits.numel()),
        )

    def generator_loss_grad(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """dL_G/dl, shaped like the logits, for ``analytic`` objectives."""
        return self.g_grad(fake_logits).div_(fake_logits.numel())


OBJECTIVES: dict[str, Objective] = {
    "saturating": Objective(
        "saturating",
        "G minimises log(1 - D(G(z))) = -softplus(l)",
        d_loss_real,
        d_loss_fake,
        g_loss_saturating,
        d_real_grad=d_loss_real_grad,
        d_fake_grad=d_loss_fake_grad,
        g_grad=g_loss_saturating_grad,
    ),
    "nonsaturating": Objective(
        "nonsaturating",
        "G minimises -log D(G(z)) = softplus(-l)",
        d_loss_real,
        d_loss_fake,
        g_loss_nonsaturating,
        d_real_grad=d_loss_real_grad,
        d_fake_grad=d_loss_fake_grad,
        g_grad=g_loss_nonsaturating_grad,
    ),
}


def get_objective(name: str | Objective) -> Objective:
    """Look up an objective by name (or pass one through)."""
    if isinstance(name, Objective):
        return name
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise ValueError(f"unknown objective {name!r}; choose from {sorted(OBJECTIVES)}") from None
