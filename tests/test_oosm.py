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

from kernels import oosm
from kernels.filters import imm_combine, make_imm_params
from naive_tracker import Models, Plot, Radar, _Filtered, imm_predict, imm_update

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


def run_compiled(plots, kind, history_plots):
    omega, q_h, q_v, log_Pi = model_set(kind)
    M = omega.shape[0]
    xm0, Pm0, mu0 = initial(M)
    xm = np.array([xm0])
    Pm = np.array([Pm0])
    log_mu = np.log(np.array([mu0]))
    hist = tuple(oosm.history_arrays(1, M, history_plots)[name] for name in oosm.HIST_FIELDS)
    t0 = -0.5
    oosm.history_start(0, t0, xm, Pm, log_mu, hist)
    t_state = t0
    hows = []
    for plot, r in plots:
        radar = RADARS[r]
        hows.append(oosm.update_track(0, plot.t, t_state, plot.z, plot.R, plot.rv, radar.sigma_rv,
                                      radar.position, xm, Pm, log_mu, hist, omega, q_h, q_v, log_Pi))
        t_state = max(t_state, plot.t)
    x = np.empty(6)
    P = np.empty((6, 6))
    imm_combine(xm[0], Pm[0], log_mu[0], x, P)
    return x, P, np.exp(log_mu[0]), hows


def run_reference(plots, kind):
    """The plain IMM filter over the same plots in time order (ties in arrival order)."""
    omega, q_h, q_v, log_Pi = model_set(kind)
    models = Models(omega, q_h, q_v, np.exp(log_Pi))
    xm, Pm, mu = initial(omega.shape[0])
    track = _Filtered(xm, Pm, mu, -0.5)
    for plot, r in sorted(plots, key=lambda item: item[0].t):
        imm_predict(track, plot.t - track.t_state, models)
        imm_update(track, plot, RADARS[r])
        track.t_state = plot.t
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
       kind=st.sampled_from(["imm", "cv"]), history_plots=st.integers(1, 8))
@example(seed=100, n=12, delay_s=1.5, kind="imm", history_plots=1)
def test_out_of_order_plots_give_the_in_order_state(seed, n, delay_s, kind, history_plots):
    """Whenever no plot was older than the track's history, the compiled
    filter that got the plots out of order equals the in-order filter."""
    plots = make_plots(seed, n, delay_s)
    compiled = run_compiled(plots, kind, history_plots)
    hows = compiled[3]
    if history_plots >= n:
        assert oosm.OUTSIDE_HISTORY not in hows     # the whole input fits the history
    if oosm.OUTSIDE_HISTORY not in hows:
        assert_same_state(compiled, run_reference(plots, kind))


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


def test_history_needs_a_plot():
    with pytest.raises(ValueError, match="history_plots"):
        oosm.history_arrays(4, 3, 0)
