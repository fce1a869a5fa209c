"""Tests of zone-entry truth (radarcore.sim.intrusions) and the zone scenarios.

References independent of the code under test: zone vertices and asset
positions from pymap3d; inside/outside from a winding-number test (the code
uses the even-odd crossing rule) on the path sampled every millisecond;
entry and exit times of straight lines through circles, polygon edges and
ceilings from closed-form solutions.
"""
import argparse
import math

import numpy as np
import pymap3d
import pytest
from hypothesis import assume, given, settings, strategies as st

from ingest.csvio import read_truth_csv
from ingest.schema import TRUTH_DTYPE
from radarcore.core.config import AssetConfig, Origin, RadarConfig, SiteConfig, ZoneConfig, load_site
from radarcore.sim.intrusions import (
    ZONE_EVENT_DTYPE, truth_min_distance, truth_zone_events, zone_contains, zone_geometry,
    zone_signed_distance)
from radarcore.sim.simulate import SCENARIOS, add_parser, simulate, write_scenario

ORIGIN = (31.30, 120.62, 0.0)
ASSET_ENU = np.array([200.0, -100.0])
RADIUS_M = 1000.0
#: A U-shaped (concave) polygon around the asset (E, N offsets in metres):
#: arms at -600..-300 and 300..600 east, joined south of -100 north.
U_SHAPE = np.array([(-600.0, -400.0), (600.0, -400.0), (600.0, 400.0), (300.0, 400.0),
                    (300.0, -100.0), (-300.0, -100.0), (-300.0, 400.0), (-600.0, 400.0)])
CIRCLE_BAND = (0.0, 300.0)
POLYGON_BAND = (50.0, 400.0)
ZONE_SCENARIOS = ("intrusion", "skirt", "birdzone", "hover")


def geodetic(east_m, north_m):
    lat, lon, _ = pymap3d.enu2geodetic(east_m, north_m, 0.0, *ORIGIN)
    return float(lat), float(lon)


def synthetic_site():
    lat, lon = geodetic(*ASSET_ENU)
    polygon = tuple(geodetic(*(ASSET_ENU + corner)) for corner in U_SHAPE)
    zones = (ZoneConfig(level="alert", floor_m=CIRCLE_BAND[0], ceiling_m=CIRCLE_BAND[1],
                        radius_m=RADIUS_M),
             ZoneConfig(level="critical", floor_m=POLYGON_BAND[0], ceiling_m=POLYGON_BAND[1],
                        polygon=polygon))
    radar = RadarConfig(id=1, lat_deg=31.31, lon_deg=120.60, alt_m=25.0, sigma_range_m=7.5,
                        sigma_azimuth_deg=0.4, sigma_elevation_deg=0.8, scan_period_s=1.0,
                        max_range_m=8000.0)
    return SiteConfig(origin=Origin(*ORIGIN), radars=(radar,),
                      assets=(AssetConfig(id="test-asset", lat_deg=lat, lon_deg=lon,
                                          zones=zones),))


def reference_zones(site):
    """Per zone: (kind, centre or vertices in site ENU, floor_up, ceiling_up), by pymap3d."""
    zones = []
    for asset in site.assets:
        e, n, u = pymap3d.geodetic2enu(asset.lat_deg, asset.lon_deg, asset.alt_m, *ORIGIN)
        for zone in asset.zones:
            band = (u + zone.floor_m, u + zone.ceiling_m)
            if zone.radius_m is not None:
                zones.append(("circle", (np.array([e, n]), zone.radius_m), band))
            else:
                lat, lon = np.array(zone.polygon).T
                ve, vn, _ = pymap3d.geodetic2enu(lat, lon, np.full(lat.shape, asset.alt_m),
                                                 *ORIGIN)
                zones.append(("polygon", np.column_stack([ve, vn]), band))
    return zones


def winding_number(vertices, east, north):
    """Sum of the angles the polygon's edges subtend at each point, / 2 pi."""
    total = np.zeros(east.shape)
    for k in range(len(vertices)):
        a = vertices[k]
        b = vertices[(k + 1) % len(vertices)]
        angle_a = np.arctan2(a[1] - north, a[0] - east)
        angle_b = np.arctan2(b[1] - north, b[0] - east)
        total += (angle_b - angle_a + np.pi) % (2.0 * np.pi) - np.pi
    return np.rint(total / (2.0 * np.pi))


def reference_inside(zone, p):
    kind, shape, (floor, ceiling) = zone
    band = (p[:, 2] >= floor) & (p[:, 2] <= ceiling)
    if kind == "circle":
        centre, radius = shape
        return band & (np.hypot(p[:, 0] - centre[0], p[:, 1] - centre[1]) <= radius)
    return band & (winding_number(shape, p[:, 0], p[:, 1]) != 0)


def reference_distance(zone, p):
    kind, shape, _ = zone
    if kind == "circle":
        centre, radius = shape
        return np.hypot(p[:, 0] - centre[0], p[:, 1] - centre[1]) - radius
    best = np.full(p.shape[0], np.inf)
    for k in range(len(shape)):
        a, b = shape[k], shape[(k + 1) % len(shape)]
        s = np.clip((p[:, :2] - a) @ (b - a) / np.dot(b - a, b - a), 0.0, 1.0)
        best = np.minimum(best, np.linalg.norm(p[:, :2] - a - s[:, None] * (b - a), axis=1))
    inside = winding_number(shape, p[:, 0], p[:, 1]) != 0
    return np.where(inside, -best, best)


def dense_path(rows, step_s=1e-3):
    """The straight-line path through a target's truth rows every ``step_s``."""
    t = np.arange(rows["time_s"][0], rows["time_s"][-1] + 0.5 * step_s, step_s)
    p = np.column_stack([np.interp(t, rows["time_s"], rows[axis])
                         for axis in ("east_m", "north_m", "up_m")])
    return t, p


def reference_visits(t, inside):
    """(entry_s, exit_s) of each run of ``inside`` on a dense grid: the first
    sample in and the first sample out (NaN when still in at the end; the
    first sample's time when in from the start)."""
    times = list(t[np.flatnonzero(inside[1:] != inside[:-1]) + 1])
    if inside[0]:
        times.insert(0, t[0])
    if len(times) % 2:
        times.append(math.nan)
    return list(zip(times[0::2], times[1::2]))


def make_truth(paths):
    """TRUTH_DTYPE rows of targets given as {target_id: (t, position (n, 3))}."""
    parts = []
    for target_id, (t, p) in paths.items():
        rows = np.zeros(t.shape[0], dtype=TRUTH_DTYPE)
        rows["time_s"] = t
        rows["target_id"] = target_id
        rows["east_m"], rows["north_m"], rows["up_m"] = np.asarray(p, dtype=float).T
        rows["kind"] = "drone"
        parts.append(rows)
    truth = np.concatenate(parts)
    return truth[np.lexsort((truth["target_id"], truth["time_s"]))]


def line(start, velocity, duration_s, period_s):
    t = np.arange(0.0, duration_s + 1e-9, period_s)
    return t, np.asarray(start) + np.outer(t, velocity)


def events_of(events, target_id, zone_index):
    mine = events[(events["target_id"] == target_id) & (events["zone_index"] == zone_index)]
    assert np.array_equal(mine["entry_index"], np.arange(mine.size))
    return [(float(a), float(b)) for a, b in zip(mine["entry_time_s"], mine["exit_time_s"])]


def assert_visits_match(found, expected, atol=2.5e-3):
    assert len(found) == len(expected), (found, expected)
    for (entry, exit_), (entry_ref, exit_ref) in zip(found, expected):
        assert entry == pytest.approx(entry_ref, abs=atol)
        if math.isnan(exit_ref):
            assert math.isnan(exit_)
        else:
            assert exit_ == pytest.approx(exit_ref, abs=atol)


# --------------------------------------------------------------------------
# Zone geometry
# --------------------------------------------------------------------------

def test_zone_geometry_matches_pymap3d():
    site = synthetic_site()
    zones = zone_geometry(site)
    assert [(z["asset_id"], z["zone_index"], z["level"], z["kind"]) for z in zones] == [
        ("test-asset", 0, "alert", "circle"), ("test-asset", 1, "critical", "polygon")]
    reference = reference_zones(site)
    circle, polygon = zones
    assert np.allclose(circle["centre_m"], reference[0][1][0], atol=1e-4)
    assert circle["radius_m"] == RADIUS_M and circle["vertices_m"] is None
    assert polygon["radius_m"] is None
    assert np.allclose(polygon["vertices_m"], reference[1][1], atol=1e-4)
    assert np.allclose(polygon["vertices_m"] - ASSET_ENU, U_SHAPE, atol=0.02)
    for zone, ref in zip(zones, reference):
        assert zone["floor_up_m"] == pytest.approx(ref[2][0], abs=1e-4)
        assert zone["ceiling_up_m"] == pytest.approx(ref[2][1], abs=1e-4)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_contains_and_signed_distance_match_references(seed):
    rng = np.random.default_rng(seed)
    site = synthetic_site()
    p = np.column_stack([rng.uniform(-1300, 1300, (40, 2)) + ASSET_ENU, rng.uniform(-50, 500, 40)])
    for zone, ref in zip(zone_geometry(site), reference_zones(site)):
        assert np.array_equal(zone_contains(zone, p[:, 0], p[:, 1], p[:, 2]),
                              reference_inside(ref, p))
        assert np.allclose(zone_signed_distance(zone, p[:, 0], p[:, 1]),
                           reference_distance(ref, p), atol=1e-3)


# --------------------------------------------------------------------------
# Zone events against closed forms and a dense reference
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def synthetic():
    """Four targets over the synthetic zones (asset-relative, then shifted)."""
    a = ASSET_ENU
    paths = {
        # 1: east along north = +300 at 150 m, 25 m/s, through the circle
        #    and both arms of the U.
        1: line([a[0] - 1500.0, a[1] + 300.0, 150.0], [25.0, 0.0, 0.0], 120.0, 0.2),
        # 2: the same line 450 m up: above both ceilings.
        2: line([a[0] - 1500.0, a[1] + 300.0, 450.0], [25.0, 0.0, 0.0], 120.0, 0.2),
        # 3: over the U's base (north -250), climbing 5 m/s from 100 m,
        #    samples 1 s apart: in both zones from the start, leaves the
        #    circle through its 300 m ceiling at t = 40 s and the U through
        #    its 400 m ceiling at t = 60 s.
        3: line([a[0] - 200.0, a[1] - 250.0, 100.0], [2.0, 0.0, 5.0], 70.0, 1.0),
        # 4: over the U's base descending 4 m/s from 500 m: enters the U
        #    through its ceiling at t = 25 s and the circle at t = 50 s.
        4: line([a[0] + 100.0, a[1] - 250.0, 500.0], [-3.0, 0.0, -4.0], 60.0, 1.0),
    }
    truth = make_truth(paths)
    return truth, synthetic_site(), truth_zone_events(truth, synthetic_site())


def test_events_of_lines_match_closed_forms(synthetic):
    truth, site, events = synthetic
    assert events.dtype == ZONE_EVENT_DTYPE
    # Target 1: circle from x = -sqrt(1000^2 - 300^2) to +sqrt(...), x = -1500 + 25 t.
    half_chord = math.sqrt(RADIUS_M ** 2 - 300.0 ** 2)
    assert_visits_match(events_of(events, 1, 0),
                        [((1500.0 - half_chord) / 25.0, (1500.0 + half_chord) / 25.0)])
    # The U's arms: x in [-600, -300] and [300, 600].
    assert_visits_match(events_of(events, 1, 1), [(36.0, 48.0), (72.0, 84.0)], atol=0.01)
    assert list(events["level"][(events["target_id"] == 1)]) == ["alert", "critical", "critical"]
    # Target 2 flies above both ceilings.
    assert not np.any(events["target_id"] == 2)
    # Target 3: in both from the start, out through the ceilings.
    assert_visits_match(events_of(events, 3, 0), [(0.0, 40.0)])
    assert_visits_match(events_of(events, 3, 1), [(0.0, 60.0)])
    assert events["at_start"][events["target_id"] == 3].all()
    # Target 4: in through the ceilings.
    assert_visits_match(events_of(events, 4, 1), [(25.0, math.nan)])
    assert_visits_match(events_of(events, 4, 0), [(50.0, math.nan)])
    assert not events["at_start"][events["target_id"] == 4].any()


def test_events_match_dense_reference(synthetic):
    truth, site, events = synthetic
    reference = reference_zones(site)
    for target_id in (1, 2, 3, 4):
        rows = truth[truth["target_id"] == target_id]
        t, p = dense_path(rows)
        for zone_index, zone in enumerate(reference):
            expected = reference_visits(t, reference_inside(zone, p))
            assert_visits_match(events_of(events, target_id, zone_index), expected)


@st.composite
def paths(draw):
    """2-12 truth samples 0.2-3 s apart: a start within 1400 m of the asset
    and 0-500 m up, then constant-velocity steps of up to 60 m/s
    horizontally and 15 m/s vertically."""
    n = draw(st.integers(2, 12))
    gaps = np.array(draw(st.lists(st.floats(0.2, 3.0), min_size=n - 1, max_size=n - 1)))
    start = draw(st.tuples(st.floats(-1400, 1400), st.floats(-1400, 1400), st.floats(0, 500)))
    velocity = np.array(draw(st.lists(st.tuples(st.floats(-60, 60), st.floats(-60, 60),
                                                st.floats(-15, 15)),
                                      min_size=n - 1, max_size=n - 1))).reshape(n - 1, 3)
    t = np.concatenate([[0.0], np.cumsum(gaps)])
    p = np.vstack([start, start + np.cumsum(velocity * gaps[:, None], axis=0)])
    return t, p + np.array([ASSET_ENU[0], ASSET_ENU[1], 0.0])


@settings(max_examples=60, deadline=None)
@given(path=paths())
def test_random_paths_match_dense_reference(path):
    t_rows, p_rows = path
    truth = make_truth({7: (t_rows, p_rows)})
    site = synthetic_site()
    t, p = dense_path(truth)
    expected = []
    for zone in reference_zones(site):
        inside = reference_inside(zone, p)
        change = np.flatnonzero(inside[1:] != inside[:-1])
        # Visits or gaps shorter than the sampling resolution may be missed.
        assume(change.size < 2 or np.diff(t[change]).min() > 0.12)
        expected.append(reference_visits(t, inside))
    events = truth_zone_events(truth, site)
    for zone_index, visits in enumerate(expected):
        assert_visits_match(events_of(events, 7, zone_index), visits)
    # Minimum distances: both sample the same path every millisecond or less.
    distance = truth_min_distance(truth, site, resolution_s=1e-3)
    slack = 1e-3 * (np.linalg.norm(np.diff(p_rows, axis=0), axis=1) / np.diff(t_rows)).max() + 1e-6
    for zone_index, zone in enumerate(reference_zones(site)):
        band = (p[:, 2] >= zone[2][0]) & (p[:, 2] <= zone[2][1])
        key = (7, "test-asset", zone_index)
        if not band.any():
            assert distance[key] == math.inf
        else:
            assert distance[key] == pytest.approx(reference_distance(zone, p[band]).min(),
                                                  abs=slack)


def test_min_distance_of_lines(synthetic):
    truth, site, _ = synthetic
    distance = truth_min_distance(truth, site)
    # Target 1 passes 300 m from the asset: 700 m inside the circle; over the
    # U it is inside an arm, 100 m from the arm's north end and 150 m from
    # its sides.
    assert distance[(1, "test-asset", 0)] == pytest.approx(300.0 - RADIUS_M, abs=0.05)
    assert distance[(1, "test-asset", 1)] == pytest.approx(-100.0, abs=0.05)
    assert distance[(2, "test-asset", 0)] == math.inf
    assert distance[(2, "test-asset", 1)] == math.inf


def test_argument_errors(synthetic):
    truth, site, _ = synthetic
    with pytest.raises(TypeError, match="structured array"):
        truth_zone_events(np.zeros(3), site)
    with pytest.raises(ValueError, match="up_m"):
        truth_zone_events(truth[["time_s", "target_id", "east_m", "north_m"]], site)
    bad = truth.copy()
    bad["north_m"][5] = np.nan
    with pytest.raises(ValueError, match="north_m"):
        truth_min_distance(bad, site)
    with pytest.raises(ValueError, match="resolution_s"):
        truth_zone_events(truth, site, resolution_s=0.0)
    with pytest.raises(ValueError, match="tolerance_s"):
        truth_zone_events(truth, site, tolerance_s=-1.0)


# --------------------------------------------------------------------------
# Zone scenarios
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scenario():
    """Full-length zone scenarios with their zone events and minimum distances."""
    store = {}

    def get(name, seed):
        if (name, seed) not in store:
            result = simulate(name, seed=seed)
            store[name, seed] = (result, truth_zone_events(result.truth, result.site),
                                 truth_min_distance(result.truth, result.site))
        return store[name, seed]
    return get


def asset_enu(site, asset_id):
    asset = next(a for a in site.assets if a.id == asset_id)
    return np.array(pymap3d.geodetic2enu(asset.lat_deg, asset.lon_deg, asset.alt_m, *ORIGIN))


def levels_entered(events, target_id, asset_id):
    mine = events[(events["target_id"] == target_id) & (events["asset_id"] == asset_id)]
    return set(mine["level"].tolist())


def rows_of(truth, target_id):
    return truth[truth["target_id"] == target_id]


def test_scenarios_registered():
    assert SCENARIOS[:5] == ("sparse", "crossing", "swarm", "birds", "large")
    assert SCENARIOS[5:9] == ZONE_SCENARIOS
    with pytest.raises(ValueError, match="fixed set of 6"):
        simulate("skirt", n_targets=4)


@pytest.mark.parametrize("name", ZONE_SCENARIOS)
def test_zone_scenarios_are_deterministic(name):
    a = simulate(name, seed=5, duration_s=40.0)
    b = simulate(name, seed=5, duration_s=40.0)
    c = simulate(name, seed=6, duration_s=40.0)
    assert a.plots.tobytes() == b.plots.tobytes()
    assert a.truth.tobytes() == b.truth.tobytes()
    assert a.info["roles"] == b.info["roles"]
    assert a.truth.dtype == TRUTH_DTYPE
    assert (a.truth.size != c.truth.size
            or not np.array_equal(a.truth["east_m"], c.truth["east_m"]))
    assert set(a.info["roles"]) == set(range(1, a.info["n_targets"] + 1))
    assert a.info["n_clutter_plots"] > 0
    assert any(r.sigma_radial_velocity_mps is not None for r in a.site.radars)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_intrusion_roles(scenario, seed):
    result, events, distance = scenario("intrusion", seed)
    info, truth, site = result.info, result.truth, result.site
    roles, role_asset = info["roles"], info["role_asset"]
    assert [a.id for a in site.assets] == ["plant-1", "substation-2"]
    assert 7 <= info["n_targets"] <= 10 and info["duration_s"] == 400.0
    assert set(info["kind"].values()) == {"drone"}
    counts = {role: list(roles.values()).count(role) for role in set(roles.values())}
    assert 1 <= counts["turns_back"] <= 2 and counts["enters_alert"] >= 1
    assert counts["enters_critical"] >= 2
    plant = asset_enu(site, "plant-1")
    for target_id, role in roles.items():
        rows = rows_of(truth, target_id)
        speed = np.hypot(rows["v_east_mps"], rows["v_north_mps"])
        assert np.all((speed > 10.0) & (speed < 20.0 + 1e-9))
        assert np.all((rows["up_m"] > 50.0) & (rows["up_m"] < 300.0))
        asset = role_asset[target_id]
        entered = levels_entered(events, target_id, asset)
        mine = events[(events["target_id"] == target_id) & (events["asset_id"] == asset)]
        assert not mine["at_start"].any()
        if asset == "plant-1":
            start = math.hypot(rows["east_m"][0] - plant[0], rows["north_m"][0] - plant[1])
            assert 7000.0 <= start <= 9000.0
        if role == "enters_critical":
            assert entered == {"warning", "alert", "critical"}
        elif role == "enters_alert":
            assert entered == {"warning", "alert"}
        else:
            assert role == "turns_back" and entered == {"warning"}
            away = np.hypot(rows["east_m"] - plant[0], rows["north_m"] - plant[1])
            assert away[-1] > away.min() + 500.0
            assert distance[target_id, "plant-1", 1] > 500.0


@pytest.mark.parametrize("seed", [0, 1])
def test_skirt_roles(scenario, seed):
    result, events, distance = scenario("skirt", seed)
    roles = result.info["roles"]
    assert sorted(roles.values()) == ["far", "skimmer", "skirt_alert", "skirt_alert",
                                      "skirt_warning", "skirt_warning"]
    for target_id, role in roles.items():
        entered = levels_entered(events, target_id, "plant-1")
        if role == "skirt_warning":
            assert entered == set()
            assert 300.0 <= distance[target_id, "plant-1", 0] <= 800.0
        elif role == "skirt_alert":
            assert entered == {"warning"}
            assert 300.0 <= distance[target_id, "plant-1", 1] <= 800.0
        elif role == "far":
            assert entered == set()
            assert min(distance[target_id, "plant-1", k] for k in range(3)) >= 1500.0
        else:
            assert result.info["skimmer"]["target_id"] == target_id
            visits = events[(events["target_id"] == target_id) & (events["level"] == "alert")]
            assert visits.size >= 4 and "critical" not in entered
            # In and out every 20-40 s, a few tens of metres either side.
            entry, exit_ = visits["entry_time_s"], visits["exit_time_s"]
            whole = ~np.isnan(exit_) & ~visits["at_start"]
            assert np.all((exit_[whole] - entry[whole] > 20.0)
                          & (exit_[whole] - entry[whole] < 40.0))
            gaps = entry[1:] - exit_[:-1]
            assert np.all((gaps > 20.0) & (gaps < 40.0))
            rows = rows_of(result.truth, target_id)
            zone = zone_geometry(result.site)[1]
            d = zone_signed_distance(zone, rows["east_m"], rows["north_m"])
            assert -60.0 < d.min() < -20.0 and 20.0 < d.max() < 60.0


@pytest.mark.parametrize("seed", [0, 1])
def test_hover_roles(scenario, seed):
    result, events, _ = scenario("hover", seed)
    info = result.info
    zones = {(z["asset_id"], z["zone_index"]): z for z in zone_geometry(result.site)}
    assert sorted(info["roles"].values()) == ["hover_inside_warning", "hover_outside_alert",
                                              "hover_outside_critical"]
    for target_id, role in info["roles"].items():
        hover = info["hover"][target_id]
        rows = rows_of(result.truth, target_id)
        held = rows[(rows["time_s"] >= hover["start_s"]) & (rows["time_s"] <= hover["end_s"])]
        assert hover["end_s"] - hover["start_s"] >= (200.0 if role == "hover_outside_alert"
                                                     else 150.0)
        zone = zones[hover["asset_id"], hover["zone_index"]]
        d = zone_signed_distance(zone, held["east_m"], held["north_m"])
        low, high = hover["distance_m"]
        assert low <= d.min() and d.max() <= high
        assert np.hypot(held["v_east_mps"], held["v_north_mps"]).max() < 1.5
        entered = levels_entered(events, target_id, "plant-1")
        if role == "hover_outside_alert":
            assert entered == {"warning"}
        elif role == "hover_inside_warning":
            assert entered == {"warning"}
            assert zone_signed_distance(zones["plant-1", 1], held["east_m"],
                                        held["north_m"]).min() > 0.0
        else:
            assert entered == {"warning", "alert"}


def test_birdzone_roles(scenario):
    result, events, _ = scenario("birdzone", 0)
    info = result.info
    roles = info["roles"]
    n_singles = list(roles.values()).count("single_bird")
    assert 10 <= len(info["flocks"]) + n_singles <= 20 and info["duration_s"] == 600.0
    assert all(3 <= len(ids) <= 12 for ids in info["flocks"])
    drones = [i for i, role in roles.items() if role == "enters_alert"]
    assert len(drones) == 3 and all(info["kind"][i] == "drone" for i in drones)
    for target_id, role in roles.items():
        entered = levels_entered(events, target_id, "plant-1")
        if role == "enters_alert":
            assert {"alert"} <= entered and "critical" not in entered
        elif role == "flock_circling_critical":
            assert entered == {"warning", "alert", "critical"}
        elif role == "flock_circling_alert":
            assert entered == {"warning", "alert"}
        else:
            assert info["kind"][target_id] == "bird"
    birds = events[np.isin(events["target_id"], [i for i in roles if info["kind"][i] == "bird"])]
    assert {"alert", "critical"} <= set(birds["level"].tolist())
    assert info["n_clutter_plots"] > info["n_target_plots"] // 4


def test_files_round_trip(scenario, tmp_path):
    result, events, _ = scenario("intrusion", 0)
    paths = write_scenario(result, tmp_path / "intrusion")
    site = load_site(paths["site.toml"])
    assert site == result.site
    truth = read_truth_csv(paths["truth.csv"])
    again = truth_zone_events(truth, site)
    assert np.array_equal(again[["target_id", "asset_id", "zone_index", "entry_index"]],
                          events[["target_id", "asset_id", "zone_index", "entry_index"]])
    assert np.allclose(again["entry_time_s"], events["entry_time_s"], atol=2e-3)


def test_cli_writes_zone_scenario(tmp_path, capsys):
    top = argparse.ArgumentParser(prog="radarcore")
    add_parser(top.add_subparsers(dest="command"))
    args = top.parse_args(["simulate", "hover", "--out", str(tmp_path), "--duration", "20"])
    assert args.func(args) == 0
    assert "3 targets" in capsys.readouterr().out
    assert load_site(tmp_path / "site.toml").assets[0].id == "plant-1"
