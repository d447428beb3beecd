"""The theory of Goodfellow et al. 2014 (arXiv:1406.2661, section 4) and of the objective family
(``toygan.objectives``), computed exactly in 1D.

- ``optimal_discriminator``: Proposition 1, D*(x) = p_data(x) / (p_data(x) + p_g(x)), evaluated
  as sigmoid(log p_data(x) - log p_g(x)) so it stays exact far in the tails, where both densities
  underflow but their log-ratio does not. For least squares (Mao et al. 2017) D* =
  (b p_data + a p_g) / (p_data + p_g); for the hinge loss D* = sign(p_data - p_g).
- ``optimal_critic_slope`` / ``optimal_critic``: the Wasserstein critic in 1D, slope
  sign(F_g - F_data) (Arjovsky et al. 2017); ``wasserstein1_exact`` = int |F_data - F_g| dx.
- ``value_function``: V(D, G) = E_{p_data}[log D(x)] + E_{p_g}[log(1 - D(x))] by quadrature.
- ``virtual_criterion``: max_D of D's objective, -min_D L_D (for the GAN losses the paper's
  C(G) = max_D V(D, G) = V(D*, G)); ``divergence``: what it measures. The identities:
  GAN C = -log 4 + 2 JSD (Theorem 1); least squares -min L_D = -(b - a)^2 (2 - X) / 8 and, Mao
  et al.'s Theorem 2, 2 C_LS(G) = X for a = -1, b = 1, c = 0 (``least_squares_criterion``),
  X = ``chi2_divergence``; hinge min L_D = 2 - 2 TV; Wasserstein max critic value = W1.

A *density* is anything with ``log_prob(x)`` returning float64 log-densities (``GaussianMixture``,
``SampleDensity``). Integrals run over a finite interval (1D) or over cells refined around every
component (2D) by composite Gauss-Legendre quadrature (``toygan.toy.quadrature``, which states
its accuracy). In 2D: D*, V, JSD, C(G), chi^2 and the least-squares and hinge criteria; the
Wasserstein quantities (a 1-Lipschitz critic, W1 from CDFs) are 1D only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from toygan.objectives import Objective, get_objective
from toygan.toy.quadrature import dimension, quadrature_rule, support_interval

LOG2 = math.log(2.0)
LOG4 = math.log(4.0)


class Density(Protocol):
    def log_prob(self, x: torch.Tensor) -> torch.Tensor: ...


class OptimalDiscriminator:
    """The optimal D for fixed G of a GAN, least-squares or hinge ``objective``, from log-densities.

    ``logit(x)`` = log p_data(x) - log p_g(x); ``output(x)`` = D*'s raw output (what the network
    returns): the logit for the GAN losses (Proposition 1), a + (b - a) sigmoid(logit) =
    (b p_data + a p_g) / (p_data + p_g) for least squares, sign(logit) for the hinge loss (0 where
    p_data = p_g, where any value in [-1, 1] is optimal); ``__call__(x)`` = the objective's
    reported D of it (``Objective.d_statistic``): the probability D*(x) for the GAN losses, the
    output itself otherwise. All float64 of the shape of ``x``. Where both densities are 0 even in
    log space (|x| ~ 1e154) the logit is NaN: D* is undefined there.
    """

    def __init__(
        self, p_data: Density, p_g: Density, objective: str | Objective = "nonsaturating"
    ) -> None:
        self.p_data, self.p_g = p_data, p_g
        self.objective = get_objective(objective)
        if self.objective.family == "wasserstein":
            raise ValueError(
                "a Wasserstein critic has no pointwise optimum; use optimal_critic (1D)"
            )

    def logit(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float64)
        return self.p_data.log_prob(x) - self.p_g.log_prob(x)

    def output(self, x: torch.Tensor) -> torch.Tensor:
        lg, family = self.logit(x), self.objective.family
        if family == "least_squares":
            a, b = self.objective.params["a"], self.objective.params["b"]
            return a + (b - a) * torch.sigmoid(lg)
        if family == "hinge":
            return torch.sign(lg)
        return lg

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.objective.d_statistic(self.output(x))


def optimal_discriminator(
    p_data: Density, p_g: Density, objective: str | Objective = "nonsaturating"
) -> OptimalDiscriminator:
    """The optimal discriminator D* for fixed G, a callable on points (``OptimalDiscriminator``:
    probabilities for the GAN losses, the raw output for least squares and hinge)."""
    return OptimalDiscriminator(p_data, p_g, objective)


def _logits_at(D: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """D evaluated at float64 points x (N,), as float64 (N,). An ``nn.Module`` gets (N, 1) in
    its own dtype and device (D's convention); any other callable gets x itself."""
    if isinstance(D, nn.Module):
        p = next(D.parameters(), None)
        dtype = p.dtype if p is not None else torch.float32
        device = p.device if p is not None else x.device
        with torch.no_grad():
            pts = x.unsqueeze(1) if x.dim() == 1 else x  # (N, d)
            out = D(pts.to(device=device, dtype=dtype))  # (N, 1)
        return out.reshape(-1).to(device="cpu", dtype=torch.float64)
    return torch.as_tensor(D(x), dtype=torch.float64).reshape(-1)


def _xlogy(p: torch.Tensor, log_y: torch.Tensor) -> torch.Tensor:
    """p * log y with 0 * log 0 = 0 (where p = 0, D may be exactly 0 or 1)."""
    return torch.where(p > 0, p * log_y, torch.zeros_like(p))


def value_function(
    D: Callable[[torch.Tensor], torch.Tensor],
    p_data: Density,
    p_g: Density,
    output: str = "logits",
    interval: tuple[float, float] | None = None,
    **quad,
) -> float:
    """V(D, G) = int p_data log D + p_g log(1 - D) dx by ``quadrature_rule`` (see its bound).

    Args:
        D: a callable on points. An ``nn.Module`` is called on (N, 1) inputs (the engine's
            discriminators); any other callable on a float64 (N,) tensor.
        output: what D returns: ``"logits"`` l (default; log D = logsigmoid(l) and
            log(1 - D) = logsigmoid(-l), exact for any l) or ``"probs"`` D(x) in [0, 1]
            (probabilities round to 0 or 1 in the tails, where log(1 - D) becomes -inf: pass
            logits for D*).
        interval: passed to ``quadrature_rule``.
        quad: further keyword arguments of ``quadrature_rule``.
    """
    if interval is not None:
        quad["interval"] = interval
    x, w = quadrature_rule(p_data, p_g, **quad)  # (N,) or (N, 2), (N,)
    out = _logits_at(D, x)  # (N,)
    if output == "logits":
        log_d, log_1md = F.logsigmoid(out), F.logsigmoid(-out)
    elif output == "probs":
        log_d, log_1md = out.log(), torch.log1p(-out)
    else:
        raise ValueError(f"output must be 'logits' or 'probs', got {output!r}")
    integrand = _xlogy(p_data.log_prob(x).exp(), log_d) + _xlogy(p_g.log_prob(x).exp(), log_1md)
    return float((w * integrand).sum())


def _log_2sigmoid(u: torch.Tensor) -> torch.Tensor:
    """log(2 sigmoid(u)), exactly 0 at u = 0 and accurate for small |u| (no cancellation)."""
    small = u.abs() < 1
    near = torch.log1p(torch.expm1(-u.clamp(-1, 1)) / 2).neg()  # -log((1 + e^-u) / 2)
    return torch.where(small, near, LOG2 - F.softplus(-u))


def jensen_shannon(p: Density, q: Density, **quad) -> float:
    """JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q)/2, in nats, by quadrature.

    Pointwise the integrand is (p + q)/2 * g(l) with l = log p - log q, D = sigmoid(l) and
    g = D log(2D) + (1 - D) log(2(1 - D)) = log 2 - H(D), in [0, log 2]; it is clamped there
    against rounding, so 0 <= JSD and JSD = 0 exactly when p and q have equal log-densities.
    """
    x, w = quadrature_rule(p, q, **quad)  # (N,), (N,)
    lp, lq = p.log_prob(x), q.log_prob(x)  # (N,) each
    logit = lp - lq  # (N,) the logit of D*
    d = torch.sigmoid(logit)
    g = d * _log_2sigmoid(logit) + (1 - d) * _log_2sigmoid(-logit)  # (N,)
    half_mass = 0.5 * (torch.logaddexp(lp, lq).exp())  # (N,) (p + q)/2
    return float((w * half_mass * g.clamp(0.0, LOG2)).sum())


def _sign_changes(fn: Callable[[torch.Tensor], torch.Tensor], lo: float, hi: float, step: float):
    """(crossings (K,), signs (K + 1,)): the points in (lo, hi) where ``fn`` changes sign (a scan
    every ``step``, then 60 bisections) and the sign of ``fn`` before the first, between
    consecutive ones and after the last (all 0 if ``fn`` is 0 at every node).

    A node where ``fn`` is exactly 0 has no sign of its own: the scan compares each node of
    nonzero sign with the next such node, so a crossing that falls on a node (two CDFs crossing
    at x = 0, where a node sits at -3e-16) is found like any other, and the sign of a segment is
    that of its scan nodes, not of one point in it (where a tail gap may round to 0).
    """
    n = max(2, math.ceil((hi - lo) / step) + 1)
    x = torch.linspace(lo, hi, n, dtype=torch.float64)  # (n,)
    v = fn(x)
    nz = torch.nonzero(v != 0).reshape(-1)  # nodes with a sign
    change = torch.nonzero(v[nz[:-1]] * v[nz[1:]] < 0).reshape(-1)  # sign changes between them
    a, b, va = x[nz[change]], x[nz[change + 1]], v[nz[change]]
    for _ in range(60):
        mid = 0.5 * (a + b)
        same = fn(mid) * va > 0
        a, b = torch.where(same, mid, a), torch.where(same, b, mid)
    if len(nz) == 0:
        return 0.5 * (a + b), torch.zeros(1, dtype=torch.float64)
    signs = torch.sign(torch.cat([v[nz[:1]], v[nz[change + 1]]]))  # (K + 1,)
    return 0.5 * (a + b), signs


def _crossings(fn: Callable[[torch.Tensor], torch.Tensor], lo: float, hi: float, step: float):
    """The points in (lo, hi) where ``fn`` changes sign (``_sign_changes``)."""
    return _sign_changes(fn, lo, hi, step)[0]


def _cdf_gap(p_data: Density, p_g: Density) -> Callable[[torch.Tensor], torch.Tensor]:
    """x -> F_g(x) - F_data(x) (both need ``cdf``, as 1D ``GaussianMixture`` has)."""
    if dimension(p_data, p_g) != 1:
        raise ValueError("the Wasserstein quantities here are 1D (from the CDFs); a 2D W1 has "
                         "no closed form")  # fmt: skip
    if not (hasattr(p_data, "cdf") and hasattr(p_g, "cdf")):
        raise ValueError("the Wasserstein quantities need distributions with a cdf")
    return lambda x: p_g.cdf(x) - p_data.cdf(x)


def _rule(p_data, p_g, kink_fn=None, **quad) -> tuple[torch.Tensor, torch.Tensor]:
    """``quadrature_rule`` over both supports with panel edges at the sign changes of
    ``kink_fn`` (where the integrand has a kink)."""
    if kink_fn is None or dimension(p_data, p_g) > 1:  # 2D: kinks along curves, not at points
        return quadrature_rule(p_data, p_g, **quad)
    lo, hi, scale = support_interval(p_data, p_g)
    return quadrature_rule(p_data, p_g, breaks=_crossings(kink_fn, lo, hi, scale / 16), **quad)


def optimal_critic_slope(p_data: Density, p_g: Density) -> Callable[[torch.Tensor], torch.Tensor]:
    """x -> sign(F_g(x) - F_data(x)): the slope of an optimal 1-Lipschitz critic in 1D.

    E_data[f] - E_g[f] = int f(x) (p_data - p_g) dx = int f'(x) (F_g - F_data) dx (by parts), which
    |f'| <= 1 maximises with this slope; the maximum is W1 (Kantorovich-Rubinstein).
    """
    gap = _cdf_gap(p_data, p_g)
    return lambda x: torch.sign(gap(torch.as_tensor(x, dtype=torch.float64)))


class OptimalCritic:
    """f*(x) = int_lo^x sign(F_g - F_data) dt, an optimal Wasserstein critic (defined up to a
    constant; here 0 at the left end ``lo`` of the supports), exactly piecewise linear between
    the crossings of F_g and F_data. ``__call__``: float64 of the shape of ``x``; outside
    [lo, hi] the end slopes continue."""

    def __init__(self, p_data: Density, p_g: Density) -> None:
        gap = _cdf_gap(p_data, p_g)
        lo, hi, scale = support_interval(p_data, p_g)
        crossings, signs = _sign_changes(gap, lo, hi, scale / 16)
        knots = torch.cat([torch.tensor([lo], dtype=torch.float64), crossings])
        ends = torch.cat([knots[1:], torch.tensor([hi], dtype=torch.float64)])
        self.knots = knots  # (K + 1,) segment starts
        self.slopes = signs  # (K + 1,) sign(F_g - F_data) on each segment
        rise = self.slopes * (ends - knots)
        self.values = torch.cat([torch.zeros(1, dtype=torch.float64), rise.cumsum(0)[:-1]])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float64)
        j = (torch.searchsorted(self.knots, x.reshape(-1), right=True) - 1).clamp(min=0)
        out = self.values[j] + self.slopes[j] * (x.reshape(-1) - self.knots[j])
        return out.reshape(x.shape)


def optimal_critic(p_data: Density, p_g: Density) -> OptimalCritic:
    """An optimal 1-Lipschitz critic in 1D (``OptimalCritic``), to evaluate or draw."""
    return OptimalCritic(p_data, p_g)


def wasserstein1_exact(p_data: Density, p_g: Density, **quad) -> float:
    """W1(p_data, p_g) = int |F_data - F_g| dx, by Gauss-Legendre quadrature with panel edges at
    the crossings of the CDFs (an analytic integrand on every panel). Both need ``cdf``.
    ``toygan.toy.metrics.wasserstein1`` is the same distance from samples to a mixture."""
    gap = _cdf_gap(p_data, p_g)
    x, w = _rule(p_data, p_g, gap, **quad)
    return float((w * gap(x).abs()).sum())


def total_variation(p: Density, q: Density, **quad) -> float:
    """TV(p, q) = 1/2 int |p - q| dx, in [0, 1], with panel edges where p = q."""
    x, w = _rule(p, q, lambda t: p.log_prob(t) - q.log_prob(t), **quad)
    return float(0.5 * (w * (p.log_prob(x).exp() - q.log_prob(x).exp()).abs()).sum())


def chi2_divergence(p_data: Density, p_g: Density, **quad) -> float:
    """Mao et al.'s chi^2_Pearson(p_data + p_g || 2 p_g) = int (2 p_g - (p_data + p_g))^2 /
    (p_data + p_g) dx = int (p_data - p_g)^2 / (p_data + p_g) dx, in [0, 2].

    Their notation puts the first argument in the denominator; in the usual convention
    (int (P - Q)^2 / Q) this is chi^2(2 p_g || p_data + p_g). Evaluated as (p_data + p_g)
    tanh(l / 2)^2 with l = log p_data - log p_g: exact in the tails.
    """
    x, w = quadrature_rule(p_data, p_g, **quad)
    lp, lq = p_data.log_prob(x), p_g.log_prob(x)
    return float((w * torch.logaddexp(lp, lq).exp() * torch.tanh(0.5 * (lp - lq)).square()).sum())


def _least_squares_abc(objective: Objective) -> tuple[float, float, float]:
    if objective.family != "least_squares":
        raise ValueError(f"{objective.name} is not a least-squares objective")
    return objective.params["a"], objective.params["b"], objective.params["c"]


def divergence(
    p_data: Density, p_g: Density, objective: str | Objective = "nonsaturating", **quad
) -> float:
    """What the objective's criterion measures between p_data and p_g.

    GAN losses: JSD (C = -log 4 + 2 JSD); least squares with b - c = 1, b - a = 2 (a = -1, b = 1,
    c = 0, ``least_squares_chi2``): ``chi2_divergence`` (2 C_LS = chi^2, Mao et al. Theorem 2;
    other codings raise: their criterion is no divergence); hinge: total variation
    (min L_D = 2 - 2 TV); Wasserstein: W1 (the maximal critic value).
    """
    obj = get_objective(objective)
    if obj.family == "gan":
        return jensen_shannon(p_data, p_g, **quad)
    if obj.family == "least_squares":
        a, b, c = _least_squares_abc(obj)
        if (b - c, b - a) != (1.0, 2.0):
            raise ValueError(f"least squares with a={a:g}, b={b:g}, c={c:g} (need b-c=1, b-a=2)")
        return chi2_divergence(p_data, p_g, **quad)
    if obj.family == "hinge":
        return total_variation(p_data, p_g, **quad)
    return wasserstein1_exact(p_data, p_g, **quad)


def _expected_loss(loss, out, dens_data, dens_g, w) -> torch.Tensor:
    """int p_data loss_real(out) + p_g loss_fake(out) dx for per-point losses, 0 * inf = 0."""
    real, fake = loss
    term = torch.where(dens_data > 0, dens_data * real(out), 0.0)
    return (w * (term + torch.where(dens_g > 0, dens_g * fake(out), 0.0))).sum()


def virtual_criterion(
    p_data: Density, p_g: Density, objective: str | Objective = "nonsaturating", **quad
) -> float:
    """max_D of D's objective for fixed G: -min_D L_D = -L_D(D*), by quadrature of L_D at the
    optimum (the registry's own per-sample losses on D*'s output).

    GAN losses: the paper's C(G) = max_D V(D, G) = V(D*, G) = -log 4 + 2 JSD. Least squares:
    -(b - a)^2 (2 - X) / 8 with X = ``chi2_divergence`` (so -1 + X/2 for a = -1, b = 1; this is
    D's side: G's criterion is ``least_squares_criterion``). Hinge: 2 TV - 2 (min L_D = 2 - 2 TV).
    Wasserstein: max over 1-Lipschitz f of E_data[f] - E_g[f] = int f* (p_data - p_g) = W1.
    """
    obj = get_objective(objective)
    if obj.family == "wasserstein":
        f = optimal_critic(p_data, p_g)
        x, w = _rule(p_data, p_g, _cdf_gap(p_data, p_g), **quad)
        diff = p_data.log_prob(x).exp() - p_g.log_prob(x).exp()
        return float((w * f(x) * diff).sum())
    d_star = optimal_discriminator(p_data, p_g, obj)
    kink = d_star.logit if obj.family == "hinge" else None
    x, w = _rule(p_data, p_g, kink, **quad)
    out = d_star.output(x)
    dens = p_data.log_prob(x).exp(), p_g.log_prob(x).exp()
    return -float(_expected_loss((obj.d_real, obj.d_fake), out, *dens, w))


def least_squares_criterion(
    p_data: Density, p_g: Density, objective: str | Objective = "least_squares_chi2", **quad
) -> float:
    """Mao et al.'s C(G) = 1/2 E_data[(D* - c)^2] + 1/2 E_g[(D* - c)^2]: G's least-squares loss at
    the optimal D (plus the E_data term, constant in G). With b - c = 1 and b - a = 2,
    2 C(G) = ``chi2_divergence`` (their Theorem 2)."""
    obj = get_objective(objective)
    c = _least_squares_abc(obj)[2]
    x, w = quadrature_rule(p_data, p_g, **quad)
    out = optimal_discriminator(p_data, p_g, obj).output(x)
    g_loss = lambda t: 0.5 * (t - c).square()  # noqa: E731
    dens = p_data.log_prob(x).exp(), p_g.log_prob(x).exp()
    return float(_expected_loss((g_loss, g_loss), out, *dens, w))
