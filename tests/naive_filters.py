"""Slow, obvious NumPy twins of the filter kernels in ``kernels/filters.py``.

Everything here is written from the textbook formulas with full matrices,
``@`` and ``np.linalg``; none of it is shared with the kernels.
"""
import math

import numpy as np


def cv_F(dt):
    """Nearly-constant-velocity transition matrix, shape (6, 6)."""
    F = np.eye(6)
    for k in range(3):
        F[k, k + 3] = dt
    return F


def white_noise_Q(dt, q_h, q_v):
    """Continuous white-noise acceleration process noise, shape (6, 6)."""
    Q = np.zeros((6, 6))
    for k, q in enumerate((q_h, q_h, q_v)):
        Q[k, k] = q * dt**3 / 3.0
        Q[k, k + 3] = Q[k + 3, k] = q * dt**2 / 2.0
        Q[k + 3, k + 3] = q * dt
    return Q


def ct_F(dt, omega):
    """Coordinated-turn transition matrix from the closed-form formulas.

    Uses ``sin(w dt) / w`` and ``(1 - cos(w dt)) / w`` directly, so it is
    only accurate for ``|w dt|`` well above 1e-4; ``omega == 0`` gives CV.
    """
    if omega == 0.0:
        return cv_F(dt)
    a = omega * dt
    s = math.sin(a) / omega
    c = (1.0 - math.cos(a)) / omega
    F = cv_F(dt)
    # rows/columns: e=0, n=1, ve=3, vn=4
    F[0, 3], F[0, 4] = s, -c
    F[1, 3], F[1, 4] = c, s
    F[3, 3], F[3, 4] = math.cos(a), -math.sin(a)
    F[4, 3], F[4, 4] = math.sin(a), math.cos(a)
    return F


def ou_vertical_F_Q(dt, q_v, tau_v):
    """Vertical ``(F, Q)`` (2x2 each, on ``(u, v_u)``) of an Ornstein-Uhlenbeck
    velocity ``dv = -v / tau_v dt + sqrt(q_v) dW``: ``F = expm(A dt)`` and
    ``Q = q_v int_0^dt g(s) g(s)^T ds`` by adaptive quadrature, with
    ``g(s) = expm(A s) [0, 1]^T = [tau (1 - e^(-s/tau)), e^(-s/tau)]``;
    nothing from the kernel's closed form of ``Q``.

    The quadrature runs over ``u = s / dt`` in ``[0, 1]`` with ``q_v dt`` taken
    out, and ``1 - e^(-s/tau)`` is computed with ``expm1``: an integrand that
    is exactly zero (``q_v = 0``) or an interval of 1e-279 s otherwise never
    meets a relative tolerance, and the quadrature spent seconds per call
    failing to."""
    from scipy.integrate import quad_vec
    from scipy.linalg import expm

    A = np.array([[0.0, 1.0], [0.0, -1.0 / tau_v]])

    def integrand(u):
        s = dt * u
        g = np.array([-tau_v * math.expm1(-s / tau_v), math.exp(-s / tau_v)])
        return np.outer(g, g)

    if dt > 0.0 and q_v != 0.0:
        Q = q_v * dt * quad_vec(integrand, 0.0, 1.0, epsabs=0.0, epsrel=1e-13)[0]
    else:
        Q = np.zeros((2, 2))
    return expm(A * dt), Q


def predict_F_Q(dt, omega, q_h, q_v, tau_v=0.0):
    """``(F, Q)`` of the CT/CV prediction (6x6), with an Ornstein-Uhlenbeck
    vertical velocity when ``tau_v > 0``."""
    F = ct_F(dt, omega)
    if tau_v <= 0.0:
        return F, white_noise_Q(dt, q_h, q_v)
    Q = white_noise_Q(dt, q_h, 0.0)
    F_v, Q_v = ou_vertical_F_Q(dt, q_v, tau_v)
    idx = np.ix_([2, 5], [2, 5])
    F[idx] = F_v
    Q[idx] = Q_v
    return F, Q


def uses_radial_velocity(x, rv, radar_pos):
    return (not np.isnan(rv)) and np.linalg.norm(x[:3] - radar_pos) > 0.0


def h_measurement(x, radar_pos, with_rv):
    """Predicted measurement ``[p]`` or ``[p; u . v]``."""
    p = x[:3]
    if not with_rv:
        return p.copy()
    line_of_sight = p - radar_pos
    u = line_of_sight / np.linalg.norm(line_of_sight)
    return np.concatenate([p, [u @ x[3:]]])


def H_jacobian(x, radar_pos, with_rv):
    """Jacobian of :func:`h_measurement`, shape (3, 6) or (4, 6)."""
    H = np.zeros((4 if with_rv else 3, 6))
    H[:3, :3] = np.eye(3)
    if with_rv:
        line_of_sight = x[:3] - radar_pos
        r = np.linalg.norm(line_of_sight)
        u = line_of_sight / r
        v = x[3:]
        H[3, :3] = (v - (u @ v) * u) / r
        H[3, 3:] = u
    return H


def measurement_covariance(R, sigma_rv, with_rv):
    if not with_rv:
        return np.array(R, dtype=float)
    R_z = np.zeros((4, 4))
    R_z[:3, :3] = R
    R_z[3, 3] = sigma_rv**2
    return R_z


def measurement_vector(z, rv, with_rv):
    return np.concatenate([z, [rv]]) if with_rv else np.array(z, dtype=float)


def innovation(x, P, z, R, rv, sigma_rv, radar_pos):
    """``(d2, log det S, dim)`` with ``np.linalg.solve`` and ``slogdet``."""
    with_rv = uses_radial_velocity(x, rv, radar_pos)
    H = H_jacobian(x, radar_pos, with_rv)
    y = measurement_vector(z, rv, with_rv) - h_measurement(x, radar_pos, with_rv)
    S = H @ P @ H.T + measurement_covariance(R, sigma_rv, with_rv)
    sign, logdet = np.linalg.slogdet(S)
    assert sign > 0
    return float(y @ np.linalg.solve(S, y)), float(logdet), len(y)


def kf_update(x, P, z, R, rv, sigma_rv, radar_pos):
    """Textbook (E)KF update with an explicit inverse and the Joseph form.

    Returns new ``(x, P, loglik)``.
    """
    with_rv = uses_radial_velocity(x, rv, radar_pos)
    H = H_jacobian(x, radar_pos, with_rv)
    R_z = measurement_covariance(R, sigma_rv, with_rv)
    y = measurement_vector(z, rv, with_rv) - h_measurement(x, radar_pos, with_rv)
    S = H @ P @ H.T + R_z
    K = P @ H.T @ np.linalg.inv(S)
    I_KH = np.eye(6) - K @ H
    P_new = I_KH @ P @ I_KH.T + K @ R_z @ K.T
    loglik = -0.5 * (y @ np.linalg.solve(S, y) + np.linalg.slogdet(S)[1]
                     + len(y) * math.log(2.0 * math.pi))
    return x + K @ y, P_new, float(loglik)
