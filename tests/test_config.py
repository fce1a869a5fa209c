"""Tests of radarcore.core.config: site.toml parsing, validation and writing."""
import copy
import dataclasses
import math
import tomllib
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from radarcore.core.config import (
    MOTION_MODELS,
    RADAR_MODES,
    TRACK_CLASSES,
    ZONE_LEVELS,
    AlertConfig,
    AssetConfig,
    ConfigError,
    Origin,
    RadarConfig,
    ServiceConfig,
    SiteConfig,
    TrackerConfig,
    ZoneConfig,
    dump_site,
    load_site,
    parse_alerts,
    parse_site,
    parse_tracker,
)
import naive_zones

# The site.toml example of docs/formats.md, verbatim.
EXAMPLE_TOML = """\
[origin]                 # ENU tangent point of the local frame
lat_deg = 31.30
lon_deg = 120.62
alt_m   = 0.0

[[radar]]
id = 1                   # integer, unique
lat_deg = 31.31
lon_deg = 120.60
alt_m   = 25.0           # antenna height above the ellipsoid
sigma_range_m = 7.5
sigma_azimuth_deg = 0.4
sigma_elevation_deg = 0.8
sigma_radial_velocity_mps = 0.5   # optional; absent = radar gives no Doppler
scan_period_s = 1.0
max_range_m = 8000.0
p_detection = 0.9        # optional, nominal, for track scoring
false_alarm_density = 1e-9  # optional, per cubic metre per scan
sac = 0                  # optional, ASTERIX system area code of this radar
sic = 1                  # optional, ASTERIX system identification code

[[asset]]                # a protected target
id = "plant-1"
name = "Power plant"
lat_deg = 31.295
lon_deg = 120.63
alt_m = 0.0

[[asset.zone]]           # zones are concentric or nested; level names are ordered
level = "warning"        # one of: warning, alert, critical
radius_m = 6000.0        # circle around the asset ...
floor_m = 0.0            # ... between these heights above the asset
ceiling_m = 1500.0

[[asset.zone]]
level = "critical"
polygon = [[31.30, 120.62], [31.30, 120.64], [31.29, 120.64], [31.29, 120.62]]  # lat, lon pairs
floor_m = 0.0
ceiling_m = 500.0
"""

SOURCE = "site.toml"
RADAR_REQUIRED = ("id", "lat_deg", "lon_deg", "alt_m", "sigma_range_m", "sigma_azimuth_deg",
                  "sigma_elevation_deg", "scan_period_s", "max_range_m")
TRACKER_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrackerConfig)}
# The [alerts] defaults as documented (README), written out independently.
ALERT_DEFAULTS = {"horizon_s": 120.0, "p_entry_min": 0.5, "escalate_updates": 2, "hold_s": 10.0,
                  "margin_m": 150.0, "handover_s": 20.0, "handover_m": 400.0, "class_min_p": 0.6,
                  "unknown_hold_s": 5.0, "unsettled_lead_s": 30.0, "drone_hold_s": 10.0,
                  "unsettled_threat_min_p": 0.05}


def example():
    return tomllib.loads(EXAMPLE_TOML)


def parse_error(data, source=SOURCE):
    with pytest.raises(ConfigError) as info:
        parse_site(data, source)
    return info.value


# --------------------------------------------------------------------------
# The docs/formats.md example
# --------------------------------------------------------------------------

def test_example_parses_to_expected_values():
    site = parse_site(example(), SOURCE)
    assert site.source == SOURCE
    assert site.origin == Origin(lat_deg=31.30, lon_deg=120.62, alt_m=0.0)
    assert site.radars == (RadarConfig(
        id=1, lat_deg=31.31, lon_deg=120.60, alt_m=25.0, sigma_range_m=7.5, sigma_azimuth_deg=0.4,
        sigma_elevation_deg=0.8, scan_period_s=1.0, max_range_m=8000.0, sigma_radial_velocity_mps=0.5,
        p_detection=0.9, false_alarm_density=1e-9, sac=0, sic=1, mode="rotating"),)
    assert site.assets == (AssetConfig(
        id="plant-1", lat_deg=31.295, lon_deg=120.63, alt_m=0.0, name="Power plant", zones=(
            ZoneConfig(level="warning", floor_m=0.0, ceiling_m=1500.0, radius_m=6000.0),
            ZoneConfig(level="critical", floor_m=0.0, ceiling_m=500.0, polygon=(
                (31.30, 120.62), (31.30, 120.64), (31.29, 120.64), (31.29, 120.62))),
        )),)
    assert site.tracker == TrackerConfig()
    assert site.alerts == AlertConfig()
    assert all(zone.alert_on is None for zone in site.assets[0].zones)


def test_defaults_and_optional_keys():
    data = {
        "origin": {"lat_deg": 10, "lon_deg": 20},
        "radar": [{"id": 3, "lat_deg": 10, "lon_deg": 20, "alt_m": 5, "sigma_range_m": 7,
                   "sigma_azimuth_deg": 1, "sigma_elevation_deg": 1, "scan_period_s": 1,
                   "max_range_m": 9000}],
    }
    site = parse_site(data)
    assert site.source == "<memory>"
    assert site.origin == Origin(10.0, 20.0, 0.0)
    radar = site.radars[0]
    # Integers are accepted for floats and stored as floats.
    for name in ("lat_deg", "lon_deg", "alt_m", "sigma_range_m", "sigma_azimuth_deg",
                 "sigma_elevation_deg", "scan_period_s", "max_range_m"):
        assert type(getattr(radar, name)) is float, name
    assert type(site.origin.alt_m) is float
    assert radar.sigma_radial_velocity_mps is None and radar.p_detection is None
    assert radar.false_alarm_density is None and radar.sac is None and radar.sic is None
    assert radar.mode == "rotating"
    assert site.assets == ()
    assert site.tracker == TrackerConfig()
    assert site.alerts == AlertConfig()


def test_alert_defaults_and_field_order():
    assert [f.name for f in dataclasses.fields(AlertConfig)] == list(ALERT_DEFAULTS)
    assert dataclasses.asdict(AlertConfig()) == ALERT_DEFAULTS
    assert type(AlertConfig().escalate_updates) is int
    assert [f.name for f in dataclasses.fields(SiteConfig)] == ["origin", "radars", "assets", "tracker",
                                                                "alerts", "service", "source"]
    assert SiteConfig(origin=Origin(0.0, 0.0), radars=()).alerts == AlertConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        AlertConfig().hold_s = 1.0


def test_zone_levels_and_modes_exported_in_order():
    assert ZONE_LEVELS == ("warning", "alert", "critical")
    assert RADAR_MODES == ("rotating", "staring")
    assert MOTION_MODELS == ("imm", "cv")
    assert TRACK_CLASSES == ("drone", "bird", "aircraft", "unknown")


def test_config_error_parts_and_text():
    error = ConfigError("a.toml", "radar[0].id", "expected an integer")
    assert isinstance(error, ValueError)
    assert (error.source, error.key_path, error.message) == ("a.toml", "radar[0].id", "expected an integer")
    assert str(error) == "a.toml: radar[0].id: expected an integer"


def test_exact_messages_of_the_contract():
    data = example()
    second = copy.deepcopy(data["radar"][0])
    second["id"] = 7
    second["sigma_range_m"] = "abc"
    data["radar"].append(second)
    assert str(parse_error(data)) == \
        "site.toml: radar[1](id=7).sigma_range_m: expected a number in [0.001, 10000] (metres), got 'abc'"

    data = example()
    for radar_id in (2, 3):
        radar = copy.deepcopy(data["radar"][0])
        radar["id"] = radar_id
        data["radar"].append(radar)
    del data["radar"][2]["max_range_m"]
    assert str(parse_error(data)) == \
        "site.toml: radar[2](id=3).max_range_m: missing (expected a number in [1, 1000000], metres)"

    data = example()
    data["radar"][0]["foo"] = 1
    assert str(parse_error(data)).startswith(
        "site.toml: radar[0](id=1).foo: unknown key (expected one of: id, lat_deg, lon_deg, ")


# --------------------------------------------------------------------------
# Every rule: key path and message
# --------------------------------------------------------------------------

def _set(*path_and_value):
    *path, value = path_and_value

    def mutate(data):
        table = data
        for key in path[:-1]:
            table = table[key]
        table[path[-1]] = value
    return mutate


def _delete(*path):
    def mutate(data):
        table = data
        for key in path[:-1]:
            table = table[key]
        del table[path[-1]]
    return mutate


def _compose(*mutations):
    def mutate(data):
        for mutation in mutations:
            mutation(data)
    return mutate


def _add_radar(**changes):
    def mutate(data):
        radar = copy.deepcopy(data["radar"][0])
        radar.update(changes)
        data["radar"].append(radar)
    return mutate


def _add_asset(**changes):
    def mutate(data):
        asset = copy.deepcopy(data["asset"][0])
        asset.update(changes)
        data["asset"].append(asset)
    return mutate


R = ("radar", 0)
Z0 = ("asset", 0, "zone", 0)
Z1 = ("asset", 0, "zone", 1)
RP = "radar[0](id=1)"
ZP0 = "asset[plant-1].zone[0]"
ZP1 = "asset[plant-1].zone[1]"
SQUARE = [[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0]]

RULE_CASES = [
    # top level and origin
    ("top-level unknown key", _set("endpoints", {}), "endpoints", "unknown key (expected one of: origin, radar, asset, tracker, alerts, service)"),
    ("origin missing", _delete("origin"), "origin", "missing (expected a table [origin]"),
    ("origin not a table", _set("origin", 3), "origin", "expected a table [origin], got 3"),
    ("origin lat missing", _delete("origin", "lat_deg"), "origin.lat_deg", "missing (expected a latitude in [-90, 90], degrees)"),
    ("origin lon missing", _delete("origin", "lon_deg"), "origin.lon_deg", "missing (expected a longitude"),
    ("origin lat high", _set("origin", "lat_deg", 90.5), "origin.lat_deg", "expected a latitude in [-90, 90] (degrees), got 90.5"),
    ("origin lat low", _set("origin", "lat_deg", -91), "origin.lat_deg", "got -91"),
    ("origin lon high", _set("origin", "lon_deg", 180.01), "origin.lon_deg", "expected a longitude in [-180, 180] (degrees), got 180.01"),
    ("origin lon low", _set("origin", "lon_deg", -181.0), "origin.lon_deg", "got -181.0"),
    ("origin lat bool", _set("origin", "lat_deg", True), "origin.lat_deg", "got True"),
    ("origin lat nan", _set("origin", "lat_deg", math.nan), "origin.lat_deg", "got nan"),
    ("origin alt string", _set("origin", "alt_m", "high"), "origin.alt_m", "expected a number in [-10000, 100000] (metres), got 'high'"),
    ("origin alt inf", _set("origin", "alt_m", math.inf), "origin.alt_m", "got inf"),
    ("origin unknown key", _set("origin", "height_m", 1.0), "origin.height_m", "unknown key (expected one of: lat_deg, lon_deg, alt_m)"),
    # radar
    ("no radar", _delete("radar"), "radar", "at least one [[radar]]"),
    ("empty radar array", _set("radar", []), "radar", "at least one [[radar]]"),
    ("radar not an array", _set("radar", {"id": 1}), "radar", "expected an array of tables ([[radar]])"),
    ("radar id float", _set(*R, "id", 1.0), "radar[0].id", "expected a 64-bit integer, got 1.0"),
    ("radar id bool", _set(*R, "id", True), "radar[0].id", "got True"),
    ("radar id string", _set(*R, "id", "1"), "radar[0].id", "got '1'"),
    ("radar id too large", _set(*R, "id", 2 ** 63), "radar[0].id", "expected a 64-bit integer"),
    ("radar id duplicate", _add_radar(), "radar[1](id=1).id", "duplicate radar id 1 (already used by radar[0])"),
    ("radar lat", _set(*R, "lat_deg", 90.1), f"{RP}.lat_deg", "expected a latitude in [-90, 90]"),
    ("radar lon", _set(*R, "lon_deg", -180.5), f"{RP}.lon_deg", "expected a longitude in [-180, 180]"),
    ("radar alt", _set(*R, "alt_m", [1]), f"{RP}.alt_m", "expected a number in [-10000, 100000] (metres), got [1]"),
    ("sigma range zero", _set(*R, "sigma_range_m", 0.0), f"{RP}.sigma_range_m", "expected a number in [0.001, 10000] (metres), got 0.0"),
    ("sigma range negative", _set(*R, "sigma_range_m", -1), f"{RP}.sigma_range_m", "got -1"),
    ("sigma range bool", _set(*R, "sigma_range_m", False), f"{RP}.sigma_range_m", "got False"),
    ("sigma azimuth", _set(*R, "sigma_azimuth_deg", 0), f"{RP}.sigma_azimuth_deg", "expected a number in [0.0001, 90] (degrees), got 0"),
    ("sigma elevation", _set(*R, "sigma_elevation_deg", -0.1), f"{RP}.sigma_elevation_deg", "expected a number in [0.0001, 90] (degrees), got -0.1"),
    ("sigma radial velocity", _set(*R, "sigma_radial_velocity_mps", 0.0), f"{RP}.sigma_radial_velocity_mps", "expected a number in [0.001, 1000] (metres per second), got 0.0"),
    ("scan period", _set(*R, "scan_period_s", 0.0), f"{RP}.scan_period_s", "expected a number in [0.001, 3600] (seconds), got 0.0"),
    ("max range", _set(*R, "max_range_m", -8000.0), f"{RP}.max_range_m", "expected a number in [1, 1000000] (metres), got -8000.0"),
    ("p detection zero", _set(*R, "p_detection", 0.0), f"{RP}.p_detection", "expected a probability in (0, 1), got 0.0"),
    ("p detection one", _set(*R, "p_detection", 1), f"{RP}.p_detection", "got 1"),
    ("p detection high", _set(*R, "p_detection", 1.5), f"{RP}.p_detection", "got 1.5"),
    ("false alarm density", _set(*R, "false_alarm_density", -1e-9), f"{RP}.false_alarm_density", "expected a number in [0, 1] (per cubic metre per scan), got -1e-09"),
    ("sac high", _set(*R, "sac", 256), f"{RP}.sac", "expected an integer in [0, 255], got 256"),
    ("sac negative", _set(*R, "sac", -1), f"{RP}.sac", "got -1"),
    ("sac float", _set(*R, "sac", 1.0), f"{RP}.sac", "got 1.0"),
    ("sac bool", _set(*R, "sac", True), f"{RP}.sac", "got True"),
    ("sic high", _set(*R, "sic", 300), f"{RP}.sic", "expected an integer in [0, 255], got 300"),
    ("mode", _set(*R, "mode", "spinning"), f"{RP}.mode", "expected one of: \"rotating\", \"staring\", got 'spinning'"),
    ("radar unknown key", _set(*R, "foo", 1), f"{RP}.foo", "unknown key (expected one of: id, lat_deg"),
    # asset
    ("asset not an array", _set("asset", "plant"), "asset", "expected an array of tables ([[asset]])"),
    ("asset id missing", _delete("asset", 0, "id"), "asset[0].id", "missing (expected a non-empty string)"),
    ("asset id empty", _set("asset", 0, "id", ""), "asset[0].id", "expected a non-empty string, got ''"),
    ("asset id int", _set("asset", 0, "id", 5), "asset[0].id", "got 5"),
    ("asset id duplicate", _add_asset(), "asset[plant-1].id", "duplicate asset id 'plant-1'"),
    ("asset name", _set("asset", 0, "name", 5), "asset[plant-1].name", "expected a string, got 5"),
    ("asset lat missing", _delete("asset", 0, "lat_deg"), "asset[plant-1].lat_deg", "missing (expected a latitude"),
    ("asset lon", _set("asset", 0, "lon_deg", 200.0), "asset[plant-1].lon_deg", "expected a longitude in [-180, 180]"),
    ("asset alt", _set("asset", 0, "alt_m", "0"), "asset[plant-1].alt_m", "expected a number in [-10000, 100000] (metres), got '0'"),
    ("asset unknown key", _set("asset", 0, "zones", []), "asset[plant-1].zones", "unknown key (expected one of: id, name, lat_deg, lon_deg, alt_m, zone)"),
    ("zone not an array", _set("asset", 0, "zone", 3), "asset[plant-1].zone", "expected an array of tables ([[asset.zone]])"),
    # zone
    ("zone level", _set(*Z0, "level", "red"), f"{ZP0}.level", "expected one of: \"warning\", \"alert\", \"critical\", got 'red'"),
    ("zone level missing", _delete(*Z0, "level"), f"{ZP0}.level", "missing (expected one of"),
    ("zone floor missing", _delete(*Z0, "floor_m"), f"{ZP0}.floor_m", "missing (expected a number"),
    ("zone ceiling missing", _delete(*Z1, "ceiling_m"), f"{ZP1}.ceiling_m", "missing (expected a number"),
    ("zone floor type", _set(*Z0, "floor_m", "low"), f"{ZP0}.floor_m", "got 'low'"),
    ("zone both shapes", _set(*Z0, "polygon", SQUARE), ZP0, "expected exactly one of radius_m or polygon, got both"),
    ("zone no shape", _delete(*Z0, "radius_m"), ZP0, "expected exactly one of radius_m or polygon, got neither"),
    ("zone radius zero", _set(*Z0, "radius_m", 0.0), f"{ZP0}.radius_m", "expected a number in [0.1, 1000000] (metres), got 0.0"),
    ("zone radius negative", _set(*Z0, "radius_m", -5), f"{ZP0}.radius_m", "got -5"),
    ("zone floor equals ceiling", _set(*Z1, "floor_m", 500.0), f"{ZP1}.ceiling_m", "expected ceiling_m greater than floor_m (500.0), got 500.0"),
    ("zone floor above ceiling", _set(*Z0, "floor_m", 2000), f"{ZP0}.ceiling_m", "greater than floor_m (2000.0), got 1500.0"),
    ("zone unknown key", _set(*Z0, "radius_km", 6.0), f"{ZP0}.radius_km", "unknown key (expected one of: level, radius_m, floor_m, ceiling_m, polygon, alert_on)"),
    ("polygon not an array", _set(*Z1, "polygon", "square"), f"{ZP1}.polygon", "expected an array of 3 to 100000 [lat_deg, lon_deg] pairs, got 'square'"),
    ("polygon two points", _set(*Z1, "polygon", SQUARE[:2]), f"{ZP1}.polygon", "expected an array of 3 to 100000 [lat_deg, lon_deg] pairs, got 2 pair(s)"),
    ("polygon empty", _set(*Z1, "polygon", []), f"{ZP1}.polygon", "got 0"),
    ("polygon point triple", _set(*Z1, "polygon", [[0, 0], [0, 1], [1, 1, 1]]), f"{ZP1}.polygon[2]", "expected a [lat_deg, lon_deg] pair, got [1, 1, 1]"),
    ("polygon point scalar", _set(*Z1, "polygon", [[0, 0], 5, [1, 1]]), f"{ZP1}.polygon[1]", "expected a [lat_deg, lon_deg] pair"),
    ("polygon lat", _set(*Z1, "polygon", [[95, 0], [0, 1], [1, 1]]), f"{ZP1}.polygon[0][0]", "expected a latitude in [-90, 90]"),
    ("polygon lon", _set(*Z1, "polygon", [[0, 0], [0, "x"], [1, 1]]), f"{ZP1}.polygon[1][1]", "expected a longitude in [-180, 180] (degrees), got 'x'"),
    ("polygon bow tie", _set(*Z1, "polygon", [[0, 0], [1, 1], [0, 1], [1, 0]]), f"{ZP1}.polygon", "self-intersecting polygon (edges 0 and 2 cross"),
    # Edge 4 touches edge 1 at its end point (2, 2) (edge 5 crosses edge 1 at (2/3, 2)).
    ("polygon later crossing", _set(*Z1, "polygon", [[0, 0], [0, 2], [2, 2], [2, 1], [3, 1], [1, 3]]), f"{ZP1}.polygon", "(edges 1 and 4 touch;"),
    ("polygon collinear", _set(*Z1, "polygon", [[0, 0], [1, 1], [2, 2]]), f"{ZP1}.polygon", "zero area"),
    # tracker
    ("tracker not a table", _set("tracker", 1), "tracker", "expected a table, got 1"),
    ("tracker unknown key", _set("tracker", {"gate": 0.99}), "tracker.gate", "unknown key (expected one of: motion_model, sigma_accel_mps2"),
    ("motion model", _set("tracker", {"motion_model": "ekf"}), "tracker.motion_model", "expected one of: \"imm\", \"cv\", got 'ekf'"),
    ("confirm hits zero", _set("tracker", {"confirm_hits": 0}), "tracker.confirm_hits", "expected an integer in [1, 1000], got 0"),
    ("confirm hits float", _set("tracker", {"confirm_hits": 3.0}), "tracker.confirm_hits", "got 3.0"),
    ("reorder window negative", _set("tracker", {"reorder_window_s": -0.5}), "tracker.reorder_window_s", "expected a number in [0, 3600] (seconds), got -0.5"),
    ("output tentative int", _set("tracker", {"output_tentative": 1}), "tracker.output_tentative", "expected true or false, got 1"),
    ("tracker false alarm density", _set("tracker", {"false_alarm_density": -1.0}), "tracker.false_alarm_density", "expected a number in [0, 1] (per cubic metre per scan), got -1.0"),
    ("coast after delete", _set("tracker", {"coast_after_s": 11.0}), "tracker.coast_after_s", "must not exceed delete_after_s (10.0), got 11.0"),
    ("delete before coast", _set("tracker", {"delete_after_s": 2}), "tracker.coast_after_s", "must not exceed delete_after_s (2.0), got 2.5"),
    ("frame after output", _set("tracker", {"frame_s": 2.0}), "tracker.frame_s", "must not exceed output_period_s (1.0), got 2.0"),
    # zone alert_on
    ("alert_on string", _set(*Z0, "alert_on", "drone"), f"{ZP0}.alert_on",
     'expected a non-empty array of track classes ("drone", "bird", "aircraft", "unknown"), got \'drone\''),
    ("alert_on empty", _set(*Z0, "alert_on", []), f"{ZP0}.alert_on", "expected a non-empty array of track classes (\"drone\", \"bird\", \"aircraft\", \"unknown\"), got []"),
    ("alert_on table", _set(*Z1, "alert_on", {"drone": True}), f"{ZP1}.alert_on", "got {'drone': True}"),
    ("alert_on unknown class", _set(*Z0, "alert_on", ["drone", "plane"]), f"{ZP0}.alert_on[1]",
     "expected one of: \"drone\", \"bird\", \"aircraft\", \"unknown\", got 'plane'"),
    ("alert_on wrong case", _set(*Z0, "alert_on", ["Drone"]), f"{ZP0}.alert_on[0]", "got 'Drone'"),
    ("alert_on number", _set(*Z1, "alert_on", ["bird", 3]), f"{ZP1}.alert_on[1]", "expected one of: \"drone\", \"bird\", \"aircraft\", \"unknown\", got 3"),
    ("alert_on nested", _set(*Z0, "alert_on", [["drone"]]), f"{ZP0}.alert_on[0]", "got ['drone']"),
    ("alert_on duplicate", _set(*Z0, "alert_on", ["bird", "drone", "bird"]), f"{ZP0}.alert_on[2]",
     "duplicate track class 'bird' (already at alert_on[0])"),
    ("alert_on after shape error", _compose(_set(*Z0, "alert_on", "x"), _delete(*Z0, "radius_m")), ZP0,
     "expected exactly one of radius_m or polygon, got neither"),
    # alerts
    ("alerts not a table", _set("alerts", [1]), "alerts", "expected a table, got [1]"),
    ("alerts unknown key", _set("alerts", {"horizon": 60.0}), "alerts.horizon",
     "unknown key (expected one of: horizon_s, p_entry_min, escalate_updates, hold_s, margin_m, handover_s, "
     "handover_m, class_min_p, unknown_hold_s, unsettled_lead_s, drone_hold_s, unsettled_threat_min_p)"),
    ("alerts horizon zero", _set("alerts", {"horizon_s": 0.0}), "alerts.horizon_s", "expected a number in [0.1, 3600] (seconds), got 0.0"),
    ("alerts horizon negative", _set("alerts", {"horizon_s": -5}), "alerts.horizon_s", "got -5"),
    ("alerts horizon inf", _set("alerts", {"horizon_s": math.inf}), "alerts.horizon_s", "got inf"),
    ("alerts hold zero", _set("alerts", {"hold_s": 0}), "alerts.hold_s", "expected a number in [0.001, 86400] (seconds), got 0"),
    ("alerts hold string", _set("alerts", {"hold_s": "10"}), "alerts.hold_s", "got '10'"),
    ("alerts handover time", _set("alerts", {"handover_s": -1.0}), "alerts.handover_s", "expected a number in [0.001, 86400] (seconds), got -1.0"),
    ("alerts handover distance", _set("alerts", {"handover_m": 0.0}), "alerts.handover_m", "expected a number in [0.1, 100000] (metres), got 0.0"),
    ("alerts margin negative", _set("alerts", {"margin_m": -0.5}), "alerts.margin_m", "expected a number in [0, 100000] (metres), got -0.5"),
    ("alerts margin nan", _set("alerts", {"margin_m": math.nan}), "alerts.margin_m", "got nan"),
    ("alerts margin bool", _set("alerts", {"margin_m": True}), "alerts.margin_m", "got True"),
    ("alerts escalate zero", _set("alerts", {"escalate_updates": 0}), "alerts.escalate_updates", "expected an integer in [1, 1000], got 0"),
    ("alerts escalate negative", _set("alerts", {"escalate_updates": -3}), "alerts.escalate_updates", "got -3"),
    ("alerts escalate float", _set("alerts", {"escalate_updates": 2.0}), "alerts.escalate_updates", "expected an integer in [1, 1000], got 2.0"),
    ("alerts escalate bool", _set("alerts", {"escalate_updates": True}), "alerts.escalate_updates", "got True"),
    # Every number has a physical range (README): values that used to overflow or divide by zero
    ("sigma azimuth huge", _set(*R, "sigma_azimuth_deg", 1e308), f"{RP}.sigma_azimuth_deg", "expected a number in [0.0001, 90] (degrees), got 1e+308"),
    ("scan period tiny", _set(*R, "scan_period_s", 1e-300), f"{RP}.scan_period_s", "expected a number in [0.001, 3600] (seconds), got 1e-300"),
    ("frame tiny", _set("tracker", {"frame_s": 1e-300}), "tracker.frame_s", "expected a number in [0.001, 60] (seconds), got 1e-300"),
    ("output period huge", _set("tracker", {"output_period_s": 1e300}), "tracker.output_period_s", "expected a number in [0.001, 3600] (seconds), got 1e+300"),
    ("radar alt huge", _set(*R, "alt_m", 1e6), f"{RP}.alt_m", "got 1000000.0"),
    ("zone ceiling huge", _set(*Z0, "ceiling_m", 2e5), f"{ZP0}.ceiling_m", "expected a number in [-10000, 100000] (metres above the asset), got 200000.0"),
    ("queue huge", _set("service", {"queue_plots": 2 ** 40}), "service.queue_plots", "expected an integer in [1, 1000000000] (plots), got 1099511627776"),
    ("confirm hits huge", _set("tracker", {"confirm_hits": 10 ** 6}), "tracker.confirm_hits", "got 1000000"),
    ("polygon huge", _set(*Z1, "polygon", [[0.0, 0.0]] * 100_002), f"{ZP1}.polygon", "pairs, got [[0.0, 0.0], [0.0, 0.0], "),
    # Keys are checked in AlertConfig field order: the first bad one is named.
    ("alerts first bad key", _set("alerts", {"class_min_p": 2.0, "horizon_s": -1.0}), "alerts.horizon_s", "got -1.0"),
]

TRACKER_POSITIVE = ("sigma_accel_mps2", "sigma_accel_vertical_mps2", "imm_turn_rate_dps", "imm_sigma_accel_mps2",
                    "init_sigma_speed_mps", "tentative_timeout_s", "coast_after_s", "delete_after_s",
                    "max_sigma_pos_m", "frame_s", "output_period_s")
TRACKER_PROBABILITIES = ("imm_p_stay", "gate_probability", "p_detection")
for _key in TRACKER_POSITIVE:
    RULE_CASES.append((f"tracker {_key} zero", _set("tracker", {_key: 0.0}), f"tracker.{_key}", "expected a number in [") )
    RULE_CASES.append((f"tracker {_key} string", _set("tracker", {_key: "1"}), f"tracker.{_key}", "got '1'"))
for _key in TRACKER_PROBABILITIES:
    for _bad in (0.0, 1.0, -0.1, True):
        RULE_CASES.append((f"tracker {_key} {_bad}", _set("tracker", {_key: _bad}), f"tracker.{_key}",
                           f"expected a probability in (0, 1), got {_bad!r}"))
for _key in ("p_entry_min", "class_min_p"):
    for _bad in (0.0, 1, 1.5, -0.1, False, "0.5"):
        RULE_CASES.append((f"alerts {_key} {_bad!r}", _set("alerts", {_key: _bad}), f"alerts.{_key}",
                           f"expected a probability in (0, 1), got {_bad!r}"))
for _key in RADAR_REQUIRED:
    RULE_CASES.append((f"radar {_key} missing", _delete(*R, _key), "radar[0].id" if _key == "id" else f"{RP}.{_key}", "missing (expected "))


@pytest.mark.parametrize("mutate, key_path, fragment", [case[1:] for case in RULE_CASES],
                         ids=[case[0] for case in RULE_CASES])
def test_rule(mutate, key_path, fragment):
    data = example()
    mutate(data)
    error = parse_error(data)
    assert error.source == SOURCE
    assert error.key_path == key_path
    assert fragment in error.message
    assert str(error) == f"{SOURCE}: {key_path}: {error.message}"


@pytest.mark.parametrize("mutate", [
    _set(*R, "false_alarm_density", 0.0),
    _set(*R, "lat_deg", -90), _set(*R, "lon_deg", 180.0),
    _set(*R, "sac", 255), _set(*R, "sic", 0), _set(*R, "mode", "staring"),
    _set(*R, "id", -(2 ** 63)),
    _set(*Z0, "floor_m", -10.0),
    _set("tracker", {"reorder_window_s": 0, "false_alarm_density": 0.0, "confirm_hits": 1}),
    _set("tracker", {"coast_after_s": 10.0, "frame_s": 1.0, "motion_model": "cv", "output_tentative": True}),
    # A ring closed by repeating its first point has a zero-length edge but no crossing.
    _set(*Z1, "polygon", SQUARE + [SQUARE[0]]),
    _set("asset", 0, "zone", []),
    _add_radar(id=2, mode="staring"),
    _add_asset(id="plant-2"),
    _set("alerts", {}),
    _set("alerts", {"margin_m": 0, "escalate_updates": 1, "p_entry_min": 1e-300, "class_min_p": 0.9999999999}),
    _set(*Z0, "alert_on", list(TRACK_CLASSES)),
    _set(*Z1, "alert_on", ["unknown"]),
], ids=lambda mutate: "")
def test_boundary_values_accepted(mutate):
    data = example()
    mutate(data)
    parse_site(data, SOURCE)


def test_tracker_values_and_prefix():
    tracker = parse_tracker({"motion_model": "cv", "confirm_hits": 4, "frame_s": 1}, "sweep.toml")
    assert tracker == dataclasses.replace(TrackerConfig(), motion_model="cv", confirm_hits=4, frame_s=1.0)
    assert type(tracker.frame_s) is float
    assert parse_tracker({}) == TrackerConfig()
    with pytest.raises(ConfigError) as info:
        parse_tracker({"gate_probability": 2.0}, "sweep.toml", key_prefix="sweep[3]")
    assert str(info.value).startswith("sweep.toml: sweep[3].gate_probability: expected a probability")
    assert TrackerConfig().imm_turn_rate_rad_per_s == pytest.approx(15.0 * math.pi / 180.0, rel=1e-15)
    assert (TrackerConfig().n_models, TrackerConfig(motion_model="cv").n_models) == (3, 1)


def test_alerts_values_and_prefix():
    alerts = parse_alerts({"horizon_s": 60, "escalate_updates": 3, "margin_m": 0}, "sweep.toml")
    assert alerts == AlertConfig(horizon_s=60.0, escalate_updates=3, margin_m=0.0)
    assert type(alerts.horizon_s) is float and type(alerts.margin_m) is float
    assert type(alerts.escalate_updates) is int
    assert parse_alerts({}) == AlertConfig()
    with pytest.raises(ConfigError) as info:
        parse_alerts({"class_min_p": 1.0}, "sweep.toml", key_prefix="sweep[3]")
    assert str(info.value) == "sweep.toml: sweep[3].class_min_p: expected a probability in (0, 1), got 1.0"
    with pytest.raises(ConfigError) as info:
        parse_alerts("fast")
    assert str(info.value) == "<memory>: alerts: expected a table, got 'fast'"

    data = example()
    data["alerts"] = {"hold_s": 4.5, "handover_m": 250, "class_min_p": 0.8}
    site = parse_site(data, SOURCE)
    assert site.alerts == AlertConfig(hold_s=4.5, handover_m=250.0, class_min_p=0.8)
    assert site.tracker == TrackerConfig()


def test_alert_on_is_read_in_file_order():
    data = example()
    data["asset"][0]["zone"][0]["alert_on"] = ["unknown", "bird"]
    data["asset"][0]["zone"][1]["alert_on"] = ["aircraft"]
    zones = parse_site(data, SOURCE).assets[0].zones
    assert zones[0].alert_on == ("unknown", "bird")
    assert zones[1].alert_on == ("aircraft",)
    # Everything else about the zones is unchanged.
    assert dataclasses.replace(zones[0], alert_on=None) == parse_site(example()).assets[0].zones[0]


# The default policy, written out level by level: birds alert only in a
# critical zone, every other class everywhere.
DEFAULT_POLICY = {
    "warning": {"drone": True, "bird": False, "aircraft": True, "unknown": True},
    "alert": {"drone": True, "bird": False, "aircraft": True, "unknown": True},
    "critical": {"drone": True, "bird": True, "aircraft": True, "unknown": True},
}


@pytest.mark.parametrize("level", ZONE_LEVELS)
@pytest.mark.parametrize("track_class", TRACK_CLASSES)
def test_alerts_on_default_policy(level, track_class):
    zone = ZoneConfig(level=level, floor_m=0.0, ceiling_m=100.0, radius_m=1.0)
    assert zone.alerts_on(track_class) is DEFAULT_POLICY[level][track_class]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ZONE_LEVELS),
       st.lists(st.sampled_from(TRACK_CLASSES), min_size=1, unique=True).map(tuple),
       st.sampled_from(TRACK_CLASSES))
def test_alerts_on_follows_alert_on(level, alert_on, track_class):
    zone = ZoneConfig(level=level, floor_m=0.0, ceiling_m=100.0, radius_m=1.0, alert_on=alert_on)
    expected = any(name == track_class for name in alert_on)
    assert zone.alerts_on(track_class) is expected


@pytest.mark.parametrize("alert_on", [None, ("drone",)])
@pytest.mark.parametrize("track_class", ["plane", "Drone", "", None])
def test_alerts_on_rejects_unknown_class(alert_on, track_class):
    zone = ZoneConfig(level="critical", floor_m=0.0, ceiling_m=100.0, radius_m=1.0, alert_on=alert_on)
    with pytest.raises(ValueError, match=r"unknown track class .* \(expected one of: drone, bird, aircraft, unknown\)"):
        zone.alerts_on(track_class)


def test_parse_site_wants_a_table():
    with pytest.raises(ConfigError) as info:
        parse_site([1, 2], "x.toml")
    assert info.value.key_path == "(file)"


def test_radar_lookup_and_fallbacks():
    data = example()
    _add_radar(id=9, p_detection=0.5)(data)
    del data["radar"][0]["p_detection"], data["radar"][0]["false_alarm_density"]
    data["tracker"] = {"p_detection": 0.8, "false_alarm_density": 2e-9}
    site = parse_site(data, SOURCE)
    assert site.radar_ids == (1, 9)
    assert site.radar_by_id(9) is site.radars[1]
    assert site.radar_p_detection(1) == 0.8 and site.radar_p_detection(9) == 0.5
    assert site.radar_false_alarm_density(1) == 2e-9 and site.radar_false_alarm_density(9) == 1e-9
    with pytest.raises(KeyError, match=r"no radar with id 4 \(known radar ids: 1, 9\)"):
        site.radar_by_id(4)


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------

def test_load_site_reads_file(tmp_path):
    path = tmp_path / "site.toml"
    path.write_text(EXAMPLE_TOML, encoding="utf-8")
    site = load_site(path)
    assert site.source == str(path)
    assert site == parse_site(example())
    assert load_site(str(path)).source == str(path)


def test_load_site_errors_name_the_file(tmp_path):
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as info:
        load_site(missing)
    assert info.value.key_path == "(file)" and info.value.source == str(missing)
    assert str(missing) in str(info.value) and "not found" in str(info.value)

    broken = tmp_path / "broken.toml"
    broken.write_text("[origin]\nlat_deg = 31.3\nlon_deg = = 2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_site(broken)
    assert info.value.key_path == "(file)"
    assert "invalid TOML" in info.value.message and "line 3" in info.value.message
    assert str(info.value).startswith(f"{broken}: (file): invalid TOML")

    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"name = \"\xff\xfe\"\n")
    with pytest.raises(ConfigError) as info:
        load_site(binary)
    assert info.value.key_path == "(file)"

    with pytest.raises(ConfigError) as info:
        load_site(tmp_path)
    assert info.value.key_path == "(file)" and "cannot read" in info.value.message

    semantic = tmp_path / "bad.toml"
    semantic.write_text(EXAMPLE_TOML.replace("max_range_m = 8000.0", "max_range_m = 0"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_site(semantic)
    assert str(info.value).startswith(f"{semantic}: radar[0](id=1).max_range_m: expected a number in [1, 1000000] (metres), got 0")


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------

def test_dump_example_round_trips_through_a_file(tmp_path):
    site = parse_site(example(), SOURCE)
    text = dump_site(site)
    assert "[tracker]" not in text          # all defaults: no table
    assert "[alerts]" not in text
    assert "alert_on" not in text
    assert "mode" not in text               # rotating is the contract's implicit mode
    path = tmp_path / "out.toml"
    path.write_text(text, encoding="utf-8")
    assert load_site(path) == site


def test_dump_writes_only_what_is_set():
    site = parse_site(example(), SOURCE)
    radar = RadarConfig(id=5, lat_deg=1.0, lon_deg=2.0, alt_m=3.0, sigma_range_m=4.0, sigma_azimuth_deg=0.5,
                        sigma_elevation_deg=0.6, scan_period_s=0.1, max_range_m=900.0, mode="staring")
    tracker = dataclasses.replace(TrackerConfig(), frame_s=0.05, output_tentative=True, confirm_hits=5)
    alerts = AlertConfig(escalate_updates=4, margin_m=0.0)
    zones = (ZoneConfig(level="alert", floor_m=0.0, ceiling_m=50.0, radius_m=10.0),
             ZoneConfig(level="warning", floor_m=0.0, ceiling_m=50.0, radius_m=20.0, alert_on=("bird", "drone")))
    site = dataclasses.replace(site, radars=(radar,), tracker=tracker, alerts=alerts,
                               assets=(AssetConfig(id="a", lat_deg=0.0, lon_deg=0.0),
                                       AssetConfig(id="b", lat_deg=1.0, lon_deg=1.0, zones=zones)))
    data = tomllib.loads(dump_site(site))
    assert set(data["radar"][0]) == set(RADAR_REQUIRED) | {"mode"}
    assert data["radar"][0]["mode"] == "staring"
    assert data["tracker"] == {"frame_s": 0.05, "output_tentative": True, "confirm_hits": 5}
    assert data["alerts"] == {"escalate_updates": 4, "margin_m": 0.0}
    assert data["asset"][0] == {"id": "a", "lat_deg": 0.0, "lon_deg": 0.0, "alt_m": 0.0}
    assert "alert_on" not in data["asset"][1]["zone"][0]
    assert data["asset"][1]["zone"][1]["alert_on"] == ["bird", "drone"]
    assert parse_site(data) == site


def test_dump_escapes_strings():
    name = 'quote " backslash \\ newline \n tab \t bell \x07 del \x7f unicode \u00e9\u4e2d \U0001F6E9'
    site = SiteConfig(origin=Origin(0.0, 0.0), radars=parse_site(example()).radars,
                      assets=(AssetConfig(id='id "]\\', lat_deg=1.0, lon_deg=2.0, name=name),))
    assert parse_site(tomllib.loads(dump_site(site))) == site


def test_source_is_not_part_of_equality():
    site = parse_site(example(), "a.toml")
    assert site == parse_site(example(), "b.toml")


finite = dict(allow_nan=False, allow_infinity=False)
latitudes = st.floats(-90.0, 90.0)
longitudes = st.floats(-180.0, 180.0)
heights = st.floats(-1e4, 1e5)
# within the range of every positive key (README)
positives = st.floats(1.0, 60.0)
probabilities = st.floats(0.0, 1.0, exclude_min=True, exclude_max=True)
densities = st.floats(min_value=0.0, max_value=1.0)
text = st.text(max_size=12)


def radars_with(radar_id):
    return st.builds(
        RadarConfig, id=st.just(radar_id), lat_deg=latitudes, lon_deg=longitudes, alt_m=heights,
        sigma_range_m=positives, sigma_azimuth_deg=positives, sigma_elevation_deg=positives,
        scan_period_s=positives, max_range_m=positives,
        sigma_radial_velocity_mps=st.none() | positives, p_detection=st.none() | probabilities,
        false_alarm_density=st.none() | densities, sac=st.none() | st.integers(0, 255),
        sic=st.none() | st.integers(0, 255), mode=st.sampled_from(RADAR_MODES))


@st.composite
def star_polygons(draw):
    """Simple polygons: vertices at increasing angles around a centre."""
    n = draw(st.integers(3, 8))
    lat0 = draw(st.floats(-80.0, 80.0))
    lon0 = draw(st.floats(-170.0, 170.0))
    scale = draw(st.floats(1e-4, 5.0))
    step = 2.0 * math.pi / n
    points = []
    for k in range(n):
        angle = k * step + draw(st.floats(-0.3, 0.3)) * step
        radius = scale * draw(st.floats(0.3, 1.0))
        points.append((lat0 + radius * math.sin(angle), lon0 + radius * math.cos(angle)))
    polygon = tuple(points)
    assume(naive_zones.polygon_defect(polygon) is None)
    return polygon


@st.composite
def zones(draw):
    floor_m = draw(st.floats(-1e4, 9e4))
    ceiling_m = draw(st.floats(min_value=floor_m, max_value=1e5, exclude_min=True))
    level = draw(st.sampled_from(ZONE_LEVELS))
    alert_on = draw(st.none() | st.lists(st.sampled_from(TRACK_CLASSES), min_size=1, unique=True).map(tuple))
    if draw(st.booleans()):
        return ZoneConfig(level=level, floor_m=floor_m, ceiling_m=ceiling_m, radius_m=draw(positives),
                          alert_on=alert_on)
    return ZoneConfig(level=level, floor_m=floor_m, ceiling_m=ceiling_m, polygon=draw(star_polygons()),
                      alert_on=alert_on)


def assets_with(asset_id):
    return st.builds(AssetConfig, id=st.just(asset_id), lat_deg=latitudes, lon_deg=longitudes, alt_m=heights,
                     name=text, zones=st.lists(zones(), max_size=3).map(tuple))


@st.composite
def trackers(draw):
    def maybe(key, strategy):
        return draw(st.just(TRACKER_DEFAULTS[key]) | strategy)

    values = {
        "motion_model": maybe("motion_model", st.sampled_from(MOTION_MODELS)),
        "confirm_hits": maybe("confirm_hits", st.integers(1, 1000)),
        "reorder_window_s": maybe("reorder_window_s", st.floats(0.0, 3600.0)),
        "output_tentative": maybe("output_tentative", st.booleans()),
        "false_alarm_density": maybe("false_alarm_density", densities),
    }
    for key in ("sigma_accel_mps2", "sigma_accel_vertical_mps2", "imm_turn_rate_dps", "imm_sigma_accel_mps2",
                "init_sigma_speed_mps", "tentative_timeout_s", "max_sigma_pos_m"):
        values[key] = maybe(key, positives)
    for key in TRACKER_PROBABILITIES:
        values[key] = maybe(key, probabilities)
    for low, high in (("coast_after_s", "delete_after_s"), ("frame_s", "output_period_s")):
        pair = sorted((maybe(low, positives), maybe(high, positives)))
        values[low], values[high] = pair
    return TrackerConfig(**values)


@st.composite
def alert_configs(draw):
    def maybe(key, strategy):
        return draw(st.just(ALERT_DEFAULTS[key]) | strategy)

    return AlertConfig(
        horizon_s=maybe("horizon_s", positives),
        p_entry_min=maybe("p_entry_min", probabilities),
        escalate_updates=maybe("escalate_updates", st.integers(1, 1000)),
        hold_s=maybe("hold_s", positives),
        margin_m=maybe("margin_m", st.floats(0.0, 1e5)),
        handover_s=maybe("handover_s", positives),
        handover_m=maybe("handover_m", positives),
        class_min_p=maybe("class_min_p", probabilities),
        unknown_hold_s=maybe("unknown_hold_s", st.floats(0.0, 1e4)),
        drone_hold_s=maybe("drone_hold_s", st.floats(0.0, 1e4)),
        unsettled_threat_min_p=maybe("unsettled_threat_min_p", probabilities),
    )


# The [service] defaults as documented (README), written out independently.
SERVICE_DEFAULTS = {"plots_endpoint": None, "publish_endpoint": None, "plots_socket": "pull",
                    "metrics_port": 0, "curve_secret_key": None, "curve_authorized_dir": None,
                    "record": None, "queue_plots": 1_000_000, "high_water_mark": 100_000}
endpoints = st.builds(lambda transport, address: f"{transport}://{address}",
                      st.sampled_from(["tcp", "ipc", "inproc"]), st.text(min_size=1, max_size=20))
paths = st.text(min_size=1, max_size=20).filter(lambda v: "\0" not in v)


@st.composite
def service_configs(draw):
    def maybe(key, strategy):
        return draw(st.just(SERVICE_DEFAULTS[key]) | strategy)

    curve = draw(st.none() | st.tuples(paths, paths))
    return ServiceConfig(
        plots_endpoint=maybe("plots_endpoint", endpoints),
        publish_endpoint=maybe("publish_endpoint", endpoints),
        plots_socket=maybe("plots_socket", st.sampled_from(["pull", "sub"])),
        metrics_port=maybe("metrics_port", st.integers(0, 65535)),
        curve_secret_key=None if curve is None else curve[0],
        curve_authorized_dir=None if curve is None else curve[1],
        record=maybe("record", paths),
        queue_plots=maybe("queue_plots", st.integers(1, 10 ** 9)),
        high_water_mark=maybe("high_water_mark", st.integers(1, 2 ** 31 - 1)),
    )


@st.composite
def sites(draw):
    radar_ids = draw(st.lists(st.integers(-2 ** 63, 2 ** 63 - 1), min_size=1, max_size=3, unique=True))
    asset_ids = draw(st.lists(st.text(min_size=1, max_size=10), max_size=3, unique=True))
    return SiteConfig(
        origin=draw(st.builds(Origin, latitudes, longitudes, heights)),
        radars=tuple(draw(radars_with(radar_id)) for radar_id in radar_ids),
        assets=tuple(draw(assets_with(asset_id)) for asset_id in asset_ids),
        tracker=draw(trackers()),
        alerts=draw(alert_configs()),
        service=draw(service_configs()),
    )


@settings(max_examples=150, deadline=None)
@given(sites())
def test_dump_parse_round_trip(site):
    text = dump_site(site)
    back = parse_site(tomllib.loads(text))
    assert back == site
    # repr also tells 1 from 1.0 and -0.0 from 0.0.
    assert repr(back) == repr(site)
    tracker_table = tomllib.loads(text).get("tracker", {})
    assert set(tracker_table) == {key for key, default in TRACKER_DEFAULTS.items()
                                  if getattr(site.tracker, key) != default}
    alerts_table = tomllib.loads(text).get("alerts", {})
    assert set(alerts_table) == {key for key, default in ALERT_DEFAULTS.items()
                                 if getattr(site.alerts, key) != default}
    service_table = tomllib.loads(text).get("service", {})
    assert set(service_table) == {key for key, default in SERVICE_DEFAULTS.items()
                                  if getattr(site.service, key) != default}


# --------------------------------------------------------------------------
# Polygons: site.toml uses the one polygon check (kernels.zones.check_polygon;
# its own tests compare it with the quadratic twin in tests/naive_zones.py)
# --------------------------------------------------------------------------

grid_points = st.tuples(st.integers(-3, 3).map(float), st.integers(-3, 3).map(float))


def reference_verdict(polygon):
    """What site.toml must say of a polygon (a fragment of the message, or
    None when it is valid), in the order of kernels.zones.check_polygon."""
    points = [(Fraction(lat), Fraction(lon)) for lat, lon in polygon]
    if len(points) >= 2 and points[0] == points[-1]:
        points = points[:-1]                  # a ring given closed
    if len(points) < 3:
        return "at least 3 needed"
    if any(points[k] == points[(k + 1) % len(points)] for k in range(len(points))):
        return "(a zero-length edge)"
    a, b = points[0], points[1]
    if all((b[0] - a[0]) * (c[1] - a[1]) == (b[1] - a[1]) * (c[0] - a[0]) for c in points):
        return "zero area"
    defect = naive_zones.polygon_defect(points)
    if defect is not None:
        i, j, how = defect
        return f"self-intersecting polygon (edges {i} and {j} {how};"
    return None


@settings(max_examples=100, deadline=None)
@given(st.lists(grid_points, min_size=3, max_size=7))
def test_parse_site_polygon_verdict_matches_reference(polygon):
    data = example()
    data["asset"][0]["zone"][1]["polygon"] = [list(point) for point in polygon]
    verdict = reference_verdict(polygon)
    if verdict is None:
        assert parse_site(data).assets[0].zones[1].polygon == tuple(polygon)
    else:
        error = parse_error(data)
        assert error.key_path == "asset[plant-1].zone[1].polygon"
        assert verdict in error.message

