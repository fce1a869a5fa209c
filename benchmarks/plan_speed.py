"""CPU per plot of the tracker across checkouts: engine core at 10,000 targets and birdlarge end to end.

    python -m benchmarks.plan_speed [--targets 10000] [--duration 16] [--birdlarge-duration 20]
    python -m benchmarks.plan_speed --compare CHECKOUT ... [--rounds 2]

The first form times this checkout (seed 1000; every kernel loaded or compiled
by a small warm-up first; ``time.process_time``, best of ``--repeats``):

* ``core imm`` and ``core cv``: the ``large`` scene, tracking only (the site
  without its protected assets), the IMM and the constant-velocity motion
  model, given to ``Engine.process`` in 65,536-plot batches; CPU us per plot
  and the plan kernel's (``kernels.tracker.run_plan``) part of it;
* ``core imm full``: the same with the protected asset (zones,
  classification, alerts);
* ``birdlarge``: ``radarcore.core.replay.replay_file`` of the birdlarge scene
  (8 radars, 3,000 targets, 200 clutter plots per scan) from plots.csv to
  tracks.csv and alerts.jsonl, end to end beyond start-up; plots per CPU s,
  and the md5 of both files (the same bytes in every checkout is the check
  that a speed change changed no output).

It prints one JSON line.  The second form runs the first in a subprocess per
checkout (its own ``PYTHONPATH``; each checkout's Numba cache as it is; this file
need not be in the other checkouts), the
checkouts alternated for ``--rounds`` rounds, and prints each checkout's best
figures and their ratio to the first checkout's.  Only ratios mean anything
on a shared machine.
"""
import argparse
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

def _core(site, plots, repeats):
    from benchmarks.cliff import whole_run

    whole_run(site, plots[:3000])
    best = min((whole_run(site, plots) for _ in range(repeats)), key=lambda r: r["us_per_plot"])
    return {"us_per_plot": best["us_per_plot"],
            "plan_us_per_plot": best["us_per_plot"] * best["run_plan_share"], "plots": int(plots.size)}


def time_checkout(n_targets, duration_s, birdlarge_s, repeats, seed=1000):
    from radarcore.core.replay import replay_file
    from radarcore.sim.simulate import simulate, write_scenario

    out = {}
    scenario = simulate("large", seed=seed, n_targets=n_targets, duration_s=duration_s)
    tracking = dataclasses.replace(scenario.site, assets=())
    out["core imm"] = _core(tracking, scenario.plots, repeats)
    cv = dataclasses.replace(tracking, tracker=dataclasses.replace(tracking.tracker, motion_model="cv"))
    out["core cv"] = _core(cv, scenario.plots, repeats)
    out["core imm full"] = _core(scenario.site, scenario.plots, 1)

    bird = simulate("birdlarge", seed=seed, duration_s=birdlarge_s)
    with tempfile.TemporaryDirectory() as work:
        write_scenario(bird, work)
        plots_path = os.path.join(work, "plots.csv")
        small = simulate("birdlarge", seed=seed, duration_s=2.0)
        replay_file(os.path.join(work, "plots.csv"), small.site, os.path.join(work, "warm"),
                    progress=False)
        best = float("inf")
        digest = None
        for k in range(repeats):
            out_dir = os.path.join(work, f"out{k}")
            c0 = time.process_time()
            replay_file(plots_path, bird.site, out_dir, progress=False)
            best = min(best, time.process_time() - c0)
            md5 = hashlib.md5()
            for name in ("tracks.csv", "alerts.jsonl"):
                with open(os.path.join(out_dir, name), "rb") as f:
                    md5.update(f.read())
            if digest is not None and md5.hexdigest() != digest:
                raise RuntimeError("two replays of birdlarge wrote different bytes")
            digest = md5.hexdigest()
    n = int(bird.plots.size)
    out["birdlarge"] = {"plots_per_cpu_s": n / best, "us_per_plot": 1e6 * best / n, "plots": n,
                        "md5": digest}
    return out


def compare(checkouts, rounds, args):
    best = {}
    digests = {}
    for _ in range(rounds):
        for path in checkouts:
            env = dict(os.environ, PYTHONPATH=os.path.abspath(path), NUMBA_NUM_THREADS="1")
            cmd = [sys.executable, os.path.abspath(__file__), "--targets", str(args.targets),
                   "--duration", str(args.duration), "--birdlarge-duration",
                   str(args.birdlarge_duration), "--repeats", str(args.repeats)]
            line = subprocess.run(cmd, env=env, cwd=path, check=True, capture_output=True,
                                  text=True).stdout.strip().splitlines()[-1]
            print(path, line, flush=True)
            for key, figures in json.loads(line).items():
                for name, value in figures.items():
                    if name == "md5":
                        digests[path] = value
                    elif name == "plots_per_cpu_s":         # higher is better
                        best[path, key, name] = max(best.get((path, key, name), 0.0), value)
                    elif name != "plots":
                        best[path, key, name] = min(best.get((path, key, name), float("inf")), value)
    base = checkouts[0]
    for path in checkouts:
        for (p, key, name), value in sorted(best.items()):
            if p != path:
                continue
            ratio = value / best[base, key, name]
            print(f"{path}  {key:14s} {name:18s} {value:12.3f}  {ratio:.3f} x {base}")
        print(f"{path}  birdlarge tracks.csv + alerts.jsonl md5 {digests[path]}"
              f" ({'same as' if digests[path] == digests[base] else 'DIFFERS from'} {base})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", type=int, default=10_000)
    ap.add_argument("--duration", type=float, default=16.0)
    ap.add_argument("--birdlarge-duration", type=float, default=20.0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--compare", nargs="+", metavar="CHECKOUT")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    if args.compare:
        compare(args.compare, args.rounds, args)
    else:
        print(json.dumps(time_checkout(args.targets, args.duration, args.birdlarge_duration,
                                       args.repeats)))


if __name__ == "__main__":
    main()
