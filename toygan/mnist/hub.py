"""Pretrained MNIST generators: ``toygan.pretrained(NAME)`` for NAME in ``PRETRAINED`` (hub).

``goodfellow2014`` and ``modern`` are unconditional GANs; ``cgan`` (preset ``dcgan``) and
``mirza2014`` (the CGAN paper's MLPs) draw the digits asked for, ``infogan`` (``chen2016``) the
c_1 values asked for, ``bigan`` (``donahue2016``) also ships its encoder (``encode(x)``).

The weights ship inside the package (``toygan/mnist/weights/<name>.safetensors``, package data
of the wheel), so a fresh clone or install loads them offline. safetensors holds tensors only (no
pickle, nothing runs on load); the file's metadata records where the weights come from (run,
epoch, validation Parzen log-likelihood). Weights are stored in float16 when that moves the
Parzen number by at most 0.5 nats (checked by ``export``'s caller) and loaded as float32.

``export(state, name, out)`` writes such a file from a run's ``best.pt`` (``toygan.mnist.monitor``)
or ``checkpoint.pt``; from the shell: ``python -m toygan.hub RUN_DIR [--source best|last]
[--dtype float16]`` (the name is the run's preset), into ``RUN_DIR/weights/`` unless ``--out``
says otherwise. An existing file is never replaced without ``--force``, so the shipped weights
are replaced only on purpose (``--out toygan/mnist/weights --force``).
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
from toygan.cli import OneLineParser, UsageError, check_path, run_cli, writable_dir
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
    "cgan": ("cgan", "dcgan"),  # the CGAN that reaches the 97% goal (docs/family.md, "CGAN")
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
    out: str | Path,
    dtype: torch.dtype = torch.float16,
    metadata: dict[str, Any] | None = None,
    force: bool = False,
) -> Path:
    """Write G's ``state`` (a state_dict, e.g. ``torch.load(best.pt)["generator"]``) as
    ``<out>/<name>.safetensors`` in ``dtype``, with ``metadata`` (values as strings), atomically.

    An existing file there (a shipped one included, when ``out`` is the package's ``weights/``)
    is replaced only with ``force``: ``FileExistsError`` otherwise, before anything is written.
    """
    path = Path(out) / f"{name}.safetensors"
    if path.exists() and not force:
        raise FileExistsError(path)
    tensors = {  # floats in dtype; integer buffers (batch norm's counts) as they are
        k: v.detach().to("cpu", dtype if v.is_floating_point() else v.dtype).contiguous()
        for k, v in state.items()
    }
    meta = {"preset": name, "dtype": str(dtype).removeprefix("torch.")}
    meta |= {k: str(v) for k, v in (metadata or {}).items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with io.atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path


def export_run(
    run_dir: str | Path,
    dtype: torch.dtype,
    out: str | Path | None = None,
    source: str = "best",
    force: bool = False,
) -> Path:
    """Export G (and BiGAN's E) of ``run_dir`` as its pretrained weights (``weights_name``) into
    ``out`` (default: ``run_dir/weights``): ``source`` "best" (``best.pt``, G at the best
    validation Parzen) or "last" (``checkpoint.pt``), with the run's seed, epoch and validation
    Parzen as metadata.

    Raises:
        UsageError: ``--source best`` on a run without ``best.pt`` (or a BiGAN run, whose
            best.pt holds G without its E); ``--out`` holds the file already (without
            ``force``) or is not a writable directory.
        FileError: config.json or the checkpoint is unusable.
    """
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
    if source not in SOURCES:
        raise UsageError("--source", f"must be one of {list(SOURCES)}, got {source!r}")
    path = run_dir / SOURCES[source]
    if source == "best" and model == "bigan":
        raise UsageError("--source", "a bigan run's best.pt holds G without its encoder E; "
                         "use --source last (checkpoint.pt: G and E of one step)")  # fmt: skip
    if source == "best" and not path.is_file():
        raise UsageError("--source", f"{run_dir} has no best.pt (the run had no --parzen-every); "
                         "use --source last to export checkpoint.pt")  # fmt: skip
    out = Path(out) if out is not None else run_dir / "weights"
    target = out / f"{name}.safetensors"
    if target.exists() and not force:
        shipped = target.resolve().parent == WEIGHTS_DIR.resolve()
        raise UsageError(
            "--out", f"{target} exists{' (weights shipped with toygan)' if shipped else ''}; "
            "pass --force to replace it, or choose another --out"
        )  # fmt: skip
    if out.exists() and not out.is_dir():
        raise UsageError("--out", f"{out} is a file, not a directory")
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
    writable_dir(str(out), "out")
    return export(tensors, name, out, dtype, meta, force=force)


SOURCES = {"best": "best.pt", "last": "checkpoint.pt"}  # --source: which file holds G


def main(argv: list[str] | None = None) -> int:
    """``python -m toygan.hub RUN_DIR [--source best|last] [--dtype float16|float32] [--out DIR]
    [--force]``."""
    parser = OneLineParser(prog="toygan.hub", description="export a run's G as pretrained weights")
    parser.add_argument("run_dir", help="an MNIST run directory with best.pt or checkpoint.pt")
    parser.add_argument("--dtype", choices=["float16", "float32"], default="float16")
    parser.add_argument(
        "--out", default=None,
        help="folder for NAME.safetensors (default: RUN_DIR/weights; load it with "
        "toygan.pretrained(NAME, weights_dir=...))",
    )  # fmt: skip
    parser.add_argument(
        "--source",
        choices=list(SOURCES),
        default="best",
        help="best: best.pt (G at the best validation Parzen; default); last: checkpoint.pt",
    )
    parser.add_argument(
        "--force", action="store_true",
        help="replace NAME.safetensors if --out holds it (default: refuse; shipped weights too)",
    )  # fmt: skip
    ns = parser.parse_args(sys.argv[1:] if argv is None else argv)

    def body() -> int:
        run_dir = check_path(ns.run_dir, "run_dir", must_exist=True)
        if ns.out is not None:
            check_path(ns.out, "--out")
        if not (run_dir / "config.json").is_file():
            raise UsageError("run_dir", f"{ns.run_dir} has no config.json")
        path = export_run(run_dir, getattr(torch, ns.dtype), ns.out, ns.source, ns.force)
        print(f"saved {path}")
        return 0

    return run_cli("toygan.hub", body)


if __name__ == "__main__":
    raise SystemExit(main())
