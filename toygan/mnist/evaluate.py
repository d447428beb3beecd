"""Evaluate an MNIST run: Parzen log-likelihood, classifier Fréchet distance, digit histogram,
nearest-neighbour copy check. ``python -m toygan.evaluate RUN`` (``toygan.evaluate_cli``).

Parzen protocol of Goodfellow et al. 2014 (parzen_ll.py; ``toygan.mnist.parzen``): 10,000 samples,
sigma from logspace(-1, 0, 10) chosen by the mean log-likelihood of train[50000:51000], then the
test log-likelihood over the 10,000 test images as mean ± standard error. Theis et al. 2016 show
Parzen estimates can mislead: it is here because it is the paper's table, beside the Fréchet
distance in a small MNIST classifier's feature space (trained on train[0:50000]), the
predicted-digit histogram (mode coverage, KL to uniform) and a copy check (is each sample closer
to its nearest training image than test images are to theirs?). Every number names its split
and sample counts.

Held-out images: a run on the train split uses train[50000:51000] for validation and the 10,000
test images as test (the paper's protocol). A run on test[0:N] uses the disjoint test[N:],
first half validation, second half test, and says so (its classifier is trained on test[0:N]).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from toygan import io, rundir
from toygan.cli import (
    FileError,
    OneLineParser,
    UsageError,
    add_dataclass_arguments,
    check_path,
    config_from_dict,
    run_cli,
)
from toygan.engine import resolve_device
from toygan.mnist import classifier as clf
from toygan.mnist import measures, presets
from toygan.mnist.classifier import frechet_distance  # noqa: F401 (the evaluation API)
from toygan.mnist.data import MnistError, load_mnist, to_pixels
from toygan.mnist.experiment import MnistConfig
from toygan.mnist.hub import PRETRAINED, RUN_META, PretrainedGenerator, pretrained
from toygan.mnist.parzen import (  # noqa: F401 (re-exported: the evaluation API)
    SIGMAS,
    held_out,
    parzen_evaluate,
    parzen_log_likelihood,
    sq_distances,
)


def digit_stats(preds: np.ndarray, min_fraction: float = 0.025) -> dict[str, Any]:
    """Counts of predicted digits, KL(p || uniform) in nats, digits with >= min_fraction."""
    counts = np.bincount(np.asarray(preds), minlength=10)[:10]
    p = counts / counts.sum()
    nz = p > 0
    return {
        "counts": counts.tolist(),
        "kl_uniform": float((p[nz] * np.log(p[nz] * 10)).sum()),
        "digits_covered": int((p >= min_fraction).sum()),
    }


def nearest_distances(x: torch.Tensor, ref: torch.Tensor, chunk: int = 500) -> np.ndarray:
    """Euclidean distance of each row of ``x`` (n, d) to its nearest row of ``ref`` (N, d), (n,)
    float64; the products in float32 chunks, the nearest one recomputed exactly in float64."""
    ref_sq = (ref * ref).sum(1)  # (N,)
    out = []
    for part in x.split(chunk):
        d2 = (part * part).sum(1, keepdim=True) + ref_sq - 2.0 * part @ ref.T  # (b, N)
        idx = d2.argmin(1)  # (b,)
        out.append((part.double() - ref[idx].double()).norm(dim=1).cpu())
    return torch.cat(out).numpy()


def copy_check(samples: torch.Tensor, test: torch.Tensor, train: torch.Tensor) -> dict[str, Any]:
    """Distances to the nearest training image: of the samples vs of held-out test images.

    A generator that memorises shows samples much closer to the training set than real unseen
    images are; ``share_closer_than_test_p1`` is the share of samples closer than the 1st
    percentile of the test images' distances (about 0.01 for a generator that does not copy).
    """
    d_fake, d_test = nearest_distances(samples, train), nearest_distances(test, train)
    q = [0.01, 0.1, 0.5, 0.9]
    return {
        "sample_quantiles": dict(
            zip(map(str, q), np.quantile(d_fake, q).round(4).tolist(), strict=True)
        ),
        "test_quantiles": dict(
            zip(map(str, q), np.quantile(d_test, q).round(4).tolist(), strict=True)
        ),
        "median_sample": float(np.median(d_fake)),
        "median_test": float(np.median(d_test)),
        "share_closer_than_test_p1": float((d_fake < np.quantile(d_test, 0.01)).mean()),
    }


def load_run(run_dir: Path) -> tuple[MnistConfig, np.ndarray]:
    """(config, samples (n, 784) float32 in [0, 1]) of an MNIST run; ``FileError`` naming the
    bad file otherwise."""
    path = run_dir / "config.json"
    d = io.read_json(path)
    if not isinstance(d, dict):
        raise FileError(path, f"not a toygan config (a JSON object), got {type(d).__name__}")
    if d.get("dataset") != "mnist":
        raise FileError(path, "not an MNIST run (a 1D run? toygan.evaluate evaluates MNIST runs)")
    try:
        cfg = config_from_dict(MnistConfig, d)
    except (TypeError, ValueError) as err:
        raise FileError(path, f"not a valid MNIST config ({err})") from None
    path = run_dir / "samples.npy"
    x = io.load_npy(path)
    if x.ndim != 2 or x.shape[1] != 784 or len(x) < 2 or not np.issubdtype(x.dtype, np.floating):
        raise FileError(path, f"expected float samples (n >= 2, 784), got {x.dtype} {x.shape}")
    if not np.isfinite(x).all():
        raise FileError(path, "holds NaN or infinite values")
    if x.min() < 0.0 or x.max() > 1.0:
        raise FileError(path, f"pixels must be in [0, 1], got [{x.min():.3g}, {x.max():.3g}]")
    return cfg, x.astype(np.float32)


def evaluate_run(
    run_dir: str | Path,
    data_dir: str | None = None,
    device: str = "auto",
    cache_dir: str | None = None,
) -> dict[str, Any]:
    """Evaluate ``run_dir`` (samples.npy, config.json); writes and returns evaluation.json."""
    run_dir = Path(run_dir)
    cfg, samples_np = load_run(run_dir)
    data_dir = data_dir or cfg.data_dir or None
    dev = resolve_device(device)
    samples = torch.from_numpy(samples_np).to(dev)  # (n, 784) in [0, 1]
    valid8, valid_name, test8, test_labels, test_name = held_out(cfg, data_dir)
    valid, test = to_pixels(valid8, (0.0, 1.0), dev), to_pixels(test8, (0.0, 1.0), dev)
    n, counts = len(samples), {"generated": len(samples), "valid": len(valid), "test": len(test)}
    note = (
        "paper protocol"
        if cfg.split == "train"
        else "only the test split is available: held-out test images disjoint from training"
    )
    parzen = parzen_evaluate(samples, valid, test)
    # classifier and copy check: the GAN's own training images (train[0:50000] in the paper)
    train8, train_labels = load_mnist(
        cfg.split, data_dir, cfg.n_train, labels=True, download_missing=cfg.download
    )
    train_name = f"{cfg.split}[0:{len(train8)}]"
    train_x = to_pixels(train8, (0.0, 1.0), dev)
    model, path = clf.cached_classifier(
        train_name, train_x, torch.from_numpy(train_labels.astype(np.int64)).to(dev), cache_dir
    )
    f_fake, p_fake = clf.predict(model, samples)
    f_test, p_test = clf.predict(model, test)
    n_ref = min(len(train_x), len(test))  # real-vs-real reference with equal counts
    f_train, _ = clf.predict(model, train_x[:n_ref])
    f_ref, _ = clf.predict(model, test[:n_ref])
    fake_digits, real_digits = digit_stats(p_fake), digit_stats(p_test)
    fd, fd_real = frechet_distance(f_fake, f_test), frechet_distance(f_train, f_ref)
    accuracy = round(float((p_test == test_labels).mean()), 4)
    copies = copy_check(samples, test, train_x)
    # the same protocol with real images as the "samples": the ceiling a perfect G approaches
    n_real = min(n, len(train_x))
    real = parzen_evaluate(train_x[:n_real], valid, test)
    result = {
        "run": str(run_dir),
        "note": note,
        "parzen_ll": parzen["test_ll"],
        "parzen_se": parzen["test_ll_se"],
        "parzen_sigma": parzen["sigma"],
        "parzen_ll_real": real["test_ll"],
        "parzen_se_real": real["test_ll_se"],
        "frechet_distance": fd,
        "frechet_distance_real": fd_real,
        "classifier_test_accuracy": accuracy,
        "digits_covered": fake_digits["digits_covered"],
        "digit_kl": fake_digits["kl_uniform"],
        "splits": {"train": train_name, "valid": valid_name, "test": test_name},
        "counts": counts,
        "parzen": {
            **parzen,
            "protocol": f"sigma chosen on {valid_name} ({len(valid)} images) "
            f"from logspace(-1, 0, 10); LL mean ± s.e. (std ddof 0, as parzen_ll.py) over "
            f"{test_name} ({len(test)} images) with {n} generator samples",
            "real": {
                **real,
                "about": f"the same protocol with the first {n_real} of {train_name} as samples",
            },
        },
        "classifier": {
            "path": str(path),
            "architecture": clf.ARCHITECTURE,
            "trained_on": train_name,
            "test_accuracy": accuracy,
            "accuracy_on": f"{test_name} ({len(test)} images)",
        },
        "fd": {
            "generated_vs_test": fd,
            "train_vs_test": fd_real,
            "about": f"Fréchet distance in the classifier's {clf.FEATURE_DIM}-d features: {n} "
            f"generated vs {test_name} ({len(test)}); reference: first {n_ref} of {train_name} "
            f"vs first {n_ref} of {test_name}",
        },
        "digits": {
            "generated_counts": fake_digits["counts"],
            "real_counts": real_digits["counts"],
            "kl_uniform": fake_digits["kl_uniform"],
            "real_kl_uniform": real_digits["kl_uniform"],
            "digits_covered": fake_digits["digits_covered"],
            "about": f"classifier's predicted digit of {n} generated samples and of {test_name}; "
            "covered: >= 2.5% of samples; KL(p || uniform) in nats",
        },
        "nearest_train": {
            **copies,
            "about": f"Euclidean distance (pixels in [0, 1]) to the nearest of {train_name}: "
            f"{n} generated samples vs {test_name} ({len(test)})",
        },
    }
    if cfg.model != "gan":
        result[cfg.model] = model_measures(
            run_dir, cfg, dev, (f_fake, p_fake, f_test), test, test_labels, train_x, train_labels
        )
        result.update({k: v for k, v in result[cfg.model].items() if not isinstance(v, dict)})
    io.write_json(run_dir / "evaluation.json", result)
    return result


def model_measures(
    run_dir: Path,
    cfg: MnistConfig,
    dev: torch.device,
    predicted: tuple[np.ndarray, np.ndarray, np.ndarray],
    test: torch.Tensor,
    test_labels: np.ndarray,
    train_x: torch.Tensor,
    train_labels: np.ndarray,
) -> dict[str, Any]:
    """The measures of a CGAN, InfoGAN or BiGAN run (``toygan.mnist.measures``), its figures
    written into ``run_dir``; ``predicted``: the classifier's features and digits of the samples
    and its features of the test images (``classifier.predict``, computed once by the caller)."""
    if cfg.model == "cgan":
        f_fake, p_fake, f_test = predicted
        path = run_dir / "sample_labels.npy"
        requested = io.load_npy(path)
        if requested.shape != (len(p_fake),) or not np.issubdtype(requested.dtype, np.integer):
            raise FileError(path, f"expected {len(p_fake)} integer labels, got "
                            f"{requested.dtype} {requested.shape}")  # fmt: skip
        out = measures.conditional_measures(f_fake, p_fake, requested, f_test, test_labels)
        out["about"] = (
            f"classifier's digit of {len(p_fake)} samples (label i % 10 asked of sample i) "
            f"vs the label asked; FD per class: samples asked for k vs test images of k"
        )
        return out
    if not (run_dir / "checkpoint.pt").exists():  # a --pretrained G: no D (Q) or E to measure
        return {"about": f"no checkpoint.pt: the {cfg.model} measures need the trained networks"}
    G, D, game = measures.load_networks(run_dir, cfg, dev)
    if cfg.model == "infogan":
        out = measures.code_measures(D, game, test, test_labels)
        prior = presets.build_prior(cfg.preset, cfg.model)
        figs = measures.save_figure2(G, game, prior, run_dir / "figure2", cfg.seed + 4)
        out["figures"] = [p.name for p in figs]
        out["about"] = (
            f"Q's most likely c1 on the {len(test)} test images as a digit classifier, after "
            "the best one-to-one matching of c1's values to digits (Hungarian)"
        )
        return out
    E, E0 = game.networks["encoder"], measures.random_encoder(cfg, dev)
    feats = {
        f"{name}{suffix}": (measures.encode(e, train_x, h), measures.encode(e, test, h))
        for name, e in (("trained", E), ("random", E0))
        for suffix, h in (("", False), ("_hidden", True))
    }
    feats["pixels"] = (train_x.cpu().numpy(), test.cpu().numpy())
    out = measures.representation_measures(feats, train_labels.astype(np.int64), test_labels)
    measures.save_reconstructions(G, E, test, run_dir / "reconstructions.png")
    out["about"] = (
        f"E(x) ({feats['trained'][1].shape[1]}-d) and the layer below it (hidden_, "
        f"{feats['trained_hidden'][1].shape[1]}-d) of the trained encoder, of a random one of "
        f"the same architecture (init seed {cfg.seed + measures.RANDOM_SEED_OFFSET}) and raw "
        f"pixels, features of {len(train_x)} training and {len(test)} test images: (a) linear "
        "probe, plain SGD lr 0.01, batch 256, 10 epochs; (b) logistic regression on standardised "
        "features, lbfgs to convergence; (c) 1-nearest-neighbour accuracy"
    )
    return out


def model_report(r: dict[str, Any]) -> list[str]:
    """The report lines of a CGAN, InfoGAN or BiGAN run's own measures."""
    if "conditional_accuracy" in r:
        per = ", ".join(f"{v:.0f}" for v in r["frechet_distance_per_class"])
        return [
            f"conditional accuracy (the digit asked for): {r['conditional_accuracy']:.4f} "
            f"(classifier's own test accuracy {r['classifier_test_accuracy']:.4f})",
            f"FD per class 0-9: {per} (mean {r['frechet_distance_class_mean']:.2f})",
        ]
    if "code_accuracy" in r:
        return [f"c1 as a digit classifier (matched): {r['code_accuracy']:.4f}"]
    if "nn_accuracy" in r:
        names = {
            "trained": "trained E(x)",
            "trained_hidden": "trained E, layer below",
            "random": "random E(x)",
            "random_hidden": "random E, layer below",
            "pixels": "pixels",
        }
        return [
            f"{names[k]}: linear probe {r[measures.linear_probe_key(p)]:.4f}, logistic "
            f"{r[f'{p}logistic_accuracy']:.4f}, 1-NN {r[f'{p}nn_accuracy']:.4f}"
            for k, p in measures.FEATURE_SETS.items()
        ]
    return []


def format_report(r: dict[str, Any]) -> str:
    p, c, d, nn = r["parzen"], r["counts"], r["digits"], r["nearest_train"]
    return "\n".join(
        [
            f"note: {r['note']}",
            f"Parzen log-likelihood on {r['splits']['test']} ({c['test']} images, "
            f"{c['generated']} samples, sigma={p['sigma']:.3f} chosen on {r['splits']['valid']} "
            f"({c['valid']})): {p['test_ll']:.1f} ± {p['test_ll_se']:.1f} (real images as "
            f"samples: {r['parzen_ll_real']:.1f} ± {r['parzen_se_real']:.1f})",
            f"classifier FD ({c['generated']} generated vs {r['splits']['test']} ({c['test']})): "
            f"{r['fd']['generated_vs_test']:.2f} (real vs real reference: "
            f"{r['fd']['train_vs_test']:.2f}, {r['fd']['about'].split('reference: ')[1]})",
            f"classifier accuracy on {r['classifier']['accuracy_on']}: "
            f"{r['classifier']['test_accuracy']:.4f} (trained on {r['classifier']['trained_on']})",
            f"digits of {c['generated']} samples: {d['generated_counts']}, KL to uniform "
            f"{d['kl_uniform']:.3f} nats (held-out real: {d['real_kl_uniform']:.3f}), "
            f"{d['digits_covered']}/10 covered",
            f"nearest {r['splits']['train']} image: median distance {nn['median_sample']:.3f} "
            f"(samples) vs {nn['median_test']:.3f} (test images); "
            f"{100 * nn['share_closer_than_test_p1']:.1f}% of samples closer than the test "
            "images' 1st percentile",
            *model_report(r),
        ]
    )


@dataclass
class EvalConfig:
    """Options of ``python -m toygan.evaluate RUN_DIR``."""

    data_dir: str = ""  # folder of the IDX files ('': the run's own --data-dir)
    device: str = "auto"  # auto | cpu | cuda
    cache_dir: str = ""  # where the classifier is cached ('': $TOYGAN_CACHE or ~/.cache/toygan)
    pretrained: str = ""  # evaluate toygan.pretrained(NAME): its samples go to RUN_DIR first
    best: bool = False  # evaluate G of RUN_DIR's best.pt (--parzen-every): samples in RUN_DIR/best*
    n_samples: int = 10000  # samples drawn from --pretrained / --best (the paper's 10,000)
    seed: int = 0  # noise seed of the --pretrained / --best samples
    sample_dropout: str = "preset"  # G's dropout when --pretrained / --best draw: preset | on | off


def sample_run(
    G: PretrainedGenerator,
    cfg: MnistConfig,
    run_dir: Path,
    n: int,
    seed: int,
    dropout: str = "preset",
) -> Path:
    """Make ``run_dir`` an evaluable run of generator ``G``: ``n`` samples drawn with ``seed``
    (samples.npy, (n, 784) in [0, 1]; CGAN / InfoGAN: sample_labels.npy, the digits asked for)
    and ``cfg`` with G's ``metadata`` as "weights". ``dropout`` "on" / "off" overrides whether a
    G with dropout (``intrinsic_dropout``) keeps it when sampling. Refuses a directory that
    holds a training run (only a directory this function wrote may be written again)."""
    if rundir.holds_run(run_dir):
        stored = io.read_json(run_dir / "config.json") if (run_dir / "config.json").exists() else {}
        if not (isinstance(stored, dict) and "weights" in stored) or rundir.read_status(run_dir):
            raise UsageError(
                "run_dir", f"{run_dir} holds a training run: give a directory of its own"
            )
    if not hasattr(G.G, "intrinsic_dropout"):
        if dropout != "preset":
            raise UsageError(
                "--sample-dropout", f"the {cfg.model} {cfg.preset} generator has no dropout"
            )
        G.metadata["sample_dropout"] = "none"
    else:
        if dropout != "preset":
            G.G.intrinsic_dropout = dropout == "on"
        G.metadata["sample_dropout"] = "on" if G.G.intrinsic_dropout else "off"
    run_dir.mkdir(parents=True, exist_ok=True)
    io.save_npy(run_dir / "samples.npy", G.generate(n, seed).numpy())
    if cfg.model in ("cgan", "infogan"):  # generate asks for 0, 1, ..., 9, 0, ...
        io.save_npy(run_dir / "sample_labels.npy", np.arange(n, dtype=np.int64) % 10)
    io.write_json(run_dir / "config.json", cfg.__dict__ | {"weights": G.metadata})
    return run_dir


def pretrained_run(
    name: str, run_dir: Path, data_dir: str, n: int, seed: int, dropout: str = "preset"
) -> Path:
    """Make ``run_dir`` an evaluable run of the shipped generator ``name`` (``sample_run``)."""
    G = pretrained(name)  # ValueError for a name not in PRETRAINED
    model, preset = PRETRAINED[name]
    cfg = MnistConfig(
        model=model, preset=preset, data_dir=data_dir, split="train", seed=seed, n_samples=n
    )
    return sample_run(G, cfg, run_dir, n, seed, dropout)


def default_pretrained_dir(name: str, dropout: str = "preset") -> Path:
    """Where ``--pretrained NAME`` draws its samples without a RUN_DIR."""
    return Path(f"runs/pretrained-{name}" + ("" if dropout == "preset" else f"-dropout-{dropout}"))


def best_run(run_dir: Path, data_dir: str, n: int, seed: int, dropout: str = "preset") -> Path:
    """Make ``run_dir/best`` (``best-dropout-on|off`` with ``dropout``) an evaluable run of G at
    the run's best validation Parzen epoch (``best.pt``, written by ``--parzen-every``: the
    paper's early stopping); ``sample_run``."""
    d = io.read_json(run_dir / "config.json")
    if not isinstance(d, dict) or d.get("dataset") != "mnist":
        raise FileError(run_dir / "config.json", "not the config of an MNIST training run")
    cfg = config_from_dict(MnistConfig, d)
    path = run_dir / "best.pt"
    if not path.is_file():
        raise UsageError("--best", f"{run_dir} has no best.pt: train it with --parzen-every N")
    state = io.load_checkpoint(path)
    meta = {k: str(state[k]) for k in RUN_META if k in state} | {"source": str(path)}
    kind = (cfg.model, cfg.preset)
    try:
        G = PretrainedGenerator(" ".join(kind), meta, kind)
    except ValueError as err:  # an unknown preset, or one that does not train the model
        raise FileError(run_dir / "config.json", str(err)) from None
    G.load(state.get("generator"), path)
    cfg.data_dir = data_dir or cfg.data_dir
    out = run_dir / ("best" if dropout == "preset" else f"best-dropout-{dropout}")
    return sample_run(G.eval(), cfg, out, n, seed, dropout)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="toygan.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument(
        "run_dir",
        nargs="?",
        default="",
        help="a finished MNIST run directory (with --pretrained: where its samples go; default "
        "runs/pretrained-NAME[-dropout-on|off])",
    )
    choices = {"device": ["auto", "cpu", "cuda"], "sample_dropout": ["preset", "on", "off"]}
    add_dataclass_arguments(parser, EvalConfig, choices=choices)
    ns = parser.parse_args(sys.argv[1:] if argv is None else argv)

    def body() -> int:
        if ns.run_dir:
            check_path(ns.run_dir, "run_dir", must_exist=not ns.pretrained)
        if ns.data_dir:
            check_path(ns.data_dir, "--data-dir")
        if ns.cache_dir:
            check_path(ns.cache_dir, "--cache-dir")
        if (ns.pretrained or ns.best) and ns.n_samples < 2:
            raise UsageError("--n-samples", f"must be at least 2, got {ns.n_samples}")
        if ns.pretrained and ns.best:
            raise UsageError("--best", "evaluates a run's best.pt: give RUN_DIR, not --pretrained")
        if ns.sample_dropout != "preset" and not (ns.pretrained or ns.best):
            raise UsageError(
                "--sample-dropout", "applies where samples are drawn: with --best or --pretrained"
            )
        if ns.best:
            if not ns.run_dir:
                raise UsageError("run_dir", "--best needs the run directory that holds best.pt")
            run = best_run(Path(ns.run_dir), ns.data_dir, ns.n_samples, ns.seed, ns.sample_dropout)
        elif ns.pretrained:
            try:
                run = pretrained_run(
                    ns.pretrained,
                    Path(ns.run_dir or default_pretrained_dir(ns.pretrained, ns.sample_dropout)),
                    ns.data_dir,
                    ns.n_samples,
                    ns.seed,
                    ns.sample_dropout,
                )
            except ValueError as err:
                raise UsageError("--pretrained", str(err)) from None
        elif ns.run_dir:
            run = Path(ns.run_dir)
        else:
            raise UsageError("run_dir", "give a run directory, or --pretrained NAME")
        if not (run / "samples.npy").exists() or not (run / "config.json").exists():
            raise UsageError("run_dir", f"{run} has no samples.npy and config.json")
        cache = Path(ns.cache_dir) if ns.cache_dir else clf.default_cache_dir()
        if cache.exists() and not cache.is_dir():
            raise UsageError("--cache-dir", f"{cache} is a file, not a directory")
        try:
            dev = resolve_device(ns.device)
        except ValueError as err:
            raise UsageError("--device", str(err)) from None
        try:
            r = evaluate_run(run, ns.data_dir or None, str(dev), str(cache))
        except MnistError as err:
            raise UsageError("--data-dir", str(err)) from None
        print(format_report(r))
        print(f"saved {run / 'evaluation.json'}")
        return 0

    return run_cli("toygan.evaluate", body)


if __name__ == "__main__":
    raise SystemExit(main())
