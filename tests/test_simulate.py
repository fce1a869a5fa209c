"""Tests of the scenario simulator (radarcore.sim.simulate, radarcore.sim).

References independent of the simulator: truth positions at a plot time come
from SciPy's CubicHermiteSpline over the truth rows; polar coordinates seen by
a radar come from pymap3d (ENU -> geodetic -> AER); the Hermite kernel is
checked against SciPy too; clutter statistics against Poisson and uniform laws.
"""
import argparse
import dataclasses
import math

import numpy as np
import pymap3d
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats
from scipy.interpolate import CubicHermiteSpline

from ingest.csvio import read_plots_csv, read_truth_csv
from ingest.schema import PLOT_DTYPE, TRUTH_DTYPE
from kernels.geodesy import polar_to_enu, radar_frame
from radarcore.core.config import load_site
from radarcore.sim import trajectories as traj_module
from radarcore.sim.sensors import clutter_volume_m3
from radarcore.sim.trajectories import Trajectories, hermite_state, leg_motion, bird_motion, straight_motion
from radarcore.sim.simulate import (
    SCENARIOS, Scenario, add_parser, observe, run, simulate, write_scenario)

SHORT_S = {"sparse": 40.0, "crossing": 180.0, "swarm": 40.0, "birds": 20.0}


@pytest.fixture(scope="module")
def cache():
    """Scenarios shared by several tests (module scope keeps the suite fast)."""
    store = {}

    def get(name, **kwargs):
        key = (name, tuple(sorted(kwargs.items())))
        if key not in store:
            if isinstance(kwargs.get("bias"), tuple):
                kwargs["bias"] = dict(kwargs["bias"])
            store[key] = simulate(name, **kwargs)
        return store[key]
    return get


# --------------------------------------------------------------------------
# Independent references
# --------------------------------------------------------------------------

def truth_at(truth, target_id, t_s):
    """Truth position and velocity (n, 3) at plot times, by SciPy cubic Hermite."""
    position = np.empty((t_s.shape[0], 3))
    velocity = np.empty((t_s.shape[0], 3))
    for target in np.unique(target_id):
        rows = truth[truth["target_id"] == target]
        p = np.column_stack([rows["east_m"], rows["north_m"], rows["up_m"]])
        v = np.column_stack([rows["v_east_mps"], rows["v_north_mps"], rows["v_up_mps"]])
        spline = CubicHermiteSpline(rows["time_s"], p, v)
        mask = target_id == target
        position[mask] = spline(t_s[mask])
        velocity[mask] = spline(t_s[mask], 1)
    return position, velocity


def aer_from_radar(site, radar, enu):
    """(range_m, azimuth_deg, elevation_deg) of site-ENU points, by pymap3d."""
    o = site.origin
    lat, lon, alt = pymap3d.enu2geodetic(enu[:, 0], enu[:, 1], enu[:, 2],
                                         o.lat_deg, o.lon_deg, o.alt_m)
    azimuth, elevation, slant = pymap3d.geodetic2aer(lat, lon, alt, radar.lat_deg,
                                                     radar.lon_deg, radar.alt_m)
    return np.asarray(slant), np.asarray(azimuth) % 360.0, np.asarray(elevation)


def radar_position_enu(site, radar):
    o = site.origin
    return np.array(pymap3d.geodetic2enu(radar.lat_deg, radar.lon_deg, radar.alt_m,
                                         o.lat_deg, o.lon_deg, o.alt_m))


def wrap180(angle):
    return (np.asarray(angle) + 180.0) % 360.0 - 180.0


def noise_free_site(site):
    """Sigmas near zero, certain detection, no clutter."""
    radars = tuple(dataclasses.replace(
        r, sigma_range_m=1e-9, sigma_azimuth_deg=1e-9, sigma_elevation_deg=1e-9,
        sigma_radial_velocity_mps=None if r.sigma_radial_velocity_mps is None else 1e-9,
        p_detection=1.0, false_alarm_density=0.0) for r in site.radars)
    return dataclasses.replace(site, radars=radars)


# --------------------------------------------------------------------------
# API, determinism, ordering
# --------------------------------------------------------------------------

def test_scenario_names():
    assert SCENARIOS == ("sparse", "crossing", "swarm", "birds", "large",
                         "intrusion", "skirt", "birdzone", "hover",
                         "birdrich", "birdmix", "birdlarge")


def test_unknown_scenario_lists_names():
    with pytest.raises(ValueError, match="sparse, crossing, swarm, birds, large"):
        simulate("nope")


@pytest.mark.parametrize("kwargs, message", [
    ({"duration_s": -1.0}, "duration_s"),
    ({"duration_s": float("nan")}, "duration_s"),
    ({"n_targets": 2.5}, "n_targets"),
    ({"n_targets": 1}, "at least 3"),
    ({"bias": {9: (1.0, 0.1)}}, "unknown radar id 9"),
    ({"bias": {1: (1.0,)}}, "pair"),
])
def test_bad_arguments(kwargs, message):
    kwargs = {"duration_s": 2.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        simulate("sparse", **kwargs)


def test_same_seed_same_arrays_and_other_seed_differs():
    a = simulate("sparse", seed=7, duration_s=30.0)
    b = simulate("sparse", seed=7, duration_s=30.0)
    c = simulate("sparse", seed=8, duration_s=30.0)
    assert a.plots.tobytes() == b.plots.tobytes()
    assert a.truth.tobytes() == b.truth.tobytes()
    assert np.array_equal(a.info["plot_target_id"], b.info["plot_target_id"])
    assert a.truth.shape == c.truth.shape
    assert not np.array_equal(a.truth["east_m"], c.truth["east_m"])
    assert a.plots.tobytes() != c.plots.tobytes()


@pytest.mark.parametrize("name", ["sparse", "crossing", "swarm", "birds"])
def test_layout_and_order(cache, name):
    scenario = cache(name, seed=1, duration_s=SHORT_S[name])
    plots, truth, info = scenario.plots, scenario.truth, scenario.info
    assert isinstance(scenario, Scenario)
    assert plots.dtype == PLOT_DTYPE and truth.dtype == TRUTH_DTYPE
    assert np.all(np.diff(plots["time_s"]) >= 0.0)
    assert plots["time_s"].min() >= 0.0 and plots["time_s"].max() <= info["duration_s"]
    # Truth: every target at every truth epoch, sorted by time then target_id.
    n = info["n_targets"]
    epochs = np.arange(round(info["duration_s"] / 0.2) + 1) * 0.2
    assert np.allclose(truth["time_s"], np.repeat(epochs, n), atol=1e-9)
    assert np.array_equal(truth["target_id"], np.tile(np.arange(1, n + 1), epochs.size))
    kinds = {int(i): str(k) for i, k in zip(truth["target_id"][:n], truth["kind"][:n])}
    assert kinds == info["kind"]
    # Radars interleave; per-plot target ids and counts agree.
    assert set(np.unique(plots["radar_id"])) == set(scenario.site.radar_ids)
    owner = info["plot_target_id"]
    assert owner.shape == plots.shape
    assert info["n_clutter_plots"] == np.count_nonzero(owner == 0)
    assert info["n_target_plots"] + info["n_clutter_plots"] == plots.size
    assert set(np.unique(owner[owner > 0])) <= set(range(1, n + 1))
    # Doppler only where the radar gives it.
    for radar in scenario.site.radars:
        rv = plots["radial_velocity_mps"][plots["radar_id"] == radar.id]
        assert np.isnan(rv).all() == (radar.sigma_radial_velocity_mps is None)
        assert not np.isnan(rv).any() or radar.sigma_radial_velocity_mps is None


def test_site_contents(cache):
    site = cache("sparse", seed=1, duration_s=SHORT_S["sparse"]).site
    assert (site.origin.lat_deg, site.origin.lon_deg, site.origin.alt_m) == (31.30, 120.62, 0.0)
    (asset,) = site.assets
    assert asset.id == "plant-1"
    east, north, _ = pymap3d.geodetic2enu(asset.lat_deg, asset.lon_deg, 0.0, 31.30, 120.62, 0.0)
    assert math.hypot(east, north) < 1000.0
    zones = {zone.level: zone for zone in asset.zones}
    assert (zones["warning"].radius_m, zones["warning"].ceiling_m) == (6000.0, 1500.0)
    assert (zones["alert"].radius_m, zones["alert"].ceiling_m) == (3000.0, 1000.0)
    assert zones["critical"].ceiling_m == 500.0 and len(zones["critical"].polygon) >= 3
    lat, lon = np.array(zones["critical"].polygon).T
    e, n, _ = pymap3d.geodetic2enu(lat, lon, 0.0, asset.lat_deg, asset.lon_deg, 0.0)
    assert 300.0 < np.hypot(e, n).min() and np.hypot(e, n).max() < 800.0
    for radar in site.radars:
        e, n, _ = radar_position_enu(site, radar)
        assert 1000.0 < math.hypot(e, n) < 6000.0
        assert 8000.0 <= radar.max_range_m <= 10000.0
    assert site.tracker == type(site.tracker)()


# --------------------------------------------------------------------------
# Geometry and timing of target plots
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sparse", "crossing", "swarm", "birds"])
def test_noise_free_plots_convert_back_to_truth(cache, name):
    scenario = cache(name, seed=2, duration_s=SHORT_S[name])
    site = noise_free_site(scenario.site)
    plots, owner, radars = observe(site, scenario.trajectories, seed=5)
    assert np.all(owner > 0)                      # no clutter
    truth_position, truth_velocity = truth_at(scenario.truth, owner, plots["time_s"])
    index = {radar.id: k for k, radar in enumerate(site.radars)}
    frames = [radar_frame(r.lat_deg, r.lon_deg, r.alt_m, 31.30, 120.62, 0.0) for r in site.radars]
    M = np.stack([f[0] for f in frames])
    b = np.stack([f[1] for f in frames])
    radar_index = np.array([index[r] for r in plots["radar_id"]], dtype=np.int64)
    enu = np.empty((plots.size, 3))
    polar_to_enu(plots["range_m"], plots["azimuth_deg"], plots["elevation_deg"], radar_index,
                 M, b, np.zeros((len(site.radars), 3)), enu, np.empty((plots.size, 3, 3)))
    error = np.linalg.norm(enu - truth_position, axis=1)
    assert error.max() < 0.01, f"worst plot is {error.max():.4f} m from the truth"

    for radar in site.radars:
        mine = plots["radar_id"] == radar.id
        # Independent polar reference and coverage.
        slant, azimuth, elevation = aer_from_radar(site, radar, truth_position[mine])
        assert np.allclose(plots["range_m"][mine], slant, atol=0.01)
        assert np.abs(wrap180(plots["azimuth_deg"][mine] - azimuth)).max() < 2e-5
        assert np.abs(plots["elevation_deg"][mine] - elevation).max() < 2e-5
        assert np.all((slant >= 149.9) & (slant <= radar.max_range_m + 0.1))
        assert np.all((elevation >= -1.0001) & (elevation <= 60.0001))
        # Radial velocity is the projection of the truth velocity.
        if radar.sigma_radial_velocity_mps is not None:
            line = truth_position[mine] - radar_position_enu(site, radar)
            expected = np.sum(line * truth_velocity[mine], axis=1) / np.linalg.norm(line, axis=1)
            assert np.allclose(plots["radial_velocity_mps"][mine], expected, atol=5e-3)
        # Timing: rotating plots when the beam passes, staring at update + jitter.
        t = plots["time_s"][mine]
        timing = radars[radar.id]
        period = radar.scan_period_s
        if radar.mode == "rotating":
            beam_rate = 360.0 / period
            beam = timing["start_azimuth_deg"] + beam_rate * t
            lag_s = np.abs(wrap180(azimuth - beam)) / beam_rate
            assert lag_s.max() < 0.003
            scan = np.floor(t / period)
            # One plot per target per scan at most.
            keys = np.column_stack([owner[mine], scan])
            assert np.unique(keys, axis=0).shape[0] == keys.shape[0]
        else:
            since_update = (t - timing["phase_s"]) % period
            assert since_update.max() < 0.0101


def test_p_detection_one_sees_every_covered_look(cache):
    """With p_detection 1 every target in coverage is seen in (almost) every scan."""
    scenario = cache("sparse", seed=2, duration_s=SHORT_S["sparse"])
    site = noise_free_site(scenario.site)
    plots, owner, radars = observe(site, scenario.trajectories, seed=5)
    for radar in site.radars:
        mine = plots["radar_id"] == radar.id
        n_scans = radars[radar.id]["n_scans"]
        # Targets seen at the middle of the run are covered all along for a few scans.
        for target in np.unique(owner[mine]):
            t = np.sort(plots["time_s"][mine & (owner == target)])
            gaps = np.diff(t)
            assert gaps.max() < 2.05 * radar.scan_period_s or t.size < n_scans // 2


# --------------------------------------------------------------------------
# Noise, bias, SNR
# --------------------------------------------------------------------------

def residuals(scenario):
    """Per radar: plot minus truth for range, azimuth, elevation, radial velocity."""
    plots, owner = scenario.plots, scenario.info["plot_target_id"]
    target = owner > 0
    position, velocity = truth_at(scenario.truth, owner[target], plots["time_s"][target])
    out = {}
    for radar in scenario.site.radars:
        mine = plots["radar_id"][target] == radar.id
        slant, azimuth, elevation = aer_from_radar(scenario.site, radar, position[mine])
        line = position[mine] - radar_position_enu(scenario.site, radar)
        rv = np.sum(line * velocity[mine], axis=1) / np.linalg.norm(line, axis=1)
        p = plots[target][mine]
        out[radar.id] = (p["range_m"] - slant, wrap180(p["azimuth_deg"] - azimuth),
                         p["elevation_deg"] - elevation, p["radial_velocity_mps"] - rv)
    return out


def test_noise_matches_configured_sigmas(cache):
    scenario = cache("crossing", seed=3)
    for radar_id, (dr, da, de, dv) in residuals(scenario).items():
        radar = scenario.site.radar_by_id(radar_id)
        assert dr.size > 1000
        for values, sigma in ((dr, radar.sigma_range_m), (da, radar.sigma_azimuth_deg),
                              (de, radar.sigma_elevation_deg),
                              (dv, radar.sigma_radial_velocity_mps)):
            assert abs(values.std() / sigma - 1.0) < 0.1
            assert abs(values.mean()) < 4.0 * sigma / math.sqrt(values.size)
        assert stats.normaltest(dr).pvalue > 1e-4


def test_staring_radar_noise_and_no_doppler_radar(cache):
    scenario = cache("swarm", seed=3, duration_s=60.0)
    res = residuals(scenario)
    staring = next(r for r in scenario.site.radars if r.mode == "staring")
    dr, da, de, dv = res[staring.id]
    assert dr.size > 1000
    assert abs(dr.std() / staring.sigma_range_m - 1.0) < 0.1
    assert abs(dv.std() / staring.sigma_radial_velocity_mps - 1.0) < 0.1
    plain = next(r for r in scenario.site.radars if r.sigma_radial_velocity_mps is None)
    assert np.isnan(res[plain.id][3]).all()


def test_bias_shifts_range_and_azimuth(cache):
    scenario = cache("crossing", seed=3, bias=((1, (12.0, 0.3)),))
    assert scenario.info["bias"] == {1: (12.0, 0.3), 2: (0.0, 0.0)}
    res = residuals(scenario)
    dr, da, de, _ = res[1]
    radar = scenario.site.radar_by_id(1)
    assert abs(dr.mean() - 12.0) < 4.0 * radar.sigma_range_m / math.sqrt(dr.size)
    assert abs(da.mean() - 0.3) < 4.0 * radar.sigma_azimuth_deg / math.sqrt(da.size)
    assert abs(de.mean()) < 4.0 * radar.sigma_elevation_deg / math.sqrt(de.size)
    assert abs(res[2][0].mean()) < 4.0 * 10.0 / math.sqrt(res[2][0].size)


def test_random_bias_is_small_and_seeded():
    a = simulate("sparse", seed=4, duration_s=2.0, bias=True).info["bias"]
    b = simulate("sparse", seed=4, duration_s=2.0, bias=True).info["bias"]
    c = simulate("sparse", seed=5, duration_s=2.0, bias=True).info["bias"]
    assert a == b and a != c
    for range_bias, azimuth_bias in a.values():
        assert abs(range_bias) <= 20.0 and abs(azimuth_bias) <= 0.5
        assert (range_bias, azimuth_bias) != (0.0, 0.0)


def test_drone_snr_is_15_db_at_5_km(cache):
    scenario = cache("crossing", seed=3)
    plots = scenario.plots[scenario.info["plot_target_id"] > 0]
    at_5_km = plots["snr_db"] + 40.0 * np.log10(plots["range_m"] / 5000.0)
    # RCS log-uniform in [0.01, 0.1] m^2: 10 log10 averages -15 dB, i.e. 15 dB at 5 km.
    assert abs(at_5_km.mean() - 15.0) < 1.5
    clutter = scenario.plots[scenario.info["plot_target_id"] == 0]
    assert clutter["snr_db"].min() >= 5.0 and np.median(clutter["snr_db"]) < 10.0


# --------------------------------------------------------------------------
# Clutter
# --------------------------------------------------------------------------

def test_clutter_is_poisson_and_uniform(cache):
    """Clutter alone, dense and long, so that a 1 % error in the mean would show."""
    base = cache("birds", seed=6, duration_s=SHORT_S["birds"]).site
    radars = tuple(dataclasses.replace(r, false_alarm_density=1e-9) for r in base.radars)
    site = dataclasses.replace(base, radars=radars)
    nobody = Trajectories(1.0, np.zeros((0, 601, 3)), np.zeros((0, 601, 3)), [], [])
    plots, owner, timings = observe(site, nobody, seed=11)
    assert np.all(owner == 0)
    for radar in site.radars:
        timing = timings[radar.id]
        period = radar.scan_period_s
        false_plots = plots[plots["radar_id"] == radar.id]
        mean = radar.false_alarm_density * math.pi * (radar.max_range_m ** 2 - 150.0 ** 2) * 1000.0
        assert mean == pytest.approx(timing["clutter_per_scan"])
        assert mean == pytest.approx(clutter_volume_m3(radar.max_range_m) * radar.false_alarm_density)
        n_scans = timing["n_scans"]
        assert n_scans == round(600.0 / period)
        scan = np.floor(false_plots["time_s"] / period).astype(int)
        counts = np.bincount(scan, minlength=n_scans)
        assert counts.size == n_scans
        total = counts.sum()
        assert abs(total - mean * n_scans) < 4.5 * math.sqrt(mean * n_scans)
        dispersion = ((counts - mean) ** 2 / mean).sum()
        assert stats.chi2.ppf(1e-4, n_scans) < dispersion < stats.chi2.ppf(1 - 1e-4, n_scans)
        # Uniform in ground area (ground range squared), height and azimuth.
        el = np.radians(false_plots["elevation_deg"])
        ground = false_plots["range_m"] * np.cos(el)
        height = false_plots["range_m"] * np.sin(el)
        assert stats.kstest(ground ** 2, stats.uniform(150.0 ** 2, radar.max_range_m ** 2
                                                        - 150.0 ** 2).cdf).pvalue > 1e-4
        assert stats.kstest(height, stats.uniform(0.0, 1000.0).cdf).pvalue > 1e-4
        assert stats.kstest(false_plots["azimuth_deg"], stats.uniform(0.0, 360.0).cdf).pvalue > 1e-4
        # Each false plot comes when the beam points at it.
        beam = timing["start_azimuth_deg"] + 360.0 * false_plots["time_s"] / period
        assert np.abs(wrap180(false_plots["azimuth_deg"] - beam)).max() < 1e-6
        rv = false_plots["radial_velocity_mps"]
        if radar.sigma_radial_velocity_mps is None:
            assert np.isnan(rv).all()
        else:
            slow = np.mean(np.abs(rv) < 4.5)   # 70 % N(0, 1.5) + 30 % U(-30, 30)
            expected = 0.7 * (1.0 - 2.0 * stats.norm.sf(3.0)) + 0.3 * 9.0 / 60.0
            assert abs(slow - expected) < 4.0 * math.sqrt(expected * (1 - expected) / rv.size)
            assert np.abs(rv).max() <= 30.0
            assert abs(np.mean(np.abs(rv) > 10.0) - 0.3 * 40.0 / 60.0) < 0.01


def test_heavy_clutter_in_birds_scenario(cache):
    scenario = cache("birds", seed=6, duration_s=SHORT_S["birds"])
    owner = scenario.info["plot_target_id"]
    for radar in scenario.site.radars:
        timing = scenario.info["radars"][radar.id]
        expected = 3e-10 * clutter_volume_m3(radar.max_range_m) * timing["n_scans"]
        found = np.count_nonzero((owner == 0) & (scenario.plots["radar_id"] == radar.id))
        assert abs(found - expected) < 4.5 * math.sqrt(expected)


def test_coverage_limits():
    """Targets built to overfly a radar, pass close by and fly out of range."""
    from radarcore.sim.trajectories import straight_motion
    site = noise_free_site(simulate("sparse", duration_s=2.0).site)
    radar = site.radars[0]
    radar_enu = radar_position_enu(site, radar)
    duration_s, step_s = 120.0, 0.05
    point = radar_enu + np.array([[0.0, 0.0, 300.0],      # overflight: elevation > 60 deg
                                  [0.0, 50.0, 20.0],       # close pass: range < 150 m
                                  [0.0, 0.0, 200.0]])      # straight out past max range
    point[2, 1] += radar.max_range_m - 1500.0
    velocity = np.array([[20.0, 0.0, 0.0], [0.0, 15.0, 0.0], [0.0, 25.0, 0.0]])
    crossing_time = np.array([60.0, 60.0, 60.0])
    targets = straight_motion(np.random.default_rng(0), point, crossing_time, velocity,
                              duration_s, step_s)
    plots, owner, timings = observe(dataclasses.replace(site, radars=(radar,)), targets, seed=1)
    period = radar.scan_period_s
    # Reference coverage on a fine time grid, from pymap3d.
    t = np.arange(0.0, duration_s + 1e-9, 0.05)
    for target in range(3):
        position = point[target] + velocity[target] * (t - crossing_time[target])[:, None]
        slant, _, elevation = aer_from_radar(site, radar, position)
        covered = (slant >= 150.0) & (slant <= radar.max_range_m) & (elevation >= -1.0) \
            & (elevation <= 60.0)
        assert covered.any() and not covered.all()
        mine = plots[owner == target + 1]
        seen = np.zeros(timings[radar.id]["n_scans"], dtype=bool)
        seen[np.floor(mine["time_s"] / period).astype(int)] = True
        per_scan = covered[:-1].reshape(-1, round(period / 0.05))
        # A scan wholly in coverage has its plot, a scan wholly out has none.
        assert np.all(seen[per_scan.all(axis=1)])
        assert not np.any(seen[~per_scan.any(axis=1)])
        assert np.all(mine["elevation_deg"] <= 60.0) and np.all(mine["range_m"] >= 150.0)
        assert np.all(mine["range_m"] <= radar.max_range_m)


def test_no_clutter_when_switched_off(cache):
    scenario = cache("sparse", seed=2, duration_s=SHORT_S["sparse"])
    with_clutter, owner_a, _ = observe(scenario.site, scenario.trajectories, seed=9)
    without, owner_b, _ = observe(scenario.site, scenario.trajectories, seed=9, clutter=False)
    assert np.all(owner_b > 0)
    # The target plots do not depend on the clutter draws.
    assert with_clutter[owner_a > 0].tobytes() == without.tobytes()


# --------------------------------------------------------------------------
# Scenario-specific targets
# --------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_crossing_pairs_cross(seed):
    scenario = simulate("crossing", seed=seed, duration_s=80.0, n_targets=30)
    crossings = scenario.info["crossings"]
    assert len(crossings) == 15
    assert {c["kind"] for c in crossings} == {"same_point", "altitude_separated", "crossing_angle"}
    for c in crossings:
        ids = np.array(c["target_ids"]) - 1
        times = np.array(c["time_s"])
        assert np.all((times > 0.0) & (times < scenario.info["duration_s"]))
        p, v = scenario.trajectories.state_at(ids, times)
        assert np.allclose(p[:, :2], [c["east_m"], c["north_m"]], atol=1e-6)
        cos_angle = np.dot(v[0, :2], v[1, :2]) / np.linalg.norm(v[0, :2]) / np.linalg.norm(v[1, :2])
        angle = math.degrees(math.acos(np.clip(cos_angle, -1.0, 1.0)))
        if c["kind"] == "same_point":
            assert times[1] - times[0] >= 10.0 and p[0, 2] == pytest.approx(p[1, 2])
        elif c["kind"] == "altitude_separated":
            assert times[0] == times[1] and abs(p[1, 2] - p[0, 2]) >= 80.0
        else:
            assert times[0] == times[1] and p[0, 2] == pytest.approx(p[1, 2])
            assert 60.0 <= angle <= 120.0 + 1e-6


def test_swarm_formation_approaches_asset(cache):
    scenario = cache("swarm", seed=3, duration_s=60.0)
    truth = scenario.truth
    n = scenario.info["n_targets"]
    assert 12 <= n <= 20
    asset = scenario.site.assets[0]
    asset_enu = np.array(pymap3d.geodetic2enu(asset.lat_deg, asset.lon_deg, 0.0, 31.30, 120.62, 0.0))
    for epoch, lo, hi in ((0.0, 6500.0, 7500.0), (60.0, 5000.0, 7000.0)):
        rows = truth[np.isclose(truth["time_s"], epoch)]
        position = np.column_stack([rows["east_m"], rows["north_m"], rows["up_m"]])
        distance = np.linalg.norm(position[:, :2] - asset_enu[:2], axis=1)
        assert lo < distance.mean() < hi
        gaps = np.linalg.norm(position[:, None] - position[None], axis=2)
        np.fill_diagonal(gaps, np.inf)
        nearest = gaps.min(axis=1)
        assert nearest.min() > 20.0 and nearest.max() < 90.0
        speed = np.hypot(rows["v_east_mps"], rows["v_north_mps"])
        assert np.all((speed > 10.0) & (speed < 20.0))


def test_bird_flocks_fly_together(cache):
    scenario = cache("birds", seed=6, duration_s=SHORT_S["birds"])
    flocks = scenario.info["flocks"]
    assert 15 <= len(flocks) <= 30
    assert all(3 <= len(ids) <= 12 for ids in flocks)
    kinds = scenario.info["kind"]
    assert sum(kind == "drone" for kind in kinds.values()) == 3
    last = scenario.truth[np.isclose(scenario.truth["time_s"], scenario.info["duration_s"])]
    for ids in flocks:
        rows = last[np.isin(last["target_id"], ids)]
        spread = np.hypot(rows["east_m"] - rows["east_m"].mean(), rows["north_m"] - rows["north_m"].mean())
        assert spread.max() < 40.0
        assert set(rows["kind"]) == {"bird"}


def test_large_scenario_small_run():
    scenario = simulate("large", seed=1, n_targets=120, duration_s=10.0)
    assert scenario.info["n_targets"] == 120
    assert len(scenario.site.radars) == 4
    assert all(r.scan_period_s == 2.0 and r.mode == "rotating" for r in scenario.site.radars)
    assert np.array_equal(np.unique(scenario.truth["time_s"]), np.arange(11.0))
    kinds = set(scenario.info["kind"].values())
    assert kinds == {"drone", "bird", "aircraft", "balloon"}


def test_kinds_fly_in_their_envelopes(cache):
    truth = cache("large", seed=2, n_targets=400, duration_s=30.0).truth
    speed = np.hypot(truth["v_east_mps"], truth["v_north_mps"])
    envelopes = {"drone": (0.0, 25.01, 40.0, 310.0), "bird": (4.99, 15.01, 5.0, 310.0),
                 "aircraft": (39.99, 70.01, 280.0, 1220.0), "balloon": (1.5, 6.5, 50.0, 600.0)}
    for kind, (v_lo, v_hi, h_lo, h_hi) in envelopes.items():
        mine = truth["kind"] == kind
        assert mine.any()
        assert v_lo <= speed[mine].min() and speed[mine].max() <= v_hi, kind
        assert h_lo <= truth["up_m"][mine].min() and truth["up_m"][mine].max() <= h_hi, kind


# --------------------------------------------------------------------------
# Trajectory kernels and generators
# --------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), n_samples=st.integers(2, 40),
       step_s=st.sampled_from([0.05, 0.1, 0.25, 1.0]))
def test_hermite_kernel_matches_scipy(seed, n_samples, step_s):
    rng = np.random.default_rng(seed)
    position = rng.normal(0.0, 100.0, (3, n_samples, 3))
    velocity = rng.normal(0.0, 10.0, (3, n_samples, 3))
    end = (n_samples - 1) * step_s
    target = rng.integers(0, 3, 50)
    t = np.concatenate([rng.uniform(-1.0, end + 1.0, 45), np.arange(5) * step_s])
    t[:5] = np.minimum(t[:5], end)
    p = np.empty((50, 3))
    v = np.empty((50, 3))
    hermite_state(position, velocity, step_s, target, t, p, v)
    grid = np.arange(n_samples) * step_s
    for i in range(3):
        spline = CubicHermiteSpline(grid, position[i], velocity[i])
        mine = target == i
        clipped = np.clip(t[mine], 0.0, end)
        assert np.allclose(p[mine], spline(clipped), atol=1e-9, rtol=1e-12)
        assert np.allclose(v[mine], spline(clipped, 1), atol=1e-9, rtol=1e-12)
    p_only = np.empty((50, 3))
    hermite_state(position, velocity, step_s, target, t, p_only, np.empty((0, 3)))
    assert np.array_equal(p_only, p)


def test_state_at_checks_arguments():
    trajectories = Trajectories(0.5, np.zeros((2, 3, 3)), np.zeros((2, 3, 3)), ["drone"] * 2, [0.1] * 2)
    with pytest.raises(IndexError):
        trajectories.state_at(np.array([2]), np.array([0.0]))
    with pytest.raises(ValueError, match="one length"):
        trajectories.state_at(np.array([0, 1]), np.array([0.0]))
    with pytest.raises(ValueError, match="velocity shape"):
        Trajectories(0.5, np.zeros((2, 3, 3)), np.zeros((2, 4, 3)), ["drone"] * 2, [0.1] * 2)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), kind=st.sampled_from(["drone", "aircraft", "bird"]))
def test_generated_motion_is_smooth_and_consistent(seed, kind):
    rng = np.random.default_rng(seed)
    n, duration_s, step_s = 4, 60.0, 0.1
    p = traj_module.KIND_PARAMETERS[kind]
    start = np.column_stack([rng.uniform(-3000, 3000, (n, 2)), rng.uniform(*p["height_m"], n)])
    heading = rng.uniform(0.0, 360.0, n)
    if kind == "bird":
        trajectories = bird_motion(rng, start, heading, duration_s, step_s)
    else:
        trajectories = leg_motion(rng, start, heading, duration_s, step_s, kind, (0.0, 0.0), 3000.0)
    assert np.allclose(trajectories.position[:, 0], start)
    speed = np.linalg.norm(trajectories.velocity[..., :2], axis=2)
    assert speed.max() <= p["speed_mps"][1] + 1e-9
    if kind != "drone":          # drones may hover
        assert speed.min() >= p["speed_mps"][0] - 1e-9
    # Velocity is the derivative of position: trapezoid steps, and central
    # differences of the interpolant at mid-grid times.
    steps = np.diff(trajectories.position, axis=1)
    mean_velocity = 0.5 * step_s * (trajectories.velocity[:, 1:] + trajectories.velocity[:, :-1])
    assert np.allclose(steps, mean_velocity, atol=1e-9)
    t = rng.uniform(1.0, duration_s - 1.0, 40)
    index = rng.integers(0, n, 40)
    dt = 1e-4
    p_plus, _ = trajectories.state_at(index, t + dt, velocity=False)
    p_minus, _ = trajectories.state_at(index, t - dt, velocity=False)
    _, v = trajectories.state_at(index, t)
    assert np.allclose((p_plus - p_minus) / (2 * dt), v, atol=1e-4)
    # Smooth: acceleration stays bounded (no jumps in velocity between samples).
    acceleration = np.diff(trajectories.velocity, axis=1) / step_s
    limit = {"drone": 12.0, "aircraft": 6.0, "bird": 16.0}[kind]
    assert np.abs(acceleration).max() < limit


# --------------------------------------------------------------------------
# Files and command line
# --------------------------------------------------------------------------

def test_write_scenario_round_trip(cache, tmp_path):
    scenario = cache("swarm", seed=3, duration_s=60.0)
    paths = write_scenario(scenario, tmp_path / "out")
    assert set(paths) == {"site.toml", "plots.csv", "truth.csv"}
    assert load_site(paths["site.toml"]) == scenario.site
    with open(paths["plots.csv"]) as f:
        assert sum(1 for _ in f) == scenario.plots.size + 1
    with open(paths["truth.csv"]) as f:
        assert sum(1 for _ in f) == scenario.truth.size + 1
    result = read_plots_csv(paths["plots.csv"])
    assert result.malformed == 0
    plots = result.plots
    assert plots.size == scenario.plots.size
    assert np.array_equal(plots["radar_id"], scenario.plots["radar_id"])
    assert np.array_equal(np.isnan(plots["radial_velocity_mps"]),
                          np.isnan(scenario.plots["radial_velocity_mps"]))
    assert np.allclose(plots["time_s"], scenario.plots["time_s"], atol=1e-6)
    assert np.allclose(plots["range_m"], scenario.plots["range_m"], atol=0.01)
    truth = read_truth_csv(paths["truth.csv"])
    assert np.array_equal(truth["target_id"], scenario.truth["target_id"])
    assert np.array_equal(truth["kind"], scenario.truth["kind"])
    assert np.allclose(truth["east_m"], scenario.truth["east_m"], atol=1e-3)


def parser():
    top = argparse.ArgumentParser(prog="radarcore")
    add_parser(top.add_subparsers(dest="command"))
    return top


def test_cli_writes_files(tmp_path, capsys):
    args = parser().parse_args(["simulate", "crossing", "--out", str(tmp_path), "--seed", "3",
                                "--duration", "10", "--targets", "4", "--bias"])
    assert args.func(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3
    assert "site.toml" in out[0] and "2 radars" in out[0]
    assert "plots.csv" in out[1] and "clutter" in out[1]
    assert "truth.csv" in out[2] and "4 targets" in out[2]
    site = load_site(tmp_path / "site.toml")
    assert len(site.radars) == 2
    assert read_truth_csv(tmp_path / "truth.csv").size == 4 * 51


def test_cli_unknown_scenario(tmp_path, capsys):
    args = parser().parse_args(["simulate", "nowhere", "--out", str(tmp_path)])
    assert run(args) == 2
    err = capsys.readouterr().err
    assert "nowhere" in err and "sparse, crossing, swarm, birds, large" in err
    assert not any(tmp_path.iterdir())


# --------------------------------------------------------------------------
# Bird scenes: behaviours, counts, options, fluctuating cross-sections
# --------------------------------------------------------------------------

from radarcore.sim import behaviours as behaviour_module  # noqa: E402
from radarcore.sim.behaviours import BEHAVIOURS, BIRD_BEHAVIOURS, DRONE_BEHAVIOURS  # noqa: E402
from radarcore.sim.sensors import SNR_CONSTANT_DB  # noqa: E402

BIRD_SCENES = ("birdrich", "birdmix", "birdlarge")


def behaviour_of(scenario):
    """target_id -> behaviour, from the truth rows (the first row of each)."""
    truth = scenario.truth
    first = truth[truth["time_s"] == truth["time_s"][0]]
    return dict(zip(first["target_id"].tolist(), first["behaviour"].tolist()))


def test_birdrich_counts_and_flocks(cache):
    scenario = cache("birdrich", seed=1000, duration_s=10.0)
    behaviour = behaviour_of(scenario)
    kinds = scenario.info["kind"]
    assert len(behaviour) == 300
    n = {kind: sum(1 for k in kinds.values() if k == kind) for kind in ("drone", "bird", "aircraft")}
    assert n == {"drone": 30, "bird": 269, "aircraft": 1}
    assert n["bird"] >= 8.9 * n["drone"]     # the scene: 269 birds to 30 drones
    assert {behaviour[i] for i in behaviour if kinds[i] == "bird"} == set(BIRD_BEHAVIOURS)
    assert {behaviour[i] for i in behaviour if kinds[i] == "drone"} == set(DRONE_BEHAVIOURS)
    flocks = scenario.info["flocks"]
    in_flocks = sum(len(ids) for ids in flocks)
    assert 0.25 <= in_flocks / n["bird"] <= 0.45
    assert all(3 <= len(ids) <= 6 for ids in flocks)
    for ids in flocks:          # one behaviour per flock, birds only
        assert len({behaviour[i] for i in ids}) == 1 and all(kinds[i] == "bird" for i in ids)
    assert len(scenario.site.radars) == 4
    assert scenario.info["clutter_per_scan"] == 50.0


def test_bird_scene_defaults_match_their_description():
    from radarcore.sim.scenarios import SPECS
    mix = {name: SPECS[name].mix for name in BIRD_SCENES}
    assert (mix["birdmix"].n_targets, mix["birdmix"].n_drones, mix["birdmix"].n_radars,
            mix["birdmix"].clutter_per_scan) == (226, 12, 4, 20.0)
    assert set(mix["birdmix"].counts()) >= {"multirotor", "fixed_wing", "loiter", "soaring",
                                            "formation", "commuter", "agile_flock"}
    assert mix["birdmix"].counts()["multirotor"] == 4
    large = mix["birdlarge"].counts()
    assert sum(large[b] for b in DRONE_BEHAVIOURS if b in large) == 400
    assert sum(large[b] for b in BIRD_BEHAVIOURS) == 2600
    assert (mix["birdlarge"].n_radars, mix["birdlarge"].clutter_per_scan) == (8, 200.0)


def test_behaviour_column_round_trips_through_truth_csv(tmp_path, cache):
    scenario = cache("birdmix", seed=1001, duration_s=6.0)
    paths = write_scenario(scenario, tmp_path)
    header = paths["truth.csv"].read_text().split("\n")[0]
    assert header.endswith(",kind,behaviour")
    back = read_truth_csv(paths["truth.csv"])
    assert back.dtype.names[-1] == "behaviour"
    assert back["behaviour"].tolist() == scenario.truth["behaviour"].tolist()
    assert back["kind"].tolist() == scenario.truth["kind"].tolist()
    # The older scenarios keep the nine columns.
    old = cache("sparse", seed=2, duration_s=SHORT_S["sparse"])
    assert old.truth.dtype == TRUTH_DTYPE


def test_include_and_exclude_behaviours():
    only = simulate("birdmix", seed=3, duration_s=4.0, behaviours=("soaring", "multirotor"))
    assert set(behaviour_of(only).values()) == {"soaring", "multirotor"}
    assert sum(1 for b in behaviour_of(only).values() if b == "multirotor") == 12
    assert sum(1 for b in behaviour_of(only).values() if b == "soaring") == 214
    without = simulate("birdmix", seed=3, duration_s=4.0, exclude_behaviours=("agile_flock",))
    values = list(behaviour_of(without).values())
    assert "agile_flock" not in values and len(values) == 226
    no_drones = simulate("birdmix", seed=3, duration_s=4.0, exclude_behaviours=DRONE_BEHAVIOURS)
    assert set(no_drones.info["kind"].values()) == {"bird"}
    assert no_drones.info["n_targets"] == 214


@pytest.mark.parametrize("kwargs, message", [
    ({"n_radars": 9}, "radars must be 2 to 8"),
    ({"n_radars": 1}, "radars must be 2 to 8"),
    ({"clutter_per_scan": -1.0}, "clutter"),
    ({"behaviours": ("eagle",)}, "unknown behaviour 'eagle'"),
    ({"exclude_behaviours": ("eagle",)}, "unknown behaviour 'eagle'"),
    ({"n_drones": 500}, "drones must be 0 to 299"),
])
def test_bird_scene_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate("birdrich", duration_s=2.0, **kwargs)


def test_bird_options_refused_by_other_scenarios():
    with pytest.raises(ValueError, match="bird scenes only"):
        simulate("sparse", duration_s=2.0, n_radars=3)


@pytest.mark.parametrize("n_radars", [2, 5, 8])
def test_radar_count_and_clutter_rate(n_radars):
    scenario = simulate("birdrich", seed=4, duration_s=20.0, n_targets=20, n_radars=n_radars,
                        clutter_per_scan=30.0)
    assert len(scenario.site.radars) == n_radars
    scans = sum(info["n_scans"] for info in scenario.info["radars"].values())
    n_clutter = scenario.info["n_clutter_plots"]
    # Poisson total with mean 30 per scan: within 5 sigma.
    assert abs(n_clutter - 30.0 * scans) < 5.0 * math.sqrt(30.0 * scans)


def test_bird_scene_is_deterministic_and_seed_dependent():
    a = simulate("birdrich", seed=1000, duration_s=5.0, n_targets=40)
    b = simulate("birdrich", seed=1000, duration_s=5.0, n_targets=40)
    c = simulate("birdrich", seed=1001, duration_s=5.0, n_targets=40)
    assert a.plots.tobytes() == b.plots.tobytes() and a.truth.tobytes() == b.truth.tobytes()
    assert a.plots.tobytes() != c.plots.tobytes()


def _air_turn_rate_dps(trajectories, rows, wind):
    v = trajectories.velocity[rows, :, :2] - np.asarray(wind)[None, None, :]
    psi = np.unwrap(np.arctan2(v[..., 0], v[..., 1]), axis=1)
    return np.degrees(np.gradient(psi, trajectories.step_s, axis=1))


def test_soaring_birds_circle_at_thermal_rates_and_drift():
    rng = np.random.default_rng(5)
    n, duration = 30, 400.0
    start = np.column_stack([np.zeros((n, 2)), np.full(n, 200.0)])
    wind = np.array([4.0, -3.0])
    birds = behaviour_module.soaring(rng, start, rng.uniform(0, 360, n), duration, 0.2, wind)
    rate = np.abs(_air_turn_rate_dps(birds, np.arange(n), wind))
    circling = rate > 8.0
    # Thermal circling happens, at 10-25 deg/s once the turn has ramped in.
    assert circling.mean() > 0.2
    steady = rate[circling & (rate > 9.5)]
    assert np.percentile(steady, 99) <= 25.5
    assert np.percentile(steady, 50) >= 10.0
    # Ground track drifts downwind: mean velocity has the wind in it.
    mean_velocity = birds.velocity[..., :2].mean(axis=(0, 1))
    assert np.dot(mean_velocity, wind) > 0.5 * np.dot(wind, wind)


def test_commuters_and_geese_fly_in_their_speed_ranges():
    rng = np.random.default_rng(6)
    n = 20
    start = np.column_stack([np.zeros((n, 2)), np.full(n, 80.0)])
    crows = behaviour_module.commuter(rng, start, rng.uniform(0, 360, n), 300.0, 0.5)
    speed = np.hypot(crows.velocity[..., 0], crows.velocity[..., 1])
    assert 8.0 <= speed.min() and speed.max() <= 17.6
    # Slow heading wander about the start heading.
    psi = np.unwrap(np.arctan2(crows.velocity[..., 0], crows.velocity[..., 1]), axis=1)
    wander = np.degrees(np.abs(psi - psi[:, :1]))
    assert np.percentile(wander, 95) < 45.0 and wander.max() < 90.0
    assert np.percentile(wander, 95) > 5.0
    geese = behaviour_module.formation_flock(rng, start[:3], np.array([0.0, 90.0, 200.0]),
                                             [7, 9, 5], 200.0, 0.5)
    assert geese.n_targets == 21
    leaders = [0, 7, 16]
    lead_speed = np.hypot(geese.velocity[leaders, :, 0], geese.velocity[leaders, :, 1])
    assert 15.0 <= lead_speed.min() and lead_speed.max() <= 20.0
    # Neighbours on one arm of the V are 10-20 m apart, give or take two
    # jitter terms of up to 1 m on each of the two birds.
    first, second = geese.position[1], geese.position[3]   # k = 1 and 2 on the right arm
    gap = np.linalg.norm(second - first, axis=1)
    assert 6.0 <= gap.min() and gap.max() <= 24.0
    assert 9.0 <= np.median(gap) <= 21.0


@pytest.mark.parametrize("build", ["formation", "agile", "swarm"])
def test_group_members_velocity_is_the_derivative_of_position(build):
    rng = np.random.default_rng(7)
    start = np.array([[0.0, 0.0, 100.0], [500.0, 0.0, 100.0]])
    if build == "formation":
        group = behaviour_module.formation_flock(rng, start, np.array([0.0, 90.0]), [6, 6], 60.0, 0.1)
    elif build == "agile":
        group = behaviour_module.agile_flock(rng, start, np.array([0.0, 90.0]), [6, 6], 60.0, 0.1)
    else:
        group = behaviour_module.swarm(rng, start, np.array([0.0, 90.0]), [6, 6], 60.0, 0.1,
                                       np.zeros(2))
    difference = np.diff(group.position, axis=1) / group.step_s
    mean_velocity = 0.5 * (group.velocity[:, 1:] + group.velocity[:, :-1])
    assert np.abs(difference - mean_velocity).max() < 0.05


def test_group_sizes_stay_in_range():
    rng = np.random.default_rng(8)
    for total in range(3, 80):
        sizes = behaviour_module._group_sizes(rng, total, (3, 6))
        assert sum(sizes) == total and all(3 <= s <= 6 for s in sizes)
    assert behaviour_module._group_sizes(rng, 2, (3, 6)) == [2]


def test_loiterers_end_up_circling_near_the_site():
    rng = np.random.default_rng(9)
    site = np.array([350.0, -420.0])
    drones = behaviour_module.loiter(rng, 12, 900.0, 0.5, site)
    last = drones.position[:, -600:, :2]          # the last 300 s
    centre = last.mean(axis=1)
    p = BEHAVIOURS["loiter"]
    assert np.all(np.linalg.norm(centre - site, axis=1)
                  <= p["centre_offset_m"][1] + 2.0 * p["radius_m"][1])
    radius = np.linalg.norm(last - centre[:, None, :], axis=2)
    assert np.all(radius.mean(axis=1) <= 1.2 * p["radius_m"][1])


def _staring_radar(p_detection=1.0):
    from radarcore.core.config import RadarConfig
    return RadarConfig(id=1, lat_deg=31.30, lon_deg=120.62, alt_m=0.0, sigma_range_m=1.0,
                       sigma_azimuth_deg=0.1, sigma_elevation_deg=0.1, scan_period_s=1.0,
                       max_range_m=10000.0, p_detection=p_detection, false_alarm_density=0.0,
                       mode="staring")


@pytest.mark.parametrize("swerling", [0, 1, 3])
def test_detection_follows_the_swerling_law(cache, swerling):
    """The share of looks detected against the analytic probability of a
    chi-square fluctuating target above a threshold: Swerling 1
    ``exp(-T/S)``, Swerling 3 ``(1 + 2T/S) exp(-2T/S)``, steady 1 or 0."""
    site = dataclasses.replace(cache("sparse", seed=2, duration_s=SHORT_S["sparse"]).site,
                               radars=(_staring_radar(0.9),))
    n, duration = 20, 400.0
    point = np.column_stack([np.full(n, 4000.0), np.zeros(n), np.full(n, 100.0)])
    rcs = np.geomspace(0.002, 0.2, n)
    still = straight_motion(np.random.default_rng(0), point, np.zeros(n), np.zeros((n, 3)),
                            duration, 1.0)
    targets = Trajectories(1.0, still.position, still.velocity, np.full(n, "bird"), rcs,
                           np.full(n, "soaring"), np.full(n, swerling))
    threshold = 8.0
    plots, owner, radars = observe(site, targets, seed=3, clutter=False,
                                   detection_threshold_db=threshold)
    looks = radars[1]["n_scans"]
    range_m = np.linalg.norm(point - np.array([0.0, 0.0, 0.0]), axis=1)
    for i in range(n):
        mean_snr = SNR_CONSTANT_DB + 10 * np.log10(rcs[i]) - 40 * np.log10(range_m[i])
        ratio = 10 ** ((threshold - mean_snr) / 10)
        if swerling == 1:
            p = math.exp(-ratio)
        elif swerling == 3:
            p = (1 + 2 * ratio) * math.exp(-2 * ratio)
        else:
            p = float(ratio <= 1.0)
        p *= 0.9
        seen = np.count_nonzero(owner == i + 1)
        assert abs(seen - p * looks) <= 5 * math.sqrt(looks * p * (1 - p)) + 1
    # Reported SNR of the detections: at or above the threshold, less 5 sigma of 1 dB.
    assert plots["snr_db"].min() >= threshold - 5.0
    if swerling:
        spread = [np.std(plots["snr_db"][owner == i + 1]) for i in range(n)
                  if np.count_nonzero(owner == i + 1) > 50]
        assert np.median(spread) > (3.0 if swerling == 1 else 2.0)


def test_simulate_cli_bird_options(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["simulate", "birdmix", "--out", str(tmp_path), "--seed", "1000",
                              "--duration", "3", "--targets", "40", "--drones", "6",
                              "--radars", "3", "--clutter", "5",
                              "--exclude-behaviours", "formation,loiter"])
    assert run(args) == 0
    truth = read_truth_csv(tmp_path / "truth.csv")
    assert "formation" not in truth["behaviour"] and "loiter" not in truth["behaviour"]
    assert np.unique(truth["target_id"]).size == 40
    assert load_site(tmp_path / "site.toml").radars.__len__() == 3
    bad = parser.parse_args(["simulate", "birdmix", "--out", str(tmp_path), "--behaviours", "owl"])
    assert run(bad) == 2
    assert "unknown behaviour 'owl'" in capsys.readouterr().err
