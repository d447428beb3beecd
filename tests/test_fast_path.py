"""The engine's autograd-free path against autograd: logit derivatives, MLP backward passes,
LeanAdam, per-chunk statistics, and whole training runs."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch.optim.lr_scheduler import LinearLR

from toygan import OBJECTIVES, ToyConfig, build_trainer
from toygan.models import ACTIVATIONS, MLP, OUTPUTS, Discriminator, Generator, linear
from toygan.optim import LeanAdam

logit_arrays = arrays(np.float64, st.integers(1, 64), elements=st.floats(-40, 40))


def sigmoid64(x):
    return 1.0 / (1.0 + np.exp(-x))


@given(logit_arrays)
def test_logit_derivatives_match_float64_formulas_and_autograd(logits):
    # d/dl softplus(-l) = -sigmoid(-l), d/dl softplus(l) = sigmoid(l),
    # d/dl -softplus(l) = -sigmoid(l)
    expected = {
        "d_real": -sigmoid64(-logits),
        "d_fake": sigmoid64(logits),
        "saturating": -sigmoid64(logits),
        "nonsaturating": -sigmoid64(-logits),
    }
    for name, obj in OBJECTIVES.items():
        if obj.family != "gan":  # the family's derivatives: tests/test_objectives_family.py
            continue
        assert obj.analytic == (obj.d_penalty is None)  # r1: the GAN losses plus a penalty
        pairs = (("d_real", obj.d_real, obj.d_real_grad), ("d_fake", obj.d_fake, obj.d_fake_grad))
        g_key = "nonsaturating" if name == "r1" else name
        for key, loss, grad in (*pairs, (g_key, obj.g, obj.g_grad)):
            x = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
            (auto,) = torch.autograd.grad(loss(x).sum(), x)
            got = grad(x.detach())
            np.testing.assert_allclose(got.numpy(), expected[key], rtol=1e-12, atol=1e-300)
            np.testing.assert_allclose(got.numpy(), auto.numpy(), rtol=1e-12, atol=1e-300)


def autograd_reference(module, x, upstream):
    """Output, input gradient and parameter gradients of module by autograd (float64)."""
    x = x.clone().requires_grad_()
    params = list(module.parameters())
    out = module(x)
    grads = torch.autograd.grad((out * upstream).sum(), [x, *params])
    return out, grads[0], grads[1:]


def assert_generator_matches_autograd(G, z, upstream):
    """G's cached forward, input gradient and parameter gradients equal autograd's (float64)."""
    out, grad_z, grads = autograd_reference(G, z, upstream)
    x, cache = G.forward_cached(z)
    torch.testing.assert_close(x, out.detach(), rtol=1e-12, atol=1e-12)
    for p in G.parameters():
        p.grad = None
    got_z = G.backward_cached(cache, upstream, inputs=True)
    torch.testing.assert_close(got_z, grad_z, rtol=1e-10, atol=1e-12)
    for p, g in zip(G.parameters(), grads, strict=True):
        torch.testing.assert_close(p.grad, g, rtol=1e-10, atol=1e-12)


shapes = st.fixed_dictionaries(
    {
        "activation": st.sampled_from(sorted(ACTIVATIONS)),
        "output": st.sampled_from(sorted(OUTPUTS)),
        "width": st.integers(1, 9),
        "depth": st.integers(0, 3),
        "in_dim": st.integers(1, 4),
        "out_dim": st.integers(1, 3),
        "batch": st.integers(1, 7),
        "seed": st.integers(0, 2**16),
    }
)


@given(shapes)
@settings(deadline=None)
def test_generator_backward_cached_matches_autograd(s):
    torch.manual_seed(s["seed"])
    G = Generator(
        s["in_dim"], s["out_dim"], s["width"], s["depth"], s["activation"], s["output"]
    ).double()
    z = torch.randn(s["batch"], s["in_dim"], dtype=torch.float64)
    upstream = torch.randn(s["batch"], s["out_dim"], dtype=torch.float64)
    assert_generator_matches_autograd(G, z, upstream)


@given(shapes)
@settings(deadline=None)
def test_discriminator_backward_cached_matches_autograd_for_any_input_shape(s):
    torch.manual_seed(s["seed"])
    D = Discriminator(2 * s["in_dim"], s["width"], s["depth"], s["activation"]).double()
    x = torch.randn(s["batch"], 2, s["in_dim"], dtype=torch.float64)  # flattened by D
    upstream = torch.randn(s["batch"], 1, dtype=torch.float64)
    out, grad_x, grads = autograd_reference(D, x, upstream)
    logits, cache = D.forward_cached(x)
    torch.testing.assert_close(logits, out.detach(), rtol=1e-12, atol=1e-12)
    for p in D.parameters():
        p.grad = None
    assert D.backward_cached(cache, upstream) is None  # no input gradient unless asked
    for p, g in zip(D.parameters(), grads, strict=True):
        torch.testing.assert_close(p.grad, g, rtol=1e-10, atol=1e-12)
    got_x = D.backward_cached(cache, upstream, params=False, inputs=True)
    assert got_x.shape == x.shape
    torch.testing.assert_close(got_x, grad_x, rtol=1e-10, atol=1e-12)


def test_backward_cached_through_dropout_uses_the_forward_masks():
    torch.manual_seed(0)
    D = Discriminator(3, 16, 2, "leaky_relu", dropout=0.5).double().train()
    x = torch.randn(32, 3, dtype=torch.float64)
    upstream = torch.randn(32, 1, dtype=torch.float64)
    logits, cache = D.forward_cached(x)
    masks = [act[2] for _, act in cache[0][:-1]]  # (net cache, input shape)
    assert all(m is not None and set(m.unique().tolist()) <= {0.0, 2.0} for m in masks)
    # the same forward in autograd with the cached masks
    xr = x.clone().requires_grad_()
    *hidden, last = D.net.layers
    h = xr
    for layer, mask in zip(hidden, masks, strict=True):
        h = F.leaky_relu(F.linear(h, layer.weight, layer.bias), 0.2) * mask
    ref = F.linear(h, last.weight, last.bias)
    torch.testing.assert_close(logits, ref.detach(), rtol=1e-12, atol=1e-12)
    params = list(D.parameters())
    grads = torch.autograd.grad((ref * upstream).sum(), [xr, *params])
    for p in params:
        p.grad = None
    got_x = D.backward_cached(cache, upstream, inputs=True)
    torch.testing.assert_close(got_x, grads[0], rtol=1e-10, atol=1e-12)
    for p, g in zip(params, grads[1:], strict=True):
        torch.testing.assert_close(p.grad, g, rtol=1e-10, atol=1e-12)


def test_backward_cached_overwrites_the_gradient_buffers_in_place():
    torch.manual_seed(1)
    G = Generator(2, 1, 5, 1, "tanh").double()
    z = torch.randn(4, 2, dtype=torch.float64)
    _, cache = G.forward_cached(z)
    G.backward_cached(cache, torch.ones(4, 1, dtype=torch.float64))
    buffers = [p.grad for p in G.parameters()]
    once = [b.clone() for b in buffers]
    G.backward_cached(cache, torch.ones(4, 1, dtype=torch.float64))
    for p, b, o in zip(G.parameters(), buffers, once, strict=True):
        assert p.grad is b  # the same storage, no new allocation
        torch.testing.assert_close(p.grad, o)  # overwritten, not accumulated


@pytest.mark.parametrize("objective", sorted(n for n, o in OBJECTIVES.items() if o.analytic))
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_fast_and_autograd_paths_train_the_same_run(objective, optimizer):
    cfg = ToyConfig(
        g_width=16, d_width=16, batch_size=32, k_steps=2, objective=objective,
        optimizer=optimizer, lr=1e-3 if optimizer == "adam" else 1e-2, steps=40, device="cpu",
    )  # fmt: skip
    fast, slow = build_trainer(cfg), build_trainer(cfg)
    slow.fast_d = slow.fast_g = False
    assert fast.fast_d and fast.fast_g
    hf, hs = fast.train(40, progress=False), slow.train(40, progress=False)
    for a, b in zip(fast.G.state_dict().values(), slow.G.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    for a, b in zip(fast.D.state_dict().values(), slow.D.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    for name, values in hf.stats.items():
        np.testing.assert_allclose(values, hs.stats[name], rtol=1e-4, atol=1e-5)


def test_statistics_are_the_objective_losses_of_each_iteration():
    tr = build_trainer(ToyConfig(g_width=8, d_width=8, batch_size=16, k_steps=3, device="cpu"))
    seen = {"d": [], "g": []}
    d_step, g_step = tr.d_step, tr.g_step

    def spy_d():
        out = d_step()
        seen["d"].append(out[0].clone())
        return out

    def spy_g():
        out = g_step()
        seen["g"].append(out)
        return out

    tr.d_step, tr.g_step = spy_d, spy_g
    h = tr.train(9, progress=False, sync_every=4)
    obj, m = tr.objective, tr.batch_size
    for i in range(9):
        ds = seen["d"][3 * i : 3 * i + 3]
        d_loss = np.mean([float(obj.discriminator_loss(lg[:m], lg[m:])) for lg in ds])
        d_real = np.mean([float(torch.sigmoid(lg[:m]).mean()) for lg in ds])
        d_fake = np.mean([float(torch.sigmoid(lg[m:]).mean()) for lg in ds])
        g_logits, g_norm, _ = seen["g"][i]
        expected = [d_loss, float(obj.generator_loss(g_logits)), d_real, d_fake, float(g_norm)]
        got = [h.stats[k][i] for k in ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm")]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_lean_adam_is_torch_adam():
    torch.manual_seed(0)
    params = [torch.randn(5, 3), torch.randn(3)]
    a = [p.clone().requires_grad_() for p in params]
    b = [p.clone().requires_grad_() for p in params]
    lean = LeanAdam(a, lr=1e-2, betas=(0.5, 0.999), weight_decay=1e-3)
    ref = torch.optim.Adam(b, lr=1e-2, betas=(0.5, 0.999), weight_decay=1e-3, fused=True)
    scheds = [LinearLR(o, 1.0, 0.1, total_iters=10) for o in (lean, ref)]
    for t in range(12):
        grads = [torch.randn_like(p) for p in params]
        for pa, pb, g in zip(a, b, grads, strict=True):
            pa.grad, pb.grad = g.clone(), g.clone()
        if t == 6:  # a checkpoint round trip in the middle, across the two classes
            lean.load_state_dict(copy.deepcopy(ref.state_dict()))
        lean.step()
        ref.step()
        for s in scheds:
            s.step()
    for pa, pb in zip(a, b, strict=True):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    for sa, sb in zip(lean.state.values(), ref.state.values(), strict=True):
        for k in sa:
            torch.testing.assert_close(sa[k], sb[k], rtol=0, atol=0)


def test_large_layers_take_the_transposed_product_and_stay_exact():
    torch.manual_seed(2)
    G = Generator(300, 5, [256, 7], 0, "leaky_relu", "tanh").double()  # 300 x 256 >= 2^16
    assert G.net.layers[0].weight.numel() >= 1 << 16
    z = torch.randn(6, 300, dtype=torch.float64)
    layer = G.net.layers[0]
    torch.testing.assert_close(linear(z, layer), F.linear(z, layer.weight, layer.bias))
    assert_generator_matches_autograd(G, z, torch.randn(6, 5, dtype=torch.float64))


def test_mlp_widths_per_layer_and_their_validation():
    mlp = MLP(3, 2, [5, 4], activation="relu")
    assert [tuple(layer.weight.shape) for layer in mlp.layers] == [(5, 3), (4, 5), (2, 4)]
    with pytest.raises(ValueError, match="widths must be > 0"):
        MLP(3, 2, [5, 0])
