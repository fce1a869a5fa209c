"""Track management kernels: the compiled scan pipeline.

The track table is a structure of arrays with a fixed capacity and a free
list (see ``radarcore.core.tracks.TrackTable``); empty slots have ``status == 0``
and are never compacted.  One call of :func:`run_plan` runs a whole plan of
steps over plots already converted to the local ENU frame and sorted:

``GROUP lo hi``
    the plots ``lo:hi`` of one radar inside one processing frame:
    gate -> GNN assignment (with a missed-detection option per track) ->
    predict and update of the assigned tracks (with ``P_TENTATIVE_CV``,
    tentative tracks by the IMM's constant-velocity model alone and confirmed
    ones by the IMM, its per-model states made from the CV state at the
    first plot after confirmation: ``kernels.oosm.filter_step``; else all by
    the IMM) -> initiation of new
    tentative tracks from the plots no track gated and (``P_INIT_BESIDE``)
    from the gated plots left over beside tracks that each took another
    plot of the group: a radar gives one plot per object per scan, so such a
    plot is a second object (a bird beside its flock neighbour's track).
``MAINTAIN t``
    track lifecycle at time ``t``: confirmed tracks without an update for
    ``coast_after_s`` coast; tentative tracks without an update for
    ``tentative_timeout_s`` (or not confirmed within ``confirm_hits *
    tentative_timeout_s`` of their birth), and any track without an update for
    ``delete_after_s`` or whose predicted horizontal position sigma exceeds
    ``max_sigma_pos_m``, are deleted and their slots freed.  Then, with
    ``P_MERGE_EPOCHS`` = N > 0, duplicated tracks are merged
    (:func:`merge_close`): two tracks whose states predicted to ``t`` lie within
    ``P_MERGE_RADIUS`` horizontally and within ``P_MERGE_D2`` of each other in
    the Mahalanobis metric of ``P_i + P_j`` (position and velocity) are
    *close*; a track close to some other at N MAINTAIN steps in a row (a GROUP
    in which it and a close track took two plots of one radar, one in the
    other's gate, restarts the run: two objects resolved), and
    close now to a track with such a run too, is dropped when that track is
    stronger (confirmed or coasting before tentative, then the older id): one
    object, or a flock the radar cannot resolve, keeps one track.
``EMIT t``
    every live track (tentative ones only when asked) extrapolated to the
    output epoch ``t`` (nearly-constant velocity) and written as an output
    row.

Association costs are negative log-likelihood ratios, with ``S`` the
innovation covariance, ``d`` the measurement dimension, ``P_D`` the radar's
detection probability and ``lambda`` its false-alarm density::

    c_ij   = 0.5 (d2_ij + log det S_ij + d log 2 pi) + log lambda_d - log P_D
    miss_i = -log(1 - P_D)

so a plot is assigned when its likelihood ratio beats a miss.  For a 4-D
measurement (with radial velocity) ``lambda_4 = lambda / RV_SPAN``: clutter
radial velocities are spread over ``RV_SPAN`` m/s.
"""
import numpy as np

from kernels._grid import horizontal_cells, sort_into_cells
from kernels._jit import njit
from kernels.assign import gnn_assign
from kernels.classify import (classify_model, count_flock_neighbours, reset_features,
                              update_comotion, update_features)
from kernels.filters import LOG_2PI, cv_predict
from kernels.gating import (trace_horizontal_predicted, gate, horizontal_radius, track_grid_build,
                            track_grid_candidates, track_grid_insert, track_grid_move, track_grid_new)
from kernels.oosm import (HIST_FIELDS, OUTSIDE_HISTORY, RETRODICTED, history_start, imm_from_cv,
                          retrodicted_radius, update_track)

_B_T = HIST_FIELDS.index("b_t")
_T_IMM = HIST_FIELDS.index("t_imm")

#: Side of a cell of the live-track grid (kernels.gating.track_grid_*), in gate cells.
TRACK_GRID_CELLS = 4.0

# Plan step kinds.
GROUP = 0
MAINTAIN = 1
EMIT = 2

# Track status codes (ingest.schema.TRACK_STATUS_NAMES).
FREE = 0
TENTATIVE = 1
CONFIRMED = 2
COASTING = 3

# Layout of the ``params`` vector (filled by radarcore.core.engine).
P_GATE_Q_H = 0            # CV process noise used for the gating prediction
P_Q_V = 1
P_GAMMA_3 = 2
P_GAMMA_4 = 3
P_CELL_M = 4
P_INIT_SIGMA_SPEED = 5
P_INIT_SIGMA_VERTICAL = 6
P_CONFIRM_HITS = 7
P_TENTATIVE_TIMEOUT = 8
P_COAST_AFTER = 9
P_DELETE_AFTER = 10
P_MAX_SIGMA_POS = 11
P_OUTPUT_TENTATIVE = 12
P_RV_SPAN = 13
P_OUTPUT_PERIOD = 14
P_CONFIRM_SCORE = 15
P_FLOCK_RADIUS = 16
P_FLOCK_DV = 17
P_INIT_BESIDE = 18        # > 0.5: initiate beside tracks that took another plot (see process_group)
P_TAU_V = 19              # > 0: IMM vertical velocity Ornstein-Uhlenbeck time constant (kernels.filters.ct_predict)
P_OWN_GATE = 20           # > 0.5: gate a plot older than its track against the track's own
                          # prediction (dt = 0), not the retrodicted one (kernels.oosm)
P_MERGE_EPOCHS = 21       # > 0: merge tracks close for this many MAINTAIN steps in a row (merge_close)
P_MERGE_D2 = 22           # Mahalanobis bound of a close pair (6-D state difference)
P_MERGE_RADIUS = 23       # horizontal bound of a close pair (m): the neighbour grid's cell
P_TENTATIVE_CV = 24       # > 0.5: tentative tracks on the IMM's CV model alone (kernels.oosm.filter_step)
N_PARAMS = 25

# Layout of the ``counters`` vector.
C_N_FREE = 0
C_NEXT_ID = 1
C_ASSOCIATED = 2
C_INITIATED = 3
C_CONFIRMED = 4
C_DELETED = 5
C_GATED_PAIRS = 6
C_PLOTS = 7
C_RETRODICTED = 8         # plots older than their track, fused exactly (kernels.oosm)
C_OUTSIDE_HISTORY = 9     # plots older than their track's history, fused with dt = 0
C_MERGED = 10             # tracks dropped as duplicates of a stronger one (merge_close; also in C_DELETED)
N_COUNTERS = 11


@njit
def _free_slot(i, status, free_stack, counters):
    status[i] = FREE
    free_stack[counters[C_N_FREE]] = i
    counters[C_N_FREE] += 1
    counters[C_DELETED] += 1


@njit
def initiate(i, t, z, R, rv, sigma_rv, radar_pos, sigma_speed, sigma_vertical,
             xm, Pm, log_mu, x, P, with_imm=True):
    """Write a new track's state into slot ``i`` from one plot.

    Position ``z`` with covariance ``R``; velocity prior
    ``diag(s_h^2, s_h^2, s_v^2)``.  With a radial velocity (Doppler-aided
    initiation) the prior is conditioned on ``rv = u' v`` with
    ``u = (z - radar_pos) / |z - radar_pos|``::

        k = P_v0 u / (u' P_v0 u + sigma_rv^2),  v = k rv,  P_v = P_v0 - k u' P_v0

    With ``with_imm`` every IMM model starts from that state with equal
    probabilities; without, only ``x, P`` are written (a track on the CV
    filter, ``kernels.oosm.filter_step``).
    """
    for a in range(6):
        x[i, a] = 0.0
        for c in range(6):
            P[i, a, c] = 0.0
    for a in range(3):
        x[i, a] = z[a]
        for c in range(3):
            P[i, a, c] = R[a, c]
    P[i, 3, 3] = sigma_speed * sigma_speed
    P[i, 4, 4] = sigma_speed * sigma_speed
    P[i, 5, 5] = sigma_vertical * sigma_vertical
    if np.isfinite(rv) and np.isfinite(sigma_rv):
        u0 = z[0] - radar_pos[0]
        u1 = z[1] - radar_pos[1]
        u2 = z[2] - radar_pos[2]
        norm = np.sqrt(u0 * u0 + u1 * u1 + u2 * u2)
        if norm > 0.0:
            u0 /= norm
            u1 /= norm
            u2 /= norm
            pu0 = P[i, 3, 3] * u0
            pu1 = P[i, 4, 4] * u1
            pu2 = P[i, 5, 5] * u2
            s = u0 * pu0 + u1 * pu1 + u2 * pu2 + sigma_rv * sigma_rv
            k0 = pu0 / s
            k1 = pu1 / s
            k2 = pu2 / s
            x[i, 3] = k0 * rv
            x[i, 4] = k1 * rv
            x[i, 5] = k2 * rv
            # P_v0 is diagonal, so P_v = P_v0 - k (P_v0 u)'
            P[i, 3, 3] -= k0 * pu0
            P[i, 3, 4] = -k0 * pu1
            P[i, 3, 5] = -k0 * pu2
            P[i, 4, 3] = -k1 * pu0
            P[i, 4, 4] -= k1 * pu1
            P[i, 4, 5] = -k1 * pu2
            P[i, 5, 3] = -k2 * pu0
            P[i, 5, 4] = -k2 * pu1
            P[i, 5, 5] -= k2 * pu2
    if with_imm:
        imm_from_cv(x[i], P[i], xm[i], Pm[i], log_mu[i])


@njit(inline="always")
def _confirm(i, t, status, counters, hist):
    """Tentative track ``i``, its newest plot at ``t``, is confirmed: on the CV filter until
    now, it is on the IMM for plots after ``t`` (its IMM state is made from its CV state at
    the first of them: ``kernels.oosm.filter_step``)."""
    status[i] = CONFIRMED
    counters[C_CONFIRMED] += 1
    t_imm = hist[_T_IMM]
    if t_imm[i] == np.inf:
        t_imm[i] = t


@njit(inline="always")
def quick_radius(i, x, P, t_state, t_from, t_to, q_h, gamma, max_trace_R_h, hist, retro=True):
    """Track ``i``'s quick gating radius over ``[t_from, t_to]`` (``r_quick`` of
    :func:`kernels.gating.gate`): its own prediction's, or, with ``retro``, a larger one
    where a plot older than the track is gated against a retrodicted prediction
    (``kernels.oosm``).  The latter only where the span reaches back before the track's
    state but not before its history (``retrodicted_radius`` is 0 elsewhere)."""
    radius = horizontal_radius(x[i], P[i], t_state[i], t_from, t_to, q_h, gamma, max_trace_R_h)
    b_t = hist[_B_T]
    if retro and max(t_from, b_t[i]) < min(t_to, t_state[i]):
        radius = max(radius, retrodicted_radius(i, x, t_state, t_from, t_to, q_h, gamma,
                                                max_trace_R_h, hist))
    return radius


@njit
def process_group(lo, hi, t_p, z_p, R_p, rv_p, snr_p, range_p, radar_pos, sigma_rv, log_lambda,
                  p_detection, x, P, xm, Pm, log_mu, t_state, t_update, t_create, status,
                  track_id, hits, score, features, free_stack, counters, params, omega, q_h, log_Pi,
                  live, n_live, r_quick, local_of_slot, frame_t0, frame_t1, max_trace_R_h, hist,
                  grid, n_close):
    """Associate, update and initiate for the plots ``lo:hi`` of one radar.

    ``radar_pos`` (3,), ``sigma_rv``, ``log_lambda`` and ``p_detection`` are
    the group's radar's.  ``live[:n_live]`` lists the live slots and
    ``r_quick`` their quick gating radii for the span ``[frame_t0,
    frame_t1]`` that holds the plots' times; both are kept up to date for updated and new tracks.
    ``local_of_slot`` is scratch of the table's capacity holding -1.  The
    table must have at least ``hi - lo`` free slots.  ``hist`` holds the
    tracks' histories for plots older than their track (``kernels.oosm``).
    ``grid`` files the live tracks by position for the span
    (``kernels.gating.track_grid_*``): the gate sees only the tracks near the
    plots; kept up to date for updated and new tracks.
    Returns the new ``n_live``.
    """
    m = hi - lo
    if m <= 0:
        return n_live
    counters[C_PLOTS] += m
    q_v = params[P_Q_V]
    vertical = np.array([q_v, params[P_TAU_V]])  # the IMM's vertical channel
    gate_q_h = params[P_GATE_Q_H]
    gamma = max(params[P_GAMMA_3], params[P_GAMMA_4])
    retro = params[P_OWN_GATE] < 0.5
    t_g = t_p[lo:hi]
    z_g = z_p[lo:hi]
    R_g = R_p[lo:hi]
    rv_g = rv_p[lo:hi]
    sigma_rv_g = np.empty(m)
    radar_pos_g = np.empty((m, 3))
    for j in range(m):
        sigma_rv_g[j] = sigma_rv
        for a in range(3):
            radar_pos_g[j, a] = radar_pos[a]

    pair_track, pair_plot, pair_d2, pair_logdet, pair_dim = gate(
        track_grid_candidates(grid, live, n_live, z_g, t_g), x, P, t_state, z_g, R_g, rv_g, sigma_rv_g,
        radar_pos_g, t_g,
        gate_q_h, q_v, params[P_GAMMA_3], params[P_GAMMA_4], params[P_CELL_M], r_quick, hist, retro)
    k = pair_track.shape[0]
    counters[C_GATED_PAIRS] += k

    # tracks of this group's pairs, numbered locally so the assignment costs
    # O(pairs + plots), not O(capacity)
    local_slot = np.empty(k, np.int64)
    pair_local = np.empty(k, np.int64)
    n_local = np.int64(0)      # (not a literal 0: see run_plan)
    for p in range(k):
        i = pair_track[p]
        if local_of_slot[i] < 0:
            local_of_slot[i] = n_local
            local_slot[n_local] = i
            n_local += 1
        pair_local[p] = local_of_slot[i]
    for l in range(n_local):
        local_of_slot[local_slot[l]] = -1

    log_pd = np.log(p_detection)
    log_lambda_4 = log_lambda - np.log(params[P_RV_SPAN])
    pair_cost = np.empty(k)
    gated_plot = np.zeros(m, np.bool_)
    for p in range(k):
        ll = log_lambda_4 if pair_dim[p] == 4 else log_lambda
        pair_cost[p] = 0.5 * (pair_d2[p] + pair_logdet[p] + pair_dim[p] * LOG_2PI) + ll - log_pd
        gated_plot[pair_plot[p]] = True
    miss_cost = np.full(n_local, -np.log(1.0 - p_detection))
    plot_of_local = np.empty(n_local, np.int64)
    track_of_plot = np.empty(m, np.int64)
    gnn_assign(n_local, m, pair_local, pair_plot, pair_cost, miss_cost, plot_of_local,
               track_of_plot)
    assigned_cost = np.empty(m)
    for p in range(k):
        if track_of_plot[pair_plot[p]] == pair_local[p]:
            assigned_cost[pair_plot[p]] = pair_cost[p]
    if params[P_MERGE_EPOCHS] > 0.0:
        # one radar gives one plot per object per scan: tracks that took two
        # plots of it, one inside the other's gate, are two resolved objects
        for p in range(k):
            l = pair_local[p]
            other = track_of_plot[pair_plot[p]]
            if other >= 0 and other != l and plot_of_local[l] >= 0:
                n_close[local_slot[l]] = 0
                n_close[local_slot[other]] = 0

    # update the assigned tracks at their plot's time
    confirm_hits = params[P_CONFIRM_HITS]
    confirm_score = params[P_CONFIRM_SCORE]
    for j in range(m):
        l = track_of_plot[j]
        if l < 0:
            continue
        i = local_slot[l]
        t_j = t_g[j]
        # in order, or re-filtered exactly from the track's history (kernels.oosm)
        how = update_track(i, t_j, t_state[i], z_g[j], R_g[j], rv_g[j], sigma_rv, radar_pos,
                           xm, Pm, log_mu, x, P, hist, omega, q_h, vertical, log_Pi, retro)
        if how == RETRODICTED:
            counters[C_RETRODICTED] += 1
        elif how == OUTSIDE_HISTORY:
            counters[C_OUTSIDE_HISTORY] += 1
        update_features(features[i], x[i], t_j, snr_p[lo + j], range_p[lo + j])
        t_state[i] = max(t_state[i], t_j)
        t_update[i] = max(t_update[i], t_j)
        r_quick[i] = quick_radius(i, x, P, t_state, frame_t0, frame_t1, gate_q_h, gamma,
                                  max_trace_R_h, hist, retro)
        track_grid_move(grid, i, x[i], t_state[i], r_quick[i])
        hits[i] += 1
        score[i] -= assigned_cost[j]
        counters[C_ASSOCIATED] += 1
        if status[i] == TENTATIVE and hits[i] >= confirm_hits and score[i] >= confirm_score:
            _confirm(i, t_state[i], status, counters, hist)
        elif status[i] == COASTING:
            status[i] = CONFIRMED

    # Initiate from the plots no live track gated and, when P_INIT_BESIDE is
    # set, from a gated plot left unassigned when every track that gated it
    # took another plot of this group: one radar gives one plot per object
    # per scan, so that plot is a second object beside the track (a flock
    # neighbour), not the track's own.  A gated plot beside a track that
    # took no plot stays unused (it may be that track's plot, far in its gate).
    may_start = np.empty(m, np.bool_)
    for j in range(m):
        may_start[j] = not gated_plot[j]
    if params[P_INIT_BESIDE] > 0.5:
        for j in range(m):
            if gated_plot[j] and track_of_plot[j] < 0:
                may_start[j] = True
        for p in range(k):
            j = pair_plot[p]
            if track_of_plot[j] < 0 and plot_of_local[pair_local[p]] < 0:
                may_start[j] = False
    tentative_cv = params[P_TENTATIVE_CV] > 0.5
    t_imm = hist[_T_IMM]
    for j in range(m):
        if not may_start[j]:
            continue
        counters[C_N_FREE] -= 1
        i = free_stack[counters[C_N_FREE]]
        initiate(i, t_g[j], z_g[j], R_g[j], rv_g[j], sigma_rv, radar_pos,
                 params[P_INIT_SIGMA_SPEED], params[P_INIT_SIGMA_VERTICAL], xm, Pm, log_mu, x, P,
                 not tentative_cv)
        # on the CV filter until confirmed (kernels.oosm.filter_step), or on the IMM at once
        t_imm[i] = np.inf if tentative_cv else -np.inf
        history_start(i, t_g[j], xm, Pm, log_mu, x, P, hist)
        t_state[i] = t_g[j]
        t_update[i] = t_g[j]
        t_create[i] = t_g[j]
        reset_features(features[i])
        update_features(features[i], x[i], t_g[j], snr_p[lo + j], range_p[lo + j])
        status[i] = TENTATIVE
        hits[i] = 1
        score[i] = 0.0
        track_id[i] = counters[C_NEXT_ID]
        counters[C_NEXT_ID] += 1
        counters[C_INITIATED] += 1
        if confirm_hits <= 1 and confirm_score <= 0.0:
            _confirm(i, t_g[j], status, counters, hist)
        r_quick[i] = quick_radius(i, x, P, t_state, frame_t0, frame_t1, gate_q_h, gamma,
                                  max_trace_R_h, hist, retro)
        track_grid_insert(grid, i, n_live, x[i], t_state[i], r_quick[i])
        live[n_live] = i
        n_live += 1
    return n_live


@njit
def maintain(t_now, x, P, t_state, t_update, t_create, status, hits, free_stack, counters,
             params):
    """Coast and delete tracks at time ``t_now`` (see the module docstring)."""
    coast_after = params[P_COAST_AFTER]
    delete_after = params[P_DELETE_AFTER]
    tentative_timeout = params[P_TENTATIVE_TIMEOUT]
    tentative_max_age = tentative_timeout * params[P_CONFIRM_HITS]
    max_var = params[P_MAX_SIGMA_POS] ** 2
    q_h = params[P_GATE_Q_H]
    for i in range(status.shape[0]):
        s = status[i]
        if s == FREE:
            continue
        age = t_now - t_update[i]
        if s == TENTATIVE:
            if age > tentative_timeout or t_now - t_create[i] > tentative_max_age:
                _free_slot(i, status, free_stack, counters)
                continue
        elif age > delete_after:
            _free_slot(i, status, free_stack, counters)
            continue
        elif s == CONFIRMED and age > coast_after:
            status[i] = COASTING
        # horizontal position variance predicted to t_now (CV)
        if trace_horizontal_predicted(P[i], max(t_now - t_state[i], 0.0), q_h) > max_var:
            _free_slot(i, status, free_stack, counters)


@njit
def _close_d2(xa, Pa, xb, Pb):
    """``d' (Pa + Pb)^-1 d`` with ``d = xa - xb`` (6-D), by Cholesky; inf when
    ``Pa + Pb`` is not positive definite."""
    L = np.zeros((6, 6))
    for a in range(6):
        for b in range(a + 1):
            v = Pa[a, b] + Pb[a, b]
            for c in range(b):
                v -= L[a, c] * L[b, c]
            if a == b:
                if not v > 0.0:
                    return np.inf
                L[a, a] = np.sqrt(v)
            else:
                L[a, b] = v / L[b, b]
    d2 = 0.0
    w = np.empty(6)
    for a in range(6):
        v = xa[a] - xb[a]
        for c in range(a):
            v -= L[a, c] * w[c]
        w[a] = v / L[a, a]
        d2 += w[a] * w[a]
    return d2


@njit
def merge_close(t_now, x, P, t_state, status, track_id, n_close, free_stack, counters, params):
    """Drop duplicated tracks at time ``t_now`` (MAINTAIN, see the module docstring).

    Every live track is CV-predicted to ``t_now`` (the gating process noise);
    pairs within ``P_MERGE_RADIUS`` horizontally are found on a grid of
    square cells that wide (coarser when the tracks' bounding box would need
    more than ``4 k + 16`` cells, as ``kernels.classify.count_flock_neighbours``)
    and are *close* when the Mahalanobis distance of their 6-D states under
    ``P_i + P_j`` is at most ``P_MERGE_D2``.  ``n_close`` counts, per slot, the
    MAINTAIN steps in a row at which the track was close to some other.  Then,
    strongest first (confirmed or coasting before tentative, then the lower
    id), a track whose run reached ``P_MERGE_EPOCHS`` drops every close track
    with such a run that is weaker than itself.  Returns the number dropped.
    """
    n_epochs = params[P_MERGE_EPOCHS]
    if not n_epochs > 0.0:
        return 0
    q_h = params[P_GATE_Q_H]
    q_v = params[P_Q_V]
    radius = params[P_MERGE_RADIUS]
    d2_max = params[P_MERGE_D2]
    capacity = status.shape[0]
    k = 0
    for i in range(capacity):
        if status[i] != FREE:
            k += 1
        else:
            n_close[i] = 0      # a slot handed to a new track starts a new run
    if k == 0:
        return 0
    slots = np.empty(k, np.int64)
    xp = np.empty((k, 6))
    Pp = np.empty((k, 6, 6))
    k = 0
    for i in range(capacity):
        if status[i] != FREE:
            slots[k] = i
            xp[k] = x[i]
            Pp[k] = P[i]
            cv_predict(xp[k], Pp[k], max(t_now - t_state[i], 0.0), q_h, q_v)
            k += 1
    cell_of, n_x, n_y = horizontal_cells(xp, radius)
    cell_start, order = sort_into_cells(cell_of, n_x * n_y)
    # close pairs, each once (a < b) and then both ways for the merge walk
    pair_a = np.empty(16, np.int64)
    pair_b = np.empty(16, np.int64)
    n_pairs = 0
    close = np.zeros(k, np.bool_)
    radius2 = radius * radius
    for a in range(k):
        cx = cell_of[a] // n_y
        cy = cell_of[a] - cx * n_y
        for gx in range(max(cx - 1, 0), min(cx + 2, n_x)):
            for gy in range(max(cy - 1, 0), min(cy + 2, n_y)):
                cell = gx * n_y + gy
                for q in range(cell_start[cell], cell_start[cell + 1]):
                    b = order[q]
                    if b <= a:
                        continue
                    de = xp[b, 0] - xp[a, 0]
                    dn = xp[b, 1] - xp[a, 1]
                    if de * de + dn * dn > radius2:
                        continue
                    if _close_d2(xp[a], Pp[a], xp[b], Pp[b]) > d2_max:
                        continue
                    close[a] = True
                    close[b] = True
                    if n_pairs + 2 > pair_a.shape[0]:
                        grown_a = np.empty(2 * pair_a.shape[0], np.int64)
                        grown_b = np.empty(2 * pair_a.shape[0], np.int64)
                        grown_a[:n_pairs] = pair_a[:n_pairs]
                        grown_b[:n_pairs] = pair_b[:n_pairs]
                        pair_a = grown_a
                        pair_b = grown_b
                    pair_a[n_pairs] = a
                    pair_b[n_pairs] = b
                    pair_a[n_pairs + 1] = b
                    pair_b[n_pairs + 1] = a
                    n_pairs += 2
    ripe = np.zeros(k, np.bool_)
    for a in range(k):
        i = slots[a]
        n_close[i] = n_close[i] + 1 if close[a] else 0
        ripe[a] = n_close[i] >= n_epochs
    if n_pairs == 0:
        return 0
    # strength: confirmed or coasting before tentative, then the older (lower) id
    strength = np.empty(k, np.int64)
    for a in range(k):
        i = slots[a]
        strength[a] = track_id[i] + (np.int64(1) << 62 if status[i] == TENTATIVE else np.int64(0))
    by_a = np.argsort(pair_a[:n_pairs], kind="mergesort")
    first = np.zeros(k + 1, np.int64)
    for q in range(n_pairs):
        first[pair_a[q] + 1] += 1
    for a in range(k):
        first[a + 1] += first[a]
    alive = np.ones(k, np.bool_)
    dropped = 0
    for a in np.argsort(strength, kind="mergesort"):
        if not (alive[a] and ripe[a]):
            continue
        for q in range(first[a], first[a + 1]):
            b = pair_b[by_a[q]]
            if alive[b] and ripe[b] and strength[b] > strength[a]:
                alive[b] = False
                _free_slot(slots[b], status, free_stack, counters)
                n_close[slots[b]] = 0
                counters[C_MERGED] += 1
                dropped += 1
    return dropped


@njit
def emit(t_epoch, x, P, t_state, status, track_id, features, params, classify_params,
         out_t, out_id, out_status, out_x, out_sigma, out_P, out_class, n_out):
    """Append every live track extrapolated to ``t_epoch``; returns the new row count.

    Besides the row (state, sigma) it writes the covariance predicted to the
    epoch (``out_P``, for threat evaluation) and the class probabilities
    (``out_class``: drone, bird, aircraft, unknown; the learned model of
    ``kernels.classify.classify_model``, whose vector is ``classify_params``),
    with the flocking and co-motion cues counted among the tracks written at
    this epoch (``kernels.classify.update_comotion``).  The output arrays
    must have room for every live slot.
    """
    include_tentative = params[P_OUTPUT_TENTATIVE] > 0.5
    q_h = params[P_GATE_Q_H]
    q_v = params[P_Q_V]
    n_first = n_out
    slots = np.empty(status.shape[0], np.int64)
    for i in range(status.shape[0]):
        s = status[i]
        if s == FREE or (s == TENTATIVE and not include_tentative):
            continue
        dt = max(t_epoch - t_state[i], 0.0)
        out_t[n_out] = t_epoch
        out_id[n_out] = track_id[i]
        out_status[n_out] = s
        for a in range(6):
            out_x[n_out, a] = x[i, a]
            for b in range(6):
                out_P[n_out, a, b] = P[i, a, b]
        cv_predict(out_x[n_out], out_P[n_out], dt, q_h, q_v)
        out_sigma[n_out] = np.sqrt(out_P[n_out, 0, 0] + out_P[n_out, 1, 1])
        slots[n_out - n_first] = i
        n_out += 1
    k = n_out - n_first
    neighbours = np.empty(k, np.int64)
    count_flock_neighbours(out_x[n_first:n_out], params[P_FLOCK_RADIUS], params[P_FLOCK_DV],
                           neighbours)
    update_comotion(features, slots[:k], out_x[n_first:n_out], t_epoch)
    classify_model(features, slots[:k], neighbours, t_epoch, classify_params,
                   out_class[n_first:n_out])
    return n_out


@njit
def _count_output_slots(status, include_tentative):
    n = 0
    for i in range(status.shape[0]):
        s = status[i]
        if s != FREE and (s != TENTATIVE or include_tentative):
            n += 1
    return n


@njit
def _grow_rows(rows, capacity):
    """Copies of the output arrays with room for ``capacity`` rows."""
    out_t, out_id, out_status, out_x, out_sigma, out_P, out_class = rows
    n = out_t.shape[0]
    t2 = np.empty(capacity)
    id2 = np.empty(capacity, np.int64)
    s2 = np.empty(capacity, np.int8)
    x2 = np.empty((capacity, 6))
    sig2 = np.empty(capacity)
    P2 = np.empty((capacity, 6, 6))
    c2 = np.empty((capacity, 4))
    t2[:n] = out_t
    id2[:n] = out_id
    s2[:n] = out_status
    x2[:n] = out_x
    sig2[:n] = out_sigma
    P2[:n] = out_P
    c2[:n] = out_class
    return t2, id2, s2, x2, sig2, P2, c2


@njit
def _collect_live(status, live):
    n = 0
    for i in range(status.shape[0]):
        if status[i] != FREE:
            live[n] = i
            n += 1
    return n


@njit
def run_plan(step_kind, step_lo, step_hi, step_t, step_span, first_step,
             t_p, radar_p, z_p, R_p, rv_p, snr_p, range_p,
             radar_pos, sigma_rv, log_lambda, p_detection,
             x, P, xm, Pm, log_mu, t_state, t_update, t_create, status, track_id, hits,
             score, features, free_stack, counters, params, omega, q_h, log_Pi,
             classify_params, hist, n_close, carry):
    """Run a plan of GROUP / MAINTAIN / EMIT steps (see the module docstring).

    Parameters
    ----------
    step_kind, step_lo, step_hi : ndarray, shape (n_steps,), int64
    step_t : ndarray, shape (n_steps,)
    step_span : ndarray, shape (n_steps,), int64
        Index ``k`` of the output period ``[k T, (k + 1) T)`` holding each
        GROUP step's plots (T = ``params[P_OUTPUT_PERIOD]``); the quick
        gating radii are computed once per period.
    first_step : int
        Where to start (a plan resumes after the table grew).
    t_p, radar_p, z_p, R_p, rv_p, snr_p, range_p : ndarray
        Sorted plots: times (n,), radar table indices (n,), ENU positions
        (n, 3), covariances (n, 3, 3), radial velocities (n,), SNR in dB
        (n,, NaN when not given) and slant ranges (n,).
    radar_pos, sigma_rv, log_lambda, p_detection : ndarray
        Per-radar tables, shapes (k, 3), (k,), (k,), (k,).
    hist : tuple of ndarray
        The tracks' plot histories (``kernels.oosm.HIST_FIELDS``): a plot
        older than its track is fused exactly by re-filtering the history.
    n_close : ndarray, shape (capacity,), int64
        Per slot, the MAINTAIN steps in a row at which the track was close to
        another (:func:`merge_close`).
    carry : tuple
        The gating state kept from one call to the next (:func:`plan_carry_new`
        for this table: the live list, the quick radii of the current output
        period and the track grid), so that a plan of one frame (live mode)
        does not compute every live track's quick radius again.  The radii
        only pre-filter the exact gate, so carrying them changes no pair: a
        track's radius depends on its own state alone and is renewed when a
        GROUP updates it.  Make a new one when anything but this function
        changed the table (grown, tracks deleted, another table).

    Returns
    -------
    next_step : int
        ``n_steps`` when done, or the GROUP step that needs more free slots
        than the table has: grow the table and call again from there.
    rows : tuple of ndarray
        ``(t, track_id, status, x (n, 6), sigma_pos, P (n, 6, 6), class_p (n, 4))``:
        the output rows of the EMIT steps run, in step order (see :func:`emit`).
    """
    n_steps = step_kind.shape[0]
    capacity = status.shape[0]
    rows = _grow_rows((np.empty(0), np.empty(0, np.int64), np.empty(0, np.int8),
                       np.empty((0, 6)), np.empty(0), np.empty((0, 6, 6)), np.empty((0, 4))),
                      np.int64(64))
    include_tentative = params[P_OUTPUT_TENTATIVE] > 0.5
    # counts start as np.int64, not literal 0: a callee typed while the count
    # is still Literal[int](0) would be compiled a second time for it
    n_out = np.int64(0)

    live, r_quick, local_of_slot, grid, carry_i, carry_f = carry
    if carry_i[_K_STATE] == 0:
        n_live = _collect_live(status, live)
    else:
        n_live = carry_i[_K_N_LIVE]
    grid_cell_m = TRACK_GRID_CELLS * params[P_CELL_M]
    gamma = max(params[P_GAMMA_3], params[P_GAMMA_4])
    period = params[P_OUTPUT_PERIOD]
    # the radii cover the plan's plots' noise: never less than the carried radii's
    max_trace_R_h = carry_f[_K_MAX_TRACE_R]
    for s in range(first_step, n_steps):
        if step_kind[s] == GROUP:
            for j in range(step_lo[s], step_hi[s]):
                max_trace_R_h = max(max_trace_R_h, R_p[j, 0, 0] + R_p[j, 1, 1])
    retro = params[P_OWN_GATE] < 0.5
    have_span = carry_i[_K_STATE] == 2 and max_trace_R_h <= carry_f[_K_MAX_TRACE_R]
    cur_span = carry_i[_K_SPAN]
    span_t0 = carry_f[_K_T0]
    span_t1 = carry_f[_K_T1]
    for s in range(first_step, n_steps):
        kind = step_kind[s]
        if kind == GROUP:
            lo = step_lo[s]
            hi = step_hi[s]
            if counters[C_N_FREE] < hi - lo:
                _keep_carry(carry, n_live, have_span, cur_span, span_t0, span_t1, max_trace_R_h)
                return s, _trim_rows(rows, n_out)
            if not have_span or step_span[s] != cur_span:
                # a new output period: every live track's quick gating radius
                # over it (with a margin for rounding of the period's ends)
                cur_span = step_span[s]
                have_span = True
                span_t0 = cur_span * period - 1e-3
                span_t1 = (cur_span + 1) * period + 1e-3
                for ii in range(n_live):
                    i = live[ii]
                    r_quick[i] = quick_radius(i, x, P, t_state, span_t0, span_t1,
                                              params[P_GATE_Q_H], gamma, max_trace_R_h, hist, retro)
                track_grid_build(grid, live, n_live, x, t_state, r_quick, span_t0, span_t1, grid_cell_m)
            r = radar_p[lo]
            n_live = process_group(lo, hi, t_p, z_p, R_p, rv_p, snr_p, range_p, radar_pos[r], sigma_rv[r],
                                   log_lambda[r], p_detection[r], x, P, xm, Pm, log_mu, t_state,
                                   t_update, t_create, status, track_id, hits, score,
                                   features, free_stack, counters, params, omega, q_h, log_Pi, live, n_live, r_quick,
                                   local_of_slot, span_t0, span_t1, max_trace_R_h, hist, grid,
                                   n_close)
        elif kind == MAINTAIN:
            maintain(step_t[s], x, P, t_state, t_update, t_create, status, hits, free_stack,
                     counters, params)
            merge_close(step_t[s], x, P, t_state, status, track_id, n_close, free_stack, counters,
                        params)
            n_live = _collect_live(status, live)
            if have_span:
                track_grid_build(grid, live, n_live, x, t_state, r_quick, span_t0, span_t1, grid_cell_m)
        else:
            need = n_out + _count_output_slots(status, include_tentative)
            if need > rows[0].shape[0]:
                rows = _grow_rows(rows, max(need, 2 * rows[0].shape[0]))
            out_t, out_id, out_status, out_x, out_sigma, out_P, out_class = rows
            n_out = emit(step_t[s], x, P, t_state, status, track_id, features, params,
                         classify_params, out_t, out_id, out_status, out_x, out_sigma, out_P,
                         out_class, n_out)
    _keep_carry(carry, n_live, have_span, cur_span, span_t0, span_t1, max_trace_R_h)
    return n_steps, _trim_rows(rows, n_out)


# run_plan's carry: (live, r_quick, local_of_slot, grid, carry_i, carry_f)
_K_STATE = 0          # carry_i: 0 nothing kept, 1 the live list, 2 also a period's radii and grid
_K_N_LIVE = 1
_K_SPAN = 2           # the period the radii are for
_K_T0 = 0             # carry_f: the period's ends (with their margins)
_K_T1 = 1
_K_MAX_TRACE_R = 2    # the largest trace R_h the radii cover


def plan_carry_new(capacity):
    """An empty ``carry`` of :func:`run_plan` for a table of ``capacity`` slots."""
    return (np.empty(capacity, np.int64), np.empty(capacity), np.full(capacity, -1, np.int64),
            track_grid_new(capacity), np.zeros(3, np.int64), np.zeros(3))


@njit
def _keep_carry(carry, n_live, have_span, cur_span, span_t0, span_t1, max_trace_R_h):
    carry_i = carry[4]
    carry_f = carry[5]
    carry_i[_K_STATE] = 2 if have_span else 1
    carry_i[_K_N_LIVE] = n_live
    carry_i[_K_SPAN] = cur_span
    carry_f[_K_T0] = span_t0
    carry_f[_K_T1] = span_t1
    carry_f[_K_MAX_TRACE_R] = max_trace_R_h


@njit
def _trim_rows(rows, n):
    out_t, out_id, out_status, out_x, out_sigma, out_P, out_class = rows
    return (out_t[:n], out_id[:n], out_status[:n], out_x[:n], out_sigma[:n], out_P[:n],
            out_class[:n])
