"""The prepared GPU benchmark runs on CPU with tiny settings and writes the JSON the docs read."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist"


@pytest.mark.skipif(not (MNIST / "train-images-idx3-ubyte.gz").exists(), reason="no MNIST files")
def test_gpu_bench_quick_writes_every_row(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_gpu", ROOT / "benchmarks" / "bench_gpu.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "gpu_bench.json"
    args = ["--quick", "--device", "cpu", "--data-dir", str(MNIST), "--out", str(out)]
    assert bench.main(args) == 0
    result = json.loads(out.read_text())
    mnist = [r for r in result["rows"] if r["kind"] == "mnist"]
    assert {(r["model"], r["preset"]) for r in mnist} >= {("gan", "goodfellow2014"),
                                                          ("bigan", "donahue2016")}  # fmt: skip
    assert all(r["seconds_per_50k_epoch"] > 0 for r in mnist)
    names = [r["name"] for r in result["rows"] if r["kind"] == "ensemble"]
    assert names == ["1D default", "2D lin2018 ring"] and result["quick"] is True
