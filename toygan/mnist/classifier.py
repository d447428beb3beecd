"""A small MNIST classifier, trained once and cached, as the feature space of MNIST metrics.

Inception-network FID is meaningless on MNIST; toygan measures a Fréchet distance in the
penultimate layer of this MLP (784 -> 256 -> 128 -> 10, ReLU) and reads its predicted digits for
the mode-coverage histogram. It is trained with Adam (cosine-decayed learning rate, 12 epochs) on
labelled images (train[0:50000] for the paper's split: about 98% test accuracy) and cached under
``$TOYGAN_CACHE`` (default ``~/.cache/toygan``) with a key that is the md5 of the images, labels,
architecture and training settings: a different labelled set never reuses a stale classifier,
and an unreadable cache file is retrained. Loading uses ``torch.load(weights_only=True)`` only.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from toygan import io

FEATURE_DIM = 128
ARCHITECTURE = "mlp 784-256-128-10 relu"
TRAINING = {"epochs": 12, "batch_size": 128, "lr": 1e-3, "schedule": "cosine", "seed": 0}


def default_cache_dir() -> Path:
    return Path(os.environ.get("TOYGAN_CACHE") or Path.home() / ".cache" / "toygan")


class DigitClassifier(nn.Module):
    """Pixels (batch, 784) in [0, 1] -> digit logits (batch, 10); ``features`` (batch, 128)."""

    def __init__(self) -> None:
        super().__init__()
        self.h0, self.h1, self.out = (
            nn.Linear(784, 256),
            nn.Linear(256, FEATURE_DIM),
            nn.Linear(FEATURE_DIM, 10),
        )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.h1(F.relu(self.h0(x.flatten(1)))))  # (batch, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))  # (batch, 10) logits


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    epochs: int = TRAINING["epochs"],
    batch_size: int = TRAINING["batch_size"],
    lr: float = TRAINING["lr"],
    seed: int = TRAINING["seed"],
) -> DigitClassifier:
    """Train on images (N, 784) in [0, 1] and labels (N,) int64, both on the same device;
    Adam with a cosine-decayed learning rate."""
    torch.manual_seed(seed)
    model = DigitClassifier().to(images.device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * -(-len(images) // batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    rng = torch.Generator(images.device).manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(images), generator=rng, device=images.device)
        for idx in perm.split(batch_size):
            loss = F.cross_entropy(model(images[idx]), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


@torch.no_grad()
def predict(model: DigitClassifier, x: torch.Tensor, chunk: int = 2000):
    """(features (n, 128) float64 numpy, predicted digits (n,) int numpy) of x (n, 784)."""
    feats, preds = [], []
    for part in x.split(chunk):
        f = model.features(part)
        feats.append(f.double().cpu())
        preds.append(model.out(f).argmax(1).cpu())
    return torch.cat(feats).numpy(), torch.cat(preds).numpy()


def cached_classifier(
    name: str,
    images: torch.Tensor,
    labels: torch.Tensor,
    cache_dir: str | Path | None = None,
) -> tuple[DigitClassifier, Path]:
    """The classifier of ``images`` (N, 784) in [0, 1] and ``labels`` (N,), called ``name``
    (e.g. 'train[0:50000]'): loaded from the cache if a file of the same data key exists and
    reads back, else trained and saved."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    key = name.replace("[", "_").replace(":", "-").replace("]", "")
    path = cache / f"classifier_{key}_{data_key(images, labels)}.pt"
    model = DigitClassifier().to(images.device)
    if path.is_file():
        try:
            state = torch.load(path, map_location=images.device, weights_only=True)
            model.load_state_dict(state)
            return model.eval(), path
        except Exception:  # noqa: BLE001 (truncated, not torch.save, wrong keys): retrain
            pass
    model = train_classifier(images, labels)
    io.ensure_writable_dir(cache)
    io.save_torch(path, {k: v.cpu() for k, v in model.state_dict().items()})
    return model, path


def data_key(images: torch.Tensor, labels: torch.Tensor) -> str:
    """md5 (12 hex digits) of the images, labels, architecture and training settings."""
    h = hashlib.md5(usedforsecurity=False)
    h.update(images.detach().cpu().contiguous().numpy().tobytes())
    h.update(labels.detach().cpu().to(torch.int64).contiguous().numpy().tobytes())
    h.update(f"{ARCHITECTURE} {sorted(TRAINING.items())}".encode())
    return h.hexdigest()[:12]


def accuracy(model: DigitClassifier, images: torch.Tensor, labels: np.ndarray) -> float:
    return float((predict(model, images)[1] == np.asarray(labels)).mean())


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
