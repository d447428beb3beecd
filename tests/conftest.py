"""Test settings: quiet matplotlib, Hypothesis profiles chosen by HYPOTHESIS_PROFILE.

- ``dev`` (default): more examples, for local runs.
- ``ci``: few examples, no deadline (training runs inside properties), derandomised so CI is
  reproducible.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci",
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
