"""Filter kernels against FilterPy, closed-form matrices and NumPy twins."""
import math

import numpy as np
import pytest
from filterpy.kalman import ExtendedKalmanFilter, IMMEstimator, KalmanFilter
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

import naive_filters as naive
from kernels import filters

H_POSITION = np.hstack([np.eye(3), np.zeros((3, 3))])
SETTINGS = settings(max_examples=60, deadline=None)


def assert_close(actual, expected, rtol=1e-9):
    """Agreement to ``rtol`` relative to the largest magnitude in ``expected``."""
    expected = np.asarray(expected, dtype=float)
    scale = max(float(np.max(np.abs(expected))), 1e-300)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def random_spd(rng, sigmas):
    """Random SPD matrix with standard deviations near ``sigmas`` and
    random correlations."""
    n = len(sigmas)
    A = rng.normal(size=(n, n))
    C = A @ A.T / n + 0.2 * np.eye(n)
    d = np.sqrt(np.diag(C))
    C = C / np.outer(d, d)
    return C * np.outer(sigmas, sigmas)


def random_state(rng):
    x = np.concatenate([rng.uniform(-8000.0, 8000.0, 2), rng.uniform(0.0, 1500.0, 1),
                        rng.uniform(-60.0, 60.0, 2), rng.uniform(-10.0, 10.0, 1)])
    P = random_spd(rng, np.concatenate([rng.uniform(5.0, 300.0, 3),
                                        rng.uniform(1.0, 30.0, 3)]))
    return x, P


def radar_seeing(rng, x, min_range_m=200.0):
    """A radar position between ``min_range_m`` and 10 km from ``x``."""
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    return x[:3] - rng.uniform(min_range_m, 10000.0) * direction


# ---------------------------------------------------------------------------
# Motion models
# ---------------------------------------------------------------------------


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), q_h=st.floats(1e-3, 50.0), q_v=st.floats(1e-3, 10.0))
def test_cv_predict_and_update_match_filterpy(seed, q_h, q_v):
    rng = np.random.default_rng(seed)
    x, P = random_state(rng)
    kf = KalmanFilter(dim_x=6, dim_z=3)
    kf.x = x.copy()
    kf.P = P.copy()
    no_radar = np.zeros(3)
    for step in range(12):
        dt = 0.0 if step % 5 == 4 else float(rng.uniform(0.0, 6.0))
        kf.predict(F=naive.cv_F(dt), Q=naive.white_noise_Q(dt, q_h, q_v))
        filters.cv_predict(x, P, dt, q_h, q_v)
        assert_close(x, kf.x)
        assert_close(P, kf.P)

        R = random_spd(rng, rng.uniform(3.0, 150.0, 3))
        z = kf.x[:3] + rng.multivariate_normal(np.zeros(3), R)
        kf.update(z, R=R, H=H_POSITION)
        loglik = filters.kf_update(x, P, z, R, np.nan, 1.0, no_radar)
        assert_close(x, kf.x)
        assert_close(P, kf.P)
        assert loglik == pytest.approx(kf.log_likelihood, rel=1e-9, abs=1e-9)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1),
       dt=st.floats(0.0, 20.0),
       omega=st.floats(-1.0, 1.0).filter(lambda w: abs(w) > 1e-3),
       q_h=st.floats(0.0, 50.0), q_v=st.floats(0.0, 10.0))
def test_ct_predict_matches_closed_form_matrix(seed, dt, omega, q_h, q_v):
    rng = np.random.default_rng(seed)
    x, P = random_state(rng)
    F = naive.ct_F(dt, omega)
    Q = naive.white_noise_Q(dt, q_h, q_v)
    x_expected = F @ x
    P_expected = F @ P @ F.T + Q
    filters.ct_predict(x, P, dt, omega, q_h, q_v)
    assert_close(x, x_expected)
    assert_close(P, P_expected)


# Subnormal dt left out: the reference's quadrature cannot split an interval
# of 5e-324 s (the kernel's series branch for small dt is still drawn down to
# the smallest normal float).
@SETTINGS
@given(seed=st.integers(0, 2**32 - 1),
       dt=st.floats(0.0, 20.0, allow_subnormal=False),
       omega=st.one_of(st.just(0.0), st.floats(-1.0, 1.0).filter(lambda w: abs(w) > 1e-3)),
       q_h=st.floats(0.0, 50.0), q_v=st.floats(0.0, 10.0), tau_v=st.floats(0.05, 1000.0))
def test_ornstein_uhlenbeck_vertical_matches_van_loan(seed, dt, omega, q_h, q_v, tau_v):
    rng = np.random.default_rng(seed)
    x, P = random_state(rng)
    F, Q = naive.predict_F_Q(dt, omega, q_h, q_v, tau_v)
    x_expected = F @ x
    P_expected = F @ P @ F.T + Q
    filters.ct_predict(x, P, dt, omega, q_h, np.array([q_v, tau_v]))
    assert_close(x, x_expected)
    assert_close(P, P_expected)


@pytest.mark.parametrize("omega", [0.0, 0.2])
def test_vertical_channel_without_time_constant_is_the_float_bit_for_bit(omega):
    rng = np.random.default_rng(4)
    x_f, P_f = random_state(rng)
    x_a, P_a = x_f.copy(), P_f.copy()
    filters.ct_predict(x_f, P_f, 1.5, omega, 3.0, 0.5)
    filters.ct_predict(x_a, P_a, 1.5, omega, 3.0, np.array([0.5, 0.0]))
    assert np.array_equal(x_f, x_a)
    assert np.array_equal(P_f, P_a)


@pytest.mark.parametrize("r", [1e-2 * (1.0 - 1e-12), 1e-2 * (1.0 + 1e-12)])
def test_ornstein_uhlenbeck_noise_is_continuous_across_the_series_switch(r):
    # the series below r = 1e-2 and the closed form above both agree with a
    # longer series to 1e-10
    tau = 20.0
    P = np.zeros((6, 6))
    filters.ct_predict(np.zeros(6), P, r * tau, 0.0, 0.0, np.array([1.0, tau]))
    _, Q = naive.ou_vertical_F_Q(r * tau, 1.0, tau)
    np.testing.assert_allclose(P[2, 2], Q[0, 0], rtol=1e-9)
    reference = tau ** 3 * (r ** 3 / 3 - r ** 4 / 4 + 7 * r ** 5 / 60 - r ** 6 / 24
                            + 31 * r ** 7 / 2520 - r ** 8 / 320)
    np.testing.assert_allclose(P[2, 2], reference, rtol=1e-10)


def test_ornstein_uhlenbeck_vertical_speed_levels_off():
    # without updates the climb decays as exp(-t / tau) and its spread tends
    # to sqrt(q tau / 2)
    x = np.array([0.0, 0.0, 100.0, 0.0, 0.0, 2.0])
    P = np.zeros((6, 6))
    for _ in range(2000):
        filters.ct_predict(x, P, 0.5, 0.0, 0.0, np.array([0.25, 20.0]))
    assert abs(x[5]) < 1e-15
    assert x[2] == pytest.approx(100.0 + 2.0 * 20.0, rel=1e-12)
    assert math.sqrt(P[5, 5]) == pytest.approx(math.sqrt(0.25 * 20.0 / 2.0), rel=1e-9)


def test_ct_with_zero_turn_rate_is_cv_bit_for_bit():
    rng = np.random.default_rng(1)
    x_cv, P_cv = random_state(rng)
    x_ct, P_ct = x_cv.copy(), P_cv.copy()
    filters.cv_predict(x_cv, P_cv, 2.5, 3.0, 0.5)
    filters.ct_predict(x_ct, P_ct, 2.5, 0.0, 3.0, 0.5)
    assert np.array_equal(x_cv, x_ct)
    assert np.array_equal(P_cv, P_ct)


@pytest.mark.parametrize("omega", [1e-300, -1e-15, 1e-12, -1e-9, 1e-7, -1e-5])
def test_ct_tends_to_cv_as_turn_rate_vanishes(omega):
    rng = np.random.default_rng(2)
    x_cv, P_cv = random_state(rng)
    x_ct, P_ct = x_cv.copy(), P_cv.copy()
    dt = 4.0
    filters.cv_predict(x_cv, P_cv, dt, 1.0, 1.0)
    filters.ct_predict(x_ct, P_ct, dt, omega, 1.0, 1.0)
    # To first order the entries of F_ct - F_cv are at most |omega| dt^2 / 2
    # (position rows) and |omega| dt (velocity rows).
    dF = abs(omega) * max(dt * dt / 2.0, dt)
    x_bound = 2.0 * dF * np.sum(np.abs(x_cv[3:5])) + 1e-12 * np.max(np.abs(x_cv))
    P_bound = 2.0 * 2.0 * 6.0 * dF * (1.0 + dt) * np.max(np.abs(P_cv)) \
        + 1e-12 * np.max(np.abs(P_cv))
    assert np.max(np.abs(x_ct - x_cv)) <= x_bound
    assert np.max(np.abs(P_ct - P_cv)) <= P_bound


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_ct_is_continuous_across_the_series_switch(sign):
    rng = np.random.default_rng(3)
    x0, P0 = random_state(rng)
    dt = 2.0
    results = []
    for a in (1e-3 * (1.0 - 1e-12), 1e-3 * (1.0 + 1e-12)):
        x, P = x0.copy(), P0.copy()
        filters.ct_predict(x, P, dt, sign * a / dt, 1.0, 1.0)
        results.append((x, P))
    assert_close(results[0][0], results[1][0], rtol=1e-13)
    assert_close(results[0][1], results[1][1], rtol=1e-13)
    # Below the switch the series agrees with the exact matrix to its accuracy.
    x, P = x0.copy(), P0.copy()
    omega = sign * 5e-4 / dt
    filters.ct_predict(x, P, dt, omega, 1.0, 1.0)
    F = naive.ct_F(dt, omega)
    assert_close(x, F @ x0, rtol=1e-11)


@pytest.mark.parametrize("a", [1e-3 * (1.0 - 1e-9), -7e-4, 3e-4, 1e-6])
def test_ct_series_coefficients_are_accurate_to_rounding(a):
    # A unit east velocity maps to (s, c, 0, cos a, sin a, 0) after one step.
    dt = 2.0
    omega = a / dt
    x = np.array([0.0, 0.0, 0.0, 1.0, 0.0, 0.0])
    filters.ct_predict(x, np.eye(6), dt, omega, 0.0, 0.0)
    expected = [math.sin(a) / omega, 2.0 * math.sin(a / 2.0) ** 2 / omega, 0.0,
                math.cos(a), math.sin(a), 0.0]
    np.testing.assert_allclose(x, expected, rtol=1e-15, atol=0.0)


def test_positive_turn_rate_turns_left():
    # Heading north at 10 m/s; a left (counter-clockwise) turn heads west.
    x = np.array([0.0, 0.0, 100.0, 0.0, 10.0, 0.0])
    P = np.eye(6)
    filters.ct_predict(x, P, math.pi / 2.0 / 0.1, 0.1, 0.0, 0.0)  # quarter turn
    np.testing.assert_allclose(x[3:5], [-10.0, 0.0], atol=1e-12)
    # The centre of the turn is 100 m to the west: quarter turn ends at (-100, 100).
    np.testing.assert_allclose(x[:2], [-100.0, 100.0], atol=1e-9)


# ---------------------------------------------------------------------------
# Updates
# ---------------------------------------------------------------------------


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), sigma_rv=st.floats(0.05, 5.0))
def test_radial_velocity_update_matches_filterpy_ekf(seed, sigma_rv):
    rng = np.random.default_rng(seed)
    x, P = random_state(rng)
    radar_pos = radar_seeing(rng, x)
    R = random_spd(rng, rng.uniform(3.0, 150.0, 3))

    def Hx(state):
        return naive.h_measurement(state, radar_pos, True)

    def HJacobian(state):
        return naive.H_jacobian(state, radar_pos, True)

    z4 = Hx(x) + rng.normal(size=4) * np.concatenate([np.sqrt(np.diag(R)), [sigma_rv]])
    ekf = ExtendedKalmanFilter(dim_x=6, dim_z=4)
    ekf.x = x.copy()
    ekf.P = P.copy()
    ekf.update(z4, HJacobian, Hx, R=naive.measurement_covariance(R, sigma_rv, True))

    d2, logdet, dim = filters.innovation(x, P, z4[:3], R, z4[3], sigma_rv, radar_pos)
    loglik = filters.kf_update(x, P, z4[:3], R, z4[3], sigma_rv, radar_pos)
    assert dim == 4
    assert_close(x, ekf.x)
    assert_close(P, ekf.P)
    assert loglik == pytest.approx(ekf.log_likelihood, rel=1e-9, abs=1e-9)
    assert d2 == pytest.approx(ekf.y @ np.linalg.solve(ekf.S, ekf.y), rel=1e-9, abs=1e-12)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), with_rv=st.booleans(),
       offset_sigmas=st.floats(0.0, 20.0))
def test_innovation_matches_naive_solve_and_kf_update(seed, with_rv, offset_sigmas):
    rng = np.random.default_rng(seed)
    x, P = random_state(rng)
    radar_pos = radar_seeing(rng, x, min_range_m=50.0)
    R = random_spd(rng, rng.uniform(1.0, 200.0, 3))
    z = x[:3] + offset_sigmas * rng.normal(size=3) * np.sqrt(np.diag(P)[:3] + np.diag(R))
    rv = float(rng.uniform(-80.0, 80.0)) if with_rv else np.nan
    sigma_rv = float(rng.uniform(0.1, 5.0))
    x_before, P_before = x.copy(), P.copy()

    d2, logdet, dim = filters.innovation(x, P, z, R, rv, sigma_rv, radar_pos)
    assert np.array_equal(x, x_before) and np.array_equal(P, P_before)
    d2_ref, logdet_ref, dim_ref = naive.innovation(x, P, z, R, rv, sigma_rv, radar_pos)
    assert dim == dim_ref == (4 if with_rv else 3)
    assert d2 >= 0.0
    assert d2 == pytest.approx(d2_ref, rel=1e-8, abs=1e-10)
    assert logdet == pytest.approx(logdet_ref, rel=1e-10, abs=1e-10)

    x_ref, P_ref, loglik_ref = naive.kf_update(x, P, z, R, rv, sigma_rv, radar_pos)
    loglik = filters.kf_update(x, P, z, R, rv, sigma_rv, radar_pos)
    assert loglik == pytest.approx(-0.5 * (d2 + logdet + dim * math.log(2.0 * math.pi)),
                                   rel=1e-14, abs=1e-12)
    assert loglik == pytest.approx(loglik_ref, rel=1e-8, abs=1e-8)
    assert_close(x, x_ref, rtol=1e-8)
    assert_close(P, P_ref, rtol=1e-8)


def test_target_at_the_radar_falls_back_to_position_update():
    rng = np.random.default_rng(4)
    x, P = random_state(rng)
    R = np.diag([25.0, 25.0, 100.0])
    z = x[:3] + 3.0
    d2_rv, logdet_rv, dim_rv = filters.innovation(x, P, z, R, 5.0, 1.0, x[:3].copy())
    d2, logdet, dim = filters.innovation(x, P, z, R, np.nan, 1.0, x[:3].copy())
    assert dim_rv == dim == 3
    assert (d2_rv, logdet_rv) == (d2, logdet)


def test_update_with_non_positive_definite_S_changes_nothing():
    x = np.zeros(6)
    P = np.zeros((6, 6))
    R = np.zeros((3, 3))
    loglik = filters.kf_update(x, P, np.ones(3), R, np.nan, 1.0, np.zeros(3))
    assert math.isnan(loglik)
    assert not np.any(x) and not np.any(P)
    d2, logdet, dim = filters.innovation(x, P, np.ones(3), R, np.nan, 1.0, np.zeros(3))
    assert math.isnan(d2) and math.isnan(logdet) and dim == 3


# ---------------------------------------------------------------------------
# IMM
# ---------------------------------------------------------------------------


def manoeuvring_measurements(rng, dt, n_steps, R):
    """Positions of a target flying north, turning left then right, plus noise."""
    state = np.array([500.0, -2000.0, 120.0, 0.0, 15.0, 0.0])
    measurements = []
    for step in range(n_steps):
        omega = 0.12 if 10 <= step < 22 else (-0.08 if 28 <= step < 38 else 0.0)
        state = naive.ct_F(dt, omega) @ state
        measurements.append(state[:3] + rng.multivariate_normal(np.zeros(3), R))
    return measurements


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_imm_matches_filterpy_imm_estimator(seed):
    rng = np.random.default_rng(seed)
    dt = 1.0
    omega, q_h, q_v, log_Pi = filters.make_imm_params(6.0, 0.9, [0.3, 1.5, 1.5], 0.5)
    R = np.diag([30.0**2, 30.0**2, 50.0**2])
    x0 = np.array([480.0, -2020.0, 100.0, 0.0, 12.0, 0.0])
    P0 = np.diag([50.0**2, 50.0**2, 80.0**2, 10.0**2, 10.0**2, 5.0**2])
    mu0 = np.array([0.8, 0.1, 0.1])

    kalman_filters = []
    for m in range(3):
        kf = KalmanFilter(dim_x=6, dim_z=3)
        kf.x = x0.copy()
        kf.P = P0.copy()
        kf.F = naive.ct_F(dt, omega[m])
        kf.Q = naive.white_noise_Q(dt, q_h[m], q_v)
        kf.H = H_POSITION.copy()
        kf.R = R.copy()
        kalman_filters.append(kf)
    imm = IMMEstimator(kalman_filters, mu0, np.exp(log_Pi))

    xm = np.repeat(x0[None], 3, axis=0)
    Pm = np.repeat(P0[None], 3, axis=0)
    log_mu = np.log(mu0)
    x_out = np.empty(6)
    P_out = np.empty((6, 6))
    visited = set()
    for z in manoeuvring_measurements(rng, dt, 45, R):
        imm.predict()
        filters.imm_predict(xm, Pm, log_mu, dt, omega, q_h, q_v, log_Pi)
        for m, kf in enumerate(imm.filters):
            assert_close(xm[m], kf.x)
            assert_close(Pm[m], kf.P)
        assert_close(np.exp(log_mu), imm.cbar)
        # FilterPy combines its priors with the old mu; the predicted
        # combination uses c_j, checked here against a direct sum.
        filters.imm_combine(xm, Pm, log_mu, x_out, P_out)
        x_ref = sum(c * kf.x for c, kf in zip(imm.cbar, imm.filters))
        P_ref = sum(c * (kf.P + np.outer(kf.x - x_ref, kf.x - x_ref))
                    for c, kf in zip(imm.cbar, imm.filters))
        assert_close(x_out, x_ref)
        assert_close(P_out, P_ref)

        log_cbar = np.log(imm.cbar)
        imm.update(z)
        loglik = filters.imm_update(xm, Pm, log_mu, z, R, np.nan, 1.0, np.zeros(3))
        for m, kf in enumerate(imm.filters):
            assert_close(xm[m], kf.x)
            assert_close(Pm[m], kf.P)
        assert_close(np.exp(log_mu), imm.mu)
        expected = logsumexp(log_cbar + [kf.log_likelihood for kf in imm.filters])
        assert loglik == pytest.approx(expected, rel=1e-9)
        filters.imm_combine(xm, Pm, log_mu, x_out, P_out)
        assert_close(x_out, imm.x)
        assert_close(P_out, imm.P)
        visited.add(int(np.argmax(log_mu)))
    # The scenario must exercise more than one model for the test to mean much.
    assert len(visited) >= 2


# ---------------------------------------------------------------------------
# Properties over random sequences
# ---------------------------------------------------------------------------

predict_step = st.tuples(st.just("predict"), st.floats(0.0, 20.0),
                         st.sampled_from([0.0, 0.05, -0.05, 0.3, -1.0]))
update_step = st.tuples(
    st.just("update"),
    st.lists(st.floats(-3.0, 3.0), min_size=3, max_size=3),   # offset, sigmas of S
    st.lists(st.floats(1.0, 300.0), min_size=3, max_size=3),  # R standard deviations
    st.floats(-0.9, 0.9),                                      # e-n correlation of R
    st.one_of(st.just(math.nan), st.floats(-100.0, 100.0)),   # rv
    st.floats(0.05, 10.0),                                     # sigma_rv
    st.floats(50.0, 20000.0),                                  # radar distance
)


def build_update(x, P, step, rng):
    _, offset, sigmas, rho, rv, sigma_rv, distance = step
    R = np.diag(np.square(sigmas))
    R[0, 1] = R[1, 0] = rho * sigmas[0] * sigmas[1]
    z = x[:3] + np.array(offset) * np.sqrt(np.diag(P)[:3] + np.diag(R))
    direction = rng.normal(size=3)
    radar_pos = x[:3] - distance * direction / np.linalg.norm(direction)
    return z, R, rv, sigma_rv, radar_pos


def assert_valid_covariance(P):
    assert np.all(np.isfinite(P))
    assert np.array_equal(P, P.T)
    np.linalg.cholesky(P)  # raises LinAlgError unless positive definite


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1),
       steps=st.lists(st.one_of(predict_step, update_step), min_size=1, max_size=25),
       q_h=st.floats(1e-3, 30.0), q_v=st.floats(1e-3, 5.0))
def test_kalman_covariance_stays_symmetric_positive_definite(seed, steps, q_h, q_v):
    rng = np.random.default_rng(seed)
    x, P = random_state(rng)
    for step in steps:
        if step[0] == "predict":
            filters.ct_predict(x, P, step[1], step[2], q_h, q_v)
        else:
            z, R, rv, sigma_rv, radar_pos = build_update(x, P, step, rng)
            d2, logdet, dim = filters.innovation(x, P, z, R, rv, sigma_rv, radar_pos)
            d2_ref, logdet_ref, _ = naive.innovation(x, P, z, R, rv, sigma_rv, radar_pos)
            assert d2 >= 0.0
            assert d2 == pytest.approx(d2_ref, rel=1e-7, abs=1e-9)
            loglik = filters.kf_update(x, P, z, R, rv, sigma_rv, radar_pos)
            assert math.isfinite(loglik)
        assert np.all(np.isfinite(x))
        assert_valid_covariance(P)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1),
       steps=st.lists(st.one_of(predict_step, update_step), min_size=1, max_size=20),
       turn_rate_dps=st.floats(0.5, 30.0), p_stay=st.floats(0.5, 0.999),
       log_mu_raw=st.lists(st.floats(-700.0, 0.0), min_size=3, max_size=3))
def test_imm_keeps_probabilities_normalised_and_covariances_valid(
        seed, steps, turn_rate_dps, p_stay, log_mu_raw):
    rng = np.random.default_rng(seed)
    omega, q_h, q_v, log_Pi = filters.make_imm_params(turn_rate_dps, p_stay, [0.5, 2.0, 2.0], 1.0)
    x, P = random_state(rng)
    xm = np.repeat(x[None], 3, axis=0)
    Pm = np.repeat(P[None], 3, axis=0)
    log_mu = np.array(log_mu_raw) - logsumexp(log_mu_raw)
    x_out = np.empty(6)
    P_out = np.empty((6, 6))
    for step in steps:
        if step[0] == "predict":
            filters.imm_predict(xm, Pm, log_mu, step[1], omega, q_h, q_v, log_Pi)
        else:
            filters.imm_combine(xm, Pm, log_mu, x_out, P_out)
            z, R, rv, sigma_rv, radar_pos = build_update(x_out, P_out, step, rng)
            loglik = filters.imm_update(xm, Pm, log_mu, z, R, rv, sigma_rv, radar_pos)
            assert math.isfinite(loglik)
        assert np.all(np.isfinite(log_mu))
        assert abs(logsumexp(log_mu)) <= 1e-12
        assert np.all(np.isfinite(xm))
        for m in range(3):
            assert_valid_covariance(Pm[m])
        filters.imm_combine(xm, Pm, log_mu, x_out, P_out)
        assert_valid_covariance(P_out)


def test_imm_with_more_than_eight_models():
    """More than eight models take the heap-scratch path; check a predict,
    update and combine against direct NumPy sums."""
    rng = np.random.default_rng(5)
    M = 11
    omega = np.linspace(-0.2, 0.2, M)
    q_h = rng.uniform(0.1, 3.0, M)
    Pi = rng.uniform(0.1, 1.0, (M, M))
    Pi /= Pi.sum(axis=1, keepdims=True)
    log_Pi = np.log(Pi)
    filters.check_imm_params(omega, q_h, 0.7, log_Pi)
    xm = np.array([random_state(rng)[0] for _ in range(M)])
    Pm = np.array([random_state(rng)[1] for _ in range(M)])
    mu = rng.uniform(0.01, 1.0, M)
    mu /= mu.sum()
    log_mu = np.log(mu)

    c = mu @ Pi
    weights = Pi * mu[:, None] / c[None, :]
    x_ref = np.empty_like(xm)
    P_ref = np.empty_like(Pm)
    for j in range(M):
        x0 = weights[:, j] @ xm
        P0 = sum(weights[i, j] * (Pm[i] + np.outer(xm[i] - x0, xm[i] - x0)) for i in range(M))
        F = naive.ct_F(1.5, omega[j])
        x_ref[j] = F @ x0
        P_ref[j] = F @ P0 @ F.T + naive.white_noise_Q(1.5, q_h[j], 0.7)

    filters.imm_predict(xm, Pm, log_mu, 1.5, omega, q_h, 0.7, log_Pi)
    assert_close(np.exp(log_mu), c)
    for j in range(M):
        assert_close(xm[j], x_ref[j])
        assert_close(Pm[j], P_ref[j])

    z = x_ref[0, :3] + 40.0
    R = np.diag([400.0, 400.0, 900.0])
    updates = [naive.kf_update(x_ref[j], P_ref[j], z, R, np.nan, 1.0, np.zeros(3))
               for j in range(M)]
    log_weights = np.log(c) + np.array([u[2] for u in updates])
    loglik = filters.imm_update(xm, Pm, log_mu, z, R, np.nan, 1.0, np.zeros(3))
    assert loglik == pytest.approx(logsumexp(log_weights), rel=1e-9)
    mu_post = np.exp(log_weights - logsumexp(log_weights))
    assert_close(np.exp(log_mu), mu_post)
    x_out = np.empty(6)
    P_out = np.empty((6, 6))
    filters.imm_combine(xm, Pm, log_mu, x_out, P_out)
    x_comb = sum(mu_post[j] * updates[j][0] for j in range(M))
    P_comb = sum(mu_post[j] * (updates[j][1] + np.outer(updates[j][0] - x_comb,
                                                         updates[j][0] - x_comb))
                 for j in range(M))
    assert_close(x_out, x_comb, rtol=1e-8)
    assert_close(P_out, P_comb, rtol=1e-8)


# ---------------------------------------------------------------------------
# Drivers and Python wrappers
# ---------------------------------------------------------------------------


def random_batch(rng, n):
    states = [random_state(rng) for _ in range(n)]
    x = np.array([s[0] for s in states])
    P = np.array([s[1] for s in states])
    return x, P


@pytest.mark.parametrize("parallel", [False, True])
def test_many_drivers_match_naive_per_track(parallel):
    rng = np.random.default_rng(6)
    n = 40
    x, P = random_batch(rng, n)
    dt = rng.uniform(0.0, 5.0, n)
    dt[::7] = 0.0
    x_ref = np.array([naive.cv_F(dt[i]) @ x[i] for i in range(n)])
    P_ref = np.array([naive.cv_F(dt[i]) @ P[i] @ naive.cv_F(dt[i]).T
                      + naive.white_noise_Q(dt[i], 2.0, 0.3) for i in range(n)])
    filters.cv_predict_many(x, P, dt, 2.0, 0.3, parallel=parallel)
    for i in range(n):
        assert_close(x[i], x_ref[i])
        assert_close(P[i], P_ref[i])

    R = np.array([random_spd(rng, rng.uniform(3.0, 100.0, 3)) for _ in range(n)])
    z = x[:, :3] + rng.normal(scale=20.0, size=(n, 3))
    rv = rng.uniform(-30.0, 30.0, n)
    rv[::3] = np.nan
    sigma_rv = rng.uniform(0.2, 3.0, n)
    radar_pos = np.array([radar_seeing(rng, x[i]) for i in range(n)])
    expected = [naive.kf_update(x[i], P[i], z[i], R[i], rv[i], sigma_rv[i], radar_pos[i])
                for i in range(n)]
    loglik = np.empty(n)
    filters.kf_update_many(x, P, z, R, rv, sigma_rv, radar_pos, loglik, parallel=parallel)
    for i in range(n):
        assert_close(x[i], expected[i][0], rtol=1e-8)
        assert_close(P[i], expected[i][1], rtol=1e-8)
        assert loglik[i] == pytest.approx(expected[i][2], rel=1e-8)


def test_wrappers_reject_bad_arguments():
    x = np.zeros((2, 6))
    P = np.repeat(np.eye(6)[None], 2, axis=0)
    with pytest.raises(ValueError, match=r"P must have shape \(2, 6, 6\)"):
        filters.cv_predict_many(x, P[:1], np.ones(2), 1.0, 1.0)
    with pytest.raises(TypeError, match="x must have dtype float64"):
        filters.cv_predict_many(x.astype(np.float32), P, np.ones(2), 1.0, 1.0)
    with pytest.raises(ValueError, match="dt must be finite and >= 0"):
        filters.cv_predict_many(x, P, np.array([1.0, -0.5]), 1.0, 1.0)
    with pytest.raises(ValueError, match="q_v must be finite and >= 0"):
        filters.cv_predict_many(x, P, np.ones(2), 1.0, -1.0)
    read_only = x.copy()
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="x is updated in place"):
        filters.cv_predict_many(read_only, P, np.ones(2), 1.0, 1.0)

    args = dict(z=np.zeros((2, 3)), R=np.repeat(np.eye(3)[None], 2, axis=0),
                rv=np.array([np.nan, 3.0]), sigma_rv=np.array([1.0, 0.0]),
                radar_pos=np.ones((2, 3)), loglik_out=np.empty(2))
    with pytest.raises(ValueError, match="sigma_rv must be finite and > 0 .*track 1"):
        filters.kf_update_many(x, P, **args)
    args["sigma_rv"] = np.ones(2)
    args["z"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"z must have shape \(2, 3\)"):
        filters.kf_update_many(x, P, **args)
    args["z"] = np.full((2, 3), np.nan)
    with pytest.raises(ValueError, match="z must be finite"):
        filters.kf_update_many(x, P, **args)


def test_make_imm_params_builds_the_standard_model_set():
    omega, q_h, q_v, log_Pi = filters.make_imm_params(3.0, 0.8, [0.5, 2.0, 3.0], 0.25)
    w = 3.0 * math.pi / 180.0
    np.testing.assert_allclose(omega, [0.0, w, -w], rtol=1e-15)
    np.testing.assert_allclose(q_h, [0.25, 4.0, 9.0], rtol=1e-15)
    assert q_v == pytest.approx(0.0625, rel=1e-15)
    np.testing.assert_allclose(np.exp(log_Pi), [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1],
                                                [0.1, 0.1, 0.8]], rtol=1e-14)
    _, q_h_scalar, _, _ = filters.make_imm_params(3.0, 0.8, 2.0, 0.25)
    np.testing.assert_array_equal(q_h_scalar, [4.0, 4.0, 4.0])


@pytest.mark.parametrize("kwargs, message", [
    (dict(p_stay=1.0), "p_stay must be strictly between 0 and 1"),
    (dict(turn_rate_dps=0.0), "turn_rate_dps must be finite and > 0"),
    (dict(sigma_accel_mps2_per_model=[1.0, 2.0]), "one value or three values"),
    (dict(sigma_accel_vertical_mps2=-1.0), "sigma_accel_vertical_mps2 must be"),
])
def test_make_imm_params_rejects_bad_values(kwargs, message):
    arguments = dict(turn_rate_dps=3.0, p_stay=0.9, sigma_accel_mps2_per_model=1.0,
                     sigma_accel_vertical_mps2=1.0)
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        filters.make_imm_params(**arguments)


def test_check_imm_params_rejects_zero_transition_probability():
    Pi = np.array([[1.0, 0.0], [0.5, 0.5]])
    with np.errstate(divide="ignore"):
        log_Pi = np.log(Pi)
    with pytest.raises(ValueError, match="every transition probability must be > 0"):
        filters.check_imm_params(np.zeros(2), np.ones(2), 1.0, log_Pi)
    with pytest.raises(ValueError, match="rows of exp\\(log_Pi\\) must sum to 1"):
        filters.check_imm_params(np.zeros(2), np.ones(2), 1.0, np.log(np.full((2, 2), 0.6)))
