"""Multi-seed comparisons: summary numbers from known results, and the CLI dry run."""

import csv
import json

import pytest
from oracles import usage_error

from toygan.toy.compare import CompareOptions, main, summarise


def test_summary_counts_successes_and_time_to_converge():
    # curves rows: (step, seed, w1, d_dev, modes_covered, high_quality)
    curves = [
        (0, 0, 2.0, 0.1, 1, 0.5),
        (100, 0, 0.1, 0.01, 2, 0.99),
        (0, 1, 2.0, 0.1, 1, 0.5),
        (100, 1, 2.0, 0.3, 1, 0.9),
        (0, 2, 0.3, 0.1, 2, 0.9),
        (100, 2, 0.35, 0.02, 1, 0.9),
    ]
    final = [
        {"seed": 0, "w1": 0.1, "modes_covered": 2, "high_quality": 0.99},
        {"seed": 1, "w1": 2.0, "modes_covered": 1, "high_quality": 0.9},
        {"seed": 2, "w1": 0.35, "modes_covered": 1, "high_quality": 0.9},
    ]
    result = {"curves": curves, "final": final, "seconds": 1.0, "diverged": []}
    s = summarise(result, n_modes=2, opts=CompareOptions(w1_threshold=0.4))
    assert (s["successes"], s["seeds"]) == (1, 3)  # seed 2 is close in W1 but drops a mode
    assert s["all_modes_covered"] == 1
    assert s["steps_to_converge_median"] == 50.0  # seed 0 at step 100, seed 2 at step 0
    assert s["converged_at_some_evaluation"] == 2
    assert s["w1_median"] == 0.35


def test_cli_dry_run_writes_every_output(tmp_path, capsys):
    argv = [
        "--objective",
        "saturating",
        "nonsaturating",
        "--seeds",
        "3",
        "--steps",
        "20",
        "--eval-every",
        "10",
        "--panel-steps",
        "0",
        "10",
        "20",
        "--eval-samples",
        "200",
        "--n-samples",
        "300",
        "--batch-size",
        "32",
        "--no-progress",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    names = [
        "config.json",
        "summary.json",
        "per_seed.csv",
        "curves.csv",
        "compare_summary.png",
        "compare_panels.png",
        "compare.gif",
    ]
    for name in names:
        assert (tmp_path / name).stat().st_size > 0, name
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary) == {"saturating", "nonsaturating", "_criteria"}
    assert summary["_criteria"]["optimizer"] == "sgd"
    for obj in ("saturating", "nonsaturating"):
        assert summary[obj]["seeds"] == 3 and 0 <= summary[obj]["success_rate"] <= 1
    rows = list(csv.DictReader((tmp_path / "per_seed.csv").read_text().splitlines()))
    assert sorted(int(r["seed"]) for r in rows) == [0, 0, 1, 1, 2, 2]
    curves = list(csv.DictReader((tmp_path / "curves.csv").read_text().splitlines()))
    assert len(curves) == 2 * 3 * 3  # objectives x seeds x evaluations (0, 10, 20)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["seeds"] == [0, 1, 2] and config["toy"]["steps"] == 20
    assert "seeds converge" in capsys.readouterr().out


@pytest.mark.parametrize(
    "bad",
    [
        ["--seeds", "0"],
        ["--w1-threshold", "0"],
        ["--steps", "0"],
        ["--lr", "-1"],
        ["--stds", "0.5"],
        ["--objective", "saturating", "saturating"],
    ],
)
def test_bad_values_exit_2_with_one_line(tmp_path, capsys, bad):
    assert "error" in usage_error(main, [*bad, "--out", str(tmp_path)], capsys)


def test_unknown_objective_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--objective", "wasserstein"])
    assert exc.value.code == 2


def test_unwritable_out_exits_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["--seeds", "1", "--out", str(blocker / "sub")]) == 2


def test_objectives_with_their_own_defaults_keep_them_unless_set():
    from toygan.toy.compare import explicit_settings, objective_config
    from toygan.toy.experiment import ToyConfig

    cfg = ToyConfig(device="cpu", optimizer="sgd", lr=1e-2)
    hinge = objective_config(cfg, "hinge")  # the GAN losses' defaults: the comparison's settings
    assert (hinge.optimizer, hinge.lr, hinge.k_steps) == ("sgd", 1e-2, 1)
    w = objective_config(cfg, "wasserstein_gp")
    assert w.build_objective().params["gp_lambda"] == 0.1  # the 1D default (paper: 10)
    assert (w.k_steps, w.optimizer, w.lr, w.beta1, w.beta2) == (5, "adam", 1e-3, 0.5, 0.9)
    w = objective_config(cfg, "wasserstein_gp", explicit={"lr"})
    assert (w.lr, w.k_steps) == (1e-2, 5)
    assert explicit_settings(["--lr", "1", "--k-steps=2", "--seeds", "3"]) == {"lr", "k_steps"}
