"""Evaluation: Parzen estimator against a brute-force float64 loop, Fréchet distance, digit
statistics, and the evaluate CLI on a tiny run directory (held-out test images)."""

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from toygan import evaluate
from toygan.evaluate import SIGMAS, frechet_distance, parzen_evaluate, parzen_log_likelihood

REAL = Path(os.environ.get("TOYGAN_MNIST_DIR", Path(__file__).parents[1] / "../shared/data/mnist"))


def parzen_oracle(x: np.ndarray, mu: np.ndarray, sigma: float) -> np.ndarray:
    """log (1/n) sum_j N(x_i; mu_j, sigma^2 I), one image and one sample at a time, float64."""
    n, d = mu.shape
    out = []
    for xi in x:
        terms = [-sum((xi[k] - mj[k]) ** 2 for k in range(d)) / (2 * sigma**2) for mj in mu]
        top = max(terms)
        lme = top + math.log(sum(math.exp(t - top) for t in terms) / n)
        out.append(lme - d * math.log(sigma * math.sqrt(2 * math.pi)))
    return np.array(out)


@given(seed=st.integers(0, 2**31 - 1), m=st.integers(1, 6), n=st.integers(1, 9))
def test_parzen_matches_brute_force_oracle(seed, m, n):
    g = torch.Generator().manual_seed(seed)
    x, mu = torch.rand(m, 7, generator=g), torch.rand(n, 7, generator=g)
    sigmas = [0.1, 0.35, 1.0]
    got = parzen_log_likelihood(x, mu, sigmas, batch=4)  # (3, m) float64, batched over x
    for i, s in enumerate(sigmas):
        expected = torch.from_numpy(parzen_oracle(x.double().numpy(), mu.double().numpy(), s))
        torch.testing.assert_close(got[i], expected, rtol=1e-10, atol=1e-9)


def test_parzen_evaluate_picks_best_validation_sigma():
    g = torch.Generator().manual_seed(0)
    mu, valid, test = (torch.rand(k, 5, generator=g) for k in (12, 6, 8))
    r = parzen_evaluate(mu, valid, test)
    scores = [parzen_oracle(valid.double().numpy(), mu.double().numpy(), s).mean() for s in SIGMAS]
    assert r["sigma"] == pytest.approx(SIGMAS[int(np.argmax(scores))])
    ll = parzen_oracle(test.double().numpy(), mu.double().numpy(), r["sigma"])
    assert r["test_ll"] == pytest.approx(ll.mean(), rel=1e-10)
    assert r["test_ll_se"] == pytest.approx(ll.std(ddof=1) / math.sqrt(8), rel=1e-8)


def test_frechet_distance_known_values():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    # independent Gaussians, diagonal covariances: ||mu||^2 + sum (s_a - s_b)^2
    b = rng.normal(size=(4000, 3)) * np.array([1.0, 2.0, 3.0]) + np.array([1.0, 0.0, 2.0])
    sa, sb = np.sqrt(np.diag(np.cov(a, rowvar=False))), np.sqrt(np.diag(np.cov(b, rowvar=False)))
    mean_part = ((a.mean(0) - b.mean(0)) ** 2).sum()
    assert frechet_distance(a, b) == pytest.approx(mean_part + ((sa - sb) ** 2).sum(), rel=0.02)


def test_digit_stats():
    uniform = evaluate.digit_stats(np.arange(1000) % 10)
    assert uniform["kl_uniform"] == pytest.approx(0.0, abs=1e-12)
    assert uniform["digits_covered"] == 10
    collapsed = evaluate.digit_stats(np.full(50, 3))
    assert collapsed["kl_uniform"] == pytest.approx(math.log(10))
    assert collapsed["counts"][3] == 50 and collapsed["digits_covered"] == 1


@pytest.mark.skipif(not (REAL / "t10k-images-idx3-ubyte.gz").exists(), reason="no MNIST files")
def test_evaluate_cli_on_tiny_run(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    cfg = {"split": "test", "limit": 1000, "data_dir": str(REAL), "download": False}
    (run / "config.json").write_text(json.dumps(cfg))
    samples = np.random.default_rng(0).random((300, 784), dtype=np.float32)
    np.save(run / "samples.npy", samples)
    args = [str(run), "--device", "cpu", "--cache-dir", str(tmp_path / "cache")]
    assert evaluate.main(args) == 0
    out = capsys.readouterr().out
    assert "test[5500:10000] (4500 images, 300 samples" in out and "held-out" in out
    r = json.loads((run / "evaluation.json").read_text())
    assert r["splits"] == {
        "train": "test[0:1000]",
        "valid": "test[1000:5500]",
        "test": "test[5500:10000]",
    }
    assert r["counts"] == {"generated": 300, "valid": 4500, "test": 4500}
    assert r["classifier"]["test_accuracy"] > 0.8  # a real classifier, trained once
    assert r["fd"]["generated_vs_test"] > 10 * r["fd"]["train_vs_test"]  # noise is far from digits
    assert len(list((tmp_path / "cache").glob("classifier_*.pt"))) == 1
    assert evaluate.main(args) == 0  # second time: the cached classifier
    assert evaluate.main([str(tmp_path / "nope")]) == 2
    assert "has no samples.npy" in capsys.readouterr().err
