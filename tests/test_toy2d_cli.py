"""The 2D fronts as a careless user and an attacker meet them: bad flags, flags of one dimension
given to the other, resumes that would change a run; kill-and-resume is bitwise exact for a 2D
run and for the benchmark table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_reliability import assert_kill_and_resume_is_bitwise_exact, one_line_error, snapshot_files

from toygan.run import main

TINY_2D = ["--dataset", "ring", "--steps", "40", "--snapshot-every", "20", "--n-samples", "200",
           "--g-width", "8", "--d-width", "8", "--batch-size", "32", "--no-progress",
           "--device", "cpu"]  # fmt: skip
TINY_BENCH = ["--dataset", "grid", "--preset", "lin2018", "--g-width", "8", "--d-width", "8",
              "--train-points", "200", "--batch-size", "20", "--steps", "30",
              "--eval-every", "10", "--round-steps", "10", "--seeds", "2", "--no-progress",
              "--device", "cpu"]  # fmt: skip


@pytest.fixture(scope="module")
def run_2d(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("r2d") / "run"
    assert main([*TINY_2D, "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--dataset", "nowhere"], "--dataset"),
        (["--dataset", "ring", "--packing", "0"], "--packing"),
        (["--dataset", "ring", "--unrolled", "-1"], "--unrolled"),
        (["--dataset", "ring", "--means", "1", "2"], "--means"),  # 1D flags given to 2D
        (["--dataset", "grid", "--stds", "0.1"], "--stds"),
        (["--dataset", "mixture2d"], "--means"),
        (["--dataset", "mixture2d", "--means", "0", "0", "1"], "--means"),
        (["--dataset", "mixture2d", "--means", "0", "0", "1", "1", "--stds", "0.1"], "--stds"),
        (["--dataset", "mixture", "--preset", "lin2018"], "--preset"),  # a 2D preset in 1D
        (["--dataset", "ring", "--preset", "nope"], "--preset"),
        (["--dataset", "ring", "--objective", "wasserstein_gp", "--unrolled", "3"], "--unrolled"),
        (["--dataset", "ring", "--update", "simultaneous", "--k-steps", "2"], "--k-steps"),
        (["--dataset", "ring", "--train-points", "10", "--batch-size", "32"], "--train-points"),
        (["--dataset", "ring", "--d-maxout", "0"], "--d-maxout"),
        (["--dataset", "ring", "--init", "zeros"], "--init"),
    ],
)
def test_2d_bad_flag(argv, flag, tmp_path, capsys):
    out = tmp_path / "out"
    err = one_line_error(main, [*TINY_2D, *argv, "--out", str(out)], capsys)
    assert flag in err, err
    assert not out.exists()


def test_resuming_a_2d_run_with_1d_flags_is_refused(run_2d, tmp_path, capsys):
    from test_reliability import killed_copy

    out = killed_copy(run_2d, tmp_path / "run")
    before = snapshot_files(out)
    for argv, flag in ((["--means", "-2", "2"], "--means"), (["--dataset", "mixture"], "--dataset"),
                       (["--packing", "2"], "--packing")):  # fmt: skip
        err = one_line_error(main, ["--resume", str(out), *argv, "--no-progress"], capsys)
        assert flag in err, err
        assert snapshot_files(out) == before


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--packing", "0", "2"], "--packing"),
        (["--configs", "nonsaturating:packing"], "--configs"),
        (["--configs", "nope"], "--configs"),
        (["--configs", "nonsaturating", "nonsaturating"], "--configs"),
        (["--configs", "nonsaturating", "--packing", "1", "2"], "--configs"),
        (["--configs", "wasserstein_gp:unrolled=2"], "--unrolled"),
        (["--round-steps", "0"], "--round-steps"),
        (["--seeds", "0"], "--seeds"),
    ],
)
def test_benchmark_bad_flag(argv, flag, tmp_path, capsys):
    out = tmp_path / "out"
    err = one_line_error(main, [*TINY_BENCH, *argv, "--out", str(out)], capsys)
    assert flag in err, err
    assert not out.exists()


def test_kill_and_resume_2d_is_bitwise_exact(tmp_path):
    argv = [*TINY_2D, "--preset", "lin2018", "--train-points", "300", "--steps", "60",
            "--snapshot-every", "20", "--seed", "3"]  # fmt: skip
    files = ("samples.npy", "metrics.csv", "snapshots.csv", "panel.png", "strip.png")
    assert_kill_and_resume_is_bitwise_exact(tmp_path, argv, files)  # batch norm's statistics too


def test_benchmark_resumes_and_extends_bit_for_bit(tmp_path, capsys):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    rows = ["--packing", "1", "2"]
    assert main([*TINY_BENCH, *rows, "--out", str(whole)]) == 0
    short = [a if a != "30" else "20" for a in TINY_BENCH]  # --steps 20, then extended to 30
    assert main([*short, *rows, "--out", str(parts)]) == 0
    capsys.readouterr()
    err = one_line_error(main, ["--resume", str(parts), "--seeds", "3"], capsys)
    assert "--seeds" in err
    assert main(["--resume", str(parts), "--steps", "30", "--no-progress"]) == 0
    assert (parts / "curves.csv").read_bytes() == (whole / "curves.csv").read_bytes()
    s1 = json.loads((whole / "summary.json").read_text())["configs"]
    s2 = json.loads((parts / "summary.json").read_text())["configs"]
    for a, b in zip(s1, s2, strict=True):
        assert {k: a[k] for k in ("modes", "high_quality", "reverse_kl", "steps")} == {
            k: b[k] for k in ("modes", "high_quality", "reverse_kl", "steps")
        }
    assert [c["name"] for c in s1] == ["nonsaturating", "nonsaturating-packing2"]
    assert s1[0]["steps"] == 30 and s1[0]["n_seeds"] == 2
    assert (whole / "curves.png").stat().st_size > 0
    assert (whole / "nonsaturating-packing2" / "checkpoint.pt").is_file()


def test_export_writes_the_committed_files_and_a_table_with_the_papers_rows(tmp_path, capsys):
    from toygan.toy import figures2d

    run = tmp_path / "bench"
    assert main([*TINY_BENCH, "--packing", "1", "2", "--out", str(run)]) == 0
    prefix = tmp_path / "figs" / "grid_benchmark"
    paths = figures2d.export_benchmark(run, prefix)
    names = sorted(p.name for p in paths)
    assert names == ["grid_benchmark.json", "grid_benchmark.png", "grid_benchmark_curves.csv",
                     "grid_benchmark_samples.npz", "grid_benchmark_samples.png"]  # fmt: skip
    with np.load(prefix.with_name("grid_benchmark_samples.npz")) as f:
        assert sorted(f.files) == ["nonsaturating", "nonsaturating-packing2"]
        assert f["nonsaturating"].shape == (figures2d.N_PICTURE, 2, 2)  # (n, seeds, 2)
        # the samples are the metrics' fixed z: their metrics are the summary's
        summary = json.loads(prefix.with_suffix(".json").read_text())
    capsys.readouterr()
    assert figures2d.main(["--table", str(prefix.with_suffix(".json"))]) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 2 + 2 + 2  # header, rule, two configs each with PacGAN's row below
    assert "`nonsaturating-packing2` | 30 | 2 |" in table[4] and "*23.80 ± 0.70*" in table[5]
    modes = summary["configs"][0]["modes"]
    assert f"{modes[0]:.2f} ± {modes[1]:.2f}" in table[2]
    assert figures2d.main(["only-one-argument"]) == 2
