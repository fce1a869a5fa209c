"""The grid gate finds exactly the pairs the all-pairs gate finds."""
import numpy as np
from hypothesis import given, settings, strategies as st
from scipy.stats import chi2

from kernels import gating
from kernels.gating import (horizontal_radius, track_grid_build, track_grid_candidates,
                            track_grid_insert, track_grid_move, track_grid_new)
from kernels.oosm import HIST_FIELDS, history_arrays
import naive

GAMMA_3 = chi2.ppf(0.9995, 3)
GAMMA_4 = chi2.ppf(0.9995, 4)


def gate(track_slots, x, *rest):
    """``kernels.gating.gate`` without a history, called with the argument types the plan
    uses (an empty history, ``retro=False``): the gate compiles once for the whole suite."""
    fields = history_arrays(x.shape[0], 3, 1)
    return gating.gate(track_slots, x, *rest, tuple(fields[name] for name in HIST_FIELDS), False)


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


# ---------------------------------------------------------------------------
# The live-track grid: the gate on its candidates equals the gate on every live track
# ---------------------------------------------------------------------------

def period_radius(x, P, t_track, i, t0, t1, q_h, max_tr):
    return horizontal_radius(x[i], P[i], t_track[i], t0, t1, q_h, max(GAMMA_3, GAMMA_4), max_tr)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_tracks=st.integers(0, 80), extent=st.sampled_from([300.0, 3000.0, 30000.0]),
       sigma=st.sampled_from([3.0, 40.0, 400.0]), grid_cell=st.sampled_from([100.0, 400.0, 2000.0]),
       groups=st.integers(1, 6))
def test_track_grid_candidates_give_every_pair_in_order(seed, n_tracks, extent, sigma, grid_cell, groups):
    # A period of several groups: tracks updated (moved, new radius) and new
    # tracks started between groups, as the tracker does; every group's gate
    # on the grid's candidates returns exactly the pairs, in the same order,
    # of the gate on every live track.
    q_h, q_v, cell_m = 4.0, 0.25, 300.0
    rng = np.random.default_rng(seed)
    problem = random_problem(seed, n_tracks, 30, extent, sigma, sigma / 10, 0.5)
    slots, x, P, t_track = problem[0], problem[1].copy(), problem[2], problem[3].copy()
    capacity = x.shape[0] + 20
    x = np.vstack([x, np.zeros((20, 6))])
    P = np.concatenate([P, np.tile(np.eye(6) * sigma ** 2, (20, 1, 1))])
    t_track = np.concatenate([t_track, np.zeros(20)])
    free = [i for i in range(capacity) if i not in set(slots.tolist())]
    live = np.empty(capacity, np.int64)
    n_live = len(slots)
    live[:n_live] = rng.permutation(slots)            # live order is not slot order
    t0, t1 = 0.0, 1.0
    max_tr = 2 * 10.0 ** 2
    r_quick = np.full(capacity, np.inf)
    for i in live[:n_live]:
        r_quick[i] = period_radius(x, P, t_track, i, t0, t1, q_h, max_tr)
    grid = track_grid_new(capacity)
    track_grid_build(grid, live, n_live, x, t_track, r_quick, t0, t1, grid_cell)
    compared = 0
    for g in range(groups):
        m = int(rng.integers(1, 12))
        z = np.column_stack([rng.uniform(-extent, extent, (m, 2)), rng.uniform(0, 500, m)])
        if n_live and rng.random() < 0.8:
            # a group sees one part of the picture: plots near the tracks closest to a point
            centre = x[live[rng.integers(0, n_live)], :2]
            closest = live[:n_live][np.argsort(np.hypot(*(x[live[:n_live], :2] - centre).T))[:4]]
            near = closest[rng.integers(0, closest.size, m)]
            # at the edge of the gates too: a plot in one cell, its track's centre in the next
            z[:, :2] = x[near, :2] + rng.normal(0, 2 * sigma, (m, 2)) * rng.uniform(0.5, 6.0, (m, 1))
            z[:, 2] = x[near, 2] + rng.normal(0, 10.0, m)
        R = np.tile(np.diag([10.0 ** 2, 10.0 ** 2, 20.0 ** 2]), (m, 1, 1))
        rv = np.where(rng.random(m) < 0.5, rng.normal(0, 10, m), np.nan)
        t_plot = np.sort(rng.uniform(t0 + 0.1 * g, t0 + 0.1 * g + 0.1, m))
        rest = (z, R, rv, np.full(m, 0.7), np.tile([3000.0, -4000.0, 20.0], (m, 1)), t_plot,
                q_h, q_v, GAMMA_3, GAMMA_4, cell_m, r_quick)
        candidates = track_grid_candidates(grid, live, n_live, z, t_plot)
        position = {int(s): k for k, s in enumerate(live[:n_live])}
        assert len(set(candidates.tolist())) == candidates.size
        assert [position[int(s)] for s in candidates] == sorted(position[int(s)] for s in candidates)
        expected = gate(live[:n_live].copy(), x, P, t_track, *rest)
        got = gate(candidates, x, P, t_track, *rest)
        for a, b in zip(got, expected):
            np.testing.assert_array_equal(a, b)
        compared += expected[0].size
        # update some tracks (state moves, radius changes) and start new ones
        for i in live[:n_live][rng.random(n_live) < 0.3]:
            x[i, :2] += rng.normal(0, sigma, 2)
            x[i, 3:5] += rng.normal(0, 5, 2)
            t_track[i] = t_plot[-1]
            r_quick[i] = period_radius(x, P, t_track, i, t0, t1, q_h, max_tr)
            track_grid_move(grid, i, x[i], t_track[i], r_quick[i])
        for _ in range(int(rng.integers(0, 3))):
            if not free:
                break
            i = free.pop()
            x[i, :2] = rng.uniform(-extent, extent, 2)
            t_track[i] = t_plot[-1]
            r_quick[i] = period_radius(x, P, t_track, i, t0, t1, q_h, max_tr)
            track_grid_insert(grid, i, n_live, x[i], t_track[i], r_quick[i])
            live[n_live] = i
            n_live += 1


def test_track_grid_falls_back_outside_its_period():
    n = 30
    x = np.zeros((n, 6))
    x[:, 0] = 5000.0 + 100.0 * np.arange(n)           # far from the plot ...
    x[0, 0] = 0.0                                       # ... but track 0
    x[2, 0] = 1e6
    live = np.array([2, 0] + list(range(3, n)) + [1], np.int64)
    r_quick = np.full(n, 100.0)
    r_quick[2] = np.nan
    grid = track_grid_new(n)
    track_grid_build(grid, live, n, x, np.zeros(n), r_quick, 0.0, 1.0, 500.0)
    z = np.array([[10.0, 0.0, 0.0]])
    # track 2's radius is not finite: always a candidate, in live order
    assert track_grid_candidates(grid, live, n, z, np.array([0.5])).tolist() == [2, 0]
    # a plot outside the period: every live track
    assert track_grid_candidates(grid, live, n, z, np.array([1.5])).tolist() == live.tolist()


def test_track_grid_finds_tracks_across_cell_edges():
    # A track just across a cell edge from the plot, on each side, within its radius.
    G = 100.0
    n = 40
    x = np.zeros((n, 6))
    x[:, 0] = 20000.0 + 500.0 * np.arange(n)          # a spread-out picture far away ...
    x[:4, :2] = [[95.0, 150.0], [205.0, 150.0], [150.0, 95.0], [150.0, 205.0]]   # ... and four near
    r_quick = np.full(n, 30.0)
    live = np.arange(n, dtype=np.int64)[::-1].copy()
    grid = track_grid_new(n)
    track_grid_build(grid, live, n, x, np.zeros(n), r_quick, 0.0, 1.0, G)
    for i, plot in enumerate(([101.0, 150.0], [199.0, 150.0], [150.0, 101.0], [150.0, 199.0])):
        z = np.array([plot + [0.0]])
        got = track_grid_candidates(grid, live, n, z, np.array([0.5])).tolist()
        assert i in got and len(got) < n, (i, got)


# ---------------------------------------------------------------------------
# The axis test before the Mahalanobis gate drops only pairs the full gate drops
# ---------------------------------------------------------------------------

def _spd(rng, n, scales):
    A = rng.normal(size=(n, n))
    return (A @ A.T / n + np.eye(n) * 0.05) * np.outer(scales, scales)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(100, 999), dt=st.sampled_from([0.0, 0.05, 0.7, 3.0]),
       sigma=st.sampled_from([3.0, 40.0, 400.0]),
       axis=st.sampled_from([0, 1]),
       edge=st.sampled_from([-1e-3, -1e-9, 0.0, 1e-12, 1e-9, 1e-7, 2e-6, 1e-3, 0.5]),
       doppler=st.booleans())
def test_the_axis_test_never_drops_a_pair_the_full_gate_keeps(seed, dt, sigma, axis, edge, doppler):
    """Plots placed at the edge of one axis's gate (``y_a^2 = gamma S_aa (1 + edge)``) and
    anywhere: whenever the axis test says outside, the full gate (``_gate_pair`` without
    it: ``position_innovation`` and, with a radial velocity, ``innovation``) rejects the pair."""
    from kernels.filters import cv_predicted_covariance
    from kernels.gating import outside_axis_gate, position_innovation

    rng = np.random.default_rng(seed)
    q_h, q_v = 4.0, 0.25
    dropped = 0
    for _ in range(40):
        x = np.concatenate([rng.uniform(-5e3, 5e3, 2), rng.uniform(0, 500, 1), rng.normal(0, 15, 3)])
        P = _spd(rng, 6, np.array([sigma] * 3 + [sigma / 10] * 3) * rng.uniform(0.2, 2.0))
        R = _spd(rng, 3, np.array([rng.uniform(3, 100) for _ in range(3)]))
        rv = rng.normal(0, 10) if doppler else np.nan
        gamma = GAMMA_4 if doppler else GAMMA_3
        z = x[:3] + dt * x[3:] + rng.normal(0, 3 * sigma, 3)
        s_aa = cv_predicted_covariance(P, dt, q_h, q_v, axis, axis) + R[axis, axis]
        z[axis] = x[axis] + dt * x[axis + 3] + rng.choice([-1, 1]) * np.sqrt(gamma * s_aa * (1 + edge))
        if not outside_axis_gate(x, P, dt, q_h, q_v, z, R, gamma):
            continue
        dropped += 1
        d2, _ = position_innovation(x, P, dt, q_h, q_v, z, R)
        assert d2 > gamma
        # the gate with the axis test agrees: no pair
        out = gate(np.array([0]), x[None], P[None], np.array([0.0]), z[None], R[None],
                   np.array([rv]), np.array([0.7]), np.array([[3000.0, -4000.0, 20.0]]),
                   np.array([dt]), q_h, q_v, GAMMA_3, GAMMA_4, 300.0, np.array([np.inf]))
        assert out[0].size == 0
    if edge >= 2e-6:
        assert dropped > 0          # plots beyond the margin are dropped: the test can fail
