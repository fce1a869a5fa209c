"""Engine core throughput: plots already in memory, one core.

    python benchmarks/engine_core.py [--targets 10000] [--duration 60] [--batch 65536]

Simulates the ``large`` scenario, checks the run against truth first (the
figure is meaningless if the tracks are wrong), then times ``Engine.process``
over the whole plot array in batches and prints plots/s and the number of
live tracks.  Compilation happens in a warm-up run before timing.
"""
import argparse
import json
import os
import platform
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from radarcore.engine import Engine  # noqa: E402
from radarcore.metrics import score  # noqa: E402
from radarcore.simulate import simulate  # noqa: E402


def run_engine(site, plots, batch):
    engine = Engine(site)
    rows = []
    live = []
    t0 = time.perf_counter()
    for i in range(0, plots.size, batch):
        rows.append(engine.process(plots[i:i + batch]))
        live.append(engine.tracks.n_live)
    rows.append(engine.flush())
    wall = time.perf_counter() - t0
    return engine, np.concatenate(rows), wall, live


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", type=int, default=10000)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--batch", type=int, default=65536)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    scenario = simulate("large", seed=args.seed, n_targets=args.targets, duration_s=args.duration)
    t_sim = time.perf_counter() - t0
    site, plots = scenario.site, scenario.plots
    print(f"scenario: {args.targets} targets, {args.duration:.0f} s, {plots.size:,} plots "
          f"({t_sim:.1f} s to simulate)")

    run_engine(site, plots[:2000], args.batch)          # compile / load the cache
    engine, rows, wall, live = run_engine(site, plots, args.batch)
    s = score(scenario.truth, rows[rows["time_s"] >= plots["time_s"][0] + 10.0])
    print(f"check: GOSPA {s.gospa_mean:.1f} m, position RMSE {s.position_rmse_m:.1f} m, "
          f"{s.targets_confirmed}/{s.truth_targets} targets tracked, {s.false_tracks} false tracks")
    rate = plots.size / wall
    summary = engine.summary()
    result = {
        "plots": int(plots.size), "wall_s": wall, "plots_per_s": rate,
        "live_tracks_max": int(max(live)), "live_tracks_end": int(live[-1]),
        "tracks_confirmed": summary["tracks_confirmed"], "gospa_mean_m": s.gospa_mean,
        "position_rmse_m": s.position_rmse_m, "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(), "date": time.strftime("%Y-%m-%d"),
    }
    print(f"engine core: {rate:,.0f} plots/s over {plots.size:,} plots in {wall:.2f} s; "
          f"live tracks up to {max(live):,}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
