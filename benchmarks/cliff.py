"""Where the engine's time goes per plot as the target count grows (the 100,000-target cliff).

    python benchmarks/cliff.py [--targets 10000 100000] [--duration 16 6] [--density fixed constant]
                               [--json FILE]

For each size and density the ``large`` scenario (seed 1000;
:func:`benchmarks.bench.large_scene`: ``fixed``, every target in the one
9 km disc, so 100,000 targets are ten times as dense as 10,000;
``constant``, tiles of 10,000 targets each with its own radars, the area
growing with the count) runs through a new engine
(batches of 65,536 plots; CPU time per plot and the share of the compiled
plan, ``kernels.tracker.run_plan``).  A second engine is then stopped half
way, and the plots it holds for release are split into the plan's groups
(one radar, one frame) and given to the group's kernels one at a time, at
the engine's real state:

* ``gate`` with the plots moved out of reach: what every group pays for the
  tracks it does not gate (the live-track grid's lookup, or, in a tree
  without it, the bounding-box test of every live track);
* ``gate`` on the real plots;
* ``gnn_assign`` on the pairs it returned (costs ``d^2 / 2``, a constant miss
  cost: the size of the problem is what matters), with the largest cluster;
* ``emit`` (extrapolation, flocking, classification) and ``maintain`` of one
  epoch, on copies of the table.

Every kernel is loaded from the cache on a small scene first.  CPU times
(``time.process_time``); no figure is checked against a reference
because nothing here is a result, only where the time goes.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.bench import TILE_TARGETS, cpu_timed, large_scene  # noqa: E402
from kernels import tracker as K  # noqa: E402
from kernels.assign import gnn_assign, pair_clusters  # noqa: E402
from kernels.gating import gate, horizontal_radius  # noqa: E402
try:
    from kernels.gating import track_grid_build, track_grid_candidates, track_grid_new  # noqa: E402
except ImportError:                 # a tree from before the live-track grid: every group scans every track
    track_grid_build = track_grid_candidates = track_grid_new = None
from radarcore.core.engine import Engine  # noqa: E402
from radarcore.sim.simulate import simulate  # noqa: E402

BATCH = 65_536
SEED = 1000


def whole_run(site, plots):
    """CPU per plot of a whole engine run and the plan kernel's share."""
    plan_cpu = {"run_plan": 0.0}
    run_plan = K.run_plan
    K.run_plan = cpu_timed(run_plan, plan_cpu, "run_plan")
    try:
        engine = Engine(site)
        t0 = time.process_time()
        for i in range(0, plots.size, BATCH):
            engine.process(plots[i:i + BATCH])
        engine.flush()
        cpu = time.process_time() - t0
    finally:
        K.run_plan = run_plan
    s = engine.summary()
    return {"us_per_plot": 1e6 * cpu / plots.size, "run_plan_share": plan_cpu["run_plan"] / cpu,
            "gated_pairs_per_plot": s["gated_pairs"] / plots.size, "tracks_initiated": s["tracks_initiated"]}


def half_way(site, plots):
    """The group kernels one at a time at the state of an engine stopped half way."""
    engine = Engine(site)
    half = plots.size // 2
    for i in range(0, half, BATCH):
        engine.process(plots[i:min(i + BATCH, half)])
    pending = np.concatenate(engine._pending)
    pending = pending[np.lexsort((pending["seq"], pending["time_s"], pending["radar"], pending["frame"]))]
    released = engine._convert(pending)
    table = engine.tracks
    live = table.live_slots()
    params = engine.params
    frame, radar = released["frame"], released["radar"]
    cut = np.flatnonzero((frame[1:] != frame[:-1]) | (radar[1:] != radar[:-1])) + 1
    starts, ends = np.concatenate(([0], cut)), np.concatenate((cut, [frame.size]))
    # the quick gating radii of each output period, and the live-track grid of the tracker
    # (when this tree has one: a group's gate sees only the tracks near its plots), as
    # run_plan makes them when a period starts (not timed)
    gamma = max(params[K.P_GAMMA_3], params[K.P_GAMMA_4])
    period = params[K.P_OUTPUT_PERIOD]
    max_trace_R_h = float((released["R"][:, 0, 0] + released["R"][:, 1, 1]).max())
    r_quick = np.full(table.capacity, np.inf)
    grid = track_grid_new(table.capacity) if track_grid_new is not None else None
    current = {"span": None}

    def candidates(z, t):
        span = int(t[0] // period)
        if span != current["span"]:
            current["span"] = span
            t_from, t_to = span * period - 1e-3, (span + 1) * period + 1e-3
            for i in live.tolist():
                r_quick[i] = horizontal_radius(table.x[i], table.P[i], table.t_state[i], t_from, t_to,
                                               params[K.P_GATE_Q_H], gamma, max_trace_R_h)
            if grid is not None:
                track_grid_build(grid, live, live.size, table.x, table.t_state, r_quick, t_from, t_to,
                                 K.TRACK_GRID_CELLS * params[K.P_CELL_M])
        if grid is None:
            return live
        return track_grid_candidates(grid, live, live.size, z, t)

    span0 = int(released["t"][0] // period)
    cpu = {"scan": 0.0, "gate": 0.0, "assign": 0.0}
    pairs = n_plots = largest = 0
    for lo, hi in zip(starts.tolist(), ends.tolist()):
        r, m, part = int(radar[lo]), hi - lo, slice(lo, hi)
        rest = (np.full(m, engine.radar_sigma_rv[r]), np.tile(engine.radar_pos[r], (m, 1)), released["t"][part],
                params[K.P_GATE_Q_H], params[K.P_Q_V], params[K.P_GAMMA_3], params[K.P_GAMMA_4],
                params[K.P_CELL_M], r_quick)
        candidates(released["z"][part], released["t"][part])      # the period's radii and grid first
        for label, z in (("scan", released["z"][part] + 1e7), ("gate", released["z"][part])):
            t0 = time.process_time()
            pair_track, pair_plot, d2, _, _ = gate(candidates(z, released["t"][part]), table.x, table.P,
                                                   table.t_state, z, released["R"][part], released["rv"][part],
                                                   *rest)
            cpu[label] += time.process_time() - t0
        pairs += pair_track.size
        n_plots += m
        if pair_track.size:
            slots, local = np.unique(pair_track, return_inverse=True)
            t0 = time.process_time()
            gnn_assign(slots.size, m, local, pair_plot, 0.5 * d2, np.full(slots.size, 2.3),
                       np.empty(slots.size, np.int64), np.empty(m, np.int64))
            cpu["assign"] += time.process_time() - t0
            cluster = np.empty(pair_track.size, np.int64)
            pair_clusters(slots.size, m, local, pair_plot, cluster)
            largest = max(largest, int(np.bincount(cluster).max()))
    t_epoch = (span0 + 1) * period
    n = table.capacity
    rows = (np.empty(n), np.empty(n, np.int64), np.empty(n, np.int8), np.empty((n, 6)), np.empty(n),
            np.empty((n, 6, 6)), np.empty((n, 4)))
    t0 = time.process_time()
    emitted = K.emit(t_epoch, table.x, table.P, table.t_state, table.status, table.track_id, table.features,
                     params, engine.classify_params, *rows, 0)
    emit_cpu = time.process_time() - t0
    copies = [a.copy() for a in (table.x, table.P, table.t_state, table.t_update, table.t_create,
                                 table.status, table.hits, table.free_stack, table.counters)]
    t0 = time.process_time()
    K.maintain(t_epoch, *copies, params)
    maintain_cpu = time.process_time() - t0
    groups = len(starts)
    return {"live": int(live.size), "groups": groups, "plots_per_group": n_plots / groups,
            "pairs_per_plot": pairs / n_plots, "largest_cluster_pairs": largest,
            "scan_us_per_plot": 1e6 * cpu["scan"] / n_plots,
            "scan_ns_per_track_and_group": 1e9 * cpu["scan"] / groups / max(live.size, 1),
            "gate_us_per_plot": 1e6 * cpu["gate"] / n_plots, "assign_us_per_plot": 1e6 * cpu["assign"] / n_plots,
            "emit_ms_per_epoch": 1e3 * emit_cpu, "emitted_rows": int(emitted),
            "maintain_ms_per_epoch": 1e3 * maintain_cpu}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--duration", type=float, nargs="+", default=[16.0, 6.0],
                        help="seconds of data per size (one value, or one per size)")
    parser.add_argument("--density", nargs="+", choices=("fixed", "constant"), default=["fixed", "constant"],
                        help="fixed area (one disc) and/or constant density (tiles of "
                             f"{TILE_TARGETS:,} targets); at {TILE_TARGETS:,} targets or fewer both are one scene")
    parser.add_argument("--json", default=None, metavar="FILE")
    args = parser.parse_args(argv)
    durations = args.duration * len(args.targets) if len(args.duration) == 1 else args.duration
    if len(durations) != len(args.targets):
        parser.error("give one --duration or one per --targets")
    Engine.warmup()
    # load the kernels this script calls directly (gate, gnn_assign, emit, maintain):
    # a first call loads from the Numba cache, tens of ms that are no part of the figures
    warm = simulate("large", seed=SEED, n_targets=200, duration_s=6.0)
    half_way(warm.site, warm.plots)
    results = []
    for n, duration in zip(args.targets, durations):
        for density in args.density:
            if n <= TILE_TARGETS and density != args.density[0]:
                continue                    # the same scene as the first density's
            scenario = large_scene(n, duration, density=density, seed=SEED)
            result = {"targets": n, "density": density if n > TILE_TARGETS else "either",
                      "duration_s": duration, "plots": int(scenario.plots.size),
                      "radars": len(scenario.site.radars)}
            result.update(whole_run(scenario.site, scenario.plots))
            result.update(half_way(scenario.site, scenario.plots))
            results.append(result)
            print(json.dumps(result), flush=True)
    base = next((r for r in results if r["targets"] == min(args.targets)), None)
    for r in results:
        if base is not None and r is not base:
            print(f"{r['density']:>8} {base['targets']:,} -> {r['targets']:,} targets: cost per plot "
                  f"x{r['us_per_plot'] / base['us_per_plot']:.2f} ({base['us_per_plot']:.1f} -> "
                  f"{r['us_per_plot']:.1f} us)", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
