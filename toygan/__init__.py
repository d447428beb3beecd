"""toygan: a small, exact, fast PyTorch toolkit for understanding and running GANs.

Architecture: one core and two worlds above it, one module per job.

- the core, ``toygan.*``: models -> objectives -> game -> engine (``optim``), with ``io``,
  ``rundir``, ``cli`` and the fronts ``run`` (the command line) and ``figures``;
- ``toygan.toy``: the toy world of Gaussian mixtures in 1D and 2D (exact theory, metrics,
  ensembles, comparisons; the ring and grid benchmarks of mode collapse and their cures);
- ``toygan.mnist``: the MNIST world (data, presets, training, Parzen evaluation, pretrained G;
  the GAN, CGAN, InfoGAN and BiGAN, each a game of the one engine).

The worlds import the core, never each other; the public names below come from all three.
"""

from toygan.engine import GANTrainer, History, TrainingDiverged, make_optimizer, resolve_device
from toygan.game import BiGame, ConditionalGame, Game, InfoGame, InfoPrior, LabelPrior
from toygan.mnist.data import MnistSource, load_mnist
from toygan.mnist.experiment import MnistConfig, run_mnist
from toygan.models import MLP, Discriminator, Generator, NoisePrior
from toygan.objectives import (
    OBJECTIVES,
    Objective,
    get_objective,
    hinge,
    least_squares,
    wasserstein_clip,
    wasserstein_gp,
)
from toygan.toy.compare import COMPARE_DEFAULTS, CompareOptions, compare
from toygan.toy.density import SampleDensity
from toygan.toy.ensemble import (
    EnsembleTrainer,
    build_ensemble,
    member_d_deviation,
    member_g_grad_norms,
    sample_members,
)
from toygan.toy.experiment import ToyConfig, build_trainer, generate
from toygan.toy.explore import explore
from toygan.toy.fit import fit_discriminator
from toygan.toy.metrics import d_deviation, ks_distance, mode_metrics, mode_stats, wasserstein1
from toygan.toy.mixture import GaussianMixture, grid, ring
from toygan.toy.saturation import SaturationOptions, saturation_diagnostic
from toygan.toy.theory import (
    chi2_divergence,
    divergence,
    jensen_shannon,
    least_squares_criterion,
    optimal_critic,
    optimal_critic_slope,
    optimal_discriminator,
    total_variation,
    value_function,
    virtual_criterion,
    wasserstein1_exact,
)

__version__ = "0.1.0"


def __getattr__(name: str):
    """Lazy exports: ``toygan.evaluate_run`` imports ``toygan.mnist.evaluate`` on first use, so
    ``python -m toygan.mnist.evaluate`` does not find its module already imported by the package
    (runpy's "found in sys.modules" RuntimeWarning)."""
    if name == "evaluate_run":
        from toygan.mnist.evaluate import evaluate_run

        return evaluate_run
    if name == "pretrained":  # toygan.pretrained("goodfellow2014"): see toygan.mnist.hub
        from toygan.mnist.hub import pretrained

        return pretrained
    raise AttributeError(f"module 'toygan' has no attribute {name!r}")


__all__ = [
    "GANTrainer",
    "History",
    "TrainingDiverged",
    "make_optimizer",
    "resolve_device",
    "Game",
    "ConditionalGame",
    "InfoGame",
    "BiGame",
    "LabelPrior",
    "InfoPrior",
    "d_deviation",
    "ks_distance",
    "mode_stats",
    "mode_metrics",
    "wasserstein1",
    "GaussianMixture",
    "ring",
    "grid",
    "MLP",
    "Discriminator",
    "Generator",
    "NoisePrior",
    "OBJECTIVES",
    "Objective",
    "get_objective",
    "least_squares",
    "hinge",
    "wasserstein_gp",
    "wasserstein_clip",
    "ToyConfig",
    "build_trainer",
    "generate",
    "explore",
    "SampleDensity",
    "fit_discriminator",
    "jensen_shannon",
    "optimal_discriminator",
    "value_function",
    "virtual_criterion",
    "divergence",
    "chi2_divergence",
    "total_variation",
    "least_squares_criterion",
    "optimal_critic",
    "optimal_critic_slope",
    "wasserstein1_exact",
    "MnistSource",
    "load_mnist",
    "MnistConfig",
    "run_mnist",
    "evaluate_run",
    "pretrained",
    "COMPARE_DEFAULTS",
    "CompareOptions",
    "compare",
    "EnsembleTrainer",
    "build_ensemble",
    "member_d_deviation",
    "member_g_grad_norms",
    "sample_members",
    "SaturationOptions",
    "saturation_diagnostic",
]
