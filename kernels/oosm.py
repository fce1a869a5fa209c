"""Out-of-sequence measurements (OOSM): exact fusion of a plot older than its track; the track filter.

Plots of one radar arrive in time order, but plots of different radars
interleave out of order by up to the slowest link's delay.  A plot older
than its track's state time ``t_state`` cannot simply be predicted to
(``dt < 0``); instead each track keeps a short **history**: the filter state
before its oldest remembered plot (the *base*, at ``t_base``) and its last
``H`` plots (time, converted position and covariance, radial velocity, the
radar's ``sigma_rv`` and position), in time order.

The history is a ring buffer: its ``k``-th plot (``k = 0`` the oldest) sits
in slot ``(h_head + k) mod H`` (:func:`slot`), so appending a plot and
folding the oldest one move no stored plot or state; only a plot inserted
before newer ones shifts those (out-of-sequence plots, the rare case).

In-order plot (``t >= t_state``)
    Predict to ``t`` and update (:func:`filter_step`), then the plot is
    appended to the history with the states after it.  When the history is full, its oldest
    plot is first folded into the base: the base becomes the states kept after that plot,
    which are what predicting the base to that plot's time and updating it with the plot
    gives, bit for bit (:func:`_fold_oldest`).

Out-of-sequence plot (``t_base <= t < t_state``)
    The plot is inserted into the history in time order (after plots of the
    same time) and the track is **re-filtered** from the base through every
    plot of the history.  The result is exactly the state the track's filter
    would have reached had it received the same plots in time order
    (re-filtering, the exact form of the OOSM update; Bar-Shalom's one-step
    retrodiction is exact only for a linear filter with one lagged plot).

Plot older than the history (``t < t_base``)
    Fused as before the history existed: predicted with ``dt = 0`` and
    updated (an approximation); the history then restarts from the new state
    (an empty history whose base is the current state), so later
    re-filtering never forgets that plot.

Gating (:func:`gating_source`, :func:`retrodicted_radius`)
    Beside each plot of the history the track keeps its combined
    (moment-matched) state after that plot, and the combined base state.  A
    plot with ``t_base <= t < t_state`` is gated against the *retrodicted
    prediction*: the state after the last remembered plot not newer than
    ``t`` (or the base) predicted to ``t``, the prediction an in-order
    filter would have gated it with.  (Gating against the newer state with
    ``dt`` clamped to 0 misplaces the plot by its track's speed times its
    delay: 15 m for a 30 m/s drone seen 0.5 s late.)

The history arrays are the tuple ``hist`` (see :func:`history_arrays`); a
track's history starts at its initiation (:func:`history_start`).  The
track table owns the arrays (``radarcore.core.tracks.TrackTable``).

Two filters (:func:`filter_step`)
    A track is filtered by the IMM's constant-velocity model alone
    (:func:`cv_step`: one predict and one update on the combined state ``x,
    P``; the per-model state is not kept) until it is confirmed, and by the
    IMM after: most tentative tracks in clutter never see a second plot, and
    the few that do need no turn models to be confirmed or dropped.  Which
    filter takes a plot is decided by its time alone, so the in-order path
    and every re-filter of the history agree: ``t_imm`` (per track, in the
    history arrays) is the time of the track's newest plot when it was
    confirmed (``+inf`` while tentative, ``-inf`` for a track on the IMM from
    its first plot); a plot not newer than ``t_imm`` goes through the CV
    filter, a newer one through the IMM, whose per-model states start, at
    the first such plot, as copies of the CV state with equal model
    probabilities (:func:`imm_from_cv`).  A state (the track's, the base)
    at a time not newer than ``t_imm`` is a CV state: only its combined
    ``x, P`` hold anything.

Every IMM path goes through one out-of-line :func:`imm_step` (and every CV
path through one :func:`cv_step`): the IMM is the largest code of the
tracker, and Numba gives every compiled caller its own copy to optimise
(see ``benchmarks/compile_time.py``).
"""
import math

import numpy as np

from kernels._jit import njit
from kernels.filters import (ct_predict, cv_predicted_covariance, imm_combine, imm_predict, imm_update,
                             kf_update)

# what update_track did
IN_ORDER = 0
RETRODICTED = 1
OUTSIDE_HISTORY = 2

# gating_source: the track's own state
OWN_STATE = -2
BASE_STATE = -1

HIST_FIELDS = ("h_n", "h_head", "h_t", "h_z", "h_R", "h_rv", "h_srv", "h_pos", "h_x", "h_P", "b_xm", "b_Pm",
               "b_log_mu", "b_t", "b_x", "b_P", "t_imm", "h_xm", "h_Pm", "h_log_mu", "h_kept")


def history_arrays(capacity, n_models, history_plots):
    """Zeroed history arrays for ``capacity`` tracks, in :data:`HIST_FIELDS` order.

    ``h_n (c,)`` plots held, ``h_head (c,)`` the slot of the oldest (a ring
    buffer, see :func:`slot`); ``h_t (c, H)``, ``h_z (c, H, 3)``, ``h_R (c, H,
    3, 3)``, ``h_rv (c, H)``, ``h_srv (c, H)``, ``h_pos (c, H, 3)`` the plots;
    ``h_x (c, H, 6)``, ``h_P (c, H, 6, 6)`` the combined state after each;
    ``b_xm (c, M, 6)``, ``b_Pm (c, M, 6, 6)``, ``b_log_mu (c, M)``, ``b_t
    (c,)`` the base state, ``b_x (c, 6)``, ``b_P (c, 6, 6)`` combined;
    ``t_imm (c,)`` the time after which the track is on the IMM (see
    :func:`filter_step`), ``-inf`` here: on the IMM from its first plot;
    ``h_xm (c, H, M, 6)``, ``h_Pm (c, H, M, 6, 6)``, ``h_log_mu (c, H, M)`` the
    per-model state after each plot on the IMM and ``h_kept (c, H)`` whether the
    states after a plot were kept (:func:`_fold_oldest` then copies them).
    """
    c, M, H = int(capacity), int(n_models), int(history_plots)
    if H < 1:
        raise ValueError(f"history_plots must be at least 1, got {history_plots!r}")
    return {"h_n": np.zeros(c, np.int64), "h_head": np.zeros(c, np.int64), "h_t": np.zeros((c, H)), "h_z": np.zeros((c, H, 3)),
            "h_R": np.zeros((c, H, 3, 3)), "h_rv": np.zeros((c, H)), "h_srv": np.zeros((c, H)),
            "h_pos": np.zeros((c, H, 3)), "h_x": np.zeros((c, H, 6)), "h_P": np.zeros((c, H, 6, 6)),
            "b_xm": np.zeros((c, M, 6)), "b_Pm": np.zeros((c, M, 6, 6)),
            "b_log_mu": np.zeros((c, M)), "b_t": np.zeros(c), "b_x": np.zeros((c, 6)),
            "b_P": np.zeros((c, 6, 6)), "t_imm": np.full(c, -np.inf),
            "h_xm": np.zeros((c, H, M, 6)), "h_Pm": np.zeros((c, H, M, 6, 6)),
            "h_log_mu": np.zeros((c, H, M)), "h_kept": np.zeros((c, H), np.bool_)}


@njit(inline="always")
def slot(i, k, hist):
    """The slot of track ``i``'s ``k``-th remembered plot (``0 <= k < H``; 0 the oldest):
    ``(h_head[i] + k) mod H``."""
    h_head, h_t = hist[1], hist[2]
    s = h_head[i] + k
    H = h_t.shape[1]
    if s >= H:
        s -= H
    return s


def history_slots(h_n, h_head, i, history_plots):
    """Track ``i``'s slots in time order, oldest first (plain Python, for tests and tools)."""
    return (int(h_head[i]) + np.arange(int(h_n[i]))) % int(history_plots)


@njit
def imm_step(xm, Pm, log_mu, dt, z, R, rv, sigma_rv, radar_pos, omega, q_h, q_v, log_Pi, x, P):
    """One track's IMM state ``(M, 6), (M, 6, 6), (M,)`` predicted by ``dt`` and updated with a plot.

    :func:`kernels.filters.imm_predict` then :func:`kernels.filters.imm_update`,
    in place, and the combined state into ``x (6,)``, ``P (6, 6)``
    (:func:`kernels.filters.imm_combine`).  Every path of this module goes
    through here, and this is compiled out of line (not ``inline="always"``
    like the workers it calls): the IMM is the largest code of the
    tracker, and each copy inlined into a caller is optimised again by LLVM
    in every compiled function above it.
    """
    imm_predict(xm, Pm, log_mu, dt, omega, q_h, q_v, log_Pi)
    imm_update(xm, Pm, log_mu, z, R, rv, sigma_rv, radar_pos)
    imm_combine(xm, Pm, log_mu, x, P)


@njit
def cv_step(x, P, dt, z, R, rv, sigma_rv, radar_pos, omega, q_h, q_v):
    """One track's CV state ``x (6,)``, ``P (6, 6)`` predicted by ``dt`` and updated with a plot.

    The IMM's model 0 alone (its constant-velocity model, ``omega[0] = 0``:
    :func:`kernels.filters.ct_predict` with ``q_h[0]`` and the IMM's vertical
    channel ``q_v``), then :func:`kernels.filters.kf_update`, in place.
    Out of line, like :func:`imm_step`.
    """
    ct_predict(x, P, dt, omega[0], q_h[0], q_v)
    kf_update(x, P, z, R, rv, sigma_rv, radar_pos)


@njit(inline="always")
def imm_from_cv(x, P, xm, Pm, log_mu):
    """IMM state ``(M, 6), (M, 6, 6), (M,)`` from one state ``x (6,)``, ``P (6, 6)``: every
    model a copy, equal model probabilities ``log_mu = -log M``."""
    M = xm.shape[0]
    log_uniform = -np.log(M)
    for m in range(M):
        log_mu[m] = log_uniform
        _copy_state(x, P, xm[m], Pm[m])


@njit(inline="always")
def filter_step(xm, Pm, log_mu, x, P, t_from, t, t_imm, z, R, rv, sigma_rv, radar_pos, omega, q_h,
                q_v, log_Pi):
    """One track's state at ``t_from`` predicted to ``t`` and updated with a plot, by the
    filter its time picks (the module docstring): :func:`cv_step` on ``x, P`` when ``t <=
    t_imm``; else :func:`imm_step` (combined into ``x, P``), the IMM state first made from
    ``x, P`` when ``t_from <= t_imm`` (a CV state)."""
    if t <= t_imm:
        cv_step(x, P, t - t_from, z, R, rv, sigma_rv, radar_pos, omega, q_h, q_v)
        return
    if t_from <= t_imm:
        imm_from_cv(x, P, xm, Pm, log_mu)
    imm_step(xm, Pm, log_mu, t - t_from, z, R, rv, sigma_rv, radar_pos, omega, q_h, q_v, log_Pi,
             x, P)


@njit
def history_start(i, t, xm, Pm, log_mu, x, P, hist):
    """Track ``i``'s history restarts: base = its current state at ``t`` (combined: ``x[i]``,
    ``P[i]``; the IMM state too unless the track is on the CV filter at ``t``), no plots."""
    (h_n, h_head, h_t, h_z, h_R, h_rv, h_srv, h_pos, h_x, h_P, b_xm, b_Pm, b_log_mu, b_t, b_x, b_P, t_imm,
     h_xm, h_Pm, h_log_mu, h_kept) = hist
    h_n[i] = 0
    h_head[i] = 0
    b_t[i] = t
    if t > t_imm[i]:
        _copy_imm(xm[i], Pm[i], log_mu[i], b_xm[i], b_Pm[i], b_log_mu[i])
    _copy_state(x[i], P[i], b_x[i], b_P[i])


@njit(inline="always")
def _copy_imm(xm, Pm, log_mu, xm_out, Pm_out, log_mu_out):
    """One track's per-model IMM state ``(M, 6), (M, 6, 6), (M,)`` into another's."""
    for m in range(xm.shape[0]):
        log_mu_out[m] = log_mu[m]
        _copy_state(xm[m], Pm[m], xm_out[m], Pm_out[m])


@njit(inline="always")
def _copy_state(x, P, x_out, P_out):
    """A state ``(6,), (6, 6)`` into another."""
    for a in range(6):
        x_out[a] = x[a]
        for c in range(6):
            P_out[a, c] = P[a, c]


@njit(inline="always")
def _fold_oldest(i, hist, omega, q_h, q_v, log_Pi):
    """Advance track ``i``'s base through its oldest history plot and forget that plot
    (the ring's head moves on; nothing is shifted).

    Where the states after that plot were kept (``h_kept``: the in-order update and
    every re-filter keep them), the base becomes a copy of them: they are the
    :func:`filter_step` of the same state (the base is the state after the plot before)
    with the same plot and ``t_imm``, so the copy is that step's result bit for bit,
    without its predict and update (an IMM step per in-order plot of a track with a
    full history).  Else the step is run."""
    (h_n, h_head, h_t, h_z, h_R, h_rv, h_srv, h_pos, h_x, h_P, b_xm, b_Pm, b_log_mu, b_t, b_x, b_P, t_imm,
     h_xm, h_Pm, h_log_mu, h_kept) = hist
    o = h_head[i]
    if h_kept[i, o]:
        if h_t[i, o] > t_imm[i]:
            _copy_imm(h_xm[i, o], h_Pm[i, o], h_log_mu[i, o], b_xm[i], b_Pm[i], b_log_mu[i])
        _copy_state(h_x[i, o], h_P[i, o], b_x[i], b_P[i])
    else:
        filter_step(b_xm[i], b_Pm[i], b_log_mu[i], b_x[i], b_P[i], b_t[i], h_t[i, o], t_imm[i],
                    h_z[i, o], h_R[i, o], h_rv[i, o], h_srv[i, o], h_pos[i, o], omega, q_h, q_v,
                    log_Pi)
    b_t[i] = h_t[i, o]
    h_head[i] = slot(i, 1, hist)
    h_n[i] -= 1


@njit(inline="always")
def _copy_entry(hist, i, src, dst):
    """Track ``i``'s history slot ``src`` into slot ``dst``."""
    (h_n, h_head, h_t, h_z, h_R, h_rv, h_srv, h_pos, h_x, h_P, b_xm, b_Pm, b_log_mu, b_t, b_x, b_P, t_imm,
     h_xm, h_Pm, h_log_mu, h_kept) = hist
    h_t[i, dst] = h_t[i, src]
    h_rv[i, dst] = h_rv[i, src]
    h_srv[i, dst] = h_srv[i, src]
    for a in range(3):
        h_z[i, dst, a] = h_z[i, src, a]
        h_pos[i, dst, a] = h_pos[i, src, a]
        for c in range(3):
            h_R[i, dst, a, c] = h_R[i, src, a, c]
    _copy_state(h_x[i, src], h_P[i, src], h_x[i, dst], h_P[i, dst])
    h_kept[i, dst] = h_kept[i, src]
    if h_kept[i, src] and h_t[i, src] > t_imm[i]:
        _copy_imm(h_xm[i, src], h_Pm[i, src], h_log_mu[i, src], h_xm[i, dst], h_Pm[i, dst],
                  h_log_mu[i, dst])


@njit(inline="always")
def _insert(i, t, z, R, rv, sigma_rv, radar_pos, hist, omega, q_h, q_v, log_Pi):
    """Insert a plot into track ``i``'s history in time order (after equal times).

    Folds the oldest plot first when the history is full.  Returns the
    slot it went to, or -1 (nothing inserted) when ``t`` is older than the
    base.  The newer plots it goes before move up one place each.
    """
    (h_n, h_head, h_t, h_z, h_R, h_rv, h_srv, h_pos, h_x, h_P, b_xm, b_Pm, b_log_mu, b_t, b_x, b_P, t_imm,
     h_xm, h_Pm, h_log_mu, h_kept) = hist
    if h_n[i] == h_t.shape[1]:
        _fold_oldest(i, hist, omega, q_h, q_v, log_Pi)
    if t < b_t[i]:
        return -1
    n = h_n[i]
    k = n
    s = slot(i, k, hist)
    while k > 0:
        s_prev = slot(i, k - 1, hist)
        if not h_t[i, s_prev] > t:
            break
        _copy_entry(hist, i, s_prev, s)
        k -= 1
        s = s_prev
    h_t[i, s] = t
    h_rv[i, s] = rv
    h_srv[i, s] = sigma_rv
    for a in range(3):
        h_z[i, s, a] = z[a]
        h_pos[i, s, a] = radar_pos[a]
        for c in range(3):
            h_R[i, s, a, c] = R[a, c]
    h_n[i] = n + 1
    return s


@njit(inline="always")
def _keep_states(i, s, xm, Pm, log_mu, x, P, hist):
    """Track ``i``'s states after the plot in history slot ``s`` into that slot: the
    combined one (read by the gating of older plots) and, for a plot on the IMM, the
    per-model one (:func:`_fold_oldest` copies both into the base)."""
    (h_n, h_head, h_t, h_z, h_R, h_rv, h_srv, h_pos, h_x, h_P, b_xm, b_Pm, b_log_mu, b_t, b_x, b_P, t_imm,
     h_xm, h_Pm, h_log_mu, h_kept) = hist
    _copy_state(x[i], P[i], h_x[i, s], h_P[i, s])
    if h_t[i, s] > t_imm[i]:
        _copy_imm(xm[i], Pm[i], log_mu[i], h_xm[i, s], h_Pm[i, s], h_log_mu[i, s])
    h_kept[i, s] = True


@njit(inline="always")
def _refilter(i, xm, Pm, log_mu, x, P, hist, omega, q_h, q_v, log_Pi):
    """Track ``i``'s state from its base through every plot of its history, each by the filter
    its time picks (:func:`filter_step`; the combined state after each plot into the
    history, the last one left in ``x[i]``, ``P[i]``)."""
    (h_n, h_head, h_t, h_z, h_R, h_rv, h_srv, h_pos, h_x, h_P, b_xm, b_Pm, b_log_mu, b_t, b_x, b_P, t_imm,
     h_xm, h_Pm, h_log_mu, h_kept) = hist
    t = b_t[i]
    if t > t_imm[i]:
        _copy_imm(b_xm[i], b_Pm[i], b_log_mu[i], xm[i], Pm[i], log_mu[i])
    _copy_state(b_x[i], b_P[i], x[i], P[i])
    for k in range(h_n[i]):
        s = slot(i, k, hist)
        filter_step(xm[i], Pm[i], log_mu[i], x[i], P[i], t, h_t[i, s], t_imm[i], h_z[i, s],
                    h_R[i, s], h_rv[i, s], h_srv[i, s], h_pos[i, s], omega, q_h, q_v, log_Pi)
        _keep_states(i, s, xm, Pm, log_mu, x, P, hist)
        t = h_t[i, s]


@njit
def update_track(i, t, t_state_i, z, R, rv, sigma_rv, radar_pos, xm, Pm, log_mu, x, P, hist,
                 omega, q_h, q_v, log_Pi, keep_states=True):
    """Update track ``i``'s state with one plot at time ``t``.

    ``t_state_i`` is the time of the track's state.  The per-model state
    ``xm, Pm, log_mu`` (on the IMM) and the combined one ``x, P`` are updated
    in place, by the filter the plot's time picks (:func:`filter_step`);
    the state time stays ``max(t_state_i, t)`` (the caller's).  Returns
    :data:`IN_ORDER`, :data:`RETRODICTED` (re-filtered exactly) or
    :data:`OUTSIDE_HISTORY` (fused with ``dt = 0``; the history restarts).
    See the module docstring.  ``keep_states=False`` leaves out the copy of an
    in-order plot's states into the history, which the gating of older plots
    reads (:func:`gating_source`) and the fold copies (:func:`_fold_oldest`
    then runs the filter step again).
    """
    (h_n, h_head, h_t, h_z, h_R, h_rv, h_srv, h_pos, h_x, h_P, b_xm, b_Pm, b_log_mu, b_t, b_x, b_P, t_imm,
     h_xm, h_Pm, h_log_mu, h_kept) = hist
    if t >= t_state_i:
        filter_step(xm[i], Pm[i], log_mu[i], x[i], P[i], t_state_i, t, t_imm[i], z, R, rv, sigma_rv,
                    radar_pos, omega, q_h, q_v, log_Pi)
        s = _insert(i, t, z, R, rv, sigma_rv, radar_pos, hist, omega, q_h, q_v, log_Pi)
        if keep_states:
            _keep_states(i, s, xm, Pm, log_mu, x, P, hist)
        else:
            h_kept[i, s] = False
        return IN_ORDER
    if _insert(i, t, z, R, rv, sigma_rv, radar_pos, hist, omega, q_h, q_v, log_Pi) >= 0:
        _refilter(i, xm, Pm, log_mu, x, P, hist, omega, q_h, q_v, log_Pi)
        return RETRODICTED
    # dt = 0 by the filter of the track's state (its time picks it, not the plot's)
    filter_step(xm[i], Pm[i], log_mu[i], x[i], P[i], t_state_i, t_state_i, t_imm[i], z, R, rv,
                sigma_rv, radar_pos, omega, q_h, q_v, log_Pi)
    history_start(i, t_state_i, xm, Pm, log_mu, x, P, hist)
    return OUTSIDE_HISTORY


@njit(inline="always")
def gating_source(i, t, t_track_i, hist):
    """Which state of track ``i`` gates a plot at time ``t``: :data:`OWN_STATE` (the
    plot is not older than the track, or older than its history), :data:`BASE_STATE`,
    or the slot (:func:`slot`) of the state after the last remembered plot not newer
    than ``t``.  See :func:`source_state`."""
    (h_n, h_head, h_t, h_z, h_R, h_rv, h_srv, h_pos, h_x, h_P, b_xm, b_Pm, b_log_mu, b_t, b_x, b_P, t_imm,
     h_xm, h_Pm, h_log_mu, h_kept) = hist
    if t >= t_track_i or t < b_t[i]:
        return OWN_STATE
    k = h_n[i] - 1
    while k >= 0:
        s = slot(i, k, hist)
        if not h_t[i, s] > t:
            return s
        k -= 1
    return BASE_STATE


@njit(inline="always")
def source_state(i, k, hist):
    """``(x (6,), P (6, 6), t)`` of track ``i``'s source ``k``: :data:`BASE_STATE` or a
    history slot (:func:`gating_source`)."""
    (h_n, h_head, h_t, h_z, h_R, h_rv, h_srv, h_pos, h_x, h_P, b_xm, b_Pm, b_log_mu, b_t, b_x, b_P, t_imm,
     h_xm, h_Pm, h_log_mu, h_kept) = hist
    if k == BASE_STATE:
        return b_x[i], b_P[i], b_t[i]
    return h_x[i, k], h_P[i, k], h_t[i, k]


@njit
def retrodicted_radius(i, x, t_track, t_from, t_to, q_h, gamma, max_trace_R_h, hist):
    """A horizontal radius about the gate's reference point that holds every plot in
    the gate of a retrodicted prediction of track ``i`` (0 when none can be used).

    The gate (``kernels.gating.gate``) refers a track to its own position
    predicted to a time ``t_m`` in ``[t_from, t_to]`` (``dt`` clamped at 0):
    ``c(t_m) = p + v max(t_m - t_track, 0)``.  A plot at ``t`` in
    ``[t_from, t_to]`` older than the track is gated against a source state
    ``s`` (``x_s, P_s`` at ``t_s``, valid for plot times ``[a_s, b_s]``)
    predicted to ``t``: ``c_s(t) = p_s + v_s (t - t_s)``.  In its gate,
    ``|z_h - c_s(t)| <= sqrt(gamma (trace P_s,h(t - t_s) + max trace R_h))``
    (the bound of ``kernels.gating``; the trace is convex in ``t``, so
    largest at an end of ``[a_s, b_s]``), and ``|c_s(t) - c(t_m)|`` is
    convex on each linear piece of ``(t, t_m)``, so largest at a corner:
    ``t`` in ``{a_s, b_s}``, ``t_m`` in ``{t_from, t_to, t_track}``.  The
    radius is the largest sum over the sources used in the span.
    """
    (h_n, h_head, h_t, h_z, h_R, h_rv, h_srv, h_pos, h_x, h_P, b_xm, b_Pm, b_log_mu, b_t, b_x, b_P, t_imm,
     h_xm, h_Pm, h_log_mu, h_kept) = hist
    t_hi = min(t_to, t_track[i])
    t_lo = max(t_from, b_t[i])
    radius = 0.0
    if t_lo >= t_hi:
        return radius
    t_m0 = t_from
    t_m1 = t_to
    t_m2 = min(max(t_track[i], t_from), t_to)
    n = h_n[i]
    for k in range(BASE_STATE, n):
        s = BASE_STATE if k == BASE_STATE else slot(i, k, hist)
        a = b_t[i] if k == BASE_STATE else h_t[i, s]
        b = h_t[i, slot(i, k + 1, hist)] if k + 1 < n else t_track[i]
        a = max(a, t_lo)
        b = min(b, t_hi)
        if a > b:
            continue
        x_s, P_s, t_s = source_state(i, s, hist)
        trace = 0.0
        offset2 = 0.0
        for t in (a, b):
            dt = t - t_s
            trace = max(trace, cv_predicted_covariance(P_s, dt, q_h, 0.0, 0, 0)
                        + cv_predicted_covariance(P_s, dt, q_h, 0.0, 1, 1))
            for t_m in (t_m0, t_m1, t_m2):
                dtm = max(t_m - t_track[i], 0.0)
                de = x_s[0] + x_s[3] * dt - (x[i, 0] + x[i, 3] * dtm)
                dn = x_s[1] + x_s[4] * dt - (x[i, 1] + x[i, 4] * dtm)
                offset2 = max(offset2, de * de + dn * dn)
        # one square root of the largest square: sqrt is correctly rounded, so monotone,
        # and this is the largest of the six roots bit for bit
        radius = max(radius, math.sqrt(gamma * (trace + max_trace_R_h)) + math.sqrt(offset2))
    return radius
