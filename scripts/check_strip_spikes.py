"""Are the spikes of p_g in the front figure's panel (d) G's, or the density estimate's?

Loads a finished 1D run (default: the main job's ``runs/nonsaturating``), draws 10^6 samples of
its final G and compares a fine histogram (bin 0.02) with the KDE of 10^4 samples that the
figure draws (cross-validated bandwidth), and D* = p_data / (p_data + p_g) from each, where the
data has mass (p_data >= 5% of its peak).

    python -m toygan.run --objective nonsaturating && python scripts/check_strip_spikes.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from toygan import io, rundir
from toygan.toy.config import ToyConfig
from toygan.toy.density import SampleDensity
from toygan.toy.experiment import build_trainer, generate


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    run = Path(argv[0] if argv else "runs/nonsaturating")
    cfg = ToyConfig.from_dict(io.read_json(run / "config.json"))
    trainer = build_trainer(cfg)
    rundir.restore(trainer, io.load_checkpoint(run / "checkpoint.pt"), run / "checkpoint.pt")
    big = generate(trainer, 1_000_000, seed=7).squeeze(-1).double()  # (10^6,)
    small = generate(trainer, 10_000, seed=12345).squeeze(-1).double()  # (10^4,)
    edges = np.linspace(-4, 4, 401)
    centres = torch.tensor((edges[:-1] + edges[1:]) / 2)
    hist, _ = np.histogram(big.numpy(), edges, density=True)
    kde = SampleDensity(small)
    p_kde = kde.pdf(centres).numpy()
    p_data = cfg.mixture().pdf(centres).numpy()
    x = centres.numpy()
    print(f"KDE of 10^4 samples, bandwidth {kde.bandwidth:.4f}; histogram of 10^6, bin 0.02")
    for mean in cfg.mixture().means:
        near = np.abs(x - mean) < 0.3
        i, j = np.argmax(hist[near]), np.argmax(p_kde[near])
        top = p_data[near].max()
        print(f"mode {mean:+.1f}: histogram peak {hist[near][i]:.2f} at {x[near][i]:+.2f}, KDE "
              f"peak {p_kde[near][j]:.2f} at {x[near][j]:+.2f}, p_data peak {top:.2f}")  # fmt: skip
    mass = p_data >= 0.05 * p_data.max()
    for name, p_g in (("histogram (10^6)", hist), ("KDE (10^4)", p_kde)):
        d = p_data[mass] / (p_data[mass] + p_g[mass])
        print(f"D* from the {name}: {d.min():.2f} .. {d.max():.2f} where the data has mass")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
