"""Engine core throughput: plots already in memory, one core.

    python benchmarks/engine_core.py [--targets 1000 10000] [--duration 60]
                                     [--models imm cv] [--json FILE]

For each size, simulates the ``large`` scenario (rotating radars at 2 s, the
given number of targets), checks the run against truth first (the figure
means nothing if the tracks are wrong), then times ``Engine.process`` over
the whole plot array in batches of 65,536 plots, after a warm-up run that
compiles (or loads) every kernel.  Each configuration is timed twice:
tracking only (the site without its protected assets) and the full pipeline
with zone evaluation, classification and alerts.
"""
import argparse
import dataclasses
import json
import os
import platform
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from radarcore.core.engine import Engine  # noqa: E402
from radarcore.analysis.scores import score  # noqa: E402
from radarcore.sim.simulate import simulate  # noqa: E402

BATCH = 65536


def run_engine(site, plots):
    engine = Engine(site)
    rows, live = [], []
    t0 = time.perf_counter()
    for i in range(0, plots.size, BATCH):
        rows.append(engine.process(plots[i:i + BATCH]))
        live.append(engine.tracks.n_live)
    rows.append(engine.flush())
    wall = time.perf_counter() - t0
    engine.pop_alerts()
    return engine, np.concatenate(rows), wall, live


def measure(n_targets, duration_s, model, seed=1):
    scenario = simulate("large", seed=seed, n_targets=n_targets, duration_s=duration_s)
    tracker = dataclasses.replace(scenario.site.tracker, motion_model=model)
    full = dataclasses.replace(scenario.site, tracker=tracker)
    bare = dataclasses.replace(full, assets=())
    plots = scenario.plots
    out = {"targets": n_targets, "model": model, "plots": int(plots.size)}
    for label, site in (("tracking", bare), ("with_alerts", full)):
        run_engine(site, plots[:2000])                       # compile / load the cache
        engine, rows, wall, live = run_engine(site, plots)
        out[f"{label}_plots_per_s"] = plots.size / wall
        out[f"{label}_wall_s"] = wall
        out["live_tracks_max"] = int(max(live))
    settled = rows[rows["time_s"] >= plots["time_s"][0] + 10.0]
    s = score(scenario.truth, settled, coverage=(engine.radar_pos, engine.radar_max_range))
    out.update({"position_rmse_m": s.position_rmse_m,
                "targets_tracked": s.targets_confirmed, "truth_targets": s.truth_targets,
                "false_tracks": s.false_tracks,
                "gospa_per_target_m": s.gospa_mean / max(np.sqrt(s.truth_targets), 1.0)})
    if s.targets_confirmed < 0.95 * s.truth_targets:
        raise SystemExit(f"check failed: only {s.targets_confirmed}/{s.truth_targets} targets tracked")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--models", nargs="+", default=["imm", "cv"], choices=["imm", "cv"])
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args(argv)
    results = []
    print(f"{'targets':>8} {'model':>5} {'plots':>9} {'live':>7} {'tracking plots/s':>17} "
          f"{'with alerts':>12} {'pos RMSE m':>10} {'tracked':>9}")
    for n in args.targets:
        for model in args.models:
            r = measure(n, args.duration, model)
            results.append(r)
            print(f"{n:8d} {model:>5} {r['plots']:9,d} {r['live_tracks_max']:7,d} "
                  f"{r['tracking_plots_per_s']:17,.0f} {r['with_alerts_plots_per_s']:12,.0f} "
                  f"{r['position_rmse_m']:10.1f} {r['targets_tracked']:5d}/{r['truth_targets']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": platform.processor() or platform.machine(),
                       "python": platform.python_version(), "date": time.strftime("%Y-%m-%d"),
                       "results": results}, f, indent=2)
    return results


if __name__ == "__main__":
    main()
