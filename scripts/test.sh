#!/usr/bin/env bash
# toygan's test command (README.md): installs the package with its dev tools, then runs the linter,
# the test suite (fast Hypothesis profile) and the notebooks on tiny settings.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -e ".[dev]"
ruff check .
ruff format --check .
# One intra-op thread: the tests' tensors are small, and two threads per process thrash when
# pytest and a notebook kernel run side by side.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}" TOYGAN_QUICK=1 MPLBACKEND=Agg
python -m pytest -q --durations=15 tests --nbmake notebooks "$@"
