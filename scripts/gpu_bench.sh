#!/usr/bin/env bash
# The prepared GPU speed check (issue 24): run unchanged whenever a GPU is lent, from the repo
# root, e.g. with the device tool: carry [".cache/mnist"] and run `bash scripts/gpu_bench.sh`.
# At most 8 minutes. Writes gpu_bench.json (into $OUT when set, else the repo root): seconds per
# 50k epoch of every MNIST preset and model at its batch, model-steps/s of the 1D and 2D
# ensembles. Copy the MNIST files first: mkdir -p .cache/mnist && cp ../shared/data/mnist/* .cache/mnist/
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import toygan" 2>/dev/null || python -m pip install -q --no-deps -e .
data="${TOYGAN_MNIST_DIR:-.cache/mnist}"
[[ -f $data/train-images-idx3-ubyte.gz ]] || data=../shared/data/mnist
out="${OUT:-.}/gpu_bench.json"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
timeout 480 python benchmarks/bench_gpu.py --device auto --data-dir "$data" --out "$out"
