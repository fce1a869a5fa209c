"""Slow reference twins of the fast kernels: plain NumPy, one item at a time."""
import numpy as np


def cv_F_Q(dt, q_h, q_v):
    """Transition and continuous-white-noise-acceleration process noise, CV model."""
    F = np.eye(6)
    F[0, 3] = F[1, 4] = F[2, 5] = dt
    Q = np.zeros((6, 6))
    for axis, q in ((0, q_h), (1, q_h), (2, q_v)):
        Q[axis, axis] = q * dt ** 3 / 3.0
        Q[axis, axis + 3] = Q[axis + 3, axis] = q * dt ** 2 / 2.0
        Q[axis + 3, axis + 3] = q * dt
    return F, Q


def innovation(x, P, z, R, rv, sigma_rv, radar_pos):
    """Mahalanobis distance squared, log det S and dimension of one plot."""
    p = x[:3]
    v = x[3:]
    if np.isnan(rv):
        H = np.hstack([np.eye(3), np.zeros((3, 3))])
        y = z - p
        S = H @ P @ H.T + R
    else:
        d = p - radar_pos
        r = np.linalg.norm(d)
        u = d / r
        h_rv = u @ v
        H = np.zeros((4, 6))
        H[:3, :3] = np.eye(3)
        H[3, :3] = (v - h_rv * u) / r
        H[3, 3:] = u
        y = np.concatenate([z - p, [rv - h_rv]])
        Rf = np.zeros((4, 4))
        Rf[:3, :3] = R
        Rf[3, 3] = sigma_rv ** 2
        S = H @ P @ H.T + Rf
    d2 = float(y @ np.linalg.solve(S, y))
    return d2, float(np.linalg.slogdet(S)[1]), y.size


def gate(track_slots, x, P, t_track, z, R, rv, sigma_rv, radar_pos, t_plot, q_h, q_v,
         gamma_3, gamma_4):
    """Every (track, plot) pair tested: predict, Mahalanobis, threshold."""
    pairs = {}
    for i in track_slots:
        for j in range(z.shape[0]):
            F, Q = cv_F_Q(max(t_plot[j] - t_track[i], 0.0), q_h, q_v)
            xp = F @ x[i]
            Pp = F @ P[i] @ F.T + Q
            d2, logdet, dim = innovation(xp, Pp, z[j], R[j], rv[j], sigma_rv[j], radar_pos[j])
            if d2 <= (gamma_4 if dim == 4 else gamma_3):
                pairs[(int(i), j)] = (d2, logdet, dim)
    return pairs
