"""The speed table of the docs' speed page, on whatever device is given: one JSON for a GPU.

Measures, on ``--device``, in one process:

- seconds per 50,000-image epoch of every MNIST (model, preset) pair toygan trains, at the
  preset's batch size (``toygan.mnist.presets.presets_for``): ``--steps`` timed updates after
  a warm-up, scaled to 50,000 / batch updates;
- model-steps/s of the 1D ensemble (the default 1D config, ``--members``) and of the 2D ensemble
  (``lin2018`` members on the ring, ``--members``).

Written to ``--out`` (JSON: device name, torch version, one row per measurement). The goal of
issue 24 on an H100 is ``goodfellow2014`` <= 0.5 s per 50k epoch. ``scripts/gpu_bench.sh`` runs
this unchanged on a lent GPU; ``--quick`` is the CPU smoke run of the tests.

    python benchmarks/bench_gpu.py --device cuda --data-dir .cache/mnist --out gpu_bench.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from toygan.engine import resolve_device  # noqa: E402
from toygan.mnist import presets  # noqa: E402
from toygan.mnist.experiment import MnistConfig, build_trainer  # noqa: E402
from toygan.toy.config import ToyConfig  # noqa: E402
from toygan.toy.ensemble import build_ensemble  # noqa: E402
from toygan.toy.presets import preset_values  # noqa: E402

EPOCH = 50_000  # the paper's training split


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device: torch.device, fn) -> float:
    sync(device)
    t0 = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t0


def mnist_rows(args, device: torch.device) -> list[dict]:
    rows = []
    for model in ("gan", "cgan", "infogan", "bigan"):
        for preset in presets.presets_for(model):
            cfg = MnistConfig(model=model, preset=preset, data_dir=args.data_dir, split="train",
                              limit=args.limit, device=args.device, progress=False)  # fmt: skip
            trainer, _ = build_trainer(cfg)
            trainer.train(args.warmup, progress=False)  # kernels, allocator
            seconds = timed(device, lambda t=trainer: t.train(args.steps, progress=False))
            batch = trainer.batch_size
            per_epoch = seconds / args.steps * (EPOCH / batch)
            row = {"kind": "mnist", "model": model, "preset": preset, "batch": batch}
            rows.append(row | {"timed_updates": args.steps, "seconds_per_50k_epoch": per_epoch})
            print(f"{model:>8} {preset:<15} batch {batch:>4}: {per_epoch:8.2f} s per 50k epoch")
    return rows


def ensemble_row(name: str, cfg: ToyConfig, members: int, steps: int, device) -> dict:
    trainer = build_ensemble(cfg, list(range(members)))
    trainer.train_members(max(1, steps // 10), progress=False)  # warm-up
    seconds = timed(device, lambda: trainer.train_members(steps, progress=False))
    rate = members * steps / seconds
    print(f"{name:>24}: {members} members, {rate:10.1f} model-steps/s")
    return {"kind": "ensemble", "name": name, "members": members, "timed_steps": steps,
            "model_steps_per_second": rate}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--data-dir", default="../shared/data/mnist")
    ap.add_argument("--out", default="gpu_bench.json")
    ap.add_argument("--steps", type=int, default=200, help="timed updates per MNIST preset")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--limit", type=int, default=0, help="training images (0: all 50,000)")
    ap.add_argument("--members", type=int, default=40)
    ap.add_argument("--ensemble-steps", type=int, default=500)
    ap.add_argument("--quick", action="store_true", help="tiny settings (a smoke run)")
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.warmup, args.limit, args.members, args.ensemble_steps = 2, 1, 512, 2, 4
    device = resolve_device(args.device)
    rows = mnist_rows(args, device)
    d1 = ToyConfig(device=args.device)
    d2 = ToyConfig(dataset="ring", device=args.device, **preset_values("lin2018"))
    rows.append(ensemble_row("1D default", d1, args.members, args.ensemble_steps, device))
    rows.append(ensemble_row("2D lin2018 ring", d2, args.members, args.ensemble_steps, device))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    result = {"device": name or device.type, "torch": torch.__version__, "quick": args.quick,
              "command": " ".join(["python benchmarks/bench_gpu.py", *(argv or sys.argv[1:])]),
              "rows": rows}  # fmt: skip
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
