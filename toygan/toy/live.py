"""Watch a 1D GAN train, live in a notebook, in the spirit of GAN Lab (Kahng et al. 2018).

``LivePanel`` is a snapshot callback for ``GANTrainer.train(callbacks=[...])``: at every snapshot
it draws the panel of ``toygan.toy.plots`` (real and fake samples, p_data, p_g, D(x), the optimal
D*(x) for the current G from ``toygan.toy.theory.optimal_discriminator`` with a ``SampleDensity`` of
G's samples, the 1/2 line) and the loss curves so far, and replaces the previous picture through
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
from toygan.toy import plots
from toygan.toy.experiment import generate
from toygan.toy.metrics import wasserstein1
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
    snap = plots.take_snapshot(step, trainer.D, real, fake, data, x_range, metrics={"w1": w1})
    if o.family != "gan":  # the raw output (least squares, hinge, critic), not a probability
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
        figsize: size of the live figure (panel left, losses right).
        show: display in the notebook (``False``: only keep ``snapshots`` and the figure).
    """

    def __init__(
        self,
        data: GaussianMixture,
        n_samples: int = 2000,
        seed: int = 0,
        objective: str | Objective = "nonsaturating",
        figsize: tuple[float, float] = (12.0, 3.8),
        show: bool = True,
    ) -> None:
        self.data, self.n_samples, self.seed = data, n_samples, seed
        self.objective, self.show = objective, show
        self.real = data.sample(n_samples, torch.Generator().manual_seed(seed + 1))  # (n, 1)
        self.x_range = plots.plot_range(data)
        self.snapshots: list[plots.Snapshot] = []
        self.fig = plt.figure(figsize=figsize)
        plt.close(self.fig)  # drawn only through the display handle, never by the backend
        self._handle = None

    def __call__(self, trainer: GANTrainer, step: int) -> None:
        snap = live_snapshot(
            trainer, step, self.data, self.real.to(trainer.device), self.n_samples,
            self.seed + 2, self.x_range, self.objective,
        )  # fmt: skip
        self.snapshots.append(snap)
        self.draw(snap, trainer)
        if self.show:
            self._display()

    def draw(self, snap: plots.Snapshot, trainer: GANTrainer) -> plt.Figure:
        """Redraw the figure: the panel of ``snap`` and ``trainer``'s loss curves."""
        self.fig.clear()
        ax_panel, ax_loss = self.fig.subplots(1, 2, width_ratios=(3, 2))
        axis, o = d_axis(self.objective), get_objective(self.objective)
        star = {} if o.family == "gan" else {"d_star_label": f"{o.name}: optimum for this G"}
        plots.draw_panel(ax_panel, snap, d_range=axis.ylim, d_equilibrium=axis.equilibrium,
                         d_label=axis.label, **star)  # fmt: skip
        plots.draw_losses(ax_loss, trainer.history, get_objective(self.objective).name)
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
