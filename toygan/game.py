"""What G and D see: the unconditional GAN and its conditional, information and encoder variants.

The engine (``toygan.engine.GANTrainer``) plays one game, Algorithm 1; a ``Game`` says what goes
into and out of the networks, so that CGAN, InfoGAN and BiGAN are configurations of that one loop
rather than loops of their own:

- ``Game``: the GAN of Goodfellow et al. 2014. Noise z -> G(z); D(x) judges images.
- ``ConditionalGame``: CGAN (Mirza & Osindero 2014). Real minibatches carry labels (x, y), the
  prior draws (z, y); G(z, y) and D(x, y) see the label, fakes are judged with the label G was
  asked for.
- ``InfoGame``: InfoGAN (Chen et al. 2016). The prior's latent holds codes c (a categorical and
  continuous ones) after the noise; D returns its logit and, in further columns, the Q head's
  code parameters; both players also minimise lambda (CE(c_cat | Q) + NLL(c_cont | Q)), which is
  -lambda L_I up to a constant (L_I: the variational lower bound on I(c; G(z, c))).
- ``BiGame``: BiGAN / ALI (Donahue et al. 2016; Dumoulin et al. 2016). An encoder E, trained with
  G, maps images to latents; D judges pairs: (x, E(x)) real, (G(z), z) fake. G and E minimise
  the generator loss with the labels swapped: L_G(l_fake) + L_G(-l_real) (for the GAN losses,
  -log D(G(z), z) - log(1 - D(x, E(x))) when non-saturating).
- ``PackedGame``: PacGAN (Lin et al. 2018). D judges m samples at once, concatenated: m real
  samples (a packed real minibatch, ``PackedSource``) or m fakes, G called on each of m noise
  batches (``PackedPrior``) separately, as the released code does (a G with batch norm then
  normalises each batch of m by its own statistics).

Minibatches are tensors or tuples of tensors (``parts``); D is called as ``D(*inputs)`` and G
as ``G(*noise)``, so the unconditional models keep their one-argument ``forward``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

Batch = torch.Tensor | tuple[torch.Tensor, ...]
LOG_2PI = math.log(2.0 * math.pi)


def parts(batch: Batch) -> tuple[torch.Tensor, ...]:
    """A minibatch as a tuple of tensors (a lone tensor becomes a 1-tuple)."""
    return batch if isinstance(batch, tuple) else (batch,)


def join(a: Batch, b: Batch) -> Batch:
    """Two minibatches of the same structure as one (part-wise concatenation)."""
    if isinstance(a, tuple):
        return tuple(torch.cat([x, y]) for x, y in zip(a, b, strict=True))
    return torch.cat([a, b])


class Game:
    """The unconditional GAN: G(z) is a sample, D(x) a logit (batch, 1).

    Subclasses override the hooks below; the engine calls nothing else. ``plain`` (this class
    only) allows the engine's analytic fast path and gradient-penalty objectives.
    """

    name = "gan"
    plain = True
    # D sees samples only (no labels, codes or encodings): its input can be interpolated and
    # differentiated (gradient penalties) and D can be unrolled (``GANTrainer(unrolled=k)``)
    samples_only = True
    stat_names: tuple[str, ...] = ()  # extra per-step statistics (metrics.csv columns)

    def __init__(self) -> None:
        self.networks: dict[str, nn.Module] = {}  # extra networks trained with G (BiGAN's E)

    def generate(self, G: nn.Module, noise: Batch) -> torch.Tensor:
        """G's samples (batch, *data_shape) for a noise minibatch."""
        return G(*parts(noise))

    def real_input(self, real: Batch) -> tuple[torch.Tensor, ...]:
        """D's input for a real minibatch."""
        return parts(real)

    def fake_input(self, fake: torch.Tensor, noise: Batch) -> tuple[torch.Tensor, ...]:
        """D's input for G's samples ``fake`` of ``noise``."""
        return (fake,)

    def split(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D's output (batch, 1 + a) -> (logits (batch, 1), auxiliary columns (batch, a) | None)."""
        return out, None

    def aux_loss(
        self, aux_fake: torch.Tensor, noise: Batch
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The auxiliary term both players minimise, from D's auxiliary columns on the fakes of
        ``noise``, and its statistics (len(stat_names),); None: no such term."""
        return None


class ConditionalGame(Game):
    """CGAN: noise (z, y), real (x, y), y class indices in [0, n_classes) (int64, (batch,))."""

    name = "cgan"
    plain = False
    samples_only = False

    def __init__(self, n_classes: int = 10) -> None:
        super().__init__()
        self.n_classes = n_classes

    def fake_input(self, fake: torch.Tensor, noise: Batch) -> tuple[torch.Tensor, ...]:
        return fake, parts(noise)[1]  # judged with the label G was asked for


def check_labels(labels: torch.Tensor, n_classes: int, what: str) -> None:
    """ValueError unless ``labels`` is an integer vector with values in [0, n_classes)."""
    if labels.dtype.is_floating_point or labels.dtype == torch.bool or labels.ndim != 1:
        raise ValueError(f"{what}: labels must be a vector of integers, got {labels.dtype} "
                         f"{tuple(labels.shape)}")  # fmt: skip
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
        raise ValueError(f"{what}: labels must be in [0, {n_classes}), got values in "
                         f"[{int(labels.min())}, {int(labels.max())}]")  # fmt: skip


class InfoGame(Game):
    """InfoGAN: the latent (batch, noise_dim + n_categories + n_continuous) is z, then c_1 one-hot,
    then the continuous codes; D's output is (batch, 1 + n_categories + n_continuous): the logit,
    Q's categorical logits, Q's means of the continuous codes (unit variance, as the released
    code's ``fix_std``). Both players minimise ``lam`` (CE + NLL), the released code's
    ``-info_reg_coeff * mi_est`` up to a constant.

    Statistics: ``l_info`` = H(c_1) - CE(c_1 | Q) = ln(n_categories) - CE, the lower bound on
    I(c_1; G(z, c)) (ceiling ln 10 = 2.303 nats for 10 values), and ``cont_nll``, the mean
    per-code Gaussian negative log-likelihood of the continuous codes under Q.
    """

    name = "infogan"
    plain = False
    samples_only = False
    stat_names = ("l_info", "cont_nll")

    def __init__(
        self, noise_dim: int, n_categories: int = 10, n_continuous: int = 2, lam: float = 1.0
    ) -> None:
        super().__init__()
        self.noise_dim, self.n_categories, self.n_continuous = noise_dim, n_categories, n_continuous
        self.lam = lam

    @property
    def code_dim(self) -> int:
        return self.n_categories + self.n_continuous

    def codes(self, latent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(c_1 indices (batch,), continuous codes (batch, n_continuous)) of a latent batch."""
        c = latent[:, self.noise_dim :]
        return c[:, : self.n_categories].argmax(1), c[:, self.n_categories :]

    def split(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return out[:, :1], out[:, 1:]  # (batch, 1), (batch, code_dim)

    def aux_loss(
        self, aux_fake: torch.Tensor, noise: Batch
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        cat, cont = self.codes(parts(noise)[0])
        ce = F.cross_entropy(aux_fake[:, : self.n_categories], cat)  # E[-log Q(c_1 | x)]
        if self.n_continuous:  # E[-log N(c; mu_Q(x), 1)] per code
            nll = 0.5 * ((aux_fake[:, self.n_categories :] - cont) ** 2 + LOG_2PI).mean()
        else:
            nll = ce.new_zeros(())
        loss = self.lam * (ce + nll * self.n_continuous)
        stats = torch.stack([math.log(self.n_categories) - ce, nll]).detach()
        return loss, stats


class BiGame(Game):
    """BiGAN: D judges (x, E(x)) against (G(z), z); E is trained with G (swapped labels).

    Statistic ``e_loss``: the encoder's term L_G(-l_real) of G and E's loss.
    """

    name = "bigan"
    plain = False
    samples_only = False
    stat_names = ("e_loss",)

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.networks = {"encoder": encoder}

    @property
    def encoder(self) -> nn.Module:
        return self.networks["encoder"]

    def real_input(self, real: Batch) -> tuple[torch.Tensor, ...]:
        x = parts(real)[0]
        return x, self.encoder(x)  # (batch, *data_shape), (batch, latent_dim)

    def fake_input(self, fake: torch.Tensor, noise: Batch) -> tuple[torch.Tensor, ...]:
        return fake, parts(noise)[0]


class PackedGame(Game):
    """PacGAN with packing m: D's input is m samples concatenated, (batch, m * data_dim).

    The noise minibatch is (batch, m, noise_dim) (``PackedPrior``); the fakes are G applied to
    each of its m slices separately, concatenated along the features (PacGAN's
    ``compute_losses``: one G call per z batch). The real minibatch comes packed from the data
    source (``PackedSource``). Any leading member axis (an ensemble's (batch, S, ...)) passes
    through: slot j is ``noise[..., j, :]``.
    """

    name = "pacgan"
    plain = False

    def __init__(self, packing: int) -> None:
        super().__init__()
        if packing < 1:
            raise ValueError(f"packing must be >= 1, got {packing}")
        self.packing = packing

    def generate(self, G: nn.Module, noise: Batch) -> torch.Tensor:
        z = parts(noise)[0]  # (batch, [S,] m, noise_dim)
        return torch.cat([G(z[..., j, :]) for j in range(self.packing)], -1)  # (.., m * dim)


class PackedPrior:
    """The noise of a ``PackedGame``: (n, m, dim), m independent draws of ``noise`` per row."""

    def __init__(self, noise, packing: int) -> None:
        self.noise, self.packing, self.dim = noise, packing, noise.dim

    def __repr__(self) -> str:
        return f"PackedPrior({self.noise!r}, packing={self.packing})"

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.noise.sample(n * self.packing, generator).view(n, self.packing, self.dim)


def base_prior(prior):
    """The prior of one sample of G: ``prior`` itself, or a packed prior's per-slot one."""
    return prior.noise if isinstance(prior, PackedPrior) else prior


class PackedSource:
    """A real-sample source packed by m: ``sample(n)`` -> (n, m * d), m consecutive draws of
    ``source`` per row (fresh draws; PacGAN's fixed packed set is an ``EpochSource`` over rows
    packed once). Passes ``state_dict`` through to a stateful source."""

    def __init__(self, source, packing: int) -> None:
        self.source, self.packing = source, packing

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        x = self.source.sample(n * self.packing, generator)  # (n * m, d)
        return x.reshape(n, -1)  # (n, m * d): rows i*m .. i*m + m - 1 in row i

    def state_dict(self) -> dict:
        return self.source.state_dict() if hasattr(self.source, "state_dict") else {}

    def load_state_dict(self, state: dict) -> None:
        if hasattr(self.source, "load_state_dict"):
            self.source.load_state_dict(state)


def draw_labels(
    n: int,
    n_classes: int,
    generator: torch.Generator | None,
    device: torch.device,
    requested: torch.Tensor | None,
    what: str,
) -> torch.Tensor:
    """n class indices (n,) int64: uniform draws from ``generator``, or ``requested`` (checked:
    n integers in [0, n_classes); ``what`` names them in the error)."""
    if requested is None:
        return torch.randint(n_classes, (n,), generator=generator, device=device)
    labels = torch.as_tensor(requested, device=device)
    check_labels(labels, n_classes, what)
    if len(labels) != n:
        raise ValueError(f"{what}: {len(labels)} labels for {n} samples")
    return labels.long()


class LabelPrior:
    """CGAN's prior: (noise (n, dim), labels (n,) int64) with labels uniform over the classes,
    or the ``labels`` asked for."""

    def __init__(self, noise, n_classes: int = 10) -> None:
        self.noise, self.n_classes, self.dim = noise, n_classes, noise.dim

    def __repr__(self) -> str:
        return f"LabelPrior({self.noise!r}, n_classes={self.n_classes})"

    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        labels: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.noise.sample(n, generator)  # (n, dim)
        labels = draw_labels(n, self.n_classes, generator, z.device, labels, "requested labels")
        return z, labels  # (n, dim), (n,)


class InfoPrior:
    """InfoGAN's prior, one latent (n, dim + n_categories + n_continuous): the noise, c_1 one-hot
    (uniform over its values, or the ``categories`` asked for), continuous codes U(-1, 1)."""

    def __init__(self, noise, n_categories: int = 10, n_continuous: int = 2) -> None:
        self.noise, self.n_categories, self.n_continuous = noise, n_categories, n_continuous
        self.dim = noise.dim + n_categories + n_continuous

    def __repr__(self) -> str:
        return f"InfoPrior({self.noise!r}, {self.n_categories}, {self.n_continuous})"

    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        categories: torch.Tensor | None = None,
    ) -> torch.Tensor:
        z = self.noise.sample(n, generator)  # (n, dim)
        categories = draw_labels(
            n, self.n_categories, generator, z.device, categories, "requested categories"
        )
        one_hot = F.one_hot(categories, self.n_categories).to(z.dtype)  # (n, n_cat)
        cont = torch.rand(n, self.n_continuous, generator=generator, device=z.device) * 2 - 1
        return torch.cat([z, one_hot, cont.to(z.dtype)], 1)  # (n, dim)


GAMES = ("gan", "cgan", "infogan", "bigan")  # the MNIST world's --model; PacGAN: PackedGame
