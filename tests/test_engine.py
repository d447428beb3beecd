"""The engine follows Algorithm 1: k D updates per G update, fresh minibatches, exact resume."""

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from toygan import GANTrainer, GaussianMixture, ToyConfig, TrainingDiverged, build_trainer
from toygan.engine import STAT_NAMES


class CountingSampler:
    """Wraps a sampler and records every requested batch size."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def sample(self, n, generator=None):
        self.calls.append(n)
        return self.inner.sample(n, generator)


def small_trainer(**kw) -> GANTrainer:
    cfg = ToyConfig(g_width=8, d_width=8, device="cpu", **kw)
    return build_trainer(cfg)


@given(k=st.integers(1, 4), steps=st.integers(1, 6), prefetch=st.integers(1, 5))
@settings(max_examples=10, deadline=None)
def test_k_discriminator_steps_per_generator_step_on_fresh_batches(k, steps, prefetch):
    tr = small_trainer(k_steps=k, batch_size=16)
    tr.prefetch = prefetch
    tr.data, tr.prior = CountingSampler(tr.data), CountingSampler(tr.prior)
    d_updates, g_updates = [], []
    d_step, g_step = tr.d_step, tr.g_step
    tr.d_step = lambda: d_updates.append(1) or d_step()
    tr.g_step = lambda: g_updates.append(1) or g_step()
    tr.train(steps, progress=False)
    assert len(d_updates) == k * steps and len(g_updates) == steps
    # every D step draws its own real batch, every D and G step its own noise batch
    assert sum(tr.data.calls) >= k * steps * 16
    assert sum(tr.prior.calls) >= (k + 1) * steps * 16
    assert len(tr.history) == steps


def test_d_step_changes_only_d_and_g_step_changes_only_g():
    tr = small_trainer()
    g0, d0 = copy.deepcopy(tr.G.state_dict()), copy.deepcopy(tr.D.state_dict())
    tr.d_step()
    assert all(torch.equal(g0[k], v) for k, v in tr.G.state_dict().items())
    assert not all(torch.equal(d0[k], v) for k, v in tr.D.state_dict().items())
    d1 = copy.deepcopy(tr.D.state_dict())
    tr.g_step()
    assert all(torch.equal(d1[k], v) for k, v in tr.D.state_dict().items())
    assert not all(torch.equal(g0[k], v) for k, v in tr.G.state_dict().items())


def test_same_seed_same_run_other_seed_other_run():
    runs = [small_trainer(seed=s) for s in (0, 0, 1)]
    for tr in runs:
        tr.train(30, progress=False)
    pairs = zip(runs[0].G.parameters(), runs[1].G.parameters(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    assert not torch.equal(next(runs[0].G.parameters()), next(runs[2].G.parameters()))


def test_history_records_every_step_with_sensible_values():
    tr = small_trainer()
    h = tr.train(25, progress=False, sync_every=7)
    assert list(h.steps) == list(range(1, 26))
    assert set(h.stats) == set(STAT_NAMES)
    assert ((h.stats["d_real"] > 0) & (h.stats["d_real"] < 1)).all()
    assert (h.stats["g_grad_norm"] > 0).all()


def test_snapshot_callbacks_at_start_every_n_and_end():
    tr = small_trainer()
    seen = []
    tr.train(23, snapshot_every=10, callbacks=[lambda t, s: seen.append(s)], progress=False)
    assert seen == [0, 10, 20, 23]


def test_resume_from_state_dict_matches_uninterrupted_training():
    a = small_trainer(seed=5)
    a.train(40, progress=False)
    b = small_trainer(seed=5)
    b.train(17, progress=False)
    state = copy.deepcopy(b.state_dict())
    c = small_trainer(seed=5)
    c.load_state_dict(state)
    c.train(23, progress=False)
    for p, q in zip(a.G.parameters(), c.G.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


class NaNAfter:
    def __init__(self, inner, n):
        self.inner, self.n, self.calls = inner, n, 0

    def sample(self, n, generator=None):
        self.calls += 1
        x = self.inner.sample(n, generator)
        return x * float("nan") if self.calls > self.n else x


def test_divergence_raises_with_the_first_bad_step():
    tr = small_trainer(k_steps=1, batch_size=8)
    tr.prefetch = 1
    tr.data = NaNAfter(GaussianMixture([0.0], [1.0]), 12)
    with pytest.raises(TrainingDiverged, match="step 13"):
        tr.train(50, progress=False, sync_every=5)
    assert len(tr.history) == 12  # only the finite steps are kept


def test_invalid_engine_settings():
    with pytest.raises(ValueError, match="k_steps"):
        small_trainer(k_steps=0)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        small_trainer().train(0)


def test_small_networks_train_on_one_thread_and_restore_the_setting():
    tr = small_trainer()
    assert tr.threads == 1
    before = torch.get_num_threads()
    seen = []
    tr.train(3, progress=False, callbacks=[lambda t, s: seen.append(torch.get_num_threads())])
    assert seen and set(seen) == {1} and torch.get_num_threads() == before
    big = build_trainer(ToyConfig(g_width=300, device="cpu"))  # a 300 x 300 layer: 2^16+
    assert big.threads is None
