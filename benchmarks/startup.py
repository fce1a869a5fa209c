"""Start-up time of ``radarcore replay``: cold and warm Numba cache.

    python benchmarks/startup.py [--warm-runs 3] [--json FILE]

Simulates the ``sparse`` scenario for 10 s into a temporary directory, then
times whole ``python -m radarcore.cli replay`` subprocesses on that tiny
plots.csv, so the figure is dominated by interpreter start-up, imports and
compilation, not by tracking:

* **cold**: ``NUMBA_CACHE_DIR`` points at a fresh, empty directory, so every
  kernel the replay calls is compiled and written to that cache;
* **warm**: the same command again with the same cache directory, so every
  kernel is loaded from the cache (``--warm-runs`` times; median and best).

Before any figure is printed the runs are checked: each exits 0, the cold
run fills the cache, and every run writes the same tracks.csv bytes (a cache
that changed the results would make the timing meaningless).  The table
gives the subprocess wall time and the replay's own ``wall_time_s`` (engine
construction and processing, from summary.json); the difference is start-up.
"""
import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _environment(cache_dir=None):
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def _children_cpu_s():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cli(args, env, timeout_s, cpu=None):
    """Run ``radarcore ARGS``; its wall time (and, into the list ``cpu``, its CPU time)."""
    command = [sys.executable, "-m", "radarcore.cli", *args]
    cpu0 = _children_cpu_s()
    t0 = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"{' '.join(command)} did not finish within {timeout_s:g} s "
                         f"(a cold start compiles every kernel: is the machine busy?)") from None
    wall = time.perf_counter() - t0
    if cpu is not None:
        cpu.append(_children_cpu_s() - cpu0)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr}")
    return wall


def _cache_files(cache_dir):
    return sum(1 for p in Path(cache_dir).rglob("*") if p.suffix in (".nbi", ".nbc"))


def measure(work_dir, warm_runs=3, timeout_s=600.0, cold=True):
    """Time a cold replay and ``warm_runs`` warm replays in ``work_dir``.

    With ``cold=False`` the replays use the usual Numba cache, filled by one
    untimed replay first (``cold_s``, ``cold_cpu_s`` and ``replay_cold_s`` are
    then None): the warm figure alone, for a machine too busy to compile
    every kernel within ``timeout_s``.

    Returns
    -------
    dict
        ``cold_s``, ``warm_s`` (median), ``warm_best_s``, ``warm_runs_s``
        (list), ``cold_cpu_s`` and ``warm_cpu_s`` (median) the processes' CPU
        time (user + system: on a shared machine the better measure),
        ``replay_cold_s`` and ``replay_warm_s`` (the replays' own
        wall_time_s, median for warm), ``plots`` and ``cache_files``.
    """
    work_dir = Path(work_dir)
    scenario = work_dir / "scenario"
    cache = work_dir / "numba_cache"
    cache.mkdir()
    # the scenario is written with the usual cache, so the replay's stays empty
    _cli(["simulate", "sparse", "--duration", "10", "--seed", "1000", "--out", str(scenario)],
         _environment(), timeout_s)
    with open(scenario / "plots.csv") as f:
        n_plots = sum(1 for _ in f) - 1

    cpu = []

    def replay(name):
        out = work_dir / name
        wall = _cli(["replay", str(scenario / "plots.csv"), "--site", str(scenario / "site.toml"),
                     "--out", str(out), "--quiet"], _environment(cache if cold else None), timeout_s, cpu)
        with open(out / "summary.json") as f:
            replay_wall = json.load(f)["wall_time_s"]
        return wall, replay_wall, (out / "tracks.csv").read_bytes()

    cold_s, replay_cold_s, reference = replay("cold")
    cache_files = _cache_files(cache) if cold else None
    if cold and cache_files == 0:
        raise SystemExit(f"the cold run wrote no Numba cache files into {cache}")
    warm = []
    for k in range(warm_runs):
        wall, replay_wall, tracks = replay(f"warm{k}")
        if tracks != reference:
            raise SystemExit(f"warm run {k} wrote a different tracks.csv than the cold run")
        warm.append((wall, replay_wall))
    if not cold:
        cold_s = replay_cold_s = None
    return {
        "cold_s": cold_s,
        "warm_s": statistics.median(w for w, _ in warm),
        "warm_best_s": min(w for w, _ in warm),
        "warm_runs_s": [w for w, _ in warm],
        "cold_cpu_s": cpu[0] if cold else None,
        "warm_cpu_s": statistics.median(cpu[1:]),
        "warm_cpu_runs_s": cpu[1:],
        "replay_cold_s": replay_cold_s,
        "replay_warm_s": statistics.median(r for _, r in warm),
        "plots": n_plots,
        "cache_files": cache_files,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-runs", type=int, default=3, metavar="N",
                        help="warm runs after the cold one (default 3; the median is reported)")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if args.warm_runs < 1:
        parser.error("--warm-runs must be at least 1")

    work_dir = tempfile.mkdtemp(prefix="radarcore-startup-")
    try:
        figures = measure(work_dir, args.warm_runs)
    finally:
        if args.keep:
            print(f"kept {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)

    print(f"radarcore replay start-up: sparse scenario, 10 s, {figures['plots']:,} plots; "
          f"{figures['cache_files']} Numba cache files after the cold run")
    print(f"{'':6s}  {'process s':>9s}  {'CPU s':>6s}  {'replay s':>8s}")
    print(f"{'cold':6s}  {figures['cold_s']:9.2f}  {figures['cold_cpu_s']:6.2f}  {figures['replay_cold_s']:8.2f}")
    print(f"{'warm':6s}  {figures['warm_s']:9.2f}  {figures['warm_cpu_s']:6.2f}  {figures['replay_warm_s']:8.2f}"
          f"   (median of {args.warm_runs}, best {figures['warm_best_s']:.2f} s)")
    if args.json:
        figures["python"] = platform.python_version()
        figures["machine"] = platform.machine()
        figures["cpus"] = os.cpu_count()
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2, sort_keys=True)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
