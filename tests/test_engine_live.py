"""Live mode (tracker.history_s > 0): plots applied as they arrive, updates per frame,
alerts on track updates, determinism over the frames as received."""
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import tracker as K
from radarcore.core.engine import Engine
from radarcore.service.emulate import plan_bursts
from radarcore.sim.simulate import simulate


def live_site(site, history_s=1.0):
    return dataclasses.replace(site, tracker=dataclasses.replace(site.tracker, history_s=history_s))


def delayed_frames(name, seed, duration_s):
    """A scene as frames in arrival order, radar 2's plots 0.4 s late (a slower link)."""
    scenario = simulate(name, seed=seed, duration_s=duration_s)
    plots = scenario.plots.copy()
    arrival = plots["time_s"] + np.where(plots["radar_id"] == 2, 0.4, 0.0)
    plots = plots[np.argsort(arrival, kind="stable")]
    frames = [plots[b.index] for b in plan_bursts(plots, burst_gap_s=0.05, max_burst=100,
                                                 max_span_s=0.05)]
    return scenario.site, frames


@pytest.fixture(scope="module")
def intrusion():
    """A scene with alerts, as frames."""
    return delayed_frames("intrusion", 300, 40)


def run_live(site, frames, cuts=None, **engine_options):
    """Feed the frames in steps (``cuts``: frame indices where a step ends); the outputs."""
    engine = Engine(site, **engine_options)
    engine.keep_updates = True
    cuts = [len(frames)] if cuts is None else sorted(set(cuts) | {len(frames)})
    rows, updates, events, units = [], [], [], []
    start = 0
    for end in cuts:
        if end <= start:
            continue
        step = frames[start:end]
        rows.append(engine.process(np.concatenate(step), frame_sizes=[f.size for f in step]))
        updates.extend(engine.pop_updates())
        e, u = engine.pop_alerts(with_units=True)
        events.extend(e)
        units.extend(u)
        start = end
    rows.append(engine.flush())
    updates.extend(engine.pop_updates())
    events.extend(engine.pop_alerts())
    return np.concatenate(rows), updates, events, units, engine


@pytest.fixture(scope="module")
def one_by_one(intrusion):
    site, frames = intrusion
    return run_live(live_site(site), frames, cuts=range(1, len(frames)))


def test_live_mode_publishes_an_update_for_every_frame(intrusion, one_by_one):
    site, frames = intrusion
    rows, updates, events, units, engine = one_by_one
    summary = engine.summary()
    assert summary["plots_rejected"]["late"] == 0
    # every frame's plots update or start tracks at once, in the order received
    # (the first frames wait for the clock to start: they come with the frame that starts it)
    units_updated = [u for u, _ in updates]
    assert np.all(np.diff(units_updated) >= 0)
    assert set(units_updated) == set(range(len(frames)))
    for unit, update in updates:
        assert update.size >= 1
        assert np.all(np.diff(update["track_id"]) > 0)
        assert update["time_s"].max() <= frames[unit]["time_s"].max()
    # alerts come from track updates, attributed to the frame that caused them
    assert any(e["event"] == "raise" for e in events)
    assert all(0 <= u < len(frames) for u in units)
    # the periodic epochs are still written
    assert rows.size and np.all(np.diff(rows["time_s"]) >= 0)


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(100, 999))
def test_live_output_depends_on_the_frames_not_on_the_steps(intrusion, one_by_one, seed):
    """Frames gathered into engine steps of any size give the same outputs as one by one."""
    site, frames = intrusion
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.choice(len(frames), size=rng.integers(1, 40), replace=False)).tolist()
    rows, updates, events, _, _ = run_live(live_site(site), frames, cuts)
    rows_1, updates_1, events_1, _, _ = one_by_one
    assert rows.tobytes() == rows_1.tobytes()
    assert events == events_1
    assert len(updates) == len(updates_1)
    assert all(u == u1 and r.tobytes() == r1.tobytes() for (u, r), (u1, r1) in zip(updates, updates_1))


def test_delayed_radar_plots_are_retrodicted():
    """Two radars on the same targets, the second's plots 0.4 s late: plots older
    than their track are re-filtered exactly, none is late or outside the history."""
    site, frames = delayed_frames("crossing", 300, 60)
    summary = run_live(live_site(site), frames)[4].summary()
    assert summary["plots_retrodicted"] > 0
    assert summary["plots_outside_history"] == 0
    assert summary["plots_rejected"]["late"] == 0


def test_plots_older_than_the_history_are_late(intrusion):
    site, frames = intrusion
    plots = np.concatenate(frames)
    old = plots[:5].copy()
    old["time_s"] = plots["time_s"].max() - 0.6      # older than history_s = 0.5 by then
    engine = Engine(live_site(site, history_s=0.5))
    engine.process(plots)
    engine.process(old)
    assert engine.stats.rejected["late"] == 5


def test_updates_are_kept_only_when_asked(intrusion):
    site, frames = intrusion
    engine = Engine(live_site(site))
    engine.process(np.concatenate(frames[:50]), frame_sizes=[f.size for f in frames[:50]])
    assert engine.pop_updates() == []


def test_frame_sizes_must_add_up(intrusion):
    site, frames = intrusion
    engine = Engine(live_site(site))
    with pytest.raises(ValueError, match="frame_sizes"):
        engine.process(frames[0], frame_sizes=[frames[0].size + 1])


@pytest.mark.parametrize("n", [1, 19])
def test_far_future_frame_mid_stream_changes_nothing_live(intrusion, n):
    """Live mode keeps the clock's agreement rule: a far-future frame of one radar
    is counted as a time jump and the tracks, updates and alerts are those of
    the clean run."""
    site, frames = intrusion
    clean = run_live(live_site(site), frames, cuts=range(0, len(frames), 7))
    bad = frames[0][:1].repeat(n)
    bad["time_s"] = 1e9
    third = len(frames) // 3
    attacked = frames[:third] + [bad] + frames[third:]
    # (the same steps: the bad frame rides with its neighbours)
    cuts = [c + (c > third) for c in range(0, len(frames), 7)]
    rows, updates, events, _, engine = run_live(live_site(site), attacked, cuts=cuts)
    summary = engine.summary()
    assert summary["plots_rejected"]["time_jump"] == n
    assert summary["plots_rejected"]["late"] == 0
    assert rows.tobytes() == clean[0].tobytes()
    assert events == clean[2]
    assert [r.tobytes() for _, r in updates] == [r.tobytes() for _, r in clean[1]]


def whole_picture_decisions(patch):
    """Make every alert decision one on the whole picture (:meth:`AlertManager.update`), the
    picture kept here from what the engine says changed: the reference of the incremental one."""
    from radarcore.core.alerts import AlertManager

    original = AlertManager.update

    def put(picture, rows, P, class_p):
        for r in range(rows.size):
            if rows["status"][r] in (2, 3):
                picture[int(rows["track_id"][r])] = (rows[r:r + 1], P[r:r + 1], class_p[r:r + 1])

    def whole(self, t, rows, P, class_p, geometry=None):
        self.test_picture = {}
        put(self.test_picture, rows, P, class_p)
        return original(self, t, rows, P, class_p)

    def changed(self, t, rows, P, class_p, geometry=None, gone=()):
        for track_id in np.asarray(gone).tolist():
            self.test_picture.pop(track_id, None)
        put(self.test_picture, rows, P, class_p)
        shown = [self.test_picture[k] for k in sorted(self.test_picture)]
        return original(self, t, *(np.concatenate([s[j] for s in shown]) for j in range(3)))

    patch.setattr(AlertManager, "update", whole)
    patch.setattr(AlertManager, "update_tracks", changed)


@pytest.mark.parametrize("interval", [0.0, 1.0])
def test_deciding_on_the_changed_tracks_gives_the_events_of_the_whole_picture(intrusion, one_by_one, interval):
    """Each decision evaluates only the tracks that changed or came due: the events
    are those of deciding on the whole picture every time."""
    site, frames = intrusion
    site = live_site(site)
    site = dataclasses.replace(site, tracker=dataclasses.replace(site.tracker, alert_interval_s=interval))
    incremental = one_by_one if interval == 0.0 else run_live(site, frames, cuts=range(1, len(frames)))
    with pytest.MonkeyPatch.context() as patch:
        whole_picture_decisions(patch)
        _, _, events, units, _ = run_live(site, frames, cuts=range(1, len(frames)))
    assert any(e["event"] == "raise" for e in events)
    assert events == incremental[2] and units == incremental[3]


@pytest.mark.parametrize("history_s", [1.0, 0.0])
def test_carried_gating_state_changes_nothing(intrusion, monkeypatch, history_s):
    """run_plan keeps the live list, quick radii and track grid from one call to the next
    (one call per frame in live mode): the outputs equal those of a fresh state for every
    call, in live and in reorder mode, across the table's growth (a 16-slot table)."""
    site, frames = intrusion
    site = live_site(site, history_s)
    cuts = range(0, len(frames), 5)
    carried = run_live(site, frames, cuts, initial_capacity=16)
    assert carried[4].tracks.capacity > 16
    made = []

    def fresh(engine):
        made.append(1)
        return K.plan_carry_new(engine.tracks.capacity)

    with monkeypatch.context() as patch:
        patch.setattr(Engine, "_plan_carry", fresh)
        rows, updates, events, units, _ = run_live(site, frames, cuts, initial_capacity=16)
    assert len(made) > 100          # (one per call: per frame live, per step in reorder mode)
    assert rows.tobytes() == carried[0].tobytes()
    assert events == carried[2] and units == carried[3]
    assert [(u, r.tobytes()) for u, r in updates] == [(u, r.tobytes()) for u, r in carried[1]]


def test_on_unit_hands_over_each_frames_update_as_it_is_made(intrusion, one_by_one):
    """``Engine.on_unit`` is called after each frame's processing, inside ``process``:
    what it pops is that frame's update and alert events, and all of it together is
    what popping after each call gives."""
    site, frames = intrusion
    _, updates_1, events_1, units_1, _ = one_by_one
    engine = Engine(live_site(site))
    engine.keep_updates = True
    calls = []
    engine.on_unit = lambda: calls.append((engine.next_unit, engine.pop_updates(),
                                           engine.pop_alerts(with_units=True)))
    for start in range(0, len(frames), 20):
        step = frames[start:start + 20]
        engine.process(np.concatenate(step), frame_sizes=[f.size for f in step])
        assert engine.pop_updates() == [] and engine.pop_alerts() == []
    engine.flush()
    assert len(calls) >= len(frames) - 2
    for next_unit, updates, _ in calls:
        # (one frame's update at a time, of a frame of the current call)
        assert len(updates) <= 1 and all(next_unit - 20 <= u < next_unit for u, _ in updates)
    updates = [update for _, call_updates, _ in calls for update in call_updates]
    assert [(u, r.tobytes()) for u, r in updates] == [(u, r.tobytes()) for u, r in updates_1]
    assert [e for _, _, (events, _) in calls for e in events] == events_1
    assert [u for _, _, (_, units) in calls for u in units] == units_1
