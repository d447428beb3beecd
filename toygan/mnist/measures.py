"""Each model's own measures on MNIST, beside the unconditional ones of ``toygan.mnist.evaluate``.

- CGAN: does G draw the digit it is asked for? The classifier's accuracy on the requested labels
  (ceiling: its own test accuracy), and the Fréchet distance per class (samples asked for digit
  k against the test images of digit k).
- InfoGAN: Q's c_1 as a digit classifier of the test images, after the best one-to-one matching
  of its values to the digits (``toygan.mnist.probes.code_accuracy``); the paper's Figure 2 grids.
- BiGAN: E's representation under three probes, each for the trained E, a randomly initialised
  E of the same architecture and raw pixels: (a) the popular port's linear probe (plain SGD, 10
  epochs), (b) a converged logistic regression on standardised features, (c) 1-nearest-neighbour
  accuracy (the BiGAN paper's Table 1); reconstructions G(E(x)) of test digits.

The networks come from the run's last checkpoint (``checkpoint.pt``, loaded weights-only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from toygan import io
from toygan.cli import FileError
from toygan.game import Game
from toygan.mnist import classifier as clf
from toygan.mnist import plots, presets, probes
from toygan.mnist.data import OUTPUT_RANGES

FIG2_RANGE = (-2.0, 2.0)  # InfoGAN's Figure 2: continuous codes varied beyond their U(-1, 1)
RANDOM_SEED_OFFSET = 1000  # the random encoder's init seed: the run's seed + this


def load_networks(
    run_dir: Path, cfg: Any, device: torch.device
) -> tuple[nn.Module, nn.Module, Game]:
    """(G, D, game) of the run in ``run_dir`` with the weights of its last checkpoint, in eval
    mode on ``device``."""
    path = run_dir / "checkpoint.pt"
    state = io.load_checkpoint(path, map_location="cpu")
    trainer = state.get("trainer") if isinstance(state, dict) else None
    if not isinstance(trainer, dict) or "generator" not in trainer:
        raise FileError(path, "not a checkpoint of an MNIST toygan run")
    G, D, game = presets.build_game(cfg.preset, cfg.model, device)
    nets = {"generator": G, "discriminator": D, **game.networks}
    try:
        for name, net in nets.items():
            net.load_state_dict(trainer[name])
    except (KeyError, RuntimeError) as err:
        msg = str(err).splitlines()[0]
        raise FileError(path, f"does not hold this run's {cfg.model} networks ({msg})") from None
    for net in nets.values():
        net.to(device).eval()
    return G, D, game


def conditional_measures(
    f_fake: np.ndarray,
    p_fake: np.ndarray,
    requested: np.ndarray,
    f_test: np.ndarray,
    test_labels: np.ndarray,
) -> dict[str, Any]:
    """CGAN: classifier accuracy on the requested labels and FD per class, from the
    classifier's features and digits (``classifier.predict``) of the samples, f_fake (n, f),
    p_fake (n,), and of the test images, f_test (m, f); requested (n,), test_labels (m,)."""
    acc = probes.conditional_accuracy(p_fake, requested)
    fd_class = [
        clf.frechet_distance(f_fake[requested == k], f_test[test_labels == k])
        for k in range(presets.N_CLASSES)
    ]
    return {
        "conditional_accuracy": acc["accuracy"],
        "conditional_accuracy_per_class": acc["per_class"],
        "frechet_distance_per_class": fd_class,
        "frechet_distance_class_mean": float(np.mean(fd_class)),
    }


@torch.no_grad()
def q_codes(D: nn.Module, game: Any, images: torch.Tensor, chunk: int = 2000) -> np.ndarray:
    """InfoGAN: Q's most likely c_1 value (n,) for images (n, 784) in [0, 1]."""
    out = torch.cat([D(x) for x in images.split(chunk)])  # (n, 1 + code_dim)
    return out[:, 1 : 1 + game.n_categories].argmax(1).cpu().numpy()


def code_measures(D: nn.Module, game: Any, test: torch.Tensor, labels: np.ndarray) -> dict:
    """InfoGAN: c_1 as a classifier of the test images after the best matching."""
    r = probes.code_accuracy(q_codes(D, game, test), labels, game.n_categories)
    return {"code_accuracy": r["accuracy"], "code_mapping": r["mapping"]}


@torch.no_grad()
def save_figure2(
    G: nn.Module, game: Any, prior: Any, path_stem: Path, seed: int, n: int = 10
) -> list[Path]:
    """InfoGAN's Figure 2: rows c_1 = 0..9, columns one continuous code from -2 to 2 (the other
    codes 0, the noise z fixed: one draw of ``prior``, the run's ``InfoPrior``); one PNG per
    continuous code."""
    device = next(G.parameters()).device
    rng = torch.Generator(device).manual_seed(seed)
    z = prior.noise.sample(1, rng)  # (1, noise_dim)
    lo, hi = OUTPUT_RANGES[G.output]
    paths = []
    values = torch.linspace(*FIG2_RANGE, n, device=device)
    for j in range(game.n_continuous):
        latent = torch.zeros(game.n_categories * n, game.noise_dim + game.code_dim, device=device)
        latent[:, : game.noise_dim] = z
        rows = torch.arange(game.n_categories, device=device).repeat_interleave(n)
        latent[torch.arange(len(latent)), game.noise_dim + rows] = 1.0
        latent[:, game.noise_dim + game.n_categories + j] = values.repeat(game.n_categories)
        x = ((G(latent).float() - lo) / (hi - lo)).clamp_(0, 1).cpu().numpy()
        path = Path(f"{path_stem}_c{j + 2}.png")
        plots.save_grid(x, path, f"rows c1 = 0..9; columns c{j + 2} from -2 to 2")
        paths.append(path)
    return paths


@torch.no_grad()
def encode(
    E: nn.Module, images: torch.Tensor, hidden: bool = False, chunk: int = 5000
) -> np.ndarray:
    """E(x) (n, latent), or with ``hidden`` the layer below it (``E.features``, (n, 1024)),
    float32 numpy of images (n, 784), in eval mode."""
    f = E.features if hidden else E
    return torch.cat([f(x) for x in images.split(chunk)]).float().cpu().numpy()


def random_encoder(cfg: Any, device: torch.device) -> nn.Module:
    """A randomly initialised E of the run's architecture (init seed: the run's + 1000)."""
    init = torch.Generator().manual_seed(cfg.seed + RANDOM_SEED_OFFSET)
    _, _, game = presets.build_game(cfg.preset, cfg.model, device, generator=init)
    return game.networks["encoder"].to(device).eval()


# feature set -> key prefix. E(x), and the layer below it: the authors' log scores 1-NN on both
# (92.1% on E(x), 97.4% below it, the paper's Table 1 97.39%)
FEATURE_SETS = {
    "trained": "",
    "trained_hidden": "hidden_",
    "random": "random_",
    "random_hidden": "random_hidden_",
    "pixels": "pixel_",
}


def linear_probe_key(prefix: str) -> str:
    """The evaluation key of probe (a) for a feature set's prefix (``random_probe_accuracy``,
    the issue's name, for the random encoder)."""
    return "random_probe_accuracy" if prefix == "random_" else f"{prefix}linear_probe_accuracy"


def representation_measures(
    features: dict[str, tuple[np.ndarray, np.ndarray]],
    train_y: np.ndarray,
    test_y: np.ndarray,
    seed: int = 0,
) -> dict[str, Any]:
    """Probes (a) linear SGD, (b) converged logistic, (c) 1-NN for each feature set of
    ``FEATURE_SETS``: ``features[name] = (train (n, d), test (m, d))``; keys
    ``<prefix>linear_probe_accuracy`` (``linear_probe_key``), ``<prefix>logistic_accuracy``,
    ``<prefix>logistic_converged``, ``<prefix>nn_accuracy``."""
    out: dict[str, Any] = {}
    for name, (tr, te) in features.items():
        prefix = FEATURE_SETS[name]
        out[linear_probe_key(prefix)] = probes.linear_probe(tr, train_y, te, test_y, seed=seed)
        logistic = probes.logistic_probe(tr, train_y, te, test_y)
        out[f"{prefix}logistic_accuracy"] = logistic["accuracy"]
        out[f"{prefix}logistic_converged"] = logistic["converged"]
        out[f"{prefix}nn_accuracy"] = probes.nn_accuracy(tr, train_y, te, test_y)
    return out


@torch.no_grad()
def save_reconstructions(
    G: nn.Module, E: nn.Module, test: torch.Tensor, path: Path, n: int = 50
) -> Path:
    """Test digits (odd rows) above their reconstructions G(E(x)) (even rows), 10 per row."""
    x = test[:n]  # (n, 784) in [0, 1]
    lo, hi = OUTPUT_RANGES[G.output]
    rec = ((G(E(x)).float() - lo) / (hi - lo)).clamp_(0, 1)
    rows = [t for i in range(0, n, 10) for t in (x[i : i + 10], rec[i : i + 10])]
    grid = torch.cat(rows).cpu().numpy()
    return plots.save_grid(grid, path, "test digits (rows 1, 3, ...) and G(E(x)) below each")
