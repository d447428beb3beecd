"""The 1D world's committed figures of ``figures/`` (``python -m toygan.figures`` calls these).

``write_gan1d`` copies the figures of the default 1D run; ``write_comparison`` runs the saturation
diagnostic and the objectives' comparison (fixed seeds) and keeps their figures. It sits above
``compare``, ``saturation`` and ``plots_compare``, so none of them imports another in a circle.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path

from toygan import io
from toygan.toy import plots_compare
from toygan.toy.compare import COMPARE_DEFAULTS, CompareOptions, compare
from toygan.toy.experiment import ToyConfig, run_experiment
from toygan.toy.saturation import SaturationOptions, saturation_diagnostic


def write_gan1d(out: Path) -> list[Path]:
    """The default 1D run (``python -m toygan.run --objective nonsaturating --seed 0``)."""
    with tempfile.TemporaryDirectory() as tmp:
        run_experiment(ToyConfig(objective="nonsaturating", seed=0, device="cpu"), tmp)
        paths = []
        for name in ("panel.png", "strip.png", "curves.png", "training.gif"):
            paths.append(Path(shutil.copy(Path(tmp) / name, out / f"gan1d_{name}")))
    return paths


def write_comparison(
    out_dir: Path, quick: bool = False, runs_dir: Path | None = None
) -> list[Path]:
    """Regenerate the committed comparison figures (deterministic: fixed seeds, dpi, no metadata).

    The comparison runs (summary.json, CSVs) go to ``runs_dir`` (a temporary directory if None).
    """
    out_dir = io.ensure_writable_dir(out_dir)
    steps = 60 if quick else COMPARE_DEFAULTS["steps"]
    cfg = dataclasses.replace(ToyConfig(device="cpu"), **{**COMPARE_DEFAULTS, "steps": steps})
    sat = SaturationOptions(
        seeds=3 if quick else 8,
        stages=[0, 20] if quick else [0, 500],
        d_steps=30 if quick else 2000,
        progress=False,
    )
    rows = saturation_diagnostic(cfg, sat)
    paths = [plots_compare.save_saturation(rows, out_dir / "saturation_grad_norms.png")]
    opts = CompareOptions(
        seeds=4 if quick else 32,
        eval_every=20 if quick else 100,
        panel_steps=[0, 20, 60] if quick else [0, 100, 500, 2000],
        progress=False,
        eval_samples=500 if quick else 2000,
    )
    tmp = tempfile.TemporaryDirectory()
    runs = Path(runs_dir) if runs_dir is not None else Path(tmp.name)
    for name, over in (("sgd", {}), ("adam", {"optimizer": "adam", "lr": 1e-3})):
        run_dir = io.ensure_writable_dir(runs / name)
        compare(
            dataclasses.replace(cfg, **over), dataclasses.replace(opts, gif=name == "sgd"), run_dir
        )
        for f in sorted(run_dir.glob("compare*")):
            target = out_dir / f.name.replace("compare", f"compare_{name}", 1)
            target.write_bytes(f.read_bytes())
            paths.append(target)
    tmp.cleanup()
    return paths
