"""Track classification and bird false alerts, measured on the engine's output.

    python benchmarks/classification.py [--scenarios birdzone:0-3 birds:1-2 ...]
        [--model FILE] [--flock-radius M] [--flock-dv MPS] [--jobs 2] [--quiet]

Runs the engine (:class:`radarcore.core.engine.Engine`) on simulated scenarios
(:func:`radarcore.sim.simulate.simulate`) and keeps, for every output row of a
confirmed or coasting track, the class probabilities the engine computed for
it (the EMIT step's ``out_class``, captured by a subclass that records what
``Engine._rows`` receives) and the alert events.

**Row labels.**  A row is labelled with the kind (``drone``, ``bird``,
``aircraft``, ``balloon``) of the nearest truth target within
:data:`LABEL_RADIUS_M` (3-D distance, truth linearly interpolated to the
row's time), or ``clutter`` when there is none.  A track's **age** is the
time since its first output row; rows are grouped into the bands of
:data:`AGE_BANDS_S`.

**Confusion.**  Per age band, rows are the true kind and columns the class
``argmax p`` and the class the alert manager counts (``counted``: the argmax
class when its probability is at least ``class_min_p`` of the site's alert
configuration, else ``unknown``, as in :mod:`radarcore.core.alerts`).

**Alerts.**  Each alert event is attributed to the truth target nearest
horizontally to the event's ``east_m, north_m`` at its ``time_s``, if within
:data:`ATTRIBUTION_RADIUS_M`.  A **false bird alert** is a ``raise`` attributed
to a bird that never entered a critical zone of the event's asset (true zone
entries from :func:`radarcore.sim.intrusions.truth_zone_events`), or to no
truth at all (``clutter``); rates are per hour of scenario time.  The **lead
time** of a drone's entry into an ``alert`` zone is the entry time minus the
time of the first ``raise`` or ``escalate`` event attributed to that drone for
that asset at level ``alert`` or higher (negative: late; ``miss``: none
within :data:`LATE_LIMIT_S` after the entry).  **Drone as bird** counts, per
drone, the epochs in which a row labelled with it is counted as a bird (the
longest run of consecutive epochs in brackets).

A classifier model file (``--model``, written by
``benchmarks/fit_classifier.py``; default the shipped
``radarcore/core/classify_model.json``) and the flocking radius and velocity
bound are overridden per engine instance, so candidates can be compared
without editing the sources.
"""
import argparse
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from kernels import tracker as tracker_kernels  # noqa: E402
from kernels.classify import CLASS_NAMES, C_BIRD, C_UNKNOWN  # noqa: E402
from kernels.classify import validate_model_params  # noqa: E402
from radarcore.core.classify_model import load_classify_model  # noqa: E402
from radarcore.core.engine import Engine  # noqa: E402
from radarcore.sim.simulate import simulate, truth_zone_events  # noqa: E402

#: A row is labelled with the nearest truth target within this 3-D distance (m).
LABEL_RADIUS_M = 100.0
#: An alert event is attributed to the nearest truth within this horizontal distance (m).
ATTRIBUTION_RADIUS_M = 150.0
#: Track age bands (s): [lo, hi).
AGE_BANDS_S = ((0.0, 10.0), (10.0, 30.0), (30.0, math.inf))
#: An alert-level event this long after a drone's entry still counts (as late).
LATE_LIMIT_S = 60.0
#: True kinds, in table order.
KINDS = ("drone", "bird", "aircraft", "balloon", "clutter")
#: The default run: the scenarios and seeds of the classification targets.
DEFAULT_RUNS = ("birdzone:0-3", "birds:1-2", "intrusion:0-2", "hover:0-2", "skirt:0-2",
                "swarm:0-2", "sparse:0-2")
#: Scenarios whose drone lead times are reported.
LEAD_SCENARIOS = ("intrusion", "birdzone", "birdrich", "birdmix")


class RecordingEngine(Engine):
    """An :class:`Engine` that keeps the class probabilities of every row it emits."""

    def __init__(self, site, **kwargs):
        super().__init__(site, **kwargs)
        self.class_log = []

    def _rows(self, out_t, out_id, out_status, out_x, out_sigma, out_P, out_class):
        rows = super()._rows(out_t, out_id, out_status, out_x, out_sigma, out_P, out_class)
        if out_t.size:
            # the same order as Engine._rows: by (time, track id)
            self.class_log.append(out_class[np.lexsort((out_id, out_t))].copy())
        return rows


# ---------------------------------------------------------------------------
# Running and labelling
# ---------------------------------------------------------------------------

def run_engine(scenario, classify_params=None, flock_radius_m=None, flock_max_dv_mps=None):
    """Rows, class probabilities (rows x 4) and alert events of one scenario."""
    engine = RecordingEngine(scenario.site)
    if classify_params is not None:
        engine.classify_params = validate_model_params(classify_params)
    if flock_radius_m is not None:
        engine.params[tracker_kernels.P_FLOCK_RADIUS] = float(flock_radius_m)
    if flock_max_dv_mps is not None:
        engine.params[tracker_kernels.P_FLOCK_DV] = float(flock_max_dv_mps)
    parts = [engine.process(scenario.plots), engine.flush()]
    rows = np.concatenate([p for p in parts if p.size])
    class_p = np.concatenate(engine.class_log)
    if class_p.shape[0] != rows.size:
        raise RuntimeError(f"captured {class_p.shape[0]} class rows for {rows.size} track rows")
    return rows, class_p, engine.pop_alerts()


def truth_tracks(truth):
    """Per target: (target_id, kind, times, positions (n, 3)), sorted by time."""
    order = np.lexsort((truth["time_s"], truth["target_id"]))
    truth = truth[order]
    ids, start = np.unique(truth["target_id"], return_index=True)
    ends = np.append(start[1:], truth.size)
    out = []
    for target_id, lo, hi in zip(ids.tolist(), start.tolist(), ends.tolist()):
        chunk = truth[lo:hi]
        pos = np.column_stack((chunk["east_m"], chunk["north_m"], chunk["up_m"]))
        out.append((target_id, str(chunk["kind"][0]), chunk["time_s"].copy(), pos))
    return out


def truth_positions(tracks, times):
    """Truth positions at ``times``, shape (n_targets, len(times), 3); NaN outside a life."""
    out = np.full((len(tracks), times.size, 3), np.nan)
    for m, (_, _, t, pos) in enumerate(tracks):
        alive = (times >= t[0]) & (times <= t[-1])
        for axis in range(3):
            out[m, alive, axis] = np.interp(times[alive], t, pos[:, axis])
    return out


def nearest_target(positions, epoch_index, points, radius_m, horizontal):
    """Index of the nearest target to each point at one epoch (-1 beyond radius_m)."""
    axes = 2 if horizontal else 3
    truth = positions[:, epoch_index, :axes]
    d2 = ((points[:, None, :axes] - truth[None, :, :]) ** 2).sum(axis=2)
    d2 = np.where(np.isnan(d2), np.inf, d2)
    if truth.shape[0] == 0:
        return np.full(points.shape[0], -1)
    best = d2.argmin(axis=1)
    return np.where(d2[np.arange(points.shape[0]), best] <= radius_m ** 2, best, -1)


def label_rows(rows, tracks):
    """Target index (-1: clutter) and age (s) of every row."""
    times, epoch_of_row = np.unique(rows["time_s"], return_inverse=True)
    positions = truth_positions(tracks, times)
    target = np.full(rows.size, -1)
    points = np.column_stack((rows["east_m"], rows["north_m"], rows["up_m"]))
    bounds = np.flatnonzero(np.diff(epoch_of_row)) + 1
    for lo, hi in zip(np.concatenate(([0], bounds)), np.concatenate((bounds, [rows.size]))):
        target[lo:hi] = nearest_target(positions, epoch_of_row[lo], points[lo:hi],
                                       LABEL_RADIUS_M, horizontal=False)
    ids, first = np.unique(rows["track_id"], return_index=True)
    first_time = rows["time_s"][first]
    age = rows["time_s"] - first_time[np.searchsorted(ids, rows["track_id"])]
    return target, age


def attribute_events(events, tracks):
    """Target index (-1: none) of each alert event."""
    if not events:
        return np.zeros(0, int)
    times = np.array([e["time_s"] for e in events])
    points = np.array([[e["east_m"], e["north_m"], 0.0] for e in events])
    positions = truth_positions(tracks, times)
    return np.array([nearest_target(positions, k, points[k:k + 1], ATTRIBUTION_RADIUS_M,
                                    horizontal=True)[0] for k in range(len(events))], dtype=int)


def counted_class(class_p, class_min_p):
    """The class the alert manager counts: argmax if p >= class_min_p, else unknown."""
    best = class_p.argmax(axis=1)
    sure = class_p[np.arange(best.size), best] >= class_min_p
    return np.where(sure, best, C_UNKNOWN)


def evaluate(name, seed, classify_params=None, flock_radius_m=None, flock_max_dv_mps=None):
    """Every figure of one scenario run, as plain arrays and dicts (picklable)."""
    scenario = simulate(name, seed)
    rows, class_p, events = run_engine(scenario, classify_params, flock_radius_m, flock_max_dv_mps)
    tracks = truth_tracks(scenario.truth)
    kinds = np.array([kind for _, kind, _, _ in tracks] + ["clutter"])
    class_min_p = scenario.site.alerts.class_min_p

    keep = (rows["status"] == 2) | (rows["status"] == 3)
    target, age = label_rows(rows, tracks)
    target, age, kept_p, kept = target[keep], age[keep], class_p[keep], rows[keep]
    counted = counted_class(kept_p, class_min_p)
    true_kind = kinds[target]          # index -1 is "clutter"

    # drones counted as birds: epochs per drone and the longest consecutive run
    drone_as_bird = {}
    period_s = _period(kept)
    for m, (target_id, kind, _, _) in enumerate(tracks):
        if kind != "drone":
            continue
        times = np.unique(kept["time_s"][(target == m) & (counted == C_BIRD)])
        longest = run = 0
        for k in range(times.size):
            run = run + 1 if k and times[k] - times[k - 1] < 1.5 * period_s else 1
            longest = max(longest, run)
        drone_as_bird[target_id] = (int(times.size), int(longest))

    # alert attribution
    zone_events = truth_zone_events(scenario.truth, scenario.site)
    critical = {(int(z["target_id"]), str(z["asset_id"]))
                for z in zone_events if z["level"] == "critical"}
    owner = attribute_events(events, tracks)
    false_bird, false_clutter, raises = [], [], 0
    for event, m in zip(events, owner):
        if event["event"] != "raise":
            continue
        raises += 1
        if m < 0:
            false_clutter.append(event)
        elif tracks[m][1] == "bird" and (tracks[m][0], event["asset_id"]) not in critical:
            false_bird.append(event)

    # birds that raised any alert (a raise attributed to them), and at alert or critical
    n_birds = sum(1 for tr in tracks if tr[1] == "bird")
    raised_any = {int(m) for e, m in zip(events, owner) if e["event"] == "raise" and m >= 0
                  and tracks[m][1] == "bird"}
    raised_high = {int(m) for e, m in zip(events, owner) if e["event"] in ("raise", "escalate")
                   and m >= 0 and tracks[m][1] == "bird" and e["level"] in ("alert", "critical")}

    leads = []
    for z in zone_events:
        if z["kind"] != "drone" or z["level"] != "alert" or z["at_start"] or z["entry_index"]:
            continue
        m = next(i for i, tr in enumerate(tracks) if tr[0] == int(z["target_id"]))
        times = [e["time_s"] for e, o in zip(events, owner)
                 if o == m and e["asset_id"] == z["asset_id"]
                 and e["event"] in ("raise", "escalate")
                 and e["level"] in ("alert", "critical")
                 and e["time_s"] <= z["entry_time_s"] + LATE_LIMIT_S]
        lead = float(z["entry_time_s"] - min(times)) if times else None
        leads.append((int(z["target_id"]), str(z["asset_id"]), lead))

    return {
        "name": name, "seed": seed, "duration_s": float(scenario.info["duration_s"]),
        "true_kind": true_kind, "argmax": kept_p.argmax(axis=1), "counted": counted, "age": age,
        "drone_as_bird": drone_as_bird, "raises": raises,
        "false_bird": [(e["time_s"], e["asset_id"], e["level"], e["class"], e["track_id"])
                       for e in false_bird],
        "false_clutter": [(e["time_s"], e["asset_id"], e["level"], e["class"], e["track_id"])
                          for e in false_clutter],
        "leads": leads, "n_birds": n_birds, "birds_raised": len(raised_any),
        "birds_raised_high": len(raised_high),
    }


def _period(rows):
    t = np.unique(rows["time_s"])
    return float(np.min(np.diff(t))) if t.size > 1 else 1.0


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------

def confusion(true_kind, predicted):
    """Counts, shape (len(KINDS), len(CLASS_NAMES))."""
    table = np.zeros((len(KINDS), len(CLASS_NAMES)), dtype=np.int64)
    for r, kind in enumerate(KINDS):
        sel = true_kind == kind
        table[r] = np.bincount(predicted[sel], minlength=len(CLASS_NAMES))
    return table


def print_confusion(results, title):
    true_kind = np.concatenate([r["true_kind"] for r in results])
    age = np.concatenate([r["age"] for r in results])
    columns = {"argmax": np.concatenate([r["argmax"] for r in results]),
               "counted": np.concatenate([r["counted"] for r in results])}
    print(f"\n== Confusion, {title} (rows: true kind; % of the row; n = rows) ==")
    for lo, hi in AGE_BANDS_S:
        band = (age >= lo) & (age < hi)
        label = f"age {lo:g}-{hi:g} s" if math.isfinite(hi) else f"age > {lo:g} s"
        header = "".join(f"{c:>9}" for c in CLASS_NAMES)
        print(f"  {label:<16}{'argmax':^36} |{'counted (p >= class_min_p)':^36}")
        print(f"  {'true':<10}{'n':>7}{header} |{header}")
        tables = {k: confusion(true_kind[band], v[band]) for k, v in columns.items()}
        for r, kind in enumerate(KINDS):
            n = int(tables["argmax"][r].sum())
            if n == 0:
                continue
            cells = [" ".join(f"{100.0 * v / n:8.1f}" for v in tables[k][r]) for k in columns]
            print(f"  {kind:<10}{n:>7} {cells[0]} | {cells[1]}")


def print_alerts(results):
    print("\n== Alerts per scenario run ==")
    print(f"  {'run':<14}{'raises':>7}{'false bird':>12}{'/h':>7}{'no truth':>10}{'/h':>7}"
          f"{'birds raising':>15}{'(alert+)':>10}   drones counted as bird: epochs (longest run)")
    for r in results:
        hours = r["duration_s"] / 3600.0
        worst = ", ".join(f"{tid}:{n}({run})"
                          for tid, (n, run) in sorted(r["drone_as_bird"].items()) if n)
        print(f"  {r['name'] + ':' + str(r['seed']):<14}{r['raises']:>7}{len(r['false_bird']):>12}"
              f"{len(r['false_bird']) / hours:>7.1f}{len(r['false_clutter']):>10}"
              f"{len(r['false_clutter']) / hours:>7.1f}"
              f"{r['birds_raised']:>8}/{r['n_birds']:<6}{r['birds_raised_high']:>10}   {worst or '-'}")
    by_name = {}
    for r in results:
        by_name.setdefault(r["name"], []).append(r)
    n_birds = sum(r["n_birds"] for r in results)
    if n_birds:
        raised = sum(r["birds_raised"] for r in results)
        high = sum(r["birds_raised_high"] for r in results)
        print(f"\n  birds that raised any alert: {raised} of {n_birds} "
              f"({100.0 * raised / n_birds:.1f} %), at alert or critical: {high} "
              f"({100.0 * high / n_birds:.1f} %)")
    print("\n  totals per scenario: false alerts per hour (bird + no truth), drone epochs as bird")
    for name, runs in by_name.items():
        hours = sum(r["duration_s"] for r in runs) / 3600.0
        bird = sum(len(r["false_bird"]) for r in runs)
        clutter = sum(len(r["false_clutter"]) for r in runs)
        drone = sum(n for r in runs for n, _ in r["drone_as_bird"].values())
        longest = max((run for r in runs for _, run in r["drone_as_bird"].values()), default=0)
        print(f"  {name:<12} bird {bird:3d} ({bird / hours:6.1f}/h)  no truth {clutter:3d} "
              f"({clutter / hours:6.1f}/h)  together {(bird + clutter) / hours:6.1f}/h   "
              f"drone-as-bird epochs {drone} (longest run {longest})")


def print_false_events(results):
    print("\n== False bird / no-truth raises: time_s asset level class track ==")
    for r in results:
        for label, items in (("bird", r["false_bird"]), ("no truth", r["false_clutter"])):
            for t, asset, level, cls, track in items:
                print(f"  {r['name']}:{r['seed']:<3} {label:<9} {t:7.1f} {asset:<14} {level:<9} "
                      f"{cls:<8} {track}")


def print_leads(results):
    print("\n== Drone lead times into alert zones (s; entry time - first alert-level event) ==")
    for r in results:
        if r["name"] not in LEAD_SCENARIOS or not r["leads"]:
            continue
        text = "  ".join(f"{tid}@{asset}:{'miss' if lead is None else f'{lead:.0f}'}"
                         for tid, asset, lead in r["leads"])
        print(f"  {r['name']}:{r['seed']:<3} {text}")


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def parse_runs(specs):
    """``name:0-3`` or ``name:0,2`` -> [(name, seed), ...]."""
    runs = []
    for spec in specs:
        name, _, seeds = spec.partition(":")
        for part in (seeds or "0").split(","):
            lo, _, hi = part.partition("-")
            runs.extend((name, s) for s in range(int(lo), int(hi or lo) + 1))
    return runs


def _evaluate(args):
    return evaluate(*args)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", nargs="+", default=list(DEFAULT_RUNS),
                        help="runs as name:seeds, e.g. birdzone:0-3 birds:1,2")
    parser.add_argument("--model", default=None,
                        help="classifier model file (default: the shipped one)")
    parser.add_argument("--flock-radius", type=float, default=None, help="flocking radius (m)")
    parser.add_argument("--flock-dv", type=float, default=None,
                        help="flocking velocity bound (m/s)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--quiet", action="store_true", help="no per-event listing")
    args = parser.parse_args(argv)

    params = load_classify_model(args.model)
    runs = parse_runs(args.scenarios)
    Engine.warmup()
    start = time.perf_counter()
    jobs = [(name, seed, params, args.flock_radius, args.flock_dv) for name, seed in runs]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            results = list(pool.map(_evaluate, jobs))
    else:
        results = [_evaluate(job) for job in jobs]
    print(f"{len(runs)} runs in {time.perf_counter() - start:.1f} s")

    bird_scenes = ("birdzone", "birds", "birdrich", "birdmix", "birdlarge")
    bird_runs = [r for r in results if r["name"] in bird_scenes]
    drone_runs = [r for r in results if r["name"] not in bird_scenes]
    if bird_runs:
        print_confusion(bird_runs, "bird scenarios (" + ", ".join(
            sorted({r["name"] for r in bird_runs})) + ")")
    if drone_runs:
        print_confusion(drone_runs, "drone scenarios (" + ", ".join(
            sorted({r["name"] for r in drone_runs})) + ")")
    print_alerts(results)
    print_leads(results)
    if not args.quiet:
        print_false_events(results)
    return results


if __name__ == "__main__":
    main()
