"""CPU time of the tracking hot path per plot, reorder mode and live mode, across checkouts.

    python -m benchmarks.hot_path [--targets 1000] [--history 0 1] [--repeats 3]
    python -m benchmarks.hot_path --models FILE FILE ... [--targets 1000] [--repeats 3]
    python -m benchmarks.hot_path --compare CHECKOUT[=CACHE_DIR] ... [--rounds 2]

The first form times this checkout: the ``large`` scenario (seed 1000,
60 s), tracking only (the site without its protected assets), the plots
given to ``Engine.process`` in 65,536-plot frames after a warm-up that
compiles (or loads) the kernels; for each ``[tracker] history_s`` (0: the
reorder window, no live mode; > 0: live mode), the best of ``--repeats``
runs of ``time.process_time`` per plot.  It prints one JSON line.  With ``--models``, each classifier model file
(``benchmarks/fit_classifier.py``'s) in turn is the engine's, the files
alternated within each repeat, and the JSON has one entry per history and
file (``"1.0 FILE"``).

The second form runs the first in a subprocess per checkout (each with its
own ``PYTHONPATH`` and, when given, ``NUMBA_CACHE_DIR``; this file need
not be in the other checkouts), the checkouts
alternated for ``--rounds`` rounds on the same machine, and prints each
checkout's best figure and its ratio to the first checkout's.  Only the
ratios mean anything on a shared machine.
"""
import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

FRAME = 65536


def time_checkout(n_targets, histories, repeats, seed=1000, duration_s=60.0, models=()):
    """``{history_s: best CPU microseconds per plot}`` of the checkout on ``sys.path``.

    ``models``: classifier model files, each timed in turn (keys ``"history file"``).
    """
    from radarcore.core.classify_model import load_classify_model
    from radarcore.core.engine import Engine
    from radarcore.sim.simulate import simulate

    vectors = [(path, load_classify_model(path)) for path in models] or [(None, None)]

    scenario = simulate("large", seed=seed, n_targets=n_targets, duration_s=duration_s)
    plots = scenario.plots
    out = {"plots": int(plots.size)}
    for history in histories:
        tracker = dataclasses.replace(scenario.site.tracker, history_s=float(history))
        site = dataclasses.replace(scenario.site, assets=(), tracker=tracker)

        def run(p, model=None):
            engine = Engine(site)
            if model is not None:
                engine.classify_params = model
            c0 = time.process_time()
            for i in range(0, p.size, FRAME):
                engine.process(p[i:i + FRAME])
            engine.flush()
            return time.process_time() - c0

        best = {}
        for path, model in vectors:
            run(plots[:3000], model)
        for _ in range(repeats):
            for path, model in vectors:
                key = str(float(history)) + ("" if path is None else f" {path}")
                best[key] = min(best.get(key, float("inf")), run(plots, model))
        for key, seconds in best.items():
            out[key] = 1e6 * seconds / plots.size
    return out


def compare(checkouts, rounds, args):
    best = {}
    for _ in range(rounds):
        for spec in checkouts:
            path, _, cache = spec.partition("=")
            env = dict(os.environ, PYTHONPATH=os.path.abspath(path), NUMBA_NUM_THREADS="1")
            if cache:
                env["NUMBA_CACHE_DIR"] = os.path.abspath(cache)
            cmd = [sys.executable, os.path.abspath(__file__), "--targets", str(args.targets),
                   "--repeats", str(args.repeats), "--history", *map(str, args.history)]
            line = subprocess.run(cmd, env=env, cwd=path, check=True, capture_output=True,
                                  text=True).stdout.strip().splitlines()[-1]
            for key, value in json.loads(line).items():
                if key != "plots":
                    best[spec, key] = min(best.get((spec, key), float("inf")), value)
    base = checkouts[0]
    for spec in checkouts:
        for history in args.history:
            key = str(float(history))
            us = best[spec, key]
            print(f"{spec}  history_s {key}: {us:.3f} us/plot CPU, "
                  f"{us / best[base, key]:.3f} x {base}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", type=int, default=1000)
    ap.add_argument("--history", type=float, nargs="+", default=[0.0, 1.0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--compare", nargs="+", metavar="CHECKOUT[=CACHE_DIR]")
    ap.add_argument("--models", nargs="+", default=[], metavar="FILE",
                    help="classifier model files timed in turn in this checkout")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    if args.compare:
        compare(args.compare, args.rounds, args)
    else:
        print(json.dumps(time_checkout(args.targets, args.history, args.repeats,
                                       models=args.models)))


if __name__ == "__main__":
    main()
