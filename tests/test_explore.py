"""The notebook explorer (``toygan.toy.explore``), driven through its buttons' callbacks as a
browser would (``Button.click()`` runs the ``on_click`` handlers; no frontend, no display)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import toygan
from toygan.toy.explore import Explorer

TINY = {"device": "cpu", "batch_size": 32, "n_samples": 200, "seed": 3}


@pytest.fixture
def ex() -> Explorer:
    return Explorer(show=False, **TINY)


def set_controls(ex: Explorer, **values) -> None:
    for name, value in values.items():
        ex.controls[name].value = value


def test_step_trains_one_interval_and_redraws(ex):
    assert ex.trainer.step == 0 and [s.step for s in ex.panel.snapshots] == [0]
    set_controls(ex, snapshot_every=5)
    ex.buttons["Step"].click()
    assert ex.trainer.step == 5
    assert [s.step for s in ex.panel.snapshots] == [0, 5]  # a snapshot drawn for step 5
    assert ex.panel.fig.axes  # the panel's figure holds the drawing
    assert ex.message.startswith("step 5 · nonsaturating on mixture · W1 ")


def test_model_settings_apply_at_reset(ex):
    old = ex.trainer
    set_controls(ex, dataset="ring", objective="hinge")
    assert ex.pending() == ["data", "objective"]
    assert "Changed: data, objective (press Reset)" in ex.note.value
    assert ex.trainer is old and ex.cfg.dataset == "mixture"  # nothing changed before Reset
    ex.buttons["Reset"].click()
    assert ex.trainer is not old and ex.trainer.step == 0
    assert (ex.cfg.dataset, ex.cfg.objective, ex.cfg.seed) == ("ring", "hinge", 3)
    assert ex.trainer.objective.name == "hinge"
    assert ex.cfg.means is None and ex.panel.data.dim == 2  # the ring's own modes
    assert ex.pending() == [] and "Changed" not in ex.note.value
    ex.buttons["Step"].click()
    assert ex.trainer.step == 50 and "modes" in ex.message  # the 2D panel's metrics


def test_play_trains_the_requested_steps_one_interval_at_a_time(ex):
    set_controls(ex, steps=12, snapshot_every=5)
    ex.buttons["Play"].click()
    ex.wait()
    assert not ex.playing and ex.trainer.step == 12
    assert [s.step for s in ex.panel.snapshots] == [0, 5, 10, 12]
    assert not ex.buttons["Play"].disabled and ex.buttons["Pause"].disabled
    ex.play(wait=True)  # Play again: as many steps more
    assert ex.trainer.step == 24


def test_pause_stops_between_intervals(ex):
    set_controls(ex, steps=100_000, snapshot_every=5)
    ex.buttons["Play"].click()
    assert ex.playing and ex.buttons["Play"].disabled
    ex.buttons["Step"].click()  # refused while playing
    assert ex.message == "playing: press Pause first"
    ex.buttons["Pause"].click()
    assert not ex.playing
    assert ex.trainer.step < 100_000 and ex.trainer.step % 5 == 0  # at an interval's end
    assert ex.panel.snapshots[-1].step == ex.trainer.step


@pytest.mark.parametrize(
    "values, said",
    [
        ({"objective": "wasserstein_gp", "unrolled": 2}, "unrolled: unrolling differentiates"),
        ({"lr": 0.0}, "lr: must be a number > 0"),
        ({"batch_size": 0}, "batch: must be >= 1"),
    ],
)
def test_a_setting_the_run_cannot_take_is_one_line_not_an_exception(ex, values, said):
    old = ex.trainer
    set_controls(ex, **values)
    ex.buttons["Reset"].click()
    assert ex.message.startswith(said) and "\n" not in ex.message
    assert "#b2182b" in ex.status.value  # shown as an error in the widget
    assert ex.trainer is old and ex.cfg.objective == "nonsaturating"  # the run is kept


def test_bad_defaults_and_bad_run_settings_are_messages_too():
    ex = Explorer(show=False, **TINY, objective="r1", unrolled=1)
    assert ex.trainer is None and ex.message.startswith("unrolled: ")
    ex.buttons["Step"].click()
    assert ex.message == "no run: fix the settings and press Reset"
    set_controls(ex, unrolled=0)
    ex.buttons["Reset"].click()
    set_controls(ex, snapshot_every=0)
    ex.buttons["Step"].click()
    ex.buttons["Play"].click()
    assert ex.message == "redraw every: must be >= 1, got 0" and ex.trainer.step == 0


def test_same_seed_same_samples_after_reset(ex):
    set_controls(ex, snapshot_every=10)
    ex.buttons["Step"].click()
    first = toygan.generate(ex.trainer, 256, seed=7)
    ex.buttons["Reset"].click()
    ex.buttons["Step"].click()
    torch.testing.assert_close(toygan.generate(ex.trainer, 256, seed=7), first, rtol=0, atol=0)
    set_controls(ex, seed=4)
    ex.buttons["Reset"].click()
    ex.buttons["Step"].click()
    assert not torch.equal(toygan.generate(ex.trainer, 256, seed=7), first)


def test_choosing_an_objective_fills_its_k_and_lr():
    ex = Explorer(show=False, **TINY, objective="wasserstein_clip")
    assert (ex.controls["k_steps"].value, ex.controls["lr"].value) == (5, 5e-5)
    ex.controls["objective"].value = "least_squares"
    assert (ex.controls["k_steps"].value, ex.controls["lr"].value) == (1, 1e-3)


def test_explore_displays_the_controls_and_redraws_one_picture(monkeypatch):
    import IPython.display

    shown, updates = [], []

    class Handle:
        def update(self, obj):
            updates.append(obj)

    def display(obj, display_id=False):
        shown.append(obj)
        return Handle() if display_id else None

    monkeypatch.setattr(IPython.display, "display", display)
    ex = toygan.explore(**TINY, snapshot_every=5)
    assert isinstance(ex, Explorer) and shown[0] is ex.widget and len(shown) == 2
    ex.step()
    ex.reset()  # a fresh panel, drawn in the same place
    assert len(shown) == 2 and len(updates) == 3
    assert updates[-1] is ex.panel.fig


def test_packing_in_1d_draws_the_packed_d_beside_gs_samples():
    ex = Explorer(show=False, **TINY, packing=2)
    assert ex.trainer is not None, ex.message
    ex.buttons["Step"].click()
    snap = ex.panel.snapshots[-1]
    assert snap.step == ex.trainer.step > 0
    d = np.asarray(snap.d)
    assert d.shape == np.asarray(snap.grid).shape and np.isfinite(d).all()
    assert ((d > 0) & (d < 1)).all()  # probabilities of the packed D, averaged over partners
