"""Regenerate the committed figures of the README: ``python -m toygan.figures [--only ...]``.

Every figure in ``figures/`` comes from a fixed-seed run of the library's own functions, so the
README's pictures are reproducible by this one command (``--only`` picks some of them). A front
like ``toygan.run``: it imports the two worlds (``toygan.toy``, ``toygan.mnist``) only when asked.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Sequence
from pathlib import Path


def table1(out: Path) -> list[Path]:
    """Validation Parzen over epochs of the committed Table 1 runs (``figures/table1/*.csv``,
    copies of the runs' parzen.csv) and sample grids of the shipped generators."""
    from toygan.mnist import plots as plots_mnist

    curves = plots_mnist.read_parzen_curves(Path(__file__).parents[1] / "figures" / "table1")
    paths = [plots_mnist.save_parzen_curves(curves, out / "table1_parzen.png")]
    for name in ("goodfellow2014", "modern"):
        paths.append(plots_mnist.save_pretrained_grid(name, out / f"pretrained_{name}.png"))
    return paths


def family(out: Path) -> list[Path]:
    """CGAN, InfoGAN and BiGAN from their shipped weights (``toygan.pretrained``): the 10 x 10
    grids (one row per digit / c_1 value), the ``mirza2014`` CGAN sampled with and without its
    dropout beside its validation Parzen (``figures/family/mirza2014_parzen.csv``, the run's
    parzen.csv), InfoGAN's Figure 2 and L_I curves (the committed
    ``figures/family/infogan_*.csv``), BiGAN's mean D with one and with two D passes
    (``figures/family/bigan_*.csv``), BiGAN's reconstructions of test digits (when the MNIST
    test files are in ``$TOYGAN_MNIST_DIR`` or ../shared/data/mnist)."""
    import os

    from toygan.mnist import measures
    from toygan.mnist import plots as plots_mnist
    from toygan.mnist.data import load_mnist, to_pixels
    from toygan.mnist.hub import pretrained

    paths = []
    committed = Path(__file__).parents[1] / "figures" / "family"
    for name, title in (("cgan", "CGAN: row r asks for digit r"), ("infogan", "InfoGAN: rows c1")):
        G = pretrained(name)
        paths.append(plots_mnist.save_grid(G.grid(seed=0).numpy(), out / f"{name}_grid.png", title))
    title = "CGAN's own nets (mirza2014): G sampled with and without the dropout it trained with"
    csv, path = committed / "mirza2014_parzen.csv", out / "cgan_mirza2014.png"
    paths.append(plots_mnist.save_pretrained_dropout("mirza2014", csv, path, title=title))
    G = pretrained("infogan")
    paths += measures.save_figure2(G.G.eval(), G.game, G.prior, out / "infogan_figure2", seed=0)
    curves = plots_mnist.read_info_curves(committed)
    paths.append(plots_mnist.save_info_curves(curves, out / "infogan_l_info.png"))
    panels = {  # BiGAN's D before and after the fix of its batch norm (docs/family.md, "BiGAN")
        "D on real and fake pairs in one pass": committed / "bigan_joint.csv",
        "D on each minibatch apart (the code)": committed / "bigan_separate.csv",
    }
    panels = {k: plots_mnist.read_mean_d(v) for k, v in panels.items()}
    title = "BiGAN, 25 epochs: batch norm over both minibatches lets D win"
    path = out / "bigan_mean_d.png"
    paths.append(plots_mnist.save_mean_d_panels(panels, path, per_epoch=390, title=title))
    data = Path(os.environ.get("TOYGAN_MNIST_DIR", Path(__file__).parents[2] / "shared/data/mnist"))
    if (data / "t10k-images-idx3-ubyte.gz").exists():
        test = to_pixels(load_mnist("test", data, download_missing=False), (0.0, 1.0), "cpu")
        G = pretrained("bigan")
        path = out / "bigan_reconstructions.png"
        paths.append(measures.save_reconstructions(G.G.eval(), G.E.eval(), test, path))
    return paths


def _maker(module: str, function: str) -> Callable[[Path], list[Path]]:
    """``module.function(out)``, imported on first call (the worlds load only when asked)."""
    return lambda out: getattr(importlib.import_module(module), function)(out)


MAKERS: dict[str, Callable[[Path], list[Path]]] = {
    "1d": _maker("toygan.toy.figures", "write_gan1d"),
    "theory": _maker("toygan.toy.plots_theory", "write_figures"),
    "compare": _maker("toygan.toy.figures", "write_comparison"),
    "toy2d": _maker("toygan.toy.figures2d", "write_toy2d"),
    "table1": table1,
    "family": family,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m toygan.figures", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=list(MAKERS), default=list(MAKERS))
    parser.add_argument("--out", type=Path, default=Path("figures"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only:
        for path in MAKERS[name](args.out):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
