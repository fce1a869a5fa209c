"""Tentative tracks on the CV filter or on the IMM: CPU cost, alternated in one process.

    python benchmarks/tentative_filter.py [--targets 10000] [--duration 30]
                                          [--birdlarge-duration 40] [--rounds 2]

Times the two values of ``[tracker] tentative_filter`` (``"imm"``: every
track on the IMM from its first plot, as before the key; ``"cv"``: tentative
tracks on the IMM's constant-velocity model until confirmed), alternated for
``--rounds`` rounds after a warm-up that compiles (or loads) the kernels, on:

* **engine core**: the ``large`` scene (seed 1000, ``--targets`` targets),
  tracking only (the site without its assets), the plots given to
  ``Engine.process`` in 65,536-plot batches, CPU seconds per plot;
* **birdlarge replay**: the issue-15 scene (seed 1000, 8 radars, 3,000
  targets, 200 clutter plots per scan per radar), ``radarcore replay`` of its
  plots.csv end to end (reading, tracking, zones, alerts, writing), plots per
  CPU second.

Prints the best of the rounds per value and the ratio cv / imm, one JSON line
per figure.  Only the ratios mean anything on a shared machine.
"""
import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BATCH = 65536
VALUES = ("imm", "cv")
SEED = 1000


def with_filter(site, value, assets=True):
    tracker = dataclasses.replace(site.tracker, tentative_filter=value)
    return dataclasses.replace(site, tracker=tracker, **({} if assets else {"assets": ()}))


def engine_core(n_targets, duration_s, rounds):
    from radarcore.core.engine import Engine
    from radarcore.sim.simulate import simulate

    scenario = simulate("large", seed=SEED, n_targets=n_targets, duration_s=duration_s)
    plots = scenario.plots

    def run(value, p):
        engine = Engine(with_filter(scenario.site, value, assets=False))
        c0 = time.process_time()
        for i in range(0, p.size, BATCH):
            engine.process(p[i:i + BATCH])
        engine.flush()
        return time.process_time() - c0, engine.summary()

    for value in VALUES:
        run(value, plots[:5000])
    best = {}
    summaries = {}
    for _ in range(rounds):
        for value in VALUES:
            cpu_s, summaries[value] = run(value, plots)
            best[value] = min(best.get(value, float("inf")), cpu_s)
    return {"figure": "engine core", "targets": n_targets, "plots": int(plots.size),
            **{f"{v}_us_per_plot": round(1e6 * best[v] / plots.size, 3) for v in VALUES},
            **{f"{v}_plots_per_cpu_s": round(plots.size / best[v]) for v in VALUES},
            **{f"{v}_tracks_confirmed": summaries[v]["tracks_confirmed"] for v in VALUES},
            "cost_cv_over_imm": round(best["cv"] / best["imm"], 3)}


def birdlarge(duration_s, rounds):
    from radarcore.core.replay import replay_file
    from radarcore.sim.simulate import simulate, write_scenario

    scenario = simulate("birdlarge", seed=SEED, duration_s=duration_s)
    n = int(scenario.plots.size)
    best = {}
    summaries = {}
    with tempfile.TemporaryDirectory() as work:
        write_scenario(scenario, work)
        path = os.path.join(work, "plots.csv")
        for _ in range(rounds):
            for value in VALUES:
                c0 = time.process_time()
                result = replay_file(path, with_filter(scenario.site, value),
                                     os.path.join(work, value), progress=False)
                cpu_s = time.process_time() - c0
                summaries[value] = result.summary
                best[value] = min(best.get(value, float("inf")), cpu_s)
    return {"figure": "birdlarge replay", "plots": n,
            **{f"{v}_plots_per_cpu_s": round(n / best[v]) for v in VALUES},
            **{f"{v}_tracks_initiated": summaries[v]["tracks_initiated"] for v in VALUES},
            **{f"{v}_tracks_confirmed": summaries[v]["tracks_confirmed"] for v in VALUES},
            "speed_cv_over_imm": round(best["imm"] / best["cv"], 3)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", type=int, default=10_000)
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--birdlarge-duration", type=float, default=40.0)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    print(json.dumps(engine_core(args.targets, args.duration, args.rounds)), flush=True)
    print(json.dumps(birdlarge(args.birdlarge_duration, args.rounds)), flush=True)


if __name__ == "__main__":
    main()
