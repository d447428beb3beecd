"""The sweeps on Ray: ``--ray local`` writes the in-process run's CSVs byte for byte (regime map,
comparison, 2D benchmark, a benchmark resumed on Ray), and a missing Ray or an address that does
not answer is one line naming --ray, before anything is written."""

from __future__ import annotations

import functools
import json
import sys

import pytest
from oracles import usage_error

from toygan import cli, sweep
from toygan.run import main

ray = pytest.importorskip("ray")

REGIMES = ["--diagnostic", "regimes", "--objective", "nonsaturating", "--seeds", "2", "--steps",
           "5", "--batch-size", "16", "--k-grid", "1", "--d-lr-grid", "1", "3", "--offset-grid",
           "0", "--eval-samples", "100", "--device", "cpu"]  # fmt: skip
COMPARE = ["--objective", "saturating", "nonsaturating", "--seeds", "2", "--steps", "20",
           "--eval-every", "10", "--panel-steps", "0", "10", "20", "--eval-samples", "200",
           "--n-samples", "300", "--batch-size", "32", "--no-progress", "--no-gif",
           "--device", "cpu"]  # fmt: skip
# tests/test_toy2d_cli.py's TINY_BENCH, with two configs
BENCH = ["--dataset", "grid", "--preset", "lin2018", "--g-width", "8", "--d-width", "8",
         "--train-points", "200", "--batch-size", "20", "--steps", "30", "--eval-every", "10",
         "--round-steps", "10", "--seeds", "2", "--no-progress", "--device", "cpu",
         "--packing", "1", "2"]  # fmt: skip


def test_without_ray_installed_it_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    err = usage_error(main, [*REGIMES, "--ray", "local", "--out", str(tmp_path / "r")], capsys)
    assert "--ray" in err and "toygan[ray]" in err, err
    assert not (tmp_path / "r").exists()


def test_an_address_that_does_not_answer_is_one_line(tmp_path, capsys):
    if ray.is_initialized():  # connect() reuses a running instance: this needs none
        ray.shutdown()
    err = usage_error(main, [*REGIMES, "--ray", "127.0.0.1:1", "--out", str(tmp_path / "r")],
                      capsys)  # fmt: skip
    assert "--ray" in err and "127.0.0.1:1" in err, err
    assert not (tmp_path / "r").exists()
    assert not ray.is_initialized()


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


def both(tmp_path, argv: list[str]):
    """Run ``argv`` in-process and with ``--ray local``; the two run directories."""
    here, there = tmp_path / "here", tmp_path / "ray"
    assert main([*argv, "--out", str(here)]) == 0
    assert main([*argv, "--ray", "local", "--out", str(there)]) == 0
    return here, there


def same_bytes(a, b, *names: str) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def timeless(summary):
    """summary.json without what is not a result: times and the command line."""
    if isinstance(summary, dict):
        return {k: timeless(v) for k, v in summary.items()
                if k not in ("train_seconds", "command")}  # fmt: skip
    return [timeless(v) for v in summary] if isinstance(summary, list) else summary


def test_cells_come_back_in_order_and_toygan_errors_stay_one_line(local_ray):
    assert list(sweep.map_cells(abs, [-3, 2, -1], ray="local")) == [3, 2, 1]
    assert list(sweep.map_cells(abs, [-3, 2, -1])) == [3, 2, 1]
    bad = functools.partial(cli.require, False, "steps")
    with pytest.raises(cli.UsageError, match="--steps: too few"):
        list(sweep.map_cells(bad, ["too few"], ray="local"))


def test_regime_map_on_ray_writes_the_same_csv(local_ray, tmp_path, capsys):
    here, there = both(tmp_path, REGIMES)
    same_bytes(here, there, "regimes.csv", "regimes_summary.csv")
    assert len((here / "regimes.csv").read_text().splitlines()) == 1 + 2 * 2  # 2 cells x 2 seeds


def test_comparison_on_ray_writes_the_same_csv(local_ray, tmp_path, capsys):
    here, there = both(tmp_path, COMPARE)
    same_bytes(here, there, "per_seed.csv", "curves.csv")
    s1, s2 = (json.loads((d / "summary.json").read_text()) for d in (here, there))
    assert timeless(s1) == timeless(s2)


def test_benchmark_on_ray_and_resumed_on_ray_write_the_same_csv(local_ray, tmp_path, capsys):
    here, there = both(tmp_path, BENCH)
    same_bytes(here, there, "curves.csv")
    s1, s2 = (json.loads((d / "summary.json").read_text()) for d in (here, there))
    assert timeless(s1) == timeless(s2) and len(s1["configs"]) == 2
    parts = tmp_path / "parts"  # 20 steps here, then extended to 30 on Ray
    short = [a if a != "30" else "20" for a in BENCH]
    assert main([*short, "--out", str(parts)]) == 0
    assert main(["--resume", str(parts), "--steps", "30", "--ray", "local", "--no-progress"]) == 0
    same_bytes(here, parts, "curves.csv")
