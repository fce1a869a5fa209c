"""Track quality on simulated scenarios with fixed seeds, scored against truth."""
import numpy as np
import pytest

from kernels.geodesy import polar_to_enu
from radarcore.core.engine import Engine
from radarcore.analysis.scores import score
from radarcore.sim.simulate import simulate


def run_scenario(name, seed):
    scenario = simulate(name, seed=seed)
    engine = Engine(scenario.site)
    rows = np.concatenate([engine.process(scenario.plots), engine.flush()])
    scores = score(scenario.truth, rows, coverage=(engine.radar_pos, engine.radar_max_range))
    return scenario, engine, rows, scores


def raw_plot_rms_error(scenario, engine):
    """RMS 3-D error of single converted target plots against truth at plot time."""
    target_of_plot = scenario.info["plot_target_id"]
    plots = scenario.plots[target_of_plot > 0]
    target_of_plot = target_of_plot[target_of_plot > 0]
    radar_index = np.searchsorted(engine.radar_ids, plots["radar_id"]).astype(np.int64)
    z = np.empty((plots.size, 3))
    R = np.empty((plots.size, 3, 3))
    polar_to_enu(plots["range_m"].copy(), plots["azimuth_deg"].copy(), plots["elevation_deg"].copy(),
                 radar_index, engine.radar_M, engine.radar_pos, engine.radar_sigma, z, R)
    squared = []
    for target_id in np.unique(target_of_plot):
        sel = target_of_plot == target_id
        truth = scenario.truth[scenario.truth["target_id"] == target_id]
        xyz = np.column_stack([np.interp(plots["time_s"][sel], truth["time_s"], truth[k])
                               for k in ("east_m", "north_m", "up_m")])
        squared.append(((z[sel] - xyz) ** 2).sum(axis=1))
    return float(np.sqrt(np.concatenate(squared).mean()))


def confirmation_delays(scenario, scores):
    """Seconds from each target's first plot to the first epoch a track held it."""
    target_of_plot = scenario.info["plot_target_id"]
    delays = {}
    for target_id in np.unique(target_of_plot[target_of_plot > 0]):
        first_plot = scenario.plots["time_s"][target_of_plot == target_id].min()
        first_track = scores.first_assigned_s.get(int(target_id), np.inf)
        delays[int(target_id)] = first_track - first_plot
    return delays


CASES = [(name, seed) for name in ("sparse", "crossing", "swarm") for seed in (1, 2)]


@pytest.fixture(scope="module", params=CASES, ids=[f"{n}-{s}" for n, s in CASES])
def scored(request):
    return run_scenario(*request.param)


def test_fused_tracks_beat_single_plots(scored):
    scenario, engine, rows, scores = scored
    raw = raw_plot_rms_error(scenario, engine)
    assert scores.position_rmse_m < 0.35 * raw, (scores.position_rmse_m, raw)


def test_every_target_confirmed_within_a_few_scans(scored):
    scenario, _, _, scores = scored
    scan_s = max(r.scan_period_s for r in scenario.site.radars)
    delays = confirmation_delays(scenario, scores)
    assert len(delays) == scores.truth_targets
    # the first epoch after the third plot: at most about three scans
    assert max(delays.values()) <= 3 * scan_s + 1.0, delays


def test_few_false_tracks_and_no_lasting_swaps(scored):
    scenario, _, _, scores = scored
    assert scores.false_tracks <= 1
    if scenario.info["scenario"] == "crossing":
        assert scores.track_swaps == 0
        assert scores.truth_track_changes == 0


def test_gospa_per_target_is_small(scored):
    _, _, _, scores = scored
    # GOSPA (c = 50 m, p = 2) grows with the square root of the number of
    # targets; per target it stays well below the cut-off
    assert scores.gospa_mean / np.sqrt(scores.truth_targets) < 20.0


def test_bird_heavy_clutter_gives_few_false_tracks():
    scenario, engine, rows, scores = run_scenario("birds", 1)
    hours = (scenario.plots["time_s"].max() - scenario.plots["time_s"].min()) / 3600.0
    clutter_plots = int(np.count_nonzero(scenario.info["plot_target_id"] == 0))
    assert clutter_plots > 20_000
    # tracks never within 50 m of any truth (birds count as truth here)
    assert scores.false_tracks / hours <= 120, scores.false_tracks
    assert scores.targets_confirmed >= 0.9 * scores.truth_targets
