"""The ``dcgan`` preset against InfoGAN's released MNIST networks (openai/InfoGAN), and the
engine's separate D passes that its batch-norm D needs: shapes, init, a float64 autograd oracle
of the D step, exact resume."""

import copy
import os
from pathlib import Path

import pytest
import torch
from torch import nn

from toygan.engine import GANTrainer
from toygan.mnist import presets
from toygan.mnist.experiment import main
from toygan.mnist.models import INIT_STD, LEAK, DCGANDiscriminator, DCGANGenerator, dcgan_init_
from toygan.objectives import get_objective

REAL = Path(os.environ.get("TOYGAN_MNIST_DIR", Path(__file__).parents[1] / "../shared/data/mnist"))


def test_networks_and_init_follow_the_infogan_code():
    G, D = DCGANGenerator(62), DCGANDiscriminator()
    dcgan_init_(G, D, generator=torch.Generator().manual_seed(0))
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride, c.padding) for c in convs] == [
        (64, (4, 4), (2, 2), (1, 1)),
        (128, (4, 4), (2, 2), (1, 1)),
    ]
    for c in convs:  # truncated at two standard deviations
        assert c.weight.abs().max() <= 2 * INIT_STD and 0.8 * INIT_STD < c.weight.std() < INIT_STD
        assert not c.bias.any()
    for m in (*G.modules(), *D.modules()):
        if isinstance(m, (nn.Linear, nn.ConvTranspose2d)) and m.weight.numel() > 10_000:
            assert abs(m.weight.std().item() - INIT_STD) < 0.002 and not m.bias.any()
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            assert abs(m.weight.mean().item() - 1.0) < 0.01 and m.momentum == 0.1 and m.eps == 1e-5
    leaks = {m.negative_slope for m in D.modules() if isinstance(m, nn.LeakyReLU)}
    assert leaks == {LEAK} == {0.01}
    z = torch.rand(6, 62) * 2 - 1
    x = G(z)
    assert x.shape == (6, 784) and 0 <= x.min() and x.max() <= 1 and D(x).shape == (6, 1)
    p = presets.get_preset("dcgan")
    assert (p.batch_size, p.noise_dim, p.lr, p.optimizer, p.d_passes) == (
        128,
        62,
        2e-4,
        "adam",
        "separate",
    )
    prior = presets.build_prior("dcgan")
    u = prior.sample(4000, torch.Generator().manual_seed(1))
    assert u.shape == (4000, 62) and -1 <= u.min() < -0.99 and 0.99 < u.max() <= 1


class Fixed:
    """Serves the same batch every time (the engine's ``Sampler`` protocol)."""

    def __init__(self, x):
        self.x = x

    def sample(self, n, generator=None):
        return self.x[:n]

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


@pytest.mark.parametrize("d_passes", ["joint", "separate"])
def test_d_step_gradient_matches_an_autograd_oracle_of_its_passes(d_passes):
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.LeakyReLU(0.01), nn.Linear(8, 1))
    G = nn.Sequential(nn.Linear(2, 3))
    D, G = D.double(), G.double()
    real = torch.randn(16, 3, dtype=torch.float64) + 2.0  # far from the fakes: BN batches differ
    z = torch.randn(16, 2, dtype=torch.float64)
    D0 = copy.deepcopy(D)
    opt = torch.optim.SGD(D.parameters(), lr=0.0)  # keeps D fixed: grads are what we compare
    trainer = GANTrainer(
        G, D, Fixed(z), Fixed(real), "nonsaturating", None, opt,
        rng=torch.Generator().manual_seed(0), batch_size=16, d_passes=d_passes,
    )  # fmt: skip
    trainer.d_step()
    with torch.no_grad():
        fake = G(z)
    if d_passes == "joint":
        logits = D0(torch.cat([real, fake]))
    else:
        logits = torch.cat([D0(real), D0(fake)])
    loss = get_objective("nonsaturating").discriminator_loss(logits[:16], logits[16:])
    expected = torch.autograd.grad(loss, list(D0.parameters()))
    for p, g in zip(D.parameters(), expected, strict=True):
        torch.testing.assert_close(p.grad, g, rtol=1e-5, atol=1e-7)  # losses in float32
    # the two modes are different games for a batch-norm D
    other = torch.cat([D0(real), D0(fake)]) if d_passes == "joint" else D0(torch.cat([real, fake]))
    assert not torch.allclose(logits, other)


def test_unknown_d_passes_is_refused():
    D, G = nn.Linear(1, 1), nn.Linear(1, 1)
    with pytest.raises(ValueError, match="d_passes must be one of"):
        GANTrainer(
            G, D, Fixed(torch.zeros(4, 1)), Fixed(torch.zeros(4, 1)), "nonsaturating", None,
            torch.optim.SGD(D.parameters(), lr=0.1), rng=torch.Generator(), d_passes="both",
        )  # fmt: skip


@pytest.mark.skipif(not (REAL / "t10k-images-idx3-ubyte.gz").exists(), reason="no MNIST files")
def test_dcgan_resumes_bit_identically(tmp_path):
    """Batch-norm running statistics, Adam state and the sampler all resume (CPU)."""
    base = ["--preset", "dcgan", "--data-dir", str(REAL), "--split", "test", "--limit", "48"]
    base += ["--batch-size", "16", "--device", "cpu", "--no-progress", "--no-download"]
    base += ["--n-samples", "20", "--grid", "2"]  # 3 steps per epoch
    full, part = tmp_path / "full", tmp_path / "part"
    assert main([*base, "--epochs", "2", "--out", str(full)]) == 0
    assert main([*base, "--epochs", "1", "--out", str(part)]) == 0
    assert main(["--resume", str(part), "--epochs", "2", "--no-progress"]) == 0
    a = torch.load(full / "checkpoint.pt", weights_only=True)["trainer"]
    b = torch.load(part / "checkpoint.pt", weights_only=True)["trainer"]
    assert a["step"] == b["step"] == 6
    for key in ("generator", "discriminator"):
        assert any("running_mean" in k for k in a[key])
        for name, value in a[key].items():
            torch.testing.assert_close(b[key][name], value, rtol=0, atol=0)
