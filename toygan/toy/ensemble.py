"""Many independent 1D GANs trained at once: member-batched MLPs on the shared engine.

S members (one per seed) are stacked into one computation: every linear layer holds weights of
shape (S, in, out) and runs as one batched matmul (``torch.bmm``); samples travel as (m, S, dim),
so the engine's ``torch.cat([real, fake])`` along dim 0 and its minibatch splitting work
unchanged. The
``GANTrainer`` of ``toygan.engine`` trains the ensemble with the registry's per-sample losses;
only the reduction differs: a mean over the minibatch and a *sum* over members, so each member's
gradient is exactly its own single-run gradient (a plain mean would scale it by 1/S, which Adam
hides and SGD does not). Adam and SGD update elementwise, so stacked parameters are updated
exactly as S separate optimisers would update them.

Each member is initialised as ``experiment.build_trainer`` initialises seed s, and draws its real
and noise minibatches from its own ``torch.Generator(seed s)`` in the same order as a single run:
up to floating-point rounding, member i *is* the single run with seed s_i.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import LinearLR

from toygan.engine import GANTrainer, TrainingDiverged, make_optimizer, resolve_device
from toygan.models import ACTIVATIONS, OUTPUTS, Discriminator, Generator, NoisePrior
from toygan.objectives import Objective, get_objective
from toygan.toy.experiment import ToyConfig

_INPLACE = {"relu": F.relu_, "leaky_relu": partial(F.leaky_relu_, negative_slope=0.2)}


class EnsembleMLP(nn.Module):
    """S MLPs in one: (m, S, in) -> (m, S, out), built from S ordinary ``models.MLP``s."""

    def __init__(self, mlps: Sequence[nn.Module], activation: str) -> None:
        super().__init__()
        layers = [m.layers for m in mlps]
        # weights (S, in, out) and biases (S, 1, out), stacked from nn.Linear's (out, in), (out,)
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([ls[j].weight.detach().T for ls in layers]).contiguous())
            for j in range(len(layers[0]))
        )
        self.biases = nn.ParameterList(
            nn.Parameter(torch.stack([ls[j].bias.detach()[None] for ls in layers]))
            for j in range(len(layers[0]))
        )
        self.activation = activation
        # in place where autograd allows it: saves a (S, m, width) buffer per layer
        self._act = _INPLACE.get(activation, ACTIVATIONS[activation])

    @property
    def members(self) -> int:
        return self.weights[0].shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.transpose(0, 1)  # (S, m, in)
        last = len(self.weights) - 1
        for j, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            if w.shape[1] == 1:  # one input feature: a broadcast multiply beats a bmm
                h = torch.addcmul(b, h, w)  # (S, m, out_j)
            else:
                h = torch.bmm(h, w).add_(b)  # (S, m, out_j); faster than baddbmm on CPU
            if j < last:
                h = self._act(h)
        return h.transpose(0, 1)  # (m, S, out)


class EnsembleGenerator(nn.Module):
    """x = G_s(z) for every member s: noise (m, S, noise_dim) -> samples (m, S, 1)."""

    def __init__(self, generators: Sequence[Generator], activation: str) -> None:
        super().__init__()
        self.net = EnsembleMLP([g.net for g in generators], activation)
        self.output = generators[0].output
        self._out = OUTPUTS[self.output]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self._out(self.net(z))  # (m, S, 1)


class EnsembleDiscriminator(nn.Module):
    """l = D_s(x) for every member s: samples (m, S, 1) -> logits (m, S, 1)."""

    def __init__(self, discriminators: Sequence[Discriminator], activation: str) -> None:
        super().__init__()
        self.net = EnsembleMLP([d.net for d in discriminators], activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (m, S, 1) logits


@dataclass(frozen=True)
class MemberSumObjective(Objective):
    """An ``Objective`` whose losses are means over the minibatch, summed over members.

    Takes logits (m, S, 1); the per-sample losses are the registry's own functions. A penalty's
    random draws come from ``member_rngs`` (member s from its own generator, as a single run).
    """

    member_rngs: tuple[torch.Generator, ...] = ()

    def discriminator_penalty(self, D, real, fake, rng) -> torch.Tensor:
        per_sample = self.d_penalty(D, real, fake, self.member_rngs or rng)  # (m, S, 1)
        return per_sample.mean(0).sum()

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor):
        return self.d_real(real_logits).mean(0).sum() + self.d_fake(fake_logits).mean(0).sum()

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return self.g(fake_logits).mean(0).sum()

    def member_generator_losses(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """Each member's L_G, shape (S,)."""
        return self.g(fake_logits).mean(0).reshape(-1)


def member_sum(
    objective: str | Objective, rngs: Sequence[torch.Generator] = ()
) -> MemberSumObjective:
    """The registry objective ``objective`` with member-summed reductions (autograd only: the
    logit derivatives are dropped); ``rngs``: the members' generators, for a penalty."""
    o = get_objective(objective)
    kept = {f.name: getattr(o, f.name) for f in fields(Objective) if not f.name.endswith("_grad")}
    return MemberSumObjective(**kept, member_rngs=tuple(rngs))


class MemberSampler:
    """Draws member s's samples from its own generator: ``sample(n)`` -> (n, S, dim).

    The ``generator`` argument the engine passes is ignored: randomness comes from ``rngs``
    (one per member, shared between the data and the noise sampler, as in a single run).
    """

    def __init__(self, source, rngs: Sequence[torch.Generator]) -> None:
        self.source, self.rngs = source, list(rngs)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.stack([self.source.sample(n, g) for g in self.rngs], dim=1)  # (n, S, dim)


class EnsembleTrainer(GANTrainer):
    """The engine's ``GANTrainer`` plus quarantine: one member diverging does not stop the rest.

    Members are independent: a member whose numbers become NaN/inf affects only its own
    gradient, but it turns the engine's summed statistics non-finite and the engine stops.
    ``train_members`` then quarantines it (parameters and optimiser state zeroed, gradients
    masked to zero from then on) and carries on; ``alive`` (S,) records who is still training.
    """

    seeds: list[int]
    alive: torch.Tensor

    @torch.no_grad()
    def finite_members(self) -> torch.Tensor:
        """(S,) bool: alive members whose G and D parameters are all finite."""
        ok = [p.flatten(1).isfinite().all(1) for p in (*self.G.parameters(), *self.D.parameters())]
        return torch.stack(ok).all(0) & self.alive

    @torch.no_grad()
    def quarantine(self) -> list[int]:
        """Freeze members with non-finite parameters; returns their seeds."""
        newly = self.alive & ~self.finite_members()
        if not newly.any():
            return []
        if self.alive.all():  # first casualty: from now on, dead members get zero gradients
            for p in (*self.G.parameters(), *self.D.parameters()):
                p.register_hook(lambda g: g * self.alive.view(-1, *[1] * (g.dim() - 1)))
        self.alive &= ~newly
        dead = ~self.alive
        for opt in (self.g_opt, self.d_opt):
            for group in opt.param_groups:
                for p in group["params"]:
                    p[dead] = 0.0
                    for v in opt.state.get(p, {}).values():
                        if torch.is_tensor(v) and v.shape[:1] == p.shape[:1]:
                            v[dead] = 0.0
        return [s for s, bad in zip(self.seeds, newly.tolist(), strict=True) if bad]

    def train_members(self, steps: int, **kwargs) -> None:
        """``train(steps, **kwargs)``, quarantining members that diverge and continuing."""
        end = self.step + steps
        every, callbacks = kwargs.get("snapshot_every", 0), kwargs.get("callbacks", ())
        while self.step < end:
            try:
                self.train(end - self.step, **kwargs)
            except TrainingDiverged:
                if not self.quarantine():
                    raise
                if (every and self.step % every == 0) or self.step == end:
                    for cb in callbacks:  # the engine stopped before this snapshot's callbacks
                        cb(self, self.step)


def build_ensemble(cfg: ToyConfig, seeds: Sequence[int]) -> EnsembleTrainer:
    """A ``GANTrainer`` training one member per seed, each as ``experiment.build_trainer`` would.

    ``cfg.seed`` is ignored (``seeds`` replace it). The trainer's ``history`` holds losses summed
    over members, mean D(real)/D(fake) over all members and the joint ||grad_G||; per-member
    numbers come from ``member_grad_norms``, ``sample_members`` and ``member_d_deviation``.
    """
    cfg = cfg.resolved()  # the objective's defaults for the settings left unset (None)
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("need at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    device = resolve_device(cfg.device)
    gs, ds = [], []
    for s in seeds:  # parameter initialisation exactly as build_trainer does it
        torch.manual_seed(s)
        gs.append(Generator(cfg.noise_dim, 1, cfg.g_width, cfg.g_depth, cfg.activation))
        ds.append(Discriminator(1, cfg.d_width, cfg.d_depth, cfg.activation))
    G = EnsembleGenerator(gs, cfg.activation).to(device)
    D = EnsembleDiscriminator(ds, cfg.activation).to(device)
    rngs = [torch.Generator(device).manual_seed(s) for s in seeds]
    opt = dict(lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), momentum=cfg.momentum)
    g_opt = make_optimizer(G.parameters(), cfg.optimizer, **opt)
    d_opt = make_optimizer(D.parameters(), cfg.optimizer, **{**opt, "lr": cfg.lr * cfg.d_lr_scale})
    decay = getattr(cfg, "lr_decay", "none")  # as build_trainer: linear decay to 0 at cfg.steps
    if decay not in ("none", "linear"):
        raise ValueError(f"unknown lr_decay {decay!r}; choose from ['none', 'linear']")
    schedulers = []
    if decay == "linear":
        schedulers = [LinearLR(o, 1.0, 0.0, total_iters=cfg.steps) for o in (g_opt, d_opt)]
    trainer = EnsembleTrainer(
        G,
        D,
        MemberSampler(NoisePrior(cfg.noise_dim, cfg.prior), rngs),
        MemberSampler(cfg.mixture(), rngs),
        member_sum(cfg.build_objective(), rngs),
        g_opt,
        d_opt,
        rng=torch.Generator(device).manual_seed(seeds[0]),  # device only: members draw from rngs
        k_steps=cfg.k_steps,
        batch_size=cfg.batch_size,
        schedulers=schedulers,
    )
    trainer.seeds = seeds
    trainer.alive = torch.ones(len(seeds), dtype=torch.bool, device=device)
    return trainer


def member_grad_norms(params: Sequence[nn.Parameter]) -> torch.Tensor:
    """Per-member Euclidean norm of the gradients of stacked parameters, shape (S,)."""
    sq = [p.grad.flatten(1).pow(2).sum(1) for p in params if p.grad is not None]  # each (S,)
    return torch.stack(sq).sum(0).sqrt()


def member_g_grad_norms(
    G: EnsembleGenerator, D: EnsembleDiscriminator, z: torch.Tensor, objective: str | Objective
) -> torch.Tensor:
    """||grad_G L_G|| of each member for noise z (n, S, noise_dim) and fixed D, shape (S,)."""
    params = list(G.parameters())
    loss = member_sum(objective).generator_loss(D(G(z)))
    grads = torch.autograd.grad(loss, params)
    return torch.stack([g.flatten(1).pow(2).sum(1) for g in grads]).sum(0).sqrt()


@torch.no_grad()
def sample_members(trainer: GANTrainer, n: int, seed: int = 12345) -> torch.Tensor:
    """``n`` samples of every member's G, shape (n, S), from a dedicated generator."""
    rng = torch.Generator(trainer.device).manual_seed(seed)
    S = trainer.G.net.members
    z = trainer.prior.source.sample(n * S, rng).view(n, S, -1)  # (n, S, noise_dim)
    return trainer.G(z)[..., 0]  # (n, S)


@torch.no_grad()
def member_d_deviation(trainer: GANTrainer, n: int = 2000, seed: int = 54321) -> torch.Tensor:
    """E_{x ~ (p_data + p_g)/2} |D_s(x) - 1/2| for every member s, shape (S,).

    The formula of ``metrics.d_deviation``, per member: the average of the mean |D - 1/2| over
    real samples and over G's samples.
    """
    rng = torch.Generator(trainer.device).manual_seed(seed)
    S = trainer.G.net.members
    real = trainer.data.source.sample(n * S, rng).view(n, S, 1)  # (n, S, 1)
    z = trainer.prior.source.sample(n * S, rng).view(n, S, -1)
    dev = torch.sigmoid(trainer.D(torch.cat([real, trainer.G(z)]))).sub(0.5).abs()  # (2n, S, 1)
    return dev.mean((0, 2))  # (S,)


@torch.no_grad()
def member_logits(trainer: GANTrainer, x: torch.Tensor) -> torch.Tensor:
    """Every member's D logits on a common grid x (n,), shape (n, S)."""
    S = trainer.G.net.members
    return trainer.D(x.view(-1, 1, 1).expand(-1, S, 1).contiguous())[..., 0]


def member_modules(trainer: GANTrainer, i: int) -> tuple[Generator, Discriminator]:
    """Member i as an ordinary (Generator, Discriminator) pair, weights copied."""
    pairs = []
    for ens, shape in ((trainer.G, "g"), (trainer.D, "d")):
        ws, bs = ens.net.weights, ens.net.biases
        width, depth = ws[0].shape[2], len(ws) - 1
        act = ens.net.activation
        if shape == "g":
            m = Generator(ws[0].shape[1], 1, width, depth, act, ens.output)
        else:
            m = Discriminator(1, width, depth, act)
        with torch.no_grad():
            for layer, w, b in zip(m.net.layers, ws, bs, strict=True):
                layer.weight.copy_(w[i].T)
                layer.bias.copy_(b[i, 0])
        pairs.append(m.to(ws[0].device))
    return pairs[0], pairs[1]


def n_members(trainer: GANTrainer) -> int:
    return trainer.G.net.members


__all__ = [
    "EnsembleMLP",
    "EnsembleGenerator",
    "EnsembleDiscriminator",
    "MemberSumObjective",
    "MemberSampler",
    "EnsembleTrainer",
    "build_ensemble",
    "member_sum",
    "member_grad_norms",
    "member_g_grad_norms",
    "sample_members",
    "member_d_deviation",
    "member_logits",
    "member_modules",
    "n_members",
]
