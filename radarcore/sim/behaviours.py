"""Bird and drone behaviours: motion models with per-target parameter draws.

Each behaviour is a motion model and a radar cross-section model.  Every
parameter with a range in :data:`BEHAVIOURS` is drawn per target (per flock
or swarm for the shared ones) uniformly in that range (``rcs_m2``
log-uniformly), so that a scenario holds a spread of each behaviour, not one
bird copied.  docs/behaviours.md describes every model and its parameters
for users; this module is the one source of the numbers.

Birds
    ``soaring``: thermal circling at 10-25 deg/s while climbing, drifting
    with the wind, then a straight glide while sinking, repeated.
    ``formation``: geese in a V, 15-20 m/s, 10-20 m between neighbours on
    an arm, slow heading wander of the leader; the V turns with the leader.
    ``commuter``: crows and pigeons, 10-16 m/s, slow heading wander around a
    destination bearing.
    ``agile_flock``: starlings or swallows, a leader with fast random turns
    (20-45 deg/s spread) and loose members that turn with it.
    ``gull``: alternating flapping (slower, climbing) and gliding (faster,
    sinking) phases, heading wander, sometimes a banked circling phase.
Drones
    ``multirotor``: legs between waypoints with hovers and dashes.
    ``fixed_wing``: 20-35 m/s legs joined by coordinated turns, no hover.
    ``loiter``: a transit towards a point near the asset, then circling
    over it.
    ``swarm``: multirotors in a lattice formation behind a leader.
Others
    ``light_aircraft`` (the ``aircraft`` kind of
    :data:`radarcore.sim.trajectories.KIND_PARAMETERS`).

Motion is built from smooth controls (speed, turn rate, climb rate) on knots
``KNOT_S`` apart, each following its behaviour's law, interpolated onto the
trajectory grid, smoothed (:func:`radarcore.sim.trajectories.moving_average`) and
integrated, as in :mod:`radarcore.sim.trajectories`.  Wind adds to the
ground velocity of the soaring birds and the gulls.  Formation members
follow their leader at offsets fixed in the leader's body frame
(``forward``, ``right``), rotated by the leader's heading ``psi``:

.. math::

    p_m = p_L + R(\\psi) d_m, \\quad
    \\dot p_m = \\dot p_L + \\dot\\psi \\, (d_{E}', -d_{N}')

with ``R(psi) d = (f sin psi + r cos psi, f cos psi - r sin psi)`` and
``(d_E', d_N') = R(psi) d``, plus a smooth individual jitter.
"""
from __future__ import annotations

import math

import numpy as np

from radarcore.sim.trajectories import (
    KIND_PARAMETERS, Trajectories, horizontal_velocity, integrate_positions, leg_motion,
    log_uniform, moving_average, sample_grid)

__all__ = ["BEHAVIOURS", "BIRD_BEHAVIOURS", "DRONE_BEHAVIOURS", "FLOCK_BEHAVIOURS", "KNOT_S",
           "behaviour_targets"]

#: Spacing of the control knots (s).
KNOT_S = 0.5

#: Parameters of every behaviour.  Pairs are ranges drawn per target (per
#: flock or swarm where the parameter is shared); ``rcs_m2`` is the mean
#: cross-section, drawn log-uniformly; ``swerling`` is its plot-to-plot
#: fluctuation (1: chi-square 2 dof, 3: chi-square 4 dof; see
#: :mod:`radarcore.sim.sensors`).  Speeds m/s, rates deg/s, heights m above
#: the site plane, times s.
BEHAVIOURS = {
    "soaring": dict(
        kind="bird", rcs_m2=(0.02, 0.2), swerling=1, height_m=(80.0, 600.0),
        thermal_turn_dps=(10.0, 25.0), thermal_airspeed_mps=(8.0, 12.0),
        thermal_s=(40.0, 150.0), thermal_climb_mps=(1.0, 3.0),
        glide_speed_mps=(12.0, 18.0), glide_s=(20.0, 90.0), glide_sink_mps=(0.8, 2.0),
        glide_wander_dps=2.0, wander_tau_s=8.0, wind_mps=(2.0, 8.0)),
    "formation": dict(
        kind="bird", rcs_m2=(0.05, 0.3), swerling=1, height_m=(60.0, 400.0),
        speed_mps=(15.0, 20.0), spacing_m=(10.0, 20.0), half_angle_deg=(25.0, 40.0),
        size=(5, 15), wander_dps=1.5, wander_tau_s=20.0, climb_sigma_mps=0.3,
        jitter_m=(0.3, 1.0)),
    "commuter": dict(
        kind="bird", rcs_m2=(0.005, 0.05), swerling=1, height_m=(20.0, 150.0),
        speed_mps=(10.0, 16.0), speed_sigma_mps=0.8, wander_dps=1.5, wander_tau_s=10.0,
        heading_pull_per_s=0.05, climb_sigma_mps=0.4),
    "agile_flock": dict(
        kind="bird", rcs_m2=(0.001, 0.01), swerling=1, height_m=(10.0, 120.0),
        speed_mps=(8.0, 18.0), speed_sigma_mps=2.0, turn_sigma_dps=(20.0, 45.0),
        turn_tau_s=(1.0, 3.0), size=(6, 30), spacing_m=(2.0, 8.0), jitter_m=(1.0, 4.0),
        frame_smoothing_s=6.0, climb_sigma_mps=1.0),
    "gull": dict(
        kind="bird", rcs_m2=(0.01, 0.08), swerling=1, height_m=(10.0, 200.0),
        flap_speed_mps=(9.0, 13.0), flap_s=(5.0, 20.0), flap_climb_mps=(0.0, 1.5),
        glide_speed_mps=(11.0, 16.0), glide_s=(3.0, 15.0), glide_sink_mps=(0.3, 2.0),
        wander_dps=8.0, wander_tau_s=3.0, bank_turn_dps=(10.0, 20.0),
        bank_probability=0.2, wind_mps=(2.0, 8.0)),
    "multirotor": dict(
        kind="drone", rcs_m2=(0.01, 0.1), swerling=3, height_m=(40.0, 200.0),
        speed_mps=(4.0, 22.0), turn_rate_dps=(15.0, 45.0), leg_s=(8.0, 40.0),
        hover_probability=0.35, hover_s=(10.0, 40.0), hover_speed_mps=(0.0, 0.3),
        climb_mps=2.5, climb_segment_s=(10.0, 40.0), speed_smoothing_s=2.0,
        waypoint_radius_m=3000.0),
    "fixed_wing": dict(
        kind="drone", rcs_m2=(0.05, 0.5), swerling=3, height_m=(80.0, 400.0),
        speed_mps=(20.0, 35.0), turn_rate_dps=(4.0, 12.0), leg_s=(20.0, 60.0),
        climb_mps=3.0, climb_segment_s=(20.0, 60.0), speed_smoothing_s=4.0,
        waypoint_radius_m=4000.0),
    "loiter": dict(
        kind="drone", rcs_m2=(0.02, 0.2), swerling=3, height_m=(80.0, 300.0),
        speed_mps=(14.0, 25.0), radius_m=(150.0, 500.0), centre_offset_m=(0.0, 1500.0),
        start_distance_m=(5000.0, 8000.0), circling_at_start_probability=0.3,
        height_wave_m=(5.0, 25.0)),
    "swarm": dict(
        kind="drone", rcs_m2=(0.01, 0.05), swerling=3, height_m=(80.0, 200.0),
        speed_mps=(10.0, 16.0), size=(4, 10), pitch_m=(20.0, 50.0), jitter_m=(0.5, 1.5),
        turn_rate_dps=(3.0, 10.0), leg_s=(30.0, 60.0), waypoint_radius_m=1500.0),
    "light_aircraft": dict(kind="aircraft", rcs_m2=(1.0, 5.0), swerling=3),
}

BIRD_BEHAVIOURS = tuple(name for name, p in BEHAVIOURS.items() if p["kind"] == "bird")
DRONE_BEHAVIOURS = tuple(name for name, p in BEHAVIOURS.items() if p["kind"] == "drone")
#: Behaviours whose targets come in groups (flocks, swarms).
FLOCK_BEHAVIOURS = ("formation", "agile_flock", "swarm")


def _uniform(rng, bounds, n):
    return rng.uniform(bounds[0], bounds[1], n)


def _ou_step(rng, value, mean, sigma, a):
    """One Ornstein-Uhlenbeck step: ``mu + a (u - mu) + sigma sqrt(1 - a^2) n``."""
    return mean + a * (value - mean) + sigma * np.sqrt(1.0 - a * a) * rng.standard_normal(
        value.shape[0])


def _n_knots(duration_s):
    return int(math.ceil(duration_s / KNOT_S)) + 2


def _from_knots(start, heading0_rad, speed, turn_rad_s, climb, duration_s, step_s,
                wind_mps=None, smoothing_s=1.0):
    """Position and velocity on the grid from control knots (n, n_knots).

    Knots are interpolated linearly onto the grid, smoothed twice over
    ``smoothing_s``, turned into a horizontal velocity, offset by the wind
    (n, 2) and integrated.
    """
    n = start.shape[0]
    n_samples = sample_grid(duration_s, step_s)
    n_knots = speed.shape[1]
    grid = np.arange(n_samples) * step_s / KNOT_S
    j = np.minimum(grid.astype(np.int64), n_knots - 2)
    weight = grid - j

    def on_grid(knots):
        return moving_average(knots[:, j] * (1.0 - weight) + knots[:, j + 1] * weight,
                              smoothing_s, step_s)

    velocity = np.empty((n, n_samples, 3))
    velocity[..., 0], velocity[..., 1] = horizontal_velocity(heading0_rad, on_grid(turn_rad_s),
                                                              on_grid(speed), step_s)
    if wind_mps is not None:
        velocity[..., 0] += wind_mps[:, :1]
        velocity[..., 1] += wind_mps[:, 1:]
    velocity[..., 2] = on_grid(climb)
    return integrate_positions(start, velocity, step_s), velocity


def _height_pull(height, band, gain=0.02, limit=1.5):
    """Climb rate (m/s) pulling a height back into its band, 0 inside it."""
    low, high = band
    return np.clip(gain * (np.maximum(low - height, 0.0) - np.maximum(height - high, 0.0)),
                   -limit, limit)


def _make(behaviour, rng, position, velocity, step_s, n):
    p = BEHAVIOURS[behaviour]
    return Trajectories(step_s, position, velocity, np.full(n, p["kind"]),
                        log_uniform(rng, p["rcs_m2"], n), np.full(n, behaviour),
                        np.full(n, p["swerling"]))


# --------------------------------------------------------------------------
# Birds
# --------------------------------------------------------------------------

def soaring(rng, start, heading0_deg, duration_s, step_s, wind_mps):
    """Soaring birds (buzzards, kites, storks): thermal circling, then gliding.

    In a thermal (``thermal_s`` long, or until 1.5 x the top of ``height_m``)
    the bird circles at a constant signed rate drawn in ``thermal_turn_dps``
    at ``thermal_airspeed_mps`` and climbs at ``thermal_climb_mps``; in a
    glide (``glide_s``, or until below the bottom of ``height_m``) it flies at
    ``glide_speed_mps``, sinks at ``glide_sink_mps`` and its turn rate is an
    Ornstein-Uhlenbeck wander (sigma ``glide_wander_dps``, time constant
    ``wander_tau_s``).  The wind (``wind_mps``, one vector per scenario) adds
    to the ground velocity throughout, so the circles drift downwind.
    Each bird starts in a thermal or a glide with even odds.
    """
    p = BEHAVIOURS["soaring"]
    n = start.shape[0]
    n_knots = _n_knots(duration_s)
    speed = np.empty((n, n_knots))
    turn = np.empty((n, n_knots))
    climb = np.empty((n, n_knots))
    low, high = p["height_m"]
    in_thermal = rng.random(n) < 0.5
    remaining = np.where(in_thermal, _uniform(rng, p["thermal_s"], n), _uniform(rng, p["glide_s"], n))
    thermal_turn = np.radians(_uniform(rng, p["thermal_turn_dps"], n)) * rng.choice((-1.0, 1.0), n)
    thermal_speed = _uniform(rng, p["thermal_airspeed_mps"], n)
    thermal_climb = _uniform(rng, p["thermal_climb_mps"], n)
    glide_speed = _uniform(rng, p["glide_speed_mps"], n)
    glide_sink = _uniform(rng, p["glide_sink_mps"], n)
    wander = np.zeros(n)
    a = math.exp(-KNOT_S / p["wander_tau_s"])
    sigma = math.radians(p["glide_wander_dps"])
    height = start[:, 2].copy()
    for j in range(n_knots):
        wander = _ou_step(rng, wander, 0.0, sigma, a)
        switch = (remaining <= 0.0) | (in_thermal & (height > 1.5 * high)) | (~in_thermal & (height < low))
        if switch.any():
            k = int(switch.sum())
            in_thermal = np.where(switch, ~in_thermal, in_thermal)
            remaining[switch] = np.where(in_thermal[switch], _uniform(rng, p["thermal_s"], k),
                                         _uniform(rng, p["glide_s"], k))
            thermal_turn[switch] = (np.radians(_uniform(rng, p["thermal_turn_dps"], k))
                                    * rng.choice((-1.0, 1.0), k))
            thermal_climb[switch] = _uniform(rng, p["thermal_climb_mps"], k)
            glide_sink[switch] = _uniform(rng, p["glide_sink_mps"], k)
        speed[:, j] = np.where(in_thermal, thermal_speed, glide_speed)
        turn[:, j] = np.where(in_thermal, thermal_turn, wander)
        climb[:, j] = np.where(in_thermal, thermal_climb, -glide_sink)
        height += KNOT_S * climb[:, j]
        remaining -= KNOT_S
    wind = np.broadcast_to(np.asarray(wind_mps, dtype=np.float64), (n, 2))
    position, velocity = _from_knots(start, np.radians(heading0_deg), speed, turn, climb,
                                     duration_s, step_s, wind, smoothing_s=2.0)
    return _make("soaring", rng, position, velocity, step_s, n)


def commuter(rng, start, heading0_deg, duration_s, step_s):
    """Commuting crows and pigeons: near-straight flight with slow wander.

    Turn rate ``w = -k (psi - psi_0) + u`` with ``u`` an Ornstein-Uhlenbeck
    process (sigma ``wander_dps``, time constant ``wander_tau_s``) and
    ``k = heading_pull_per_s`` pulling the heading back to the destination
    bearing ``psi_0``; speed an OU process around a mean drawn in
    ``speed_mps`` (sigma ``speed_sigma_mps``, 10 s); climb an OU process
    (sigma ``climb_sigma_mps``, 5 s) plus a pull into ``height_m``.
    """
    p = BEHAVIOURS["commuter"]
    return _wandering(rng, p, start, heading0_deg, duration_s, step_s, "commuter",
                      mean_speed=_uniform(rng, p["speed_mps"], start.shape[0]),
                      speed_sigma=p["speed_sigma_mps"], wander_dps=p["wander_dps"],
                      wander_tau_s=p["wander_tau_s"], pull=p["heading_pull_per_s"],
                      speed_bounds=(0.8 * p["speed_mps"][0], 1.1 * p["speed_mps"][1]))


def _wandering(rng, p, start, heading0_deg, duration_s, step_s, behaviour, mean_speed,
               speed_sigma, wander_dps, wander_tau_s, pull, speed_bounds, turn_tau_s=None):
    """Knot controls of an OU wanderer; returns a Trajectories of ``behaviour``."""
    n = start.shape[0]
    n_knots = _n_knots(duration_s)
    speed = np.empty((n, n_knots))
    turn = np.empty((n, n_knots))
    climb = np.empty((n, n_knots))
    a_turn = np.exp(-KNOT_S / np.broadcast_to(wander_tau_s, (n,)))
    sigma_turn = np.radians(np.broadcast_to(wander_dps, (n,)))
    a_speed = math.exp(-KNOT_S / 10.0)
    a_climb = math.exp(-KNOT_S / 5.0)
    u = rng.normal(0.0, 1.0, n) * sigma_turn * 0.5
    v = mean_speed.copy()
    c = np.zeros(n)
    offset = np.zeros(n)   # heading minus the destination bearing (rad)
    height = start[:, 2].copy()
    for j in range(n_knots):
        u = _ou_step(rng, u, 0.0, sigma_turn, a_turn)
        w = u - pull * offset
        v = np.clip(_ou_step(rng, v, mean_speed, speed_sigma, a_speed), *speed_bounds)
        target = _height_pull(height, p["height_m"])
        c = _ou_step(rng, c, target, p["climb_sigma_mps"], a_climb)
        speed[:, j], turn[:, j], climb[:, j] = v, w, c
        offset += KNOT_S * w
        height += KNOT_S * c
    position, velocity = _from_knots(start, np.radians(heading0_deg), speed, turn, climb,
                                     duration_s, step_s)
    return _make(behaviour, rng, position, velocity, step_s, n)


def gull(rng, start, heading0_deg, duration_s, step_s, wind_mps):
    """Gulls: flapping and gliding phases, heading wander, some banked circling.

    Flapping phases (``flap_s``) at ``flap_speed_mps`` climbing at
    ``flap_climb_mps``; gliding phases (``glide_s``) at ``glide_speed_mps``
    sinking at ``glide_sink_mps``; climb held inside ``height_m`` (a flap
    above the top levels off, a glide below the bottom too).  The turn rate
    is an OU wander (sigma ``wander_dps``, ``wander_tau_s``); a phase is, with
    ``bank_probability``, a banked circle at a signed ``bank_turn_dps``.  The
    wind adds to the ground velocity.
    """
    p = BEHAVIOURS["gull"]
    n = start.shape[0]
    n_knots = _n_knots(duration_s)
    speed = np.empty((n, n_knots))
    turn = np.empty((n, n_knots))
    climb = np.empty((n, n_knots))
    flapping = rng.random(n) < 0.5
    remaining = np.zeros(n)
    phase_speed = np.zeros(n)
    phase_climb = np.zeros(n)
    bank = np.zeros(n)
    wander = np.zeros(n)
    a = math.exp(-KNOT_S / p["wander_tau_s"])
    sigma = math.radians(p["wander_dps"])
    low, high = p["height_m"]
    height = start[:, 2].copy()
    for j in range(n_knots):
        switch = remaining <= 0.0
        if switch.any():
            k = int(switch.sum())
            flapping = np.where(switch, ~flapping, flapping)
            f = flapping[switch]
            remaining[switch] = np.where(f, _uniform(rng, p["flap_s"], k),
                                         _uniform(rng, p["glide_s"], k))
            phase_speed[switch] = np.where(f, _uniform(rng, p["flap_speed_mps"], k),
                                           _uniform(rng, p["glide_speed_mps"], k))
            phase_climb[switch] = np.where(f, _uniform(rng, p["flap_climb_mps"], k),
                                           -_uniform(rng, p["glide_sink_mps"], k))
            banked = rng.random(k) < p["bank_probability"]
            bank[switch] = np.where(banked, np.radians(_uniform(rng, p["bank_turn_dps"], k))
                                    * rng.choice((-1.0, 1.0), k), 0.0)
        wander = _ou_step(rng, wander, 0.0, sigma, a)
        c = np.where((phase_climb > 0.0) & (height > high), 0.0, phase_climb)
        c = np.where((c < 0.0) & (height < low), 0.0, c)
        speed[:, j] = phase_speed
        turn[:, j] = np.where(bank != 0.0, bank, wander)
        climb[:, j] = c
        height += KNOT_S * c
        remaining -= KNOT_S
    wind = np.broadcast_to(np.asarray(wind_mps, dtype=np.float64), (n, 2))
    position, velocity = _from_knots(start, np.radians(heading0_deg), speed, turn, climb,
                                     duration_s, step_s, wind, smoothing_s=2.0)
    return _make("gull", rng, position, velocity, step_s, n)


def _body_members(rng, leader, leader_index, forward_m, right_m, up_m, jitter_m, behaviour,
                  period_s=(5.0, 15.0), frame_smoothing_s=0.0):
    """Members at body-frame offsets of their leaders (see the module docstring).

    Parameters
    ----------
    leader : Trajectories
    leader_index : ndarray of int, shape (m,)
    forward_m, right_m, up_m : ndarray, shape (m,)
        Offsets ahead of, right of and above the leader (m).
    jitter_m : (float, float)
        Range of each member's smooth jitter amplitude (two sinusoids per
        axis, half vertically).
    frame_smoothing_s : float
        The body frame turns with the leader's heading smoothed over this
        long (a centred moving average, twice); 0: rigidly with it.  A
        smoothed frame keeps the flock's shape from whirling in fast turns:
        every member turns with the leader (co-motion) while the shape
        follows slowly.
    """
    m = leader_index.shape[0]
    step_s = leader.step_s
    t = np.arange(leader.n_samples) * step_s
    v = leader.velocity[leader_index]
    psi = np.unwrap(np.arctan2(v[..., 0], v[..., 1]), axis=1)
    if frame_smoothing_s > 0.0:
        psi = moving_average(psi, frame_smoothing_s, step_s)
    psi_dot = np.gradient(psi, step_s, axis=1)
    sin, cos = np.sin(psi), np.cos(psi)
    f, r = forward_m[:, None], right_m[:, None]
    d_east = f * sin + r * cos
    d_north = f * cos - r * sin
    position = leader.position[leader_index].copy()
    velocity = v.copy()
    position[..., 0] += d_east
    position[..., 1] += d_north
    position[..., 2] += up_m[:, None]
    velocity[..., 0] += psi_dot * d_north
    velocity[..., 1] -= psi_dot * d_east
    for _ in range(2):
        amplitude = rng.uniform(jitter_m[0], jitter_m[1], (m, 1, 3)) * np.array([1.0, 1.0, 0.5])
        omega = 2.0 * np.pi / rng.uniform(period_s[0], period_s[1], (m, 1, 3))
        phase = rng.uniform(0.0, 2.0 * np.pi, (m, 1, 3))
        angle = omega * t[None, :, None] + phase
        position += amplitude * np.sin(angle)
        velocity += amplitude * omega * np.cos(angle)
    return _make(behaviour, rng, position, velocity, step_s, m)


def _group_sizes(rng, total, size_range):
    """Split ``total`` members into groups of sizes drawn in ``size_range``
    (inclusive).  A draw that would leave fewer than the smallest size is
    cut so that the rest makes a group of the smallest size, or takes all
    that is left; sizes stay in the range when ``high >= 2 low - 1`` and
    ``total >= low`` (a smaller total is one smaller group)."""
    low, high = size_range
    sizes = []
    left = int(total)
    while left > 0:
        size = min(int(rng.integers(low, high + 1)), left)
        if 0 < left - size < low:
            size = left - low if left - low >= low else left
        sizes.append(size)
        left -= size
    return sizes


def formation_flock(rng, starts, headings_deg, sizes, duration_s, step_s):
    """Geese in V formation: one leader per flock (a slow-wandering flier at
    ``speed_mps``, wander sigma ``wander_dps``, ``wander_tau_s``) and members
    alternately on the left and right arm, the k-th on an arm
    ``k * spacing`` back along the arm at ``half_angle_deg`` from the
    flight direction, with a small jitter (``jitter_m``).  The leader is the
    first target of its flock.
    """
    p = BEHAVIOURS["formation"]
    n_flocks = len(sizes)
    leaders = _wandering(rng, p, starts, headings_deg, duration_s, step_s, "formation",
                         mean_speed=_uniform(rng, p["speed_mps"], n_flocks), speed_sigma=0.3,
                         wander_dps=p["wander_dps"], wander_tau_s=p["wander_tau_s"], pull=0.01,
                         speed_bounds=p["speed_mps"])
    leader_index, forward, right = [], [], []
    for i, size in enumerate(sizes):
        spacing = rng.uniform(*p["spacing_m"])
        half = math.radians(rng.uniform(*p["half_angle_deg"]))
        for member in range(1, size):
            k = (member + 1) // 2
            side = 1.0 if member % 2 else -1.0
            leader_index.append(i)
            forward.append(-k * spacing * math.cos(half))
            right.append(side * k * spacing * math.sin(half))
    leader_index = np.array(leader_index, dtype=np.int64)
    members = _body_members(rng, leaders, leader_index, np.array(forward), np.array(right),
                            rng.uniform(-1.0, 1.0, leader_index.shape[0]), p["jitter_m"],
                            "formation")
    return _interleave(leaders, members, sizes)


def agile_flock(rng, starts, headings_deg, sizes, duration_s, step_s):
    """Starlings or swallows: a leader with fast turns and loose co-moving members.

    The leader's turn rate is an OU process with sigma drawn in
    ``turn_sigma_dps`` and time constant in ``turn_tau_s`` per flock, its
    speed an OU process around a mean in ``speed_mps`` (sigma
    ``speed_sigma_mps``).  Members sit at body-frame offsets uniform in a
    disc of radius ``spacing * sqrt(size)`` (``spacing_m`` drawn per flock)
    in a frame that follows the leader's heading smoothed over
    ``frame_smoothing_s``: every member turns when the leader does
    (co-motion) and the shape follows, with a loose jitter (``jitter_m``).
    """
    p = BEHAVIOURS["agile_flock"]
    n_flocks = len(sizes)
    leaders = _wandering(rng, p, starts, headings_deg, duration_s, step_s, "agile_flock",
                         mean_speed=_uniform(rng, p["speed_mps"], n_flocks),
                         speed_sigma=p["speed_sigma_mps"],
                         wander_dps=_uniform(rng, p["turn_sigma_dps"], n_flocks),
                         wander_tau_s=_uniform(rng, p["turn_tau_s"], n_flocks), pull=0.0,
                         speed_bounds=(6.0, 20.0))
    sizes = np.asarray(sizes, dtype=np.int64)
    leader_index = np.repeat(np.arange(n_flocks), sizes - 1)
    m = leader_index.shape[0]
    spread = _uniform(rng, p["spacing_m"], n_flocks)[leader_index] * np.sqrt(sizes[leader_index])
    radius = spread * np.sqrt(rng.random(m))
    angle = rng.uniform(0.0, 2.0 * np.pi, m)
    members = _body_members(rng, leaders, leader_index, radius * np.cos(angle),
                            radius * np.sin(angle), rng.uniform(-3.0, 3.0, m), p["jitter_m"],
                            "agile_flock", period_s=(3.0, 10.0),
                            frame_smoothing_s=p["frame_smoothing_s"])
    return _interleave(leaders, members, sizes)


def _interleave(leaders, members, sizes):
    """Leaders and members in flock order: leader 0, its members, leader 1, ..."""
    order = []
    member = 0
    n_leaders = leaders.n_targets
    for i, size in enumerate(sizes):
        order.append(i)
        order.extend(range(n_leaders + member, n_leaders + member + int(size) - 1))
        member += int(size) - 1
    joined = Trajectories.concatenate([leaders, members])
    return _take(joined, np.array(order, dtype=np.int64))


def _take(trajectories, index):
    return Trajectories(trajectories.step_s, trajectories.position[index],
                        trajectories.velocity[index], trajectories.kind[index],
                        trajectories.rcs_m2[index], trajectories.behaviour[index],
                        trajectories.swerling[index])


# --------------------------------------------------------------------------
# Drones
# --------------------------------------------------------------------------

def _legs(rng, behaviour, start, heading0_deg, duration_s, step_s, centre):
    """Drones on legs between waypoints (:func:`~radarcore.sim.trajectories.leg_motion`)."""
    p = BEHAVIOURS[behaviour]
    keys = set(KIND_PARAMETERS["drone"]) - {"rcs_m2"}
    overrides = {key: p[key] for key in keys if key in p}
    if behaviour == "fixed_wing":
        overrides.update(hover_probability=0.0)
    trajectories = leg_motion(rng, start, heading0_deg, duration_s, step_s, "drone", centre,
                              p["waypoint_radius_m"], **overrides)
    n = start.shape[0]
    return Trajectories(step_s, trajectories.position, trajectories.velocity,
                        np.full(n, "drone"), log_uniform(rng, p["rcs_m2"], n),
                        np.full(n, behaviour), np.full(n, p["swerling"]))


def multirotor(rng, start, heading0_deg, duration_s, step_s, centre):
    """Multirotors: turns at ``turn_rate_dps`` towards waypoints in a disc of
    ``waypoint_radius_m`` around ``centre``, legs at a speed drawn per leg in
    ``speed_mps`` (slow legs and dashes), with ``hover_probability`` a hover
    of ``hover_s``; height changes of up to ``climb_mps``."""
    return _legs(rng, "multirotor", start, heading0_deg, duration_s, step_s, centre)


def fixed_wing(rng, start, heading0_deg, duration_s, step_s, centre):
    """Fixed-wing drones: legs at ``speed_mps`` (20-35 m/s) joined by
    coordinated turns at ``turn_rate_dps``, never hovering."""
    return _legs(rng, "fixed_wing", start, heading0_deg, duration_s, step_s, centre)


def loiter(rng, n, duration_s, step_s, site_en):
    """Loitering drones: a straight transit towards a point near the site,
    then circling over it.

    The orbit centre is ``centre_offset_m`` from ``site_en`` at a random
    bearing; the drone starts ``start_distance_m`` from that centre heading
    at it (or, with ``circling_at_start_probability``, already circling),
    flies at ``speed_mps`` and, ``radius_m`` short of the centre, turns at
    the constant signed rate ``v / R``: it then circles a point ``R`` to the
    side of its transit line.  Height waves of ``height_wave_m`` (60-120 s).
    """
    p = BEHAVIOURS["loiter"]
    n_knots = _n_knots(duration_s)
    centre = site_en + _uniform(rng, p["centre_offset_m"], n)[:, None] * _unit_rows(
        rng.uniform(0.0, 360.0, n))
    bearing = rng.uniform(0.0, 360.0, n)
    distance = _uniform(rng, p["start_distance_m"], n)
    circling = rng.random(n) < p["circling_at_start_probability"]
    radius = _uniform(rng, p["radius_m"], n)
    distance = np.where(circling, radius, distance)
    start = np.column_stack([centre + distance[:, None] * _unit_rows(bearing),
                             _uniform(rng, p["height_m"], n)])
    heading = bearing + 180.0
    speed_mps = _uniform(rng, p["speed_mps"], n)
    transit_s = np.maximum(distance - radius, 0.0) / speed_mps
    knot_t = np.arange(n_knots) * KNOT_S
    rate = speed_mps / radius * rng.choice((-1.0, 1.0), n)
    turn = np.where(knot_t[None, :] >= transit_s[:, None], rate[:, None], 0.0)
    speed = np.repeat(speed_mps[:, None], n_knots, axis=1)
    amplitude = _uniform(rng, p["height_wave_m"], n)[:, None]
    omega = 2.0 * np.pi / rng.uniform(60.0, 120.0, n)[:, None]
    phase = rng.uniform(0.0, 2.0 * np.pi, n)[:, None]
    climb = amplitude * omega * np.cos(omega * knot_t[None, :] + phase)
    position, velocity = _from_knots(start, np.radians(heading), speed, turn, climb, duration_s,
                                     step_s)
    return _make("loiter", rng, position, velocity, step_s, n)


def swarm(rng, starts, headings_deg, sizes, duration_s, step_s, centre):
    """Swarms: a leader on legs (no hover, ``speed_mps``, ``turn_rate_dps``)
    towards waypoints within ``waypoint_radius_m`` of ``centre`` and members
    on a square lattice of pitch ``pitch_m`` behind and beside it, in its
    body frame, each moved by up to 20 % of the pitch and jittering by
    ``jitter_m``.  The leader is the first target of its swarm."""
    p = BEHAVIOURS["swarm"]
    n_swarms = len(sizes)
    leaders = leg_motion(rng, starts, headings_deg, duration_s, step_s, "drone", centre,
                         p["waypoint_radius_m"], speed_mps=p["speed_mps"],
                         turn_rate_dps=p["turn_rate_dps"], leg_s=p["leg_s"],
                         hover_probability=0.0, height_m=p["height_m"], climb_mps=1.0)
    leaders = Trajectories(step_s, leaders.position, leaders.velocity, np.full(n_swarms, "drone"),
                           log_uniform(rng, p["rcs_m2"], n_swarms), np.full(n_swarms, "swarm"),
                           np.full(n_swarms, p["swerling"]))
    leader_index, forward, right = [], [], []
    for i, size in enumerate(sizes):
        pitch = rng.uniform(*p["pitch_m"])
        columns = int(math.ceil(math.sqrt(size)))
        for member in range(1, size):
            row, column = divmod(member, columns)
            leader_index.append(i)
            forward.append(-row * pitch + rng.uniform(-0.2, 0.2) * pitch)
            right.append((column - 0.5 * (columns - 1)) * pitch + rng.uniform(-0.2, 0.2) * pitch)
    leader_index = np.array(leader_index, dtype=np.int64)
    members = _body_members(rng, leaders, leader_index, np.array(forward), np.array(right),
                            rng.uniform(-5.0, 5.0, leader_index.shape[0]), p["jitter_m"], "swarm")
    return _interleave(leaders, members, sizes)


def _unit_rows(bearing_deg):
    bearing = np.radians(bearing_deg)
    return np.column_stack([np.sin(bearing), np.cos(bearing)])


# --------------------------------------------------------------------------
# A population of behaviours
# --------------------------------------------------------------------------

def _disc(rng, n, radius_range_m, centre):
    """n points (E, N) uniform in an annulus around ``centre``."""
    low, high = radius_range_m
    radius = np.sqrt(rng.uniform(low ** 2, high ** 2, n))
    return centre + radius[:, None] * _unit_rows(rng.uniform(0.0, 360.0, n))


def behaviour_targets(rng, counts, duration_s, step_s, site_en, area_m=8000.0,
                      drone_start_m=(4000.0, 8000.0), flock_size=None, wind_mps=None,
                      inbound=False):
    """Targets of several behaviours, in the order of ``counts``.

    Parameters
    ----------
    rng : numpy.random.Generator
    counts : dict
        Behaviour name -> number of targets (flock and swarm members
        included; a flock behaviour's count is split into groups of its
        ``size``, or ``flock_size``).
    duration_s, step_s : float
    site_en : ndarray, shape (2,)
        The protected site (E, N); drones fly towards and around it.
    area_m : float
        Birds start uniformly in a disc of this radius around the site.
    drone_start_m : (float, float)
        Drones (multirotor, fixed wing, swarm leaders) start this far from
        the site.
    flock_size : (int, int), optional
        Group sizes for ``formation`` and ``agile_flock`` in place of the
        behaviours' own.
    wind_mps : ndarray, shape (2,), optional
        The wind (E, N) for soaring birds and gulls; drawn (speed in the
        soaring ``wind_mps`` range, any direction) when None.
    inbound : bool
        Drones head for the site from the start (heading spread +-20
        degrees) instead of +-60 degrees.

    Returns
    -------
    trajectories : Trajectories
    groups : list of dict
        One per flock or swarm: ``behaviour`` and ``index`` (rows of the
        group in ``trajectories``, leader first).
    wind_mps : ndarray, shape (2,)
    """
    unknown = set(counts) - set(BEHAVIOURS)
    if unknown:
        raise ValueError(f"unknown behaviour(s) {sorted(unknown)}; known: {', '.join(BEHAVIOURS)}")
    site_en = np.asarray(site_en, dtype=np.float64)
    if wind_mps is None:
        speed = rng.uniform(*BEHAVIOURS["soaring"]["wind_mps"])
        wind_mps = speed * _unit_rows(np.array([rng.uniform(0.0, 360.0)]))[0]
    spread = 20.0 if inbound else 60.0
    parts, groups = [], []
    first = 0

    def bird_starts(n, behaviour):
        height = _uniform(rng, BEHAVIOURS[behaviour]["height_m"], n)
        return np.column_stack([_disc(rng, n, (0.0, area_m), site_en), height])

    def drone_starts(n, behaviour):
        height = _uniform(rng, BEHAVIOURS[behaviour]["height_m"], n)
        start = np.column_stack([_disc(rng, n, drone_start_m, site_en), height])
        towards = np.degrees(np.arctan2(site_en[0] - start[:, 0], site_en[1] - start[:, 1]))
        return start, towards + rng.uniform(-spread, spread, n)

    for behaviour, count in counts.items():
        count = int(count)
        if count <= 0:
            continue
        if behaviour in FLOCK_BEHAVIOURS:
            size_range = BEHAVIOURS[behaviour]["size"]
            if flock_size is not None and behaviour != "swarm":
                size_range = flock_size
            sizes = _group_sizes(rng, count, size_range)
            if behaviour == "swarm":
                start, heading = drone_starts(len(sizes), behaviour)
                part = swarm(rng, start, heading, sizes, duration_s, step_s, site_en)
            else:
                start = bird_starts(len(sizes), behaviour)
                heading = rng.uniform(0.0, 360.0, len(sizes))
                build = formation_flock if behaviour == "formation" else agile_flock
                part = build(rng, start, heading, sizes, duration_s, step_s)
            offset = first
            for size in sizes:
                groups.append({"behaviour": behaviour,
                               "index": tuple(range(offset, offset + size))})
                offset += size
        elif behaviour in ("multirotor", "fixed_wing"):
            start, heading = drone_starts(count, behaviour)
            build = multirotor if behaviour == "multirotor" else fixed_wing
            part = build(rng, start, heading, duration_s, step_s, site_en)
        elif behaviour == "loiter":
            part = loiter(rng, count, duration_s, step_s, site_en)
        elif behaviour == "light_aircraft":
            low, high = KIND_PARAMETERS["aircraft"]["height_m"]
            start = np.column_stack([_disc(rng, count, (0.0, area_m), site_en),
                                     rng.uniform(low + 0.1 * (high - low), high - 0.2 * (high - low),
                                                 count)])
            air = leg_motion(rng, start, rng.uniform(0.0, 360.0, count), duration_s, step_s,
                             "aircraft", site_en, 0.5 * area_m)
            p = BEHAVIOURS["light_aircraft"]
            part = Trajectories(step_s, air.position, air.velocity, np.full(count, "aircraft"),
                                air.rcs_m2, np.full(count, behaviour), np.full(count, p["swerling"]))
        else:
            start = bird_starts(count, behaviour)
            heading = rng.uniform(0.0, 360.0, count)
            if behaviour == "soaring":
                part = soaring(rng, start, heading, duration_s, step_s, wind_mps)
            elif behaviour == "gull":
                part = gull(rng, start, heading, duration_s, step_s, wind_mps)
            else:
                part = commuter(rng, start, heading, duration_s, step_s)
        parts.append(part)
        first += part.n_targets
    if not parts:
        raise ValueError("no targets to simulate: every behaviour count is zero")
    return Trajectories.concatenate(parts), groups, np.asarray(wind_mps, dtype=np.float64)
