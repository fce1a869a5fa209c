"""The Stone Soup peer's lazy driver against Stone Soup's own MultiTargetTracker loop.

``peer_stonesoup.StoneSoupRun`` drives Stone Soup's components itself by default
(only the tracks with a detection near them go through the hypothesiser and the
assignment; the others keep their last state and are predicted when needed).
Predicting a track once over several steps instead of once per step is the same
arithmetic up to rounding, so on a small bird-rich scene both drivers must write
the same tracks (same epochs, same number of tracks, positions within
millimetres) and score the same.
"""
import numpy as np
import pytest

pytest.importorskip("stonesoup")

from benchmarks import peer_stonesoup as ps  # noqa: E402
from radarcore.core.engine import Engine  # noqa: E402
from radarcore.sim.simulate import simulate  # noqa: E402


def test_lazy_driver_writes_what_the_tracker_loop_writes():
    scenario = simulate("birdrich", seed=101, duration_s=14.0, n_targets=6, clutter_per_scan=5.0)
    _, old = ps.run_peer(scenario, cap_s=1e9, lazy=False)
    _, lazy = ps.run_peer(scenario, cap_s=1e9, lazy=True)
    assert old.size > 10                      # the scene confirms tracks: the check means something
    assert np.array_equal(np.unique(old["time_s"]), np.unique(lazy["time_s"]))
    for t in np.unique(old["time_s"]):
        a = np.sort(old[old["time_s"] == t], order=["east_m", "north_m"])
        b = np.sort(lazy[lazy["time_s"] == t], order=["east_m", "north_m"])
        assert a.size == b.size
        for field in ("east_m", "north_m", "up_m", "v_east_mps", "v_north_mps", "v_up_mps"):
            np.testing.assert_allclose(a[field], b[field], atol=0.05)
    engine = Engine(scenario.site)
    t_end = float(old["time_s"].max())
    s_old = ps.scores(scenario.truth, old, engine, t_end)
    s_lazy = ps.scores(scenario.truth, lazy, engine, t_end)
    assert s_old["id_switches"] == s_lazy["id_switches"]
    assert s_old["gospa_mean_m"] == pytest.approx(s_lazy["gospa_mean_m"], abs=0.01)


@pytest.mark.skipif(not hasattr(ps.signal, "SIGUSR1"), reason="no SIGUSR1 on this platform")
def test_sigusr1_stops_the_peer_between_frames_and_keeps_what_it_wrote():
    """``kill -USR1`` stops a long peer run as the cap does: the rows so far come back."""
    import os

    scenario = simulate("birdrich", seed=102, duration_s=14.0, n_targets=6, clutter_per_scan=5.0)
    calls = []
    step = ps.StoneSoupRun.step

    def step_then_signal(self, *args):
        calls.append(1)
        if len(calls) == 200:                 # inside the scene (the plot count below checks it)
            os.kill(os.getpid(), ps.signal.SIGUSR1)
        return step(self, *args)

    before = ps.signal.getsignal(ps.signal.SIGUSR1)
    ps.StoneSoupRun.step = step_then_signal
    try:
        peer, rows = ps.run_peer(scenario, cap_s=1e9)
    finally:
        ps.StoneSoupRun.step = step
    assert not peer["complete"] and 0 < peer["plots"] < peer["plots_total"]
    assert rows.size and rows["time_s"].max() <= peer["last_plot_time_s"] + 1e-9
    assert ps.signal.getsignal(ps.signal.SIGUSR1) is before    # the handler is put back
