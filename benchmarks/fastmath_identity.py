"""Do the kernels give the same bytes from a fresh compile and from the Numba cache?

    python -m benchmarks.fastmath_identity [--flags contract arcp] [--runs 3] [--large 1000]

For a fast-math flag set (``--flags``; none: plain IEEE arithmetic), a fresh
``NUMBA_CACHE_DIR`` is made, and the same work is run ``--runs`` times, each
in a fresh process: the first compiles every kernel in the process (cold
cache), the others load what it cached (warm).  The work: ``radarcore replay``
of each bundled replay (replay_data/*: tracks.csv and alerts.jsonl), live-mode
runs (``history_s`` 1, radar 2 late by up to 0.4 s, 100-plot frames) of the
crossing, intrusion and swarm scenes, and the ``large`` scene (seed 1000,
``--large`` targets) in replay and live mode.  Each output is hashed: the
track rows as raw bytes (every bit of every state) and the alerts as JSON.
Prints, per output, whether every run gave the same hash, and exits 1 if any
did not.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _digest(data):
    return hashlib.sha256(data).hexdigest()[:16]


def work(n_large):
    """``{output name: hash}`` of every output, in this process."""
    import dataclasses

    import numpy as np

    from radarcore.cli import main as cli_main
    from radarcore.core.engine import Engine
    from radarcore.sim.simulate import simulate
    from radarcore.service.emulate import plan_bursts

    out = {}
    for name in sorted(os.listdir(os.path.join(HERE, "replay_data"))):
        folder = os.path.join(HERE, "replay_data", name)
        with tempfile.TemporaryDirectory() as target:
            cli_main(["replay", os.path.join(folder, "plots.csv"), "--site",
                      os.path.join(folder, "site.toml"), "--out", target])
            for file in ("tracks.csv", "alerts.jsonl"):
                with open(os.path.join(target, file), "rb") as f:
                    out[f"replay {name} {file}"] = _digest(f.read())

    def run(site, frames, live):
        engine = Engine(site)
        rows = []
        for frame in frames:
            rows.append(engine.process(frame.plots, frame_sizes=[f.size for f in frame.frames])
                        if live else engine.process(frame.plots))
        rows.append(engine.flush())
        events = engine.pop_alerts()
        return (_digest(np.concatenate(rows).tobytes()),
                _digest(json.dumps(events, default=repr, sort_keys=True).encode()))

    class Step:
        def __init__(self, frames):
            self.frames = frames
            self.plots = np.concatenate(frames)

    def live_site(site):
        return dataclasses.replace(site, tracker=dataclasses.replace(site.tracker, history_s=1.0))

    def delayed(plots):
        arrival = plots["time_s"] + np.where(plots["radar_id"] == 2, 0.4, 0.0)
        plots = plots[np.argsort(arrival, kind="stable")]
        return [plots[b.index] for b in plan_bursts(plots, burst_gap_s=0.05, max_burst=100,
                                                    max_span_s=0.05)]

    for name, seed, duration_s in (("crossing", 300, 60), ("intrusion", 300, 40),
                                   ("swarm", 300, 40)):
        scenario = simulate(name, seed=seed, duration_s=duration_s)
        frames = delayed(scenario.plots.copy())
        steps = [Step(frames[i:i + 20]) for i in range(0, len(frames), 20)]
        tracks, alerts = run(live_site(scenario.site), steps, live=True)
        out[f"live {name} tracks"], out[f"live {name} alerts"] = tracks, alerts

    scenario = simulate("large", seed=1000, n_targets=n_large, duration_s=60.0)
    plots = scenario.plots
    steps = [Step([plots[i:i + 65536]]) for i in range(0, plots.size, 65536)]
    out["large replay tracks"], out["large replay alerts"] = run(scenario.site, steps, live=False)
    frames = delayed(plots.copy())
    steps = [Step(frames[i:i + 200]) for i in range(0, len(frames), 200)]
    out["large live tracks"], out["large live alerts"] = run(live_site(scenario.site), steps,
                                                             live=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flags", nargs="*", default=[])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--large", type=int, default=1000)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        import kernels._jit
        kernels._jit.FASTMATH = frozenset(args.flags)
        print(json.dumps(work(args.large)))
        return 0
    results = []
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, NUMBA_NUM_THREADS="1",
                   PYTHONPATH=HERE)
        for run in range(args.runs):
            t0 = time.perf_counter()
            line = subprocess.run([sys.executable, "-m", "benchmarks.fastmath_identity",
                                   "--worker", "--large", str(args.large), "--flags", *args.flags],
                                  env=env, cwd=HERE, check=True, capture_output=True,
                                  text=True).stdout.strip().splitlines()[-1]
            results.append(json.loads(line))
            print(f"run {run + 1} ({'cold' if run == 0 else 'warm'}): "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
    same = True
    for key in results[0]:
        hashes = [r[key] for r in results]
        ok = len(set(hashes)) == 1
        same &= ok
        print(f"{'same' if ok else 'DIFFERENT'}  {key}  {' '.join(hashes)}")
    print(f"flags {sorted(args.flags)}: {'identical' if same else 'NOT identical'} over "
          f"{args.runs} runs")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
