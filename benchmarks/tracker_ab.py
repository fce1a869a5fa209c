"""Tracker settings A/B on one simulated scene: GOSPA parts, switches, height error.

``python benchmarks/tracker_ab.py SCENE [--seed N] [--duration S]
[--exclude-behaviours a,b] [--set KEY=VALUE ...] [--variant K=V,K=V ...]``

Simulates the scene (``radarcore.sim.simulate.simulate``), runs the engine on
its plots in 10 s chunks with the site's ``[tracker]`` table changed by each
``--set`` (tracker keys, e.g. ``vertical_speed_tau_s=0``), scores the tracks
with :func:`radarcore.analysis.scores.score` over the radars' coverage (as
``radarcore evaluate --site`` does: GOSPA c = 50 m, p = 2, confirmed and
coasting tracks) and prints one JSON line: GOSPA and its localisation /
missed / false parts, identity switches, the horizontal and vertical RMS
error of the matched pairs, after the first 30 s the share of targets with no
track assigned within 50 m and of tracks farther than 50 m from every
target, and the share of tracks within 50 m of a target that already has
its own (redundant: duplicates), the tracks dropped as duplicates, the
engine's CPU seconds, and the identity switches per behaviour of the truth
(``switches_by_behaviour``: behaviour -> [switches, targets]).  Each ``--variant`` (a comma-separated list of more
``KEY=VALUE`` on top of ``--set``) runs the engine again on the same
simulated plots and prints one more line: an A/B in one process, the scene
simulated and the kernels compiled once.  Seeds: docs/behaviours.md (0-99 to
tune, 1000 and up to report).
"""
import argparse
import dataclasses
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402


def _value(text):
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def switches_by_behaviour(truth, per_truth):
    """``{behaviour: [identity switches, targets]}``, most switches first; the truth's
    ``behaviour`` column, or its ``kind`` where it has none; ``per_truth`` of
    :func:`radarcore.analysis.scores.score`."""
    label = truth["behaviour"] if "behaviour" in (truth.dtype.names or ()) else truth["kind"]
    behaviour_of = {int(t): str(b) for t, b in zip(truth["target_id"], label)}
    counts = {}
    for pt in per_truth:
        entry = counts.setdefault(behaviour_of[pt["target_id"]], [0, 0])
        entry[0] += pt["id_switches"]
        entry[1] += 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1][0]))


def run(scene, seed, duration_s=None, exclude_behaviours=None, overrides=None, chunk_s=10.0,
        scenario=None):
    """The figures of one run, as a dict (see the module docstring); ``scenario``:
    an already simulated one to reuse."""
    from radarcore.analysis.evaluate import site_coverage
    from radarcore.analysis.scores import score
    from radarcore.core.engine import Engine
    from radarcore.sim.simulate import simulate

    if scenario is None:
        scenario = simulate(scene, seed=seed, duration_s=duration_s,
                            exclude_behaviours=exclude_behaviours or None)
    site = scenario.site
    site = dataclasses.replace(site, tracker=dataclasses.replace(site.tracker, **(overrides or {})))
    engine = Engine(site)
    plots = scenario.plots
    t = plots["time_s"]
    edges = np.arange(t.min(), t.max() + chunk_s, chunk_s)
    parts = []
    cpu0 = time.process_time()
    for lo, hi in zip(np.searchsorted(t, edges[:-1]), np.searchsorted(t, edges[1:])):
        parts.append(engine.process(plots[lo:hi]))
        engine.pop_alerts()
    parts.append(engine.flush())
    cpu_s = time.process_time() - cpu0
    tracks = np.concatenate([p for p in parts if p is not None and p.size])
    s = score(scenario.truth, tracks, coverage=site_coverage(site))
    pe = s.per_epoch
    late = pe["time_s"] >= pe["time_s"][0] + 30.0
    err = s.pairs["error_xyz_m"]
    return dict(
        scene=scene, seed=seed, plots=int(plots.size), set=overrides or {},
        gospa=round(s.gospa_mean, 2), localisation=round(s.gospa_localisation_mean),
        missed=round(s.gospa_missed_mean), false=round(s.gospa_false_mean),
        id_switches=s.id_switches,
        rms_horizontal_m=round(float(np.sqrt(np.mean(err[:, 0] ** 2 + err[:, 1] ** 2))), 2),
        rms_vertical_m=round(float(np.sqrt(np.mean(err[:, 2] ** 2))), 2),
        untracked_pct=round(100.0 * (pe["n_truths"][late] - pe["n_assigned"][late]).sum()
                            / max(pe["n_truths"][late].sum(), 1), 2),
        redundant_pct=round(100.0 * pe["n_redundant"][late].sum() / max(pe["n_tracks"][late].sum(), 1), 2),
        tracks_merged=engine.summary()["tracks_merged"],
        far_pct=round(100.0 * pe["n_spurious"][late].sum() / max(pe["n_tracks"][late].sum(), 1), 2),
        engine_cpu_s=round(cpu_s, 1),
        switches_by_behaviour=switches_by_behaviour(scenario.truth, s.per_truth))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python benchmarks/tracker_ab.py",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("scene")
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--exclude-behaviours", default="")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--variant", action="append", default=[], metavar="KEY=VALUE,...")
    args = parser.parse_args(argv)

    def parse(items):
        overrides = {}
        for item in items:
            key, sep, value = item.partition("=")
            if not sep:
                parser.error(f"--set and --variant want KEY=VALUE, got {item!r}")
            overrides[key] = _value(value)
        return overrides

    overrides = parse(args.set)
    exclude = [b for b in args.exclude_behaviours.split(",") if b]
    from radarcore.sim.simulate import simulate
    scenario = simulate(args.scene, seed=args.seed, duration_s=args.duration,
                        exclude_behaviours=exclude or None)
    print(json.dumps(run(args.scene, args.seed, args.duration, exclude, overrides, scenario=scenario)),
          flush=True)
    for variant in args.variant:
        more = parse([item for item in variant.split(",") if item])
        print(json.dumps(run(args.scene, args.seed, args.duration, exclude, {**overrides, **more},
                             scenario=scenario)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
