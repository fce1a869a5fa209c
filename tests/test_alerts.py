"""Alert lifecycle on constructed tracks: raise before entry, hysteresis, handover, classes."""
import json

import numpy as np
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from ingest.schema import TRACK_ROW_DTYPE
from radarcore.core.alerts import AlertJsonlWriter, AlertManager
from radarcore.core.config import AlertConfig, AssetConfig, Origin, RadarConfig, SiteConfig, ZoneConfig
from radarcore.core.zones import build_zone_table

DRONE = np.array([0.9, 0.04, 0.03, 0.03])
BIRD = np.array([0.05, 0.9, 0.02, 0.03])


def make_site(alerts=AlertConfig()):
    zones = (ZoneConfig(level="warning", radius_m=2000.0, floor_m=0.0, ceiling_m=1000.0),
             ZoneConfig(level="alert", radius_m=1000.0, floor_m=0.0, ceiling_m=500.0),
             ZoneConfig(level="critical", radius_m=300.0, floor_m=0.0, ceiling_m=300.0))
    return SiteConfig(
        origin=Origin(31.3, 120.62, 0.0),
        radars=(RadarConfig(id=1, lat_deg=31.3, lon_deg=120.62, alt_m=0.0, sigma_range_m=10.0,
                            sigma_azimuth_deg=0.5, sigma_elevation_deg=0.5, scan_period_s=1.0,
                            max_range_m=8000.0),),
        assets=(AssetConfig(id="plant-1", lat_deg=31.3, lon_deg=120.62, alt_m=0.0, zones=zones),),
        alerts=alerts)


def manager(alerts=AlertConfig()):
    site = make_site(alerts)
    return AlertManager(build_zone_table(site), site.alerts)


def rows_at(t, tracks):
    """tracks: list of (track_id, (e, n, u), (ve, vn, vu))."""
    rows = np.zeros(len(tracks), TRACK_ROW_DTYPE)
    for r, (track_id, p, v) in enumerate(tracks):
        rows[r]["time_s"] = t
        rows[r]["track_id"] = track_id
        rows[r]["status"] = 2
        rows[r]["east_m"], rows[r]["north_m"], rows[r]["up_m"] = p
        rows[r]["v_east_mps"], rows[r]["v_north_mps"], rows[r]["v_up_mps"] = v
    P = np.tile(np.diag([100.0, 100.0, 100.0, 1.0, 1.0, 0.25]), (len(tracks), 1, 1))
    return rows, P


def run(mgr, path, class_p=DRONE, t0=0.0):
    """Feed ``path(t) -> list of (track_id, p, v)`` each second; return the events."""
    events = []
    for t in np.arange(t0, t0 + 600.0):
        tracks = path(t)
        if tracks is None:
            break
        rows, P = rows_at(t, tracks)
        events.extend(mgr.update(float(t), rows, P, np.tile(class_p, (len(tracks), 1))))
    return events


def run_classes(mgr, path, n_epochs, class_at):
    """Feed one track along ``path`` for ``n_epochs`` seconds with the class probabilities ``class_at(t)``."""
    events = []
    for t in range(n_epochs):
        rows, P = rows_at(float(t), path(t))
        events.extend(mgr.update(float(t), rows, P, class_at(t)[None, :]))
    return events


def straight(track_id, start, velocity, t_end=None):
    start = np.asarray(start, float)
    velocity = np.asarray(velocity, float)
    return lambda t: None if t_end is not None and t > t_end else [(track_id, start + velocity * t, velocity)]


def test_inbound_drone_is_alerted_well_before_entering():
    # 15 m/s straight at the asset from 4 km: warning zone at 2 km is 133 s away
    events = run(manager(), straight(1, (0.0, -4000.0, 150.0), (0.0, 15.0, 0.0), t_end=300))
    raise_ = [e for e in events if e["event"] == "raise"]
    assert len(raise_) == 1
    assert raise_[0]["level"] in ("warning", "alert")
    t_warning_entry = (4000.0 - 2000.0) / 15.0
    t_alert_entry = (4000.0 - 1000.0) / 15.0
    assert raise_[0]["time_s"] <= t_warning_entry - 10.0
    first_alert_level = min(e["time_s"] for e in events if e["level"] in ("alert", "critical"))
    assert first_alert_level <= t_alert_entry - 30.0
    levels = [e["level"] for e in events if e["event"] in ("raise", "escalate")]
    assert levels[-1] == "critical"
    ids = {e["alert_id"] for e in events}
    assert ids == {1}
    for e in events:
        assert e["track_id"] == 1 and e["asset_id"] == "plant-1"
        assert e["class"] == "drone"


def test_far_drone_is_never_alerted():
    # passes 3 km outside the warning zone
    events = run(manager(), straight(1, (-6000.0, 5000.0, 150.0), (15.0, 0.0, 0.0), t_end=600))
    assert events == []


def test_drone_above_the_ceiling_is_not_alerted():
    events = run(manager(), straight(1, (0.0, -4000.0, 1500.0), (0.0, 15.0, 0.0), t_end=500))
    assert events == []


def test_escalation_needs_more_than_one_update():
    mgr = manager()
    # one epoch deep inside the alert zone, then far away again
    far = (0.0, -5000.0, 150.0)

    def path(t):
        if t > 40:
            return None
        p = (0.0, -500.0, 150.0) if t == 10 else far
        return [(1, p, (0.0, 0.0, 0.0))]
    assert run(mgr, path) == []


def test_live_updates_hold_escalate_updates_epochs_not_updates():
    """Live mode decides on every track update (ten a second here): the
    escalate_updates hold still lasts that many output epochs of time."""
    config = AlertConfig(drone_hold_s=0.0, unknown_hold_s=0.0, escalate_updates=3)
    site = make_site(config)
    inside = [(1, (0.0, -500.0, 150.0), (0.0, 0.0, 0.0))]

    def first_raise(mgr):
        for t in np.arange(20.0, 30.0, 0.1):
            rows, P = rows_at(float(t), inside)
            events = mgr.update(float(t), rows, P, DRONE[None, :])
            if any(e["event"] == "raise" for e in events):
                return float(t)
        return None
    per_update = first_raise(AlertManager(build_zone_table(site), config))
    per_epoch = first_raise(AlertManager(build_zone_table(site), config, epoch_s=1.0))
    assert abs(per_update - 20.2) < 1e-6          # the third update
    assert abs(per_epoch - 22.0) < 1e-6           # two epochs of time after the first


def test_boundary_skimmer_does_not_flap():
    # flies along the alert circle, crossing it by +-40 m every 15 s
    def path(t):
        if t > 400:
            return None
        angle = t * 10.0 / 1000.0
        r = 1000.0 + 40.0 * np.sin(2 * np.pi * t / 30.0)
        p = (r * np.cos(angle), r * np.sin(angle), 150.0)
        v = (-10.0 * np.sin(angle), 10.0 * np.cos(angle), 0.0)
        return [(1, p, v)]
    events = run(manager(), path)
    raises = [e for e in events if e["event"] == "raise"]
    clears = [e for e in events if e["event"] == "clear"]
    assert len(raises) == 1 and not clears
    changes = [e["time_s"] for e in events if e["event"] in ("escalate", "deescalate")]
    # no level change follows another within 10 s
    assert all(b - a >= 10.0 for a, b in zip(changes, changes[1:]))


def test_clear_waits_for_hold_and_margin():
    cfg = AlertConfig(hold_s=10.0, margin_m=150.0)
    # enters the warning zone, turns around at 1900 m and leaves
    def path(t):
        if t > 400:
            return None
        n = -2500.0 + 15.0 * t if t < 40 else -1900.0 - 15.0 * (t - 40)
        v = (0.0, 15.0 if t < 40 else -15.0, 0.0)
        return [(1, (0.0, n, 150.0), v)]
    events = run(manager(cfg), path)
    clear = [e for e in events if e["event"] == "clear"]
    assert len(clear) == 1
    # outside the warning circle by 150 m from t = 56.7 s; not cleared before
    assert clear[0]["time_s"] >= 40 + (2150.0 - 1900.0) / 15.0 - 1.0
    assert clear[0]["level"] is not None


def test_alert_follows_a_successor_track():
    def path(t):
        if t > 200:
            return None
        p = np.array([0.0, -3500.0 + 15.0 * t, 150.0])
        if t < 60:
            return [(1, p, (0.0, 15.0, 0.0))]
        if t < 63:
            return []                       # the track was dropped ...
        return [(2, p + (30.0, 0.0, 0.0), (0.0, 15.0, 0.0))]   # ... and a new one appears
    events = run(manager(), path)
    assert [e["event"] for e in events].count("raise") == 1
    assert {e["alert_id"] for e in events} == {1}
    assert any(e["track_id"] == 2 for e in events)
    assert not any(e["event"] == "clear" and e["time_s"] < 190 for e in events)


def test_dropped_track_without_successor_clears_after_handover_time():
    cfg = AlertConfig(handover_s=20.0)
    events = run(manager(cfg), straight(1, (0.0, -1500.0, 150.0), (0.0, 0.0, 0.0), t_end=30))
    assert [e["event"] for e in events if e["event"] != "advisory"][0] == "raise"
    # the run stops at t = 31: no clear yet; feed empty epochs
    mgr = manager(cfg)
    events = run(mgr, lambda t: [(1, (0.0, -1500.0, 150.0), (0.0, 0.0, 0.0))] if t < 30 else [])
    clear = [e for e in events if e["event"] == "clear"]
    assert len(clear) == 1 and 50.0 <= clear[0]["time_s"] <= 52.0


def test_birds_alert_only_in_critical_zones():
    mgr = manager()
    # a bird flock crossing the alert zone but not the critical one
    events = run(mgr, straight(1, (-3000.0, 600.0, 100.0), (10.0, 0.0, 0.0), t_end=600), class_p=BIRD)
    assert events == []
    # a bird going through the critical zone is alerted
    events = run(manager(), straight(1, (-3000.0, 0.0, 100.0), (10.0, 0.0, 0.0), t_end=600), class_p=BIRD)
    assert any(e["event"] == "raise" and e["level"] == "critical" for e in events)


UNSURE = np.array([0.35, 0.45, 0.1, 0.1])


def test_an_unsettled_track_gets_advisories_not_alerts():
    # crossing the warning and alert zones, missing the critical one
    events = run(manager(), straight(1, (-3000.0, 600.0, 100.0), (10.0, 0.0, 0.0), t_end=600), class_p=UNSURE)
    assert [e["event"] for e in events] == ["advisory", "advisory"]
    assert [e["level"] for e in events] == ["warning", "alert"]
    assert events[0]["alert_id"] == events[1]["alert_id"]
    assert events[1]["class"] == "unknown"


def test_an_unsettled_track_is_alerted_before_a_critical_zone():
    config = AlertConfig()
    events = run(manager(config), straight(1, (-3000.0, 0.0, 100.0), (10.0, 0.0, 0.0), t_end=600),
                 class_p=UNSURE)
    raise_ = next(e for e in events if e["event"] == "raise")
    assert raise_["level"] == "critical"
    entry_s = (3000.0 - 300.0) / 10.0
    assert entry_s - config.unsettled_lead_s - 2.0 <= raise_["time_s"] < entry_s
    # the advisories before it carry the id the alert got
    assert {e["alert_id"] for e in events if e["event"] == "advisory"} == {raise_["alert_id"]}


def test_a_track_that_settles_as_drone_is_raised_at_once():
    mgr = manager()
    path = straight(1, (0.0, -2500.0, 150.0), (0.0, 10.0, 0.0))
    events = run_classes(mgr, path, 60, lambda t: UNSURE if t < 20 else DRONE)
    kinds = [(e["event"], e["time_s"]) for e in events]
    assert kinds[0][0] == "advisory" and kinds[0][1] < 20.0
    # the drone call settles after drone_hold_s; then no escalate_updates hold after an advisory
    assert ("raise", 20.0 + AlertConfig().drone_hold_s) in kinds
    assert [k for k in kinds if k[0] == "raise"] == [("raise", 20.0 + AlertConfig().drone_hold_s)]


def test_a_bird_that_turns_out_a_drone_is_raised_at_once():
    mgr = manager()
    path = straight(1, (0.0, -1500.0, 150.0), (0.0, 10.0, 0.0))
    events = run_classes(mgr, path, 40, lambda t: BIRD if t < 20 else DRONE)
    # unsettled (advisory) while the new call holds, raised the epoch it settles
    hold_s = AlertConfig().drone_hold_s
    assert [(e["event"], e["time_s"]) for e in events if e["event"] != "advisory"][0] == ("raise", 20.0 + hold_s)
    assert all(e["time_s"] >= 20.0 for e in events)


def test_a_drone_call_that_comes_and_goes_never_settles():
    # a bird called drone one epoch in three crosses the alert zone: advisories only
    mgr = manager()
    path = straight(1, (-3000.0, 600.0, 100.0), (10.0, 0.0, 0.0))
    events = run_classes(mgr, path, 600, lambda t: DRONE if t % 3 == 0 else UNSURE)
    assert events and {e["event"] for e in events} == {"advisory"}
    # the same track with a drone call that holds is alerted
    events = run(manager(), path, class_p=DRONE)
    assert any(e["event"] == "raise" for e in events)


def test_a_settled_drone_survives_a_brief_dip():
    mgr = manager()
    path = straight(1, (0.0, -2500.0, 150.0), (0.0, 10.0, 0.0))
    events = run_classes(mgr, path, 120, lambda t: UNSURE if t in (40, 41, 60, 80) else DRONE)
    # (an advisory while the first call settles, then one raise and nothing cleared by the dips)
    assert [e["event"] for e in events if e["event"] in ("raise", "clear", "deescalate")] == ["raise"]
    assert [e["time_s"] for e in events if e["event"] == "advisory"] == [5.0]


def test_a_drone_call_settles_at_once_with_no_hold():
    mgr = manager(AlertConfig(drone_hold_s=0.0))
    path = straight(1, (0.0, -1500.0, 150.0), (0.0, 10.0, 0.0))
    events = run_classes(mgr, path, 40, lambda t: BIRD if t < 20 else DRONE)
    assert [(e["event"], e["time_s"]) for e in events][0] == ("raise", 20.0)


LIKELY_BIRD = np.array([0.01, 0.45, 0.0, 0.54])


def test_an_unsettled_track_that_cannot_be_a_drone_waits_for_the_critical_zone():
    config = AlertConfig()
    events = run(manager(config), straight(1, (-3000.0, 0.0, 100.0), (10.0, 0.0, 0.0), t_end=600),
                 class_p=LIKELY_BIRD)
    raise_ = next(e for e in events if e["event"] == "raise")
    entry_s = (3000.0 - 300.0) / 10.0
    assert raise_["level"] == "critical" and entry_s <= raise_["time_s"] <= entry_s + 3.0
    # with a drone probability above unsettled_threat_min_p it is raised before entry
    events = run(manager(AlertConfig(unsettled_threat_min_p=0.005)),
                 straight(1, (-3000.0, 0.0, 100.0), (10.0, 0.0, 0.0), t_end=600), class_p=LIKELY_BIRD)
    raise_ = next(e for e in events if e["event"] == "raise")
    assert entry_s - config.unsettled_lead_s - 2.0 <= raise_["time_s"] < entry_s


def test_events_carry_the_contract_fields(tmp_path):
    events = run(manager(), straight(1, (0.0, -2500.0, 150.0), (0.0, 15.0, 0.0), t_end=200))
    path = tmp_path / "alerts.jsonl"
    with AlertJsonlWriter(path) as writer:
        writer.write(events)
    lines = path.read_text().splitlines()
    assert len(lines) == len(events) > 0
    for line in lines:
        e = json.loads(line)
        for key in ("time_s", "alert_id", "event", "asset_id", "level", "track_id",
                    "time_to_entry_s", "cpa_m", "east_m", "north_m", "up_m", "speed_mps"):
            assert key in e
        assert e["event"] in ("raise", "escalate", "deescalate", "clear", "advisory")


def test_replay_alert_table_shows_raised_alerts_from_their_raise():
    from radarcore.core.replay import alert_table

    events = run(manager(), straight(1, (-3000.0, 0.0, 100.0), (10.0, 0.0, 0.0), t_end=600), class_p=UNSURE)
    advised = run(manager(), straight(2, (-3000.0, 600.0, 100.0), (10.0, 0.0, 0.0), t_end=600), class_p=UNSURE)
    events += [dict(e, alert_id=e["alert_id"] + 100) for e in advised]
    raise_ = next(e for e in events if e["event"] == "raise")
    lines = alert_table(events).splitlines()
    assert len(lines) == 3                     # header, the raised alert, the advisory-only count
    assert lines[1].split()[:2] == [str(raise_["alert_id"]), f"{raise_['time_s']:.0f}"]
    assert lines[2] == "  advisories on 1 track(s) never alerted"


@settings(max_examples=40, deadline=None)
@given(calls=st.lists(st.sampled_from("DUB"), min_size=60, max_size=60))
def test_a_drone_call_needs_drone_hold_s_of_evidence(calls):
    # a track inside the alert zone (never the critical one) with a drawn call per epoch
    hold_s = AlertConfig().drone_hold_s
    probabilities = {"D": DRONE, "U": UNSURE, "B": BIRD}
    path = straight(1, (0.0, -800.0, 150.0), (0.0, 0.0, 0.0))
    events = run_classes(manager(), path, len(calls), lambda t: probabilities[calls[t]])
    raises = [e for e in events if e["event"] == "raise"]
    # the call's evidence grows by one second per drone epoch: fewer than hold_s + 1 never settle
    if calls.count("D") < hold_s + 1:
        assert raises == []
    # hold_s + 1 drone epochs in a row (after the first seconds a new track waits) always settle
    if "D" * int(hold_s + 1) in "".join(calls[5:]):
        assert len(raises) == 1 and raises[0]["class"] == "drone"


# ----------------------------------------------------------------- the array path vs the slow twin
CLASS_STATES = np.array([DRONE, BIRD, UNSURE, [0.03, 0.03, 0.9, 0.04], [0.3, 0.3, 0.1, 0.3],
                         [0.01, 0.55, 0.01, 0.43]])


def churned_scene(seed, n_tracks, n_epochs):
    """Epochs ``(t, rows, P, class_p)`` of tracks around two assets: straight paths (many inbound),
    classes that come and go, statuses of every kind, tracks dropped and successors appearing
    near where they were going, rows sometimes out of track-id order, epochs 1 or 2 s apart."""
    rng = np.random.default_rng(seed)
    position = np.column_stack([rng.uniform(-3500.0, 3500.0, (n_tracks, 2)), rng.uniform(20.0, 1200.0, n_tracks)])
    velocity = np.column_stack([-position[:, :2] / rng.uniform(60.0, 600.0, (n_tracks, 1))
                                + rng.normal(0.0, 3.0, (n_tracks, 2)), np.zeros(n_tracks)])
    velocity[rng.random(n_tracks) < 0.3, :2] = 0.0          # hovering on a boundary, inside or out
    ids = np.arange(1, n_tracks + 1)
    state = rng.integers(0, len(CLASS_STATES), n_tracks)
    next_id = n_tracks + 1
    t = 0.0
    epochs = []
    for _ in range(n_epochs):
        dt = 1.0 if rng.random() < 0.85 else 2.0
        t += dt
        position = position + velocity * dt
        flip = rng.random(n_tracks) < 0.08
        state[flip] = rng.integers(0, len(CLASS_STATES), int(flip.sum()))
        dropped = rng.random(n_tracks) < 0.03
        if dropped.any():
            ids = ids.copy()
            ids[dropped] = np.arange(next_id, next_id + int(dropped.sum()))
            next_id += int(dropped.sum())
            # half the successors appear where the dropped track was going
            jump = dropped & (rng.random(n_tracks) < 0.5)
            position[jump, :2] += rng.uniform(-3000.0, 3000.0, (int(jump.sum()), 2))
        present = rng.random(n_tracks) > 0.03                 # a track missing from one epoch
        order = np.argsort(ids) if rng.random() < 0.8 else rng.permutation(n_tracks)
        order = order[present[order]]
        rows = np.zeros(order.size, TRACK_ROW_DTYPE)
        rows["time_s"] = t
        rows["track_id"] = ids[order]
        rows["status"] = rng.choice([1, 2, 3, 4], order.size, p=[0.05, 0.8, 0.1, 0.05])
        for j, name in enumerate(("east_m", "north_m", "up_m", "v_east_mps", "v_north_mps", "v_up_mps")):
            rows[name] = (position if j < 3 else velocity)[order, j % 3]
        P = np.tile(np.diag([100.0, 100.0, 100.0, 1.0, 1.0, 0.25]), (order.size, 1, 1))
        P *= rng.uniform(0.5, 40.0, order.size)[:, None, None]
        epochs.append((t, rows, P, CLASS_STATES[state[order]].copy()))
    return epochs


def two_asset_site(alerts):
    site = make_site(alerts)
    zones = (ZoneConfig(level="warning", radius_m=1500.0, floor_m=0.0, ceiling_m=800.0),
             ZoneConfig(level="critical", radius_m=500.0, floor_m=0.0, ceiling_m=400.0))
    second = AssetConfig(id="plant-2", lat_deg=31.31, lon_deg=120.63, alt_m=0.0, zones=zones)
    return SiteConfig(origin=site.origin, radars=site.radars, assets=site.assets + (second,), alerts=alerts)


@settings(max_examples=25, deadline=None)
# a steady alert's track dropped: its orphan must carry the track's last position, not its raise's
@example(seed=100, n_tracks=7, n_epochs=25, escalate=1, hold_s=0.0, drone_hold_s=0.0, unknown_hold_s=0.0,
         handover_m=400.0)
@given(seed=st.integers(0, 2**31), n_tracks=st.integers(1, 60), n_epochs=st.integers(1, 90),
       escalate=st.sampled_from([1, 2, 3]), hold_s=st.sampled_from([0.0, 3.0, 10.0]),
       drone_hold_s=st.sampled_from([0.0, 2.0, 10.0]), unknown_hold_s=st.sampled_from([0.0, 5.0]),
       handover_m=st.sampled_from([400.0, 3000.0]))
def test_the_array_path_writes_the_events_of_the_per_alert_logic(seed, n_tracks, n_epochs, escalate, hold_s,
                                                                 drone_hold_s, unknown_hold_s, handover_m):
    from naive_alerts import NaiveAlertManager

    config = AlertConfig(escalate_updates=escalate, hold_s=hold_s, drone_hold_s=drone_hold_s,
                         unknown_hold_s=unknown_hold_s, handover_m=handover_m)
    site = two_asset_site(config)
    fast = AlertManager(build_zone_table(site), config)
    slow = NaiveAlertManager(build_zone_table(site), config)
    for t, rows, P, class_p in churned_scene(seed, n_tracks, n_epochs):
        assert fast.update(t, rows, P, class_p) == slow.update(t, rows, P, class_p)
    assert fast.counts == slow.counts and fast.next_alert_id == slow.next_alert_id
    assert sorted(fast.alerts) == sorted(slow.alerts)


def test_the_churned_scene_exercises_every_event_kind():
    # the comparison above means something only if its scenes raise, escalate, clear, hand over
    # and advise: one larger draw, compared the same way
    from naive_alerts import NaiveAlertManager

    config = AlertConfig(hold_s=3.0, drone_hold_s=2.0)
    site = two_asset_site(config)
    fast = AlertManager(build_zone_table(site), config)
    slow = NaiveAlertManager(build_zone_table(site), config)
    for t, rows, P, class_p in churned_scene(7, 150, 120):
        assert fast.update(t, rows, P, class_p) == slow.update(t, rows, P, class_p)
    assert all(fast.counts[kind] > 0 for kind in ("raise", "escalate", "deescalate", "clear", "advisory"))
    assert fast.counts == slow.counts


# ----------------------------------------------------------------- incremental (live) decisions
def live_scene(seed, n_tracks, n_frames):
    """Frames ``(t, changed rows, P, class_p, gone ids)`` of a live picture: each frame (0.05 to
    0.6 s after the last) updates a few tracks at their own state time (positions on straight
    paths, classes that come and go, some tentative), deletes some (a new track id takes the
    place later, often near where the old one was going); tracks not updated keep their row."""
    rng = np.random.default_rng(seed)
    position = np.column_stack([rng.uniform(-3500.0, 3500.0, (n_tracks, 2)), rng.uniform(20.0, 1200.0, n_tracks)])
    velocity = np.column_stack([-position[:, :2] / rng.uniform(30.0, 300.0, (n_tracks, 1))
                                + rng.normal(0.0, 3.0, (n_tracks, 2)), np.zeros(n_tracks)])
    velocity[rng.random(n_tracks) < 0.3, :2] = 0.0
    ids = np.arange(1, n_tracks + 1)
    state = rng.integers(0, len(CLASS_STATES), n_tracks)
    status = np.full(n_tracks, 2)
    in_picture = np.zeros(n_tracks, bool)
    next_id = n_tracks + 1
    t = 0.0
    frames = []
    for _ in range(n_frames):
        dt = float(rng.choice([0.05, 0.2, 0.6]))
        t += dt
        position = position + velocity * dt
        gone = []
        dropped = np.flatnonzero(rng.random(n_tracks) < 0.01)
        for i in dropped.tolist():
            if in_picture[i]:
                gone.append(int(ids[i]))
            in_picture[i] = False
            ids[i] = next_id
            next_id += 1
            status[i] = 1
            if rng.random() < 0.5:
                position[i, :2] += rng.uniform(-3000.0, 3000.0, 2)
        changed = np.flatnonzero(rng.random(n_tracks) < rng.choice([0.05, 0.3]))
        flip = changed[rng.random(changed.size) < 0.3]
        state[flip] = rng.integers(0, len(CLASS_STATES), flip.size)
        status[changed] = np.where(status[changed] == 1, rng.choice([1, 2], changed.size, p=[0.3, 0.7]),
                                   rng.choice([2, 3], changed.size, p=[0.8, 0.2]))
        in_picture[changed] = status[changed] >= 2
        rows = np.zeros(changed.size, TRACK_ROW_DTYPE)
        rows["time_s"] = t - rng.uniform(0.0, 0.3, changed.size)
        rows["track_id"] = ids[changed]
        rows["status"] = status[changed]
        for j, name in enumerate(("east_m", "north_m", "up_m", "v_east_mps", "v_north_mps", "v_up_mps")):
            rows[name] = (position if j < 3 else velocity)[changed, j % 3]
        P = np.tile(np.diag([100.0, 100.0, 100.0, 1.0, 1.0, 0.25]), (changed.size, 1, 1))
        P *= rng.uniform(0.5, 40.0, changed.size)[:, None, None]
        frames.append((t, rows, P, CLASS_STATES[state[changed]].copy(), gone))
    return frames


def whole_picture_events(manager, frames):
    """The reference: :meth:`AlertManager.update` on every frame's whole picture."""
    picture = {}
    out = []
    for t, rows, P, class_p, gone in frames:
        for track_id in gone:
            picture.pop(track_id, None)
        for r in range(rows.size):
            if rows["status"][r] >= 2:
                picture[int(rows["track_id"][r])] = (rows[r:r + 1], P[r:r + 1], class_p[r:r + 1])
        shown = [picture[k] for k in sorted(picture)]
        whole = [np.concatenate([s[j] for s in shown]) if shown else empty
                 for j, empty in enumerate((np.zeros(0, TRACK_ROW_DTYPE), np.zeros((0, 6, 6)), np.zeros((0, 4))))]
        out.append(manager.update(t, *whole))
    return out


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), n_tracks=st.integers(1, 60), n_frames=st.integers(1, 300),
       escalate=st.sampled_from([1, 2, 3]), hold_s=st.sampled_from([0.0, 1.0, 10.0]),
       drone_hold_s=st.sampled_from([0.0, 1.3, 10.0]), unknown_hold_s=st.sampled_from([0.0, 2.5]),
       handover_s=st.sampled_from([1.5, 20.0]), handover_m=st.sampled_from([400.0, 3000.0]),
       epoch_s=st.sampled_from([None, 1.0]))
def test_deciding_on_the_changed_tracks_writes_the_events_of_the_whole_picture(
        seed, n_tracks, n_frames, escalate, hold_s, drone_hold_s, unknown_hold_s, handover_s, handover_m, epoch_s):
    config = AlertConfig(escalate_updates=escalate, hold_s=hold_s, drone_hold_s=drone_hold_s,
                         unknown_hold_s=unknown_hold_s, handover_s=handover_s, handover_m=handover_m)
    site = two_asset_site(config)
    frames = live_scene(seed, n_tracks, n_frames)
    whole = AlertManager(build_zone_table(site), config, epoch_s=epoch_s)
    changed = AlertManager(build_zone_table(site), config, epoch_s=epoch_s)
    expected = whole_picture_events(whole, frames)
    for (t, rows, P, class_p, gone), events in zip(frames, expected):
        assert changed.update_tracks(t, rows, P, class_p, gone=gone) == events
    assert changed.counts == whole.counts and changed.next_alert_id == whole.next_alert_id
    assert sorted(changed.alerts) == sorted(whole.alerts)


def test_the_live_scene_exercises_every_event_kind():
    # the comparison above means something only if its scenes raise, escalate, clear, hand over
    # and advise: one larger draw, compared the same way
    config = AlertConfig(hold_s=3.0, drone_hold_s=2.0, unknown_hold_s=2.5, handover_s=5.0)
    site = two_asset_site(config)
    frames = live_scene(7, 150, 600)
    whole = AlertManager(build_zone_table(site), config, epoch_s=1.0)
    changed = AlertManager(build_zone_table(site), config, epoch_s=1.0)
    expected = whole_picture_events(whole, frames)
    for (t, rows, P, class_p, gone), events in zip(frames, expected):
        assert changed.update_tracks(t, rows, P, class_p, gone=gone) == events
    assert all(whole.counts[kind] > 0 for kind in ("raise", "escalate", "deescalate", "clear", "advisory"))
    assert changed.counts == whole.counts


@settings(max_examples=60, deadline=None)
@given(st.sets(st.integers(0, 60), max_size=20),
       st.lists(st.integers(0, 60), min_size=1, max_size=12, unique=True), st.floats(0.0, 100.0))
def test_new_tracks_go_where_a_concatenation_and_stable_sort_puts_them(old, new, t):
    """``_insert_tracks`` (each array written once into its place) gives the store that
    concatenating the new tracks' fresh state and re-sorting by id gave."""
    from radarcore.core.alerts import _STATE_FILL, GEOMETRY, _insert_tracks
    new = [i for i in new if i not in old]
    assume(new)                          # (called only when a track is new)
    old_ids = np.array(sorted(old), np.int64)
    new_ids = np.array(new, np.int64)
    m, n = old_ids.size, new_ids.size
    rng = np.random.default_rng(m * 100 + n)
    geo = lambda k: {name: rng.normal(size=(k, 2)) for name in GEOMETRY}
    store = {"ids": old_ids, "first_seen": rng.normal(size=m), "called": rng.integers(0, 4, m),
             "class_p": rng.normal(size=(m, 4)), **geo(m),
             **{name: np.full(m, fill, np.asarray(fill).dtype if name != "count" else float)
                for name, fill in _STATE_FILL.items()}}
    store["count"] = rng.normal(size=m)
    called, class_p, geometry = rng.integers(0, 4, n), rng.normal(size=(n, 4)), geo(n)
    got = _insert_tracks(store, new_ids, t, called, class_p, geometry)
    fresh = {"ids": new_ids, "first_seen": np.full(n, t), "called": called, "class_p": class_p,
             **geometry,
             **{name: np.full(n, fill, store[name].dtype) for name, fill in _STATE_FILL.items()}}
    merged = {name: np.concatenate([store[name], fresh[name]]) for name in store}
    o = np.argsort(merged["ids"], kind="stable")
    assert list(got) == list(store)
    for name in store:
        assert got[name].dtype == store[name].dtype, name
        np.testing.assert_array_equal(got[name], merged[name][o], err_msg=name)
