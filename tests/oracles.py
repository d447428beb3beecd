"""Shared test material: a Hypothesis strategy for mixtures, float64 scipy oracles, and the
check every CLI's bad input must pass (exit 2, one line on stderr).

The oracles use ``scipy.stats.norm`` directly, never toygan's own densities.
"""

import math

import numpy as np
from hypothesis import strategies as st
from scipy import special, stats

from toygan.toy.mixture import GaussianMixture


@st.composite
def mixtures(
    draw, max_components: int = 3, spread: float = 4.0, std=(0.2, 2.0), min_weight: float = 0.05
):
    """Mixtures of 1..max_components components, means in [-spread, spread], stds in ``std``."""
    k = draw(st.integers(1, max_components))
    means = draw(st.lists(st.floats(-spread, spread), min_size=k, max_size=k))
    stds = draw(st.lists(st.floats(*std), min_size=k, max_size=k))
    raw = draw(st.lists(st.floats(min_weight, 1.0), min_size=k, max_size=k))
    return GaussianMixture(means, stds, [w / sum(raw) for w in raw])


def np_logpdf(d: GaussianMixture, x: np.ndarray) -> np.ndarray:
    """log p(x) of the mixture by scipy in float64 (log-sum-exp over components)."""
    comps = [
        math.log(w) + stats.norm.logpdf(x, m, s)
        for m, s, w in zip(d.means, d.stds, d.weights, strict=True)
    ]
    return special.logsumexp(np.stack(comps), axis=0)


def np_cdf(d: GaussianMixture, x: np.ndarray) -> np.ndarray:
    """P(X <= x) of the mixture by scipy in float64."""
    return sum(
        w * stats.norm.cdf(x, m, s) for m, s, w in zip(d.means, d.stds, d.weights, strict=True)
    )


def usage_error(main, argv: list[str], capsys) -> str:
    """Run CLI ``main(argv)``; assert exit code 2 and one line on stderr; return that line."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err
