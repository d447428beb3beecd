"""Unrolled discriminators: D's parameters after k optimiser steps, as a function of G.

Metz et al. 2017 ("Unrolled Generative Adversarial Networks", arXiv:1611.02163) replace G's loss
f(theta_G, theta_D) by f(theta_G, theta_D^K(theta_G, theta_D)), where theta_D^K is D after K
steps of its own optimiser on the current minibatch, and differentiate G's loss through those K
steps (second-order terms included). D's actual update stays the ordinary one-step update.

``unroll`` computes theta_D^K with the same optimiser and state D is trained with (Adam, SGD with
momentum or RMSprop, as ``toygan.engine.make_optimizer`` builds them: the update rules of
``torch.optim``, read from its ``param_groups`` and ``state``), each step's gradient taken with
``create_graph=True`` so that autograd can run backwards through the whole unroll. The released
notebook (poolio/unrolled_gan) unrolls Keras' Adam the same way, from the optimiser's current
moments and step count, on the same minibatch at every step.

The square root of Adam's and RMSprop's second moment is taken as 0 with a zero derivative where
the moment is exactly 0 (a parameter that has never had a gradient): the value is exact, and
the derivative of sqrt at 0 would otherwise be inf * 0 = NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

LossAt = Callable[[dict[str, torch.Tensor], Any], torch.Tensor]


def _sqrt0(v: torch.Tensor) -> torch.Tensor:
    """sqrt(v) for v >= 0, with derivative 0 (not inf) where v == 0."""
    pos = v > 0
    return torch.where(pos, torch.where(pos, v, torch.ones_like(v)).sqrt(), torch.zeros_like(v))


def _state(opt: torch.optim.Optimizer, p: torch.Tensor, key: str) -> torch.Tensor | None:
    v = opt.state.get(p, {}).get(key)
    return None if v is None else v.detach()


def unroll(
    D: nn.Module,
    opt: torch.optim.Optimizer,
    loss_at: LossAt,
    batch: Any,
    k: int,
) -> dict[str, torch.Tensor]:
    """D's trainable parameters after ``k`` steps of ``opt`` on ``loss_at(params, batch)``.

    ``loss_at(params, batch)`` is D's loss with parameters ``params`` (a name -> tensor dict for
    ``torch.func.functional_call``); ``batch`` is the same at every step. The result is a dict
    of the same names, differentiable in whatever ``batch`` depends on (G's fakes), not in D's
    current parameters (detached: G's update must not train D). D's frozen parameters and
    buffers are taken as they are by ``functional_call``.
    """
    if len(opt.param_groups) != 1:
        raise ValueError("unrolling supports one parameter group")
    group = opt.param_groups[0]
    named = [(n, p) for n, p in D.named_parameters() if p.requires_grad]
    kind = type(opt).__name__
    if kind not in ("Adam", "LeanAdam", "SGD", "RMSprop"):
        raise ValueError(f"unrolling knows Adam, SGD and RMSprop, not {kind}")
    if group.get("amsgrad") or group.get("nesterov") or group.get("maximize"):
        raise ValueError("unrolling does not cover amsgrad, nesterov or maximize")
    lr, wd = float(group["lr"]), float(group.get("weight_decay", 0.0))
    params = [p.detach().requires_grad_(True) for _, p in named]
    if kind in ("Adam", "LeanAdam"):
        b1, b2 = group["betas"]
        eps = group["eps"]
        m = [_state(opt, p, "exp_avg") for _, p in named]
        v = [_state(opt, p, "exp_avg_sq") for _, p in named]
        t0 = _state(opt, named[0][1], "step")
        t = 0.0 if t0 is None else float(t0)
    elif kind == "SGD":
        mom, damp = float(group["momentum"]), float(group["dampening"])
        buf = [_state(opt, p, "momentum_buffer") for _, p in named]
    else:
        alpha, eps = float(group["alpha"]), float(group["eps"])
        if group.get("momentum") or group.get("centered"):
            raise ValueError("unrolling RMSprop covers neither momentum nor centered")
        sq = [_state(opt, p, "square_avg") for _, p in named]
    names = [n for n, _ in named]
    for _ in range(k):
        loss = loss_at(dict(zip(names, params, strict=True)), batch)
        grads = torch.autograd.grad(loss, params, create_graph=True)
        if wd:
            grads = [g + wd * p for g, p in zip(grads, params, strict=True)]
        new = []
        if kind in ("Adam", "LeanAdam"):
            t += 1.0
            bc1, bc2 = 1.0 - b1**t, 1.0 - b2**t
            for i, (p, g) in enumerate(zip(params, grads, strict=True)):
                m[i] = (1 - b1) * g if m[i] is None else b1 * m[i] + (1 - b1) * g
                v[i] = (1 - b2) * g * g if v[i] is None else b2 * v[i] + (1 - b2) * g * g
                denom = _sqrt0(v[i]) / (bc2**0.5) + eps
                new.append(p - (lr / bc1) * m[i] / denom)
        elif kind == "SGD":
            for i, (p, g) in enumerate(zip(params, grads, strict=True)):
                if mom:
                    buf[i] = g if buf[i] is None else mom * buf[i] + (1 - damp) * g
                    g = buf[i]
                new.append(p - lr * g)
        else:
            for i, (p, g) in enumerate(zip(params, grads, strict=True)):
                g2 = (1 - alpha) * g * g
                sq[i] = g2 if sq[i] is None else alpha * sq[i] + g2
                new.append(p - lr * g / (_sqrt0(sq[i]) + eps))
        params = new
    return dict(zip(names, params, strict=True))


__all__ = ["unroll"]
