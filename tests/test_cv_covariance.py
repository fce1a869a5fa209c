"""The one CV predicted covariance against the exact F P F' + Q, and its users."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import filters, gating

SEEDS = st.integers(0, 2 ** 32 - 1)


def exact_prediction(P, dt, q_h, q_v):
    """F P F' + Q from full 6x6 matrices."""
    F = np.eye(6)
    F[:3, 3:] = dt * np.eye(3)
    Q = np.zeros((6, 6))
    for k, q in enumerate((q_h, q_h, q_v)):
        Q[np.ix_([k, k + 3], [k, k + 3])] = q * np.array([[dt ** 3 / 3, dt ** 2 / 2], [dt ** 2 / 2, dt]])
    return F @ P @ F.T + Q


def random_covariance(rng):
    A = rng.normal(size=(6, 6)) * rng.uniform(0.1, 100.0, 6)
    return A @ A.T + np.eye(6)


@settings(max_examples=100, deadline=None)
@given(SEEDS, st.floats(0.0, 30.0), st.floats(0.0, 10.0), st.floats(0.0, 10.0))
def test_every_element_matches_the_exact_product(seed, dt, q_h, q_v):
    rng = np.random.default_rng(seed)
    P = random_covariance(rng)
    P[1, 4] += 3.0                      # not symmetric: each element reads its own entries
    want = exact_prediction(P, dt, q_h, q_v)
    scale = np.abs(want).max()
    for a in range(6):
        for b in range(6):
            got = filters.cv_predicted_covariance(P, dt, q_h, q_v, a, b)
            assert got == pytest.approx(want[a, b], rel=1e-12, abs=1e-12 * scale), (a, b)


@settings(max_examples=50, deadline=None)
@given(SEEDS, st.floats(0.0, 30.0), st.floats(0.0, 10.0), st.floats(0.0, 10.0))
def test_users_agree_with_the_exact_product(seed, dt, q_h, q_v):
    rng = np.random.default_rng(seed)
    P = random_covariance(rng)
    want = exact_prediction(P, dt, q_h, q_v)
    # cv_predict: the whole matrix, symmetric
    x = rng.normal(size=6)
    P_cv = P.copy()
    filters.cv_predict(x, P_cv, dt, q_h, q_v)
    np.testing.assert_allclose(P_cv, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    np.testing.assert_array_equal(P_cv, P_cv.T)
    # gating: the trace of the horizontal block and the position innovation
    assert gating.trace_horizontal_predicted(P, dt, q_h) == pytest.approx(want[0, 0] + want[1, 1], rel=1e-12)
    R = np.diag(rng.uniform(1.0, 50.0, 3))
    z = rng.normal(size=3) * 100.0
    d2, logdet = gating.position_innovation(x, P, dt, q_h, q_v, z, R)
    S = want[:3, :3] + R
    y = z - (x[:3] + dt * x[3:])
    assert d2 == pytest.approx(y @ np.linalg.solve(S, y), rel=1e-9)
    assert logdet == pytest.approx(np.linalg.slogdet(S)[1], rel=1e-9, abs=1e-9)
