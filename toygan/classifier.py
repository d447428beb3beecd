"""A small MNIST classifier, trained once and cached, as the feature space of MNIST metrics.

Inception-network FID is meaningless on MNIST; toygan measures a Fréchet distance in the
penultimate layer of this MLP (784 -> 256 -> 128 -> 10, ReLU) and reads its predicted digits for
the mode-coverage histogram. It is trained with Adam on labelled images of a named split and
cached under ``$TOYGAN_CACHE`` (default ``~/.cache/toygan``) by that name, so every evaluation of
runs on the same data uses the same classifier.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from toygan import io

FEATURE_DIM = 128


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
    epochs: int = 5,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
) -> DigitClassifier:
    """Train on images (N, 784) in [0, 1] and labels (N,) int64, both on the same device."""
    torch.manual_seed(seed)
    model = DigitClassifier().to(images.device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    rng = torch.Generator(images.device).manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(images), generator=rng, device=images.device)
        for idx in perm.split(batch_size):
            loss = F.cross_entropy(model(images[idx]), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
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
    """The classifier trained on the data called ``name`` (e.g. 'test[0:9000]'), trained and
    saved on first use. ``images`` (N, 784) in [0, 1], ``labels`` (N,)."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    key = name.replace("[", "_").replace(":", "-").replace("]", "")
    path = cache / f"classifier_{key}.pt"
    model = DigitClassifier().to(images.device)
    if path.exists():
        state = torch.load(path, map_location=images.device, weights_only=True)
        model.load_state_dict(state)
        return model.eval(), path
    model = train_classifier(images, labels)
    io.ensure_writable_dir(cache)
    io.save_torch(path, {k: v.cpu() for k, v in model.state_dict().items()})
    return model, path


def accuracy(model: DigitClassifier, images: torch.Tensor, labels: np.ndarray) -> float:
    return float((predict(model, images)[1] == np.asarray(labels)).mean())
