"""Geodesy and polar-conversion kernels on the WGS-84 ellipsoid.

Frames
------
ECEF
    Earth-centred, Earth-fixed Cartesian coordinates, metres.
Geodetic
    ``lat_deg, lon_deg, alt_m``: geodetic latitude and longitude in degrees,
    height above the WGS-84 ellipsoid in metres.
ENU
    East-North-Up on the plane tangent to the ellipsoid at a point (the
    geodetic normal is Up).  The site frame is the ENU frame of the site
    origin; every radar also has its own radar-local ENU frame.
Polar
    ``range_m, azimuth_deg, elevation_deg`` as a radar measures them: azimuth
    clockwise from true north at the radar, elevation upwards from the radar's
    own local horizontal plane (its ellipsoid normal).

A radar kilometres away from the origin has a tangent plane tilted with respect
to the origin's (about 1.6 mrad per 10 km), so a radar-local vector ``l`` is
taken to the site frame by the exact rigid transform ``M @ l + b`` of
:func:`radar_frame`, never by adding offsets.

With ``C`` the ECEF position of a frame's origin and ``R`` its
:func:`enu_rotation` (rows are the E, N, U unit vectors in ECEF)::

    enu  = R (ecef - C)
    ecef = R^T enu + C

The ``@njit`` kernels check the shapes of their arguments and raise
``ValueError`` (or ``IndexError`` for a radar index outside the tables) with a
plain message, from Python and from other kernels alike; each loops over rows
and calls a small per-row worker.
"""
import math

import numpy as np

from kernels._jit import njit

#: WGS-84 semi-major axis (m).
WGS84_A_M = 6378137.0
#: WGS-84 flattening.
WGS84_F = 1.0 / 298.257223563
#: WGS-84 semi-minor axis (m), b = a (1 - f).
WGS84_B_M = WGS84_A_M * (1.0 - WGS84_F)
#: First eccentricity squared, e^2 = f (2 - f).
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
#: Second eccentricity squared, e'^2 = e^2 / (1 - e^2).
WGS84_EP2 = WGS84_E2 / (1.0 - WGS84_E2)

# The constants above are true constants of the ellipsoid, frozen into the
# kernels at compile time on purpose; they are not tunable thresholds.
_A = WGS84_A_M
_B = WGS84_B_M
_E2 = WGS84_E2
_EP2 = WGS84_EP2
_DEG = math.pi / 180.0
_RAD = 180.0 / math.pi
# Bowring's iteration: stop when the latitude moves by less than this (rad,
# about 6e-8 m on the ground) or after this many steps; it converges in two or
# three steps for any height between -1 km and far above 100 km.
_LAT_TOL_RAD = 1e-14
_MAX_ITER = 10


# --------------------------------------------------------------------------
# Workers: one point each, scalars in, tuples out, no allocation.
# --------------------------------------------------------------------------

@njit(inline="always")
def _geodetic_to_ecef_one(lat_deg, lon_deg, alt_m):
    """One point: N = a / sqrt(1 - e^2 sin^2 phi), then
    x = (N + h) cos phi cos lam, y = (N + h) cos phi sin lam,
    z = (N (1 - e^2) + h) sin phi."""
    phi = lat_deg * _DEG
    lam = lon_deg * _DEG
    sin_phi = math.sin(phi)
    cos_phi = math.cos(phi)
    N = _A / math.sqrt(1.0 - _E2 * sin_phi * sin_phi)
    return ((N + alt_m) * cos_phi * math.cos(lam),
            (N + alt_m) * cos_phi * math.sin(lam),
            (N * (1.0 - _E2) + alt_m) * sin_phi)


@njit(inline="always")
def _ecef_to_geodetic_one(x, y, z):
    """One point by Bowring's iteration, see :func:`ecef_to_geodetic`."""
    p = math.sqrt(x * x + y * y)
    beta = math.atan2(_A * z, _B * p)
    phi = 4.0  # outside [-pi/2, pi/2]: the first step never counts as converged
    for _ in range(_MAX_ITER):
        sin_beta = math.sin(beta)
        cos_beta = math.cos(beta)
        phi_new = math.atan2(z + _EP2 * _B * sin_beta * sin_beta * sin_beta,
                             p - _E2 * _A * cos_beta * cos_beta * cos_beta)
        converged = abs(phi_new - phi) < _LAT_TOL_RAD
        phi = phi_new
        if converged:
            break
        # Parametric (reduced) latitude of the current estimate.
        beta = math.atan2((1.0 - WGS84_F) * math.sin(phi), math.cos(phi))
    sin_phi = math.sin(phi)
    cos_phi = math.cos(phi)
    # Height as the projection on the normal: well conditioned at every
    # latitude, poles included, and first-order insensitive to an error in phi.
    h = p * cos_phi + z * sin_phi - _A * math.sqrt(1.0 - _E2 * sin_phi * sin_phi)
    return phi * _RAD, math.atan2(y, x) * _RAD, h


@njit(inline="always")
def _polar_to_local_one(range_m, azimuth_deg, elevation_deg):
    """l = r [cos(el) sin(az), cos(el) cos(az), sin(el)] in the radar frame."""
    az = azimuth_deg * _DEG
    el = elevation_deg * _DEG
    horizontal = range_m * math.cos(el)
    return horizontal * math.sin(az), horizontal * math.cos(az), range_m * math.sin(el)


# --------------------------------------------------------------------------
# Drivers: public kernels.
# --------------------------------------------------------------------------

@njit
def geodetic_to_ecef(lat_deg, lon_deg, alt_m, out):
    """Geodetic coordinates to ECEF.

    .. math::

        N = a / \\sqrt{1 - e^2 \\sin^2\\varphi}, \\quad
        x = (N + h)\\cos\\varphi\\cos\\lambda, \\quad
        y = (N + h)\\cos\\varphi\\sin\\lambda, \\quad
        z = (N(1 - e^2) + h)\\sin\\varphi

    Parameters
    ----------
    lat_deg, lon_deg, alt_m : ndarray, shape (n,)
        Geodetic latitude and longitude (degrees), height above the
        ellipsoid (m).
    out : ndarray, shape (n, 3)
        Written with ECEF x, y, z (m).
    """
    n = lat_deg.shape[0]
    if lon_deg.shape[0] != n or alt_m.shape[0] != n:
        raise ValueError("geodetic_to_ecef: lat_deg, lon_deg and alt_m must have the same length")
    if out.shape[0] != n or out.shape[1] != 3:
        raise ValueError("geodetic_to_ecef: out must have shape (n, 3)")
    for j in range(n):
        x, y, z = _geodetic_to_ecef_one(lat_deg[j], lon_deg[j], alt_m[j])
        out[j, 0] = x
        out[j, 1] = y
        out[j, 2] = z


@njit
def ecef_to_geodetic(ecef, out):
    """ECEF to geodetic coordinates (Bowring's method iterated to convergence).

    With p = sqrt(x^2 + y^2), start from the parametric latitude
    beta = atan2(a z, b p) and repeat

    .. math::

        \\varphi = \\operatorname{atan2}(z + e'^2 b \\sin^3\\beta,\\;
                                         p - e^2 a \\cos^3\\beta), \\quad
        \\beta = \\operatorname{atan2}((1 - f)\\sin\\varphi, \\cos\\varphi)

    until phi moves by less than 1e-14 rad, then

    .. math::

        h = p\\cos\\varphi + z\\sin\\varphi - a\\sqrt{1 - e^2\\sin^2\\varphi},
        \\quad \\lambda = \\operatorname{atan2}(y, x)

    Accurate to far below a millimetre from -1 km to beyond 100 km height,
    poles included (on the polar axis the longitude is 0).

    Parameters
    ----------
    ecef : ndarray, shape (n, 3)
        ECEF x, y, z (m).
    out : ndarray, shape (n, 3)
        Written with lat_deg, lon_deg (in (-180, 180]), alt_m.
    """
    n = ecef.shape[0]
    if ecef.shape[1] != 3:
        raise ValueError("ecef_to_geodetic: ecef must have shape (n, 3)")
    if out.shape[0] != n or out.shape[1] != 3:
        raise ValueError("ecef_to_geodetic: out must have shape (n, 3)")
    for j in range(n):
        lat, lon, h = _ecef_to_geodetic_one(ecef[j, 0], ecef[j, 1], ecef[j, 2])
        out[j, 0] = lat
        out[j, 1] = lon
        out[j, 2] = h


@njit
def enu_rotation(lat_deg, lon_deg):
    """Rotation from ECEF to the ENU frame at a geodetic point.

    .. math::

        R = \\begin{bmatrix}
            -\\sin\\lambda & \\cos\\lambda & 0 \\\\
            -\\sin\\varphi\\cos\\lambda & -\\sin\\varphi\\sin\\lambda & \\cos\\varphi \\\\
            \\cos\\varphi\\cos\\lambda & \\cos\\varphi\\sin\\lambda & \\sin\\varphi
        \\end{bmatrix}

    Rows are the East, North and Up unit vectors expressed in ECEF, so
    ``enu = R @ (ecef - origin_ecef)`` and ``ecef = R.T @ enu + origin_ecef``.

    Parameters
    ----------
    lat_deg, lon_deg : float
        Geodetic latitude and longitude of the tangent point (degrees).

    Returns
    -------
    rot : ndarray, shape (3, 3)
    """
    phi = lat_deg * _DEG
    lam = lon_deg * _DEG
    sin_phi = math.sin(phi)
    cos_phi = math.cos(phi)
    sin_lam = math.sin(lam)
    cos_lam = math.cos(lam)
    rot = np.empty((3, 3))
    rot[0, 0] = -sin_lam
    rot[0, 1] = cos_lam
    rot[0, 2] = 0.0
    rot[1, 0] = -sin_phi * cos_lam
    rot[1, 1] = -sin_phi * sin_lam
    rot[1, 2] = cos_phi
    rot[2, 0] = cos_phi * cos_lam
    rot[2, 1] = cos_phi * sin_lam
    rot[2, 2] = sin_phi
    return rot


@njit
def ecef_to_enu(ecef, origin_ecef, rot, out):
    """ECEF to the ENU frame with origin ``origin_ecef`` and rotation ``rot``.

    .. math:: \\mathrm{enu} = R\\,(\\mathrm{ecef} - C)

    Parameters
    ----------
    ecef : ndarray, shape (n, 3)
    origin_ecef : ndarray, shape (3,)
        ECEF position C of the frame origin (m).
    rot : ndarray, shape (3, 3)
        R from :func:`enu_rotation` at the origin.
    out : ndarray, shape (n, 3)
        Written with east, north, up (m).
    """
    if origin_ecef.shape[0] != 3:
        raise ValueError("ecef_to_enu: origin_ecef must have shape (3,)")
    if rot.shape[0] != 3 or rot.shape[1] != 3:
        raise ValueError("ecef_to_enu: rot must have shape (3, 3)")
    if ecef.shape[1] != 3:
        raise ValueError("ecef_to_enu: ecef must have shape (n, 3)")
    if out.shape[0] != ecef.shape[0] or out.shape[1] != 3:
        raise ValueError("ecef_to_enu: out must have shape (n, 3)")
    for j in range(ecef.shape[0]):
        dx = ecef[j, 0] - origin_ecef[0]
        dy = ecef[j, 1] - origin_ecef[1]
        dz = ecef[j, 2] - origin_ecef[2]
        for row in range(3):
            out[j, row] = rot[row, 0] * dx + rot[row, 1] * dy + rot[row, 2] * dz


@njit
def enu_to_ecef(enu, origin_ecef, rot, out):
    """ENU (frame ``origin_ecef``, ``rot``) to ECEF.

    .. math:: \\mathrm{ecef} = R^T \\mathrm{enu} + C

    Parameters
    ----------
    enu : ndarray, shape (n, 3)
    origin_ecef : ndarray, shape (3,)
    rot : ndarray, shape (3, 3)
    out : ndarray, shape (n, 3)
        Written with ECEF x, y, z (m).
    """
    if origin_ecef.shape[0] != 3:
        raise ValueError("enu_to_ecef: origin_ecef must have shape (3,)")
    if rot.shape[0] != 3 or rot.shape[1] != 3:
        raise ValueError("enu_to_ecef: rot must have shape (3, 3)")
    if enu.shape[1] != 3:
        raise ValueError("enu_to_ecef: enu must have shape (n, 3)")
    if out.shape[0] != enu.shape[0] or out.shape[1] != 3:
        raise ValueError("enu_to_ecef: out must have shape (n, 3)")
    for j in range(enu.shape[0]):
        east = enu[j, 0]
        north = enu[j, 1]
        up = enu[j, 2]
        for col in range(3):
            out[j, col] = (rot[0, col] * east + rot[1, col] * north + rot[2, col] * up
                           + origin_ecef[col])


@njit
def enu_to_geodetic(enu, origin_ecef, rot, out):
    """Site-frame ENU to geodetic coordinates, through ECEF.

    .. math:: (\\varphi, \\lambda, h) = \\mathrm{geodetic}(R^T \\mathrm{enu} + C)

    Parameters
    ----------
    enu : ndarray, shape (n, 3)
    origin_ecef : ndarray, shape (3,)
    rot : ndarray, shape (3, 3)
    out : ndarray, shape (n, 3)
        Written with lat_deg, lon_deg, alt_m.
    """
    enu_to_ecef(enu, origin_ecef, rot, out)       # checks the shapes; ECEF in place
    for j in range(out.shape[0]):
        lat, lon, h = _ecef_to_geodetic_one(out[j, 0], out[j, 1], out[j, 2])
        out[j, 0] = lat
        out[j, 1] = lon
        out[j, 2] = h


@njit
def geodetic_to_enu(lat_deg, lon_deg, alt_m, origin_ecef, rot, out):
    """Geodetic coordinates to site-frame ENU, through ECEF.

    .. math:: \\mathrm{enu} = R\\,(\\mathrm{ecef}(\\varphi, \\lambda, h) - C)

    Parameters
    ----------
    lat_deg, lon_deg, alt_m : ndarray, shape (n,)
    origin_ecef : ndarray, shape (3,)
    rot : ndarray, shape (3, 3)
    out : ndarray, shape (n, 3)
        Written with east, north, up (m).
    """
    if origin_ecef.shape[0] != 3:
        raise ValueError("geodetic_to_enu: origin_ecef must have shape (3,)")
    if rot.shape[0] != 3 or rot.shape[1] != 3:
        raise ValueError("geodetic_to_enu: rot must have shape (3, 3)")
    n = lat_deg.shape[0]
    if lon_deg.shape[0] != n or alt_m.shape[0] != n:
        raise ValueError("geodetic_to_enu: lat_deg, lon_deg and alt_m must have the same length")
    if out.shape[0] != n or out.shape[1] != 3:
        raise ValueError("geodetic_to_enu: out must have shape (n, 3)")
    for j in range(n):
        x, y, z = _geodetic_to_ecef_one(lat_deg[j], lon_deg[j], alt_m[j])
        dx = x - origin_ecef[0]
        dy = y - origin_ecef[1]
        dz = z - origin_ecef[2]
        for row in range(3):
            out[j, row] = rot[row, 0] * dx + rot[row, 1] * dy + rot[row, 2] * dz


def radar_frame(radar_lat_deg, radar_lon_deg, radar_alt_m,
                origin_lat_deg, origin_lon_deg, origin_alt_m):
    """Rigid transform from a radar's local ENU frame to the site ENU frame.

    .. math::

        M = R_o R_r^T, \\qquad b = R_o (C_r - C_o), \\qquad
        p_{\\mathrm{site}} = M\\,l + b

    where ``R`` and ``C`` are the :func:`enu_rotation` and ECEF position of
    the radar (r) and of the site origin (o).  ``b`` is the radar's position
    in the site frame.  Called once per radar at start-up.

    Parameters
    ----------
    radar_lat_deg, radar_lon_deg, radar_alt_m : float
        Radar antenna position (degrees, degrees, metres above the ellipsoid).
    origin_lat_deg, origin_lon_deg, origin_alt_m : float
        Site origin (tangent point of the site ENU frame).

    Returns
    -------
    M : ndarray, shape (3, 3)
    b : ndarray, shape (3,)
    """
    values = np.array([radar_lat_deg, radar_lon_deg, radar_alt_m,
                       origin_lat_deg, origin_lon_deg, origin_alt_m], dtype=np.float64)
    names = ("radar_lat_deg", "radar_lon_deg", "radar_alt_m",
             "origin_lat_deg", "origin_lon_deg", "origin_alt_m")
    for name, value in zip(names, values):
        if not np.isfinite(value):
            raise ValueError(f"radar_frame: {name} must be finite, got {value}")
    for name, value in ((names[0], values[0]), (names[3], values[3])):
        if not -90.0 <= value <= 90.0:
            raise ValueError(f"radar_frame: {name} must be within [-90, 90], got {value}")
    ecef = np.empty((2, 3))
    geodetic_to_ecef(values[[0, 3]], values[[1, 4]], values[[2, 5]], ecef)
    rot_radar = enu_rotation(values[0], values[1])
    rot_origin = enu_rotation(values[3], values[4])
    M = rot_origin @ rot_radar.T
    b = rot_origin @ (ecef[0] - ecef[1])
    return M, b


@njit(inline="always")
def _polar_to_enu_one(range_m, azimuth_deg, elevation_deg,
                      M, b, sigma, k, z_out, R_out, j):
    """One plot of :func:`polar_to_enu` from radar ``k`` into row ``j``."""
    az = azimuth_deg * _DEG
    el = elevation_deg * _DEG
    sin_az = math.sin(az)
    cos_az = math.cos(az)
    sin_el = math.sin(el)
    cos_el = math.cos(el)
    sigma_r = sigma[k, 0]
    sigma_a = sigma[k, 1] * _DEG
    sigma_e = sigma[k, 2] * _DEG
    lambda_a = math.exp(-0.5 * sigma_a * sigma_a)
    lambda_e = math.exp(-0.5 * sigma_e * sigma_e)

    # Debiased radar-local position (multiplicative unbiased conversion).
    horizontal = range_m * cos_el / (lambda_a * lambda_e)
    l0 = horizontal * sin_az
    l1 = horizontal * cos_az
    l2 = range_m * sin_el / lambda_e

    # Jacobian columns d l / d(r, az, el) at the measured (not debiased) point;
    # R = G diag(sr^2, sa^2, se^2) G^T with G = M J.
    jr0 = cos_el * sin_az
    jr1 = cos_el * cos_az
    jr2 = sin_el
    ja0 = range_m * cos_el * cos_az
    ja1 = -range_m * cos_el * sin_az
    je0 = -range_m * sin_el * sin_az
    je1 = -range_m * sin_el * cos_az
    je2 = range_m * cos_el

    # G = M J, column by column (r, a, e).
    g_r0 = M[k, 0, 0] * jr0 + M[k, 0, 1] * jr1 + M[k, 0, 2] * jr2
    g_r1 = M[k, 1, 0] * jr0 + M[k, 1, 1] * jr1 + M[k, 1, 2] * jr2
    g_r2 = M[k, 2, 0] * jr0 + M[k, 2, 1] * jr1 + M[k, 2, 2] * jr2
    g_a0 = M[k, 0, 0] * ja0 + M[k, 0, 1] * ja1
    g_a1 = M[k, 1, 0] * ja0 + M[k, 1, 1] * ja1
    g_a2 = M[k, 2, 0] * ja0 + M[k, 2, 1] * ja1
    g_e0 = M[k, 0, 0] * je0 + M[k, 0, 1] * je1 + M[k, 0, 2] * je2
    g_e1 = M[k, 1, 0] * je0 + M[k, 1, 1] * je1 + M[k, 1, 2] * je2
    g_e2 = M[k, 2, 0] * je0 + M[k, 2, 1] * je1 + M[k, 2, 2] * je2
    for row in range(3):
        z_out[j, row] = (M[k, row, 0] * l0 + M[k, row, 1] * l1 + M[k, row, 2] * l2
                         + b[k, row])

    var_r = sigma_r * sigma_r
    var_a = sigma_a * sigma_a
    var_e = sigma_e * sigma_e
    # Each entry is built once and mirrored, so R_out is exactly symmetric.
    R00 = var_r * g_r0 * g_r0 + var_a * g_a0 * g_a0 + var_e * g_e0 * g_e0
    R01 = var_r * g_r0 * g_r1 + var_a * g_a0 * g_a1 + var_e * g_e0 * g_e1
    R02 = var_r * g_r0 * g_r2 + var_a * g_a0 * g_a2 + var_e * g_e0 * g_e2
    R11 = var_r * g_r1 * g_r1 + var_a * g_a1 * g_a1 + var_e * g_e1 * g_e1
    R12 = var_r * g_r1 * g_r2 + var_a * g_a1 * g_a2 + var_e * g_e1 * g_e2
    R22 = var_r * g_r2 * g_r2 + var_a * g_a2 * g_a2 + var_e * g_e2 * g_e2
    R_out[j, 0, 0] = R00
    R_out[j, 0, 1] = R01
    R_out[j, 0, 2] = R02
    R_out[j, 1, 0] = R01
    R_out[j, 1, 1] = R11
    R_out[j, 1, 2] = R12
    R_out[j, 2, 0] = R02
    R_out[j, 2, 1] = R12
    R_out[j, 2, 2] = R22


@njit
def polar_to_enu(range_m, azimuth_deg, elevation_deg, radar_index, M, b, sigma,
                 z_out, R_out):
    """Convert radar plots to debiased site-frame positions and covariances.

    For a plot (r, a, e) from radar k with standard deviations
    (sigma_r, sigma_a, sigma_e) (angles in radians below), the radar-local
    position is debiased by the multiplicative unbiased conversion of
    Longbin et al. (1998):

    .. math::

        \\lambda_a = e^{-\\sigma_a^2/2}, \\quad \\lambda_e = e^{-\\sigma_e^2/2}

        l = \\left[\\frac{r\\cos e\\sin a}{\\lambda_a\\lambda_e},\\;
                   \\frac{r\\cos e\\cos a}{\\lambda_a\\lambda_e},\\;
                   \\frac{r\\sin e}{\\lambda_e}\\right]

        z = M_k\\,l + b_k

    and its covariance is the linearised one at the measured point, rotated
    to the site frame:

    .. math::

        J = \\begin{bmatrix}
            \\cos e\\sin a & r\\cos e\\cos a & -r\\sin e\\sin a \\\\
            \\cos e\\cos a & -r\\cos e\\sin a & -r\\sin e\\cos a \\\\
            \\sin e & 0 & r\\cos e
        \\end{bmatrix}, \\quad
        R = M_k J\\,\\mathrm{diag}(\\sigma_r^2, \\sigma_a^2, \\sigma_e^2)\\,J^T M_k^T

    With zero angular sigmas there is no debiasing and ``z`` is the exact
    inverse of :func:`enu_to_polar`.

    Parameters
    ----------
    range_m, azimuth_deg, elevation_deg : ndarray, shape (n,)
        Measured slant range (m), azimuth (degrees clockwise from true north
        at the radar) and elevation (degrees above the radar's horizontal).
    radar_index : ndarray of int64, shape (n,)
        Row of the radar tables for each plot, in [0, k).
    M : ndarray, shape (k, 3, 3)
        Per-radar rotation from :func:`radar_frame`.
    b : ndarray, shape (k, 3)
        Per-radar position in the site frame from :func:`radar_frame` (m).
    sigma : ndarray, shape (k, 3)
        Per-radar [sigma_range_m, sigma_azimuth_deg, sigma_elevation_deg].
    z_out : ndarray, shape (n, 3)
        Written with the converted positions in the site ENU frame (m).
    R_out : ndarray, shape (n, 3, 3)
        Written with their covariances (m^2), symmetric.
    """
    n = range_m.shape[0]
    if azimuth_deg.shape[0] != n or elevation_deg.shape[0] != n \
            or radar_index.shape[0] != n:
        raise ValueError("polar_to_enu: range_m, azimuth_deg, elevation_deg and radar_index "
                         "must have the same length")
    n_radars = M.shape[0]
    if M.shape[1] != 3 or M.shape[2] != 3:
        raise ValueError("polar_to_enu: M must have shape (k, 3, 3)")
    if b.shape[0] != n_radars or b.shape[1] != 3:
        raise ValueError("polar_to_enu: b must have shape (k, 3) with the same k as M")
    if sigma.shape[0] != n_radars or sigma.shape[1] != 3:
        raise ValueError("polar_to_enu: sigma must have shape (k, 3) with the same k as M")
    if z_out.shape[0] != n or z_out.shape[1] != 3:
        raise ValueError("polar_to_enu: z_out must have shape (n, 3)")
    if R_out.shape[0] != n or R_out.shape[1] != 3 or R_out.shape[2] != 3:
        raise ValueError("polar_to_enu: R_out must have shape (n, 3, 3)")
    for j in range(n):
        k = radar_index[j]
        if k < 0 or k >= n_radars:
            raise IndexError("polar_to_enu: radar_index out of range of the radar tables")
        _polar_to_enu_one(range_m[j], azimuth_deg[j], elevation_deg[j],
                          M, b, sigma, k, z_out, R_out, j)


@njit
def enu_to_polar(enu, M, b, out):
    """Site-frame ENU points to range, azimuth and elevation seen by a radar.

    .. math::

        l = M^T (p - b), \\quad r = |l|, \\quad
        a = \\operatorname{atan2}(l_E, l_N) \\bmod 360^\\circ, \\quad
        e = \\operatorname{atan2}(l_U, \\sqrt{l_E^2 + l_N^2})

    The exact inverse of :func:`polar_to_enu` without noise (M is a rotation).

    Parameters
    ----------
    enu : ndarray, shape (n, 3)
        Points in the site ENU frame (m).
    M : ndarray, shape (3, 3)
        The radar's rotation from :func:`radar_frame`.
    b : ndarray, shape (3,)
        The radar's position in the site frame (m).
    out : ndarray, shape (n, 3)
        Written with range_m, azimuth_deg in [0, 360), elevation_deg.
    """
    if M.shape[0] != 3 or M.shape[1] != 3:
        raise ValueError("enu_to_polar: M must have shape (3, 3)")
    if b.shape[0] != 3:
        raise ValueError("enu_to_polar: b must have shape (3,)")
    if enu.shape[1] != 3:
        raise ValueError("enu_to_polar: enu must have shape (n, 3)")
    if out.shape[0] != enu.shape[0] or out.shape[1] != 3:
        raise ValueError("enu_to_polar: out must have shape (n, 3)")
    for j in range(enu.shape[0]):
        d0 = enu[j, 0] - b[0]
        d1 = enu[j, 1] - b[1]
        d2 = enu[j, 2] - b[2]
        l0 = M[0, 0] * d0 + M[1, 0] * d1 + M[2, 0] * d2
        l1 = M[0, 1] * d0 + M[1, 1] * d1 + M[2, 1] * d2
        l2 = M[0, 2] * d0 + M[1, 2] * d1 + M[2, 2] * d2
        horizontal = math.sqrt(l0 * l0 + l1 * l1)
        azimuth = math.atan2(l0, l1) * _RAD
        if azimuth < 0.0:
            azimuth += 360.0
            if azimuth >= 360.0:  # -tiny + 360 rounds to 360
                azimuth = 0.0
        out[j, 0] = math.sqrt(l0 * l0 + l1 * l1 + l2 * l2)
        out[j, 1] = azimuth
        out[j, 2] = math.atan2(l2, horizontal) * _RAD


@njit
def radial_velocity(enu, v_enu, b, out):
    """Radial velocity of moving points seen from a radar at ``b``.

    .. math:: \\dot r = \\frac{(p - b) \\cdot v}{|p - b|}

    Positive when moving away from the radar; 0 for a point at the radar.

    Parameters
    ----------
    enu : ndarray, shape (n, 3)
        Positions in the site ENU frame (m).
    v_enu : ndarray, shape (n, 3)
        Velocities in the site ENU frame (m/s).
    b : ndarray, shape (3,)
        Radar position in the site frame (m).
    out : ndarray, shape (n,)
        Written with the radial velocities (m/s).
    """
    n = enu.shape[0]
    if enu.shape[1] != 3 or v_enu.shape[0] != n or v_enu.shape[1] != 3:
        raise ValueError("radial_velocity: enu and v_enu must both have shape (n, 3)")
    if b.shape[0] != 3:
        raise ValueError("radial_velocity: b must have shape (3,)")
    if out.shape[0] != n:
        raise ValueError("radial_velocity: out must have shape (n,)")
    for j in range(n):
        d0 = enu[j, 0] - b[0]
        d1 = enu[j, 1] - b[1]
        d2 = enu[j, 2] - b[2]
        range_m = math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
        if range_m > 0.0:
            out[j] = (d0 * v_enu[j, 0] + d1 * v_enu[j, 1] + d2 * v_enu[j, 2]) / range_m
        else:
            out[j] = 0.0


# --------------------------------------------------------------------------
# Python convenience: validates, allocates, calls the kernels.
# --------------------------------------------------------------------------

def _as_points(name, points):
    array = np.ascontiguousarray(points, dtype=np.float64)
    if array.ndim == 1 and array.shape[0] == 3:
        array = array.reshape(1, 3)
    if array.ndim != 2 or array.shape[1] != 3:
        raise ValueError(f"{name} must have shape (n, 3), got {np.shape(points)}")
    return array


class LocalFrame:
    """The ENU frame tangent to the ellipsoid at a geodetic point.

    Parameters
    ----------
    lat_deg, lon_deg, alt_m : float
        Tangent point (degrees, degrees, metres above the ellipsoid).

    Attributes
    ----------
    origin_ecef : ndarray, shape (3,)
        ECEF position of the tangent point (m).
    rot : ndarray, shape (3, 3)
        ECEF-to-ENU rotation (rows E, N, U), see :func:`enu_rotation`.
    """

    def __init__(self, lat_deg, lon_deg, alt_m=0.0):
        self.lat_deg = float(lat_deg)
        self.lon_deg = float(lon_deg)
        self.alt_m = float(alt_m)
        for name in ("lat_deg", "lon_deg", "alt_m"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)}")
        if not -90.0 <= self.lat_deg <= 90.0:
            raise ValueError(f"lat_deg must be within [-90, 90], got {self.lat_deg}")
        origin = np.empty((1, 3))
        geodetic_to_ecef(np.array([self.lat_deg]), np.array([self.lon_deg]),
                         np.array([self.alt_m]), origin)
        self.origin_ecef = origin[0].copy()
        self.rot = enu_rotation(self.lat_deg, self.lon_deg)

    def __repr__(self):
        return (f"LocalFrame(lat_deg={self.lat_deg!r}, lon_deg={self.lon_deg!r}, "
                f"alt_m={self.alt_m!r})")

    def to_geodetic(self, enu):
        """ENU points, shape (n, 3), to an (n, 3) array of lat_deg, lon_deg, alt_m."""
        enu = _as_points("enu", enu)
        out = np.empty_like(enu)
        enu_to_geodetic(enu, self.origin_ecef, self.rot, out)
        return out

    def from_geodetic(self, lat_deg, lon_deg, alt_m):
        """Geodetic points (each shape (n,) or scalar) to an (n, 3) ENU array."""
        lat, lon, alt = np.broadcast_arrays(
            np.atleast_1d(np.asarray(lat_deg, dtype=np.float64)),
            np.atleast_1d(np.asarray(lon_deg, dtype=np.float64)),
            np.atleast_1d(np.asarray(alt_m, dtype=np.float64)))
        if lat.ndim != 1:
            raise ValueError(f"lat_deg, lon_deg, alt_m must be 1-D, got shape {lat.shape}")
        lat = np.ascontiguousarray(lat)
        lon = np.ascontiguousarray(lon)
        alt = np.ascontiguousarray(alt)
        out = np.empty((lat.shape[0], 3))
        geodetic_to_enu(lat, lon, alt, self.origin_ecef, self.rot, out)
        return out

    def radar_frame(self, radar_lat_deg, radar_lon_deg, radar_alt_m):
        """:func:`radar_frame` of a radar into this frame: (M, b)."""
        return radar_frame(radar_lat_deg, radar_lon_deg, radar_alt_m,
                           self.lat_deg, self.lon_deg, self.alt_m)
