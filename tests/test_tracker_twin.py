"""The compiled plan runner (kernels/tracker.py) against its plain-Python twin.

Random small scenarios (a few targets, one or two radars, clutter, a few
seconds, plots split into random batches and partly delayed) run through the
Engine; every call the engine makes to ``kernels.tracker.run_plan`` is
replayed step for step by ``naive_tracker.NaiveTracker``, and after each
call the two must agree on the live track ids, statuses, hit counts, times,
states, covariances, model probabilities, features and scores, on the
counters, and on every output row (state, covariance, sigma, class
probabilities).
"""
import dataclasses
import inspect
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.schema import empty_plots
from kernels import tracker as K
from kernels.oosm import HIST_FIELDS
import naive_tracker
from naive_tracker import NaiveTracker, Plot, Radar
from radarcore.core.config import Origin, RadarConfig, SiteConfig, TrackerConfig
from radarcore.core.engine import Engine

RTOL = 1e-9
T_IMM = HIST_FIELDS.index("t_imm")
# RADARCORE_TWIN_EXAMPLES=600 for a longer search than the suite's
TWIN = settings(max_examples=int(os.environ.get("RADARCORE_TWIN_EXAMPLES", "30")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ORIGIN = Origin(31.30, 120.62, 0.0)
RADAR_SITES = ((31.305, 120.615, 25.0), (31.290, 120.632, 40.0))


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------

def assert_close(actual, expected, what, rtol=RTOL):
    """Agreement to ``rtol`` relative to the largest magnitude in ``expected``."""
    expected = np.asarray(expected, dtype=float)
    scale = max(float(np.max(np.abs(expected))) if expected.size else 0.0, 1e-300)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def assert_state_close(actual, expected, what):
    """Positions and velocities each to ``RTOL`` of their own scale."""
    assert_close(actual[..., :3], expected[..., :3], what + " position")
    assert_close(actual[..., 3:], expected[..., 3:], what + " velocity")


def compare_tables(a, twin):
    """The compiled table (run_plan's arguments ``a``) against the twin's tracks."""
    status = a["status"]
    live = np.flatnonzero(status != K.FREE)
    ids = a["track_id"][live]
    assert sorted(ids.tolist()) == sorted(twin.tracks), "live track ids differ"
    for i in live:
        track = twin.tracks[int(a["track_id"][i])]
        what = f"track {track.track_id}"
        assert status[i] == track.status, what + " status"
        assert a["hits"][i] == track.hits, what + " hits"
        assert a["n_close"][i] == track.n_close, what + " n_close"
        assert a["t_state"][i] == track.t_state, what + " t_state"
        assert a["t_update"][i] == track.t_update, what + " t_update"
        assert a["t_create"][i] == track.t_create, what + " t_create"
        assert_state_close(a["x"][i], track.x, what + " x")
        assert_close(a["P"][i], track.P, what + " P")
        assert a["hist"][T_IMM][i] == track.t_imm, what + " t_imm"
        if track.t_state > track.t_imm:
            # on the IMM (on the CV filter, the per-model state holds nothing)
            assert_state_close(a["xm"][i], np.array(track.xm), what + " xm")
            for m in range(len(track.Pm)):
                assert_close(a["Pm"][i, m], track.Pm[m], what + f" Pm[{m}]")
            assert_close(np.exp(a["log_mu"][i]), track.mu, what + " mu")
        assert a["score"][i] == pytest.approx(track.score, rel=RTOL, abs=RTOL), what + " score"
        np.testing.assert_allclose(a["features"][i], track.features(), rtol=RTOL, atol=RTOL,
                                   err_msg=what + " features")
    c = a["counters"]
    capacity = status.shape[0]
    assert capacity - c[K.C_N_FREE] == len(twin.tracks)
    assert {name: int(c[index]) for name, index in COUNTERS.items()} == twin.counters


COUNTERS = {"next_id": K.C_NEXT_ID, "associated": K.C_ASSOCIATED, "initiated": K.C_INITIATED,
            "confirmed": K.C_CONFIRMED, "deleted": K.C_DELETED, "gated_pairs": K.C_GATED_PAIRS,
            "plots": K.C_PLOTS, "retrodicted": K.C_RETRODICTED,
            "outside_history": K.C_OUTSIDE_HISTORY, "merged": K.C_MERGED}


def compare_rows(out, rows):
    t, track_id, status, x, sigma, P, class_p = out
    assert len(rows) == t.shape[0], "number of output rows"
    # both write each epoch's rows in an order of their own: compare by (t, id)
    order = np.lexsort((track_id, t))
    rows = sorted(rows, key=lambda row: (row.t, row.track_id))
    for k, row in zip(order, rows):
        what = f"row t={row.t} id={row.track_id}"
        assert (t[k], track_id[k], status[k]) == (row.t, row.track_id, row.status), what
        assert_state_close(x[k], row.x, what + " x")
        assert_close(P[k], row.P, what + " P")
        assert sigma[k] == pytest.approx(row.sigma_pos_m, rel=RTOL), what + " sigma"
        np.testing.assert_allclose(class_p[k], row.class_p, rtol=RTOL, atol=RTOL,
                                   err_msg=what + " class")


class TwinRecorder:
    """Stands in for ``kernels.tracker.run_plan``: runs the compiled plan, then
    the twin over the same steps, and compares them after every call."""

    def __init__(self, run_plan):
        self.run_plan = run_plan
        self.signature = inspect.signature(run_plan)
        self.twin = None
        self.calls = 0
        self.rows = 0
        self.statuses = set()

    def __call__(self, *args, **kwargs):
        a = self.signature.bind(*args, **kwargs).arguments
        if self.twin is None:
            self.twin = NaiveTracker(a["params"], a["omega"], a["q_h"], a["log_Pi"],
                                     a["classify_params"], next_id=int(a["counters"][K.C_NEXT_ID]),
                                     history_plots=a["hist"][HIST_FIELDS.index("h_t")].shape[1])
        next_step, out = self.run_plan(*args, **kwargs)
        first = int(a["first_step"])
        steps = [(int(a["step_kind"][s]), int(a["step_lo"][s]), int(a["step_hi"][s]),
                  float(a["step_t"][s])) for s in range(first, int(next_step))]
        plots = [Plot(float(a["t_p"][j]), a["z_p"][j].copy(), a["R_p"][j].copy(),
                      float(a["rv_p"][j]), float(a["snr_p"][j]), float(a["range_p"][j]))
                 for j in range(a["t_p"].shape[0])]
        radars = [Radar(a["radar_pos"][r].copy(), float(a["sigma_rv"][r]),
                        float(a["log_lambda"][r]), float(a["p_detection"][r]))
                  for r in range(a["radar_pos"].shape[0])]
        rows = self.twin.run(steps, plots, a["radar_p"].tolist(), radars)
        compare_rows(out, rows)
        compare_tables(a, self.twin)
        self.calls += 1
        self.rows += len(rows)
        self.statuses.update(int(s) for s in a["status"][a["status"] != K.FREE])
        self.statuses.update(int(s) for s in out[2])
        return next_step, out


# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------

@st.composite
def scenarios(draw):
    n_radars = draw(st.integers(1, 2))
    doppler = [draw(st.booleans()) for _ in range(n_radars)]
    radars = tuple(RadarConfig(
        id=r + 1, lat_deg=RADAR_SITES[r][0], lon_deg=RADAR_SITES[r][1], alt_m=RADAR_SITES[r][2],
        sigma_range_m=draw(st.sampled_from([5.0, 15.0])), sigma_azimuth_deg=0.4,
        sigma_elevation_deg=0.8, scan_period_s=draw(st.sampled_from([0.5, 1.0])),
        max_range_m=8000.0, sigma_radial_velocity_mps=0.7 if doppler[r] else None,
        p_detection=draw(st.sampled_from([None, 0.8, 0.95])),
        false_alarm_density=draw(st.sampled_from([None, 1e-8])))
        for r in range(n_radars))
    coast_after = draw(st.sampled_from([1.0, 2.5]))
    output_period = draw(st.sampled_from([0.5, 1.0, 2.0]))
    tracker = TrackerConfig(
        motion_model=draw(st.sampled_from(["imm", "cv"])),
        tentative_filter=draw(st.sampled_from(["cv", "imm"])),
        gate_probability=draw(st.sampled_from([0.99, 0.9995])),
        output_period_s=output_period,
        frame_s=min(output_period, draw(st.sampled_from([0.05, 0.1, 0.5]))),
        confirm_hits=draw(st.integers(1, 3)),
        confirm_score=draw(st.sampled_from([0.0, 5.0, 15.0])),
        tentative_timeout_s=draw(st.sampled_from([1.0, 3.0])),
        coast_after_s=coast_after,
        delete_after_s=coast_after + draw(st.sampled_from([1.0, 4.0])),
        max_sigma_pos_m=draw(st.sampled_from([60.0, 1000.0])),
        reorder_window_s=draw(st.sampled_from([0.3, 1.0])),
        output_tentative=draw(st.booleans()),
        initiate_beside_tracks=draw(st.booleans()),
        vertical_speed_tau_s=draw(st.sampled_from([0.0, 20.0])),
        merge_after_epochs=draw(st.sampled_from([0, 1, 2])),
        merge_gate_d2=draw(st.sampled_from([2.0, 20.0])),
        merge_radius_m=draw(st.sampled_from([30.0, 300.0])))
    site = SiteConfig(origin=ORIGIN, radars=radars, tracker=tracker)
    return dict(
        site=site,
        seed=draw(st.integers(0, 2 ** 32 - 1)),
        n_targets=draw(st.integers(1, 4)),
        duration_s=draw(st.sampled_from([3.0, 5.0, 8.0])),
        clutter_per_scan=draw(st.sampled_from([0.0, 0.5, 2.0])),
        p_snr=draw(st.sampled_from([0.0, 0.7, 1.0])),
        delay_s=draw(st.sampled_from([0.0, 0.4, 1.5])),
        n_batches=draw(st.integers(1, 6)),
        capacity=draw(st.sampled_from([1, 4, 64])),
    )


def make_plots(engine, scenario):
    """Target and clutter plots of every radar, in arrival order.

    Targets fly straight or turn at constant altitude, some vanish half-way;
    each radar sees a
    target once a scan with its detection probability, at the time its beam
    passes the target's azimuth, with range/azimuth/elevation noise (and a
    radial velocity when it measures one).  Plots of the second radar arrive
    ``delay_s`` late (a slower link).
    """
    rng = np.random.default_rng(scenario["seed"])
    site = scenario["site"]
    n = scenario["n_targets"]
    start = np.column_stack([rng.uniform(-2500, 2500, (n, 2)), rng.uniform(50, 600, n)])
    speed = rng.uniform(3.0, 40.0, n)
    heading = rng.uniform(0.0, 2 * np.pi, n)
    turn = rng.choice([0.0, 0.1, -0.2], n)                  # rad/s
    # some targets vanish (land, leave the beam) half-way: their tracks coast and go
    vanish = np.where(rng.random(n) < 0.4, rng.uniform(0.3, 0.7, n) * scenario["duration_s"],
                      np.inf)
    # a pair of targets flying together, to give the flocking cue something
    if n >= 2 and rng.random() < 0.5:
        start[1] = start[0] + rng.normal(0.0, 10.0, 3)
        speed[1], heading[1], turn[1] = speed[0], heading[0], turn[0]

    def state(k, t):
        h = heading[k] + turn[k] * t
        if turn[k] == 0.0:
            east = start[k, 0] + speed[k] * t * math.sin(h)
            north = start[k, 1] + speed[k] * t * math.cos(h)
        else:  # heading clockwise from north, turning at turn[k]
            east = start[k, 0] + speed[k] / turn[k] * (math.cos(heading[k]) - math.cos(h))
            north = start[k, 1] + speed[k] / turn[k] * (math.sin(h) - math.sin(heading[k]))
        return (np.array([east, north, start[k, 2]]),
                np.array([speed[k] * math.sin(h), speed[k] * math.cos(h), 0.0]))

    rows = []
    duration = scenario["duration_s"]
    for r, radar in enumerate(site.radars):
        M = engine.radar_M[r]
        b = engine.radar_pos[r]
        pd = radar.p_detection if radar.p_detection is not None else site.tracker.p_detection
        delay = scenario["delay_s"] if r == 1 else 0.0
        t0 = rng.uniform(0.0, radar.scan_period_s)
        scan = 0
        while t0 + scan * radar.scan_period_s < duration:
            t_scan = t0 + scan * radar.scan_period_s
            for k in range(n):
                p, _ = state(k, t_scan)
                local = M.T @ (p - b)
                azimuth = math.degrees(math.atan2(local[0], local[1])) % 360.0
                t = t_scan + azimuth / 360.0 * radar.scan_period_s
                if t >= min(duration, vanish[k]) or rng.random() > pd:
                    continue
                p, v = state(k, t)
                local = M.T @ (p - b)
                range_m = float(np.linalg.norm(local))
                rv = float(local @ (M.T @ v) / range_m)
                rows.append((t + delay, t, radar.id,
                             range_m + rng.normal(0.0, radar.sigma_range_m),
                             (math.degrees(math.atan2(local[0], local[1]))
                              + rng.normal(0.0, radar.sigma_azimuth_deg)) % 360.0,
                             math.degrees(math.asin(local[2] / range_m))
                             + rng.normal(0.0, radar.sigma_elevation_deg),
                             rv + rng.normal(0.0, 0.7) if radar.sigma_radial_velocity_mps else np.nan))
            for _ in range(rng.poisson(scenario["clutter_per_scan"])):
                azimuth = rng.uniform(0.0, 360.0)
                t = t_scan + azimuth / 360.0 * radar.scan_period_s
                if t < duration:
                    rows.append((t + delay, t, radar.id, rng.uniform(300.0, 5000.0),
                                 azimuth, rng.uniform(0.5, 8.0),
                                 rng.normal(0.0, 5.0) if radar.sigma_radial_velocity_mps
                                 else np.nan))
            scan += 1
    # arrival order: each radar's plots in time order, the delayed radar's later
    rows.sort(key=lambda row: (row[0], row[2], row[1]))
    plots = empty_plots(len(rows))
    for name, column in (("time_s", 1), ("radar_id", 2), ("range_m", 3), ("azimuth_deg", 4),
                         ("elevation_deg", 5), ("radial_velocity_mps", 6)):
        plots[name] = [row[column] for row in rows]
    with_snr = rng.random(len(rows)) < scenario["p_snr"]
    plots["snr_db"] = np.where(with_snr, rng.normal(15.0, 5.0, len(rows)), np.nan)
    return plots


def run_scenario(scenario):
    """Run the engine with the twin watching every run_plan call; return the recorder."""
    recorder = TwinRecorder(K.run_plan)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(K, "run_plan", recorder)
        engine = Engine(scenario["site"], initial_capacity=scenario["capacity"])
        plots = make_plots(engine, scenario)
        rng = np.random.default_rng(scenario["seed"] + 1)
        cuts = np.sort(rng.integers(0, plots.size + 1, scenario["n_batches"] - 1))
        for batch in np.split(plots, cuts):
            engine.process(batch)
        engine.flush()
    return recorder, engine


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

@TWIN
@given(scenario=scenarios())
def test_run_plan_matches_naive_twin(scenario):
    recorder, engine = run_scenario(scenario)
    if engine.stats.plots_accepted:
        assert recorder.calls >= 1


def lifecycle_scenario(seed):
    site = SiteConfig(
        origin=ORIGIN,
        radars=tuple(RadarConfig(id=r + 1, lat_deg=RADAR_SITES[r][0], lon_deg=RADAR_SITES[r][1],
                                 alt_m=RADAR_SITES[r][2], sigma_range_m=7.5,
                                 sigma_azimuth_deg=0.4, sigma_elevation_deg=0.8,
                                 scan_period_s=1.0, max_range_m=8000.0,
                                 sigma_radial_velocity_mps=0.7 if r == 0 else None)
                     for r in range(2)),
        tracker=TrackerConfig(confirm_hits=2, confirm_score=5.0, tentative_timeout_s=1.0,
                              coast_after_s=1.0, delete_after_s=2.0, output_tentative=True))
    return dict(site=site, seed=seed, n_targets=4, duration_s=12.0, clutter_per_scan=2.0,
                p_snr=0.7, delay_s=0.4, n_batches=5, capacity=2)


@pytest.mark.parametrize("seed", [3, 11])
def test_twin_scenarios_exercise_the_whole_lifecycle(seed):
    """A longer scenario agrees too, and it does confirm, coast, delete and
    grow the table, so that the comparison above covers those rules."""
    scenario = lifecycle_scenario(seed)
    recorder, engine = run_scenario(scenario)
    summary = engine.summary()
    assert summary["tracks_confirmed"] > 0
    assert summary["tracks_deleted"] > 0
    assert summary["plots_associated"] > 0
    assert {K.TENTATIVE, K.CONFIRMED, K.COASTING} <= recorder.statuses
    assert engine.tracks.capacity > 2               # the plan resumed after growing the table
    assert recorder.rows > 0


def test_twin_notices_a_changed_rule():
    """The comparison can fail: a twin with another confirmation rule disagrees."""
    scenario = lifecycle_scenario(3)
    original = NaiveTracker.update

    def update_confirming_late(self, track, plot, radar, cost):
        track.hits -= 1                             # one hit fewer than the kernel counts
        original(self, track, plot, radar, cost)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(NaiveTracker, "update", update_confirming_late)
        with pytest.raises(AssertionError):
            run_scenario(scenario)


def pair_scenario(seed, initiate_beside_tracks=True):
    """Two targets, no clutter; for some seeds make_plots flies them 10 m apart."""
    scenario = lifecycle_scenario(seed)
    site = scenario["site"]
    scenario["site"] = SiteConfig(
        origin=site.origin, radars=site.radars,
        tracker=TrackerConfig(confirm_hits=2, confirm_score=5.0, tentative_timeout_s=1.0,
                              coast_after_s=1.0, delete_after_s=2.0, output_tentative=True,
                              initiate_beside_tracks=initiate_beside_tracks))
    scenario.update(n_targets=2, clutter_per_scan=0.0)
    return scenario


@pytest.mark.parametrize("seed", [18, 31])
def test_twin_notices_the_beside_rule(seed):
    """Plots beside a track that took another plot start tracks, and the
    comparison sees it: a twin without the rule disagrees with the kernel."""
    on, off = run_scenario(pair_scenario(seed))[1], run_scenario(pair_scenario(seed, False))[1]
    assert on.summary()["tracks_initiated"] > off.summary()["tracks_initiated"]
    assert_a_twin_with_other_settings_disagrees(pair_scenario(seed), initiate_beside=False)


def assert_a_twin_with_other_settings_disagrees(scenario, **changes):
    """A twin whose settings (``naive_tracker.Settings``) differ by ``changes`` from the
    kernel's disagrees with it on ``scenario``: the comparison checks those rules."""
    original = naive_tracker.Settings.from_params

    def changed(params):
        return dataclasses.replace(original(params), **changes)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(naive_tracker.Settings, "from_params", staticmethod(changed))
        with pytest.raises(AssertionError):
            run_scenario(scenario)


def merge_scenario(seed, merge_after_epochs=1):
    """The pair scenario with tracks started beside each other and merged when close.

    The radars detect with probability 0.5, so that at some epochs no scan saw
    both targets (a scan that does restarts the closeness run: two objects)."""
    scenario = pair_scenario(seed)
    site = scenario["site"]
    scenario["site"] = dataclasses.replace(
        site, radars=tuple(dataclasses.replace(r, p_detection=0.5) for r in site.radars),
        tracker=dataclasses.replace(site.tracker, merge_after_epochs=merge_after_epochs,
                                    merge_gate_d2=50.0, merge_radius_m=100.0))
    return scenario


@pytest.mark.parametrize("seed", [18, 31])
def test_twin_notices_the_merge_rule(seed):
    """Two targets 10 m apart, seen half the time: with merging, close tracks are dropped, and the
    comparison sees it: a twin that never merges disagrees with the kernel."""
    on = run_scenario(merge_scenario(seed))[1].summary()
    off = run_scenario(merge_scenario(seed, 0))[1].summary()
    assert on["tracks_merged"] > 0 and off["tracks_merged"] == 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(NaiveTracker, "merge", lambda self, t: None)
        with pytest.raises(AssertionError):
            run_scenario(merge_scenario(seed))


def test_twin_agrees_in_live_mode():
    """Live mode (plots applied as they arrive, radar 2 late by 0.4 s): the
    compiled plan agrees with the twin, out-of-sequence re-filtering included."""
    scenario = lifecycle_scenario(3)
    site = scenario["site"]
    scenario["site"] = dataclasses.replace(site, tracker=dataclasses.replace(site.tracker, history_s=1.0))
    recorder, engine = run_scenario(scenario)
    summary = engine.summary()
    assert summary["plots_retrodicted"] > 0
    assert summary["tracks_confirmed"] > 0
    assert recorder.calls >= 5                      # one call per unit (here: per batch)


def test_twin_notices_the_retrodicted_gate():
    """Live mode, radar 2 late: a twin that gates late plots against the
    newer state (``dt`` clamped to 0, as before retrodicted gating)
    disagrees with the kernel, so the comparison above checks the gate."""
    scenario = lifecycle_scenario(3)
    site = scenario["site"]
    scenario["site"] = dataclasses.replace(site, tracker=dataclasses.replace(site.tracker, history_s=1.0))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(NaiveTracker, "gating_states", lambda self, track: [])
        with pytest.raises(AssertionError):
            run_scenario(scenario)


@pytest.mark.parametrize("history_s", [0.0, 1.0])
def test_twin_notices_the_tentative_filter(history_s):
    """Tentative tracks on the CV filter, confirmed ones on the IMM (the default): the
    kernel agrees with the twin in reorder and in live mode (re-filtering across the
    switch included), and a twin that keeps every track on the IMM disagrees, so the
    comparison checks which filter each plot goes through."""
    scenario = lifecycle_scenario(3)
    site = scenario["site"]
    scenario["site"] = dataclasses.replace(site, tracker=dataclasses.replace(
        site.tracker, history_s=history_s))
    assert scenario["site"].tracker.tentative_filter == "cv"
    summary = run_scenario(scenario)[1].summary()
    assert summary["tracks_confirmed"] > 0
    assert (summary["plots_retrodicted"] > 0) == (history_s > 0)
    assert_a_twin_with_other_settings_disagrees(scenario, tentative_cv=False)
