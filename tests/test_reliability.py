"""Bad input, hostile files and killed runs, tried the way a careless user and an attacker would.

Every case asserts: exit code 2 (1 for a diverging run), exactly one line on stderr naming the
flag or the file at fault, no traceback, and every file that was in the run directory before is
byte-identical afterwards. Crafted pickles are loaded through every load path and must run
nothing. Kill-and-resume: a real subprocess is SIGKILLed after its first checkpoint, resumed,
and its outputs compared bitwise with an uninterrupted run.
"""

import io as io_module
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from toygan import io, rundir
from toygan import run as run_cli
from toygan.mnist import evaluate
from toygan.mnist.experiment import main as mnist_main
from toygan.toy import compare, saturation

REAL = Path(os.environ.get("TOYGAN_MNIST_DIR", Path(__file__).parents[1] / "../shared/data/mnist"))
HAVE_MNIST = (REAL / "t10k-images-idx3-ubyte.gz").exists()
needs_mnist = pytest.mark.skipif(not HAVE_MNIST, reason="real MNIST test files not present")

TINY_1D = ["--steps", "30", "--snapshot-every", "10", "--n-samples", "200", "--g-width", "8",
           "--d-width", "8", "--no-progress", "--device", "cpu", "--lr-decay", "none"]  # fmt: skip
TINY_MNIST = ["--dataset", "mnist", "--data-dir", str(REAL), "--split", "test", "--limit", "300",
              "--epochs", "2", "--batch-size", "50", "--n-samples", "40", "--grid", "2",
              "--device", "cpu", "--no-progress", "--no-download"]  # fmt: skip


def snapshot_files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def one_line_error(main, argv, capsys, code: int = 2) -> str:
    try:
        got = main(argv)
    except SystemExit as exc:  # argparse's own errors
        got = exc.code
    err = capsys.readouterr().err
    assert got == code, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def run_1d(tmp_path_factory) -> Path:
    """A finished tiny 1D run (copied by each test that may touch it)."""
    out = tmp_path_factory.mktemp("runs") / "run1d"
    assert run_cli.main([*TINY_1D, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def run_mnist(tmp_path_factory) -> Path:
    if not HAVE_MNIST:
        pytest.skip("real MNIST test files not present")
    out = tmp_path_factory.mktemp("runs") / "runmnist"
    assert mnist_main([*TINY_MNIST, "--out", str(out)]) == 0
    return out


def killed_copy(src: Path, dst: Path) -> Path:
    """A copy of a finished run that looks killed mid-way (status running, dead process)."""
    shutil.copytree(src, dst)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # its pid is now free: a dead process
    status = json.loads((dst / "status.json").read_text())
    (dst / "status.json").write_text(json.dumps(status | {"state": "running", "pid": proc.pid}))
    return dst


# --- every flag of every CLI, bad in several ways ------------------------------------------

BAD_1D = [  # (argv, the flag the one line must name)
    *[
        ([f, v], f)
        for f in (
            "--steps",
            "--k-steps",
            "--batch-size",
            "--snapshot-every",
            "--noise-dim",
            "--g-width",
            "--d-width",
        )
        for v in ("0", "-3", "ten", "1.5")
    ],  # fmt: skip
    *[([f, v], f) for f in ("--g-depth", "--d-depth") for v in ("-1", "x")],
    *[(["--lr", v], "--lr") for v in ("0", "-1", "nan", "inf", "-inf", "1e999", "fast")],
    *[([f, v], f) for f in ("--beta1", "--beta2", "--momentum") for v in ("1", "-0.1", "nan")],
    *[(["--n-samples", v], "--n-samples") for v in ("5", "-1", "1e12", "100000000000")],
    *[(["--seed", v], "--seed") for v in ("-1", str(2**64), "1.5")],
    (["--means", "0", "nan"], "--means"),
    (["--means", "0", "inf"], "--means"),
    (["--stds", "0", "1"], "--stds"),
    (["--stds", "-1e-3", "1"], "--stds"),
    (["--weights", "0.9", "0.9"], "--weights"),
    (["--weights", "-0.5", "1.5"], "--weights"),
    (["--means", "0", "1", "2"], "--means"),
    *[
        ([f, "bogus"], f)
        for f in (
            "--objective",
            "--prior",
            "--activation",
            "--optimizer",
            "--lr-decay",
            "--device",
            "--dataset",
        )
    ],  # fmt: skip
    (["--g-width", "100000000"], "--g-width"),
    (["--batch-size", "100000000000"], "--batch-size"),
    (["--unknown-flag", "1"], "--unknown-flag"),
    (["--gp-lambda", "-1", "--objective", "wasserstein_gp"], "--gp-lambda"),
    (["--clip", "0", "--objective", "wasserstein_clip"], "--clip"),
    (["--k-steps", "0", "--objective", "wasserstein_gp"], "--k-steps"),
]


@pytest.mark.parametrize(("argv", "flag"), BAD_1D, ids=[" ".join(a) for a, _ in BAD_1D])
def test_1d_bad_flag(argv, flag, run_1d, tmp_path, capsys):
    out = shutil.copytree(run_1d, tmp_path / "run")
    before = snapshot_files(out)
    err = one_line_error(run_cli.main, [*TINY_1D, *argv, "--out", str(out)], capsys)
    assert flag in err
    assert snapshot_files(out) == before


def test_negative_numbers_in_any_notation_are_values():
    args = run_cli.build_parser().parse_args(["--means", "-1e3", "1e3", "--stds", "1", "1"])
    assert args.means == [-1000.0, 1000.0]
    assert run_cli.build_parser().parse_args(["--means", "-inf", "0"]).means[0] == -float("inf")


BAD_MULTI = [  # the comparison and the saturation diagnostic share the 1D flags and add their own
    (compare.main, ["--seeds", "0"], "--seeds"),
    (compare.main, ["--seeds", "2", "--w1-threshold", "-1"], "--w1-threshold"),
    (compare.main, ["--seeds", "2", "--eval-every", "0"], "--eval-every"),
    (compare.main, ["--seeds", "2", "--objective", "saturating", "saturating"], "--objective"),
    (compare.main, ["--seeds", "2", "--stds", "-1", "1"], "--stds"),
    (saturation.main, ["--d-steps", "0"], "--d-steps"),
    (saturation.main, ["--d-lr", "-1"], "--d-lr"),
    (saturation.main, ["--stages", "-5"], "--stages"),
    (saturation.main, ["--n-noise", "0"], "--n-noise"),
]


@pytest.mark.parametrize(("main", "argv", "flag"), BAD_MULTI)
def test_multi_seed_bad_flag(main, argv, flag, run_1d, tmp_path, capsys):
    out = shutil.copytree(run_1d, tmp_path / "run")
    before = snapshot_files(out)
    assert flag in one_line_error(main, [*argv, "--no-progress", "--out", str(out)], capsys)
    assert snapshot_files(out) == before


@pytest.mark.parametrize("main", [compare.main, saturation.main])
def test_multi_seed_clis_refuse_a_finished_run(main, run_1d, tmp_path, capsys):
    out = shutil.copytree(run_1d, tmp_path / "run")
    before = snapshot_files(out)
    argv = ["--seeds", "2", "--steps", "5", "--no-progress", "--out", str(out)]
    err = one_line_error(main, argv, capsys)
    assert "--out" in err and "--force" in err and "--resume" in err
    assert snapshot_files(out) == before


BAD_MNIST = [
    *[([f, v], f) for f in ("--epochs", "--k-steps") for v in ("0", "-2", "x")],
    *[(["--lr", v], "--lr") for v in ("-1", "nan", "inf")],
    (["--limit", "-1"], "--limit"),
    (["--limit", "20000"], "--limit"),
    (["--batch-size", "-1"], "--batch-size"),
    (["--batch-size", "301"], "--batch-size"),  # more than the 300 images
    (["--seed", str(2**64)], "--seed"),
    (["--seed", "-1"], "--seed"),
    (["--n-samples", "0"], "--n-samples"),
    (["--n-samples", "100000000000"], "--n-samples"),
    (["--grid", "0"], "--grid"),
    (["--grid", "1000000"], "--grid"),
    *[([f, "bogus"], f) for f in ("--preset", "--objective", "--split", "--device", "--amp")],
    (["--data-dir", "/nonexistent/mnist"], "--data-dir"),
]


@needs_mnist
@pytest.mark.parametrize(("argv", "flag"), BAD_MNIST, ids=[" ".join(a) for a, _ in BAD_MNIST])
def test_mnist_bad_flag(argv, flag, run_mnist, tmp_path, capsys):
    out = shutil.copytree(run_mnist, tmp_path / "run")
    before = snapshot_files(out)
    assert flag in one_line_error(mnist_main, [*TINY_MNIST, *argv, "--out", str(out)], capsys)
    assert snapshot_files(out) == before


def test_missing_data_writes_nothing(tmp_path, capsys):
    out = tmp_path / "fresh"
    argv = [*TINY_MNIST, "--data-dir", str(tmp_path / "empty"), "--out", str(out)]
    err = one_line_error(mnist_main, argv, capsys)
    assert "--data-dir" in err and "t10k-images-idx3-ubyte.gz" in err
    assert not out.exists()


# --- a run directory is never silently replaced --------------------------------------------


def test_finished_1d_run_is_refused_then_replaced_only_with_force(run_1d, tmp_path, capsys):
    out = shutil.copytree(run_1d, tmp_path / "run")
    before = snapshot_files(out)
    err = one_line_error(run_cli.main, [*TINY_1D, "--seed", "1", "--out", str(out)], capsys)
    assert "finished run" in err and "--resume" in err and "--force" in err
    assert snapshot_files(out) == before
    assert run_cli.main([*TINY_1D, "--seed", "1", "--out", str(out), "--force"]) == 0
    assert json.loads((out / "config.json").read_text())["seed"] == 1
    assert rundir.read_status(out)["state"] == "finished"


@needs_mnist
def test_mnist_run_into_a_1d_run_is_refused(run_1d, tmp_path, capsys):
    out = shutil.copytree(run_1d, tmp_path / "run")
    before = snapshot_files(out)
    assert "--out" in one_line_error(mnist_main, [*TINY_MNIST, "--out", str(out)], capsys)
    assert snapshot_files(out) == before
    err = one_line_error(mnist_main, [*TINY_MNIST, "--resume", str(out)], capsys)
    assert "--resume" in err
    assert snapshot_files(out) == before


def test_run_in_progress_is_never_joined(run_1d, tmp_path, capsys):
    out = shutil.copytree(run_1d, tmp_path / "run")
    status = json.loads((out / "status.json").read_text())
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / "status.json").write_text(json.dumps(status | {"state": "running",
                                                              "pid": proc.pid}))  # fmt: skip
        before = snapshot_files(out)
        for extra in (["--force"], ["--resume", str(out)]):
            argv = [*TINY_1D, "--out", str(out), *extra] if "--force" in extra else extra
            assert "in progress" in one_line_error(run_cli.main, argv, capsys)
        assert snapshot_files(out) == before
    finally:
        proc.kill()
        proc.wait()


def test_failed_run_says_so_and_diverged_run_keeps_a_finite_checkpoint(tmp_path, capsys):
    out = tmp_path / "div"
    argv = [*TINY_1D, "--steps", "400", "--snapshot-every", "5", "--optimizer", "sgd",
            "--lr", "1e6", "--out", str(out)]  # fmt: skip
    err = one_line_error(run_cli.main, argv, capsys, code=1)
    assert "diverged at step" in err
    status = rundir.read_status(out)
    assert status["state"] == "diverged" and status["step"] >= 1
    state = io.load_checkpoint(out / "checkpoint.pt")
    assert all(torch.isfinite(t).all() for t in state["trainer"]["generator"].values())
    rows = (out / "metrics.csv").read_text().splitlines()
    assert len(rows) >= 2 and all("nan" not in r and "inf" not in r for r in rows[1:])


def test_divergence_on_a_snapshot_step_never_reaches_the_snapshot(tmp_path, capsys):
    """Weights that turn NaN in the update of a snapshot step: the snapshot must not see them."""
    out = tmp_path / "div"
    argv = [*TINY_1D, "--steps", "400", "--snapshot-every", "1", "--optimizer", "sgd",
            "--lr", "1e30", "--out", str(out)]  # fmt: skip
    err = one_line_error(run_cli.main, argv, capsys, code=1)
    assert "diverged at step" in err
    assert rundir.read_status(out)["state"] == "diverged"
    assert (out / "metrics.csv").exists()


def test_stale_temporary_files_are_removed_on_the_next_start(run_1d, tmp_path):
    out = killed_copy(run_1d, tmp_path / "run")
    stale = out / f"{io.TMP_PREFIX}checkpoint.pt.abc123.tmp"
    stale.write_bytes(b"\0" * 1000)
    assert run_cli.main(["--resume", str(out), "--steps", "40", "--no-progress"]) == 0
    assert not stale.exists()
    assert not list(out.glob(".*"))


# --- resume, honestly ------------------------------------------------------------------------


def test_resume_to_fewer_steps_is_refused_and_a_finished_run_trains_nothing(
    run_1d, tmp_path, capsys
):
    out = shutil.copytree(run_1d, tmp_path / "run")
    before = snapshot_files(out)
    err = one_line_error(run_cli.main, ["--resume", str(out), "--steps", "10"], capsys)
    assert "--steps" in err and "already trained 30" in err
    assert run_cli.main(["--resume", str(out), "--no-progress"]) == 0
    assert "nothing trained" in capsys.readouterr().out
    assert snapshot_files(out) == before


def test_resume_cannot_change_the_run(run_1d, tmp_path, capsys):
    out = killed_copy(run_1d, tmp_path / "run")
    before = snapshot_files(out)
    err = one_line_error(run_cli.main, ["--resume", str(out), "--lr", "0.5"], capsys)
    assert "--lr" in err and "--resume" in err
    assert snapshot_files(out) == before


def test_resume_extends_a_run_without_decay_like_an_uninterrupted_run(run_1d, tmp_path):
    longer = tmp_path / "longer"
    assert run_cli.main([*TINY_1D, "--steps", "50", "--out", str(longer)]) == 0
    out = shutil.copytree(run_1d, tmp_path / "run")
    assert run_cli.main(["--resume", str(out), "--steps", "50", "--no-progress"]) == 0
    for name in ("samples.npy", "metrics.csv", "snapshots.csv"):
        assert (out / name).read_bytes() == (longer / name).read_bytes(), name


def test_resume_cannot_extend_a_decaying_schedule(tmp_path, capsys):
    out = tmp_path / "run"
    argv = [*TINY_1D, "--lr-decay", "linear", "--out", str(out)]
    assert run_cli.main(argv) == 0
    capsys.readouterr()
    err = one_line_error(run_cli.main, ["--resume", str(out), "--steps", "60"], capsys)
    assert "--steps" in err and "cannot be extended" in err


@needs_mnist
def test_mnist_resume_to_fewer_epochs_is_refused(run_mnist, tmp_path, capsys):
    out = shutil.copytree(run_mnist, tmp_path / "run")
    before = snapshot_files(out)
    argv = ["--dataset", "mnist", "--resume", str(out), "--epochs", "1"]
    err = one_line_error(mnist_main, argv, capsys)
    assert "--epochs" in err and "already trained 2 epochs" in err
    assert snapshot_files(out) == before


# --- every file of a run directory, corrupted ------------------------------------------------


class Boom:
    """A pickle that would create ``marker`` when loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def corruptions(name: str, tmp_path: Path) -> dict[str, bytes | None]:
    """Ways to spoil file ``name`` (None: delete it)."""
    spoiled = {"missing": None, "empty": b"", "garbage": os.urandom(257)}
    if name.endswith(".json"):
        spoiled |= {"not json": b"{steps: 3", "a list": b"[1, 2]", "null": b"null"}
    return spoiled


def _resume_argv(kind: str, out: Path) -> list[str]:
    if kind == "1d":
        return ["--resume", str(out), "--steps", "40", "--no-progress"]
    return ["--dataset", "mnist", "--resume", str(out), "--epochs", "3", "--no-progress",
            "--data-dir", str(REAL)]  # fmt: skip


def _main(kind: str):
    return run_cli.main if kind == "1d" else mnist_main


RUN_FILES = {"1d": ("checkpoint.pt", "config.json", "status.json"),
             "mnist": ("checkpoint.pt", "config.json", "status.json", "grids.npy")}  # fmt: skip
CASES = [(k, f, c) for k, files in RUN_FILES.items() for f in files
         for c in ("missing", "empty", "garbage", "not json", "a list", "null")
         if (f.endswith(".json") or c in ("missing", "empty", "garbage"))
         and (f, c) != ("status.json", "missing")]  # fmt: skip


@pytest.mark.parametrize(("kind", "name", "how"), CASES)
def test_resume_with_a_spoiled_file(kind, name, how, request, tmp_path, capsys):
    src = request.getfixturevalue("run_1d" if kind == "1d" else "run_mnist")
    out = killed_copy(src, tmp_path / "run")
    data = corruptions(name, tmp_path)[how]
    if data is None:
        (out / name).unlink()
    else:
        (out / name).write_bytes(data)
    before = snapshot_files(out)
    err = one_line_error(_main(kind), _resume_argv(kind, out), capsys)
    named = name if (how != "missing" or name != "config.json") else "config.json"
    assert named in err or (name == "status.json" and "--resume" in err), err
    assert snapshot_files(out) == before


def ill_typed_configs(kind: str) -> list[dict]:
    if kind == "1d":
        return [{"steps": "ten"}, {"stds": [-1.0, 0.5]}, {"means": "0"}, {"lr": "fast"},
                {"objective": "wgan"}, {"seed": 2**64}]  # fmt: skip
    return [{"epochs": "two"}, {"preset": "nope"}, {"batch_size": -5}, {"lr": float("nan")}]


@pytest.mark.parametrize("kind", ["1d", "mnist"])
def test_resume_with_an_ill_typed_config(kind, request, tmp_path, capsys):
    src = request.getfixturevalue("run_1d" if kind == "1d" else "run_mnist")
    for i, change in enumerate(ill_typed_configs(kind)):
        out = killed_copy(src, tmp_path / f"run{i}")
        cfg = json.loads((out / "config.json").read_text()) | change
        (out / "config.json").write_text(json.dumps(cfg))
        before = snapshot_files(out)
        err = one_line_error(_main(kind), _resume_argv(kind, out), capsys)
        assert "config.json" in err, (change, err)
        assert snapshot_files(out) == before


@pytest.mark.parametrize("kind", ["1d", "mnist"])
def test_foreign_and_crafted_checkpoints_run_nothing(kind, request, tmp_path, capsys):
    src = request.getfixturevalue("run_1d" if kind == "1d" else "run_mnist")
    marker = tmp_path / "pwned"
    state = torch.load(src / "checkpoint.pt", weights_only=True)
    other = json.loads((src / "config.json").read_text()) | {"seed": 99}
    spoils = {
        "crafted pickle": Boom(marker),
        "crafted pickle inside a state": state | {"config": Boom(marker)},
        "a tensor": torch.zeros(3),
        "another run's checkpoint": state | {"config": other},
        "wrong shapes": state | {"trainer": state["trainer"] | {"generator": {"w": torch.ones(1)}}},
        "numpy arrays": {"trainer": np.zeros(3), "config": {}},
    }
    for i, (what, obj) in enumerate(spoils.items()):
        out = killed_copy(src, tmp_path / f"run{i}")
        torch.save(obj, out / "checkpoint.pt")
        before = snapshot_files(out)
        err = one_line_error(_main(kind), _resume_argv(kind, out), capsys)
        assert "checkpoint.pt" in err, (what, err)
        assert snapshot_files(out) == before, what
    assert not marker.exists()


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300), cut=st.integers(0, 2000))
def test_any_bytes_or_truncation_is_a_file_error(data, cut, tmp_path_factory):
    """Random bytes, or a real checkpoint cut anywhere: always a FileError, never a crash."""
    d = tmp_path_factory.mktemp("fuzz")
    buf = io_module.BytesIO()
    torch.save({"trainer": {"w": torch.arange(50.0)}, "config": {"a": 1}}, buf)
    for blob in (data, buf.getvalue()[:cut]):
        (d / "c.pt").write_bytes(blob)
        try:
            io.load_checkpoint(d / "c.pt")
        except io.FileError:
            pass


def test_load_checkpoint_refuses_code(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"a": Boom(marker)}, tmp_path / "evil.pt")
    with pytest.raises(io.FileError, match="refused"):
        io.load_checkpoint(tmp_path / "evil.pt")
    assert not marker.exists()


# --- evaluate --------------------------------------------------------------------------------


@needs_mnist
def test_evaluate_bad_run_directories(run_1d, run_mnist, tmp_path, capsys):
    marker = tmp_path / "pwned"
    cache = ["--cache-dir", str(tmp_path / "cache"), "--device", "cpu"]
    cases = []
    d = shutil.copytree(run_1d, tmp_path / "oned")
    cases.append((d, "config.json"))  # a 1D run is not an MNIST run
    for name, payload in [
        ("samples.npy", b"garbage"),
        ("samples.npy", None),  # wrong shape, written below
        ("samples.npy", "nan"),
        ("samples.npy", "pickle"),
        ("config.json", b"{bad json"),
        ("config.json", b'{"split": 3}'),
    ]:
        d = shutil.copytree(run_mnist, tmp_path / f"m{len(cases)}")
        if payload is None:
            np.save(d / name, np.zeros((10, 5), np.float32))
        elif payload == "nan":
            np.save(d / name, np.full((40, 784), np.nan, np.float32))
        elif payload == "pickle":
            np.save(d / name, np.array([Boom(marker)], dtype=object), allow_pickle=True)
        else:
            (d / name).write_bytes(payload)
        cases.append((d, name))
    for d, name in cases:
        before = snapshot_files(d)
        err = one_line_error(evaluate.main, [str(d), *cache], capsys)
        assert name in err, (d, name, err)
        assert snapshot_files(d) == before
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    err = one_line_error(evaluate.main, [str(run_mnist), "--cache-dir", str(blocker)], capsys)
    assert "--cache-dir" in err
    assert not marker.exists()


def test_evaluate_module_prints_no_warning():
    proc = subprocess.run([sys.executable, "-W", "error", "-m", "toygan.evaluate", "--help"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


# --- kill and resume: bitwise exact ------------------------------------------------------------


def _kill_after_first_checkpoint(cmd: list[str], out: Path) -> None:
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.pt").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1]
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()


def assert_kill_and_resume_is_bitwise_exact(tmp_path, argv: list[str], files: tuple[str, ...]):
    """A toy run of ``argv`` SIGKILLed after its first checkpoint and resumed ends with the same
    ``files`` and generator weights (batch-norm statistics included) as an uninterrupted run."""
    assert run_cli.main([*argv, "--out", str(tmp_path / "whole")]) == 0
    out = tmp_path / "killed"
    _kill_after_first_checkpoint(
        [sys.executable, "-m", "toygan.run", *argv, "--out", str(out)], out
    )
    assert rundir.describe(out) == "a run that was killed or crashed"
    subprocess.run([sys.executable, "-m", "toygan.run", "--resume", str(out), "--no-progress"],
                   check=True, timeout=300, env=os.environ | {"OMP_NUM_THREADS": "1"})  # fmt: skip
    for name in files:
        assert (out / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    a = torch.load(out / "checkpoint.pt", weights_only=True)["trainer"]["generator"]
    b = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=True)["trainer"]["generator"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert rundir.read_status(out)["state"] == "finished"


def test_kill_and_resume_1d_is_bitwise_exact(tmp_path):
    argv = [*TINY_1D, "--steps", "120", "--snapshot-every", "40", "--seed", "4"]
    files = ("samples.npy", "metrics.csv", "snapshots.csv", "panel.png", "training.gif")
    assert_kill_and_resume_is_bitwise_exact(tmp_path, argv, files)


@needs_mnist
def test_kill_and_resume_mnist_is_bitwise_exact(tmp_path):
    argv = [*TINY_MNIST, "--epochs", "3", "--seed", "2"]
    assert mnist_main([*argv, "--out", str(tmp_path / "whole")]) == 0
    out = tmp_path / "killed"
    _kill_after_first_checkpoint(
        [sys.executable, "-m", "toygan.run", *argv, "--out", str(out)], out
    )
    subprocess.run([sys.executable, "-m", "toygan.run", "--dataset", "mnist", "--resume", str(out),
                    "--no-progress"], check=True, timeout=300,
                   env=os.environ | {"OMP_NUM_THREADS": "1"})  # fmt: skip
    for name in ("samples.npy", "metrics.csv", "grids.npy", "training.gif"):
        assert (out / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    assert rundir.read_status(out)["state"] == "finished"


# -- path flags, attacked ---------------------------------------------------------------------


def _path_cases():
    """(CLI, argv with {P} where the path goes, the flag the error must name): every flag that
    names a directory. None of toygan's flags names a file."""
    from toygan.mnist.evaluate import main as evaluate_main
    from toygan.mnist.hub import main as hub_main

    tiny_mnist = ["--dataset", "mnist", "--epochs", "1", "--no-download", "--no-progress"]
    return [
        (run_cli.main, [*TINY_1D, "--out", "{P}"], "--out"),
        (run_cli.main, ["--resume", "{P}"], "--resume"),
        (run_cli.main, ["--seeds", "2", "--steps", "5", "--out", "{P}"], "--out"),
        (run_cli.main, ["--diagnostic", "saturation", "--out", "{P}"], "--out"),
        (run_cli.main, ["--diagnostic", "regimes", "--out", "{P}"], "--out"),
        (run_cli.main, ["--dataset", "ring", "--seeds", "2", "--out", "{P}"], "--out"),
        (run_cli.main, ["--dataset", "ring", "--resume", "{P}"], "--resume"),
        (run_cli.main, [*tiny_mnist, "--data-dir", "{P}"], "--data-dir"),
        (run_cli.main, [*tiny_mnist, "--out", "{P}"], "--out"),
        (run_cli.main, ["--dataset", "mnist", "--resume", "{P}"], "--resume"),
        (evaluate_main, ["{P}"], "run_dir"),
        (evaluate_main, ["--pretrained", "modern", "--data-dir", "{P}"], "--data-dir"),
        (evaluate_main, ["--pretrained", "modern", "--cache-dir", "{P}"], "--cache-dir"),
        (hub_main, ["{P}"], "run_dir"),
    ]


@pytest.mark.parametrize("case", range(len(_path_cases())))
@pytest.mark.parametrize("how", ["a file", "inside a file", "unreadable"])
def test_path_flags_attacked(case, how, tmp_path, capsys, monkeypatch):
    """A regular file where a directory is expected, a path inside a file, an unreadable path:
    one line naming the flag, exit 2, nothing written (the tree is byte-identical after)."""
    main, argv, flag = _path_cases()[case]
    a_file = tmp_path / "a_file"
    a_file.write_text("not a directory")
    locked = tmp_path / "locked"
    locked.mkdir()
    path = {"a file": a_file, "inside a file": a_file / "x", "unreadable": locked}[how]
    if how == "unreadable":  # root reads everything: make os.access say no for this path
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, m, **k: Path(p) != locked and real(p, m, **k))
    monkeypatch.chdir(tmp_path)  # any default output dir (runs/...) would appear here
    before = snapshot_files(tmp_path)
    err = one_line_error(main, [a.replace("{P}", str(path)) for a in argv], capsys)
    assert flag in err, err
    assert snapshot_files(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "locked"]
