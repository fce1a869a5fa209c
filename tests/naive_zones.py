"""Slow, obvious twins of the zone kernels in ``kernels/zones.py``.

One (track, zone) or (track, asset) pair at a time, in plain Python and NumPy,
from the definitions: a ray cast towards +n for inclusion, brute-force
distances to every edge, dense stepping of the path refined by bisection or
by SciPy's bounded scalar minimiser, full 6x6 matrices for the covariance
prediction.  None of it is shared with the kernels.

A zone is a dict with keys ``kind`` (0 circle, 1 polygon), ``center`` (2,),
``radius``, ``floor``, ``ceiling`` and ``vertices`` ((m, 2) or None).
"""
import math
from fractions import Fraction

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.stats import norm


def zones_from_table(zone_kind, zone_center, zone_radius, zone_floor, zone_ceiling,
                     poly_start, poly_xy):
    """The zone table as a list of dicts."""
    zones = []
    for k in range(len(zone_kind)):
        vertices = poly_xy[poly_start[k]:poly_start[k + 1]]
        zones.append(dict(kind=int(zone_kind[k]), center=np.array(zone_center[k], float),
                          radius=float(zone_radius[k]), floor=float(zone_floor[k]),
                          ceiling=float(zone_ceiling[k]),
                          vertices=np.array(vertices, float) if len(vertices) else None))
    return zones


# ---------------------------------------------------------------------------
# Polygon validity
# ---------------------------------------------------------------------------


def polygon_defect(points):
    """Every pair of edges in lexicographic order, in exact rationals: the
    first pair that meets where a simple polygon's edges do not, or None.

    Edge k runs from point k to point k + 1 (the last back to the first).
    Adjacent edges (k - 1, k) must not run back over each other: with
    ``r = p_k - p_(k-1)``, ``s = p_(k+1) - p_k``, they overlap when
    ``r x s = 0`` and ``r . s < 0``.  Other edges must share no point: from
    ``a + t r = c + u s``, they cross when ``0 < t, u < 1``, touch when
    ``0 <= t, u <= 1`` otherwise, and parallel edges touch when they lie on
    one line with overlapping extents.  Returns ``(i, j, how)``.
    """
    p = [(Fraction(float(x)), Fraction(float(y))) for x, y in points]
    m = len(p)

    def sub(u, v):
        return (u[0] - v[0], u[1] - v[1])

    def cross(u, v):
        return u[0] * v[1] - u[1] * v[0]

    def dot(u, v):
        return u[0] * v[0] + u[1] * v[1]

    for i in range(m):
        for j in range(i + 1, m):
            a, b = p[i], p[(i + 1) % m]
            c, d = p[j], p[(j + 1) % m]
            if j == i + 1 or (i == 0 and j == m - 1):
                first, second = ((a, b), (c, d)) if j == i + 1 else ((c, d), (a, b))
                r, s = sub(first[1], first[0]), sub(second[1], second[0])
                if cross(r, s) == 0 and dot(r, s) < 0:
                    return (i, j, "overlap")
                continue
            r, s, w = sub(b, a), sub(d, c), sub(c, a)
            denominator = cross(r, s)
            if denominator != 0:
                t = cross(w, s) / denominator
                u = cross(w, r) / denominator
                if 0 < t < 1 and 0 < u < 1:
                    return (i, j, "cross")
                if 0 <= t <= 1 and 0 <= u <= 1:
                    return (i, j, "touch")
            elif cross(w, r) == 0:
                t0 = dot(w, r) / dot(r, r)
                t1 = dot(sub(d, a), r) / dot(r, r)
                if max(t0, t1) >= 0 and min(t0, t1) <= 1:
                    return (i, j, "touch")
    return None


# ---------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------


def point_in_polygon(e, n, vertices):
    """Ray cast towards +n: count the edges the vertical ray above the point
    crosses (edges half-open in e)."""
    count = 0
    m = len(vertices)
    for i in range(m):
        (e1, n1), (e2, n2) = vertices[i], vertices[(i + 1) % m]
        if (e1 <= e < e2) or (e2 <= e < e1):
            n_cross = n1 + (e - e1) / (e2 - e1) * (n2 - n1)
            if n_cross > n:
                count += 1
    return count % 2 == 1


def boundary_distance(e, n, vertices):
    """Distance to the nearest edge and the nearest boundary point."""
    best, best_q = math.inf, None
    m = len(vertices)
    p = np.array([e, n])
    for i in range(m):
        a, b = vertices[i], vertices[(i + 1) % m]
        ab = b - a
        s = np.clip(np.dot(p - a, ab) / np.dot(ab, ab), 0.0, 1.0)
        q = a + s * ab
        d = np.linalg.norm(p - q)
        if d < best:
            best, best_q = d, q
    return best, best_q


def horizontally_inside(e, n, zone):
    if zone["kind"] == 0:
        return math.hypot(e - zone["center"][0], n - zone["center"][1]) <= zone["radius"]
    return point_in_polygon(e, n, zone["vertices"])


def signed_distance(e, n, zone):
    if zone["kind"] == 0:
        return math.hypot(e - zone["center"][0], n - zone["center"][1]) - zone["radius"]
    d, _ = boundary_distance(e, n, zone["vertices"])
    return -d if point_in_polygon(e, n, zone["vertices"]) else d


def signed_distance_and_normal(e, n, zone):
    """Signed distance and the unit vector from the nearest boundary point."""
    if zone["kind"] == 0:
        d = np.array([e, n]) - zone["center"]
        r = np.linalg.norm(d)
        return r - zone["radius"], d / r
    dist, q = boundary_distance(e, n, zone["vertices"])
    with np.errstate(invalid="ignore", divide="ignore"):
        nrm = (np.array([e, n]) - q) / dist
    return (-dist if point_in_polygon(e, n, zone["vertices"]) else dist), nrm


def inside(position, zone):
    e, n, u = position
    return zone["floor"] <= u <= zone["ceiling"] and horizontally_inside(e, n, zone)


def position(x, t):
    return np.asarray(x[:3]) + t * np.asarray(x[3:6])


# ---------------------------------------------------------------------------
# Time to entry
# ---------------------------------------------------------------------------


def points_in_polygon(e, n, vertices):
    """:func:`point_in_polygon` for arrays of points (the same ray cast)."""
    count = np.zeros(np.shape(e), dtype=np.int64)
    m = len(vertices)
    for i in range(m):
        (e1, n1), (e2, n2) = vertices[i], vertices[(i + 1) % m]
        if e1 == e2:
            continue
        spans = ((e1 <= e) & (e < e2)) | ((e2 <= e) & (e < e1))
        n_cross = n1 + (e - e1) / (e2 - e1) * (n2 - n1)
        count += spans & (n_cross > n)
    return count % 2 == 1


def inside_samples(x, zone, times):
    """Whether the straight-line path is in the zone at each of ``times``."""
    times = np.asarray(times, float)
    e = x[0] + x[3] * times
    n = x[1] + x[4] * times
    u = x[2] + x[5] * times
    if zone["kind"] == 0:
        horizontal = np.hypot(e - zone["center"][0], n - zone["center"][1]) <= zone["radius"]
    else:
        horizontal = points_in_polygon(e, n, zone["vertices"])
    return horizontal & (zone["floor"] <= u) & (u <= zone["ceiling"])


def entry_time_refined(x, zone, horizon_s, dt=0.01):
    """First inside time by stepping the path every ``dt`` s, then bisecting
    between the last outside and the first inside sample."""
    if inside(position(x, 0.0), zone):
        return 0.0
    times = np.append(np.arange(0.0, horizon_s, dt), horizon_s)
    flags = inside_samples(x, zone, times)
    if not flags.any():
        return math.inf
    k = int(np.argmax(flags))
    lo, hi = times[k - 1], times[k]
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if inside(position(x, mid), zone):
            hi = mid
        else:
            lo = mid
    return hi


def slab_window(x, zone, horizon_s):
    """``(t_a, t_b)`` of ``floor <= u(t) <= ceiling`` within [0, H], or None."""
    u, vu = x[2], x[5]
    if vu == 0.0:
        return (0.0, horizon_s) if zone["floor"] <= u <= zone["ceiling"] else None
    times = sorted([(zone["floor"] - u) / vu, (zone["ceiling"] - u) / vu])
    t_a, t_b = max(times[0], 0.0), min(times[1], horizon_s)
    return (t_a, t_b) if t_a <= t_b else None


def edge_crossings(x, vertices, t0, t1):
    """Times in [t0, t1] at which the horizontal path meets an edge, solved
    edge by edge with ``np.linalg.solve``."""
    p, v = np.asarray(x[:2], float), np.asarray(x[3:5], float)
    out = []
    m = len(vertices)
    for i in range(m):
        a, b = vertices[i], vertices[(i + 1) % m]
        A = np.column_stack([v, a - b])
        if abs(np.linalg.det(A)) < 1e-12 * (np.linalg.norm(v) * np.linalg.norm(b - a) + 1e-300):
            continue
        t, s = np.linalg.solve(A, a - p)
        if 0.0 <= s <= 1.0 and t0 <= t <= t1:
            out.append((t, i))
    return out


# ---------------------------------------------------------------------------
# Probability of entry
# ---------------------------------------------------------------------------


def predicted_covariance(P, t, q_h, q_v):
    """``F P F' + Q`` of the CV model, full 6x6 matrices."""
    F = np.eye(6)
    Q = np.zeros((6, 6))
    for k, q in enumerate((q_h, q_h, q_v)):
        F[k, k + 3] = t
        Q[k, k] = q * t**3 / 3.0
        Q[k, k + 3] = Q[k + 3, k] = q * t**2 / 2.0
        Q[k + 3, k + 3] = q * t
    return F @ P @ F.T + Q


def signed_distances(e, n, zone):
    """:func:`signed_distance` for arrays of points (brute force over edges)."""
    e = np.asarray(e, float)
    n = np.asarray(n, float)
    if zone["kind"] == 0:
        return np.hypot(e - zone["center"][0], n - zone["center"][1]) - zone["radius"]
    vertices = zone["vertices"]
    m = len(vertices)
    best = np.full(e.shape, np.inf)
    for i in range(m):
        a, b = vertices[i], vertices[(i + 1) % m]
        ab = b - a
        s = np.clip(((e - a[0]) * ab[0] + (n - a[1]) * ab[1]) / np.dot(ab, ab), 0.0, 1.0)
        best = np.minimum(best, np.hypot(e - a[0] - s * ab[0], n - a[1] - s * ab[1]))
    return np.where(points_in_polygon(e, n, vertices), -best, best)


def path_min_dense(x, zone, t0, t1, n_dense=2001):
    """True minimum of the signed distance along the path over [t0, t1]:
    dense sampling, then SciPy's bounded minimiser around the best sample."""
    def g(t):
        p = position(x, t)
        return signed_distance(p[0], p[1], zone)
    if t1 <= t0 or (x[3] == 0.0 and x[4] == 0.0):
        return g(t0), t0                       # not moving: the earliest time
    times = np.linspace(t0, t1, n_dense)
    values = signed_distances(x[0] + x[3] * times, x[1] + x[4] * times, zone)
    k = int(np.argmin(values))
    lo, hi = times[max(k - 1, 0)], times[min(k + 1, n_dense - 1)]
    result = minimize_scalar(g, bounds=(lo, hi), method="bounded",
                             options=dict(xatol=1e-10 * max(1.0, t1)))
    if result.fun < values[k]:
        return float(result.fun), float(result.x)
    return float(values[k]), float(times[k])


def path_min_model(x, zone, t0, t1, n_samples=16):
    """``(g*, t*, nrm)`` as the probability model defines them.

    Circle, or polygon path that stays outside: the true minimum
    (:func:`path_min_dense`).  Polygon path that goes inside: the least of 0
    at the first edge crossing and the signed distance at ``n_samples``
    evenly spaced times between the first and last time it can be inside.
    """
    p0, p1 = position(x, t0), position(x, t1)
    if zone["kind"] == 1:
        vertices = zone["vertices"]
        start_in = point_in_polygon(p0[0], p0[1], vertices)
        crossings = edge_crossings(x, vertices, t0, t1)
        if start_in or crossings:
            times = [t for t, _ in crossings]
            t_lo = t0 if start_in else min(times)
            end_in = point_in_polygon(p1[0], p1[1], vertices)
            t_hi = t1 if (end_in or not times) else max(times)
            candidates = []
            if crossings:
                t_c, i = min(crossings)
                a, b = vertices[i], vertices[(i + 1) % len(vertices)]
                edge = (b - a) / np.linalg.norm(b - a)
                candidates.append((0.0, t_c, np.array([edge[1], -edge[0]])))
            for t in np.linspace(t_lo, t_hi, n_samples):
                p = position(x, t)
                g, nrm = signed_distance_and_normal(p[0], p[1], zone)
                if np.all(np.isfinite(nrm)):       # on the boundary: 0 is a candidate
                    candidates.append((g, t, nrm))
            return min(candidates, key=lambda c: c[0])
    g, t = path_min_dense(x, zone, t0, t1)
    p = position(x, t)
    if zone["kind"] == 0 and np.linalg.norm(p[:2] - zone["center"]) == 0.0:
        v = np.asarray(x[3:5], float)
        return g, t, np.array([-v[1], v[0]]) / np.linalg.norm(v)
    return g, t, signed_distance_and_normal(p[0], p[1], zone)[1]


def evaluate_pair(x, P, zone, horizon_s, q_h, q_v, n_samples=16):
    """``(inside, signed distance, time to entry, p_entry)`` of one pair."""
    x = np.asarray(x, float)
    distance = signed_distance(x[0], x[1], zone)
    if inside(x[:3], zone):
        return True, distance, 0.0, 1.0
    tte = entry_time_refined(x, zone, horizon_s)
    window = slab_window(x, zone, horizon_s) or (0.0, horizon_s)
    g, t, nrm = path_min_model(x, zone, window[0], window[1], n_samples)
    p_entry = inside_probability(x, P, zone, t, g, nrm, q_h, q_v)
    if x[5] != 0.0:
        mid = 0.5 * (zone["floor"] + zone["ceiling"])
        t_v = float(np.clip((mid - x[2]) / x[5], window[0], window[1]))
        p = position(x, t_v)
        if zone["kind"] == 0 and np.linalg.norm(p[:2] - zone["center"]) == 0.0:
            g_v, nrm_v = -zone["radius"], np.array([-x[4], x[3]]) / np.hypot(x[3], x[4])
        else:
            g_v, nrm_v = signed_distance_and_normal(p[0], p[1], zone)
        p_entry = max(p_entry, inside_probability(x, P, zone, t_v, g_v, nrm_v, q_h, q_v))
    return False, distance, tte, p_entry


def inside_probability(x, P, zone, t, g, nrm, q_h, q_v):
    """``Phi(-g / sigma_h) (Phi((ceiling - u) / sigma_u) - Phi((floor - u) / sigma_u))``
    at time ``t`` with the full predicted covariance."""
    Pt = predicted_covariance(P, t, q_h, q_v)
    sigma_h = math.sqrt(nrm @ Pt[:2, :2] @ nrm)
    sigma_u = math.sqrt(Pt[2, 2])
    u = x[2] + x[5] * t
    p_h = norm.cdf(-g / sigma_h)
    p_v = norm.cdf((zone["ceiling"] - u) / sigma_u) - norm.cdf((zone["floor"] - u) / sigma_u)
    return p_h * p_v


# ---------------------------------------------------------------------------
# Closest point of approach
# ---------------------------------------------------------------------------


def cpa(x, asset, horizon_s, n_dense=20001):
    """``(cpa, t_cpa, closing speed, range)`` by dense sampling + refinement;
    the closing speed as a central difference of the range."""
    x = np.asarray(x, float)

    def horizontal_range(t):
        return float(np.hypot(*(x[:2] + t * x[3:5] - asset)))

    times = np.linspace(0.0, horizon_s, n_dense)
    values = np.hypot(x[0] + times * x[3] - asset[0], x[1] + times * x[4] - asset[1])
    k = int(np.argmin(values))
    best, t_best = values[k], times[k]
    if horizon_s > 0:
        lo, hi = times[max(k - 1, 0)], times[min(k + 1, n_dense - 1)]
        result = minimize_scalar(horizontal_range, bounds=(lo, hi), method="bounded",
                                 options=dict(xatol=1e-12 * max(1.0, horizon_s)))
        if result.fun < best:
            best, t_best = float(result.fun), float(result.x)
    h = 1e-4
    closing = -(horizontal_range(h) - horizontal_range(-h)) / (2 * h)
    return best, t_best, closing, horizontal_range(0.0)


# ---------------------------------------------------------------------------
# Test data
# ---------------------------------------------------------------------------


def random_star_polygon(rng, center, radius_m, m):
    """A simple polygon star-shaped about ``center``: ``m`` vertices at
    sorted, separated angles and radii in [0.35, 1] ``radius_m``; random
    orientation."""
    gaps = rng.uniform(0.3, 1.0, m)
    angles = np.cumsum(gaps) / gaps.sum() * 2 * np.pi + rng.uniform(0, 2 * np.pi)
    radii = radius_m * rng.uniform(0.35, 1.0, m)
    vertices = np.asarray(center) + np.column_stack([radii * np.cos(angles),
                                                     radii * np.sin(angles)])
    return vertices[::-1].copy() if rng.random() < 0.5 else vertices


def random_convex_polygon(rng, center, radius_m, m):
    """A convex polygon: ``m`` points at sorted angles on a circle, then a
    random stretch and rotation about ``center``; random orientation."""
    gaps = rng.uniform(0.3, 1.0, m)
    angles = np.cumsum(gaps) / gaps.sum() * 2 * np.pi
    points = np.column_stack([np.cos(angles), np.sin(angles)]) * radius_m
    points[:, 0] *= rng.uniform(0.5, 1.0)
    a = rng.uniform(0, 2 * np.pi)
    R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    vertices = np.asarray(center) + points @ R.T
    return vertices[::-1].copy() if rng.random() < 0.5 else vertices


def random_covariance(rng, sigma_pos_m, sigma_vel_mps):
    """A random symmetric positive-definite 6x6 track covariance."""
    A = rng.normal(size=(6, 6))
    scale = np.array([sigma_pos_m] * 3 + [sigma_vel_mps] * 3)
    return (A @ A.T / 6 + 0.2 * np.eye(6)) * np.outer(scale, scale)
