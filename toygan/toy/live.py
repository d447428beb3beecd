"""Watch a 1D or 2D GAN train, live in a notebook, in the spirit of GAN Lab (Kahng et al. 2018).

``LivePanel`` is a snapshot callback for ``GANTrainer.train(callbacks=[...])``: at every snapshot
it draws the panel of ``toygan.toy.plots`` (real and fake samples, p_data, p_g, D(x), the optimal
D*(x) for the current G from ``toygan.toy.theory.optimal_discriminator`` with a ``SampleDensity`` of
G's samples, the 1/2 line) and the loss curves so far (2D: ``toygan.toy.plots2d``'s D and D*
panels with the points, the generator gradients and G's manifold, and the mode metrics), and
replaces the previous picture through
an ``IPython.display`` display handle. That works in plain Jupyter, JupyterLab, VS Code and
headless runs (nbmake, nbconvert) alike, without ipywidgets; the last picture stays in the
notebook's saved output.

    live = LivePanel(cfg.mixture())
    trainer.train(2000, snapshot_every=100, callbacks=[live])
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from toygan.engine import GANTrainer
from toygan.objectives import Objective, get_objective
from toygan.toy import plots, plots2d
from toygan.toy.experiment import generate
from toygan.toy.metrics import mode_metrics, wasserstein1
from toygan.toy.mixture import GaussianMixture
from toygan.toy.optima import d_axis, optimum_on_grid


def live_snapshot(
    trainer: GANTrainer,
    step: int,
    data: GaussianMixture,
    real: torch.Tensor,
    n_samples: int = 2000,
    seed: int = 2,
    x_range: tuple[float, float] | None = None,
    objective: str | Objective = "nonsaturating",
) -> plots.Snapshot:
    """The panel's data at ``step``: ``plots.take_snapshot``, with D as ``objective`` reports it
    and its optimum for the current G (``toygan.toy.optima``: ``toygan.toy.theory``'s D* with a
    ``SampleDensity`` of G's samples; for a critic, the 1D optimal critic).

    G's samples come from a dedicated generator seeded with ``seed`` (the same z every time, so
    frames differ only by training); ``real`` (n, 1) is a fixed data sample.
    """
    o = get_objective(objective)
    fake = generate(trainer, n_samples, seed)  # (n, 1)
    w1 = wasserstein1(fake.cpu(), data) if torch.isfinite(fake).all() else float("inf")
    packed = None
    if plots2d.packing_of(trainer) > 1:  # D judges packs: each point beside G's samples

        def packed(grid):  # (G,) -> D's reported output (G,), averaged over partners
            return plots2d.d_on_grid(trainer, torch.as_tensor(grid).unsqueeze(1), fake).numpy()

    snap = plots.take_snapshot(step, trainer.D, real, fake, data, x_range, metrics={"w1": w1},
                               d_values=packed)  # fmt: skip
    if o.family != "gan" and packed is None:  # the raw output (least squares, hinge, critic)
        snap.d = d_output(trainer, snap.grid, o)
    snap.d_star = optimum_on_grid(o, data, snap.fake, snap.grid, snap.d)
    return snap


@torch.no_grad()
def d_output(trainer: GANTrainer, grid, objective: Objective):
    """D's reported output (``objective.d_statistic`` of its raw output) on ``grid`` (G,)."""
    x = torch.as_tensor(grid, dtype=torch.float32, device=trainer.device).unsqueeze(1)  # (G, 1)
    was_training = trainer.D.training
    trainer.D.eval()
    out = objective.d_statistic(trainer.D(x)).double().reshape(-1).cpu().numpy()  # (G,)
    trainer.D.train(was_training)
    return out


class LivePanel:
    """A snapshot callback that redraws the panel and the losses in place (see module docstring).

    Args:
        data: the data distribution (p_data of the panel, D*'s numerator).
        n_samples: real and fake samples per panel.
        seed: seeds the fixed real sample (``seed + 1``) and G's noise (``seed + 2``).
        objective: how D is read and which optimum is drawn (``toygan.toy.optima``), and the loss
            curves' equilibrium lines.
        figsize: size of the live figure (panel left, losses right; default by dimension).
        show: display in the notebook (``False``: only keep ``snapshots`` and the figure).
    """

    def __init__(
        self,
        data: GaussianMixture,
        n_samples: int = 2000,
        seed: int = 0,
        objective: str | Objective = "nonsaturating",
        figsize: tuple[float, float] | None = None,
        show: bool = True,
    ) -> None:
        self.data, self.n_samples, self.seed = data, n_samples, seed
        self.objective, self.show = objective, show
        self.real = data.sample(n_samples, torch.Generator().manual_seed(seed + 1))  # (n, d)
        self.x_range = plots.plot_range(data) if data.dim == 1 else None
        self.snapshots: list[plots.Snapshot] = []
        self.fig = plt.figure(figsize=figsize or ((12.0, 3.8) if data.dim == 1 else (14, 4.4)))
        plt.close(self.fig)  # drawn only through the display handle, never by the backend
        self._handle = None

    def __call__(self, trainer: GANTrainer, step: int) -> None:
        if self.data.dim == 1:
            snap = live_snapshot(
                trainer, step, self.data, self.real.to(trainer.device), self.n_samples,
                self.seed + 2, self.x_range, self.objective,
            )  # fmt: skip
        else:
            fake = generate(trainer, self.n_samples, self.seed + 2)  # (n, 2)
            m = mode_metrics(fake.cpu(), self.data) if bool(fake.isfinite().all()) else {}
            keys = ("modes", "high_quality", "reverse_kl")
            snap = plots2d.take_snapshot(step, trainer, fake, self.data,
                                         {k: m[k] for k in keys if k in m})  # fmt: skip
        self.snapshots.append(snap)
        self.draw(snap, trainer)
        if self.show:
            self._display()

    def draw(self, snap, trainer: GANTrainer) -> plt.Figure:
        """Redraw the figure: the panel of ``snap`` and ``trainer``'s loss curves."""
        self.fig.clear()
        o = get_objective(self.objective)
        if self.data.dim > 1:
            ax_d, ax_star, ax_loss = self.fig.subplots(1, 3, width_ratios=(1, 1, 1.2))
            real = self.real.numpy()
            plots2d.draw_panel(ax_d, snap, real, o.name, packing=plots2d.packing_of(trainer))
            plots2d.draw_optimum(ax_star, snap, real, self.data, o.name)
            plots.draw_losses(ax_loss, trainer.history, o.name)
            ax_loss.set_title(f"losses; {plots2d.metric_line(snap)}", fontsize=9)
            return self.fig
        ax_panel, ax_loss = self.fig.subplots(1, 2, width_ratios=(3, 2))
        axis = d_axis(self.objective)
        star = {} if o.family == "gan" else {"d_star_label": f"{o.name}: optimum for this G"}
        plots.draw_panel(ax_panel, snap, d_range=axis.ylim, d_equilibrium=axis.equilibrium,
                         d_label=axis.label, **star)  # fmt: skip
        plots.draw_losses(ax_loss, trainer.history, o.name)
        ax_loss.set_title(f"losses, step {snap.step}")
        self.fig.tight_layout()
        return self.fig

    def _display(self) -> None:
        from IPython.display import display

        if self._handle is None:
            self._handle = display(self.fig, display_id=True)
        else:
            self._handle.update(self.fig)


__all__ = ["LivePanel", "live_snapshot"]
