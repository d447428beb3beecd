"""Plain PyTorch training loops of CGAN, InfoGAN and BiGAN, the baselines of ``bench_mnist.py``.

Each trains copies of toygan's networks for the model (the same architecture and init) with the
same algorithm and optimiser settings, written the way tutorials write them: a ``DataLoader``
over a ``TensorDataset`` on the host, noise drawn with the global RNG, ``BCEWithLogitsLoss``
against ones and zeros, ``zero_grad`` / ``backward`` / ``step`` with the default (for-each) Adam,
D called on real and fake separately, G's step backpropagating through D's weights too, and
``.item()`` of both losses every step. Presets that alternate (``dcgan`` CGAN, InfoGAN) alternate
D and G steps on fresh noise; those that update simultaneously (``mirza2014`` CGAN, BiGAN) take
D's and G's (and E's) gradients from one forward pass (``torch.autograd.grad``), as the released
codes and toygan do, with the preset's L_D scale.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class PlainLoop:
    """``run(steps)``: ``steps`` iterations of ``model`` on copies of ``trainer``'s networks."""

    def __init__(self, trainer, data: torch.Tensor, labels: torch.Tensor) -> None:
        self.model, self.one_pass = trainer.game.name, trainer.update == "simultaneous"
        self.d_scale = (
            float(trainer.objective.d_real(torch.zeros(1, 1)).sum())
            / F.softplus(torch.zeros(1)).item()
        )  # the preset's L_D scale (0.5 for the 2014 code's d_obj)
        self.device, self.m = trainer.device, trainer.batch_size
        self.G, self.D = copy.deepcopy(trainer.G), copy.deepcopy(trainer.D)
        self.E = copy.deepcopy(trainer.game.networks.get("encoder"))
        self.noise_dim = trainer.G.noise_dim if self.model != "infogan" else trainer.game.noise_dim
        g_params = [*self.G.parameters(), *(self.E.parameters() if self.E else [])]
        lrs = [trainer.g_opt.param_groups[0]["lr"], trainer.d_opt.param_groups[0]["lr"]]
        wd = trainer.d_opt.param_groups[0].get("weight_decay", 0.0)
        if isinstance(trainer.d_opt, torch.optim.SGD):
            self.g_opt = torch.optim.SGD(g_params, lr=lrs[0], momentum=0.5, weight_decay=wd)
            self.d_opt = torch.optim.SGD(self.D.parameters(), lr=lrs[1], momentum=0.5)
        else:
            self.g_opt = torch.optim.Adam(g_params, lr=lrs[0], betas=(0.5, 0.999), weight_decay=wd)
            self.d_opt = torch.optim.Adam(
                self.D.parameters(), lr=lrs[1], betas=(0.5, 0.999), weight_decay=wd
            )
        self.bce = nn.BCEWithLogitsLoss()
        self.loader = DataLoader(
            TensorDataset(data.cpu(), labels.cpu()), self.m, shuffle=True, drop_last=True
        )
        self.batches = iter(self.loader)
        self.losses: list[tuple[float, float]] = []

    def _real(self) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            x, y = next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            x, y = next(self.batches)
        return x.to(self.device), y.to(self.device)

    def _noise(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z = torch.rand(self.m, self.noise_dim, device=self.device) * 2 - 1
        c = torch.randint(10, (self.m,), device=self.device)
        cont = torch.rand(self.m, 2, device=self.device) * 2 - 1
        return z, c, cont

    def _info(self, out: torch.Tensor, c: torch.Tensor, cont: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out[:, 1:11], c) + 0.5 * ((out[:, 11:] - cont) ** 2).sum(1).mean()

    def run(self, steps: int) -> None:
        ones = torch.ones(self.m, 1, device=self.device)
        zeros = torch.zeros(self.m, 1, device=self.device)
        for _ in range(steps):
            x, y = self._real()
            if self.one_pass:
                self._one_pass_step(x, y, ones, zeros)
                continue
            z, c, cont = self._noise()
            if self.model == "cgan":
                fake = self.G(z, c)
                real_out, fake_out = self.D(x, y), self.D(fake.detach(), c)
                info = 0.0
            else:  # infogan
                fake = self.G(torch.cat([z, F.one_hot(c, 10).float(), cont], 1))
                real_out, fake_out = self.D(x), self.D(fake.detach())
                info = self._info(fake_out, c, cont)
            self.d_opt.zero_grad()
            d_loss = self.bce(real_out[:, :1], ones) + self.bce(fake_out[:, :1], zeros) + info
            d_loss.backward()
            self.d_opt.step()
            z, c, cont = self._noise()  # G's step on fresh noise
            self.g_opt.zero_grad()
            if self.model == "cgan":
                g_loss = self.bce(self.D(self.G(z, c), c), ones)
            else:
                out = self.D(self.G(torch.cat([z, F.one_hot(c, 10).float(), cont], 1)))
                g_loss = self.bce(out[:, :1], ones) + self._info(out, c, cont)
            g_loss.backward()
            self.g_opt.step()
            self.losses.append((d_loss.item(), g_loss.item()))

    def _one_pass_step(self, x, y, ones: torch.Tensor, zeros: torch.Tensor) -> None:
        if self.model == "bigan":
            z = torch.rand(self.m, self.noise_dim, device=self.device) * 2 - 1
            real_out, fake_out = self.D(x, self.E(x)), self.D(self.G(z), z)
            ge_loss = self.bce(real_out, zeros) + self.bce(fake_out, ones)  # labels swapped
        else:  # cgan, the 2014 code's one pass (U[0, 1] noise)
            z, c = torch.rand(self.m, self.noise_dim, device=self.device), self._noise()[1]
            real_out, fake_out = self.D(x, y), self.D(self.G(z, c), c)
            ge_loss = self.bce(fake_out, ones)
        d_loss = self.d_scale * (self.bce(real_out, ones) + self.bce(fake_out, zeros))
        d_params = list(self.D.parameters())
        ge_params = [*self.G.parameters(), *(self.E.parameters() if self.E else [])]
        d_grads = torch.autograd.grad(d_loss, d_params, retain_graph=True)
        ge_grads = torch.autograd.grad(ge_loss, ge_params)
        self.d_opt.zero_grad()
        self.g_opt.zero_grad()
        for p, g in zip([*d_params, *ge_params], [*d_grads, *ge_grads], strict=True):
            p.grad = g
        self.d_opt.step()
        self.g_opt.step()
        self.losses.append((d_loss.item(), ge_loss.item()))
