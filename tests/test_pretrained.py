"""Pretrained generators: safetensors round trip (float16), generate(n, seed), bad files."""

import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import toygan
from toygan.io import FileError, save_torch
from toygan.mnist import presets
from toygan.mnist.data import load_mnist, to_pixels
from toygan.mnist.evaluate import main as evaluate_main
from toygan.mnist.hub import PRETRAINED, PretrainedGenerator, export, pretrained
from toygan.mnist.hub import main as hub_main
from toygan.mnist.parzen import parzen_log_likelihood


@pytest.mark.parametrize("name", ["goodfellow2014", "modern"])
def test_export_then_load_generates_pixels(tmp_path, name):
    torch.manual_seed(0)
    G, _ = presets.build_models(name)
    path = export(G.state_dict(), name, tmp_path, metadata={"epoch": 7})
    model = toygan.pretrained(name, weights_dir=tmp_path)
    assert path.name == f"{name}.safetensors" and model.metadata["epoch"] == "7"
    assert model.metadata["dtype"] == "float16" and not model.training
    for (k, v), w in zip(G.state_dict().items(), model.G.state_dict().values(), strict=True):
        assert w.dtype == torch.float32, k
        torch.testing.assert_close(w, v.half().float(), rtol=0, atol=0)
    x = model.generate(5, seed=3)
    assert x.shape == (5, 784) and x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    torch.testing.assert_close(x, model.generate(5, seed=3))  # a function of the seed
    assert not torch.equal(x, model.generate(5, seed=4))


def test_missing_corrupt_and_wrong_weights_name_the_file(tmp_path):
    with pytest.raises(FileError, match="no pretrained weights"):
        pretrained("modern", weights_dir=tmp_path)
    (tmp_path / "modern.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(FileError, match="not a readable safetensors"):
        pretrained("modern", weights_dir=tmp_path)
    save_file({"w": torch.zeros(2)}, str(tmp_path / "modern.safetensors"))
    with pytest.raises(FileError, match="does not fit"):
        pretrained("modern", weights_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown pretrained model 'nope'"):
        pretrained("nope", weights_dir=tmp_path)


REAL = Path(os.environ.get("TOYGAN_MNIST_DIR", Path(__file__).parents[1] / "../shared/data/mnist"))


@pytest.mark.parametrize("name", ["goodfellow2014", "modern"])
def test_shipped_weights_load_offline_with_their_provenance(name):
    model = toygan.pretrained(name)  # from the package's weights/, no network
    meta = model.metadata
    assert meta["preset"] == name and meta["dtype"] == "float16"
    assert int(meta["epoch"]) > 0 and meta["source"] in ("best.pt", "checkpoint.pt")
    x = model.generate(64, seed=0)
    assert x.shape == (64, 784) and 0.0 <= x.min() and x.max() <= 1.0


@pytest.mark.skipif(not (REAL / "t10k-images-idx3-ubyte.gz").exists(), reason="no MNIST files")
def test_shipped_goodfellow2014_is_a_trained_generator():
    """The Parzen log-likelihood (sigma of the shipped weights) of 500 test images under 2,000
    samples: a trained G scores far above an untrained one of the same preset (about -460)."""
    test8 = load_mnist("test", REAL, download_missing=False)[:500]
    test = to_pixels(test8, (0.0, 1.0), "cpu")  # (500, 784)
    shipped = toygan.pretrained("goodfellow2014")
    sigma = float(shipped.metadata["sigma"])
    untrained = PretrainedGenerator("goodfellow2014").eval()
    ll = {
        name: parzen_log_likelihood(test, G.generate(2000, seed=1), [sigma]).mean().item()
        for name, G in (("shipped", shipped), ("untrained", untrained))
    }
    assert ll["shipped"] > 100.0 > ll["untrained"] + 300.0, ll


def _run_with_best(tmp_path, generator, preset="goodfellow2014"):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"dataset": "mnist", "preset": preset, "seed": 3}))
    save_torch(run / "best.pt", {"generator": generator, "epoch": 12, "valid_ll": 7.5})
    return run


def test_export_cli_writes_weights_with_the_runs_provenance(tmp_path, capsys):
    G, _ = presets.build_models("goodfellow2014")
    run = _run_with_best(tmp_path, G.state_dict())
    assert hub_main([str(run), "--out", str(tmp_path / "w")]) == 0
    model = toygan.pretrained("goodfellow2014", weights_dir=tmp_path / "w")
    assert model.metadata["epoch"] == "12" and model.metadata["seed"] == "3"
    assert model.metadata["source"] == "best.pt"


def test_export_cli_defaults_to_a_folder_of_the_run_and_never_replaces_weights(tmp_path, capsys):
    """``python -m toygan.hub RUN --source last`` once wrote into the installed package and
    replaced the shipped modern.safetensors; now its default is RUN/weights, and an existing
    file, shipped or not, is replaced only with --force."""
    import hashlib

    from toygan.mnist.hub import WEIGHTS_DIR

    G, _ = presets.build_models("goodfellow2014")
    run = _run_with_best(tmp_path, G.state_dict())
    save_torch(run / "checkpoint.pt", {"trainer": {"generator": G.state_dict()}})
    shipped = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in WEIGHTS_DIR.iterdir()}
    assert hub_main([str(run), "--source", "last"]) == 0
    assert (run / "weights" / "goodfellow2014.safetensors").is_file()
    capsys.readouterr()
    before = (run / "weights" / "goodfellow2014.safetensors").read_bytes()
    assert hub_main([str(run)]) == 2  # the file exists: refused, untouched
    err = capsys.readouterr().err
    assert "--force" in err and err.count("\n") == 1
    assert (run / "weights" / "goodfellow2014.safetensors").read_bytes() == before
    assert hub_main([str(run), "--out", str(WEIGHTS_DIR), "--source", "last"]) == 2
    err = capsys.readouterr().err
    assert "shipped" in err and "--force" in err and err.count("\n") == 1
    after = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in WEIGHTS_DIR.iterdir()}
    assert after == shipped  # nothing in the package changed
    assert hub_main([str(run), "--force"]) == 0  # on purpose: replaced, best.pt's G this time
    assert (
        toygan.pretrained("goodfellow2014", weights_dir=run / "weights").metadata["source"]
        == "best.pt"
    )


def test_export_cli_refuses_source_best_without_best_pt(tmp_path, capsys):
    G, _ = presets.build_models("goodfellow2014")
    run = _run_with_best(tmp_path, G.state_dict())
    (run / "best.pt").unlink()
    save_torch(run / "checkpoint.pt", {"trainer": {"generator": G.state_dict()}})
    for argv in ([str(run)], [str(run), "--source", "best"]):
        assert hub_main([*argv, "--out", str(tmp_path / "w")]) == 2
        err = capsys.readouterr().err
        assert "--source" in err and "best.pt" in err and err.count("\n") == 1
    assert not (tmp_path / "w").exists()
    (run / "config.json").write_text(json.dumps({"preset": "donahue2016", "model": "bigan"}))
    save_torch(run / "best.pt", {"generator": G.state_dict()})
    assert hub_main([str(run), "--out", str(tmp_path / "w")]) == 2  # bigan: best.pt has no E
    assert "--source last" in capsys.readouterr().err


def test_export_cli_path_flags_attacked(tmp_path, capsys):
    G, _ = presets.build_models("goodfellow2014")
    run = _run_with_best(tmp_path, G.state_dict())
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    cases = [
        ([str(a_file)], "run_dir"),  # a file where a directory is expected
        ([str(a_file / "inside")], "run_dir"),  # a path inside a file
        ([str(run), "--out", str(a_file)], "--out"),  # a file where a directory is expected
        ([str(run), "--out", str(a_file / "inside")], "--out"),  # a path inside a file
    ]
    for argv, name in cases:
        assert hub_main(argv) == 2, argv
        err = capsys.readouterr().err
        assert name in err and err.count("\n") == 1, (argv, err)
    assert a_file.read_text() == "x" and not (run / "weights").exists()


@pytest.mark.parametrize(
    "setup, message",
    [
        ("no_config", "has no config.json"),
        ("ablation", "not a run of a preset"),
        ("no_generator", "holds no generator"),
        ("pickle", "could run code"),
    ],
)
def test_export_cli_refuses_bad_runs_in_one_line(tmp_path, capsys, setup, message):
    G, _ = presets.build_models("goodfellow2014")
    run = _run_with_best(
        tmp_path,
        G.state_dict(),
        "goodfellow2014:alternating" if setup == "ablation" else "goodfellow2014",
    )
    if setup == "no_config":
        (run / "config.json").unlink()
    elif setup == "no_generator":
        save_torch(run / "best.pt", {"epoch": 1})
    elif setup == "pickle":
        torch.save({"generator": G.state_dict(), "evil": Evil()}, run / "best.pt")
    assert hub_main([str(run), "--out", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and not (tmp_path / "w").exists()


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_evaluate_pretrained_refuses_unknown_names_and_missing_run_dir(tmp_path, capsys):
    assert evaluate_main(["--pretrained", "nope", str(tmp_path / "x")]) == 2
    assert "--pretrained" in capsys.readouterr().err
    assert evaluate_main([]) == 2
    assert "--pretrained NAME" in capsys.readouterr().err
    assert evaluate_main(["--pretrained", "modern", "--n-samples", "1", str(tmp_path / "y")]) == 2
    assert "--n-samples" in capsys.readouterr().err


def test_evaluate_pretrained_never_writes_over_a_training_run(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"dataset": "mnist", "preset": "modern"}))
    (run / "samples.npy").write_bytes(b"the run's own samples")
    assert evaluate_main(["--pretrained", "modern", str(run)]) == 2
    err = capsys.readouterr().err
    assert "holds a training run" in err and "\n" not in err.strip()
    assert (run / "samples.npy").read_bytes() == b"the run's own samples"
    assert "weights" not in json.loads((run / "config.json").read_text())


def test_intrinsic_dropout_is_seeded_noise_and_leaves_the_global_rng_alone():
    """mirza2014's G keeps its dropout when sampling (the 2014 code's IntrinsicDropoutGenerator):
    its samples vary with the seed through the masks alone, repeat with the seed, and drawing
    them does not move the global RNG that training's dropout uses."""
    torch.manual_seed(0)
    G = PretrainedGenerator("m", kind=("cgan", "mirza2014")).eval()
    assert G.G.intrinsic_dropout and presets.get_preset("mirza2014").intrinsic_dropout
    state = torch.get_rng_state()
    a, b = G.generate(20, seed=3), G.generate(20, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    z, y = G.prior.sample(20, torch.Generator().manual_seed(1), labels=torch.arange(20) % 10)
    with torch.no_grad():
        torch.manual_seed(5)
        on = (G((z, y)), G((z, y)))  # same noise, two draws of the masks
        G.G.intrinsic_dropout = False
        off = (G((z, y)), G((z, y)))
    assert not torch.allclose(on[0], on[1]) and torch.equal(off[0], off[1])
    G.train()  # training mode: dropout whatever the flag
    with torch.no_grad():
        assert not torch.allclose(G((z, y)), G((z, y)))


def test_sample_dropout_needs_a_draw_and_a_generator_with_dropout(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    assert evaluate_main([str(run), "--sample-dropout", "off"]) == 2
    assert "--best or --pretrained" in capsys.readouterr().err
    args = ["--pretrained", "modern", "--sample-dropout", "on", str(tmp_path / "m")]
    assert evaluate_main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "--sample-dropout" in err and "has no dropout" in err and "\n" not in err


def test_evaluate_best_refuses_bad_runs_in_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(
        json.dumps({"dataset": "mnist", "model": "cgan", "preset": "mirza2014"})
    )

    def refused(*args: str) -> str:
        assert evaluate_main([*args]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and not (run / "best").exists()
        return err

    assert "--parzen-every" in refused(str(run), "--best")  # no best.pt
    assert "run_dir" in refused("--best")
    assert "--best" in refused("--best", "--pretrained", "cgan", str(run))
    torch.save({"generator": Evil()}, run / "best.pt")  # a pickle that would run code
    assert "refused" in refused(str(run), "--best")
    G, _ = presets.build_models("modern")  # another model's weights
    save_torch(run / "best.pt", {"generator": G.state_dict(), "epoch": 3})
    assert "no cgan mirza2014 generator" in refused(str(run), "--best")
    save_torch(run / "best.pt", {"epoch": 3})
    assert "best.pt" in refused(str(run), "--best")
    (run / "config.json").write_text(json.dumps({"dataset": "toy"}))
    assert "config.json" in refused(str(run), "--best")
    for model, preset in (("cgan", "nope"), ("bigan", "mirza2014")):  # an edited config
        cfg = {"dataset": "mnist", "model": model, "preset": preset}
        (run / "config.json").write_text(json.dumps(cfg))
        assert "config.json" in refused(str(run), "--best")


@pytest.mark.parametrize("name", ["cgan", "mirza2014", "infogan", "bigan"])
def test_shipped_family_weights_load_with_their_model(name):
    model = toygan.pretrained(name)
    meta = model.metadata
    assert (meta["model"], meta["run_preset"]) == PRETRAINED[name]
    assert meta["dtype"] == "float16" and int(meta["epoch"]) > 0
    grid = model.grid(seed=0)
    assert grid.shape == (100, 784) and 0.0 <= grid.min() and grid.max() <= 1.0
    torch.testing.assert_close(model.generate(20, seed=5), model.generate(20, seed=5))
    if name == "bigan":
        x = model.generate(8, seed=1)
        assert model.encode(x).shape == (8, 50)
        with pytest.raises(ValueError, match="unconditional"):
            model.generate(2, labels=torch.tensor([1, 2]))
    else:  # one row per digit / c_1 value, one column per noise vector
        with pytest.raises(ValueError, match=r"must be in \[0, 10\)"):
            model.generate(2, labels=torch.tensor([3, 10]))
        with pytest.raises(ValueError, match="no encoder"):
            model.encode(grid[:2])


@pytest.mark.skipif(not (REAL / "t10k-images-idx3-ubyte.gz").exists(), reason="no MNIST files")
def test_shipped_cgan_draws_the_digit_asked_for():
    """Each of G's rows (digit k asked for) is nearer, on average, to the test images of digit k
    than to those of any other digit: the label steers G (an untrained G fails this)."""
    images, labels = load_mnist("test", REAL, 2000, labels=True, download_missing=False)
    test = to_pixels(images, (0.0, 1.0), "cpu")  # (2000, 784)
    means = torch.stack([test[torch.from_numpy(labels == k)].mean(0) for k in range(10)])
    shipped = [(toygan.pretrained(name), 10) for name in ("cgan", "mirza2014")]
    for G, expect in (*shipped, (PretrainedGenerator("cgan").eval(), 3)):
        x = G.generate(500, seed=2)  # sample i asked for digit i % 10
        nearest = torch.cdist(x, means).argmin(1)  # the class mean each sample is nearest to
        hits = int(sum((nearest[torch.arange(500) % 10 == k] == k).float().mean() > 0.5
                       for k in range(10)))  # fmt: skip
        assert (hits >= 9) if expect == 10 else (hits <= expect), hits
