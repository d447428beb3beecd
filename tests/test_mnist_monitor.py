"""Validation-Parzen monitoring: parzen.csv every N epochs, best.pt on improvement, resume."""

import csv
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from toygan.game import Game
from toygan.mnist import monitor
from toygan.mnist.parzen import SIGMAS, parzen_log_likelihood
from toygan.mnist.sampling import generate
from toygan.models import Generator, NoisePrior

REAL = Path(os.environ.get("TOYGAN_MNIST_DIR", Path(__file__).parents[1] / "../shared/data/mnist"))


def read_rows(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_monitor_rows_best_and_resume(tmp_path):
    torch.manual_seed(0)
    G = Generator(3, 784, 8, 1, "relu", "sigmoid")
    tr = SimpleNamespace(G=G, prior=NoisePrior(3), device=torch.device("cpu"), game=Game())
    tr.generate = G  # the trainer's generate(noise): G(z) in the unconditional game
    valid = torch.rand(20, 784, generator=torch.Generator().manual_seed(1))
    mon = monitor.ParzenMonitor(tmp_path, 2, 10, valid, "v", seed=5, n_samples=30)
    for step in range(0, 70, 10):  # epochs 0..6: evaluations at 2, 4, 6
        mon(tr, step)
        with torch.no_grad():  # better, then worse; G stays as evaluated at epoch 6
            G.net.layers[-1].bias.add_(0.5 if step < 30 else -3.0 if step < 60 else 0.0)
    rows = read_rows(tmp_path / "parzen.csv")
    assert [int(r["epoch"]) for r in rows] == [2, 4, 6]
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    lls = [float(r["valid_ll"]) for r in rows]
    assert best["epoch"] == 2 * (int(np.argmax(lls)) + 1) and best["valid_ll"] == max(lls)
    # the row's number is the protocol's: max over the sigma grid of the mean validation LL
    samples = generate(tr, 30, 5)
    torch.testing.assert_close(
        float(rows[-1]["valid_ll"]),
        parzen_log_likelihood(valid, samples, SIGMAS).mean(1).max().item(),
    )
    again = monitor.ParzenMonitor(tmp_path, 2, 10, valid, "v", seed=5, n_samples=30)
    again.resume(4)  # the checkpoint of epoch 4: the epoch-6 row is dropped and redone
    assert [r["epoch"] for r in again.rows] == [2, 4]
    again(tr, 60)
    assert [int(r["epoch"]) for r in read_rows(tmp_path / "parzen.csv")] == [2, 4, 6]


@pytest.mark.skipif(
    not (REAL / "t10k-images-idx3-ubyte.gz").exists(), reason="real MNIST test files not present"
)
def test_run_with_parzen_every_and_resume(tmp_path, monkeypatch):
    from toygan.mnist.experiment import main

    monkeypatch.setattr(monitor, "N_SAMPLES", 40)
    args = ["--data-dir", str(REAL), "--split", "test", "--limit", "32", "--device", "cpu"]
    args += ["--no-progress", "--no-download", "--n-samples", "10", "--grid", "2"]
    args += ["--parzen-every", "1", "--batch-size", "16", "--out", str(tmp_path / "r")]
    assert main([*args, "--epochs", "1"]) == 0
    assert main(["--resume", str(tmp_path / "r"), "--epochs", "2", "--no-progress"]) == 0
    rows = read_rows(tmp_path / "r" / "parzen.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert all(np.isfinite(float(r["valid_ll"])) for r in rows)
    assert torch.load(tmp_path / "r" / "best.pt", weights_only=True)["valid"] == "test[32:5016]"
