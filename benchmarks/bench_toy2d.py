"""Speed of the 2D ensemble: model-steps/s of ``lin2018`` members against a plain per-seed loop.

The baseline is a plain PyTorch loop of the same PacGAN networks and algorithm, one seed at a
time, written the way research scripts write it: ``nn.Sequential`` G (Linear without bias,
``nn.BatchNorm1d``, ReLU) x 4 -> Linear 2, a maxout D (Linear, view, max) x 3 -> Linear 1,
``F.binary_cross_entropy_with_logits``, both losses from one forward pass and both optimiser
steps (the code's simultaneous update), default ``torch.optim.Adam``, fresh minibatches of the
ring drawn every step, ``.item()`` on the losses every step. toygan's side is one vectorised
ensemble (``toygan.toy.ensemble``) of ``--members`` seeds of ``ToyConfig.from_preset("lin2018")``
on the fixed 100,000-point training set. Both run in this process, the plain loop before and
after (its mean is used, since load drifts); the ratio is the target of issue 21 (>= 3x at 40
members). The script also prints the FLOP rate each side reaches (the networks' matrix products,
counted in closed form) against the batched-matmul rate this machine reaches on the ensemble's
largest product, measured here.

    python benchmarks/bench_toy2d.py [--members 40] [--steps 60] [--packing 1] [--device cpu]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from toygan.toy.config import ToyConfig  # noqa: E402
from toygan.toy.ensemble import build_ensemble  # noqa: E402
from toygan.toy.mixture import ring  # noqa: E402

TARGET = 3.0  # ensemble model-steps/s over the plain loop's, at 40 members (issue 21)


class Maxout(nn.Module):
    def __init__(self, d_in: int, units: int, pieces: int) -> None:
        super().__init__()
        self.lin, self.units, self.pieces = nn.Linear(d_in, units * pieces), units, pieces

    def forward(self, x):
        return self.lin(x).view(-1, self.units, self.pieces).max(-1).values


def plain_networks(packing: int) -> tuple[nn.Module, nn.Module]:
    g_layers: list[nn.Module] = []
    for i in range(4):
        g_layers += [nn.Linear(2 if i == 0 else 400, 400, bias=False), nn.BatchNorm1d(400),
                     nn.ReLU()]  # fmt: skip
    G = nn.Sequential(*g_layers, nn.Linear(400, 2))
    D = nn.Sequential(
        Maxout(2 * packing, 200, 5), Maxout(200, 200, 5), Maxout(200, 200, 5), nn.Linear(200, 1)
    )
    for m in (*G.modules(), *D.modules()):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return G, D


def plain_steps_per_second(steps: int, packing: int = 1, device: str = "cpu") -> float:
    """One seed of the plain loop: iterations per second (after 5 warm-up iterations)."""
    torch.manual_seed(0)
    G, D = (net.to(device) for net in plain_networks(packing))
    g_opt = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.8, 0.999))
    d_opt = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.8, 0.999))
    data, batch = ring(), 100
    ones, zeros = torch.ones(batch, 1, device=device), torch.zeros(batch, 1, device=device)
    t0 = 0.0
    for i in range(steps + 5):
        if i == 5:
            t0 = time.perf_counter()
        x = data.sample(batch * packing).to(device).view(batch, -1)
        fake = torch.cat([G(torch.randn(batch, 2, device=device)) for _ in range(packing)], 1)
        real_l, fake_l = D(x), D(fake)
        d_loss = F.binary_cross_entropy_with_logits(real_l, ones) + \
            F.binary_cross_entropy_with_logits(fake_l, zeros)  # fmt: skip
        g_loss = F.binary_cross_entropy_with_logits(fake_l, ones)
        d_opt.zero_grad()
        g_opt.zero_grad()
        d_grads = torch.autograd.grad(d_loss, list(D.parameters()), retain_graph=True)
        g_grads = torch.autograd.grad(g_loss, list(G.parameters()))
        for p, g in zip([*D.parameters(), *G.parameters()], [*d_grads, *g_grads], strict=True):
            p.grad = g
        d_opt.step()
        g_opt.step()
        d_loss.item(), g_loss.item()
    return steps / (time.perf_counter() - t0)


def ensemble_model_steps_per_second(members: int, steps: int, packing: int, device: str):
    cfg = ToyConfig.from_preset("lin2018", dataset="ring", packing=packing, device=device)
    trainer = build_ensemble(cfg, range(members))
    trainer.train(5, progress=False)
    t0 = time.perf_counter()
    trainer.train(steps, progress=False)
    return members * steps / (time.perf_counter() - t0)


def flops_per_step(packing: int, batch: int = 100) -> float:
    """Matrix-product FLOPs of one simultaneous step of one member: G forward on m x batch
    noise and backward; D forward on 2 x batch packs, backward for D's weights and, on the fake
    half, for its inputs (G's gradient). Forward 2 in out per row; backward twice that."""
    g = [(2, 400), (400, 400), (400, 400), (400, 400), (400, 2)]
    d = [(2 * packing, 1000), (200, 1000), (200, 1000), (200, 1)]
    g_rows, d_rows = packing * batch, 2 * batch
    g_f = sum(2 * a * b for a, b in g) * g_rows
    d_f = sum(2 * a * b for a, b in d) * d_rows
    return 3 * g_f + d_f + 2 * d_f  # G: fwd + 2 bwd; D: fwd + weight and input grads


def bmm_rate(members: int, device: str) -> float:
    """GFLOP/s of this machine's batched matmul on (S, 100, 400) x (S, 400, 400)."""
    a = torch.randn(members, 100, 400, device=device)
    b = torch.randn(members, 400, 400, device=device)
    for _ in range(3):
        torch.bmm(a, b)
    n, t0 = 20, time.perf_counter()
    for _ in range(n):
        torch.bmm(a, b)
    if device != "cpu":
        torch.cuda.synchronize()
    return n * 2 * members * 100 * 400 * 400 / (time.perf_counter() - t0) / 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=40)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--plain-steps", type=int, default=150)
    parser.add_argument("--packing", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    plain = [plain_steps_per_second(args.plain_steps, args.packing, args.device)]
    ens = ensemble_model_steps_per_second(args.members, args.steps, args.packing, args.device)
    plain.append(plain_steps_per_second(args.plain_steps, args.packing, args.device))
    base = sum(plain) / 2
    ratio = ens / base
    flop = flops_per_step(args.packing)
    rate = bmm_rate(args.members, args.device)
    print(f"threads: {torch.get_num_threads()}, device: {args.device}, packing {args.packing}")
    print(f"plain loop (one seed): {plain[0]:.1f} / {plain[1]:.1f} steps/s "
          f"({base * flop / 1e9:.1f} GFLOP/s)")  # fmt: skip
    print(f"ensemble ({args.members} members): {ens:.1f} model-steps/s "
          f"({ens * flop / 1e9:.1f} GFLOP/s)")  # fmt: skip
    print(f"batched matmul, (S, 100, 400) x (S, 400, 400): {rate:.1f} GFLOP/s; one step "
          f"{flop / 1e9:.3f} GFLOP of matrix products")  # fmt: skip
    verdict = "met" if ratio >= TARGET else "NOT met"
    print(f"ratio {ratio:.2f}x (target >= {TARGET:g}x at 40 members): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
