"""The 1D command line: a dry run writes every result; bad input is one line and exit code 2."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from toygan.run import main

TINY = ["--steps", "20", "--snapshot-every", "10", "--n-samples", "300", "--g-width", "8",
        "--d-width", "8", "--no-progress", "--device", "cpu"]  # fmt: skip
OUTPUTS = ("config.json", "metrics.csv", "snapshots.csv", "summary.json", "samples.npy",
           "checkpoint.pt", "panel.png", "strip.png", "curves.png", "training.gif")  # fmt: skip


def test_dry_run_writes_every_output(tmp_path):
    assert main(["--objective", "saturating", *TINY, "--out", str(tmp_path)]) == 0
    for name in OUTPUTS:
        assert (tmp_path / name).stat().st_size > 0, name
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["objective"] == "saturating" and cfg["steps"] == 20
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key in ("w1", "ks", "d_deviation", "seconds", "steps_per_second"):
        assert np.isfinite(summary[key]), key
    samples = np.load(tmp_path / "samples.npy")
    assert samples.shape == (300, 1) and samples.dtype == np.float32
    assert len((tmp_path / "metrics.csv").read_text().splitlines()) == 21  # header + 20 steps
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ckpt["trainer"]["step"] == 20 and ckpt["config"] == cfg
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind


def test_same_command_same_samples(tmp_path):
    for d in ("a", "b"):
        assert main([*TINY, "--seed", "3", "--out", str(tmp_path / d)]) == 0
    a, b = (np.load(tmp_path / d / "samples.npy") for d in ("a", "b"))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--stds", "-0.5", "0.5"], "--stds"),
        (["--weights", "0.3", "0.3"], "--weights"),
        (["--means", "0", "1", "2"], "--means"),
        (["--objective", "wgan"], "--objective"),
        (["--steps", "0"], "--steps"),
        (["--batch-size", "0"], "--batch-size"),
        (["--batch-size", "-3"], "--batch-size"),
        (["--k-steps", "0"], "--k-steps"),
        (["--lr", "-1"], "--lr"),
        (["--lr", "nan"], "--lr"),
        (["--steps", "ten"], "--steps"),
        (["--optimizer", "lbfgs"], "--optimizer"),
        (["--weights", "0.5", "nan"], "--weights"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, flag, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        code = main([*TINY, *args, "--out", str(tmp_path)])
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert flag in err and "Traceback" not in err


def test_unwritable_out_is_one_line_and_exit_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main([*TINY, "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--out" in err


def test_module_entry_point_bad_input_has_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "toygan.run", "--stds", "0.5", "-1", "--no-progress"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--stds" in proc.stderr, proc.stderr


def test_diverging_run_stops_with_message_and_keeps_a_finite_checkpoint(tmp_path, capsys):
    code = main([*TINY, "--steps", "400", "--snapshot-every", "5", "--optimizer", "sgd",
                 "--lr", "1e6", "--out", str(tmp_path)])  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err
    assert "diverged at step" in err and len(err.strip().splitlines()) == 1
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    for t in ckpt["trainer"]["generator"].values():
        assert torch.isfinite(t).all()
