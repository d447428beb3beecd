"""Parzen-window log-likelihood, the protocol of Goodfellow et al. 2014 (goodfeli/adversarial
parzen_ll.py, after Breuleux et al. 2011), and the held-out MNIST images it is measured on.

A Gaussian kernel of width sigma on each of the generator's n samples mu_j:
log p(x) = logmeanexp_j(-||x - mu_j||^2 / (2 sigma^2)) - d log(sigma sqrt(2 pi)).
sigma is chosen from ``logspace(-1, 0, 10)`` by the mean log-likelihood of 1,000 validation images
(train[50000:51000]: ``MNIST('train', start=50000, stop=60000).X[:1000]``); the test number is
the mean over the 10,000 test images ± ``ll.std() / sqrt(m)`` (numpy's std: ddof 0). The
original batches the images (100 at a time) only to bound memory: the numbers do not depend on it.

Theis et al. 2016 show Parzen estimates can mislead; toygan reports it because it is the paper's
table, beside better metrics (``toygan.mnist.evaluate``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from toygan.mnist.data import MnistError, load_mnist

SIGMAS = np.logspace(-1, 0, 10)  # the paper's candidate kernel widths (pixels in [0, 1])
VALID_SLICE = (50_000, 1_000)  # train[50000:51000], parzen_ll.py's validation images


def sq_distances(x: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
    """||x_i - mu_j||^2, (m, n) from x (m, d) and mu (n, d), in their dtype."""
    d2 = (x * x).sum(1, keepdim=True) + (mu * mu).sum(1) - 2.0 * x @ mu.T  # (m, n)
    return d2.clamp_(min=0.0)


def parzen_log_likelihood(
    x: torch.Tensor,
    samples: torch.Tensor,
    sigmas: np.ndarray | list[float],
    batch: int = 256,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Per-image Parzen log-likelihood, (len(sigmas), m) in ``dtype``, on ``samples``' device.

    ``x`` (m, d) held-out images, ``samples`` (n, d) generator samples; distances are computed
    once per batch of images and reused for every sigma.
    """
    mu = samples.to(dtype)
    n, d = mu.shape
    s = torch.as_tensor(np.asarray(sigmas, dtype=np.float64), dtype=dtype, device=mu.device)
    out = []
    for part in x.to(mu.device, dtype).split(batch):
        d2 = sq_distances(part, mu)  # (b, n)
        logk = -d2.unsqueeze(0) / (2.0 * s[:, None, None] ** 2)  # (S, b, n)
        lme = torch.logsumexp(logk, dim=2) - math.log(n)  # (S, b)
        out.append(lme - d * torch.log(s * math.sqrt(2.0 * math.pi))[:, None])
    return torch.cat(out, dim=1)  # (S, m)


def choose_sigma(samples, valid, sigmas=SIGMAS, batch: int = 256) -> tuple[float, np.ndarray]:
    """(sigma of the highest mean validation log-likelihood, mean LL per sigma (S,))."""
    valid_ll = parzen_log_likelihood(valid, samples, sigmas, batch).mean(1).cpu().numpy()
    return float(np.asarray(sigmas)[int(np.argmax(valid_ll))]), valid_ll


def parzen_evaluate(samples, valid, test, sigmas=SIGMAS, batch: int = 256) -> dict[str, Any]:
    """Choose sigma on ``valid``, report the test log-likelihood (mean, standard error)."""
    sigma, valid_ll = choose_sigma(samples, valid, sigmas, batch)
    ll = parzen_log_likelihood(test, samples, [sigma], batch)[0].cpu().numpy()  # (m,)
    return {
        "sigma": sigma,
        "valid_ll_by_sigma": {
            f"{s:.4g}": round(float(v), 3) for s, v in zip(sigmas, valid_ll, strict=True)
        },
        "valid_ll": float(valid_ll.max()),
        "test_ll": float(ll.mean()),
        "test_ll_se": float(ll.std() / math.sqrt(len(ll))) if len(ll) > 1 else float("nan"),
    }


def held_out(cfg: Any, data_dir: str | None):
    """(valid images, valid name, test images, test labels, test name), uint8 arrays, of a run
    config (``split``, ``n_train``, ``download``).

    A run on the train split: train[50000:51000] and test[0:10000] (the paper's protocol). A run
    on test[0:N]: the disjoint test[N:], first half validation, second half test.
    """
    if cfg.split == "train":
        start, n_valid = VALID_SLICE
        valid = load_mnist("train", data_dir, n_valid, start=start, download_missing=cfg.download)
        test, labels = load_mnist("test", data_dir, labels=True, download_missing=cfg.download)
        return valid, f"train[{start}:{start + n_valid}]", test, labels, "test[0:10000]"
    n = cfg.n_train
    if n == 0 or n > 10_000 - 20:
        raise MnistError(f"the run trained on test[0:{n or 10000}]: no held-out test images left")
    held, labels = load_mnist(
        "test", data_dir, 0, start=n, labels=True, download_missing=cfg.download
    )
    half = len(held) // 2
    return (
        held[:half],
        f"test[{n}:{n + half}]",
        held[half:],
        labels[half:],
        f"test[{n + half}:10000]",
    )
