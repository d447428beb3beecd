"""Batched per-member metrics against the scalar metrics, member by member (the oracle)."""

import math

import torch
from hypothesis import given
from hypothesis import strategies as st
from oracles import mixtures

from toygan.toy.member_metrics import mode_stats_members, wasserstein1_members
from toygan.toy.metrics import mode_stats, wasserstein1


def _members(seed: int, n: int, members: int) -> torch.Tensor:
    """(n, S) samples: member s is N(loc_s, scale_s), spread so some miss a mode, some collapse."""
    g = torch.Generator().manual_seed(seed)
    loc = 6 * torch.rand(members, generator=g, dtype=torch.float64) - 3  # (S,)
    scale = 3 * torch.rand(members, generator=g, dtype=torch.float64) + 1e-3  # (S,)
    return loc + scale * torch.randn(n, members, generator=g, dtype=torch.float64)  # (n, S)


@given(mixtures(), st.integers(0, 2**31 - 1), st.integers(1, 300), st.integers(1, 5))
def test_w1_of_every_member_is_the_scalar_w1(dist, seed, n, members):
    x = _members(seed, n, members)
    expected = torch.tensor(
        [wasserstein1(x[:, s], dist) for s in range(members)], dtype=torch.float64
    )
    torch.testing.assert_close(wasserstein1_members(x, dist), expected, rtol=1e-9, atol=1e-9)


@given(mixtures(), st.integers(0, 2**31 - 1), st.integers(1, 300), st.integers(1, 5))
def test_mode_stats_of_every_member_are_the_scalar_ones(dist, seed, n, members):
    x = _members(seed, n, members)
    got = mode_stats_members(x, dist)
    for s in range(members):
        want = mode_stats(x[:, s], dist)
        assert int(got["modes_covered"][s]) == want["modes_covered"]
        assert got["covered"][s].tolist() == want["covered"]
        assert math.isclose(float(got["high_quality"][s]), want["high_quality"], abs_tol=1e-12)
        torch.testing.assert_close(
            got["mode_shares"][s], torch.tensor(want["mode_shares"], dtype=torch.float64)
        )


def test_float32_members_match_the_oracle_to_1e_6():
    # the form the comparison uses: float32 generator samples, 2000 per member, 16 members
    from toygan.toy.mixture import GaussianMixture

    dist = GaussianMixture([-2.0, 2.0], [0.5, 0.5])
    x = _members(7, 2000, 16).float()
    expected = torch.tensor([wasserstein1(x[:, s], dist) for s in range(16)], dtype=torch.float64)
    torch.testing.assert_close(wasserstein1_members(x, dist), expected, rtol=1e-6, atol=1e-6)


def test_a_non_finite_member_fails_and_leaves_the_others_alone():
    from toygan.toy.mixture import GaussianMixture

    dist = GaussianMixture([-2.0, 2.0], [0.5, 0.5])
    x = _members(1, 500, 3)
    bad = x.clone()
    bad[10, 1] = math.nan
    bad[3, 2] = math.inf
    w1 = wasserstein1_members(bad, dist)
    assert math.isinf(w1[1]) and math.isinf(w1[2])
    torch.testing.assert_close(w1[0], wasserstein1_members(x, dist)[0])
    ms = mode_stats_members(bad, dist)
    assert ms["modes_covered"][1:].tolist() == [0, 0]
    assert ms["high_quality"][1:].tolist() == [0.0, 0.0]
