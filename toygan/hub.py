"""Pretrained MNIST generators: ``toygan.pretrained("goodfellow2014")`` or ``("modern")`` (hub).

The weights ship inside the package (``toygan/weights/<name>.safetensors``, package data of the
wheel), so a fresh clone or install loads them offline. safetensors holds tensors only (no
pickle, nothing runs on load); the file's metadata records where the weights come from (run,
epoch, validation Parzen log-likelihood). Weights are stored in float16 when that moves the
Parzen number by at most 0.5 nats (checked by ``export``'s caller) and loaded as float32.

``export(best_pt, name)`` writes such a file from a run's ``best.pt`` (``toygan.mnist_monitor``)
or ``checkpoint.pt``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from toygan import presets
from toygan.io import FileError
from toygan.mnist import OUTPUT_RANGES

WEIGHTS_DIR = Path(__file__).parent / "weights"


class PretrainedGenerator(nn.Module):
    """G of an MNIST preset with its noise prior: ``generate(n, seed)`` -> (n, 784) pixels.

    ``forward(z)`` maps noise (batch, noise_dim) to pixels (batch, 784) in [0, 1] (tanh outputs
    rescaled); ``metadata`` says where the weights come from.
    """

    def __init__(self, name: str, metadata: dict[str, str] | None = None) -> None:
        super().__init__()
        self.name, self.metadata = name, dict(metadata or {})
        G, _ = presets.build_models(name)
        self.G, self.prior = G, presets.build_prior(name)
        self.lo, self.hi = OUTPUT_RANGES[G.output]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.G(z)  # (batch, 784) in G's output range
        return ((x - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)  # (batch, 784) in [0, 1]

    @torch.no_grad()
    def generate(self, n: int, seed: int = 0) -> torch.Tensor:
        """``n`` samples (n, 784), float32 in [0, 1] on G's device, from a generator seeded
        with ``seed`` (the same seed gives the same images); reshape to (n, 28, 28) to view."""
        device = next(self.G.parameters()).device
        z = self.prior.sample(n, torch.Generator(device).manual_seed(seed))  # (n, noise_dim)
        was_training = self.training
        self.eval()
        out = torch.cat([self(part) for part in z.split(1000)]) if n else z.new_zeros(0, 784)
        self.train(was_training)
        return out.float()


def pretrained(name: str = "goodfellow2014", weights_dir: str | Path | None = None):
    """The pretrained generator of preset ``name`` (a ``PretrainedGenerator`` in eval mode, on
    CPU, float32), from ``weights_dir`` (default: the package's ``weights/``)."""
    presets.get_preset(name)  # ValueError naming the presets
    path = Path(weights_dir or WEIGHTS_DIR) / f"{name}.safetensors"
    if not path.is_file():
        raise FileError(path, f"no pretrained weights for {name!r} (not shipped yet)")
    try:
        tensors = load_file(path)
        with safe_open(path, "pt") as sf:  # the header's metadata
            metadata = sf.metadata() or {}
    except Exception as err:  # safetensors' own error type differs across versions
        raise FileError(path, f"not a readable safetensors file ({err})") from None
    model = PretrainedGenerator(name, metadata)
    try:
        model.G.load_state_dict({k: v.float() for k, v in tensors.items()})
    except RuntimeError as err:
        raise FileError(path, f"does not fit the {name} generator ({str(err)[:120]})") from None
    return model.eval()


def export(
    state: dict[str, torch.Tensor],
    name: str,
    out: str | Path | None = None,
    dtype: torch.dtype = torch.float16,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write G's ``state`` (a state_dict, e.g. ``torch.load(best.pt)["generator"]``) as
    ``<out>/<name>.safetensors`` in ``dtype``, with ``metadata`` (values as strings)."""
    path = Path(out or WEIGHTS_DIR) / f"{name}.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu", dtype).contiguous() for k, v in state.items()}
    meta = {"preset": name, "dtype": str(dtype).removeprefix("torch.")}
    meta |= {k: str(v) for k, v in (metadata or {}).items()}
    save_file(tensors, str(path), metadata=meta)
    return path
