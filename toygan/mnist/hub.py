"""Pretrained MNIST generators: ``toygan.pretrained(NAME)`` for NAME in ``PRETRAINED`` (hub).

``goodfellow2014`` and ``modern`` are unconditional GANs; ``cgan`` (preset ``dcgan``) and
``mirza2014`` (the CGAN paper's MLPs) draw the digits asked for, ``infogan`` (``chen2016``) the
c_1 values asked for, ``bigan`` (``donahue2016``) also ships its encoder (``encode(x)``).

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
from toygan.mnist.sampling import in_chunks, sample_noise, seeded

WEIGHTS_DIR = Path(__file__).parent / "weights"
# name -> (model, preset): the unconditional presets by name, the other models by theirs
PRETRAINED = {
    "goodfellow2014": ("gan", "goodfellow2014"),
    "modern": ("gan", "modern"),
    "dcgan": ("gan", "dcgan"),
    "cgan": ("cgan", "dcgan"),  # the CGAN that reaches the 97% goal (README, "CGAN")
    "mirza2014": ("cgan", "mirza2014"),  # CGAN's own MLPs, G sampled with its dropout
    "infogan": ("infogan", "chen2016"),
    "bigan": ("bigan", "donahue2016"),
}
ENCODER_PREFIX = "encoder."  # BiGAN: E's tensors in the same file
RUN_META = ("epoch", "sigma", "valid_ll", "valid")  # what best.pt says of its G (monitor)


def weights_name(model: str, preset: str) -> str:
    """The pretrained name of a run of ``model`` with ``preset`` (ValueError if none)."""
    for name, pair in PRETRAINED.items():
        if pair == (model, preset):
            return name
    raise ValueError(f"--model {model} --preset {preset} has no pretrained name; those with one: "
                     f"{', '.join(f'{m} {p}' for m, p in PRETRAINED.values())}")  # fmt: skip


class PretrainedGenerator(nn.Module):
    """G of an MNIST model with its prior: ``generate(n, seed)`` -> (n, 784) pixels; ``name``
    one of ``PRETRAINED``, or any name with ``kind`` = (model, preset), e.g. a run's best.pt.

    ``forward(noise)`` maps a noise batch of the model's prior to pixels (batch, 784) in [0, 1]
    (tanh outputs rescaled); ``metadata`` says where the weights come from. CGAN / InfoGAN:
    ``generate(n, seed, labels)`` draws the digits / c_1 values asked for (default 0, 1, ..., 9,
    0, ...). BiGAN: ``encode(x)`` is E, x (batch, 784) in [0, 1] -> (batch, 50).
    """

    def __init__(
        self,
        name: str,
        metadata: dict[str, str] | None = None,
        kind: tuple[str, str] | None = None,
    ) -> None:
        super().__init__()
        if kind is None and name not in PRETRAINED:
            raise ValueError(f"unknown pretrained model {name!r}; choose from {list(PRETRAINED)}")
        self.name, self.metadata = name, dict(metadata or {})
        self.model, preset = kind or PRETRAINED[name]  # kind: (model, preset) of any run
        G, _, game = presets.build_game(preset, self.model)
        self.G, self.game, self.prior = G, game, presets.build_prior(preset, self.model)
        self.E = game.networks.get("encoder")
        self.lo, self.hi = OUTPUT_RANGES[G.output]

    def load(self, tensors: Any, path: Path) -> PretrainedGenerator:
        """Load G's tensors (and E's, under ``encoder.``) as float32 from those read from
        ``path``; ``FileError`` (one line) naming ``path`` if they are not G's."""
        if not isinstance(tensors, dict):
            raise FileError(path, "holds no generator weights")
        tensors = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
        g = {k: v for k, v in tensors.items() if not k.startswith(ENCODER_PREFIX)}
        e = {k[len(ENCODER_PREFIX) :]: v for k, v in tensors.items() if k not in g}
        try:
            self.G.load_state_dict(g)
            if self.E is not None:
                self.E.load_state_dict(e)
            elif e:
                raise RuntimeError(f"unexpected encoder tensors {sorted(e)[:2]}")
        except RuntimeError as err:
            why = " ".join(str(err).split())[:160]  # one line
            raise FileError(
                path, f"holds no {self.name} generator (the file does not fit it: {why})"
            ) from None
        return self

    def forward(self, noise) -> torch.Tensor:
        x = self.game.generate(self.G, noise)  # (batch, 784) in G's output range
        return ((x - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)  # (batch, 784) in [0, 1]

    @torch.no_grad()
    def grid(self, seed: int = 0, n: int = 10) -> torch.Tensor:
        """An n x n grid (n * n, 784): CGAN / InfoGAN row r asks for digit / c_1 value r % 10,
        column c uses noise vector c in every row; unconditional: n * n samples."""
        if self.model not in ("cgan", "infogan"):
            return self.generate(n * n, seed)
        rng = torch.Generator(next(self.G.parameters()).device).manual_seed(seed)
        self.eval()
        with seeded(seed, rng.device):
            return self(sample_noise(self.prior, self.game, n * n, rng, per_row=n)).float()

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """BiGAN's E(x): images (n, 784) in [0, 1] -> latents (n, 50), in eval mode."""
        if self.E is None:
            raise ValueError(f"{self.name} has no encoder (only bigan has)")
        self.E.eval()
        return torch.cat([self.E(part) for part in x.float().split(1000)])

    @torch.no_grad()
    def generate(self, n: int, seed: int = 0, labels=None) -> torch.Tensor:
        """``n`` samples (n, 784), float32 in [0, 1] on G's device, from a generator seeded
        with ``seed`` (the same seed gives the same images); reshape to (n, 28, 28) to view.
        ``labels`` (n,): the digits (CGAN) or c_1 values (InfoGAN) asked for."""
        device = next(self.G.parameters()).device
        rng = torch.Generator(device).manual_seed(seed)
        if labels is None and self.model in ("cgan", "infogan"):
            labels = torch.arange(n, device=device) % presets.N_CLASSES
        if self.model == "cgan":
            noise = self.prior.sample(n, rng, labels=labels)  # (z (n, 100), y (n,))
        elif self.model == "infogan":
            noise = self.prior.sample(n, rng, categories=labels)  # (n, 74)
        elif labels is not None:
            raise ValueError(f"{self.name} is unconditional: it takes no labels")
        else:
            noise = self.prior.sample(n, rng)  # (n, noise_dim)
        was_training = self.training
        self.eval()
        with seeded(seed, device):  # G's intrinsic dropout, if any: masks from seed too
            out = in_chunks(self, noise, 1000).float() if n else torch.zeros(0, 784)
        self.train(was_training)
        return out


def pretrained(name: str = "goodfellow2014", weights_dir: str | Path | None = None):
    """The pretrained generator ``name`` (``PRETRAINED``; a ``PretrainedGenerator`` in eval
    mode, on CPU, float32), from ``weights_dir`` (default: the package's ``weights/``)."""
    if name not in PRETRAINED:
        raise ValueError(f"unknown pretrained model {name!r}; choose from {list(PRETRAINED)}")
    path = Path(weights_dir or WEIGHTS_DIR) / f"{name}.safetensors"
    if not path.is_file():
        raise FileError(path, f"no pretrained weights for {name!r} (not shipped yet)")
    try:
        tensors = load_file(path)
        with safe_open(path, "pt") as sf:  # the header's metadata
            metadata = sf.metadata() or {}
    except Exception as err:  # safetensors' own error type differs across versions
        raise FileError(path, f"not a readable safetensors file ({err})") from None
    return PretrainedGenerator(name, metadata).load(tensors, path).eval()


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
    tensors = {  # floats in dtype; integer buffers (batch norm's counts) as they are
        k: v.detach().to("cpu", dtype if v.is_floating_point() else v.dtype).contiguous()
        for k, v in state.items()
    }
    meta = {"preset": name, "dtype": str(dtype).removeprefix("torch.")}
    meta |= {k: str(v) for k, v in (metadata or {}).items()}
    save_file(tensors, str(path), metadata=meta)
    return path


def export_run(
    run_dir: str | Path, dtype: torch.dtype, out: str | Path | None = None, source: str = "best"
) -> Path:
    """Export G (and BiGAN's E) of ``run_dir`` as its pretrained weights (``weights_name``):
    ``source`` "best" (the ``best.pt`` of the validation Parzen, else the last checkpoint) or
    "last" (``checkpoint.pt``), with the run's seed, epoch and validation Parzen as metadata."""
    run_dir = Path(run_dir)
    cfg = io.read_json(run_dir / "config.json")
    if not isinstance(cfg, dict) or cfg.get("preset") not in presets.PRESETS:
        raise FileError(
            run_dir / "config.json", f"not a run of a preset ({sorted(presets.PRESETS)})"
        )
    model = cfg.get("model", "gan")
    try:
        name = weights_name(model, cfg["preset"])
    except ValueError as err:
        raise FileError(run_dir / "config.json", str(err)) from None
    path = run_dir / "best.pt"
    path = (
        path
        if path.exists() and source == "best" and model != "bigan"
        else path.with_name("checkpoint.pt")
    )  # BiGAN: G and E of one step (best.pt holds G only)
    state = io.load_checkpoint(path)
    trainer = state.get("trainer") or {}
    generator = state.get("generator", trainer.get("generator"))
    if not isinstance(generator, dict):  # best.pt: "generator"; checkpoint.pt: the trainer's
        raise FileError(path, "holds no generator weights")
    tensors = dict(generator)
    if model == "bigan":
        if not isinstance(trainer.get("encoder"), dict):
            raise FileError(path, "holds no encoder weights")
        tensors |= {ENCODER_PREFIX + k: v for k, v in trainer["encoder"].items()}
    meta = {k: state[k] for k in RUN_META if k in state}
    meta |= {"seed": cfg.get("seed"), "device": cfg.get("device"), "source": path.name}
    meta |= {"model": model, "run_preset": cfg["preset"]}
    return export(tensors, name, out, dtype, meta)


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
