"""Protection zones of a site as arrays for the zone kernels (``kernels.zones``)."""
from dataclasses import dataclass

import numpy as np

from kernels.geodesy import enu_rotation, geodetic_to_ecef, geodetic_to_enu
from kernels.zones import KIND_CIRCLE, KIND_POLYGON, PolygonError, pack_polygons
from radarcore.core.config import TRACK_CLASSES, ZONE_LEVELS, ConfigError

GROUND_UNBOUNDED_M = 1.0e6


@dataclass
class ZoneTable:
    """Every zone of every asset, in the site's ENU frame.

    Zones are ordered by asset (``asset_start[a]:asset_start[a + 1]`` are the
    zones of asset ``a``).  ``floor``/``ceiling`` are absolute "up" values:
    the asset's own up plus its ``floor_m``/``ceiling_m`` (a floor at ground
    level or below is unbounded).
    """

    asset_ids: tuple          # (a,) asset id strings
    asset_en: np.ndarray      # (a, 2) asset positions (e, n)
    asset_start: np.ndarray   # (a + 1,) int64
    zone_asset: np.ndarray    # (z,) int64 asset index
    zone_index: np.ndarray    # (z,) int64 index of the zone within its asset
    zone_level: np.ndarray    # (z,) int64 index into ZONE_LEVELS
    zone_kind: np.ndarray     # (z,) int64 KIND_CIRCLE or KIND_POLYGON
    zone_center: np.ndarray   # (z, 2)
    zone_radius: np.ndarray   # (z,)
    zone_floor: np.ndarray    # (z,)
    zone_ceiling: np.ndarray  # (z,)
    poly_start: np.ndarray    # (z + 1,) int64
    poly_xy: np.ndarray       # (V, 2)
    alert_on: np.ndarray      # (len(TRACK_CLASSES), z) bool: does zone z alert on class c

    @property
    def n_zones(self):
        return self.zone_kind.shape[0]

    @property
    def n_assets(self):
        return len(self.asset_ids)


def site_to_enu(origin):
    """A converter of geodetic positions to the site's ENU frame at ``origin`` (an Origin).

    Returns
    -------
    callable
        ``to_enu(lat_deg, lon_deg, alt_m) -> ndarray, shape (n, 3)`` (scalars or arrays).
    """
    origin_ecef = np.empty((1, 3))
    geodetic_to_ecef(np.array([origin.lat_deg]), np.array([origin.lon_deg]), np.array([origin.alt_m]),
                     origin_ecef)
    origin_ecef = origin_ecef[0].copy()
    rot = np.ascontiguousarray(enu_rotation(origin.lat_deg, origin.lon_deg))

    def to_enu(lat, lon, alt):
        # contiguous, as every other caller passes them: one compiled signature
        lat = np.ascontiguousarray(np.atleast_1d(np.asarray(lat, float)))
        out = np.empty((lat.size, 3))
        geodetic_to_enu(lat, np.ascontiguousarray(np.atleast_1d(np.asarray(lon, float))),
                        np.broadcast_to(np.asarray(alt, float), lat.shape).copy(),
                        origin_ecef, rot, out)
        return out

    return to_enu


def build_zone_table(site):
    """Convert the assets and zones of a :class:`~radarcore.core.config.SiteConfig`."""
    to_enu = site_to_enu(site.origin)

    asset_ids, asset_en, asset_start = [], [], [0]
    zone_asset, zone_index, zone_level, zone_kind = [], [], [], []
    zone_center, zone_radius, zone_floor, zone_ceiling = [], [], [], []
    polygons, polygon_paths = [], []
    alert_on = []
    for a, asset in enumerate(site.assets):
        pos = to_enu(asset.lat_deg, asset.lon_deg, asset.alt_m)[0]
        asset_ids.append(asset.id)
        asset_en.append(pos[:2])
        for k, zone in enumerate(asset.zones):
            zone_asset.append(a)
            zone_index.append(k)
            zone_level.append(ZONE_LEVELS.index(zone.level))
            # a floor at or below the asset's ground does not bound the zone:
            # nothing flies under it, and a vertical probability must not
            # count "below ground" as "outside"
            zone_floor.append(pos[2] + zone.floor_m if zone.floor_m > 0.0 else -GROUND_UNBOUNDED_M)
            zone_ceiling.append(pos[2] + zone.ceiling_m)
            polygon_paths.append(f"asset[{asset.id}].zone[{k}].polygon")
            if zone.radius_m is not None:
                zone_kind.append(KIND_CIRCLE)
                zone_center.append(pos[:2])
                zone_radius.append(zone.radius_m)
                polygons.append(None)
            else:
                vertices = np.array(zone.polygon, float)
                if len(vertices) > 3 and np.array_equal(vertices[0], vertices[-1]):
                    vertices = vertices[:-1]      # a ring given closed
                xy = to_enu(vertices[:, 0], vertices[:, 1], asset.alt_m)[:, :2]
                zone_kind.append(KIND_POLYGON)
                zone_center.append(xy.mean(axis=0))
                zone_radius.append(0.0)
                polygons.append(xy)
            alert_on.append([zone.alerts_on(c) for c in TRACK_CLASSES])
        asset_start.append(len(zone_asset))
    # the polygons are checked again in ENU (the check of site.toml ran on
    # latitude and longitude) and packed, by the one polygon check
    try:
        poly_start, poly_xy = pack_polygons(polygons)
    except PolygonError as exc:
        raise ConfigError(site.source, polygon_paths[exc.index],
                          f"in the local ENU frame: {exc.reason}") from None
    n_zones = len(zone_asset)
    return ZoneTable(
        asset_ids=tuple(asset_ids),
        asset_en=np.array(asset_en, float).reshape(-1, 2),
        asset_start=np.array(asset_start, np.int64),
        zone_asset=np.array(zone_asset, np.int64),
        zone_index=np.array(zone_index, np.int64),
        zone_level=np.array(zone_level, np.int64),
        zone_kind=np.array(zone_kind, np.int64),
        zone_center=np.array(zone_center, float).reshape(-1, 2),
        zone_radius=np.array(zone_radius, float),
        zone_floor=np.array(zone_floor, float),
        zone_ceiling=np.array(zone_ceiling, float),
        poly_start=poly_start,
        poly_xy=poly_xy,
        alert_on=np.array(alert_on, bool).reshape(n_zones, len(TRACK_CLASSES)).T.copy(),
    )
