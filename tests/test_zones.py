"""Zone kernels against their naive twins, and properties of the outputs."""
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from scipy.stats import norm

import naive_zones as naive
from kernels.zones import (
    MAX_POLYGON_VERTICES, PolygonError, asset_cpa, check_polygon, entry_time, evaluate_zones,
    pack_polygons, path_min_signed_distance, point_in_polygon, polygon_defect, signed_distance,
)

SEEDS = st.integers(0, 2**32 - 1)
FAST = settings(max_examples=100, deadline=None)
SLOW = settings(max_examples=25, deadline=None)


# ---------------------------------------------------------------------------
# Test data
# ---------------------------------------------------------------------------


def random_polygon(rng, center, radius_m, convex=None):
    m = int(rng.integers(3, 17))
    if convex is None:
        convex = rng.random() < 0.5
    if convex:
        return naive.random_convex_polygon(rng, center, radius_m, m)
    return naive.random_star_polygon(rng, center, radius_m, m)


def random_table(rng, n_zones, extent_m=3000.0):
    """A zone table of circles, star-shaped and convex polygons."""
    kind = np.empty(n_zones, dtype=np.int64)
    center = np.empty((n_zones, 2))
    radius = np.zeros(n_zones)
    floor = rng.uniform(-100.0, 200.0, n_zones)
    ceiling = floor + rng.uniform(50.0, 800.0, n_zones)
    polygons = []
    for k in range(n_zones):
        c = rng.uniform(-extent_m, extent_m, 2)
        r = rng.uniform(300.0, 1500.0)
        if rng.random() < 0.4:
            kind[k] = 0
            center[k] = c
            radius[k] = r
            polygons.append(None)
        else:
            vertices = random_polygon(rng, c, r)
            kind[k] = 1
            center[k] = vertices.mean(axis=0)
            polygons.append(vertices)
    poly_start, poly_xy = pack_polygons(polygons)
    return kind, center, radius, floor, ceiling, poly_start, poly_xy


def random_tracks(rng, n, table, horizon_s):
    """Tracks anywhere, and tracks aimed near a zone from up to 1.3 horizons away."""
    kind, center, radius, floor, ceiling, poly_start, poly_xy = table
    x = np.empty((n, 6))
    P = np.empty((n, 6, 6))
    for i in range(n):
        speed = rng.uniform(5.0, 40.0)
        if rng.random() < 0.7:
            k = rng.integers(len(kind))
            target = center[k] + rng.normal(0.0, 300.0, 2)
            heading = rng.uniform(0, 2 * np.pi)
            direction = np.array([np.cos(heading), np.sin(heading)])
            x[i, :2] = target + direction * rng.uniform(0.0, 1.3 * speed * horizon_s)
            x[i, 3:5] = -direction * speed + rng.normal(0.0, 2.0, 2)
            x[i, 2] = rng.uniform(floor[k] - 300.0, ceiling[k] + 300.0)
        else:
            x[i, :2] = rng.uniform(-4000.0, 4000.0, 2)
            x[i, 3:5] = rng.normal(0.0, speed, 2)
            x[i, 2] = rng.uniform(-200.0, 1200.0)
        x[i, 5] = 0.0 if rng.random() < 0.4 else rng.normal(0.0, 5.0)
        P[i] = naive.random_covariance(rng, rng.uniform(3.0, 200.0), rng.uniform(0.3, 5.0))
    return x, P


def inside_point(rng, zone):
    """A random point horizontally inside ``zone``."""
    if zone["kind"] == 0:
        return zone["center"] + rng.uniform(-0.5, 0.5, 2) * zone["radius"]
    vertices = zone["vertices"]
    while True:
        e, n = rng.uniform(vertices.min(0), vertices.max(0))
        if naive.signed_distance(e, n, zone) < -1e-6:
            return np.array([e, n])


def outputs(n, z):
    return (np.zeros((n, z), dtype=bool), np.full((n, z), np.nan), np.full((n, z), np.nan),
            np.full((n, z), np.nan))


def polygon_zone(vertices, floor=-1e5, ceiling=1e5):
    vertices = np.asarray(vertices, float)
    return dict(kind=1, center=vertices.mean(axis=0), radius=0.0, floor=floor,
                ceiling=ceiling, vertices=vertices)


def kernel_args(zone):
    """``(kind, center, radius, poly_xy, lo, hi)`` of one zone for the workers."""
    if zone["kind"] == 0:
        return 0, np.asarray(zone["center"], float), zone["radius"], np.zeros((0, 2)), 0, 0
    vertices = np.ascontiguousarray(zone["vertices"], float)
    return 1, np.asarray(zone["center"], float), 0.0, vertices, 0, len(vertices)


def kernel_entry_time(x, zone, horizon_s):
    kind, center, radius, poly_xy, lo, hi = kernel_args(zone)
    return entry_time(np.asarray(x, float), kind, center, radius, zone["floor"],
                      zone["ceiling"], poly_xy, lo, hi, horizon_s)


def evaluate_one(x, P, zone, horizon_s, q_h=1.0, q_v=0.25):
    """evaluate_zones on one track and one zone given as a dict."""
    polygons = [zone["vertices"]] if zone["kind"] == 1 else [None]
    poly_start, poly_xy = pack_polygons(polygons)
    out = outputs(1, 1)
    evaluate_zones(np.asarray(x, float)[None].copy(), np.asarray(P, float)[None].copy(),
                   np.array([zone["kind"]], dtype=np.int64),
                   np.asarray(zone["center"], float)[None].copy(),
                   np.array([zone["radius"]]), np.array([zone["floor"]]),
                   np.array([zone["ceiling"]]), poly_start, poly_xy, horizon_s, q_h, q_v,
                   *out)
    return tuple(o[0, 0] for o in out)


# ---------------------------------------------------------------------------
# Geometry against the naive twins
# ---------------------------------------------------------------------------


@FAST
@given(SEEDS, st.booleans())
def test_point_in_polygon_matches_ray_cast(seed, convex):
    rng = np.random.default_rng(seed)
    vertices = random_polygon(rng, rng.uniform(-5000, 5000, 2), rng.uniform(10.0, 3000.0),
                              convex)
    poly_xy = np.ascontiguousarray(vertices)
    scale = np.abs(vertices).max()
    points = rng.uniform(vertices.min(0) - 50, vertices.max(0) + 50, (60, 2))
    checked = 0
    for e, n in points:
        if naive.boundary_distance(e, n, vertices)[0] < 1e-7 * scale:
            continue                                  # on an edge: either answer
        checked += 1
        assert point_in_polygon(e, n, poly_xy, 0, len(vertices)) == \
            naive.point_in_polygon(e, n, vertices), (e, n)
    assert checked > 40


def test_point_in_polygon_sees_non_convex_notch_and_sub_range():
    # a "U": the notch between the arms is outside; packed after a triangle
    u_shape = [[0, 0], [30, 0], [30, 30], [20, 30], [20, 10], [10, 10], [10, 30], [0, 30]]
    poly_start, poly_xy = pack_polygons([[[100, 100], [110, 100], [100, 110]], u_shape])
    lo, hi = poly_start[1], poly_start[2]
    assert point_in_polygon(5.0, 20.0, poly_xy, lo, hi)
    assert point_in_polygon(25.0, 20.0, poly_xy, lo, hi)
    assert not point_in_polygon(15.0, 20.0, poly_xy, lo, hi)
    assert not point_in_polygon(102.0, 102.0, poly_xy, lo, hi)
    assert point_in_polygon(102.0, 102.0, poly_xy, poly_start[0], poly_start[1])
    # the vertex-on-the-ray case: ray from (5, 10) passes through (10, 10), (20, 10)
    assert point_in_polygon(5.0, 10.0 - 1e-9, poly_xy, lo, hi)
    assert not point_in_polygon(-5.0, 10.0, poly_xy, lo, hi)


@FAST
@given(SEEDS)
def test_signed_distance_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    c = rng.uniform(-5000, 5000, 2)
    r = rng.uniform(10.0, 3000.0)
    zones = [dict(kind=0, center=c, radius=r, floor=0.0, ceiling=1.0, vertices=None),
             polygon_zone(random_polygon(rng, c, r))]
    for zone in zones:
        kind, center, radius, poly_xy, lo, hi = kernel_args(zone)
        for e, n in rng.uniform(c - 2 * r, c + 2 * r, (30, 2)):
            want = naive.signed_distance(e, n, zone)
            if abs(want) < 1e-7 * r:
                continue
            got = signed_distance(e, n, kind, center, radius, poly_xy, lo, hi)
            assert got == pytest.approx(want, rel=1e-10, abs=1e-9 * r)


# ---------------------------------------------------------------------------
# Time to entry
# ---------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(SEEDS)
def test_entry_time_agrees_with_stepping_the_path(seed):
    rng = np.random.default_rng(seed)
    horizon_s = 60.0
    dt = 0.01
    table = random_table(rng, 3, extent_m=1500.0)
    zones = naive.zones_from_table(*table)
    x, _ = random_tracks(rng, 2, table, horizon_s)
    times = np.append(np.arange(0.0, horizon_s, dt), horizon_s)
    for xi in x:
        for zone in zones:
            tte = kernel_entry_time(xi, zone, horizon_s)
            flags = naive.inside_samples(xi, zone, times)
            slack = 1e-7 * max(1.0, tte if math.isfinite(tte) else 0.0)
            # no inside sample before the entry time
            assert not flags[times < tte - slack].any(), (tte, times[np.argmax(flags)])
            if math.isinf(tte):
                continue
            assert 0.0 <= tte <= horizon_s
            # the first inside sample follows within one step, or the path is
            # inside for less than a step just after the entry time
            near = flags[(times >= tte - slack) & (times <= tte + dt)]
            if not near.any():
                assert naive.inside(naive.position(xi, min(tte + 1e-6, horizon_s)), zone)


def test_entry_time_circle_closed_form():
    zone = dict(kind=0, center=np.array([100.0, -50.0]), radius=200.0, floor=0.0,
                ceiling=300.0, vertices=None)
    # 1000 m east of the centre, 20 m/s west: touches the circle at (1000 - 200) / 20
    x = np.array([1100.0, -50.0, 100.0, -20.0, 0.0, 0.0])
    assert kernel_entry_time(x, zone, 60.0) == pytest.approx(40.0, rel=1e-14)
    assert kernel_entry_time(x, zone, 39.9) == math.inf
    # climbing from below the floor: inside the circle now, enters at u = floor
    x = np.array([100.0, -50.0, -40.0, 0.0, 0.0, 2.0])
    assert kernel_entry_time(x, zone, 60.0) == pytest.approx(20.0, rel=1e-14)
    # passing over the ceiling: never in
    x = np.array([1100.0, -50.0, 400.0, -20.0, 0.0, 0.0])
    assert kernel_entry_time(x, zone, 600.0) == math.inf
    # the horizontal crossing [40, 60] and the descent to the ceiling at 50 s
    x = np.array([1100.0, -50.0, 400.0, -20.0, 0.0, -2.0])
    assert kernel_entry_time(x, zone, 600.0) == pytest.approx(50.0, rel=1e-14)
    # ... and a descent that ends after the crossing: out of the circle by then
    x = np.array([1100.0, -50.0, 500.0, -20.0, 0.0, -2.0])
    assert kernel_entry_time(x, zone, 600.0) == math.inf


def test_entry_time_polygon_re_entrant_path():
    # through both arms of a "U": out of the first arm, across the notch, into the second
    u_shape = np.array([[0, 0], [30, 0], [30, 30], [20, 30], [20, 10], [10, 10], [10, 30],
                        [0, 30]], float)
    zone = polygon_zone(u_shape, 0.0, 100.0)
    x = np.array([-10.0, 20.0, 50.0, 1.0, 0.0, 0.0])
    assert kernel_entry_time(x, zone, 100.0) == pytest.approx(10.0)
    # in the notch heading east: enters the right arm at e = 20
    x = np.array([15.0, 20.0, 50.0, 1.0, 0.0, 0.0])
    assert kernel_entry_time(x, zone, 100.0) == pytest.approx(5.0)
    # in the notch and below the floor, climbing: in the right arm (t in [5, 15])
    # when it reaches the floor at 10 s; at 20 s it has left the arm
    x = np.array([15.0, 20.0, -10.0, 1.0, 0.0, 1.0])
    assert kernel_entry_time(x, zone, 100.0) == pytest.approx(10.0)
    x = np.array([15.0, 20.0, -20.0, 1.0, 0.0, 1.0])
    assert kernel_entry_time(x, zone, 100.0) == math.inf
    # stationary in the notch
    x = np.array([15.0, 20.0, 50.0, 0.0, 0.0, 0.0])
    assert kernel_entry_time(x, zone, 100.0) == math.inf


@SLOW
@given(SEEDS, st.sampled_from(["circle", "convex", "star"]), st.floats(1.0, 3000.0))
def test_moving_outward_never_lowers_time_to_entry(seed, shape, step_m):
    rng = np.random.default_rng(seed)
    c = rng.uniform(-1000, 1000, 2)
    r = rng.uniform(200.0, 1500.0)
    if shape == "circle":
        zone = dict(kind=0, center=c, radius=r, floor=0.0, ceiling=500.0, vertices=None)
    else:
        zone = polygon_zone(random_polygon(rng, c, r, convex=shape == "convex"), 0.0, 500.0)
    heading = rng.uniform(0, 2 * np.pi)
    p = c + np.array([np.cos(heading), np.sin(heading)]) * r * rng.uniform(1.0, 4.0)
    assume(naive.signed_distance(p[0], p[1], zone) > 1e-6 * r)
    if shape == "convex":
        # along the outward normal at the nearest boundary point
        _, q = naive.boundary_distance(p[0], p[1], zone["vertices"])
        outward = (p - q) / np.linalg.norm(p - q)
    else:
        # radially from the centre the zone is star-shaped about
        outward = (p - c) / np.linalg.norm(p - c)
    aim = c + rng.normal(0.0, 0.7 * r, 2) - p
    v = aim / np.linalg.norm(aim) * rng.uniform(5.0, 50.0)
    if v @ outward > 0.0:
        v -= 2.0 * (v @ outward) * outward               # inward or tangent
    x = np.array([p[0], p[1], 250.0, v[0], v[1], 0.0])
    x_far = x.copy()
    x_far[:2] += step_m * outward
    horizon_s = 300.0
    near = kernel_entry_time(x, zone, horizon_s)
    far = kernel_entry_time(x_far, zone, horizon_s)
    if math.isfinite(near):
        assert far >= near - 1e-9 * max(1.0, near)


# ---------------------------------------------------------------------------
# Closest point of approach
# ---------------------------------------------------------------------------


@FAST
@given(SEEDS, st.floats(0.0, 300.0))
def test_asset_cpa_matches_dense_sampling(seed, horizon_s):
    rng = np.random.default_rng(seed)
    n, a = 4, 3
    x = np.zeros((n, 6))
    x[:, :2] = rng.uniform(-5000, 5000, (n, 2))
    x[:, 2] = rng.uniform(0, 500, n)
    x[:, 3:] = rng.normal(0, 20, (n, 3))
    x[0, 3:5] = 0.0                                       # a hovering track
    asset_en = rng.uniform(-3000, 3000, (a, 2))
    out = tuple(np.full((n, a), np.nan) for _ in range(4))
    asset_cpa(x, asset_en, horizon_s, *out)
    for i in range(n):
        for k in range(a):
            cpa_m, t_cpa, closing, range_m = naive.cpa(x[i], asset_en[k], horizon_s)
            assert out[0][i, k] == pytest.approx(cpa_m, rel=1e-9, abs=1e-6)
            assert out[3][i, k] == pytest.approx(range_m, rel=1e-12)
            assert out[2][i, k] == pytest.approx(closing, rel=1e-6, abs=1e-6)
            assert 0.0 <= out[1][i, k] <= horizon_s
            # the CPA is reached at the reported time
            reached = np.hypot(*(x[i, :2] + out[1][i, k] * x[i, 3:5] - asset_en[k]))
            assert reached == pytest.approx(out[0][i, k], rel=1e-12, abs=1e-9)
            if cpa_m > 1.0 and 0.0 < t_cpa < horizon_s:
                assert out[1][i, k] == pytest.approx(t_cpa, abs=1e-4)


# ---------------------------------------------------------------------------
# Probability of entry: the path search and the whole evaluation
# ---------------------------------------------------------------------------


@SLOW
@given(SEEDS)
def test_path_min_signed_distance_matches_model_and_true_minimum(seed):
    rng = np.random.default_rng(seed)
    table = random_table(rng, 2, extent_m=1000.0)
    zones = naive.zones_from_table(*table)
    x, _ = random_tracks(rng, 2, table, 60.0)
    for xi in x:
        for zone in zones:
            t0, t1 = sorted(rng.uniform(0.0, 60.0, 2))
            kind, center, radius, poly_xy, lo, hi = kernel_args(zone)
            g, t, nrm_e, nrm_n = path_min_signed_distance(xi, kind, center, radius, poly_xy,
                                                          lo, hi, t0, t1, 16)
            assert t0 <= t <= t1
            assert math.hypot(nrm_e, nrm_n) == pytest.approx(1.0)
            # g is the signed distance at t, or 0 at a crossing
            p = naive.position(xi, t)
            at_t = naive.signed_distance(p[0], p[1], zone)
            assert g == pytest.approx(at_t, abs=1e-6) or g == 0.0
            g_model, t_model, _ = naive.path_min_model(xi, zone, t0, t1, 16)
            assert g == pytest.approx(g_model, rel=1e-9, abs=1e-6)
            # the sampled depth is within the Lipschitz bound of the true minimum
            g_true, _ = naive.path_min_dense(xi, zone, t0, t1)
            bound = math.hypot(xi[3], xi[4]) * (t1 - t0) / 30.0
            assert g_true - 1e-6 <= g <= g_true + bound + 1e-6


@SLOW
@given(SEEDS)
def test_evaluate_zones_matches_naive(seed):
    rng = np.random.default_rng(seed)
    horizon_s = 60.0
    q_h, q_v = 2.0, 0.3
    table = random_table(rng, 4, extent_m=1500.0)
    zones = naive.zones_from_table(*table)
    n = 6
    x, P = random_tracks(rng, n, table, horizon_s)
    # one track inside the first zone
    x[0, :2] = inside_point(rng, zones[0])
    x[0, 2] = 0.5 * (table[3][0] + table[4][0])
    out = outputs(n, len(zones))
    evaluate_zones(x, P, *table, horizon_s, q_h, q_v, *out, parallel=False)
    out_parallel = outputs(n, len(zones))
    evaluate_zones(x, P, *table, horizon_s, q_h, q_v, *out_parallel, parallel=True)
    for a, b in zip(out, out_parallel):
        np.testing.assert_array_equal(a, b)
    inside, distance, tte, p_entry = out
    assert inside[0, 0]
    for i in range(n):
        for k, zone in enumerate(zones):
            want = naive.evaluate_pair(x[i], P[i], zone, horizon_s, q_h, q_v)
            assert inside[i, k] == want[0]
            assert distance[i, k] == pytest.approx(want[1], rel=1e-10, abs=1e-8)
            if math.isinf(want[2]):
                assert math.isinf(tte[i, k])
            else:
                assert tte[i, k] == pytest.approx(want[2], abs=1e-6)
            assert p_entry[i, k] == pytest.approx(want[3], abs=1e-6), (i, k)


@SLOW
@given(SEEDS)
def test_far_polygon_bound_keeps_tiny_probabilities_exact(seed):
    # Small covariance, no process noise: Phi(-g / sigma) spans 1e-80 ... 0.0,
    # and the bound that skips the search (g / sigma >= 40) is met by some pairs.
    rng = np.random.default_rng(seed)
    vertices = random_polygon(rng, np.zeros(2), rng.uniform(300.0, 1500.0))
    poly_start, poly_xy = pack_polygons([vertices])
    table = (np.array([1], dtype=np.int64), vertices.mean(axis=0)[None].copy(), np.zeros(1),
             np.zeros(1), np.full(1, 500.0), poly_start, poly_xy)
    zone = naive.zones_from_table(*table)[0]
    r_bound = np.max(np.linalg.norm(vertices - vertices.mean(axis=0), axis=1))
    n = 12
    x = np.zeros((n, 6))
    heading = rng.uniform(0, 2 * np.pi, n)
    reach = r_bound + rng.uniform(100.0, 1000.0, n)
    x[:, :2] = vertices.mean(axis=0) + reach[:, None] * np.column_stack(
        [np.cos(heading), np.sin(heading)])
    x[:, 2] = 250.0
    x[:, 3:5] = rng.normal(0.0, 1.0, (n, 2))
    x[: n // 2, 3:5] = 0.0
    P = np.tile(np.diag([100.0, 100.0, 100.0, 1e-4, 1e-4, 1e-4]), (n, 1, 1))
    out = outputs(n, 1)
    evaluate_zones(x, P, *table, 30.0, 0.0, 0.0, *out)
    skipped = 0
    for i in range(n):
        want = naive.evaluate_pair(x[i], P[i], zone, 30.0, 0.0, 0.0)
        got = out[3][i, 0]
        assert math.isinf(out[2][i, 0]) and math.isinf(want[2])
        if i < n // 2:
            assert got == pytest.approx(want[3], rel=1e-6, abs=1e-300)
        else:
            # moving: along a nearly flat stretch the time of the minimum is
            # ill-conditioned and sigma_h(t*) with it; compare on the z scale
            assert (got < 1e-300) == (want[3] < 1e-300)
            if got > 1e-300:
                assert norm.isf(got) == pytest.approx(norm.isf(want[3]), abs=0.02)
        skipped += reach[i] - r_bound - 31.0 > 40.0 * math.sqrt(2 * (100.0 + 900e-4))
    assume(skipped and skipped < n)


@FAST
@given(SEEDS, st.floats(1e-3, 1e4))
def test_p_entry_is_a_probability_and_inside_means_certain(seed, sigma_scale):
    rng = np.random.default_rng(seed)
    table = random_table(rng, 3, extent_m=1500.0)
    zones = naive.zones_from_table(*table)
    n = 8
    x, P = random_tracks(rng, n, table, 60.0)
    P *= sigma_scale
    # put the first track inside a random zone (somewhere on the path to its centre)
    k = int(rng.integers(len(zones)))
    zone = zones[k]
    x[0, :2] = inside_point(rng, zone)
    x[0, 2] = rng.uniform(zone["floor"], zone["ceiling"])
    assume(naive.inside(x[0, :3], zone))
    inside, distance, tte, p_entry = outputs(n, len(zones))
    evaluate_zones(x, P, *table, 60.0, 1.0, 0.5, inside, distance, tte, p_entry)
    assert np.all((p_entry >= 0.0) & (p_entry <= 1.0))
    assert inside[0, k] and tte[0, k] == 0.0 and p_entry[0, k] == 1.0
    assert np.all(tte[inside] == 0.0) and np.all(p_entry[inside] == 1.0)
    assert np.all(distance[inside] <= 0.0)
    assert np.all((tte[~inside] > 0.0) & (tte[~inside] <= 60.0) | np.isinf(tte[~inside]))


def aimed_track(rng, zone, toward, distance_m, speed_mps, sigma_pos_m):
    """A track ``distance_m`` from the zone centre heading at it (or away)."""
    heading = rng.uniform(0, 2 * np.pi)
    direction = np.array([np.cos(heading), np.sin(heading)])
    x = np.zeros(6)
    x[:2] = zone["center"] + direction * distance_m
    x[3:5] = (-1.0 if toward else 1.0) * direction * speed_mps
    x[2] = 0.5 * (zone["floor"] + zone["ceiling"])
    P = naive.random_covariance(rng, sigma_pos_m, 0.1)
    return x, P


def random_zone(rng, shape, floor=0.0, ceiling=500.0):
    c = rng.uniform(-1000, 1000, 2)
    r = rng.uniform(300.0, 1500.0)
    if shape == "circle":
        return dict(kind=0, center=c, radius=r, floor=floor, ceiling=ceiling, vertices=None)
    # about its star centre, which is inside; centre = that point
    zone = polygon_zone(random_polygon(rng, c, r, convex=shape == "convex"), floor, ceiling)
    zone["center"] = c
    return zone


@SLOW
@given(SEEDS, st.sampled_from(["circle", "convex", "star"]))
def test_p_entry_near_one_heading_in_near_zero_heading_away(seed, shape):
    rng = np.random.default_rng(seed)
    zone = random_zone(rng, shape)
    distance_m = 1500.0 + rng.uniform(0.0, 3000.0)
    speed = rng.uniform(20.0, 60.0)
    horizon_s = 1.5 * distance_m / speed
    x, P = aimed_track(rng, zone, True, distance_m, speed, 5.0)
    inside, _, tte, p_in = evaluate_one(x, P, zone, horizon_s, q_h=1e-4, q_v=1e-4)
    assert not inside and tte < horizon_s
    assert p_in > 0.99
    x, P = aimed_track(rng, zone, False, distance_m, speed, 5.0)
    inside, _, tte, p_out = evaluate_one(x, P, zone, horizon_s, q_h=1e-4, q_v=1e-4)
    assert not inside and math.isinf(tte)
    assert p_out < 1e-3


@SLOW
@given(SEEDS, st.sampled_from(["circle", "convex"]), st.floats(0.05, 2.0),
       st.floats(1.05, 10.0))
def test_p_entry_grows_with_uncertainty_when_passing_just_outside(seed, shape, miss_sigmas,
                                                                  growth):
    rng = np.random.default_rng(seed)
    zone = random_zone(rng, shape, floor=-1e5, ceiling=1e5)
    sigma_m = 30.0
    # pass parallel to the boundary at the nearest point of a random direction
    if shape == "circle":
        heading = rng.uniform(0, 2 * np.pi)
        outward = np.array([np.cos(heading), np.sin(heading)])
        boundary = zone["center"] + zone["radius"] * outward
    else:
        vertices = zone["vertices"]
        i = int(rng.integers(len(vertices)))
        a, b = vertices[i], vertices[(i + 1) % len(vertices)]
        boundary = 0.5 * (a + b)
        edge = (b - a) / np.linalg.norm(b - a)
        outward = np.array([edge[1], -edge[0]])
        if naive.point_in_polygon(*(boundary + 1e-3 * outward), vertices):
            outward = -outward
    along = np.array([-outward[1], outward[0]])
    speed = 20.0
    x = np.zeros(6)
    x[:2] = boundary + miss_sigmas * sigma_m * outward - 30.0 * speed * along
    x[3:5] = speed * along
    P = naive.random_covariance(rng, sigma_m, 1.0)
    horizontal = np.array([0, 1, 3, 4])
    P_big = P.copy()
    P_big[np.ix_(horizontal, horizontal)] *= growth
    _, _, tte, p_small = evaluate_one(x, P, zone, 60.0)
    _, _, _, p_big = evaluate_one(x, P_big, zone, 60.0)
    assert math.isinf(tte)
    assert 0.0 < p_small < 0.5
    assert p_big > p_small
    # and a proportional growth of the whole covariance
    _, _, _, p_all = evaluate_one(x, P * growth, zone, 60.0)
    assert p_all > p_small


def test_vertical_slab_is_respected():
    zone = dict(kind=0, center=np.array([0.0, 0.0]), radius=500.0, floor=100.0,
                ceiling=400.0, vertices=None)
    P = np.diag([25.0, 25.0, 25.0, 0.01, 0.01, 0.01])

    def run(x, horizon_s=60.0):
        return evaluate_one(x, P, zone, horizon_s, q_h=0.01, q_v=0.01)

    # horizontally inside, level, in the slab / above / below it
    assert run([10.0, 0.0, 250.0, 0.0, 0.0, 0.0])[::2] == (True, 0.0)
    for u in (600.0, -50.0):
        inside, distance, tte, p = run([10.0, 0.0, u, 0.0, 0.0, 0.0])
        assert not inside and distance < 0.0 and math.isinf(tte) and p < 1e-6
    # descending onto the ceiling / climbing through the floor
    inside, _, tte, p = run([10.0, 0.0, 600.0, 0.0, 0.0, -5.0])
    assert not inside and tte == pytest.approx(40.0) and p > 0.99
    # ... still 4.5 sigma_u above the ceiling at a 30 s horizon
    inside, _, tte, p = run([10.0, 0.0, 600.0, 0.0, 0.0, -5.0], 30.0)
    assert not inside and math.isinf(tte) and 1e-7 < p < 1e-4
    inside, _, tte, p = run([10.0, 0.0, 50.0, 0.0, 0.0, 2.0])
    assert not inside and tte == pytest.approx(25.0) and p > 0.99
    # just reaching the ceiling at the horizon: about even
    inside, _, tte, p = run([10.0, 0.0, 700.0, 0.0, 0.0, -5.0])
    assert not inside and tte == pytest.approx(60.0) and 0.3 < p < 0.7
    # passing through the slab outside the circle: the slab alone is not entry
    inside, _, tte, p = run([2000.0, 0.0, 50.0, 0.0, 10.0, 2.0])
    assert not inside and math.isinf(tte) and p == 0.0
    # crossing the circle above the ceiling, level: never in, and unlikely
    inside, _, tte, p = run([-1000.0, 0.0, 600.0, 20.0, 0.0, 0.0])
    assert not inside and math.isinf(tte) and p < 1e-6


# ---------------------------------------------------------------------------
# Validation and packing
# ---------------------------------------------------------------------------


def small_table():
    poly_start, poly_xy = pack_polygons([None, [[0, 0], [100, 0], [100, 100], [0, 100]]])
    return (np.array([0, 1], dtype=np.int64), np.array([[0.0, 0.0], [50.0, 50.0]]),
            np.array([100.0, 0.0]), np.zeros(2), np.full(2, 100.0), poly_start, poly_xy)


def test_pack_polygons_layout_and_closed_rings():
    square = [[0, 0], [1, 0], [1, 1], [0, 1]]
    poly_start, poly_xy = pack_polygons([None, square, np.zeros((0, 2)),
                                         square + [[0, 0]]])
    np.testing.assert_array_equal(poly_start, [0, 0, 4, 4, 8])
    np.testing.assert_array_equal(poly_xy[4:], np.asarray(square, float))
    assert poly_xy.dtype == np.float64 and poly_xy.flags.c_contiguous


@pytest.mark.parametrize("vertices, message", [
    ([[0, 0], [1, 0]], "2 distinct points; at least 3 needed"),
    ([[0, 0], [2, 2], [2, 0], [0, 1]], r"edges 0 and 2 cross"),
    ([[0, 0], [1, 0], [1, 0], [0, 1]], r"point 2 repeats point 1 \(a zero-length edge\)"),
    ([[0, 0], [1, 0], [2, 0]], r"zero area"),
    ([[0, 0], [2, 0], [1, 0], [1, 1]], r"edges 0 and 1 overlap"),
    ([[0, 0], [2, 0], [2, 2], [1, 0], [0, 2]], r"edges 0 and 2 touch"),
    ([[0, 0], [1, np.nan], [0, 1]], "not finite"),
    ([[0, 0, 0], [1, 0, 0], [0, 1, 0]], "shape"),
])
def test_pack_polygons_rejects_bad_polygons(vertices, message):
    with pytest.raises(PolygonError, match=message) as info:
        pack_polygons([None, vertices])
    assert info.value.index == 1 and str(info.value) == f"polygon 1: {info.value.reason}"


# ---------------------------------------------------------------------------
# Polygon validity against the quadratic exact twin
# ---------------------------------------------------------------------------

grid_points = st.tuples(st.integers(-3, 3).map(float), st.integers(-3, 3).map(float))
# Nearly collinear triples: small offsets around a few base values.
near_points = st.tuples(
    st.sampled_from([0.1, 0.2, 0.3, 31.3]).flatmap(
        lambda base: st.sampled_from([base, base + 1e-15, base - 2e-16])),
    st.sampled_from([0.1, 0.2, 0.3, 120.62]).flatmap(
        lambda base: st.sampled_from([base, base + 1e-15, base - 2e-16])),
)
float_points = st.tuples(st.floats(-90.0, 90.0), st.floats(-180.0, 180.0))


def distinct_neighbours(points):
    return all(points[k] != points[(k + 1) % len(points)] for k in range(len(points)))


@settings(max_examples=400, deadline=None)
@given(st.lists(grid_points | near_points | float_points, min_size=3, max_size=12))
def test_polygon_defect_matches_naive(points):
    assume(distinct_neighbours(points))
    assert polygon_defect(np.array(points)) == naive.polygon_defect(points)


@st.composite
def polygons_with_a_vertex_near_an_edge(draw):
    """[a, b, x, c, d] with c interpolated on edge ab in floats: whether edge
    cd meets edge ab hangs on a nearly zero orientation."""
    rng = np.random.default_rng(draw(SEEDS))
    a, b, x, d = (tuple(rng.uniform([-90.0, -180.0], [90.0, 180.0])) for _ in range(4))
    t = rng.uniform(0.01, 0.99)
    c = (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
    return [a, b, x, c, d]


@settings(max_examples=200, deadline=None)
@given(polygons_with_a_vertex_near_an_edge())
def test_polygon_defect_near_degenerate(points):
    assert polygon_defect(np.array(points)) == naive.polygon_defect(points)


@st.composite
def large_polygons(draw):
    """Star polygons of 20 to 120 vertices, some with one vertex moved so
    that edges cross or touch (a grid bug shows on many cells)."""
    rng = np.random.default_rng(draw(SEEDS))
    m = int(rng.integers(20, 120))
    angle = np.sort(rng.uniform(0.0, 2.0 * np.pi, m))
    radius = rng.uniform(0.2, 1.0, m) if rng.random() < 0.5 else 1.0 + 0.3 * np.sin(5 * angle)
    points = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    if rng.random() < 0.5:
        k, other = rng.integers(m, size=2)
        points[k] = points[other] if rng.random() < 0.3 else rng.uniform(-1.0, 1.0, 2)
    return [tuple(p) for p in points]


@settings(max_examples=40, deadline=None)
@given(large_polygons())
def test_polygon_defect_matches_naive_on_large_polygons(points):
    assume(distinct_neighbours(points))
    assert polygon_defect(np.array(points)) == naive.polygon_defect(points)


@pytest.mark.parametrize("points, expected", [
    ([(0, 0), (0, 1), (1, 1), (1, 0)], None),                       # square
    ([(0, 0), (1, 1), (0, 1), (1, 0)], (0, 2, "cross")),            # bow tie
    ([(0, 0), (0, 1), (1, 0)], None),                               # triangle
    ([(0, 0), (2, 0), (1, 0), (1, 2)], (0, 1, "overlap")),          # doubles back
    ([(0, 0), (2, 0), (2, 2), (1, 0), (0, 2)], (0, 2, "touch")),    # vertex on an edge
    ([(0, 0), (1, 1), (2, 0), (2, 2), (1, 1), (0, 2)], (0, 3, "touch")),  # figure eight
    ([(0, 0), (4, 0), (4, 4), (2, -1), (0, 4)], (0, 2, "cross")),
    ([(0, 0), (3, 0), (3, 1), (2, 0), (1, 0), (1, 1)], (0, 2, "touch")),  # collinear overlap
])
def test_polygon_defect_cases(points, expected):
    assert polygon_defect(np.array(points, float)) == expected
    assert naive.polygon_defect(points) == expected


def test_check_polygon_drops_a_closing_repeat_and_rejects_excess():
    square = [[0, 0], [1, 0], [1, 1], [0, 1]]
    np.testing.assert_array_equal(check_polygon(square + [[0, 0]]), np.array(square, float))
    with pytest.raises(PolygonError, match="at most 100000"):
        check_polygon(np.zeros((MAX_POLYGON_VERTICES + 2, 2)))


def test_evaluate_zones_validates_arguments():
    table = small_table()
    x = np.zeros((2, 6))
    P = np.tile(np.eye(6), (2, 1, 1))
    good = outputs(2, 2)
    evaluate_zones(x, P, *table, 60.0, 1.0, 1.0, *good)
    with pytest.raises(ValueError, match="P must have shape"):
        evaluate_zones(x, P[:1], *table, 60.0, 1.0, 1.0, *good)
    with pytest.raises(TypeError, match="zone_kind must have dtype int64"):
        evaluate_zones(x, P, table[0].astype(np.int32), *table[1:], 60.0, 1.0, 1.0, *good)
    with pytest.raises(ValueError, match="floor"):
        evaluate_zones(x, P, *table[:3], np.array([0.0, 200.0]), *table[4:], 60.0, 1.0, 1.0,
                       *good)
    with pytest.raises(ValueError, match="zone_kind must be 0"):
        evaluate_zones(x, P, np.array([0, 2]), *table[1:], 60.0, 1.0, 1.0, *good)
    with pytest.raises(ValueError, match="circle zone 0 has radius"):
        evaluate_zones(x, P, table[0], table[1], np.zeros(2), *table[3:], 60.0, 1.0, 1.0,
                       *good)
    with pytest.raises(ValueError, match="polygon zone 1 has 0 vertices"):
        evaluate_zones(x, P, *table[:5], np.array([0, 0, 0]), np.zeros((0, 2)), 60.0, 1.0,
                       1.0, *good)
    with pytest.raises(ValueError, match="horizon_s"):
        evaluate_zones(x, P, *table, -1.0, 1.0, 1.0, *good)
    with pytest.raises(ValueError, match="q_v"):
        evaluate_zones(x, P, *table, 60.0, 1.0, np.nan, *good)
    with pytest.raises(ValueError, match="x must be finite"):
        evaluate_zones(np.full((2, 6), np.inf), P, *table, 60.0, 1.0, 1.0, *good)
    with pytest.raises(ValueError, match="tte_out must have shape"):
        evaluate_zones(x, P, *table, 60.0, 1.0, 1.0, good[0], good[1], np.zeros((2, 3)),
                       good[3])
    with pytest.raises(TypeError, match="inside_out must have dtype bool"):
        evaluate_zones(x, P, *table, 60.0, 1.0, 1.0, np.zeros((2, 2)), *good[1:])
    read_only = np.zeros((2, 2))
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="p_entry_out is an output"):
        evaluate_zones(x, P, *table, 60.0, 1.0, 1.0, *good[:3], read_only)


def test_asset_cpa_validates_arguments():
    x = np.zeros((2, 6))
    assets = np.zeros((1, 2))
    out = tuple(np.zeros((2, 1)) for _ in range(4))
    with pytest.raises(ValueError, match="asset_en must have shape"):
        asset_cpa(x, np.zeros((1, 3)), 60.0, *out)
    with pytest.raises(ValueError, match="range_m_out must have shape"):
        asset_cpa(x, assets, 60.0, *out[:3], np.zeros((1, 1)))
    with pytest.raises(ValueError, match="horizon_s"):
        asset_cpa(x, assets, math.inf, *out)
