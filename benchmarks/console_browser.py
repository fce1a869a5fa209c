"""The console in headless Chromium: frame rate with many tracks, and memory over a long run.

    python benchmarks/console_browser.py fps [--tracks 2000] [--seconds 10] [--json FILE]
    python benchmarks/console_browser.py soak [--minutes 10] [--replay-tracks N] [--json FILE]

Not a CI test (the browser test in tests/test_console.py is).  Both need the
distribution's Chromium (``apt-get install -y chromium``).

``fps``
    ``radarcore console --replay`` of a made-up replay: ``--tracks``
    confirmed tracks (a quarter coasting) moving on straight lines around the
    site of replay_data/swarm, one epoch a second, with a few open alerts;
    played at real time in a 1600x1000 headless Chromium window.  Reported,
    steady (the picture is redrawn when tracks arrive, 1 to 4 times a second;
    every frame copies it and draws the blinking alert rings) and while
    panning 2 pixels a frame (the whole picture redrawn every frame):
    ``requestAnimationFrame`` callbacks per second in the page, full redraws
    per second, script time per frame, the tracks drawn, and the load
    average of the machine.
``soak``
    ``radarcore serve`` + ``radarcore emulate replay_data/swarm --speed
    0.5`` (300 s of data over 10 minutes) + ``radarcore console`` + the page
    in Chromium.  Reported every 30 s and at the end: resident memory of
    serve, console and every Chromium process, and the page's JavaScript heap
    after a garbage collection (``Performance.getMetrics``); growth is the
    last sample against the one at 10 % of the run.  With ``--replay-tracks
    N``: no serve, the console plays the made-up replay of ``fps`` with N
    tracks (200 epochs, slowed to last the run).
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))
SWARM = os.path.join(REPO, "replay_data", "swarm")

from chromium import Chromium  # noqa: E402


def start(args, log_path):
    log = open(log_path, "w")
    return subprocess.Popen([sys.executable, "-m", "radarcore.cli", *map(str, args)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=log, text=True,
                            env=dict(os.environ, PYTHONPATH=REPO))


def first_line(proc, log_path, timeout_s=120):
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    if not selector.select(timeout_s):
        raise RuntimeError(f"no start-up line: {open(log_path).read()[-2000:]}")
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"exited: {open(log_path).read()[-2000:]}")
    return line


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def make_replay(directory, n_tracks, n_epochs, seed=0):
    """A replay directory of ``n_tracks`` tracks over ``n_epochs`` epochs, with 5 open alerts."""
    from ingest.csvio import TrackCsvWriter
    from ingest.schema import TRACK_ROW_DTYPE

    rng = np.random.default_rng(seed)
    p0 = rng.uniform(-9000, 9000, (n_tracks, 2))
    v = rng.normal(0, 15, (n_tracks, 2))
    up = rng.uniform(50, 800, n_tracks)
    with TrackCsvWriter(os.path.join(directory, "tracks.csv")) as writer:
        for k in range(n_epochs):
            rows = np.zeros(n_tracks, dtype=TRACK_ROW_DTYPE)
            rows["time_s"] = float(k)
            rows["track_id"] = np.arange(1, n_tracks + 1)
            rows["status"] = np.where(np.arange(n_tracks) % 4 == 0, 3, 2)
            rows["east_m"], rows["north_m"] = (p0 + v * k).T
            rows["up_m"] = up
            rows["v_east_mps"], rows["v_north_mps"] = v.T
            rows["sigma_pos_m"] = 10.0
            rows["lat_deg"] = rows["lon_deg"] = rows["alt_m"] = np.nan
            writer.write(rows)
    with open(os.path.join(directory, "alerts.jsonl"), "w") as f:
        for a in range(5):
            f.write(json.dumps({"time_s": 1.0, "alert_id": a + 1, "event": "raise", "asset_id": "plant-1",
                                "level": ("warning", "alert", "critical")[a % 3], "track_id": 1 + 7 * a,
                                "time_to_entry_s": 30.0 + a, "cpa_m": 100.0 * a, "class": "drone",
                                "class_confidence": 0.9}) + "\n")


def fps(args):
    result = {}
    with tempfile.TemporaryDirectory() as directory:
        make_replay(directory, args.tracks, n_epochs=int(args.seconds) + 30)
        console = start(["console", "--replay", directory, "--site", f"{SWARM}/site.toml",
                         "--http", "127.0.0.1:0"], os.path.join(directory, "console.log"))
        try:
            url = first_line(console, os.path.join(directory, "console.log")).split()[2]
            with Chromium(timeout_s=60) as browser:
                browser.navigate(url)
                browser.wait_for("window.__rc.snapshots > 0", "the snapshot", timeout_s=60)
                browser.evaluate("document.getElementById('play').click()")
                browser.wait_for(f"S.tracks.size === {args.tracks}", "every track", timeout_s=60)
                time.sleep(2.0)
                result = {"tracks": args.tracks, "load_average": os.getloadavg()[0]}
                for case, pan_px in (("steady", 0), ("panning", 2)):
                    browser.evaluate(f"window.__rc.pan = {pan_px}")
                    time.sleep(1.0)
                    probe = "[window.__rc.frames, window.__rc.layers, window.__rc.drawMs, performance.now()]"
                    f0, l0, d0, t0 = browser.evaluate(probe)
                    time.sleep(args.seconds)
                    f1, l1, d1, t1 = browser.evaluate(probe)
                    seconds = (t1 - t0) / 1e3
                    result[case] = {
                        "tracks_drawn": browser.evaluate("window.__rc.drawn"),
                        "frames_per_s": (f1 - f0) / seconds,
                        "full_redraws_per_s": (l1 - l0) / seconds,
                        "script_ms_per_frame": (d1 - d0) / max(f1 - f0, 1),
                        "seconds": seconds,
                    }
        finally:
            stop(console)
    for case in ("steady", "panning"):
        r = result[case]
        print(f"{case:8s} {result['tracks']} tracks ({r['tracks_drawn']} drawn): {r['frames_per_s']:.1f} frames/s, "
              f"{r['full_redraws_per_s']:.1f} full redraws/s, script {r['script_ms_per_frame']:.1f} ms a frame "
              f"(over {r['seconds']:.1f} s)")
    print(f"load average {result['load_average']:.1f} on {os.cpu_count()} cores")
    return result


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except FileNotFoundError:
        return 0.0
    return 0.0


def descendants(pid):
    """The ids of a process's descendants (from /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def soak(args):
    samples = []
    with tempfile.TemporaryDirectory() as directory:
        procs = []
        serve = None
        try:
            if args.replay_tracks:
                make_replay(directory, args.replay_tracks, n_epochs=200)
                console = start(["console", "--replay", directory, "--site", f"{SWARM}/site.toml",
                                 "--http", "127.0.0.1:0"], os.path.join(directory, "console.log"))
                procs.append(console)
            else:
                serve, console = _live(directory, procs)
            url = first_line(console, os.path.join(directory, "console.log")).split()[2]
            speed = 300.0 / (args.minutes * 60.0)
            with Chromium(timeout_s=60) as browser:
                browser.navigate(url)
                browser.call("Performance.enable")
                browser.wait_for("window.__rc.snapshots > 0", "the snapshot", timeout_s=60)
                if args.replay_tracks:
                    browser.evaluate(f"send({{type: 'control', play: true, speed: {200.0 / (args.minutes * 60.0)}}})")
                else:
                    procs.append(start(["emulate", SWARM, "--connect", serve.plots, "--speed", f"{speed:g}"],
                                       os.path.join(directory, "emulate.log")))
                t_start = time.monotonic()
                while time.monotonic() - t_start < args.minutes * 60:
                    time.sleep(min(args.sample_s, max(args.minutes * 60 - (time.monotonic() - t_start), 0.1)))
                    browser.call("HeapProfiler.collectGarbage")
                    metrics = {m["name"]: m["value"] for m in browser.call("Performance.getMetrics")["metrics"]}
                    sample = {
                        "t_s": round(time.monotonic() - t_start, 1),
                        "serve_mib": rss_mib(serve.pid) if serve else 0.0,
                        "console_mib": rss_mib(console.pid),
                        "chromium_mib": sum(rss_mib(p) for p in [browser.process.pid, *descendants(browser.process.pid)]),
                        "page_heap_mib": metrics.get("JSHeapUsedSize", 0) / 2**20,
                        "page_tracks": browser.evaluate("S.tracks.size"),
                        "page_alerts": browser.evaluate("S.alerts.size"),
                        "frames": browser.evaluate("window.__rc.frames"),
                    }
                    samples.append(sample)
                    print(json.dumps(sample), flush=True)
        finally:
            for proc in reversed(procs):
                stop(proc)
    base = next(s for s in samples if s["t_s"] >= 0.1 * args.minutes * 60)
    last = samples[-1]
    growth = {k: (last[k] - base[k]) / base[k] * 100.0 if base[k] else None
              for k in ("serve_mib", "console_mib", "chromium_mib", "page_heap_mib")}
    print("growth from 10 % of the run to the end (%): "
          + ", ".join(f"{k} {v:+.1f}" for k, v in growth.items() if v is not None))
    return {"samples": samples, "growth_percent": growth}


def _live(directory, procs):
    """serve and a console live from it: (serve, console); ``serve.plots`` is its plot endpoint."""
    serve = start(["serve", "--site", f"{SWARM}/site.toml", "--plots", "tcp://127.0.0.1:*",
                   "--publish", "tcp://127.0.0.1:*", "--ack", "tcp://127.0.0.1:*"],
                  os.path.join(directory, "serve.log"))
    procs.append(serve)
    line = first_line(serve, os.path.join(directory, "serve.log"))
    serve.plots = line.split("plots on ")[1].split(",")[0]
    publish = line.split("publishing on ")[1].split(",")[0].strip()
    console = start(["console", "--connect", publish, "--site", f"{SWARM}/site.toml",
                     "--http", "127.0.0.1:0"], os.path.join(directory, "console.log"))
    procs.append(console)
    return serve, console


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("fps")
    p.add_argument("--tracks", type=int, default=2000)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--json")
    p = sub.add_parser("soak")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--sample-s", type=float, default=30.0)
    p.add_argument("--replay-tracks", type=int, default=0, metavar="N")
    p.add_argument("--json")
    args = parser.parse_args(argv)
    result = fps(args) if args.what == "fps" else soak(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
