"""Target trajectories for the scenario simulator.

Every trajectory is sampled on one uniform time grid ``t_k = k * step_s``
(``k = 0 .. n_samples - 1``) in the site ENU frame, position and velocity
together, and is defined between samples by the cubic Hermite interpolant of
those samples.  With ``s = (t - t_k) / h`` and ``h = step_s``:

.. math::

    p(t) = (2s^3 - 3s^2 + 1)\\,p_k + (s^3 - 2s^2 + s)\\,h v_k
         + (-2s^3 + 3s^2)\\,p_{k+1} + (s^3 - s^2)\\,h v_{k+1}

and ``v(t) = dp/dt`` of the same polynomial, so position and velocity agree at
every time, and at the samples both are exact.

The motion generators build velocity on the grid from smooth controls (speed,
turn rate, climb rate) and integrate it with the trapezoidal rule.  Controls
are piecewise constant per segment and then passed twice through a centred
moving average, so that turn rate and acceleration ramp in over about a
second instead of jumping: the motion is smooth enough that a cubic Hermite
interpolant of the truth samples (0.2 s apart) reproduces it to well under a
millimetre.

Heading ``psi`` is clockwise from north: ``v_east = speed sin(psi)``,
``v_north = speed cos(psi)``.  Everything is vectorised over targets; Python
loops run over segments (tens) or control knots (hundreds), never over
samples of all targets.
"""
from __future__ import annotations

import math

import numpy as np

from ingest.schema import TRUTH_BEHAVIOUR_DTYPE, TRUTH_DTYPE
from kernels._jit import njit

__all__ = [
    "Trajectories",
    "sample_grid", "log_uniform", "piecewise_controls", "moving_average", "integrate_positions",
    "horizontal_velocity",
    "hermite_state",
    "KIND_PARAMETERS",
    "leg_motion",
    "bird_motion",
    "balloon_motion",
    "straight_motion",
    "formation",
]


class Trajectories:
    """Targets' positions and velocities on a uniform time grid.

    Parameters
    ----------
    step_s : float
        Grid step h (s); sample k is at time ``k * step_s``.
    position : ndarray, shape (n_targets, n_samples, 3)
        Site ENU position (m) at each sample.
    velocity : ndarray, shape (n_targets, n_samples, 3)
        Site ENU velocity (m/s) at each sample.
    kind : array_like of str, shape (n_targets,)
        Target kind (``drone``, ``bird``, ``aircraft``, ``balloon``).
    rcs_m2 : array_like of float, shape (n_targets,)
        Radar cross-section of each target (m^2); the mean of the
        fluctuating cross-section when ``swerling`` is not 0.
    behaviour : array_like of str, shape (n_targets,), optional
        Motion model of each target (``soaring``, ``multirotor``, ...; see
        docs/behaviours.md); empty strings by default.  When any is
        non-empty, :meth:`truth` gives the ``behaviour`` column.
    swerling : array_like of int, shape (n_targets,), optional
        Plot-to-plot fluctuation of the cross-section
        (:mod:`radarcore.sim.sensors`): 0 steady (default), 1 exponential
        (chi-square with 2 degrees of freedom, Swerling I/II), 3 chi-square
        with 4 degrees of freedom (Swerling III/IV).

    Attributes
    ----------
    target_id : ndarray of int64, shape (n_targets,)
        ``1 .. n_targets``: the truth ``target_id`` of row i is ``i + 1``.
    """

    def __init__(self, step_s, position, velocity, kind, rcs_m2, behaviour=None, swerling=None):
        position = np.ascontiguousarray(position, dtype=np.float64)
        velocity = np.ascontiguousarray(velocity, dtype=np.float64)
        if position.ndim != 3 or position.shape[2] != 3 or position.shape[1] < 2:
            raise ValueError("position must have shape (n_targets, n_samples >= 2, 3), "
                             f"got {position.shape}")
        if velocity.shape != position.shape:
            raise ValueError(f"velocity shape {velocity.shape} differs from position shape "
                             f"{position.shape}")
        if not step_s > 0.0:
            raise ValueError(f"step_s must be positive, got {step_s}")
        kind = np.asarray(kind, dtype="U16")
        rcs_m2 = np.asarray(rcs_m2, dtype=np.float64)
        n_targets = position.shape[0]
        behaviour = np.asarray(np.full(n_targets, "") if behaviour is None else behaviour,
                               dtype="U16")
        swerling = np.asarray(np.zeros(n_targets) if swerling is None else swerling,
                              dtype=np.int8)
        if (kind.shape != (n_targets,) or rcs_m2.shape != (n_targets,)
                or behaviour.shape != (n_targets,) or swerling.shape != (n_targets,)):
            raise ValueError("kind, rcs_m2, behaviour and swerling must have shape (n_targets,)")
        if not np.isin(swerling, (0, 1, 3)).all():
            raise ValueError("swerling must be 0, 1 or 3 for every target")
        self.step_s = float(step_s)
        self.position = position
        self.velocity = velocity
        self.kind = kind
        self.rcs_m2 = rcs_m2
        self.behaviour = behaviour
        self.swerling = swerling
        self.target_id = np.arange(1, n_targets + 1, dtype=np.int64)

    @property
    def n_targets(self):
        """Number of targets."""
        return self.position.shape[0]

    @property
    def n_samples(self):
        """Number of grid samples per target."""
        return self.position.shape[1]

    @property
    def duration_s(self):
        """Time of the last grid sample (s)."""
        return (self.n_samples - 1) * self.step_s

    def state_at(self, target_index, t_s, velocity=True):
        """Positions (and velocities) of targets at arbitrary times.

        Parameters
        ----------
        target_index : ndarray of int, shape (m,)
            Row of each query, in ``[0, n_targets)``.
        t_s : ndarray of float, shape (m,)
            Query times (s), clipped to ``[0, duration_s]``.
        velocity : bool
            Whether to compute velocities too.

        Returns
        -------
        position : ndarray, shape (m, 3)
        velocity : ndarray, shape (m, 3), or None when ``velocity`` is False
        """
        target_index = np.ascontiguousarray(target_index, dtype=np.int64)
        t_s = np.ascontiguousarray(t_s, dtype=np.float64)
        if target_index.ndim != 1 or t_s.shape != target_index.shape:
            raise ValueError("target_index and t_s must be 1-D arrays of one length, got shapes "
                             f"{target_index.shape} and {t_s.shape}")
        if target_index.size and (target_index.min() < 0 or target_index.max() >= self.n_targets):
            raise IndexError(f"target_index outside [0, {self.n_targets})")
        position = np.empty((t_s.shape[0], 3))
        speed = np.empty((t_s.shape[0], 3)) if velocity else np.empty((0, 3))
        hermite_state(self.position, self.velocity, self.step_s, target_index, t_s,
                      position, speed)
        return position, (speed if velocity else None)

    def truth(self, period_s):
        """Truth rows every ``period_s`` from 0 to ``duration_s``.

        Parameters
        ----------
        period_s : float
            Sampling period (s).

        Returns
        -------
        ndarray of TRUTH_DTYPE, shape (n_times * n_targets,)
            Sorted by time, then target_id; of TRUTH_BEHAVIOUR_DTYPE (with
            the ``behaviour`` column) when any target has a behaviour.
        """
        if not period_s > 0.0:
            raise ValueError(f"period_s must be positive, got {period_s}")
        n_times = int(math.floor(self.duration_s / period_s + 1e-9)) + 1
        times = np.arange(n_times) * period_s
        t_s = np.repeat(times, self.n_targets)
        index = np.tile(np.arange(self.n_targets), n_times)
        position, velocity = self.state_at(index, t_s)
        with_behaviour = bool(np.any(self.behaviour != ""))
        truth = np.empty(t_s.shape[0],
                         dtype=TRUTH_BEHAVIOUR_DTYPE if with_behaviour else TRUTH_DTYPE)
        truth["time_s"] = t_s
        truth["target_id"] = self.target_id[index]
        truth["east_m"], truth["north_m"], truth["up_m"] = position.T
        truth["v_east_mps"], truth["v_north_mps"], truth["v_up_mps"] = velocity.T
        truth["kind"] = self.kind[index]
        if with_behaviour:
            truth["behaviour"] = self.behaviour[index]
        return truth

    @classmethod
    def concatenate(cls, parts):
        """One :class:`Trajectories` of several on the same grid, in order."""
        parts = [part for part in parts if part.n_targets > 0] or parts[:1]
        steps = {part.step_s for part in parts}
        lengths = {part.n_samples for part in parts}
        if len(steps) != 1 or len(lengths) != 1:
            raise ValueError("trajectories to join must share one time grid")
        return cls(parts[0].step_s,
                   np.concatenate([part.position for part in parts]),
                   np.concatenate([part.velocity for part in parts]),
                   np.concatenate([part.kind for part in parts]),
                   np.concatenate([part.rcs_m2 for part in parts]),
                   np.concatenate([part.behaviour for part in parts]),
                   np.concatenate([part.swerling for part in parts]))


@njit(inline="always")
def _hermite_one(position, velocity, step_s, i, t_s, pos_out, vel_out, j, with_velocity):
    """Query j: target i at time t_s, by the cubic Hermite of its two samples."""
    n_samples = position.shape[1]
    u = min(max(t_s, 0.0), (n_samples - 1) * step_s) / step_s
    k = min(int(u), n_samples - 2)
    s = u - k
    s2 = s * s
    s3 = s2 * s
    h00 = 2.0 * s3 - 3.0 * s2 + 1.0
    h10 = s3 - 2.0 * s2 + s
    h01 = 3.0 * s2 - 2.0 * s3
    h11 = s3 - s2
    d00 = (6.0 * s2 - 6.0 * s) / step_s  # d h00 / dt = -d h01 / dt
    d10 = 3.0 * s2 - 4.0 * s + 1.0       # d (h h10) / dt
    d11 = 3.0 * s2 - 2.0 * s             # d (h h11) / dt
    for axis in range(3):
        p0 = position[i, k, axis]
        p1 = position[i, k + 1, axis]
        v0 = velocity[i, k, axis]
        v1 = velocity[i, k + 1, axis]
        pos_out[j, axis] = h00 * p0 + h10 * step_s * v0 + h01 * p1 + h11 * step_s * v1
        if with_velocity:
            vel_out[j, axis] = d00 * (p0 - p1) + d10 * v0 + d11 * v1


@njit
def hermite_state(position, velocity, step_s, target_index, t_s, pos_out, vel_out):
    """Positions and velocities of targets at arbitrary times (cubic Hermite).

    With ``u = clip(t, 0, t_end) / h``, ``k = min(floor(u), n_samples - 2)``
    and ``s = u - k``:

    .. math::

        p(t) = h_{00} p_k + h h_{10} v_k + h_{01} p_{k+1} + h h_{11} v_{k+1}

        h_{00} = 2s^3 - 3s^2 + 1, \\; h_{10} = s^3 - 2s^2 + s, \\;
        h_{01} = 3s^2 - 2s^3, \\; h_{11} = s^3 - s^2

        v(t) = \\frac{6s^2 - 6s}{h}(p_k - p_{k+1}) + (3s^2 - 4s + 1) v_k
               + (3s^2 - 2s) v_{k+1}

    Parameters
    ----------
    position, velocity : ndarray, shape (n_targets, n_samples, 3)
        Grid samples (m, m/s); sample k at time ``k * step_s``.
    step_s : float
        Grid step h (s).
    target_index : ndarray of int64, shape (m,)
        Target row of each query, in [0, n_targets).
    t_s : ndarray, shape (m,)
        Query times (s).
    pos_out : ndarray, shape (m, 3)
        Written with the positions (m).
    vel_out : ndarray, shape (m, 3) or (0, 3)
        Written with the velocities (m/s); pass an empty (0, 3) array to skip
        them.
    """
    m = t_s.shape[0]
    if target_index.shape[0] != m or pos_out.shape[0] != m or pos_out.shape[1] != 3:
        raise ValueError("target_index, t_s and pos_out must have m rows (pos_out (m, 3))")
    if position.shape[1] < 2 or position.shape[2] != 3 or velocity.shape != position.shape:
        raise ValueError("position and velocity must both have shape (n, n_samples >= 2, 3)")
    with_velocity = vel_out.shape[0] > 0
    if with_velocity and (vel_out.shape[0] != m or vel_out.shape[1] != 3):
        raise ValueError("vel_out must have shape (m, 3) or (0, 3)")
    for j in range(m):
        _hermite_one(position, velocity, step_s, target_index[j], t_s[j], pos_out, vel_out, j,
                     with_velocity)


#: Motion and radar cross-section ranges per target kind.  ``rcs_m2`` is drawn
#: log-uniformly; speeds in m/s, turn rates in degrees per second, heights
#: (site ENU up) in metres, durations in seconds.
KIND_PARAMETERS = {
    "drone": dict(speed_mps=(10.0, 25.0), turn_rate_dps=(3.0, 20.0), leg_s=(10.0, 40.0),
                  hover_probability=0.2, hover_s=(5.0, 20.0), hover_speed_mps=(0.0, 0.3),
                  height_m=(50.0, 300.0), climb_mps=2.0, climb_segment_s=(10.0, 40.0),
                  speed_smoothing_s=3.0, rcs_m2=(0.01, 0.1)),
    "aircraft": dict(speed_mps=(40.0, 70.0), turn_rate_dps=(1.0, 3.0), leg_s=(20.0, 60.0),
                     hover_probability=0.0, hover_s=(1.0, 1.0), hover_speed_mps=(0.0, 0.0),
                     height_m=(300.0, 1200.0), climb_mps=3.0, climb_segment_s=(20.0, 60.0),
                     speed_smoothing_s=6.0, rcs_m2=(1.0, 5.0)),
    "bird": dict(speed_mps=(5.0, 15.0), height_m=(10.0, 300.0), rcs_m2=(0.001, 0.01)),
    "balloon": dict(speed_mps=(2.0, 6.0), climb_mps=(0.2, 1.0), height_m=(50.0, 500.0),
                    rcs_m2=(0.07, 0.15)),
}

# Controls (turn rate, climb rate) are smoothed over this long, twice.
_CONTROL_SMOOTHING_S = 1.0


def sample_grid(duration_s, step_s):
    n_samples = int(round(duration_s / step_s)) + 1
    if abs((n_samples - 1) * step_s - duration_s) > 1e-9 * max(1.0, duration_s):
        raise ValueError(f"duration_s {duration_s} is not a multiple of step_s {step_s}")
    return n_samples


def log_uniform(rng, bounds, size):
    low, high = np.log(bounds[0]), np.log(bounds[1])
    return np.exp(rng.uniform(low, high, size))


def _wrap_pi(angle):
    return (angle + np.pi) % (2.0 * np.pi) - np.pi


def piecewise_controls(starts_s, values, n_samples, step_s):
    """Piecewise-constant controls on the grid.

    Segment k of row i holds ``values[i, k]`` from ``starts_s[i, k]`` until the
    next segment starts; ``starts_s[:, 0]`` must be 0 and each row
    non-decreasing.

    Returns
    -------
    ndarray, shape (n_rows, n_samples)
    """
    n_rows, n_segments = values.shape
    change = np.zeros((n_rows, n_samples + 1))
    change[:, 0] = values[:, 0]
    if n_segments > 1:
        sample = np.clip(np.ceil(starts_s[:, 1:] / step_s - 1e-9).astype(np.int64), 0, n_samples)
        rows = np.repeat(np.arange(n_rows), n_segments - 1)
        np.add.at(change, (rows, sample.ravel()), np.diff(values, axis=1).ravel())
    return np.cumsum(change, axis=1)[:, :n_samples]


def moving_average(x, window_s, step_s, passes=2):
    """Centred moving average along axis 1, edges held, ``passes`` times."""
    width = max(1, int(round(window_s / step_s)) | 1)  # odd, at least 1
    if width == 1:
        return x
    half = width // 2
    for _ in range(passes):
        padded = np.pad(x, ((0, 0), (half, half)), mode="edge")
        total = np.cumsum(padded, axis=1)
        total = np.concatenate([np.zeros((x.shape[0], 1)), total], axis=1)
        x = (total[:, width:] - total[:, :-width]) / width
    return x


def integrate_positions(start, velocity, step_s):
    """Positions from a start point and grid velocities (trapezoidal rule)."""
    steps = 0.5 * step_s * (velocity[:, 1:] + velocity[:, :-1])
    position = np.empty_like(velocity)
    position[:, 0] = start
    np.cumsum(steps, axis=1, out=position[:, 1:])
    position[:, 1:] += start[:, None, :]
    return position


def horizontal_velocity(heading0_rad, turn_rate_rad_s, speed_mps, step_s):
    """Velocity E, N from initial heading, turn-rate and speed profiles."""
    increments = 0.5 * step_s * (turn_rate_rad_s[:, 1:] + turn_rate_rad_s[:, :-1])
    heading = np.empty_like(turn_rate_rad_s)
    heading[:, 0] = heading0_rad
    heading[:, 1:] = heading0_rad[:, None] + np.cumsum(increments, axis=1)
    return speed_mps * np.sin(heading), speed_mps * np.cos(heading)


def _climb_schedule(rng, height0_m, duration_s, height_m, climb_mps, segment_s,
                    level_probability=0.5):
    """Vertical segments: level flight or a climb/descent to a new height.

    Returns segment start times and climb rates, each shape (n, n_segments).
    """
    n = height0_m.shape[0]
    t = np.zeros(n)
    height = height0_m.copy()
    starts, rates = [], []
    while True:
        starts.append(t.copy())
        length = rng.uniform(segment_s[0], segment_s[1], n)
        goal = rng.uniform(height_m[0], height_m[1], n)
        level = rng.random(n) < level_probability
        rate = np.where(level, 0.0, np.clip((goal - height) / length, -climb_mps, climb_mps))
        rates.append(rate)
        height += rate * length
        t += length
        if np.all(t >= duration_s):
            break
    return np.stack(starts, axis=1), np.stack(rates, axis=1)


def leg_motion(rng, start, heading0_deg, duration_s, step_s, kind, waypoint_centre,
               waypoint_radius_m, **overrides):
    """Straight legs between random waypoints, joined by coordinated turns.

    Each target turns at a constant rate (drawn per turn from the kind's
    ``turn_rate_dps``) towards a waypoint drawn uniformly in a disc, flies
    straight towards it for ``clip(distance / speed, *leg_s)`` seconds at a
    speed drawn per leg, or, with ``hover_probability``, hovers at near-zero
    speed for ``hover_s``.  On an arc of speed v and rate w the heading goes
    from psi to psi + w tau and the displacement is

    .. math::

        \\Delta E = \\frac{v}{w}(\\cos\\psi - \\cos(\\psi + w\\tau)), \\quad
        \\Delta N = \\frac{v}{w}(\\sin(\\psi + w\\tau) - \\sin\\psi)

    which the planner uses to place the next leg; the flown path then follows
    the smoothed controls.  Heights follow :func:`_climb_schedule`.

    Parameters
    ----------
    rng : numpy.random.Generator
    start : ndarray, shape (n, 3)
        Start positions (site ENU, m).
    heading0_deg : ndarray, shape (n,)
        Initial headings (degrees clockwise from north).
    duration_s, step_s : float
        Grid length and step (s).
    kind : str
        ``"drone"`` or ``"aircraft"`` (a key of :data:`KIND_PARAMETERS`).
    waypoint_centre : ndarray, shape (2,) or (n, 2)
        Centre (E, N) of each target's waypoint disc (m).
    waypoint_radius_m : float
        Radius of the waypoint disc (m).
    **overrides
        Replacements for entries of ``KIND_PARAMETERS[kind]`` (for example a
        narrower ``speed_mps`` for a formation).

    Returns
    -------
    Trajectories
    """
    unknown = set(overrides) - set(KIND_PARAMETERS[kind])
    if unknown:
        raise ValueError(f"unknown motion parameters {sorted(unknown)} for kind {kind!r}")
    p = {**KIND_PARAMETERS[kind], **overrides}
    n = start.shape[0]
    n_samples = sample_grid(duration_s, step_s)
    centre = np.broadcast_to(np.asarray(waypoint_centre, dtype=np.float64), (n, 2))
    t = np.zeros(n)
    east, north = start[:, 0].copy(), start[:, 1].copy()
    heading = np.radians(heading0_deg)
    starts, speeds, rates = [], [], []
    while True:
        speed = rng.uniform(p["speed_mps"][0], p["speed_mps"][1], n)
        # Turn towards a new waypoint.
        radius = waypoint_radius_m * np.sqrt(rng.random(n))
        bearing = rng.uniform(0.0, 2.0 * np.pi, n)
        goal_east = centre[:, 0] + radius * np.sin(bearing)
        goal_north = centre[:, 1] + radius * np.cos(bearing)
        delta = _wrap_pi(np.arctan2(goal_east - east, goal_north - north) - heading)
        rate = np.radians(rng.uniform(p["turn_rate_dps"][0], p["turn_rate_dps"][1], n))
        omega = np.copysign(rate, delta)
        tau = np.abs(delta) / rate
        new_heading = heading + delta
        turning = np.abs(delta) > 1e-9
        safe_omega = np.where(turning, omega, 1.0)
        east += np.where(turning, speed / safe_omega * (np.cos(heading) - np.cos(new_heading)),
                         speed * tau * np.sin(heading))
        north += np.where(turning, speed / safe_omega * (np.sin(new_heading) - np.sin(heading)),
                          speed * tau * np.cos(heading))
        starts.append(t.copy())
        speeds.append(speed)
        rates.append(omega)
        t += tau
        heading = new_heading
        # Then a straight leg towards it, or a hover.
        distance = np.hypot(goal_east - east, goal_north - north)
        leg = np.clip(distance / speed, p["leg_s"][0], p["leg_s"][1])
        hover = rng.random(n) < p["hover_probability"]
        length = np.where(hover, rng.uniform(p["hover_s"][0], p["hover_s"][1], n), leg)
        leg_speed = np.where(hover, rng.uniform(p["hover_speed_mps"][0], p["hover_speed_mps"][1], n),
                             speed)
        starts.append(t.copy())
        speeds.append(leg_speed)
        rates.append(np.zeros(n))
        east += leg_speed * length * np.sin(heading)
        north += leg_speed * length * np.cos(heading)
        t += length
        if np.all(t >= duration_s):
            break
    starts = np.stack(starts, axis=1)
    speed = moving_average(piecewise_controls(starts, np.stack(speeds, axis=1), n_samples, step_s),
                    p["speed_smoothing_s"], step_s)
    rate_controls = piecewise_controls(starts, np.stack(rates, axis=1), n_samples, step_s)
    turn_rate = moving_average(rate_controls, _CONTROL_SMOOTHING_S, step_s)
    climb_starts, climb_rates = _climb_schedule(rng, start[:, 2].copy(), duration_s, p["height_m"],
                                                p["climb_mps"], p["climb_segment_s"])
    climb = moving_average(piecewise_controls(climb_starts, climb_rates, n_samples, step_s),
                    2.0 * _CONTROL_SMOOTHING_S, step_s)
    velocity = np.empty((n, n_samples, 3))
    velocity[..., 0], velocity[..., 1] = horizontal_velocity(np.radians(heading0_deg), turn_rate,
                                                              speed, step_s)
    velocity[..., 2] = climb
    return Trajectories(step_s, integrate_positions(start, velocity, step_s), velocity,
                        np.full(n, kind), log_uniform(rng, p["rcs_m2"], n))


def bird_motion(rng, start, heading0_deg, duration_s, step_s, knot_s=0.5):
    """Erratic bird flight: Ornstein-Uhlenbeck turn rate, speed and climb.

    On control knots ``knot_s`` apart, with ``a = exp(-knot_s / tau)``, each
    control follows ``u_{j+1} = mu + a (u_j - mu) + sigma sqrt(1 - a^2) n_j``
    (``n_j`` standard normal): turn rate (mu 0, sigma 12 deg/s, tau 3 s), speed
    (mu drawn in 6-13 m/s, sigma 1.5 m/s, tau 5 s, clipped to 5-15 m/s) and
    climb rate (sigma 0.8 m/s, tau 4 s, mu pulling towards a preferred height
    inside 10-300 m).  Knots are interpolated linearly onto the grid and
    smoothed once over ``knot_s``.

    Parameters
    ----------
    rng : numpy.random.Generator
    start : ndarray, shape (n, 3)
    heading0_deg : ndarray, shape (n,)
    duration_s, step_s, knot_s : float

    Returns
    -------
    Trajectories
    """
    p = KIND_PARAMETERS["bird"]
    n = start.shape[0]
    n_samples = sample_grid(duration_s, step_s)
    n_knots = int(math.ceil(duration_s / knot_s)) + 2
    low_height, high_height = p["height_m"]
    preferred = rng.uniform(low_height + 20.0, high_height - 40.0, n)
    mean_speed = rng.uniform(6.0, 13.0, n)
    a_turn, a_speed, a_climb = (math.exp(-knot_s / tau) for tau in (3.0, 5.0, 4.0))
    turn = np.empty((n, n_knots))
    speed = np.empty((n, n_knots))
    climb = np.empty((n, n_knots))
    turn[:, 0] = rng.normal(0.0, np.radians(12.0), n)
    speed[:, 0] = mean_speed
    climb[:, 0] = 0.0
    height = start[:, 2].copy()
    noise = rng.standard_normal((3, n_knots, n))
    for j in range(n_knots - 1):
        turn[:, j + 1] = (a_turn * turn[:, j]
                          + np.radians(12.0) * math.sqrt(1.0 - a_turn ** 2) * noise[0, j])
        speed[:, j + 1] = np.clip(mean_speed + a_speed * (speed[:, j] - mean_speed)
                                  + 1.5 * math.sqrt(1.0 - a_speed ** 2) * noise[1, j],
                                  p["speed_mps"][0], p["speed_mps"][1])
        pull = np.clip(0.02 * (preferred - height), -1.5, 1.5)
        climb[:, j + 1] = (pull + a_climb * (climb[:, j] - pull)
                           + 0.8 * math.sqrt(1.0 - a_climb ** 2) * noise[2, j])
        height += 0.5 * knot_s * (climb[:, j] + climb[:, j + 1])
    grid = np.arange(n_samples) * step_s / knot_s
    j = np.minimum(grid.astype(np.int64), n_knots - 2)
    weight = grid - j

    def on_grid(knots):
        on_knots = knots[:, j] * (1.0 - weight) + knots[:, j + 1] * weight
        return moving_average(on_knots, knot_s, step_s, passes=1)

    velocity = np.empty((n, n_samples, 3))
    velocity[..., 0], velocity[..., 1] = horizontal_velocity(np.radians(heading0_deg),
                                                              on_grid(turn), on_grid(speed), step_s)
    velocity[..., 2] = on_grid(climb)
    return Trajectories(step_s, integrate_positions(start, velocity, step_s), velocity,
                        np.full(n, "bird"), log_uniform(rng, p["rcs_m2"], n))


def balloon_motion(rng, start, wind_from_deg, duration_s, step_s):
    """Balloons drifting with the wind and slowly climbing.

    Heading ``psi(t) = psi_0 + A sin(2 pi t / P + phi)`` (A 5-15 deg, P 60-240 s)
    around the downwind direction, speed ``v_0 + 0.3 sin(...)`` with v_0 in
    2-6 m/s, climb ``c_0 + 0.1 sin(...)`` with c_0 in 0.2-1.0 m/s.

    Parameters
    ----------
    rng : numpy.random.Generator
    start : ndarray, shape (n, 3)
    wind_from_deg : float or ndarray, shape (n,)
        Direction the wind blows from (degrees clockwise from north).
    duration_s, step_s : float

    Returns
    -------
    Trajectories
    """
    p = KIND_PARAMETERS["balloon"]
    n = start.shape[0]
    n_samples = sample_grid(duration_s, step_s)
    t = np.arange(n_samples) * step_s

    def wave(amplitude_low, amplitude_high):
        amplitude = rng.uniform(amplitude_low, amplitude_high, n)[:, None]
        period = rng.uniform(60.0, 240.0, n)[:, None]
        phase = rng.uniform(0.0, 2.0 * np.pi, n)[:, None]
        return amplitude * np.sin(2.0 * np.pi * t / period + phase)

    downwind = np.radians(np.broadcast_to(wind_from_deg, (n,)) + 180.0)[:, None]
    heading = downwind + np.radians(wave(5.0, 15.0))
    speed = rng.uniform(p["speed_mps"][0], p["speed_mps"][1], n)[:, None] + wave(0.2, 0.3)
    velocity = np.empty((n, n_samples, 3))
    velocity[..., 0] = speed * np.sin(heading)
    velocity[..., 1] = speed * np.cos(heading)
    velocity[..., 2] = rng.uniform(p["climb_mps"][0], p["climb_mps"][1], n)[:, None] + wave(0.05, 0.1)
    return Trajectories(step_s, integrate_positions(start, velocity, step_s), velocity,
                        np.full(n, "balloon"), log_uniform(rng, p["rcs_m2"], n))


def straight_motion(rng, point, time_s, velocity_mps, duration_s, step_s, kind="drone"):
    """Constant-velocity targets passing ``point`` at ``time_s``.

    ``p(t) = point + v (t - time_s)``.

    Parameters
    ----------
    rng : numpy.random.Generator
        For the radar cross-sections only.
    point : ndarray, shape (n, 3)
    time_s : ndarray, shape (n,)
    velocity_mps : ndarray, shape (n, 3)
    duration_s, step_s : float
    kind : str

    Returns
    -------
    Trajectories
    """
    n = point.shape[0]
    n_samples = sample_grid(duration_s, step_s)
    t = np.arange(n_samples) * step_s
    velocity = np.repeat(velocity_mps[:, None, :], n_samples, axis=1)
    position = point[:, None, :] + velocity * (t[None, :, None] - time_s[:, None, None])
    return Trajectories(step_s, position, velocity, np.full(n, kind),
                        log_uniform(rng, KIND_PARAMETERS[kind]["rcs_m2"], n))


def formation(rng, leader, leader_index, offset_m, jitter_m=(0.2, 1.0), period_s=(6.0, 20.0),
              kind=None):
    """Members that follow a leader at fixed offsets plus a small smooth jitter.

    Member position ``p_leader(t) + d + sum_q A_q sin(2 pi t / P_q + phi_q)`` per
    axis (two terms, A in ``jitter_m``, P in ``period_s``; half that amplitude
    vertically); the member velocity adds the derivative of the jitter.

    Parameters
    ----------
    rng : numpy.random.Generator
    leader : Trajectories
    leader_index : ndarray of int, shape (m,)
        Leader row followed by each member.
    offset_m : ndarray, shape (m, 3)
        Fixed offset d of each member from its leader (m).
    jitter_m : (float, float)
        Range of the horizontal jitter amplitudes (m).
    period_s : (float, float)
        Range of the jitter periods (s).
    kind : str, optional
        Kind of the members; the leader's by default.

    Returns
    -------
    Trajectories
        The members only (m rows).
    """
    m = leader_index.shape[0]
    t = np.arange(leader.n_samples) * leader.step_s
    position = leader.position[leader_index] + offset_m[:, None, :]
    velocity = leader.velocity[leader_index].copy()
    for _ in range(2):
        amplitude = rng.uniform(jitter_m[0], jitter_m[1], (m, 1, 3)) * np.array([1.0, 1.0, 0.5])
        omega = 2.0 * np.pi / rng.uniform(period_s[0], period_s[1], (m, 1, 3))
        phase = rng.uniform(0.0, 2.0 * np.pi, (m, 1, 3))
        angle = omega * t[None, :, None] + phase
        position += amplitude * np.sin(angle)
        velocity += amplitude * omega * np.cos(angle)
    kinds = leader.kind[leader_index] if kind is None else np.full(m, kind)
    rcs_range = KIND_PARAMETERS[str(kinds[0])]["rcs_m2"] if m else (1.0, 1.0)
    return Trajectories(leader.step_s, position, velocity, kinds, log_uniform(rng, rcs_range, m))
