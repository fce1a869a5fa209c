"""GOSPA, OSPA and the track and alert figures of radarcore.analysis.scores.

References independent of the code under test: GOSPA by enumerating every
partial assignment (the definition, raw distances, no cut-off trick), OSPA
by enumerating every permutation (the definition), a dense SciPy assignment
of the padded cost matrix for large sets, hand-computed values, and track
histories built so that their switches, breaks, false and redundant tracks
are known by construction.
"""
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ingest.schema import TRACK_ROW_DTYPE, TRUTH_DTYPE
from radarcore.core.config import AssetConfig, Origin, RadarConfig, SiteConfig, ZoneConfig
from radarcore.analysis.scores import alert_scores, gospa, ospa, output_epochs, score
from radarcore.sim.intrusions import truth_zone_events

# --------------------------------------------------------------------------
# Brute-force references


def brute_gospa(X, Y, c, p):
    """min over partial assignments of sum d^p + c^p/2 (|X| + |Y| - 2|gamma|), then ^(1/p)."""
    n, m = len(X), len(Y)
    best = [math.inf]

    def walk(i, used, cost, k):
        if i == n:
            best[0] = min(best[0], cost + c ** p / 2 * (n + m - 2 * k))
            return
        walk(i + 1, used, cost, k)                       # truth i unassigned
        for j in range(m):
            if j not in used:
                d = math.dist(X[i], Y[j])
                walk(i + 1, used | {j}, cost + d ** p, k + 1)

    walk(0, frozenset(), 0.0, 0)
    return best[0] ** (1 / p)


def brute_ospa(X, Y, c, p):
    """OSPA by its definition: every injection of the smaller set into the larger."""
    if len(X) > len(Y):
        X, Y = Y, X
    m, n = len(X), len(Y)
    if n == 0:
        return 0.0
    best = math.inf
    for perm in itertools.permutations(range(n), m):
        cost = sum(min(math.dist(X[i], Y[j]), c) ** p for i, j in enumerate(perm))
        best = min(best, cost)
    return ((best + c ** p * (n - m)) / n) ** (1 / p)


def point_sets(max_points=4, dim=3, span=120.0):
    point = st.lists(st.floats(-span, span, allow_nan=False, allow_infinity=False),
                     min_size=dim, max_size=dim)
    return st.lists(point, min_size=0, max_size=max_points)


# --------------------------------------------------------------------------
# GOSPA and OSPA against brute force and hand computation


@settings(max_examples=150, deadline=None)
@given(X=point_sets(), Y=point_sets(), c=st.sampled_from([10.0, 50.0, 80.0]),
       p=st.sampled_from([1.0, 2.0, 3.0]))
def test_gospa_and_ospa_match_brute_force(X, Y, c, p):
    res = gospa(np.array(X).reshape(-1, 3), np.array(Y).reshape(-1, 3), c, p)
    assert res.gospa == pytest.approx(brute_gospa(X, Y, c, p), rel=1e-9, abs=1e-9)
    assert res.ospa == pytest.approx(brute_ospa(X, Y, c, p), rel=1e-9, abs=1e-9)
    # the decomposition: parts add up, and each part is what it says
    assert res.localisation + res.missed + res.false == pytest.approx(res.gospa ** p, rel=1e-9, abs=1e-9)
    rows, cols = res.assignment
    d = [math.dist(X[i], Y[j]) for i, j in zip(rows, cols)]
    assert all(x < c for x in d)
    assert res.localisation == pytest.approx(sum(x ** p for x in d), rel=1e-9, abs=1e-9)
    assert res.n_assigned == len(rows) == len(set(rows)) == len(set(cols))
    assert res.missed == pytest.approx(c ** p / 2 * (len(X) - len(rows)))
    assert res.false == pytest.approx(c ** p / 2 * (len(Y) - len(rows)))
    assert ospa(np.array(X).reshape(-1, 3), np.array(Y).reshape(-1, 3), c, p) == res.ospa


@pytest.mark.parametrize("seed", range(4))
def test_gospa_of_large_sets_matches_a_dense_assignment(seed):
    """Hundreds of points (the k-d tree and component path) against SciPy on
    the padded dense cost matrix: pairs cost min(d, c)^p, a point left out
    c^p / 2 (alpha = 2)."""
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(seed)
    c, p = 50.0, 2.0
    X = rng.uniform(0, 1500, (150 + seed * 20, 3))
    Y = np.vstack([X[: 120] + rng.normal(0, 25, (120, 3)), rng.uniform(0, 1500, (40, 3))])
    n, m = len(X), len(Y)
    d = np.linalg.norm(X[:, None] - Y[None], axis=2)
    big = np.full((n + m, n + m), 0.0)
    big[:n, :m] = np.minimum(d, c) ** p
    big[:n, m:] = c ** p / 2          # truth i to a dummy: missed
    big[n:, :m] = c ** p / 2          # dummy to track j: false
    r, k = linear_sum_assignment(big)
    reference = big[r, k].sum() ** (1 / p)
    res = gospa(X, Y, c, p)
    assert res.gospa == pytest.approx(reference, rel=1e-12)
    full = linear_sum_assignment(np.minimum(d, c) ** p)
    ospa_reference = ((np.minimum(d, c)[full] ** p).sum() + c ** p * abs(n - m)) / max(n, m)
    assert res.ospa == pytest.approx(ospa_reference ** (1 / p), rel=1e-12)


def test_hand_computed_cases():
    c = 50.0
    # one pair 5 m apart, one truth missed
    res = gospa([[0, 0, 0], [100, 0, 0]], [[3, 4, 0]], c)
    assert res.gospa == pytest.approx(math.sqrt(25 + 1250))
    assert (res.localisation, res.missed, res.false) == pytest.approx((25, 1250, 0))
    assert res.ospa == pytest.approx(math.sqrt((25 + 2500) / 2))
    # the optimum is not the greedy nearest pair: 0-6 and 10-20 (36 + 100), not 10-6 and 0-20
    res = gospa([[0, 0, 0], [10, 0, 0]], [[6, 0, 0], [20, 0, 0]], c)
    assert res.gospa == pytest.approx(math.sqrt(136))
    # beyond the cut-off a pair is a miss and a false track: 10-6 only
    res = gospa([[0, 0, 0], [10, 0, 0]], [[6, 0, 0], [70, 0, 0]], c)
    assert res.gospa == pytest.approx(math.sqrt(16 + 2500))
    assert res.ospa == pytest.approx(math.sqrt((16 + 2500) / 2))
    # one pair 60 m apart: GOSPA = c, OSPA = c
    res = gospa([[0, 0, 0]], [[0, 60, 0]], c)
    assert (res.gospa, res.ospa, res.n_assigned) == (pytest.approx(c), pytest.approx(c), 0)
    # empty sets
    assert gospa(np.zeros((0, 3)), np.zeros((0, 3)), c).gospa == 0.0
    assert gospa(np.zeros((0, 3)), np.zeros((0, 3)), c).ospa == 0.0
    res = gospa(np.zeros((0, 3)), [[1, 2, 3], [4, 5, 6], [7, 8, 9]], c)
    assert res.gospa == pytest.approx(math.sqrt(3 * 1250)) and res.ospa == c
    assert res.false == pytest.approx(3 * 1250) and res.n_false == 3


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="cut-off"):
        gospa([[0, 0, 0]], [[0, 0, 0]], c=0.0)
    with pytest.raises(ValueError, match="order p"):
        gospa([[0, 0, 0]], [[0, 0, 0]], p=0.5)
    with pytest.raises(ValueError, match="NaN"):
        gospa([[0, 0, np.nan]], [[0, 0, 0]])
    with pytest.raises(ValueError, match="dimensions"):
        gospa([[0, 0, 0]], [[0, 0]])


# --------------------------------------------------------------------------
# Properties


@settings(max_examples=100, deadline=None)
@given(X=point_sets(max_points=6), data=st.data())
def test_gospa_is_zero_for_identical_sets(X, data):
    X = np.array(X).reshape(-1, 3)
    perm = data.draw(st.permutations(list(range(len(X)))))
    res = gospa(X, X[list(perm)])
    assert res.gospa == 0.0 and res.ospa == 0.0 and res.n_assigned == len(X)


@settings(max_examples=100, deadline=None)
@given(X=point_sets(max_points=6), Y=point_sets(max_points=6))
def test_gospa_is_symmetric(X, Y):
    a = gospa(np.array(X).reshape(-1, 3), np.array(Y).reshape(-1, 3))
    b = gospa(np.array(Y).reshape(-1, 3), np.array(X).reshape(-1, 3))
    assert a.gospa == pytest.approx(b.gospa, rel=1e-12, abs=1e-12)
    assert a.ospa == pytest.approx(b.ospa, rel=1e-12, abs=1e-12)
    assert (a.missed, a.false) == (b.false, b.missed)


@settings(max_examples=100, deadline=None)
@given(X=point_sets(max_points=4), Y=point_sets(max_points=4), Z=point_sets(max_points=4))
def test_gospa_obeys_the_triangle_inequality(X, Y, Z):
    X, Y, Z = (np.array(s).reshape(-1, 3) for s in (X, Y, Z))
    assert gospa(X, Z).gospa <= gospa(X, Y).gospa + gospa(Y, Z).gospa + 1e-9


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 6), seed=st.integers(0, 2 ** 32 - 1),
       s=st.lists(st.floats(0.0, 120.0), min_size=2, max_size=6))
def test_gospa_grows_with_displacement_up_to_the_cut_off(n, seed, s):
    """Points far apart (1 km), each moved by s along its own direction:
    GOSPA never decreases with s, equals sqrt(n) s below c, sqrt(n) c beyond."""
    c = 50.0
    rng = np.random.default_rng(seed)
    X = np.column_stack([1000.0 * np.arange(n), rng.uniform(-100, 100, n), rng.uniform(0, 300, n)])
    u = rng.normal(size=(n, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    values = [gospa(X, X + step * u, c).gospa for step in sorted(s)]
    assert all(b >= a - 1e-9 for a, b in zip(values, values[1:]))
    for step, value in zip(sorted(s), values):
        assert value == pytest.approx(math.sqrt(n) * min(step, c), rel=1e-9, abs=1e-9)
        assert value <= math.sqrt(n) * c + 1e-9


def test_output_epochs_fill_gaps_of_the_periodic_output():
    times = np.r_[np.arange(0.0, 10.0), np.arange(15.0, 20.0)]
    assert np.array_equal(output_epochs(np.repeat(times, 3)), np.arange(0.0, 20.0))
    assert np.array_equal(output_epochs([5.0, 5.0, 6.0]), [5.0, 6.0])


# --------------------------------------------------------------------------
# Track figures on a constructed history
#
# Truth 1 (drone) flies east at 10 m/s, truth 2 (bird) north at 5 m/s, 5 km
# apart; epochs every 1 s from 0 to 99, nothing at all output at 30..34.
#   truth 1: track 10 at 3..29 and 35..39, track 11 at 40..99
#            -> 1 switch, 1 break, longest segment 60 epochs, confirmed after 3 s
#   truth 2: track 20 at 0..29 and 35..59 (coasting at 55..59), track 21 at 60..99
#            -> 1 switch, 1 break, longest segment 40 epochs, confirmed at once
#   track 30: 10 m from truth 1 at 50..54, beside track 11 (3 m): redundant
#   track 99: 20 km away at 10..19: false
#   track 77: tentative, on truth 1 at 60..64: not scored
# Every primary track is off by (1, 2, 2) m (3 m) and (0.3, 0.4, 0) m/s, with
# sigma_pos_m = sqrt(10) m: horizontal NEES 2 * 5 / 10 = 1.

OFFSET = np.array([1.0, 2.0, 2.0])
V_OFFSET = np.array([0.3, 0.4, 0.0])


def truth_position(target_id, t):
    t = np.asarray(t, float)
    if target_id == 1:
        return np.column_stack([10.0 * t, np.zeros_like(t), np.full_like(t, 100.0)])
    return np.column_stack([np.zeros_like(t), 5000.0 + 5.0 * t, np.full_like(t, 80.0)])


def truth_velocity(target_id):
    return np.array([10.0, 0.0, 0.0]) if target_id == 1 else np.array([0.0, 5.0, 0.0])


def constructed_truth():
    t = np.arange(0.0, 101.0, 2.0)            # samples every 2 s: epochs are interpolated
    parts = []
    for target_id, kind in ((1, "drone"), (2, "bird")):
        rows = np.zeros(t.size, TRUTH_DTYPE)
        rows["time_s"] = t
        rows["target_id"] = target_id
        xyz = truth_position(target_id, t)
        rows["east_m"], rows["north_m"], rows["up_m"] = xyz.T
        rows["v_east_mps"], rows["v_north_mps"], rows["v_up_mps"] = truth_velocity(target_id)
        rows["kind"] = kind
        parts.append(rows)
    return np.concatenate(parts)


def track_rows(track_id, times, position, velocity, status=2, sigma=math.sqrt(10.0)):
    times = np.asarray(times, float)
    rows = np.zeros(times.size, TRACK_ROW_DTYPE)
    rows["time_s"] = times
    rows["track_id"] = track_id
    rows["status"] = status
    rows["east_m"], rows["north_m"], rows["up_m"] = np.asarray(position).T
    rows["v_east_mps"], rows["v_north_mps"], rows["v_up_mps"] = np.broadcast_to(velocity, (times.size, 3)).T
    rows["lat_deg"] = rows["lon_deg"] = rows["alt_m"] = np.nan
    rows["sigma_pos_m"] = sigma
    return rows


def following(track_id, target_id, times, status=2, offset=OFFSET):
    times = np.asarray(times, float)
    return track_rows(track_id, times, truth_position(target_id, times) + offset,
                      truth_velocity(target_id) + V_OFFSET, status)


def constructed_tracks():
    r = np.arange
    parts = [
        following(10, 1, np.r_[r(3, 30), r(35, 40)]),
        following(11, 1, r(40, 100)),
        following(20, 2, np.r_[r(0, 30), r(35, 55)]),
        following(20, 2, r(55, 60), status=3),
        following(21, 2, r(60, 100)),
        following(30, 1, r(50, 55), offset=np.array([10.0, 0.0, 0.0])),
        track_rows(99, r(10, 20), np.tile([-20000.0, -20000.0, 100.0], (10, 1)), [0.0, 0.0, 0.0]),
        following(77, 1, r(60, 65), status=1),
    ]
    rows = np.concatenate(parts)
    return rows[np.lexsort((rows["track_id"], rows["time_s"]))]


@pytest.fixture(scope="module")
def constructed():
    return score(constructed_truth(), constructed_tracks())


def test_constructed_switches_breaks_segments(constructed):
    s = constructed
    assert s.n_epochs == 100                      # the empty epochs 30..34 count
    assert s.truth_targets == 2 and s.targets_confirmed == 2
    assert s.id_switches == 2 and s.track_breaks == 2
    assert s.truth_track_changes == 2 and s.track_swaps == 0
    per = {t["target_id"]: t for t in s.per_truth}
    assert (per[1]["id_switches"], per[1]["breaks"], per[1]["longest_segment_epochs"]) == (1, 1, 60)
    assert (per[2]["id_switches"], per[2]["breaks"], per[2]["longest_segment_epochs"]) == (1, 1, 40)
    assert per[1]["longest_segment_s"] == pytest.approx(60.0)
    assert per[1]["track_ids"] == [10, 11] and per[2]["track_ids"] == [20, 21]
    assert s.longest_segment_fraction_mean == pytest.approx((0.6 + 0.4) / 2)
    assert s.first_assigned_s == {1: 3.0, 2: 0.0}
    assert (per[1]["time_to_confirm_s"], per[2]["time_to_confirm_s"]) == (3.0, 0.0)
    assert s.time_to_confirm_mean_s == pytest.approx(1.5) and s.time_to_confirm_max_s == 3.0


def test_constructed_siap_ratios_and_false_tracks(constructed):
    s = constructed
    tracked = (27 + 5 + 60) + (30 + 25 + 40)
    track_epochs = 32 + 60 + 55 + 40 + 5 + 10
    assert s.completeness == pytest.approx(tracked / 200)
    assert s.spuriousness == pytest.approx(10 / track_epochs)
    assert s.ambiguity == pytest.approx((tracked + 5) / tracked)
    assert s.n_tracks == 6                        # the tentative track is not scored
    assert s.false_tracks == 1 and s.redundant_tracks == 1
    assert s.hours == pytest.approx(100 / 3600)
    assert s.false_tracks_per_hour == pytest.approx(36.0)


def test_constructed_errors_nees_and_gospa(constructed):
    s = constructed
    assert s.position_rmse_m == pytest.approx(3.0)
    assert s.velocity_rmse_mps == pytest.approx(0.5)
    assert s.nees_mean == pytest.approx(1.0) and s.nees_pairs == 187
    lo, hi = s.nees_interval
    assert lo < 2.0 < hi
    epoch = {t: k for k, t in enumerate(s.per_epoch["time_s"])}
    g = s.per_epoch["gospa"]
    assert g[epoch[1.0]] == pytest.approx(math.sqrt(9 + 1250))          # truth 1 not yet held
    assert g[epoch[15.0]] == pytest.approx(math.sqrt(9 + 9 + 1250))     # + the far false track
    assert g[epoch[31.0]] == pytest.approx(50.0)                        # nothing output
    assert g[epoch[52.0]] == pytest.approx(math.sqrt(9 + 9 + 1250))     # + the redundant track
    assert g[epoch[70.0]] == pytest.approx(3.0 * math.sqrt(2))
    assert s.per_epoch["n_redundant"][epoch[52.0]] == 1
    assert s.per_epoch["n_spurious"][epoch[15.0]] == 1
    assert s.gospa_mean == pytest.approx(g.mean())
    ospa = s.per_epoch["ospa"]
    assert ospa[epoch[1.0]] == pytest.approx(math.sqrt((9 + 2500) / 2))


def test_coverage_drops_truths_outside_every_radar():
    """A radar 3 km from truth 1 sees it; truth 2, 5 km north, is out of range,
    so its tracks 20 and 21 become false tracks."""
    s = score(constructed_truth(), constructed_tracks(),
              coverage=(np.array([[500.0, 0.0, 0.0]]), np.array([3000.0])))
    assert s.truth_targets == 1
    assert s.false_tracks == 3
    assert s.completeness == pytest.approx((27 + 5 + 60) / 100)


def test_no_tracks_at_all():
    s = score(constructed_truth(), np.zeros(0, TRACK_ROW_DTYPE))
    assert s.n_epochs > 0 and s.completeness == 0.0 and s.targets_confirmed == 0
    assert s.gospa_mean == pytest.approx(50.0) and math.isnan(s.position_rmse_m)


# --------------------------------------------------------------------------
# Alert figures on a constructed site
#
# One asset at the origin with warning (2 km), alert (1 km) and critical
# (300 m) circles.  Drone 1 flies west along north = 0 at 20 m/s from 3 km:
# it enters at t = 50, 100 and 135 s.  Drone 3 flies the same line 200 s
# later and is never alerted.  Bird 2 enters the warning zone only (birds
# alert only in critical zones).  Alert 1 is raised on drone 1 at t = 30,
# escalated twice; alert 2 is raised on the bird, alert 3 on empty sky.


def alert_site():
    zones = (ZoneConfig("warning", 0.0, 1000.0, radius_m=2000.0),
             ZoneConfig("alert", 0.0, 1000.0, radius_m=1000.0),
             ZoneConfig("critical", 0.0, 1000.0, radius_m=300.0))
    radar = RadarConfig(id=1, lat_deg=31.3, lon_deg=120.62, alt_m=0.0, sigma_range_m=7.5,
                        sigma_azimuth_deg=0.4, sigma_elevation_deg=0.8, scan_period_s=1.0,
                        max_range_m=8000.0)
    asset = AssetConfig(id="plant", lat_deg=31.3, lon_deg=120.62, alt_m=0.0, zones=zones)
    return SiteConfig(origin=Origin(31.3, 120.62, 0.0), radars=(radar,), assets=(asset,))


def alert_truth():
    t = np.arange(0.0, 401.0, 1.0)
    parts = []
    for target_id, kind, start_s, east0, north0, v in (
            (1, "drone", 0.0, 3000.0, 0.0, (-20.0, 0.0)),
            (3, "drone", 200.0, 3000.0, 0.0, (-20.0, 0.0)),
            (2, "bird", 0.0, 1500.0, 3000.0, (0.0, -10.0))):
        mine = t[t >= start_s]
        rows = np.zeros(mine.size, TRUTH_DTYPE)
        rows["time_s"] = mine
        rows["target_id"] = target_id
        rows["east_m"] = east0 + v[0] * (mine - start_s)
        rows["north_m"] = north0 + v[1] * (mine - start_s)
        rows["up_m"] = 100.0
        rows["v_east_mps"], rows["v_north_mps"] = v
        rows["kind"] = kind
        parts.append(rows)
    return np.concatenate(parts)


def event(time_s, alert_id, kind, level, east_m, north_m, track_id=5):
    return {"time_s": time_s, "alert_id": alert_id, "event": kind, "asset_id": "plant",
            "level": level, "track_id": track_id, "east_m": east_m, "north_m": north_m}


def test_alert_scores_on_a_constructed_site():
    site = alert_site()
    truth = alert_truth()
    events = [
        event(30.0, 1, "raise", "warning", 3000.0 - 20.0 * 30, 0.0),
        event(95.0, 1, "escalate", "alert", 3000.0 - 20.0 * 95, 10.0),
        event(130.0, 1, "escalate", "critical", 3000.0 - 20.0 * 130, 0.0),
        event(160.0, 2, "raise", "warning", 1500.0, 3000.0 - 1600.0, track_id=6),
        event(170.0, 3, "raise", "warning", -2500.0, -2500.0, track_id=7),
        event(175.0, 3, "clear", None, -2500.0, -2500.0, track_id=7),
    ]
    kinds = {1: "drone", 2: "bird", 3: "drone"}
    zone_events = truth_zone_events(truth, site)
    a = alert_scores(events, truth, zone_events, kinds, hours=400 / 3600, site=site,
                     levels=("warning", "alert", "critical"))
    drone1 = {i["level"]: i for i in a.intrusions if i["target_id"] == 1}
    assert set(drone1) == {"warning", "alert", "critical"}
    for level, entry_s in (("warning", 50.0), ("alert", 100.0), ("critical", 135.0)):
        assert drone1[level]["expected"] and drone1[level]["alerted"]
        assert drone1[level]["entry_time_s"] == pytest.approx(entry_s, abs=0.01)
        assert drone1[level]["lead_s"] == pytest.approx(entry_s - 30.0, abs=0.01)
    bird = [i for i in a.intrusions if i["target_id"] == 2]
    assert [i["level"] for i in bird] == ["warning"] and not bird[0]["expected"]
    drone3 = [i for i in a.intrusions if i["target_id"] == 3]
    assert len(drone3) == 3 and not any(i["alerted"] for i in drone3)
    assert a.missed_intrusions == 3
    assert sorted(a.lead_times_s) == pytest.approx([20.0, 70.0, 105.0], abs=0.01)
    assert a.false_alerts == {"bird": 1, "none": 1}
    assert a.alert_truth == {1: 1, 2: 2, 3: 0}
    assert (a.alerts, a.raises, a.level_changes, a.flaps) == (3, 3, 2, 0)
    # without levels only the alert-level zone is scored, as before
    b = alert_scores(events, truth, zone_events, kinds, hours=400 / 3600)
    assert {i["level"] for i in b.intrusions} == {"alert"} and b.missed_intrusions == 1


def test_advisory_and_acknowledge_events_are_not_alerts():
    """Advisories (no asset or level needed) and acknowledgements change nothing."""
    site = alert_site()
    truth = alert_truth()
    events = [
        event(30.0, 1, "raise", "warning", 3000.0 - 20.0 * 30, 0.0),
        {"time_s": 31.0, "event": "acknowledge", "alert_id": 1},
        {"time_s": 40.0, "event": "advisory", "track_id": 9, "east_m": 1500.0,
         "north_m": 3000.0 - 400.0, "class": "unknown", "class_confidence": 0.5},
        event(95.0, 1, "escalate", "alert", 3000.0 - 20.0 * 95, 10.0),
        event(170.0, 3, "raise", "warning", -2500.0, -2500.0, track_id=7),
        {"time_s": 171.0, "event": "advisory", "alert_id": 99, "track_id": 8, "east_m": -2500.0,
         "north_m": -2500.0, "asset_id": "plant", "level": None},
    ]
    kinds = {1: "drone", 2: "bird", 3: "drone"}
    zone_events = truth_zone_events(truth, site)
    with_extra = alert_scores(events, truth, zone_events, kinds, hours=400 / 3600, site=site,
                              levels=("warning", "alert", "critical"))
    lifecycle = [e for e in events if e["event"] not in ("advisory", "acknowledge")]
    plain = alert_scores(lifecycle, truth, zone_events, kinds, hours=400 / 3600, site=site,
                         levels=("warning", "alert", "critical"))
    assert with_extra == plain
    assert (with_extra.alerts, with_extra.raises, with_extra.level_changes) == (2, 2, 1)


def test_drone_recall_by_kind_without_a_behaviour_column():
    from radarcore.analysis.birds import bird_drone_scores

    site = alert_site()
    truth = alert_truth()
    events = [event(30.0, 1, "raise", "warning", 3000.0 - 20.0 * 30, 0.0)]
    kinds = {1: "drone", 2: "bird", 3: "drone"}
    zone_events = truth_zone_events(truth, site)
    a = alert_scores(events, truth, zone_events, kinds, hours=400 / 3600, site=site,
                     levels=("warning", "alert", "critical"))
    b = bird_drone_scores(truth, None, events, a)
    assert not b["behaviour_column"]
    drones = b["drone_alerts"]
    assert list(drones["by_behaviour"]) == ["drone"]
    d = drones["by_behaviour"]["drone"]
    assert (d["entries"], d["alerted_before_entry"], d["drones"]) == (6, 3, 2)
    assert d["recall"] == 0.5
    assert d["lead_time_median_s"] == pytest.approx(70.0, abs=0.01)
    assert d["lead_time_min_s"] == pytest.approx(20.0, abs=0.01)
    assert d["by_level"]["critical"]["alerted_before_entry"] == 1
    # The bird (target 2) raised nothing: no bird alerted.
    assert b["birds"]["birds"] == 1 and b["birds"]["with_alert"] == 0
