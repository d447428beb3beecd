"""Test settings: quiet matplotlib, one intra-op thread, Hypothesis profiles by environment.

The tests' tensors are tiny: one torch thread is as fast and immune to a loaded machine.

- ``dev`` (default): more examples, for local runs.
- ``ci``: few examples, no deadline (training runs inside properties), derandomised so CI is
  reproducible.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import torch  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

torch.set_num_threads(1)

settings.register_profile(
    "ci",
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
