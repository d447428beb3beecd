"""The goodfellow2014 preset against the released code (goodfeli/adversarial mnist.yaml,
AdversaryCost2): the simultaneous update against a float64 autograd oracle, noise, init, the
halved D loss and the pylearn2 schedules."""

import copy
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from toygan.engine import GANTrainer, TrainingDiverged
from toygan.mnist import presets
from toygan.models import Generator

REAL = Path(os.environ.get("TOYGAN_MNIST_DIR", Path(__file__).parents[1] / "../shared/data/mnist"))
HAVE_MNIST = (REAL / "t10k-images-idx3-ubyte.gz").exists()


class Points:
    """A fixed float64 data set served in order (the engine's ``Sampler`` protocol)."""

    def __init__(self, x: torch.Tensor) -> None:
        self.x, self.i = x, 0

    def sample(self, n, generator=None):
        idx = torch.arange(self.i, self.i + n) % len(self.x)
        self.i += n
        return self.x[idx]

    def state_dict(self):
        return {"i": self.i}

    def load_state_dict(self, state):
        self.i = state["i"]


class Noise64(presets.UniformNoise):
    def sample(self, n, generator=None, dtype=torch.float64):
        return super().sample(n, generator, dtype)


def tiny_trainer(seed: int, update: str = "simultaneous", momentum: float = 0.0, lr: float = 0.1):
    """A float64 G (3 -> 5 -> sigmoid 4) and maxout D (4 -> 3x2 -> 3x2 -> logit, dropout)."""
    torch.manual_seed(seed)
    G = Generator(3, 4, 5, 1, "relu", "sigmoid").double()
    D = presets.MaxoutDiscriminator(4, 3, 2, input_dropout=0.2, hidden_dropout=0.5).double()
    presets.goodfellow_init_(G, D, torch.rand(20, 4), torch.Generator().manual_seed(seed))
    data = Points(torch.rand(64, 4, generator=torch.Generator().manual_seed(seed + 1)).double())
    opts = [torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum) for net in (G, D)]
    return GANTrainer(
        G,
        D,
        Noise64(3),
        data,
        presets.build_objective("goodfellow2014", "nonsaturating"),
        *opts,
        rng=torch.Generator().manual_seed(seed),
        batch_size=6,
        prefetch=1,
        update=update,
    )


@given(st.integers(0, 2**16))
def test_simultaneous_step_matches_float64_oracle(seed):
    tr = tiny_trainer(seed)
    G0, D0 = copy.deepcopy(tr.G), copy.deepcopy(tr.D)  # the pre-step state
    real = torch.rand(6, 4, generator=torch.Generator().manual_seed(seed + 2)).double()
    z = presets.UniformNoise(3).sample(6, torch.Generator().manual_seed(seed + 3)).double()
    tr._real, tr._noise = [real], [z]  # the step's minibatches
    torch.manual_seed(seed + 4)  # dropout masks: the same draws in the step and the oracle
    logits, penalty, norm, _ = tr.simultaneous_step()

    torch.manual_seed(seed + 4)
    fake = G0(z)  # (6, 4)
    lg = D0(torch.cat([real, fake]))  # (12, 1): the same masks as the step's pass
    l_real, l_fake = lg[:6], lg[6:]
    # AdversaryCost2: d_obj = 0.5 (BCE(1, D(x)) + BCE(0, D(G(z)))), g_obj = BCE(1, D(G(z)))
    d_obj = 0.5 * (F.softplus(-l_real).mean() + F.softplus(l_fake).mean())
    g_obj = F.softplus(-l_fake).mean()
    d_grads = torch.autograd.grad(d_obj, list(D0.parameters()), retain_graph=True)
    g_grads = torch.autograd.grad(g_obj, list(G0.parameters()))

    assert penalty is None
    torch.testing.assert_close(logits, lg.detach())
    torch.testing.assert_close(norm, torch.cat([g.reshape(-1) for g in g_grads]).norm())
    # both nets moved by -lr * gradient taken at the *same* pre-step parameters
    for net, net0, grads in ((tr.D, D0, d_grads), (tr.G, G0, g_grads)):
        for p, p0, g in zip(net.parameters(), net0.parameters(), grads, strict=True):
            torch.testing.assert_close(p.grad, g)
            torch.testing.assert_close(p.detach(), p0.detach() - 0.1 * g)


def test_simultaneous_records_resume_and_nan_guard():
    tr = tiny_trainer(0, momentum=0.5)
    torch.manual_seed(0)
    tr.train(3, progress=False)
    state = copy.deepcopy(tr.state_dict())
    tr.train(2, progress=False)
    rows = tr.history.rows()
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5]
    assert all(np.isfinite(list(r.values())).all() for r in rows)
    assert all(0 < r["d_fake"] < 1 and 0 < r["d_real"] < 1 for r in rows)

    again = tiny_trainer(0, momentum=0.5)
    torch.manual_seed(1)  # the global RNG (dropout) comes back from the state too
    again.load_state_dict(state)
    again.train(2, progress=False)
    for a, b in zip(tr.G.parameters(), again.G.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    for a, b in zip(tr.D.parameters(), again.D.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)

    with torch.no_grad():
        tr.D.out.weight.fill_(float("nan"))
    with pytest.raises(TrainingDiverged):
        tr.train(1, progress=False)


def test_update_option_is_checked():
    with pytest.raises(ValueError, match="update"):
        tiny_trainer(0, update="both")
    tr = tiny_trainer(0)
    with pytest.raises(ValueError, match="simultaneous"):
        GANTrainer(tr.G, tr.D, tr.prior, tr.data, "nonsaturating", tr.g_opt, tr.d_opt,
                   rng=tr.rng, k_steps=2, update="simultaneous")  # fmt: skip


def test_halved_d_loss_objective():
    obj = presets.build_objective("goodfellow2014", "nonsaturating")
    full = presets.build_objective("modern", "nonsaturating")
    assert full.name == obj.name == "nonsaturating"
    lr, lf = torch.linspace(-30, 30, 7)[:, None], torch.linspace(-5, 40, 7)[:, None]
    torch.testing.assert_close(
        obj.discriminator_loss(lr, lf), 0.5 * full.discriminator_loss(lr, lf)
    )
    torch.testing.assert_close(obj.generator_loss(lf), full.generator_loss(lf))
    for a, b in zip(
        obj.discriminator_loss_grad(lr, lf), full.discriminator_loss_grad(lr, lf), strict=True
    ):
        torch.testing.assert_close(a, 0.5 * b)


@given(st.integers(0, 2**32 - 1))
def test_noise_is_uniform_on_plus_minus_sqrt3(seed):
    z = presets.build_prior("goodfellow2014").sample(4000, torch.Generator().manual_seed(seed))
    assert z.shape == (4000, 100) and z.dtype == torch.float32
    assert z.abs().max() <= math.sqrt(3) and z.abs().max() > 1.73
    torch.testing.assert_close(z.var().item(), 1.0, rtol=0, atol=0.01)  # unit variance
    torch.testing.assert_close(z.mean().item(), 0.0, rtol=0, atol=0.01)


def test_init_ranges_and_output_bias_from_marginals():
    images = torch.rand(50, 784, generator=torch.Generator().manual_seed(0))
    images[:, :5] = 0.0  # pixels never on: mean clipped to 1e-7
    images[:, 5:8] = 1.0  # always on: 1 - 1e-7
    G, D = presets.build_models("goodfellow2014", "cpu", images, torch.Generator().manual_seed(1))
    g_w = [m.weight for m in G.net.layers]
    d_w = [D.h0.linear.weight, D.h1.linear.weight, D.out.weight]
    for ws, r in ((g_w, 0.05), (d_w, 0.005)):
        for w in ws:
            assert w.abs().max() <= r and w.abs().max() > 0.99 * r
            torch.testing.assert_close(w.mean().item(), 0.0, rtol=0, atol=r * 0.05)
    for b in [m.bias for m in G.net.layers[:-1]] + [D.h0.linear.bias, D.h1.linear.bias, D.out.bias]:
        assert not b.any()
    mean = images.double().mean(0).clamp(1e-7, 1 - 1e-7)
    expected = torch.log(mean / (1 - mean)).float()
    torch.testing.assert_close(G.net.layers[-1].bias.detach(), expected)
    torch.testing.assert_close(G.net.layers[-1].bias[0].item(), math.log(1e-7 / (1 - 1e-7)))
    # untrained G's mean image is the data's (to the extent the hidden layers are small)
    again, _ = presets.build_models(
        "goodfellow2014", "cpu", images, torch.Generator().manual_seed(1)
    )
    torch.testing.assert_close(again.state_dict(), G.state_dict(), rtol=0, atol=0)


@pytest.mark.parametrize(
    ("t", "lr", "momentum"),
    [
        (0, 0.1, 0.5),  # epoch 1 (1-based)
        (9, 0.1 / 1.000004**9, 0.5),  # still epoch 1
        (10, 0.1 / 1.000004**10, 0.5 + 0.2 / 249),  # epoch 2: the first increase
        (10 * 124 + 3, 0.1 / 1.000004**1243, 0.5 + 0.2 * 124 / 249),  # epoch 125
        (10 * 249, 0.1 / 1.000004**2490, 0.7),  # epoch 250: saturated
        (10 * 400, 0.1 / 1.000004**4000, 0.7),
        (3_000_000, 1e-6, 0.7),  # 0.1 / 1.000004^t < 1e-6 after t = 2.88e6: the floor
    ],
)
def test_goodfellow_schedule_values(t, lr, momentum):
    """pylearn2 ExponentialDecay (lr0 / 1.000004^t, floor 1e-6) and MomentumAdjustor(start 1,
    saturate 250), whose count is 1 during the first epoch."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0, momentum=0.1)
    s = presets.GoodfellowSchedule([opt], steps_per_epoch=10)
    s.load_state_dict({"t": t})
    torch.testing.assert_close(opt.param_groups[0]["lr"], lr, rtol=1e-12, atol=0)
    torch.testing.assert_close(opt.param_groups[0]["momentum"], momentum, rtol=1e-12, atol=0)


@pytest.mark.skipif(not HAVE_MNIST, reason="real MNIST test files not present")
def test_preset_on_real_images_trains_simultaneously():
    from toygan.mnist.experiment import MnistConfig, build_trainer

    cfg = MnistConfig(
        preset="goodfellow2014", data_dir=str(REAL), split="test", limit=300, device="cpu",
        progress=False, download=False,
    )  # fmt: skip
    tr, per_epoch = build_trainer(cfg)
    assert per_epoch == 3 and tr.update == "simultaneous" and tr.batch_size == 100
    assert isinstance(tr.prior, presets.UniformNoise)
    bias = tr.G.net.layers[-1].bias.detach()
    torch.testing.assert_close(bias, presets.marginal_logits(tr.data.data).float())
    tr.train(2, progress=False)
    assert np.isfinite(tr.history.stats["d_loss"]).all()


def test_k_steps_with_simultaneous_preset_is_one_line(tmp_path, capsys):
    from oracles import usage_error

    from toygan.mnist.experiment import main

    args = ["--preset", "goodfellow2014", "--k-steps", "2", "--out", str(tmp_path / "r")]
    assert "--k-steps: goodfellow2014 updates D and G simultaneously" in usage_error(
        main, args, capsys
    )


@pytest.mark.parametrize(
    "change, fields",
    [
        ("alternating", {"update": "alternating"}),
        ("gaussian-noise", {"noise": "gaussian"}),
        ("full-d-loss", {"d_loss_scale": 1.0}),
        ("zero-output-bias", {"marginal_bias": False}),
        ("torch-init", {"init": "torch", "marginal_bias": False}),
    ],
)
def test_each_ablation_changes_exactly_what_its_name_says(change, fields):
    base, ablated = (
        presets.get_preset("goodfellow2014"),
        presets.get_preset(f"goodfellow2014:{change}"),
    )
    differ = {
        k: getattr(ablated, k)
        for k in base.__dataclass_fields__
        if k != "name" and getattr(ablated, k) != getattr(base, k)
    }
    assert differ == fields
    assert f"goodfellow2014:{change}" not in presets.PRESETS  # never a pretrained/hub name


def test_ablated_inits_build_what_they_say():
    images = torch.rand(50, 784, generator=torch.Generator().manual_seed(0))
    built = {}
    for name in ("goodfellow2014", "goodfellow2014:zero-output-bias", "goodfellow2014:torch-init"):
        torch.manual_seed(0)
        built[name] = presets.build_models(
            name, images=images, generator=torch.Generator().manual_seed(1)
        )
    out_bias = {k: G.net.layers[-1].bias for k, (G, _) in built.items()}
    torch.testing.assert_close(out_bias["goodfellow2014"], presets.marginal_logits(images).float())
    assert not out_bias["goodfellow2014:zero-output-bias"].any()
    w = {k: G.net.layers[0].weight for k, (G, _) in built.items()}
    torch.testing.assert_close(w["goodfellow2014"], w["goodfellow2014:zero-output-bias"])
    assert w["goodfellow2014"].abs().max() <= presets.G_IRANGE
    assert w["goodfellow2014:torch-init"].abs().max() > presets.G_IRANGE  # PyTorch's 1/sqrt(100)
