"""The shared training engine: Algorithm 1 of Goodfellow et al. 2014 (arXiv:1406.2661).

Each training iteration takes k discriminator steps, each on a fresh minibatch of m real samples
and m noise samples, then one generator step on a fresh noise minibatch. The engine knows nothing
about 1D mixtures or MNIST: it takes a real-sample source (anything with ``sample(n, generator)``),
G, D, a noise prior, optimisers and an ``Objective``.

Gradients come from autograd, or, when the networks have analytic backward passes
(``forward_cached`` / ``backward_cached``, as toygan's MLPs do) and the objective knows its logit
derivatives, from those: the same numbers without autograd's per-operation overhead, which is
most of a step for small networks. ``fast=False`` forces autograd.

What goes into G and D is the ``game``'s (``toygan.game``): the unconditional GAN by default,
or CGAN (labels), InfoGAN (codes and a Q head on D) or BiGAN (an encoder trained with G, D on
pairs): the same loop, resume and statistics for all of them; only the analytic fast path is
the unconditional GAN's alone.

Per-step statistics (d_loss, g_loss, mean D(real), mean D(fake), ||grad_G||, and the game's own,
e.g. InfoGAN's L_I) are computed on the training device from each iteration's logits, a chunk
of iterations at a time (``chunk_stats``); the host reads them only every ``sync_every``
steps (progress bar, divergence check), never every step. A non-finite statistic raises
``TrainingDiverged``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from torch.func import functional_call
from tqdm.auto import tqdm

from toygan.game import Batch, Game, join, parts
from toygan.objectives import Objective, get_objective
from toygan.optim import LeanAdam
from toygan.unroll import unroll

STAT_NAMES = ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm")
OPTIMIZERS = ("adam", "sgd", "rmsprop")  # the names make_optimizer knows
STATS_CHUNK = 100  # iterations per statistics computation (device side, no host sync)
# alternating: Algorithm 1 (k D steps, then a G step on fresh noise); simultaneous: the released
# 2014 code (one forward pass, both gradients, then both optimiser steps; ``simultaneous_step``)
UPDATES = ("alternating", "simultaneous")
D_PASSES = ("joint", "separate")


class Sampler(Protocol):
    def sample(self, n: int, generator: torch.Generator | None = None) -> Batch: ...


class TrainingDiverged(RuntimeError):
    """A loss or gradient became NaN/inf; ``step`` is the first bad step."""

    def __init__(self, step: int, name: str) -> None:
        super().__init__(f"training diverged at step {step}: {name} is not finite")
        self.step, self.name = step, name


def resolve_device(device: str) -> torch.device:
    """'auto' -> cuda if available else cpu; otherwise the named device (must be available)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda requested but CUDA is not available")
    return torch.device(device)


def make_optimizer(
    params,
    name: str,
    lr: float,
    betas: tuple[float, float] = (0.5, 0.999),
    momentum: float = 0.9,
    weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    """'adam' (betas), 'sgd' (with momentum, as in the paper) or 'rmsprop' (WGAN); ``weight_decay``
    adds ``weight_decay * w`` to each gradient (an L2 term in the loss, as BiGAN's code).

    Uses the fused implementation (one kernel for all parameters) on CPU and CUDA: for the small
    networks of toygan the per-parameter loop of the default optimiser dominates a step. Adam
    is ``toygan.optim.LeanAdam``, the fused Adam without its per-call Python overhead.
    """
    params = list(params)
    fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    if name == "adam":
        if fused:
            return LeanAdam(params, lr=lr, betas=betas, weight_decay=weight_decay)
        return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=momentum, fused=fused, weight_decay=weight_decay
        )
    if name == "rmsprop":  # torch's defaults (alpha 0.99, no momentum), as the WGAN code
        return torch.optim.RMSprop(params, lr=lr, foreach=True, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; choose from {list(OPTIMIZERS)}")


def grad_norm(params: Sequence[nn.Parameter]) -> torch.Tensor:
    """Euclidean norm of all gradients together, as a 0-d tensor (no host sync).

    Small networks: one norm of the concatenated gradients (a third of the time of
    ``torch.nn.utils.get_total_norm``'s Python); large ones: per-tensor norms, no copy.
    """
    grads = [p.grad for p in params if p.grad is not None]
    if sum(g.numel() for g in grads) <= 1 << 16:
        return torch.linalg.vector_norm(torch.cat([g.reshape(-1) for g in grads]))
    if hasattr(torch.nn.utils, "get_total_norm"):  # torch >= 2.6: one foreach kernel
        return torch.nn.utils.get_total_norm(grads)
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


@contextlib.contextmanager
def intra_op_threads(n: int | None):
    """Run the block with ``torch.set_num_threads(n)``, then restore the setting (None: as is)."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _cached(net: nn.Module) -> bool:
    """True if ``net`` computes its gradients by ``backward_cached`` (toygan's plain MLPs)."""
    return hasattr(net, "backward_cached") and getattr(net, "cached_backward", True)


def _clear_grads(params: Sequence[nn.Parameter]) -> None:
    """``optimizer.zero_grad(set_to_none=True)`` without its profiler bookkeeping."""
    for p in params:
        p.grad = None


def _to(batch: Batch, device: torch.device) -> Batch:
    """A minibatch (tensor or tuple of tensors) on ``device``."""
    if isinstance(batch, (tuple, list)):
        return tuple(t.to(device) for t in batch)
    return batch.to(device)


class History:
    """Per-step statistics: ``steps`` (n,) and one (n,) array per name in ``names`` (default
    ``STAT_NAMES``; a game adds its own after them).

    Rows arrive in chunks (one per host sync) and are joined only when read, so a long run
    appends in O(chunk) rather than copying everything at every sync.
    """

    def __init__(self, names: Sequence[str] = STAT_NAMES) -> None:
        self.names = tuple(names)
        self._steps: list[np.ndarray] = []
        self._values: list[np.ndarray] = []  # (n_i, len(names)) chunks
        self._joined: tuple[np.ndarray, dict[str, np.ndarray]] | None = None

    def extend(self, steps: np.ndarray, values: np.ndarray) -> None:
        """Append rows: ``values`` is (n, len(names))."""
        steps = np.asarray(steps, dtype=np.int64).reshape(-1)
        values = np.asarray(values, dtype=np.float64)
        if values.size != len(steps) * len(self.names):
            raise ValueError(f"{values.shape} statistics for {len(steps)} steps of {self.names}")
        self._steps.append(steps)
        self._values.append(values.reshape(-1, len(self.names)))
        self._joined = None

    def _join(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        if self._joined is None:
            steps = np.concatenate(self._steps) if self._steps else np.zeros(0, np.int64)
            values = (
                np.concatenate(self._values) if self._values else np.zeros((0, len(self.names)))
            )
            self._joined = (steps, {k: values[:, i] for i, k in enumerate(self.names)})
        return self._joined

    @property
    def steps(self) -> np.ndarray:
        return self._join()[0]

    @property
    def stats(self) -> dict[str, np.ndarray]:
        return self._join()[1]

    def __len__(self) -> int:
        return sum(len(s) for s in self._steps)

    def rows(self, start: int = 0) -> list[dict[str, float]]:
        """Rows ``start:`` as dicts (step and every statistic), e.g. for a CSV."""
        steps, stats = self._join()
        return [
            {"step": int(steps[i]), **{k: float(stats[k][i]) for k in self.names}}
            for i in range(start, len(steps))
        ]


SnapshotCallback = Callable[["GANTrainer", int], None]


class GANTrainer:
    """Algorithm 1 with ``k_steps`` D updates per G update, minibatches of ``batch_size``.

    ``rng`` is the one ``torch.Generator`` all minibatches are drawn from (on the training device),
    so a run is a function of its seed. ``schedulers`` (anything with ``.step()``) are stepped
    once per iteration after the G update. ``autocast`` (e.g. ``torch.bfloat16``) enables mixed
    precision for the forward passes. ``fast`` (default: when available) takes gradients from
    the networks' analytic backward passes instead of autograd. ``threads``: intra-op threads
    while training on CPU; None picks 1 for small networks (no parameter tensor of 2^16 entries
    or more), whose matrix products are too small to gain from splitting (the 1D step of
    ``benchmarks/bench_1d.py`` ran 1,248 vs 1,093 steps/s on one thread vs two), and otherwise
    leaves torch's setting. ``update``: ``"alternating"`` (Algorithm 1) or ``"simultaneous"``
    (the released 2014 code: ``simultaneous_step``, k_steps 1, autograd). ``d_passes``:
    ``"joint"`` (D sees the real and the fake minibatch as one batch of 2m: one pass) or
    ``"separate"`` (one pass each, as the DCGAN/InfoGAN code calls D: a D with batch norm then
    normalises real and fake minibatches by their own statistics). ``game``: what G and D see
    (``toygan.game``; default the unconditional GAN); its extra networks (BiGAN's encoder) are
    trained by ``g_opt`` with G, which must hold their parameters. ``unrolled`` = k > 0: G's
    update differentiates through k steps of D's optimiser on G's minibatch (Metz et al. 2017,
    ``toygan.unroll``); D's own update is unchanged.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        prior: Sampler,
        data: Sampler,
        objective: str | Objective,
        g_opt: torch.optim.Optimizer | None,
        d_opt: torch.optim.Optimizer,
        *,
        rng: torch.Generator,
        k_steps: int = 1,
        batch_size: int = 128,
        schedulers: Sequence[Any] = (),
        autocast: torch.dtype | None = None,
        prefetch: int = 32,
        fast: bool = True,
        threads: int | None = None,
        update: str = "alternating",
        d_passes: str = "joint",
        game: Game | None = None,
        unrolled: int = 0,
    ) -> None:
        if k_steps < 1 or batch_size < 1 or prefetch < 1:
            raise ValueError(
                f"k_steps, batch_size and prefetch must be >= 1, got {k_steps}, {batch_size}, "
                f"{prefetch}"
            )
        if update not in UPDATES or (update == "simultaneous" and (k_steps != 1 or not g_opt)):
            raise ValueError(
                f"update must be one of {UPDATES} (simultaneous: k_steps 1 and a g_opt), got "
                f"{update!r} with k_steps {k_steps}"
            )
        if d_passes not in D_PASSES:
            raise ValueError(f"d_passes must be one of {D_PASSES}, got {d_passes!r}")
        self.game = game or Game()
        self.objective = get_objective(objective)
        if not self.game.samples_only and self.objective.d_penalty is not None:
            raise ValueError(
                f"objective {self.objective.name!r} has a gradient penalty on D's input, which "
                f"the {self.game.name} game does not define; use a GAN or least-squares loss"
            )
        if unrolled < 0:
            raise ValueError(f"unrolled must be >= 0, got {unrolled}")
        if unrolled and not (self.game.samples_only and d_passes == "joint"):
            raise ValueError(f"unrolling needs a game whose D sees samples only, in one joint "
                             f"pass (got {self.game.name}, d_passes {d_passes!r})")  # fmt: skip
        obj = self.objective
        if unrolled and (obj.d_penalty is not None or obj.d_after_step is not None):
            raise ValueError(
                f"unrolling differentiates D's optimiser steps; objective "
                f"{obj.name!r} adds a penalty or clipping to them (not supported)"
            )
        self.unrolled = unrolled
        self.update, self.d_passes = update, d_passes
        self.G, self.D, self.prior, self.data = generator, discriminator, prior, data
        self.g_opt, self.d_opt = g_opt, d_opt
        self.rng, self.k_steps, self.batch_size = rng, k_steps, batch_size
        self.schedulers = list(schedulers)
        self.device = rng.device
        self.autocast = autocast
        self.step = 0  # generator updates done so far
        self.stat_names = STAT_NAMES + self.game.stat_names
        self.history = History(self.stat_names)
        self.prefetch = prefetch
        self._real: list[Batch] = []  # prefetched real minibatches, next first
        self._noise: list[Batch] = []  # prefetched noise minibatches, next first
        # BiGAN's G step judges real pairs too: one more real minibatch per iteration
        g_reals = (self.game.networks or unrolled) and update == "alternating"
        self._real_per_step = k_steps + (1 if g_reals else 0)
        extra = [p for net in self.game.networks.values() for p in net.parameters()]
        self._g_params = [p for p in (*generator.parameters(), *extra) if p.requires_grad]
        self._d_params = [p for p in discriminator.parameters() if p.requires_grad]
        if g_opt is not None:
            in_opt = {id(p) for group in g_opt.param_groups for p in group["params"]}
            if any(id(p) not in in_opt for p in extra):
                raise ValueError("g_opt must also hold the parameters of the game's networks")
        self.fast_d = (
            fast
            and self.game.plain
            and autocast is None
            and d_passes == "joint"
            and self.objective.analytic
            and _cached(discriminator)
        )
        self.fast_g = self.fast_d and _cached(generator) and not unrolled
        small = all(p.numel() < 1 << 16 for p in (*self._g_params, *self._d_params))
        self.threads = threads if threads is not None else (1 if small else None)
        if self.device.type != "cpu":
            self.threads = None

    @property
    def networks(self) -> dict[str, nn.Module]:
        """Every network of the game: generator, discriminator and the game's own (encoder)."""
        return {"generator": self.G, "discriminator": self.D, **self.game.networks}

    def _amp(self):
        if self.autocast is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast)

    def _loss_dtype(self, out: torch.Tensor) -> torch.Tensor:
        """D's output for the losses: float32 under autocast; float64 models keep float64."""
        return out.float() if self.autocast is not None else out

    def _next(self, queue: list[Batch], source: Sampler, per_step: int) -> Batch:
        """The next minibatch from ``queue``, refilled with ``prefetch`` steps' worth at once.

        One large draw instead of many small ones: for 1D data the sampling calls are a visible
        part of a step. The random stream depends only on the seed and ``prefetch``.
        """
        if not queue:
            block = source.sample(self.prefetch * per_step * self.batch_size, self.rng)
            if isinstance(block, tuple):  # (x, y) or (z, y): split each part alike
                queue.extend(zip(*(t.split(self.batch_size) for t in block), strict=True))
            else:
                queue.extend(block.split(self.batch_size))
            queue.reverse()
        return queue.pop()

    def sample_real(self) -> Batch:
        """A fresh real minibatch (batch_size, *data_shape) [with its labels (batch_size,)]."""
        return self._next(self._real, self.data, self._real_per_step)

    def sample_noise(self) -> Batch:
        """A fresh noise minibatch (batch_size, noise_dim), with the prior's labels if any."""
        return self._next(self._noise, self.prior, self.k_steps + 1)

    def generate(self, noise: Batch) -> torch.Tensor:
        """G's samples (n, *data_shape) of a noise batch, as the game feeds G (no mode change)."""
        return self.game.generate(self.G, noise)

    def _d_out(self, real_in: tuple, fake_in: tuple) -> torch.Tensor:
        """D's output on a real then a fake minibatch (2m, 1 + aux), in ``d_passes`` passes."""
        if self.d_passes == "joint":
            return self.D(*join(real_in, fake_in))  # (2m, 1 + aux): one pass for both
        return torch.cat([self.D(*real_in), self.D(*fake_in)])  # batch statistics each

    def _g_side(
        self, logits: torch.Tensor, aux: torch.Tensor | None, noise: Batch
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """G's (and the game's networks') loss from D's logits on [real pairs,] fakes (the last
        m rows) and D's auxiliary columns; returns (loss, the game's statistics or None)."""
        m = self.batch_size
        loss = self.objective.generator_loss(logits[-m:])
        stats = None
        if self.game.networks:  # BiGAN: E is judged on real pairs, labels swapped
            e_loss = self.objective.generator_loss(-logits[:m])
            loss = loss + e_loss
            stats = e_loss.detach().reshape(1)  # BiGame.stat_names: ("e_loss",)
        if aux is not None:  # InfoGAN: -lambda L_I (up to a constant), on the fakes
            aux_loss, stats = self.game.aux_loss(aux[-m:], noise)
            loss = loss + aux_loss
        return loss, stats

    def _unrolled_g_loss(self, real_in: tuple, fake_in: tuple) -> tuple[torch.Tensor, torch.Tensor]:
        """G's loss at D's parameters after ``unrolled`` optimiser steps on this minibatch
        (``toygan.unroll.unroll``), differentiable in G's parameters through every step; and
        D_K's logits on the fakes (m, 1), detached. A zero-sum objective (``Objective.zero_sum``)
        gives -L_D(D_K), its real term included (Metz et al.'s f_K); any other, L_G(D_K(G(z)))."""
        m = self.batch_size
        params = unroll(self.D, self.d_opt, self._d_loss_at, (real_in, fake_in), self.unrolled)
        out = self._loss_dtype(functional_call(self.D, params, join(real_in, fake_in)))
        logits = self.game.split(out)[0]  # (2m, 1)
        if self.objective.zero_sum:
            loss = -self.objective.discriminator_loss(logits[:m], logits[m:])
        else:
            loss = self.objective.generator_loss(logits[m:])
        return loss, logits[m:].detach()

    def _d_loss_at(self, params: dict[str, torch.Tensor], batch: tuple) -> torch.Tensor:
        """L_D (without penalty) of D with ``params`` on (real_in, fake_in): the unroll's loss."""
        real_in, fake_in = batch
        out = self._loss_dtype(functional_call(self.D, params, join(real_in, fake_in)))
        logits = self.game.split(out)[0]
        m = self.batch_size
        return self.objective.discriminator_loss(logits[:m], logits[m:])

    def d_step(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One D update on fresh real and noise minibatches.

        Returns D's logits on the real then the fake minibatch (2m, 1), detached, and the
        penalty term of the loss (0-d) or None: ``chunk_stats`` turns them into statistics.
        """
        m = self.batch_size
        real = self.sample_real()  # (m, *data_shape) [, labels (m,)]
        noise = self.sample_noise()  # (m, noise_dim) [, labels (m,)]
        with torch.no_grad(), self._amp():
            fake = self.generate(noise).to(parts(real)[0].dtype)  # (m, *data_shape)
            real_in = self.game.real_input(real)  # BiGAN: (x, E(x)), E not trained here
        fake_in = self.game.fake_input(fake, noise)
        penalty = None
        if self.fast_d:  # writes every gradient of D: nothing to clear
            logits, cache = self.D.forward_cached(torch.cat([real, fake]))  # (2m, 1)
            grads = self.objective.discriminator_loss_grad(logits[:m], logits[m:])
            self.D.backward_cached(cache, torch.cat(grads))  # (2m, 1) dL/dl
        else:
            with self._amp():
                out = self._loss_dtype(self._d_out(real_in, fake_in))  # (2m, 1 + aux)
            logits, aux = self.game.split(out)  # (2m, 1), (2m, aux) or None
            loss = self.objective.discriminator_loss(logits[:m], logits[m:])
            if aux is not None:  # InfoGAN: D's Q head minimises -lambda L_I too
                loss = loss + self.game.aux_loss(aux[m:], noise)[0]
            if self.objective.d_penalty is not None:  # its random draws come from self.rng
                penalty = self.objective.discriminator_penalty(self.D, real, fake, self.rng)
                loss = loss + penalty
                penalty = penalty.detach()
            _clear_grads(self._d_params)
            loss.backward(inputs=self._d_params)
            logits = logits.detach()  # keeps no graph alive until the statistics are read
        self.d_opt.step()
        if self.objective.d_after_step is not None:  # e.g. weight clipping
            self.objective.d_after_step(self._d_params)
        return logits, penalty

    def g_step(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """One G update (with the game's networks) on a fresh noise minibatch; returns (D's
        logits on the fakes (m, 1), ||grad_G||, the game's statistics or None), detached."""
        if self.fast_g:  # writes every gradient of G: nothing to clear
            fake, g_cache = self.G.forward_cached(self.sample_noise())  # (m, *data_shape)
            logits, d_cache = self.D.forward_cached(fake)  # (m, 1)
            grad = self.objective.generator_loss_grad(logits)  # (m, 1) dL/dl
            grad = self.D.backward_cached(d_cache, grad, params=False, inputs=True)
            self.G.backward_cached(g_cache, grad)
            stats = None
        else:
            noise = self.sample_noise()
            with self._amp():
                fake_in = self.game.fake_input(self.generate(noise), noise)
                if self.unrolled:  # Metz et al.: G's loss at D's unrolled parameters
                    real_in = self.game.real_input(self.sample_real())
                    loss, logits = self._unrolled_g_loss(real_in, fake_in)
                    aux = stats = None
                elif self.game.networks:  # BiGAN: real pairs (x, E(x)) too, E trained
                    real_in = self.game.real_input(self.sample_real())
                    out = self._loss_dtype(self._d_out(real_in, fake_in))  # (2m, 1)
                else:
                    out = self._loss_dtype(self.D(*fake_in))  # (m, 1 + aux)
            if not self.unrolled:
                logits, aux = self.game.split(out)
                loss, stats = self._g_side(logits, aux, noise)
            # Gradients for G only: D's weights get none, so D's optimiser state is untouched.
            _clear_grads(self._g_params)
            loss.backward(inputs=self._g_params)
            logits = logits[-self.batch_size :].detach()
        norm = grad_norm(self._g_params)
        self.g_opt.step()
        return logits, norm, stats

    def simultaneous_step(
        self,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor | None]:
        """One update of D and G from one forward pass (goodfeli/adversarial AdversaryCost2; the
        BiGAN code's one update of D, G and E).

        D sees a real and a fake minibatch; L_D and L_G are computed from the same logits, so
        G's loss goes through the same fake minibatch and the same dropout masks as D's fake
        pass. Both gradients are taken (autograd) from the pre-step parameters, D's from L_D
        only, G's from L_G through D's input, before either optimiser steps. Returns D's logits
        on real then fake (2m, 1), the penalty (0-d or None), ||grad_G|| and the game's
        statistics (or None), all detached.
        """
        m = self.batch_size
        real = self.sample_real()  # (m, *data_shape) [, labels]
        noise = self.sample_noise()
        with self._amp():
            fake = self.generate(noise).to(parts(real)[0].dtype)  # (m, *data_shape)
            out = self._d_out(self.game.real_input(real), self.game.fake_input(fake, noise))
        logits, aux = self.game.split(self._loss_dtype(out))
        d_loss = self.objective.discriminator_loss(logits[:m], logits[m:])
        if aux is not None:
            d_loss = d_loss + self.game.aux_loss(aux[m:], noise)[0]
        penalty = None
        if self.objective.d_penalty is not None:
            penalty = self.objective.discriminator_penalty(self.D, real, fake.detach(), self.rng)
            d_loss = d_loss + penalty
            penalty = penalty.detach()
        if self.unrolled:  # the unroll starts from the same parameters, state and minibatch
            fake_in = self.game.fake_input(fake, noise)
            g_loss, _ = self._unrolled_g_loss(self.game.real_input(real), fake_in)
            stats = None
        else:
            g_loss, stats = self._g_side(logits, aux, noise)
        d_grads = torch.autograd.grad(d_loss, self._d_params, retain_graph=True)
        g_grads = torch.autograd.grad(g_loss, self._g_params)
        for p, g in zip((*self._d_params, *self._g_params), (*d_grads, *g_grads), strict=True):
            p.grad = g
        norm = grad_norm(self._g_params)
        self.d_opt.step()
        if self.objective.d_after_step is not None:
            self.objective.d_after_step(self._d_params)
        self.g_opt.step()
        return logits.detach(), penalty, norm, stats

    def _iterate(self) -> tuple:
        """One iteration: k D steps then one G step (Algorithm 1), or one simultaneous update;
        then the schedulers. Returns its record."""
        if self.update == "simultaneous":
            logits, penalty, g_norm, stats = self.simultaneous_step()
            d_steps, g_logits = [(logits, penalty)], logits[self.batch_size :]
        else:
            d_steps = [self.d_step() for _ in range(self.k_steps)]
            g_logits, g_norm, stats = self.g_step()
        for s in self.schedulers:
            s.step()
        self.step += 1
        return d_steps, g_logits, g_norm, stats

    @torch.no_grad()
    def chunk_stats(self, records: Sequence[tuple]) -> torch.Tensor:
        """The statistics (n, len(stat_names)) of n iterations' records, on the device.

        The losses are the objective's own, evaluated on each iteration's logits, vectorised
        over the iterations with ``torch.vmap``: one call per chunk instead of a dozen small
        operations per step. d_loss, D(real) and D(fake) are means over the k D steps (not
        sums: they do not grow with k).
        """
        n, k = len(records), self.k_steps
        d_logits = torch.stack([lg for r in records for lg, _ in r[0]])  # (n * k, 2m, ...)
        d_loss = torch.vmap(lambda lg: self.objective.discriminator_loss(*lg.chunk(2)))(d_logits)
        penalties = [p for r in records for _, p in r[0] if p is not None]
        if penalties:
            d_loss = d_loss + torch.stack(penalties)
        g_loss = torch.vmap(self.objective.generator_loss)(torch.stack([r[1] for r in records]))
        # (n, 2) mean D(real), D(fake) (the objective's statistic: sigmoid of logits for the GAN
        # losses, the raw score otherwise); reshape, not view(.., m): member-batched ensembles
        # (toygan.toy.ensemble) have logits (2m, S, 1)
        d_means = self.objective.d_statistic(d_logits.reshape(n, k, 2, -1)).mean((1, 3))
        norms = torch.stack([r[2] for r in records])
        d_loss = d_loss.view(n, k).mean(1)
        columns = [d_loss, g_loss, d_means[:, 0], d_means[:, 1], norms]
        if self.game.stat_names:  # (n, len(game.stat_names)); the fast path has none (plain)
            columns.extend(torch.stack([r[3] for r in records]).unbind(1))
        return torch.stack(columns, 1)

    def train_step(self) -> torch.Tensor:
        """One iteration of Algorithm 1; returns its statistics (len(stat_names),) on the device."""
        return self.chunk_stats([self._iterate()])[0]

    def train(
        self,
        steps: int,
        *,
        snapshot_every: int = 0,
        callbacks: Sequence[SnapshotCallback] = (),
        progress: bool = True,
        sync_every: int = 100,
        desc: str = "training",
    ) -> History:
        """Run ``steps`` more iterations; returns (and appends to ``self.history``) their stats.

        Callbacks run as ``cb(trainer, step)`` before the first iteration of a fresh run, every
        ``snapshot_every`` steps and after the last. Statistics reach the host every
        ``sync_every`` steps, at snapshots and at the end; a non-finite one raises
        ``TrainingDiverged`` naming the first bad step (callbacks never see a diverged model).
        """
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        for net in self.networks.values():
            net.train()
        start, end = self.step, self.step + steps
        records: list[tuple] = []  # iterations whose statistics are not computed yet
        chunks: list[torch.Tensor] = []  # statistics on the device, not yet read by the host
        done = 0  # iterations already moved to self.history
        out = History(self.stat_names)
        if start == 0:
            for cb in callbacks:
                cb(self, 0)
        bar = tqdm(total=steps, disable=not progress, desc=desc, leave=False, mininterval=0.5)
        with bar, intra_op_threads(self.threads):
            while self.step < end:
                records.append(self._iterate())
                if len(records) == STATS_CHUNK:  # bounds the logits kept between host syncs
                    chunks.append(self.chunk_stats(records))
                    records.clear()
                i = self.step - start  # iterations done in this call
                snapshot = snapshot_every > 0 and self.step % snapshot_every == 0
                if i % sync_every == 0 or snapshot or self.step == end:
                    if records:
                        chunks.append(self.chunk_stats(records))
                        records.clear()
                    rows = torch.cat(chunks).cpu().numpy()
                    chunks.clear()
                    steps_arr = np.arange(start + done + 1, start + i + 1)
                    bad = ~np.isfinite(rows)
                    if bad.any():  # keep the finite steps before the first bad one, then stop
                        r, c = np.argwhere(bad)[0]
                        self.history.extend(steps_arr[:r], rows[:r])
                        raise TrainingDiverged(int(steps_arr[r]), self.stat_names[int(c)])
                    out.extend(steps_arr, rows)
                    self.history.extend(steps_arr, rows)
                    bar.update(i - done)
                    bar.set_postfix(d_loss=f"{rows[-1, 0]:.3f}", g_loss=f"{rows[-1, 1]:.3f}")
                    done = i
                    if snapshot or self.step == end:
                        if not self.finite_model():  # the last update made a weight NaN/inf
                            raise TrainingDiverged(self.step, "a weight of G or D")
                        for cb in callbacks:
                            cb(self, self.step)
        return out

    def finite_model(self) -> bool:
        """True if every weight of G, D and the game's networks is finite (one host sync;
        checked before callbacks)."""
        params = [*self._g_params, *self._d_params]
        return bool(torch.stack([p.detach().isfinite().all() for p in params]).all())

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: models, optimisers, schedulers, RNG, step and
        the statistics so far, as tensors and plain values (loadable with weights_only=True)."""
        names = self.stat_names
        values = np.stack([self.history.stats[k] for k in names], 1).reshape(-1, len(names))
        state = {
            "step": self.step,
            "history": {
                "steps": torch.from_numpy(self.history.steps.copy()),
                "values": torch.from_numpy(values.copy()),  # (n, len(stat_names)) float64
            },
            **{name: net.state_dict() for name, net in self.networks.items()},
            "g_opt": self.g_opt.state_dict() if self.g_opt is not None else None,
            "d_opt": self.d_opt.state_dict(),
            "schedulers": [s.state_dict() for s in self.schedulers],
            "rng": self.rng.get_state(),
            # dropout draws from torch's global RNGs, which take no generator argument
            "global_rng": {"cpu": torch.get_rng_state()}
            | ({"cuda": torch.cuda.get_rng_state_all()} if torch.cuda.is_available() else {}),
            "prefetched": {"real": list(self._real), "noise": list(self._noise)},
        }
        if hasattr(self.data, "state_dict"):
            state["data"] = self.data.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.history = History(self.stat_names)
        if "history" in state:
            self.history.extend(
                state["history"]["steps"].numpy(), state["history"]["values"].numpy()
            )
        for name, net in self.networks.items():
            net.load_state_dict(state[name])
        if self.g_opt is not None:
            self.g_opt.load_state_dict(state["g_opt"])
        self.d_opt.load_state_dict(state["d_opt"])
        for s, sd in zip(self.schedulers, state["schedulers"], strict=True):
            s.load_state_dict(sd)
        self.rng.set_state(state["rng"].cpu())
        if "global_rng" in state:
            torch.set_rng_state(state["global_rng"]["cpu"].cpu())  # map_location may move it
            if "cuda" in state["global_rng"] and torch.cuda.is_available():
                torch.cuda.set_rng_state_all([s.cpu() for s in state["global_rng"]["cuda"]])
        self._real = [_to(b, self.device) for b in state["prefetched"]["real"]]
        self._noise = [_to(b, self.device) for b in state["prefetched"]["noise"]]
        if "data" in state and hasattr(self.data, "load_state_dict"):
            self.data.load_state_dict(state["data"])
