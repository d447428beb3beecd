"""Evaluation: Parzen estimator against a brute-force float64 loop, Fréchet distance, digit
statistics, and the evaluate CLI on a tiny run directory (held-out test images)."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from oracles import usage_error

from toygan.mnist import classifier as clf
from toygan.mnist import evaluate
from toygan.mnist.evaluate import SIGMAS, frechet_distance, parzen_evaluate, parzen_log_likelihood

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
    # parzen_ll.py: se = ll.std() / sqrt(m), numpy's std (ddof 0)
    assert r["test_ll_se"] == pytest.approx(ll.std() / math.sqrt(8), rel=1e-8)


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
    cfg = {"dataset": "mnist", "split": "test", "limit": 1000, "data_dir": str(REAL)}
    cfg["download"] = False
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
    for key in ("parzen_ll", "parzen_se", "parzen_sigma", "frechet_distance", "digit_kl"):
        assert np.isfinite(r[key])
    assert r["frechet_distance_real"] < r["frechet_distance"] and r["digits_covered"] >= 0
    assert r["parzen_ll_real"] > r["parzen_ll"] + 100  # real images as samples: the ceiling
    assert r["parzen"]["real"]["about"].startswith("the same protocol with the first 300 of")
    nn = r["nearest_train"]  # uniform noise is far from every digit, test images are not
    assert nn["median_sample"] > 2 * nn["median_test"] and nn["share_closer_than_test_p1"] == 0
    assert r["classifier"]["test_accuracy"] > 0.8  # a real classifier, trained once
    assert r["fd"]["generated_vs_test"] > 10 * r["fd"]["train_vs_test"]  # noise is far from digits
    assert len(list((tmp_path / "cache").glob("classifier_*.pt"))) == 1
    assert evaluate.main(args) == 0  # second time: the cached classifier
    assert evaluate.main([str(tmp_path / "nope")]) == 2
    assert "run_dir: " in capsys.readouterr().err  # a missing directory names the argument
    (tmp_path / "empty").mkdir()
    assert evaluate.main([str(tmp_path / "empty")]) == 2
    assert "has no samples.npy" in capsys.readouterr().err


def test_nearest_distances_match_brute_force():
    g = torch.Generator().manual_seed(0)
    x, ref = torch.rand(7, 5, generator=g), torch.rand(11, 5, generator=g)
    brute = torch.cdist(x.double(), ref.double()).min(1).values.numpy()
    np.testing.assert_allclose(evaluate.nearest_distances(x, ref, chunk=3), brute, rtol=1e-12)


def _run_dir(tmp_path, cfg=None, samples=None):
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    cfg = cfg if cfg is not None else {"dataset": "mnist", "split": "test", "limit": 1000}
    (run / "config.json").write_text(cfg if isinstance(cfg, str) else json.dumps(cfg))
    if isinstance(samples, bytes):
        (run / "samples.npy").write_bytes(samples)
    else:
        np.save(
            run / "samples.npy", np.full((5, 784), 0.5, np.float32) if samples is None else samples
        )
    return run


@pytest.mark.parametrize(
    ("cfg", "samples", "message"),
    [
        ("{not json", None, "config.json: not valid JSON"),
        ({"objective": "saturating", "steps": 10}, None, "config.json: not an MNIST run"),
        (None, b"garbage, not an array", "samples.npy: not a readable .npy array"),
        (None, np.full((5, 784), np.nan, np.float32), "samples.npy: holds NaN"),
        (None, np.zeros((5, 28, 28), np.float32), "samples.npy: expected float samples"),
        (None, np.full((5, 784), 3.0, np.float32), "samples.npy: pixels must be in [0, 1]"),
    ],
)
def test_bad_run_files_are_one_line_naming_the_file(tmp_path, capsys, cfg, samples, message):
    run = _run_dir(tmp_path, cfg, samples)
    assert message in usage_error(evaluate.main, [str(run), "--device", "cpu"], capsys)


def test_cache_dir_that_is_a_file_names_the_flag(tmp_path, capsys):
    run, cache = _run_dir(tmp_path), tmp_path / "cache"
    cache.write_text("x")
    args = [str(run), "--cache-dir", str(cache)]
    assert "--cache-dir: " in usage_error(evaluate.main, args, capsys)


def test_corrupt_classifier_cache_is_retrained(tmp_path):
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(64, 784, generator=g), torch.randint(0, 10, (64,), generator=g)
    model, path = clf.cached_classifier("toy", x, y, tmp_path)
    path.write_bytes(b"truncated")
    again, path2 = clf.cached_classifier("toy", x, y, tmp_path)
    assert path2 == path
    torch.testing.assert_close(again.state_dict(), model.state_dict())  # same seed, retrained
    assert torch.load(path, weights_only=True).keys() == model.state_dict().keys()
    other, path3 = clf.cached_classifier("toy", x, (y + 1) % 10, tmp_path)  # other labels
    assert path3 != path


def test_python_m_evaluate_has_no_runpy_warning(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-m", "toygan.evaluate", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "RuntimeWarning" not in proc.stderr


@pytest.mark.skipif(
    not (REAL / "train-images-idx3-ubyte.gz").exists(), reason="no MNIST training files"
)
def test_evaluate_uses_the_papers_splits_for_a_train_run(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    cfg = {"dataset": "mnist", "split": "train", "limit": 300, "data_dir": str(REAL)}
    (run / "config.json").write_text(json.dumps(cfg | {"download": False}))
    np.save(run / "samples.npy", np.random.default_rng(1).random((200, 784), dtype=np.float32))
    args = [str(run), "--device", "cpu", "--cache-dir", str(tmp_path / "cache")]
    assert evaluate.main(args) == 0
    r = json.loads((run / "evaluation.json").read_text())
    assert r["note"] == "paper protocol"
    assert r["splits"] == {
        "train": "train[0:300]",
        "valid": "train[50000:51000]",
        "test": "test[0:10000]",
    }
    assert r["counts"] == {"generated": 200, "valid": 1000, "test": 10000}
    assert r["parzen_ll_real"] > r["parzen_ll"] + 100  # 200 real training images vs noise
