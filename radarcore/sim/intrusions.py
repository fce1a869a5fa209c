"""Known truth of zone entries: which target entered which zone, and when.

The zones of a site (:class:`radarcore.core.config.ZoneConfig`) are taken into the
site's origin ENU frame by :func:`zone_geometry`.  A point ``(E, N, U)`` is
inside a zone when its horizontal position is inside the zone's circle or
polygon and its height is within the zone's band:

.. math::

    \\text{inside} \\iff d(E, N) \\le 0 \\;\\wedge\\;
    U_{asset} + \\text{floor} \\le U \\le U_{asset} + \\text{ceiling}

with ``d`` the signed horizontal distance to the zone's boundary (negative
inside): ``d = |p - c| - r`` for a circle of centre c and radius r, and for a
polygon the distance to the nearest edge, negative when the even-odd
crossing rule puts the point inside.  Heights are ENU ``up`` (a few
centimetres from height above the ellipsoid at these distances).

The truth path of a target is the straight line between its truth samples.
:func:`truth_zone_events` samples that path at least every ``resolution_s``
(0.05 s by default), finds where the inside/outside state changes and
refines each change by bisection on the line to ``tolerance_s``; an excursion
shorter than ``resolution_s`` may be missed.  :func:`truth_min_distance` takes
the minimum of ``d`` over the same kind of sampling (0.2 s by default).

Plain NumPy: the truth of a scenario is small, and these are references for
tests and evaluation, not part of the engine.
"""
from __future__ import annotations

import math

import numpy as np

from kernels.geodesy import LocalFrame

__all__ = [
    "ZONE_EVENT_DTYPE",
    "zone_geometry",
    "zone_signed_distance",
    "zone_contains",
    "truth_zone_events",
    "truth_min_distance",
]

#: One zone visit of a truth target: its ``entry_index``-th entry (0 first)
#: into zone ``zone_index`` of asset ``asset_id``.  ``exit_time_s`` is NaN
#: when the target is still inside at its last truth sample; ``at_start`` is
#: True when it is inside at its first sample (``entry_time_s`` is then that
#: sample's time, not a crossing).
ZONE_EVENT_DTYPE = np.dtype([
    ("target_id", "i8"),
    ("kind", "U16"),
    ("asset_id", "U32"),
    ("zone_index", "i8"),
    ("level", "U8"),
    ("entry_index", "i8"),
    ("entry_time_s", "f8"),
    ("exit_time_s", "f8"),
    ("at_start", "?"),
])

_TRUTH_FIELDS = ("time_s", "target_id", "east_m", "north_m", "up_m")


# --------------------------------------------------------------------------
# Zone geometry
# --------------------------------------------------------------------------

def zone_geometry(site):
    """Every zone of every asset of a site, in the site's origin ENU frame.

    Parameters
    ----------
    site : SiteConfig

    Returns
    -------
    list of dict
        One per (asset, zone), assets in file order and zones in asset order,
        with keys:

        ``asset_id`` (str), ``zone_index`` (int, position in the asset's
        zones), ``level`` (str), ``kind`` (``"circle"`` or ``"polygon"``),
        ``centre_m`` (ndarray, shape (2,): the asset's east, north),
        ``asset_up_m`` (float: the asset's ENU up), ``radius_m`` (float, or
        None for a polygon), ``vertices_m`` (ndarray, shape (V, 2): east,
        north of the polygon's vertices, or None for a circle),
        ``floor_up_m`` and ``ceiling_up_m`` (float: the height band as
        absolute ENU up, ``asset_up_m + floor_m`` and ``asset_up_m +
        ceiling_m``).
    """
    origin = site.origin
    frame = LocalFrame(origin.lat_deg, origin.lon_deg, origin.alt_m)
    zones = []
    for asset in site.assets:
        asset_enu = frame.from_geodetic(asset.lat_deg, asset.lon_deg, asset.alt_m)[0]
        for zone_index, zone in enumerate(asset.zones):
            if zone.radius_m is not None:
                kind, radius_m, vertices_m = "circle", float(zone.radius_m), None
            else:
                lat_deg, lon_deg = np.array(zone.polygon, dtype=np.float64).T
                enu = frame.from_geodetic(lat_deg, lon_deg, np.full(lat_deg.shape, asset.alt_m))
                kind, radius_m, vertices_m = "polygon", None, np.ascontiguousarray(enu[:, :2])
            zones.append({
                "asset_id": asset.id,
                "zone_index": zone_index,
                "level": zone.level,
                "kind": kind,
                "centre_m": asset_enu[:2].copy(),
                "asset_up_m": float(asset_enu[2]),
                "radius_m": radius_m,
                "vertices_m": vertices_m,
                "floor_up_m": float(asset_enu[2] + zone.floor_m),
                "ceiling_up_m": float(asset_enu[2] + zone.ceiling_m),
            })
    return zones


def _inside_polygon(vertices_m, east_m, north_m):
    """Even-odd rule: a horizontal ray to +east crosses the boundary an odd
    number of times."""
    inside = np.zeros(east_m.shape, dtype=bool)
    n = vertices_m.shape[0]
    for k in range(n):
        e0, n0 = vertices_m[k]
        e1, n1 = vertices_m[(k + 1) % n]
        straddles = (n0 > north_m) != (n1 > north_m)
        if n1 == n0:
            continue
        east_at = e0 + (north_m - n0) * (e1 - e0) / (n1 - n0)
        inside ^= straddles & (east_m < east_at)
    return inside


def _polygon_edge_distance(vertices_m, east_m, north_m):
    """Distance (m) from each point to the nearest polygon edge."""
    best = np.full(east_m.shape, np.inf)
    n = vertices_m.shape[0]
    for k in range(n):
        a = vertices_m[k]
        b = vertices_m[(k + 1) % n]
        edge = b - a
        length2 = float(edge @ edge)
        de = east_m - a[0]
        dn = north_m - a[1]
        s = np.clip((de * edge[0] + dn * edge[1]) / length2, 0.0, 1.0) if length2 > 0.0 else 0.0
        np.minimum(best, np.hypot(de - s * edge[0], dn - s * edge[1]), out=best)
    return best


def zone_signed_distance(zone, east_m, north_m):
    """Signed horizontal distance from points to a zone's boundary.

    ``|p - c| - r`` for a circle; for a polygon the distance to the nearest
    edge, negative inside (even-odd rule).

    Parameters
    ----------
    zone : dict
        One entry of :func:`zone_geometry`.
    east_m, north_m : array_like, shape (m,)
        Site ENU horizontal positions (m).

    Returns
    -------
    ndarray, shape (m,)
        Metres, negative inside.
    """
    east_m = np.asarray(east_m, dtype=np.float64)
    north_m = np.asarray(north_m, dtype=np.float64)
    if zone["kind"] == "circle":
        centre = zone["centre_m"]
        return np.hypot(east_m - centre[0], north_m - centre[1]) - zone["radius_m"]
    distance = _polygon_edge_distance(zone["vertices_m"], east_m, north_m)
    return np.where(_inside_polygon(zone["vertices_m"], east_m, north_m), -distance, distance)


def _horizontally_inside(zone, east_m, north_m):
    if zone["kind"] == "circle":
        centre = zone["centre_m"]
        de = east_m - centre[0]
        dn = north_m - centre[1]
        return de * de + dn * dn <= zone["radius_m"] ** 2
    return _inside_polygon(zone["vertices_m"], east_m, north_m)


def _in_band(zone, up_m):
    return (up_m >= zone["floor_up_m"]) & (up_m <= zone["ceiling_up_m"])


def zone_contains(zone, east_m, north_m, up_m):
    """Whether points are inside a zone (horizontally and in its height band).

    Parameters
    ----------
    zone : dict
        One entry of :func:`zone_geometry`.
    east_m, north_m, up_m : array_like, shape (m,)
        Site ENU positions (m).

    Returns
    -------
    ndarray of bool, shape (m,)
    """
    east_m = np.asarray(east_m, dtype=np.float64)
    north_m = np.asarray(north_m, dtype=np.float64)
    up_m = np.asarray(up_m, dtype=np.float64)
    return _in_band(zone, up_m) & _horizontally_inside(zone, east_m, north_m)


# --------------------------------------------------------------------------
# Truth paths
# --------------------------------------------------------------------------

def _check_truth(truth):
    names = getattr(getattr(truth, "dtype", None), "names", None)
    if names is None or getattr(truth, "ndim", None) != 1:
        raise TypeError("truth must be a 1-D structured array with fields "
                        f"{', '.join(_TRUTH_FIELDS)} (ingest.schema.TRUTH_DTYPE)")
    missing = [name for name in _TRUTH_FIELDS if name not in names]
    if missing:
        raise ValueError(f"truth lacks field(s) {', '.join(missing)}")
    for name in ("time_s", "east_m", "north_m", "up_m"):
        if not np.all(np.isfinite(truth[name])):
            raise ValueError(f"truth field {name} holds NaN or infinite values")


def _check_positive(name, value):
    value = float(value)
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be a positive number of seconds, got {value}")
    return value


def _targets(truth):
    """Per target: (target_id, kind, t (n,), position (n, 3)), sorted by time,
    repeated times dropped."""
    order = np.lexsort((truth["time_s"], truth["target_id"]))
    rows = truth[order]
    target_ids, first = np.unique(rows["target_id"], return_index=True)
    bounds = np.append(first, rows.shape[0])
    has_kind = "kind" in rows.dtype.names
    for k, target_id in enumerate(target_ids):
        mine = rows[bounds[k]:bounds[k + 1]]
        keep = np.append(True, np.diff(mine["time_s"]) > 0.0)
        mine = mine[keep]
        position = np.column_stack([mine["east_m"], mine["north_m"], mine["up_m"]])
        kind = str(mine["kind"][0]) if has_kind else ""
        yield int(target_id), kind, np.asarray(mine["time_s"], dtype=np.float64), position


def _densify(t_s, position, resolution_s):
    """The straight-line path through the samples, sampled at least every
    ``resolution_s``; every original sample is kept.

    Returns
    -------
    t_s : ndarray, shape (m,)
    position : ndarray, shape (m, 3)
    """
    if t_s.shape[0] < 2:
        return t_s, position
    dt = np.diff(t_s)
    sub = np.maximum(1, np.ceil(dt / resolution_s - 1e-9).astype(np.int64))
    segment = np.repeat(np.arange(dt.shape[0]), sub)
    first = np.repeat(np.cumsum(sub) - sub, sub)
    fraction = (np.arange(segment.shape[0]) - first) / np.repeat(sub, sub)
    dense_t = np.append(t_s[segment] + fraction * dt[segment], t_s[-1])
    step = position[1:] - position[:-1]
    dense_p = np.vstack([position[segment] + fraction[:, None] * step[segment], position[-1:]])
    return dense_t, dense_p


def _bisect_changes(zone, t_s, position, index, tolerance_s):
    """Times where the inside state changes between samples ``index`` and
    ``index + 1`` (one change located per interval), by bisection on the line
    between them, to within ``tolerance_s / 2``."""
    t0 = t_s[index]
    dt = t_s[index + 1] - t0
    p0 = position[index]
    step = position[index + 1] - p0
    state0 = zone_contains(zone, p0[:, 0], p0[:, 1], p0[:, 2])
    low = np.zeros(index.shape[0])
    high = np.ones(index.shape[0])
    longest = float(dt.max()) if dt.size else 0.0
    n_steps = max(0, int(math.ceil(math.log2(longest / tolerance_s)))) if longest > 0.0 else 0
    for _ in range(n_steps):
        middle = 0.5 * (low + high)
        p = p0 + middle[:, None] * step
        same = zone_contains(zone, p[:, 0], p[:, 1], p[:, 2]) == state0
        low = np.where(same, middle, low)
        high = np.where(same, high, middle)
    return t0 + 0.5 * (low + high) * dt


def truth_zone_events(truth, site, resolution_s=0.05, tolerance_s=1e-3):
    """Every entry of every truth target into every zone of the site.

    The path between truth samples is the straight line; it is sampled at
    least every ``resolution_s``, and each change of the inside state between
    two samples is located by bisection on that line to ``tolerance_s``.

    Parameters
    ----------
    truth : ndarray of TRUTH_DTYPE, shape (n_rows,)
        Any order; ``kind`` is optional.  Rows of one target at one time
        after the first are ignored.
    site : SiteConfig
    resolution_s : float
        Largest time step between the samples of the path that are tested
        (s); an excursion into or out of a zone shorter than this may be
        missed.
    tolerance_s : float
        Accuracy of the entry and exit times (s).

    Returns
    -------
    ndarray of ZONE_EVENT_DTYPE, shape (n_events,)
        One record per entry, sorted by target_id, asset (file order),
        zone_index, entry_index.  A target inside a zone at its first sample
        has a first record with ``at_start`` True.
    """
    _check_truth(truth)
    resolution_s = _check_positive("resolution_s", resolution_s)
    tolerance_s = _check_positive("tolerance_s", tolerance_s)
    zones = zone_geometry(site)
    records = []
    for target_id, kind, t_s, position in _targets(truth):
        dense_t, dense_p = _densify(t_s, position, resolution_s)
        for zone in zones:
            inside = zone_contains(zone, dense_p[:, 0], dense_p[:, 1], dense_p[:, 2])
            if not inside.any():
                continue
            index = np.flatnonzero(inside[1:] != inside[:-1])
            change_t = _bisect_changes(zone, dense_t, dense_p, index, tolerance_s)
            entering = ~inside[index]
            entries = list(change_t[entering])
            exits = list(change_t[~entering])
            at_start = bool(inside[0])
            if at_start:
                entries.insert(0, float(dense_t[0]))
            if inside[-1]:
                exits.append(math.nan)
            for entry_index, (entry_s, exit_s) in enumerate(zip(entries, exits)):
                records.append((target_id, kind, zone["asset_id"], zone["zone_index"],
                                zone["level"], entry_index, entry_s, exit_s,
                                at_start and entry_index == 0))
    return np.array(records, dtype=ZONE_EVENT_DTYPE)


def truth_min_distance(truth, site, resolution_s=0.2):
    """Closest horizontal approach of every truth target to every zone boundary.

    For each (target, zone): the minimum over time of the signed horizontal
    distance to the zone's boundary (negative inside, see
    :func:`zone_signed_distance`), over the times when the target's height is
    within the zone's band, on the straight-line path between truth samples
    sampled at least every ``resolution_s``.

    Parameters
    ----------
    truth : ndarray of TRUTH_DTYPE, shape (n_rows,)
    site : SiteConfig
    resolution_s : float
        Largest time step between the tested samples of the path (s).

    Returns
    -------
    dict
        ``(target_id, asset_id, zone_index) -> distance_m`` (float) for every
        target and zone; ``math.inf`` when the target is never within the
        zone's height band.
    """
    _check_truth(truth)
    resolution_s = _check_positive("resolution_s", resolution_s)
    zones = zone_geometry(site)
    result = {}
    for target_id, _kind, t_s, position in _targets(truth):
        dense_t, dense_p = _densify(t_s, position, resolution_s)
        for zone in zones:
            band = _in_band(zone, dense_p[:, 2])
            key = (target_id, zone["asset_id"], zone["zone_index"])
            if not band.any():
                result[key] = math.inf
                continue
            distance = zone_signed_distance(zone, dense_p[band, 0], dense_p[band, 1])
            result[key] = float(distance.min())
    return result
