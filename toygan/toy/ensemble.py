"""Many independent 1D GANs trained at once: member-batched MLPs on the shared engine.

S members (one per seed) are stacked into one computation: every linear layer holds weights of
shape (S, in, out) and runs as one batched matmul (``torch.bmm``), batch norm normalises each
member's minibatch on its own, maxout takes each member's maxima; samples travel as (m, S, dim),
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

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from toygan.engine import GANTrainer, TrainingDiverged, make_optimizer, resolve_device
from toygan.game import base_prior
from toygan.models import ACTIVATIONS, MLP, OUTPUTS, Discriminator, Generator, PopulationBatchNorm
from toygan.objectives import Objective, get_objective
from toygan.toy.experiment import (
    ToyConfig,
    build_data,
    build_networks,
    build_schedulers,
    prefetch_steps,
)

_INPLACE = {"relu": F.relu_, "leaky_relu": partial(F.leaky_relu_, negative_slope=0.2)}


class EnsembleBatchNorm(PopulationBatchNorm):
    """S ``PopulationBatchNorm``s in one, on member-batched activations (S, m, F): each member's
    statistics over its own minibatch; scale, shift and population statistics (S, 1, F)."""

    def __init__(self, norms: Sequence[PopulationBatchNorm]) -> None:
        super().__init__(norms[0].weight.numel(), norms[0].momentum, norms[0].eps)
        stack = lambda name: torch.stack([getattr(n, name).detach()[None] for n in norms])  # noqa: E731
        self.weight, self.bias = nn.Parameter(stack("weight")), nn.Parameter(stack("bias"))
        self.running_mean, self.running_std = stack("running_mean"), stack("running_std")


class EnsembleMLP(nn.Module):
    """S MLPs in one: (m, S, in) -> (m, S, out), built from S ordinary ``models.MLP``s of one
    shape (with their batch norm, maxout and bias options)."""

    def __init__(self, mlps: Sequence[MLP], activation: str) -> None:
        super().__init__()
        layers = [m.layers for m in mlps]
        first = mlps[0]
        self.pieces, self.has_norm = first.pieces, first.norms is not None
        # weights (S, in, out) and biases (S, 1, out), stacked from nn.Linear's (out, in), (out,)
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([ls[j].weight.detach().T for ls in layers]).contiguous())
            for j in range(len(layers[0]))
        )
        self.biased = [ls.bias is not None for ls in layers[0]]  # per layer
        self.biases = nn.ParameterList(
            nn.Parameter(torch.stack([ls[j].bias.detach()[None] for ls in layers]))
            for j in range(len(layers[0]))
            if self.biased[j]
        )
        self.norms = (
            nn.ModuleList(
                EnsembleBatchNorm([m.norms[j] for m in mlps]) for j in range(len(first.norms))
            )
            if self.has_norm
            else None
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
        biases = iter(self.biases)
        for j, w in enumerate(self.weights):
            b = next(biases) if self.biased[j] else None
            if w.shape[1] == 1 and b is not None:  # one input feature: a broadcast multiply
                h = torch.addcmul(b, h, w)  # (S, m, out_j)
            else:
                h = torch.bmm(h, w)  # (S, m, out_j); faster than baddbmm on CPU
                if b is not None:
                    h = h.add_(b)
            if j < last:
                if self.norms is not None:
                    h = self.norms[j](h)
                if self.pieces > 1:
                    h = h.unflatten(-1, (-1, self.pieces)).max(-1).values  # (S, m, width)
                else:
                    h = self._act(h)
        return h.transpose(0, 1)  # (m, S, out)


class EnsembleGenerator(nn.Module):
    """x = G_s(z) for every member s: noise (m, S, noise_dim) -> samples (m, S, d)."""

    def __init__(self, generators: Sequence[Generator], activation: str) -> None:
        super().__init__()
        self.net = EnsembleMLP([g.net for g in generators], activation)
        self.output = generators[0].output
        self._out = OUTPUTS[self.output]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self._out(self.net(z))  # (m, S, d)


class EnsembleDiscriminator(nn.Module):
    """l = D_s(x) for every member s: samples (m, S, d * packing) -> logits (m, S, 1)."""

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
    """Draws member s's samples from its own generator: ``sample(n)`` -> (n, S, ...).

    ``source`` is one sampler for every member or a list, one per member (a fixed training set
    each, from the member's seed). The ``generator`` argument the engine passes is ignored:
    randomness comes from ``rngs`` (one per member, shared between the data and the noise
    sampler, as in a single run). Stateful sources (epochs) save and load their states.
    """

    def __init__(self, source, rngs: Sequence[torch.Generator]) -> None:
        self.rngs = list(rngs)
        self.sources = list(source) if isinstance(source, list | tuple) else [source] * len(rngs)
        self.source = self.sources[0]

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        draws = [src.sample(n, g) for src, g in zip(self.sources, self.rngs, strict=True)]
        return torch.stack(draws, dim=1)  # (n, S, ...)

    def state_dict(self) -> dict:
        return {"members": [s.state_dict() for s in self.sources if hasattr(s, "state_dict")]}

    def load_state_dict(self, state: dict) -> None:
        stateful = [s for s in self.sources if hasattr(s, "load_state_dict")]
        for src, st in zip(stateful, state["members"], strict=True):
            src.load_state_dict(st)


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
            self._mask_dead_gradients()
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

    def state_dict(self) -> dict:
        """The engine's state plus every member's generator and who is alive: exact resume."""
        rngs = self.prior.rngs  # shared by the data and noise samplers (and a penalty)
        return {**super().state_dict(), "member_rngs": [g.get_state() for g in rngs],
                "alive": self.alive.cpu()}  # fmt: skip

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        rngs = self.prior.rngs
        if len(state["member_rngs"]) != len(rngs):
            raise ValueError(f"{len(state['member_rngs'])} members saved, {len(rngs)} here")
        for g, st in zip(rngs, state["member_rngs"], strict=True):
            g.set_state(st.cpu())
        alive = state["alive"].to(self.alive.device, torch.bool)
        if not alive.all():  # the hooks quarantine registers at its first casualty
            self.alive = torch.ones_like(alive)
            self._mask_dead_gradients()
        self.alive = alive

    def _mask_dead_gradients(self) -> None:
        for p in (*self.G.parameters(), *self.D.parameters()):
            p.register_hook(lambda g: g * self.alive.view(-1, *[1] * (g.dim() - 1)))

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
    gs, ds, sources = [], [], []
    for s in seeds:  # initialisation and data exactly as build_trainer makes them
        torch.manual_seed(s)
        g, d = build_networks(cfg)
        gs.append(g)
        ds.append(d)
        prior, data, game = build_data(cfg, s, device)
        sources.append(data)
    G = EnsembleGenerator(gs, cfg.activation).to(device)
    D = EnsembleDiscriminator(ds, cfg.activation).to(device)
    rngs = [torch.Generator(device).manual_seed(s) for s in seeds]
    opt = dict(lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), momentum=cfg.momentum)
    g_opt = make_optimizer(G.parameters(), cfg.optimizer, **opt)
    d_opt = make_optimizer(D.parameters(), cfg.optimizer, **{**opt, "lr": cfg.lr * cfg.d_lr_scale})
    trainer = EnsembleTrainer(
        G,
        D,
        MemberSampler(prior, rngs),
        MemberSampler(sources if cfg.train_points else sources[0], rngs),
        member_sum(cfg.build_objective(), rngs),
        g_opt,
        d_opt,
        rng=torch.Generator(device).manual_seed(seeds[0]),  # device only: members draw from rngs
        k_steps=cfg.k_steps,
        batch_size=cfg.batch_size,
        schedulers=build_schedulers(cfg, g_opt, d_opt),
        update=cfg.update,
        game=game,
        unrolled=cfg.unrolled,
        prefetch=prefetch_steps(cfg),
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


def _prior(trainer: GANTrainer):
    """One sample's prior (``game.base_prior`` of the members' sampler's source)."""
    return base_prior(trainer.prior.source)


@contextlib.contextmanager
def evaluating(*nets: nn.Module):
    """Eval mode for ``nets`` inside the block (batch norm's population statistics, no update),
    then their previous modes."""
    modes = [n.training for n in nets]
    for n in nets:
        n.eval()
    try:
        yield
    finally:
        for n, m in zip(nets, modes, strict=True):
            n.train(m)


@torch.no_grad()
def sample_members(trainer: GANTrainer, n: int, seed: int = 12345) -> torch.Tensor:
    """``n`` samples of every member's G from a dedicated generator (G in eval mode): (n, S) in
    1D, (n, S, d) for d > 1."""
    rng = torch.Generator(trainer.device).manual_seed(seed)
    S = trainer.G.net.members
    z = _prior(trainer).sample(n * S, rng).view(n, S, -1)  # (n, S, noise_dim)
    with evaluating(trainer.G):
        x = trainer.G(z)  # (n, S, d)
    return x[..., 0] if x.shape[-1] == 1 else x


@torch.no_grad()
def member_d_deviation(trainer: GANTrainer, n: int = 2000, seed: int = 54321) -> torch.Tensor:
    """E_{x ~ (p_data + p_g)/2} |D_s(x) - 1/2| for every member s, shape (S,).

    The formula of ``metrics.d_deviation``, per member: the average of the mean |D - 1/2| over
    real samples and over G's samples (1D).
    """
    rng = torch.Generator(trainer.device).manual_seed(seed)
    S = trainer.G.net.members
    real = trainer.data.source.sample(n * S, rng).view(n, S, 1)  # (n, S, 1)
    z = _prior(trainer).sample(n * S, rng).view(n, S, -1)
    with evaluating(trainer.G, trainer.D):
        dev = torch.sigmoid(trainer.D(torch.cat([real, trainer.G(z)]))).sub(0.5).abs()
    return dev.mean((0, 2))  # (S,)


@torch.no_grad()
def member_logits(trainer: GANTrainer, x: torch.Tensor) -> torch.Tensor:
    """Every member's D logits on a common grid x (n,), shape (n, S)."""
    S = trainer.G.net.members
    with evaluating(trainer.D):
        return trainer.D(x.view(-1, 1, 1).expand(-1, S, 1).contiguous())[..., 0]


def member_modules(trainer: GANTrainer, i: int, cfg: ToyConfig) -> tuple[Generator, Discriminator]:
    """Member i as an ordinary (Generator, Discriminator) pair of ``cfg``'s shape, with its
    weights, batch-norm scales and population statistics copied."""
    G, D = build_networks(cfg.resolved(), trainer.device)
    with torch.no_grad():
        for single, ens in ((G.net, trainer.G.net), (D.net, trainer.D.net)):
            biases = iter(ens.biases)
            for layer, w, biased in zip(single.layers, ens.weights, ens.biased, strict=True):
                layer.weight.copy_(w[i].T)
                if biased:
                    layer.bias.copy_(next(biases)[i, 0])
            for norm, enorm in zip(single.norms or (), ens.norms or (), strict=True):
                for name in ("weight", "bias", "running_mean", "running_std"):
                    getattr(norm, name).copy_(getattr(enorm, name)[i, 0])
    return G, D


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
