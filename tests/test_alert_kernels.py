"""The compiled alert policy (kernels/alerts.py) against its NumPy statement
(tests/naive_alert_policy.py): the same figures, bit for bit, for any rows."""
import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import naive_alert_policy
from radarcore.core.alerts import AlertManager
from radarcore.core.config import TRACK_CLASSES, AlertConfig, AssetConfig, Origin, RadarConfig, SiteConfig, ZoneConfig
from radarcore.core.zones import build_zone_table

LEVELS = ("warning", "alert", "critical")


def site_with(zone_specs, alerts):
    """A site whose assets have the zones ``zone_specs`` (per asset: (level, alert_on) pairs)."""
    radar = RadarConfig(id=1, lat_deg=31.3, lon_deg=120.6, alt_m=0.0, sigma_range_m=10.0,
                        sigma_azimuth_deg=0.5, sigma_elevation_deg=0.5, scan_period_s=1.0,
                        max_range_m=10000.0)
    assets = []
    for a, zones in enumerate(zone_specs):
        assets.append(AssetConfig(id=f"asset-{a}", lat_deg=31.3 + 0.01 * a, lon_deg=120.6, alt_m=0.0,
                                  zones=tuple(ZoneConfig(level=level, radius_m=500.0 * (j + 1), floor_m=0.0,
                                                         ceiling_m=500.0, alert_on=alert_on)
                                              for j, (level, alert_on) in enumerate(zones))))
    return SiteConfig(origin=Origin(31.3, 120.6, 0.0), radars=(radar,), assets=tuple(assets), alerts=alerts)


# values on and around the thresholds the policy compares with, and the non-finite ones
THRESHOLDS = [0.0, 0.3, 0.5, 0.6, 0.7, 0.9, 1.0, 2.0, 5.0, 30.0, 120.0]
edgy = st.one_of(st.sampled_from(THRESHOLDS + [np.inf, -np.inf, np.nan, 1e-300]),
                 st.floats(-10.0, 200.0, allow_nan=False))
probability = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 0.6, 0.7, 1.0, np.nan]), st.floats(0.0, 1.0))
zone_spec = st.tuples(st.sampled_from(LEVELS),
                      st.one_of(st.none(), st.lists(st.sampled_from(TRACK_CLASSES), unique=True).map(tuple)))
alert_config = st.builds(
    AlertConfig, class_min_p=st.sampled_from([0.5, 0.6, 0.9]), drone_hold_s=st.sampled_from([0.0, 2.0, 5.0]),
    horizon_s=st.sampled_from([0.0, 30.0, 120.0]), p_entry_min=st.sampled_from([0.0, 0.3, 0.7]),
    unsettled_threat_min_p=st.sampled_from([0.0, 0.3, 0.6]), unsettled_lead_s=st.sampled_from([0.0, 5.0, 30.0]),
    unknown_hold_s=st.sampled_from([0.0, 5.0]))


@st.composite
def decisions(draw):
    config = draw(alert_config)
    zone_specs = draw(st.lists(st.lists(zone_spec, min_size=0, max_size=3), min_size=1, max_size=3))
    if not any(zone_specs):
        zone_specs[0].append(("critical", None))
    zones = build_zone_table(site_with(zone_specs, config))
    k = draw(st.integers(0, 12))
    n_z = zones.n_zones
    floats = lambda shape, values: np.array(draw(st.lists(values, min_size=int(np.prod(shape)),
                                                          max_size=int(np.prod(shape)))), float).reshape(shape)
    class_p = floats((k, len(TRACK_CLASSES)), probability)
    geometry = {"x": np.zeros((k, 6)), "inside": np.array(draw(st.lists(st.booleans(), min_size=k * n_z,
                                                                        max_size=k * n_z)), bool).reshape(k, n_z),
                "distance": np.zeros((k, n_z)), "tte": floats((k, n_z), edgy), "p_entry": floats((k, n_z), probability),
                **{name: np.zeros((k, zones.n_assets)) for name in ("cpa", "t_cpa", "closing", "range")}}
    held_s = floats((k,), edgy)
    t = draw(st.sampled_from([0.0, 3.0, 10.0]))
    first_seen = floats((k,), st.sampled_from([0.0, 2.0, 5.0, 7.5, 10.0]))
    return zones, config, class_p, geometry, held_s, first_seen, t


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


@settings(max_examples=300, deadline=None)
@given(decisions())
def test_the_compiled_policy_gives_the_figures_of_the_numpy_one(decision):
    zones, config, class_p, geometry, held_s, first_seen, t = decision
    mgr = AlertManager(zones, config)
    fast = mgr.evaluate(None, None, class_p, held_s, geometry, first_seen, t)
    slow = naive_alert_policy.evaluate(mgr, None, None, class_p, held_s, geometry, first_seen, t)
    assert sorted(fast) == sorted(slow)
    for name in fast:
        assert same(np.asarray(fast[name]), np.asarray(slow[name]).astype(np.asarray(fast[name]).dtype)), name


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_compiled_call_evidence_is_the_numpy_one(data):
    k = data.draw(st.integers(0, 12))
    classes = st.integers(0, len(TRACK_CLASSES) - 1)
    called = np.array(data.draw(st.lists(classes, min_size=k, max_size=k)), np.int64)
    state = {"has_call": np.array(data.draw(st.lists(st.booleans(), min_size=k, max_size=k)), bool),
             "call": np.array(data.draw(st.lists(st.integers(-1, 3), min_size=k, max_size=k)), np.int64),
             "count": np.array(data.draw(st.lists(edgy, min_size=k, max_size=k)), float),
             "settled": np.array(data.draw(st.lists(st.booleans(), min_size=k, max_size=k)), bool)}
    config = AlertConfig(drone_hold_s=data.draw(st.sampled_from([0.0, 2.0, 5.0])))
    mgr = AlertManager(build_zone_table(site_with([[("critical", None)]], config)), config)
    mgr._t_prev = data.draw(st.sampled_from([-np.inf, 0.0, 1.0, 4.5]))
    t = max(mgr._t_prev, 0.0) + data.draw(st.sampled_from([0.0, 0.5, 1.0, 3.0]))
    held_fast, fast = mgr._accumulate_calls(t, {n: v.copy() for n, v in state.items()}, called)
    held_slow, slow = naive_alert_policy.accumulate_calls(mgr, t, state, called)
    assert same(held_fast, held_slow)
    for name in fast:
        assert same(fast[name], slow[name]), name


def test_the_compiled_policy_sees_every_rule():
    # the comparison above means something only if its draws reach each outcome: a raised level,
    # a held unknown track, an advisory level above the alerted one
    config = AlertConfig()
    zones = build_zone_table(site_with([[("warning", None), ("critical", None)]], config))
    mgr = AlertManager(zones, config)
    class_p = np.array([[1.0, 0.0, 0.0, 0.0], [0.2, 0.2, 0.2, 0.4], [0.0, 1.0, 0.0, 0.0]])
    geometry = {"x": np.zeros((3, 6)), "inside": np.array([[True, False], [True, False], [True, True]]),
                "distance": np.zeros((3, 2)), "tte": np.full((3, 2), np.inf), "p_entry": np.zeros((3, 2)),
                **{n: np.zeros((3, 1)) for n in ("cpa", "t_cpa", "closing", "range")}}
    ev = mgr.evaluate(None, None, class_p, None, geometry, np.zeros(3), 1.0)
    assert ev["level"][:, 0].tolist() == [zones.zone_level[0], -1, zones.zone_level[1]]
    assert ev["advisory"][:, 0].tolist() == [zones.zone_level[0], zones.zone_level[0], zones.zone_level[1]]
    assert ev["held"][:, 0].tolist() == [False, config.unknown_hold_s > 1.0, False]
