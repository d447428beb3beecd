"""The regime diagram: cells are the comparison's ensembles; the CLI dry run writes every file."""

import csv

import numpy as np
from oracles import usage_error

from toygan.run import main as run_main
from toygan.toy.compare import evaluate_members
from toygan.toy.ensemble import build_ensemble
from toygan.toy.experiment import ToyConfig
from toygan.toy.plots_regimes import regime_matrix
from toygan.toy.regimes import RegimeOptions, cell_config, run_cell, summarise

SMALL = dict(noise_dim=1, activation="leaky_relu", batch_size=32, lr_decay="none", steps=12,
             optimizer="sgd", lr=1e-2, device="cpu")  # fmt: skip


def test_cell_config_shifts_the_data_and_scales_d_lr():
    cfg = cell_config(ToyConfig(**SMALL), "saturating", 5, 3.0, 4.0)
    assert (cfg.objective, cfg.k_steps, cfg.d_lr_scale, cfg.means) == ("saturating", 5, 3.0, [2, 6])
    trainer = build_ensemble(cfg, [0, 1])
    assert trainer.k_steps == 5
    assert trainer.d_opt.param_groups[0]["lr"] == 3 * trainer.g_opt.param_groups[0]["lr"]


def test_a_cell_is_judged_by_the_comparisons_evaluation():
    cfg = cell_config(ToyConfig(**SMALL), "nonsaturating", 2, 1.0, 0.0)
    opts = RegimeOptions(seeds=3, eval_samples=300)
    rows = run_cell(cfg, [0, 1, 2], opts)
    again = build_ensemble(cfg, [0, 1, 2])
    again.train_members(cfg.steps, progress=False)
    e = evaluate_members(again, cfg.mixture(), 300)
    np.testing.assert_allclose([r["w1"] for r in rows], e["w1"])
    assert [r["success"] for r in rows] == [
        bool(w < opts.w1_threshold and m == 2)
        for w, m in zip(e["w1"], e["modes_covered"], strict=True)
    ]


def test_summary_and_matrix_from_known_rows():
    rows = [
        {"objective": o, "k": k, "d_lr_scale": 1.0, "offset": 0.0, "seed": s, "w1": w,
         "modes_covered": 2, "diverged": False, "success": ok}
        for o, k, s, w, ok in [("saturating", 1, 0, 0.1, True), ("saturating", 1, 1, 2.0, False),
                               ("saturating", 5, 0, 3.0, False), ("saturating", 5, 1, 1.0, False)]
    ]  # fmt: skip
    summary = summarise(rows)
    assert [(r["k"], r["successes"], r["success_rate"], r["w1_median"]) for r in summary] == [
        (1, 1, 0.5, 1.05),
        (5, 0, 0.0, 2.0),
    ]
    m = regime_matrix(summary, "saturating", 0.0, [1, 2, 5], [1.0, 3.0])
    np.testing.assert_array_equal(m, [[0.5, np.nan], [np.nan, np.nan], [0.0, np.nan]])


def test_cli_dry_run_writes_every_output(tmp_path, capsys):
    argv = ["--diagnostic", "regimes", "--seeds", "2", "--steps", "5", "--batch-size", "16",
            "--k-grid", "1", "2", "--d-lr-grid", "1", "3", "--offset-grid", "0", "4",
            "--eval-samples", "100", "--out", str(tmp_path)]  # fmt: skip
    assert run_main(argv) == 0
    for name in ("config.json", "regimes.csv", "regimes_summary.csv", "regimes.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    summary = list(csv.DictReader((tmp_path / "regimes_summary.csv").read_text().splitlines()))
    assert len(summary) == 2 * 2 * 2 * 2  # k x d_lr x offset x objective
    assert {r["objective"] for r in summary} == {"saturating", "nonsaturating"}


def test_bad_grid_exits_2(tmp_path, capsys):
    argv = ["--diagnostic", "regimes", "--k-grid", "0", "--out", str(tmp_path / "x")]
    assert "k-grid" in usage_error(run_main, argv, capsys)
