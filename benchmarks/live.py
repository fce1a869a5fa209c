"""Live mode (``tracker.history_s`` > 0): true latency, accuracy against the reorder
window, a soak, and replay of the soak's recording.

    python -m benchmarks.live gospa   [--seeds 1000 1001 ...] [--json FILE]
    python -m benchmarks.live latency [--rate 50000] [--seconds 20] [--targets 2000] [--drain 120] [--json FILE]
    python -m benchmarks.live soak    [--rate 50000] [--minutes 30] [--targets 2000] [--drain 120] [--json FILE]
    python -m benchmarks.live cpu     [--targets 2000] [--frames 2600] [--gather 20] [--alert-interval 0] [--json FILE]

``gospa``: each project scene (seeds >= 1000, report seeds) is cut into
per-radar frames (:func:`radarcore.service.emulate.plan_bursts`, at most 100
plots within 0.05 s); the frames of two radars arrive late by a random delay
of up to 0.5 s each (a radar's own frames stay in order).  The reorder-window
engine (``reorder_window_s`` = 1 s) and the live engine (``history_s`` = 1 s)
get the same frames in arrival order; their mean GOSPA (c = 50 m, p = 2,
:func:`radarcore.analysis.scores.score`) is compared.

``latency``: ``radarcore serve`` in live mode as a subprocess, this process
sending the ``large`` scenario in 100-plot frames at ``--rate`` plots/s
(paced; :mod:`benchmarks.serve`'s sender); from serve's final ``stats``: per
plot, frame receipt to the publication of the track update that carries it
(``update_latency_ms``), per alert event, receipt of the frame that caused it
to its publication (``alert_latency_ms``), and the processing latency.

``soak``: the same for ``--minutes`` with ``--record`` and ``--out``;
serve's resident memory is read at the start and the end (``/proc``), the
plots sent are compared with serve's received, recorded and processed
counters, and then the recording is replayed (``radarcore replay`` path,
:func:`radarcore.core.replay.replay_file`) and its tracks.csv and
alerts.jsonl must equal byte for byte what the live run wrote.

``cpu``: the engine alone, offline: the first ``--frames`` frames (at most 100
plots within 0.05 s, :func:`radarcore.service.emulate.plan_bursts`) of the
``large`` scene (``--targets``, seed 1000, 300,000 plots simulated) through a
live engine, ``--gather`` frames per :meth:`Engine.process` call, track updates
and alert events popped after each; CPU seconds of this process, plots per CPU
second, CPU milliseconds per frame and the number of alert events (compare
branches side by side: the events must be the same).

Serve gets ``--drain`` seconds (120) after the last frame to process all it
was sent; when it does not, it is stopped anyway (SIGTERM, then SIGKILL) and
the figures it had are printed with ``"drained": false`` (the soak's replay
is then skipped: the recording is not the whole run).
"""
import argparse
import dataclasses
import filecmp
import json
import os
import sys
import tempfile
import time

import numpy as np

from radarcore.analysis.scores import score
from radarcore.core.engine import Engine
from radarcore.service.emulate import plan_bursts
from radarcore.sim.simulate import simulate

GOSPA_SCENES = ("sparse", "crossing", "swarm", "intrusion", "skirt")
MAX_DELAY_S = 0.5


def live_site(site, history_s=1.0, alert_interval_s=0.0):
    return dataclasses.replace(site, tracker=dataclasses.replace(
        site.tracker, history_s=history_s, alert_interval_s=alert_interval_s))


def delayed_frames(plots, seed, delayed_radars=2, max_delay_s=MAX_DELAY_S):
    """Per-radar frames in arrival order, the first ``delayed_radars`` radars' frames
    late by up to ``max_delay_s`` at random (each radar's frames keep their order)."""
    rng = np.random.default_rng(seed)
    bursts = plan_bursts(plots, burst_gap_s=0.05, max_burst=100, max_span_s=0.05)
    radars = sorted(set(int(b.radar_id) for b in bursts))[:delayed_radars]
    last = {}
    arrivals = []
    for b in bursts:
        t = float(plots["time_s"][b.index].max())
        if b.radar_id in radars:
            t = max(t + rng.uniform(0.0, max_delay_s), last.get(b.radar_id, -np.inf))
        last[b.radar_id] = t
        arrivals.append(t)
    order = np.argsort(arrivals, kind="stable")
    return [plots[bursts[k].index] for k in order]


def run_engine(site, frames):
    engine = Engine(site)
    rows = [engine.process(np.concatenate(frames[k:k + 50]),
                           frame_sizes=[f.size for f in frames[k:k + 50]])
            for k in range(0, len(frames), 50)]
    rows.append(engine.flush())
    return np.concatenate(rows), engine.summary()


def gospa(seeds):
    results = []
    for name in GOSPA_SCENES:
        for seed in seeds:
            scenario = simulate(name, seed=seed)
            frames = delayed_frames(scenario.plots, seed)
            reorder_rows, reorder_summary = run_engine(scenario.site, frames)
            live_rows, live_summary = run_engine(live_site(scenario.site), frames)
            g_reorder = score(scenario.truth, reorder_rows).gospa_mean
            g_live = score(scenario.truth, live_rows).gospa_mean
            results.append({"scene": name, "seed": seed, "plots": int(scenario.plots.size),
                            "gospa_reorder": g_reorder, "gospa_live": g_live,
                            "ratio": g_live / g_reorder,
                            "late_reorder": reorder_summary["plots_rejected"]["late"],
                            "late_live": live_summary["plots_rejected"]["late"],
                            "retrodicted": live_summary["plots_retrodicted"],
                            "outside_history": live_summary["plots_outside_history"]})
            r = results[-1]
            print(f"{name:10s} seed {seed}: GOSPA reorder {g_reorder:7.2f}  live {g_live:7.2f}  "
                  f"ratio {r['ratio']:.4f}  retrodicted {r['retrodicted']}  "
                  f"outside history {r['outside_history']}  late {r['late_reorder']}/{r['late_live']}",
                  flush=True)
    total_reorder = sum(r["gospa_reorder"] for r in results)
    total_live = sum(r["gospa_live"] for r in results)
    summary = {"runs": results, "mean_ratio": float(np.mean([r["ratio"] for r in results])),
               "ratio_of_sums": total_live / total_reorder,
               "worst_ratio": max(r["ratio"] for r in results)}
    print(f"mean ratio {summary['mean_ratio']:.4f}, ratio of summed GOSPA {summary['ratio_of_sums']:.4f}, "
          f"worst {summary['worst_ratio']:.4f}")
    return summary


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def stream(rate, seconds, n_targets, workdir, record=False, frame_plots=100, alert_interval_s=0.0,
           history_s=1.0, log=print, drain_s=120.0):
    """Serve in live mode, paced frames for ``seconds``; serve's final stats and the sender's figures.

    Serve gets ``drain_s`` after the last frame to process what it was sent;
    if it does not, it is stopped all the same and the figures are what it
    had measured (``drained`` false; ``final_stats`` false when its final
    stats message did not come either and the last periodic one is used)."""
    from benchmarks.serve import ServeProcess, encode_frames

    n = int(rate * seconds)
    scenario = cached_scenario(n_targets, min(n, 2_000_000))
    plots = scenario.plots[:min(n, scenario.plots.size)]
    frames, next_seq = encode_frames(plots, frame_plots)
    site = live_site(scenario.site, history_s=history_s, alert_interval_s=alert_interval_s)
    site = dataclasses.replace(site, service=dataclasses.replace(site.service, queue_plots=5_000_000))
    extra = ["--out", os.path.join(workdir, "out")]
    if record:
        extra += ["--record", os.path.join(workdir, "soak.rcrec")]
    serve = ServeProcess(site, workdir, stats_interval_s=1.0, extra=extra)
    serve.poll_messages(500)
    rss_start = rss_kib(serve.proc.pid)
    sizes = [len(m[1]) // plots.dtype.itemsize for m in frames]
    t0 = time.perf_counter()
    sent = sent_frames = 0
    t_end = t0 + seconds
    rss_samples = []
    k = 0
    repeat = 0
    time_shift = 0.0
    span = float(plots["time_s"].max() - plots["time_s"].min()) + 1.0
    while time.perf_counter() < t_end:
        if k == len(frames):
            # the scenario again, later in time (new sequence numbers): a soak longer than it
            repeat += 1
            time_shift = repeat * span
            shifted = plots.copy()
            shifted["time_s"] += time_shift
            frames, next_seq = encode_frames(shifted, frame_plots, next_seq)
            k = 0
        wait = t0 + sent / rate - time.perf_counter()
        if wait > 0:
            time.sleep(wait)            # pacing the sender, not synchronising with serve
        serve.push.send_multipart(frames[k])
        sent += sizes[k]
        sent_frames += 1
        k += 1
        if sent_frames % 10_000 == 0:
            serve.poll_messages(0)
            rss_samples.append((time.perf_counter() - t0, rss_kib(serve.proc.pid)))
            log(f"  {time.perf_counter() - t0:7.1f} s: sent {sent:,} plots, serve RSS {rss_samples[-1][1]:,} KiB")
    wall = time.perf_counter() - t0
    try:
        serve.wait(lambda s: s["plots_processed"] + s["plots_shed"] >= sent, timeout_s=drain_s)
        drained = True
    except TimeoutError:
        drained = False
        log(f"  serve did not drain {sent:,} plots within {drain_s:g} s: stopping it")
    rss_end = rss_kib(serve.proc.pid)
    final = stop_serve(serve, log)
    return {"drained": drained, "final_stats": bool(final.get("final")),"offered_plots_per_s": sent / wall, "seconds": wall, "plots_sent": sent,
            "frames_sent": sent_frames, "frame_plots": frame_plots, "targets": n_targets,
            "rss_start_kib": rss_start, "rss_end_kib": rss_end, "rss_samples": rss_samples,
            "plots_received": final.get("plots_received"), "plots_processed": final.get("plots_processed"),
            "plots_shed": final.get("plots_shed"), "plots_late": final.get("plots_late"),
            "frames_received": final.get("frames_received"),
            "records": (final.get("recording") or {}).get("records"),
            "update_latency_ms": final.get("update_latency_ms"),
            "alert_latency_ms": final.get("alert_latency_ms"),
            "processing_latency_ms": final.get("latency_ms"),
            "updates_published": final.get("updates_published"),
            "alert_interval_s": alert_interval_s, "history_s": history_s, "site": site}


def cached_scenario(n_targets, n_plots):
    """:func:`benchmarks.serve.long_scenario` (seed 1000), kept as a pickle in
    ``$RADARCORE_SCENE_CACHE`` when that is set (runs compared side by side then
    simulate the scene once)."""
    import pickle

    from benchmarks.serve import long_scenario

    folder = os.environ.get("RADARCORE_SCENE_CACHE")
    path = folder and os.path.join(folder, f"large_{n_targets}_{n_plots}_1000.pickle")
    if path and os.path.exists(path):
        with open(path, "rb") as f:
            return pickle.load(f)
    scenario = long_scenario(n_targets, n_plots, seed=1000)
    if path:
        os.makedirs(folder, exist_ok=True)
        with open(path, "wb") as f:
            pickle.dump(scenario, f)
    return scenario


def engine_cpu(n_targets, n_frames, gather, alert_interval_s=0.0):
    """CPU cost of the live engine alone (``cpu`` above)."""
    scenario = cached_scenario(n_targets, 300_000)
    plots = scenario.plots[:300_000]
    frames = [plots[b.index] for b in plan_bursts(plots, burst_gap_s=0.05, max_burst=100,
                                                  max_span_s=0.05)][:n_frames]
    Engine.warmup()
    engine = Engine(live_site(scenario.site, alert_interval_s=alert_interval_s))
    engine.keep_updates = True
    events = 0
    c0 = time.process_time()
    for k in range(0, len(frames), gather):
        step = frames[k:k + gather]
        engine.process(np.concatenate(step), frame_sizes=[f.size for f in step])
        events += len(engine.pop_alerts())
        engine.pop_updates()
    engine.flush()
    events += len(engine.pop_alerts())
    cpu_s = time.process_time() - c0
    n = int(sum(f.size for f in frames))
    result = {"frames": len(frames), "plots": n, "cpu_s": cpu_s, "plots_per_cpu_s": n / cpu_s,
              "cpu_ms_per_frame": 1e3 * cpu_s / len(frames), "alert_events": events,
              "load_average": os.getloadavg()}
    print(json.dumps(result))
    return result


def stop_serve(serve, log=print, timeout_s=60.0):
    """Stop serve (SIGTERM, then SIGKILL if it does not exit in ``timeout_s``); its final
    stats message, or the last periodic one (``{}`` if none came)."""
    import signal
    import subprocess

    if serve.proc.poll() is None:
        serve.proc.send_signal(signal.SIGTERM)
    final = None
    try:
        final = serve.wait(lambda s: s.get("final"), timeout_s=timeout_s)
    except TimeoutError:
        log("  serve sent no final stats: using its last periodic stats")
    try:
        serve.proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        log(f"  serve did not exit within {timeout_s:g} s of SIGTERM: killing it")
        serve.proc.kill()
        serve.proc.wait()
    serve.push.close(linger=0)
    serve.sub.close(linger=0)
    serve.context.term()
    serve.stderr.close()
    if serve.proc.returncode != 0:
        log(f"  serve exited with {serve.proc.returncode}; see {serve.stderr.name}")
    if final is None:
        final = dict(serve.stats[-1]) if serve.stats else {}
    return final


def replay_equal(site, workdir):
    """Replay the soak's recording; whether its tracks.csv and alerts.jsonl equal the live run's."""
    from radarcore.core.replay import replay_file

    out = os.path.join(workdir, "replay")
    replay_file(os.path.join(workdir, "soak.rcrec"), site, out, progress=False)
    live = os.path.join(workdir, "out")
    return {name: filecmp.cmp(os.path.join(live, name), os.path.join(out, name), shallow=False)
            for name in ("tracks.csv", "alerts.jsonl")}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.live")
    parser.add_argument("what", choices=("gospa", "latency", "soak", "cpu"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1000, 1001, 1002])
    parser.add_argument("--rate", type=float, default=50_000.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--targets", type=int, default=2000)
    parser.add_argument("--history", type=float, default=1.0,
                        help="tracker.history_s of the service (0: the reorder-window engine, a baseline)")
    parser.add_argument("--alert-interval", type=float, default=0.0,
                        help="tracker.alert_interval_s of the live service (plot-time seconds)")
    parser.add_argument("--drain", type=float, default=120.0,
                        help="seconds serve gets after the last frame to process it all "
                             "(else it is stopped and its figures so far are printed)")
    parser.add_argument("--frames", type=int, default=2600, help="cpu: frames of the scene")
    parser.add_argument("--gather", type=int, default=20, help="cpu: frames per engine step")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    if args.what == "gospa":
        if min(args.seeds) < 1000:
            parser.error("report figures come from seeds >= 1000")
        result = gospa(args.seeds)
    elif args.what == "cpu":
        result = engine_cpu(args.targets, args.frames, args.gather, args.alert_interval)
    else:
        workdir = tempfile.mkdtemp(prefix="radarcore-live-")
        seconds = args.seconds if args.what == "latency" else 60.0 * args.minutes
        result = stream(args.rate, seconds, args.targets, workdir, record=args.what == "soak",
                        alert_interval_s=args.alert_interval, history_s=args.history,
                        drain_s=args.drain)
        site = result.pop("site")
        if args.what == "soak" and result["drained"] and result["final_stats"]:
            result["replay_equal"] = replay_equal(site, workdir)
        result["workdir"] = workdir
        print(json.dumps({k: v for k, v in result.items() if k != "rss_samples"}, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
