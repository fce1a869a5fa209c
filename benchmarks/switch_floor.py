"""Identity switches that track error alone gives: one oracle track per target.

``python benchmarks/switch_floor.py SCENE [--seed N] [--duration S]
[--error H,V,TAU ...]``

Simulates the scene and writes, for every target, one track that is never
confused with another target (its track id is the target id) and whose
position is the truth plus an error process: per axis a stationary
first-order autoregression with correlation time ``TAU`` seconds and RMS
``H`` metres horizontally (``H / sqrt(2)`` per axis) and ``V`` metres
vertically, sampled at the scorer's epochs (1 s) while the target is in the
radars' coverage::

    e_k = a e_(k-1) + sqrt(1 - a^2) sigma w_k,   a = exp(-dt / tau),   w_k ~ N(0, 1)

The rows are scored like the engine's (``radarcore.analysis.scores.score``,
GOSPA c = 50 m, p = 2, the site's coverage).  Since the scorer assigns truths
to tracks afresh at every epoch, two targets closer than the tracks' errors
trade tracks now and then even though no track ever follows the wrong
target: the switches printed are a floor for any tracker with one track per
target at that accuracy (``H`` = 8.9 m, ``V`` = 12 m is the engine's error on
matched pairs in the bird scenes).  One JSON line per error setting:
switches in all and per behaviour (``[switches, targets]``), and GOSPA.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402


def oracle_rows(truth, horizontal_rms_m, vertical_rms_m, tau_s, rng, coverage=None):
    """One confirmed track per target, truth plus an AR(1) error, at whole seconds;
    with ``coverage`` (``(radar_pos, max_range_m)``) only where the truth is inside it."""
    from ingest.schema import TRACK_ROW_DTYPE
    from radarcore.analysis.scores import in_coverage, interpolate_truth

    epochs = np.arange(np.ceil(truth["time_s"].min()), np.floor(truth["time_s"].max()) + 1.0)
    tr = interpolate_truth(truth, epochs)
    if coverage is not None:
        keep = in_coverage(tr["xyz"], *coverage)
        tr = {key: value[keep] for key, value in tr.items()}
    n = tr["time_s"].size
    sigma = np.array([horizontal_rms_m / np.sqrt(2.0), horizontal_rms_m / np.sqrt(2.0), vertical_rms_m])
    order = np.lexsort((tr["time_s"], tr["target_id"]))
    err = np.zeros((n, 3))
    previous_id, previous_t, e = None, 0.0, np.zeros(3)
    for k in order:
        target_id, t = tr["target_id"][k], tr["time_s"][k]
        if target_id != previous_id:
            e = rng.normal(size=3) * sigma
        else:
            a = np.exp(-(t - previous_t) / tau_s)
            e = a * e + np.sqrt(1.0 - a * a) * rng.normal(size=3) * sigma
        err[k] = e
        previous_id, previous_t = target_id, t
    rows = np.zeros(n, TRACK_ROW_DTYPE)
    rows["time_s"] = tr["time_s"]
    rows["track_id"] = tr["target_id"]
    rows["status"] = 2
    xyz = tr["xyz"] + err
    rows["east_m"], rows["north_m"], rows["up_m"] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    rows["sigma_pos_m"] = np.hypot(sigma[0], sigma[1])
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python benchmarks/switch_floor.py",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("scene")
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--error", action="append", default=[], metavar="H,V,TAU",
                        help="horizontal RMS (m), vertical RMS (m), correlation time (s); "
                             "default 8.9,12,3 and 2,12,3")
    parser.add_argument("--rng-seed", type=int, default=5)
    args = parser.parse_args(argv)
    from radarcore.analysis.evaluate import site_coverage
    from radarcore.analysis.scores import score
    from radarcore.sim.simulate import simulate
    from benchmarks.tracker_ab import switches_by_behaviour

    settings = []
    for text in args.error or ["8.9,12,3", "2,12,3"]:
        parts = text.split(",")
        if len(parts) != 3:
            parser.error(f"--error wants H,V,TAU, got {text!r}")
        h, v, tau = (float(p) for p in parts)
        if h < 0.0 or v < 0.0 or not tau > 0.0:
            parser.error(f"--error wants H, V >= 0 and TAU > 0, got {text!r}")
        settings.append((h, v, tau))
    scenario = simulate(args.scene, seed=args.seed, duration_s=args.duration)
    truth = scenario.truth
    for h, v, tau in settings:
        coverage = site_coverage(scenario.site)
        rows = oracle_rows(truth, h, v, tau, np.random.default_rng(args.rng_seed), coverage)
        s = score(truth, rows, coverage=coverage)
        print(json.dumps({"scene": args.scene, "seed": args.seed, "horizontal_rms_m": h,
                          "vertical_rms_m": v, "tau_s": tau, "id_switches": s.id_switches,
                          "gospa": round(s.gospa_mean, 2),
                          "by_behaviour": switches_by_behaviour(truth, s.per_truth)}),
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
