"""Plot helpers both worlds share: the moving average that smooths noisy training curves."""

from __future__ import annotations

import numpy as np


def smooth(y: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over ``window`` points, same length (edges padded)."""
    if len(y) < window or window <= 1:
        return y
    kernel = np.ones(window) / window
    return np.convolve(np.pad(y, (window // 2, window - 1 - window // 2), mode="edge"), kernel,
                       mode="valid")  # fmt: skip
