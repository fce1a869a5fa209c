"""Peer comparison: the same simulated scenarios through Stone Soup and radarcore.

    python benchmarks/peer_stonesoup.py [--runs sparse:1-2 crossing:1-2 swarm:1-2 large300:1]
                                        [--cap-s 120] [--out DIR] [--json FILE] [--duration S]
                                        [--no-pregate] [--no-lazy]

Bird-rich runs: ``birdrich:SEED`` (300 targets, 4 radars, 50 clutter plots per
scan per radar) and ``birdrich30:SEED`` (the same mix scaled to 30 targets and
5 clutter plots per scan, which the peer can finish); ``--duration`` shortens
every scenario.

The peer's hypothesisers see, for each track, only the detections of the step
within a generous radius of it (:class:`_PreGated`: a k-d tree over the
detections' site ENU positions per step, radius twice the Mahalanobis gate in
metres plus 50 m), and its motion model remembers F and Q per time interval;
neither changes what the tracker decides (a detection outside the radius is
beyond the gate, so the assignment never picks it), only how long it takes.
``--no-pregate`` offers every detection to every track, as before.

The peer's steps are driven lazily (:meth:`StoneSoupRun._step_lazy`): the script
calls the components in the order Stone Soup's ``MultiTargetTracker`` and
``MultiMeasurementInitiator`` do, but hands the data associators only the tracks
with a detection within the pre-gate radius; every other track takes the
missed-detection path without its prediction being appended (it keeps its last
state and is predicted from there when a detection comes near it or an epoch is
written: for the constant-velocity model one prediction over several steps is
the same arithmetic as one per step, up to rounding), and the deleters
(``UpdateTimeDeleter.check_for_deletion`` at the step's time) are asked only
about tracks with no Update within their window.  ``--no-lazy`` steps Stone
Soup's ``MultiTargetTracker`` itself, every track at every step, as before
(benchmarks/test_peer_stonesoup.py checks both write the same tracks).

Needs the ``peer`` extra (``pip install -e '.[peer]'``: Stone Soup).

**Stone Soup tracker.**  A global-nearest-neighbour tracker built from Stone
Soup's own components, configured as its documentation recommends for this
problem: :class:`~stonesoup.tracker.simple.MultiTargetTracker` with
:class:`~stonesoup.dataassociator.neighbour.GNNWith2DAssignment` over a
:class:`~stonesoup.hypothesiser.distance.DistanceHypothesiser` (Mahalanobis
distance, missed distance ``sqrt(chi2.ppf(0.9995, 3))``, the engine's gate
probability), an extended Kalman filter
(:class:`~stonesoup.predictor.kalman.ExtendedKalmanPredictor`,
:class:`~stonesoup.updater.kalman.ExtendedKalmanUpdater`) on a nearly
constant velocity model (``ConstantVelocity`` per axis, with the engine's
``sigma_accel_mps2`` squared horizontally and ``sigma_accel_vertical_mps2``
squared vertically), one polar measurement model
(:class:`~stonesoup.models.measurement.nonlinear.CartesianToElevationBearingRange`)
per radar with the radar's noise and its position in the site ENU frame as
``translation_offset``, a
:class:`~stonesoup.initiator.simple.MultiMeasurementInitiator` (3 plots,
like the engine's ``confirm_hits``; its tentative tracks dropped after the
engine's ``tentative_timeout_s`` without a plot) and an
:class:`~stonesoup.deleter.time.UpdateTimeDeleter` (the engine's
``delete_after_s``).

**Plots to detections.**  A plot (range, azimuth clockwise from north at the
radar, elevation above the radar's local horizontal) is converted exactly to
the site ENU frame with the engine's kernel (no debiasing) and re-expressed
as (elevation, bearing, range) about the radar's position in site axes:
bearing is Stone Soup's, counter-clockwise from the east (x) axis,
``bearing = atan2(north, east)``, i.e. ``90 deg - azimuth`` at the radar.
This removes the small rotation between the radar's tangent plane and the
site's, which a translation-only model would otherwise get wrong by metres
at 10 km.  The peer ignores radial velocity (Doppler), which the engine uses.

**Steps.**  Plots are sorted by time and cut into frames of the engine's
``frame_s`` (0.1 s), and a frame further at each change of radar, so that a
step holds one radar's plots (a GNN assumes at most one plot per target per
step: two radars' plots of one target in one step would leave one of them
unassociated, to start a duplicate track).  Each step is one tracker step
at the time of its last plot, each detection keeping its own time.  Every ``output_period_s`` the
live tracks are extrapolated to the epoch with the same motion model and
written (tracks.csv, interfaces.md), status ``confirmed``.

**radarcore.**  :class:`radarcore.core.engine.Engine` on the same plot array,
in memory, with the scenario's site (IMM, Doppler, zones and alerts on).

**Scores.**  Both tracks.csv are scored with :func:`radarcore.analysis.scores.score`
against truth over the epochs the peer reached (the peer is stopped after
``--cap-s`` seconds of wall time, between frames; the time of its last
processed plot is reported; ``kill -USR1`` stops it the same way at once),
with the site's coverage: GOSPA (c = 50 m,
p = 2) per epoch averaged, identity switches and track swaps.  radarcore is
also scored over the whole run.  Throughput is plots per second of wall time
(and of process CPU time) of each tracker's processing loop, input
conversion included for the peer; the ratio is radarcore's over the peer's.
"""
import argparse
import datetime
import json
import math
import os
import platform
import signal
import sys
import time

import numpy as np
from scipy.spatial import cKDTree as _cKDTree

from ingest.csvio import TrackCsvWriter
from ingest.schema import TRACK_ROW_DTYPE
from kernels.geodesy import enu_rotation, enu_to_geodetic, geodetic_to_ecef, polar_to_enu
from radarcore.core.engine import Engine
from radarcore.analysis.scores import score
from radarcore.sim.simulate import simulate, write_scenario

#: Default runs: name:seeds; ``large300`` is the ``large`` scenario with 300 targets.
DEFAULT_RUNS = ("sparse:1-2", "crossing:1-2", "swarm:1-2", "large300:1")
#: Wall-time cap of the peer per scenario (s).
DEFAULT_CAP_S = 120.0
#: Length of the ``large300`` run (s).
LARGE_DURATION_S = 60.0
#: Smaller bird-rich scenes the peer can finish: name -> options of ``simulate("birdrich")``
#: (the ``birdrich`` mix scaled down: a tenth of the drones, birds and clutter).
SMALL_BIRD_SCENES = {"birdrich30": {"n_targets": 30, "clutter_per_scan": 5.0}}
EPOCH0 = datetime.datetime(2026, 1, 1)
#: Pre-gate of the peer's hypothesisers (:class:`_PreGated`): a detection is offered to a
#: track when within PREGATE_FACTOR times the Mahalanobis gate (in metres, from the
#: predicted position and measurement covariances) plus PREGATE_MARGIN_M of it.
PREGATE_FACTOR = 2.0
PREGATE_MARGIN_M = 50.0


# ---------------------------------------------------------------------------
# Plots in the peer's terms
# ---------------------------------------------------------------------------

def site_polar(plots, engine):
    """(elevation_rad, bearing_rad, range_m, radar_index) of each plot about its radar, in site axes.

    Parameters
    ----------
    plots : ndarray of PLOT_DTYPE, shape (n,)
    engine : radarcore.core.engine.Engine
        For the radar frames (``radar_M``, ``radar_pos``) and ids.
    """
    radar_index = np.searchsorted(engine.radar_ids, plots["radar_id"]).astype(np.int64)
    n = plots.size
    z = np.empty((n, 3))
    polar_to_enu(plots["range_m"].copy(), plots["azimuth_deg"].copy(), plots["elevation_deg"].copy(),
                 radar_index, engine.radar_M, engine.radar_pos, np.zeros((engine.radar_ids.size, 3)),
                 z, np.empty((n, 3, 3)))
    d = z - engine.radar_pos[radar_index]
    range_m = np.linalg.norm(d, axis=1)
    bearing = np.arctan2(d[:, 1], d[:, 0])              # counter-clockwise from east
    elevation = np.arcsin(np.clip(d[:, 2] / range_m, -1.0, 1.0))
    return elevation, bearing, range_m, radar_index


class StoneSoupRun:
    """The peer tracker on one site: its components and the per-radar measurement models."""

    def __init__(self, site, engine, pregate=True, lazy=True):
        from scipy.stats import chi2
        from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
        from stonesoup.deleter.time import UpdateTimeDeleter
        from stonesoup.hypothesiser.distance import DistanceHypothesiser
        from stonesoup.initiator.simple import MultiMeasurementInitiator
        from stonesoup.measures import Mahalanobis
        from stonesoup.models.measurement.nonlinear import CartesianToElevationBearingRange
        from stonesoup.models.transition.linear import (CombinedLinearGaussianTransitionModel,
                                                        ConstantVelocity)
        from stonesoup.predictor.kalman import ExtendedKalmanPredictor
        from stonesoup.types.state import GaussianState
        from stonesoup.updater.kalman import ExtendedKalmanUpdater

        cfg = site.tracker
        q_h = cfg.sigma_accel_mps2 ** 2
        q_v = cfg.sigma_accel_vertical_mps2 ** 2
        self.transition = _memoised_transition(CombinedLinearGaussianTransitionModel)(
            [ConstantVelocity(q_h), ConstantVelocity(q_h), ConstantVelocity(q_v)])
        self.frame_s = engine.frame_s
        self.radar_pos = engine.radar_pos
        self.models, self._noise = [], []
        for k, radar in enumerate(site.radars):
            # (range variance, angular variance) of the Cartesian bound in _PreGated
            self._noise.append((radar.sigma_range_m ** 2, math.radians(radar.sigma_azimuth_deg) ** 2
                                + math.radians(radar.sigma_elevation_deg) ** 2))
            noise = np.diag([math.radians(radar.sigma_elevation_deg) ** 2,
                             math.radians(radar.sigma_azimuth_deg) ** 2, radar.sigma_range_m ** 2])
            self.models.append(CartesianToElevationBearingRange(
                ndim_state=6, mapping=(0, 2, 4), noise_covar=noise,
                translation_offset=engine.radar_pos[k].reshape(3, 1).copy()))
        predictor = ExtendedKalmanPredictor(self.transition)
        updater = ExtendedKalmanUpdater(measurement_model=None)
        gate = math.sqrt(chi2.ppf(cfg.gate_probability, 3))
        self.pregate = pregate
        self._positions = {}                    # id(detection) -> its site ENU position
        hypothesiser = self._gated(DistanceHypothesiser(predictor, updater, measure=Mahalanobis(),
                                                        missed_distance=gate), gate)
        s = cfg.init_sigma_speed_mps
        prior = GaussianState(np.zeros((6, 1)), np.diag([0.0, s * s, 0.0, s * s, 0.0, 25.0]))
        initiator = MultiMeasurementInitiator(
            prior_state=prior, measurement_model=None,
            deleter=UpdateTimeDeleter(datetime.timedelta(seconds=cfg.tentative_timeout_s)),
            data_associator=GNNWith2DAssignment(self._gated(
                DistanceHypothesiser(predictor, updater, measure=Mahalanobis(), missed_distance=gate),
                gate)),
            updater=updater, min_points=cfg.confirm_hits)
        self.frames = _FrameFeed()
        from stonesoup.tracker.simple import MultiTargetTracker
        self.tracker = MultiTargetTracker(
            initiator=initiator, deleter=UpdateTimeDeleter(datetime.timedelta(seconds=cfg.delete_after_s)),
            detector=self.frames, data_associator=GNNWith2DAssignment(hypothesiser), updater=updater)
        self._iterator = iter(self.tracker)
        self.lazy = lazy and pregate
        self._gate = gate
        self._q = np.array([q_h, q_h, q_v])
        self._lazy_tracks = set()               # the tracker's tracks (lazy driver)
        self._last_update = {}                  # track -> time of its last Update (lazy driver)
        self._cache = {}                        # track -> (t_s, x, P) of its last state (lazy driver)

    def _gated(self, hypothesiser, gate):
        return _PreGated(hypothesiser, gate, self) if self.pregate else hypothesiser

    def detections(self, t_s, elevation, bearing, range_m, radar_index):
        from stonesoup.types.angle import Bearing, Elevation
        from stonesoup.types.array import StateVector
        from stonesoup.types.detection import Detection

        out, self._positions = set(), {}
        for t, e, b, r, k in zip(t_s.tolist(), elevation.tolist(), bearing.tolist(),
                                 range_m.tolist(), radar_index.tolist()):
            d = Detection(StateVector([Elevation(e), Bearing(b), r]),
                          timestamp=EPOCH0 + datetime.timedelta(seconds=t),
                          measurement_model=self.models[k])
            out.add(d)
            if self.pregate:
                # the detection's site ENU position and Cartesian noise bound, for _PreGated
                var_r, var_angle = self._noise[k]
                xyz = self.radar_pos[k] + r * np.array([math.cos(e) * math.cos(b),
                                                        math.cos(e) * math.sin(b), math.sin(e)])
                self._positions[id(d)] = (xyz, var_r + r * r * var_angle)
        return out

    def step(self, t_s, detections):
        timestamp = EPOCH0 + datetime.timedelta(seconds=t_s)
        if self.lazy:
            self._step_lazy(timestamp, detections)
            return
        self.frames.next_frame = (timestamp, detections)
        next(self._iterator)

    @property
    def tracks(self):
        """The tracker's confirmed tracks."""
        return self._lazy_tracks if self.lazy else self.tracker.tracks

    # -- the lazy driver ------------------------------------------------------

    def _step_lazy(self, timestamp, detections):
        """One step of MultiTargetTracker (and its MultiMeasurementInitiator), lazily.

        The same calls as ``MultiTargetTracker.__next__`` and
        ``MultiMeasurementInitiator.initiate``, in the same order, except that the
        data associators are handed only the tracks with a detection within the
        pre-gate radius (:meth:`_near`).  Every other track would get the
        missed-detection hypothesis alone, so its association is known: its
        prediction to ``timestamp``.  That prediction is not appended: the track
        keeps its last real state, and whoever needs the track at a later time
        predicts from there in one step (the hypothesiser, the output rows).  For
        the constant-velocity model one prediction over ``dt1 + dt2`` equals the
        prediction over ``dt1`` followed by one over ``dt2`` (F(a)F(b) = F(a+b),
        Q(a+b) = F(b)Q(a)F(b)' + Q(b)), so only the rounding differs.  The
        deleters decide on each track as the tracker's would (Stone Soup's
        ``check_for_deletion`` at the step's time, where a missed track's
        timestamp would be), asked only about tracks without an Update within
        their window (the others are kept by any reading of it).
        """
        from stonesoup.types.update import Update

        tracker, initiator = self.tracker, self.tracker.initiator
        tracks = self._lazy_tracks
        _, associated_detections, updated = self._associate(tracker, tracks, detections, timestamp)
        tracks -= self._doomed(tracker.deleter, tracks, updated, timestamp)

        # MultiMeasurementInitiator.initiate, its holding tracks handled the same way
        detections = detections - associated_detections
        sure_tracks, associated_detections = set(), set()
        holding = initiator.holding_tracks
        if holding:
            associated, associated_detections, updated = self._associate(
                initiator, holding, detections, timestamp)
            for track in associated:
                if sum(1 for state in track
                       if not initiator.updates_only or isinstance(state, Update)) >= initiator.min_points:
                    sure_tracks.add(track)
                    holding.remove(track)
            holding -= self._doomed(initiator.deleter, holding, updated, timestamp)
        for track in initiator.initiator.initiate(detections - associated_detections, timestamp):
            holding.add(track)
            self._touch(track, Update)
        tracks |= sure_tracks

    def _associate(self, owner, tracks, detections, timestamp):
        """``owner``'s (tracker's or initiator's) association and update of the tracks near detections.

        As in ``MultiTargetTracker.__next__``: each associated track is appended its
        update, or its prediction when its hypothesis is the missed detection.
        Returns the tracks associated, the detections used and the tracks updated.
        """
        from stonesoup.types.update import Update

        associations = owner.data_associator.associate(
            self._near(tracks, detections, timestamp), detections, timestamp)
        used, updated = set(), set()
        for track, hypothesis in associations.items():
            if hypothesis:
                track.append(owner.updater.update(hypothesis))
                used.add(hypothesis.measurement)
                updated.add(track)
            else:
                track.append(hypothesis.prediction)
            self._touch(track, Update)
        return list(associations), used, updated

    def _touch(self, track, update_type):
        """Remember the track's last state (and its last Update's time) for :meth:`_near` and :meth:`_doomed`."""
        state = track.state
        if isinstance(state, update_type) and state.hypothesis:
            self._last_update[track] = state.timestamp
        self._cache[track] = ((state.timestamp - EPOCH0).total_seconds(),
                              np.asarray(state.state_vector, float).ravel(), np.asarray(state.covar, float))

    def _doomed(self, deleter, tracks, updated, timestamp):
        """The tracks ``deleter`` deletes at ``timestamp`` (the missed tracks' time in the tracker)."""
        limit = timestamp - deleter.time_since_update
        doomed = {track for track in tracks
                  if track not in updated and self._last_update[track] <= limit
                  and deleter.check_for_deletion(track, timestamp=timestamp)}
        for track in doomed:
            del self._last_update[track], self._cache[track]
        return doomed

    def _near(self, tracks, detections, timestamp):
        """The tracks with a detection within :class:`_PreGated`'s radius at ``timestamp``.

        Each track predicted from its last state in NumPy (vectorised; the same
        constant-velocity F and Q), the radius as in :meth:`_PreGated.hypothesise`.
        """
        if not tracks or not detections:
            return set()
        tracks, detections = list(tracks), list(detections)
        pos = self._positions
        xyz = np.array([pos[id(d)][0] for d in detections]).reshape(-1, 3)
        r_var = max(pos[id(d)][1] for d in detections)
        cache = [self._cache[track] for track in tracks]
        dt = (timestamp - EPOCH0).total_seconds() - np.array([c[0] for c in cache])
        centre, trace, speed = _predicted_positions(np.array([c[1] for c in cache]),
                                                    np.array([c[2] for c in cache]), dt, self._q)
        base = speed * self.frame_s + PREGATE_MARGIN_M
        # 1 m of slack over _PreGated's own radii: rounding never drops a track it would keep
        lists = _cKDTree(xyz).query_ball_point(
            centre, PREGATE_FACTOR * self._gate * np.sqrt(trace + r_var) + base + 1.0)
        var = np.array([pos[id(d)][1] for d in detections])
        near = set()
        for k, idx in enumerate(lists):
            if idx:
                dist = np.linalg.norm(xyz[idx] - centre[k], axis=1)
                if np.any(dist <= PREGATE_FACTOR * self._gate * np.sqrt(trace[k] + var[idx]) + base[k] + 1.0):
                    near.add(tracks[k])
        return near

    def rows(self, t_epoch_s):
        """Every live track extrapolated to the epoch, as TRACK_ROW_DTYPE rows (ENU only)."""
        tracks = sorted(self.tracks, key=lambda track: track.id)
        out = np.zeros(len(tracks), TRACK_ROW_DTYPE)
        epoch = EPOCH0 + datetime.timedelta(seconds=t_epoch_s)
        for k, track in enumerate(tracks):
            state = track.state
            dt = epoch - state.timestamp
            F = self.transition.matrix(time_interval=dt)
            Q = self.transition.covar(time_interval=dt)
            x = F @ np.asarray(state.state_vector, float).ravel()
            P = F @ np.asarray(state.covar, float) @ F.T + Q
            out[k]["time_s"] = t_epoch_s
            out[k]["status"] = 2
            out[k]["east_m"], out[k]["north_m"], out[k]["up_m"] = x[0], x[2], x[4]
            out[k]["v_east_mps"], out[k]["v_north_mps"], out[k]["v_up_mps"] = x[1], x[3], x[5]
            out[k]["sigma_pos_m"] = math.sqrt(max(P[0, 0] + P[2, 2], 0.0))
        out["track_id"] = [self._track_number(track) for track in tracks]
        return out

    def _track_number(self, track):
        numbers = self.__dict__.setdefault("_numbers", {})
        return numbers.setdefault(track.id, len(numbers) + 1)


def _memoised_transition(base):
    """``base`` (Stone Soup's CombinedLinearGaussianTransitionModel) with F and Q remembered per time step.

    The model's ``matrix`` and ``covar`` are pure functions of the time interval; Stone
    Soup rebuilds them with ``scipy.linalg.block_diag`` at every prediction, which is
    most of the peer's time.  Most tracks of a step share one interval (every track was
    last predicted or updated at the previous step's time), so the same matrices are
    computed again and again (the constant-velocity models depend on the interval only,
    not on the ``prior`` the predictor also passes): remembering them (a copy handed out each time) changes
    no figure, only the time.
    """
    class Memoised(base):
        def matrix(self, time_interval=None, **kwargs):
            return self._memo("F", base.matrix, time_interval, **kwargs)

        def covar(self, time_interval=None, **kwargs):
            return self._memo("Q", base.covar, time_interval, **kwargs)

        def _memo(self, which, compute, time_interval, **kwargs):
            memo = self.__dict__.setdefault("_memo_" + which, {})
            if time_interval is None:         # (other arguments, such as prior, change nothing)
                return compute(self, time_interval=time_interval, **kwargs)
            value = memo.get(time_interval)
            if value is None:
                if len(memo) > 4096:
                    memo.clear()
                value = memo[time_interval] = compute(self, time_interval=time_interval)
            return value.copy()

    Memoised.__name__ = Memoised.__qualname__ = base.__name__
    return Memoised


def _predicted_positions(x, P, dt, q):
    """Positions, position covariance traces and speeds of states (n, 6) predicted over dt (n,) s.

    The constant-velocity model per axis (state east, v_east, north, v_north, up,
    v_up; ``q`` the three noise coefficients), in closed form:
    ``p + v dt`` and ``P_pp + 2 dt P_pv + dt^2 P_vv + q |dt|^3 / 3``.
    """
    adt = np.abs(dt)
    trace = np.zeros(len(dt))
    for axis in range(3):
        p, v = 2 * axis, 2 * axis + 1
        trace += P[:, p, p] + 2.0 * dt * P[:, p, v] + dt * dt * P[:, v, v] + q[axis] * adt ** 3 / 3.0
    centre = x[:, 0::2] + x[:, 1::2] * dt[:, None]
    speed = np.sqrt((x[:, 1::2] ** 2).sum(axis=1))
    return centre, np.maximum(trace, 0.0), speed


class _PreGated:
    """A Stone Soup hypothesiser that sees, for each track, only the detections near it.

    Stone Soup's :class:`~stonesoup.hypothesiser.distance.DistanceHypothesiser`
    scores every track against every detection of a step; with 300 targets and
    50 clutter plots per scan per radar that is most of the peer's time.  This
    wrapper puts the step's detections (their site ENU positions) in a
    :class:`scipy.spatial.cKDTree` once per step and hands each track's
    hypothesiser the detections within

        radius = PREGATE_FACTOR * gate * sqrt(tr P_pos + tr R_d) + |v| * frame_s + PREGATE_MARGIN_M

    of the track's position predicted to the step's time, where ``P_pos`` is the
    predicted position covariance, ``R_d`` the detection's own Cartesian measurement
    covariance (``sigma_range^2 + range^2 (sigma_az^2 + sigma_el^2)``; the tree is
    searched with the largest of the step's, then each detection checked with its
    own) and ``gate`` the hypothesiser's missed distance.  A detection
    farther than ``gate * sqrt(lambda_max(P_pos + R))`` has a Mahalanobis distance
    above ``gate`` (to first order), so its hypothesis costs more than the track's
    missed-detection hypothesis and the global-nearest-neighbour assignment never
    picks it: the factor of 2 and the margin cover the linearisation and the
    detections' own times within the step.  The result is the same tracker's
    (``--no-pregate`` runs it without the pre-gate to check).
    """

    def __init__(self, hypothesiser, gate, run):
        self.hypothesiser = hypothesiser
        self.gate = gate
        self.run = run
        self._detections = None
        self._tree = None

    def _index(self, detections):
        if detections is not self._detections:
            self._detections = detections
            self._list = list(detections)
            pos = self.run._positions
            self._xyz = np.array([pos[id(d)][0] for d in self._list]).reshape(-1, 3)
            self._var = np.array([pos[id(d)][1] for d in self._list])
            self._r_var = max(self._var, default=0.0)
            self._tree = _cKDTree(self._xyz) if self._list else None
        return self._tree

    def hypothesise(self, track, detections, timestamp, **kwargs):
        tree = self._index(detections)
        if tree is not None:
            state = track.state
            dt = np.array([(timestamp - state.timestamp).total_seconds()])
            centre, trace, speed = _predicted_positions(
                np.asarray(state.state_vector, float).reshape(1, 6),
                np.asarray(state.covar, float).reshape(1, 6, 6), dt, self.run._q)
            base = speed[0] * self.run.frame_s + PREGATE_MARGIN_M
            near = tree.query_ball_point(centre[0], PREGATE_FACTOR * self.gate
                                         * math.sqrt(trace[0] + self._r_var) + base)
            if near:
                dist = np.linalg.norm(self._xyz[near] - centre[0], axis=1)
                own = PREGATE_FACTOR * self.gate * np.sqrt(trace[0] + self._var[near]) + base
                near = np.asarray(near)[dist <= own].tolist()
            detections = {self._list[i] for i in near}
        return self.hypothesiser.hypothesise(track, detections, timestamp, **kwargs)


class _FrameFeed:
    """The detector of the peer's tracker: yields the frame set by :meth:`StoneSoupRun.step`."""

    next_frame = None

    def __iter__(self):
        return self

    def __next__(self):
        frame, self.next_frame = self.next_frame, None
        if frame is None:
            raise StopIteration
        return frame


def add_geodetic(rows, site):
    """Fill lat_deg, lon_deg, alt_m of track rows from their ENU position."""
    if rows.size == 0:
        return rows
    o = site.origin
    origin = np.empty((1, 3))
    geodetic_to_ecef(np.array([o.lat_deg]), np.array([o.lon_deg]), np.array([o.alt_m]), origin)
    geo = np.empty((rows.size, 3))
    enu = np.ascontiguousarray(np.column_stack([rows["east_m"], rows["north_m"], rows["up_m"]]))
    enu_to_geodetic(enu, origin[0].copy(), np.ascontiguousarray(enu_rotation(o.lat_deg, o.lon_deg)), geo)
    rows["lat_deg"], rows["lon_deg"], rows["alt_m"] = geo[:, 0], geo[:, 1], geo[:, 2]
    return rows


# ---------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------

def run_peer(scenario, cap_s, pregate=True, lazy=True):
    """The peer on the scenario's plots (time order), stopped after ``cap_s`` s of wall time."""
    site = scenario.site
    engine = Engine(site)                       # radar frames and ids only
    plots = np.sort(scenario.plots, order="time_s", kind="stable")
    frame_s = engine.frame_s
    period = site.tracker.output_period_s
    peer = StoneSoupRun(site, engine, pregate=pregate, lazy=lazy)
    frame = np.floor(plots["time_s"] / frame_s).astype(np.int64)
    # a step holds one radar's plots: a new step at each frame and at each change of radar
    bounds = np.flatnonzero((np.diff(frame) != 0) | (np.diff(plots["radar_id"]) != 0)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [plots.size]))
    next_epoch = math.ceil(plots["time_s"][0] / period) * period
    rows, processed, last_t = [], 0, float("nan")
    wall0, cpu0 = time.perf_counter(), time.process_time()
    next_report = wall0 + 60.0
    stop = []                           # SIGUSR1: stop between frames, as at the cap
    previous = (signal.signal(signal.SIGUSR1, lambda *_: stop.append(True))
                if hasattr(signal, "SIGUSR1") else None)
    for lo, hi in zip(starts.tolist(), ends.tolist()):
        while next_epoch < frame[lo] * frame_s - 1e-9:    # epochs before this frame
            rows.append(peer.rows(next_epoch))
            next_epoch += period
        chunk = plots[lo:hi]
        polar = site_polar(chunk, engine)
        peer.step(float(chunk["time_s"][-1]), peer.detections(chunk["time_s"], *polar))
        processed = hi
        last_t = float(chunk["time_s"][-1])
        now = time.perf_counter()
        if now - wall0 > cap_s or stop:
            break
        if now > next_report:
            next_report = now + 60.0
            print(f"  peer at {last_t:.1f} s of plot time, {processed:,} plots, {now - wall0:.0f} s wall, "
                  f"{time.process_time() - cpu0:.0f} s CPU", file=sys.stderr, flush=True)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    if previous is not None:
        signal.signal(signal.SIGUSR1, previous)
    rows = np.concatenate(rows) if rows else np.zeros(0, TRACK_ROW_DTYPE)
    return {"plots": int(processed), "plots_total": int(plots.size), "wall_s": wall, "cpu_s": cpu,
            "last_plot_time_s": last_t, "first_plot_time_s": float(plots["time_s"][0]),
            "complete": processed == plots.size}, add_geodetic(rows, site)


def run_radarcore(scenario):
    engine = Engine(scenario.site)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    rows = [engine.process(scenario.plots), engine.flush()]
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    engine.pop_alerts()
    return ({"plots": int(scenario.plots.size), "wall_s": wall, "cpu_s": cpu},
            np.concatenate([r for r in rows if r.size]), engine)


def scores(truth, rows, engine, t_end_s):
    """GOSPA and identity figures of the rows up to ``t_end_s`` (truth cut at the same time)."""
    rows = rows[rows["time_s"] <= t_end_s]
    truth = truth[truth["time_s"] <= t_end_s + 1e-9]
    s = score(truth, rows, coverage=(engine.radar_pos, engine.radar_max_range))
    return {"gospa_mean_m": float(s.gospa_mean), "gospa_missed_mean": float(s.gospa_missed_mean),
            "gospa_false_mean": float(s.gospa_false_mean), "position_rmse_m": float(s.position_rmse_m),
            "id_switches": int(s.id_switches), "track_swaps": int(s.track_swaps),
            "targets_tracked": int(s.targets_confirmed), "truth_targets": int(s.truth_targets),
            "false_tracks": int(s.false_tracks), "epochs": int(s.n_epochs), "scored_until_s": t_end_s}


def write_tracks(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with TrackCsvWriter(path) as writer:
        writer.write(rows)


def compare(name, seed, cap_s, out_dir=None, duration_s=None, pregate=True, lazy=True):
    """Both trackers on one scenario; a dict of figures."""
    if name == "large300":
        scenario = simulate("large", seed=seed, n_targets=300,
                            duration_s=duration_s or LARGE_DURATION_S)
    elif name in SMALL_BIRD_SCENES:
        scenario = simulate("birdrich", seed=seed, duration_s=duration_s, **SMALL_BIRD_SCENES[name])
    else:
        scenario = simulate(name, seed=seed, duration_s=duration_s)
    core, core_rows, engine = run_radarcore(scenario)
    peer, peer_rows = run_peer(scenario, cap_s, pregate, lazy)
    # both scored over the whole epochs the peer wrote
    t_end = peer_rows["time_s"].max() if peer_rows.size else scenario.plots["time_s"].min()
    result = {"scenario": name, "seed": seed, "targets": int(scenario.info["n_targets"]),
              "plots": int(scenario.plots.size),
              "radarcore": {**core, "plots_per_s": core["plots"] / core["wall_s"],
                            "plots_per_cpu_s": core["plots"] / core["cpu_s"],
                            "scores_peer_span": scores(scenario.truth, core_rows, engine, t_end),
                            "scores_full": scores(scenario.truth, core_rows, engine, math.inf)},
              "stonesoup": {**peer, "plots_per_s": peer["plots"] / peer["wall_s"],
                            "plots_per_cpu_s": peer["plots"] / peer["cpu_s"],
                            "scores_peer_span": scores(scenario.truth, peer_rows, engine, t_end)}}
    result["speed_ratio"] = result["radarcore"]["plots_per_s"] / result["stonesoup"]["plots_per_s"]
    result["speed_ratio_cpu"] = (result["radarcore"]["plots_per_cpu_s"]
                                 / result["stonesoup"]["plots_per_cpu_s"])
    if out_dir:
        run_dir = os.path.join(out_dir, f"{name}-{seed}")
        write_scenario(scenario, run_dir)
        write_tracks(os.path.join(run_dir, "radarcore", "tracks.csv"), core_rows)
        write_tracks(os.path.join(run_dir, "stonesoup", "tracks.csv"), peer_rows)
    return result


def parse_runs(specs):
    runs = []
    for spec in specs:
        name, _, seeds = spec.partition(":")
        for part in (seeds or "1").split(","):
            lo, _, hi = part.partition("-")
            runs.extend((name, s) for s in range(int(lo), int(hi or lo) + 1))
    return runs


def format_row(r):
    c, p = r["radarcore"], r["stonesoup"]
    cg, pg = c["scores_peer_span"], p["scores_peer_span"]
    reached = (f"{p['last_plot_time_s'] - p['first_plot_time_s']:.0f}s"
               + ("" if p["complete"] else f" ({100.0 * p['plots'] / p['plots_total']:.0f}%)"))
    return (f"{r['scenario'] + ':' + str(r['seed']):<12}{r['targets']:>5}{r['plots']:>8}"
            f"{c['plots_per_s']:>12,.0f}{p['plots_per_s']:>10,.0f}{r['speed_ratio']:>9,.0f}"
            f"{r['speed_ratio_cpu']:>10,.0f} {reached:>10}"
            f"{cg['gospa_mean_m']:>9.1f}{pg['gospa_mean_m']:>9.1f}"
            f"{cg['id_switches']:>9}/{pg['id_switches']:<5}{c['scores_full']['gospa_mean_m']:>8.1f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", nargs="+", default=list(DEFAULT_RUNS),
                        help="name:seeds, e.g. sparse:1-2 large300:1")
    parser.add_argument("--cap-s", type=float, default=DEFAULT_CAP_S,
                        help="wall-time cap of the peer per scenario (s)")
    parser.add_argument("--out", default=None, help="write each run's site, plots, truth and both tracks.csv here")
    parser.add_argument("--json", default=None, help="also write the figures here")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="simulate this many seconds of each scenario (default: its own length)")
    parser.add_argument("--no-pregate", dest="pregate", action="store_false",
                        help="offer every detection to every track of the peer (no spatial pre-gate; slow)")
    parser.add_argument("--no-lazy", dest="lazy", action="store_false",
                        help="step the peer through Stone Soup's MultiTargetTracker, every track every step "
                             "(no lazy driver; slow)")
    args = parser.parse_args(argv)
    try:
        import stonesoup
    except ImportError:
        raise SystemExit("Stone Soup is not installed: pip install -e '.[peer]'") from None
    Engine.warmup()
    print(f"Stone Soup {stonesoup.__version__}; peer capped at {args.cap_s:g} s per scenario"
          f"{'' if args.pregate else ', no pre-gate'}{'' if args.lazy and args.pregate else ', no lazy driver'}; "
          "GOSPA c = 50 m, p = 2, over the epochs the peer reached")
    print(f"{'run':<12}{'tgts':>5}{'plots':>8}{'radarcore/s':>12}{'peer/s':>10}{'ratio':>9}"
          f"{'cpu ratio':>10} {'peer reach':>10}{'GOSPA rc':>9}{'GOSPA ss':>9}{' switches rc/ss':>15}"
          f"{'rc full':>8}")
    results = []
    for name, seed in parse_runs(args.runs):
        r = compare(name, seed, args.cap_s, args.out, args.duration, args.pregate, args.lazy)
        results.append(r)
        print(format_row(r), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"stonesoup": stonesoup.__version__, "python": platform.python_version(),
                       "cap_s": args.cap_s, "pregate": args.pregate, "lazy": args.lazy and args.pregate, "date": time.strftime("%Y-%m-%d"), "results": results},
                      f, indent=2)
    return results


if __name__ == "__main__":
    main()
