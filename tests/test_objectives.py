"""Oracle tests: toygan's logit losses and their gradients against float64 formulas."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from toygan import OBJECTIVES, get_objective
from toygan.objectives import g_loss_nonsaturating, g_loss_saturating

logit_arrays = arrays(np.float64, st.integers(1, 64), elements=st.floats(-30, 30))


def sigmoid64(x):
    return 1.0 / (1.0 + np.exp(-x))


def log_d64(x):
    """log sigmoid(x) in float64 via numpy's logaddexp (the naive log(1 - sigmoid(x)) loses all
    precision to cancellation once sigmoid(x) rounds near 1, e.g. x = 29)."""
    return -np.logaddexp(0.0, -x)


@given(logit_arrays, logit_arrays)
def test_discriminator_loss_matches_float64_value_function(real, fake):
    # -V(D, G) estimate: -mean log D(x) - mean log(1 - D(G(z))), in float64 with
    # log(1 - sigmoid(l)) = log sigmoid(-l)
    expected = -np.mean(log_d64(real)) - np.mean(log_d64(-fake))
    for obj in (o for o in OBJECTIVES.values() if o.family == "gan"):
        got = obj.discriminator_loss(
            torch.tensor(real, dtype=torch.float32).unsqueeze(1),
            torch.tensor(fake, dtype=torch.float32).unsqueeze(1),
        )
        assert float(got) == pytest.approx(expected, rel=1e-5, abs=1e-5)


@given(logit_arrays)
def test_generator_losses_match_float64_formulas(fake):
    logits = torch.tensor(fake, dtype=torch.float32).unsqueeze(1)
    sat = get_objective("saturating").generator_loss(logits)
    ns = get_objective("nonsaturating").generator_loss(logits)
    assert float(sat) == pytest.approx(np.mean(log_d64(-fake)), rel=1e-5, abs=1e-5)
    assert float(ns) == pytest.approx(np.mean(-log_d64(fake)), rel=1e-5, abs=1e-5)


@given(logit_arrays)
def test_generator_loss_gradients_match_analytic_float64(fake):
    # d/dl log(1 - sigmoid(l)) = -sigmoid(l);  d/dl -log sigmoid(l) = -sigmoid(-l)
    for fn, expected in (
        (g_loss_saturating, -sigmoid64(fake)),
        (g_loss_nonsaturating, -sigmoid64(-fake)),
    ):
        x = torch.tensor(fake, dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(fn(x).sum(), x)
        torch.testing.assert_close(grad.numpy(), expected, rtol=1e-12, atol=1e-300)


def test_losses_are_finite_where_the_naive_formula_is_not():
    logits = torch.tensor([[-100.0], [100.0]])
    naive = torch.log(1 - torch.sigmoid(logits))  # -inf at l = 100 in float32
    assert not torch.isfinite(naive).all()
    for obj in OBJECTIVES.values():
        assert torch.isfinite(obj.g(logits)).all()
        assert torch.isfinite(obj.d_real(logits)).all() and torch.isfinite(obj.d_fake(logits)).all()


def test_unknown_objective_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown objective 'wgan'"):
        get_objective("wgan")
