"""Where a cold start's compile time goes: Numba compile events of one replay.

    NUMBA_CACHE_DIR=$(mktemp -d) python -m benchmarks.compile_time \
        [PLOTS --site SITE] [--top 15] [--out DIR] [--json FILE]

Runs ``radarcore replay`` in this process (by default on the bundled swarm
scene) with a recorder on Numba's ``numba:compile`` events and prints, per
compiled function (dispatcher):

* **top-level**: the CPU time of compilations not nested in another one
  (what a user waits for; a callee compiled while its caller is typed is
  counted in the caller);
* **self**: that time less the nested compilations it triggered: mostly the
  LLVM optimisation of the caller's module, which holds a linked copy of
  every callee (Numba re-optimises each callee inside each caller);
* **count**: how many times the dispatcher compiled (one per new signature;
  a function compiled twice with the same types is a bug worth a look).

Point ``NUMBA_CACHE_DIR`` at an empty directory, or every kernel loads from
the cache and nothing is measured (the script says so).
"""
import argparse
import collections
import json
import sys
import tempfile
import time
from pathlib import Path

from numba.core import event

REPO = Path(__file__).resolve().parent.parent


def _key(data):
    dispatcher = (data or {}).get("dispatcher")
    if dispatcher is None:
        return str(data)
    func = dispatcher.py_func
    return f"{func.__module__}.{func.__qualname__}"


class _Recorder(event.Listener):
    """Each compile event's start and end with the wall clock and this process's CPU time."""

    def __init__(self):
        self.buffer = []

    def on_start(self, ev):
        self.buffer.append((time.perf_counter(), time.process_time(), ev))

    def on_end(self, ev):
        self.buffer.append((time.perf_counter(), time.process_time(), ev))


def profile(args):
    """Run the replay under the recorder: per dispatcher ``top``, ``self_`` (CPU seconds),
    ``count`` and ``signatures`` (argument types of each compilation), and the replay's
    ``wall_s`` and ``cpu_s``."""
    from radarcore.cli import main

    rec = _Recorder()
    with tempfile.TemporaryDirectory() as tmp, event.install_listener("numba:compile", rec):
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        try:
            main(["replay", str(args.plots), "--site", str(args.site), "--out", args.out or tmp])
        except SystemExit as stop:
            if stop.code not in (None, 0):
                raise
        wall_s = time.perf_counter() - t0
        cpu_s = time.process_time() - cpu0
    top = collections.Counter()
    self_ = collections.Counter()
    count = collections.Counter()
    signatures = collections.defaultdict(list)
    stack = []  # [key, CPU time at the start, CPU time spent in nested compilations]
    for _, cpu, ev in rec.buffer:
        if ev.is_start:
            stack.append([_key(ev.data), cpu, 0.0])
            signatures[stack[-1][0]].append(str((ev.data or {}).get("args", "")))
            continue
        key, cpu_start, nested = stack.pop()
        spent = cpu - cpu_start
        count[key] += 1
        self_[key] += spent - nested
        if stack:
            stack[-1][2] += spent
        else:
            top[key] += spent
    return top, self_, count, signatures, wall_s, cpu_s


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("plots", nargs="?", default=REPO / "replay_data/swarm/plots.csv")
    parser.add_argument("--site", default=REPO / "replay_data/swarm/site.toml")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--out", help="keep the replay's output files in this directory")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    top, self_, count, signatures, wall_s, cpu_s = profile(args)
    if not count:
        raise SystemExit("nothing compiled: point NUMBA_CACHE_DIR at an empty directory")
    print("CPU seconds of this process (compilation is single-threaded; on a shared machine\n"
          "the wall clock also counts the time other processes had the CPU)")
    print(f"{'top-level s':>12} {'self s':>8} {'count':>6}  dispatcher")
    for key, _ in (top + collections.Counter()).most_common(args.top):
        print(f"{top[key]:12.1f} {self_[key]:8.1f} {count[key]:6d}  {key}")
    print(f"{sum(top.values()):12.1f} {sum(self_.values()):8.1f} {sum(count.values()):6d}  "
          f"total (replay: {cpu_s:.1f} CPU s, {wall_s:.1f} s wall)")
    print("\nlargest self times:")
    for key, value in self_.most_common(args.top):
        print(f"{'':12} {value:8.1f} {count[key]:6d}  {key}")
    twice = sorted(key for key, n in count.items() if n > 1 and not key.startswith("numba."))
    print("\nproject functions compiled more than once:" + ("" if twice else " none"))
    for key in twice:
        print(f"  {key}: {self_[key]:.1f} s self")
        for signature in signatures[key]:
            print(f"    {signature}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"wall_s": wall_s, "cpu_s": cpu_s, "top_s": dict(top), "self_s": dict(self_), "count": dict(count),
             "signatures": dict(signatures)},
            indent=1, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main())
