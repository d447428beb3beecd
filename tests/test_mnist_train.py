"""MNIST training through the shared engine: presets, a 2-step CLI run, exact resume, bad input."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from oracles import usage_error

from toygan.mnist import presets
from toygan.mnist.experiment import MnistConfig, build_trainer, main

REAL = Path(os.environ.get("TOYGAN_MNIST_DIR", Path(__file__).parents[1] / "../shared/data/mnist"))
pytestmark = pytest.mark.skipif(
    not (REAL / "t10k-images-idx3-ubyte.gz").exists(), reason="real MNIST test files not present"
)
TINY = ["--data-dir", str(REAL), "--split", "test", "--device", "cpu", "--no-progress"]
TINY += ["--no-download", "--n-samples", "50", "--grid", "3"]


def test_maxout_and_models_shapes():
    torch.manual_seed(0)
    m = presets.Maxout(6, 4, 3)
    x = torch.randn(5, 6)
    expected = m.linear(x).view(5, 4, 3).max(-1).values
    torch.testing.assert_close(m(x), expected)
    for name in presets.PRESETS:
        G, D = presets.build_models(name)
        z = torch.randn(7, presets.get_preset(name).noise_dim)
        assert G(z).shape == (7, 784) and D(G(z)).shape == (7, 1)


def test_modern_preset_trains_on_the_analytic_path_like_autograd():
    cfg = MnistConfig(data_dir=str(REAL), split="test", limit=256, device="cpu", progress=False)
    runs = []
    for fast in (True, False):
        trainer, _ = build_trainer(cfg)
        trainer.fast_d = trainer.fast_g = trainer.fast_d and fast
        torch.manual_seed(0)  # dropout masks come from the global RNG
        trainer.train(3, progress=False)
        runs.append(trainer)
    assert runs[0].fast_d and runs[0].fast_g and not runs[1].fast_g
    for a, b in zip(runs[0].G.parameters(), runs[1].G.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_goodfellow_schedule():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    s = presets.GoodfellowSchedule([opt], steps_per_epoch=10)
    assert opt.param_groups[0]["momentum"] == 0.5
    for _ in range(10 * 125 + 5):  # 125.5 epochs: momentum halfway from epoch 1 to 250
        s.step()
    group = opt.param_groups[0]
    assert group["lr"] == pytest.approx(0.1 / 1.000004**1255)
    # pylearn2's MomentumAdjustor count is 126 during the 126th epoch: (126 - 1) / 249
    assert group["momentum"] == pytest.approx(0.5 + 0.2 * 125 / 249)
    s2 = presets.GoodfellowSchedule([opt], steps_per_epoch=10)
    s2.load_state_dict(s.state_dict())
    assert opt.param_groups[0]["lr"] == group["lr"]


def test_two_step_run_writes_everything(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--dataset", "mnist", "--limit", "64", "--batch-size", "32", "--epochs", "1"]
    assert main([*args, *TINY, "--out", str(out)]) == 0
    assert "steps=2" in capsys.readouterr().out
    names = {p.name for p in out.iterdir()}
    expected = {"config.json", "summary.json", "metrics.csv", "samples.npy", "checkpoint.pt"}
    expected |= {"grids.npy", "grid_epoch_000.png", "grid_epoch_001.png", "curves.png"}
    assert expected | {"training.gif"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    samples = np.load(out / "samples.npy")
    assert samples.shape == (50, 784) and samples.dtype == np.float32
    assert samples.min() >= 0 and samples.max() <= 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 2 and summary["n_train"] == 64 and summary["images_per_second"] > 0
    assert json.loads((out / "config.json").read_text())["preset"] == "modern"
    assert len((out / "metrics.csv").read_text().splitlines()) == 3  # header + 2 steps


def test_resume_matches_uninterrupted_run(tmp_path):
    """goodfellow2014: dropout (global RNG), momentum/lr schedule and the sampler all resume."""
    base = ["--preset", "goodfellow2014", "--objective", "saturating", "--limit", "60"]
    base += ["--batch-size", "20", *TINY]  # 3 steps per epoch
    full, part = tmp_path / "full", tmp_path / "part"
    assert main([*base, "--epochs", "2", "--out", str(full)]) == 0
    assert main([*base, "--epochs", "1", "--out", str(part)]) == 0  # "interrupted" after epoch 1
    assert main(["--resume", str(part), "--epochs", "2", "--no-progress"]) == 0
    a = torch.load(full / "checkpoint.pt", weights_only=True)["trainer"]
    b = torch.load(part / "checkpoint.pt", weights_only=True)["trainer"]
    assert a["step"] == b["step"] == 6
    for key in ("generator", "discriminator"):
        for name, value in a[key].items():
            torch.testing.assert_close(b[key][name], value, rtol=0, atol=0)
    np.testing.assert_array_equal(np.load(full / "samples.npy"), np.load(part / "samples.npy"))
    assert (full / "metrics.csv").read_text() == (part / "metrics.csv").read_text()
    assert np.load(part / "grids.npy").shape == (3, 9, 784)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--limit", "-1"], "--limit: must be >= 0"),
        (["--data-dir", "/nonexistent/mnist"], "--data-dir: t10k-images-idx3-ubyte.gz not found"),
        (["--resume", "/nonexistent/run"], "--resume: /nonexistent/run does not exist"),
        (["--limit", "20000"], "test split has 10000 images"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    assert message in usage_error(main, [*TINY, "--out", str(tmp_path / "r"), *args], capsys)


def test_bad_choice_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--dataset", "cifar"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "invalid choice" in err and err.count("\n") == 1


def test_unwritable_out_names_the_flag(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert "--out: " in usage_error(main, [*TINY, "--out", str(blocker / "run")], capsys)
    assert "is a file, not a directory" in usage_error(main, [*TINY, "--out", str(blocker)], capsys)
