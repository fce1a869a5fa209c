"""End to end with real processes on loopback: simulate, serve, emulate, record, replay.

``radarcore serve`` runs as a subprocess with ``--record``; ``radarcore
emulate --speed max`` streams a simulated scenario into it while this test
subscribes to its outputs; after SIGTERM an offline ``radarcore replay`` of
the recording serve wrote must give exactly the tracks and alerts the
subscriber received, and the counters of the three programs must agree.
Every wait is bounded.
"""
import io
import json
import re
import selectors
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zmq

from ingest.codec import decode_alerts, decode_stats, decode_tracks
from ingest.csvio import TrackCsvWriter, read_plots_csv
from ingest.schema import TRACK_ROW_DTYPE
from radarcore.core.alerts import AlertJsonlWriter
from radarcore.core.config import load_site
from radarcore.service.emulate import plan_bursts
from radarcore.core.engine import Engine

REPO = Path(__file__).resolve().parent.parent
WAIT_S = 60.0


def radarcore(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "radarcore.cli", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=WAIT_S, **kwargs)


def start(*args, stderr_path):
    stderr = open(stderr_path, "w")
    proc = subprocess.Popen([sys.executable, "-m", "radarcore.cli", *map(str, args)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=stderr, text=True)
    stderr.close()
    return proc


def first_line(proc):
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and proc.poll() is None:
        if selector.select(timeout=0.5):
            return proc.stdout.readline()
    raise AssertionError(f"{proc.args} printed no start line")


def stop(proc, signal_it=True):
    """SIGTERM (unless already sent) and wait; a second SIGTERM during the exit would kill it."""
    if signal_it:
        proc.send_signal(signal.SIGTERM)
    try:
        stdout, _ = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return stdout


def tracks_text(rows):
    buffer = io.BytesIO()
    with TrackCsvWriter(buffer) as writer:
        writer.write(rows)
    return buffer.getvalue().decode()


def count_records(path):
    """Whole records of a recording, by the layout documented in ingest/recording.py."""
    data = Path(path).read_bytes()
    n, offset = 0, 16
    while offset + 8 <= len(data):
        (length,) = struct.unpack_from("<I", data, offset)
        if offset + 8 + length > len(data):
            break
        offset += 8 + length
        n += 1
    return n


@pytest.fixture(scope="module")
def scenario_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sparse")
    result = radarcore("simulate", "sparse", "--out", out, "--duration", 90, "--seed", 4)
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.slow
def test_emulate_into_serve_matches_an_offline_replay_of_its_recording(scenario_dir, tmp_path):
    site = scenario_dir / "site.toml"
    recording = tmp_path / "live.rcrec"
    serve = start("serve", "--site", site, "--plots", "tcp://127.0.0.1:*", "--publish", "tcp://127.0.0.1:*",
                  "--record", recording, "--out", tmp_path / "serve", stderr_path=tmp_path / "serve.err")
    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    messages = []
    try:
        words = first_line(serve).replace(",", " ").split()
        plots_endpoint = words[words.index("plots") + 2]
        publish_endpoint = words[words.index("publishing") + 2]
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(publish_endpoint)
        assert sub.poll(int(WAIT_S * 1000)), "no stats from serve"     # the subscription is live
        sub.recv_multipart()

        emulate = radarcore("emulate", scenario_dir, "--connect", plots_endpoint, "--speed", "max")
        assert emulate.returncode == 0, emulate.stderr
        counts = re.search(r"sent (\d+) frames, (\d+) plots", emulate.stdout)
        sent_frames, sent_plots = int(counts.group(1)), int(counts.group(2))

        received = 0
        deadline = time.monotonic() + WAIT_S
        while received < sent_frames and time.monotonic() < deadline:
            if sub.poll(100):
                message = sub.recv_multipart()
                messages.append(message)
                if message[0] == b"stats":
                    received = decode_stats(message)["frames_received"]
        assert received == sent_frames
        serve.send_signal(signal.SIGTERM)
        final = None
        while final is None and time.monotonic() < deadline and sub.poll(int(WAIT_S * 1000)):
            message = sub.recv_multipart()
            messages.append(message)
            if message[0] == b"stats" and decode_stats(message).get("final"):
                final = decode_stats(message)
        serve_stdout = stop(serve, signal_it=False)
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        sub.close(linger=0)
        context.term()
    assert serve.returncode == 0, (tmp_path / "serve.err").read_text()
    assert final is not None and "frames received" in serve_stdout

    replay = radarcore("replay", recording, "--site", site, "--out", tmp_path / "replay", "--quiet")
    assert replay.returncode == 0, replay.stderr

    # identical tracks: subscriber, serve's own tracks.csv, offline replay of the recording
    rows = [decode_tracks(m) for m in messages if m[0] == b"tracks"]
    rows = np.concatenate(rows) if rows else np.zeros(0, TRACK_ROW_DTYPE)
    assert rows.size > 0 and np.any(rows["status"] == 2)
    replay_tracks = (tmp_path / "replay" / "tracks.csv").read_text()
    assert tracks_text(rows) == replay_tracks == (tmp_path / "serve" / "tracks.csv").read_text()
    alerts = [e for m in messages if m[0] == b"alerts" for e in decode_alerts(m)]
    assert alerts
    with AlertJsonlWriter(tmp_path / "sub_alerts.jsonl") as writer:
        writer.write(alerts)
    assert ((tmp_path / "sub_alerts.jsonl").read_text() == (tmp_path / "replay" / "alerts.jsonl").read_text()
            == (tmp_path / "serve" / "alerts.jsonl").read_text())

    # counters agree: sent = received = recorded = accepted + rejected
    summary = json.loads((tmp_path / "replay" / "summary.json").read_text())
    assert final["frames_received"] == sent_frames == count_records(recording) == summary["frames_read"]
    assert final["frames_accepted"] + sum(final["frames_rejected"].values()) == sent_frames
    assert final["plots_received"] == sent_plots == summary["plots_read"]
    assert sent_plots == read_plots_csv(scenario_dir / "plots.csv").plots.size
    assert final["plots_shed"] == 0 and final["messages_dropped"] == 0
    assert final["plots_rejected"]["late"] == summary["plots_rejected"]["late"]


@pytest.mark.slow
def test_record_writes_the_stream_flushed_while_running_and_replays(scenario_dir, tmp_path):
    out = tmp_path / "stream.rcrec"
    record = start("record", "--bind", "tcp://127.0.0.1:*", "--out", out, stderr_path=tmp_path / "record.err")
    try:
        address = first_line(record).split()[4].rstrip(",")
        emulate = radarcore("emulate", scenario_dir, "--connect", address, "--speed", "max", "--max-burst", 5)
        assert emulate.returncode == 0, emulate.stderr
        sent = int(re.search(r"sent (\d+) frames", emulate.stdout).group(1))
        # the records reach the file within about a second, while the recorder runs
        deadline = time.monotonic() + 10.0
        while count_records(out) < sent and time.monotonic() < deadline:
            time.sleep(0.1)
        assert count_records(out) == sent and record.poll() is None
        stdout = stop(record)
    finally:
        if record.poll() is None:
            record.kill()
            record.wait()
    assert record.returncode == 0, (tmp_path / "record.err").read_text()
    assert f"recorded {sent} frames" in stdout

    # replaying the recording = the engine fed the plots in the order emulate sent them
    site = load_site(scenario_dir / "site.toml")
    plots = read_plots_csv(scenario_dir / "plots.csv").plots
    order = np.concatenate([b.index for b in plan_bursts(plots, max_burst=5)])
    engine = Engine(site)
    expected = np.concatenate([engine.process(plots[order]), engine.flush()])
    replay = radarcore("replay", out, "--site", scenario_dir / "site.toml", "--out", tmp_path / "replay",
                       "--quiet")
    assert replay.returncode == 0, replay.stderr
    assert (tmp_path / "replay" / "tracks.csv").read_text() == tracks_text(expected)
