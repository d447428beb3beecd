"""Properties of the GAN losses on logits, against float64 numpy formulas (the oracle).

L_ns(l) = -log D = softplus(-l), L_sat(l) = log(1 - D) = -softplus(l), D = sigmoid(l):
L_ns + L_sat = -l; every loss and gradient is finite for float32 logits in [-80, 80]; and the
saturation claim of Goodfellow et al. 2014, section 3: |dL_ns/dl| >= |dL_sat/dl| exactly when
l <= 0, i.e. when D rejects the fake.
"""

import numpy as np
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from toygan.objectives import (
    OBJECTIVES,
    d_loss_fake,
    d_loss_real,
    g_loss_nonsaturating,
    g_loss_saturating,
)

logit_lists = st.lists(st.floats(-80, 80, allow_nan=False, width=32), min_size=1, max_size=64)


def _grad(loss, logits: torch.Tensor) -> torch.Tensor:
    logit = logits.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(loss(logit).sum(), logit)
    return g


@given(logit_lists)
def test_nonsaturating_plus_saturating_is_minus_logit(values):
    logit = torch.tensor(values, dtype=torch.float32)
    torch.testing.assert_close(g_loss_nonsaturating(logit) + g_loss_saturating(logit), -logit)


@given(logit_lists)
def test_losses_match_float64_formulas(values):
    logit = torch.tensor(values, dtype=torch.float32)
    x = np.asarray(values, dtype=np.float64)
    softplus = np.logaddexp(0.0, x)  # log(1 + e^l)
    softplus_neg = np.logaddexp(0.0, -x)  # log(1 + e^-l) = -log sigmoid(l)
    expected = {
        d_loss_real: softplus_neg,  # -log D(x)
        d_loss_fake: softplus,  # -log(1 - D(x))
        g_loss_saturating: -softplus,  # log(1 - D(G(z)))
        g_loss_nonsaturating: softplus_neg,  # -log D(G(z))
    }
    for loss, want in expected.items():
        torch.testing.assert_close(
            loss(logit).double(), torch.from_numpy(want), rtol=2e-6, atol=1e-6
        )
    sig = 1.0 / (1.0 + np.exp(-x))
    torch.testing.assert_close(
        _grad(g_loss_saturating, logit).double(), torch.from_numpy(-sig), rtol=2e-6, atol=1e-7
    )
    torch.testing.assert_close(
        _grad(g_loss_nonsaturating, logit).double(), torch.from_numpy(sig - 1), rtol=2e-6, atol=1e-7
    )


@given(logit_lists)
def test_all_losses_and_gradients_finite_in_float32(values):
    logit = torch.tensor(values, dtype=torch.float32)
    for obj in OBJECTIVES.values():
        for loss in (obj.d_real, obj.d_fake, obj.g):
            assert torch.isfinite(loss(logit)).all(), (obj.name, loss.__name__)
            assert torch.isfinite(_grad(loss, logit)).all(), (obj.name, loss.__name__)
        assert torch.isfinite(obj.discriminator_loss(logit[:, None], logit[:, None]))
        assert torch.isfinite(obj.generator_loss(logit[:, None]))


@given(st.floats(-80, 80, allow_nan=False))
def test_nonsaturating_gradient_dominates_exactly_when_d_rejects(value):
    # in float64 sigmoid(l) and sigmoid(-l) differ for |l| > ~1e-16; keep clear of that
    assume(value == 0.0 or abs(value) > 1e-12)
    logit = torch.tensor([value], dtype=torch.float64)
    g_ns = _grad(g_loss_nonsaturating, logit).abs()
    g_sat = _grad(g_loss_saturating, logit).abs()
    assert bool(g_ns >= g_sat) == (value <= 0)
    # and the saturating gradient vanishes as D rejects: |dL_sat/dl| = sigmoid(l) <= e^l
    assert float(g_sat) <= np.exp(value) * (1 + 1e-12)
