"""Test settings: quiet matplotlib, one intra-op thread, Hypothesis profiles by environment.

The tests' tensors are tiny: one torch thread is as fast and immune to a loaded machine.

- ``dev`` (default): more examples, for local runs.
- ``ci``: few examples, no deadline (training runs inside properties), derandomised: the fixed
  set every run of the suite sees.
- ``explore``: the property tests' second pass in the test command (``scripts/test.sh``):
  randomised, five times the examples of ``ci``, no example database (a clean clone has none
  anyway); the seed is printed, so a failure is rerun with ``--hypothesis-seed``. Holes in the
  1D theory were found this way, by hand, before it ran in CI.
- ``thorough``: 200 randomised examples per property, run before a change lands.

Every Hypothesis test is marked ``property`` (``pytest -m property`` selects them).
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import HealthCheck, is_hypothesis_test, settings  # noqa: E402

torch.set_num_threads(1)

settings.register_profile(
    "ci",
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "explore",
    max_examples=50,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_configure(config):
    config.addinivalue_line("markers", "property: a Hypothesis property test (@given)")


def pytest_collection_modifyitems(items):
    for item in items:
        if is_hypothesis_test(getattr(item, "obj", None)):
            item.add_marker(pytest.mark.property)
