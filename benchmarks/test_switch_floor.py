"""The oracle tracks of benchmarks/switch_floor.py: exact without error, switching with it."""
import numpy as np

from benchmarks.switch_floor import oracle_rows
from radarcore.analysis.evaluate import site_coverage
from radarcore.analysis.scores import score
from radarcore.sim.simulate import simulate


def _scene():
    scenario = simulate("birdrich", seed=103, duration_s=40.0, n_targets=40, clutter_per_scan=0.0,
                        behaviours=["agile_flock"])
    return scenario, site_coverage(scenario.site)


def test_oracle_tracks_without_error_score_zero_and_never_switch():
    scenario, coverage = _scene()
    rows = oracle_rows(scenario.truth, 0.0, 0.0, 3.0, np.random.default_rng(0), coverage)
    s = score(scenario.truth, rows, coverage=coverage)
    assert s.n_epochs > 30 and s.truth_targets > 10
    assert s.gospa_mean == 0.0 and s.id_switches == 0 and s.false_tracks == 0


def test_oracle_tracks_in_a_tight_flock_trade_places_with_error_alone():
    scenario, coverage = _scene()
    rows = oracle_rows(scenario.truth, 8.9, 12.0, 3.0, np.random.default_rng(0), coverage)
    s = score(scenario.truth, rows, coverage=coverage)
    assert s.id_switches > 20                # birds 2-8 m apart, tracks 9 m off: they swap
    err = s.pairs["error_xyz_m"]              # the error process has the RMS asked for
    assert 7.5 < np.sqrt(np.mean(err[:, 0] ** 2 + err[:, 1] ** 2)) < 10.5
    assert 10.0 < np.sqrt(np.mean(err[:, 2] ** 2)) < 14.0
