"""Named scenarios: a site and a set of targets each.

Every scenario has the same origin (31.30 N, 120.62 E, 0 m), one asset
``plant-1`` near the origin with three zones (warning circle 6000 m up to
1500 m, alert circle 3000 m up to 1000 m, critical hexagon of about 1 km
across up to 500 m) and its own radars a few kilometres from the origin.  The
site does not depend on the seed; the targets and the measurements do.

Each target builder takes ``(rng, duration_s, step_s, n_targets)`` and returns
``(Trajectories, extra)`` where ``extra`` is a dict of scenario facts for the
``info`` of :class:`radarcore.simulate.Scenario` (crossing pairs, flocks).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from kernels.geodesy import LocalFrame
from radarcore.config import AssetConfig, Origin, RadarConfig, SiteConfig, ZoneConfig
from radarcore.sim.trajectories import (
    KIND_PARAMETERS, Trajectories, balloon_motion, bird_motion, formation, leg_motion,
    straight_motion)

__all__ = ["ScenarioSpec", "SPECS", "ORIGIN", "ASSET_ENU_M", "grid_step"]

ORIGIN = Origin(lat_deg=31.30, lon_deg=120.62, alt_m=0.0)
#: Position of the asset plant-1 in the site frame (m).
ASSET_ENU_M = np.array([350.0, -420.0, 0.0])
#: Largest trajectory grid (targets x samples) before the step is coarsened.
MAX_GRID_SAMPLES = 2_500_000
_STEPS_S = (0.05, 0.1, 0.2, 0.25, 0.5, 1.0)


def grid_step(n_targets, duration_s, truth_period_s):
    """Trajectory grid step: the finest of 0.05, 0.1, 0.2, 0.25, 0.5, 1 s that
    divides the truth period and keeps ``n_targets * n_samples`` within
    :data:`MAX_GRID_SAMPLES`."""
    candidates = [step for step in _STEPS_S
                  if abs(truth_period_s / step - round(truth_period_s / step)) < 1e-9]
    if not candidates:
        raise ValueError(f"truth period {truth_period_s} s is not a multiple of 0.05 s")
    for step in candidates:
        if n_targets * (duration_s / step + 1.0) <= MAX_GRID_SAMPLES:
            return step
    return candidates[-1]


# --------------------------------------------------------------------------
# Sites
# --------------------------------------------------------------------------

@functools.cache
def _frame():
    return LocalFrame(ORIGIN.lat_deg, ORIGIN.lon_deg, ORIGIN.alt_m)


def _geodetic(east_m, north_m, up_m=0.0):
    """(lat_deg, lon_deg) of a site-frame point, rounded to 1e-7 degrees (1 cm)."""
    lat, lon, _ = _frame().to_geodetic([[east_m, north_m, up_m]])[0]
    return round(float(lat), 7), round(float(lon), 7)


def _radar(radar_id, east_m, north_m, alt_m, **settings):
    lat_deg, lon_deg = _geodetic(east_m, north_m)
    settings.setdefault("sac", 0)
    settings.setdefault("sic", radar_id)
    return RadarConfig(id=radar_id, lat_deg=lat_deg, lon_deg=lon_deg, alt_m=alt_m, **settings)


def _asset():
    east, north, _ = ASSET_ENU_M
    lat_deg, lon_deg = _geodetic(east, north)
    bearings = np.radians(np.arange(0.0, 360.0, 60.0))
    radii = (600.0, 520.0, 580.0, 500.0, 560.0, 540.0)
    polygon = tuple(_geodetic(east + r * math.sin(a), north + r * math.cos(a))
                    for r, a in zip(radii, bearings))
    zones = (
        ZoneConfig(level="warning", floor_m=0.0, ceiling_m=1500.0, radius_m=6000.0),
        ZoneConfig(level="alert", floor_m=0.0, ceiling_m=1000.0, radius_m=3000.0),
        ZoneConfig(level="critical", floor_m=0.0, ceiling_m=500.0, polygon=polygon),
    )
    return AssetConfig(id="plant-1", lat_deg=lat_deg, lon_deg=lon_deg, alt_m=0.0,
                       name="Power plant", zones=zones)


def _site(*radars):
    return SiteConfig(origin=ORIGIN, radars=tuple(radars), assets=(_asset(),))


def _doppler_radar(radar_id, east_m, north_m, alt_m, period_s, max_range_m, density, **extra):
    settings = dict(sigma_range_m=7.5, sigma_azimuth_deg=0.3, sigma_elevation_deg=0.6,
                    sigma_radial_velocity_mps=0.5, scan_period_s=period_s,
                    max_range_m=max_range_m, p_detection=0.9, false_alarm_density=density)
    settings.update(extra)
    return _radar(radar_id, east_m, north_m, alt_m, **settings)


def _plain_radar(radar_id, east_m, north_m, alt_m, period_s, max_range_m, density, **extra):
    settings = dict(sigma_range_m=10.0, sigma_azimuth_deg=0.4, sigma_elevation_deg=0.8,
                    scan_period_s=period_s, max_range_m=max_range_m, p_detection=0.85,
                    false_alarm_density=density)
    settings.update(extra)
    return _radar(radar_id, east_m, north_m, alt_m, **settings)


def _sparse_site():
    return _site(_doppler_radar(1, -2500.0, 1500.0, 25.0, 1.0, 9000.0, 1e-11),
                 _plain_radar(2, 2800.0, -1800.0, 30.0, 1.0, 8000.0, 1e-11))


def _crossing_site():
    return _site(_doppler_radar(1, -2000.0, 2500.0, 25.0, 1.0, 9000.0, 1e-11),
                 _doppler_radar(2, 2600.0, -2200.0, 30.0, 1.0, 8500.0, 1e-11,
                                sigma_range_m=10.0, sigma_azimuth_deg=0.4))


def _swarm_site():
    return _site(_doppler_radar(1, -3000.0, 2000.0, 25.0, 1.0, 9000.0, 1e-11),
                 _plain_radar(2, 3000.0, 2500.0, 30.0, 2.0, 10000.0, 1e-11),
                 _doppler_radar(3, 500.0, -1500.0, 20.0, 0.25, 8000.0, 2e-12, sigma_range_m=5.0,
                                sigma_azimuth_deg=0.5, sigma_elevation_deg=0.5,
                                sigma_radial_velocity_mps=0.3, p_detection=0.95,
                                mode="staring"))


def _birds_site():
    return _site(_doppler_radar(1, -2500.0, 1500.0, 25.0, 1.0, 9000.0, 3e-10),
                 _doppler_radar(2, 2500.0, 2000.0, 25.0, 1.0, 8500.0, 3e-10),
                 _plain_radar(3, 500.0, -3000.0, 30.0, 2.0, 9000.0, 3e-10))


def _large_site():
    return _site(_doppler_radar(1, -4500.0, 0.0, 25.0, 2.0, 10000.0, 1e-11),
                 _plain_radar(2, 0.0, 4500.0, 30.0, 2.0, 10000.0, 1e-11),
                 _doppler_radar(3, 4500.0, 0.0, 25.0, 2.0, 10000.0, 1e-11),
                 _plain_radar(4, 0.0, -4500.0, 30.0, 2.0, 10000.0, 1e-11))


# --------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------

def _disc(rng, n, radius_m, centre=(0.0, 0.0)):
    """n points (E, N) uniform in a disc."""
    radius = radius_m * np.sqrt(rng.random(n))
    bearing = rng.uniform(0.0, 2.0 * np.pi, n)
    return np.column_stack([centre[0] + radius * np.sin(bearing),
                            centre[1] + radius * np.cos(bearing)])


def _starts(rng, n, radius_m, kind, centre=(0.0, 0.0)):
    low, high = KIND_PARAMETERS[kind]["height_m"]
    height = rng.uniform(low + 0.1 * (high - low), high - 0.2 * (high - low), n)
    return np.column_stack([_disc(rng, n, radius_m, centre), height])


def _heading_towards(rng, start, centre, spread_deg):
    bearing = np.degrees(np.arctan2(centre[0] - start[:, 0], centre[1] - start[:, 1]))
    return bearing + rng.uniform(-spread_deg, spread_deg, start.shape[0])


def _drones(rng, n, duration_s, step_s, radius_m=5000.0, waypoint_radius_m=4000.0):
    start = _starts(rng, n, radius_m, "drone")
    heading = _heading_towards(rng, start, (0.0, 0.0), 60.0)
    return leg_motion(rng, start, heading, duration_s, step_s, "drone", (0.0, 0.0),
                      waypoint_radius_m)


def _aircraft(rng, n, duration_s, step_s, radius_m=5000.0, waypoint_radius_m=3500.0):
    start = _starts(rng, n, radius_m, "aircraft")
    heading = _heading_towards(rng, start, (0.0, 0.0), 90.0)
    return leg_motion(rng, start, heading, duration_s, step_s, "aircraft", (0.0, 0.0),
                      waypoint_radius_m)


def _balloons(rng, n, duration_s, step_s, radius_m=3000.0):
    start = _starts(rng, n, radius_m, "balloon")
    start[:, 2] = rng.uniform(80.0, 300.0, n)
    return balloon_motion(rng, start, rng.uniform(0.0, 360.0), duration_s, step_s)


def _single_birds(rng, n, duration_s, step_s, radius_m=6000.0):
    start = _starts(rng, n, radius_m, "bird")
    return bird_motion(rng, start, rng.uniform(0.0, 360.0, n), duration_s, step_s)


def _count(n_targets, default, minimum, what):
    if n_targets is None:
        return default
    if n_targets < minimum:
        raise ValueError(f"n_targets must be at least {minimum} ({what}), got {n_targets}")
    return int(n_targets)


def _sparse_targets(rng, duration_s, step_s, n_targets):
    n = _count(n_targets, 6, 3, "one aircraft, one balloon and at least one drone")
    parts = [_drones(rng, n - 2, duration_s, step_s), _aircraft(rng, 1, duration_s, step_s),
             _balloons(rng, 1, duration_s, step_s)]
    return Trajectories.concatenate(parts), {}


_CROSSING_KINDS = ("same_point", "altitude_separated", "crossing_angle")


def _crossing_targets(rng, duration_s, step_s, n_targets):
    n_pairs = _count(n_targets, 12, 2, "drones in crossing pairs") // 2
    point = np.empty((2 * n_pairs, 3))
    time_s = np.empty(2 * n_pairs)
    velocity = np.zeros((2 * n_pairs, 3))
    crossings = []
    for pair in range(n_pairs):
        kind = _CROSSING_KINDS[pair % 3]
        first, second = 2 * pair, 2 * pair + 1
        east, north = _disc(rng, 1, 2500.0)[0]
        heading = rng.uniform(0.0, 360.0)
        turn = rng.choice((-1.0, 1.0))
        speed = rng.uniform(12.0, 22.0, 2)
        t_cross = rng.uniform(0.35, 0.45) * duration_s
        if kind == "same_point":
            height = np.full(2, rng.uniform(80.0, 250.0))
            delay = min(rng.uniform(15.0, 40.0), 0.45 * duration_s)
            times = np.array([t_cross, t_cross + delay])
            angle = rng.uniform(40.0, 140.0)
        elif kind == "altitude_separated":
            low = rng.uniform(60.0, 150.0)
            height = np.array([low, low + rng.uniform(80.0, 150.0)])
            times = np.full(2, t_cross)
            angle = rng.uniform(30.0, 150.0)
        else:
            height = np.full(2, rng.uniform(80.0, 250.0))
            times = np.full(2, t_cross)
            angle = rng.uniform(60.0, 120.0)
        headings = np.radians([heading, heading + turn * angle])
        point[[first, second]] = np.column_stack([[east, east], [north, north], height])
        time_s[[first, second]] = times
        velocity[[first, second], 0] = speed * np.sin(headings)
        velocity[[first, second], 1] = speed * np.cos(headings)
        crossings.append({"kind": kind, "target_ids": (first + 1, second + 1),
                          "time_s": (float(times[0]), float(times[1])),
                          "east_m": float(east), "north_m": float(north),
                          "up_m": (float(height[0]), float(height[1])),
                          "crossing_angle_deg": float(angle)})
    trajectories = straight_motion(rng, point, time_s, velocity, duration_s, step_s)
    return trajectories, {"crossings": crossings}


def _swarm_targets(rng, duration_s, step_s, n_targets):
    n = _count(n_targets, int(rng.integers(12, 21)), 1, "drones in the swarm")
    bearing = rng.uniform(0.0, 2.0 * np.pi)
    start = ASSET_ENU_M + np.array([7000.0 * math.sin(bearing), 7000.0 * math.cos(bearing),
                                    rng.uniform(100.0, 180.0)])
    heading = math.degrees(bearing) + 180.0
    leader = leg_motion(rng, start[None, :], np.array([heading]), duration_s, step_s, "drone",
                        ASSET_ENU_M[:2], 800.0, speed_mps=(12.0, 18.0),
                        turn_rate_dps=(2.0, 6.0), leg_s=(30.0, 60.0), hover_probability=0.0,
                        height_m=(80.0, 200.0), climb_mps=1.0)
    # A loose lattice, 45-55 m pitch, each member moved by up to 7 m per axis.
    columns = int(math.ceil(math.sqrt(n)))
    pitch = rng.uniform(45.0, 55.0)
    cell = np.arange(n)
    offset = np.column_stack([(cell % columns - 0.5 * (columns - 1)) * pitch,
                              (cell // columns - 0.5 * ((n - 1) // columns)) * pitch,
                              np.zeros(n)])
    offset += rng.uniform(-7.0, 7.0, (n, 3)) * np.array([1.0, 1.0, 1.5])
    members = formation(rng, leader, np.zeros(n, dtype=np.int64), offset, jitter_m=(0.5, 1.5))
    return members, {"swarm": {"target_ids": tuple(range(1, n + 1)), "pitch_m": float(pitch),
                               "start_bearing_deg": float(math.degrees(bearing))}}


def _birds_targets(rng, duration_s, step_s, n_targets):
    n_flocks = _count(n_targets, int(rng.integers(15, 31)), 1, "bird flocks")
    sizes = rng.integers(3, 13, n_flocks)
    leaders = _single_birds(rng, n_flocks, duration_s, step_s)
    leader_index = np.repeat(np.arange(n_flocks), sizes)
    n_members = leader_index.shape[0]
    spread = 4.0 + 1.5 * sizes[leader_index]
    offset = np.column_stack([_disc(rng, n_members, 1.0) * spread[:, None],
                              rng.uniform(-3.0, 3.0, n_members)])
    flocks = formation(rng, leaders, leader_index, offset, jitter_m=(0.3, 1.5), period_s=(5.0, 15.0))
    singles = _single_birds(rng, int(rng.integers(3, 7)), duration_s, step_s)
    drones = _drones(rng, 3, duration_s, step_s)
    trajectories = Trajectories.concatenate([flocks, singles, drones])
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]]) + 1
    flock_ids = [tuple(range(int(a), int(a + size))) for a, size in zip(first, sizes)]
    return trajectories, {"flocks": flock_ids}


def _large_targets(rng, duration_s, step_s, n_targets):
    n = _count(n_targets, 2000, 4, "mixed targets")
    n_birds = int(round(0.20 * n))
    n_aircraft = max(1, int(round(0.10 * n)))
    n_balloons = max(1, int(round(0.15 * n)))
    n_drones = n - n_birds - n_aircraft - n_balloons
    parts = [_drones(rng, n_drones, duration_s, step_s, 9000.0, 8000.0),
             _single_birds(rng, n_birds, duration_s, step_s, 9000.0),
             _aircraft(rng, n_aircraft, duration_s, step_s, 9000.0, 7000.0),
             _balloons(rng, n_balloons, duration_s, step_s, 9000.0)]
    return Trajectories.concatenate(parts), {}


@dataclass(frozen=True)
class ScenarioSpec:
    """A named scenario: its site, target builder and default run settings.

    ``max_targets`` bounds the target count for the grid-step choice
    (:func:`grid_step`) from ``n_targets`` (None: the default count).
    """

    name: str
    description: str
    duration_s: float
    truth_period_s: float
    site: Callable[[], SiteConfig]
    targets: Callable
    max_targets: Callable[[int | None], int]


SPECS = {spec.name: spec for spec in (
    ScenarioSpec("sparse", "2 rotating radars, ~6 targets (drones, a light aircraft, a balloon)",
                 180.0, 0.2, _sparse_site, _sparse_targets, lambda n: n or 6),
    ScenarioSpec("crossing", "2 Doppler radars, pairs of drones whose paths cross",
                 180.0, 0.2, _crossing_site, _crossing_targets, lambda n: n or 12),
    ScenarioSpec("swarm", "3 radars (one staring), 12-20 drones approaching the asset",
                 300.0, 0.2, _swarm_site, _swarm_targets, lambda n: n or 20),
    ScenarioSpec("birds", "3 radars, heavy clutter, bird flocks and 3 drones",
                 300.0, 0.2, _birds_site, _birds_targets,
                 lambda n: 12 * (n or 30) + 9),
    ScenarioSpec("large", "4 rotating radars (2 s), thousands of mixed targets",
                 60.0, 1.0, _large_site, _large_targets, lambda n: n or 2000),
)}
