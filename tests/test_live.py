"""The live notebook panel: one display, then in-place updates; D* as the panel's own oracle."""

import numpy as np
import pytest
import torch

from toygan.toy import plots
from toygan.toy.experiment import ToyConfig, build_trainer, generate
from toygan.toy.live import LivePanel, live_snapshot
from toygan.toy.optima import optimum_on_grid

SMALL = dict(noise_dim=1, activation="leaky_relu", batch_size=32, lr_decay="none", steps=6,
             device="cpu")  # fmt: skip


def test_one_display_then_updates_in_place(monkeypatch):
    calls = []

    class Handle:
        def update(self, obj):
            calls.append("update")

    def display(obj, display_id=None):
        assert display_id is True
        calls.append("display")
        return Handle()

    monkeypatch.setattr("IPython.display.display", display)
    cfg = ToyConfig(**SMALL)
    trainer = build_trainer(cfg)
    live = LivePanel(cfg.mixture(), n_samples=300)
    trainer.train(6, snapshot_every=3, callbacks=[live], progress=False)
    assert [s.step for s in live.snapshots][-2:] == [3, 6]
    assert calls == ["display"] + ["update"] * (len(live.snapshots) - 1)
    assert len(live.fig.axes) == 3  # panel, its D twin axis, losses: redrawn, not stacked


def test_gan_optimum_is_the_kde_ratio_of_take_snapshot():
    cfg = ToyConfig(**SMALL)
    trainer = build_trainer(cfg)
    trainer.train(6, progress=False)
    data = cfg.mixture()
    real = data.sample(400, torch.Generator().manual_seed(1))
    snap = live_snapshot(trainer, 6, data, real, n_samples=400, seed=2)
    fake = generate(trainer, 400, seed=2)
    oracle = plots.take_snapshot(6, trainer.D, real, fake, data)  # sigmoid(log p_data - log p_g)
    np.testing.assert_allclose(snap.d_star, oracle.d_star, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(snap.d, oracle.d)


@pytest.mark.parametrize("objective", ["least_squares", "hinge", "wasserstein_gp"])
def test_other_objectives_show_the_raw_output_and_their_own_optimum(objective):
    cfg = ToyConfig(**{**SMALL, "objective": objective})
    trainer = build_trainer(cfg)
    data = cfg.mixture()
    live = LivePanel(data, n_samples=300, objective=objective, show=False)
    trainer.train(3, snapshot_every=3, callbacks=[live], progress=False)
    snap = live.snapshots[-1]
    with torch.no_grad():
        raw = trainer.D(torch.from_numpy(snap.grid).float().unsqueeze(1))[:, 0].double().numpy()
    np.testing.assert_allclose(snap.d, raw, rtol=1e-6, atol=1e-6)
    star = optimum_on_grid(objective, data, snap.fake, snap.grid, snap.d)
    np.testing.assert_allclose(snap.d_star, star)
    if objective == "hinge":
        assert set(np.unique(snap.d_star)) <= {-1.0, 0.0, 1.0}


def test_optimal_critic_has_unit_slope_of_the_cdf_gaps_sign():
    from toygan.toy.mixture import GaussianMixture

    data = GaussianMixture([-2.0, 2.0], [0.5, 0.5])
    grid = np.linspace(-6, 6, 1201)
    fake = np.full(500, 3.0)  # G a point mass at 3: F_g - F_data < 0 below 3, > 0 above
    f = optimum_on_grid("wasserstein_gp", data, fake, grid)
    slope = np.diff(f) / np.diff(grid)
    np.testing.assert_allclose(slope[grid[1:] < 2.9], -1.0)
    np.testing.assert_allclose(slope[grid[:-1] > 3.1], 1.0)
