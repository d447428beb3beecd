"""Pretrained MNIST generators: ``toygan.pretrained("goodfellow2014")`` or ``("modern")`` (hub).

The weights ship inside the package (``toygan/mnist/weights/<name>.safetensors``, package data
of the wheel), so a fresh clone or install loads them offline. safetensors holds tensors only (no
pickle, nothing runs on load); the file's metadata records where the weights come from (run,
epoch, validation Parzen log-likelihood). Weights are stored in float16 when that moves the
Parzen number by at most 0.5 nats (checked by ``export``'s caller) and loaded as float32.

``export(best_pt, name)`` writes such a file from a run's ``best.pt`` (``toygan.mnist.monitor``)
or ``checkpoint.pt``; from the shell: ``python -m toygan.hub RUN_DIR [--dtype float16]`` (the
name is the run's preset).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from toygan import io
from toygan.cli import OneLineParser, UsageError, run_cli
from toygan.io import FileError
from toygan.mnist import presets
from toygan.mnist.data import OUTPUT_RANGES

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


def export_run(
    run_dir: str | Path, dtype: torch.dtype, out: str | Path | None = None, source: str = "best"
) -> Path:
    """Export G of ``run_dir`` as its preset's pretrained weights: ``source`` "best" (the
    ``best.pt`` of the validation Parzen, else the last checkpoint) or "last"
    (``checkpoint.pt``), with the run's seed, epoch and validation Parzen as metadata."""
    run_dir = Path(run_dir)
    cfg = io.read_json(run_dir / "config.json")
    if not isinstance(cfg, dict) or cfg.get("preset") not in presets.PRESETS:
        raise FileError(
            run_dir / "config.json", f"not a run of a preset ({sorted(presets.PRESETS)})"
        )
    path = run_dir / "best.pt"
    path = path if path.exists() and source == "best" else run_dir / "checkpoint.pt"
    state = io.load_checkpoint(path)
    generator = state.get("generator", (state.get("trainer") or {}).get("generator"))
    if not isinstance(generator, dict):  # best.pt: "generator"; checkpoint.pt: the trainer's
        raise FileError(path, "holds no generator weights")
    meta = {k: state[k] for k in ("epoch", "sigma", "valid_ll", "valid") if k in state}
    meta |= {"seed": cfg.get("seed"), "device": cfg.get("device"), "source": path.name}
    return export(generator, cfg["preset"], out, dtype, meta)


def main(argv: list[str] | None = None) -> int:
    """``python -m toygan.hub RUN_DIR [--dtype float16|float32] [--out DIR]``."""
    parser = OneLineParser(prog="toygan.hub", description="export a run's G as pretrained weights")
    parser.add_argument("run_dir", help="an MNIST run directory with best.pt or checkpoint.pt")
    parser.add_argument("--dtype", choices=["float16", "float32"], default="float16")
    parser.add_argument("--out", default="", help="folder ('': the package's weights/)")
    parser.add_argument(
        "--source",
        choices=["best", "last"],
        default="best",
        help="best.pt (best validation Parzen) or the last checkpoint.pt",
    )
    ns = parser.parse_args(sys.argv[1:] if argv is None else argv)

    def body() -> int:
        if not (Path(ns.run_dir) / "config.json").is_file():
            raise UsageError("run_dir", f"{ns.run_dir} has no config.json")
        path = export_run(ns.run_dir, getattr(torch, ns.dtype), ns.out or None, ns.source)
        print(f"saved {path}")
        return 0

    return run_cli("toygan.hub", body)


if __name__ == "__main__":
    raise SystemExit(main())
