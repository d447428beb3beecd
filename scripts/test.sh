#!/usr/bin/env bash
# toygan's test command (README.md): installs the package with its dev, docs and Ray extras, then
# runs the linter, the strict docs build (into a temporary directory), the test suite (fast
# Hypothesis profile; the Ray tests start a local Ray instance) and the notebooks on tiny settings,
# then the property tests once more with randomised, more numerous examples.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -e ".[dev,docs,ray]"
ruff check .
ruff format --check .
# One intra-op thread: the tests' tensors are small, and two threads per process thrash when
# pytest and a notebook kernel run side by side.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}" TOYGAN_QUICK=1 MPLBACKEND=Agg
# The MNIST notebook needs the real training and test files, like the MNIST tests (which skip
# without them).
mnist_dir="${TOYGAN_MNIST_DIR:-../shared/data/mnist}"
notebooks=()
for nb in notebooks/*.ipynb; do
    if [[ $nb == *mnist* && ! ( -f $mnist_dir/t10k-images-idx3-ubyte.gz && \
        -f $mnist_dir/train-images-idx3-ubyte.gz ) ]]; then
        echo "MNIST files not found in $mnist_dir: skipping $nb"
        continue
    fi
    notebooks+=("$nb")
done
site=$(mktemp -d); NO_MKDOCS_2_WARNING=1 mkdocs build --strict --site-dir "$site"; rm -rf "$site"
python -m pytest -q --durations=15 tests --nbmake "${notebooks[@]}" "$@"
# The property tests again, randomised with five times the examples (profile "explore",
# tests/conftest.py): the fixed derandomised set above never changes, so this pass is the one
# that finds new holes. The seed is printed; rerun a failure with the same --hypothesis-seed.
seed="${TOYGAN_HYPOTHESIS_SEED:-$(python -c 'import random; print(random.randrange(2**32))')}"
echo "property tests, randomised: --hypothesis-seed=$seed"
HYPOTHESIS_PROFILE=explore python -m pytest -q -m property tests --hypothesis-seed="$seed" \
    -p no:cacheprovider "$@"
