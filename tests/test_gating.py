"""The grid gate finds exactly the pairs the all-pairs gate finds."""
import numpy as np
from hypothesis import given, settings, strategies as st
from scipy.stats import chi2

from kernels.gating import gate, horizontal_radius
import naive

GAMMA_3 = chi2.ppf(0.9995, 3)
GAMMA_4 = chi2.ppf(0.9995, 4)


def random_problem(seed, n_tracks, n_plots, extent_m, sigma_pos_m, sigma_vel_mps, doppler_frac):
    rng = np.random.default_rng(seed)
    capacity = n_tracks + 3
    x = np.zeros((capacity, 6))
    P = np.zeros((capacity, 6, 6))
    t_track = np.zeros(capacity)
    slots = rng.choice(capacity, n_tracks, replace=False)
    for i in slots:
        x[i, :2] = rng.uniform(-extent_m, extent_m, 2)
        x[i, 2] = rng.uniform(0, 500)
        x[i, 3:5] = rng.normal(0, 15, 2)
        x[i, 5] = rng.normal(0, 1)
        A = rng.normal(size=(6, 6))
        scale = np.array([sigma_pos_m] * 3 + [sigma_vel_mps] * 3) * rng.uniform(0.2, 2.0)
        P[i] = (A @ A.T / 6 + np.eye(6) * 0.1) * np.outer(scale, scale)
        t_track[i] = rng.uniform(-2.0, 0.0)
    # plots: half near tracks, half anywhere
    z = np.empty((n_plots, 3))
    for j in range(n_plots):
        if n_tracks and rng.random() < 0.6:
            i = slots[rng.integers(n_tracks)]
            z[j] = x[i, :3] + rng.normal(0, sigma_pos_m * 2, 3)
        else:
            z[j] = [rng.uniform(-extent_m, extent_m), rng.uniform(-extent_m, extent_m),
                    rng.uniform(0, 500)]
    R = np.empty((n_plots, 3, 3))
    for j in range(n_plots):
        B = rng.normal(size=(3, 3))
        R[j] = (B @ B.T / 3 + np.eye(3) * 0.2) * rng.uniform(5, 60) ** 2
    rv = np.where(rng.random(n_plots) < doppler_frac, rng.normal(0, 10, n_plots), np.nan)
    sigma_rv = np.full(n_plots, 0.7)
    radar_pos = np.tile([3000.0, -4000.0, 20.0], (n_plots, 1))
    t_plot = np.sort(rng.uniform(0.0, 0.1, n_plots))
    return (np.sort(slots).astype(np.int64), x, P, t_track, z, R, rv, sigma_rv, radar_pos, t_plot)


def quick_radius(problem, q_h):
    """The engine's per-frame bound: a span a little wider than the plots'."""
    slots, x, P, t_track, z, R, rv, sigma_rv, radar_pos, t_plot = problem
    r = np.full(x.shape[0], np.inf)
    if t_plot.size == 0:
        return r
    max_tr = float(np.max(R[:, 0, 0] + R[:, 1, 1]))
    for i in slots:
        r[i] = horizontal_radius(x[i], P[i], t_track[i], t_plot.min() - 0.05, t_plot.max() + 0.02,
                                 q_h, max(GAMMA_3, GAMMA_4), max_tr)
    return r


def compare(problem, q_h=4.0, q_v=0.25, cell_m=300.0, quick=False):
    r_quick = quick_radius(problem, q_h) if quick else np.full(problem[1].shape[0], np.inf)
    fast = gate(*problem, q_h, q_v, GAMMA_3, GAMMA_4, cell_m, r_quick)
    slow = naive.gate(*problem, q_h, q_v, GAMMA_3, GAMMA_4)
    got = {(int(i), int(j)): (d2, ld, dim) for i, j, d2, ld, dim in zip(*fast)}
    # pairs within rounding of the threshold may legitimately differ
    def near_threshold(v):
        return abs(v[0] - (GAMMA_4 if v[2] == 4 else GAMMA_3)) < 1e-7
    missing = {p for p, v in slow.items() if p not in got and not near_threshold(v)}
    extra = {p for p, v in got.items() if p not in slow and not near_threshold(v)}
    assert not missing, f"grid gate missed {sorted(missing)[:5]}"
    assert not extra, f"grid gate added {sorted(extra)[:5]}"
    for p in set(got) & set(slow):
        np.testing.assert_allclose(got[p][0], slow[p][0], rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(got[p][1], slow[p][1], rtol=1e-9, atol=1e-9)
        assert got[p][2] == slow[p][2]
    return len(slow)


def test_grid_gate_matches_naive_dense():
    n = compare(random_problem(1, 60, 80, 2000.0, 40.0, 10.0, 0.5))
    assert n > 20  # the case actually exercises in-gate pairs


def test_grid_gate_large_covariances_fall_back_to_all_plots():
    # tracks so uncertain that their discs cover more cells than the grid walks
    n = compare(random_problem(2, 20, 50, 3000.0, 800.0, 50.0, 0.3), cell_m=100.0)
    assert n > 20


def test_empty_inputs():
    problem = list(random_problem(3, 5, 4, 1000.0, 30.0, 5.0, 0.5))
    problem[0] = np.zeros(0, np.int64)
    out = gate(*problem, 4.0, 0.25, GAMMA_3, GAMMA_4, 300.0, np.full(problem[1].shape[0], np.inf))
    assert all(a.size == 0 for a in out)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_tracks=st.integers(0, 25), n_plots=st.integers(0, 30),
       extent=st.sampled_from([200.0, 1500.0, 8000.0]), sigma=st.sampled_from([5.0, 50.0, 300.0]),
       cell=st.sampled_from([50.0, 250.0, 1000.0]), doppler=st.sampled_from([0.0, 0.5, 1.0]),
       quick=st.booleans())
def test_grid_gate_equals_naive_gate(seed, n_tracks, n_plots, extent, sigma, cell, doppler, quick):
    compare(random_problem(seed, n_tracks, n_plots, extent, sigma, 8.0, doppler), cell_m=cell,
            quick=quick)


def test_quick_radius_keeps_every_pair():
    n = compare(random_problem(5, 80, 120, 4000.0, 40.0, 10.0, 0.5), quick=True)
    assert n > 30
