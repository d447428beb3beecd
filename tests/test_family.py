"""CGAN, InfoGAN and BiGAN as games of the one engine: gradients against float64 autograd of the
papers' losses, L_I in closed form, exact resume, and bad input as one line with exit code 2."""

import copy
import math
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from oracles import usage_error
from torch import nn

from toygan import io
from toygan.engine import GANTrainer
from toygan.game import BiGame, ConditionalGame, InfoGame, InfoPrior, LabelPrior
from toygan.mnist import presets
from toygan.mnist.data import OUTPUT_RANGES, MnistSource
from toygan.mnist.experiment import main
from toygan.mnist.models import ConditionalDCGANDiscriminator
from toygan.models import NoisePrior

REAL = Path(os.environ.get("TOYGAN_MNIST_DIR", Path(__file__).parents[1] / "../shared/data/mnist"))
needs_real = pytest.mark.skipif(
    not (REAL / "t10k-images-idx3-ubyte.gz").exists(), reason="real MNIST test files not present"
)
M, X, Z, K = 5, 6, 3, 4  # batch, data dim, noise dim, classes (tiny float64 networks)


class CondG(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Linear(Z + K, X)

    def forward(self, z, y):
        return torch.tanh(self.net(torch.cat([z, F.one_hot(y, K).to(z.dtype)], 1)))


class CondD(nn.Module):
    def __init__(self, out=1):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(X + K, 7), nn.Tanh(), nn.Linear(7, out))

    def forward(self, x, y):
        return self.net(torch.cat([x, F.one_hot(y, K).to(x.dtype)], 1))


class PairD(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(X + Z, 7), nn.Tanh(), nn.Linear(7, 1))

    def forward(self, x, z):
        return self.net(torch.cat([x, z], 1))


def mlp(i, o):
    return nn.Sequential(nn.Linear(i, 7), nn.Tanh(), nn.Linear(7, o)).double()


def trainer(G, D, prior, data, game, update="alternating", extra=()):
    torch.manual_seed(0)
    g_opt = torch.optim.SGD([*G.parameters(), *(p for n in extra for p in n.parameters())], 0.1)
    d_opt = torch.optim.SGD(D.parameters(), lr=0.1)
    return GANTrainer(
        G,
        D,
        prior,
        data,
        "nonsaturating",
        g_opt,
        d_opt,
        rng=torch.Generator().manual_seed(0),
        batch_size=M,
        prefetch=1,
        update=update,
        game=game,
    )


def grads_of(loss, params):
    return torch.autograd.grad(loss, list(params), retain_graph=True)


def assert_grads(params, expected):
    for p, g in zip(params, expected, strict=True):
        torch.testing.assert_close(p.grad, g)


@given(st.integers(0, 2**16))
def test_cgan_d_and_g_gradients_are_autograd_of_the_conditional_losses(seed):
    torch.manual_seed(seed)
    G, D = CondG().double(), CondD().double()
    data = MnistSource(torch.rand(20, X).double(), torch.randint(K, (20,)))
    tr = trainer(G, D, LabelPrior(NoisePrior(Z), K), data, ConditionalGame(K))
    g0, d0 = copy.deepcopy(G), copy.deepcopy(D)
    x, y = torch.rand(M, X).double(), torch.randint(K, (M,))
    z, yz = torch.randn(M, Z).double(), torch.randint(K, (M,))
    tr._real, tr._noise = [(x, y)], [(z, yz)]
    tr.d_step()
    fake = g0(z, yz).detach()  # judged with the label G was asked for
    d_loss = F.softplus(-d0(x, y)).mean() + F.softplus(d0(fake, yz)).mean()
    assert_grads(D.parameters(), grads_of(d_loss, d0.parameters()))

    d1 = copy.deepcopy(D)  # after D's step
    z2, y2 = torch.randn(M, Z).double(), torch.randint(K, (M,))
    tr._noise = [(z2, y2)]
    tr.g_step()
    g_loss = F.softplus(-d1(g0(z2, y2), y2)).mean()
    assert_grads(G.parameters(), grads_of(g_loss, g0.parameters()))


@pytest.mark.parametrize("epoch", [0, 1, 199, 200, 201, 300, 399, 450])
def test_bigan_schedule_is_the_codes_set_lr(epoch):
    # jeffdonahue/bigan set_lr, exponential branch (train_mnist.sh: no --linear_decay), niter =
    # niter_decay = 200, final_lr_mult 0.01; the rate changes once per epoch
    lr0, steps = 2e-4, 3
    opt = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=lr0)
    sched = presets.HalfDecay(opt, steps)
    for _ in range(epoch * steps + 1):  # into the second iteration of the epoch
        opt.step()
        sched.step()
    e = min(epoch, 399)
    p = (e - 200 + 1) / 200
    want = lr0 if e < 200 else math.exp(math.log(lr0) + p * (math.log(0.01 * lr0) - math.log(lr0)))
    assert opt.param_groups[0]["lr"] == pytest.approx(want, rel=1e-12)


def test_conditional_dcgan_d_sees_the_label_at_its_last_layer():
    # with every label weight but the output layer's zeroed, two labels differ by exactly the
    # output layer's label columns: the label reaches the last layer, not only the first
    torch.manual_seed(0)
    D = ConditionalDCGANDiscriminator(10).double().eval()
    with torch.no_grad():
        D.conv0.weight[:, 1:] = 0
        D.conv1.weight[:, 64:] = 0
        D.fc2.weight[:, -10:] = 0
    x = torch.rand(3, 784).double()
    a, b = D(x, torch.full((3,), 2)), D(x, torch.full((3,), 7))
    w = D.out.weight[0, -10:]
    torch.testing.assert_close(b - a, (w[7] - w[2]).expand(3, 1))
    assert D(x, torch.full((3,), 2)).shape == (3, 1)


def test_info_term_in_closed_form():
    game = InfoGame(noise_dim=Z, n_categories=K, n_continuous=2)
    latent = InfoPrior(NoisePrior(Z), K, 2).sample(M, torch.Generator().manual_seed(0))
    cat, cont = game.codes(latent)
    uniform = torch.cat([torch.zeros(M, K), cont], 1)  # Q knows nothing of c_1, the means exactly
    loss, stats = game.aux_loss(uniform, latent)
    # CE = ln K: L_I = H(c_1) - CE = 0; the continuous NLL per code is ln(2 pi) / 2
    torch.testing.assert_close(stats, torch.tensor([0.0, 0.5 * math.log(2 * math.pi)]))
    torch.testing.assert_close(loss, torch.tensor(math.log(K) + 2 * 0.5 * math.log(2 * math.pi)))
    sure = torch.cat(
        [F.one_hot(cat, K) * 60.0, cont + 1.0], 1
    )  # Q certain and right; means off by 1
    loss, stats = game.aux_loss(sure, latent)
    assert stats[0] == pytest.approx(math.log(K), abs=1e-6)  # the ceiling H(c_1) = ln K
    assert stats[1] == pytest.approx(0.5 * (1 + math.log(2 * math.pi)), abs=1e-6)


@given(st.integers(0, 2**16))
def test_infogan_gradients_include_the_information_term_for_both_players(seed):
    torch.manual_seed(seed)
    n_c = 2
    game = InfoGame(noise_dim=Z, n_categories=K, n_continuous=n_c)
    G, D = mlp(Z + K + n_c, X), mlp(X, 1 + K + n_c)
    tr = trainer(G, D, InfoPrior(NoisePrior(Z), K, n_c), MnistSource(torch.rand(20, X)), game)
    g0, d0 = copy.deepcopy(G), copy.deepcopy(D)
    x = torch.rand(M, X).double()
    latent = InfoPrior(NoisePrior(Z), K, n_c).sample(M, torch.Generator().manual_seed(seed))
    latent = latent.double()
    tr._real, tr._noise = [x], [latent]
    tr.d_step()

    def info(out, lat):  # the released code's -MI up to a constant: CE(c_1) + sum_j (mu_j-c_j)^2/2
        c = lat[:, Z:]
        ce = F.cross_entropy(out[:, 1 : 1 + K], c[:, :K].argmax(1))
        return ce + 0.5 * ((out[:, 1 + K :] - c[:, K:]) ** 2).sum(1).mean()

    out_f = d0(g0(latent).detach())
    d_loss = (
        F.softplus(-d0(x)[:, :1]).mean() + F.softplus(out_f[:, :1]).mean() + info(out_f, latent)
    )
    assert_grads(D.parameters(), grads_of(d_loss, d0.parameters()))

    d1 = copy.deepcopy(D)
    tr._noise = [latent]
    _, _, stats = tr.g_step()
    out_g = d1(g0(latent))
    g_loss = F.softplus(-out_g[:, :1]).mean() + info(out_g, latent)
    assert_grads(G.parameters(), grads_of(g_loss, g0.parameters()))
    ce = F.cross_entropy(out_g[:, 1 : 1 + K], latent[:, Z : Z + K].argmax(1))
    assert float(stats[0]) == pytest.approx(math.log(K) - ce.detach().item(), rel=1e-9)


@given(st.integers(0, 2**16))
def test_bigan_one_pass_updates_d_g_and_e_with_swapped_labels(seed):
    torch.manual_seed(seed)
    G, E, D = mlp(Z, X), mlp(X, Z), PairD().double()
    tr = trainer(
        G, D, NoisePrior(Z), MnistSource(torch.rand(20, X)), BiGame(E), "simultaneous", [E]
    )
    g0, e0, d0 = (copy.deepcopy(n) for n in (G, E, D))
    x, z = torch.rand(M, X).double(), torch.randn(M, Z).double()
    tr._real, tr._noise = [x], [z]
    _, _, _, stats = tr.simultaneous_step()
    l_real, l_fake = d0(x, e0(x)), d0(g0(z), z)
    d_loss = F.softplus(-l_real).mean() + F.softplus(l_fake).mean()
    ge_loss = F.softplus(-l_fake).mean() + F.softplus(l_real).mean()  # labels swapped
    assert_grads(D.parameters(), grads_of(d_loss, d0.parameters()))
    assert_grads(G.parameters(), grads_of(ge_loss, g0.parameters()))
    assert_grads(E.parameters(), grads_of(ge_loss, e0.parameters()))
    assert float(stats[0]) == pytest.approx(F.softplus(l_real).mean().detach().item(), rel=1e-9)


def test_bigan_alternating_g_step_trains_e_on_real_pairs():
    torch.manual_seed(1)
    G, E, D = mlp(Z, X), mlp(X, Z), PairD().double()
    tr = trainer(G, D, NoisePrior(Z), MnistSource(torch.rand(20, X)), BiGame(E), extra=[E])
    e0, g0, d0 = copy.deepcopy(E), copy.deepcopy(G), copy.deepcopy(D)
    x, z = torch.rand(M, X).double(), torch.randn(M, Z).double()
    tr._real, tr._noise = [x], [z]
    tr.g_step()
    ge_loss = F.softplus(-d0(g0(z), z)).mean() + F.softplus(d0(x, e0(x))).mean()
    assert_grads(E.parameters(), grads_of(ge_loss, e0.parameters()))
    assert all(p.grad is None for p in D.parameters())  # D untouched by G's step


def test_donahue2016_nets_are_the_codes_mnist_mlp():
    # jeffdonahue/bigan: N.FC has no bias (G's and D's outputs too), D's BinaryClassifier starts
    # at zero (D(x, z) = 1/2), and without --cat_inputs D normalises real and fake pairs apart
    init = torch.Generator().manual_seed(0)
    G, D, game = presets.build_game("donahue2016", "bigan", generator=init)
    E = game.networks["encoder"]
    assert all(m.bias is None for n in (G, D, E) for m in n.modules() if isinstance(m, nn.Linear))
    x, z = torch.rand(8, 784), torch.rand(8, 50) * 2 - 1
    assert torch.equal(D(x, z), torch.zeros(8, 1))
    with torch.no_grad():
        h = E.features(x)  # (8, 1024): the layer the code's NNC_e- scores
        assert torch.equal(E(x), 2 * torch.sigmoid(E.out(h)) - 1)
        D.out.weight.normal_(0, 1.0)  # a trained D: its real logits must not see the fakes
    p = presets.get_preset("donahue2016")
    g_opt, d_opt, _ = presets.build_optimizers("donahue2016", G, D, 10, extra=[E])
    tr = GANTrainer(
        G, D, presets.build_prior("donahue2016", "bigan"), MnistSource(torch.rand(20, 784)),
        "nonsaturating", g_opt, d_opt, rng=torch.Generator().manual_seed(0), batch_size=8,
        update=p.update, d_passes=p.d_passes, game=game,
    )  # fmt: skip
    for net in (G, D, E):
        net.train()
    with torch.no_grad():
        real_in = game.real_input(x)
        out1 = tr._d_out(real_in, (torch.rand(8, 784), z))
        out2 = tr._d_out(real_in, (torch.zeros(8, 784), -z))
    assert torch.equal(out1[:8], out2[:8]) and not torch.equal(out1[8:], out2[8:])


def test_engine_refuses_an_encoder_outside_g_opt_and_penalties_off_the_plain_game():
    G, E, D = mlp(Z, X), mlp(X, Z), PairD().double()
    with pytest.raises(ValueError, match="g_opt must also hold"):
        trainer(G, D, NoisePrior(Z), MnistSource(torch.rand(20, X)), BiGame(E))
    with pytest.raises(ValueError, match="gradient penalty"):
        GANTrainer(
            G,
            D,
            NoisePrior(Z),
            MnistSource(torch.rand(20, X)),
            "wasserstein_gp",
            torch.optim.SGD(G.parameters(), 0.1),
            torch.optim.SGD(D.parameters(), 0.1),
            rng=torch.Generator(),
            game=ConditionalGame(K),
        )


def test_priors_ask_for_labels_and_refuse_bad_ones():
    rng = torch.Generator().manual_seed(0)
    z, y = LabelPrior(NoisePrior(Z), K).sample(6, rng, labels=torch.tensor([0, 1, 2, 3, 0, 1]))
    assert z.shape == (6, Z) and y.tolist() == [0, 1, 2, 3, 0, 1]
    with pytest.raises(ValueError, match=r"requested labels: labels must be in \[0, 4\)"):
        LabelPrior(NoisePrior(Z), K).sample(2, rng, labels=torch.tensor([1, 4]))
    lat = InfoPrior(NoisePrior(Z), K, 2).sample(500, rng, categories=torch.arange(500) % K)
    assert (lat[:, Z : Z + K].argmax(1) == torch.arange(500) % K).all()
    assert lat[:, Z + K :].abs().max() <= 1 and lat[:, Z + K :].std() > 0.5  # U(-1, 1)
    with pytest.raises(ValueError, match="requested categories"):
        InfoPrior(NoisePrior(Z), K, 2).sample(1, rng, categories=torch.tensor([-1]))


def test_presets_build_every_model_they_name():
    for name, p in presets.PRESETS.items():
        for model in p.models:
            G, D, game = presets.build_game(name, model)
            prior = presets.build_prior(name, model)
            noise = prior.sample(3, torch.Generator().manual_seed(0))
            G.eval(), D.eval()
            fake = game.generate(G, noise).detach()
            lo, hi = OUTPUT_RANGES[G.output]
            assert fake.shape == (3, 784) and lo <= float(fake.min()) <= float(fake.max()) <= hi
            logits, aux = game.split(D(*game.fake_input(fake, noise)))
            assert logits.shape == (3, 1)
            assert aux is None or aux.shape == (3, game.code_dim)
    with pytest.raises(ValueError, match="trains --model gan"):
        presets.build_game("modern", "bigan")


TINY = ["--data-dir", str(REAL), "--split", "test", "--device", "cpu", "--no-progress"]
TINY += [
    "--no-download",
    "--n-samples",
    "20",
    "--grid",
    "2",
    "--limit",
    "192",
    "--batch-size",
    "32",
]
MODELS = [["--model", "cgan", "--preset", "mirza2014"], ["--model", "cgan", "--preset", "modern"]]
MODELS += [["--model", "infogan"]]
MODELS += [["--model", "bigan"], ["--model", "cgan", "--preset", "dcgan"]]


@needs_real
@pytest.mark.parametrize("model", MODELS, ids=lambda m: "-".join(m[1::2]))
def test_each_model_resumes_exactly(model, tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    assert main([*TINY, *model, "--epochs", "2", "--out", str(full)]) == 0
    assert main([*TINY, *model, "--epochs", "1", "--out", str(part)]) == 0
    assert main(["--resume", str(part), "--epochs", "2", "--no-progress"]) == 0
    a = io.load_checkpoint(full / "checkpoint.pt")["trainer"]
    b = io.load_checkpoint(part / "checkpoint.pt")["trainer"]
    nets = ["generator", "discriminator"] + (["encoder"] if "bigan" in model else [])
    for net in nets:
        for k, v in a[net].items():
            torch.testing.assert_close(b[net][k], v, rtol=0, atol=0, msg=f"{net}.{k}")
    assert (full / "metrics.csv").read_text() == (part / "metrics.csv").read_text()
    header = (full / "metrics.csv").read_text().splitlines()[0]
    extra = {"infogan": "l_info,cont_nll", "bigan": "e_loss"}.get(model[1])
    assert header.endswith(extra or "g_grad_norm")
    if model[1] in ("cgan", "infogan"):
        assert io.load_npy(full / "sample_labels.npy").tolist() == [i % 10 for i in range(20)]


@needs_real
@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--model", "bigan", "--preset", "dcgan"], "--model: preset dcgan trains"),
        (["--model", "gan", "--preset", "chen2016"], "--model: preset chen2016 trains"),
        (["--model", "cgan", "--objective", "wasserstein_gp"], "--objective"),
        (["--model", "bigan", "--objective", "least_squares"], "--objective"),
    ],
)
def test_bad_model_choices_are_one_line(argv, flag, tmp_path, capsys):
    err = usage_error(main, [*TINY, *argv, "--out", str(tmp_path / "r")], capsys)
    assert flag in err


def test_an_unknown_model_is_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--model", "vae"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--model: invalid choice" in err and err.count("\n") == 1


def idx(arr: np.ndarray) -> bytes:
    return bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def test_a_label_out_of_range_is_one_line(tmp_path, capsys):
    data = tmp_path / "mnist"
    data.mkdir()
    images = np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8)
    labels = np.arange(64, dtype=np.uint8) % 10
    labels[7] = 12  # a corrupt label file
    (data / "t10k-images-idx3-ubyte").write_bytes(idx(images))
    (data / "t10k-labels-idx1-ubyte").write_bytes(idx(labels))
    argv = ["--data-dir", str(data), "--split", "test", "--no-download", "--model", "cgan"]
    argv += ["--batch-size", "16", "--no-progress", "--out", str(tmp_path / "r")]
    err = usage_error(main, argv, capsys)
    assert "--data-dir" in err and "labels must be in [0, 10)" in err
    assert not (tmp_path / "r").exists()  # nothing written


@needs_real
def test_a_checkpoint_with_another_code_dimension_is_one_line(tmp_path, capsys):
    run = tmp_path / "info"
    assert main([*TINY, "--model", "infogan", "--epochs", "1", "--out", str(run)]) == 0
    state = io.load_checkpoint(run / "checkpoint.pt")
    d = state["trainer"]["discriminator"]
    d["q.3.weight"], d["q.3.bias"] = torch.zeros(14, 128), torch.zeros(14)  # 3 continuous codes
    io.save_torch(run / "checkpoint.pt", state)
    err = usage_error(main, ["--resume", str(run), "--epochs", "2", "--no-progress"], capsys)
    assert "checkpoint.pt" in err and "size mismatch" in err


@needs_real
@pytest.mark.parametrize("model", ["cgan", "infogan", "bigan"])
def test_evaluate_adds_each_models_measures(model, tmp_path, capsys):
    from toygan.mnist import measures
    from toygan.mnist.evaluate import main as evaluate

    run = tmp_path / model
    assert main([*TINY, "--model", model, "--epochs", "1", "--out", str(run)]) == 0
    cache = ["--cache-dir", str(tmp_path / "cache"), "--data-dir", str(REAL), "--device", "cpu"]
    assert evaluate([str(run), *cache]) == 0
    r = io.read_json(run / "evaluation.json")
    keys = {
        "cgan": ["conditional_accuracy", "frechet_distance_class_mean"],
        "infogan": ["code_accuracy"],
        "bigan": [f"{p}{k}" for p in measures.FEATURE_SETS.values() for k in ("nn_", "logistic_")],
    }[model]
    for key in keys:
        key = key + "accuracy" if key.endswith("_") else key
        assert 0.0 <= r[key] or key.startswith("frechet"), key
    if model == "bigan":
        assert 0.0 <= r["linear_probe_accuracy"] <= 1 and 0.0 <= r["random_probe_accuracy"] <= 1
        assert r["pixel_nn_accuracy"] > 0.5  # 1-NN on pixels of 192 training digits
        assert len(measures.FEATURE_SETS) == 5 and 0.0 <= r["random_hidden_nn_accuracy"] <= 1
        assert (run / "reconstructions.png").exists()
    if model == "infogan":
        assert (run / "figure2_c2.png").exists() and len(r["code_mapping"]) == 10
        state = io.load_checkpoint(run / "checkpoint.pt")  # a checkpoint without its D (and Q)
        del state["trainer"]["discriminator"]
        io.save_torch(run / "checkpoint.pt", state)
        err = usage_error(evaluate, [str(run), *cache], capsys)
        assert "checkpoint.pt" in err and "networks" in err
    if model == "cgan":  # a corrupt sample_labels.npy is named in one line
        np.save(run / "sample_labels.npy", np.zeros(3, np.int64))
        err = usage_error(evaluate, [str(run), *cache], capsys)
        assert "sample_labels.npy" in err


@needs_real
def test_a_bigan_run_exports_g_and_e_as_pretrained_weights(tmp_path):
    from toygan.mnist.hub import main as hub_main
    from toygan.mnist.hub import pretrained

    run = tmp_path / "bigan"
    assert main([*TINY, "--model", "bigan", "--epochs", "1", "--out", str(run)]) == 0
    argv = [str(run), "--out", str(tmp_path / "w"), "--dtype", "float32", "--source", "last"]
    assert hub_main(argv) == 0
    model = pretrained("bigan", weights_dir=tmp_path / "w")
    state = io.load_checkpoint(run / "checkpoint.pt")["trainer"]
    for net, key in ((model.G, "generator"), (model.E, "encoder")):
        for k, v in net.state_dict().items():
            torch.testing.assert_close(v, state[key][k].to(v.dtype), rtol=0, atol=0)
    assert model.metadata["model"] == "bigan" and model.metadata["source"] == "checkpoint.pt"


@needs_real
def test_resume_finds_the_mnist_world_without_dataset(tmp_path):
    from toygan.run import main as run_main

    run = tmp_path / "r"
    assert main([*TINY, "--model", "bigan", "--epochs", "1", "--out", str(run)]) == 0
    assert run_main(["--resume", str(run), "--epochs", "2", "--no-progress"]) == 0
    assert io.read_json(run / "summary.json")["epochs"] == 2


def test_mean_d_panels_read_the_committed_columns(tmp_path):
    from toygan.mnist import plots as plots_mnist

    csv = tmp_path / "bigan_x.csv"
    csv.write_text("step,d_real,d_fake\n1,0.9,0.1\n2,0.8,0.25\n3,0.7,0.3\n")
    steps, real, fake = plots_mnist.read_mean_d(csv)
    assert steps.tolist() == [1, 2, 3] and real.tolist() == [0.9, 0.8, 0.7]
    assert fake.tolist() == [0.1, 0.25, 0.3]
    panels = {"one pass": (steps, real, fake), "two passes": (steps, fake, real)}
    path = plots_mnist.save_mean_d_panels(panels, tmp_path / "d.png", per_epoch=2, title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_intrinsic_dropout_figure_reads_a_runs_parzen_csv(tmp_path):
    from toygan.mnist import plots as plots_mnist

    csv = tmp_path / "parzen.csv"
    csv.write_text(
        "epoch,sigma,valid_ll,valid_ll_no_dropout,seconds\n5,0.3,-20.5,-280.0,4\n10,0.2,140.1,-30.2,4\n"
    )
    grids = {"on": np.zeros((100, 784)), "off": np.ones((100, 784))}
    path = plots_mnist.save_intrinsic_dropout(csv, grids, tmp_path / "m.png", title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csv.write_text("epoch,sigma,valid_ll,seconds\n5,0.3,-20.5,4\n")  # a run without the column
    with pytest.raises(ValueError, match="valid_ll_no_dropout"):
        plots_mnist.save_intrinsic_dropout(csv, grids, tmp_path / "n.png")
