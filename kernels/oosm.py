"""Out-of-sequence measurements (OOSM): exact fusion of a plot older than its track.

Plots of one radar arrive in time order, but plots of different radars
interleave out of order by up to the slowest link's delay.  A plot older
than its track's state time ``t_state`` cannot simply be predicted to
(``dt < 0``); instead each track keeps a short **history**: the IMM state
before its oldest remembered plot (the *base*, at ``t_base``) and its last
``H`` plots (time, converted position and covariance, radial velocity, the
radar's ``sigma_rv`` and position), in time order.

In-order plot (``t >= t_state``)
    IMM predict to ``t`` and update (:func:`kernels.filters.imm_predict`,
    :func:`kernels.filters.imm_update`), then the plot is appended to the
    history.  When the history is full, its oldest plot is first folded into
    the base (the base is predicted to that plot's time and updated with it).

Out-of-sequence plot (``t_base <= t < t_state``)
    The plot is inserted into the history in time order (after plots of the
    same time) and the track is **re-filtered** from the base through every
    plot of the history.  The result is exactly the state an IMM filter
    would have reached had it received the same plots in time order
    (re-filtering, the exact form of the OOSM update; Bar-Shalom's one-step
    retrodiction is exact only for a linear filter with one lagged plot).

Plot older than the history (``t < t_base``)
    Fused as before the history existed: predicted with ``dt = 0`` and
    updated (an approximation); the history then restarts from the new state
    (an empty history whose base is the current state), so later
    re-filtering never forgets that plot.

The history arrays are the tuple ``hist`` (see :func:`history_arrays`); a
track's history starts at its initiation (:func:`history_start`).  The
track table owns the arrays (``radarcore.core.tracks.TrackTable``).
"""
import numpy as np

from kernels._jit import njit
from kernels.filters import imm_predict, imm_update

# what update_track did
IN_ORDER = 0
RETRODICTED = 1
OUTSIDE_HISTORY = 2

HIST_FIELDS = ("h_n", "h_t", "h_z", "h_R", "h_rv", "h_srv", "h_pos", "b_xm", "b_Pm", "b_log_mu",
               "b_t")


def history_arrays(capacity, n_models, history_plots):
    """Zeroed history arrays for ``capacity`` tracks, in :data:`HIST_FIELDS` order.

    ``h_n (c,)`` plots held; ``h_t (c, H)``, ``h_z (c, H, 3)``, ``h_R (c, H,
    3, 3)``, ``h_rv (c, H)``, ``h_srv (c, H)``, ``h_pos (c, H, 3)`` the plots;
    ``b_xm (c, M, 6)``, ``b_Pm (c, M, 6, 6)``, ``b_log_mu (c, M)``, ``b_t
    (c,)`` the base state.
    """
    c, M, H = int(capacity), int(n_models), int(history_plots)
    if H < 1:
        raise ValueError(f"history_plots must be at least 1, got {history_plots!r}")
    return {"h_n": np.zeros(c, np.int64), "h_t": np.zeros((c, H)), "h_z": np.zeros((c, H, 3)),
            "h_R": np.zeros((c, H, 3, 3)), "h_rv": np.zeros((c, H)), "h_srv": np.zeros((c, H)),
            "h_pos": np.zeros((c, H, 3)), "b_xm": np.zeros((c, M, 6)),
            "b_Pm": np.zeros((c, M, 6, 6)), "b_log_mu": np.zeros((c, M)), "b_t": np.zeros(c)}


@njit
def imm_step(xm, Pm, log_mu, dt, z, R, rv, sigma_rv, radar_pos, omega, q_h, q_v, log_Pi):
    """One track's IMM state ``(M, 6), (M, 6, 6), (M,)`` predicted by ``dt`` and updated with a plot.

    :func:`kernels.filters.imm_predict` then :func:`kernels.filters.imm_update`,
    in place.  Every path of this module goes through here, and this is
    compiled out of line (not ``inline="always"`` like the workers it
    calls): the IMM is the largest code of the tracker, and each copy
    inlined into a caller is optimised again by LLVM in every compiled
    function above it.  One call per plot costs little beside the IMM
    itself (benchmarks/README.md, compile time).
    """
    imm_predict(xm, Pm, log_mu, dt, omega, q_h, q_v, log_Pi)
    imm_update(xm, Pm, log_mu, z, R, rv, sigma_rv, radar_pos)


@njit
def history_start(i, t, xm, Pm, log_mu, hist):
    """Track ``i``'s history restarts: base = its current IMM state at ``t``, no plots."""
    h_n, h_t, h_z, h_R, h_rv, h_srv, h_pos, b_xm, b_Pm, b_log_mu, b_t = hist
    h_n[i] = 0
    b_t[i] = t
    _copy_imm(xm[i], Pm[i], log_mu[i], b_xm[i], b_Pm[i], b_log_mu[i])


@njit(inline="always")
def _copy_imm(xm, Pm, log_mu, xm_out, Pm_out, log_mu_out):
    """One track's per-model IMM state ``(M, 6), (M, 6, 6), (M,)`` into another's."""
    for m in range(xm.shape[0]):
        log_mu_out[m] = log_mu[m]
        for a in range(6):
            xm_out[m, a] = xm[m, a]
            for c in range(6):
                Pm_out[m, a, c] = Pm[m, a, c]


@njit(inline="always")
def _fold_oldest(i, hist, omega, q_h, q_v, log_Pi):
    """Advance track ``i``'s base through its oldest history plot and forget that plot."""
    h_n, h_t, h_z, h_R, h_rv, h_srv, h_pos, b_xm, b_Pm, b_log_mu, b_t = hist
    imm_step(b_xm[i], b_Pm[i], b_log_mu[i], h_t[i, 0] - b_t[i], h_z[i, 0], h_R[i, 0], h_rv[i, 0],
             h_srv[i, 0], h_pos[i, 0], omega, q_h, q_v, log_Pi)
    b_t[i] = h_t[i, 0]
    n = h_n[i]
    for k in range(n - 1):
        _copy_entry(hist, i, k + 1, k)
    h_n[i] = n - 1


@njit(inline="always")
def _copy_entry(hist, i, src, dst):
    h_n, h_t, h_z, h_R, h_rv, h_srv, h_pos, b_xm, b_Pm, b_log_mu, b_t = hist
    h_t[i, dst] = h_t[i, src]
    h_rv[i, dst] = h_rv[i, src]
    h_srv[i, dst] = h_srv[i, src]
    for a in range(3):
        h_z[i, dst, a] = h_z[i, src, a]
        h_pos[i, dst, a] = h_pos[i, src, a]
        for c in range(3):
            h_R[i, dst, a, c] = h_R[i, src, a, c]


@njit(inline="always")
def _insert(i, t, z, R, rv, sigma_rv, radar_pos, hist, omega, q_h, q_v, log_Pi):
    """Insert a plot into track ``i``'s history in time order (after equal times).

    Folds the oldest plot first when the history is full.  Returns False
    (nothing inserted) when ``t`` is older than the base.
    """
    h_n, h_t, h_z, h_R, h_rv, h_srv, h_pos, b_xm, b_Pm, b_log_mu, b_t = hist
    if h_n[i] == h_t.shape[1]:
        _fold_oldest(i, hist, omega, q_h, q_v, log_Pi)
    if t < b_t[i]:
        return False
    n = h_n[i]
    k = n
    while k > 0 and h_t[i, k - 1] > t:
        _copy_entry(hist, i, k - 1, k)
        k -= 1
    h_t[i, k] = t
    h_rv[i, k] = rv
    h_srv[i, k] = sigma_rv
    for a in range(3):
        h_z[i, k, a] = z[a]
        h_pos[i, k, a] = radar_pos[a]
        for c in range(3):
            h_R[i, k, a, c] = R[a, c]
    h_n[i] = n + 1
    return True


@njit(inline="always")
def _refilter(i, xm, Pm, log_mu, hist, omega, q_h, q_v, log_Pi):
    """Track ``i``'s IMM state from its base through every plot of its history."""
    h_n, h_t, h_z, h_R, h_rv, h_srv, h_pos, b_xm, b_Pm, b_log_mu, b_t = hist
    _copy_imm(b_xm[i], b_Pm[i], b_log_mu[i], xm[i], Pm[i], log_mu[i])
    t = b_t[i]
    for k in range(h_n[i]):
        imm_step(xm[i], Pm[i], log_mu[i], h_t[i, k] - t, h_z[i, k], h_R[i, k], h_rv[i, k],
                 h_srv[i, k], h_pos[i, k], omega, q_h, q_v, log_Pi)
        t = h_t[i, k]


@njit
def update_track(i, t, t_state_i, z, R, rv, sigma_rv, radar_pos, xm, Pm, log_mu, hist,
                 omega, q_h, q_v, log_Pi):
    """Update track ``i``'s per-model IMM state with one plot at time ``t``.

    ``t_state_i`` is the time of the track's state.  The caller combines the
    models (:func:`kernels.filters.imm_combine`) afterwards; the state time
    stays ``max(t_state_i, t)``.  Returns :data:`IN_ORDER`,
    :data:`RETRODICTED` (re-filtered exactly) or :data:`OUTSIDE_HISTORY`
    (fused with ``dt = 0``; the history restarts).  See the module
    docstring.
    """
    if t >= t_state_i:
        imm_step(xm[i], Pm[i], log_mu[i], t - t_state_i, z, R, rv, sigma_rv, radar_pos, omega, q_h,
                 q_v, log_Pi)
        _insert(i, t, z, R, rv, sigma_rv, radar_pos, hist, omega, q_h, q_v, log_Pi)
        return IN_ORDER
    if _insert(i, t, z, R, rv, sigma_rv, radar_pos, hist, omega, q_h, q_v, log_Pi):
        _refilter(i, xm, Pm, log_mu, hist, omega, q_h, q_v, log_Pi)
        return RETRODICTED
    imm_step(xm[i], Pm[i], log_mu[i], 0.0, z, R, rv, sigma_rv, radar_pos, omega, q_h, q_v, log_Pi)
    history_start(i, t_state_i, xm, Pm, log_mu, hist)
    return OUTSIDE_HISTORY
