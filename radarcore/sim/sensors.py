"""Radar measurement model of the scenario simulator.

A radar of the site (:class:`radarcore.core.config.RadarConfig`) observes the
targets of a :class:`~radarcore.sim.trajectories.Trajectories`:

Timing
    A ``rotating`` radar's beam points at azimuth
    ``beta(t) = beta_0 + 360 t / T`` (mod 360, clockwise, T the scan period,
    beta_0 a random start azimuth); scan k covers ``[k T, (k + 1) T)`` and
    only whole scans inside the duration are simulated.  A target is seen in
    scan k when the beam passes its azimuth, the fixed point of

    .. math:: t \\leftarrow k T + T \\, ((a(t) - \\beta_0) \\bmod 360) / 360

    with ``a(t)`` the target's azimuth from the radar, iterated from
    ``t = k T``.  The map contracts by the ratio of the target's azimuth rate
    to the beam's (at most about 0.1, for an aircraft passing near the radar),
    so six steps leave well under a millisecond;
    a scan where the target's azimuth straddles ``beta_0`` may not converge,
    and that one look is dropped.  A ``staring`` radar updates at
    ``t_k = phi + k T`` (random phase phi) and measures every target at
    ``t_k`` plus a jitter uniform in ``[0, 10 ms)``.
Coverage and detection
    ``150 m <= range <= max_range_m`` and ``-1 <= elevation <= 60`` degrees,
    then a detection with probability ``p_detection`` (the tracker default
    when the radar gives none), independently per look.
Noise
    Gaussian, zero mean, with the radar's sigmas, on range, azimuth and
    elevation; radial velocity (exact projection of the velocity on the line
    of sight) with ``sigma_radial_velocity_mps`` for a radar that gives it,
    NaN otherwise.  An optional bias is added to range and azimuth.
SNR
    ``snr_db = C + 10 log10(sigma_rcs) - 40 log10(range_m) + N(0, 2 dB)`` with
    :data:`SNR_CONSTANT_DB` chosen so that a 0.0316 m^2 drone at 5 km gives
    15 dB.
Fluctuating targets and SNR-driven detection
    With a ``detection_threshold_db`` (the bird and drone scenarios), a
    target's cross-section fluctuates from plot to plot: ``sigma_k =
    sigma_mean X_k`` with ``X_k`` independent per look, ``X = 1`` for
    ``swerling`` 0, ``X ~ Exp(1)`` (chi-square, 2 degrees of freedom, mean
    1) for ``swerling`` 1 and ``X ~ Gamma(2, 1/2)`` (chi-square, 4 degrees
    of freedom, mean 1) for ``swerling`` 3.  The look's signal-to-noise
    ratio is ``S = C + 10 log10(sigma_k) - 40 log10(range_m)`` dB; it is
    detected when ``S >= detection_threshold_db`` and, independently, with
    probability ``p_detection`` (beam and processing losses), and reported
    with ``snr_db = S + N(0, 1 dB)``.  So small birds far out are seen
    seldom, and the reported SNR of a bird swings more from plot to plot
    than a drone's.  Without a threshold the model is the steady one below.
Clutter
    Per scan a Poisson count of mean ``false_alarm_density * V`` with
    ``V = pi (max_range_m^2 - 150^2) * 1000`` (a ground ring from 150 m to
    the maximum range, heights 0-1000 m above the radar's horizontal plane),
    uniform in ground area and height; its time is when the beam passes it
    (rotating) or an update time plus jitter (staring).  Radial velocity for
    a Doppler radar: 70 % N(0, 1.5 m/s), 30 % uniform in [-30, 30] m/s.  SNR
    ``5 + Exp(3)`` dB (``detection_threshold_db + Exp(3)`` dB with a
    threshold).

Random streams are split per radar, and per radar between the target looks
and the clutter, so that changing one radar's settings (or switching clutter
off) leaves every other draw as it was.
"""
from __future__ import annotations

import math

import numpy as np

from ingest.schema import PLOT_DTYPE
from kernels.geodesy import enu_to_polar, radar_frame, radial_velocity

__all__ = [
    "MIN_RANGE_M",
    "MIN_ELEVATION_DEG",
    "MAX_ELEVATION_DEG",
    "CLUTTER_CEILING_M",
    "SNR_CONSTANT_DB",
    "STARING_JITTER_S",
    "clutter_volume_m3",
    "observe",
]

MIN_RANGE_M = 150.0
MIN_ELEVATION_DEG = -1.0
MAX_ELEVATION_DEG = 60.0
#: Clutter fills heights 0 to this above the radar's horizontal plane (m).
CLUTTER_CEILING_M = 1000.0
#: Radar-equation constant: 15 dB for 10 log10(0.0316 m^2) at 5 km.
SNR_CONSTANT_DB = 15.0 - 10.0 * math.log10(math.sqrt(0.01 * 0.1)) + 40.0 * math.log10(5000.0)
SNR_SIGMA_DB = 2.0
STARING_JITTER_S = 0.01
#: Error of the reported SNR of a fluctuating target's plot (dB).
FLUCTUATING_SNR_SIGMA_DB = 1.0
#: Fixed-point steps for the time the beam passes a target.
_BEAM_ITERATIONS = 6
#: A look whose beam-target azimuth mismatch is above this did not converge.
_BEAM_TOLERANCE_DEG = 0.01


def clutter_volume_m3(max_range_m):
    """Volume that clutter fills: ``pi (max_range_m^2 - 150^2) * 1000`` (m^3)."""
    return math.pi * (max_range_m ** 2 - MIN_RANGE_M ** 2) * CLUTTER_CEILING_M


def _polar(position, M, b):
    out = np.empty_like(position)
    enu_to_polar(position, M, b, out)
    return out


def _wrap180(angle_deg):
    return (angle_deg + 180.0) % 360.0 - 180.0


def _beam_times(trajectories, target_index, scan_start_s, period_s, start_azimuth_deg, M, b):
    """Times the beam passes each target in its scan, and the final mismatch (deg)."""
    t = scan_start_s.copy()
    for _ in range(_BEAM_ITERATIONS):
        position, _ = trajectories.state_at(target_index, t, velocity=False)
        azimuth = _polar(position, M, b)[:, 1]
        t = scan_start_s + period_s * (((azimuth - start_azimuth_deg) % 360.0) / 360.0)
    position, _ = trajectories.state_at(target_index, t, velocity=False)
    azimuth = _polar(position, M, b)[:, 1]
    beam = start_azimuth_deg + 360.0 * t / period_s
    return t, np.abs(_wrap180(azimuth - beam))


def _fluctuation(rng, swerling):
    """Cross-section factor X of each look: 1, chi-square 2 dof or 4 dof (mean 1)."""
    x = np.ones(swerling.shape[0])
    one = swerling == 1
    three = swerling == 3
    x[one] = rng.exponential(1.0, int(one.sum()))
    x[three] = rng.gamma(2.0, 0.5, int(three.sum()))
    return x


def _target_looks(radar, frame, trajectories, duration_s, p_detection, bias, rng, schedule,
                  detection_threshold_db=None):
    """Plots of the real targets for one radar; returns (plots, target_id)."""
    M, b = frame
    n_targets = trajectories.n_targets
    period = radar.scan_period_s
    if radar.mode == "rotating":
        n_scans = schedule["n_scans"]
        scan_start = np.repeat(np.arange(n_scans) * period, n_targets)
        target_index = np.tile(np.arange(n_targets), n_scans)
        t, mismatch = _beam_times(trajectories, target_index, scan_start, period,
                                  schedule["start_azimuth_deg"], M, b)
        valid = mismatch < _BEAM_TOLERANCE_DEG
    else:
        update = schedule["phase_s"] + np.arange(schedule["n_scans"]) * period
        target_index = np.tile(np.arange(n_targets), update.shape[0])
        t = np.repeat(update, n_targets) + rng.uniform(0.0, STARING_JITTER_S, target_index.shape[0])
        valid = np.ones(t.shape[0], dtype=bool)
    detected = rng.random(t.shape[0]) < p_detection
    position, velocity = trajectories.state_at(target_index, t)
    polar = _polar(position, M, b)
    keep = (valid & detected & (t <= duration_s)
            & (polar[:, 0] >= MIN_RANGE_M) & (polar[:, 0] <= radar.max_range_m)
            & (polar[:, 2] >= MIN_ELEVATION_DEG) & (polar[:, 2] <= MAX_ELEVATION_DEG))
    # Noise is drawn for every candidate look, kept or not, so that the draws
    # of one look do not depend on the coverage of the others.
    m = t.shape[0]
    noise = rng.standard_normal((4, m))
    fluctuation = rng.normal(0.0, SNR_SIGMA_DB, m)
    if detection_threshold_db is not None:
        # Drawn after the steady model's draws, so that those stay as they were.
        rcs_m2 = (trajectories.rcs_m2[target_index]
                  * _fluctuation(rng, trajectories.swerling[target_index]))
        signal_db = (SNR_CONSTANT_DB + 10.0 * np.log10(np.maximum(rcs_m2, 1e-30))
                     - 40.0 * np.log10(np.maximum(polar[:, 0], 1.0)))
        keep &= signal_db >= detection_threshold_db
        fluctuation = signal_db + rng.normal(0.0, FLUCTUATING_SNR_SIGMA_DB, m)
    t, target_index, polar = t[keep], target_index[keep], polar[keep]
    position, velocity = position[keep], velocity[keep]
    noise, fluctuation = noise[:, keep], fluctuation[keep]
    range_bias_m, azimuth_bias_deg = bias
    plots = np.empty(t.shape[0], dtype=PLOT_DTYPE)
    plots["time_s"] = t
    plots["radar_id"] = radar.id
    plots["range_m"] = polar[:, 0] + radar.sigma_range_m * noise[0] + range_bias_m
    plots["azimuth_deg"] = (polar[:, 1] + radar.sigma_azimuth_deg * noise[1]
                            + azimuth_bias_deg) % 360.0
    plots["elevation_deg"] = polar[:, 2] + radar.sigma_elevation_deg * noise[2]
    if radar.sigma_radial_velocity_mps is None:
        plots["radial_velocity_mps"] = np.nan
    else:
        exact = np.empty(t.shape[0])
        radial_velocity(position, velocity, b, exact)
        plots["radial_velocity_mps"] = exact + radar.sigma_radial_velocity_mps * noise[3]
    if detection_threshold_db is None:
        plots["snr_db"] = (SNR_CONSTANT_DB + 10.0 * np.log10(trajectories.rcs_m2[target_index])
                           - 40.0 * np.log10(polar[:, 0]) + fluctuation)
    else:
        plots["snr_db"] = fluctuation
    return plots, trajectories.target_id[target_index]


def _clutter(radar, density, rng, schedule, detection_threshold_db=None):
    """False plots of one radar."""
    period = radar.scan_period_s
    n_scans = schedule["n_scans"]
    mean = density * clutter_volume_m3(radar.max_range_m)
    counts = rng.poisson(mean, n_scans)
    scan = np.repeat(np.arange(n_scans), counts)
    n = scan.shape[0]
    ground_m = np.sqrt(rng.uniform(MIN_RANGE_M ** 2, radar.max_range_m ** 2, n))
    azimuth = rng.uniform(0.0, 360.0, n)
    height_m = rng.uniform(0.0, CLUTTER_CEILING_M, n)
    if radar.mode == "rotating":
        t = period * (scan + ((azimuth - schedule["start_azimuth_deg"]) % 360.0) / 360.0)
    else:
        t = schedule["phase_s"] + period * scan + rng.uniform(0.0, STARING_JITTER_S, n)
    plots = np.empty(n, dtype=PLOT_DTYPE)
    plots["time_s"] = t
    plots["radar_id"] = radar.id
    plots["range_m"] = np.hypot(ground_m, height_m)
    plots["azimuth_deg"] = azimuth
    plots["elevation_deg"] = np.degrees(np.arctan2(height_m, ground_m))
    if radar.sigma_radial_velocity_mps is None:
        plots["radial_velocity_mps"] = np.nan
    else:
        slow = rng.random(n) < 0.7
        plots["radial_velocity_mps"] = np.where(slow, rng.normal(0.0, 1.5, n),
                                                rng.uniform(-30.0, 30.0, n))
    floor_db = 5.0 if detection_threshold_db is None else detection_threshold_db
    plots["snr_db"] = floor_db + rng.exponential(3.0, n)
    return plots


def _schedule(radar, duration_s, rng):
    """Scan timing of one radar: scan count and start azimuth or phase."""
    period = radar.scan_period_s
    if radar.mode == "rotating":
        return {"mode": "rotating", "scan_period_s": period,
                "n_scans": int(math.floor(duration_s / period + 1e-9)),
                "start_azimuth_deg": float(rng.uniform(0.0, 360.0))}
    if radar.mode == "staring":
        phase = float(rng.uniform(0.0, period))
        last = duration_s - STARING_JITTER_S - phase
        return {"mode": "staring", "scan_period_s": period,
                "n_scans": max(0, int(math.floor(last / period + 1e-9)) + 1),
                "phase_s": phase}
    raise ValueError(f"radar {radar.id}: unknown mode {radar.mode!r} "
                     "(expected 'rotating' or 'staring')")


def observe(site, trajectories, seed=0, bias=None, clutter=True, detection_threshold_db=None):
    """Simulate every radar of a site observing a set of trajectories.

    Parameters
    ----------
    site : radarcore.core.config.SiteConfig
        Origin and radars (positions, sigmas, scan periods, coverage,
        ``p_detection`` and ``false_alarm_density``, the tracker defaults when
        a radar gives none).
    trajectories : Trajectories
        The targets, on a grid covering the whole run.
    seed : int or numpy.random.SeedSequence
        Seed of the measurement draws (scan phases, detections, noise, clutter).
    bias : dict, optional
        ``radar_id -> (range_bias_m, azimuth_bias_deg)`` added to the target
        plots of that radar; radars not named have none.
    clutter : bool
        Whether to add false plots.
    detection_threshold_db : float, optional
        With a threshold, fluctuating cross-sections and SNR-driven
        detection (see the module docstring); None: the steady model.

    Returns
    -------
    plots : ndarray of PLOT_DTYPE, shape (n_plots,)
        Sorted by time_s (stable; radars interleave).
    plot_target_id : ndarray of int64, shape (n_plots,)
        The truth target_id of each plot, 0 for clutter.
    radars : dict
        Per radar id: ``mode``, ``scan_period_s``, ``n_scans``,
        ``start_azimuth_deg`` (rotating) or ``phase_s`` (staring), ``bias``,
        ``clutter_per_scan`` (Poisson mean), ``n_target_plots``,
        ``n_clutter_plots``.
    """
    bias = {} if bias is None else dict(bias)
    unknown = set(bias) - set(site.radar_ids)
    if unknown:
        raise ValueError(f"bias given for unknown radar ids {sorted(unknown)} "
                         f"(site radars: {list(site.radar_ids)})")
    duration_s = trajectories.duration_s
    origin = site.origin
    sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    parts, owners, radars = [], [], {}
    for radar, radar_sequence in zip(site.radars, sequence.spawn(len(site.radars))):
        timing_seq, look_seq, clutter_seq = radar_sequence.spawn(3)
        if not radar.scan_period_s > 0.0:
            raise ValueError(f"radar {radar.id}: scan_period_s must be positive")
        schedule = _schedule(radar, duration_s, np.random.default_rng(timing_seq))
        frame = radar_frame(radar.lat_deg, radar.lon_deg, radar.alt_m,
                            origin.lat_deg, origin.lon_deg, origin.alt_m)
        radar_bias = tuple(float(value) for value in bias.get(radar.id, (0.0, 0.0)))
        plots, target_id = _target_looks(radar, frame, trajectories, duration_s,
                                         site.radar_p_detection(radar.id), radar_bias,
                                         np.random.default_rng(look_seq), schedule,
                                         detection_threshold_db)
        parts.append(plots)
        owners.append(target_id)
        density = site.radar_false_alarm_density(radar.id) if clutter else 0.0
        false_plots = _clutter(radar, density, np.random.default_rng(clutter_seq), schedule,
                               detection_threshold_db)
        parts.append(false_plots)
        owners.append(np.zeros(false_plots.shape[0], dtype=np.int64))
        radars[radar.id] = dict(schedule, bias=radar_bias,
                                clutter_per_scan=density * clutter_volume_m3(radar.max_range_m),
                                n_target_plots=int(plots.shape[0]),
                                n_clutter_plots=int(false_plots.shape[0]))
    plots = np.concatenate(parts)
    owners = np.concatenate(owners)
    order = np.argsort(plots["time_s"], kind="stable")
    return plots[order], owners[order], radars
