"""toygan.mnist.probes against independent oracles: brute-force matchings and float64 1-NN."""

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from toygan.mnist.probes import (
    code_accuracy,
    conditional_accuracy,
    linear_probe,
    logistic_probe,
    nearest_index,
    nn_accuracy,
)

seeds = st.integers(0, 2**32 - 1)


def blobs(seed: int, n_per: int, k: int = 4, d: int = 6, sep: float = 10.0):
    """Well-separated Gaussian blobs: centres sep * e_c, unit noise; (n, d) float32, (n,) int64."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(k).repeat_interleave(n_per)  # (n,)
    x = sep * torch.eye(k, d)[y] + torch.randn(len(y), d, generator=g)  # (n, d)
    return x, y


# --- code_accuracy ------------------------------------------------------------------------------


@given(seed=seeds, n=st.integers(1, 60))
def test_code_accuracy_matches_brute_force_over_injective_maps(seed, n):
    rng = np.random.default_rng(seed)
    codes, labels = rng.integers(0, 4, n), rng.integers(0, 10, n)
    out = code_accuracy(codes, labels, n_codes=4)
    table = np.zeros((4, 10), dtype=int)  # (code, digit) counts, by a loop
    for c, y in zip(codes, labels, strict=True):
        table[c, y] += 1
    assert out["contingency"] == table.tolist()
    maps = np.array(list(itertools.permutations(range(10), 4)))  # (5040, 4) injective maps
    best = table[np.arange(4), maps].sum(1).max()
    assert out["accuracy"] == best / n
    mapping = out["mapping"]
    assert len(set(mapping)) == 4 and all(0 <= m < 10 for m in mapping)
    assert sum(int(np.sum((codes == c) & (labels == mapping[c]))) for c in range(4)) == best


@given(seed=seeds)
def test_code_accuracy_recovers_a_relabelling(seed):
    rng = np.random.default_rng(seed)
    perm = rng.permutation(10)
    labels = rng.integers(0, 10, 200)
    out = code_accuracy(torch.as_tensor(perm[labels]), labels)
    assert out["accuracy"] == 1.0
    assert out["mapping"] == np.argsort(perm).tolist()  # mapping[perm[d]] = d


def test_code_accuracy_more_codes_than_digits_leaves_codes_unmatched():
    codes = np.array([0, 0, 1, 11])
    labels = np.array([3, 3, 3, 4])
    out = code_accuracy(codes, labels, n_codes=12)
    assert out["accuracy"] == 3 / 4
    assert out["mapping"][0] == 3 and out["mapping"][11] == 4 and out["mapping"][1] != 3
    assert sorted(m for m in out["mapping"] if m >= 0) == list(range(10))


@pytest.mark.parametrize(
    "codes, labels, message",
    [
        ([0, 4], [0, 1], "codes must lie in 0..3"),
        ([0, -1], [0, 1], "codes must lie in 0..3"),
        ([0, 1, 2], [0, 1], "labels has 2 entries, expected 3"),
        ([0, 1], [0, 10], "labels must lie in 0..9"),
        ([0.0, 1.0], [0, 1], "codes must be integers"),
        ([], [], "non-empty"),
    ],
)
def test_code_accuracy_rejects_bad_input(codes, labels, message):
    with pytest.raises(ValueError, match=message):
        code_accuracy(np.array(codes, dtype=None if codes else int), np.array(labels), n_codes=4)


# --- nearest neighbours -------------------------------------------------------------------------


@given(
    seed=seeds,
    n=st.integers(1, 40),
    m=st.integers(1, 30),
    d=st.integers(1, 8),
    chunk=st.integers(1, 50),
)
def test_nearest_index_matches_float64_brute_force(seed, n, m, d, chunk):
    g = torch.Generator().manual_seed(seed)
    train, test = torch.randn(n, d, generator=g), torch.randn(m, d, generator=g)
    d2 = ((test[:, None, :].double() - train[None, :, :].double()) ** 2).sum(-1)  # (m, n)
    expected = d2.argmin(1)
    # continuous features: a float32 near-tie that could flip the winner is vanishingly unlikely
    torch.testing.assert_close(nearest_index(train, test, chunk=chunk), expected)
    ty = torch.randint(0, 10, (n,), generator=g)
    vy = torch.randint(0, 10, (m,), generator=g)
    acc = nn_accuracy(train.numpy(), ty.numpy(), test.numpy(), vy.numpy(), chunk=chunk)
    assert acc == (ty[expected] == vy).double().mean().item()


@given(seed=seeds, d=st.sampled_from([2, 50, 784]))
def test_nn_accuracy_is_one_on_the_training_set(seed, d):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(300, d, generator=g)
    y = torch.randint(0, 10, (300,), generator=g)
    assert nn_accuracy(x, y, x, y, chunk=64) == 1.0


def test_nearest_index_ties_go_to_the_lowest_index():
    train = torch.tensor([[5.0, 5.0], [1.0, 0.0], [-1.0, 0.0], [1.0, 0.0]])
    test = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    assert nearest_index(train, test).tolist() == [1, 1]


@pytest.mark.parametrize(
    "train_x, train_y, test_x, test_y, message",
    [
        (np.zeros(4), [0, 1, 2, 3], np.zeros((1, 1)), [0], r"train_x must be \(n, d\)"),
        (np.zeros((4, 2)), [0, 1, 2], np.zeros((1, 2)), [0], "train_y has 3 entries"),
        (np.zeros((4, 2)), [0, 1, 2, 3], np.zeros((1, 3)), [0], "test_x has 3 features"),
        (np.zeros((4, 2)), [0, 1, 2, 13], np.zeros((1, 2)), [0], r"train_y must lie in 0\.\.9"),
        (np.zeros((4, 2)), [0, 1, 2, 3], np.full((1, 2), np.nan), [0], "test_x contains NaN"),
        (np.zeros((0, 2)), [], np.zeros((1, 2)), [0], "train_x is empty"),
    ],
)
def test_probes_reject_bad_input(train_x, train_y, test_x, test_y, message):
    train_y, test_y = np.array(train_y, dtype=np.int64), np.array(test_y, dtype=np.int64)
    for probe in (nn_accuracy, linear_probe, logistic_probe):
        with pytest.raises(ValueError, match=message):
            probe(train_x, train_y, test_x, test_y)


def test_probes_reject_float_labels():
    x = np.zeros((2, 2))
    with pytest.raises(ValueError, match="train_y must be integers"):
        nn_accuracy(x, np.array([0.0, 1.0]), x, np.array([0, 1]))


# --- classifiers on frozen features -------------------------------------------------------------


def test_logistic_probe_separates_blobs_and_converges():
    x, y = blobs(0, 30)
    vx, vy = blobs(1, 30)
    out = logistic_probe(x.numpy(), y.numpy(), vx, vy)
    assert out == {"accuracy": 1.0, "converged": True, "n_iter": out["n_iter"]}
    assert 0 < out["n_iter"] < 1000


def test_logistic_probe_reports_rather_than_warns_when_capped():
    x, y = blobs(0, 30, sep=1.0)
    out = logistic_probe(x, y, x, y, max_iter=2)  # filterwarnings=error: a warning would fail
    assert out["converged"] is False and out["n_iter"] == 2


def test_linear_probe_learns_separable_blobs():
    x, y = blobs(0, 100, sep=20.0)  # 20 SGD steps at lr 0.01: sep=10 reaches only ~0.95
    vx, vy = blobs(1, 50, sep=20.0)
    assert linear_probe(x, y, vx, vy) == 1.0  # chance is 0.25
    assert linear_probe(x, y, vx, vy, epochs=0) < 1.0  # the training did it


def test_linear_probe_is_a_function_of_its_seed_alone():
    x, y = blobs(0, 100, sep=1.0)  # overlapping blobs: accuracy is far from saturated
    vx, vy = blobs(1, 100, sep=1.0)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = linear_probe(x, y, vx, vy, epochs=2, seed=7)
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is not consumed ...
    torch.manual_seed(456)
    assert linear_probe(x, y, vx, vy, epochs=2, seed=7) == first  # ... nor read
    runs = {linear_probe(x, y, vx, vy, epochs=2, seed=s) for s in range(4)}
    assert len(runs) > 1  # but the seed is


# --- conditional_accuracy -----------------------------------------------------------------------


def test_conditional_accuracy_by_hand():
    out = conditional_accuracy(
        predicted=np.array([0, 0, 1, 2, 2, 9]),
        requested=torch.tensor([0, 1, 1, 2, 3, 9]),
    )
    assert out["accuracy"] == 4 / 6
    expected = [1.0, 0.5, 1.0, 0.0, None, None, None, None, None, 1.0]
    for got, want in zip(out["per_class"], expected, strict=True):
        assert math.isnan(got) if want is None else got == want


@pytest.mark.parametrize(
    "predicted, requested, message",
    [
        ([0, 1], [0], "predicted has 2 entries, expected 1"),
        ([0, 10], [0, 1], r"predicted must lie in 0\.\.9"),
        ([0, 1], [0, -1], r"requested must lie in 0\.\.9"),
        ([], [], "non-empty"),
    ],
)
def test_conditional_accuracy_rejects_bad_input(predicted, requested, message):
    with pytest.raises(ValueError, match=message):
        conditional_accuracy(np.array(predicted, dtype=int), np.array(requested, dtype=int))
