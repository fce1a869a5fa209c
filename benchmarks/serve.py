"""Live service throughput and latency: a sender process into ``radarcore serve``.

    python benchmarks/serve.py [--targets 2000] [--plots-1 200000] [--plots-100 2000000]
                               [--rate 50000] [--latency-s 10] [--json FILE]

``radarcore serve`` runs as a subprocess (its receiver and engine threads);
this process is the sender (PUSH, pre-encoded frames) and reads serve's
``stats`` messages.  On a 2-core machine the two processes have a core each.

1. **Check**: the sparse scenario is streamed through serve and the tracks
   it publishes must equal an offline engine fed the same plots, or the
   benchmark stops.
2. **Throughput**, with 1-plot and 100-plot frames: the first N plots of one
   long ``large`` scenario (4 rotating radars, ``--targets`` targets, the
   site's protected asset and alerts on) are sent as fast as the socket takes
   them, with a queue deep enough that nothing is shed.
   Reported: the rate serve *received* them (its receiver thread: receive,
   decode, sequence check, queue) and the rate it *processed* them (engine
   and publishing, until the queue is empty).
3. **Latency** at a paced ``--rate`` (default 50,000 plots/s) with 100-plot
   and 10-plot frames for ``--latency-s`` seconds: serve's per-plot
   processing latency (frame receipt to the end of the engine step that
   processed it, publication included), p50 and p99 over the run, and the
   worst per-second p99.
"""
import argparse
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import zmq

from ingest.codec import decode_stats, decode_tracks, encode_plots
from radarcore.core.config import dump_site
from radarcore.service.emulate import plan_bursts
from radarcore.core.engine import Engine
from radarcore.sim.simulate import simulate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WAIT_S = 120.0


class ServeProcess:
    """``radarcore serve`` as a subprocess, with a SUB socket on its outputs."""

    def __init__(self, site, workdir, topics=(b"stats",), stats_interval_s=0.2, extra=()):
        site_path = os.path.join(workdir, "site.toml")
        with open(site_path, "w") as f:
            f.write(dump_site(site))
        self.stderr = open(os.path.join(workdir, "serve.err"), "w")
        # one Numba thread: the other core is the sender's
        env = dict(os.environ, NUMBA_NUM_THREADS="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "radarcore.cli", "serve", "--site", site_path,
             "--plots", "tcp://127.0.0.1:*", "--publish", "tcp://127.0.0.1:*",
             "--stats-interval", str(stats_interval_s), *extra],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"serve did not start; see {self.stderr.name}")
        words = line.replace(",", " ").split()
        self.plots_endpoint = words[words.index("plots") + 2]
        self.publish_endpoint = words[words.index("publishing") + 2]
        self.context = zmq.Context()
        self.sub = self.context.socket(zmq.SUB)
        self.sub.setsockopt(zmq.RCVHWM, 0)
        for topic in topics:
            self.sub.setsockopt(zmq.SUBSCRIBE, topic)
        self.sub.connect(self.publish_endpoint)
        self.push = self.context.socket(zmq.PUSH)
        self.push.setsockopt(zmq.SNDHWM, 10_000)
        self.push.connect(self.plots_endpoint)
        self.messages = []
        self.stats = []
        self.wait(lambda s: True)             # subscribed: a stats message came through

    def pid(self):
        return self.proc.pid

    def poll_messages(self, timeout_ms):
        if self.sub.poll(timeout_ms):
            while self.sub.poll(0):
                message = self.sub.recv_multipart()
                if message[0] == b"stats":
                    self.stats.append(decode_stats(message))
                else:
                    self.messages.append(message)

    def wait(self, condition, timeout_s=WAIT_S):
        """Read messages until a stats message satisfies ``condition``; return it."""
        deadline = time.monotonic() + timeout_s
        start = len(self.stats)
        while time.monotonic() < deadline:
            self.poll_messages(100)
            for stats in self.stats[start:]:
                if condition(stats):
                    return stats
            start = len(self.stats)
        raise TimeoutError("serve stats did not reach the expected state")

    def stop(self):
        """SIGTERM; the final stats message."""
        self.proc.send_signal(signal.SIGTERM)
        final = self.wait(lambda s: s.get("final"))
        self.proc.communicate(timeout=WAIT_S)
        self.push.close(linger=0)
        self.sub.close(linger=0)
        self.context.term()
        self.stderr.close()
        if self.proc.returncode != 0:
            raise RuntimeError(f"serve exited with {self.proc.returncode}; see {self.stderr.name}")
        return final


#: A frame holds one radar's plots of at most this much data time (a sector):
#: longer frames would deliver their first plots after the reorder window.
FRAME_SPAN_S = 0.5


def encode_frames(plots, frame_plots, first_seq=None):
    """Per-radar frames of at most ``frame_plots`` consecutive plots within
    :data:`FRAME_SPAN_S`, in send order; and the next sequence numbers."""
    seq = {} if first_seq is None else first_seq
    frames = []
    for burst in plan_bursts(plots, burst_gap_s=FRAME_SPAN_S, max_burst=frame_plots, max_span_s=FRAME_SPAN_S):
        n = seq.get(burst.radar_id, 0)
        seq[burst.radar_id] = n + 1
        frames.append(encode_plots(burst.radar_id, n, plots[burst.index]))
    return frames, seq


def long_scenario(n_targets, n_plots, seed=1):
    """One ``large`` scenario long enough for ``n_plots`` plots (no seams: the
    same targets all along, as a real picture would be)."""
    probe = simulate("large", seed=seed, n_targets=n_targets, duration_s=20)
    per_s = probe.plots.size / 20.0
    scenario = simulate("large", seed=seed, n_targets=n_targets, duration_s=int(n_plots / per_s * 1.1) + 10)
    if scenario.plots.size < n_plots:
        raise RuntimeError(f"the scenario holds {scenario.plots.size} plots, not {n_plots}")
    return scenario


def check(workdir):
    """The published tracks of the sparse scenario must equal an offline engine's."""
    scenario = simulate("sparse", seed=2, duration_s=90)
    frames, _ = encode_frames(scenario.plots, 50)
    serve = ServeProcess(scenario.site, workdir, topics=(b"stats", b"tracks"))
    for message in frames:
        serve.push.send_multipart(message)
    serve.wait(lambda s: s["frames_received"] == len(frames))
    serve.stop()
    rows = np.concatenate([decode_tracks(m) for m in serve.messages if m[0] == b"tracks"])
    order = np.concatenate([np.frombuffer(m[1], scenario.plots.dtype) for m in frames])
    engine = Engine(scenario.site)
    expected = np.concatenate([engine.process(order), engine.flush()])
    if rows.tobytes() != expected.tobytes():
        raise SystemExit("check failed: serve's tracks differ from the offline engine's")
    return rows.size


def throughput(site, plots, frame_plots, workdir):
    frames, _ = encode_frames(plots, frame_plots)
    site = dataclasses.replace(site, service=dataclasses.replace(site.service, queue_plots=plots.size + 1))
    serve = ServeProcess(site, workdir)
    t0 = time.time()
    for message in frames:
        serve.push.send_multipart(message)
    t_sent = time.time()
    done = serve.wait(lambda s: s["plots_processed"] + s["plots_shed"] >= plots.size)
    final = serve.stop()
    received = [(s["time"], s["plots_received"]) for s in serve.stats if s["plots_received"]]
    t_all_received = next(t for t, n in received if n >= plots.size)
    first = received[0][0]
    return {
        "frame_plots": frame_plots, "frames": len(frames), "plots": int(plots.size),
        "mean_frame_plots": plots.size / len(frames),
        "send_plots_per_s": plots.size / (t_sent - t0),
        "received_plots_per_s": plots.size / max(t_all_received - t0, 1e-9),
        "processed_plots_per_s": plots.size / max(done["time"] - t0, 1e-9),
        "first_stats_after_s": first - t0,
        "shed": final["plots_shed"],
        "latency_ms": final["latency_ms"],
    }


def latency(site, plots, frame_plots, rate, seconds, workdir):
    n = min(plots.size, int(rate * seconds))
    frames, _ = encode_frames(plots[:n], frame_plots)
    sizes = [len(m[1]) // plots.dtype.itemsize for m in frames]
    serve = ServeProcess(site, workdir, stats_interval_s=1.0)
    t0 = time.perf_counter()
    sent = 0
    for message, size in zip(frames, sizes):
        wait = t0 + sent / rate - time.perf_counter()
        if wait > 0:
            time.sleep(wait)        # pacing the sender, not synchronising with serve
        serve.push.send_multipart(message)
        sent += size
    wall = time.perf_counter() - t0
    serve.wait(lambda s: s["plots_processed"] + s["plots_shed"] >= n)
    final = serve.stop()
    interval_p99 = [s["latency_interval_ms"]["p99"] for s in serve.stats
                    if s.get("latency_interval_ms", {}).get("p99") is not None]
    return {"frame_plots": frame_plots, "plots": n, "offered_plots_per_s": n / wall,
            "mean_frame_plots": n / len(frames), "late": final["plots_rejected"]["late"],
            "p50_ms": final["latency_ms"]["p50"], "p99_ms": final["latency_ms"]["p99"],
            "worst_1s_p99_ms": max(interval_p99) if interval_p99 else None,
            "shed": final["plots_shed"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=2000)
    parser.add_argument("--plots-1", type=int, default=200_000, help="plots sent as 1-plot frames")
    parser.add_argument("--plots-100", type=int, default=2_000_000, help="plots sent as 100-plot frames")
    parser.add_argument("--rate", type=float, default=50_000.0, help="paced rate of the latency runs")
    parser.add_argument("--latency-s", type=float, default=10.0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    scenario = long_scenario(args.targets, max(args.plots_1, args.plots_100, int(args.rate * args.latency_s)))
    pool = scenario.plots
    results = {"machine": {"cpus": os.cpu_count()}, "targets": args.targets}
    with tempfile.TemporaryDirectory() as workdir:
        results["check_rows"] = check(workdir)
        print(f"check: {results['check_rows']} published track rows equal the offline engine's")
        results["throughput"] = [throughput(scenario.site, pool[:args.plots_1], 1, workdir),
                                 throughput(scenario.site, pool[:args.plots_100], 100, workdir)]
        results["latency"] = [latency(scenario.site, pool, 100, args.rate, args.latency_s, workdir),
                              latency(scenario.site, pool, 10, args.rate, args.latency_s, workdir)]
    print(f"\nthroughput (large scenario, {args.targets} targets, 4 radars; sender and serve processes)")
    print(" frame (mean)  plots      sent/s    received/s   processed/s  shed")
    for r in results["throughput"]:
        print(f" {r['frame_plots']:5d} {r['mean_frame_plots']:6.1f}  {r['plots']:9,d}  "
              f"{r['send_plots_per_s']:10,.0f}  "
              f"{r['received_plots_per_s']:12,.0f}  {r['processed_plots_per_s']:12,.0f}  {r['shed']}")
    print(f"\nlatency, frame receipt to end of engine step (paced at {args.rate:,.0f} plots/s)")
    print(" frame (mean)  plots     offered/s   p50 ms   p99 ms   worst 1 s p99 ms  shed")
    for r in results["latency"]:
        worst = "-" if r["worst_1s_p99_ms"] is None else f"{r['worst_1s_p99_ms']:.2f}"
        print(f" {r['frame_plots']:5d} {r['mean_frame_plots']:6.1f}  {r['plots']:9,d}  "
              f"{r['offered_plots_per_s']:10,.0f}  "
              f"{r['p50_ms']:7.2f}  {r['p99_ms']:7.2f}  {worst:>16s}  {r['shed']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
