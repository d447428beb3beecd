"""Presets of the 2D world: the released code of the mode-collapse benchmarks, as settings.

Each preset is a set of ``ToyConfig`` values (``--preset NAME``; flags given beside it win). A
name is a promise: every value below was read from the code it names.

- ``lin2018``: PacGAN (Lin, Khetan, Fanti and Oh 2018, fjxmlzn/PacGAN,
  ``synthetic_data_experiments/2DRing_GAN&PacGAN`` and ``2DGrid_GAN&PacGAN``: ``config.py``,
  ``pacgan_task.py``, ``pacgan/bricks.py``, ``datasets.py``; ``ali_algorithm`` of the ALI code it
  imports). z ~ N(0, I_2). G: 2 -> 4 x [Linear 400 without bias, batch norm, ReLU] -> Linear 2
  (``use_bias=False`` but for the output layer). D: 3 x LinearMaxout(200 units, 5 pieces) ->
  Linear 1 on the packed input (2 x packing). Weights N(0, 0.02^2), biases 0 (batch norm's scale
  1 and shift 0). D's loss softplus(-D(x)) + softplus(D(G(z))); G's softplus(D(x)) +
  softplus(-D(G(z))), i.e. the non-saturating loss. Both gradients from one forward pass,
  applied together (``ali_algorithm``: one ``GradientDescent`` over both parameter sets:
  ``update="simultaneous"``). Adam lr 1e-4, beta1 0.8 (blocks' Adam: beta2 0.999, eps 1e-8).
  Batch 100 packs. Data: 100,000 points drawn once; for packing m, m bootstrap resamplings of
  them (``np.random.randint``, with replacement, also for m = 1) make 100,000 fixed packs,
  shuffled every epoch of 1,000 steps; 400 epochs. Batch-norm statistics: blocks' (biased
  variance, eps 1e-4 inside the root; population mean and standard deviation updated as
  0.95 old + 0.05 batch), see ``toygan.models.PopulationBatchNorm``. The metric samples come
  from G in inference mode (population statistics), 2,500 from one fixed z.
  Where toygan differs: the population update runs at every G call (the code averages the m
  calls of one step first, and also updates it during its monitoring passes): both are
  averages of the same G's batch statistics over the last ~20 steps. Adam's eps enters after
  the bias correction in torch (blocks: before), a relative difference under 1e-8 / sqrt(v).
- ``metz2017``: the Unrolled GAN notebook (poolio/unrolled_gan, ``Unrolled GAN demo.ipynb``):
  z ~ N(0, I_256); G and D 2 x 128 tanh (slim ``fully_connected``), linear outputs; orthogonal
  weights with gain 1.4, zero biases; batch 512; D's Adam lr 1e-4, G's 1e-3, beta1 0.5, eps 1e-8;
  25,000 iterations; 5 unrolling steps. G minimises ``-unrolled_loss``, the negative of D's loss
  at the unrolled parameters: the saturating (minimax) objective, real term included
  (``Objective.zero_sum``). Both train ops run in one ``sess.run`` on the same minibatch:
  ``update="simultaneous"``, the unroll on that minibatch. Its ring (``linspace(0, 2 pi, 8)``,
  7 distinct modes) is not copied: the preset runs on ``--dataset ring``/``grid`` (the VEEGAN
  protocol that reports Unrolled GAN numbers) or ``ring_metz2017`` (the paper's radius 2).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

PRESETS: dict[str, MappingProxyType] = {
    "lin2018": MappingProxyType(
        dict(
            objective="nonsaturating",
            noise_dim=2,
            prior="gaussian",
            g_width=400,
            g_depth=4,
            g_batch_norm=True,
            activation="relu",
            d_width=200,
            d_depth=3,
            d_maxout=5,
            init="normal",
            update="simultaneous",
            k_steps=1,
            optimizer="adam",
            lr=1e-4,
            beta1=0.8,
            beta2=0.999,
            lr_decay="none",
            batch_size=100,
            train_points=100_000,
            steps=400_000,  # 400 epochs of 1,000 steps
            snapshot_every=1000,  # one epoch, as the code's MetricLogger
            n_samples=2500,
        )
    ),
    "metz2017": MappingProxyType(
        dict(
            objective="saturating",
            noise_dim=256,
            prior="gaussian",
            g_width=128,
            g_depth=2,
            d_width=128,
            d_depth=2,
            activation="tanh",
            init="orthogonal",
            update="simultaneous",
            k_steps=1,
            optimizer="adam",
            lr=1e-3,  # G's; D's is lr x d_lr_scale = 1e-4
            d_lr_scale=0.1,
            beta1=0.5,
            beta2=0.999,
            lr_decay="none",
            batch_size=512,
            unrolled=5,
            train_points=0,
            steps=25_000,
            snapshot_every=500,
            n_samples=2500,
        )
    ),
}


def preset_values(name: str) -> dict[str, Any]:
    """The ``ToyConfig`` values of preset ``name`` with ``preset`` itself (ValueError if
    unknown)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    return {**PRESETS[name], "preset": name}


def apply_preset(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    """``--preset NAME`` in ``argv``: the preset's values become ``parser``'s defaults (flags
    given win); an unknown name is left for the parser's ``choices`` to refuse."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--preset")
    name = pre.parse_known_args(argv)[0].preset
    if name in PRESETS:
        parser.set_defaults(**preset_values(name))


__all__ = ["PRESETS", "preset_values", "apply_preset"]
