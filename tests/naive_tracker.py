"""Slow reference twin of ``kernels.tracker.run_plan``: the track lifecycle in plain Python.

Written from the rules of ``kernels/tracker.py`` (module docstring) and the
components it composes, one track object per track, full matrices, no Numba,
no spatial grid, no free list:

GROUP (the plots of one radar inside one processing frame)
    1. **gate** every live track against every plot of the group
       (``naive.gate``: CV prediction of the track to the plot's time with
       the gating process noise, ``d2 = y' S^-1 y <= gamma_3`` or
       ``gamma_4`` with a radial velocity); a plot older than the track but
       not older than its history (below) is gated against the state after
       the last remembered plot not newer than it (or the base state)
       predicted to the plot's time;
    2. **assign** by global nearest neighbour: the costs
       ``c_ij = 0.5 (d2 + log det S + d log 2 pi) + log lambda_d - log P_D``
       (``lambda_4 = lambda / RV_SPAN``) and a missed-detection column
       ``-log(1 - P_D)`` per track, solved by SciPy's
       ``linear_sum_assignment`` on the whole augmented matrix;
    3. **update** each assigned track: IMM mixing and prediction to the plot's
       time (``dt = t_plot - t_state``; the vertical velocity an
       Ornstein-Uhlenbeck process when ``P_TAU_V > 0``,
       ``naive_filters.predict_F_Q``), each model's (E)KF update
       (``naive_filters.kf_update``), new model probabilities, the
       moment-matched combination.  With ``P_TENTATIVE_CV`` a track is
       filtered instead by the IMM's model 0 (constant velocity) alone, one
       predict and (E)KF update of its state, for every plot not newer than
       its ``t_imm``: ``+inf`` while tentative, the time of its newest plot
       when it was confirmed; at its first plot after ``t_imm`` every IMM
       model starts as a copy of that state with equal probabilities.  A
       plot older than the track
       (out of sequence) is fused exactly: the track keeps its last
       ``history_plots`` plots and the filter state before them (the oldest
       is folded into that base state when a new one does not fit); the
       plot joins them in time order (after equal times) and the track is
       re-filtered from the base, each plot by the filter its time picks; a
       plot older than the base is fused with ``dt = 0`` (by the filter the
       track's state time picks) and the history restarts from the new state.  Then ``hits + 1``, ``score - c_ij``; a tentative
       track with ``hits >= confirm_hits`` and ``score >= confirm_score`` is
       confirmed, a coasting one is confirmed again;
    With ``merge_epochs`` > 0, two tracks that each took a plot while one
    gated the other's plot restart their runs of closeness (``n_close = 0``);
    4. **initiate** a tentative track from every plot that no live track
       gated and, with ``initiate_beside``, from every gated plot left
       unassigned when each track that gated it was assigned another plot
       of the group (a gated plot beside a track that took none starts
       nothing): position and covariance from the plot, velocity prior
       ``diag(s_h^2, s_h^2, s_v^2)`` conditioned on the radial velocity when
       there is one.

MAINTAIN t
    a tentative track without an update for ``tentative_timeout_s``, or
    older than ``confirm_hits * tentative_timeout_s`` and still tentative,
    is deleted; any other track without an update for ``delete_after_s`` is
    deleted; a confirmed track without an update for ``coast_after_s``
    coasts; a track whose CV-predicted horizontal position variance
    (``P_ee + P_nn`` at ``t``) exceeds ``max_sigma_pos_m^2`` is deleted.
    Then, with ``merge_epochs`` N > 0, duplicates are merged: over all pairs
    of the remaining tracks CV-predicted to ``t``, a pair within
    ``merge_radius_m`` horizontally with ``d' (P_a + P_b)^-1 d <=
    merge_d2`` (6-D) is close; a track's ``n_close`` counts the MAINTAIN
    steps in a row at which it was close to some track (restarted by a group
    in which it and another took two plots, one gated by both); strongest first
    (confirmed or coasting before tentative, then lower id), a track with
    ``n_close >= N`` deletes each close track with ``n_close >= N`` weaker
    than itself (counted as deleted and merged).

EMIT t
    every confirmed or coasting track (and tentative ones when asked) is
    CV-predicted to ``t`` and written with ``sigma_pos = sqrt(P_ee + P_nn)``
    and its class probabilities (the learned model of
    ``kernels.classify.classify_model``, by ``naive_classify_model``: the
    feature row recomputed from the track's whole history of updates and of
    output epochs, flocking neighbours over all pairs of the tracks written
    at that epoch; this epoch's ``(t, neighbours)`` joins the history of
    each track written before its row is built).

Track ids count up from the table's next id in order of initiation.  The
twin keeps no slots: it is compared with the compiled table by track id.
"""
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp

import naive
import naive_filters
from kernels import tracker as K
from kernels.classify import C_DRONE, F_EVIDENCE_0, F_EVIDENCE_T_S, F_P_DRONE_LAST, N_CLASSES
from naive_assign import augmented_matrix
from naive_classify import reference_features, reference_neighbours
from naive_classify_model import (reference_companions, reference_evidence_epoch, reference_kin_call,
                                  reference_model_row)

TENTATIVE = 1
CONFIRMED = 2
COASTING = 3


@dataclass(frozen=True)
class Settings:
    """The tracker settings, read by name from the engine's parameter vector."""

    gate_q_h: float
    q_v: float
    gamma_3: float
    gamma_4: float
    init_sigma_speed_mps: float
    init_sigma_vertical_mps: float
    confirm_hits: float
    confirm_score: float
    tentative_timeout_s: float
    coast_after_s: float
    delete_after_s: float
    max_sigma_pos_m: float
    output_tentative: bool
    rv_span_mps: float
    flock_radius_m: float
    flock_max_dv_mps: float
    initiate_beside: bool
    merge_epochs: float = 0.0
    merge_d2: float = 0.0
    merge_radius_m: float = 0.0
    tentative_cv: bool = False

    @classmethod
    def from_params(cls, params):
        return cls(
            gate_q_h=float(params[K.P_GATE_Q_H]), q_v=float(params[K.P_Q_V]),
            gamma_3=float(params[K.P_GAMMA_3]), gamma_4=float(params[K.P_GAMMA_4]),
            init_sigma_speed_mps=float(params[K.P_INIT_SIGMA_SPEED]),
            init_sigma_vertical_mps=float(params[K.P_INIT_SIGMA_VERTICAL]),
            confirm_hits=float(params[K.P_CONFIRM_HITS]),
            confirm_score=float(params[K.P_CONFIRM_SCORE]),
            tentative_timeout_s=float(params[K.P_TENTATIVE_TIMEOUT]),
            coast_after_s=float(params[K.P_COAST_AFTER]),
            delete_after_s=float(params[K.P_DELETE_AFTER]),
            max_sigma_pos_m=float(params[K.P_MAX_SIGMA_POS]),
            output_tentative=bool(params[K.P_OUTPUT_TENTATIVE] > 0.5),
            rv_span_mps=float(params[K.P_RV_SPAN]),
            flock_radius_m=float(params[K.P_FLOCK_RADIUS]),
            flock_max_dv_mps=float(params[K.P_FLOCK_DV]),
            initiate_beside=bool(params[K.P_INIT_BESIDE] > 0.5),
            merge_epochs=float(params[K.P_MERGE_EPOCHS]), merge_d2=float(params[K.P_MERGE_D2]),
            merge_radius_m=float(params[K.P_MERGE_RADIUS]),
            tentative_cv=bool(params[K.P_TENTATIVE_CV] > 0.5))


@dataclass(frozen=True)
class Models:
    """IMM model set: turn rates (rad/s), horizontal PSDs, vertical PSD, transition
    matrix, and the vertical velocity's Ornstein-Uhlenbeck time constant (0: CV)."""

    omega: np.ndarray
    q_h: np.ndarray
    q_v: float
    Pi: np.ndarray
    tau_v: float = 0.0

    @property
    def n(self):
        return self.omega.shape[0]


@dataclass
class Track:
    track_id: int
    status: int
    x: np.ndarray            # combined state (6,)
    P: np.ndarray            # combined covariance (6, 6)
    xm: list                 # per-model states
    Pm: list                 # per-model covariances
    mu: np.ndarray           # model probabilities (M,)
    t_state: float
    t_update: float
    t_create: float
    hits: int = 1
    score: float = 0.0
    n_close: int = 0         # MAINTAIN steps in a row close to another track (merge)
    # (state after the update, plot time, SNR, slant range) of every update
    history: list = field(default_factory=list)
    # (epoch time, flocking neighbours, (companion?, spacing, velocity difference, its p(drone))) of every
    # output epoch that wrote the track
    epochs: list = field(default_factory=list)
    # out-of-sequence history: the filter state (a _Filtered) before the
    # remembered plots, and those plots [(plot, radar)] in time order
    base: object = None
    recent: list = field(default_factory=list)
    # plots not newer than this go through the CV filter (module docstring)
    t_imm: float = -math.inf
    # the accumulated-evidence feature columns (F_EVIDENCE_T_S on) after the last epoch
    evidence: np.ndarray = field(default_factory=lambda: np.zeros(F_EVIDENCE_0 + N_CLASSES
                                                                  - F_EVIDENCE_T_S))
    # p(drone) at the last epoch (what the companions read at the next)
    p_drone_last: float = 0.0

    def features(self):
        """The full feature row of the compiled table, from the whole history."""
        xs = np.array([h[0] for h in self.history])
        ts = [h[1] for h in self.history]
        snrs = [h[2] for h in self.history]
        ranges = [h[3] for h in self.history]
        f = reference_model_row(reference_features(xs, ts, snrs, ranges), xs, ts, snrs, ranges,
                                [e[0] for e in self.epochs], [e[1] for e in self.epochs],
                                [e[2] for e in self.epochs])
        f[F_EVIDENCE_T_S:F_EVIDENCE_0 + N_CLASSES] = self.evidence
        f[F_P_DRONE_LAST] = self.p_drone_last
        return f


@dataclass(frozen=True)
class Plot:
    t: float
    z: np.ndarray
    R: np.ndarray
    rv: float
    snr_db: float
    range_m: float


@dataclass(frozen=True)
class Radar:
    position: np.ndarray
    sigma_rv: float
    log_lambda: float
    p_detection: float


@dataclass
class Row:
    """One EMIT output row."""

    t: float
    track_id: int
    status: int
    x: np.ndarray
    sigma_pos_m: float
    P: np.ndarray
    class_p: np.ndarray = None


# ---------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------

def cv_predict(x, P, dt, q_h, q_v):
    F = naive_filters.cv_F(dt)
    return F @ x, F @ P @ F.T + naive_filters.white_noise_Q(dt, q_h, q_v)


def imm_predict(track, dt, models):
    """Mixing, then each model's CT/CV prediction; ``mu`` becomes the predicted ``c_j``."""
    M = models.n
    c = models.Pi.T @ track.mu                      # c_j = sum_i Pi_ij mu_i
    xm, Pm = [], []
    for j in range(M):
        w = models.Pi[:, j] * track.mu / c[j]       # mu_{i|j}
        x0 = sum(w[i] * track.xm[i] for i in range(M))
        P0 = sum(w[i] * (track.Pm[i] + np.outer(track.xm[i] - x0, track.xm[i] - x0))
                 for i in range(M))
        F, Q = naive_filters.predict_F_Q(dt, models.omega[j], models.q_h[j], models.q_v,
                                         models.tau_v)
        xm.append(F @ x0)
        Pm.append(F @ P0 @ F.T + Q)
    track.xm, track.Pm, track.mu = xm, Pm, c


def imm_update(track, plot, radar):
    """Each model's (E)KF update; ``mu_j`` proportional to ``mu_j N(y_j; 0, S_j)``."""
    log_w = np.empty(len(track.xm))
    for j in range(len(track.xm)):
        track.xm[j], track.Pm[j], loglik = naive_filters.kf_update(
            track.xm[j], track.Pm[j], plot.z, plot.R, plot.rv, radar.sigma_rv, radar.position)
        log_w[j] = math.log(track.mu[j]) + loglik if track.mu[j] > 0.0 else -np.inf
    track.mu = np.exp(log_w - logsumexp(log_w))


def imm_combine(track):
    x = sum(mu * xj for mu, xj in zip(track.mu, track.xm))
    P = sum(mu * (Pj + np.outer(xj - x, xj - x)) for mu, xj, Pj in zip(track.mu, track.xm, track.Pm))
    track.x, track.P = x, P


def initial_state(plot, radar, settings):
    """Position from the plot, velocity from the prior (and the radial velocity)."""
    x = np.zeros(6)
    P = np.zeros((6, 6))
    x[:3] = plot.z
    P[:3, :3] = plot.R
    P_v = np.diag([settings.init_sigma_speed_mps ** 2] * 2 + [settings.init_sigma_vertical_mps ** 2])
    line_of_sight = plot.z - radar.position
    if (math.isfinite(plot.rv) and math.isfinite(radar.sigma_rv)
            and np.linalg.norm(line_of_sight) > 0.0):
        # condition the velocity prior on rv = u' v (+ noise): a scalar Kalman update
        u = line_of_sight / np.linalg.norm(line_of_sight)
        gain = P_v @ u / (u @ P_v @ u + radar.sigma_rv ** 2)
        x[3:] = gain * plot.rv
        P_v = P_v - np.outer(gain, u @ P_v)
    P[3:, 3:] = P_v
    return x, P


@dataclass
class _Filtered:
    """A filter state (the fields :func:`imm_predict`, :func:`imm_update` and
    :func:`filter_step` use): per-model, and combined ``x, P``."""

    xm: list
    Pm: list
    mu: np.ndarray
    t_state: float
    x: np.ndarray = None
    P: np.ndarray = None

    @classmethod
    def copy_of(cls, state):
        return cls([a.copy() for a in state.xm], [a.copy() for a in state.Pm], state.mu.copy(),
                   state.t_state, state.x.copy(), state.P.copy())


def filter_step(state, plot, radar, t_imm, models, t_to=None):
    """``state`` (a :class:`_Filtered` or a :class:`Track`) predicted from its time to ``t_to``
    (default the plot's time) and updated with ``plot``: by the IMM's CV model alone when
    ``t_to <= t_imm``, else by the IMM, whose models start as copies of the state when the
    state's own time is not after ``t_imm``."""
    t_to = plot.t if t_to is None else t_to
    dt = t_to - state.t_state
    if t_to <= t_imm:
        F, Q = naive_filters.predict_F_Q(dt, models.omega[0], models.q_h[0], models.q_v,
                                         models.tau_v)
        state.x, state.P, _ = naive_filters.kf_update(F @ state.x, F @ state.P @ F.T + Q, plot.z,
                                                      plot.R, plot.rv, radar.sigma_rv,
                                                      radar.position)
        return
    if state.t_state <= t_imm:
        M = models.n
        state.xm = [state.x.copy() for _ in range(M)]
        state.Pm = [state.P.copy() for _ in range(M)]
        state.mu = np.full(M, 1.0 / M)
    imm_predict(state, dt, models)
    imm_update(state, plot, radar)
    imm_combine(state)


# ---------------------------------------------------------------------------
# The tracker
# ---------------------------------------------------------------------------

class NaiveTracker:
    """Plain-Python twin of the compiled plan runner; tracks by id, no slots.

    Parameters
    ----------
    params : ndarray
        The engine's parameter vector (``kernels.tracker.P_*``).
    omega, q_h, log_Pi : ndarray
        The IMM model set (the vertical PSD is ``params[P_Q_V]``).
    classify_params : ndarray
        The learned classifier's model vector (``engine.classify_params``,
        ``kernels.classify.validate_model_params``).
    next_id : int
        The first track id handed out.
    """

    def __init__(self, params, omega, q_h, log_Pi, classify_params, next_id=1, history_plots=6):
        self.settings = Settings.from_params(params)
        self.models = Models(np.array(omega, float), np.array(q_h, float),
                             float(params[K.P_Q_V]), np.exp(np.array(log_Pi, float)),
                             float(params[K.P_TAU_V]))
        self.classify_params = np.array(classify_params, float)
        self.history_plots = int(history_plots)
        self.tracks = {}                 # track id -> Track, in order of initiation
        self.counters = {"next_id": int(next_id), "associated": 0, "initiated": 0,
                         "confirmed": 0, "deleted": 0, "gated_pairs": 0, "plots": 0,
                         "retrodicted": 0, "outside_history": 0, "merged": 0}

    # ------------------------------------------------------------------ plan
    def run(self, steps, plots, plot_radar, radars):
        """Run plan steps ``(kind, lo, hi, t)`` over ``plots`` (a list of :class:`Plot`).

        ``plot_radar[j]`` indexes ``radars`` (a list of :class:`Radar`).
        Returns the EMIT rows in step order.
        """
        rows = []
        for kind, lo, hi, t in steps:
            if kind == K.GROUP:
                if hi > lo:
                    self.group(plots[lo:hi], radars[plot_radar[lo]])
            elif kind == K.MAINTAIN:
                self.maintain(t)
            else:
                rows.extend(self.emit(t))
        return rows

    # ----------------------------------------------------------------- group
    def group(self, plots, radar):
        s = self.settings
        self.counters["plots"] += len(plots)
        tracks = list(self.tracks.values())
        pairs = self.gate(tracks, plots, radar)
        self.counters["gated_pairs"] += len(pairs)

        cost = {}
        for (i, j), (d2, logdet, dim) in pairs.items():
            log_lambda = radar.log_lambda - (math.log(s.rv_span_mps) if dim == 4 else 0.0)
            cost[(i, j)] = (0.5 * (d2 + logdet + dim * math.log(2.0 * math.pi))
                            + log_lambda - math.log(radar.p_detection))
        miss = -math.log(1.0 - radar.p_detection)
        assignment = self.assign(cost, len(tracks), miss)

        for j, plot in enumerate(plots):
            if j not in assignment:
                continue
            i = assignment[j]
            self.update(tracks[i], plot, radar, cost[(i, j)])

        gated = {j for (_, j) in pairs}
        took_a_plot = set(assignment.values())
        if s.merge_epochs > 0:
            for (i, j) in pairs:
                other = assignment.get(j)
                if other is not None and other != i and i in took_a_plot:
                    tracks[i].n_close = 0
                    tracks[other].n_close = 0
        for j, plot in enumerate(plots):
            if j in assignment:
                continue
            beside = all(i in took_a_plot for (i, jj) in pairs if jj == j)
            if j not in gated or (s.initiate_beside and beside):
                self.initiate(plot, radar)

    def gate(self, tracks, plots, radar):
        """``{(track index, plot index): (d2, log det S, dim)}`` over all pairs.

        A plot older than its track but not older than the track's history
        is gated against the retrodicted prediction: the state after the
        track's last remembered plot not newer than it (or the base state),
        predicted to the plot's time (:meth:`gating_states`).
        """
        s = self.settings
        m = len(plots)
        if not tracks or m == 0:
            return {}
        z = np.array([p.z for p in plots])
        R = np.array([p.R for p in plots])
        rv = np.array([p.rv for p in plots])
        t_plot = np.array([p.t for p in plots])
        sigma_rv = np.full(m, radar.sigma_rv)
        radar_pos = np.tile(radar.position, (m, 1))
        pairs = {}
        for i, track in enumerate(tracks):
            states = self.gating_states(track)
            by_state = {}
            for j, t in enumerate(t_plot.tolist()):
                if t >= track.t_state or t < track.base.t_state:
                    k = len(states)              # the track's own state
                else:
                    k = sum(1 for _, _, t_k in states[1:] if t_k <= t)
                by_state.setdefault(k, []).append(j)
            for k, js in by_state.items():
                x, P, t_k = (track.x, track.P, track.t_state) if k == len(states) else states[k]
                js = np.array(js)
                found = naive.gate([0], x[None], P[None], np.array([t_k]), z[js], R[js], rv[js],
                                   sigma_rv[js], radar_pos[js], t_plot[js], s.gate_q_h, s.q_v,
                                   s.gamma_3, s.gamma_4)
                for (_, jj), value in found.items():
                    pairs[(i, int(js[jj]))] = value
        return dict(sorted(pairs.items()))

    def gating_states(self, track):
        """``[(x, P, t)]``: the combined base state, then the state after each remembered plot."""
        replay = _Filtered.copy_of(track.base)
        states = [(replay.x, replay.P, replay.t_state)]
        for old, old_radar in track.recent:
            filter_step(replay, old, old_radar, track.t_imm, self.models)
            replay.t_state = old.t
            states.append((replay.x, replay.P, old.t))
        return states

    @staticmethod
    def assign(cost, n_tracks, miss):
        """GNN over the gated pairs: ``{plot index: track index}``."""
        if not cost:
            return {}
        pair_track = np.array([i for i, _ in cost], np.int64)
        pair_plot = np.array([j for _, j in cost], np.int64)
        pair_cost = np.array(list(cost.values()))
        matrix = augmented_matrix(pair_track, pair_plot, pair_cost, np.full(n_tracks, miss))
        track_rows = sorted(set(pair_track.tolist()))
        plot_columns = sorted(set(pair_plot.tolist()))
        rows, columns = linear_sum_assignment(matrix)
        return {plot_columns[c]: track_rows[r] for r, c in zip(rows, columns)
                if c < len(plot_columns)}

    def update(self, track, plot, radar, cost):
        s = self.settings
        self.filter_plot(track, plot, radar)
        track.history.append((track.x.copy(), plot.t, plot.snr_db, plot.range_m))
        track.t_state = max(track.t_state, plot.t)
        track.t_update = max(track.t_update, plot.t)
        track.hits += 1
        track.score -= cost
        self.counters["associated"] += 1
        if (track.status == TENTATIVE and track.hits >= s.confirm_hits
                and track.score >= s.confirm_score):
            self.confirm(track)
        elif track.status == COASTING:
            track.status = CONFIRMED

    def confirm(self, track):
        """Confirmed: on the IMM after its newest plot (when it was on the CV filter)."""
        track.status = CONFIRMED
        self.counters["confirmed"] += 1
        if track.t_imm == math.inf:
            track.t_imm = track.t_state

    def filter_plot(self, track, plot, radar):
        """The track's state with one more plot, in order or re-filtered (module docstring)."""
        models = self.models
        if len(track.recent) == self.history_plots:
            # fold the oldest remembered plot into the base state
            oldest, oldest_radar = track.recent.pop(0)
            filter_step(track.base, oldest, oldest_radar, track.t_imm, models)
            track.base.t_state = oldest.t
        if plot.t >= track.t_state:
            filter_step(track, plot, radar, track.t_imm, models)
            track.recent.append((plot, radar))
        elif plot.t >= track.base.t_state:
            k = len(track.recent)
            while k > 0 and track.recent[k - 1][0].t > plot.t:
                k -= 1
            track.recent.insert(k, (plot, radar))
            replay = _Filtered.copy_of(track.base)
            for old, old_radar in track.recent:
                filter_step(replay, old, old_radar, track.t_imm, models)
                replay.t_state = old.t
            track.xm, track.Pm, track.mu = replay.xm, replay.Pm, replay.mu
            track.x, track.P = replay.x, replay.P
            self.counters["retrodicted"] += 1
        else:
            filter_step(track, plot, radar, track.t_imm, models, t_to=track.t_state)
            track.base = _Filtered.copy_of(track)
            track.recent = []
            self.counters["outside_history"] += 1

    def initiate(self, plot, radar):
        s = self.settings
        x, P = initial_state(plot, radar, s)
        M = self.models.n
        track = Track(track_id=self.counters["next_id"], status=TENTATIVE, x=x, P=P,
                      xm=[x.copy() for _ in range(M)], Pm=[P.copy() for _ in range(M)],
                      mu=np.full(M, 1.0 / M), t_state=plot.t, t_update=plot.t, t_create=plot.t,
                      t_imm=math.inf if s.tentative_cv else -math.inf)
        track.history.append((x.copy(), plot.t, plot.snr_db, plot.range_m))
        track.base = _Filtered.copy_of(track)
        self.tracks[track.track_id] = track
        self.counters["next_id"] += 1
        self.counters["initiated"] += 1
        if s.confirm_hits <= 1 and s.confirm_score <= 0.0:
            self.confirm(track)

    # -------------------------------------------------------------- maintain
    def maintain(self, t):
        s = self.settings
        for track_id, track in list(self.tracks.items()):
            age = t - track.t_update
            if track.status == TENTATIVE:
                if (age > s.tentative_timeout_s
                        or t - track.t_create > s.confirm_hits * s.tentative_timeout_s):
                    self.delete(track_id)
                    continue
            elif age > s.delete_after_s:
                self.delete(track_id)
                continue
            elif track.status == CONFIRMED and age > s.coast_after_s:
                track.status = COASTING
            _, P = cv_predict(track.x, track.P, max(t - track.t_state, 0.0), s.gate_q_h, s.q_v)
            if P[0, 0] + P[1, 1] > s.max_sigma_pos_m ** 2:
                self.delete(track_id)
        if s.merge_epochs > 0:
            self.merge(t)

    def merge(self, t):
        """Drop duplicated tracks: all pairs, full inverse (module docstring)."""
        s = self.settings
        tracks = list(self.tracks.values())
        predicted = [cv_predict(tr.x, tr.P, max(t - tr.t_state, 0.0), s.gate_q_h, s.q_v)
                     for tr in tracks]
        close = {tr.track_id: set() for tr in tracks}
        for a in range(len(tracks)):
            for b in range(a + 1, len(tracks)):
                (xa, Pa), (xb, Pb) = predicted[a], predicted[b]
                if (xa[0] - xb[0]) ** 2 + (xa[1] - xb[1]) ** 2 > s.merge_radius_m ** 2:
                    continue
                d = xa - xb
                S = Pa + Pb
                if np.any(np.linalg.eigvalsh(S) <= 0.0) or d @ np.linalg.solve(S, d) > s.merge_d2:
                    continue
                close[tracks[a].track_id].add(tracks[b].track_id)
                close[tracks[b].track_id].add(tracks[a].track_id)
        for tr in tracks:
            tr.n_close = tr.n_close + 1 if close[tr.track_id] else 0

        def strength(tr):
            return (tr.status == TENTATIVE, tr.track_id)

        for tr in sorted(tracks, key=strength):
            if tr.track_id not in self.tracks or tr.n_close < s.merge_epochs:
                continue
            for other_id in sorted(close[tr.track_id]):
                other = self.tracks.get(other_id)
                if (other is not None and other.n_close >= s.merge_epochs
                        and strength(other) > strength(tr)):
                    self.delete(other_id)
                    self.counters["merged"] += 1

    def delete(self, track_id):
        del self.tracks[track_id]
        self.counters["deleted"] += 1

    # ------------------------------------------------------------------ emit
    def emit(self, t):
        s = self.settings
        rows = []
        written = []
        for track in self.tracks.values():
            if track.status == TENTATIVE and not s.output_tentative:
                continue
            x, P = cv_predict(track.x, track.P, max(t - track.t_state, 0.0), s.gate_q_h, s.q_v)
            rows.append(Row(t, track.track_id, track.status, x, math.sqrt(P[0, 0] + P[1, 1]), P))
            written.append(track)
        if rows:
            neighbours = reference_neighbours(np.array([row.x for row in rows]),
                                              s.flock_radius_m, s.flock_max_dv_mps)
            # each companion's class as its previous epoch left it
            companions = reference_companions(np.array([row.x for row in rows]),
                                              [track.p_drone_last for track in written])
            # the flocking and co-motion cues count this epoch before the track is classified
            for track, k, companion in zip(written, neighbours, companions):
                track.epochs.append((t, int(k), companion))
            for row, track, k in zip(rows, written, neighbours):
                f = track.features()
                p, track.evidence = reference_evidence_epoch(t, f, k, self.classify_params)
                row.class_p = reference_kin_call(f, p, self.classify_params)
                track.p_drone_last = float(row.class_p[C_DRONE])
        return rows
