"""Kernel benchmarks: every kernel family, checked against its reference, then timed.

    python -m pytest benchmarks                    # 100, 1,000, 10,000 tracks
    python -m pytest benchmarks --bench-full       # and 100,000
    python -m pytest benchmarks --benchmark-disable   # checks only, each kernel run once

Each test builds a problem of ``n_tracks`` tracks (or plots, or rows),
runs the fast kernel once and compares its result with the slow reference:
the naive twins in ``tests/naive*.py``, FilterPy, pymap3d, SciPy or a plain
NumPy parse.  Where the reference is too slow for the whole problem it is
run on a random subset of the items, which is an exact check of those
items.  Only then is the kernel timed by pytest-benchmark.  The figures are
per call; divide by ``n_tracks`` for the cost per item.  No test asserts a
time.
"""
import io
import math

import numpy as np
import pymap3d
import pytest
from filterpy.kalman import IMMEstimator, KalmanFilter
from scipy.optimize import linear_sum_assignment as scipy_lsap
from scipy.stats import chi2

import naive as naive_gating
import naive_assign
import naive_filters
import naive_geodesy
import naive_zones
from ingest.codec import decode_plots, encode_plots
from ingest.csvio import read_plots_csv, write_plots_csv
from ingest.schema import empty_plots
from kernels import filters, geodesy
from kernels._jit import njit
from kernels.assign import solve_gnn
from kernels.classify import classify, count_flock_neighbours, default_classify_params
from kernels.gating import gate
from kernels.zones import evaluate_zones

GAMMA_3 = chi2.ppf(0.9995, 3)
GAMMA_4 = chi2.ppf(0.9995, 4)
#: Items compared with a slow per-item reference when the problem is larger.
CHECK_ITEMS = 200
ORIGIN = (31.30, 120.62, 0.0)
RADARS = ((31.31, 120.60, 25.0), (31.28, 120.65, 30.0), (31.33, 120.66, 40.0), (31.27, 120.58, 20.0))


def assert_close(actual, expected, rtol=1e-9):
    """Agreement to ``rtol`` relative to the largest magnitude in ``expected``."""
    expected = np.asarray(expected, dtype=float)
    scale = max(float(np.max(np.abs(expected))), 1e-300)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def subset(rng, n, k=CHECK_ITEMS):
    return np.sort(rng.choice(n, min(n, k), replace=False))


def random_spd(rng, sigmas):
    A = rng.normal(size=(len(sigmas), len(sigmas)))
    C = A @ A.T / len(sigmas) + 0.2 * np.eye(len(sigmas))
    d = np.sqrt(np.diag(C))
    return C / np.outer(d, d) * np.outer(sigmas, sigmas)


def random_tracks(rng, n):
    """States and SPD covariances of ``n`` tracks, shapes (n, 6) and (n, 6, 6)."""
    x = np.column_stack([rng.uniform(-8000.0, 8000.0, (n, 2)), rng.uniform(0.0, 1500.0, n),
                         rng.uniform(-60.0, 60.0, (n, 2)), rng.uniform(-10.0, 10.0, n)])
    A = rng.normal(size=(n, 6, 6))
    C = A @ A.transpose(0, 2, 1) / 6 + 0.2 * np.eye(6)
    d = np.sqrt(np.einsum("nii->ni", C))
    sigma = np.column_stack([rng.uniform(5.0, 300.0, (n, 3)), rng.uniform(1.0, 30.0, (n, 3))])
    P = C / (d[:, :, None] * d[:, None, :]) * (sigma[:, :, None] * sigma[:, None, :])
    return np.ascontiguousarray(x), np.ascontiguousarray(P)


def random_measurements(rng, x):
    """Plots near the tracks: z (n, 3), R (n, 3, 3), rv (NaN for a third), sigma_rv, radar_pos."""
    n = x.shape[0]
    z = x[:, :3] + rng.normal(scale=20.0, size=(n, 3))
    A = rng.normal(size=(n, 3, 3))
    R = A @ A.transpose(0, 2, 1) / 3 + 0.2 * np.eye(3)
    R *= rng.uniform(5.0, 60.0, n)[:, None, None] ** 2
    rv = rng.uniform(-30.0, 30.0, n)
    rv[::3] = np.nan
    sigma_rv = rng.uniform(0.2, 3.0, n)
    direction = rng.normal(size=(n, 3))
    direction /= np.linalg.norm(direction, axis=1)[:, None]
    radar_pos = x[:, :3] - rng.uniform(200.0, 10_000.0, n)[:, None] * direction
    return z, np.ascontiguousarray(R), rv, sigma_rv, radar_pos


def site_frames():
    M = np.empty((len(RADARS), 3, 3))
    b = np.empty((len(RADARS), 3))
    for k, (lat, lon, alt) in enumerate(RADARS):
        M[k], b[k] = geodesy.radar_frame(lat, lon, alt, *ORIGIN)
    return M, b


def origin_frame():
    origin = np.empty((1, 3))
    geodesy.geodetic_to_ecef(np.array([ORIGIN[0]]), np.array([ORIGIN[1]]), np.array([ORIGIN[2]]),
                             origin)
    return origin[0].copy(), np.ascontiguousarray(geodesy.enu_rotation(ORIGIN[0], ORIGIN[1]))


def timed_in_place(benchmark, function, *arrays_and_args, mutable=()):
    """Time ``function(*args)`` on fresh copies of the arguments at indices ``mutable``."""
    def setup():
        args = list(arrays_and_args)
        for k in mutable:
            args[k] = args[k].copy()
        return tuple(args), {}
    benchmark.pedantic(function, setup=setup, rounds=5, iterations=1, warmup_rounds=1)


# ---------------------------------------------------------------------------
# Geodesy and polar conversion
# ---------------------------------------------------------------------------

def test_polar_to_enu(benchmark, n_tracks):
    rng = np.random.default_rng(1)
    M, b = site_frames()
    sigma = np.column_stack([rng.uniform(2.0, 20.0, 4), rng.uniform(0.1, 1.0, 4),
                             rng.uniform(0.1, 1.5, 4)])
    range_m = rng.uniform(50.0, 20_000.0, n_tracks)
    azimuth_deg = rng.uniform(0.0, 360.0, n_tracks)
    elevation_deg = rng.uniform(-2.0, 60.0, n_tracks)
    radar_index = rng.integers(0, 4, n_tracks).astype(np.int64)
    z = np.empty((n_tracks, 3))
    R = np.empty((n_tracks, 3, 3))
    args = (range_m, azimuth_deg, elevation_deg, radar_index, M, b, sigma, z, R)
    geodesy.polar_to_enu(*args)
    # pymap3d (no debiasing: sigma = 0) on every plot, the naive twin on a subset
    z0 = np.empty_like(z)
    geodesy.polar_to_enu(range_m, azimuth_deg, elevation_deg, radar_index, M, b,
                         np.zeros_like(sigma), z0, np.empty_like(R))
    lat_r, lon_r, alt_r = np.array(RADARS)[radar_index].T
    lat, lon, alt = pymap3d.aer2geodetic(azimuth_deg, elevation_deg, range_m, lat_r, lon_r, alt_r)
    expected = np.column_stack(pymap3d.geodetic2enu(lat, lon, alt, *ORIGIN))
    np.testing.assert_allclose(z0, expected, rtol=0, atol=1e-3)
    k = subset(rng, n_tracks)
    z_ref, R_ref = naive_geodesy.polar_to_enu(range_m[k], azimuth_deg[k], elevation_deg[k],
                                              radar_index[k], M, b, sigma)
    np.testing.assert_allclose(z[k], z_ref, rtol=1e-12, atol=1e-8)
    assert np.all(np.abs(R[k] - R_ref) <= 1e-12 * np.abs(R_ref).max(axis=(1, 2))[:, None, None])
    benchmark(geodesy.polar_to_enu, *args)


def test_enu_to_polar(benchmark, n_tracks):
    rng = np.random.default_rng(2)
    M, b = site_frames()
    enu = np.column_stack([rng.uniform(-15_000.0, 15_000.0, (n_tracks, 2)),
                           rng.uniform(10.0, 2000.0, n_tracks)])
    out = np.empty((n_tracks, 3))
    geodesy.enu_to_polar(enu, M[0], b[0], out)
    k = subset(rng, n_tracks)
    assert_close(out[k], naive_geodesy.enu_to_polar(enu[k], M[0], b[0]), rtol=1e-12)
    benchmark(geodesy.enu_to_polar, enu, M[0], b[0], out)


def test_geodetic_to_enu(benchmark, n_tracks):
    rng = np.random.default_rng(3)
    origin, rot = origin_frame()
    lat = ORIGIN[0] + rng.uniform(-0.2, 0.2, n_tracks)
    lon = ORIGIN[1] + rng.uniform(-0.2, 0.2, n_tracks)
    alt = rng.uniform(0.0, 3000.0, n_tracks)
    out = np.empty((n_tracks, 3))
    geodesy.geodetic_to_enu(lat, lon, alt, origin, rot, out)
    expected = np.column_stack(pymap3d.geodetic2enu(lat, lon, alt, *ORIGIN))
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6)
    benchmark(geodesy.geodetic_to_enu, lat, lon, alt, origin, rot, out)


def test_enu_to_geodetic(benchmark, n_tracks):
    rng = np.random.default_rng(4)
    origin, rot = origin_frame()
    enu = np.column_stack([rng.uniform(-15_000.0, 15_000.0, (n_tracks, 2)),
                           rng.uniform(0.0, 3000.0, n_tracks)])
    out = np.empty((n_tracks, 3))
    geodesy.enu_to_geodetic(enu, origin, rot, out)
    lat, lon, alt = pymap3d.enu2geodetic(enu[:, 0], enu[:, 1], enu[:, 2], *ORIGIN)
    np.testing.assert_allclose(out[:, 0], lat, rtol=0, atol=1e-9)
    np.testing.assert_allclose(out[:, 1], lon, rtol=0, atol=1e-9)
    np.testing.assert_allclose(out[:, 2], alt, rtol=0, atol=1e-4)
    benchmark(geodesy.enu_to_geodetic, enu, origin, rot, out)


# ---------------------------------------------------------------------------
# Kalman filter and IMM
# ---------------------------------------------------------------------------

def test_cv_predict(benchmark, n_tracks):
    rng = np.random.default_rng(5)
    x0, P0 = random_tracks(rng, n_tracks)
    dt = rng.uniform(0.0, 5.0, n_tracks)
    x, P = x0.copy(), P0.copy()
    filters.cv_predict_many(x, P, dt, 2.0, 0.3)
    for i in subset(rng, n_tracks):
        F = naive_filters.cv_F(dt[i])
        assert_close(x[i], F @ x0[i])
        assert_close(P[i], F @ P0[i] @ F.T + naive_filters.white_noise_Q(dt[i], 2.0, 0.3))
    timed_in_place(benchmark, filters.cv_predict_many, x0, P0, dt, 2.0, 0.3, mutable=(0, 1))


def test_kf_update(benchmark, n_tracks):
    rng = np.random.default_rng(6)
    x0, P0 = random_tracks(rng, n_tracks)
    z, R, rv, sigma_rv, radar_pos = random_measurements(rng, x0)
    loglik = np.empty(n_tracks)
    x, P = x0.copy(), P0.copy()
    filters.kf_update_many(x, P, z, R, rv, sigma_rv, radar_pos, loglik)
    for i in subset(rng, n_tracks):
        x_ref, P_ref, loglik_ref = naive_filters.kf_update(x0[i], P0[i], z[i], R[i], rv[i],
                                                           sigma_rv[i], radar_pos[i])
        assert_close(x[i], x_ref, rtol=1e-8)
        assert_close(P[i], P_ref, rtol=1e-8)
        assert loglik[i] == pytest.approx(loglik_ref, rel=1e-8)
    timed_in_place(benchmark, filters.kf_update_many, x0, P0, z, R, rv, sigma_rv, radar_pos,
                   loglik, mutable=(0, 1))


# not cached: the module is imported as ``test_bench_kernels`` or ``benchmarks.test_bench_kernels``
# depending on how pytest is started, and a cache entry written under one name fails under the other
@njit(cache=False)
def imm_step_many(xm, Pm, log_mu, dt, omega, q_h, q_v, log_Pi, z, R, rv, sigma_rv, radar_pos,
                  loglik_out):
    """One IMM predict (mixing, then each model's prediction) and update per track.

    Parameters
    ----------
    xm : ndarray, shape (n, n_models, 6)
    Pm : ndarray, shape (n, n_models, 6, 6)
    log_mu : ndarray, shape (n, n_models)
    dt : ndarray, shape (n,)
    z, R, rv, sigma_rv, radar_pos : the plot of each track, shapes (n, 3), (n, 3, 3), (n,), (n,), (n, 3)
    loglik_out : ndarray, shape (n,)
    """
    for i in range(xm.shape[0]):
        filters.imm_predict(xm[i], Pm[i], log_mu[i], dt[i], omega, q_h, q_v, log_Pi)
        loglik_out[i] = filters.imm_update(xm[i], Pm[i], log_mu[i], z[i], R[i], rv[i],
                                           sigma_rv[i], radar_pos[i])


def test_imm_predict_update(benchmark, n_tracks):
    rng = np.random.default_rng(7)
    omega, q_h, q_v, log_Pi = filters.make_imm_params(15.0, 0.95, [2.0, 3.0, 3.0], 0.5)
    x0, P0 = random_tracks(rng, n_tracks)
    xm0 = np.ascontiguousarray(np.repeat(x0[:, None], 3, axis=1))
    Pm0 = np.ascontiguousarray(np.repeat(P0[:, None], 3, axis=1))
    mu0 = rng.dirichlet(np.ones(3), n_tracks)
    log_mu0 = np.log(mu0)
    dt = np.full(n_tracks, 1.0)
    z, R, rv, sigma_rv, radar_pos = random_measurements(rng, x0)
    rv[:] = np.nan                                   # FilterPy's linear KF: position plots
    xm, Pm, log_mu = xm0.copy(), Pm0.copy(), log_mu0.copy()
    loglik = np.empty(n_tracks)
    imm_step_many(xm, Pm, log_mu, dt, omega, q_h, q_v, log_Pi, z, R, rv, sigma_rv, radar_pos, loglik)
    H = np.hstack([np.eye(3), np.zeros((3, 3))])
    for i in subset(rng, n_tracks, 20):
        kalman_filters = []
        for m in range(3):
            kf = KalmanFilter(dim_x=6, dim_z=3)
            kf.x, kf.P = x0[i].copy(), P0[i].copy()
            kf.F = naive_filters.ct_F(dt[i], omega[m])
            kf.Q = naive_filters.white_noise_Q(dt[i], q_h[m], q_v)
            kf.H, kf.R = H.copy(), R[i].copy()
            kalman_filters.append(kf)
        imm = IMMEstimator(kalman_filters, mu0[i], np.exp(log_Pi))
        imm.predict()
        imm.update(z[i])
        for m, kf in enumerate(imm.filters):
            assert_close(xm[i, m], kf.x, rtol=1e-8)
            assert_close(Pm[i, m], kf.P, rtol=1e-8)
        assert_close(np.exp(log_mu[i]), imm.mu, rtol=1e-8)
    timed_in_place(benchmark, imm_step_many, xm0, Pm0, log_mu0, dt, omega, q_h, q_v, log_Pi,
                   z, R, rv, sigma_rv, radar_pos, loglik, mutable=(0, 1, 2))


# ---------------------------------------------------------------------------
# Gating and assignment
# ---------------------------------------------------------------------------

def gating_problem(rng, n):
    """``n`` tracks over an area that grows with ``n`` (constant density) and ``n`` plots."""
    extent_m = 300.0 * math.sqrt(n)
    x, P = random_tracks(rng, n)
    x[:, :2] = rng.uniform(-extent_m, extent_m, (n, 2))
    P /= 4.0
    near = rng.random(n) < 0.7
    z = np.where(near[:, None], x[:, :3] + rng.normal(0.0, 30.0, (n, 3)),
                 np.column_stack([rng.uniform(-extent_m, extent_m, (n, 2)),
                                  rng.uniform(0.0, 1500.0, n)]))
    z = z[rng.permutation(n)]
    _, R, rv, sigma_rv, _ = random_measurements(rng, x)
    radar_pos = np.tile([3000.0, -4000.0, 20.0], (n, 1))
    t_track = rng.uniform(-2.0, 0.0, n)
    t_plot = np.sort(rng.uniform(0.0, 0.1, n))
    slots = np.arange(n, dtype=np.int64)
    return slots, x, P, t_track, np.ascontiguousarray(z), R, rv, sigma_rv, radar_pos, t_plot


def test_gate(benchmark, n_tracks):
    rng = np.random.default_rng(8)
    problem = gating_problem(rng, n_tracks)
    q_h, q_v, cell_m = 4.0, 0.25, 300.0
    r_quick = np.full(n_tracks, np.inf)
    pair_track, pair_plot, pair_d2, _, _ = gate(*problem, q_h, q_v, GAMMA_3, GAMMA_4, cell_m, r_quick)
    assert pair_track.size > 0
    # the all-pairs reference on some tracks against some plots, including their gated plots
    tracks = subset(rng, n_tracks, 8)
    plots = np.union1d(subset(rng, n_tracks, 100), pair_plot[np.isin(pair_track, tracks)])
    sub = list(problem)
    for k in (4, 5, 6, 7, 8, 9):
        sub[k] = problem[k][plots]
    sub[0] = tracks
    slow = naive_gating.gate(*sub, q_h, q_v, GAMMA_3, GAMMA_4)
    got = {}
    for i, j, d2 in zip(pair_track.tolist(), pair_plot.tolist(), pair_d2.tolist()):
        if i in set(tracks.tolist()):
            got[(i, int(np.searchsorted(plots, j)))] = d2
    near = {p for p, v in slow.items() if abs(v[0] - (GAMMA_4 if v[2] == 4 else GAMMA_3)) < 1e-7}
    assert set(got) - near == set(slow) - near
    for p in set(got) & set(slow):
        assert got[p] == pytest.approx(slow[p][0], rel=1e-8, abs=1e-9)
    benchmark(gate, *problem, q_h, q_v, GAMMA_3, GAMMA_4, cell_m, r_quick)


def assignment_problem(rng, n_tracks):
    """Independent clusters of 1-4 tracks and 1-4 plots with random gated pairs."""
    pair_track, pair_plot, pair_cost, blocks = [], [], [], []
    track = plot = 0
    while track < n_tracks:
        nt = min(int(rng.integers(1, 5)), n_tracks - track)
        npl = int(rng.integers(1, 5))
        tracks = np.arange(track, track + nt)
        plots = np.arange(plot, plot + npl)
        mask = rng.random((nt, npl)) < 0.6
        mask[np.arange(nt), rng.integers(0, npl, nt)] = True      # every track has a pair
        i, j = np.nonzero(mask)
        pair_track.append(tracks[i])
        pair_plot.append(plots[j])
        pair_cost.append(rng.uniform(-15.0, 5.0, i.size))
        blocks.append((track, nt, plot, npl))
        track += nt
        plot += npl
    miss_cost = rng.uniform(-2.0, 8.0, n_tracks)
    return (n_tracks, plot, np.concatenate(pair_track), np.concatenate(pair_plot),
            np.concatenate(pair_cost), miss_cost), blocks


def test_gnn_assign(benchmark, n_tracks):
    rng = np.random.default_rng(9)
    problem, blocks = assignment_problem(rng, n_tracks)
    _, n_plots, pair_track, pair_plot, pair_cost, miss_cost = problem
    plot_of_track, track_of_plot, n_assigned = solve_gnn(*problem)
    assert n_assigned == int(np.sum(plot_of_track >= 0)) == int(np.sum(track_of_plot >= 0))
    objective = naive_assign.gnn_objective(pair_track, pair_plot, pair_cost, miss_cost, plot_of_track)
    # SciPy's Hungarian solver on each cluster's augmented matrix [C | D]
    first = np.searchsorted(pair_track, [b[0] for b in blocks], side="left")
    last = np.searchsorted(pair_track, [b[0] + b[1] for b in blocks], side="left")
    reference = 0.0
    for lo, hi in zip(first.tolist(), last.tolist()):
        matrix = naive_assign.augmented_matrix(pair_track[lo:hi], pair_plot[lo:hi],
                                               pair_cost[lo:hi], miss_cost)
        rows, cols = scipy_lsap(matrix)
        reference += float(matrix[rows, cols].sum())
    assert objective == pytest.approx(reference, rel=1e-9, abs=1e-6)
    benchmark(solve_gnn, *problem)


# ---------------------------------------------------------------------------
# Zones and classification
# ---------------------------------------------------------------------------

def test_evaluate_zones(benchmark, n_tracks):
    from test_zones import random_table, random_tracks as zone_tracks
    rng = np.random.default_rng(10)
    horizon_s, q_h, q_v = 60.0, 2.0, 0.3
    table = random_table(rng, 4, extent_m=1500.0)
    x, P = zone_tracks(rng, n_tracks, table, horizon_s)
    zones = naive_zones.zones_from_table(*table)
    out = (np.zeros((n_tracks, 4), dtype=bool), np.full((n_tracks, 4), np.nan),
           np.full((n_tracks, 4), np.nan), np.full((n_tracks, 4), np.nan))
    evaluate_zones(x, P, *table, horizon_s, q_h, q_v, *out, parallel=False)
    inside, distance, tte, p_entry = out
    for i in subset(rng, n_tracks, 6):
        for k, zone in enumerate(zones):
            want = naive_zones.evaluate_pair(x[i], P[i], zone, horizon_s, q_h, q_v)
            assert inside[i, k] == want[0]
            assert distance[i, k] == pytest.approx(want[1], rel=1e-10, abs=1e-8)
            assert (math.isinf(tte[i, k]) and math.isinf(want[2])) or tte[i, k] == pytest.approx(want[2], abs=1e-6)
            assert p_entry[i, k] == pytest.approx(want[3], abs=1e-6)
    benchmark(evaluate_zones, x, P, *table, horizon_s, q_h, q_v, *out, parallel=False)


def test_classify(benchmark, n_tracks):
    from test_classify import random_features, reference_classify
    rng = np.random.default_rng(11)
    features = random_features(rng, n_tracks)
    slots = rng.permutation(n_tracks).astype(np.int64)
    neighbours = (rng.integers(0, 3, n_tracks) * rng.integers(0, 5, n_tracks)).astype(np.int64)
    params = default_classify_params()
    out = np.full((n_tracks, 4), np.nan)
    classify(features, slots, neighbours, params, out)
    np.testing.assert_allclose(out, reference_classify(features[slots], neighbours, params),
                               rtol=1e-9, atol=1e-12)
    benchmark(classify, features, slots, neighbours, params, out)


def test_flock_neighbours(benchmark, n_tracks):
    rng = np.random.default_rng(12)
    extent_m = 60.0 * math.sqrt(n_tracks)          # a few neighbours per track
    x = np.column_stack([rng.uniform(-extent_m, extent_m, (n_tracks, 2)), rng.uniform(0, 500, n_tracks),
                         rng.normal(0.0, 4.0, (n_tracks, 2)), rng.normal(0.0, 1.0, n_tracks)])
    out = np.empty(n_tracks, dtype=np.int64)
    count_flock_neighbours(x, 60.0, 6.0, out)
    assert out.sum() > 0
    for i in subset(rng, n_tracks):               # all pairs, for a subset of rows
        d_h = np.hypot(x[:, 0] - x[i, 0], x[:, 1] - x[i, 1])
        d_v = np.sum((x[:, 3:] - x[i, 3:]) ** 2, axis=1)
        close = (d_h * d_h <= 3600.0) & (d_v < 36.0)
        close[i] = False
        assert out[i] == close.sum()
    benchmark(count_flock_neighbours, x, 60.0, 6.0, out)


# ---------------------------------------------------------------------------
# Codecs: the wire frame and plots.csv
# ---------------------------------------------------------------------------

def random_plots(rng, n):
    plots = empty_plots(n)
    plots["time_s"] = np.sort(rng.uniform(0.0, 600.0, n)).round(6)
    plots["radar_id"] = rng.integers(1, 5, n)
    plots["range_m"] = rng.uniform(100.0, 20_000.0, n).round(2)
    plots["azimuth_deg"] = rng.uniform(0.0, 360.0, n).round(4)
    plots["elevation_deg"] = rng.uniform(-1.0, 30.0, n).round(4)
    plots["radial_velocity_mps"] = rng.uniform(-50.0, 50.0, n).round(3)
    plots["snr_db"] = rng.uniform(5.0, 40.0, n).round(1)
    return plots


def test_codec_plots(benchmark, n_tracks):
    rng = np.random.default_rng(13)
    plots = random_plots(rng, n_tracks)
    plots["radar_id"] = 3                       # a frame holds one radar's plots

    def round_trip():
        return decode_plots(encode_plots(3, 17, plots)).plots

    decoded = round_trip()
    assert decoded.tobytes() == plots.tobytes()
    benchmark(round_trip)


def test_csv_parse(benchmark, n_tracks, tmp_path):
    rng = np.random.default_rng(14)
    plots = random_plots(rng, n_tracks)
    path = tmp_path / "plots.csv"
    write_plots_csv(path, plots)
    result = read_plots_csv(path)
    assert result.malformed == 0
    reference = np.loadtxt(io.StringIO(path.read_text()), delimiter=",", skiprows=1)
    for column, name in enumerate(plots.dtype.names):
        np.testing.assert_array_equal(result.plots[name], reference[:, column].astype(plots.dtype[name]))
    benchmark(read_plots_csv, path)
