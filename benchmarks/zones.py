"""Zone evaluation throughput: every track against every zone, one epoch.

    python benchmarks/zones.py [--tracks 10000] [--zones 50] [--horizon 120] [--json FILE]

Builds a 20 km x 20 km site with a mix of circles and 8-16-vertex polygons
(star-shaped and convex, 300 m to 3 km across), checks ``evaluate_zones`` on
a small case against the one-pair-at-a-time reference in
``tests/naive_zones.py`` (the figure is meaningless if the answers are
wrong), then times it on the full table, serially and spread over threads,
and prints (track, zone) pairs per second.  Compilation happens before
timing.
"""
import argparse
import json
import math
import os
import platform
import sys
import time

import numba
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import naive_zones as naive  # noqa: E402
from kernels.zones import evaluate_zones, pack_polygons  # noqa: E402


def make_site(rng, n_zones, half_width_m=10_000.0):
    """A zone table of about half circles, half polygons."""
    kind = np.empty(n_zones, dtype=np.int64)
    center = np.empty((n_zones, 2))
    radius = np.zeros(n_zones)
    floor = np.zeros(n_zones)
    ceiling = rng.uniform(300.0, 1500.0, n_zones)
    polygons = []
    for k in range(n_zones):
        c = rng.uniform(-0.85 * half_width_m, 0.85 * half_width_m, 2)
        r = rng.uniform(300.0, 3000.0)
        if k % 2 == 0:
            kind[k] = 0
            center[k] = c
            radius[k] = r
            polygons.append(None)
            continue
        m = int(rng.integers(8, 17))
        if rng.random() < 0.5:
            vertices = naive.random_convex_polygon(rng, c, r, m)
        else:
            vertices = naive.random_star_polygon(rng, c, r, m)
        kind[k] = 1
        center[k] = vertices.mean(axis=0)
        polygons.append(vertices)
    poly_start, poly_xy = pack_polygons(polygons)
    return kind, center, radius, floor, ceiling, poly_start, poly_xy


def make_tracks(rng, n, table, half_width_m=10_000.0, aimed_fraction=0.2):
    """Tracks over the site; a fraction heads for a zone."""
    kind, center = table[0], table[1]
    x = np.zeros((n, 6))
    x[:, :2] = rng.uniform(-half_width_m, half_width_m, (n, 2))
    x[:, 2] = rng.uniform(0.0, 1500.0, n)
    heading = rng.uniform(0.0, 2.0 * np.pi, n)
    speed = rng.uniform(5.0, 60.0, n)
    x[:, 3] = speed * np.cos(heading)
    x[:, 4] = speed * np.sin(heading)
    x[:, 5] = np.where(rng.random(n) < 0.5, 0.0, rng.normal(0.0, 2.0, n))
    aimed = rng.random(n) < aimed_fraction
    target = center[rng.integers(len(kind), size=n)]
    to_target = target - x[:, :2]
    norm = np.maximum(np.linalg.norm(to_target, axis=1), 1.0)
    x[aimed, 3:5] = (to_target / norm[:, None] * speed[:, None])[aimed]
    P = np.empty((n, 6, 6))
    for i in range(n):
        P[i] = naive.random_covariance(rng, rng.uniform(10.0, 100.0), rng.uniform(0.5, 3.0))
    return x, P


def outputs(n, z):
    return (np.zeros((n, z), dtype=bool), np.empty((n, z)), np.empty((n, z)),
            np.empty((n, z)))


def check(table, rng, horizon_s, q_h, q_v, n_tracks=30):
    """evaluate_zones against the naive reference; raise on any disagreement."""
    zones = naive.zones_from_table(*table)
    x, P = make_tracks(rng, n_tracks, table, half_width_m=6000.0, aimed_fraction=0.8)
    got = outputs(n_tracks, len(zones))
    evaluate_zones(x, P, *table, horizon_s, q_h, q_v, *got, parallel=False)
    worst = dict(distance_m=0.0, tte_s=0.0, p_entry=0.0)
    entering = 0
    for i in range(n_tracks):
        for k, zone in enumerate(zones):
            inside, distance, tte, p_entry = naive.evaluate_pair(x[i], P[i], zone, horizon_s,
                                                                 q_h, q_v)
            if bool(got[0][i, k]) != inside or math.isinf(tte) != math.isinf(got[2][i, k]):
                raise SystemExit(f"check failed: track {i} zone {k}: inside/entry differ")
            worst["distance_m"] = max(worst["distance_m"], abs(got[1][i, k] - distance))
            if math.isfinite(tte):
                entering += 1
                worst["tte_s"] = max(worst["tte_s"], abs(got[2][i, k] - tte))
            worst["p_entry"] = max(worst["p_entry"], abs(got[3][i, k] - p_entry))
    if worst["distance_m"] > 1e-6 or worst["tte_s"] > 1e-6 or worst["p_entry"] > 1e-6:
        raise SystemExit(f"check failed: largest differences {worst}")
    print(f"check: {n_tracks} x {len(zones)} pairs ({entering} entering) agree with the "
          f"reference; largest differences {worst['distance_m']:.1e} m, "
          f"{worst['tte_s']:.1e} s, {worst['p_entry']:.1e}")
    return worst


def time_call(args, parallel, repeat):
    """Median and best wall time of ``repeat`` calls (after one warm-up)."""
    evaluate_zones(*args, parallel=parallel)
    walls = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        evaluate_zones(*args, parallel=parallel)
        walls.append(time.perf_counter() - t0)
    return float(np.median(walls)), float(np.min(walls))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=10_000)
    ap.add_argument("--zones", type=int, default=50)
    ap.add_argument("--horizon", type=float, default=120.0, help="look-ahead in seconds")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    q_h, q_v = 1.0, 0.25
    table = make_site(rng, args.zones)
    check(table, rng, args.horizon, q_h, q_v)

    x, P = make_tracks(rng, args.tracks, table)
    n, z = args.tracks, args.zones
    out = outputs(n, z)
    call = (x, P, *table, args.horizon, q_h, q_v, *out)
    pairs = n * z
    serial_median, serial_best = time_call(call, False, args.repeat)
    parallel_median, parallel_best = time_call(call, True, args.repeat)
    threads = numba.get_num_threads()
    print(f"zones: {n:,} tracks x {z} zones ({int(np.sum(table[0] == 1))} polygons), "
          f"horizon {args.horizon:.0f} s; {int(out[0].sum())} inside, "
          f"{int(np.isfinite(out[2]).sum())} entering, {int((out[3] > 0.01).sum())} "
          f"with p_entry > 0.01")
    print(f"serial:   {pairs / serial_median:,.0f} pairs/s "
          f"({serial_median * 1e3:.2f} ms per epoch, best {serial_best * 1e3:.2f} ms)")
    print(f"parallel: {pairs / parallel_median:,.0f} pairs/s "
          f"({parallel_median * 1e3:.2f} ms per epoch, best {parallel_best * 1e3:.2f} ms, "
          f"{threads} threads)")
    result = {
        "tracks": n, "zones": z, "horizon_s": args.horizon, "pairs": pairs,
        "serial_s": serial_median, "serial_pairs_per_s": pairs / serial_median,
        "parallel_s": parallel_median, "parallel_pairs_per_s": pairs / parallel_median,
        "threads": threads, "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(), "python": platform.python_version(),
        "numba": numba.__version__, "date": time.strftime("%Y-%m-%d"),
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
