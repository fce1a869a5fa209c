"""Protection-zone geometry: inclusion, distance, time to entry, CPA.

Zone table
----------
An asset's zones live in a structure of arrays built once at start-up, all in
the site's local ENU frame (metres, ``u`` is height in that frame)::

    zone_kind    (z,)     int64    0 circle, 1 polygon
    zone_center  (z, 2)            circle centre (e, n); polygon vertex centroid
    zone_radius  (z,)              circle radius (unused for polygons)
    zone_floor   (z,)              lowest ``u`` inside the zone
    zone_ceiling (z,)              highest ``u`` inside the zone
    poly_start   (z + 1,) int64    vertices of zone k are
    poly_xy      (V, 2)            poly_xy[poly_start[k]:poly_start[k + 1]]

A polygon is simple, given once around in either orientation and not closed
(the last vertex joins the first); :func:`pack_polygons` builds
``poly_start`` / ``poly_xy`` and checks this.  A zone is the closed set
``{(e, n, u): (e, n) horizontally inside, floor <= u <= ceiling}``.

Geometry
--------
Horizontal inclusion of a polygon uses the crossing-number rule with a ray
towards +e: a point is inside when the ray crosses an odd number of edges,
with each edge taken as half-open in ``n`` (a vertex is counted once).  A
point exactly on an edge may come out either way.  A circle is inside when
``|p - c| <= r``.

The signed horizontal distance is ``|p - c| - r`` for a circle, and for a
polygon the distance to the nearest edge, negated when the point is inside.

Time to entry
-------------
A track ``x = [e, n, u, ve, vn, vu]`` moves on the straight line
``p(t) = p + v t``.  Its time to entry is the first ``t`` in ``[0, H]`` at
which ``p(t)`` is in the zone, ``+inf`` if there is none.  It is exact:

* vertical slab: ``floor <= u + vu t <= ceiling`` holds on one interval
  ``[t_a, t_b]`` (``t_floor``, ``t_ceiling`` sorted, clipped to ``[0, H]``;
  all of ``[0, H]`` or nothing when ``vu = 0``);
* circle: ``|d + v t|^2 = r^2`` with ``d = p - c`` gives the horizontal
  interval ``[t_1, t_2]`` (stable quadratic roots); entry is
  ``max(t_1, t_a)`` when that is ``<= min(t_2, t_b)``;
* polygon: entry is ``t_a`` when ``p(t_a)`` is inside, otherwise the first
  crossing of the path with an edge at ``t`` in ``[t_a, t_b]`` (from
  ``p + v t = a + s (b - a)``, ``0 <= s <= 1``).  Starting outside, the first
  crossing is an entry.  A path that only grazes a vertex counts as entering
  there; an edge collinear with the path is skipped (its neighbours carry the
  crossing).

Probability of entry
--------------------
The predicted covariance ``t`` seconds ahead is the CV prediction
``P(t) = F(t) P F(t)' + Q(t)``; of it only two blocks are needed::

    P_hh(t)_ab = P_ab + t (P_a,b+3 + P_a+3,b) + t^2 P_a+3,b+3 + [a = b] q_h t^3 / 3
    P_uu(t)    = P_22 + t (P_25 + P_52) + t^2 P_55 + q_v t^3 / 3

The probability that the track is in the zone at a time ``t``, with the
signed horizontal distance ``g(t)`` of ``p(t)`` and the unit normal
``nrm(t)`` of the boundary at its nearest boundary point, is approximated by
treating the horizontal and vertical errors as independent and the boundary
as straight near ``p(t)``::

    sigma_h^2 = nrm' P_hh(t) nrm           sigma_u^2 = P_uu(t)
    P_h(t) = Phi(-g(t) / sigma_h)
    P_v(t) = Phi((ceiling - u(t)) / sigma_u) - Phi((floor - u(t)) / sigma_u)
    P_in(t) = P_h(t) P_v(t)

Being in the zone at any ``t`` in ``[0, H]`` implies entering it, so each
``P_in(t)`` is an estimate from below of the probability of entry.  Let ``W``
be the vertical window ``[t_a, t_b]`` when it is not empty, and ``[0, H]``
otherwise.  Two times are tried and the larger value kept::

    t*  the time of the minimum g* of g over W (the deepest point when the
        path goes inside, else the closest approach)
    t_v the time in W at which u(t) is nearest mid-slab (floor + ceiling) / 2,
        clip(((floor + ceiling) / 2 - u) / vu, W), only when vu != 0
    p_entry = max(P_in(t*), P_in(t_v))

and ``p_entry = 1`` when the track is inside now.  With ``vu = 0`` this is
``P_h(t*) P_v``; the second time helps a track that is horizontally inside
while it climbs or descends into the slab (``t*`` alone may sit where it
just crosses the floor or ceiling, ``P_v ~ 1/2``).  Taking ``t*`` within
the vertical window makes ``P_h(t*) >= 1/2`` whenever the time to entry is
finite.  A zero standard deviation turns ``Phi`` into a step (``1/2`` at 0).

``g*`` for a circle is exact: ``t* = clip(-d.v / |v|^2, W)``.  For a polygon:

* path over ``W`` outside (start outside, no edge crossing): exact, the
  minimum over edges of the segment-to-segment distance (end points to each
  edge, each vertex to the path);
* path entering the polygon: the minimum of ``0`` at the first crossing and
  of the signed distance at ``n_samples`` (16) evenly spaced times on
  ``[t_lo, t_hi]``, where ``t_lo`` is the start of ``W`` if it is inside and
  the first crossing otherwise, ``t_hi`` the end of ``W`` if it is inside and
  the last crossing otherwise.  The signed distance is 1-Lipschitz along the
  path, so this depth is at most ``|v| (t_hi - t_lo) / (2 (n_samples - 1))``
  shallower than the true one.

For polygons a bound skips the search: over ``W`` the path is no nearer
than ``dist(c, path) - r_bound`` (``r_bound`` the largest vertex distance
from the centroid), and ``sigma_h^2 <= trace P_hh(t)``, which is convex in
``t >= 0`` so largest at an end of ``W``.  When these give
``g / sigma_h >= 40`` on all of ``W``, ``Phi(-40)`` underflows to exactly
``0.0`` and ``p_entry = 0`` is what the full computation would return; a
path that misses the bounding circle also skips the crossing search.  The
polygon's time to entry comes out of the same crossing search as ``g*``.

Closest point of approach
-------------------------
Horizontally, relative to an asset at ``a``: ``d = p - a``, range ``|d|``,
``t_cpa = clip(-d.v / |v|^2, 0, H)``, ``cpa = |d + v t_cpa|``, closing speed
``-(d . v) / |d|`` (positive when approaching, 0 at the asset).

Tiers
-----
:func:`point_in_polygon`, :func:`signed_distance`, :func:`entry_time` and
:func:`path_min_signed_distance` are compiled workers for one item; the
drivers loop over tracks (in parallel for large batches) and zones or
assets; :func:`evaluate_zones` and :func:`asset_cpa` are the validating
Python entry points.
"""
import functools
import math
from fractions import Fraction

import numpy as np
from numba import prange

from kernels import _jit
from kernels.filters import cv_predicted_covariance

# The zone kernels are compiled without fast-math flags: every expression
# rounds as written, so the serial and the parallel driver, a fresh compile
# and a cached one, give bit-identical outputs.  With ``contract`` (fused
# multiply-add) the same source rounded differently depending on where LLVM
# inlined it: a function compiled fresh in this process and one loaded from
# a cache another process wrote (or the serial driver beside the parallel
# one) disagreed in the last bits of distances and probabilities of entry.
njit = functools.partial(_jit.njit, fastmath=False)

KIND_CIRCLE = 0
KIND_POLYGON = 1

#: Below this many (track, zone) pairs :func:`evaluate_zones` runs serially by
#: default.  Measured on two cores (50 zones, half polygons): 55 us either way
#: at 50 pairs, 134 -> 85 us at 500, 13.5 -> 6.4 ms at 50,000.
PARALLEL_MIN_PAIRS = 500

_SQRT2 = math.sqrt(2.0)


# ---------------------------------------------------------------------------
# Small geometric helpers
# ---------------------------------------------------------------------------


@njit
def _closest_on_segment(pe, pn, ae, an, be, bn):
    """Squared distance from ``p`` to segment ``[a, b]``, closest point, and
    its parameter ``s`` in ``[0, 1]`` (``a + s (b - a)``)."""
    de = be - ae
    dn = bn - an
    length2 = de * de + dn * dn
    projection = (pe - ae) * de + (pn - an) * dn
    if projection <= 0.0:
        s = 0.0
    elif projection >= length2:
        s = 1.0
    else:
        s = projection / length2
    qe = ae + s * de
    qn = an + s * dn
    return (pe - qe) * (pe - qe) + (pn - qn) * (pn - qn), qe, qn, s


@njit
def _edge_normal(poly_xy, lo, hi, i):
    """Unit normal of edge ``i -> i + 1`` (wrapping), ``(1, 0)`` if degenerate."""
    j = i + 1 if i + 1 < hi else lo
    de = poly_xy[j, 0] - poly_xy[i, 0]
    dn = poly_xy[j, 1] - poly_xy[i, 1]
    length = math.sqrt(de * de + dn * dn)
    if length > 0.0:
        return dn / length, -de / length
    return 1.0, 0.0


@njit
def _polygon_signed_distance(e, n, poly_xy, lo, hi):
    """One pass over the edges: inclusion (as :func:`point_in_polygon`), the
    distance to the nearest edge, the nearest boundary point and its edge.

    Returns ``(inside, distance, qe, qn, edge, distance^2)``.
    """
    inside = False
    best = np.inf
    best_e = e
    best_n = n
    best_edge = lo
    for i in range(lo, hi):
        j = i + 1 if i + 1 < hi else lo
        ei = poly_xy[i, 0]
        ni = poly_xy[i, 1]
        ej = poly_xy[j, 0]
        nj = poly_xy[j, 1]
        if (ni > n) != (nj > n):
            if e < ei + (n - ni) * (ej - ei) / (nj - ni):
                inside = not inside
        d2, qe, qn, _ = _closest_on_segment(e, n, ei, ni, ej, nj)
        if d2 < best:
            best = d2
            best_e = qe
            best_n = qn
            best_edge = i
    return inside, math.sqrt(best), best_e, best_n, best_edge, best


@njit
def _normal_cdf(numerator, sigma):
    """``Phi(numerator / sigma)``; a step (1/2 at 0) when ``sigma <= 0``."""
    if sigma > 0.0:
        return 0.5 * math.erfc(-numerator / (sigma * _SQRT2))
    if numerator > 0.0:
        return 1.0
    if numerator < 0.0:
        return 0.0
    return 0.5


@njit
def _slab_window(u, vu, floor, ceiling, horizon_s):
    """``[t_a, t_b]`` within ``[0, horizon_s]`` where ``floor <= u + vu t <= ceiling``.

    Empty when ``t_a > t_b``.
    """
    if vu == 0.0:
        if floor <= u and u <= ceiling:
            return 0.0, horizon_s
        return np.inf, -np.inf
    t_floor = (floor - u) / vu
    t_ceiling = (ceiling - u) / vu
    return max(min(t_floor, t_ceiling), 0.0), min(max(t_floor, t_ceiling), horizon_s)


@njit
def _path_center_distance(de, dn, ve, vn, t0, t1):
    """``min |d + v t|`` over ``t`` in ``[t0, t1]`` and the time it is reached."""
    a = ve * ve + vn * vn
    t = t0
    if a > 0.0:
        t = -(de * ve + dn * vn) / a
        if t < t0:
            t = t0
        elif t > t1:
            t = t1
    qe = de + ve * t
    qn = dn + vn * t
    return math.sqrt(qe * qe + qn * qn), t


# ---------------------------------------------------------------------------
# Public workers
# ---------------------------------------------------------------------------


@njit
def point_in_polygon(e, n, poly_xy, lo, hi):
    """Whether ``(e, n)`` is inside the polygon ``poly_xy[lo:hi]``.

    Crossing-number rule: count the edges crossed by the ray from the point
    towards +e, each edge half-open in ``n`` so a vertex on the ray counts
    once; inside when the count is odd.  Points exactly on an edge may be
    reported either way.

    Parameters
    ----------
    e, n : float
        Point (m).
    poly_xy : ndarray, shape (V, 2)
        Packed vertices; the polygon is ``poly_xy[lo:hi]``, not closed.
    lo, hi : int
        Vertex range.

    Returns
    -------
    bool
    """
    inside = False
    j = hi - 1
    for i in range(lo, hi):
        ei = poly_xy[i, 0]
        ni = poly_xy[i, 1]
        ej = poly_xy[j, 0]
        nj = poly_xy[j, 1]
        if (ni > n) != (nj > n):
            e_cross = ei + (n - ni) * (ej - ei) / (nj - ni)
            if e < e_cross:
                inside = not inside
        j = i
    return inside


@njit
def _signed_distance(e, n, kind, center_e, center_n, radius, poly_xy, lo, hi):
    if kind == KIND_CIRCLE:
        de = e - center_e
        dn = n - center_n
        return math.sqrt(de * de + dn * dn) - radius
    inside, distance, _, _, _, _ = _polygon_signed_distance(e, n, poly_xy, lo, hi)
    return -distance if inside else distance


@njit
def signed_distance(e, n, kind, center, radius, poly_xy, lo, hi):
    """Signed horizontal distance (m) from ``(e, n)`` to a zone's boundary.

    ``|p - c| - r`` for a circle; for a polygon ``min_edges dist(p, edge)``,
    negated when :func:`point_in_polygon` says inside.  Negative inside.

    Parameters
    ----------
    e, n : float
        Point (m).
    kind : int
        0 circle, 1 polygon.
    center : ndarray, shape (2,)
        Circle centre (unused for a polygon).
    radius : float
        Circle radius (unused for a polygon).
    poly_xy : ndarray, shape (V, 2)
    lo, hi : int
        Vertex range of the polygon (unused for a circle).

    Returns
    -------
    float
    """
    return _signed_distance(e, n, kind, center[0], center[1], radius, poly_xy, lo, hi)


@njit
def _circle_entry(de, dn, ve, vn, radius, t_a, t_b):
    """First ``t`` in ``[t_a, t_b]`` with ``|d + v t| <= r``, ``inf`` if none."""
    a = ve * ve + vn * vn
    c = de * de + dn * dn - radius * radius
    if a == 0.0:
        return t_a if c <= 0.0 else np.inf
    half_b = de * ve + dn * vn
    disc = half_b * half_b - a * c
    if disc < 0.0:
        return np.inf
    # a t^2 + 2 half_b t + c = 0 without cancellation: roots q / a and c / q
    q = -(half_b + math.copysign(math.sqrt(disc), half_b))
    if q == 0.0:
        t_1 = 0.0
        t_2 = 0.0
    else:
        r_1 = q / a
        r_2 = c / q
        t_1 = min(r_1, r_2)
        t_2 = max(r_1, r_2)
    t = max(t_1, t_a)
    if t <= min(t_2, t_b):
        return t
    return np.inf


@njit
def _path_crossings(e, n, ve, vn, poly_xy, lo, hi, t0, t1):
    """First and last time in ``[t0, t1]`` at which ``p + v t`` meets an edge
    (``inf``, ``-inf`` if never) and the edge met first.

    From ``p + v t = a + s (b - a)``: ``t = (w x edge) / (v x edge)``,
    ``s = (w x v) / (v x edge)`` with ``w = a - p``; an edge parallel to the
    path is skipped (its neighbours carry the crossing).
    """
    t_first = np.inf
    t_last = -np.inf
    edge_first = lo
    if ve == 0.0 and vn == 0.0:
        return t_first, t_last, edge_first
    for i in range(lo, hi):
        j = i + 1 if i + 1 < hi else lo
        ee = poly_xy[j, 0] - poly_xy[i, 0]
        en = poly_xy[j, 1] - poly_xy[i, 1]
        den = ve * en - vn * ee
        if den == 0.0:
            continue
        we = poly_xy[i, 0] - e
        wn = poly_xy[i, 1] - n
        t_num = we * en - wn * ee
        s_num = we * vn - wn * ve
        if den < 0.0:                            # divide only a crossing found
            den = -den
            t_num = -t_num
            s_num = -s_num
        if s_num < 0.0 or s_num > den or t_num < t0 * den or t_num > t1 * den:
            continue
        t = t_num / den
        if t0 <= t and t <= t1:
            if t < t_first:
                t_first = t
                edge_first = i
            if t > t_last:
                t_last = t
    return t_first, t_last, edge_first


@njit
def _polygon_entry(e, n, ve, vn, poly_xy, lo, hi, t_a, t_b):
    """First ``t`` in ``[t_a, t_b]`` with ``p + v t`` inside the polygon."""
    if point_in_polygon(e + ve * t_a, n + vn * t_a, poly_xy, lo, hi):
        return t_a
    return _path_crossings(e, n, ve, vn, poly_xy, lo, hi, t_a, t_b)[0]


@njit
def entry_time(x, kind, center, radius, floor, ceiling, poly_xy, lo, hi, horizon_s):
    """First time (s) in ``[0, horizon_s]`` at which the track is in the zone.

    The path is ``p(t) = p + v t``; inside means horizontally inside and
    ``floor <= u(t) <= ceiling``.  Exact (see the module docstring): the
    vertical slab gives ``[t_a, t_b]``; a circle solves
    ``|p - c + v t|^2 = r^2``; a polygon returns ``t_a`` if ``p(t_a)`` is
    inside, else the first edge crossing in ``[t_a, t_b]``.

    Parameters
    ----------
    x : ndarray, shape (6,)
        ``[e, n, u, ve, vn, vu]`` (m, m/s).
    kind : int
        0 circle, 1 polygon.
    center : ndarray, shape (2,)
        Circle centre (unused for a polygon).
    radius : float
        Circle radius (unused for a polygon).
    floor, ceiling : float
        Absolute ``u`` limits of the zone (m).
    poly_xy : ndarray, shape (V, 2)
    lo, hi : int
        Vertex range of the polygon (unused for a circle).
    horizon_s : float
        Look-ahead (s).

    Returns
    -------
    float
        0 when inside now, ``+inf`` when not inside within the horizon.
    """
    t_a, t_b = _slab_window(x[2], x[5], floor, ceiling, horizon_s)
    if t_a > t_b:
        return np.inf
    if kind == KIND_CIRCLE:
        return _circle_entry(x[0] - center[0], x[1] - center[1], x[3], x[4], radius, t_a, t_b)
    return _polygon_entry(x[0], x[1], x[3], x[4], poly_xy, lo, hi, t_a, t_b)


@njit
def _circle_path_min(e, n, ve, vn, center_e, center_n, radius, t0, t1):
    de = e - center_e
    dn = n - center_n
    distance, t = _path_center_distance(de, dn, ve, vn, t0, t1)
    if distance > 0.0:
        return distance - radius, t, (de + ve * t) / distance, (dn + vn * t) / distance
    speed = math.sqrt(ve * ve + vn * vn)
    if speed > 0.0:                              # through the centre: across the path
        return -radius, t, -vn / speed, ve / speed
    return -radius, t, 1.0, 0.0


@njit
def _polygon_search(e, n, ve, vn, poly_xy, lo, hi, t0, t1, n_samples, may_enter,
                    start_inside, start_distance, start_qe, start_qn, start_edge,
                    start_distance2):
    """Minimum signed distance along the path over ``[t0, t1]`` (module
    docstring) and the first edge crossing.

    The caller gives the start ``p(t0)`` as :func:`_polygon_signed_distance`
    returns it.  ``may_enter`` False (the path misses the bounding circle)
    skips the crossing search.  Ties keep the earliest time, so a path that
    does not move horizontally has ``t* = t0``.

    Returns ``(t_first, g, t, nrm_e, nrm_n)``.
    """
    ae = e + ve * t0
    an = n + vn * t0
    be = e + ve * t1
    bn = n + vn * t1
    t_first = np.inf
    t_last = -np.inf
    edge_first = lo
    if may_enter:
        t_first, t_last, edge_first = _path_crossings(e, n, ve, vn, poly_xy, lo, hi, t0, t1)
    if not start_inside and t_first == np.inf:
        # Entirely outside: exact segment-to-segment distance.  The path
        # segment [a, b] and an edge do not intersect, so their distance is
        # the least of the end points of each to the other; a to every edge
        # is the start's nearest boundary point.
        best = start_distance2
        best_t = t0
        best_pe = ae
        best_pn = an
        best_qe = start_qe
        best_qn = start_qn
        best_edge = start_edge
        moving = (ve != 0.0 or vn != 0.0) and t1 > t0
        for i in range(lo, hi if moving else lo):
            j = i + 1 if i + 1 < hi else lo
            vie = poly_xy[i, 0]
            vin = poly_xy[i, 1]
            d2, qe, qn, _ = _closest_on_segment(be, bn, vie, vin, poly_xy[j, 0],
                                                poly_xy[j, 1])
            if d2 < best:
                best, best_t, best_pe, best_pn, best_qe, best_qn, best_edge = (
                    d2, t1, be, bn, qe, qn, i)
            # vertex i to the path (vertex j is the next edge's vertex i)
            d2, pe, pn, s = _closest_on_segment(vie, vin, ae, an, be, bn)
            if d2 < best:
                best, best_t, best_pe, best_pn, best_qe, best_qn, best_edge = (
                    d2, t0 + s * (t1 - t0), pe, pn, vie, vin, i)
        g = math.sqrt(best)
        if g > 0.0:
            return t_first, g, best_t, (best_pe - best_qe) / g, (best_pn - best_qn) / g
        normal_e, normal_n = _edge_normal(poly_xy, lo, hi, best_edge)
        return t_first, g, best_t, normal_e, normal_n
    # The path goes inside: sample the depth between the first and last time
    # it can be inside.
    t_lo = t0 if start_inside else t_first
    t_hi = t1
    if not point_in_polygon(be, bn, poly_xy, lo, hi) and t_last >= t_lo:
        t_hi = t_last
    best_g = np.inf
    best_t = t_lo
    nrm_e = 1.0
    nrm_n = 0.0
    if t_first < np.inf:
        best_g = 0.0
        best_t = t_first
        nrm_e, nrm_n = _edge_normal(poly_xy, lo, hi, edge_first)
    for k in range(n_samples):
        t = t_lo
        if n_samples > 1:
            t = min(t_lo + (t_hi - t_lo) * (k / (n_samples - 1.0)), t_hi)
        pe = e + ve * t
        pn = n + vn * t
        inside, distance, qe, qn, edge, _ = _polygon_signed_distance(pe, pn, poly_xy, lo, hi)
        g = -distance if inside else distance
        if g < best_g:
            best_g = g
            best_t = t
            if distance > 0.0:
                nrm_e = (pe - qe) / distance
                nrm_n = (pn - qn) / distance
            else:
                nrm_e, nrm_n = _edge_normal(poly_xy, lo, hi, edge)
    return t_first, best_g, best_t, nrm_e, nrm_n


@njit
def _polygon_path_min(e, n, ve, vn, poly_xy, lo, hi, t0, t1, n_samples):
    ae = e + ve * t0
    an = n + vn * t0
    start = _polygon_signed_distance(ae, an, poly_xy, lo, hi)
    _, g, t, nrm_e, nrm_n = _polygon_search(e, n, ve, vn, poly_xy, lo, hi, t0, t1, n_samples,
                                            True, *start)
    return g, t, nrm_e, nrm_n


@njit
def path_min_signed_distance(x, kind, center, radius, poly_xy, lo, hi, t0_s, t1_s,
                             n_samples):
    """Minimum signed horizontal distance along the path over ``[t0_s, t1_s]``.

    The search behind the probability of entry (module docstring): exact for
    a circle and for a polygon the path stays outside of; for a path that
    enters a polygon, the least of 0 at the first edge crossing and the
    signed distance at ``n_samples`` evenly spaced times on ``[t_lo, t_hi]``.

    Parameters
    ----------
    x : ndarray, shape (6,)
        Track state; only ``e, n, ve, vn`` are used.
    kind : int
        0 circle, 1 polygon.
    center : ndarray, shape (2,)
    radius : float
    poly_xy : ndarray, shape (V, 2)
    lo, hi : int
    t0_s, t1_s : float
        Time interval, ``t0_s <= t1_s``.
    n_samples : int
        Depth samples for a path entering a polygon, ``>= 1``.

    Returns
    -------
    g : float
        Minimum signed distance ``g*`` (m).
    t : float
        Time ``t*`` (s) at which it is reached.
    nrm_e, nrm_n : float
        Unit normal of the boundary at the nearest boundary point.
    """
    if kind == KIND_CIRCLE:
        return _circle_path_min(x[0], x[1], x[3], x[4], center[0], center[1], radius,
                                t0_s, t1_s)
    return _polygon_path_min(x[0], x[1], x[3], x[4], poly_xy, lo, hi, t0_s, t1_s,
                             n_samples)


# ---------------------------------------------------------------------------
# Per (track, zone) worker and drivers
# ---------------------------------------------------------------------------


@njit
def _signed_distance_normal(e, n, ve, vn, kind, center_e, center_n, radius, poly_xy, lo, hi):
    """Signed distance of ``(e, n)`` and the unit normal of the boundary at its
    nearest boundary point (across the velocity at a circle's centre)."""
    if kind == KIND_CIRCLE:
        de = e - center_e
        dn = n - center_n
        distance = math.sqrt(de * de + dn * dn)
        if distance > 0.0:
            return distance - radius, de / distance, dn / distance
        speed = math.sqrt(ve * ve + vn * vn)
        if speed > 0.0:
            return -radius, -vn / speed, ve / speed
        return -radius, 1.0, 0.0
    inside, distance, qe, qn, edge, _ = _polygon_signed_distance(e, n, poly_xy, lo, hi)
    g = -distance if inside else distance
    if distance > 0.0:
        return g, (e - qe) / distance, (n - qn) / distance
    nrm_e, nrm_n = _edge_normal(poly_xy, lo, hi, edge)
    return g, nrm_e, nrm_n


@njit
def _slab_probability(P, t, u_t, floor, ceiling, q_v):
    """``P_v(t) = Phi((ceiling - u) / sigma_u) - Phi((floor - u) / sigma_u)``."""
    sigma_u = math.sqrt(max(cv_predicted_covariance(P, t, 0.0, q_v, 2, 2), 0.0))
    p_v = _normal_cdf(ceiling - u_t, sigma_u) - _normal_cdf(floor - u_t, sigma_u)
    return p_v if p_v > 0.0 else 0.0


@njit
def _inside_probability(P, t, g, nrm_e, nrm_n, u_t, floor, ceiling, q_h, q_v):
    """``P_in(t) = Phi(-g / sigma_h) P_v(t)`` with ``sigma_h^2 = nrm' P_hh(t) nrm``."""
    sigma_h2 = (nrm_e * nrm_e * cv_predicted_covariance(P, t, q_h, q_v, 0, 0)
                + nrm_e * nrm_n * (cv_predicted_covariance(P, t, q_h, q_v, 0, 1)
                                   + cv_predicted_covariance(P, t, q_h, q_v, 1, 0))
                + nrm_n * nrm_n * cv_predicted_covariance(P, t, q_h, q_v, 1, 1))
    p_h = _normal_cdf(-g, math.sqrt(max(sigma_h2, 0.0)))
    if p_h == 0.0:
        return 0.0
    return p_h * _slab_probability(P, t, u_t, floor, ceiling, q_v)


@njit
def _evaluate_pair(x, P, kind, center_e, center_n, radius, bound_radius, floor, ceiling,
                   poly_xy, lo, hi, horizon_s, q_h, q_v, n_samples):
    """``(inside, signed distance, time to entry, p_entry)`` of one pair."""
    e = x[0]
    n = x[1]
    u = x[2]
    ve = x[3]
    vn = x[4]
    vu = x[5]
    in_slab = floor <= u and u <= ceiling
    t_a, t_b = _slab_window(u, vu, floor, ceiling, horizon_s)
    window = t_a <= t_b
    t0 = t_a if window else 0.0            # W: where the search for t* runs
    t1 = t_b if window else horizon_s
    if kind == KIND_CIRCLE:
        distance = math.sqrt((e - center_e) ** 2 + (n - center_n) ** 2) - radius
        if distance <= 0.0 and in_slab:
            return True, distance, 0.0, 1.0
        tte = np.inf
        if window:
            tte = _circle_entry(e - center_e, n - center_n, ve, vn, radius, t_a, t_b)
        g, t, nrm_e, nrm_n = _circle_path_min(e, n, ve, vn, center_e, center_n, radius,
                                              t0, t1)
    else:
        now = _polygon_signed_distance(e, n, poly_xy, lo, hi)
        inside_now = now[0]
        distance = -now[1] if inside_now else now[1]
        if inside_now and in_slab:
            return True, distance, 0.0, 1.0
        center_distance, _ = _path_center_distance(e - center_e, n - center_n, ve, vn,
                                                   t0, t1)
        may_enter = center_distance <= bound_radius
        # nothing to search when Phi(-g / sigma_h) underflows to 0 on all of W
        trace_0 = (cv_predicted_covariance(P, t0, q_h, q_v, 0, 0)
                   + cv_predicted_covariance(P, t0, q_h, q_v, 1, 1))
        trace_1 = (cv_predicted_covariance(P, t1, q_h, q_v, 0, 0)
                   + cv_predicted_covariance(P, t1, q_h, q_v, 1, 1))
        sigma_max = math.sqrt(max(trace_0, trace_1, 0.0))
        if center_distance - bound_radius > 40.0 * sigma_max:   # Phi(-40) == 0.0
            return False, distance, np.inf, 0.0
        start = now
        if t0 != 0.0:
            start = _polygon_signed_distance(e + ve * t0, n + vn * t0, poly_xy, lo, hi)
        t_first, g, t, nrm_e, nrm_n = _polygon_search(
            e, n, ve, vn, poly_xy, lo, hi, t0, t1, n_samples, may_enter, *start)
        tte = np.inf
        if window:
            tte = t0 if start[0] else t_first
    p_in = _inside_probability(P, t, g, nrm_e, nrm_n, u + vu * t, floor, ceiling, q_h, q_v)
    if vu != 0.0:
        t_v = (0.5 * (floor + ceiling) - u) / vu
        t_v = min(max(t_v, t0), t1)
        # P_in(t_v) <= P_v(t_v): the horizontal part only when that can win
        if t_v != t and _slab_probability(P, t_v, u + vu * t_v, floor, ceiling, q_v) > p_in:
            g, nrm_e, nrm_n = _signed_distance_normal(e + ve * t_v, n + vn * t_v, ve, vn, kind,
                                                      center_e, center_n, radius, poly_xy,
                                                      lo, hi)
            p_in = max(p_in, _inside_probability(P, t_v, g, nrm_e, nrm_n, u + vu * t_v,
                                                 floor, ceiling, q_h, q_v))
    return False, distance, tte, p_in


@njit
def _evaluate_row(i, x, P, zone_kind, zone_center, zone_radius, bound_radius, zone_floor,
                  zone_ceiling, poly_start, poly_xy, horizon_s, q_h, q_v, n_samples,
                  inside_out, distance_out, tte_out, p_entry_out):
    for k in range(zone_kind.shape[0]):
        inside, distance, tte, p = _evaluate_pair(
            x[i], P[i], zone_kind[k], zone_center[k, 0], zone_center[k, 1], zone_radius[k],
            bound_radius[k], zone_floor[k], zone_ceiling[k], poly_xy, poly_start[k],
            poly_start[k + 1], horizon_s, q_h, q_v, n_samples)
        inside_out[i, k] = inside
        distance_out[i, k] = distance
        tte_out[i, k] = tte
        p_entry_out[i, k] = p


@njit
def _evaluate_zones_serial(x, P, zone_kind, zone_center, zone_radius, bound_radius,
                           zone_floor, zone_ceiling, poly_start, poly_xy, horizon_s, q_h,
                           q_v, n_samples, inside_out, distance_out, tte_out, p_entry_out):
    for i in range(x.shape[0]):
        _evaluate_row(i, x, P, zone_kind, zone_center, zone_radius, bound_radius,
                      zone_floor, zone_ceiling, poly_start, poly_xy, horizon_s, q_h, q_v,
                      n_samples, inside_out, distance_out, tte_out, p_entry_out)


@njit(parallel=True)
def _evaluate_zones_parallel(x, P, zone_kind, zone_center, zone_radius, bound_radius,
                             zone_floor, zone_ceiling, poly_start, poly_xy, horizon_s, q_h,
                             q_v, n_samples, inside_out, distance_out, tte_out, p_entry_out):
    for i in prange(x.shape[0]):
        _evaluate_row(i, x, P, zone_kind, zone_center, zone_radius, bound_radius,
                      zone_floor, zone_ceiling, poly_start, poly_xy, horizon_s, q_h, q_v,
                      n_samples, inside_out, distance_out, tte_out, p_entry_out)


@njit
def _bounding_radius(zone_kind, zone_center, zone_radius, poly_start, poly_xy, out):
    """Radius about ``zone_center`` of a circle holding each zone."""
    for k in range(zone_kind.shape[0]):
        if zone_kind[k] == KIND_CIRCLE:
            out[k] = zone_radius[k]
            continue
        r2 = 0.0
        for i in range(poly_start[k], poly_start[k + 1]):
            de = poly_xy[i, 0] - zone_center[k, 0]
            dn = poly_xy[i, 1] - zone_center[k, 1]
            r2 = max(r2, de * de + dn * dn)
        out[k] = math.sqrt(r2)


@njit
def _cpa_pair(e, n, ve, vn, asset_e, asset_n, horizon_s):
    de = e - asset_e
    dn = n - asset_n
    range_m = math.sqrt(de * de + dn * dn)
    cpa_m, t_cpa = _path_center_distance(de, dn, ve, vn, 0.0, horizon_s)
    closing = 0.0
    if range_m > 0.0:
        closing = -(de * ve + dn * vn) / range_m
    return cpa_m, t_cpa, closing, range_m


@njit
def _asset_cpa_loop(x, asset_en, horizon_s, cpa_m_out, t_cpa_out, closing_mps_out,
                    range_m_out):
    for i in range(x.shape[0]):
        for k in range(asset_en.shape[0]):
            cpa_m, t_cpa, closing, range_m = _cpa_pair(
                x[i, 0], x[i, 1], x[i, 3], x[i, 4], asset_en[k, 0], asset_en[k, 1],
                horizon_s)
            cpa_m_out[i, k] = cpa_m
            t_cpa_out[i, k] = t_cpa
            closing_mps_out[i, k] = closing
            range_m_out[i, k] = range_m


# ---------------------------------------------------------------------------
# Python entry points
# ---------------------------------------------------------------------------


def _check_array(name, array, dtype, shape, writeable=False):
    """Raise unless ``array`` is an ndarray of ``dtype`` and ``shape`` (``None``
    in ``shape`` matches any length)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(array).__name__}")
    if array.dtype != dtype:
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}, got {array.dtype}")
    if array.ndim != len(shape) or any(
            want is not None and got != want for got, want in zip(array.shape, shape)):
        wanted = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {wanted}, got {array.shape}")
    if writeable and not array.flags.writeable:
        raise ValueError(f"{name} is an output and must be writeable")


def _check_nonnegative(name, value):
    value = float(value)
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"{name} must be finite and >= 0, got {value}")
    return value


def check_zone_table(zone_kind, zone_center, zone_radius, zone_floor, zone_ceiling,
                     poly_start, poly_xy):
    """Validate a zone table (module docstring); return the number of zones.

    Raises
    ------
    TypeError
        If an array is not an ndarray of the right dtype.
    ValueError
        On a wrong shape, a non-finite value, an unknown kind, a circle with
        a radius ``<= 0``, a polygon with fewer than 3 vertices, a
        ``poly_start`` that is not a non-decreasing index into ``poly_xy``,
        or a floor above its ceiling.
    """
    _check_array("zone_kind", zone_kind, np.int64, (None,))
    z = zone_kind.shape[0]
    _check_array("zone_center", zone_center, np.float64, (z, 2))
    _check_array("zone_radius", zone_radius, np.float64, (z,))
    _check_array("zone_floor", zone_floor, np.float64, (z,))
    _check_array("zone_ceiling", zone_ceiling, np.float64, (z,))
    _check_array("poly_start", poly_start, np.int64, (z + 1,))
    _check_array("poly_xy", poly_xy, np.float64, (None, 2))
    for name, array in (("zone_center", zone_center), ("zone_radius", zone_radius),
                        ("zone_floor", zone_floor), ("zone_ceiling", zone_ceiling),
                        ("poly_xy", poly_xy)):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must be finite")
    bad = ~np.isin(zone_kind, (KIND_CIRCLE, KIND_POLYGON))
    if np.any(bad):
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"zone_kind must be 0 (circle) or 1 (polygon); zone {k} has "
                         f"{zone_kind[k]}")
    if poly_start[0] != 0 or poly_start[-1] != poly_xy.shape[0] or np.any(
            np.diff(poly_start) < 0):
        raise ValueError("poly_start must rise from 0 to len(poly_xy) without decreasing")
    counts = np.diff(poly_start)
    bad = (zone_kind == KIND_POLYGON) & (counts < 3)
    if np.any(bad):
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"polygon zone {k} has {counts[k]} vertices; at least 3 needed")
    bad = (zone_kind == KIND_CIRCLE) & ~(zone_radius > 0.0)
    if np.any(bad):
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"circle zone {k} has radius {zone_radius[k]}; it must be > 0")
    bad = zone_floor > zone_ceiling
    if np.any(bad):
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"zone {k} has its floor {zone_floor[k]} above its ceiling "
                         f"{zone_ceiling[k]}")
    return z


def evaluate_zones(x, P, zone_kind, zone_center, zone_radius, zone_floor, zone_ceiling,
                   poly_start, poly_xy, horizon_s, q_h, q_v, inside_out, distance_out,
                   tte_out, p_entry_out, parallel=None, n_samples=16):
    """Evaluate every track against every zone.

    For each pair (track ``i``, zone ``k``): inside now, signed horizontal
    distance now, time to entry (:func:`entry_time`) and the probability of
    entry within the horizon.  The probability model (module docstring):
    ``P_in(t) = Phi(-g(t)/sigma_h) [Phi((ceiling - u(t))/sigma_u) -
    Phi((floor - u(t))/sigma_u)]`` with ``sigma_h^2 = nrm' P_hh(t) nrm`` and
    ``sigma_u^2 = P_uu(t)`` from ``P(t) = F P F' + Q``, evaluated at the
    time ``t*`` of the least signed horizontal distance along the predicted
    path within the vertical window and, for a climbing or descending track,
    at the time nearest mid-slab; ``p_entry`` is the larger, 1 when inside
    now.

    Parameters
    ----------
    x : ndarray, shape (n, 6)
        Track states ``[e, n, u, ve, vn, vu]`` at the epoch (m, m/s).
    P : ndarray, shape (n, 6, 6)
        Their covariances.
    zone_kind, zone_center, zone_radius, zone_floor, zone_ceiling, poly_start, poly_xy
        The zone table (module docstring; :func:`check_zone_table`), ``z``
        zones.
    horizon_s : float
        Look-ahead ``H`` (s), ``>= 0``.
    q_h, q_v : float
        Horizontal and vertical acceleration PSDs of the CV prediction
        (m^2/s^3), ``>= 0``.
    inside_out : ndarray, shape (n, z), bool
        Receives whether the track is in the zone now.
    distance_out : ndarray, shape (n, z)
        Receives the signed horizontal distance now (m, negative inside).
    tte_out : ndarray, shape (n, z)
        Receives the time to entry (s): 0 inside, ``+inf`` beyond the horizon.
    p_entry_out : ndarray, shape (n, z)
        Receives the probability of entry within the horizon, in ``[0, 1]``.
    parallel : bool or None, optional
        Spread the tracks over threads; ``None`` does so from
        :data:`PARALLEL_MIN_PAIRS` pairs (the validation here costs about
        50 us per call either way).
    n_samples : int, optional
        Depth samples for a path entering a polygon (``>= 1``).

    Raises
    ------
    TypeError
        If an array is not an ndarray of the right dtype.
    ValueError
        On a wrong shape, a read-only output, a non-finite state or
        covariance, a bad zone table, or a negative or non-finite
        ``horizon_s``, ``q_h`` or ``q_v``.
    """
    _check_array("x", x, np.float64, (None, 6))
    n = x.shape[0]
    _check_array("P", P, np.float64, (n, 6, 6))
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite")
    if not np.all(np.isfinite(P)):
        raise ValueError("P must be finite")
    z = check_zone_table(zone_kind, zone_center, zone_radius, zone_floor, zone_ceiling,
                         poly_start, poly_xy)
    _check_array("inside_out", inside_out, np.bool_, (n, z), writeable=True)
    _check_array("distance_out", distance_out, np.float64, (n, z), writeable=True)
    _check_array("tte_out", tte_out, np.float64, (n, z), writeable=True)
    _check_array("p_entry_out", p_entry_out, np.float64, (n, z), writeable=True)
    horizon_s = _check_nonnegative("horizon_s", horizon_s)
    q_h = _check_nonnegative("q_h", q_h)
    q_v = _check_nonnegative("q_v", q_v)
    n_samples = int(n_samples)
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    bound_radius = np.empty(z)
    _bounding_radius(zone_kind, zone_center, zone_radius, poly_start, poly_xy, bound_radius)
    if parallel is None:
        parallel = n * z >= PARALLEL_MIN_PAIRS
    loop = _evaluate_zones_parallel if parallel else _evaluate_zones_serial
    loop(x, P, zone_kind, zone_center, zone_radius, bound_radius, zone_floor, zone_ceiling,
         poly_start, poly_xy, horizon_s, q_h, q_v, n_samples, inside_out, distance_out,
         tte_out, p_entry_out)


def asset_cpa(x, asset_en, horizon_s, cpa_m_out, t_cpa_out, closing_mps_out, range_m_out):
    """Horizontal closest point of approach of every track to every asset.

    ``d = p - a``, ``range = |d|``, ``t_cpa = clip(-d.v / |v|^2, 0, H)``
    (0 when ``v = 0``), ``cpa = |d + v t_cpa|``, closing speed
    ``-(d . v) / |d|`` (positive when approaching, 0 at the asset).

    Parameters
    ----------
    x : ndarray, shape (n, 6)
        Track states ``[e, n, u, ve, vn, vu]``; ``u`` and ``vu`` are unused.
    asset_en : ndarray, shape (a, 2)
        Asset positions (e, n) in the local frame (m).
    horizon_s : float
        Look-ahead ``H`` (s), ``>= 0``.
    cpa_m_out, t_cpa_out, closing_mps_out, range_m_out : ndarray, shape (n, a)
        Receive the CPA distance (m), its time (s), the closing speed (m/s)
        and the current range (m).

    Raises
    ------
    TypeError, ValueError
        On a wrong dtype, shape, a read-only output, a non-finite input or a
        bad ``horizon_s``.
    """
    _check_array("x", x, np.float64, (None, 6))
    n = x.shape[0]
    _check_array("asset_en", asset_en, np.float64, (None, 2))
    a = asset_en.shape[0]
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite")
    if not np.all(np.isfinite(asset_en)):
        raise ValueError("asset_en must be finite")
    for name, out in (("cpa_m_out", cpa_m_out), ("t_cpa_out", t_cpa_out),
                      ("closing_mps_out", closing_mps_out), ("range_m_out", range_m_out)):
        _check_array(name, out, np.float64, (n, a), writeable=True)
    horizon_s = _check_nonnegative("horizon_s", horizon_s)
    _asset_cpa_loop(x, asset_en, horizon_s, cpa_m_out, t_cpa_out, closing_mps_out,
                    range_m_out)


# ---------------------------------------------------------------------------
# Polygon validity: the one check behind pack_polygons and site.toml
# ---------------------------------------------------------------------------

#: Polygon defects :func:`polygon_defect` reports, by code.
POLYGON_DEFECTS = ("cross", "touch", "overlap")

# Error bound of the floating-point orientation determinant (Shewchuk's
# ccwerrboundA): when |det| exceeds it, its sign is exact.
_EPSILON = 2.0 ** -53
_ORIENTATION_ERROR_BOUND = (3.0 + 16.0 * _EPSILON) * _EPSILON
_UNSURE = 9
# Below this the products of the determinant may have underflowed.
_SMALLEST_FILTERED = 1e-290


@njit
def _orientation_filtered(ax, ay, bx, by, cx, cy):
    """Sign of ``(a - c) x (b - c)`` (+1, -1, 0) where floats decide it
    exactly, else ``_UNSURE``."""
    dx_ac = ax - cx
    dy_bc = by - cy
    dy_ac = ay - cy
    dx_bc = bx - cx
    if (dx_ac == 0.0 or dy_bc == 0.0) and (dy_ac == 0.0 or dx_bc == 0.0):
        # both products exactly zero (a difference of floats is zero only
        # when they are equal, and a product with a zero factor is exact)
        return 0
    left = dx_ac * dy_bc
    right = dy_ac * dx_bc
    det = left - right
    size = abs(left) + abs(right)
    if not size >= _SMALLEST_FILTERED:
        # products near underflow round by an absolute amount the relative
        # bound does not cover
        return _UNSURE
    bound = _ORIENTATION_ERROR_BOUND * size
    if det > bound:
        return 1
    if -det > bound:
        return -1
    return _UNSURE


@njit
def _between(p, a, b):
    """Whether ``p`` lies in the closed interval of ``a`` and ``b`` (exact)."""
    return min(a, b) <= p <= max(a, b)


@njit
def _push_pair(pairs, n, i, j):
    """Append ``(i, j)`` to the first ``n`` rows of ``pairs`` (doubled when full); the array and ``n + 1``."""
    if n == pairs.shape[0]:
        grown = np.empty((2 * n, 2), np.int64)
        grown[:n] = pairs
        pairs = grown
    pairs[n, 0] = i
    pairs[n, 1] = j
    return pairs, n + 1


@njit
def _segment_contact(xy, i, j):
    """How non-adjacent edges ``i`` and ``j`` meet: 0 not at all, 1 they cross
    at one point inside both, 2 they touch (an end point on the other edge,
    or collinear overlap), ``_UNSURE`` when floats cannot decide."""
    m = xy.shape[0]
    i1 = i + 1 if i + 1 < m else 0
    j1 = j + 1 if j + 1 < m else 0
    ax, ay, bx, by = xy[i, 0], xy[i, 1], xy[i1, 0], xy[i1, 1]
    cx, cy, dx, dy = xy[j, 0], xy[j, 1], xy[j1, 0], xy[j1, 1]
    if (max(ax, bx) < min(cx, dx) or max(cx, dx) < min(ax, bx)
            or max(ay, by) < min(cy, dy) or max(cy, dy) < min(ay, by)):
        return 0
    o1 = _orientation_filtered(ax, ay, bx, by, cx, cy)
    o2 = _orientation_filtered(ax, ay, bx, by, dx, dy)
    o3 = _orientation_filtered(cx, cy, dx, dy, ax, ay)
    o4 = _orientation_filtered(cx, cy, dx, dy, bx, by)
    if (o1 != _UNSURE and o1 == o2 and o1 != 0) or (o3 != _UNSURE and o3 == o4 and o3 != 0):
        return 0                              # one edge wholly on one side of the other
    if o1 == _UNSURE or o2 == _UNSURE or o3 == _UNSURE or o4 == _UNSURE:
        return _UNSURE
    if o1 * o2 < 0 and o3 * o4 < 0:
        return 1
    # An end point on the other edge's line is on the edge itself when it is
    # inside that edge's bounding box (exact comparisons).
    if ((o1 == 0 and _between(cx, ax, bx) and _between(cy, ay, by))
            or (o2 == 0 and _between(dx, ax, bx) and _between(dy, ay, by))
            or (o3 == 0 and _between(ax, cx, dx) and _between(ay, cy, dy))
            or (o4 == 0 and _between(bx, cx, dx) and _between(by, cy, dy))):
        return 2
    return 0


@njit
def _doubles_back(xy, k):
    """Whether edges ``k - 1`` and ``k`` (meeting at vertex ``k``) overlap: the
    path turns back on itself there.  1 yes, 0 no, ``_UNSURE``."""
    m = xy.shape[0]
    p = k - 1 if k > 0 else m - 1
    q = k + 1 if k + 1 < m else 0
    o = _orientation_filtered(xy[p, 0], xy[p, 1], xy[k, 0], xy[k, 1], xy[q, 0], xy[q, 1])
    if o == _UNSURE:
        return _UNSURE
    if o != 0:
        return 0
    # collinear: it turns back when the two steps run opposite ways along an
    # axis on which the first one moves (vertices are distinct: one does)
    axis = 0 if xy[p, 0] != xy[k, 0] else 1
    return 1 if (xy[k, axis] > xy[p, axis]) != (xy[q, axis] > xy[k, axis]) else 0


@njit
def _polygon_contacts(xy):
    """The first (lexicographic) pair of edges that meet where they should not,
    and the pairs floats could not decide.

    Adjacent edges are tested for doubling back; the other pairs are found
    through a uniform grid of about ``4 m + 4096`` square cells over the
    bounding box: each edge is entered in
    the cells it passes through, column by column, with a margin far below
    a cell against rounding, and only edges sharing a cell are tested.

    Returns ``(i, j, code, unsure)``: ``i = -1`` when no pair certainly
    meets; ``code`` 1 cross, 2 touch, 3 overlap (adjacent); ``unsure`` an
    array ``(k, 2)`` of the undecided pairs that come before ``(i, j)``.
    """
    m = xy.shape[0]
    best_i = m
    best_j = m
    best_code = 0
    unsure = np.empty((16, 2), np.int64)
    n_unsure = np.int64(0)     # (not a literal 0: _push_pair would compile for Literal[int](0) too)
    for k in range(m):
        verdict = _doubles_back(xy, k)
        i, j = (k - 1, k) if k > 0 else (0, m - 1)
        if verdict == 1:
            if i < best_i or (i == best_i and j < best_j):
                best_i, best_j, best_code = i, j, 3
        elif verdict == _UNSURE:
            unsure, n_unsure = _push_pair(unsure, n_unsure, i, j)
    x0 = xy[0, 0]
    x1 = xy[0, 0]
    y0 = xy[0, 1]
    y1 = xy[0, 1]
    for k in range(m):
        x0 = min(x0, xy[k, 0])
        x1 = max(x1, xy[k, 0])
        y0 = min(y0, xy[k, 1])
        y1 = max(y1, xy[k, 1])
    width = max(x1 - x0, 1e-300)
    height = max(y1 - y0, 1e-300)
    # about 4 m + 4096 square cells over the box, far wider than the
    # rounding of the coordinates
    cell = max(math.sqrt(width * height / (4.0 * m + 4096.0)),
               1e-8 * (abs(x0) + abs(x1) + abs(y0) + abs(y1)), 1e-300)
    n_x = np.int64(min(width / cell, 4.0 * m + 4096.0)) + 1
    n_y = np.int64(min(height / cell, 4.0 * m + 4096.0)) + 1
    inv_x = n_x / width
    inv_y = n_y / height
    # margins against rounding, far below a cell
    eps_x = 1e-6 / inv_x
    eps_y = 1e-6 / inv_y
    # two passes over the edges: count the cell entries, then fill them
    count = np.zeros(n_x * n_y + 1, np.int64)
    entries = np.empty(0, np.int64)
    cursor = np.empty(0, np.int64)
    for fill in range(2):
        if fill == 1:
            for c in range(n_x * n_y):
                count[c + 1] += count[c]
            entries = np.empty(count[n_x * n_y], np.int64)
            cursor = count[:n_x * n_y].copy()
        for i in range(m):
            i1 = i + 1 if i + 1 < m else 0
            ax, ay, bx, by = xy[i, 0], xy[i, 1], xy[i1, 0], xy[i1, 1]
            if ax > bx:
                ax, ay, bx, by = bx, by, ax, ay
            cx0 = min(max(np.int64((ax - eps_x - x0) * inv_x), 0), n_x - 1)
            cx1 = min(max(np.int64((bx + eps_x - x0) * inv_x), 0), n_x - 1)
            for cx in range(cx0, cx1 + 1):
                # the edge's y range over this column (widened a little)
                lo_y = min(ay, by)
                hi_y = max(ay, by)
                if bx > ax:
                    xa = max(ax, x0 + cx / inv_x - eps_x)
                    xb = min(bx, x0 + (cx + 1) / inv_x + eps_x)
                    ya = ay + (by - ay) * ((xa - ax) / (bx - ax))
                    yb = ay + (by - ay) * ((xb - ax) / (bx - ax))
                    lo_y = max(min(ya, yb), lo_y)
                    hi_y = min(max(ya, yb), hi_y)
                cy0 = min(max(np.int64((lo_y - eps_y - y0) * inv_y), 0), n_y - 1)
                cy1 = min(max(np.int64((hi_y + eps_y - y0) * inv_y), 0), n_y - 1)
                for cy in range(cy0, cy1 + 1):
                    c = cy * n_x + cx
                    if fill == 0:
                        count[c + 1] += 1
                    else:
                        entries[cursor[c]] = i
                        cursor[c] += 1
    for c in range(n_x * n_y):
        for u in range(count[c], count[c + 1]):
            for w in range(u + 1, count[c + 1]):
                i = min(entries[u], entries[w])
                j = max(entries[u], entries[w])
                if j - i < 2 or (i == 0 and j == m - 1):
                    continue                  # the same edge, or adjacent edges
                if i > best_i or (i == best_i and j >= best_j):
                    continue                  # cannot come first
                contact = _segment_contact(xy, i, j)
                if contact == 1 or contact == 2:
                    best_i, best_j, best_code = i, j, contact
                elif contact == _UNSURE:
                    unsure, n_unsure = _push_pair(unsure, n_unsure, i, j)
    if best_code == 0:
        return -1, -1, 0, unsure[:n_unsure]
    return best_i, best_j, best_code, unsure[:n_unsure]


def _exact_orientation(a, b, c):
    """Exact sign of ``(a - c) x (b - c)`` for float points, in rationals."""
    ax, ay, bx, by, cx, cy = (Fraction(float(v)) for v in (*a, *b, *c))
    det = (ax - cx) * (by - cy) - (ay - cy) * (bx - cx)
    return (det > 0) - (det < 0)


def _exact_contact(xy, i, j):
    """:func:`_segment_contact` or :func:`_doubles_back` (code 3) in rationals."""
    m = len(xy)
    if j - i == 1 or (i == 0 and j == m - 1):
        k = j if j - i == 1 else 0
        p, q = xy[k - 1], xy[(k + 1) % m]
        if _exact_orientation(p, xy[k], q) != 0:
            return 0
        axis = 0 if p[0] != xy[k][0] else 1
        return 3 if (xy[k][axis] > p[axis]) != (q[axis] > xy[k][axis]) else 0
    a, b, c, d = xy[i], xy[(i + 1) % m], xy[j], xy[(j + 1) % m]
    o1, o2 = _exact_orientation(a, b, c), _exact_orientation(a, b, d)
    o3, o4 = _exact_orientation(c, d, a), _exact_orientation(c, d, b)
    if o1 * o2 < 0 and o3 * o4 < 0:
        return 1

    def on(p, s, t):
        return min(s[0], t[0]) <= p[0] <= max(s[0], t[0]) and min(s[1], t[1]) <= p[1] <= max(s[1], t[1])
    if ((o1 == 0 and on(c, a, b)) or (o2 == 0 and on(d, a, b))
            or (o3 == 0 and on(a, c, d)) or (o4 == 0 and on(b, c, d))):
        return 2
    return 0


def polygon_defect(vertices):
    """The first pair of edges of a closed polygon that meet where a simple
    polygon's edges do not, or None.

    Edge ``k`` joins vertex ``k`` to vertex ``k + 1`` (the last joins the last
    vertex to the first).  A simple polygon's adjacent edges share only their
    common vertex (they must not run back over each other) and its other
    edges share no point at all.  Pairs ``(i, j)``, ``i < j``, are ranked in
    lexicographic order and the first that breaks this is returned.
    Coordinates are plane coordinates (east/north metres, or latitude and
    longitude taken as such); every orientation is exact (floats where
    their error bound decides the sign, rationals otherwise).  Time: about
    linear in the number of vertices for polygons whose edges are spread
    over their bounding box (a grid of about one cell per vertex); edges
    crowded into a few cells are compared pairwise.

    Parameters
    ----------
    vertices : array-like, shape (m, 2)
        Finite, ``m >= 3``, no vertex equal to the next (nor the last to the
        first).

    Returns
    -------
    (i, j, how) or None
        ``i < j`` edge indices and ``how`` one of :data:`POLYGON_DEFECTS`:
        ``"cross"`` (at one point inside both), ``"touch"`` (an end point
        on the other edge, or a collinear overlap of non-adjacent edges),
        ``"overlap"`` (adjacent edges doubling back).
    """
    xy = np.ascontiguousarray(vertices, dtype=np.float64)
    i, j, code, unsure = _polygon_contacts(xy)
    points = [tuple(p) for p in xy.tolist()] if unsure.shape[0] else []
    for a, b in sorted(map(tuple, unsure.tolist())):
        if i >= 0 and (a, b) >= (i, j):
            break
        exact = _exact_contact(points, a, b)
        if exact:
            i, j, code = a, b, exact
            break
    if i < 0:
        return None
    return int(i), int(j), POLYGON_DEFECTS[code - 1]


def _all_on_one_line(xy):
    """Whether every vertex lies on the line through vertices 0 and 1 (exact)."""
    a, b = xy[0], xy[1]
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        left = (a[0] - xy[:, 0]) * (b[1] - xy[:, 1])
        right = (a[1] - xy[:, 1]) * (b[0] - xy[:, 0])
        size = np.abs(left) + np.abs(right)
        off_line = (np.abs(left - right) > _ORIENTATION_ERROR_BOUND * size) & (size >= _SMALLEST_FILTERED)
    if np.any(off_line):
        return False
    return all(_exact_orientation(a, b, c) == 0 for c in xy)


class PolygonError(ValueError):
    """A polygon that is not a valid zone polygon.

    ``reason`` says what is wrong; ``index`` is the polygon's position in
    the list given to :func:`pack_polygons` (None from :func:`check_polygon`).
    """

    def __init__(self, reason, index=None):
        self.reason = reason
        self.index = index
        super().__init__(reason if index is None else f"polygon {index}: {reason}")


#: Most vertices a zone polygon may have.
MAX_POLYGON_VERTICES = 100_000

_EDGE_NOTE = "edge k joins point k to point k+1, the last joins the first"


def check_polygon(vertices):
    """Validate one zone polygon; return its vertices without a closing repeat.

    The one check of polygon validity, used on the latitude/longitude pairs
    of site.toml and on the ENU vertices the engine packs
    (:func:`pack_polygons`).  A last vertex equal to the first (a ring given
    closed) is dropped.

    Parameters
    ----------
    vertices : array-like, shape (m, 2)

    Returns
    -------
    ndarray, shape (m', 2), float64

    Raises
    ------
    PolygonError
        A ValueError whose ``reason`` names the fault: a wrong shape, a non-finite vertex,
        more than :data:`MAX_POLYGON_VERTICES` or fewer than 3 vertices, a
        vertex equal to the next, all vertices on one line, or edges that
        cross, touch or overlap (:func:`polygon_defect`).
    """
    xy = np.asarray(vertices, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise PolygonError(f"expected shape (m, 2), got {xy.shape}")
    if xy.shape[0] > MAX_POLYGON_VERTICES + 1:
        raise PolygonError(f"{xy.shape[0]} points; at most {MAX_POLYGON_VERTICES} allowed")
    if not np.all(np.isfinite(xy)):
        raise PolygonError("a point is not finite")
    if xy.shape[0] >= 2 and np.array_equal(xy[0], xy[-1]):
        xy = xy[:-1]
    if xy.shape[0] < 3:
        raise PolygonError(f"{xy.shape[0]} distinct points; at least 3 needed")
    repeat = np.flatnonzero(np.all(xy == np.roll(xy, -1, axis=0), axis=1))
    if repeat.size:
        k = int(repeat[0])
        raise PolygonError(f"point {(k + 1) % xy.shape[0]} repeats point {k} (a zero-length edge)")
    if _all_on_one_line(xy):
        raise PolygonError("degenerate polygon (zero area: all points on one line)")
    defect = polygon_defect(xy)
    if defect is not None:
        i, j, how = defect
        raise PolygonError(f"self-intersecting polygon (edges {i} and {j} {how}; {_EDGE_NOTE})")
    return np.ascontiguousarray(xy)


def pack_polygons(polygons):
    """Pack per-zone vertex arrays into ``(poly_start, poly_xy)``.

    Parameters
    ----------
    polygons : sequence
        One entry per zone, in zone order: an array-like of shape (m, 2)
        (e, n vertices in metres, either orientation, ``m >= 3``) for a
        polygon zone, ``None`` or an empty array for a circle zone.  A
        repeated closing vertex (last equal to first) is dropped.

    Returns
    -------
    poly_start : ndarray, shape (z + 1,), int64
    poly_xy : ndarray, shape (V, 2), float64

    Raises
    ------
    PolygonError
        When polygon ``K`` fails :func:`check_polygon`: ``index`` is ``K``,
        the message ``"polygon K: REASON"``.
    """
    starts = [0]
    chunks = []
    for index, vertices in enumerate(polygons):
        if vertices is None or np.asarray(vertices).size == 0:
            starts.append(starts[-1])
            continue
        try:
            vertices = check_polygon(vertices)
        except PolygonError as exc:
            raise PolygonError(exc.reason, index) from None
        chunks.append(vertices)
        starts.append(starts[-1] + vertices.shape[0])
    poly_xy = np.ascontiguousarray(np.concatenate(chunks)) if chunks else np.zeros((0, 2))
    return np.array(starts, dtype=np.int64), poly_xy


def warmup():
    """Compile (or load from cache) every zone kernel on tiny inputs."""
    poly_start, poly_xy = pack_polygons([None, [[0.0, 0.0], [100.0, 0.0], [0.0, 100.0]]])
    zone_kind = np.array([KIND_CIRCLE, KIND_POLYGON], dtype=np.int64)
    zone_center = np.array([[0.0, 0.0], [33.0, 33.0]])
    zone_radius = np.array([50.0, 0.0])
    zone_floor = np.zeros(2)
    zone_ceiling = np.full(2, 100.0)
    x = np.array([[200.0, 10.0, 50.0, -10.0, 0.0, 0.0]])
    P = np.eye(6)[None].copy()
    outs = (np.empty((1, 2), dtype=np.bool_), np.empty((1, 2)), np.empty((1, 2)),
            np.empty((1, 2)))
    for parallel in (False, True):
        evaluate_zones(x, P, zone_kind, zone_center, zone_radius, zone_floor, zone_ceiling,
                       poly_start, poly_xy, 60.0, 1.0, 1.0, *outs, parallel=parallel)
    cpa_outs = tuple(np.empty((1, 1)) for _ in range(4))
    asset_cpa(x, zone_center[:1].copy(), 60.0, *cpa_outs)
    point_in_polygon(1.0, 1.0, poly_xy, 0, 3)
    signed_distance(1.0, 1.0, 1, zone_center[1], 0.0, poly_xy, 0, 3)
    entry_time(x[0], 1, zone_center[1], 0.0, 0.0, 100.0, poly_xy, 0, 3, 60.0)
    path_min_signed_distance(x[0], 1, zone_center[1], 0.0, poly_xy, 0, 3, 0.0, 60.0, 16)
