"""Slow, readable references for ``kernels.geodesy``.

Plain Python loops and NumPy matrix products, derived independently of the
kernels where possible: the ENU axes come from the derivatives of the ellipsoid
surface, latitude from a long fixed-point iteration, the polar Jacobian from
the formula written as a matrix.
"""
import math

import numpy as np

A_M = 6378137.0
F = 1.0 / 298.257223563
E2 = F * (2.0 - F)


def geodetic_to_ecef(lat_deg, lon_deg, alt_m):
    """One point, scalars, to an ECEF vector (3,)."""
    phi = math.radians(lat_deg)
    lam = math.radians(lon_deg)
    N = A_M / math.sqrt(1.0 - E2 * math.sin(phi) ** 2)
    return np.array([(N + alt_m) * math.cos(phi) * math.cos(lam),
                     (N + alt_m) * math.cos(phi) * math.sin(lam),
                     (N * (1.0 - E2) + alt_m) * math.sin(phi)])


def ecef_to_geodetic(x, y, z, iterations=60):
    """One point by the fixed-point iteration phi = atan2(z, p (1 - e^2 N/(N+h)))."""
    p = math.hypot(x, y)
    phi = math.atan2(z, p * (1.0 - E2))
    h = 0.0
    for _ in range(iterations):
        N = A_M / math.sqrt(1.0 - E2 * math.sin(phi) ** 2)
        h = p * math.cos(phi) + z * math.sin(phi) - A_M * math.sqrt(1.0 - E2 * math.sin(phi) ** 2)
        phi = math.atan2(z, p * (1.0 - E2 * N / (N + h)))
    N = A_M / math.sqrt(1.0 - E2 * math.sin(phi) ** 2)
    h = p * math.cos(phi) + z * math.sin(phi) - A_M * math.sqrt(1.0 - E2 * math.sin(phi) ** 2)
    return math.degrees(phi), math.degrees(math.atan2(y, x)), h


def enu_rotation(lat_deg, lon_deg):
    """E and N as normalised derivatives of the surface point by lon and lat, U = E x N."""
    step_deg = 1e-6
    east = (geodetic_to_ecef(lat_deg, lon_deg + step_deg, 0.0)
            - geodetic_to_ecef(lat_deg, lon_deg - step_deg, 0.0))
    north = (geodetic_to_ecef(lat_deg + step_deg, lon_deg, 0.0)
             - geodetic_to_ecef(lat_deg - step_deg, lon_deg, 0.0))
    east /= np.linalg.norm(east)
    north /= np.linalg.norm(north)
    up = np.cross(east, north)
    return np.vstack([east, north, up])


def polar_to_enu(range_m, azimuth_deg, elevation_deg, radar_index, M, b, sigma):
    """Loop over plots with full matrices: z = M l_debiased + b, R = M J D J^T M^T."""
    n = len(range_m)
    z = np.empty((n, 3))
    R = np.empty((n, 3, 3))
    for j in range(n):
        k = radar_index[j]
        r = range_m[j]
        a = math.radians(azimuth_deg[j])
        e = math.radians(elevation_deg[j])
        sigma_r = sigma[k, 0]
        sigma_a = math.radians(sigma[k, 1])
        sigma_e = math.radians(sigma[k, 2])
        lambda_a = math.exp(-sigma_a ** 2 / 2.0)
        lambda_e = math.exp(-sigma_e ** 2 / 2.0)
        debias = np.array([1.0 / (lambda_a * lambda_e), 1.0 / (lambda_a * lambda_e),
                           1.0 / lambda_e])
        local = r * np.array([math.cos(e) * math.sin(a), math.cos(e) * math.cos(a), math.sin(e)])
        z[j] = M[k] @ (debias * local) + b[k]
        J = np.array([
            [math.cos(e) * math.sin(a), r * math.cos(e) * math.cos(a), -r * math.sin(e) * math.sin(a)],
            [math.cos(e) * math.cos(a), -r * math.cos(e) * math.sin(a), -r * math.sin(e) * math.cos(a)],
            [math.sin(e), 0.0, r * math.cos(e)],
        ])
        D = np.diag([sigma_r ** 2, sigma_a ** 2, sigma_e ** 2])
        R[j] = M[k] @ J @ D @ J.T @ M[k].T
    return z, R


def enu_to_polar(enu, M, b):
    """Loop over points: l = M^{-1} (p - b), then range, azimuth, elevation."""
    M_inv = np.linalg.inv(M)
    out = np.empty((len(enu), 3))
    for j, point in enumerate(enu):
        l = M_inv @ (point - b)
        out[j, 0] = np.linalg.norm(l)
        azimuth_deg = math.degrees(math.atan2(l[0], l[1])) % 360.0
        out[j, 1] = 0.0 if azimuth_deg == 360.0 else azimuth_deg  # -tiny % 360 is 360
        out[j, 2] = math.degrees(math.asin(l[2] / out[j, 0]))
    return out


def radial_velocity(enu, v_enu, b):
    """Loop over points: unit line of sight dotted with velocity."""
    out = np.empty(len(enu))
    for j in range(len(enu)):
        line_of_sight = enu[j] - b
        out[j] = line_of_sight @ v_enu[j] / np.linalg.norm(line_of_sight)
    return out
