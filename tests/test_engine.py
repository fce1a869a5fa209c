"""Engine behaviour: determinism, batching, bad input, track quality on straight lines."""
import dataclasses

import numpy as np
import pytest

from ingest.schema import empty_plots
from radarcore.core.engine import Engine


def run(site, plots, batch=None, **kwargs):
    engine = Engine(site, **kwargs)
    if batch is None:
        rows = [engine.process(plots)]
    else:
        rows = [engine.process(plots[i:i + batch]) for i in range(0, plots.size, batch)]
    rows.append(engine.flush())
    return np.concatenate(rows), engine


def test_tracks_follow_straight_line_targets(straight_scenario):
    site, plots, truth = straight_scenario
    rows, engine = run(site, plots)
    summary = engine.summary()
    assert summary["tracks_confirmed"] == 5
    last = rows[rows["time_s"] == rows["time_s"].max()]
    assert last.size == 5
    pos = np.column_stack([last["east_m"], last["north_m"], last["up_m"]])
    err = np.linalg.norm(pos[:, None, :] - truth(last["time_s"][0])[None], axis=2).min(axis=1)
    # single-plot error at these ranges is 30-60 m; fused tracks do much better
    assert np.all(err < 25.0), err


@pytest.mark.parametrize("batch", [1, 7, 333])
def test_batching_does_not_change_output(straight_scenario, batch):
    site, plots, _ = straight_scenario
    whole, _ = run(site, plots)
    pieces, _ = run(site, plots[:1500], batch=batch)
    whole_part, _ = run(site, plots[:1500])
    assert pieces.tobytes() == whole_part.tobytes()
    again, _ = run(site, plots)
    assert again.tobytes() == whole.tobytes()


def bad_plots(site, template):
    """One plot of each kind of bad input, built from a good plot."""
    bad = np.repeat(template[:1], 6)
    bad["range_m"][0] = np.nan                 # non_finite
    bad["radar_id"][1] = 99                    # unknown_radar
    bad["range_m"][2] = -5.0                   # out_of_range
    bad["elevation_deg"][3] = 120.0            # out_of_range
    bad["time_s"][4] = template["time_s"][0] - 500.0   # late
    bad["time_s"][5] = template["time_s"][0] + 1e7     # time_jump
    return bad


def test_bad_plots_are_counted_and_do_not_change_tracks(straight_scenario):
    site, plots, _ = straight_scenario
    clean, _ = run(site, plots, batch=200)
    mixed = []
    for i in range(0, plots.size, 200):
        chunk = plots[i:i + 200]
        mixed.append(chunk)
        if i >= 400:
            mixed.append(bad_plots(site, chunk[-1:]))
    mixed = np.concatenate(mixed)
    dirty, engine = run(site, mixed, batch=200)
    n_bad = (len(range(400, plots.size, 200)))
    rejected = engine.summary()["plots_rejected"]
    assert rejected["non_finite"] == n_bad
    assert rejected["unknown_radar"] == n_bad
    assert rejected["out_of_range"] == 2 * n_bad
    assert rejected["late"] == n_bad
    assert rejected["time_jump"] == n_bad
    assert dirty.tobytes() == clean.tobytes()


def test_late_plots_within_window_are_reordered(straight_scenario):
    site, plots, _ = straight_scenario
    # delay every radar-2 plot by 0.6 s of arrival (inside the 1 s window)
    arrival = plots["time_s"] + np.where(plots["radar_id"] == 2, 0.6, 0.0)
    shuffled = plots[np.argsort(arrival, kind="stable")]
    a, _ = run(site, plots)
    b, engine = run(site, shuffled, batch=50)
    assert engine.summary()["plots_rejected"]["late"] == 0
    assert a.size == b.size
    np.testing.assert_allclose(a["east_m"], b["east_m"], atol=1e-6)


def test_plots_older_than_window_are_late_not_fused(straight_scenario):
    site, plots, _ = straight_scenario
    site = dataclasses.replace(site, tracker=dataclasses.replace(site.tracker, reorder_window_s=0.2))
    arrival = plots["time_s"] + np.where(plots["radar_id"] == 2, 3.0, 0.0)
    shuffled = plots[np.argsort(arrival, kind="stable")]
    _, engine = run(site, shuffled, batch=50)
    summary = engine.summary()
    late = summary["plots_rejected"]["late"]
    assert late > 0.8 * np.count_nonzero(plots["radar_id"] == 2)
    assert summary["plots_processed"] == plots.size - late


def test_sustained_time_jump_is_followed(straight_scenario):
    site, plots, _ = straight_scenario
    later = plots.copy()
    later["time_s"] += 5000.0
    rows, engine = run(site, np.concatenate([plots[:600], later[600:]]), batch=100)
    summary = engine.summary()
    # both radars jumped: they agree on the new time line at once, and the
    # plots held until they agreed are taken, not dropped
    assert summary["clock_switches"] == 2          # the start, then the jump
    assert summary["plots_rejected"]["time_jump"] == 0
    assert summary["plots_processed"] == plots.size
    assert rows["time_s"].max() > 5000.0
    before = rows[rows["time_s"] < 1000.0]
    assert before["time_s"].max() <= plots["time_s"][599] + 1.0


def test_empty_and_wrong_dtype_batches(straight_scenario):
    site, plots, _ = straight_scenario
    engine = Engine(site)
    assert engine.process(empty_plots(0)).size == 0
    with pytest.raises(TypeError):
        engine.process(np.zeros(3))


def test_track_ids_increase_and_are_unique_per_epoch(straight_scenario):
    site, plots, _ = straight_scenario
    rows, _ = run(site, plots)
    for t in np.unique(rows["time_s"]):
        ids = rows["track_id"][rows["time_s"] == t]
        assert np.all(np.diff(ids) > 0)
    first_seen = {}
    for r in rows:
        first_seen.setdefault(int(r["track_id"]), float(r["time_s"]))
    ids = sorted(first_seen)
    assert ids[0] >= 1


def test_warmup_runs_every_step():
    summary = Engine.warmup()
    assert summary["tracks_confirmed"] == 2
    assert summary["plots_associated"] > 0
