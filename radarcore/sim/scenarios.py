"""Named scenarios: a site and a set of targets each.

Every scenario has the same origin (31.30 N, 120.62 E, 0 m), one asset
``plant-1`` near the origin with three zones (warning circle 6000 m up to
1500 m, alert circle 3000 m up to 1000 m, critical hexagon of about 1 km
across up to 500 m) and its own radars a few kilometres from the origin.  The
site does not depend on the seed; the targets and the measurements do.

Each target builder takes ``(rng, duration_s, step_s, n_targets)`` and returns
``(Trajectories, extra)`` where ``extra`` is a dict of scenario facts for the
``info`` of :class:`radarcore.sim.simulate.Scenario` (crossing pairs, flocks).

The zone scenarios (``intrusion``, ``skirt``, ``birdzone``, ``hover``) fly
planned paths relative to the zones and say in ``extra["roles"]`` what each
target does (``target_id -> role``), with ``extra["role_asset"]``
(``target_id -> asset_id``) for the roles that refer to an asset's zones.
Their roles hold for the default duration; the zone entries themselves are
computed from the truth by :mod:`radarcore.sim.intrusions`.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from kernels.geodesy import LocalFrame
from radarcore.core.config import AssetConfig, Origin, RadarConfig, SiteConfig, ZoneConfig
from radarcore.sim.behaviours import (
    BEHAVIOURS, behaviour_targets)
from radarcore.sim.sensors import clutter_volume_m3
from radarcore.sim.trajectories import (
    KIND_PARAMETERS, Trajectories, balloon_motion, bird_motion, formation, leg_motion,
    straight_motion, sample_grid, horizontal_velocity, integrate_positions, log_uniform,
    piecewise_controls, moving_average)

__all__ = ["ScenarioSpec", "SPECS", "ORIGIN", "ASSET_ENU_M", "grid_step", "BirdMix",
           "bird_site", "bird_scene_targets"]

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


# --------------------------------------------------------------------------
# Zone scenarios: intrusion, skirt, birdzone, hover
# --------------------------------------------------------------------------

#: Position of the second asset of the ``intrusion`` scenario (m).
SUBSTATION_ENU_M = np.array([-5200.0, 2600.0, 0.0])

#: Radii of plant-1's circles (m): warning and alert.
_WARNING_RADIUS_M = 6000.0
_ALERT_RADIUS_M = 3000.0


def _substation():
    """A second asset, substation-2, with a 2000 m warning circle, an 800 m
    alert circle and a 300 m square critical zone."""
    east, north, _ = SUBSTATION_ENU_M
    lat_deg, lon_deg = _geodetic(east, north)
    corners = ((-150.0, 150.0), (150.0, 150.0), (150.0, -150.0), (-150.0, -150.0))
    polygon = tuple(_geodetic(east + de, north + dn) for de, dn in corners)
    zones = (
        ZoneConfig(level="warning", floor_m=0.0, ceiling_m=800.0, radius_m=2000.0),
        ZoneConfig(level="alert", floor_m=0.0, ceiling_m=400.0, radius_m=800.0),
        ZoneConfig(level="critical", floor_m=0.0, ceiling_m=200.0, polygon=polygon),
    )
    return AssetConfig(id="substation-2", lat_deg=lat_deg, lon_deg=lon_deg, alt_m=0.0,
                       name="Substation", zones=zones)


def _intrusion_site():
    radars = (_doppler_radar(1, -3000.0, 2500.0, 25.0, 1.0, 10000.0, 2e-11),
              _doppler_radar(2, 3500.0, 1500.0, 30.0, 1.0, 9500.0, 2e-11),
              _plain_radar(3, 500.0, -3800.0, 30.0, 2.0, 10000.0, 2e-11))
    return SiteConfig(origin=ORIGIN, radars=radars, assets=(_asset(), _substation()))


def _skirt_site():
    return _site(_doppler_radar(1, -3500.0, 3000.0, 25.0, 1.0, 10000.0, 1e-11),
                 _doppler_radar(2, 4000.0, -2500.0, 30.0, 1.0, 10000.0, 1e-11),
                 _plain_radar(3, 500.0, 4500.0, 30.0, 2.0, 10000.0, 1e-11))


def _birdzone_site():
    return _site(_doppler_radar(1, -2500.0, 1500.0, 25.0, 1.0, 9000.0, 1.5e-10),
                 _doppler_radar(2, 2500.0, 2000.0, 25.0, 1.0, 8500.0, 1.5e-10),
                 _plain_radar(3, 500.0, -3000.0, 30.0, 2.0, 9000.0, 1.5e-10))


def _hover_site():
    return _site(_doppler_radar(1, -2500.0, 2000.0, 25.0, 1.0, 9000.0, 2e-11),
                 _doppler_radar(2, 3000.0, -1500.0, 30.0, 1.0, 9000.0, 2e-11))


def _unit(bearing_deg):
    """Unit vector (E, N) of a bearing clockwise from north."""
    bearing = math.radians(bearing_deg)
    return np.array([math.sin(bearing), math.cos(bearing)])


def _bearing_deg(vector):
    return math.degrees(math.atan2(vector[0], vector[1]))


def _turn_displacement(heading_deg, turn_deg, speed_mps, rate_dps):
    """(dE, dN) of a coordinated turn through ``turn_deg`` (signed) at
    ``rate_dps``: with w the signed rate, ``dE = v/w (cos psi - cos psi')``,
    ``dN = v/w (sin psi' - sin psi)``."""
    if turn_deg == 0.0:
        return np.zeros(2)
    omega = math.copysign(math.radians(rate_dps), turn_deg)
    psi = math.radians(heading_deg)
    psi_end = psi + math.radians(turn_deg)
    return speed_mps / omega * np.array([math.cos(psi) - math.cos(psi_end),
                                         math.sin(psi_end) - math.sin(psi)])


def _fixed_count(n_targets, n, name):
    if n_targets is not None and n_targets != n:
        raise ValueError(f"the {name} scenario has a fixed set of {n} targets; "
                         f"n_targets must be None or {n}, got {n_targets}")


def _scheduled_motion(rng, start, heading0_deg, schedules, climbs, duration_s, step_s,
                      hover_jitter_m=None):
    """Drones flying planned segments, joined by the simulator's smoothing.

    Each segment of ``schedules[i]`` is ``(length_s, speed_mps, turn_rate_dps)``
    (the last one lasts to the end of the run); ``climbs[i]`` is a list of
    ``(start_s, climb_mps)`` changes of the climb rate, the first at 0 s.
    Speed is smoothed over 3 s, turn rate over 1 s and climb rate over 2 s
    (centred moving averages, twice), as in
    :func:`radarcore.sim.trajectories.leg_motion`, then integrated.  With
    ``hover_jitter_m`` = (low, high), a smooth station-keeping wander of that
    amplitude (two sinusoids per axis, periods 12-30 s, half vertically) is
    added to the position and its derivative to the velocity.

    Returns
    -------
    Trajectories
    """
    n = len(schedules)
    n_samples = sample_grid(duration_s, step_s)

    def padded(rows):
        """(n, width, k) array of rows of k-tuples, each row padded with its last."""
        width = max(len(row) for row in rows)
        table = np.empty((n, width, len(rows[0][0])))
        for i, row in enumerate(rows):
            table[i, :len(row)] = row
            table[i, len(row):] = row[-1]
        return table

    segments = padded(schedules)
    # Padding repeats the last segment with no length: it starts where it did.
    lengths = np.where(np.arange(segments.shape[1]) < np.array([len(r) for r in schedules])[:, None],
                       segments[..., 0], 0.0)
    seg_starts = np.concatenate([np.zeros((n, 1)), np.cumsum(lengths[:, :-1], axis=1)], axis=1)
    speed = segments[..., 1]
    rate = np.radians(segments[..., 2])
    changes = padded(climbs)
    climb_starts, climb_rates = changes[..., 0], changes[..., 1]
    p = KIND_PARAMETERS["drone"]
    speed = moving_average(piecewise_controls(seg_starts, speed, n_samples, step_s),
                           p["speed_smoothing_s"], step_s)
    turn_rate = moving_average(piecewise_controls(seg_starts, rate, n_samples, step_s), 1.0, step_s)
    climb = moving_average(piecewise_controls(climb_starts, climb_rates, n_samples, step_s),
                           2.0, step_s)
    velocity = np.empty((n, n_samples, 3))
    velocity[..., 0], velocity[..., 1] = horizontal_velocity(np.radians(heading0_deg),
                                                              turn_rate, speed, step_s)
    velocity[..., 2] = climb
    position = integrate_positions(np.asarray(start, dtype=np.float64), velocity, step_s)
    if hover_jitter_m is not None:
        t = np.arange(n_samples) * step_s
        for _ in range(2):
            amplitude = (rng.uniform(hover_jitter_m[0], hover_jitter_m[1], (n, 1, 3))
                         * np.array([1.0, 1.0, 0.5]))
            omega = 2.0 * np.pi / rng.uniform(12.0, 30.0, (n, 1, 3))
            phase = rng.uniform(0.0, 2.0 * np.pi, (n, 1, 3))
            angle = omega * t[None, :, None] + phase
            # Zero at t = 0, so that the start point stays as planned.
            position += amplitude * (np.sin(angle) - np.sin(phase))
            velocity += amplitude * omega * np.cos(angle)
    return Trajectories(step_s, position, velocity, np.full(n, "drone"),
                        log_uniform(rng, p["rcs_m2"], n))


def _orbit_motion(rng, duration_s, step_s, kind, centre, radius_m, bearing0_deg, speed_mps,
                  direction, height_m, drift_mps=(0.0, 0.0), wobble=(0.0, 1.0, 0.0),
                  height_wave=(0.0, 1.0, 0.0)):
    """Targets circling a (drifting) centre, in closed form.

    With bearing ``theta(t) = theta_0 + Omega t``, ``Omega = +-v / R``
    (``direction`` +1 clockwise), radius ``r(t) = R + A sin(2 pi t / P + phi)``
    and drift w:

    .. math::

        p(t) = c + w t + r(t) (\\sin\\theta, \\cos\\theta), \\quad
        \\dot p = w + \\dot r (\\sin\\theta, \\cos\\theta)
                 + r \\Omega (\\cos\\theta, -\\sin\\theta)

    and height ``h(t) = h_0 + a sin(2 pi t / P_h + phi_h)``.

    Parameters
    ----------
    rng : numpy.random.Generator
        For the radar cross-sections only.
    duration_s, step_s : float
    kind : str
    centre : ndarray, shape (n, 2)
    radius_m, bearing0_deg, speed_mps, direction, height_m : ndarray, shape (n,)
        R, theta_0, the tangential speed ``R |Omega|``, the sense (+1 or -1)
        and h_0.
    drift_mps : ndarray, shape (n, 2) or (2,)
        w (m/s, E and N).
    wobble : tuple of arrays, shape (n,) each
        (A, P, phi) of the radius.
    height_wave : tuple of arrays, shape (n,) each
        (a, P_h, phi_h) of the height.

    Returns
    -------
    Trajectories
    """
    n = np.shape(radius_m)[0]
    t = np.arange(sample_grid(duration_s, step_s)) * step_s
    column = lambda x: np.broadcast_to(np.asarray(x, dtype=np.float64), (n,))[:, None]
    radius, speed, sense = column(radius_m), column(speed_mps), column(direction)
    amplitude, period, phase = (column(x) for x in wobble)
    h_amplitude, h_period, h_phase = (column(x) for x in height_wave)
    omega = sense * speed / radius
    theta = np.radians(column(bearing0_deg)) + omega * t
    r = radius + amplitude * np.sin(2.0 * np.pi * t / period + phase)
    r_dot = amplitude * 2.0 * np.pi / period * np.cos(2.0 * np.pi * t / period + phase)
    drift = np.broadcast_to(np.asarray(drift_mps, dtype=np.float64), (n, 2))
    centre = np.broadcast_to(np.asarray(centre, dtype=np.float64), (n, 2))
    sin, cos = np.sin(theta), np.cos(theta)
    position = np.empty((n, t.shape[0], 3))
    velocity = np.empty_like(position)
    position[..., 0] = centre[:, :1] + drift[:, :1] * t + r * sin
    position[..., 1] = centre[:, 1:] + drift[:, 1:] * t + r * cos
    velocity[..., 0] = drift[:, :1] + r_dot * sin + r * omega * cos
    velocity[..., 1] = drift[:, 1:] + r_dot * cos - r * omega * sin
    h_angle = 2.0 * np.pi * t / h_period + h_phase
    position[..., 2] = column(height_m) + h_amplitude * np.sin(h_angle)
    velocity[..., 2] = h_amplitude * 2.0 * np.pi / h_period * np.cos(h_angle)
    return Trajectories(step_s, position, velocity, np.full(n, kind),
                        log_uniform(rng, KIND_PARAMETERS[kind]["rcs_m2"], n))


def _tangent_line(rng, duration_s, step_s, centre, distance_m, bearing_deg, speed_mps,
                  direction, height_m, t_closest_s):
    """Straight flights passing ``distance_m`` from ``centre`` at bearing
    ``bearing_deg`` at time ``t_closest_s``, heading at right angles to that
    bearing (``direction`` +1: clockwise about the centre)."""
    n = len(distance_m)
    point = np.empty((n, 3))
    velocity = np.zeros((n, 3))
    for i in range(n):
        point[i, :2] = centre + distance_m[i] * _unit(bearing_deg[i])
        point[i, 2] = height_m[i]
        velocity[i, :2] = speed_mps[i] * _unit(bearing_deg[i] + 90.0 * direction[i])
    return straight_motion(rng, point, np.asarray(t_closest_s, dtype=np.float64), velocity,
                           duration_s, step_s)


def _height_changes(rng, height0_m, duration_s, low_m=60.0, high_m=280.0):
    """One climb or descent of 20-40 s to a new height in [low_m, high_m],
    starting at 10-60 % of the run: ``[(0, 0), (t_1, c), (t_1 + L, 0)]``."""
    length = rng.uniform(20.0, 40.0)
    begin = rng.uniform(0.1, 0.6) * duration_s
    rate = float(np.clip((rng.uniform(low_m, high_m) - height0_m) / length, -1.5, 1.5))
    return [(0.0, 0.0), (begin, rate), (begin + length, 0.0)]


def _inbound_plan(rng, asset_en, bearing_deg, miss_m, final_distance_m, speed_mps, side,
                  turn_back_distance_m=None):
    """Plan an inbound drone backwards from its final straight leg.

    The final leg heads from bearing ``bearing_deg`` (seen from the asset)
    towards the asset and passes it ``miss_m`` to one ``side`` (+1 right of
    the track, -1 left); it begins ``final_distance_m`` from the asset.
    Before it the drone flies a first leg of 5-25 s on a heading 10-35
    degrees off, then turns onto the final leg at 6-12 deg/s.  With
    ``turn_back_distance_m`` the drone turns through 180 degrees when
    ``turn_back_distance_m`` from the asset (before its closest approach)
    and flies back out.

    Returns
    -------
    start : ndarray, shape (2,)
    heading0_deg : float
    schedule : list of (length_s, speed_mps, turn_rate_dps)
    """
    heading = bearing_deg + 180.0
    along = _unit(heading)
    across = _unit(heading + 90.0 * side)
    closest = asset_en + miss_m * across
    entry = closest - math.sqrt(final_distance_m ** 2 - miss_m ** 2) * along
    first_leg_s = rng.uniform(5.0, 25.0)
    dogleg_deg = rng.choice((-1.0, 1.0)) * rng.uniform(10.0, 35.0)
    rate_dps = rng.uniform(6.0, 12.0)
    heading0 = heading - dogleg_deg
    turn_start = entry - _turn_displacement(heading0, dogleg_deg, speed_mps, rate_dps)
    start = turn_start - speed_mps * first_leg_s * _unit(heading0)
    schedule = [(first_leg_s, speed_mps, 0.0),
                (abs(dogleg_deg) / rate_dps, speed_mps, math.copysign(rate_dps, dogleg_deg))]
    if turn_back_distance_m is None:
        schedule.append((1.0, speed_mps, 0.0))
    else:
        leg_m = (math.sqrt(final_distance_m ** 2 - miss_m ** 2)
                 - math.sqrt(turn_back_distance_m ** 2 - miss_m ** 2))
        back_rate = rng.uniform(8.0, 12.0)
        schedule += [(leg_m / speed_mps, speed_mps, 0.0),
                     (180.0 / back_rate, speed_mps, rng.choice((-1.0, 1.0)) * back_rate),
                     (1.0, speed_mps, 0.0)]
    return start, heading0, schedule


def _inbound_drones(rng, plans, duration_s, step_s, asset_en):
    """Drones of :func:`_inbound_plan`, each plan a dict of its arguments and
    ``height_m`` (and optionally ``level`` True to fly level)."""
    starts, headings, schedules, climbs = [], [], [], []
    for plan in plans:
        start, heading0, schedule = _inbound_plan(
            rng, asset_en, plan["bearing_deg"], plan["miss_m"], plan["final_distance_m"],
            plan["speed_mps"], plan["side"], plan.get("turn_back_distance_m"))
        starts.append([start[0], start[1], plan["height_m"]])
        headings.append(heading0)
        schedules.append(schedule)
        climbs.append([(0.0, 0.0)] if plan.get("level") else
                      _height_changes(rng, plan["height_m"], duration_s))
    return _scheduled_motion(rng, np.array(starts), np.array(headings), schedules, climbs,
                             duration_s, step_s)


_INTRUSION_PARAMETERS = {
    # speed (m/s), final leg start (m from the asset), miss distance (m)
    "enters_critical": dict(speed=(18.5, 20.0), final=(7000.0, 7200.0), miss=(0.0, 150.0)),
    "enters_alert": dict(speed=(15.0, 18.0), final=(7000.0, 7400.0), miss=(1200.0, 2200.0)),
    "turns_back": dict(speed=(12.0, 18.0), final=(7000.0, 7600.0), miss=(0.0, 1500.0)),
}


def _intrusion_plans(rng, roles, asset_en):
    """Inbound plans for plant-1 drones of the given roles, from bearings
    spread around the asset."""
    n = len(roles)
    bearings = rng.uniform(0.0, 360.0) + 360.0 * np.arange(n) / n + rng.uniform(-15.0, 15.0, n)
    plans = []
    for role, bearing in zip(roles, bearings):
        p = _INTRUSION_PARAMETERS[role]
        plan = dict(bearing_deg=float(bearing), miss_m=rng.uniform(*p["miss"]),
                    final_distance_m=rng.uniform(*p["final"]), speed_mps=rng.uniform(*p["speed"]),
                    side=rng.choice((-1.0, 1.0)), height_m=rng.uniform(60.0, 250.0))
        if role == "turns_back":
            plan["turn_back_distance_m"] = rng.uniform(4300.0, 5200.0)
        plans.append(plan)
    return plans


def _intrusion_targets(rng, duration_s, step_s, n_targets):
    n = _count(n_targets, int(rng.integers(6, 10)), 3,
               "plant-1 drones: one turns back, one enters the alert zone, one the critical zone")
    n_back = min(int(rng.integers(1, 3)), n - 2)
    n_critical = max(1, int(round(0.4 * (n - n_back))))
    roles = (["enters_critical"] * n_critical + ["enters_alert"] * (n - n_back - n_critical)
             + ["turns_back"] * n_back)
    roles = [roles[k] for k in rng.permutation(n)]
    plans = _intrusion_plans(rng, roles, ASSET_ENU_M[:2])
    # One more drone flies into the substation's critical zone from the west.
    substation = dict(bearing_deg=rng.uniform(240.0, 330.0), miss_m=rng.uniform(0.0, 60.0),
                      final_distance_m=rng.uniform(3000.0, 3300.0),
                      speed_mps=rng.uniform(12.0, 15.0), side=rng.choice((-1.0, 1.0)),
                      height_m=rng.uniform(80.0, 150.0), level=True)
    plant = _inbound_drones(rng, plans, duration_s, step_s, ASSET_ENU_M[:2])
    other = _inbound_drones(rng, [substation], duration_s, step_s, SUBSTATION_ENU_M[:2])
    trajectories = Trajectories.concatenate([plant, other])
    roles = {i + 1: role for i, role in enumerate(roles)}
    roles[n + 1] = "enters_critical"
    role_asset = {i: "plant-1" for i in range(1, n + 1)}
    role_asset[n + 1] = "substation-2"
    return trajectories, {"roles": roles, "role_asset": role_asset}


def _skirt_targets(rng, duration_s, step_s, n_targets):
    _fixed_count(n_targets, 6, "skirt")
    asset = ASSET_ENU_M[:2]
    b = rng.uniform(0.0, 360.0)
    sense = rng.choice((-1.0, 1.0), 6)
    outside = rng.uniform(350.0, 750.0, 4)
    # Arcs (targets 1-3): the skimmer weaving across the alert circle, one
    # outside the warning circle and one outside the alert circle.
    arc_radius = np.array([_ALERT_RADIUS_M, _WARNING_RADIUS_M + outside[0],
                           _ALERT_RADIUS_M + outside[1]])
    arc_bearing = np.array([b, b + 120.0, b + 240.0]) + rng.uniform(-20.0, 20.0, 3)
    arc_speed = rng.uniform(12.0, 16.0, 3)
    wobble_amplitude = rng.uniform(30.0, 50.0)
    wobble_period = rng.uniform(50.0, 70.0)
    arcs = _orbit_motion(rng, duration_s, step_s, "drone", asset, arc_radius, arc_bearing,
                         arc_speed, sense[:3], rng.uniform(90.0, 250.0, 3),
                         wobble=(np.array([wobble_amplitude, 0.0, 0.0]),
                                 np.array([wobble_period, 1.0, 1.0]),
                                 np.array([rng.uniform(0.0, 2.0 * np.pi), 0.0, 0.0])),
                         height_wave=(rng.uniform(5.0, 25.0, 3), rng.uniform(60.0, 120.0, 3),
                                      rng.uniform(0.0, 2.0 * np.pi, 3)))
    # Tangent lines (targets 4-6): outside the warning circle, outside the
    # alert circle, and the far drone 1800-2400 m outside the warning circle.
    line_distance = np.array([_WARNING_RADIUS_M + outside[2], _ALERT_RADIUS_M + outside[3],
                              _WARNING_RADIUS_M + rng.uniform(1800.0, 2400.0)])
    line_bearing = np.array([b + 60.0, b + 180.0, b + 300.0]) + rng.uniform(-20.0, 20.0, 3)
    lines = _tangent_line(rng, duration_s, step_s, asset, line_distance, line_bearing,
                          rng.uniform(12.0, 18.0, 3), sense[3:], rng.uniform(80.0, 250.0, 3),
                          rng.uniform(0.4, 0.6, 3) * duration_s)
    trajectories = Trajectories.concatenate([arcs, lines])
    roles = {1: "skimmer", 2: "skirt_warning", 3: "skirt_alert", 4: "skirt_warning",
             5: "skirt_alert", 6: "far"}
    zone_of = {"skirt_warning": (0, "warning"), "skirt_alert": (1, "alert")}
    skirt = {target_id: {"asset_id": "plant-1", "zone_index": zone_of[role][0],
                         "level": zone_of[role][1], "distance_m": (300.0, 800.0),
                         "path": "arc" if target_id <= 3 else "tangent"}
             for target_id, role in roles.items() if role in zone_of}
    facts = {
        "roles": roles,
        "role_asset": {target_id: "plant-1" for target_id in roles},
        "skirt": skirt,
        "skimmer": {"target_id": 1, "asset_id": "plant-1", "zone_index": 1,
                    "radius_m": _ALERT_RADIUS_M, "amplitude_m": float(wobble_amplitude),
                    "period_s": float(wobble_period)},
        "far": {6: {"asset_id": "plant-1", "min_distance_m": 1500.0}},
    }
    return trajectories, facts


_BIRD_FLOCK_PATTERN = ("circling_critical", "circling_alert", "crossing", "circling_around",
                       "crossing", "circling_alert", "crossing")


def _birdzone_targets(rng, duration_s, step_s, n_targets):
    n_flocks = _count(n_targets, int(rng.integers(8, 14)), 1, "bird flocks")
    asset = ASSET_ENU_M[:2]
    flock_kind = [_BIRD_FLOCK_PATTERN[k % len(_BIRD_FLOCK_PATTERN)] for k in range(n_flocks)]
    sizes = rng.integers(3, 13, n_flocks)
    # Circling leaders: (centre distance range, circle radius range, drift speed range).
    circling = {"circling_critical": ((0.0, 150.0), (50.0, 90.0), (0.0, 0.1)),
                "circling_alert": ((1200.0, 2200.0), (80.0, 200.0), (0.0, 0.5)),
                "circling_around": ((3500.0, 6500.0), (100.0, 250.0), (0.5, 2.0))}
    leaders = []
    for kind in flock_kind:
        if kind == "crossing":
            start = _starts(rng, 1, 6000.0, "bird", centre=asset)
            leaders.append(bird_motion(rng, start, rng.uniform(0.0, 360.0, 1), duration_s, step_s))
            continue
        distance, radius, drift = circling[kind]
        centre = asset + rng.uniform(*distance) * _unit(rng.uniform(0.0, 360.0))
        drift_mps = rng.uniform(*drift) * _unit(rng.uniform(0.0, 360.0))
        leaders.append(_orbit_motion(
            rng, duration_s, step_s, "bird", centre[None, :], np.array([rng.uniform(*radius)]),
            np.array([rng.uniform(0.0, 360.0)]), np.array([rng.uniform(7.0, 10.0)]),
            np.array([rng.choice((-1.0, 1.0))]), np.array([rng.uniform(60.0, 250.0)]),
            drift_mps=drift_mps[None, :],
            height_wave=(np.array([rng.uniform(5.0, 20.0)]), np.array([rng.uniform(40.0, 90.0)]),
                         np.array([rng.uniform(0.0, 2.0 * np.pi)]))))
    leaders = Trajectories.concatenate(leaders)
    leader_index = np.repeat(np.arange(n_flocks), sizes)
    n_members = leader_index.shape[0]
    spread = 4.0 + 1.5 * sizes[leader_index]
    offset = np.column_stack([_disc(rng, n_members, 1.0) * spread[:, None],
                              rng.uniform(-3.0, 3.0, n_members)])
    flocks = formation(rng, leaders, leader_index, offset, jitter_m=(0.3, 1.5),
                       period_s=(5.0, 15.0))
    n_singles = int(rng.integers(3, 7))
    single_start = np.vstack([_starts(rng, 1, 2000.0, "bird", centre=asset),
                              _starts(rng, n_singles - 1, 6000.0, "bird", centre=asset)])
    singles = bird_motion(rng, single_start, rng.uniform(0.0, 360.0, n_singles), duration_s,
                          step_s)
    n_drones = 3
    plans = _intrusion_plans(rng, ["enters_alert"] * n_drones, asset)
    for plan in plans:
        plan["final_distance_m"] = rng.uniform(6500.0, 7000.0)
        plan["speed_mps"] = rng.uniform(12.0, 16.0)
    drones = _inbound_drones(rng, plans, duration_s, step_s, asset)
    trajectories = Trajectories.concatenate([flocks, singles, drones])
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]]) + 1
    flock_ids = [tuple(range(int(a), int(a + size))) for a, size in zip(first, sizes)]
    roles = {}
    for ids, kind in zip(flock_ids, flock_kind):
        roles.update({target_id: "flock_" + kind for target_id in ids})
    roles.update({n_members + 1 + k: "single_bird" for k in range(n_singles)})
    drone_ids = range(n_members + n_singles + 1, n_members + n_singles + n_drones + 1)
    roles.update({target_id: "enters_alert" for target_id in drone_ids})
    role_asset = {target_id: "plant-1" for target_id, role in roles.items()
                  if role in ("enters_alert", "flock_circling_critical", "flock_circling_alert")}
    return trajectories, {"roles": roles, "role_asset": role_asset, "flocks": flock_ids,
                          "flock_kind": flock_kind}


def _polygon_enu(asset, zone):
    """(V, 2) site-frame east, north of a zone polygon's vertices."""
    lat_deg, lon_deg = np.array(zone.polygon).T
    return _frame().from_geodetic(lat_deg, lon_deg, np.full(lat_deg.shape, asset.alt_m))[:, :2]


def _hover_targets(rng, duration_s, step_s, n_targets):
    _fixed_count(n_targets, 3, "hover")
    asset = ASSET_ENU_M[:2]
    b = rng.uniform(0.0, 360.0)
    # 1: outside the alert circle by 270-330 m; 2: inside the warning circle,
    # 4300-4900 m from the asset; both fly in from outside the warning circle.
    bearings = (b, b + rng.uniform(100.0, 260.0))
    hover_radius = (_ALERT_RADIUS_M + rng.uniform(270.0, 330.0), rng.uniform(4300.0, 4900.0))
    start_radius = (rng.uniform(6300.0, 6600.0), rng.uniform(6400.0, 6800.0))
    speeds = (rng.uniform(18.0, 20.0), rng.uniform(12.0, 16.0))
    hover_point, start_point = [], []
    for bearing, r_hover, r_start in zip(bearings, hover_radius, start_radius):
        hover_point.append(asset + r_hover * _unit(bearing))
        start_point.append(asset + r_start * _unit(bearing + rng.uniform(-10.0, 10.0)))
    # 3: 70-120 m outside the middle of a critical-polygon edge, flying in
    # along the edge's outward normal from 2800-3200 m away.
    plant = _asset()
    vertices = _polygon_enu(plant, plant.zones[2])
    k = int(rng.integers(0, vertices.shape[0]))
    a, c = vertices[k], vertices[(k + 1) % vertices.shape[0]]
    middle = 0.5 * (a + c)
    normal = np.array([c[1] - a[1], a[0] - c[0]]) / np.hypot(*(c - a))
    if np.dot(normal, middle - vertices.mean(axis=0)) < 0.0:
        normal = -normal
    hover_point.append(middle + rng.uniform(70.0, 120.0) * normal)
    start_point.append(hover_point[-1] + rng.uniform(2800.0, 3200.0) * normal)
    speeds += (rng.uniform(15.0, 18.0),)
    heights = rng.uniform(80.0, 250.0, 3)
    starts, headings, schedules, arrivals = [], [], [], []
    for start, hover, speed, height in zip(start_point, hover_point, speeds, heights):
        leg = hover - start
        arrival_s = float(np.hypot(*leg)) / speed
        starts.append([start[0], start[1], height])
        headings.append(_bearing_deg(leg))
        schedules.append([(arrival_s, speed, 0.0), (1.0, 0.0, 0.0)])
        arrivals.append(arrival_s)
    trajectories = _scheduled_motion(rng, np.array(starts), np.array(headings), schedules,
                                     [[(0.0, 0.0)]] * 3, duration_s, step_s,
                                     hover_jitter_m=(0.3, 0.8))
    roles = {1: "hover_outside_alert", 2: "hover_inside_warning", 3: "hover_outside_critical"}
    zone = {1: (1, "alert", (200.0, 400.0)), 2: (0, "warning", (-2000.0, -800.0)),
            3: (2, "critical", (30.0, 200.0))}
    hover = {target_id: {"asset_id": "plant-1", "zone_index": zone[target_id][0],
                         "level": zone[target_id][1], "distance_m": zone[target_id][2],
                         "start_s": arrivals[target_id - 1] + 10.0, "end_s": duration_s,
                         "east_m": float(hover_point[target_id - 1][0]),
                         "north_m": float(hover_point[target_id - 1][1]),
                         "up_m": float(heights[target_id - 1])}
             for target_id in roles}
    return trajectories, {"roles": roles, "role_asset": {i: "plant-1" for i in roles},
                          "hover": hover}


# --------------------------------------------------------------------------
# Bird-rich scenes: birdrich, birdmix, birdlarge
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class BirdMix:
    """Settings of a bird-rich scene (see docs/behaviours.md).

    Attributes
    ----------
    n_targets : int
        All targets: drones, aircraft and birds (the rest).
    n_drones, n_aircraft : int
    drone_weights, bird_weights : dict
        Behaviour -> share of the drones (of the birds); the counts are the
        shares rounded by largest remainder.
    flock_size : (int, int) or None
        Group sizes of ``formation`` and ``agile_flock`` (None: each
        behaviour's own ``size``).
    n_radars : int
        2 to 8 radars on a ring around the asset.
    clutter_per_scan : float
        Mean false plots per scan per radar.
    area_m : float
        Birds start in a disc of this radius around the asset.
    inbound : bool
        Drones head for the asset from the start.
    detection_threshold_db : float
        SNR detection threshold (fluctuating cross-sections,
        :mod:`radarcore.sim.sensors`).
    behaviours : tuple of str or None
        Only these behaviours are drawn (None: all with a weight).
    exclude_behaviours : tuple of str
        These behaviours are not drawn; the counts of their kind go to the
        kind's other behaviours, or the kind has none.
    """

    n_targets: int
    n_drones: int
    n_aircraft: int
    drone_weights: dict
    bird_weights: dict
    flock_size: tuple | None
    n_radars: int
    clutter_per_scan: float
    area_m: float = 8000.0
    inbound: bool = False
    detection_threshold_db: float = 5.0
    behaviours: tuple | None = None
    exclude_behaviours: tuple = ()

    def with_options(self, n_targets=None, n_drones=None, n_radars=None, clutter_per_scan=None,
                     behaviours=None, exclude_behaviours=None):
        """A copy with the options given (None keeps the scene's), checked."""
        changes = {}
        if n_targets is not None:
            changes["n_targets"] = int(n_targets)
        if n_drones is not None:
            changes["n_drones"] = int(n_drones)
        elif n_targets is not None:
            # Keep the scene's share of drones.
            changes["n_drones"] = int(round(self.n_drones * int(n_targets) / self.n_targets))
        if n_radars is not None:
            changes["n_radars"] = int(n_radars)
        if clutter_per_scan is not None:
            changes["clutter_per_scan"] = float(clutter_per_scan)
        if behaviours is not None:
            changes["behaviours"] = tuple(behaviours)
        if exclude_behaviours is not None:
            changes["exclude_behaviours"] = tuple(exclude_behaviours)
        mix = replace(self, **changes)
        mix.check()
        return mix

    def check(self):
        if not 2 <= self.n_radars <= 8:
            raise ValueError(f"radars must be 2 to 8, got {self.n_radars}")
        if not (math.isfinite(self.clutter_per_scan) and 0.0 <= self.clutter_per_scan <= 1000.0):
            raise ValueError(f"clutter must be 0 to 1000 plots per scan per radar, "
                             f"got {self.clutter_per_scan}")
        if self.n_targets < 1:
            raise ValueError(f"n_targets must be at least 1, got {self.n_targets}")
        if not 0 <= self.n_drones <= self.n_targets - self.n_aircraft:
            raise ValueError(f"drones must be 0 to {self.n_targets - self.n_aircraft} "
                             f"(targets less aircraft), got {self.n_drones}")
        for name in (self.behaviours or ()) + self.exclude_behaviours:
            if name not in BEHAVIOURS:
                raise ValueError(f"unknown behaviour {name!r}; known: {', '.join(BEHAVIOURS)}")

    def selected(self, behaviour):
        """Whether a behaviour may be drawn under the include/exclude options."""
        if behaviour in self.exclude_behaviours:
            return False
        return self.behaviours is None or behaviour in self.behaviours

    def counts(self):
        """Behaviour -> target count, drones first, then aircraft, then birds."""
        counts = {}
        n_aircraft = self.n_aircraft if self.selected("light_aircraft") else 0
        n_birds = self.n_targets - self.n_drones - self.n_aircraft
        counts.update(_split(self.n_drones, {name: w for name, w in self.drone_weights.items()
                                             if self.selected(name)}))
        if n_aircraft:
            counts["light_aircraft"] = n_aircraft
        counts.update(_split(n_birds, {name: w for name, w in self.bird_weights.items()
                                       if self.selected(name)}))
        return counts


def _split(total, weights):
    """Counts per name, proportional to weights, summing to ``total`` (largest
    remainder); empty when no weight is positive."""
    weights = {name: float(w) for name, w in weights.items() if w > 0.0}
    if not weights or total <= 0:
        return {}
    names = list(weights)
    share = np.array([weights[name] for name in names])
    exact = total * share / share.sum()
    counts = np.floor(exact).astype(np.int64)
    for k in np.argsort(-(exact - counts), kind="stable")[:total - int(counts.sum())]:
        counts[k] += 1
    return {name: int(count) for name, count in zip(names, counts)}


def bird_site(mix):
    """Site of a bird-rich scene: ``n_radars`` radars on a ring around the
    asset (4500 m; 3500 m for two), every third one a plain radar with a 2 s
    scan, the others Doppler radars with a 1 s scan; 10 km range,
    ``p_detection`` 0.95, ``false_alarm_density`` giving ``clutter_per_scan``."""
    radius = 3500.0 if mix.n_radars == 2 else 4500.0
    density = mix.clutter_per_scan / clutter_volume_m3(10000.0)
    radars = []
    for k in range(mix.n_radars):
        bearing = 20.0 + 360.0 * k / mix.n_radars
        east, north = ASSET_ENU_M[:2] + radius * _unit(bearing)
        if k % 3 == 2:
            radars.append(_plain_radar(k + 1, east, north, 30.0, 2.0, 10000.0, density,
                                       p_detection=0.95))
        else:
            radars.append(_doppler_radar(k + 1, east, north, 25.0, 1.0, 10000.0, density,
                                         p_detection=0.95))
    return _site(*radars)


def bird_scene_targets(rng, duration_s, step_s, mix):
    """Targets of a bird-rich scene (:func:`radarcore.sim.behaviours.behaviour_targets`).

    Returns
    -------
    trajectories : Trajectories
    facts : dict
        ``behaviour`` (target_id -> behaviour), ``flocks`` (tuples of the
        target ids of each bird flock, leader first), ``swarms`` (the same
        for drone swarms), ``groups`` (behaviour of each flock or swarm, in
        order: ``[(behaviour, target_ids), ...]``), ``wind_mps`` (E, N),
        ``counts`` (behaviour -> count), ``clutter_per_scan``.
    """
    counts = mix.counts()
    trajectories, groups, wind = behaviour_targets(
        rng, counts, duration_s, step_s, ASSET_ENU_M[:2], area_m=mix.area_m,
        flock_size=mix.flock_size, inbound=mix.inbound)
    as_ids = [(group["behaviour"], tuple(i + 1 for i in group["index"])) for group in groups]
    facts = {
        "behaviour": {int(i): str(b) for i, b in zip(trajectories.target_id,
                                                     trajectories.behaviour)},
        "flocks": [ids for behaviour, ids in as_ids if BEHAVIOURS[behaviour]["kind"] == "bird"],
        "swarms": [ids for behaviour, ids in as_ids if behaviour == "swarm"],
        "groups": as_ids,
        "wind_mps": (float(wind[0]), float(wind[1])),
        "counts": counts,
        "clutter_per_scan": mix.clutter_per_scan,
        "detection_threshold_db": mix.detection_threshold_db,
    }
    return trajectories, facts


_BIRDRICH = BirdMix(
    n_targets=300, n_drones=30, n_aircraft=1,
    drone_weights={"multirotor": 0.4, "fixed_wing": 0.2, "loiter": 0.2, "swarm": 0.2},
    bird_weights={"commuter": 0.30, "soaring": 0.20, "gull": 0.17, "formation": 0.15,
                  "agile_flock": 0.18},
    flock_size=(3, 6), n_radars=4, clutter_per_scan=50.0)
_BIRDMIX = BirdMix(
    n_targets=226, n_drones=12, n_aircraft=0,
    drone_weights={"multirotor": 1.0, "fixed_wing": 1.0, "loiter": 1.0},
    bird_weights={"soaring": 0.3, "formation": 0.25, "commuter": 0.25, "agile_flock": 0.2},
    flock_size=None, n_radars=4, clutter_per_scan=20.0, inbound=True)
_BIRDLARGE = BirdMix(
    n_targets=3000, n_drones=400, n_aircraft=0,
    drone_weights={"multirotor": 0.4, "fixed_wing": 0.2, "loiter": 0.15, "swarm": 0.25},
    bird_weights={"commuter": 0.30, "soaring": 0.20, "gull": 0.17, "formation": 0.15,
                  "agile_flock": 0.18},
    flock_size=None, n_radars=8, clutter_per_scan=200.0, area_m=9000.0)


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
    #: Bird-rich scenes: their settings; ``site`` and ``targets`` are then
    #: :func:`bird_site` and :func:`bird_scene_targets`.
    mix: BirdMix | None = None


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
    ScenarioSpec("intrusion", "3 radars, 7-10 drones flying into the zones of two assets",
                 400.0, 0.2, _intrusion_site, _intrusion_targets, lambda n: (n or 9) + 1),
    ScenarioSpec("skirt", "3 radars, drones skirting the zone boundaries, a skimmer, a far drone",
                 360.0, 0.2, _skirt_site, _skirt_targets, lambda n: 6),
    ScenarioSpec("birdzone", "3 radars, clutter, bird flocks in and around the zones, 3 drones",
                 600.0, 0.2, _birdzone_site, _birdzone_targets,
                 lambda n: 12 * (n or 13) + 9),
    ScenarioSpec("hover", "2 Doppler radars, 3 drones hovering near zone boundaries",
                 400.0, 0.2, _hover_site, _hover_targets, lambda n: 3),
    ScenarioSpec("birdrich", "4 radars, 50 clutter plots/scan, 30 drones of four kinds, "
                 "269 birds of five behaviours (a third in flocks of 3-6), 1 aircraft",
                 300.0, 1.0, bird_site, bird_scene_targets, lambda n: n or 300, _BIRDRICH),
    ScenarioSpec("birdmix", "4 radars, 20 clutter plots/scan, 12 inbound drones (multirotor, "
                 "fixed-wing, loiter) among soaring, V-formation, commuting and agile-flock birds",
                 500.0, 1.0, bird_site, bird_scene_targets, lambda n: n or 226, _BIRDMIX),
    ScenarioSpec("birdlarge", "8 radars, 200 clutter plots/scan, 400 drones and 2,600 birds",
                 120.0, 1.0, bird_site, bird_scene_targets, lambda n: n or 3000, _BIRDLARGE),
)}
