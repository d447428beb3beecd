"""Images per second of toygan's MNIST training against a plain seed-style loop.

Both train the ``modern`` preset's architecture (G 100-256-512-1024-784 tanh, D 784-1024-512-
256-1, LeakyReLU 0.2, dropout 0.3) with Adam(betas (0.5, 0.999)), k = 1, the same batch
size, on the same device, in the same process, timed in alternating blocks; the best block is
reported (like ``timeit``: on a shared machine the other blocks measure the neighbours), with
the process CPU time per image beside it.

The seed-style loop is what users start from: a DataLoader over a TensorDataset, ``nn.Sigmoid``
+ ``nn.BCELoss``, separate D passes on real and fake, ``.item()`` every step, default Adam.
toygan: the dataset on the device, permutation batches, one D pass on real+fake, logits with
softplus losses, the MLPs' analytic backward passes (no gradients for D's weights in the G
step), large layers as (W x^T + b)^T, reused gradient buffers, LeanAdam, statistics read every
100 steps.

Each batch size is its own pair of loops; the default measures the ``modern`` preset's batch (16),
the seed code's (64) and the ``goodfellow2014`` preset's (100) on the paper's train[0:50000].

``--model cgan|infogan|bigan [--preset P]`` compares the engine playing that game with a plain
PyTorch loop of the same networks and algorithm (``plain_family.PlainLoop``), at batch 64 and
at the preset's own batch size (default).

    python benchmarks/bench_mnist.py --data-dir ../shared/data/mnist
    python benchmarks/bench_mnist.py --data-dir ../shared/data/mnist --model infogan
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from plain_family import PlainLoop
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from toygan.engine import resolve_device
from toygan.mnist import presets
from toygan.mnist.data import load_mnist, to_pixels
from toygan.mnist.experiment import MnistConfig, build_trainer


def seed_models(device) -> tuple[nn.Module, nn.Module]:
    """The same architecture as toygan's ``modern`` preset, written the seed way."""
    G = nn.Sequential(
        nn.Linear(100, 256), nn.LeakyReLU(0.2), nn.Linear(256, 512), nn.LeakyReLU(0.2),
        nn.Linear(512, 1024), nn.LeakyReLU(0.2), nn.Linear(1024, 784), nn.Tanh(),
    )  # fmt: skip
    D = nn.Sequential(
        nn.Linear(784, 1024), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Linear(1024, 512), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Linear(512, 256), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Linear(256, 1), nn.Sigmoid(),
    )  # fmt: skip
    return G.to(device), D.to(device)


class SeedLoop:
    """A seed-style training loop, stepped ``steps`` iterations at a time."""

    def __init__(self, data: torch.Tensor, batch_size: int, device) -> None:
        self.device, self.m = device, batch_size
        self.G, self.D = seed_models(device)
        self.g_opt = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.d_opt = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.loss = nn.BCELoss()
        self.loader = DataLoader(
            TensorDataset(data.cpu()), batch_size, shuffle=True, drop_last=True
        )
        self.batches = iter(self.loader)
        self.d_losses: list[float] = []
        self.g_losses: list[float] = []

    def run(self, steps: int) -> None:
        ones = torch.ones(self.m, 1, device=self.device)
        zeros = torch.zeros(self.m, 1, device=self.device)
        for _ in range(steps):
            try:
                (real,) = next(self.batches)
            except StopIteration:
                self.batches = iter(self.loader)
                (real,) = next(self.batches)
            real = real.to(self.device)
            fake = self.G(torch.randn(self.m, 100, device=self.device))
            self.d_opt.zero_grad()
            d_loss = self.loss(self.D(real), ones) + self.loss(self.D(fake.detach()), zeros)
            d_loss.backward()
            self.d_opt.step()
            self.g_opt.zero_grad()
            g_loss = self.loss(self.D(fake), ones)
            g_loss.backward()
            self.g_opt.step()
            self.d_losses.append(d_loss.item())
            self.g_losses.append(g_loss.item())


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(args, batch_size: int) -> float:
    """Print one batch size's comparison; return toygan's images/s over the seed loop's."""
    cfg = MnistConfig(
        split=args.split, limit=args.limit, data_dir=args.data_dir, device=args.device,
        batch_size=batch_size, progress=False, model=args.model, preset=args.preset,
    )  # fmt: skip
    device = resolve_device(args.device)
    trainer, _ = build_trainer(cfg)
    images, labels = load_mnist(args.split, args.data_dir or None, cfg.n_train, labels=True)
    if args.model == "gan":  # the trainer's images, the seed code's [-1, 1] range
        seed = SeedLoop(to_pixels(images, (-1.0, 1.0), "cpu"), trainer.batch_size, device)
    else:  # the same networks, written plainly; pixels in [0, 1] (sigmoid outputs)
        y = torch.from_numpy(labels.astype(np.int64))
        seed = PlainLoop(trainer, to_pixels(images, (0.0, 1.0), "cpu"), y)

    def timed(fn) -> tuple[float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        sync(device)
        return time.perf_counter() - t0, time.process_time() - c0

    loops = {
        "toygan": lambda: trainer.train(args.steps, progress=False),
        "plain": lambda: seed.run(args.steps),
    }

    trainer.train(5, progress=False)  # warm-up (allocator, kernels)
    seed.run(5)
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in loops}
    for _ in range(args.repeats):
        for name, fn in loops.items():
            times[name].append(timed(fn))
    m = trainer.batch_size
    ips = {k: args.steps * m / min(w for w, _ in v) for k, v in times.items()}
    cpu_ms = {
        k: 1e3 * statistics.median(c for _, c in v) / (args.steps * m) for k, v in times.items()
    }
    print(
        f"model={cfg.model} preset={cfg.preset} device={device} threads="
        f"{torch.get_num_threads()} batch={m} steps/block={args.steps} repeats={args.repeats} "
        f"data={args.split}[0:{len(images)}]"
    )
    for k, v in ips.items():
        walls = np.round([w for w, _ in times[k]], 2).tolist()
        print(
            f"{k:>10}: {v:8.1f} images/s (best block; blocks {walls} s), "
            f"{cpu_ms[k]:.2f} ms CPU time per image (median)"
        )
    ratio = ips["toygan"] / ips["plain"]
    print(f"ratio toygan / plain: {ratio:.2f}x images/s, ", end="")
    print(f"{cpu_ms['plain'] / cpu_ms['toygan']:.2f}x CPU time per image")
    return ratio


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default="", help="folder of the IDX files (default: cache)")
    p.add_argument("--split", default="train", choices=["train", "test"], help="default: train")
    p.add_argument("--limit", type=int, default=0, help="first N images (0: train[0:50000])")
    p.add_argument("--model", default="gan", choices=list(presets.MODELS))
    p.add_argument("--preset", default="", help="default: the model's own preset")
    p.add_argument(
        "--batch-size", type=int, nargs="+", default=[],
        help="batch sizes, each measured on its own (default: gan 16 64 100; others 64 and the "
        "preset's)",
    )  # fmt: skip
    p.add_argument("--steps", type=int, default=30, help="iterations per timed block")
    p.add_argument("--repeats", type=int, default=5, help="alternating timed blocks per loop")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    args = p.parse_args(argv)
    if not args.batch_size:
        own = presets.get_preset(args.preset or presets.DEFAULT_PRESET[args.model]).batch_size
        args.batch_size = [16, 64, 100] if args.model == "gan" else sorted({64, own})
    ratios = {m: measure(args, m) for m in args.batch_size}
    print("summary: " + ", ".join(f"batch {m}: {r:.2f}x" for m, r in ratios.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
