"""Soak run of the live service: a steady plot rate for minutes; memory and lost plots.

    python benchmarks/soak.py [--minutes 10] [--rate 50000] [--targets 500]
                              [--scenario-s 600] [--frame-plots 100] [--json FILE]

Not a CI test.  ``radarcore serve`` runs as a subprocess; this process sends
a ``large`` scenario (``--targets`` targets, ``--scenario-s`` seconds; played
again and again, each copy 30 s of data time after the last, as long as the
run lasts) as ``--frame-plots``-plot frames paced at ``--rate`` plots/s, and
reads serve's ``stats`` messages.  Reported: serve's resident memory (VmRSS)
at the start (after the first 5 % of the run, once the engine's tables have
grown to the picture) and at the end, its growth over the second half, and
the plots sent, received, processed, shed and lost (sent but not processed).
"""
import argparse
import importlib.util
import json
import os
import tempfile
import time

import numpy as np

_spec = importlib.util.spec_from_file_location(
    "serve_benchmark", os.path.join(os.path.dirname(os.path.abspath(__file__)), "serve.py"))
serve_benchmark = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(serve_benchmark)

from radarcore.sim.simulate import simulate  # noqa: E402

GAP_S = 30.0


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS")


def copies(plots, frame_plots):
    """Frames of the scenario played again and again, each copy later in data time."""
    period = float(plots["time_s"].max() - plots["time_s"].min()) + GAP_S
    seq = {}
    k = 0
    while True:
        copy = plots.copy()
        copy["time_s"] += k * period
        frames, seq = serve_benchmark.encode_frames(copy, frame_plots, seq)   # sectors of <= 0.5 s
        for message in frames:
            yield message, (len(message[1]) // plots.dtype.itemsize)
        k += 1


def soak(minutes, rate, targets, scenario_s, frame_plots, workdir):
    scenario = simulate("large", seed=3, n_targets=targets, duration_s=scenario_s)
    serve = serve_benchmark.ServeProcess(scenario.site, workdir, stats_interval_s=1.0)
    pid = serve.pid()
    duration = minutes * 60.0
    samples = []                     # (seconds since start, RSS MiB)
    sent = frames_sent = 0
    t0 = time.perf_counter()
    next_sample = 0.0
    for message, size in copies(scenario.plots, frame_plots):
        now = time.perf_counter() - t0
        if now >= duration:
            break
        if now >= next_sample:
            samples.append((now, rss_mib(pid)))
            serve.poll_messages(0)
            next_sample += 1.0
        wait = sent / rate - now
        if wait > 0:
            time.sleep(wait)         # pacing the sender
        serve.push.send_multipart(message)
        sent += size
        frames_sent += 1
    wall = time.perf_counter() - t0
    serve.wait(lambda s: s["frames_received"] >= frames_sent
               and s["plots_processed"] + s["plots_shed"] >= s["plots_received"])
    samples.append((time.perf_counter() - t0, rss_mib(pid)))
    final = serve.stop()
    t = np.array([s for s, _ in samples])
    rss = np.array([m for _, m in samples])
    start = rss[t >= 0.05 * duration][0]
    half = rss[t >= 0.5 * duration][0]
    interval_p99 = [s["latency_interval_ms"]["p99"] for s in serve.stats
                    if s.get("latency_interval_ms", {}).get("p99") is not None]
    return {
        "minutes": minutes, "rate": rate, "targets": targets, "frame_plots": frame_plots,
        "offered_plots_per_s": sent / wall, "mean_frame_plots": sent / frames_sent,
        "plots_sent": sent, "frames_sent": frames_sent,
        "frames_received": final["frames_received"], "plots_received": final["plots_received"],
        "plots_processed": final["plots_processed"], "plots_shed": final["plots_shed"],
        "plots_rejected": final["plots_rejected"], "frames_rejected": final["frames_rejected"],
        "plots_lost": sent - final["plots_processed"],
        "rss_start_mib": float(start), "rss_half_mib": float(half), "rss_end_mib": float(rss[-1]),
        "rss_max_mib": float(rss.max()),
        "latency_ms": final["latency_ms"],
        "worst_1s_p99_ms": max(interval_p99) if interval_p99 else None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=50_000.0)
    parser.add_argument("--targets", type=int, default=500)
    parser.add_argument("--scenario-s", type=int, default=600)
    parser.add_argument("--frame-plots", type=int, default=100)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        r = soak(args.minutes, args.rate, args.targets, args.scenario_s, args.frame_plots, workdir)
    print(f"soak: {r['minutes']:g} min at {r['offered_plots_per_s']:,.0f} plots/s offered "
          f"(frames of at most {r['frame_plots']} plots, {r['mean_frame_plots']:.1f} on average; "
          f"{r['targets']} targets)")
    print(f"  memory (VmRSS)  start {r['rss_start_mib']:.1f} MiB, half-way {r['rss_half_mib']:.1f} MiB, "
          f"end {r['rss_end_mib']:.1f} MiB, max {r['rss_max_mib']:.1f} MiB")
    print(f"  plots           sent {r['plots_sent']:,}, received {r['plots_received']:,}, "
          f"processed {r['plots_processed']:,}, shed {r['plots_shed']:,}, lost {r['plots_lost']:,}")
    print(f"  frames          sent {r['frames_sent']:,}, received {r['frames_received']:,}, rejected "
          + (", ".join(f"{k} {v}" for k, v in r["frames_rejected"].items() if v) or "none"))
    rejected = ", ".join(f"{k} {v}" for k, v in r["plots_rejected"].items() if v) or "none"
    print("  plots rejected  " + rejected)
    lat = r["latency_ms"]
    print(f"  latency         p50 {lat['p50']:.2f} ms, p99 {lat['p99']:.2f} ms, worst 1 s p99 "
          f"{r['worst_1s_p99_ms']:.2f} ms")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=2)


if __name__ == "__main__":
    main()
