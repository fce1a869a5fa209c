"""The fusion engine: one writer, deterministic, arrays in and arrays out.

``Engine.process(plots)`` takes a plot batch (``ingest.schema.PLOT_DTYPE``)
from any source, in arrival order, and returns the periodic track rows
(``ingest.schema.TRACK_ROW_DTYPE``) of every output epoch it completed.

Per batch, in Python (vectorised, no per-plot loop):

1. **Validate** each plot: non-finite values, unknown radar, absurd values,
   plots older than the reorder window (``late``) and implausible jumps ahead
   in time (``time_jump``) are counted per reason and dropped.
2. **Reorder**: accepted plots wait in a buffer until the reorder window has
   passed.  Time is cut into frames of ``frame_s`` (a divisor of the output
   period); frame ``f`` is released once the newest plot seen is more than
   ``reorder_window_s`` past its end.  Released plots are sorted by (frame,
   radar, time, arrival).
3. **Convert** the released polar measurements exactly to the site's ENU
   frame with their covariance (per radar: its own tangent plane, via ECEF).
4. **Plan and run** (compiled, ``kernels.tracker.run_plan``): per frame and
   radar a GROUP step (predict, gate, assign, update, initiate); per output
   epoch a MAINTAIN step (coast, drop) and an EMIT step.

A plot is late when its frame is older than the release boundary implied by
the newest time seen *before* it, so the outcome depends only on the order
of plots, never on how they were cut into batches: replaying the same plots
in any batching gives bit-identical tracks.
"""
from dataclasses import dataclass, field
import math

import numpy as np
from scipy.stats import chi2

from ingest.schema import PLOT_DTYPE, TRACK_ROW_DTYPE
from kernels import tracker as K
from kernels.filters import make_imm_params
from kernels.geodesy import enu_rotation, enu_to_geodetic, geodetic_to_ecef, polar_to_enu, radar_frame
from radarcore.core.classify_model import load_classify_model
from radarcore.core.alerts import AlertManager
from radarcore.core.tracks import TrackTable
from radarcore.core.zones import build_zone_table

# Accepted plots waiting in the reorder buffer.
_PENDING_DTYPE = np.dtype([
    ("time_s", "f8"), ("range_m", "f8"), ("azimuth_deg", "f8"), ("elevation_deg", "f8"),
    ("radial_velocity_mps", "f8"), ("snr_db", "f8"), ("radar", "i8"), ("frame", "i8"),
    ("seq", "i8"),
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
        A plot more than this ahead of the newest time seen is a
        ``time_jump`` rejection (a corrupt time would otherwise make every
        later plot late) ...
    jump_accept_plots : int
        ... unless this many consecutive plots all jump: then the data really
        moved on (a long outage), the engine flushes and follows the new time.
    initial_capacity : int
        Initial track-table capacity (it grows by doubling).
    """

    def __init__(self, site, max_time_jump_s=600.0, jump_accept_plots=20, initial_capacity=1024):
        self.site = site
        cfg = site.tracker
        self.config = cfg
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

        gamma_3 = float(chi2.ppf(cfg.gate_probability, 3))
        gamma_4 = float(chi2.ppf(cfg.gate_probability, 4))
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
        params[K.P_INIT_SIGMA_VERTICAL] = min(cfg.init_sigma_speed_mps, 10.0)
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
        self.classify_params = load_classify_model()
        self.params = params

        self.tracks = TrackTable(n_models=self.omega.shape[0], capacity=initial_capacity)
        self.zones = build_zone_table(site)
        self.alerts = AlertManager(self.zones, site.alerts) if self.zones.n_zones else None
        self._alert_events = []
        self.stats = EngineStats()
        self._pending = []                 # chunks of accepted plots (_PENDING_DTYPE)
        self._max_seen = -math.inf         # newest plot time seen
        self._released_frame = None        # frames < this have been processed
        self._next_epoch = None            # index k of the next output epoch k * period
        self._seq = 0                      # arrival sequence number
        self._consecutive_jumps = 0

    # ------------------------------------------------------------------ input
    def process(self, plots):
        """Take a batch of plots; return the track rows of completed epochs.

        Parameters
        ----------
        plots : ndarray of ingest.schema.PLOT_DTYPE (any field order is cast)

        Returns
        -------
        ndarray of ingest.schema.TRACK_ROW_DTYPE, sorted by (time_s, track_id)
        """
        plots = _as_plots(plots)
        self.stats.plots_received += plots.size
        if plots.size == 0:
            return np.zeros(0, TRACK_ROW_DTYPE)
        keep, radar_index = self._validate(plots)
        plots = plots[keep]
        radar_index = radar_index[keep]
        accepted, jump_at = self._classify_times(plots["time_s"])
        rows = []
        if jump_at >= 0:
            # the data moved on: finish the old time line, then follow the new one
            self._accept(plots[:jump_at][accepted[:jump_at]], radar_index[:jump_at][accepted[:jump_at]])
            rows.append(self.flush())
            self._max_seen = -math.inf
            self._released_frame = None
            self._next_epoch = None
            rows.append(self._process_accepted(plots[jump_at:], radar_index[jump_at:]))
            return _concat_rows(rows)
        self._accept(plots[accepted], radar_index[accepted])
        rows.append(self._release(self._boundary_frame(self._max_seen)))
        return _concat_rows(rows)

    def _process_accepted(self, plots, radar_index):
        """The rest of a batch after an accepted time jump (validated plots)."""
        accepted, jump_at = self._classify_times(plots["time_s"])
        if jump_at >= 0:
            # a second jump inside the same batch: drop what follows it
            self.stats.count_rejected("time_jump", plots.size - jump_at)
            accepted = np.concatenate((accepted, np.zeros(plots.size - jump_at, bool)))
        self._accept(plots[accepted], radar_index[accepted])
        return self._release(self._boundary_frame(self._max_seen))

    def flush(self):
        """Process every buffered plot and emit the epochs up to the newest time."""
        if self._consecutive_jumps:
            self.stats.count_rejected("time_jump", self._consecutive_jumps)
            self._consecutive_jumps = 0
        if not math.isfinite(self._max_seen):
            return np.zeros(0, TRACK_ROW_DTYPE)
        last_frame = self._frame_of(np.array([self._max_seen]))[0]
        return self._release(last_frame + 1, final=True)

    def _validate(self, plots):
        stats = self.stats
        n = plots.size
        finite = (np.isfinite(plots["time_s"]) & np.isfinite(plots["range_m"])
                  & np.isfinite(plots["azimuth_deg"]) & np.isfinite(plots["elevation_deg"])
                  & ~np.isinf(plots["radial_velocity_mps"]))
        stats.count_rejected("non_finite", n - np.count_nonzero(finite))
        radar_index = np.searchsorted(self.radar_ids, plots["radar_id"])
        radar_index = np.minimum(radar_index, self.radar_ids.size - 1)
        known = self.radar_ids[radar_index] == plots["radar_id"]
        unknown = finite & ~known
        stats.count_rejected("unknown_radar", np.count_nonzero(unknown))
        ok = finite & known
        rv = plots["radial_velocity_mps"]
        with np.errstate(invalid="ignore"):
            sane = ((plots["range_m"] > 0.0)
                    & (plots["range_m"] <= 2.0 * self.radar_max_range[radar_index])
                    & (plots["azimuth_deg"] >= -360.0) & (plots["azimuth_deg"] <= 720.0)
                    & (plots["elevation_deg"] >= -90.0) & (plots["elevation_deg"] <= 90.0)
                    & ~(np.abs(rv) > MAX_ABS_RADIAL_VELOCITY_MPS))
        stats.count_rejected("out_of_range", np.count_nonzero(ok & ~sane))
        return ok & sane, radar_index

    def _frame_of(self, t):
        return np.floor(t / self.frame_s).astype(np.int64)

    def _boundary_frame(self, t_newest):
        """Frames before this one may be processed once ``t_newest`` has been seen."""
        if not math.isfinite(t_newest):
            return None
        return int(math.floor((t_newest - self.config.reorder_window_s) / self.frame_s))

    def _classify_times(self, t):
        """Decide late and time-jump plots in arrival order; update the newest time.

        Returns the accepted mask and the index at which a confirmed jump is
        accepted (-1 if none).
        """
        n = t.size
        accepted = np.ones(n, bool)
        if n == 0:
            return accepted, -1
        prev_max = np.maximum.accumulate(np.concatenate(([self._max_seen], t[:-1])))
        jump = np.isfinite(prev_max) & (t > prev_max + self.max_time_jump_s)
        if not jump.any() and self._consecutive_jumps == 0:
            frames = self._frame_of(t)
            bound = np.floor((prev_max - self.config.reorder_window_s) / self.frame_s)
            late = np.isfinite(prev_max) & (frames < bound)
            if self._released_frame is not None:
                late |= frames < self._released_frame
            accepted = ~late
            self.stats.count_rejected("late", np.count_nonzero(late))
            self._max_seen = max(self._max_seen, float(t.max()))
            return accepted, -1
        # rare path: a possible jump in this batch, decided plot by plot
        max_seen = self._max_seen
        frames = self._frame_of(t)
        for j in range(n):
            tj = float(t[j])
            if math.isfinite(max_seen) and tj > max_seen + self.max_time_jump_s:
                self._consecutive_jumps += 1
                if self._consecutive_jumps >= self.jump_accept_plots:
                    self._consecutive_jumps = 0
                    self._max_seen = max_seen
                    self.stats.count_rejected("time_jump", self.jump_accept_plots - 1)
                    return accepted[:j], j
                accepted[j] = False
                continue
            if self._consecutive_jumps:
                self.stats.count_rejected("time_jump", self._consecutive_jumps)
                self._consecutive_jumps = 0
            bound = self._boundary_frame(max_seen)
            released = self._released_frame
            if (bound is not None and frames[j] < bound) or (released is not None and frames[j] < released):
                accepted[j] = False
                self.stats.count_rejected("late", 1)
                continue
            max_seen = max(max_seen, tj)
        self._max_seen = max_seen
        return accepted, -1

    def _accept(self, plots, radar_index):
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
    def _release(self, boundary, final=False):
        """Process every pending frame before ``boundary``; return emitted rows."""
        if boundary is None:
            return np.zeros(0, TRACK_ROW_DTYPE)
        if self._released_frame is not None and boundary <= self._released_frame and not final:
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
            order = np.lexsort((released["seq"], released["time_s"], released["radar"],
                                released["frame"]))
            released = self._convert(released[order])
        if self._next_epoch is None:
            if released is None or released["t"].size == 0:
                return np.zeros(0, TRACK_ROW_DTYPE)
            self._next_epoch = int(released["frame"][0] // self.frames_per_output) + 1
        plan = self._plan(released, boundary, final)
        rows = self._run(plan, released)
        self._released_frame = boundary if self._released_frame is None else max(self._released_frame, boundary)
        return rows

    def _plan(self, released, boundary, final):
        """Steps (kind, lo, hi, t) for the released plots and the epochs they complete."""
        kinds, los, his, ts, frames = [], [], [], [], []
        n_per = self.frames_per_output
        period = self.output_period_s

        def emit_until(frame_exclusive):
            while self._next_epoch * n_per <= frame_exclusive:
                t_epoch = self._next_epoch * period
                kinds.extend((K.MAINTAIN, K.EMIT))
                los.extend((0, 0))
                his.extend((0, 0))
                ts.extend((t_epoch, t_epoch))
                frames.extend((-1, -1))
                self._next_epoch += 1

        if released is not None and released["t"].size:
            frame = released["frame"]
            radar = released["radar"]
            n = frame.size
            cut = np.flatnonzero((frame[1:] != frame[:-1]) | (radar[1:] != radar[:-1])) + 1
            starts = np.concatenate(([0], cut))
            ends = np.concatenate((cut, [n]))
            for lo, hi in zip(starts.tolist(), ends.tolist()):
                f = int(frame[lo])
                emit_until(f)
                kinds.append(K.GROUP)
                los.append(lo)
                his.append(hi)
                ts.append(0.0)
                frames.append(f // n_per)
        if final:
            last = int(math.floor(self._max_seen / period + 1e-9))
            while self._next_epoch is not None and self._next_epoch <= last:
                emit_until(self._next_epoch * n_per)
        else:
            emit_until(boundary)
        return (np.array(kinds, np.int64), np.array(los, np.int64), np.array(his, np.int64),
                np.array(ts, np.float64), np.array(frames, np.int64))

    def _run(self, plan, released):
        kinds, los, his, ts, frames = plan
        if kinds.size == 0:
            return np.zeros(0, TRACK_ROW_DTYPE)
        if released is None:
            released = {"t": np.zeros(0), "radar": np.zeros(0, np.int64), "z": np.zeros((0, 3)),
                        "R": np.zeros((0, 3, 3)), "rv": np.zeros(0), "snr": np.zeros(0),
                        "range": np.zeros(0)}
        tab = self.tracks
        parts = []
        step = 0
        while step < kinds.size:
            step, out = K.run_plan(
                kinds, los, his, ts, frames, step,
                released["t"], released["radar"], released["z"], released["R"], released["rv"],
                released["snr"], released["range"],
                self.radar_pos, self.radar_sigma_rv, self.radar_log_lambda, self.radar_pd,
                tab.x, tab.P, tab.xm, tab.Pm, tab.log_mu, tab.t_state, tab.t_update, tab.t_create,
                tab.status, tab.track_id, tab.hits, tab.score, tab.features, tab.free_stack,
                tab.counters, self.params, self.omega, self.q_h, self.log_Pi,
                self.classify_params)
            parts.append(out)
            if step < kinds.size:
                # the next group could start more tracks than there are free slots
                tab.ensure_free(max(2 * int(his[step] - los[step]), tab.capacity // 4))
        out = [np.concatenate([p[a] for p in parts]) for a in range(7)]
        return self._rows(*out)

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
        x = out_x[order]
        for a, name in enumerate(("east_m", "north_m", "up_m", "v_east_mps", "v_north_mps", "v_up_mps")):
            rows[name] = x[:, a]
        geo = np.empty((n, 3))
        enu_to_geodetic(np.ascontiguousarray(x[:, :3]), self._origin_ecef, self._origin_rot, geo)
        rows["lat_deg"] = geo[:, 0]
        rows["lon_deg"] = geo[:, 1]
        rows["alt_m"] = geo[:, 2]
        rows["sigma_pos_m"] = out_sigma[order]
        if self.alerts is not None:
            P = out_P[order]
            class_p = out_class[order]
            bounds = np.flatnonzero(np.diff(rows["time_s"])) + 1
            for lo, hi in zip(np.concatenate(([0], bounds)), np.concatenate((bounds, [n]))):
                self._alert_events.extend(
                    self.alerts.update(float(rows["time_s"][lo]), rows[lo:hi], P[lo:hi], class_p[lo:hi]))
        return rows

    def pop_alerts(self):
        """The alert events (dicts, alerts.jsonl fields) produced since the last call."""
        events, self._alert_events = self._alert_events, []
        return events

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
            "tracks_initiated": int(c[K.C_INITIATED]),
            "tracks_confirmed": int(c[K.C_CONFIRMED]),
            "tracks_deleted": int(c[K.C_DELETED]),
            "tracks_live": self.tracks.n_live,
            "gated_pairs": int(c[K.C_GATED_PAIRS]),
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
    parts = [p for p in parts if p.size]
    if not parts:
        return np.zeros(0, TRACK_ROW_DTYPE)
    return np.concatenate(parts)
