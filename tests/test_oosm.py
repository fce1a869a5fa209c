"""Out-of-sequence updates (kernels/oosm.py) against a plain in-order IMM filter.

The compiled track gets plots in arrival order (two radars, the second's
link slower, so their plots interleave out of time order); the reference,
the plain-Python IMM of ``naive_tracker``, gets the same plots sorted by
time.  Both start from the same state; their states must agree.
"""
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import naive
from kernels import oosm
from kernels.filters import imm_combine, make_imm_params
from kernels.gating import gate
from naive_tracker import Models, Plot, Radar, _Filtered, filter_step

RTOL = 1e-9
RADARS = (Radar(np.array([-1500.0, 300.0, 25.0]), 0.7, 0.0, 0.9),
          Radar(np.array([1200.0, -900.0, 40.0]), math.nan, 0.0, 0.9))


def model_set(kind):
    if kind == "imm":
        omega, q_h, q_v, log_Pi = make_imm_params(6.0, 0.95, [2.0, 2.0, 2.0], 1.0)
    else:
        omega, q_h, q_v, log_Pi = np.zeros(1), np.array([4.0]), 1.0, np.zeros((1, 1))
    return (np.ascontiguousarray(omega, float), np.ascontiguousarray(q_h, float), float(q_v),
            np.ascontiguousarray(log_Pi, float))


def make_plots(seed, n, delay_s):
    """A target's plots from two radars with noise, in arrival order (radar 1 late by delay_s)."""
    rng = np.random.default_rng(seed)
    times = np.sort(rng.uniform(0.0, 5.0, n))
    radar = rng.integers(0, 2, n)
    x0 = np.array([800.0, 1500.0, 200.0, -12.0, 7.0, 0.5])
    plots = []
    for t, r in zip(times, radar):
        p = x0[:3] + t * x0[3:] + np.array([3.0 * math.sin(t), 0.0, 0.0])
        A = rng.normal(0.0, 1.0, (3, 3))
        R = A @ A.T * 20.0 + np.eye(3) * 25.0
        z = rng.multivariate_normal(p, R)
        los = p - RADARS[r].position
        rv = float(los @ x0[3:] / np.linalg.norm(los)) + rng.normal(0.0, 0.7)
        if not math.isfinite(RADARS[r].sigma_rv):
            rv = math.nan                           # (the engine's rule for a radar without Doppler)
        plots.append((float(t + (delay_s if r == 1 else 0.0)), Plot(float(t), z, R, rv, math.nan, 0.0),
                      int(r)))
    plots.sort(key=lambda item: item[0])          # arrival order (stable: ties by time)
    return [(plot, r) for _, plot, r in plots]


def initial(M):
    x = np.array([790.0, 1490.0, 190.0, -10.0, 5.0, 0.0])
    P = np.diag([400.0, 400.0, 900.0, 100.0, 100.0, 25.0])
    return [x.copy() for _ in range(M)], [P.copy() for _ in range(M)], np.full(M, 1.0 / M)


def run_compiled(plots, kind, history_plots, t_imm=-math.inf, keep_states=True):
    """The compiled track over the plots in arrival order; on the CV filter for plots not
    newer than ``t_imm`` (``kernels.oosm.filter_step``); ``keep_states`` as
    ``kernels.oosm.update_track``'s."""
    omega, q_h, q_v, log_Pi = model_set(kind)
    # the vertical channel as the plan passes it ([q_v, tau_v], tau_v = 0: the
    # white-noise channel bit for bit) and every argument given, so that this
    # test runs the plan's compiled update_track instead of compiling another
    vertical = np.array([q_v, 0.0])
    M = omega.shape[0]
    xm0, Pm0, mu0 = initial(M)
    xm = np.array([xm0])
    Pm = np.array([Pm0])
    log_mu = np.log(np.array([mu0]))
    hist = tuple(oosm.history_arrays(1, M, history_plots)[name] for name in oosm.HIST_FIELDS)
    hist[oosm.HIST_FIELDS.index("t_imm")][0] = t_imm
    x = np.empty((1, 6))
    P = np.empty((1, 6, 6))
    imm_combine(xm[0], Pm[0], log_mu[0], x[0], P[0])
    t0 = -0.5
    oosm.history_start(0, t0, xm, Pm, log_mu, x, P, hist)
    t_state = t0
    hows = []
    for plot, r in plots:
        radar = RADARS[r]
        hows.append(oosm.update_track(0, plot.t, t_state, plot.z, plot.R, plot.rv, radar.sigma_rv,
                                      radar.position, xm, Pm, log_mu, x, P, hist, omega, q_h,
                                      vertical, log_Pi, keep_states))
        t_state = max(t_state, plot.t)
    if t_state > t_imm:
        # on the IMM, the combined state kept beside the models' is theirs
        x_models = np.empty(6)
        P_models = np.empty((6, 6))
        imm_combine(xm[0], Pm[0], log_mu[0], x_models, P_models)
        np.testing.assert_array_equal(x[0], x_models)
        np.testing.assert_array_equal(P[0], P_models)
    return x[0], P[0], np.exp(log_mu[0]), hows, dict(zip(oosm.HIST_FIELDS, hist)), t_state


def run_reference(plots, kind, first=None, t_imm=-math.inf):
    """The plain filter (``naive_tracker.filter_step``: the IMM, or its CV model alone for
    plots not newer than ``t_imm``) over the same plots in time order (ties in arrival
    order), or over the ``first`` of them in that order."""
    omega, q_h, q_v, log_Pi = model_set(kind)
    models = Models(omega, q_h, q_v, np.exp(log_Pi))
    xm, Pm, mu = initial(omega.shape[0])
    track = _Filtered(xm, Pm, mu, -0.5, xm[0].copy(), Pm[0].copy())
    for plot, r in sorted(plots, key=lambda item: item[0].t)[:first]:
        filter_step(track, plot, RADARS[r], t_imm, models)
        track.t_state = plot.t
    if track.t_state <= t_imm:
        return track.x, track.P, track.mu
    x = sum(m * xj for m, xj in zip(track.mu, track.xm))
    P = sum(m * (Pj + np.outer(xj - x, xj - x)) for m, xj, Pj in zip(track.mu, track.xm, track.Pm))
    return x, P, track.mu


def assert_same_state(compiled, reference):
    x, P, mu = compiled[:3]
    x_ref, P_ref, mu_ref = reference
    np.testing.assert_allclose(x[:3], x_ref[:3], rtol=RTOL, atol=RTOL * np.abs(x_ref[:3]).max())
    np.testing.assert_allclose(x[3:], x_ref[3:], rtol=RTOL, atol=RTOL * np.abs(x_ref[3:]).max())
    np.testing.assert_allclose(P, P_ref, rtol=RTOL, atol=RTOL * np.abs(P_ref).max())
    np.testing.assert_allclose(mu, mu_ref, rtol=RTOL, atol=RTOL)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(100, 999), n=st.integers(1, 12), delay_s=st.sampled_from([0.0, 0.3, 0.5, 1.5]),
       kind=st.sampled_from(["imm", "cv"]), history_plots=st.integers(1, 8),
       t_imm=st.sampled_from([-math.inf, 1.5, 3.0, math.inf]))
@example(seed=100, n=12, delay_s=1.5, kind="imm", history_plots=1, t_imm=-math.inf)
@example(seed=100, n=12, delay_s=1.5, kind="imm", history_plots=8, t_imm=2.0)
def test_out_of_order_plots_give_the_in_order_state(seed, n, delay_s, kind, history_plots, t_imm):
    """Whenever no plot was older than the track's history, the compiled
    filter that got the plots out of order equals the in-order filter, also
    for a track that went from the CV filter to the IMM at ``t_imm``."""
    plots = make_plots(seed, n, delay_s)
    compiled = run_compiled(plots, kind, history_plots, t_imm)
    hows = compiled[3]
    if history_plots >= n:
        assert oosm.OUTSIDE_HISTORY not in hows     # the whole input fits the history
    if oosm.OUTSIDE_HISTORY not in hows:
        assert_same_state(compiled, run_reference(plots, kind, t_imm=t_imm))


BASE_FIELDS = ("b_xm", "b_Pm", "b_log_mu", "b_t", "b_x", "b_P")


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(100, 999), n=st.integers(1, 14), delay_s=st.sampled_from([0.0, 0.3, 0.5, 1.5]),
       kind=st.sampled_from(["imm", "cv"]), history_plots=st.integers(1, 4),
       t_imm=st.sampled_from([-math.inf, 1.5, 3.0, math.inf]))
@example(seed=100, n=14, delay_s=0.5, kind="imm", history_plots=2, t_imm=1.5)
def test_a_fold_by_the_kept_states_is_the_fold_by_the_filter(seed, n, delay_s, kind, history_plots,
                                                              t_imm):
    """The base moved on by copying the states kept after the oldest plot (``h_kept``) is
    bit for bit the base the filter step gives (no state kept: every fold runs it), and so
    is the track, over in-order, re-filtered and out-of-history plots across ``t_imm``."""
    plots = make_plots(seed, n, delay_s)
    copied = run_compiled(plots, kind, history_plots, t_imm, keep_states=True)
    stepped = run_compiled(plots, kind, history_plots, t_imm, keep_states=False)
    assert copied[3] == stepped[3]
    for a in range(3):
        np.testing.assert_array_equal(copied[a], stepped[a])
    for name in BASE_FIELDS:
        np.testing.assert_array_equal(copied[4][name], stepped[4][name], err_msg=name)
    held = oosm.history_slots(copied[4]["h_n"], copied[4]["h_head"], 0, history_plots)
    assert copied[4]["h_kept"][0, held].all()


def test_a_plot_older_than_the_switch_to_the_imm_is_refiltered_by_the_cv_filter():
    """Plots re-filtered across ``t_imm``: those not newer go through the CV filter,
    the later ones through the IMM made from its state, as in order; a track on the
    IMM throughout ends elsewhere (so the switch is seen)."""
    plots = make_plots(7, 12, 0.5)
    t_imm = sorted(plot.t for plot, _ in plots)[5]
    compiled = run_compiled(plots, "imm", 8, t_imm)
    assert compiled[3].count(oosm.RETRODICTED) >= 1
    assert_same_state(compiled, run_reference(plots, "imm", t_imm=t_imm))
    assert not np.allclose(compiled[0], run_compiled(plots, "imm", 8)[0], rtol=1e-6)


@pytest.mark.parametrize("kind", ["imm", "cv"])
def test_retrodiction_happens_and_differs_from_the_old_clamp(kind):
    """The scenario is out of order (plots re-filtered), and the exact state
    is not the one that fusing with dt clamped to 0 gives (so the test could fail)."""
    plots = make_plots(7, 12, 0.5)
    compiled = run_compiled(plots, kind, 6)
    assert compiled[3].count(oosm.RETRODICTED) >= 1
    assert oosm.OUTSIDE_HISTORY not in compiled[3]
    reference = run_reference(plots, kind)
    assert_same_state(compiled, reference)
    # a history of one plot cannot hold them: those are fused with dt = 0
    short = run_compiled(plots, kind, 1)
    assert oosm.OUTSIDE_HISTORY in short[3]
    assert not np.allclose(short[0], reference[0], rtol=1e-6)


@pytest.mark.parametrize("kind", ["imm", "cv"])
def test_the_history_ring_wraps(kind):
    """A history of 5 plots over 12 plots: the ring's head has moved off slot 0, the slots
    from the head hold the plots in time order, and the state is still the in-order one."""
    plots = make_plots(7, 12, 0.5)
    compiled = run_compiled(plots, kind, 5)
    hist = compiled[4]
    assert oosm.OUTSIDE_HISTORY not in compiled[3]
    assert hist["h_n"][0] == 5 and hist["h_head"][0] != 0
    slots = oosm.history_slots(hist["h_n"], hist["h_head"], 0, 5)
    times = sorted(plot.t for plot, _ in plots)
    np.testing.assert_array_equal(hist["h_t"][0, slots], times[-5:])
    assert hist["b_t"][0] == times[-6]
    assert_same_state(compiled, run_reference(plots, kind))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(100, 999), n=st.integers(1, 12), delay_s=st.sampled_from([0.3, 0.5]),
       kind=st.sampled_from(["imm", "cv"]), history_plots=st.integers(1, 8))
def test_the_history_keeps_the_in_order_states_for_gating(seed, n, delay_s, kind, history_plots):
    """The combined state beside each remembered plot (and the base's) is the
    in-order filter's after that plot: what a late plot is gated against."""
    plots = make_plots(seed, n, delay_s)
    *_, hows, hist, _ = run_compiled(plots, kind, history_plots)
    if oosm.OUTSIDE_HISTORY in hows:
        return
    held = int(hist["h_n"][0])
    slots = oosm.history_slots(hist["h_n"], hist["h_head"], 0, history_plots)
    assert slots.size == held
    for k in range(-1, held):
        x_ref, P_ref, _ = run_reference(plots, kind, first=n - held + k + 1)
        if k == -1:
            x, P = hist["b_x"][0], hist["b_P"][0]
        else:
            x, P = hist["h_x"][0, slots[k]], hist["h_P"][0, slots[k]]
        assert_same_state((x, P, np.ones(1)), (x_ref, P_ref, np.ones(1)))


def late_plot_gate(kind, retro=True):
    """A track fed a 14 m/s target's plots, then one plot 0.9 s older than
    the track exactly on the target's path: its gate distance, the naive
    one against the in-order filter's prediction to the plot's time, and the
    naive one against the track's own state (``dt`` clamped to 0, as a gate
    without a history)."""
    plots = make_plots(11, 10, 0.0)
    x, P, _, _, hist, t_state = run_compiled(plots, kind, 6)
    t_late = t_state - 0.9
    true_x0 = np.array([800.0, 1500.0, 200.0, -12.0, 7.0, 0.5])
    z = true_x0[:3] + t_late * true_x0[3:] + np.array([3.0 * math.sin(t_late), 0.0, 0.0])
    R = np.eye(3) * 25.0
    radar = RADARS[1]
    args = (np.array([0]), x[None], P[None], np.array([t_state]), z[None], R[None],
            np.array([math.nan]), np.array([radar.sigma_rv]), radar.position[None],
            np.array([t_late]), 4.0, 1.0, 1e9, 1e9, 100.0, np.array([np.inf]))
    fields = tuple(hist[name] for name in oosm.HIST_FIELDS)
    pairs = gate(*args, fields, retro)   # as the plan calls it (no other compilation)
    # the reference: the in-order filter over the plots up to t_late, CV-predicted to it
    before = [p for p in plots if p[0].t <= t_late]
    x_ref, P_ref, _ = run_reference(before, kind)
    t_ref = max([p[0].t for p in before], default=-0.5)
    expected = naive.gate([0], x_ref[None], P_ref[None], [t_ref], z[None], R[None], [math.nan],
                          [radar.sigma_rv], radar.position[None], [t_late], 4.0, 1.0, 1e9, 1e9)
    own = naive.gate(*args[:14])
    return pairs[2][0], expected[(0, 0)][0], own[(0, 0)][0]


@pytest.mark.parametrize("kind", ["imm", "cv"])
def test_a_late_plot_is_gated_against_the_retrodicted_prediction(kind):
    d2, d2_ref, _ = late_plot_gate(kind)
    assert d2 == pytest.approx(d2_ref, rel=1e-9)
    # retro=False (P_OWN_GATE) gates as without a history: it predicts from the
    # newer state (dt clamped to 0), and 0.9 s at 14 m/s puts the plot 12 m off
    d2_own, _, d2_own_ref = late_plot_gate(kind, retro=False)
    assert d2_own == pytest.approx(d2_own_ref, rel=1e-9)
    assert d2_own > 4.0 * d2_ref


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(100, 999), n_tracks=st.integers(1, 6), n_late=st.integers(1, 12),
       kind=st.sampled_from(["imm", "cv"]))
def test_the_quick_radius_never_drops_a_retrodicted_pair(seed, n_tracks, n_late, kind):
    """Tracks with histories, a group of plots of one period, some older than
    the tracks: the gate with the tracker's quick radii (retrodicted part
    included) finds every pair a gate of every pair finds (``r_quick`` = inf)."""
    from kernels.tracker import quick_radius

    rng = np.random.default_rng(seed)
    runs = [run_compiled(make_plots(seed + 7 * k, 10, 0.4), kind, 6) for k in range(n_tracks)]
    fields = {name: np.concatenate([r[4][name] for r in runs]) for name in oosm.HIST_FIELDS}
    hist = tuple(fields[name] for name in oosm.HIST_FIELDS)
    x = np.array([r[0] for r in runs])
    P = np.array([r[1] for r in runs])
    t_track = np.array([r[5] for r in runs])
    period = 1.0
    span = math.floor(t_track.min() - 0.5)
    t0, t1 = span * period - 1e-3, (span + 1) * period + 1e-3
    t_plot = np.sort(rng.uniform(span, span + period, n_late))
    # plots about where the targets were (all start near one another), spread by 12 m
    true_x0 = np.array([800.0, 1500.0, 200.0, -12.0, 7.0, 0.5])
    z = true_x0[:3] + t_plot[:, None] * true_x0[3:] + rng.normal(0.0, 12.0, (n_late, 3))
    R = np.tile(np.eye(3) * 25.0, (n_late, 1, 1))
    radar = RADARS[1]
    gamma_3, gamma_4, q_h = 11.34, 13.28, 4.0
    max_trace_R = 50.0
    r_quick = np.array([quick_radius(i, x, P, t_track, t0, t1, q_h, max(gamma_3, gamma_4),
                                     max_trace_R, hist) for i in range(n_tracks)])
    args = (np.arange(n_tracks), x, P, t_track, z, R, np.full(n_late, math.nan),
            np.full(n_late, radar.sigma_rv), np.tile(radar.position, (n_late, 1)), t_plot,
            q_h, 1.0, gamma_3, gamma_4, 30.0)
    quick = gate(*args, r_quick, hist, True)   # as the plan calls it (no other compilation)
    # every pair, against the state the module docstring names
    every = []
    for i in range(n_tracks):
        for j, t in enumerate(t_plot.tolist()):
            x_s, P_s, t_s = x[i], P[i], t_track[i]
            if fields["b_t"][i] <= t < t_track[i]:
                slots = oosm.history_slots(fields["h_n"], fields["h_head"], i, 6)
                k = int(np.searchsorted(fields["h_t"][i, slots], t, side="right")) - 1
                s = slots[k] if k >= 0 else -1
                x_s, P_s, t_s = ((fields["b_x"][i], fields["b_P"][i], fields["b_t"][i]) if k < 0 else
                                 (fields["h_x"][i, s], fields["h_P"][i, s], fields["h_t"][i, s]))
            if naive.gate([0], x_s[None], P_s[None], [t_s], z[j:j + 1], R[j:j + 1], [math.nan],
                          [radar.sigma_rv], radar.position[None], [t], q_h, 1.0, gamma_3, gamma_4):
                every.append((i, j))
    assert sorted(zip(quick[0].tolist(), quick[1].tolist())) == every


def test_history_needs_a_plot():
    with pytest.raises(ValueError, match="history_plots"):
        oosm.history_arrays(4, 3, 0)
