"""Validation-Parzen monitoring: parzen.csv every N epochs, best.pt on improvement, resume."""

import csv
import json
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


def test_monitor_measures_an_intrinsic_dropout_g_both_ways(tmp_path):
    """mirza2014's G samples with its dropout (valid_ll, which picks best.pt) and is also
    measured without it (valid_ll_no_dropout); the flag is restored, the global RNG untouched."""
    from toygan.mnist import presets

    torch.manual_seed(0)
    G, _, game = presets.build_game("mirza2014", "cgan")
    tr = SimpleNamespace(G=G, prior=presets.build_prior("mirza2014", "cgan"), game=game)
    tr.device, tr.generate = torch.device("cpu"), lambda noise: game.generate(G, noise)
    valid = torch.rand(20, 784, generator=torch.Generator().manual_seed(1))
    mon = monitor.ParzenMonitor(tmp_path, 1, 10, valid, "v", seed=5, n_samples=30)
    state = torch.get_rng_state()
    mon(tr, 10)
    assert torch.equal(torch.get_rng_state(), state) and G.intrinsic_dropout
    (row,) = read_rows(tmp_path / "parzen.csv")
    on, off = float(row["valid_ll"]), float(row["valid_ll_no_dropout"])
    assert np.isfinite(on) and np.isfinite(off) and on != off
    G.intrinsic_dropout = False
    samples = generate(tr, 30, 5)
    expect = parzen_log_likelihood(valid, samples, SIGMAS).mean(1).max().item()
    torch.testing.assert_close(off, expect)


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
    best = torch.load(tmp_path / "r" / "best.pt", weights_only=True)
    assert best["valid"] == "test[32:5016]"


@pytest.mark.skipif(
    not (REAL / "t10k-images-idx3-ubyte.gz").exists(), reason="real MNIST test files not present"
)
def test_evaluate_best_measures_the_best_epochs_generator(tmp_path, monkeypatch):
    """``toygan.evaluate RUN --best``: samples of best.pt's G in RUN/best, the run untouched."""
    from toygan.mnist import evaluate
    from toygan.mnist.experiment import main
    from toygan.mnist.hub import PretrainedGenerator

    monkeypatch.setattr(monitor, "N_SAMPLES", 40)
    run = tmp_path / "r"
    args = ["--data-dir", str(REAL), "--split", "test", "--limit", "32", "--device", "cpu"]
    args += ["--no-progress", "--no-download", "--n-samples", "10", "--grid", "2", "--epochs", "3"]
    args += ["--model", "cgan", "--preset", "mirza2014", "--parzen-every", "1", "--out", str(run)]
    args += ["--batch-size", "8"]
    assert main(args) == 0
    own = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    best = torch.load(run / "best.pt", weights_only=True)
    cache = ["--cache-dir", str(tmp_path / "cache"), "--device", "cpu", "--n-samples", "30"]
    assert evaluate.main([str(run), "--best", "--seed", "4", *cache]) == 0
    assert own == {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    out = json.loads((run / "best" / "config.json").read_text())
    assert out["weights"]["epoch"] == str(best["epoch"]) and out["model"] == "cgan"
    G = PretrainedGenerator("b", kind=("cgan", "mirza2014"))
    G.G.load_state_dict(best["generator"])
    np.testing.assert_array_equal(
        np.load(run / "best" / "samples.npy"), G.eval().generate(30, 4).numpy()
    )
    np.testing.assert_array_equal(np.load(run / "best" / "sample_labels.npy"), np.arange(30) % 10)
    r = json.loads((run / "best" / "evaluation.json").read_text())
    assert r["counts"]["generated"] == 30 and 0.0 <= r["conditional_accuracy"] <= 1.0
    assert evaluate.main([str(run), "--best", *cache]) == 0  # its own directory: written again
    assert evaluate.main([str(run), "--best", "--sample-dropout", "off", *cache]) == 0
    off = json.loads((run / "best-dropout-off" / "config.json").read_text())["weights"]
    assert off["sample_dropout"] == "off" and out["weights"]["sample_dropout"] == "on"
    G.G.intrinsic_dropout = False
    np.testing.assert_array_equal(
        np.load(run / "best-dropout-off" / "samples.npy"), G.generate(30, 0).numpy()
    )
