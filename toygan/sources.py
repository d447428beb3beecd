"""Minibatches of a fixed dataset held on the device, by random permutation, one epoch at a time.

``EpochSource`` serves both worlds: the MNIST training images (``toygan.mnist.data``) and the
fixed training sets of the toy world (PacGAN trains on 100,000 points drawn once, passed in
shuffled epochs). It has the engine's ``sample(n, generator)`` and, for exact resume, a
``state_dict`` holding the current permutation and position.
"""

from __future__ import annotations

import torch


class EpochSource:
    """Minibatches of a (N, *shape) on-device dataset by random permutation, one epoch at a time.

    ``sample(n, generator)`` returns the next ``n`` rows of the current permutation, drawing a
    new permutation (from ``generator``) whenever one is used up; with ``labels`` (N,), the rows
    and their labels (n, *shape), (n,) int64. Only the position is on the host: no
    device-to-host synchronisation.
    """

    def __init__(self, data: torch.Tensor, labels: torch.Tensor | None = None) -> None:
        if data.ndim < 2 or len(data) == 0:
            raise ValueError(f"data must be (N, D) with N > 0, got {tuple(data.shape)}")
        if labels is not None and labels.shape != (len(data),):
            raise ValueError(f"labels must be ({len(data)},), got {tuple(labels.shape)}")
        self.data = data  # (N, *shape)
        self.labels = None if labels is None else labels.to(data.device, torch.int64)  # (N,)
        self.perm: torch.Tensor | None = None  # (N,) current permutation, on data's device
        self.pos = 0  # next index into perm

    def __len__(self) -> int:
        return len(self.data)

    def sample(
        self, n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        parts = []
        while n > 0:
            if self.perm is None or self.pos == len(self.data):
                self.perm = torch.randperm(
                    len(self.data), generator=generator, device=self.data.device
                )
                self.pos = 0
            take = min(n, len(self.data) - self.pos)
            parts.append(self.perm[self.pos : self.pos + take])
            self.pos, n = self.pos + take, n - take
        idx = parts[0] if len(parts) == 1 else torch.cat(parts)
        if self.labels is not None:
            return self.data[idx], self.labels[idx]  # (n, *shape), (n,)
        return self.data[idx]  # (n, *shape)

    def state_dict(self) -> dict:
        return {"perm": None if self.perm is None else self.perm.cpu(), "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        perm = state["perm"]
        self.perm = None if perm is None else perm.to(self.data.device)
        self.pos = int(state["pos"])
