"""The fusion engine: one writer, deterministic, arrays in and arrays out.

``Engine.process(plots)`` takes a plot batch (``ingest.schema.PLOT_DTYPE``)
from any source, in arrival order, and returns the periodic track rows
(``ingest.schema.TRACK_ROW_DTYPE``) of every output epoch it completed.

Per batch, in Python (vectorised, no per-plot loop):

1. **Validate** each plot: non-finite values, unknown radar and values
   outside physical or configured limits (``out_of_range``) are counted per
   reason and dropped.
2. **Clock**: decide, plot by plot in arrival order, whether the plot is on
   the engine's time line (see *The clock* below); plots older than the
   reorder window are ``late``.
3. **Reorder**: accepted plots wait in a buffer until the reorder window has
   passed.  Time is cut into frames of ``frame_s`` (a divisor of the output
   period); frame ``f`` is released once the engine clock is more than
   ``reorder_window_s`` past its end.  Released plots are sorted by (frame,
   radar, time, arrival).
4. **Convert** the released polar measurements exactly to the site's ENU
   frame with their covariance (per radar: its own tangent plane, via ECEF).
5. **Plan and run** (compiled, ``kernels.tracker.run_plan``): per frame and
   radar a GROUP step (predict, gate, assign, update, initiate); per output
   epoch a MAINTAIN step (coast, drop) and an EMIT step.  After a silent
   stretch of more output epochs than a track can live without a plot
   (``max(delete_after_s, tentative_timeout_s)``), the empty epochs are
   skipped: a long gap costs a bounded number of steps and writes no rows.
   The plan's gating state (the live list, every live track's quick gating
   radius over the current output period, the track grid) is carried from
   one ``run_plan`` call to the next (:meth:`Engine._plan_carry`): a live
   frame's plan renews only the radii of the tracks it updates, not those
   of the whole picture.

Live mode
---------
With ``tracker.history_s > 0`` there is no reorder wait: every accepted plot
is processed in the call that brought it (a plot ahead of the clock waits
until the clock reaches its frame), plots more than ``history_s`` older than
the clock are ``late``, and a plot older than its track is fused exactly by
re-filtering the track's last plots (``kernels.oosm``).  The unit of
processing is the frame as received (``process(plots, frame_sizes)``; one
call without sizes is one frame): a unit's plots are associated together,
per radar and processing frame, in the order the units arrived.  After each
unit the tracks it updated or started are rows of a track update
(:meth:`Engine.pop_updates`) and the alert manager decides on the picture
(see :meth:`Engine._live_update`); the periodic epochs are written as before
(an epoch is written before the first plot of a later frame is fused).  The
outcome depends on the plots and on how they were cut into received frames,
never on how the frames were gathered into calls: a replay that passes the
recorded frames reproduces the live run.

The clock
---------
No single source can move the engine's clock ("now"), which decides which
plots are late and which frames are released.  Each radar ``r`` has its own
clock ``c_r``: the newest time of its accepted plots (reset to a plot's time
when the radar's stream steps back by more than ``clock_step_s``, so one
bogus time of a radar is forgotten at its next plot).  With ``J =
max_time_jump_s`` and ``s = clock_step_s``, a plot at time ``t`` is

* **on the time line** when ``now - s <= t <= now + J``.  It is accepted
  (unless late).  It moves ``now`` to ``t`` by itself only when ``t <= now +
  s`` (a continuous stream).  A plot further ahead is kept and processed in
  its turn but moves ``now`` only on agreement: ``now`` is never behind the
  ``q``-th largest radar clock (``q = min(clock_quorum, number of
  radars)``, at least 2), or a radar's own sustained stream: ``jump_accept_plots``
  plots of one radar ahead in a row while no other radar sent a plot on the
  time line.
* **off the time line** (``t > now + J``, or ``t < now - s``, or no time line
  yet).  The plot is held as evidence for another time line (per radar, the
  plots of one stream, at most ``max(jump_accept_plots, 64)``).  The engine
  switches to that time line when radars agree on it: at least ``max(2, q)``
  radars hold mutually consistent off-line plots (within ``J``) and they
  outnumber the radars that kept sending plots on the current line since,
  or one radar holds ``jump_accept_plots`` such plots while no other radar
  sent a plot on the current line.  A switch finishes the current line
  (every accepted plot processed, epochs written up to its newest time),
  deletes tracks newer than the new line can hold, and takes the held plots
  in arrival order; switching back to the line left last restores that
  line's tracks and alert states, so undoing a wrong switch loses no track.  Held plots that are not taken (their radar came back
  to the line, or the input ended) are counted: ``time_jump`` when ahead of
  ``now``, ``late`` when behind it.

So a lone far-future plot or frame is a counted ``time_jump``; a far-future
first frame does not start the clock (the engine starts when two radars
agree, or one radar has sent ``jump_accept_plots`` plots, or at the end of
the input); a wrong switch is undone when the real radars keep sending on
the old line (they outnumber the line's supporters).  Every decision is
taken plot by plot in arrival order, so the outcome depends only on the
order of plots, never on how they were cut into batches: replaying the
same plots in any batching gives bit-identical tracks.  Without
authentication a sender that can claim the ids of ``q`` radars, or a sender
that is alone on the air, can still move the clock (bind keys to radar ids
to prevent that); a sender can also walk the clock forward by at most
``clock_step_s`` per plot while no other radar is heard.
"""
import copy
from dataclasses import dataclass, field
import math

import numpy as np

from ingest.schema import PLOT_DTYPE, TRACK_ROW_DTYPE
from kernels import tracker as K
from kernels.classify import classify_model, count_flock_neighbours
from kernels.filters import make_imm_params
from kernels.geodesy import enu_rotation, enu_to_geodetic, geodetic_to_ecef, polar_to_enu, radar_frame
from radarcore.core.chi2 import chi2_isf
from radarcore.core.classify_model import load_classify_model
from radarcore.core.alerts import AlertManager
from radarcore.core.tracks import TrackTable
from radarcore.core.zones import build_zone_table

# Accepted plots waiting in the reorder buffer.
_PENDING_DTYPE = np.dtype([
    ("time_s", "f8"), ("range_m", "f8"), ("azimuth_deg", "f8"), ("elevation_deg", "f8"),
    ("radial_velocity_mps", "f8"), ("snr_db", "f8"), ("radar", "i8"), ("frame", "i8"),
    ("seq", "i8"), ("unit", "i8"),
])

REJECT_REASONS = ("malformed", "non_finite", "unknown_radar", "out_of_range", "late", "time_jump")

# Doppler clutter is spread over this many m/s of radial velocity.
RV_SPAN_MPS = 100.0
# Tracks within this distance of each other, with velocities closer than
# this, fly together (the flocking cue of the classifier).
FLOCK_RADIUS_M = 30.0
FLOCK_MAX_DV_MPS = 6.0
# Radial speeds beyond this are not low-altitude targets.
MAX_ABS_RADIAL_VELOCITY_MPS = 400.0
# Plot times beyond this magnitude (UTC epoch seconds reach it in 2286) are
# out of range: they would overflow frame indices and say nothing true.
MAX_ABS_TIME_S = 1e10
# No radar of a site sees this far (and no range beyond twice the radar's own
# maximum is accepted either).
MAX_RANGE_M = 1e6
# SNR in dB outside this span is not a radar measurement (NaN: not given).
SNR_DB_LIMITS = (-100.0, 200.0)
# Limits of the time arithmetic, checked when an engine is built.
MIN_FRAME_S = 1e-3
MAX_OUTPUT_PERIOD_S = 86400.0
MAX_REORDER_WINDOW_S = 3600.0
MAX_TIME_JUMP_S = 1e7
# Output epochs run through a silent stretch at most (beyond the ones needed
# for every track to be deleted).
MAX_SILENT_EPOCHS = 10_000
# Plots per vectorised block of the clock's fast path.
_FAST_BLOCK = 4096


@dataclass
class EngineStats:
    """Counters of one engine's life."""

    plots_received: int = 0
    plots_accepted: int = 0
    rejected: dict = field(default_factory=lambda: {r: 0 for r in REJECT_REASONS})

    def count_rejected(self, reason, n):
        if n:
            self.rejected[reason] = self.rejected.get(reason, 0) + int(n)


class Engine:
    """Fuses plots of all radars of a site into tracks.

    Parameters
    ----------
    site : radarcore.core.config.SiteConfig
    max_time_jump_s : float
        ``J``: a plot more than this ahead of the engine clock (or, held as
        evidence, more than ``clock_step_s`` behind it) is off the time line
        (see *The clock* in the module docstring).
    jump_accept_plots : int
        Plots of one radar that make its stream "sustained": enough to move
        the clock (ahead on the line) or to switch time lines when no other
        radar is heard.
    clock_quorum : int
        Radars whose clocks must agree to move the engine clock (at least
        2; capped at the number of radars).
    clock_step_s : float or None
        How far ahead of the clock one plot may move it by itself (a
        continuous stream), and how far behind it a plot is still on the time
        line.  Default: ``max(2 * reorder_window_s, 2 * longest scan
        period)``, at most ``max_time_jump_s``.
    initial_capacity : int
        Initial track-table capacity (it grows by doubling).

    Raises
    ------
    ValueError
        When the frame, output and time arithmetic would not be bounded: a
        non-finite or non-positive period, an effective frame shorter than
        ``MIN_FRAME_S``, an output period above ``MAX_OUTPUT_PERIOD_S``, a
        reorder window outside ``[0, MAX_REORDER_WINDOW_S]``, or clock
        parameters out of range.  The message names the value.
    """

    def __init__(self, site, max_time_jump_s=600.0, jump_accept_plots=20, clock_quorum=2,
                 clock_step_s=None, initial_capacity=1024):
        self.site = site
        cfg = site.tracker
        self.config = cfg
        _check_time_settings(site, max_time_jump_s, jump_accept_plots, clock_quorum, clock_step_s)
        self.max_time_jump_s = float(max_time_jump_s)
        self.jump_accept_plots = int(jump_accept_plots)

        radars = sorted(site.radars, key=lambda r: r.id)
        self.radar_ids = np.array([r.id for r in radars], np.int64)
        k = len(radars)
        o = site.origin
        self._origin_ecef = np.empty((1, 3))
        geodetic_to_ecef(np.array([o.lat_deg]), np.array([o.lon_deg]), np.array([o.alt_m]),
                         self._origin_ecef)
        self._origin_ecef = self._origin_ecef[0].copy()
        self._origin_rot = np.ascontiguousarray(enu_rotation(o.lat_deg, o.lon_deg))
        self.radar_M = np.empty((k, 3, 3))
        self.radar_pos = np.empty((k, 3))
        self.radar_sigma = np.empty((k, 3))
        self.radar_sigma_rv = np.full(k, np.nan)
        self.radar_max_range = np.empty(k)
        self.radar_pd = np.empty(k)
        self.radar_log_lambda = np.empty(k)
        for r, radar in enumerate(radars):
            M, b = radar_frame(radar.lat_deg, radar.lon_deg, radar.alt_m,
                               o.lat_deg, o.lon_deg, o.alt_m)
            self.radar_M[r] = M
            self.radar_pos[r] = b
            self.radar_sigma[r] = (radar.sigma_range_m, radar.sigma_azimuth_deg,
                                   radar.sigma_elevation_deg)
            if radar.sigma_radial_velocity_mps is not None:
                self.radar_sigma_rv[r] = radar.sigma_radial_velocity_mps
            self.radar_max_range[r] = radar.max_range_m
            self.radar_pd[r] = radar.p_detection if radar.p_detection is not None else cfg.p_detection
            density = (radar.false_alarm_density if radar.false_alarm_density is not None
                       else cfg.false_alarm_density)
            self.radar_log_lambda[r] = math.log(max(density, 1e-15))

        # frames: a divisor of the output period, at most half a scan
        min_scan = min(r.scan_period_s for r in radars)
        frame_target = min(cfg.frame_s, 0.5 * min_scan)
        self.frames_per_output = max(1, math.ceil(cfg.output_period_s / frame_target - 1e-9))
        self.output_period_s = float(cfg.output_period_s)
        self.frame_s = self.output_period_s / self.frames_per_output
        if not self.frame_s >= MIN_FRAME_S:
            raise ValueError(
                f"processing frame of {self.frame_s:g} s (tracker.frame_s = {cfg.frame_s:g}, "
                f"half the shortest radar scan_period_s = {0.5 * min_scan:g}, tracker.output_period_s = "
                f"{cfg.output_period_s:g}) is shorter than {MIN_FRAME_S:g} s")
        # epochs a track can live without a plot: after that many silent
        # epochs every track is deleted and the rest of a gap is skipped
        life_s = max(cfg.delete_after_s, cfg.tentative_timeout_s)
        life_epochs = life_s / self.output_period_s if math.isfinite(life_s) else math.inf
        self.max_silent_epochs = int(min(MAX_SILENT_EPOCHS, math.ceil(max(life_epochs, 0.0)) + 2))
        # live mode (history_s > 0): plots are applied as they arrive and
        # are late beyond the history horizon instead of the reorder window
        self.live = cfg.history_s > 0.0
        self.late_window_s = float(cfg.history_s if self.live else cfg.reorder_window_s)
        self.clock_step_s = (float(clock_step_s) if clock_step_s is not None else
                             min(self.max_time_jump_s, max(2.0 * self.late_window_s,
                                                           2.0 * max(r.scan_period_s for r in radars))))
        self.clock_quorum = max(1, min(max(2, int(clock_quorum)), k))

        # motion models
        if cfg.motion_model == "imm":
            self.omega, self.q_h, self.q_v, self.log_Pi = make_imm_params(
                cfg.imm_turn_rate_dps, cfg.imm_p_stay, [cfg.imm_sigma_accel_mps2] * 3,
                cfg.sigma_accel_vertical_mps2)
        else:
            self.omega = np.zeros(1)
            self.q_h = np.array([cfg.sigma_accel_mps2 ** 2])
            self.q_v = cfg.sigma_accel_vertical_mps2 ** 2
            self.log_Pi = np.zeros((1, 1))
        self.omega = np.ascontiguousarray(self.omega, np.float64)
        self.q_h = np.ascontiguousarray(self.q_h, np.float64)
        self.log_Pi = np.ascontiguousarray(self.log_Pi, np.float64)

        # chi-square quantiles (radarcore.core.chi2: importing scipy.special costs 0.3 s)
        gamma_3 = chi2_isf(3, 1.0 - cfg.gate_probability)
        gamma_4 = chi2_isf(4, 1.0 - cfg.gate_probability)
        # grid cells about one typical gate wide at the radars' longest range
        cross_range = self.radar_max_range * np.deg2rad(self.radar_sigma[:, 1])
        typical_gate = math.sqrt(gamma_4 * float(np.max(cross_range ** 2 + self.radar_sigma[:, 0] ** 2)))
        params = np.zeros(K.N_PARAMS)
        params[K.P_GATE_Q_H] = float(np.max(self.q_h))
        params[K.P_Q_V] = float(self.q_v)
        params[K.P_GAMMA_3] = gamma_3
        params[K.P_GAMMA_4] = gamma_4
        params[K.P_CELL_M] = max(200.0, 2.0 * typical_gate)
        params[K.P_INIT_SIGMA_SPEED] = cfg.init_sigma_speed_mps
        params[K.P_INIT_SIGMA_VERTICAL] = cfg.init_sigma_vertical_speed_mps
        params[K.P_CONFIRM_HITS] = cfg.confirm_hits
        params[K.P_TENTATIVE_TIMEOUT] = cfg.tentative_timeout_s
        params[K.P_COAST_AFTER] = cfg.coast_after_s
        params[K.P_DELETE_AFTER] = cfg.delete_after_s
        params[K.P_MAX_SIGMA_POS] = cfg.max_sigma_pos_m
        params[K.P_OUTPUT_TENTATIVE] = 1.0 if cfg.output_tentative else 0.0
        params[K.P_RV_SPAN] = RV_SPAN_MPS
        params[K.P_OUTPUT_PERIOD] = self.output_period_s
        params[K.P_CONFIRM_SCORE] = cfg.confirm_score
        params[K.P_FLOCK_RADIUS] = FLOCK_RADIUS_M
        params[K.P_FLOCK_DV] = FLOCK_MAX_DV_MPS
        params[K.P_INIT_BESIDE] = 1.0 if cfg.initiate_beside_tracks else 0.0
        params[K.P_TAU_V] = cfg.vertical_speed_tau_s if cfg.motion_model == "imm" else 0.0
        params[K.P_MERGE_EPOCHS] = cfg.merge_after_epochs
        params[K.P_MERGE_D2] = cfg.merge_gate_d2
        params[K.P_MERGE_RADIUS] = cfg.merge_radius_m
        params[K.P_TENTATIVE_CV] = 1.0 if cfg.tentative_filter == "cv" else 0.0
        # a plot older than its track is gated against the retrodicted prediction in
        # both modes: in reorder mode too a radar's group holds plots older than
        # tracks another radar updated in the same frame (1.0 would gate them
        # against the newer state, cheaper, and change those tracks)
        params[K.P_OWN_GATE] = 0.0
        self.classify_params = load_classify_model()
        self.params = params

        self.tracks = TrackTable(n_models=self.omega.shape[0], capacity=initial_capacity)
        # run_plan's gating state kept between calls, for this table as it left run_plan
        # (see _plan_carry); None: make a new one
        self._carry = None
        self.zones = build_zone_table(site)
        # (live mode decides on track updates, many per output epoch)
        self.alerts = (AlertManager(self.zones, site.alerts, epoch_s=cfg.output_period_s if self.live else None)
                       if self.zones.n_zones else None)
        self._alert_events = []
        self.stats = EngineStats()
        self._pending = []                 # chunks of accepted plots (_PENDING_DTYPE)
        self._released_frame = None        # frames < this have been processed
        self._next_epoch = None            # index k of the next output epoch k * period
        self._silent_epochs = 0            # epochs planned since the last GROUP step
        self._seq = 0                      # sequence number of accepted plots
        self._next_unit = 0                # arrival units (frames as received), live mode
        self._updates = []                 # live mode: (unit, track update rows) not yet popped
        #: live mode: keep the track updates for :meth:`pop_updates` (a
        #: publisher sets it; a replay that does not pop them leaves it off)
        self.keep_updates = False
        #: live mode: called with no argument after each unit's track updates and
        #: alert decision, inside :meth:`process` (a publisher pops and sends them
        #: at once instead of after the whole call); it must not call the engine
        #: but for :meth:`pop_updates` and :meth:`pop_alerts`
        self.on_unit = None
        self._alert_units = []             # the unit that caused each queued alert event
        self._alert_t = -math.inf          # live mode: time of the last alert decision
        self._alert_due = -math.inf        # live mode: plot time of the next periodic decision
        self._shown = None                 # live mode: the id of the track shown in each slot (-1: none)
        self._changed = []                 # live mode: (rows, P, class_p) updated since the last decision
        self._gone = []                    # live mode: ids of tracks that left the picture since then
        self._whole_picture = True         # live mode: the next decision is on a new picture
        # the clock (module docstring): now is None until a time line is agreed
        self._now = None
        self._arrival = 0                  # arrival number of validated plots
        self._radar_clock = np.full(k, -math.inf)
        self._ahead_run = np.zeros(k, np.int64)
        self._ahead_start = np.zeros(k, np.int64)
        self._last_on_line = np.full(k, -1, np.int64)
        self._held = [None] * k            # per radar: _Held plots off the time line
        self._holding = np.zeros(k, bool)  # radars with held plots
        self._held_cap = max(self.jump_accept_plots, 64)
        self.clock_switches = 0
        self._stash = None                 # the line abandoned last (see _swap_lines)

    # ------------------------------------------------------------------ input
    def process(self, plots, frame_sizes=None):
        """Take a batch of plots; return the track rows of completed epochs.

        Parameters
        ----------
        plots : ndarray of ingest.schema.PLOT_DTYPE (any field order is cast)
        frame_sizes : sequence of int or None
            In live mode, the plots are these consecutive frames as they
            were received (the units of processing: each frame's plots are
            associated together and its track updates published together);
            None: the batch is one frame.  A live replay that passes the
            frames as the service received them reproduces its output.

        Returns
        -------
        ndarray of ingest.schema.TRACK_ROW_DTYPE, sorted by (time_s, track_id)
            within one time line (a time-line switch finishes the old line
            first, so the rows of a batch that switched go back in time
            after them).
        """
        plots = _as_plots(plots)
        self.stats.plots_received += plots.size
        units = self._units_of(plots.size, frame_sizes)
        if plots.size == 0:
            return np.zeros(0, TRACK_ROW_DTYPE)
        keep, radar_index = self._validate(plots)
        plots = plots[keep]
        radar_index = radar_index[keep]
        units = units[keep]
        rows = []
        n = plots.size
        t = plots["time_s"]
        i = 0
        size = _FAST_BLOCK      # after a plot off the fast path: 16, doubling
        while i < n and n - i <= 4:
            # a few plots: the plain path costs less than setting up the vectorised one
            rows.append(self._take_one(plots[i:i + 1], int(radar_index[i]), int(units[i])))
            i += 1
        while i < n:
            # the common case, vectorised: a run of plots on a continuous
            # stream; a plot outside it takes the slow path alone
            end = min(n, i + size)
            k, prev_max = self._fast_prefix(t[i:end], radar_index[i:end])
            if k:
                self._take_fast(plots[i:i + k], radar_index[i:i + k], prev_max[:k], units[i:i + k])
            if i + k == end:
                size = min(2 * size, _FAST_BLOCK)
                i = end
            else:
                rows.append(self._take_one(plots[i + k:i + k + 1], int(radar_index[i + k]),
                                           int(units[i + k])))
                size = 16
                i += k + 1
        if self._now is not None:
            rows.append(self._release(self._boundary_frame(self._now)))
        return _concat_rows(rows)

    @property
    def next_unit(self):
        """The unit number the next received frame gets (live mode: :meth:`pop_updates`)."""
        return self._next_unit

    def _units_of(self, n, frame_sizes):
        """Unit number of each of ``n`` plots received as ``frame_sizes`` (None: one frame)."""
        if frame_sizes is None:
            frame_sizes = [n]
        sizes = np.asarray(frame_sizes, np.int64)
        if sizes.ndim != 1 or np.any(sizes < 0) or int(sizes.sum()) != n:
            raise ValueError(f"frame_sizes must be non-negative and add up to the {n} plots, "
                             f"got {list(frame_sizes)!r}")
        units = np.repeat(np.arange(self._next_unit, self._next_unit + sizes.size, dtype=np.int64),
                          sizes)
        self._next_unit += sizes.size
        return units

    def flush(self):
        """Process every accepted plot and emit the epochs up to the newest of them.

        Held plots (off the time line) are counted and dropped; with no time
        line yet, the radars that agree most start one first (the end of the
        input is evidence enough).
        """
        rows = []
        if self._now is None:
            best = None
            for r in range(self.radar_ids.size):
                if self._held[r] is None:
                    continue
                members = self._agreeing(r)
                key = (len(members), sum(self._held[m].count for m in members),
                       -min(self._held[m].start for m in members))
                if best is None or key > best[0]:
                    best = (key, members)
            if best is not None:
                rows.append(self._switch(best[1]))
        for r in range(self.radar_ids.size):
            self._drop_held(r)
        rows.append(self._finish_line())
        return _concat_rows(rows)

    def _validate(self, plots):
        stats = self.stats
        n = plots.size
        finite = (np.isfinite(plots["time_s"]) & np.isfinite(plots["range_m"])
                  & np.isfinite(plots["azimuth_deg"]) & np.isfinite(plots["elevation_deg"])
                  & ~np.isinf(plots["radial_velocity_mps"]) & ~np.isinf(plots["snr_db"]))
        stats.count_rejected("non_finite", n - np.count_nonzero(finite))
        radar_index = np.searchsorted(self.radar_ids, plots["radar_id"])
        radar_index = np.minimum(radar_index, self.radar_ids.size - 1)
        known = self.radar_ids[radar_index] == plots["radar_id"]
        unknown = finite & ~known
        stats.count_rejected("unknown_radar", np.count_nonzero(unknown))
        ok = finite & known
        rv = plots["radial_velocity_mps"]
        snr = plots["snr_db"]
        with np.errstate(invalid="ignore"):
            sane = ((np.abs(plots["time_s"]) <= MAX_ABS_TIME_S)
                    & (plots["range_m"] > 0.0)
                    & (plots["range_m"] <= 2.0 * self.radar_max_range[radar_index])
                    & (plots["range_m"] <= MAX_RANGE_M)
                    & (plots["azimuth_deg"] >= -360.0) & (plots["azimuth_deg"] <= 720.0)
                    & (plots["elevation_deg"] >= -90.0) & (plots["elevation_deg"] <= 90.0)
                    & ~(np.abs(rv) > MAX_ABS_RADIAL_VELOCITY_MPS)
                    & ~(snr < SNR_DB_LIMITS[0]) & ~(snr > SNR_DB_LIMITS[1]))
        stats.count_rejected("out_of_range", np.count_nonzero(ok & ~sane))
        return ok & sane, radar_index

    def _frame_of(self, t):
        return np.floor(t / self.frame_s).astype(np.int64)

    def _boundary_frame(self, t_newest):
        """Frames before this one may be processed once ``t_newest`` has been seen.

        Live mode: every frame up to the one holding ``t_newest``.
        """
        if t_newest is None or not math.isfinite(t_newest):
            return None
        if self.live:
            return int(math.floor(t_newest / self.frame_s)) + 1
        return int(math.floor((t_newest - self.config.reorder_window_s) / self.frame_s))

    def _late_frame(self, t_newest):
        """Plots of frames before this one are late once ``t_newest`` has been seen."""
        return int(math.floor((t_newest - self.late_window_s) / self.frame_s))

    # ------------------------------------------------------------------ clock
    def _fast_prefix(self, t, radar_index):
        """How many leading plots are on a continuous stream of the time line.

        Such a plot is within ``clock_step_s`` of the newest time before it,
        from a radar with nothing held, nothing ahead and a clock not ahead
        of ``now``; the slow path would only move ``now`` to it, so
        :meth:`_take_fast` does the same vectorised.
        """
        now = self._now
        if now is None:
            return 0, None
        quiet = (self._ahead_run == 0) & (self._radar_clock <= now) & ~self._holding
        prev_max = np.empty(t.size)
        prev_max[0] = now
        np.maximum.accumulate(t[:-1], out=prev_max[1:])
        np.maximum(prev_max[1:], now, out=prev_max[1:])
        step = self.clock_step_s
        ok = quiet[radar_index] & (t <= prev_max + step) & (t >= prev_max - step)
        if ok.all():
            return t.size, prev_max
        return int(np.argmin(ok)), prev_max

    def _take_fast(self, plots, radar_index, prev_max, units):
        """The vectorised slow path for plots that :meth:`_fast_prefix` passed.

        ``prev_max`` is the newest time before each plot (``now`` included).
        """
        t = plots["time_s"]
        n = t.size
        frames = self._frame_of(t)
        late = frames < np.floor((prev_max - self.late_window_s) / self.frame_s)
        if self._released_frame is not None and not self.live:
            late |= frames < self._released_frame
        self.stats.count_rejected("late", np.count_nonzero(late))
        arrivals = np.arange(self._arrival, self._arrival + n, dtype=np.int64)
        self._arrival += n
        np.maximum.at(self._last_on_line, radar_index, arrivals)
        keep = ~late
        np.maximum.at(self._radar_clock, radar_index[keep], t[keep])
        self._now = max(self._now, float(t.max()))
        self._accept(plots[keep], radar_index[keep], units[keep])

    def _take_one(self, plot, r, unit):
        """One plot (an array of one) through the clock, in arrival order; rows of a switch or None."""
        t = float(plot["time_s"][0])
        a = self._arrival
        self._arrival += 1
        now = self._now
        if now is None or t > now + self.max_time_jump_s or t < now - self.clock_step_s:
            self._hold(plot, r, a, unit)
            return self._try_switch(r)
        self._on_line(plot, r, a, unit)
        return None

    def _on_line(self, plot, r, a, unit):
        """A plot on the time line: late, or accepted (and maybe moving ``now``)."""
        t = float(plot["time_s"][0])
        self._drop_held(r)
        self._last_on_line[r] = a
        now = self._now
        frame = int(math.floor(t / self.frame_s))
        if frame < self._late_frame(now) or (not self.live and self._released_frame is not None
                                             and frame < self._released_frame):
            self.stats.count_rejected("late", 1)
            return
        self._accept(plot, np.array([r], np.int64), np.array([unit], np.int64))
        c = self._radar_clock
        step = self.clock_step_s
        c[r] = t if t < c[r] - step else max(c[r], t)
        if t <= now + step:
            self._ahead_run[r] = 0
            now = max(now, t)
        else:
            if self._ahead_run[r] == 0:
                self._ahead_start[r] = a
            self._ahead_run[r] += 1
            if self._ahead_run[r] >= self.jump_accept_plots:
                others = np.delete(self._last_on_line, r)
                if not np.any(others >= self._ahead_start[r]):
                    now = max(now, float(c[r]))
            # (only a plot ahead can make q clocks pass now)
            q = self.clock_quorum
            if q >= 2 and c.size >= q:
                now = max(now, float(np.partition(c, c.size - q)[c.size - q]))
        self._now = now

    def _hold(self, plot, r, a, unit):
        """Keep a plot off the time line as evidence for radar ``r``'s stream."""
        t = float(plot["time_s"][0])
        held = self._held[r]
        if held is None or abs(t - held.t_last) > self.max_time_jump_s:
            self._drop_held(r)
            held = self._held[r] = _Held(a)
            self._holding[r] = True
        if len(held.plots) < self._held_cap:
            held.plots.append(plot.copy())
            held.arrivals.append((a, unit))
        else:
            self.stats.count_rejected(self._off_line_reason(t), 1)
        held.t_last = t
        held.t_min = min(held.t_min, t)
        held.count += 1

    def _off_line_reason(self, t):
        return "late" if self._now is not None and t < self._now else "time_jump"

    def _drop_held(self, r):
        held = self._held[r]
        if held is None:
            return
        self._held[r] = None
        self._holding[r] = False
        for p in held.plots:
            self.stats.count_rejected(self._off_line_reason(float(p["time_s"][0])), 1)

    def _agreeing(self, r):
        """Radars whose held streams agree (within ``J``) with radar ``r``'s."""
        t = self._held[r].t_last
        return [m for m in range(self.radar_ids.size)
                if self._held[m] is not None and abs(self._held[m].t_last - t) <= self.max_time_jump_s]

    def _try_switch(self, r):
        """Switch time lines when the held streams agreeing with radar ``r``'s win."""
        members = self._agreeing(r)
        start = min(self._held[m].start for m in members)
        outside = np.ones(self.radar_ids.size, bool)
        outside[members] = False
        support = int(np.count_nonzero(outside & (self._last_on_line >= start)))
        n_held = sum(self._held[m].count for m in members)
        if ((len(members) >= max(2, self.clock_quorum) and len(members) > support)
                or (n_held >= self.jump_accept_plots and support == 0)):
            return self._switch(members)
        return None

    def _switch(self, members):
        """Finish the current time line and follow the one the held plots of ``members`` agree on."""
        rows = [self._finish_line()]
        t0 = min(self._held[m].t_min for m in members)
        resumed = self._swap_lines(t0)
        # tracks newer than the new line can hold would never be deleted
        self._delete_tracks_after(t0 + self.max_time_jump_s)
        taken = []
        for m in range(self.radar_ids.size):
            held = self._held[m]
            if held is not None and abs(held.t_last - t0) <= self.max_time_jump_s:
                taken.extend((a, m, p, unit) for (a, unit), p in zip(held.arrivals, held.plots))
                self._held[m] = None     # (plots beyond the cap were counted when they came)
                self._holding[m] = False
        self.clock_switches += 1
        self._shown = None              # (live mode: the new line's tracks make a new picture)
        self._whole_picture = True
        self._now = t0
        # a restored line carries on after the epochs it had written (its
        # finished frames stay open: real plots held while the wrong line ran
        # may belong to them)
        self._released_frame = None
        self._next_epoch, self._silent_epochs = resumed or (None, 0)
        self._radar_clock[:] = -math.inf
        self._ahead_run[:] = 0
        self._last_on_line[:] = -1
        for a, m, p, unit in sorted(taken, key=lambda item: item[0]):
            t = float(p["time_s"][0])
            if t > self._now + self.max_time_jump_s or t < self._now - self.clock_step_s:
                self.stats.count_rejected(self._off_line_reason(t), 1)
            else:
                self._on_line(p, m, a, unit)
        rows.append(self._release(self._boundary_frame(self._now)))
        return _concat_rows(rows)

    def _finish_line(self):
        """Process every accepted plot of the current line; epochs up to its newest time."""
        if self._now is None:
            return np.zeros(0, TRACK_ROW_DTYPE)
        t_last = self._now
        for chunk in self._pending:
            if chunk.size:
                t_last = max(t_last, float(chunk["time_s"].max()))
        last_frame = int(math.floor(t_last / self.frame_s))
        return self._release(last_frame + 1, final=True, t_final=t_last)

    def _swap_lines(self, t0):
        """Keep the abandoned line's tracks; going back to the line abandoned last restores its own.

        So undoing a wrong switch loses no track: the tracks (and alert
        states) of the real line wait while the wrong one runs, and carry on.
        Cumulative counters (track ids, plots, alerts raised) stay those of
        the engine; the abandoned line's live tracks count as deleted.
        Returns ``(next_epoch, silent_epochs)`` of a restored line, else None.
        """
        if self._now is None:
            return None
        J = self.max_time_jump_s
        leaving = (self._now, copy.deepcopy(self.tracks), self._copy_alerts(),
                   (self._next_epoch, self._silent_epochs))
        stash, self._stash = self._stash, leaving
        if stash is None or abs(t0 - stash[0]) > J:
            return None
        _, tracks, alerts, resumed = stash
        current = self.tracks.counters
        for a in range(K.N_COUNTERS):
            if a != K.C_N_FREE:
                tracks.counters[a] = current[a]
        tracks.counters[K.C_DELETED] += self.tracks.n_live
        self.tracks = tracks
        if alerts is not None:
            alerts.next_alert_id = self.alerts.next_alert_id
            alerts.counts = dict(self.alerts.counts)
            self.alerts = alerts
        return resumed

    def _copy_alerts(self):
        if self.alerts is None:
            return None
        shared = {id(self.alerts.zones): self.alerts.zones, id(self.alerts.config): self.alerts.config}
        return copy.deepcopy(self.alerts, shared)

    def _delete_tracks_after(self, t_limit):
        tab = self.tracks
        slots = np.flatnonzero((tab.status != K.FREE) & (tab.t_state > t_limit))
        self._carry = None              # (the table changed outside run_plan)
        for i in slots.tolist():
            tab.status[i] = K.FREE
            tab.free_stack[tab.counters[K.C_N_FREE]] = i
            tab.counters[K.C_N_FREE] += 1
            tab.counters[K.C_DELETED] += 1

    def _accept(self, plots, radar_index, units):
        """Buffer accepted plots (raw; converted when released)."""
        n = plots.size
        if n == 0:
            return
        self.stats.plots_accepted += n
        pending = np.empty(n, _PENDING_DTYPE)
        for name in ("time_s", "range_m", "azimuth_deg", "elevation_deg", "radial_velocity_mps",
                     "snr_db"):
            pending[name] = plots[name]
        pending["radar"] = radar_index
        pending["frame"] = self._frame_of(plots["time_s"])
        pending["seq"] = np.arange(self._seq, self._seq + n, dtype=np.int64)
        pending["unit"] = units
        self._pending.append(pending)
        self._seq += n

    def _convert(self, pending):
        """Sorted released plots -> contiguous arrays in the local ENU frame."""
        n = pending.size
        radar = np.ascontiguousarray(pending["radar"])
        z = np.empty((n, 3))
        R = np.empty((n, 3, 3))
        polar_to_enu(np.ascontiguousarray(pending["range_m"]),
                     np.ascontiguousarray(pending["azimuth_deg"]),
                     np.ascontiguousarray(pending["elevation_deg"]), radar,
                     self.radar_M, self.radar_pos, self.radar_sigma, z, R)
        rv = np.ascontiguousarray(pending["radial_velocity_mps"])
        # a radial velocity from a radar configured without one is ignored
        rv[np.isnan(self.radar_sigma_rv[radar])] = np.nan
        return {"t": np.ascontiguousarray(pending["time_s"]), "frame": np.ascontiguousarray(pending["frame"]),
                "radar": radar, "z": z, "R": R, "rv": rv,
                "snr": np.ascontiguousarray(pending["snr_db"]),
                "range": np.ascontiguousarray(pending["range_m"])}

    # ------------------------------------------------------------- processing
    def _release(self, boundary, final=False, t_final=None):
        """Process every pending frame before ``boundary``; return emitted rows.

        With ``final``, also emit the epochs up to ``t_final``.
        """
        if boundary is None:
            return np.zeros(0, TRACK_ROW_DTYPE)
        if (not self.live and self._released_frame is not None and boundary <= self._released_frame
                and not final):
            return np.zeros(0, TRACK_ROW_DTYPE)
        if not self._pending:
            released = None
        else:
            pending = (self._pending[0] if len(self._pending) == 1
                       else np.concatenate(self._pending))
            take = pending["frame"] < boundary
            released = pending[take]
            rest = pending[~take]
            self._pending = [rest] if rest.size else []
            if self.live:
                # in the order received: unit by unit (then radar, frame, time)
                order = np.lexsort((released["seq"], released["time_s"], released["frame"],
                                    released["radar"], released["unit"]))
            else:
                order = np.lexsort((released["seq"], released["time_s"], released["radar"],
                                    released["frame"]))
            released = released[order]
            units = np.ascontiguousarray(released["unit"])
            released = self._convert(released)
            released["unit"] = units
        if self._next_epoch is None:
            if released is None or released["t"].size == 0:
                return np.zeros(0, TRACK_ROW_DTYPE)
            self._next_epoch = int(released["frame"][0] // self.frames_per_output) + 1
        plan = self._plan(released, boundary, t_final if final else None)
        rows = self._run(plan, released)
        self._released_frame = boundary if self._released_frame is None else max(self._released_frame, boundary)
        return rows

    def _plan(self, released, boundary, t_final):
        """Steps (kind, lo, hi, t) for the released plots and the epochs they complete.

        Epochs ``k`` with ``k * frames_per_output <= f`` come before the
        plots of frame ``f``.  After ``max_silent_epochs`` epochs without a
        plot every track has been deleted (no plot for longer than a track
        lives), so the rest of the silent stretch is skipped: one MAINTAIN at
        its last epoch (a no-op then; with absurd track lifetimes it does
        what the skipped ones would have done to the table) and no rows.
        """
        kinds, los, his, ts, frames = [], [], [], [], []
        n_per = self.frames_per_output
        period = self.output_period_s

        def emit_until(frame_inclusive):
            last = frame_inclusive // n_per          # the last epoch k with k * n_per <= frame
            while self._next_epoch <= last:
                if self._silent_epochs >= self.max_silent_epochs:
                    t_last = last * period
                    kinds.append(K.MAINTAIN)
                    los.append(0)
                    his.append(0)
                    ts.append(t_last)
                    frames.append(-1)
                    self._next_epoch = last + 1
                    break
                t_epoch = self._next_epoch * period
                kinds.extend((K.MAINTAIN, K.EMIT))
                los.extend((0, 0))
                his.extend((0, 0))
                ts.extend((t_epoch, t_epoch))
                frames.extend((-1, -1))
                self._next_epoch += 1
                self._silent_epochs += 1

        if released is not None and released["t"].size:
            frame = released["frame"]
            radar = released["radar"]
            n = frame.size
            change = (frame[1:] != frame[:-1]) | (radar[1:] != radar[:-1])
            if self.live:
                change |= released["unit"][1:] != released["unit"][:-1]
            cut = np.flatnonzero(change) + 1
            starts = np.concatenate(([0], cut))
            ends = np.concatenate((cut, [n]))
            for lo, hi in zip(starts.tolist(), ends.tolist()):
                f = int(frame[lo])
                emit_until(f)
                self._silent_epochs = 0
                kinds.append(K.GROUP)
                los.append(lo)
                his.append(hi)
                ts.append(0.0)
                frames.append(f // n_per)
        if t_final is not None:
            last = int(math.floor(t_final / period + 1e-9))
            if self._next_epoch is not None:
                emit_until(last * n_per)
        else:
            # (live: the frames up to the clock's are released, epochs up to it written)
            emit_until(boundary - 1 if self.live else boundary)
        return (np.array(kinds, np.int64), np.array(los, np.int64), np.array(his, np.int64),
                np.array(ts, np.float64), np.array(frames, np.int64))

    def _run(self, plan, released):
        kinds, los, his, ts, frames = plan
        if kinds.size == 0:
            return np.zeros(0, TRACK_ROW_DTYPE)
        if released is None:
            released = {"t": np.zeros(0), "radar": np.zeros(0, np.int64), "z": np.zeros((0, 3)),
                        "R": np.zeros((0, 3, 3)), "rv": np.zeros(0), "snr": np.zeros(0),
                        "range": np.zeros(0), "unit": np.zeros(0, np.int64)}
        if not self.live:
            return self._rows(*self._run_steps(plan, released))
        # live: the steps of each unit (the epochs before its groups, its
        # groups), then that unit's track updates and alert decisions
        group = np.flatnonzero(kinds == K.GROUP)
        unit_of_group = released["unit"][los[group]]
        last_of_unit = group[np.flatnonzero(np.diff(unit_of_group, append=-1) != 0)]
        parts = []
        first = 0
        for last in last_of_unit.tolist():
            tab = self.tracks
            hits_before = tab.hits.copy()
            next_id = int(tab.counters[K.C_NEXT_ID])
            span = slice(first, last + 1)
            parts.append(self._run_steps(tuple(a[span] for a in plan), released))
            unit = int(released["unit"][los[last]])
            lo = int(los[first + int(np.argmax(kinds[span] == K.GROUP))])
            self._live_update(unit, hits_before, next_id, float(released["t"][lo:his[last]].max()))
            if self.on_unit is not None:
                self.on_unit()
            first = last + 1
        if first < kinds.size:
            parts.append(self._run_steps(tuple(a[first:] for a in plan), released))
        return self._rows(*[np.concatenate([p[a] for p in parts]) for a in range(7)])

    def _run_steps(self, plan, released):
        """Run plan steps through the compiled tracker (growing the table as needed); the EMIT rows."""
        kinds, los, his, ts, frames = plan
        tab = self.tracks
        parts = []
        step = 0
        while step < kinds.size:
            carry = self._plan_carry()
            step, out = K.run_plan(
                kinds, los, his, ts, frames, step,
                released["t"], released["radar"], released["z"], released["R"], released["rv"],
                released["snr"], released["range"],
                self.radar_pos, self.radar_sigma_rv, self.radar_log_lambda, self.radar_pd,
                tab.x, tab.P, tab.xm, tab.Pm, tab.log_mu, tab.t_state, tab.t_update, tab.t_create,
                tab.status, tab.track_id, tab.hits, tab.score, tab.features, tab.free_stack,
                tab.counters, self.params, self.omega, self.q_h, self.log_Pi,
                self.classify_params, tab.hist, tab.n_close, carry)
            parts.append(out)
            if step < kinds.size:
                # the next group could start more tracks than there are free slots
                tab.ensure_free(max(2 * int(his[step] - los[step]), tab.capacity // 4))
        return [np.concatenate([p[a] for p in parts]) for a in range(7)]

    def _plan_carry(self):
        """run_plan's ``carry`` for the current table: kept from the last call while the
        table is the same one at the same capacity and nothing else changed it, so a
        live frame's plan does not renew every track's quick gating radius."""
        tab = self.tracks
        if self._carry is None or self._carry[0] is not tab or self._carry[1] != tab.capacity:
            self._carry = (tab, tab.capacity, K.plan_carry_new(tab.capacity))
        return self._carry[2]

    def _rows(self, out_t, out_id, out_status, out_x, out_sigma, out_P, out_class):
        """Track rows sorted by (time, id); alert events of their epochs are queued."""
        n = out_t.size
        rows = np.zeros(n, TRACK_ROW_DTYPE)
        if n == 0:
            return rows
        order = np.lexsort((out_id, out_t))
        rows["time_s"] = out_t[order]
        rows["track_id"] = out_id[order]
        rows["status"] = out_status[order]
        self._fill_states(rows, out_x[order])
        rows["sigma_pos_m"] = out_sigma[order]
        if self.alerts is not None and not self.live:
            P = out_P[order]
            class_p = out_class[order]
            bounds = np.flatnonzero(np.diff(rows["time_s"])) + 1
            for lo, hi in zip(np.concatenate(([0], bounds)), np.concatenate((bounds, [n]))):
                events = self.alerts.update(float(rows["time_s"][lo]), rows[lo:hi], P[lo:hi],
                                            class_p[lo:hi])
                self._alert_events.extend(events)
                self._alert_units.extend([-1] * len(events))
        return rows

    def _fill_states(self, rows, x):
        """The ENU state columns of ``rows`` from ``x (n, 6)``, and latitude, longitude, altitude."""
        for a, name in enumerate(("east_m", "north_m", "up_m", "v_east_mps", "v_north_mps", "v_up_mps")):
            rows[name] = x[:, a]
        geo = np.empty((rows.size, 3))
        enu_to_geodetic(np.ascontiguousarray(x[:, :3]), self._origin_ecef, self._origin_rot, geo)
        rows["lat_deg"] = geo[:, 0]
        rows["lon_deg"] = geo[:, 1]
        rows["alt_m"] = geo[:, 2]

    # ------------------------------------------------------------ live mode
    def _live_update(self, unit, hits_before, next_id_before, t_unit):
        """After one unit's groups: its track updates, and an alert decision on the new picture.

        The tracks the unit touched (a plot associated, or started by one)
        are written as rows at their own state time (no extrapolation) with
        their covariance and class probabilities.  The picture (the newest
        row of every live confirmed or coasting track) takes them and drops
        deleted tracks.  The alert manager decides on the picture, at the
        unit's newest plot time (never going back), when the unit updated a
        confirmed or coasting track: every time with
        ``tracker.alert_interval_s`` = 0, else at most once per that much
        plot time.  It is told only what changed since its last decision
        (:meth:`AlertManager.update_tracks`: the tracks updated, their newest
        rows, and the tracks gone) and evaluates only the tracks whose
        outcome can change, with the events of a decision on the whole
        picture.  Every choice depends on the plots and units only, never on
        the wall clock.
        """
        tab = self.tracks
        live = tab.status != K.FREE
        n_before = hits_before.size
        touched = live.copy()
        touched[:n_before] &= (tab.hits[:n_before] != hits_before) | (tab.track_id[:n_before] >= next_id_before)
        slots = np.flatnonzero(touched)
        if slots.size == 0:
            return
        rows, P, class_p, slots = self._update_rows(slots)
        if self.keep_updates:
            self._updates.append((unit, rows))
        if self.alerts is None:
            return
        confirmed = (rows["status"] == K.CONFIRMED) | (rows["status"] == K.COASTING)
        if not confirmed.any() and self._shown is None:
            return
        # the picture, by slot: the id of the track shown there (-1: none); a
        # track leaves it when deleted or when its slot is handed to a new track
        if self._shown is None:
            self._shown = np.full(tab.capacity, -1, np.int64)
            self._changed, self._gone = [], []
        elif self._shown.size != tab.capacity:
            self._shown = np.concatenate([self._shown, np.full(tab.capacity - self._shown.size, -1, np.int64)])
        shown = self._shown
        ids = rows["track_id"].astype(np.int64)
        left = (shown >= 0) & ~live
        left[slots] = (shown[slots] >= 0) & ((shown[slots] != ids) | ~confirmed)
        if left.any():
            self._gone.append(shown[left])
            shown[left] = -1
        shown[slots[confirmed]] = ids[confirmed]
        self._changed.append((rows[confirmed], P[confirmed], class_p[confirmed]))
        if not confirmed.any():
            return
        interval = self.config.alert_interval_s
        if interval > 0.0:
            if t_unit < self._alert_due:
                return
            self._alert_due = (math.floor(t_unit / interval) + 1) * interval
        self._alert_t = max(self._alert_t, t_unit)
        changed, gone = self._changed, self._gone
        self._changed, self._gone = [], []
        if len(changed) == 1:
            rows, P, class_p = changed[0]
        else:
            rows, P, class_p = (np.concatenate([c[j] for c in changed]) for j in range(3))
        gone = np.concatenate(gone) if gone else np.zeros(0, np.int64)
        if len(changed) > 1:
            # (decisions once per interval: each track's newest row, none of a track gone since)
            ids = rows["track_id"].astype(np.int64)
            newest = ids.size - 1 - np.unique(ids[::-1], return_index=True)[1]
            newest = newest[~np.isin(ids[newest], gone)]
            rows, P, class_p = rows[newest], P[newest], class_p[newest]
        if self._whole_picture:
            # the first decision of a new picture (the start, or a time-line switch): the
            # manager's tracks that are not in it are gone
            self._whole_picture = False
            events = self.alerts.update(self._alert_t, rows, P, class_p)
        else:
            events = self.alerts.update_tracks(self._alert_t, rows, P, class_p, gone=gone)
        self._alert_events.extend(events)
        self._alert_units.extend([unit] * len(events))

    def _update_rows(self, slots):
        """Rows (TRACK_ROW_DTYPE, by track id), covariances and class probabilities of ``slots``
        at their own state time, and the slots in that order."""
        tab = self.tracks
        slots = slots[np.argsort(tab.track_id[slots], kind="stable")]
        k = slots.size
        x = np.ascontiguousarray(tab.x[slots])
        P = tab.P[slots]
        rows = np.zeros(k, TRACK_ROW_DTYPE)
        rows["time_s"] = tab.t_state[slots]
        rows["track_id"] = tab.track_id[slots]
        rows["status"] = tab.status[slots]
        self._fill_states(rows, x)
        rows["sigma_pos_m"] = np.sqrt(P[:, 0, 0] + P[:, 1, 1])
        # class probabilities from a copy of the features (the epochs' own
        # classification, with its flocking history, is left as it is)
        neighbours = np.empty(k, np.int64)
        count_flock_neighbours(x, self.params[K.P_FLOCK_RADIUS], self.params[K.P_FLOCK_DV], neighbours)
        class_p = np.empty((k, 4))
        classify_model(np.ascontiguousarray(tab.features[slots]), np.arange(k, dtype=np.int64),
                       neighbours, float(rows["time_s"].max()), self.classify_params, class_p)
        return rows, P, class_p, slots

    def pop_updates(self):
        """Live mode: the track updates since the last call, as ``(unit, rows)`` in order.

        ``unit`` numbers the frame whose plots made the update (see
        :attr:`next_unit` and :meth:`process`); ``rows`` (TRACK_ROW_DTYPE,
        sorted by track id) are the tracks that frame updated or started, each
        at its own state time.  Empty outside live mode, and unless
        :attr:`keep_updates` is set.
        """
        updates, self._updates = self._updates, []
        return updates

    def pop_alerts(self, with_units=False):
        """The alert events (dicts, alerts.jsonl fields) produced since the last call.

        With ``with_units``, ``(events, units)``: in live mode the unit
        (frame, see :meth:`pop_updates`) whose track updates caused each
        event, -1 for an event of an output epoch.
        """
        events, self._alert_events = self._alert_events, []
        units, self._alert_units = self._alert_units, []
        return (events, units) if with_units else events

    # ------------------------------------------------------------------ state
    @staticmethod
    def warmup():
        """Compile (or load from the cache) every kernel the engine runs.

        Runs a few seconds of two plots a second through a throw-away engine
        on a one-radar site with a protected asset (zones, classification,
        alerts), so that a live service takes its first plot without a
        compilation pause.  Returns that engine's summary.
        """
        from radarcore.core.config import AssetConfig, Origin, RadarConfig, SiteConfig, ZoneConfig

        zones = (ZoneConfig(level="warning", radius_m=3000.0, floor_m=0.0, ceiling_m=1000.0),
                 ZoneConfig(level="critical", floor_m=0.0, ceiling_m=500.0,
                            polygon=((0.001, 0.001), (0.001, 0.003), (0.003, 0.003))))
        site = SiteConfig(origin=Origin(0.0, 0.0, 0.0), radars=(RadarConfig(
            id=1, lat_deg=0.0, lon_deg=0.0, alt_m=0.0, sigma_range_m=10.0,
            sigma_azimuth_deg=0.5, sigma_elevation_deg=0.5, scan_period_s=1.0,
            max_range_m=5000.0, sigma_radial_velocity_mps=1.0),),
            assets=(AssetConfig(id="warmup", lat_deg=0.0, lon_deg=0.0, zones=zones),))
        n = 8
        plots = np.zeros(2 * n, PLOT_DTYPE)
        plots["time_s"] = np.repeat(np.arange(n, dtype=float), 2)
        plots["radar_id"] = 1
        plots["range_m"] = np.tile([1000.0, 2000.0], n) + 10.0 * plots["time_s"]
        plots["azimuth_deg"] = np.tile([10.0, 200.0], n)
        plots["elevation_deg"] = 2.0
        plots["radial_velocity_mps"] = np.tile([10.0, np.nan], n)
        plots["snr_db"] = np.nan
        engine = Engine(site)
        engine.process(plots)
        engine.flush()
        return engine.summary()

    def summary(self):
        """Counters for reports: plots by fate, tracks by lifecycle."""
        c = self.tracks.counters
        return {
            "plots_received": self.stats.plots_received,
            "plots_accepted": self.stats.plots_accepted,
            "plots_rejected": dict(self.stats.rejected),
            "plots_processed": int(c[K.C_PLOTS]),
            "plots_associated": int(c[K.C_ASSOCIATED]),
            "plots_retrodicted": int(c[K.C_RETRODICTED]),
            "plots_outside_history": int(c[K.C_OUTSIDE_HISTORY]),
            "tracks_initiated": int(c[K.C_INITIATED]),
            "tracks_confirmed": int(c[K.C_CONFIRMED]),
            "tracks_deleted": int(c[K.C_DELETED]),
            "tracks_merged": int(c[K.C_MERGED]),
            "tracks_live": self.tracks.n_live,
            "gated_pairs": int(c[K.C_GATED_PAIRS]),
            "clock_switches": self.clock_switches,
        }


def _as_plots(plots):
    plots = np.asarray(plots)
    if plots.dtype == PLOT_DTYPE:
        return plots
    if plots.dtype.names is None:
        raise TypeError(f"plots must be a structured array of PLOT_DTYPE, got dtype {plots.dtype}")
    missing = [n for n in PLOT_DTYPE.names if n not in plots.dtype.names]
    if missing:
        raise TypeError(f"plots lack fields {missing}")
    out = np.empty(plots.shape, PLOT_DTYPE)
    for name in PLOT_DTYPE.names:
        out[name] = plots[name]
    return out


def _concat_rows(parts):
    parts = [p for p in parts if p is not None and p.size]
    if not parts:
        return np.zeros(0, TRACK_ROW_DTYPE)
    return np.concatenate(parts)


class _Held:
    """Plots of one radar held off the time line (see *The clock*)."""

    __slots__ = ("start", "t_last", "t_min", "count", "plots", "arrivals")

    def __init__(self, start):
        self.start = start          # arrival number of the first plot
        self.t_last = math.nan      # time of the newest-arrived plot
        self.t_min = math.inf
        self.count = 0              # plots held or (beyond the cap) counted
        self.plots = []             # PLOT_DTYPE arrays of one plot, at most the engine's cap
        self.arrivals = []          # (arrival number, unit) of each held plot


def _check_time_settings(site, max_time_jump_s, jump_accept_plots, clock_quorum, clock_step_s):
    """Refuse settings whose frame, epoch or clock arithmetic would not be bounded."""
    cfg = site.tracker

    def check(name, value, lo, hi, lo_open=False):
        ok = (isinstance(value, (int, float)) and math.isfinite(value)
              and (value > lo if lo_open else value >= lo) and value <= hi)
        if not ok:
            low = f"> {lo:g}" if lo_open else f">= {lo:g}"
            raise ValueError(f"{name} = {value!r} is out of range: a finite number {low} and <= {hi:g} is needed")

    check("tracker.output_period_s", cfg.output_period_s, MIN_FRAME_S, MAX_OUTPUT_PERIOD_S)
    check("tracker.frame_s", cfg.frame_s, 0.0, MAX_OUTPUT_PERIOD_S, lo_open=True)
    check("tracker.reorder_window_s", cfg.reorder_window_s, 0.0, MAX_REORDER_WINDOW_S)
    if not site.radars:
        raise ValueError("the site has no radar")
    for radar in site.radars:
        check(f"radar {radar.id}: scan_period_s", radar.scan_period_s, 0.0, MAX_OUTPUT_PERIOD_S, lo_open=True)
        check(f"radar {radar.id}: max_range_m", radar.max_range_m, 0.0, math.inf, lo_open=True)
    check("max_time_jump_s", max_time_jump_s, 0.0, MAX_TIME_JUMP_S, lo_open=True)
    check("jump_accept_plots", jump_accept_plots, 1, 1_000_000)
    check("clock_quorum", clock_quorum, 1, 1_000_000)
    if clock_step_s is not None:
        check("clock_step_s", clock_step_s, 0.0, max_time_jump_s, lo_open=True)
