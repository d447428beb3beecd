"""Objectives as pure functions of D's raw output, in one registry.

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

The family (D's output l is then a real-valued score, not a logit):

- ``least_squares`` (Mao et al. 2017, arXiv:1611.04076), ``least_squares(a, b, c)``:
  L_D = 1/2 E_real[(l - b)^2] + 1/2 E_fake[(l - a)^2], L_G = 1/2 E_fake[(l - c)^2]; the registry
  holds the 0-1 coding a = 0, b = c = 1 and ``least_squares_chi2`` a = -1, b = 1, c = 0 (the
  setting in which G minimises a Pearson chi^2 divergence).
- ``hinge`` (Lim & Ye 2017, arXiv:1705.02894; Miyato et al. 2018, arXiv:1802.05957):
  L_D = E_real[relu(1 - l)] + E_fake[relu(1 + l)], L_G = -E_fake[l].
- ``wasserstein_gp`` (Gulrajani et al. 2017, arXiv:1704.00028): L_D = E_fake[l] - E_real[l]
  + lambda E[(||grad_x D(x_hat)|| - 1)^2], x_hat = alpha x + (1 - alpha) x_fake, alpha ~ U[0, 1]
  per sample; L_G = -E_fake[l].
- ``wasserstein_clip`` (Arjovsky et al. 2017, arXiv:1701.07875): the same losses without the
  penalty; every weight of D is clipped to [-c, c] after each critic step.
- ``r1`` (Mescheder et al. 2018, arXiv:1801.04406): the non-saturating GAN with D's loss plus
  gamma/2 E_real[||grad_x D(x)||^2], a penalty on D's gradient at the data only.

Each loss without a penalty comes with its derivative in l, in closed form, for the engine's
autograd-free fast path (``toygan.models``: MLPs with analytic backward passes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

LogitLoss = Callable[[torch.Tensor], torch.Tensor]
Rng = torch.Generator | Sequence[torch.Generator]


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


def _half_square(logits: torch.Tensor, target: float) -> torch.Tensor:
    """1/2 (l - target)^2, per sample: the least-squares loss towards ``target``."""
    return 0.5 * (logits - target).square()


def _half_square_grad(logits: torch.Tensor, target: float) -> torch.Tensor:
    """d/dl 1/2 (l - target)^2 = l - target."""
    return logits - target


def hinge_real(logits: torch.Tensor) -> torch.Tensor:
    """relu(1 - l), per sample: the hinge loss of D on real samples."""
    return F.relu(1.0 - logits)


def hinge_fake(logits: torch.Tensor) -> torch.Tensor:
    """relu(1 + l), per sample: the hinge loss of D on generated samples."""
    return F.relu(1.0 + logits)


def hinge_real_grad(logits: torch.Tensor) -> torch.Tensor:
    """d/dl relu(1 - l) = -[l < 1] (0 at the kink, as autograd's relu)."""
    return (logits < 1.0).to(logits.dtype).neg_()


def hinge_fake_grad(logits: torch.Tensor) -> torch.Tensor:
    """d/dl relu(1 + l) = [l > -1] (0 at the kink, as autograd's relu)."""
    return (logits > -1.0).to(logits.dtype)


def critic_real(logits: torch.Tensor) -> torch.Tensor:
    """-l, per sample: the critic maximises E_real[D] (and the generator's loss is -E_fake[D])."""
    return -logits


def critic_fake(logits: torch.Tensor) -> torch.Tensor:
    """l, per sample: the critic minimises E_fake[D]."""
    return logits


def identity(logits: torch.Tensor) -> torch.Tensor:
    """l itself: the reported "D" of a score-valued (not probability-valued) discriminator."""
    return logits


def _constant_grad(logits: torch.Tensor, value: float) -> torch.Tensor:
    """The derivative of a loss linear in l: ``value`` everywhere."""
    return torch.full_like(logits, value)


def uniform_per_sample(x: torch.Tensor, rng: Rng) -> torch.Tensor:
    """alpha ~ U[0, 1), one per sample of ``x``, broadcastable against ``x``.

    ``rng`` is one ``torch.Generator`` (x is (m, *features): alpha is (m, 1, ...)) or a sequence
    of S generators, one per slot of dim 1 (a member-batched ensemble, x is (m, S, *features):
    alpha is (m, S, 1, ...), member s drawing exactly what a single run with ``rngs[s]`` draws).
    """
    if isinstance(rng, torch.Generator):
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        return torch.rand(shape, generator=rng, device=x.device, dtype=x.dtype)
    shape = (x.shape[0],) + (1,) * (x.dim() - 2)
    draws = [torch.rand(shape, generator=g, device=x.device, dtype=x.dtype) for g in rng]
    return torch.stack(draws, dim=1)  # (m, S, 1, ...)


def gradient_penalty(
    D: nn.Module, real: torch.Tensor, fake: torch.Tensor, rng: Rng, gp_lambda: float
) -> torch.Tensor:
    """lambda (||grad_x D(x_hat)|| - 1)^2 per sample, x_hat = alpha real + (1 - alpha) fake.

    Gulrajani et al. 2017 (arXiv:1704.00028), eq. 3. Samples are (m, *features) with one
    generator (the norm runs over all feature dims: (m, 784) MNIST, (m, 1) in 1D) or
    (m, S, *features) with S generators (an ensemble: the norm runs over each member's features).
    Returns the per-sample penalty shaped like D's output, (m, 1) or (m, S, 1), with the graph
    kept (``create_graph``) so that the D loss can be differentiated through it.
    """
    alpha = uniform_per_sample(real, rng)  # (m, 1, ...) or (m, S, 1, ...)
    x_hat = (alpha * real + (1.0 - alpha) * fake).requires_grad_(True)  # (m, [S,] *features)
    out = D(x_hat)  # (m, [S,] 1)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)  # like x_hat
    batch_dims = out.dim() - 1
    norm = torch.linalg.vector_norm(grad.flatten(batch_dims), dim=-1)  # (m,) or (m, S)
    return gp_lambda * (norm - 1.0).square().unsqueeze(-1)  # (m, [S,] 1)


def r1_penalty(
    D: nn.Module, real: torch.Tensor, fake: torch.Tensor, rng: Rng, gamma: float
) -> torch.Tensor:
    """gamma/2 ||grad_x D(x)||^2 per real sample (Mescheder et al. 2018, eq. 9); ``fake`` and
    ``rng`` are unused (the interface of ``gradient_penalty``). Returns the per-sample penalty
    shaped like D's output, (m, 1) or (m, S, 1) for an ensemble, with the graph kept."""
    x = real.detach().requires_grad_(True)  # (m, [S,] *features)
    out = D(x)  # (m, [S,] 1)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    sq = grad.flatten(out.dim() - 1).square().sum(-1, keepdim=True)  # (m, [S,] 1)
    return 0.5 * gamma * sq


@torch.no_grad()
def clip_weights(params: Sequence[torch.Tensor], clip: float) -> None:
    """Clamp every parameter to [-clip, clip] in place (Arjovsky et al. 2017, Algorithm 1)."""
    torch._foreach_clamp_min_(list(params), -clip)
    torch._foreach_clamp_max_(list(params), clip)


GAN_DEFAULTS = MappingProxyType(  # the 1D front's settings, tuned for the GAN losses
    {"k_steps": 1, "optimizer": "adam", "lr": 1e-3, "beta1": 0.5, "beta2": 0.999}
)


@dataclass(frozen=True)
class Objective:
    """A pair of per-sample losses on D's raw output l; the engine minimises their batch means.

    The interface the engine (and every front) uses:

    - ``d_real``, ``d_fake`` (the D loss) and ``g`` (the G loss) map D's output (m, 1), or
      (m, S, 1) for an ensemble, to per-sample losses of the same shape.
    - ``d_penalty(D, real, fake, rng)``: an extra per-sample D loss that needs D and the samples
      (a gradient penalty), shaped like D's output; randomness from ``rng``, the trainer's
      generator (or one per ensemble member). ``None``: no penalty.
    - ``d_after_step(params)``: called on D's parameters right after each D optimiser step
      (weight clipping). ``None``: nothing.
    - ``d_real_grad``, ``d_fake_grad``, ``g_grad``: per-sample derivatives in l (``None``:
      autograd only); with all three and no penalty, ``analytic`` is true (the fast path).
    - ``d_statistic``: the reported "D" of the statistics (mean D(real), D(fake)) from l:
      sigmoid for the GAN losses (a probability), the identity for the others (a score).
    - ``family``: "gan" | "least_squares" | "hinge" | "wasserstein" (what ``toygan.toy.theory``
      knows about it); ``params``: its constants (a, b, c; gp_lambda; clip), changed with
      ``with_params``; ``defaults``: training settings named as ``ToyConfig`` fields (k_steps,
      optimizer, lr, beta1, beta2, and a param's 1D value where it differs from the paper's)
      that the 1D front uses unless the user sets them.
    - ``zero_sum``: G's loss is -L_D (up to terms without G), so the game has a value; an
      unrolled generator (``GANTrainer(unrolled=k)``) then minimises -L_D at D's unrolled
      parameters, real term included, as Metz et al.'s f_K.
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
    d_after_step: Callable[[Sequence[torch.Tensor]], None] | None = None
    d_statistic: LogitLoss = torch.sigmoid
    family: str = "gan"
    params: Mapping[str, float] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=lambda: GAN_DEFAULTS)
    factory: Callable[..., Objective] | None = field(default=None, repr=False, compare=False)
    # G minimises -L_D (the minimax game: saturating, the Wasserstein critics): G's loss is then
    # the game's value, and an unrolled G (Metz et al. 2017) differentiates all of -L_D
    zero_sum: bool = False

    @property
    def analytic(self) -> bool:
        """True when the losses' logit derivatives are known and no penalty needs autograd."""
        grads = (self.d_real_grad, self.d_fake_grad, self.g_grad)
        return self.d_penalty is None and all(g is not None for g in grads)

    def with_params(self, **params: float) -> Objective:
        """The same objective with some of its ``params`` changed (e.g. ``gp_lambda=1.0``)."""
        if not params:
            return self
        unknown = sorted(set(params) - set(self.params))
        if unknown or self.factory is None:
            raise ValueError(f"{self.name} has no parameter {unknown}; it has {list(self.params)}")
        return self.factory(**{**self.params, **params}, name=self.name)

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor):
        """Scalar L_D (without the penalty) from D's outputs on real (m, 1) and fake (m', 1)."""
        return self.d_real(real_logits).mean() + self.d_fake(fake_logits).mean()

    def discriminator_penalty(self, D: nn.Module, real, fake, rng: Rng) -> torch.Tensor:
        """Scalar penalty term of L_D: the batch mean of ``d_penalty`` (requires one)."""
        return self.d_penalty(D, real, fake, rng).mean()

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


def least_squares(
    a: float = 0.0, b: float = 1.0, c: float = 1.0, name: str = "least_squares"
) -> Objective:
    """LSGAN (Mao et al. 2017): D minimises 1/2 E_real[(l - b)^2] + 1/2 E_fake[(l - a)^2],
    G minimises 1/2 E_fake[(l - c)^2]. D* = (b p_data + a p_g) / (p_data + p_g).

    a = 0, b = c = 1 (default) is the 0-1 coding; a = -1, b = 1, c = 0 (b - c = 1, b - a = 2) makes
    2 C(G) a Pearson chi^2 divergence (``least_squares_chi2``, see ``toygan.toy.theory``).

    On the toy's two modes ``least_squares_chi2`` collapses (seed 0: W1 1.94, one mode; G reaches
    the right mode within 200 steps, W1 ~ 2 both before and after, and stays). Not a bug (the
    analytic gradients equal autograd's) but the coding: G is pulled to D = c = 0, between
    a = -1 and b = 1, so for a fixed D an uncovered mode (D* = b = 1, G loss 1/2) repels the
    fakes of a covered one (D* = -1/3 when all of G sits on one of two equal modes, loss 1/18);
    with the 0-1 coding an uncovered mode has D* = 1 = c, zero loss, and attracts them.
    """
    a, b, c = float(a), float(b), float(c)
    return Objective(
        name,
        f"D: 1/2 (l - {b:g})^2 real + 1/2 (l - {a:g})^2 fake; G: 1/2 (l - {c:g})^2",
        partial(_half_square, target=b),
        partial(_half_square, target=a),
        partial(_half_square, target=c),
        d_real_grad=partial(_half_square_grad, target=b),
        d_fake_grad=partial(_half_square_grad, target=a),
        g_grad=partial(_half_square_grad, target=c),
        d_statistic=identity,
        family="least_squares",
        params=MappingProxyType({"a": a, "b": b, "c": c}),
        factory=least_squares,
    )


def hinge(name: str = "hinge") -> Objective:
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018): L_D = E_real[relu(1 - l)] +
    E_fake[relu(1 + l)], L_G = -E_fake[l]. D* = sign(p_data - p_g); min L_D = 2 - 2 TV."""
    return Objective(
        name,
        "D: relu(1 - l) real + relu(1 + l) fake; G: -l",
        hinge_real,
        hinge_fake,
        critic_real,
        d_real_grad=hinge_real_grad,
        d_fake_grad=hinge_fake_grad,
        g_grad=partial(_constant_grad, value=-1.0),
        d_statistic=identity,
        family="hinge",
        factory=hinge,
    )


def wasserstein_gp(gp_lambda: float = 10.0, name: str = "wasserstein_gp") -> Objective:
    """WGAN-GP (Gulrajani et al. 2017): critic loss E_fake[l] - E_real[l] + lambda E[(||grad
    D(x_hat)|| - 1)^2] (``gradient_penalty``), G loss -E_fake[l].

    ``gp_lambda`` is the formula's constant (the paper's 10). The 1D front's ``defaults`` are
    the authors' toy script (igul222/improved_wgan_training ``gan_toy.py``: lambda 0.1,
    n_critic 5, Adam betas (0.5, 0.9)) with the 1D GANs' lr 1e-3: the script's lr 1e-4 runs
    100k iterations, and in our 6000 (decayed) it ends at W1 0.22 (seed 0), lr 1e-3 at 0.12.
    The paper's Algorithm 1 is ``--gp-lambda 10 --lr 1e-4 --beta1 0``.

    Why not lambda 10 in 1D: for a critic slope s = f'(x) the loss is, pointwise,
    -s (F_g - F_data) + lambda p_hat(x) (|s| - 1)^2 (p_hat: the density of the interpolates
    x_hat), which besides its minimum at s = sign(F_g - F_data) has a local one at the opposite
    sign wherever |F_g - F_data| < 2 lambda p_hat. With lambda 10 the critic keeps the slope its
    first steps gave it (seed 0, step 100: about +1 on both sides of G, wrong on the left) and G
    follows it past the right mode and away (W1 > 10 by step 1600); with lambda 0.1 the
    wrong-sign minimum needs p_hat > 5, far above the density of interpolates spread over the
    units between fakes and data."""
    return Objective(
        name,
        f"critic: l fake - l real + {gp_lambda:g} (||grad D(x_hat)|| - 1)^2; G: -l",
        critic_real,
        critic_fake,
        critic_real,
        d_penalty=partial(gradient_penalty, gp_lambda=float(gp_lambda)),
        d_real_grad=partial(_constant_grad, value=-1.0),
        d_fake_grad=partial(_constant_grad, value=1.0),
        g_grad=partial(_constant_grad, value=-1.0),
        d_statistic=identity,
        family="wasserstein",
        zero_sum=True,
        params=MappingProxyType({"gp_lambda": float(gp_lambda)}),
        defaults=MappingProxyType(  # the authors' toy script, lr 1e-3: see the docstring
            dict(k_steps=5, optimizer="adam", lr=1e-3, beta1=0.5, beta2=0.9, gp_lambda=0.1)
        ),
        factory=wasserstein_gp,
    )


def wasserstein_clip(clip: float = 0.01, name: str = "wasserstein_clip") -> Objective:
    """WGAN (Arjovsky et al. 2017): critic loss E_fake[l] - E_real[l], G loss -E_fake[l], every
    critic weight clipped to [-c, c] after each critic step (``clip_weights``). Defaults as the
    paper's Algorithm 1: c 0.01, n_critic 5, RMSProp lr 5e-5.

    On the toy's two modes it does not reach W1 0.15 (seed 0, 6000 steps: 0.74, both modes):
    with c 0.01 at lr 1e-3 and c 0.1 at lr 5e-5 too, G matches the data's mean and variance
    (std 2.0-2.05 vs 2.06) and stalls at W1 0.70-0.74 with a critic of slope ~0: the clipped
    silu critic sees little beyond the first two moments (Gulrajani et al. 2017, section 3:
    clipping biases the critic towards overly simple functions). A larger lr alone does not
    help (c 0.01, lr 1e-3: G stays at 0 for 4000 steps); c 0.1 with lr 5e-4 reaches 0.32, not
    0.15, so no 1D default is claimed."""
    return Objective(
        name,
        f"critic: l fake - l real, weights clipped to [-{clip:g}, {clip:g}]; G: -l",
        critic_real,
        critic_fake,
        critic_real,
        d_real_grad=partial(_constant_grad, value=-1.0),
        d_fake_grad=partial(_constant_grad, value=1.0),
        g_grad=partial(_constant_grad, value=-1.0),
        d_after_step=partial(clip_weights, clip=float(clip)),
        d_statistic=identity,
        family="wasserstein",
        zero_sum=True,
        params=MappingProxyType({"clip": float(clip)}),
        defaults=MappingProxyType(
            {"k_steps": 5, "optimizer": "rmsprop", "lr": 5e-5, "beta1": 0.5, "beta2": 0.999}
        ),
        factory=wasserstein_clip,
    )


def r1(r1_gamma: float = 10.0, name: str = "r1") -> Objective:
    """The non-saturating GAN with the R1 penalty (Mescheder et al. 2018, "Which Training Methods
    for GANs do actually Converge?"): L_D = E_real[softplus(-l)] + E_fake[softplus(l)] +
    gamma/2 E_real[||grad_x D(x)||^2] (``r1_penalty``), L_G = E_fake[softplus(-l)]. The
    penalty vanishes where D is flat on the data, so at the equilibrium p_g = p_data, D = 1/2
    the optimum is unchanged; gamma 10 is the paper's default."""
    return Objective(
        name,
        f"G: softplus(-l); D: softplus(-l) real + softplus(l) fake "
        f"+ {r1_gamma:g}/2 ||grad D||^2 real",
        d_loss_real,
        d_loss_fake,
        g_loss_nonsaturating,
        d_penalty=partial(r1_penalty, gamma=float(r1_gamma)),
        d_real_grad=d_loss_real_grad,
        d_fake_grad=d_loss_fake_grad,
        g_grad=g_loss_nonsaturating_grad,
        params=MappingProxyType({"r1_gamma": float(r1_gamma)}),
        factory=r1,
    )


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
        zero_sum=True,
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
    "least_squares": least_squares(),
    "least_squares_chi2": least_squares(-1.0, 1.0, 0.0, name="least_squares_chi2"),
    "hinge": hinge(),
    "wasserstein_gp": wasserstein_gp(),
    "wasserstein_clip": wasserstein_clip(),
    "r1": r1(),
}


def get_objective(name: str | Objective) -> Objective:
    """Look up an objective by name (or pass one through)."""
    if isinstance(name, Objective):
        return name
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise ValueError(f"unknown objective {name!r}; choose from {sorted(OBJECTIVES)}") from None


def resolve_settings(objective: str | Objective, settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` with every ``None`` entry named in the objective's ``defaults`` or
    ``params`` replaced by the objective's value: "the objective's default unless set"."""
    obj = get_objective(objective)
    known = {**obj.params, **obj.defaults}  # a 1D default of a parameter wins over the formula's
    return {k: known[k] if v is None and k in known else v for k, v in settings.items()}
