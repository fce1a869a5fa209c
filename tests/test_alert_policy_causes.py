"""benchmarks/alert_policy.py: why an alert/critical zone entry counts as missed."""
import os
import sys

import numpy as np

# appended, not inserted first: benchmarks/asterix.py must not hide the asterix package
# that tests/test_asterix.py imports
sys.path.append(os.path.join(os.path.dirname(__file__), "..", "benchmarks"))

from alert_policy import missed_entry_cause  # noqa: E402
from ingest.schema import TRACK_ROW_DTYPE, TRUTH_DTYPE  # noqa: E402


def two_drones():
    """Drones 1 and 2, 40 m apart, flying north at 10 m/s for 100 s."""
    t = np.arange(0.0, 101.0)
    truth = np.zeros(2 * t.size, TRUTH_DTYPE)
    for k, (target, east) in enumerate(((1, 0.0), (2, 40.0))):
        part = truth[k * t.size:(k + 1) * t.size]
        part["time_s"], part["target_id"], part["kind"] = t, target, "drone"
        part["east_m"], part["north_m"], part["v_north_mps"] = east, 10.0 * t, 10.0
    return truth


def epoch(t, tracks, class_p):
    """One epoch: ``tracks`` = [(track_id, east_m)] at the drones' northing."""
    rows = np.zeros(len(tracks), TRACK_ROW_DTYPE)
    rows["time_s"] = t
    rows["track_id"] = [i for i, _ in tracks]
    rows["east_m"] = [e for _, e in tracks]
    rows["north_m"] = 10.0 * t
    return (t, rows, np.zeros((len(tracks), 6, 6)), np.array(class_p, float))


def event(kind, t, alert_id, track_id):
    return {"event": kind, "time_s": t, "alert_id": alert_id, "track_id": track_id}


def test_missed_entry_causes():
    truth = two_drones()
    entry = {"target_id": 1, "entry_time_s": 50.5}
    epochs = [epoch(49.0, [(10, 2.0), (11, 38.0)], [[0.1, 0.9, 0, 0], [0.9, 0.1, 0, 0]]),
              epoch(50.0, [(10, 1.0), (11, 39.0)], [[0.1, 0.9, 0, 0], [0.9, 0.1, 0, 0]]),
              epoch(51.0, [(10, 1.0), (11, 39.0)], [[0.9, 0.1, 0, 0], [0.9, 0.1, 0, 0]])]
    # track 10 follows drone 1; its alert was raised (anywhere) before the entry and is open
    raised = [event("raise", 5.0, 7, 10), event("escalate", 30.0, 7, 10)]
    assert (missed_entry_cause(entry, raised, epochs, truth, 0.6)
            == "alert on its track, raised nearer another target")
    # cleared before the entry: the class of the track on it at the last epoch before it
    cleared = raised + [event("clear", 40.0, 7, 10)]
    assert missed_entry_cause(entry, cleared, epochs, truth, 0.6) == "track on it called bird"
    assert missed_entry_cause(entry, cleared, epochs, truth, 0.95) == "track on it called unknown"
    # an alert that moved to another track, or one raised after the entry, does not count
    moved = raised + [event("escalate", 45.0, 7, 11)]
    assert missed_entry_cause(entry, moved, epochs, truth, 0.6) == "track on it called bird"
    late = [event("raise", 50.8, 7, 10)]
    assert missed_entry_cause(entry, late, epochs, truth, 0.6) == "track on it called bird"
    # no track within 150 m of the drone, or no epoch before the entry
    far = [epoch(50.0, [(11, 400.0)], [[0.9, 0.1, 0, 0]])]
    assert missed_entry_cause(entry, raised, far, truth, 0.6) == "no track on it"
    assert missed_entry_cause(entry, raised, epochs[2:], truth, 0.6) == "no track on it"
