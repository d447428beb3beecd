"""Training a discriminator alone against two fixed distributions: what a trained D looks like.

Proposition 1 of Goodfellow et al. 2014 (arXiv:1406.2661) says that for fixed G the best D is
D* = p_data / (p_data + p_g). ``fit_discriminator`` trains D with the engine's own update
(``GANTrainer.d_step``: the discriminator loss of the objective registry on fresh minibatches,
with its penalty and post-step hook) where the "generator" is the identity and its noise prior is
p_g itself, so G(z) ~ p_g. Compare the result with ``toygan.toy.theory.optimal_discriminator``
(GAN, least squares, hinge) or, for a Wasserstein critic, its value with
``toygan.toy.theory.wasserstein1``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from toygan.engine import GANTrainer, Sampler, make_optimizer, resolve_device
from toygan.models import Discriminator
from toygan.objectives import Objective, get_objective

FitCallback = Callable[[int, Discriminator], None]


def fit_discriminator(
    p_data: Sampler,
    p_g: Sampler,
    steps: int = 2000,
    seed: int = 0,
    batch_size: int = 256,
    lr: float = 3e-3,
    width: int = 64,
    depth: int = 2,
    activation: str = "elu",
    device: str = "cpu",
    snapshot_every: int = 0,
    callback: FitCallback | None = None,
    objective: str | Objective = "nonsaturating",
) -> Discriminator:
    """Train a fresh ``Discriminator`` to tell samples of ``p_data`` from samples of ``p_g``.

    Args:
        p_data: anything with ``sample(n, generator)`` returning (n, d) samples (d: its
            ``dim``, 1 if it has none).
        p_g: the same for the generator's distribution.
        steps: D updates, each on ``batch_size`` fresh samples of each distribution.
        seed: seeds the initialisation and every minibatch (the global RNG is left untouched).
        lr: Adam learning rate (betas (0.5, 0.999), as in the engine's runs), decayed linearly to
            0 over ``steps`` so the minibatch noise of the last steps averages out.
        width: hidden width of the discriminator MLP (``toygan.models.Discriminator``).
        depth: its number of hidden layers.
        activation: its activation; a smooth one (``"elu"``) gives a smooth D, like D*.
        device: "cpu", "cuda" or "auto".
        snapshot_every: call ``callback(step, D)`` at step 0, every ``snapshot_every`` steps and
            after the last one (0: only at 0 and at the end).
        callback: receives the step and D (in eval mode, do not keep it: copy what you need).
        objective: whose D loss to minimise (registry name or ``Objective``); the D loss is the
            same for both GAN losses. Its penalty and weight clipping apply; its training
            defaults (optimiser, n_critic) do not: every objective trains with the Adam above.

    Returns:
        The trained D in eval mode: an ``nn.Module`` mapping (N, d) inputs to (N, 1) logits.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    dev = resolve_device(device)
    with torch.random.fork_rng(devices=[]):  # nn.Linear initialises from the global RNG
        torch.manual_seed(seed)
        D = Discriminator(getattr(p_data, "dim", 1), width, depth, activation).to(dev)
    if get_objective(objective).family == "wasserstein":
        # f = 0 at the start: the gradient penalty is symmetric under f -> -f and, in 1D, has a
        # local minimum at slope -sign(F_g - F_data) wherever |F_g - F_data| < 2 lambda p_hat; a
        # random initial slope of the wrong sign gets stuck there (a fitted value near -W1)
        with torch.no_grad():
            D.net.layers[-1].weight.zero_()
            D.net.layers[-1].bias.zero_()
    d_opt = make_optimizer(D.parameters(), "adam", lr, betas=(0.5, 0.999))
    schedule = torch.optim.lr_scheduler.LambdaLR(d_opt, lambda s: 1.0 - s / steps)
    trainer = GANTrainer(
        nn.Identity(),  # G(z) = z, with z ~ p_g: the fakes are samples of p_g
        D,
        p_g,
        p_data,
        objective,  # only its discriminator loss (and penalty, post-step hook) is used
        None,  # no generator optimiser: g_step is never called
        d_opt,
        rng=torch.Generator(dev).manual_seed(seed),
        batch_size=batch_size,
    )

    def report(step: int) -> None:
        if callback is not None:
            D.eval()
            callback(step, D)
            D.train()

    report(0)
    D.train()
    for step in range(1, steps + 1):
        trainer.d_step()
        schedule.step()
        if step == steps or (snapshot_every > 0 and step % snapshot_every == 0):
            report(step)
    return D.eval()
