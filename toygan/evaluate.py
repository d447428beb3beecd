"""Evaluate an MNIST run: Parzen log-likelihood, classifier Fréchet distance, digit histogram.

Parzen protocol of Goodfellow et al. 2014 (parzen_ll.py): a Gaussian kernel of width sigma on each
of the generator's samples mu_j, log p(x) = logmeanexp_j(-||x - mu_j||^2 / (2 sigma^2))
- d log(sigma sqrt(2 pi)); sigma is chosen from logspace(-1, 0, 10) by the mean log-likelihood of
validation images, and the test log-likelihood is reported as mean ± standard error. Theis et
al. 2016 show Parzen estimates can mislead: it is here because it is the paper's table, beside
the Fréchet distance in a small MNIST classifier's feature space and the predicted-digit
histogram (mode coverage, KL to uniform). Every number names its split and sample counts.

Held-out images: a run on the train split uses train[50000:51000] for validation and the 10,000
test images as test (the paper's protocol). A run on test[0:N] uses the disjoint test[N:],
first half validation, second half test, and says so.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from toygan import classifier as clf
from toygan import io
from toygan.cli import OneLineParser, UsageError, add_dataclass_arguments, run_cli
from toygan.engine import resolve_device
from toygan.mnist import MnistError, load_mnist, to_pixels
from toygan.mnist_run import MnistConfig

SIGMAS = np.logspace(-1, 0, 10)  # the paper's candidate kernel widths (pixels in [0, 1])


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


def parzen_evaluate(samples, valid, test, sigmas=SIGMAS, batch: int = 256) -> dict[str, Any]:
    """Choose sigma on ``valid``, report the test log-likelihood (mean, standard error)."""
    valid_ll = parzen_log_likelihood(valid, samples, sigmas, batch).mean(1).cpu().numpy()  # (S,)
    best = int(np.argmax(valid_ll))
    sigma = float(np.asarray(sigmas)[best])
    ll = parzen_log_likelihood(test, samples, [sigma], batch)[0].cpu().numpy()  # (m,)
    return {
        "sigma": sigma,
        "valid_ll_by_sigma": {
            f"{s:.4g}": round(float(v), 3) for s, v in zip(sigmas, valid_ll, strict=True)
        },
        "test_ll": float(ll.mean()),
        "test_ll_se": float(ll.std(ddof=1) / math.sqrt(len(ll))) if len(ll) > 1 else float("nan"),
    }


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2) of features (n, f)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(s_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # S_a^1/2, symmetric
    cross = np.linalg.eigvalsh(root_a @ s_b @ root_a)
    tr_sqrt = np.sqrt(np.clip(cross, 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2.0 * tr_sqrt)


def digit_stats(preds: np.ndarray, min_fraction: float = 0.025) -> dict[str, Any]:
    """Counts of predicted digits, KL(p || uniform) in nats, digits with >= min_fraction."""
    counts = np.bincount(np.asarray(preds), minlength=10)[:10]
    p = counts / counts.sum()
    nz = p > 0
    return {
        "counts": counts.tolist(),
        "kl_uniform": float((p[nz] * np.log(p[nz] * 10)).sum()),
        "digits_covered": int((p >= min_fraction).sum()),
    }


def held_out(cfg: MnistConfig, data_dir: str | None):
    """(valid images, valid name, test images, test labels, test name), uint8 arrays."""
    if cfg.split == "train":
        valid = load_mnist("train", data_dir, 1000, start=50_000, download_missing=cfg.download)
        test, labels = load_mnist("test", data_dir, labels=True, download_missing=cfg.download)
        return valid, "train[50000:51000]", test, labels, "test[0:10000]"
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


def evaluate_run(
    run_dir: str | Path,
    data_dir: str | None = None,
    device: str = "auto",
    cache_dir: str | None = None,
) -> dict[str, Any]:
    """Evaluate ``run_dir`` (samples.npy, config.json); writes and returns evaluation.json."""
    run_dir = Path(run_dir)
    cfg = MnistConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    data_dir = data_dir or cfg.data_dir or None
    dev = resolve_device(device)
    samples = torch.from_numpy(np.load(run_dir / "samples.npy")).to(dev)  # (n, 784) in [0, 1]
    valid8, valid_name, test8, test_labels, test_name = held_out(cfg, data_dir)
    valid, test = to_pixels(valid8, (0.0, 1.0), dev), to_pixels(test8, (0.0, 1.0), dev)
    n, counts = len(samples), {"generated": len(samples), "valid": len(valid), "test": len(test)}
    note = (
        "paper protocol"
        if cfg.split == "train"
        else "only the test split is available: held-out test images disjoint from training"
    )
    parzen = parzen_evaluate(samples, valid, test)
    # classifier: trained on the GAN's own training images (labelled), scored on held-out ones
    train8, train_labels = load_mnist(cfg.split, data_dir, cfg.n_train, labels=True)
    train_name = f"{cfg.split}[0:{len(train8)}]"
    train_x = to_pixels(train8, (0.0, 1.0), dev)
    model, path = clf.cached_classifier(
        train_name, train_x, torch.from_numpy(train_labels.astype(np.int64)).to(dev), cache_dir
    )
    f_fake, p_fake = clf.predict(model, samples)
    f_test, p_test = clf.predict(model, test)
    n_ref = min(len(train_x), len(test))  # real-vs-real reference with equal counts
    f_train, _ = clf.predict(model, train_x[:n_ref])
    f_ref, _ = clf.predict(model, test[:n_ref])
    fake_digits, real_digits = digit_stats(p_fake), digit_stats(p_test)
    result = {
        "run": str(run_dir),
        "note": note,
        "splits": {"train": train_name, "valid": valid_name, "test": test_name},
        "counts": counts,
        "parzen": {
            **parzen,
            "protocol": f"sigma chosen on {valid_name} ({len(valid)} images) "
            f"from logspace(-1, 0, 10); LL mean ± s.e. over {test_name} ({len(test)} "
            f"images) with {n} generator samples",
        },
        "classifier": {
            "path": str(path),
            "trained_on": train_name,
            "test_accuracy": round(float((p_test == test_labels).mean()), 4),
            "accuracy_on": f"{test_name} ({len(test)} images)",
        },
        "fd": {
            "generated_vs_test": frechet_distance(f_fake, f_test),
            "train_vs_test": frechet_distance(f_train, f_ref),
            "about": f"Fréchet distance in the classifier's {clf.FEATURE_DIM}-d features: {n} "
            f"generated vs {test_name} ({len(test)}); reference: first {n_ref} of {train_name} "
            f"vs first {n_ref} of {test_name}",
        },
        "digits": {
            "generated_counts": fake_digits["counts"],
            "real_counts": real_digits["counts"],
            "kl_uniform": fake_digits["kl_uniform"],
            "real_kl_uniform": real_digits["kl_uniform"],
            "digits_covered": fake_digits["digits_covered"],
            "about": f"classifier's predicted digit of {n} generated samples and of {test_name}; "
            "covered: >= 2.5% of samples; KL(p || uniform) in nats",
        },
    }
    io.write_json(run_dir / "evaluation.json", result)
    return result


def format_report(r: dict[str, Any]) -> str:
    p, c, d = r["parzen"], r["counts"], r["digits"]
    return "\n".join(
        [
            f"note: {r['note']}",
            f"Parzen log-likelihood on {r['splits']['test']} ({c['test']} images, "
            f"{c['generated']} samples, sigma={p['sigma']:.3f} chosen on {r['splits']['valid']} "
            f"({c['valid']})): {p['test_ll']:.1f} ± {p['test_ll_se']:.1f}",
            f"classifier FD ({c['generated']} generated vs {r['splits']['test']} ({c['test']})): "
            f"{r['fd']['generated_vs_test']:.2f} (real vs real reference: "
            f"{r['fd']['train_vs_test']:.2f}, {r['fd']['about'].split('reference: ')[1]})",
            f"classifier accuracy on {r['classifier']['accuracy_on']}: "
            f"{r['classifier']['test_accuracy']:.3f} (trained on {r['classifier']['trained_on']})",
            f"digits of {c['generated']} samples: {d['generated_counts']}, KL to uniform "
            f"{d['kl_uniform']:.3f} nats (held-out real: {d['real_kl_uniform']:.3f}), "
            f"{d['digits_covered']}/10 covered",
        ]
    )


@dataclass
class EvalConfig:
    """Options of ``python -m toygan.evaluate RUN_DIR``."""

    data_dir: str = ""  # folder of the IDX files ('': the run's own --data-dir)
    device: str = "auto"  # auto | cpu | cuda
    cache_dir: str = ""  # where the classifier is cached ('': $TOYGAN_CACHE or ~/.cache/toygan)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="toygan.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="a finished MNIST run directory")
    add_dataclass_arguments(parser, EvalConfig, choices={"device": ["auto", "cpu", "cuda"]})
    ns = parser.parse_args(sys.argv[1:] if argv is None else argv)

    def body() -> int:
        run = Path(ns.run_dir)
        if not (run / "samples.npy").exists() or not (run / "config.json").exists():
            raise UsageError("run_dir", f"{run} has no samples.npy and config.json")
        try:
            r = evaluate_run(run, ns.data_dir or None, ns.device, ns.cache_dir or None)
        except MnistError as err:
            raise UsageError("--data-dir", str(err)) from None
        except ValueError as err:
            raise UsageError("--device", str(err)) from None
        print(format_report(r))
        print(f"saved {run / 'evaluation.json'}")
        return 0

    return run_cli("toygan.evaluate", body)


if __name__ == "__main__":
    raise SystemExit(main())
