"""Classifier cost per plot: this tree's features and model against an older revision's.

    python benchmarks/classify_speed.py [--tracks 10000] [--updates 40] [--repeat 5]
        [--old-source main]

Both versions run in one process on the same inputs: the old
``kernels/classify.py`` and its model file are taken from git
(``git show REV:kernels/classify.py``, ``REV:radarcore/core/classify_model.json``,
default ``main``) into ``out/``, imported under another name and compiled
there.  The old revision's per-epoch classifier is its ``classify_model``
(the learned model) where it has one, else its naive-Bayes ``classify``.  For ``--tracks`` tracks with ``--updates`` updates each (a random
history of states, times about a second apart and SNRs), it times

* ``update_features`` over every update (the per-plot part), and
* the classification of every track at one output epoch (the per-epoch part,
  ``classify_model`` with each revision's model),

first checking that the new kernels give the same feature columns as the
old where both have them.  Times are CPU times of this process
(``time.process_time``; the kernels run on one thread), so that other
work on a shared machine weighs less on them.  Rounds alternate old and new, so that a change
in machine load hits both; it prints the median and range of the per-round
ratios, the best nanoseconds per update and per track classification, and the ratio new / old per plot, with one output epoch per
``--plots-per-epoch`` plots of a track (1 s epochs, 1-4 radars).

The same rounds also time this tree's ``classify_model`` with each model
file of ``--other-model`` (default the regression,
``radarcore/core/classify_model_logistic.json``) beside the shipped model
(the trees): the per-track cost of each against the shipped one, one
kernel, one run.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from kernels import classify as new  # noqa: E402
from radarcore.core.classify_model import (  # noqa: E402
    LOGISTIC_MODEL_PATH, load_classify_model, model_from_dict)


K_NAMES = new.MODEL_KINDS

#: Output epochs timed together per round (one call is too short to time alone).
EPOCHS_PER_ROUND = 20


def load_old(rev, out_dir="out"):
    os.makedirs(out_dir, exist_ok=True)
    source = subprocess.run(["git", "show", f"{rev}:kernels/classify.py"], check=True,
                            capture_output=True, text=True).stdout
    path = os.path.join(out_dir, "old_classify.py")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(source)
    if out_dir not in sys.path:
        sys.path.insert(0, out_dir)
    return importlib.import_module("old_classify")


def load_old_model(old, rev):
    """The old revision's model vector in the old module's layout (None: it has no model)."""
    if not hasattr(old, "classify_model"):
        return None
    source = subprocess.run(["git", "show", f"{rev}:radarcore/core/classify_model.json"],
                            check=True, capture_output=True, text=True).stdout
    return model_from_dict(json.loads(source), f"{rev}:radarcore/core/classify_model.json",
                           kernel=old)


def histories(n_tracks, n_updates, seed=0):
    rng = np.random.default_rng(seed)
    xs = np.zeros((n_tracks, n_updates, 6))
    heading = rng.uniform(0, 2 * np.pi, n_tracks)
    speed = rng.uniform(0, 30, n_tracks)
    for k in range(n_updates):
        heading += rng.normal(0, 0.2, n_tracks)
        xs[:, k, :3] = rng.uniform(-5000, 5000, (n_tracks, 3))
        xs[:, k, 3] = speed * np.sin(heading)
        xs[:, k, 4] = speed * np.cos(heading)
        xs[:, k, 5] = rng.normal(0, 1, n_tracks)
    ts = np.cumsum(rng.uniform(0.5, 1.5, (n_tracks, n_updates)), axis=1)
    snr = rng.normal(15, 5, (n_tracks, n_updates))
    rng_m = rng.uniform(300, 9000, (n_tracks, n_updates))
    return xs, ts, snr, rng_m


_DRIVER_SOURCE = """
import numba
from {module} import update_features


@numba.njit
def drive(f, xs, ts, snr, rng_m):
    for i in range(ts.shape[0]):
        for k in range(ts.shape[1]):
            update_features(f[i], xs[i, k], ts[i, k], snr[i, k], rng_m[i, k])
"""
_DRIVERS = {}


def _driver(module, out_dir="out"):
    """A compiled loop over every update (no Python call per update), in a module of its own."""
    if module.__name__ not in _DRIVERS:
        name = "drive_" + module.__name__.replace(".", "_")
        path = os.path.join(out_dir, name + ".py")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(_DRIVER_SOURCE.format(module=module.__name__))
        _DRIVERS[module.__name__] = importlib.import_module(name).drive
    return _DRIVERS[module.__name__]


def run_updates(module, xs, ts, snr, rng_m):
    n_tracks, n_updates = ts.shape
    f = np.zeros((n_tracks, module.N_FEATURES))
    drive = _driver(module)
    t0 = time.process_time()
    drive(f, xs, ts, snr, rng_m)
    return f, time.process_time() - t0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=10000)
    parser.add_argument("--updates", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--plots-per-epoch", type=float, default=2.0)
    parser.add_argument("--old-source", default="main")
    parser.add_argument("--other-model", nargs="+", default=[LOGISTIC_MODEL_PATH],
                        help="model files timed beside the shipped model")
    args = parser.parse_args(argv)
    old = load_old(args.old_source)
    xs, ts, snr, rng_m = histories(args.tracks, args.updates)
    # compile both, then check them against each other
    run_updates(old, xs[:2], ts[:2], snr[:2], rng_m[:2])
    run_updates(new, xs[:2], ts[:2], snr[:2], rng_m[:2])
    f_old, _ = run_updates(old, xs, ts, snr, rng_m)
    f_new, _ = run_updates(new, xs, ts, snr, rng_m)
    n_shared = old.N_FEATURES
    same = np.allclose(f_new[:, :n_shared], f_old, rtol=1e-12, atol=1e-12)
    print(f"shared feature columns equal: {same}")
    if not same:
        raise SystemExit("the new update_features changed the old columns")
    slots = np.arange(args.tracks, dtype=np.int64)
    neighbours = np.random.default_rng(1).integers(0, 3, args.tracks).astype(np.int64)
    old_model = load_old_model(old, args.old_source)
    model = load_classify_model()
    trees = {path: load_classify_model(path) for path in args.other_model}
    out = np.empty((args.tracks, 4))

    def classify_old(t_epoch):
        if old_model is None:
            old.classify(f_old, slots, neighbours, old.default_classify_params(), out)
        else:
            old.classify_model(f_old, slots, neighbours, t_epoch, old_model, out)

    classify_old(1e6)
    new.classify_model(f_new, slots, neighbours, 1e6, model, out)
    for tree_model in trees.values():
        new.classify_model(f_new, slots, neighbours, 1e6, tree_model, out)
    timings = {"update_old": [], "update_new": [], "classify_old": [], "classify_new": [],
               **{("trees", path): [] for path in trees}}
    for r in range(args.repeat):
        # alternate, so that a change in machine load hits both
        timings["update_old"].append(run_updates(old, xs, ts, snr, rng_m)[1])
        timings["update_new"].append(run_updates(new, xs, ts, snr, rng_m)[1])
        t0 = time.process_time()
        for e in range(EPOCHS_PER_ROUND):
            classify_old(1e6 + r * EPOCHS_PER_ROUND + e + 1)
        timings["classify_old"].append((time.process_time() - t0) / EPOCHS_PER_ROUND)
        t0 = time.process_time()
        for e in range(EPOCHS_PER_ROUND):
            new.classify_model(f_new, slots, neighbours, 1e6 + r * EPOCHS_PER_ROUND + e + 1,
                               model, out)
        timings["classify_new"].append((time.process_time() - t0) / EPOCHS_PER_ROUND)
        for path, tree_model in trees.items():
            t0 = time.process_time()
            for e in range(EPOCHS_PER_ROUND):
                new.classify_model(f_new, slots, neighbours,
                                   1e6 + r * EPOCHS_PER_ROUND + e + 1, tree_model, out)
            timings["trees", path].append((time.process_time() - t0) / EPOCHS_PER_ROUND)
    n_updates = args.tracks * args.updates
    for part in ("update", "classify"):
        ratios = np.array(timings[f"{part}_new"]) / np.array(timings[f"{part}_old"])
        print(f"  {part}: new / old per round, median {np.median(ratios):.2f} "
              f"(range {ratios.min():.2f}-{ratios.max():.2f})")
    for path in trees:
        ratios = np.array(timings["trees", path]) / np.array(timings["classify_new"])
        print(f"  classify: {path} / shipped model per round, median {np.median(ratios):.2f} "
              f"(range {ratios.min():.2f}-{ratios.max():.2f})")
    best = {k: min(v) for k, v in timings.items()}
    per = {"update_old": best["update_old"] / n_updates * 1e9,
           "update_new": best["update_new"] / n_updates * 1e9,
           "classify_old": best["classify_old"] / args.tracks * 1e9,
           "classify_new": best["classify_new"] / args.tracks * 1e9,
           **{("trees", path): best["trees", path] / args.tracks * 1e9 for path in trees}}
    print(f"{args.tracks} tracks x {args.updates} updates, best of {args.repeat}")
    print(f"  update_features ns/update   old {per['update_old']:8.1f}  new {per['update_new']:8.1f}"
          f"  ratio {per['update_new'] / per['update_old']:.2f}")
    print(f"  classify ns/track-epoch     old {per['classify_old']:8.1f}  new "
          f"{per['classify_new']:8.1f}  ratio {per['classify_new'] / per['classify_old']:.2f}")
    kind = K_NAMES[int(model[new.M_KIND])]
    for path in trees:
        print(f"  classify ns/track-epoch     {kind} (shipped) {per['classify_new']:8.1f}  "
              f"{path} {per['trees', path]:8.1f}  ratio to shipped "
              f"{per['trees', path] / per['classify_new']:.2f}")
    k = args.plots_per_epoch
    old_plot = per["update_old"] + per["classify_old"] / k
    new_plot = per["update_new"] + per["classify_new"] / k
    print(f"  per plot ({k:g} plots per track-epoch)  old {old_plot:8.1f}  new {new_plot:8.1f}"
          f"  ratio {new_plot / old_plot:.2f}")
    return per


if __name__ == "__main__":
    main()
