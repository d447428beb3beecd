"""The saturation diagnostic: an analytic oracle for the gradient ratio, and the CLI dry run."""

import csv
import json
import math

import pytest
import torch
from oracles import usage_error

from toygan.toy.ensemble import build_ensemble, member_g_grad_norms
from toygan.toy.experiment import ToyConfig
from toygan.toy.saturation import checkpoints, main


@pytest.mark.parametrize("shift", [0.0, 6.0, 12.0])
def test_gradient_ratio_is_the_logit_oracle(shift):
    """With D's logits l = a * x - shift, d/dl is -sigmoid(l) (saturating), -sigmoid(-l) (-log D):
    the gradient norms differ by sigmoid(l) / sigmoid(-l) = e^l when l is nearly constant."""
    ens = build_ensemble(ToyConfig(device="cpu", noise_dim=1), [0, 1])
    with torch.no_grad():  # D(x) = sigmoid(1e-3 * h(x) - shift): confidently rejects every fake
        ens.D.net.weights[-1].mul_(1e-3)
        ens.D.net.biases[-1].fill_(-shift)
    z = torch.randn(512, 2, 1, generator=torch.Generator().manual_seed(0))
    sat = member_g_grad_norms(ens.G, ens.D, z, "saturating")
    ns = member_g_grad_norms(ens.G, ens.D, z, "nonsaturating")
    expected = torch.full((2,), math.exp(-shift))
    torch.testing.assert_close(sat / ns, expected, rtol=0.02, atol=0)


def test_checkpoints_are_log_spaced_and_end_at_d_steps():
    assert checkpoints(30) == [0, 1, 2, 5, 10, 20, 30]
    assert checkpoints(1) == [0, 1]


def test_cli_dry_run_writes_csv_figure_and_config(tmp_path, capsys):
    argv = [
        "--diagnostic",
        "saturation",
        "--seeds",
        "2",
        "--stages",
        "0",
        "5",
        "--d-steps",
        "6",
        "--n-noise",
        "64",
        "--batch-size",
        "32",
        "--no-progress",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    for name in ("config.json", "saturation.csv", "saturation.png", "saturation_summary.json"):
        assert (tmp_path / name).stat().st_size > 0
    rows = list(csv.DictReader((tmp_path / "saturation.csv").read_text().splitlines()))
    # 2 stages x 2 objectives x 2 seeds x checkpoints [0, 1, 2, 5, 6]
    assert len(rows) == 2 * 2 * 2 * 5
    assert set(rows[0]) == {"stage", "objective", "d_steps", "seed", "grad_norm", "d_fake"}
    assert all(math.isfinite(float(r["grad_norm"])) for r in rows)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["saturation"]["d_steps"] == 6 and cfg["toy"]["optimizer"] == "sgd"
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    "bad",
    [
        ["--seeds", "0"],
        ["--d-steps", "0"],
        ["--stages", "-1"],
        ["--d-lr", "0"],
        ["--stds", "-1", "0.5"],
    ],
)
def test_bad_values_exit_2_with_one_line(tmp_path, capsys, bad):
    assert "error" in usage_error(main, [*bad, "--out", str(tmp_path)], capsys)


def test_unknown_diagnostic_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--diagnostic", "nope"])
    assert exc.value.code == 2
