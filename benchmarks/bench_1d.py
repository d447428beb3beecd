"""Single-run training speed: toygan's engine against a plain seed-style loop, same process.

Both train the same architecture (LeakyReLU(0.2) MLPs, width 64, depth 2), batch 128, k = 1,
Adam(1e-3, betas (0.5, 0.999)), on the same two-mode mixture, for --steps iterations. Runs
alternate (plain, toygan, plain, toygan, ...) so that machine noise hits both; the ratio
reported is the median over --repeats pairs. Target (issue 2): >= 2x.

toygan runs as a user gets it: the analytic backward pass, LeanAdam, statistics per chunk, and
one intra-op thread for networks this small (``GANTrainer``'s default); the plain loop runs with
torch's default thread count, as tutorials do.

    python benchmarks/bench_1d.py [--steps 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from plain_loops import plain_1d_steps_per_second  # noqa: E402

from toygan import ToyConfig, build_trainer  # noqa: E402

TARGET = 2.0


def toygan_steps_per_second(steps: int, seed: int = 0) -> float:
    cfg = ToyConfig(activation="leaky_relu", batch_size=128, k_steps=1, lr=1e-3, lr_decay="none",
                    steps=steps, seed=seed, device="cpu")  # fmt: skip
    trainer = build_trainer(cfg)
    start = time.perf_counter()
    trainer.train(steps, progress=False)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    toygan_steps_per_second(100)  # warm-up: first-call allocations and kernel selection
    plain_1d_steps_per_second(steps=100)
    ratios, ours, plain = [], [], []
    for r in range(args.repeats):
        p = plain_1d_steps_per_second(steps=args.steps, seed=r)
        o = toygan_steps_per_second(args.steps, seed=r)
        plain.append(p)
        ours.append(o)
        ratios.append(o / p)
        print(f"repeat {r}: plain {p:7.0f} steps/s   toygan {o:7.0f} steps/s   ratio {o / p:.2f}x")
    ratio = statistics.median(ratios)
    print(f"plain seed-style loop : {statistics.median(plain):7.0f} steps/s (median)")
    print(f"toygan engine         : {statistics.median(ours):7.0f} steps/s (median)")
    verdict = "met" if ratio >= TARGET else "NOT met"
    print(f"ratio: {ratio:.2f}x (target >= {TARGET:.0f}x: {verdict})")


if __name__ == "__main__":
    main()
