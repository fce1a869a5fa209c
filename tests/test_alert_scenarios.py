"""Alerts on simulated intrusion scenarios with known truth (fixed seeds)."""
import numpy as np
import pytest

from radarcore.core.engine import Engine
from radarcore.analysis.scores import alert_scores, attribute_events
from radarcore.sim.simulate import simulate, truth_zone_events


def run(name, seed):
    scenario = simulate(name, seed=seed)
    engine = Engine(scenario.site)
    engine.process(scenario.plots)
    events = engine.pop_alerts()
    engine.flush()
    events += engine.pop_alerts()
    hours = (scenario.plots["time_s"].max() - scenario.plots["time_s"].min()) / 3600.0
    zone_events = truth_zone_events(scenario.truth, scenario.site)
    scores = alert_scores(events, scenario.truth, zone_events, scenario.info["kind"], hours)
    return scenario, events, scores


@pytest.fixture(scope="module", params=[0, 1], ids=lambda s: f"seed{s}")
def intrusion(request):
    return run("intrusion", request.param)


def test_every_intruding_drone_is_alerted_before_entry(intrusion):
    scenario, events, scores = intrusion
    drones = [i for i in scores.intrusions if i["kind"] == "drone"]
    assert len(drones) >= 4
    assert scores.missed_intrusions == 0, [i for i in drones if not i["alerted"]]
    # drones at 10-20 m/s starting outside the warning zone
    assert np.median(scores.lead_times_s) > 60.0, scores.lead_times_s


def test_no_false_or_flapping_alerts_in_intrusion(intrusion):
    _, _, scores = intrusion
    assert scores.false_alerts == {}
    assert scores.flaps == 0


def test_skirting_drones_are_not_alerted_and_the_skimmer_does_not_flap():
    scenario, events, scores = run("skirt", 0)
    roles = scenario.info["roles"]
    truth_of = attribute_events(events, scenario.truth)
    alerted = {tid for e, tid in zip(events, truth_of) if e["event"] == "raise"}
    for target_id, role in roles.items():
        if role in ("skirt_warning", "far"):
            assert target_id not in alerted, role
    skimmer = [t for t, r in roles.items() if r == "skimmer"][0]
    assert skimmer in alerted
    skimmer_events = [e for e, tid in zip(events, truth_of) if tid == skimmer]
    assert [e["event"] for e in skimmer_events].count("raise") == 1
    assert not any(e["event"] == "clear" for e in skimmer_events)
    changes = [e["time_s"] for e in skimmer_events if e["event"] in ("escalate", "deescalate")]
    assert all(b - a >= 10.0 for a, b in zip(changes, changes[1:]))
    assert scores.flaps == 0


def test_hovering_drones_keep_one_alert_each():
    scenario, events, scores = run("hover", 0)
    truth_of = attribute_events(events, scenario.truth)
    raises = [tid for e, tid in zip(events, truth_of) if e["event"] == "raise"]
    assert sorted(raises) == sorted(set(raises))            # one raise per drone
    assert len(raises) == 3
    assert scores.flaps == 0


def test_bird_alerts_per_hour_in_a_bird_heavy_scenario():
    scenario, events, scores = run("birdzone", 0)
    drones = [i for i in scores.intrusions if i["kind"] == "drone"]
    assert drones and scores.missed_intrusions == 0
    # measured figure reported in the closing notes; the bound guards regressions
    assert scores.false_bird_alerts / scores.hours <= 30.0, scores.false_alerts
