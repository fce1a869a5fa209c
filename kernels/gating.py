"""Gating: which (track, plot) pairs are close enough to be associated.

Two stages, never all pairs:

1. **Spatial grid.**  The plots of one processing group are sorted into a
   dense horizontal grid of ``cell_m`` square cells over their bounding box
   (coarser when the box is large for the number of plots).  Each live track
   has a horizontal radius ``r_i`` that no in-gate plot can lie beyond; a
   track whose disc misses the box is passed over after reading its state
   vector only, otherwise only the cells its disc touches are visited.
2. **Axis test.**  Per pair, before the Mahalanobis distance: a plot whose
   east or north offset from the prediction alone exceeds its gate
   (``y_a^2 > gamma S_aa``) is out (:func:`outside_axis_gate`).  Per track
   and group, the radius of stage 1 is narrowed to the group's own time
   span (a period's radius covers the whole period).
3. **Chi-square Mahalanobis gate.**  Each candidate pair is predicted to the
   plot's own time (nearly-constant-velocity prediction of the track's
   combined state) and kept when ``d2 = y' S^-1 y <= gamma_dim``, with
   ``gamma_3`` / ``gamma_4`` the chi-square quantiles for a 3-D position or a
   4-D position + radial velocity measurement.

Why the radius bound is exact.  For any measurement vector the full
Mahalanobis distance is at least that of its position part (the marginal of a
Gaussian), which is at least that of its horizontal part:
``d2 >= y_h' S_h^-1 y_h >= |y_h|^2 / lambda_max(S_h) >= |y_h|^2 / trace(S_h)``.
The same marginal argument on one axis ``a`` gives ``d2 >= y_a^2 / S_aa``: the
axis test drops only plots the full gate drops (:data:`AXIS_MARGIN` covers the
rounding of the two computations).
So a plot farther than ``sqrt(gamma_max * trace(S_h))`` horizontally from the
predicted position is outside the gate.  ``trace(S_h) = trace(P_h(dt)) +
trace(R_h)``; the trace of the predicted horizontal covariance is convex in
``dt >= 0`` (a cubic with non-negative second- and third-order coefficients),
so its maximum over the group's time span is at one end.  The predicted position itself moves by at
most ``|v| (t_last - t_first)`` over the span.
"""
import numpy as np

from kernels._grid import sort_into_cells
from kernels._jit import njit
from kernels.filters import cv_predict, cv_predicted_covariance, innovation
from kernels.oosm import OWN_STATE, gating_source, retrodicted_radius, source_state


#: The axis test drops a plot only when ``y_a^2 > gamma S_aa (1 + AXIS_MARGIN)``: the
#: full gate's Cholesky solve rounds ``d2`` by a few units in the last place times the
#: condition number of ``S`` (below 1e9 for any covariance the tracker keeps), far below
#: this margin, so no pair the full gate keeps is dropped.
AXIS_MARGIN = 1e-6


@njit
def trace_horizontal_predicted(P, dt, q_h):
    """trace of the horizontal position block of F P F' + Q (CV model) at ``dt``."""
    return (cv_predicted_covariance(P, dt, q_h, 0.0, 0, 0)
            + cv_predicted_covariance(P, dt, q_h, 0.0, 1, 1))


@njit
def position_innovation(x, P, dt, q_h, q_v, z, R):
    """Mahalanobis distance squared and ``log det S`` of a position plot.

    ``S = (F P F' + Q)_pos + R`` for the CV model at ``dt``, its elements
    from :func:`kernels.filters.cv_predicted_covariance` without forming the
    6x6 prediction::

        S_ab = P_ab + dt (P_a,b+3 + P_a+3,b) + dt^2 P_a+3,b+3 + [a = b] q_a dt^3 / 3 + R_ab

    solved with a 3x3 Cholesky ``S = L L'``: ``d2 = |L^-1 y|^2``,
    ``log det S = 2 sum log L_aa``.
    """
    s00 = cv_predicted_covariance(P, dt, q_h, q_v, 0, 0) + R[0, 0]
    s11 = cv_predicted_covariance(P, dt, q_h, q_v, 1, 1) + R[1, 1]
    s22 = cv_predicted_covariance(P, dt, q_h, q_v, 2, 2) + R[2, 2]
    s10 = cv_predicted_covariance(P, dt, q_h, q_v, 1, 0) + R[1, 0]
    s20 = cv_predicted_covariance(P, dt, q_h, q_v, 2, 0) + R[2, 0]
    s21 = cv_predicted_covariance(P, dt, q_h, q_v, 2, 1) + R[2, 1]
    y0 = z[0] - (x[0] + dt * x[3])
    y1 = z[1] - (x[1] + dt * x[4])
    y2 = z[2] - (x[2] + dt * x[5])
    l00 = np.sqrt(s00)
    l10 = s10 / l00
    l20 = s20 / l00
    l11 = np.sqrt(s11 - l10 * l10)
    l21 = (s21 - l20 * l10) / l11
    l22 = np.sqrt(s22 - l20 * l20 - l21 * l21)
    w0 = y0 / l00
    w1 = (y1 - l10 * w0) / l11
    w2 = (y2 - l20 * w0 - l21 * w1) / l22
    return w0 * w0 + w1 * w1 + w2 * w2, 2.0 * (np.log(l00) + np.log(l11) + np.log(l22))


@njit
def horizontal_radius(x, P, t_track, t_from, t_to, q_h, gamma, max_trace_R_h):
    """Horizontal distance beyond which no plot in ``[t_from, t_to]`` can gate.

    ``sqrt(gamma * (max_dt trace P_h(dt) + max trace R_h)) + |v| (t_to - t_from)``
    with ``dt = max(t - t_track, 0)``; see the module docstring.
    """
    dt0 = max(t_from - t_track, 0.0)
    dt1 = max(t_to - t_track, 0.0)
    tr = max(trace_horizontal_predicted(P, dt0, q_h), trace_horizontal_predicted(P, dt1, q_h))
    speed = np.sqrt(x[3] * x[3] + x[4] * x[4] + x[5] * x[5])
    return np.sqrt(gamma * (tr + max_trace_R_h)) + speed * (t_to - t_from)


@njit
def gate(track_slots, x, P, t_track, z, R, rv, sigma_rv, radar_pos, t_plot,
         q_h, q_v, gamma_3, gamma_4, cell_m, r_quick, hist=None, retro=True):
    """Find every (track, plot) pair inside the chi-square gate.

    Parameters
    ----------
    track_slots : ndarray, shape (n_live,), int64
        Table slots of the live tracks to consider.
    x : ndarray, shape (capacity, 6)
        Combined track states ``[e, n, u, ve, vn, vu]`` at ``t_track``.
    P : ndarray, shape (capacity, 6, 6)
    t_track : ndarray, shape (capacity,)
    z : ndarray, shape (m, 3)
        Converted plot positions in the local ENU frame.
    R : ndarray, shape (m, 3, 3)
    rv : ndarray, shape (m,)
        Radial velocity, NaN when absent.
    sigma_rv : ndarray, shape (m,)
    radar_pos : ndarray, shape (m, 3)
        Position of the radar that made each plot.
    t_plot : ndarray, shape (m,)
    q_h, q_v : float
        CV process-noise densities used for the gating prediction.
    gamma_3, gamma_4 : float
        Chi-square gate thresholds for 3-D and 4-D measurements.
    cell_m : float
        Grid cell size in metres.
    r_quick : ndarray, shape (capacity,)
        An upper bound of each track's :func:`horizontal_radius` over a span
        holding the plots' times (``inf`` to skip the quick test): tracks
        farther than this from the plots' bounding box are passed over after
        reading only their state vector.  With ``hist``, it must also hold
        ``kernels.oosm.retrodicted_radius``.
    hist : tuple of ndarray or None
        The tracks' histories (``kernels.oosm.HIST_FIELDS``): a plot older
        than its track but not than the track's history is gated against
        the retrodicted prediction (``kernels.oosm.gating_source``).
    retro : bool
        False: every plot is gated against its track's own prediction even
        with ``hist`` (as without it).

    Returns
    -------
    pair_track, pair_plot : ndarray, shape (k,), int64
        Track slot and plot index of each in-gate pair, in track order.
    pair_d2, pair_logdet : ndarray, shape (k,)
        Mahalanobis distance squared and ``log det S`` of the pair.
    pair_dim : ndarray, shape (k,), int64
        Measurement dimension (3, or 4 with radial velocity).

    Notes
    -----
    Prediction uses ``dt = max(t_plot - t_track, 0)`` without ``hist`` (a
    plot a little older than the track is treated as current); with it, a
    plot older than the track is predicted to from the track's state at the
    last remembered plot not newer than it.
    """
    m = z.shape[0]
    n_live = track_slots.shape[0]
    cap = max(16, 2 * m)
    pair_track = np.empty(cap, np.int64)
    pair_plot = np.empty(cap, np.int64)
    pair_d2 = np.empty(cap, np.float64)
    pair_logdet = np.empty(cap, np.float64)
    pair_dim = np.empty(cap, np.int64)
    if m == 0 or n_live == 0:
        return pair_track[:0], pair_plot[:0], pair_d2[:0], pair_logdet[:0], pair_dim[:0]

    gamma = max(gamma_3, gamma_4)
    # --- the plots' bounding box, time span and largest covariance ---
    t_first = t_plot[0]
    t_last = t_plot[0]
    max_tr_R = 0.0
    box_e0 = z[0, 0]
    box_e1 = z[0, 0]
    box_n0 = z[0, 1]
    box_n1 = z[0, 1]
    for j in range(m):
        box_e0 = min(box_e0, z[j, 0])
        box_e1 = max(box_e1, z[j, 0])
        box_n0 = min(box_n0, z[j, 1])
        box_n1 = max(box_n1, z[j, 1])
        t_first = min(t_first, t_plot[j])
        t_last = max(t_last, t_plot[j])
        max_tr_R = max(max_tr_R, R[j, 0, 0] + R[j, 1, 1])
    # --- a dense grid of cells over the box (coarser if it would be huge),
    # plots sorted into it by a counting sort ---
    cell = cell_m
    while ((box_e1 - box_e0) / cell + 1.0) * ((box_n1 - box_n0) / cell + 1.0) > 4.0 * m + 4096.0:
        cell *= 2.0
    inv_cell = 1.0 / cell
    n_x = np.int64((box_e1 - box_e0) * inv_cell) + 1
    n_y = np.int64((box_n1 - box_n0) * inv_cell) + 1
    cell_of = np.empty(m, np.int64)
    for j in range(m):
        cx = min(np.int64((z[j, 0] - box_e0) * inv_cell), n_x - 1)
        cy = min(np.int64((z[j, 1] - box_n0) * inv_cell), n_y - 1)
        cell_of[j] = cy * n_x + cx
    cell_start, order = sort_into_cells(cell_of, n_x * n_y)

    xp = np.empty(6)
    Pp = np.empty((6, 6))
    k = 0
    t_mid = 0.5 * (t_first + t_last)
    for ii in range(n_live):
        i = track_slots[ii]
        # reference position: prediction to the middle of the group's span;
        # any plot-time prediction lies within speed*span/2 of it, which the
        # radius covers (conservatively, by speed*span)
        dtm = max(t_mid - t_track[i], 0.0)
        ce = x[i, 0] + x[i, 3] * dtm
        cn = x[i, 1] + x[i, 4] * dtm
        # quick test against the plots' bounding box, reading only x
        radius = r_quick[i]
        de = max(box_e0 - ce, 0.0, ce - box_e1)
        dn = max(box_n0 - cn, 0.0, cn - box_n1)
        if de * de + dn * dn > radius * radius:
            continue
        if not radius < np.inf:
            radius = horizontal_radius(x[i], P[i], t_track[i], t_first, t_last, q_h, gamma, max_tr_R)
            if hist is not None:
                if retro:
                    radius = max(radius, retrodicted_radius(i, x, t_track, t_first, t_last, q_h,
                                                            gamma, max_tr_R, hist))
            if de * de + dn * dn > radius * radius:
                continue
        x_i = x[i]
        P_i = P[i]
        t_i = t_track[i]
        # only a track newer than the group's first plot can have plots older
        # than itself: the others take the plain loop
        older = retro and hist is not None and t_first < t_i
        if not older:
            # the radius over the group's own span, not the period's (the
            # retrodicted part is 0 here): fewer plots reach the exact test
            radius = min(radius, horizontal_radius(x_i, P_i, t_i, t_first, t_last, q_h, gamma,
                                                   max_tr_R))
            # the narrower disc may miss the box: the cell window below
            # must not be walked then (it would index past the grid)
            if de * de + dn * dn > radius * radius:
                continue
        r2 = radius * radius
        ix0 = max(np.int64(np.floor((ce - radius - box_e0) * inv_cell)), 0)
        ix1 = min(np.int64(np.floor((ce + radius - box_e0) * inv_cell)), n_x - 1)
        iy0 = max(np.int64(np.floor((cn - radius - box_n0) * inv_cell)), 0)
        iy1 = min(np.int64(np.floor((cn + radius - box_n0) * inv_cell)), n_y - 1)
        for cy in range(iy0, iy1 + 1):
            row = cy * n_x
            for jj in range(cell_start[row + ix0], cell_start[row + ix1 + 1]):
                j = order[jj]
                de = z[j, 0] - ce
                dn = z[j, 1] - cn
                if de * de + dn * dn > r2:
                    continue
                # exact test at the plot's own time; a plot older than the
                # track against the retrodicted prediction (kernels.oosm)
                if older and t_plot[j] < t_i:
                    ok, d2, logdet, dim = _gate_older(i, t_plot[j], t_i, x_i, P_i, z[j], R[j],
                                                      rv[j], sigma_rv[j], radar_pos[j], q_h, q_v,
                                                      gamma_3, gamma_4, xp, Pp, hist)
                else:
                    ok, d2, logdet, dim = _gate_pair(x_i, P_i, max(t_plot[j] - t_i, 0.0), z[j],
                                                     R[j], rv[j], sigma_rv[j], radar_pos[j], q_h,
                                                     q_v, gamma_3, gamma_4, xp, Pp)
                if not ok:
                    continue
                if k == cap:
                    cap *= 2
                    pair_track = _grow_i(pair_track, cap)
                    pair_plot = _grow_i(pair_plot, cap)
                    pair_d2 = _grow_f(pair_d2, cap)
                    pair_logdet = _grow_f(pair_logdet, cap)
                    pair_dim = _grow_i(pair_dim, cap)
                pair_track[k] = i
                pair_plot[k] = j
                pair_d2[k] = d2
                pair_logdet[k] = logdet
                pair_dim[k] = dim
                k += 1
    return pair_track[:k], pair_plot[:k], pair_d2[:k], pair_logdet[:k], pair_dim[:k]


@njit(inline="always")
def outside_axis_gate(x, P, dt, q_h, q_v, z, R, gamma):
    """Whether a plot ``z`` (covariance ``R``) lies outside the gate ``d2 <= gamma`` of the
    state ``x, P`` predicted by ``dt`` on its east or north coordinate alone::

        y_a^2 > gamma S_aa (1 + AXIS_MARGIN),  a = e, n

    ``S_aa`` is the diagonal of the position block of ``S = F P F' + Q + R`` (CV model);
    ``y_a^2 / S_aa`` is the Mahalanobis distance of the one-dimensional marginal, which
    bounds the full one from below (module docstring).  Two elements of ``S`` and no
    square root: a cheap first test before :func:`position_innovation`.
    """
    g = gamma * (1.0 + AXIS_MARGIN)
    s00 = cv_predicted_covariance(P, dt, q_h, q_v, 0, 0) + R[0, 0]
    y0 = z[0] - (x[0] + dt * x[3])
    if y0 * y0 > g * s00:
        return True
    s11 = cv_predicted_covariance(P, dt, q_h, q_v, 1, 1) + R[1, 1]
    y1 = z[1] - (x[1] + dt * x[4])
    return y1 * y1 > g * s11


@njit(inline="always")
def _gate_pair(x, P, dt, z, R, rv, sigma_rv, radar_pos, q_h, q_v, gamma_3, gamma_4, xp, Pp):
    """The exact gate of one plot against the state ``x, P`` predicted by ``dt``:
    ``(inside, d2, log det S, dim)``.  The axis test first (:func:`outside_axis_gate`,
    against the threshold the position part must pass), then the position part
    (final for a 3-D plot); it bounds the 4-D distance from below, so only plots passing
    it need the full test.  ``xp, Pp`` are scratch.  A plot the axis test drops is
    returned with ``d2 = inf``."""
    if outside_axis_gate(x, P, dt, q_h, q_v, z, R, gamma_3 if np.isnan(rv) else gamma_4):
        return False, np.inf, 0.0, 3
    d2, logdet = position_innovation(x, P, dt, q_h, q_v, z, R)
    dim = 3
    if np.isnan(rv):
        return not d2 > gamma_3, d2, logdet, dim
    if d2 > gamma_4:
        return False, d2, logdet, dim
    for a in range(6):
        xp[a] = x[a]
        for c in range(6):
            Pp[a, c] = P[a, c]
    cv_predict(xp, Pp, dt, q_h, q_v)
    d2, logdet, dim = innovation(xp, Pp, z, R, rv, sigma_rv, radar_pos)
    return not d2 > (gamma_4 if dim == 4 else gamma_3), d2, logdet, dim


@njit
def _gate_older(i, t, t_i, x_i, P_i, z, R, rv, sigma_rv, radar_pos, q_h, q_v, gamma_3, gamma_4,
                xp, Pp, hist):
    """:func:`_gate_pair` of a plot at ``t`` older than track ``i`` (state ``x_i, P_i`` at
    ``t_i``): against its retrodicted prediction where the history holds ``t``
    (``kernels.oosm.gating_source``), else its own with ``dt = 0``.  Out of line: the
    gate's plain loop stays as small as without a history."""
    if hist is not None:
        source = gating_source(i, t, t_i, hist)
        if source != OWN_STATE:
            x_s, P_s, t_s = source_state(i, source, hist)
            return _gate_pair(x_s, P_s, t - t_s, z, R, rv, sigma_rv, radar_pos, q_h, q_v,
                              gamma_3, gamma_4, xp, Pp)
    return _gate_pair(x_i, P_i, max(t - t_i, 0.0), z, R, rv, sigma_rv, radar_pos, q_h, q_v,
                      gamma_3, gamma_4, xp, Pp)


@njit
def _grow_i(a, cap):
    out = np.empty(cap, np.int64)
    out[:a.shape[0]] = a
    return out


@njit
def _grow_f(a, cap):
    out = np.empty(cap, np.float64)
    out[:a.shape[0]] = a
    return out


# ---------------------------------------------------------------------------
# A grid of the live tracks, kept over an output period: which tracks can
# gate a group's plots, without a pass over every live track per group
# ---------------------------------------------------------------------------
#
# Over an output period [t0, t1] a track's quick radius r_quick covers every
# plot it can gate in that period (see gate: the plots lie within r_quick of
# its position predicted to the group's middle time).  That position lies
# within |v| (t1 - t0) / 2 of its position c predicted to the period's middle
# t_c, so every plot it can gate lies within rho = r_quick + |v| (t1 - t0) / 2
# of c.  The grid files each track under the cell (of side G) that holds c,
# when rho <= G, and in an overflow list otherwise (new tracks with a wide
# gate, any radius that is not finite).  A group's candidates are the tracks
# of the cells within G of the plots' bounding box and the overflow list:
# every track that passes gate's quick test is among them.  They are returned
# in the order of the live list, so gate's pairs come in the same order as
# from a pass over every live track.
#
# Cells are hashed into buckets (chains of slots: ``head``, ``next_slot``,
# ``prev_slot``); a slot's cell is kept, so a bucket shared by two cells
# gives each only its own tracks.  The tracker builds the grid when a period
# starts or the live list is collected again, and moves a track when its
# state changes (update, initiation).

#: Index of the geometry entries of a track grid: cell side G, the period's
#: middle time t_c, half its length, its ends, and the bounding box of the
#: filed cells (in cells: x0, x1, y0, y1).
_G_CELL, _G_T_CENTRE, _G_HALF_SPAN, _G_T0, _G_T1 = 0, 1, 2, 3, 4
_G_X0, _G_X1, _G_Y0, _G_Y1 = 5, 6, 7, 8

#: A group's window of cells covering more than this share of the filed
#: cells' bounding box gets every live track: walking the cells would cost
#: more than the plain pass (one picture watched by every radar).
GRID_WINDOW_SHARE = 0.25


@njit
def track_grid_new(capacity):
    """An empty track grid for a table of ``capacity`` slots.

    Returns
    -------
    grid : tuple
        ``(head, next_slot, prev_slot, bucket, cell_x, cell_y, live_pos,
        geometry)``; pass it whole to the other ``track_grid_*`` functions.
    """
    n_buckets = 16
    while n_buckets < 2 * capacity:
        n_buckets *= 2
    head = np.full(n_buckets + 1, -1, np.int64)        # the last one: overflow
    return (head, np.full(capacity, -1, np.int64), np.full(capacity, -1, np.int64),
            np.full(capacity, -1, np.int64), np.zeros(capacity, np.int64),
            np.zeros(capacity, np.int64), np.full(capacity, -1, np.int64), np.zeros(9))


@njit
def _bucket_of_cell(cx, cy, n_buckets):
    return ((cx * 73856093) ^ (cy * 19349663)) & (n_buckets - 1)


@njit
def track_grid_insert(grid, i, live_position, x, t_track, r_quick):
    """File slot ``i`` (at ``live[live_position]``) under its cell, or re-file it."""
    head, next_slot, prev_slot, bucket, cell_x, cell_y, live_pos, geometry = grid
    if bucket[i] >= 0:
        # unlink from its current chain
        if prev_slot[i] >= 0:
            next_slot[prev_slot[i]] = next_slot[i]
        else:
            head[bucket[i]] = next_slot[i]
        if next_slot[i] >= 0:
            prev_slot[next_slot[i]] = prev_slot[i]
    G = geometry[_G_CELL]
    dt = max(geometry[_G_T_CENTRE] - t_track, 0.0)
    ce = x[0] + x[3] * dt
    cn = x[1] + x[4] * dt
    speed = np.sqrt(x[3] * x[3] + x[4] * x[4] + x[5] * x[5])
    rho = r_quick + speed * geometry[_G_HALF_SPAN]
    n_buckets = head.shape[0] - 1
    b = n_buckets
    # `rho <= G` is False for NaN too: such a track is always a candidate
    if rho <= G and abs(ce) < 1e12 and abs(cn) < 1e12:
        cell_x[i] = np.int64(np.floor(ce / G))
        cell_y[i] = np.int64(np.floor(cn / G))
        b = _bucket_of_cell(cell_x[i], cell_y[i], n_buckets)
        geometry[_G_X0] = min(geometry[_G_X0], cell_x[i])
        geometry[_G_X1] = max(geometry[_G_X1], cell_x[i])
        geometry[_G_Y0] = min(geometry[_G_Y0], cell_y[i])
        geometry[_G_Y1] = max(geometry[_G_Y1], cell_y[i])
    bucket[i] = b
    prev_slot[i] = -1
    next_slot[i] = head[b]
    if head[b] >= 0:
        prev_slot[head[b]] = i
    head[b] = i
    live_pos[i] = live_position


@njit
def track_grid_build(grid, live, n_live, x, t_track, r_quick, t0, t1, cell_m):
    """File the live tracks ``live[:n_live]`` for the period ``[t0, t1]``.

    ``r_quick`` must hold each live track's quick radius over the period
    (as gate takes it); ``cell_m`` is the side G of a cell (m).
    """
    head, next_slot, prev_slot, bucket, cell_x, cell_y, live_pos, geometry = grid
    head[:] = -1
    bucket[:] = -1
    geometry[_G_CELL] = cell_m
    geometry[_G_T_CENTRE] = 0.5 * (t0 + t1)
    geometry[_G_HALF_SPAN] = 0.5 * (t1 - t0)
    geometry[_G_T0] = t0
    geometry[_G_T1] = t1
    geometry[_G_X0] = np.inf
    geometry[_G_X1] = -np.inf
    geometry[_G_Y0] = np.inf
    geometry[_G_Y1] = -np.inf
    for ii in range(n_live):
        i = live[ii]
        track_grid_insert(grid, i, ii, x[i], t_track[i], r_quick[i])


@njit
def track_grid_candidates(grid, live, n_live, z, t_plot):
    """The live slots that may gate plots ``z`` (times ``t_plot``), in live-list order.

    Every track that passes gate's quick test for these plots is among them
    (see above); when the plots' times leave the grid's period, or the window
    of cells is larger than the live list, all of ``live[:n_live]``.
    """
    head, next_slot, prev_slot, bucket, cell_x, cell_y, live_pos, geometry = grid
    m = z.shape[0]
    if m == 0 or n_live == 0:
        return live[:0]
    G = geometry[_G_CELL]
    box_e0 = z[0, 0]
    box_e1 = z[0, 0]
    box_n0 = z[0, 1]
    box_n1 = z[0, 1]
    inside = True
    for j in range(m):
        box_e0 = min(box_e0, z[j, 0])
        box_e1 = max(box_e1, z[j, 0])
        box_n0 = min(box_n0, z[j, 1])
        box_n1 = max(box_n1, z[j, 1])
        if not (geometry[_G_T0] <= t_plot[j] <= geometry[_G_T1]):
            inside = False
    if not inside or not (G > 0.0):
        return live[:n_live]
    cx0 = np.int64(np.floor((box_e0 - G) / G))
    cx1 = np.int64(np.floor((box_e1 + G) / G))
    cy0 = np.int64(np.floor((box_n0 - G) / G))
    cy1 = np.int64(np.floor((box_n1 + G) / G))
    # only the window's part inside the filed cells' box can hold tracks
    if geometry[_G_X0] <= geometry[_G_X1]:
        cx0 = max(cx0, np.int64(geometry[_G_X0]))
        cx1 = min(cx1, np.int64(geometry[_G_X1]))
        cy0 = max(cy0, np.int64(geometry[_G_Y0]))
        cy1 = min(cy1, np.int64(geometry[_G_Y1]))
        filed = (geometry[_G_X1] - geometry[_G_X0] + 1.0) * (geometry[_G_Y1] - geometry[_G_Y0] + 1.0)
        window = max(cx1 - cx0 + 1, 0) * max(cy1 - cy0 + 1, 0)
        if window > GRID_WINDOW_SHARE * filed:
            return live[:n_live]
    else:
        cx1 = cx0 - 1                   # no filed cell: the overflow list only
    n_buckets = head.shape[0] - 1
    # the candidates' live positions as bits, read back in increasing order
    bits = np.zeros((n_live + 63) >> 6, np.uint64)
    n = 0
    for cx in range(cx0, cx1 + 1):
        for cy in range(cy0, cy1 + 1):
            i = head[_bucket_of_cell(cx, cy, n_buckets)]
            while i >= 0:
                if cell_x[i] == cx and cell_y[i] == cy:
                    bits[live_pos[i] >> 6] |= np.uint64(1) << np.uint64(live_pos[i] & 63)
                    n += 1
                i = next_slot[i]
    i = head[n_buckets]
    while i >= 0:
        bits[live_pos[i] >> 6] |= np.uint64(1) << np.uint64(live_pos[i] & 63)
        n += 1
        i = next_slot[i]
    out = np.empty(n, np.int64)
    q = 0
    for w in range(bits.shape[0]):
        word = bits[w]
        if word == 0:
            continue
        for byte in range(8):
            part = (word >> np.uint64(8 * byte)) & np.uint64(255)
            if part == 0:
                continue
            for b in range(8):
                if (part >> np.uint64(b)) & np.uint64(1):
                    out[q] = live[(w << 6) + 8 * byte + b]
                    q += 1
    return out


@njit
def track_grid_move(grid, i, x, t_track, r_quick):
    """Re-file slot ``i`` after its state or quick radius changed (its live position kept)."""
    track_grid_insert(grid, i, grid[6][i], x, t_track, r_quick)
